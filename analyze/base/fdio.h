/*
 * fdio.h — all of a buffer written to a file descriptor: write(2) and
 * pwrite(2) may write less than asked, or be interrupted, and every writer
 * of a file (the bulk b-trees, cores, pprof profiles) needs the same loop.
 *
 * Header-only, as grow.h: a loop of a few lines, used where files are
 * written whole.
 */
#ifndef HEAPSNAP_BASE_FDIO_H
#define HEAPSNAP_BASE_FDIO_H

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

/* Write the n bytes at p to fd: at offset off (pwrite), or, with off < 0,
 * where the file stands (write).  0, or -1 with errno (EIO if the system
 * wrote nothing and said no more). */
static inline int fd_write_all(int fd, const void *p, size_t n, int64_t off)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = off >= 0 ? pwrite(fd, b, n, (off_t)off) : write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        b += w;
        n -= (size_t)w;
        if (off >= 0)
            off += w;
    }
    return 0;
}

#endif
