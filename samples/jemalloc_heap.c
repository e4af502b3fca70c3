/*
 * jemalloc_heap.c — a process whose malloc is Debian's jemalloc (5.3.0),
 * which writes down the truth about its heap in jemalloc's own terms.
 * The Makefile builds it twice: bin/samples/jemalloc_heap linked with
 * libjemalloc.so.2, and bin/samples/jemalloc_static with libjemalloc.a
 * inside the executable.
 *
 *   jemalloc_heap REPORT
 *
 * It allocates 4000 small blocks (8..3000 bytes: slabs of many size
 * classes), 40 large ones (20 KiB..1 MiB: extents of their own), frees
 * every third, and reports:
 *   pid N
 *   live 0xADDR REQUESTED USABLE     every live block (USABLE from malloc_usable_size)
 *   freed 0xADDR                     every block freed and not handed out again
 *   stats allocated N active N resident N mapped N   (mallctl "stats.*" after "epoch")
 *   version V                        mallctl "version"
 *   ready
 * and then blocks until killed.  The report is formatted into a static
 * buffer (report.h): nothing allocates between the stats and the capture.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jemalloc/jemalloc.h>

#define REPORT_BUF_SIZE (1 << 20)
#include "report.h"

static struct report_block recs[4100];
static size_t nrecs;

static size_t stat(const char *name)
{
    size_t v = 0, len = sizeof v;
    if (mallctl(name, &v, &len, NULL, 0))
        abort();
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    for (size_t i = 0; i < 4000; i++) {
        size_t n = 8 + (i * 131) % 2993;
        void *p = malloc(n);
        if (!p)
            abort();
        memset(p, 0x6A, n);
        recs[nrecs++] = (struct report_block){p, n, 1};
    }
    for (size_t i = 0; i < 40; i++) {
        size_t n = (20 << 10) + i * (25 << 10);
        void *p = malloc(n);
        if (!p)
            abort();
        memset(p, 0x6B, n);
        recs[nrecs++] = (struct report_block){p, n, 1};
    }
    for (size_t i = 0; i < nrecs; i += 3) {
        free(recs[i].p);
        recs[i].live = 0;
    }
    uint64_t epoch = 1;
    size_t elen = sizeof epoch;
    mallctl("epoch", &epoch, &elen, &epoch, elen);
    size_t allocated = stat("stats.allocated"), active = stat("stats.active");
    size_t resident = stat("stats.resident"), mapped = stat("stats.mapped");
    const char *version = NULL;
    size_t vlen = sizeof version;
    mallctl("version", &version, &vlen, NULL, 0);

    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return 1;
    report_line("pid %d\n", (int)getpid());
    report_blocks(recs, nrecs, malloc_usable_size);
    report_line("stats allocated %zu active %zu resident %zu mapped %zu\n", allocated, active,
                resident, mapped);
    report_line("version %s\n", version ? version : "?");
    report_line("ready\n");
    if (report_flush(fd))
        return 1;
    close(fd);
    for (;;)
        pause();
}
