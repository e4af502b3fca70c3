/*
 * pagemap.h — which pages of the target are in memory, from /proc/PID/pagemap.
 *
 * heapsnap-capture reads only pages that are resident: reading a page that
 * is swapped out or was never touched would make the kernel fault it in,
 * which changes the target's memory footprint and can take milliseconds per
 * page.  pagemap gives one 64-bit entry per virtual page; bit 63 says
 * "present in RAM", bit 62 "in swap" (proc(5)).
 */
#ifndef HEAPSNAP_CAPTURE_PAGEMAP_H
#define HEAPSNAP_CAPTURE_PAGEMAP_H

#include <stdint.h>
#include <sys/types.h>

/* An fd, or -1 with errno.  HEAPSNAP_NO_PAGEMAP_SCAN in the environment
 * forces the per-page reads that kernels before 6.7 need (for tests). */
int pagemap_open(pid_t pid);

/* Fill state[0..npages) for the pages from addr with HS_PAGE_DATA (present),
 * HS_PAGE_ZERO (mapped to the shared zero page: nothing to copy; known only
 * where PAGEMAP_SCAN exists), HS_PAGE_SWAPPED or HS_PAGE_ABSENT.  Returns the number of present pages,
 * or -1 with errno. */
int64_t pagemap_states(int fd, uint64_t addr, uint64_t npages, uint32_t page_size, uint8_t *state);

/* Call fn(arg, start, end) for each run of present or swapped pages in
 * [start, end), in address order, in one PAGEMAP_SCAN walk; fn returns 0 to
 * go on.  Returns 0, -1 (with errno, or fn's failure), or -2 when the
 * kernel has no PAGEMAP_SCAN (the caller must then use pagemap_states). */
int pagemap_runs(int fd, uint64_t start, uint64_t end, int (*fn)(void *arg, uint64_t start, uint64_t end),
                 void *arg);

#endif /* HEAPSNAP_CAPTURE_PAGEMAP_H */
