/*
 * rss_hole.c — a heap with a known resident hole in the middle, the ground
 * truth for tests/t6300-rss.sh.
 *
 *   rss_hole REPORT
 *
 * Allocates NBLOCKS blocks of BLOCK bytes in the main arena (below the
 * mmap threshold), writes every page of them, then frees the blocks
 * FIRST_FREE .. FIRST_FREE + NFREE - 1.  They coalesce into one free chunk
 * that the blocks on either side keep from reaching the top chunk, so
 * free() cannot trim it: it stays resident until malloc_trim().  The report
 * says how big it is, as the allocator sees it (the sum of the freed chunk
 * sizes, headers included), written without allocating (report.h).
 *
 * REPORT lines:
 *   pid N
 *   freed_middle BYTES        the free chunk's size
 *   hole 0xCHUNK BYTES        where it starts (the chunk header)
 *   used_blocks N BYTES       the blocks still allocated, usable bytes
 *   ready
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

#define NBLOCKS    400
#define BLOCK      (32 * 1024 - 64)
#define FIRST_FREE 100
#define NFREE      200

static char *blocks[NBLOCKS];

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: rss_hole REPORT\n");
        return 2;
    }
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    for (int i = 0; i < NBLOCKS; i++) {
        if (!(blocks[i] = malloc(BLOCK)))
            return 1;
        memset(blocks[i], 0x5a, BLOCK); /* resident, and not all zero */
    }
    /* chunk size of a used block: its usable size plus the size field */
    size_t freed = 0;
    uintptr_t hole = (uintptr_t)blocks[FIRST_FREE] - 16;
    for (int i = FIRST_FREE; i < FIRST_FREE + NFREE; i++) {
        freed += malloc_usable_size(blocks[i]) + 8;
        free(blocks[i]);
        blocks[i] = NULL;
    }
    size_t used = 0;
    for (int i = 0; i < NBLOCKS; i++)
        if (blocks[i])
            used += malloc_usable_size(blocks[i]);
    report_line("pid %d\nfreed_middle %zu\nhole 0x%lx %zu\nused_blocks %d %zu\nready\n", (int)getpid(), freed,
                (unsigned long)hole, freed, NBLOCKS - NFREE, used);
    if (report_flush(fd))
        return 1;
    for (;;)
        pause();
}
