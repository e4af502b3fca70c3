/*
 * go/memstats.c — what runtime.ReadMemStats() would have returned at the
 * moment of the snapshot, rebuilt from the runtime's own state (mstats.go,
 * readmemstats_m: the same from Go 1.19 to 1.27 but for the arena bitmap's
 * inPtrScalarBits, gone in 1.22), for the go_memstats table and `heapsnap rss`.
 *
 * The sources:
 *   memstats.heapStats   a consistentHeapStats: three generations of
 *                        heapStatsDelta that together hold every count
 *                        (allocations and frees per size class, large
 *                        objects, tiny blocks, bytes committed, in stacks,
 *                        in GC work buffers, released); ReadMemStats sums
 *                        all three, and so do we
 *   per-P mcaches        ReadMemStats first flushes every mcache, which adds
 *                        each cached span's allocCount - allocCountBeforeCache
 *                        to its size class and mcache.tinyAllocs to the tiny
 *                        count.  A snapshot is taken without that flush, so
 *                        we add the same amounts ourselves: without them
 *                        HeapObjects and HeapAlloc would lag behind by what
 *                        each P allocated since it last refilled
 *   gcController         heapInUse, heapFree, heapReleased (HeapInuse,
 *                        HeapIdle, HeapReleased), the GOGC percent and the
 *                        memory limit in force, the heap goal (NextGC)
 *   memstats             the *_sys counters, numgc
 * NextGC is the GOGC goal raised to the sweep-distance minimum as
 * heapGoal() does when no memory limit binds; with a binding GOMEMLIMIT the
 * runtime's goal is lower and this figure says what GOGC alone would give.
 *
 * The go_metrics table is runtime/metrics' /memory/classes/..., the names
 * Go dashboards show, computed as metrics.Read computes them from the same
 * counters — but without the mcache flush, which metrics.Read does not do.
 *
 * Alongside, the walk's own counts (walk.HeapObjects, walk.HeapAlloc: the
 * allocated slots go/spans.c found) — the same numbers by another road, so
 * a disagreement is visible in the table.
 */
#include <stdlib.h>
#include <string.h>

#include "heap/go/internal.h"

static void put(struct go_walk *w, const char *name, uint64_t v)
{
    if (w->nstats < GO_NSTATS)
        w->stats[w->nstats++] = (struct go_stat){name, v};
}

static void metric(struct go_walk *w, const char *name, uint64_t v)
{
    if (w->nmetrics < GO_NMETRICS)
        w->metrics[w->nmetrics++] = (struct go_stat){name, v};
}

static uint64_t f64(const struct go_walk *w, uint64_t base, int64_t off, unsigned size)
{
    uint64_t v = 0;
    go_field(w, base, off, size, &v);
    return v;
}

int go_memstats_compute(struct go_walk *w)
{
    const struct go_layout *L = &w->L;
    struct heap_ctx *c = w->c;
    uint64_t nc = L->nclasses;
    uint64_t small[GO_MAX_CLASSES] = {0}, smallfree[GO_MAX_CLASSES] = {0};
    uint64_t committed = 0, released = 0, inheap = 0, instacks = 0, inwb = 0, inpsb = 0, tiny = 0;
    uint64_t lalloc = 0, lcount = 0, lfree = 0, lfcount = 0;
    uint16_t sizes[GO_MAX_CLASSES];

    if (go_read(w, L->class_to_size, sizes, nc * 2)) {
        c->problem(c, L->class_to_size, "go: runtime.class_to_size not readable: no MemStats");
        return -1;
    }
    /* the per-class arrays must lie inside heapStatsDelta as DWARF has it */
    if ((uint64_t)L->d_small_alloc + nc * 8 > L->delta_size || (uint64_t)L->d_small_free + nc * 8 > L->delta_size) {
        c->problem(c, 0, "go: heapStatsDelta is too small for %llu size classes: no MemStats", (unsigned long long)nc);
        return -1;
    }
    uint8_t *d = malloc(L->delta_size);
    if (!d)
        return -1;
    for (int gen = 0; gen < 3; gen++) {
        uint64_t a = L->memstats + (uint64_t)L->ms_stats + (uint64_t)gen * L->delta_size;
        if (go_read(w, a, d, L->delta_size)) {
            c->problem(c, a, "go: memstats.heapStats not captured: no MemStats");
            free(d);
            return -1;
        }
        committed += go_get(d, L->d_committed, 8);
        released += go_get(d, L->d_released, 8);
        inheap += go_get(d, L->d_inheap, 8);
        instacks += go_get(d, L->d_instacks, 8);
        inwb += go_get(d, L->d_inworkbufs, 8);
        if (L->d_inptrscalar >= 0) /* the arena bitmap's bytes, before Go 1.22 */
            inpsb += go_get(d, L->d_inptrscalar, 8);
        tiny += go_get(d, L->d_tiny, 8);
        lalloc += go_get(d, L->d_large_alloc, 8);
        lcount += go_get(d, L->d_large_count, 8);
        lfree += go_get(d, L->d_large_free, 8);
        lfcount += go_get(d, L->d_large_free_count, 8);
        for (uint64_t i = 0; i < nc; i++) {
            small[i] += go_get(d, L->d_small_alloc + (int64_t)(i * 8), 8);
            smallfree[i] += go_get(d, L->d_small_free + (int64_t)(i * 8), 8);
        }
    }
    free(d);

    /* runtime/metrics reads the same consistent stats, without flushing
     * the mcaches first (metrics.go, heapStatsAggregate) */
    uint64_t in_objects = lalloc - lfree;
    for (uint64_t i = 0; i < nc; i++)
        in_objects += (small[i] - smallfree[i]) * sizes[i];

    /* what ReadMemStats's flush of the mcaches would add (see the top) */
    uint64_t parr = 0, plen = 0, unflushed = 0;
    go_u64(w, L->allp, &parr);
    go_u64(w, L->allp + 8, &plen);
    if (plen > GO_MAX_PS)
        plen = GO_MAX_PS;
    for (uint64_t i = 0; i < plen; i++) {
        uint64_t p, mc;
        if (go_u64(w, parr + i * 8, &p) || !p || go_field(w, p, L->p_mcache, 8, &mc) || !mc)
            continue;
        tiny += f64(w, mc, L->mc_tinyallocs, 8);
        unflushed += f64(w, mc, L->mc_tinyallocs, 8);
        for (uint64_t spc = 0; spc < 2 * nc; spc++) {
            uint64_t s;
            if (go_u64(w, mc + (uint64_t)L->mc_alloc + spc * 8, &s) || !s || s == L->emptymspan)
                continue;
            uint64_t n = f64(w, s, L->s_alloccount, (unsigned)L->sz_alloccount),
                     before = f64(w, s, L->s_acbc, (unsigned)L->sz_acbc);
            if (n >= before) {
                small[spc >> 1] += n - before;
                unflushed += n - before;
            }
        }
    }

    uint64_t talloc = lalloc, tfree = lfree, nmalloc = lcount + tiny, nfree = lfcount + tiny;
    for (uint64_t i = 0; i < nc; i++) {
        talloc += small[i] * sizes[i];
        nmalloc += small[i];
        tfree += smallfree[i] * sizes[i];
        nfree += smallfree[i];
    }
    uint64_t gc = L->gc_controller;
    uint64_t hinuse = f64(w, gc, L->gc_heapinuse, 8), hfree = f64(w, gc, L->gc_heapfree, 8),
             hrel = f64(w, gc, L->gc_heapreleased, 8);
    uint64_t ms = L->memstats;
    uint64_t stacks_sys = f64(w, ms, L->ms_stacks_sys, 8), mspan_sys = f64(w, ms, L->ms_mspan_sys, 8),
             mcache_sys = f64(w, ms, L->ms_mcache_sys, 8), buck = f64(w, ms, L->ms_buckhash_sys, 8),
             gcmisc = f64(w, ms, L->ms_gcmisc_sys, 8), other = f64(w, ms, L->ms_other_sys, 8);
    uint64_t goal = f64(w, gc, L->gc_goal, 8), sweepdist = f64(w, gc, L->gc_sweepdist, 8);
    if (sweepdist > goal)
        goal = sweepdist;
    int64_t gogc = (int32_t)f64(w, gc, L->gc_percent, 4);

    put(w, "HeapAlloc", talloc - tfree);
    put(w, "HeapObjects", nmalloc - nfree);
    put(w, "HeapInuse", hinuse);
    put(w, "HeapIdle", hfree + hrel);
    put(w, "HeapReleased", hrel);
    put(w, "HeapSys", hinuse + hfree + hrel);
    put(w, "TotalAlloc", talloc);
    put(w, "Mallocs", nmalloc);
    put(w, "Frees", nfree);
    put(w, "StackInuse", instacks);
    put(w, "StackSys", instacks + stacks_sys);
    put(w, "MSpanInuse", f64(w, L->mheap, L->h_spanalloc_inuse, 8));
    put(w, "MSpanSys", mspan_sys);
    put(w, "MCacheSys", mcache_sys);
    put(w, "BuckHashSys", buck);
    put(w, "GCSys", gcmisc + inwb + inpsb);
    put(w, "OtherSys", other);
    put(w, "Sys", hinuse + hfree + hrel + stacks_sys + mspan_sys + mcache_sys + buck + gcmisc + other + instacks +
                      inwb + inpsb);
    put(w, "NextGC", goal);
    put(w, "NumGC", f64(w, ms, L->ms_numgc, 4));
    put(w, "NumForcedGC", f64(w, ms, L->ms_numforcedgc, 4));
    put(w, "PauseTotalNs", f64(w, ms, L->ms_pause_total, 8));
    put(w, "GOGC", (uint64_t)gogc);
    put(w, "GOMEMLIMIT", f64(w, gc, L->gc_memlimit, 8));
    put(w, "HeapLive", f64(w, gc, L->gc_heaplive, 8));
    put(w, "HeapMarked", f64(w, gc, L->gc_heapmarked, 8));
    /* The GC state at the capture, where this runtime's DWARF has it: when
     * the last cycle ended (LastGC as MemStats has it, and in nanotime()'s
     * clock, which g.waitsince uses too), HeapInuse then, and the
     * scavenger's goals (mgcscavenge.go, gcPaceScavenger: gcPercentGoal
     * 1.1 x lastHeapInUse x heapGoal/lastHeapGoal, memoryLimitGoal 95% of
     * GOMEMLIMIT in 1.20+ and 95 x it in 1.19; ^0 when the scavenger has
     * nothing to do for that goal).  runtime.scavenge is an anonymous
     * struct whose first two fields are those goals, in 1.19 to 1.27. */
    if (L->ms_last_gc_unix >= 0)
        put(w, "LastGC", f64(w, ms, L->ms_last_gc_unix, 8));
    if (L->ms_last_gc_nanotime >= 0)
        put(w, "LastGCNanotime", f64(w, ms, L->ms_last_gc_nanotime, 8));
    if (L->ms_last_heap_inuse >= 0)
        put(w, "LastHeapInuse", f64(w, ms, L->ms_last_heap_inuse, 8));
    if (L->scavenge && L->scavenge_size >= 16) {
        put(w, "ScavengeGCPercentGoal", f64(w, L->scavenge, 0, 8));
        put(w, "ScavengeMemoryLimitGoal", f64(w, L->scavenge, 8, 8));
    }
    put(w, "unflushed.mcache_objects", unflushed);
    put(w, "walk.HeapObjects", w->objects);
    put(w, "walk.HeapAlloc", w->object_bytes);
    put(w, "walk.free_slot_bytes", w->free_slot_bytes);
    put(w, "walk.free_page_bytes", w->free_pages_bytes);
    put(w, "walk.stack_span_bytes", w->manual_span_bytes);
    put(w, "walk.unswept_spans", w->unswept);
    /* runtime/metrics' /memory/classes, as metrics.Read computes them (Go
     * 1.19's metrics.go and 1.26's agree but for the arena bitmap's bytes,
     * inPtrScalarBits, which 1.22 dropped and which count as 0 here) */
    uint64_t cache_inuse = f64(w, L->mheap, L->h_cachealloc_inuse, 8), span_inuse = f64(w, L->mheap, L->h_spanalloc_inuse, 8);
    metric(w, "/memory/classes/heap/free:bytes", committed - inheap - instacks - inwb - inpsb);
    metric(w, "/memory/classes/heap/objects:bytes", in_objects);
    metric(w, "/memory/classes/heap/released:bytes", released);
    metric(w, "/memory/classes/heap/stacks:bytes", instacks);
    metric(w, "/memory/classes/heap/unused:bytes", inheap - in_objects);
    metric(w, "/memory/classes/metadata/mcache/free:bytes", mcache_sys - cache_inuse);
    metric(w, "/memory/classes/metadata/mcache/inuse:bytes", cache_inuse);
    metric(w, "/memory/classes/metadata/mspan/free:bytes", mspan_sys - span_inuse);
    metric(w, "/memory/classes/metadata/mspan/inuse:bytes", span_inuse);
    metric(w, "/memory/classes/metadata/other:bytes", inwb + inpsb + gcmisc);
    metric(w, "/memory/classes/os-stacks:bytes", stacks_sys);
    metric(w, "/memory/classes/other:bytes", other);
    metric(w, "/memory/classes/profiling/buckets:bytes", buck);
    metric(w, "/memory/classes/total:bytes",
           committed + released + stacks_sys + mspan_sys + mcache_sys + buck + gcmisc + other);
    /* the runtime's own consistency checks (readmemstats_m throws on these):
     * a disagreement means the snapshot caught an update half done */
    if (inheap != hinuse || released != hrel || committed - instacks - inwb - inpsb != hinuse + hfree)
        c->problem(c, L->memstats, "go: the runtime's statistics disagree (heapInUse %llu vs %llu in the consistent "
                   "stats, heapReleased %llu vs %llu): MemStats are approximate", (unsigned long long)hinuse,
                   (unsigned long long)inheap, (unsigned long long)hrel, (unsigned long long)released);
    return 0;
}
