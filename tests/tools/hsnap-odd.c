/*
 * hsnap-odd.c — a snapshot with an awkward shape, for the tests of the
 * commands that turn metadata into other files (tests/t6400-core.sh):
 * what the reader accepts but a real capture rarely produces.
 *
 *   hsnap-odd FILE NMAPPINGS
 *
 * It holds:
 *  - NMAPPINGS one-page mappings at 0x10000000 + 2 pages * i, written in
 *    reverse order, permissions cycling through r--, rw-, r-x, ---; plus
 *    one mapping overlapping the first two, one empty and one not
 *    page-aligned.  With NMAPPINGS > 65535 the core needs PN_XNUM.
 *  - memory: 0x10000000, 4 pages (crossing mappings and the gaps between
 *    them), all DATA; 0x7000000000, 2 pages in no mapping, DATA;
 *    0x7100000000, 4 pages ZERO, DATA, SWAPPED, UNREADABLE, also in no
 *    mapping.
 *    Byte i of page p of a range is (p * 31 + i) & 0xff.
 *  - two threads, tids 4242 and 4243, register r = tid * 1000 + r.
 *  - no stats section and no auxv; the exe is a path that does not exist.
 *
 * Links only the format library.  Exit 0, or 1 with the writer's error.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hsnap.h"

#define PAGE 4096u

static void fill(uint8_t *p, unsigned npages)
{
    for (unsigned pg = 0; pg < npages; pg++)
        for (unsigned i = 0; i < PAGE; i++)
            p[pg * PAGE + i] = (uint8_t)((pg * 31 + i) & 0xff);
}

static int fail(struct hs_writer *w, const char *what)
{
    fprintf(stderr, "hsnap-odd: %s: %s\n", what, w ? hs_writer_error(w) : "");
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: hsnap-odd FILE NMAPPINGS\n");
        return 2;
    }
    size_t n = strtoul(argv[2], NULL, 10);
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    struct hs_error err;
    struct hs_writer *w = hs_writer_open(fd, argv[1], 1, &err);
    if (!w) {
        fprintf(stderr, "hsnap-odd: %s\n", err.msg);
        return 1;
    }

    char *av[] = {"/nonexistent/odd", "with\nnewline", "\x1b[2J"};
    struct hs_process p = {.pid = 4242, .machine = 62, .page_size = PAGE,
                           .capture_time_ns = 1700000000000000000ull, .exe = "/nonexistent/odd",
                           .kernel_release = "6.1.0-odd", .hostname = "odd", .argc = 3, .argv = av};
    if (hs_write_process(w, &p) != 0)
        return fail(w, "process");

    static const uint32_t perms[] = {HS_MAP_R, HS_MAP_R | HS_MAP_W, HS_MAP_R | HS_MAP_X, 0};
    struct hs_mapping *m = calloc(n + 3, sizeof *m);
    if (!m)
        return fail(NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        struct hs_mapping *x = &m[n - 1 - i]; /* reverse order */
        x->start = 0x10000000u + 2ull * PAGE * i;
        x->end = x->start + PAGE;
        x->flags = perms[i % 4] | HS_MAP_ANON;
        x->path = "";
        x->vmflags = "rd";
    }
    m[n] = (struct hs_mapping){.start = 0x10000000u, .end = 0x10000000u + 3 * PAGE,
                               .flags = HS_MAP_R | HS_MAP_W | HS_MAP_ANON, .path = "[overlap]", .vmflags = ""};
    m[n + 1] = (struct hs_mapping){.start = 0x50000000u, .end = 0x50000000u, .flags = HS_MAP_R,
                                   .path = "/empty", .vmflags = ""};
    m[n + 2] = (struct hs_mapping){.start = 0x60000123u, .end = 0x60000456u, .offset = 0x77,
                                   .flags = HS_MAP_R, .path = "/unaligned", .vmflags = ""};
    if (hs_write_mappings(w, m, n + 3) != 0)
        return fail(w, "mappings");
    free(m);

    struct hs_thread t[2] = {{.tid = 4242, .state = 'S', .name = "odd-main"},
                             {.tid = 4243, .state = 'R', .name = "odd-\x01\xff"}};
    for (int k = 0; k < 2; k++)
        for (int r = 0; r < HS_NREGS; r++)
            t[k].regs[r] = (uint64_t)t[k].tid * 1000 + (uint64_t)r;
    if (hs_write_threads(w, t, 2) != 0)
        return fail(w, "threads");

    static uint8_t data[4 * PAGE];
    fill(data, 4);
    uint8_t all_data[4] = {HS_PAGE_DATA, HS_PAGE_DATA, HS_PAGE_DATA, HS_PAGE_DATA};
    if (hs_write_memory(w, 0x10000000u, PAGE, 4, HS_MEM_ANON, all_data, data) != 0 ||
        hs_write_memory(w, 0x7000000000u, PAGE, 2, HS_MEM_ANON, all_data, data) != 0)
        return fail(w, "memory");
    /* The one DATA page is page 1 of the range: its bytes are page 1's. */
    uint8_t mixed[4] = {HS_PAGE_ZERO, HS_PAGE_DATA, HS_PAGE_SWAPPED, HS_PAGE_UNREADABLE};
    if (hs_write_memory(w, 0x7100000000u, PAGE, 4, HS_MEM_ANON, mixed, data + PAGE) != 0)
        return fail(w, "memory");

    if (hs_writer_finish(w, &err) != 0) {
        fprintf(stderr, "hsnap-odd: %s\n", err.msg);
        return 1;
    }
    return 0;
}
