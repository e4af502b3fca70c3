/*
 * go/advice.c — why a Go program's RES is higher than pprof says, and what
 * gives memory back: the Go side of `heapsnap rss` (the go walker's
 * advisor, heap/advice.h), in the runtime's own terms.
 *
 * What the runtime holds is runtime/metrics' /memory/classes tree, which
 * the walker rebuilt as metrics.Read computes it (go_metrics); what is
 * resident comes from the page states (analysis/rss.c):
 *   heap, in-use spans   heap/objects + heap/unused + heap/stacks: the
 *                        arenas' resident pages less those of free spans
 *   heap, free spans     heap/free (+ heap/released pages still resident):
 *                        whole pages inside free spans.  Released pages
 *                        leave RSS at once with MADV_DONTNEED (the Linux
 *                        default since Go 1.16); with GODEBUG=madvdontneed=0
 *                        they are MADV_FREE'd and stay in RSS, as smaps'
 *                        LazyFree, until the kernel wants the memory
 *   outside the arenas   metadata/..., os-stacks, other, profiling/buckets
 *                        live in the runtime's own mappings, which the
 *                        walker lists as 'go-runtime' regions: what is
 *                        resident in them (rss_arena.runtime_rss)
 * The GC state at the capture comes from go_memstats (heap/go/memstats.c):
 * NumGC, LastGC against the capture time, HeapMarked (live at the last
 * GC's end: pprof's inuse_space), NextGC, GOGC, GOMEMLIMIT; and the
 * scavenger's goals as the runtime computed them (runtime.scavenge), whose
 * rule is the same in Go 1.19 and 1.26-1.27 (mgcscavenge.go,
 * gcPaceScavenger): retain heapInuse + heapFree down to gcPercentGoal =
 * 1.1 x HeapInuse at the last GC x (heap goal / last heap goal), page
 * aligned; and, under a memory limit, what the runtime has mapped down to
 * memoryLimitGoal = 95% of GOMEMLIMIT — in Go 1.19 the code multiplies by
 * 95 rather than 0.95, so its background scavenger never works for the
 * limit (only allocation does, once past it).  Levers are said with the
 * figure each would give back, when worth it (1 MiB and a tenth of RSS).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/units.h"
#include "heap/advice.h"
#include "heap/go/internal.h"

#define MIB ((uint64_t)1 << 20)
#define NONE_GOAL UINT64_MAX /* the scavenger's "nothing to do" (^uint64(0)) */

enum {
    HEAP_ALLOC, HEAP_MARKED, HEAP_INUSE, HEAP_IDLE, HEAP_RELEASED, STACK_INUSE, MSPAN_SYS, MCACHE_SYS, GC_SYS,
    BUCKHASH_SYS, OTHER_SYS, NEXT_GC, GOGC, GOMEMLIMIT, NUM_GC, SYS, NSTAT
};

static const char *const names[NSTAT] = {
    "HeapAlloc", "HeapMarked", "HeapInuse", "HeapIdle", "HeapReleased", "StackInuse", "MSpanSys", "MCacheSys",
    "GCSys", "BuckHashSys", "OtherSys", "NextGC", "GOGC", "GOMEMLIMIT", "NumGC", "Sys",
};

/* Figures a newer walker adds: 0 with *v, -1 if absent. */
enum { LAST_GC, LAST_HEAP_INUSE, SCAV_GC_GOAL, SCAV_LIMIT_GOAL, NOPT };
static const char *const opt_names[NOPT] = {"LastGC", "LastHeapInuse", "ScavengeGCPercentGoal",
                                            "ScavengeMemoryLimitGoal"};

/* The /memory/classes metrics, in the tree's order. */
#define NCLASS 13
static const char *const class_names[NCLASS] = {
    "heap/objects", "heap/unused", "heap/free", "heap/released", "heap/stacks", "metadata/mcache/inuse",
    "metadata/mcache/free", "metadata/mspan/inuse", "metadata/mspan/free", "metadata/other", "os-stacks",
    "other", "profiling/buckets",
};

struct gofig {
    uint64_t v[NSTAT];
    uint64_t opt[NOPT];
    int has[NOPT];
    uint64_t cls[NCLASS], total;
    int classes;               /* go_metrics had every class */
    int found, nclasses;       /* while loading: MemStats and classes seen */
    char version[32];          /* go.version, "" if unknown */
    int64_t capture_ns;
    /* resident, from the figures */
    uint64_t heap_rss, free_res, inuse_res, lazy, outside, meta_res;
};

/* A row of go_memstats (name, value) into g. */
static void memstat(void *arg, const struct heap_value *v)
{
    struct gofig *g = arg;
    const char *n = v[0].kind == HV_TEXT ? v[0].s : NULL;
    for (int i = 0; n && i < NSTAT; i++)
        if (!strcmp(n, names[i])) {
            g->v[i] = (uint64_t)v[1].i;
            g->found++;
        }
    for (int i = 0; n && i < NOPT; i++)
        if (!strcmp(n, opt_names[i])) {
            g->opt[i] = (uint64_t)v[1].i;
            g->has[i] = 1;
        }
}

/* A row of go_metrics (name, value) into g: the /memory/classes tree. */
static void metric(void *arg, const struct heap_value *v)
{
    struct gofig *g = arg;
    const char *m = v[0].kind == HV_TEXT ? v[0].s : NULL;
    if (!m || strncmp(m, "/memory/classes/", 16))
        return;
    char k[64];
    snprintf(k, sizeof k, "%.*s", (int)strcspn(m + 16, ":"), m + 16);
    if (!strcmp(k, "total"))
        g->total = (uint64_t)v[1].i;
    for (int i = 0; i < NCLASS; i++)
        if (!strcmp(k, class_names[i])) {
            g->cls[i] = (uint64_t)v[1].i;
            g->nclasses++;
        }
}

static int load(const struct heap_reader *r, struct gofig *g)
{
    memset(g, 0, sizeof *g);
    if (r->rows(r->u, "SELECT name, value FROM go_memstats", NULL, 2, memstat, g))
        return -1;
    if (!r->rows(r->u, "SELECT name, value FROM go_metrics", NULL, 2, metric, g))
        g->classes = g->nclasses == NCLASS;
    if (rss_fact_text(r, "go.version", g->version, sizeof g->version))
        g->version[0] = 0;
    uint64_t t = 0;
    if (!rss_scalar(r, "SELECT capture_time_ns FROM snapshot", &t))
        g->capture_ns = (int64_t)t;
    return g->found == NSTAT ? 0 : -1;
}

/* The resident split (see the top): the Go heap's arenas in the figures. */
static void resident(const struct rss_figures *f, struct gofig *g)
{
    for (size_t i = 0; i < f->narenas; i++) {
        const struct rss_arena *a = &f->arenas[i];
        if (a->heap < (int)f->nheaps && !strcmp(f->heaps[a->heap].name, "go")) {
            g->heap_rss += a->rss - (a->runtime_rss < a->rss ? a->runtime_rss : a->rss);
            g->meta_res += a->runtime_rss < a->rss ? a->runtime_rss : a->rss;
            g->free_res += a->free_resident;
        }
    }
    if (g->free_res > g->heap_rss)
        g->free_res = g->heap_rss;
    g->inuse_res = g->heap_rss - g->free_res;
    g->lazy = f->lazyfree_known && !strcmp(f->allocator, "go") ? f->heap_lazyfree : 0;
    if (g->lazy > g->free_res)
        g->lazy = g->free_res;
    g->outside = f->kind_rss[RSS_ANON];
}

static uint64_t sub(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

/* Go 1.19's memory-limit goal is 95 x the limit (see the top). */
static int limit_goal_broken(const struct gofig *g)
{
    return !strncmp(g->version, "go1.19", 6) && (g->version[6] == 0 || g->version[6] == '.');
}

static const char *secs(char *buf, size_t len, int64_t ns)
{
    if (ns < 0)
        snprintf(buf, len, "?");
    else if (ns < 120000000000ll)
        snprintf(buf, len, "%.1f s", (double)ns / 1e9);
    else
        snprintf(buf, len, "%.0f min", (double)ns / 6e10);
    return buf;
}

static void describe(const struct rss_figures *f, FILE *out)
{
    struct gofig g;
    char b[8][32];
    if (load(&f->reader, &g)) {
        fprintf(out, "\nThe Go walker's go_memstats table is missing or incomplete (see the warnings table): no Go "
                     "breakdown.\n");
        return;
    }
    resident(f, &g);
    uint64_t go_heap = g.cls[0] + g.cls[1] + g.cls[2] + g.cls[3] + g.cls[4];
    fprintf(out, "\nGo runtime memory, runtime/metrics /memory/classes at the capture:\n");
    if (!g.classes) {
        fprintf(out, "  (the go_metrics table is missing or incomplete)\n");
    } else {
        fprintf(out, "  %-28s %14" PRIu64 "\n", "total", g.total);
        fprintf(out, "  %-28s %14" PRIu64 "   resident %s (its arenas' pages)\n", "heap", go_heap,
                units_bytes(b[0], 32, g.heap_rss));
        static const char *const what[NCLASS] = {
            "live and not yet swept objects", "free slots in in-use spans", "free spans, not yet returned",
            "returned to the OS", "goroutine stacks", "", "", "", "", "GC bitmaps, work buffers, ...", "", "",
            ""};
        for (int i = 0; i < NCLASS; i++) {
            fprintf(out, "    %-26s %14" PRIu64 "%s%s", class_names[i], g.cls[i], what[i][0] ? "   " : "", what[i]);
            if (i == 2 && f->pages_known)
                fprintf(out, "; resident %s", units_bytes(b[0], 32, sub(g.free_res, g.lazy)));
            if (i == 3 && f->lazyfree_known)
                fprintf(out, "; resident %s (LazyFree)", units_bytes(b[0], 32, g.lazy));
            fputc('\n', out);
            if (i == 4)
                fprintf(out, "  %-28s %14" PRIu64 "   outside the heap arenas; resident %s\n",
                        "runtime, outside the heap", g.total - go_heap, units_bytes(b[0], 32, g.meta_res));
        }
    }
    fprintf(out, "\nResident memory by what holds it (these add up to RSS):\n");
    uint64_t c_heap = sub(f->kind_rss[RSS_HEAP], g.heap_rss + g.meta_res);
    const struct { const char *n; uint64_t v; const char *why; } rows[] = {
        {"Go heap, in-use spans", g.inuse_res, "heap/objects + heap/unused + heap/stacks"},
        {"Go heap, free pages", g.free_res, f->lazyfree_known ? "whole pages in free spans and slots: heap/free, and released ones not yet "
                                                                  "reclaimed (LazyFree)" : "whole pages in free spans and slots: heap/free"},
        {"Go runtime metadata", g.meta_res, "the runtime's own mappings: metadata/..., other, profiling/buckets"},
        {"other anonymous memory", g.outside, "not the Go runtime's (C libraries' own mmaps)"},
        {"C heap (cgo)", c_heap, "malloc's arenas"},
        {"C mmapped allocations", f->kind_rss[RSS_MMAPPED], "malloc's mmapped chunks"},
        {"thread stacks", f->kind_rss[RSS_STACK], "the OS stacks of threads"},
        {"binaries and libraries", f->kind_rss[RSS_BINARY], ""},
        {"shared memory", f->kind_rss[RSS_SHARED], ""},
    };
    uint64_t sum = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        sum += rows[i].v;
        if (rows[i].v || i < 3)
            fprintf(out, "  %-26s %14" PRIu64 "   %s\n", rows[i].n, rows[i].v, rows[i].why);
    }
    fprintf(out, "  %-26s %14" PRIu64 "%s\n", "total", sum, sum == f->total_rss ? "" : "   (not RSS: see the warnings)");
    if (!f->pages_known)
        fprintf(out, "  (The snapshot is not at hand: its page states say which free pages are resident.)\n");

    int64_t since = g.has[LAST_GC] && g.opt[LAST_GC] && g.capture_ns ? g.capture_ns - (int64_t)g.opt[LAST_GC] : -1;
    int limited = g.v[GOMEMLIMIT] < ((uint64_t)1 << 62);
    fprintf(out, "\nGC at the capture: %" PRIu64 " cycles (NumGC), the last ended %s before; HeapMarked %s (live "
                 "then: what pprof's inuse_space shows), HeapAlloc %s now; the next cycle starts at NextGC %s "
                 "(GOGC=%lld, GOMEMLIMIT=%s).\n",
            g.v[NUM_GC], secs(b[0], 32, since), units_bytes(b[1], 32, g.v[HEAP_MARKED]),
            units_bytes(b[2], 32, g.v[HEAP_ALLOC]), units_bytes(b[3], 32, g.v[NEXT_GC]), (long long)(int32_t)g.v[GOGC],
            limited ? units_bytes(b[4], 32, g.v[GOMEMLIMIT]) : "off (math.MaxInt64)");
    uint64_t retained = g.v[HEAP_INUSE] + sub(g.v[HEAP_IDLE], g.v[HEAP_RELEASED]);
    if (g.has[SCAV_GC_GOAL]) {
        fprintf(out, "Scavenger: the heap retains %s (HeapInuse + free spans).  For GOGC it returns memory down "
                     "to %s",
                units_bytes(b[0], 32, retained),
                g.opt[SCAV_GC_GOAL] == NONE_GOAL ? "no goal" : units_bytes(b[1], 32, g.opt[SCAV_GC_GOAL]));
        if (g.opt[SCAV_GC_GOAL] == NONE_GOAL)
            fprintf(out, " (it has nothing to return: retained is within a page of 1.1 x HeapInuse at the last GC"
                         " (%s) scaled by how the heap goal moved, or no cycle has ended yet)",
                    g.has[LAST_HEAP_INUSE] ? units_bytes(b[2], 32, g.opt[LAST_HEAP_INUSE]) : "?");
        else
            fprintf(out, " = 1.1 x HeapInuse at the last GC (%s) x heap goal / last heap goal: %s to go, returned "
                         "in the background at about 1%% of one CPU",
                    g.has[LAST_HEAP_INUSE] ? units_bytes(b[2], 32, g.opt[LAST_HEAP_INUSE]) : "?",
                    units_bytes(b[3], 32, sub(retained, g.opt[SCAV_GC_GOAL])));
        if (limited)
            fprintf(out, "; for GOMEMLIMIT, down to %s", g.opt[SCAV_LIMIT_GOAL] == NONE_GOAL ? "no goal (below 95%% "
                    "of the limit)" : units_bytes(b[4], 32, g.opt[SCAV_LIMIT_GOAL]));
        fprintf(out, ".\n");
    } else {
        fprintf(out, "Scavenger: its goals are unknown (this runtime's DWARF has no runtime.scavenge).\n");
    }
}

static void describe_json(const struct rss_figures *f, struct json *j)
{
    struct gofig g;
    json_key(j, "go");
    if (load(&f->reader, &g)) {
        json_null(j);
        return;
    }
    resident(f, &g);
    json_begin_object(j);
    json_key(j, "classes");
    json_begin_object(j);
    char k[64];
    for (int i = 0; g.classes && i < NCLASS; i++) {
        snprintf(k, sizeof k, "/memory/classes/%s:bytes", class_names[i]);
        json_kv_uint(j, k, g.cls[i]);
    }
    if (g.classes)
        json_kv_uint(j, "/memory/classes/total:bytes", g.total);
    json_end_object(j);
    json_key(j, "resident");
    json_begin_object(j);
    json_kv_uint(j, "heap_inuse_spans", g.inuse_res);
    json_kv_uint(j, "heap_free_spans", g.free_res);
    if (f->lazyfree_known)
        json_kv_uint(j, "heap_lazyfree", g.lazy);
    else
        json_kv_null(j, "heap_lazyfree");
    json_kv_uint(j, "runtime_metadata", g.meta_res);
    json_kv_uint(j, "other_anonymous", g.outside);
    json_kv_uint(j, "c_heap", sub(f->kind_rss[RSS_HEAP], g.heap_rss + g.meta_res));
    json_kv_uint(j, "c_mmapped", f->kind_rss[RSS_MMAPPED]);
    json_kv_uint(j, "thread_stacks", f->kind_rss[RSS_STACK]);
    json_kv_uint(j, "binaries", f->kind_rss[RSS_BINARY]);
    json_kv_uint(j, "shared", f->kind_rss[RSS_SHARED]);
    json_end_object(j);
    json_key(j, "gc");
    json_begin_object(j);
    json_kv_uint(j, "num_gc", g.v[NUM_GC]);
    if (g.has[LAST_GC] && g.opt[LAST_GC] && g.capture_ns)
        json_kv_int(j, "since_last_gc_ns", g.capture_ns - (int64_t)g.opt[LAST_GC]);
    else
        json_kv_null(j, "since_last_gc_ns");
    json_kv_uint(j, "heap_marked", g.v[HEAP_MARKED]);
    json_kv_uint(j, "heap_alloc", g.v[HEAP_ALLOC]);
    json_kv_uint(j, "next_gc", g.v[NEXT_GC]);
    json_kv_int(j, "gogc", (int32_t)g.v[GOGC]);
    json_kv_uint(j, "gomemlimit", g.v[GOMEMLIMIT]);
    json_end_object(j);
    json_key(j, "scavenger");
    if (!g.has[SCAV_GC_GOAL]) {
        json_null(j);
    } else {
        json_begin_object(j);
        json_kv_uint(j, "retained", g.v[HEAP_INUSE] + sub(g.v[HEAP_IDLE], g.v[HEAP_RELEASED]));
        if (g.opt[SCAV_GC_GOAL] == NONE_GOAL)
            json_kv_null(j, "gc_percent_goal");
        else
            json_kv_uint(j, "gc_percent_goal", g.opt[SCAV_GC_GOAL]);
        if (g.opt[SCAV_LIMIT_GOAL] == NONE_GOAL)
            json_kv_null(j, "memory_limit_goal");
        else
            json_kv_uint(j, "memory_limit_goal", g.opt[SCAV_LIMIT_GOAL]);
        if (g.has[LAST_HEAP_INUSE])
            json_kv_uint(j, "last_heap_inuse", g.opt[LAST_HEAP_INUSE]);
        json_end_object(j);
    }
    json_end_object(j);
}

static void advise(const struct rss_figures *f, rss_say say, void *u)
{
    struct gofig g;
    char b[8][32], text[2048];
    if (load(&f->reader, &g)) {
        say(u, NULL, "The Go walker's go_memstats table is missing or incomplete (see the warnings table): no "
                     "Go levers.");
        return;
    }
    resident(f, &g);
    uint64_t rss = f->total_rss;
    uint64_t garbage = sub(g.v[HEAP_ALLOC], g.v[HEAP_MARKED]);
    uint64_t idle = sub(g.v[HEAP_IDLE], g.v[HEAP_RELEASED]);
    uint64_t idle_res = f->pages_known ? sub(g.free_res, g.lazy) : idle;
    int64_t gogc = (int32_t)g.v[GOGC];
    int limited = g.v[GOMEMLIMIT] < ((uint64_t)1 << 62);
    int said = 0;
    if (rss_worth(idle_res, rss)) {
        snprintf(text, sizeof text,
                 "gives back %s now: the free spans still resident (heap/free %s).  It forces a GC and then "
                 "returns every free page; the background scavenger would return them only down to its goal.  "
                 "Call it after a burst that will not recur.",
                 units_bytes(b[0], 32, idle_res), units_bytes(b[1], 32, idle));
        say(u, "debug.FreeOSMemory()", text);
        uint64_t inuse = sub(g.total, g.cls[2] + g.cls[3]);
        if (limit_goal_broken(&g))
            snprintf(text, sizeof text,
                     "(now %s) a limit near what the program uses without its free spans, %s, would have the "
                     "runtime return up to %s of them — in Go 1.19 only as the heap grows past the limit: its "
                     "background scavenger's limit goal is computed as 95 x the limit (mgcscavenge.go), so it "
                     "never works for it.  debug.SetMemoryLimit() sets it at run time.",
                     limited ? units_bytes(b[2], 32, g.v[GOMEMLIMIT]) : "off", units_bytes(b[0], 32, inuse),
                     units_bytes(b[1], 32, idle_res));
        else
            snprintf(text, sizeof text,
                     "(now %s) the background scavenger keeps what the runtime has mapped under 95%% of the "
                     "limit, so a limit of %s (what the program uses without its free spans, / 0.95) would "
                     "return up to %s of them, and the GC runs sooner as the heap nears it.  "
                     "debug.SetMemoryLimit() sets it at run time.",
                     limited ? units_bytes(b[2], 32, g.v[GOMEMLIMIT]) : "off",
                     units_bytes(b[0], 32, inuse * 100 / 95), units_bytes(b[1], 32, idle_res));
        say(u, "GOMEMLIMIT", text);
        said = 1;
    }
    if (f->lazyfree_known && g.lazy) {
        snprintf(text, sizeof text,
                 "%s of released heap is still in RSS as LazyFree: the runtime returned it with MADV_FREE "
                 "(GODEBUG=madvdontneed=0), which the kernel reclaims only under memory pressure.  "
                 "GODEBUG=madvdontneed=1, the default on Linux since Go 1.16, makes released pages leave RSS "
                 "at once: it would give back those %s.",
                 units_bytes(b[0], 32, g.lazy), units_bytes(b[1], 32, g.lazy));
        say(u, "GODEBUG=madvdontneed=1", text);
        said = 1;
    } else if (rss_worth(idle_res, rss) || g.v[HEAP_RELEASED] >= MIB) {
        snprintf(text, sizeof text,
                 "%s: released pages (heap/released %s) leave RSS at once with MADV_DONTNEED, the Linux default "
                 "since Go 1.16; under GODEBUG=madvdontneed=0 they would stay as LazyFree until the kernel needs "
                 "the memory.  Nothing to give back here.",
                 !f->lazyfree_known ? "LazyFree is unknown (a snapshot before format 1.2)"
                                    : "no page of the heap is LazyFree",
                 units_bytes(b[0], 32, g.v[HEAP_RELEASED]));
        say(u, "GODEBUG=madvdontneed=1", text);
    }
    /* what a lower GOGC gives back is the garbage in RSS now (the headroom
     * up to NextGC is growth still to come, not memory held) */
    if (rss_worth(garbage, rss)) {
        uint64_t half = g.v[HEAP_MARKED] + g.v[HEAP_MARKED] * (uint64_t)(gogc > 0 ? gogc : 100) / 200;
        snprintf(text, sizeof text,
                 "(now %lld) the heap grows to NextGC = HeapMarked x (1 + GOGC/100) = %s before the next cycle; "
                 "%s of it is allocated since the last GC, garbage or not.  Half the GOGC would start the cycle "
                 "at %s, %s lower at the peak, at the price of GC CPU.",
                 (long long)gogc, units_bytes(b[0], 32, g.v[NEXT_GC]), units_bytes(b[1], 32, garbage),
                 units_bytes(b[2], 32, half), units_bytes(b[3], 32, sub(g.v[NEXT_GC], half)));
        say(u, "GOGC", text);
        said = 1;
    }
    if (rss_worth(g.cls[1], rss)) {
        snprintf(text, sizeof text,
                 "%s of in-use spans is free slots (heap/unused): a span keeps its pages while any of its "
                 "objects lives, so a few long-lived objects among many short-lived ones of the same size "
                 "pin whole spans.  No setting compacts the Go heap; allocating long-lived data apart, or in "
                 "fewer larger objects, does.",
                 units_bytes(b[0], 32, g.cls[1]));
        say(u, NULL, text);
        said = 1;
    }
    if (rss_worth(g.cls[4], rss)) {
        snprintf(text, sizeof text,
                 "Goroutine stacks hold %s (heap/stacks): `heapsnap goroutines` groups the goroutines by where "
                 "they wait, which is how a goroutine leak shows; `heapsnap leaks` lists those a GC found blocked.",
                 units_bytes(b[0], 32, g.cls[4]));
        say(u, "heapsnap goroutines", text);
        said = 1;
    }
    /* cgo: the C heap beside Go's (the figures' heaps), which no Go setting touches */
    for (size_t i = 0; i < f->nheaps; i++) {
        const struct rss_heap *h = &f->heaps[i];
        if (!strcmp(h->name, "go") || !rss_worth(h->rss, rss))
            continue;
        snprintf(text, sizeof text,
                 "%s of RSS (%.0f%%) is the C heap (%s malloc, through cgo or C libraries): %s in %llu C "
                 "objects, %s free.  No Go setting gives it back; `heapsnap leaks` lists the C memory nothing "
                 "reaches, and `heapsnap top` what holds the rest.",
                 units_bytes(b[0], 32, h->rss), rss ? 100.0 * (double)h->rss / (double)rss : 0.0, h->name,
                 units_bytes(b[1], 32, h->used), (unsigned long long)h->used_count, units_bytes(b[2], 32, h->free));
        say(u, "heapsnap leaks", text);
        said = 1;
    }
    if (!said)
        say(u, NULL, "No Go setting would give much back: the resident memory is mostly the live heap (or "
                     "the rest is too small to matter).");
}

/* The Go heap's free memory, which is not in objects: each in-use span's
 * free slots (go_spans free_count, free_bytes; the largest free block is a
 * slot, elemsize) and each free page run (one free block of free_bytes),
 * with the resident bytes of the whole pages inside them that the walker
 * took from the page states (free_resident; Go's free memory carries no
 * links, so the whole pages of each slot or run count).  Go's objects and
 * regions are arena 0 of heap 'go'. */
static void span_row(void *arg, const struct heap_value *v)
{
    struct rss_unlisted *u = arg;
    int run = v[0].i != 0;
    uint64_t n = (uint64_t)v[1].i, bytes = (uint64_t)v[2].i, elem = (uint64_t)v[4].i;
    uint64_t largest = run ? bytes : elem;
    u->bytes += bytes;
    u->count += run ? 1 : n;
    u->resident += (uint64_t)v[3].i;
    if (largest > u->largest)
        u->largest = largest;
}

static int unlisted_free(const struct heap_reader *r, struct rss_unlisted *u)
{
    *u = (struct rss_unlisted){.where = go_allocator.wheres[GO_WHERE_SPAN].name, .arena = 0};
    uint64_t have = 0;
    if (rss_scalar(r, "SELECT count(*) FROM sqlite_master WHERE name = 'go_spans'", &have) || !have)
        return 0;
    if (r->rows(r->u, "SELECT state = 'free', ifnull(free_count, 0), ifnull(free_bytes, 0), "
                      "ifnull(free_resident, 0), ifnull(elemsize, 0) FROM go_spans "
                      "WHERE state = 'free' OR free_count > 0", NULL, 5, span_row, u))
        return 0;
    return 1;
}

const struct heap_advisor go_advisor = {.advise = advise, .describe = describe, .describe_json = describe_json,
                                        .unlisted_free = unlisted_free};
