/*
 * cmd_top.c — `heapsnap top FILE`: what holds the memory.  From the
 * dominator tree (roots are nodes under the super-root, so each object that
 * one root alone keeps alive belongs to that root): the objects, types and
 * roots with the largest retained sizes, and the leak suspects — any
 * retainer holding 10% or more of the used heap.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "cli.h"
#include "base/units.h"
#include "commands.h"

#define SUSPECT_PERCENT 10

static const char help[] =
    "usage: heapsnap top [options] FILE.hsnap|FILE.db\n"
    "\n"
    "Show what keeps the most heap memory alive.  An object's retained size is\n"
    "what freeing it would free: itself and every object reachable only through\n"
    "it (the dominator tree).  Roots (each global, each thread's stack,\n"
    "registers and TLS) retain what they alone keep alive; an object held by two\n"
    "roots belongs to neither.  A type's retained size sums its objects that no\n"
    "other object of the same type dominates (as Eclipse MAT does); objects\n"
    "without a type are grouped by size.  Leak suspects are the retainers of at\n"
    "least 10% of the used heap.\n"
    "\n"
    "The dominator tree is stored in the database, table analysis(id, reachable,\n"
    "idom, retained_size, retained_count) (docs/schema.md).\n"
    "\n"
    "options:\n"
    "  --limit N          show N of each (default 10)\n"
    ARGS_HELP_COMMON
    "\n"
    "exit status: 0 success, 1 the file could not be analysed, 2 usage\n";

static int is_suspect(const struct session *s, uint32_t v)
{
    uint64_t used = s->h.used_bytes;
    return v != 0 && s->r.idom[v] != GRAPH_NONE && used &&
           s->r.retained_size[v] * 100 >= used * SUSPECT_PERCENT;
}

/* The root that dominates v, or 0 if several roots share it. */
/* The root that dominates v (0: several), and in *first the object right
 * below it on v's dominator chain, the one the root points at. */
static uint32_t dominating_root(const struct session *s, uint32_t v, uint32_t *first)
{
    *first = v;
    while (v != 0 && !hg_is_root(&s->h, v)) {
        *first = v;
        v = s->r.idom[v];
    }
    return v;
}

/* Suspects: roots over the threshold, and objects over it whose immediate
 * dominator is not an object over it (the top of each chain). */
static size_t suspects(const struct session *s, uint32_t *out, size_t cap)
{
    size_t n = 0;
    for (uint32_t v = 1; v < s->h.n && n < cap; v++) {
        if (!is_suspect(s, v))
            continue;
        uint32_t d = s->r.idom[v];
        if (hg_is_root(&s->h, v) || !(hg_is_obj(&s->h, d) && is_suspect(s, d)))
            out[n++] = v;
    }
    return n;
}

static double pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0;
}

int cmd_top(int argc, char **argv)
{
    struct args a;
    int rc = args_parse(&a, argc, argv, help, 0, 1, 1);
    if (rc >= 0)
        return rc;
    if (!a.limit)
        a.limit = 10;
    struct session s;
    struct retainer *objs = NULL, *roots = NULL, *groups = NULL;
    size_t no = 0, nr = 0, ng = 0, ns = 0;
    uint32_t sus[64];
    struct json j;
    char name[256], b1[32], b2[32];
    rc = EXIT_FAIL;
    if (session_open(&s, a.pos[0], &a, 1))
        goto out;
    const struct hgraph *h = &s.h;
    if (retainers_top(h, &s.r, (size_t)a.limit, &objs, &no, &roots, &nr, &groups, &ng)) {
        cli_error("%s: out of memory", a.pos[0]);
        goto out;
    }
    ns = suspects(&s, sus, sizeof sus / sizeof sus[0]);
    out_begin(&j, &a);
    if (a.json) {
        json_begin_object(&j);
        json_kv_string(&j, "file", h->file);
        json_kv_uint(&j, "used_count", h->used_count);
        json_kv_uint(&j, "used_bytes", h->used_bytes);
        json_kv_uint(&j, "reachable_count", s.r.reachable_count);
        json_kv_uint(&j, "reachable_bytes", s.r.reachable_bytes);
        const char *names[2] = {"objects", "roots"};
        struct retainer *lists[2] = {objs, roots};
        size_t lens[2] = {no, nr};
        for (int L = 0; L < 2; L++) {
            json_key(&j, names[L]);
            json_begin_array(&j);
            for (size_t k = 0; k < lens[L]; k++) {
                json_begin_object(&j);
                json_key(&j, "node");
                show_node_json(&j, h, lists[L][k].node);
                json_kv_uint(&j, "retained_size", lists[L][k].retained_size);
                json_kv_uint(&j, "retained_count", lists[L][k].retained_count);
                json_end_object(&j);
            }
            json_end_array(&j);
        }
        json_key(&j, "types");
        json_begin_array(&j);
        for (size_t k = 0; k < ng && k < (size_t)a.limit; k++) {
            json_begin_object(&j);
            json_kv_string(&j, "type", hg_group_name(h, groups[k].key, name, sizeof name));
            json_kv_uint(&j, "count", groups[k].count);
            json_kv_uint(&j, "shallow_size", groups[k].shallow);
            json_kv_uint(&j, "retained_size", groups[k].retained_size);
            json_kv_uint(&j, "retained_count", groups[k].retained_count);
            json_end_object(&j);
        }
        json_end_array(&j);
        json_key(&j, "suspects");
        json_begin_array(&j);
        for (size_t k = 0; k < ns; k++) {
            uint32_t v = sus[k], first, r = dominating_root(&s, v, &first);
            json_begin_object(&j);
            json_key(&j, "node");
            show_node_json(&j, h, v);
            json_kv_uint(&j, "retained_size", s.r.retained_size[v]);
            json_kv_uint(&j, "retained_count", s.r.retained_count[v]);
            json_kv_double(&j, "percent", pct(s.r.retained_size[v], h->used_bytes));
            json_kv_string(&j, "held_by", hg_holder_name(h, r, first, name, sizeof name));
            json_end_object(&j);
        }
        json_end_array(&j);
        json_end_object(&j);
    } else {
        printf("%s: %" PRIu64 " used objects, %s; reachable %" PRIu64 " (%s), leaked %" PRIu64 "\n", h->file,
               h->used_count, units_bytes(b1, sizeof b1, h->used_bytes), s.r.reachable_count,
               units_bytes(b2, sizeof b2, s.r.reachable_bytes), h->used_count - s.r.reachable_count);
        printf("\nLargest retainers, objects:\n  %12s  %10s  %s\n", "retained", "objects", "object");
        for (size_t k = 0; k < no; k++)
            printf("  %12" PRIu64 "  %10" PRIu64 "  %s\n", objs[k].retained_size, objs[k].retained_count,
                   hg_node_name(h, objs[k].node, name, sizeof name));
        printf("\nLargest retainers, types (not counting objects under one of their own type):\n"
               "  %12s  %10s  %12s  %s\n", "retained", "objects", "shallow", "type");
        for (size_t k = 0; k < ng && k < (size_t)a.limit; k++)
            printf("  %12" PRIu64 "  %10" PRIu64 "  %12" PRIu64 "  %s\n", groups[k].retained_size, groups[k].count,
                   groups[k].shallow, hg_group_name(h, groups[k].key, name, sizeof name));
        printf("\nLargest retainers, roots:\n  %12s  %10s  %s\n", "retained", "objects", "root");
        for (size_t k = 0; k < nr; k++)
            printf("  %12" PRIu64 "  %10" PRIu64 "  %s\n", roots[k].retained_size, roots[k].retained_count,
                   hg_node_name(h, roots[k].node, name, sizeof name));
        if (s.r.retained_size[0] > 0) {
            uint64_t mine = 0;
            for (uint32_t v = 1; v <= h->nroots; v++)
                mine += s.r.retained_size[v];
            printf("  %12" PRIu64 "  %10s  shared by several roots\n", s.r.retained_size[0] - mine, "");
        }
        printf("\nLeak suspects (each retains >= %d%% of the used heap):\n", SUSPECT_PERCENT);
        if (!ns)
            printf("  none\n");
        for (size_t k = 0; k < ns; k++) {
            uint32_t v = sus[k], first, r = dominating_root(&s, v, &first);
            printf("  %s retains %.1f%% (%s in %u objects)", hg_node_name(h, v, name, sizeof name),
                   pct(s.r.retained_size[v], h->used_bytes), units_bytes(b1, sizeof b1, s.r.retained_size[v]),
                   s.r.retained_count[v]);
            if (hg_is_obj(h, v))
                printf(", held by %s", hg_holder_name(h, r, first, name, sizeof name));
            putchar('\n');
        }
    }
    rc = out_finish(&j, &a);
out:
    free(objs);
    free(roots);
    free(groups);
    session_close(&s);
    args_free(&a);
    return rc;
}
