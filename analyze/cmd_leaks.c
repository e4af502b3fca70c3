/*
 * cmd_leaks.c — `heapsnap leaks FILE`: the used objects no root reaches,
 * grouped by type (by size until types exist), and the leak heads that
 * hold them (analysis/leaks.c has the rules).  The answer is also left in
 * the database as the leaks and leak_heads tables, and the printed answer
 * itself (analysis/answers.c), which a second run prints without loading
 * the graph.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "session.h"
#include "cli.h"
#include "base/units.h"
#include "commands.h"

static const char help[] =
    "usage: heapsnap leaks [options] FILE.hsnap|FILE.db\n"
    "\n"
    "Find the heap objects that are allocated but that nothing the program can\n"
    "reach points to (conservatively: any word that looks like a pointer into an\n"
    "object keeps it).  Leaks are grouped by type, or by size as \"[48 bytes]\"\n"
    "while the objects have no types; each group shows a few addresses and the\n"
    "first bytes and strings of one.  Leak heads are the leaked objects that no\n"
    "other leaked object points to (for a lost cycle, one member stands for it):\n"
    "each is shown with everything it holds.\n"
    "\n"
    "The results are stored in the database: tables leaks(object, head,\n"
    "group_key) and leak_heads(object, held_count, held_bytes, scc_size), and\n"
    "analysis(id, reachable, idom, ...) for every object (docs/schema.md).  The\n"
    "answer itself is kept too (answer_leaks, answer_leak_groups, answer_leak_heads):\n"
    "a second run with the same or a smaller --limit prints it without loading\n"
    "the heap graph again.\n"
    "\n"
    "On a Go heap an unreachable object is garbage the next GC frees, not a leak:\n"
    "it is counted apart, beside HeapAlloc - HeapMarked (what was allocated since\n"
    "the last GC).  What leaks in Go is goroutines blocked for ever: those a GC\n"
    "found blocked (the runtime's g.waitsince) are grouped by status, wait reason,\n"
    "start function and creator, with how long they have waited as Go's traceback\n"
    "reckons it (the capture time - waitsince).\n"
    "Leaks stay the C memory (cgo) that nothing reaches.\n"
    "\n"
    "options:\n"
    "  --limit N          show N groups and N heads (default 20)\n"
    "  --all              also list every leaked object with its head\n"
    ARGS_HELP_COMMON
    "\n"
    "exit status: 0 success (leaks or not), 1 the file could not be analysed, 2 usage\n";

static const char *duration(char *buf, size_t len, int64_t ns)
{
    double s = (double)ns / 1e9;
    if (ns < 0)
        snprintf(buf, len, "?");
    else if (s < 120)
        snprintf(buf, len, "%.1f s", s);
    else if (s < 7200)
        snprintf(buf, len, "%.0f min", s / 60);
    else
        snprintf(buf, len, "%.1f h", s / 3600);
    return buf;
}

/* A Go heap: its garbage, said as garbage, and the goroutines a GC found blocked. */
static void text_go(const struct leaks_answer *l, const struct go_leaks *gl, const struct args *a)
{
    char b1[32], b2[32], b3[32];
    uint64_t since = gl->heap_alloc > gl->heap_marked ? gl->heap_alloc - gl->heap_marked : 0;
    printf("\nGo garbage: %" PRIu64 " unreachable objects, %s, that the next GC frees: not leaks.\n"
           "  HeapAlloc - HeapMarked = %s was allocated since the last GC (cycle %" PRIu64 ", %s before the "
           "capture), garbage or not;\n  an object that died after that cycle's mark is garbage too.\n",
           l->garbage_count, units_bytes(b1, sizeof b1, l->garbage_bytes), units_bytes(b2, sizeof b2, since),
           gl->num_gc, duration(b3, sizeof b3, gl->since_gc_ns));
    if (gl->problem[0]) {
        printf("\nBlocked goroutines: unknown (%s).\n", gl->problem);
    } else {
        printf("\nGoroutines blocked since a GC found them waiting (%" PRIu64 "; a goroutine leak is one large "
               "group):\n", gl->blocked);
        if (gl->ngroups)
            printf("  %7s  %-11s  %-10s  %-22s  %-30s  %s\n", "count", "waiting", "status", "wait reason",
                   "start function", "created by");
        for (size_t k = 0; k < gl->ngroups && k < (size_t)a->limit; k++) {
            const struct go_blocked *b = &gl->groups[k];
            printf("  %7" PRIu64 "  %-11s  %-10s  %-22s  %-30s  %s\n", b->count,
                   duration(b1, sizeof b1, b->shortest_ns), b->status, b->wait_reason[0] ? b->wait_reason : "-",
                   b->start_func, b->created_by);
        }
        if (gl->ngroups > (size_t)a->limit)
            printf("  ... %zu more groups (--limit)\n", gl->ngroups - (size_t)a->limit);
        if (gl->runtime_blocked)
            printf("  (%" PRIu64 " of the runtime's own goroutines, blocked by design, left out)\n",
                   gl->runtime_blocked);
        if (gl->unreadable)
            printf("  (%" PRIu64 " goroutines whose g was not captured, left out)\n", gl->unreadable);
        printf("  `heapsnap goroutines` lists every goroutine by where it waits.\n");
    }
    printf("\nGrowth: a heap that grows while the program runs shows between two snapshots: "
           "`heapsnap diff OLD NEW` names what grew and what holds it.\n");
}

/* Every leaked object (--all): from the graph when it was loaded, else from
 * the leaks table stored with the answer; one printer for both. */
struct every {
    struct json *j;            /* NULL: text */
};

static void every_one(void *u, uint64_t addr, uint64_t size, uint64_t head)
{
    struct every *e = u;
    if (!e->j) {
        printf("  0x%-16" PRIx64 "  %10" PRIu64 "  0x%" PRIx64 "\n", addr, size, head);
        return;
    }
    json_begin_object(e->j);
    json_kv_hex(e->j, "addr", addr);
    json_kv_uint(e->j, "size", size);
    json_kv_hex(e->j, "head", head);
    json_end_object(e->j);
}

static int every(const struct session *s, const struct leaks *l, struct json *j)
{
    struct every e = {j};
    const struct hgraph *h = &s->h;
    if (!s->have_graph)
        return leaks_answer_objects(s->db, every_one, &e);
    for (uint32_t i = 0; i < h->nobjs; i++)
        if (l->head_of[i] != GRAPH_NONE)
            every_one(&e, h->addr[i], h->osize[i], h->addr[l->head_of[i]]);
    return 0;
}

static int text(const struct session *s, const char *file, const struct leaks_answer *l, const struct leaks *lk,
                const struct go_leaks *gl, const struct args *a)
{
    char b1[32], b2[32];
    if (gl->go)
        printf("%s: %" PRIu64 " leaked C objects (memory no root reaches outside Go's heap), %s, of %" PRIu64
               " used (%s); %" PRIu64 " leak heads\n",
               file, l->count, units_bytes(b1, sizeof b1, l->bytes), l->used_count,
               units_bytes(b2, sizeof b2, l->used_bytes), l->nheads);
    else
        printf("%s: %" PRIu64 " leaked objects, %s, of %" PRIu64 " used (%s); %" PRIu64 " leak heads\n", file,
               l->count, units_bytes(b1, sizeof b1, l->bytes), l->used_count, units_bytes(b2, sizeof b2, l->used_bytes),
               l->nheads);
    if (gl->go)
        text_go(l, gl, a);
    else if (l->garbage_count)
        printf("(%" PRIu64 " unreachable Go objects, %s, are garbage the next GC frees, not leaks)\n",
               l->garbage_count, units_bytes(b1, sizeof b1, l->garbage_bytes));
    if (!l->count)
        return 0;
    /* the example's bytes go under the type column, where the eye is */
    static const char under_type[] = "                            "; /* 2 + 10 + 2 + 12 + 2 */
    printf("\nLeaked objects by type:\n  %10s  %12s  %-20s  %s\n", "count", "bytes", "type", "examples");
    for (size_t k = 0; k < l->groups_len && k < (size_t)a->limit; k++) {
        const struct leaks_answer_group *lg = &l->groups[k];
        printf("  %10" PRIu64 "  %12" PRIu64 "  %-20s ", lg->count, lg->bytes, lg->type);
        for (uint32_t e = 0; e < lg->nexamples; e++)
            printf(" 0x%" PRIx64, lg->examples[e]);
        printf("%s\n", lg->count > lg->nexamples ? " ..." : "");
        abytes_print(stdout, &lg->ex, under_type);
    }
    if (l->ngroups > (uint64_t)a->limit)
        printf("  ... %" PRIu64 " more groups (--limit)\n", l->ngroups - (uint64_t)a->limit);
    printf("\nLeak heads (what each holds within the leak):\n  %-18s  %-14s  %10s  %12s\n", "head", "type", "objects",
           "bytes");
    for (size_t k = 0; k < l->heads_len && k < (size_t)a->limit; k++) {
        const struct leaks_answer_head *hd = &l->heads[k];
        printf("  0x%-16" PRIx64 "  %-14s  %10" PRIu64 "  %12" PRIu64, hd->addr, hd->type, hd->held_count,
               hd->held_bytes);
        if (hd->scc_size > 1)
            printf("  (a cycle of %u objects)", hd->scc_size);
        putchar('\n');
    }
    if (l->nheads > (uint64_t)a->limit)
        printf("  ... %" PRIu64 " more heads (--limit)\n", l->nheads - (uint64_t)a->limit);
    if (l->held_partial)
        printf("  (many heads share the same lost objects: for some, what they hold is a lower bound)\n");
    if (a->all) {
        printf("\nEvery leaked object:\n  %-18s  %10s  %s\n", "object", "size", "head");
        return every(s, lk, NULL);
    }
    return 0;
}

static void json_go(struct json *j, const struct go_leaks *gl, const struct args *a)
{
    json_key(j, "go");
    if (!gl->go) {
        json_null(j);
        return;
    }
    json_begin_object(j);
    json_kv_uint(j, "heap_alloc", gl->heap_alloc);
    json_kv_uint(j, "heap_marked", gl->heap_marked);
    json_kv_uint(j, "num_gc", gl->num_gc);
    json_kv_int(j, "since_gc_ns", gl->since_gc_ns);
    if (gl->problem[0])
        json_kv_string(j, "blocked_problem", gl->problem);
    json_kv_uint(j, "blocked_goroutines", gl->blocked);
    json_kv_uint(j, "runtime_blocked_goroutines", gl->runtime_blocked);
    json_key(j, "blocked");
    json_begin_array(j);
    for (size_t k = 0; k < gl->ngroups && k < (size_t)a->limit; k++) {
        const struct go_blocked *b = &gl->groups[k];
        json_begin_object(j);
        json_kv_uint(j, "count", b->count);
        json_kv_string(j, "status", b->status);
        json_kv_string(j, "wait_reason", b->wait_reason);
        json_kv_string(j, "func", b->func);
        json_kv_string(j, "start_func", b->start_func);
        json_kv_string(j, "created_by", b->created_by);
        json_kv_int(j, "waited_ns", b->shortest_ns);
        json_kv_int(j, "longest_waited_ns", b->longest_ns);
        json_end_object(j);
    }
    json_end_array(j);
    json_end_object(j);
}

static int json(struct json *j, const struct session *s, const char *file, const struct leaks_answer *l,
                const struct leaks *lk, const struct go_leaks *gl, const struct args *a)
{
    int rc = 0;
    json_begin_object(j);
    json_kv_string(j, "file", file);
    json_kv_uint(j, "used_count", l->used_count);
    json_kv_uint(j, "used_bytes", l->used_bytes);
    json_kv_uint(j, "leaked_count", l->count);
    json_kv_uint(j, "leaked_bytes", l->bytes);
    json_kv_uint(j, "garbage_count", l->garbage_count);
    json_kv_uint(j, "garbage_bytes", l->garbage_bytes);
    json_kv_uint(j, "heads_count", l->nheads);
    json_kv_bool(j, "held_partial", l->held_partial);
    json_go(j, gl, a);
    json_key(j, "groups");
    json_begin_array(j);
    for (size_t k = 0; k < l->groups_len && k < (size_t)a->limit; k++) {
        const struct leaks_answer_group *lg = &l->groups[k];
        json_begin_object(j);
        json_kv_string(j, "type", lg->type);
        json_kv_uint(j, "count", lg->count);
        json_kv_uint(j, "bytes", lg->bytes);
        json_key(j, "examples");
        json_begin_array(j);
        for (uint32_t e = 0; e < lg->nexamples; e++)
            json_hex(j, lg->examples[e]);
        json_end_array(j);
        abytes_json(j, &lg->ex);
        json_end_object(j);
    }
    json_end_array(j);
    json_key(j, "heads");
    json_begin_array(j);
    for (size_t k = 0; k < l->heads_len && k < (size_t)a->limit; k++) {
        const struct leaks_answer_head *hd = &l->heads[k];
        json_begin_object(j);
        json_kv_hex(j, "addr", hd->addr);
        json_kv_uint(j, "size", hd->size);
        json_kv_string(j, "type", hd->type);
        json_kv_uint(j, "held_count", hd->held_count);
        json_kv_uint(j, "held_bytes", hd->held_bytes);
        json_kv_uint(j, "scc_size", hd->scc_size);
        json_end_object(j);
    }
    json_end_array(j);
    if (a->all) {
        json_key(j, "objects");
        json_begin_array(j);
        rc = every(s, lk, j);
        json_end_array(j);
    }
    json_end_object(j);
    return rc;
}

int cmd_leaks(int argc, char **argv)
{
    struct args a;
    int rc = args_parse(&a, argc, argv, help, ARG_ALL, 1, 1);
    if (rc >= 0)
        return rc;
    if (!a.limit)
        a.limit = 20;
    struct session s;
    struct leaks l = {0};
    struct leaks_answer ans = {0};
    struct go_leaks gl = {0};
    struct json j;
    char err[A_ERRLEN];
    rc = EXIT_FAIL;
    if (session_open_db(&s, a.pos[0], &a))
        goto out;
    /* a second leaks answers from what the first stored (analysis/answers.c) */
    int stored = leaks_answer_read(&ans, s.db, a.limit);
    if (stored < 0) {
        cli_error("%s: out of memory reading the stored answer", a.pos[0]);
        goto out;
    }
    if (stored && a.all && leaks_answer_objects(s.db, NULL, NULL)) {
        leaks_answer_free(&ans); /* --all reads the leaks table, which is not there */
        stored = 0;
    }
    if (stored) {
        session_timing_answer(&s, a.pos[0]);
    } else {
        if (session_load(&s, a.pos[0], SESSION_RESULTS | SESSION_REFS_LATER))
            goto out;
        if (leaks_load_refs(&s.h, &s.r, err, sizeof err)) {
            cli_error("%s", err);
            goto out;
        }
        if (leaks_find(&l, &s.h, &s.r) || leaks_answer_build(&ans, &l, &s.h, a.limit)) {
            cli_error("%s: out of memory finding leaks", a.pos[0]);
            goto out;
        }
        if (leaks_store(&l, &s.h, &ans, err, sizeof err))
            cli_warn("%s", err);
    }
    if (go_leaks_find(&gl, s.db)) {
        cli_error("%s: out of memory grouping blocked goroutines", a.pos[0]);
        goto out;
    }
    out_begin(&j, &a);
    int bad = a.json ? json(&j, &s, a.pos[0], &ans, &l, &gl, &a) : text(&s, a.pos[0], &ans, &l, &gl, &a);
    rc = out_finish(&j, &a);
    if (bad) {
        cli_error("%s: reading the stored leaks: %s", a.pos[0], sqlite3_errmsg(s.db));
        rc = EXIT_FAIL;
    }
out:
    leaks_free(&l);
    leaks_answer_free(&ans);
    go_leaks_free(&gl);
    session_close(&s);
    args_free(&a);
    return rc;
}
