/*
 * pagemap.c — page residency of the target from /proc/PID/pagemap.
 * See pagemap.h.
 */
#include "pagemap.h"
#include "hsnap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)

int pagemap_open(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/pagemap", (int)pid);
    return open(path, O_RDONLY | O_CLOEXEC);
}

int64_t pagemap_states(int fd, uint64_t addr, uint64_t npages, uint32_t page_size, uint8_t *state)
{
    /* 64 KiB of entries per pread: 32 MiB of address space a call. */
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
