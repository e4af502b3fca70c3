/*
 * pagemap.c — page residency of the target from /proc/PID/pagemap.
 * See pagemap.h.
 */
#include "pagemap.h"
#include "hsnap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)

/*
 * PAGEMAP_SCAN (Linux 6.7+, see PAGEMAP_SCAN(2const)) returns runs of pages
 * with like flags instead of one word per page: for a fully resident 1 GiB
 * heap, one region instead of 2 MiB of entries, which matters because this
 * runs while the target is stopped.  Debian 12's headers predate it, so
 * the ABI (stable uapi) is spelled out here.
 */
#define HS_PAGE_IS_PRESENT (1ull << 3)
#define HS_PAGE_IS_SWAPPED (1ull << 4)
#define HS_PAGE_IS_PFNZERO (1ull << 5)

struct hs_page_region {
    uint64_t start, end, categories;
};

struct hs_pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
    uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};

#define HS_PAGEMAP_SCAN _IOWR('f', 16, struct hs_pm_scan_arg)

static int scan_unsupported; /* the kernel said no once: use plain reads */

/*
 * One PAGEMAP_SCAN walk of [start, end) over the pages that are present or
 * swapped, the regions reporting the categories in return_mask: fn gets
 * each region the kernel returns (unchecked: fn decides what is sane) and
 * returns 0 to go on.  The kernel fills at most NREG regions a call and
 * says in walk_end how far it got, so a long walk takes several calls.
 * Returns 0, -1 (with errno, or fn's failure), or -2 when the kernel has
 * no PAGEMAP_SCAN (remembered, so later calls go straight to the reads).
 */
static int scan_walk(int fd, uint64_t start, uint64_t end, uint64_t return_mask,
                     int (*fn)(void *arg, const struct hs_page_region *r), void *arg)
{
    enum { NREG = 512 };
    struct hs_page_region reg[NREG];
    uint64_t at = start;
    while (at < end) {
        struct hs_pm_scan_arg a;
        memset(&a, 0, sizeof a);
        a.size = sizeof a;
        a.start = at;
        a.end = end;
        a.vec = (uint64_t)(uintptr_t)reg;
        a.vec_len = NREG;
        a.category_anyof_mask = HS_PAGE_IS_PRESENT | HS_PAGE_IS_SWAPPED;
        a.return_mask = return_mask;
        int n = ioctl(fd, HS_PAGEMAP_SCAN, &a);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == ENOTTY || errno == EINVAL || errno == EOPNOTSUPP)) {
            scan_unsupported = 1;
            return -2;
        }
        if (n < 0)
            return -1;
        for (int i = 0; i < n; i++)
            if (fn(arg, &reg[i]) != 0)
                return -1;
        if (a.walk_end <= at || n < NREG)
            break; /* all of [at, end) walked */
        at = a.walk_end;
    }
    return 0;
}

struct runs_walk {
    uint64_t start, end;
    int (*fn)(void *arg, uint64_t start, uint64_t end);
    void *arg;
};

static int runs_region(void *arg, const struct hs_page_region *r)
{
    const struct runs_walk *w = arg;
    if (r->start >= w->start && r->end <= w->end && r->start < r->end)
        return w->fn(w->arg, r->start, r->end);
    return 0; /* not what we asked for: skip it */
}

int pagemap_runs(int fd, uint64_t start, uint64_t end, int (*fn)(void *arg, uint64_t start, uint64_t end),
                 void *arg)
{
    if (scan_unsupported)
        return -2;
    struct runs_walk w = {start, end, fn, arg};
    return scan_walk(fd, start, end, HS_PAGE_IS_PRESENT | HS_PAGE_IS_SWAPPED, runs_region, &w);
}

struct states_walk {
    uint64_t addr, npages;
    uint32_t psz;
    uint8_t *state;
    int64_t present;
};

static int states_region(void *arg, const struct hs_page_region *r)
{
    struct states_walk *w = arg;
    uint8_t st = HS_PAGE_SWAPPED;
    /* The shared zero page: resident, all zero, nothing to copy. */
    if (r->categories & HS_PAGE_IS_PFNZERO)
        st = HS_PAGE_ZERO;
    else if (r->categories & HS_PAGE_IS_PRESENT)
        st = HS_PAGE_DATA;
    uint64_t first = (r->start - w->addr) / w->psz, last = (r->end - w->addr) / w->psz;
    if (r->start < w->addr || last > w->npages || first >= last)
        return 0; /* not what we asked for; leave it absent */
    memset(w->state + first, st, last - first);
    if (st == HS_PAGE_DATA)
        w->present += (int64_t)(last - first);
    return 0;
}

/* Fill state from PAGEMAP_SCAN.  Returns present pages, or -2 if the
 * ioctl is not available (then the caller reads the entries instead). */
static int64_t scan_states(int fd, uint64_t addr, uint64_t npages, uint32_t psz, uint8_t *state)
{
    struct states_walk w = {addr, npages, psz, state, 0};
    memset(state, HS_PAGE_ABSENT, npages);
    int r = scan_walk(fd, addr, addr + npages * psz,
                      HS_PAGE_IS_PRESENT | HS_PAGE_IS_SWAPPED | HS_PAGE_IS_PFNZERO, states_region, &w);
    return r < 0 ? r : w.present;
}

int pagemap_open(pid_t pid)
{
    if (getenv("HEAPSNAP_NO_PAGEMAP_SCAN"))
        scan_unsupported = 1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/pagemap", (int)pid);
    return open(path, O_RDONLY | O_CLOEXEC);
}

int64_t pagemap_states(int fd, uint64_t addr, uint64_t npages, uint32_t page_size, uint8_t *state)
{
    /* 64 KiB of entries per pread: 32 MiB of address space a call. */
    if (!scan_unsupported) {
        int64_t r = scan_states(fd, addr, npages, page_size, state);
        if (r != -2)
            return r;
    }
    enum { CHUNK = 8192 };
    uint64_t ent[CHUNK];
    int64_t present = 0;
    uint64_t done = 0;
    while (done < npages) {
        uint64_t want = npages - done < CHUNK ? npages - done : CHUNK;
        off_t off = (off_t)((addr / page_size + done) * sizeof(uint64_t));
        ssize_t r = pread(fd, ent, want * sizeof(uint64_t), off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0) {
            /* Past the end of the address space the kernel knows about. */
            errno = EIO;
            return -1;
        }
        uint64_t got = (uint64_t)r / sizeof(uint64_t);
        for (uint64_t i = 0; i < got; i++) {
            uint64_t e = ent[i];
            uint8_t s = HS_PAGE_ABSENT;
            if (e & PM_PRESENT) {
                s = HS_PAGE_DATA;
                present++;
            } else if (e & PM_SWAPPED) {
                s = HS_PAGE_SWAPPED;
            }
            state[done + i] = s;
        }
        done += got;
    }
    return present;
}
