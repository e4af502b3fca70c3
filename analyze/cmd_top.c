/*
 * cmd_top.c — `heapsnap top FILE`: what holds the memory.  From the
 * dominator tree (roots are nodes under the super-root, so each object that
 * one root alone keeps alive belongs to that root): the objects, types and
 * roots with the largest retained sizes, and the leak suspects — any
 * retainer holding 10% or more of the used heap.  The answer is built once
 * (build()), stored (analysis/answers.c) and printed; a second run prints
 * the stored one through the same printers, without loading the graph.
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
    "idom, retained_size, retained_count) (docs/schema.md), and so is the answer\n"
    "(answer_top, answer_top_nodes, answer_top_types): a second run with the same\n"
    "or a smaller --limit prints it without loading the heap graph again.\n"
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

static int row(struct top_answer_row *out, const struct session *s, uint32_t v, uint64_t size, uint64_t count)
{
    memset(out, 0, sizeof *out);
    out->retained_size = size;
    out->retained_count = count;
    return anode_fill(&out->node, &s->h, v);
}

/* The answer, from the graph and its results: what is printed, fresh or stored. */
static int build(struct top_answer *t, const struct session *s, long limit)
{
    const struct hgraph *h = &s->h;
    struct retainer *objs = NULL, *roots = NULL, *groups = NULL;
    size_t no = 0, nr = 0, ng = 0;
    uint32_t sus[64];
    char name[256];
    int rc = -1;
    memset(t, 0, sizeof *t);
    t->rows = limit;
    t->used_count = h->used_count;
    t->used_bytes = h->used_bytes;
    t->reachable_count = s->r.reachable_count;
    t->reachable_bytes = s->r.reachable_bytes;
    if (retainers_top(h, &s->r, (size_t)limit, &objs, &no, &roots, &nr, &groups, &ng))
        goto out;
    size_t ns = suspects(s, sus, sizeof sus / sizeof sus[0]);
    size_t nt = ng < (size_t)limit ? ng : (size_t)limit;
    if (!(t->objs = calloc(no ? no : 1, sizeof *t->objs)) || !(t->roots = calloc(nr ? nr : 1, sizeof *t->roots)) ||
        !(t->sus = calloc(ns ? ns : 1, sizeof *t->sus)) || !(t->types = calloc(nt ? nt : 1, sizeof *t->types)))
        goto out;
    for (; t->nobjs < no; t->nobjs++)
        if (row(&t->objs[t->nobjs], s, objs[t->nobjs].node, objs[t->nobjs].retained_size,
                objs[t->nobjs].retained_count))
            goto out;
    for (; t->nroots < nr; t->nroots++)
        if (row(&t->roots[t->nroots], s, roots[t->nroots].node, roots[t->nroots].retained_size,
                roots[t->nroots].retained_count))
            goto out;
    for (; t->ntypes < nt; t->ntypes++) {
        struct top_answer_type *y = &t->types[t->ntypes];
        const struct retainer *g = &groups[t->ntypes];
        y->count = g->count;
        y->shallow = g->shallow;
        y->retained_size = g->retained_size;
        y->retained_count = g->retained_count;
        if (!(y->type = strdup(hg_group_name(h, g->key, name, sizeof name))))
            goto out;
    }
    if (s->r.retained_size[0] > 0) {
        uint64_t mine = 0;
        for (uint32_t v = 1; v <= h->nroots; v++)
            mine += s->r.retained_size[v];
        t->shared = 1;
        t->shared_bytes = s->r.retained_size[0] - mine;
    }
    for (; t->nsus < ns; t->nsus++) {
        uint32_t v = sus[t->nsus], first, r = dominating_root(s, v, &first);
        struct top_answer_row *x = &t->sus[t->nsus];
        if (row(x, s, v, s->r.retained_size[v], s->r.retained_count[v]) ||
            !(x->held_by = strdup(hg_holder_name(h, r, first, name, sizeof name))))
            goto out;
    }
    rc = 0;
out:
    free(objs);
    free(roots);
    free(groups);
    return rc;
}

static void print_json(struct json *j, const char *file, const struct top_answer *t, long limit)
{
    json_begin_object(j);
    json_kv_string(j, "file", file);
    json_kv_uint(j, "used_count", t->used_count);
    json_kv_uint(j, "used_bytes", t->used_bytes);
    json_kv_uint(j, "reachable_count", t->reachable_count);
    json_kv_uint(j, "reachable_bytes", t->reachable_bytes);
    const char *names[2] = {"objects", "roots"};
    const struct top_answer_row *lists[2] = {t->objs, t->roots};
    size_t lens[2] = {t->nobjs, t->nroots};
    for (int L = 0; L < 2; L++) {
        json_key(j, names[L]);
        json_begin_array(j);
        for (size_t k = 0; k < lens[L] && k < (size_t)limit; k++) {
            json_begin_object(j);
            json_key(j, "node");
            anode_json(j, &lists[L][k].node);
            json_kv_uint(j, "retained_size", lists[L][k].retained_size);
            json_kv_uint(j, "retained_count", lists[L][k].retained_count);
            json_end_object(j);
        }
        json_end_array(j);
    }
    json_key(j, "types");
    json_begin_array(j);
    for (size_t k = 0; k < t->ntypes && k < (size_t)limit; k++) {
        json_begin_object(j);
        json_kv_string(j, "type", t->types[k].type);
        json_kv_uint(j, "count", t->types[k].count);
        json_kv_uint(j, "shallow_size", t->types[k].shallow);
        json_kv_uint(j, "retained_size", t->types[k].retained_size);
        json_kv_uint(j, "retained_count", t->types[k].retained_count);
        json_end_object(j);
    }
    json_end_array(j);
    json_key(j, "suspects");
    json_begin_array(j);
    for (size_t k = 0; k < t->nsus; k++) {
        const struct top_answer_row *x = &t->sus[k];
        json_begin_object(j);
        json_key(j, "node");
        anode_json(j, &x->node);
        json_kv_uint(j, "retained_size", x->retained_size);
        json_kv_uint(j, "retained_count", x->retained_count);
        json_kv_double(j, "percent", pct(x->retained_size, t->used_bytes));
        json_kv_string(j, "held_by", x->held_by);
        json_end_object(j);
    }
    json_end_array(j);
    json_end_object(j);
}

static void print_text(const char *file, const struct top_answer *t, long limit)
{
    char b1[32], b2[32];
    printf("%s: %" PRIu64 " used objects, %s; reachable %" PRIu64 " (%s), leaked %" PRIu64 "\n", file,
           t->used_count, units_bytes(b1, sizeof b1, t->used_bytes), t->reachable_count,
           units_bytes(b2, sizeof b2, t->reachable_bytes), t->used_count - t->reachable_count);
    printf("\nLargest retainers, objects:\n  %12s  %10s  %s\n", "retained", "objects", "object");
    for (size_t k = 0; k < t->nobjs && k < (size_t)limit; k++)
        printf("  %12" PRIu64 "  %10" PRIu64 "  %s\n", t->objs[k].retained_size, t->objs[k].retained_count,
               t->objs[k].node.text);
    printf("\nLargest retainers, types (not counting objects under one of their own type):\n"
           "  %12s  %10s  %12s  %s\n", "retained", "objects", "shallow", "type");
    for (size_t k = 0; k < t->ntypes && k < (size_t)limit; k++)
        printf("  %12" PRIu64 "  %10" PRIu64 "  %12" PRIu64 "  %s\n", t->types[k].retained_size, t->types[k].count,
               t->types[k].shallow, t->types[k].type);
    printf("\nLargest retainers, roots:\n  %12s  %10s  %s\n", "retained", "objects", "root");
    for (size_t k = 0; k < t->nroots && k < (size_t)limit; k++)
        printf("  %12" PRIu64 "  %10" PRIu64 "  %s\n", t->roots[k].retained_size, t->roots[k].retained_count,
               t->roots[k].node.text);
    if (t->shared)
        printf("  %12" PRIu64 "  %10s  shared by several roots\n", t->shared_bytes, "");
    printf("\nLeak suspects (each retains >= %d%% of the used heap):\n", SUSPECT_PERCENT);
    if (!t->nsus)
        printf("  none\n");
    for (size_t k = 0; k < t->nsus; k++) {
        const struct top_answer_row *x = &t->sus[k];
        printf("  %s retains %.1f%% (%s in %" PRIu64 " objects)", x->node.text, pct(x->retained_size, t->used_bytes),
               units_bytes(b1, sizeof b1, x->retained_size), x->retained_count);
        if (x->node.kind == ANODE_OBJECT)
            printf(", held by %s", x->held_by);
        putchar('\n');
    }
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
    struct top_answer t = {0};
    struct json j;
    char err[A_ERRLEN];
    rc = EXIT_FAIL;
    if (session_open_db(&s, a.pos[0], &a))
        goto out;
    /* a second top answers from what the first stored (analysis/answers.c) */
    int stored = top_answer_read(&t, s.db, a.limit);
    if (stored < 0) {
        cli_error("%s: out of memory reading the stored answer", a.pos[0]);
        goto out;
    }
    if (stored) {
        session_timing_answer(&s, a.pos[0]);
    } else {
        if (session_load(&s, a.pos[0], SESSION_RESULTS | SESSION_REFS_FOR_RESULTS))
            goto out;
        if (build(&t, &s, a.limit)) {
            cli_error("%s: out of memory", a.pos[0]);
            goto out;
        }
        if (top_answer_store(&t, s.db, a.pos[0], err, sizeof err))
            cli_warn("%s", err);
    }
    out_begin(&j, &a);
    if (a.json)
        print_json(&j, a.pos[0], &t, a.limit);
    else
        print_text(a.pos[0], &t, a.limit);
    rc = out_finish(&j, &a);
out:
    top_answer_free(&t);
    session_close(&s);
    args_free(&a);
    return rc;
}
