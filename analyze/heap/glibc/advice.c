/*
 * glibc/advice.c — what glibc's malloc offers to give memory back, chosen
 * by what the figures of `heapsnap rss` show: glibc's advisor (heap/
 * advice.h), beside its walker, whose facts it reads back.  Each lever is said only when the numbers make it
 * worth trying, with the numbers that make it so.
 *
 * The thresholds are judgement, not law: a lever must concern at least
 * 1 MiB and a tenth of the heap's RSS, because below that the setting is
 * not worth a deployment.
 */
#include <stdio.h>

#include "base/units.h"
#include "heap/advice.h"

#define MIB              ((uint64_t)1 << 20)
#define TRIM_DEFAULT     (128 * 1024)          /* M_TRIM_THRESHOLD and M_MMAP_THRESHOLD defaults */
#define MANY_MMAPPED     256

static void advise(const struct rss_figures *f, rss_say say, void *u)
{
    char a[32], b[32], c[32], text[1024];
    uint64_t heap = f->kind_rss[RSS_HEAP];
    int said = 0;

    if (f->pages_known && rss_worth(f->free_resident + f->top_resident, heap)) {
        snprintf(text, sizeof text,
                 "%s of free heap memory is resident: %s in whole pages inside free chunks and %s in the "
                 "top chunk.  malloc_trim(0) returns both to the system (it releases the whole pages "
                 "inside every free chunk, which free() never does); call it after a burst of frees.",
                 units_bytes(a, sizeof a, f->free_resident + f->top_resident),
                 units_bytes(b, sizeof b, f->free_resident), units_bytes(c, sizeof c, f->top_resident));
        say(u, "malloc_trim(0)", text);
        said = 1;
    }
    if (f->pages_known && f->top_resident > TRIM_DEFAULT && rss_worth(f->top_resident, heap)) {
        snprintf(text, sizeof text,
                 "The top chunk holds %s resident.  free() shrinks the top only above M_TRIM_THRESHOLD "
                 "(128 KiB, but glibc raises it up to 32 MiB after freeing large mmapped blocks); setting "
                 "it explicitly (mallopt(M_TRIM_THRESHOLD, ...) or MALLOC_TRIM_THRESHOLD_=) keeps it low.",
                 units_bytes(a, sizeof a, f->top_resident));
        say(u, "M_TRIM_THRESHOLD", text);
        said = 1;
    }
    said |= rss_lever(say, u, f->large_bytes, heap, "M_MMAP_THRESHOLD",
                 "%llu blocks of 128 KiB or more (%s) live inside the arena rather than in mappings of "
                 "their own: glibc raises its mmap threshold up to 32 MiB after large blocks are freed.  "
                 "When such a block is freed it leaves a hole only malloc_trim() returns.  Setting "
                 "M_MMAP_THRESHOLD (mallopt or MALLOC_MMAP_THRESHOLD_=131072) fixes the threshold, so "
                 "large blocks get their own mapping and free() returns them to the system.",
                 (unsigned long long)f->large_count, units_bytes(a, sizeof a, f->large_bytes));
    if (f->free >= MIB && f->largest_free * 2 < f->free) {
        snprintf(text, sizeof text,
                 "The free memory is fragmented: %s in %llu chunks, the largest only %s.  No setting "
                 "joins chunks between live blocks; malloc_trim(0) still returns their whole pages, and "
                 "allocating long-lived and short-lived data apart avoids the interleaving.",
                 units_bytes(a, sizeof a, f->free), (unsigned long long)f->free_count,
                 units_bytes(b, sizeof b, f->largest_free));
        say(u, NULL, text);
        said = 1;
    }
    if (f->narenas > 1) {
        uint64_t other = 0;
        for (size_t i = 0; i < f->narenas; i++)
            if (f->arenas[i].arena != 0)
                for (unsigned w = 0; w <= HEAP_WHERE_MAX; w++)
                    other += f->arenas[i].free[w];
        if (rss_worth(other, heap)) {
            snprintf(text, sizeof text,
                     "%zu arenas serve %llu threads, and the arenas other than the main one hold %s of free "
                     "memory that no other arena can use.  MALLOC_ARENA_MAX=2 (or another small number) "
                     "makes threads share fewer arenas, trading some lock contention for memory.",
                     f->narenas, (unsigned long long)f->threads, units_bytes(a, sizeof a, other));
            say(u, "MALLOC_ARENA_MAX", text);
            said = 1;
        }
    }
    if (f->mmapped_count >= MANY_MMAPPED && f->mmapped_bytes / f->mmapped_count < MIB) {
        snprintf(text, sizeof text,
                 "%llu allocations have a mapping of their own (%s): each costs system calls and page "
                 "rounding.  A higher M_MMAP_THRESHOLD keeps blocks of that size in the arena.",
                 (unsigned long long)f->mmapped_count, units_bytes(a, sizeof a, f->mmapped_bytes));
        say(u, "M_MMAP_THRESHOLD", text);
        said = 1;
    }
    if (!said)
        say(u, NULL, "No glibc setting would give much back: the heap's resident memory is mostly in use "
                     "(or the free part is too small to matter).");
}

static void line(rss_say say, void *u, const char *stat, uint64_t theirs, uint64_t ours, const char *how)
{
    char text[512];
    snprintf(text, sizeof text, "%llu bytes; the chunks heapsnap walked: %llu, %s%s",
             (unsigned long long)theirs, (unsigned long long)ours, how,
             theirs == ours ? " (they agree)" : " (they differ: see the warnings)");
    say(u, stat, text);
}

/*
 * mallinfo2() in the terms glibc computes it from its own state: arena is
 * Σ system_mem, read from each malloc_state; fordblks the top chunks, bins
 * and fastbins; uordblks the rest of arena — which holds the chunks in
 * tcaches (free to the program, in use to malloc) and the bytes in no
 * chunk (heap_info, malloc_state, fenceposts).  The walked chunks must add
 * up to the same figures.
 */
static void reconcile(const struct rss_figures *f, rss_say say, void *u)
{
    uint64_t regions = 0, used = 0, tcache = 0, fre = 0, mm = 0;
    rss_scalar(&f->reader, "SELECT sum(\"end\" - start) FROM regions WHERE kind IN ('main-arena', 'arena-heap')",
               &regions);
    rss_scalar(&f->reader, "SELECT sum(chunk_size) FROM objects WHERE heap = 'glibc' AND state = 'used'", &used);
    rss_scalar(&f->reader, "SELECT sum(chunk_size) FROM objects WHERE heap = 'glibc' AND \"where\" = 'tcache'",
               &tcache);
    rss_scalar(&f->reader, "SELECT sum(chunk_size) FROM objects WHERE heap = 'glibc' AND state = 'free' AND "
                      "\"where\" <> 'tcache'", &fre);
    rss_scalar(&f->reader, "SELECT sum(\"end\" - start) FROM regions WHERE kind = 'mmap-chunk'", &mm);
    uint64_t overhead = rss_fact(f, "glibc.overhead_bytes");
    line(say, u, "arena", rss_fact(f, "glibc.arena_bytes"), regions, "the arenas' heaps (Σ system_mem)");
    line(say, u, "fordblks", rss_fact(f, "glibc.free_bytes"), fre, "top chunks, bins and fastbins");
    line(say, u, "uordblks + hblkhd", rss_fact(f, "glibc.used_bytes") + rss_fact(f, "glibc.mmapped_bytes"),
         used + tcache + overhead,
         "used chunks (mmapped ones too), tcache chunks (in use to malloc) and malloc's own headers");
    line(say, u, "hblkhd", rss_fact(f, "glibc.mmapped_bytes"), mm, "the mmapped chunks' mappings");
}

const struct heap_advisor glibc_advisor = {.advise = advise, .reconcile = reconcile};
