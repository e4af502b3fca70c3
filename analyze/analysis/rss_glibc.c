/*
 * rss_glibc.c — what glibc's malloc offers to give memory back, chosen by
 * what the figures of rss.c show.  The one allocator-specific piece of
 * `heapsnap rss` (rss.h): each lever is said only when the numbers make it
 * worth trying, with the numbers that make it so.
 *
 * The thresholds are judgement, not law: a lever must concern at least
 * 1 MiB and a tenth of the heap's RSS, because below that the setting is
 * not worth a deployment.
 */
#include "analysis/rss.h"

#include <stdio.h>

#include "cli.h"

#define MIB              ((uint64_t)1 << 20)
#define TRIM_DEFAULT     (128 * 1024)          /* M_TRIM_THRESHOLD and M_MMAP_THRESHOLD defaults */
#define MANY_MMAPPED     256

static int worth(uint64_t bytes, uint64_t heap_rss)
{
    return bytes >= MIB && bytes * 10 >= heap_rss;
}

static void advise(const struct rss_figures *f, rss_say say, void *u)
{
    char a[32], b[32], c[32], text[1024];
    uint64_t heap = f->kind_rss[RSS_HEAP];
    int said = 0;

    if (f->pages_known && worth(f->free_resident + f->top_resident, heap)) {
        snprintf(text, sizeof text,
                 "%s of free heap memory is resident: %s in whole pages inside free chunks and %s in the "
                 "top chunk.  malloc_trim(0) returns both to the system (it releases the whole pages "
                 "inside every free chunk, which free() never does); call it after a burst of frees.",
                 cli_bytes(a, sizeof a, f->free_resident + f->top_resident),
                 cli_bytes(b, sizeof b, f->free_resident), cli_bytes(c, sizeof c, f->top_resident));
        say(u, "malloc_trim(0)", text);
        said = 1;
    }
    if (f->pages_known && f->top_resident > TRIM_DEFAULT && worth(f->top_resident, heap)) {
        snprintf(text, sizeof text,
                 "The top chunk holds %s resident.  free() shrinks the top only above M_TRIM_THRESHOLD "
                 "(128 KiB, but glibc raises it up to 32 MiB after freeing large mmapped blocks); setting "
                 "it explicitly (mallopt(M_TRIM_THRESHOLD, ...) or MALLOC_TRIM_THRESHOLD_=) keeps it low.",
                 cli_bytes(a, sizeof a, f->top_resident));
        say(u, "M_TRIM_THRESHOLD", text);
        said = 1;
    }
    if (worth(f->large_bytes, heap)) {
        snprintf(text, sizeof text,
                 "%llu blocks of 128 KiB or more (%s) live inside the arena rather than in mappings of "
                 "their own: glibc raises its mmap threshold up to 32 MiB after large blocks are freed.  "
                 "When such a block is freed it leaves a hole only malloc_trim() returns.  Setting "
                 "M_MMAP_THRESHOLD (mallopt or MALLOC_MMAP_THRESHOLD_=131072) fixes the threshold, so "
                 "large blocks get their own mapping and free() returns them to the system.",
                 (unsigned long long)f->large_count, cli_bytes(a, sizeof a, f->large_bytes));
        say(u, "M_MMAP_THRESHOLD", text);
        said = 1;
    }
    if (f->free >= MIB && f->largest_free * 2 < f->free) {
        snprintf(text, sizeof text,
                 "The free memory is fragmented: %s in %llu chunks, the largest only %s.  No setting "
                 "joins chunks between live blocks; malloc_trim(0) still returns their whole pages, and "
                 "allocating long-lived and short-lived data apart avoids the interleaving.",
                 cli_bytes(a, sizeof a, f->free), (unsigned long long)f->free_count,
                 cli_bytes(b, sizeof b, f->largest_free));
        say(u, NULL, text);
        said = 1;
    }
    if (f->narenas > 1) {
        uint64_t other = 0;
        for (size_t i = 0; i < f->narenas; i++)
            if (f->arenas[i].arena != 0)
                for (int w = 0; w < WHERE_COUNT; w++)
                    other += f->arenas[i].free[w];
        if (worth(other, heap)) {
            snprintf(text, sizeof text,
                     "%zu arenas serve %llu threads, and the arenas other than the main one hold %s of free "
                     "memory that no other arena can use.  MALLOC_ARENA_MAX=2 (or another small number) "
                     "makes threads share fewer arenas, trading some lock contention for memory.",
                     f->narenas, (unsigned long long)f->threads, cli_bytes(a, sizeof a, other));
            say(u, "MALLOC_ARENA_MAX", text);
            said = 1;
        }
    }
    if (f->mmapped_count >= MANY_MMAPPED && f->mmapped_bytes / f->mmapped_count < MIB) {
        snprintf(text, sizeof text,
                 "%llu allocations have a mapping of their own (%s): each costs system calls and page "
                 "rounding.  A higher M_MMAP_THRESHOLD keeps blocks of that size in the arena.",
                 (unsigned long long)f->mmapped_count, cli_bytes(a, sizeof a, f->mmapped_bytes));
        say(u, "M_MMAP_THRESHOLD", text);
        said = 1;
    }
    if (!said)
        say(u, NULL, "No glibc setting would give much back: the heap's resident memory is mostly in use "
                     "(or the free part is too small to matter).");
}

const struct rss_advisor rss_glibc_advisor = {"glibc", advise};
