/*
 * advice.c — the readers every allocator's rss advisor shares (advice.h):
 * a number from a one-row query, a fact as a number or as text, each built
 * on the one heap_reader.rows the analysis hands over; and when a lever is
 * worth saying.
 */
#include "heap/advice.h"

#include <stdarg.h>
#include <stdio.h>

#define MIB ((uint64_t)1 << 20)

int rss_worth(uint64_t bytes, uint64_t rss)
{
    return bytes >= MIB && bytes * 10 >= rss;
}

int rss_lever(rss_say say, void *u, uint64_t bytes, uint64_t rss, const char *lever, const char *fmt, ...)
{
    char text[1024];
    if (!rss_worth(bytes, rss))
        return 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    say(u, lever, text);
    return 1;
}

struct one {
    int seen;
    struct heap_value v;
    char *text;
    size_t len;
};

static void take(void *arg, const struct heap_value *v)
{
    struct one *o = arg;
    if (o->seen++)
        return;
    o->v = *v;
    if (v->kind == HV_TEXT && o->text)
        snprintf(o->text, o->len, "%s", v->s ? v->s : "");
}

int rss_scalar(const struct heap_reader *r, const char *sql, uint64_t *v)
{
    struct one o = {0};
    if (!r->rows || r->rows(r->u, sql, NULL, 1, take, &o) || !o.seen || o.v.kind == HV_NULL)
        return -1;
    *v = o.v.kind == HV_REAL ? (uint64_t)o.v.d : (uint64_t)o.v.i;
    return 0;
}

uint64_t rss_fact(const struct rss_figures *f, const char *key)
{
    struct one o = {0};
    if (!f->reader.rows ||
        f->reader.rows(f->reader.u, "SELECT CAST(value AS INTEGER) FROM facts WHERE key = ?1", key, 1, take, &o) ||
        !o.seen || o.v.kind != HV_INT)
        return 0;
    return (uint64_t)o.v.i;
}

int rss_fact_text(const struct heap_reader *r, const char *key, char *buf, size_t len)
{
    struct one o = {.text = buf, .len = len};
    if (!r->rows || r->rows(r->u, "SELECT value FROM facts WHERE key = ?1", key, 1, take, &o) || !o.seen ||
        o.v.kind != HV_TEXT)
        return -1;
    return 0;
}
