/*
 * load.c — bring a whole file into memory for the reader: mmap'd when it
 * is a regular file, read when it is a pipe or standard input ("-").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "walk.h"

int hs_load(const char *path, const uint8_t **buf, size_t *len, int *mapped, struct hs_error *err)
{
    int stdin_ = !strcmp(path, "-");
    int fd = stdin_ ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        hs_set_err(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    *mapped = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uint64_t)st.st_size <= SIZE_MAX) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
            if (!stdin_)
                close(fd);
            *buf = p;
            *len = (size_t)st.st_size;
            *mapped = 1;
            return 0;
        }
    }
    /* A pipe, or mmap refused: read it all. */
    size_t cap = 1 << 20, n = 0;
    uint8_t *b = malloc(cap);
    for (;;) {
        if (!b) {
            hs_set_err(err, "%s: out of memory after reading %zu bytes", path, n);
            break;
        }
        if (n == cap) {
            uint8_t *nb = cap > SIZE_MAX / 2 ? NULL : realloc(b, cap * 2);
            if (!nb) {
                free(b);
                b = NULL;
                continue;
            }
            b = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            hs_set_err(err, "%s: read at offset %zu: %s", path, n, strerror(errno));
            free(b);
            b = NULL;
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (!stdin_)
        close(fd);
    if (!b)
        return -1;
    *buf = b;
    *len = n;
    return 0;
}

void hs_unload(const uint8_t *buf, size_t len, int mapped)
{
    if (mapped)
        munmap((void *)buf, len);
    else
        free((void *)buf);
}
