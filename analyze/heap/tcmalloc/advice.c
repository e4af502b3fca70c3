/*
 * tcmalloc/advice.c — what tcmalloc (gperftools) offers to give memory
 * back, chosen by what the tcmalloc walker's facts show; and how
 * heapsnap's figures meet MallocExtension's.  tcmalloc's advisor (heap/
 * advice.h), as jemalloc/advice.c is jemalloc's.
 *
 * tcmalloc's free memory has three forms, each with its own lever:
 *   free spans in the page heap   whole free pages still resident; tcmalloc
 *                                 returns them to the system a few at a
 *                                 time as pages are freed, at
 *                                 TCMALLOC_RELEASE_RATE (1 by default; 10
 *                                 is eager), or all at once when the
 *                                 program calls
 *                                 MallocExtension::ReleaseFreeMemory()
 *   thread caches                 free objects each thread keeps, capped
 *                                 by TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES
 *                                 (32 MiB by default) for all of them
 *   objects free in spans         central and transfer caches: reusable
 *                                 only by the same size class; no setting
 *                                 returns them
 * The thresholds are judgement, as in glibc/advice.c: 1 MiB and a tenth of
 * the heap's RSS.
 */
#include <stdio.h>

#include "base/units.h"
#include "heap/advice.h"


static void advise(const struct rss_figures *f, rss_say say, void *u)
{
    char a[32];
    uint64_t heap = f->kind_rss[RSS_HEAP];
    uint64_t pagefree = rss_fact(f, "tcmalloc.pageheap_free_bytes");
    uint64_t thread = rss_fact(f, "tcmalloc.thread_cache_free_bytes");
    uint64_t spans = rss_fact(f, "tcmalloc.central_cache_free_bytes") +
                     rss_fact(f, "tcmalloc.transfer_cache_free_bytes");
    int said = 0;
    said |= rss_lever(say, u, pagefree, heap, "TCMALLOC_RELEASE_RATE, ReleaseFreeMemory",
                 "%s is in free spans of the page heap: whole free pages tcmalloc keeps resident.  It "
                 "returns them to the system only a few at a time as the program frees pages: "
                 "TCMALLOC_RELEASE_RATE=10 returns them sooner, and a call to "
                 "MallocExtension::ReleaseFreeMemory() (MallocExtension_ReleaseFreeMemory() from C) "
                 "returns them all at once.",
                 units_bytes(a, sizeof a, pagefree));
    said |= rss_lever(say, u, thread, heap, "TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES",
                 "%s is free in thread caches (%llu of them), which only their own threads reuse.  "
                 "TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES (32 MiB by default) caps them all together.",
                 units_bytes(a, sizeof a, thread), (unsigned long long)rss_fact(f, "tcmalloc.thread_caches"));
    said |= rss_lever(say, u, spans, heap, NULL,
                 "%s is free inside spans of small objects (their own lists, the transfer caches and "
                 "the tails no object fits in): memory only allocations of the same size classes can "
                 "reuse.  No setting returns it.",
                 units_bytes(a, sizeof a, spans));
    if (!said)
        say(u, NULL, "No tcmalloc setting would give much back: its free spans, thread caches and the "
                     "free objects in its spans are too small to matter.");
}

/* The snapshot holds tcmalloc's spans and caches but not its counters, so
 * the figures are given in MallocExtension's terms, for comparing with
 * MallocExtension_GetNumericProperty(). */
static void reconcile(const struct rss_figures *f, rss_say say, void *u)
{
    static const struct {
        const char *property, *fact, *what;
    } figures[] = {
        {"generic.current_allocated_bytes", "tcmalloc.current_allocated_bytes", "the used objects"},
        {"tcmalloc.thread_cache_free_bytes", "tcmalloc.thread_cache_free_bytes",
         "the objects in thread caches"},
        {"tcmalloc.central_cache_free_bytes", "tcmalloc.central_cache_free_bytes",
         "the objects on their spans' own lists, and each small span's tail"},
        {"tcmalloc.transfer_cache_free_bytes", "tcmalloc.transfer_cache_free_bytes",
         "the objects in the central transfer caches"},
        {"tcmalloc.pageheap_free_bytes", "tcmalloc.pageheap_free_bytes", "the free spans, resident"},
        {"tcmalloc.pageheap_unmapped_bytes", "tcmalloc.pageheap_unmapped_bytes",
         "the free spans returned to the system"},
    };
    char text[256];
    for (size_t i = 0; i < sizeof figures / sizeof figures[0]; i++) {
        snprintf(text, sizeof text, "%llu bytes: %s", (unsigned long long)rss_fact(f, figures[i].fact),
                 figures[i].what);
        say(u, figures[i].property, text);
    }
}

const struct heap_advisor tcmalloc_advisor = {.advise = advise, .reconcile = reconcile};
