/*
 * rss_go.c — why a Go program's RES is higher than pprof says, and what
 * gives memory back: the Go side of `heapsnap rss` (rss.h's advisor).
 *
 * pprof's inuse_space is the heap the last GC found live.  RES holds more:
 *   garbage not yet collected   allocated since the last GC (HeapAlloc −
 *                               HeapMarked): the GC runs when the heap
 *                               reaches NextGC = live × (1 + GOGC/100)
 *   free slots in in-use spans  HeapInuse − HeapAlloc: spans are per size
 *                               class, a span with one live object stays
 *   idle spans kept for reuse   HeapIdle − HeapReleased: freed spans the
 *                               runtime keeps resident; the background
 *                               scavenger returns them slowly (about 1% of
 *                               a CPU, keeping ~10% above the heap goal)
 *   released                    HeapReleased: returned to the OS (not in
 *                               RES, still in VSZ)
 *   goroutine stacks            StackInuse
 *   runtime metadata            MSpanSys, MCacheSys, GCSys (heap bitmaps,
 *                               work buffers), BuckHashSys, OtherSys
 *   outside the Go runtime      the rest of RES: binaries, cgo and C
 *                               libraries' allocations
 * The figures come from the go_memstats table the Go walker filled
 * (heap/go/memstats.c: what runtime.ReadMemStats() would have said), the
 * resident split from rss.c's page states.  Levers are said when the
 * numbers make them worth it (1 MiB and a tenth of RSS, as for glibc).
 */
#include "analysis/rss.h"

#include <stdio.h>
#include <string.h>

#include "base/units.h"

#define MIB ((uint64_t)1 << 20)

enum {
    HEAP_ALLOC, HEAP_MARKED, HEAP_INUSE, HEAP_IDLE, HEAP_RELEASED, STACK_INUSE, MSPAN_SYS, MCACHE_SYS, GC_SYS,
    BUCKHASH_SYS, OTHER_SYS, NEXT_GC, GOGC, GOMEMLIMIT, NUM_GC, SYS, NSTAT
};

static const char *const names[NSTAT] = {
    "HeapAlloc", "HeapMarked", "HeapInuse", "HeapIdle", "HeapReleased", "StackInuse", "MSpanSys", "MCacheSys",
    "GCSys", "BuckHashSys", "OtherSys", "NextGC", "GOGC", "GOMEMLIMIT", "NumGC", "Sys",
};

/* 0 if every figure was found. */
static int load(sqlite3 *db, uint64_t v[NSTAT])
{
    sqlite3_stmt *s;
    int found = 0;
    memset(v, 0, NSTAT * sizeof *v);
    if (!db || sqlite3_prepare_v2(db, "SELECT name, value FROM go_memstats", -1, &s, NULL) != SQLITE_OK)
        return -1;
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *n = (const char *)sqlite3_column_text(s, 0);
        for (int i = 0; n && i < NSTAT; i++)
            if (!strcmp(n, names[i])) {
                v[i] = (uint64_t)sqlite3_column_int64(s, 1);
                found++;
            }
    }
    sqlite3_finalize(s);
    return found == NSTAT ? 0 : -1;
}

static int worth(uint64_t bytes, uint64_t rss)
{
    return bytes >= MIB && bytes * 10 >= rss;
}

static uint64_t sub(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

static void advise(const struct rss_figures *f, rss_say say, void *u)
{
    uint64_t v[NSTAT];
    char b[10][32], text[2048];
    if (load(f->db, v)) {
        say(u, NULL, "The Go walker's go_memstats table is missing or incomplete (see the warnings table): no "
                     "Go breakdown.");
        return;
    }
    uint64_t rss = f->total_rss;
    uint64_t garbage = sub(v[HEAP_ALLOC], v[HEAP_MARKED]);
    uint64_t live = v[HEAP_ALLOC] - garbage;
    uint64_t slots = sub(v[HEAP_INUSE], v[HEAP_ALLOC]);
    uint64_t idle = sub(v[HEAP_IDLE], v[HEAP_RELEASED]);
    uint64_t meta = v[MSPAN_SYS] + v[MCACHE_SYS] + v[GC_SYS] + v[BUCKHASH_SYS] + v[OTHER_SYS];
    uint64_t go_res = v[HEAP_INUSE] + idle + v[STACK_INUSE];
    int64_t gogc = (int64_t)v[GOGC];
    int limited = v[GOMEMLIMIT] < ((uint64_t)1 << 62);

    snprintf(text, sizeof text,
             "Go's view of this RSS (%s): live heap at the last GC %s (what pprof's inuse_space shows); "
             "allocated since, garbage or not, %s; free slots in in-use spans %s; idle spans kept for reuse "
             "%s (freed, not yet returned to the OS); goroutine stacks %s; runtime metadata %s of address "
             "space (spans, GC bitmaps and buffers, profiling buckets; only its touched pages are resident).  "
             "%s was returned to the OS and is not in RSS.  The heap, its idle spans and the stacks come to %s; "
             "the remaining %s of RSS is the runtime's metadata, the binaries, and memory outside the Go "
             "runtime (cgo, C libraries).",
             units_bytes(b[0], 32, rss), units_bytes(b[1], 32, live), units_bytes(b[2], 32, garbage),
             units_bytes(b[3], 32, slots), units_bytes(b[4], 32, idle), units_bytes(b[5], 32, v[STACK_INUSE]),
             units_bytes(b[6], 32, meta), units_bytes(b[7], 32, v[HEAP_RELEASED]), units_bytes(b[8], 32, go_res),
             units_bytes(b[9], 32, sub(rss, go_res)));
    say(u, NULL, text);

    int said = 0;
    if (worth(idle, rss)) {
        snprintf(text, sizeof text,
                 "%s of freed heap is still resident in idle spans (HeapIdle %s minus HeapReleased %s): the "
                 "runtime keeps freed spans for reuse and its background scavenger returns them only "
                 "gradually, retaining about 10%% over the heap goal.  debug.FreeOSMemory() returns them at "
                 "once (it forces a GC, then releases every free page); call it after a burst that will "
                 "not recur.",
                 units_bytes(b[0], 32, idle), units_bytes(b[1], 32, v[HEAP_IDLE]), units_bytes(b[2], 32, v[HEAP_RELEASED]));
        say(u, "debug.FreeOSMemory()", text);
        snprintf(text, sizeof text,
                 "A memory limit makes the scavenger release idle memory eagerly to stay below it (and the GC "
                 "run before the heap outgrows it): GOMEMLIMIT=%s or debug.SetMemoryLimit() near the memory "
                 "the container may use.  %s",
                 limited ? "(now set)" : "<bytes>",
                 limited ? "One is in force already; it is above what the process uses." :
                           "None is set now (math.MaxInt64).");
        say(u, "GOMEMLIMIT", text);
        say(u, "GODEBUG=madvdontneed=1",
            "Released pages leave RSS at once only with MADV_DONTNEED, the default on Linux since Go 1.16.  "
            "If the process runs with GODEBUG=madvdontneed=0, the kernel reclaims MADV_FREE pages only under "
            "memory pressure and RSS keeps counting them; set madvdontneed=1 (or leave the default).");
        said = 1;
    }
    if (worth(garbage, rss)) {
        snprintf(text, sizeof text,
                 "%s was allocated since the last GC (%s live then): garbage waits for the next cycle, which "
                 "starts when the heap reaches NextGC = %s (live x (1 + GOGC/100), GOGC=%lld).  A lower GOGC "
                 "collects sooner and holds less garbage, at the price of more GC CPU.",
                 units_bytes(b[0], 32, garbage), units_bytes(b[1], 32, live), units_bytes(b[2], 32, v[NEXT_GC]),
                 (long long)gogc);
        say(u, "GOGC", text);
        said = 1;
    }
    if (worth(slots, rss)) {
        snprintf(text, sizeof text,
                 "%s of in-use spans is free slots: a span keeps its pages while any of its objects lives, so "
                 "a few long-lived objects among many short-lived ones of the same size pin whole spans.  No "
                 "setting compacts the Go heap; allocating long-lived data apart, or in fewer larger "
                 "objects, does.",
                 units_bytes(b[0], 32, slots));
        say(u, NULL, text);
        said = 1;
    }
    if (worth(v[STACK_INUSE], rss)) {
        snprintf(text, sizeof text,
                 "Goroutine stacks hold %s: `heapsnap goroutines` groups the goroutines by where they wait, "
                 "which is how a goroutine leak shows.",
                 units_bytes(b[0], 32, v[STACK_INUSE]));
        say(u, "heapsnap goroutines", text);
        said = 1;
    }
    /* cgo: the C heap beside Go's (rss.c's heaps), which no Go setting touches */
    for (size_t i = 0; i < f->nheaps; i++) {
        const struct rss_heap *h = &f->heaps[i];
        if (!strcmp(h->name, "go") || !worth(h->rss, rss))
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

const struct rss_advisor rss_go_advisor = {"go", advise};
