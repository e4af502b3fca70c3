/*
 * jemalloc/advice.c — what jemalloc offers to give memory back (its
 * MALLOC_CONF settings), chosen by what the figures of `heapsnap rss` and
 * the jemalloc walker's facts show; and how heapsnap's figures meet
 * mallctl's stats.  jemalloc's advisor (heap/advice.h), as glibc/advice.c
 * is glibc's.
 *
 * jemalloc's free memory has three forms, each with its own lever:
 *   free regions in slabs   reusable only by the same size class; no
 *                           setting returns them, only fewer arenas
 *                           (narenas) concentrate them
 *   dirty extents           whole free pages still resident, purged after
 *                           dirty_decay_ms (10 s by default) — and only when
 *                           the process calls into jemalloc, unless
 *                           background_thread is on
 *   muzzy extents           pages given back with MADV_FREE, resident until
 *                           the kernel wants them; muzzy_decay_ms (0 by
 *                           default in 5.3) decides how long they stay so
 * The thresholds are judgement, as in glibc/advice.c: 1 MiB and a tenth of
 * the heap's RSS.
 */
#include <stdio.h>

#include "base/units.h"
#include "heap/advice.h"
#include "heap/jemalloc/internal.h"


static void advise(const struct rss_figures *f, rss_say say, void *u)
{
    char a[32], b[32];
    uint64_t heap = f->kind_rss[RSS_HEAP];
    uint64_t dirty = rss_fact(f, "jemalloc.dirty_bytes"), muzzy = rss_fact(f, "jemalloc.muzzy_bytes");
    uint64_t slabfree = 0;
    unsigned slab = heap_where_base(&jemalloc_allocator) + JE_WHERE_SLAB;
    for (size_t i = 0; i < f->narenas; i++)
        slabfree += f->arenas[i].free[slab];
    int said = 0;
    said |= rss_lever(say, u, dirty, heap, "dirty_decay_ms, background_thread",
                 "%s is in dirty extents: whole free pages jemalloc keeps resident for reuse.  They are "
                 "purged after dirty_decay_ms (10000 by default), and only when a thread calls into "
                 "jemalloc: MALLOC_CONF=dirty_decay_ms:1000 returns them sooner, "
                 "MALLOC_CONF=background_thread:true purges them on time in an idle process too.",
                 units_bytes(a, sizeof a, dirty));
    said |= rss_lever(say, u, muzzy, heap, "muzzy_decay_ms",
                 "%s is in muzzy extents, given back with MADV_FREE: the kernel takes those pages only "
                 "under memory pressure, and until then they count in RSS.  MALLOC_CONF=muzzy_decay_ms:0 "
                 "(5.3's default) purges them with MADV_DONTNEED instead.",
                 units_bytes(a, sizeof a, muzzy));
    if (f->narenas > 1)
        said |= rss_lever(say, u, slabfree, heap, "narenas",
                 "%s is free inside slabs across %zu arenas (serving %llu threads); a free region serves "
                 "only its own size class in its own arena.  MALLOC_CONF=narenas:N with a small N "
                 "concentrates allocations in fewer arenas, so fewer slabs stay partly empty.",
                 units_bytes(a, sizeof a, slabfree), f->narenas, (unsigned long long)f->threads);
    else
        said |= rss_lever(say, u, slabfree, heap, NULL,
                 "%s is free inside slabs, in %s of slab regions: memory only allocations of the same "
                 "size classes can reuse.  No setting returns it; it is the cost of a heap whose live "
                 "objects are spread over many partly used slabs.",
                 units_bytes(a, sizeof a, slabfree), units_bytes(b, sizeof b, rss_fact(f, "jemalloc.active")));
    if (!said)
        say(u, NULL, "No jemalloc setting would give much back: its dirty and muzzy extents and the "
                     "free regions in its slabs are too small to matter.");
}

/* The snapshot holds jemalloc's extents but not its stats counters, so
 * the figures are given in mallctl's terms, for comparing with
 * mallctl("stats.allocated") and the like (redis: INFO memory's
 * allocator_allocated, allocator_active). */
static void reconcile(const struct rss_figures *f, rss_say say, void *u)
{
    char a[32], b[32], c[32], text[512];
    snprintf(text, sizeof text, "%llu bytes: the used objects and those in tcaches (to jemalloc's "
                                "arenas a region in a tcache is allocated)",
             (unsigned long long)rss_fact(f, "jemalloc.allocated"));
    say(u, "stats.allocated", text);
    snprintf(text, sizeof text, "%llu bytes: the active extents, slabs and large allocations",
             (unsigned long long)rss_fact(f, "jemalloc.active"));
    say(u, "stats.active", text);
    snprintf(text, sizeof text, "dirty %s, muzzy %s, retained %s (virtual only) in the extents jemalloc "
                                "keeps for reuse; stats.resident also counts its metadata, which heapsnap "
                                "counts as other anonymous memory",
             units_bytes(a, sizeof a, rss_fact(f, "jemalloc.dirty_bytes")),
             units_bytes(b, sizeof b, rss_fact(f, "jemalloc.muzzy_bytes")),
             units_bytes(c, sizeof c, rss_fact(f, "jemalloc.retained_bytes")));
    say(u, "extents", text);
}

const struct heap_advisor jemalloc_advisor = {.advise = advise, .reconcile = reconcile};
