/*
 * mutated.h — for the robustness tools that walk damaged heaps (heapwalk
 * for glibc; meant for gomutate too, which has its own copy for now): write
 * a snapshot again with some heap words overwritten, into memory, and open
 * the result, so the walker under test sees it exactly as it would a file.
 *
 * Header-only (static functions) because each tool is built from its one
 * source file plus the libraries (see the Makefile's build/tools rules).
 * Uses the writer and reader of format/ (hsnap.h) and nothing else.
 */
#ifndef HEAPSNAP_TESTS_TOOLS_MUTATED_H
#define HEAPSNAP_TESTS_TOOLS_MUTATED_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hsnap.h"

/* One overwritten word. */
struct mutation {
    uint64_t addr, value;
};

/* Which pages a mutation may land in.  Pages with contents (DATA, ZERO)
 * always; with MUTATE_ABSENT_ANON also never-touched pages of anonymous
 * ranges, which read as zeros, so a write there is a real change too.
 * A mutation anywhere else (swapped, unreadable, outside every range) is
 * dropped. */
enum { MUTATE_ABSENT_ANON = 1 };

/*
 * s written again with the nm mutations in m applied, into a memfd named
 * memfd_name, and opened from memory as snap_name (the name the reader
 * puts in its messages).  NULL if any step fails.  The caller hs_close()s
 * the result; s is untouched.
 */
static struct hs_snapshot *mutated_snapshot(const struct hs_snapshot *s, const struct mutation *m,
                                            size_t nm, unsigned flags, const char *memfd_name,
                                            const char *snap_name)
{
    struct hs_error err;
    int fd = memfd_create(memfd_name, 0);
    if (fd < 0)
        return NULL;
    struct hs_writer *w = hs_writer_open(fd, "mutated", 1, &err);
    if (!w) {
        close(fd);
        return NULL;
    }
    size_t n;
    hs_write_process(w, hs_get_process(s));
    const struct hs_mapping *maps = hs_get_mappings(s, &n);
    hs_write_mappings(w, maps, n);
    const struct hs_module *mods = hs_get_modules(s, &n);
    hs_write_modules(w, mods, n);
    const struct hs_thread *th = hs_get_threads(s, &n);
    hs_write_threads(w, th, n);
    const struct hs_mem_range *r = hs_get_ranges(s, &n);
    for (size_t i = 0; i < n; i++) {
        uint64_t len = r[i].end - r[i].start, np = len / r[i].page_size;
        uint8_t *state = malloc(np ? np : 1), *data = malloc(len ? len : 1);
        if (!state || !data)
            abort();
        memcpy(state, r[i].page_state, np);
        memcpy(data, r[i].data, len);
        for (size_t k = 0; k < nm; k++) {
            if (m[k].addr < r[i].start || m[k].addr + 8 > r[i].end)
                continue;
            uint64_t off = m[k].addr - r[i].start, pg = off / r[i].page_size;
            if (state[pg] != HS_PAGE_DATA && state[pg] != HS_PAGE_ZERO &&
                !((flags & MUTATE_ABSENT_ANON) && state[pg] == HS_PAGE_ABSENT &&
                  (r[i].flags & HS_MEM_ANON)))
                continue; /* no contents to change */
            state[pg] = HS_PAGE_DATA;
            memcpy(data + off, &m[k].value, 8);
        }
        /* the writer wants the DATA pages packed */
        uint64_t packed = 0;
        for (uint64_t p = 0; p < np; p++)
            if (state[p] == HS_PAGE_DATA) {
                memmove(data + packed, data + p * r[i].page_size, r[i].page_size);
                packed += r[i].page_size;
            }
        hs_write_memory(w, r[i].start, r[i].page_size, np, r[i].flags, state, data);
        free(state);
        free(data);
    }
    if (hs_writer_finish(w, &err)) {
        close(fd);
        return NULL;
    }
    off_t size = lseek(fd, 0, SEEK_END);
    void *buf = size > 0 ? mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    close(fd);
    if (buf == MAP_FAILED)
        return NULL;
    struct hs_snapshot *ms = hs_open_memory(buf, (size_t)size, snap_name, 0, &err);
    munmap(buf, (size_t)size);
    return ms;
}

#endif
