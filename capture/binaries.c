/*
 * binaries.c — heapsnap-capture --with-binaries: carry the executable and
 * the modules' debug files in the snapshot (section type 8, format 1.1;
 * see binaries.h and docs/format.md), so that it can be indexed far from
 * the host that ran the program.
 *
 * Runs after the target is resumed: nothing here lengthens the pause.
 *   - the executable is read through /proc/PID/exe, which opens the very
 *     file the process runs even in another mount namespace, or deleted;
 *   - each module with a GNU build-id gets the debug file the host has for
 *     it, /usr/lib/debug/.build-id/xx/rest.debug, looked for on this host
 *     and then in the target's root (/proc/PID/root/...).
 * A file that cannot be read is left out with a line on stderr: the memory
 * snapshot is the point, and it is complete without them.
 */
#include "binaries.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layout.h"

/* The whole of fd (a regular file of at most HSL_FILE_MAX bytes), or NULL. */
static uint8_t *slurp(int fd, uint64_t *size)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > HSL_FILE_MAX) {
        errno = errno ? errno : EFBIG;
        return NULL;
    }
    size_t n = (size_t)st.st_size, done = 0;
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return NULL;
    while (done < n) {
        ssize_t r = pread(fd, b + done, n - done, (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(b);
            errno = r < 0 ? errno : EIO;
            return NULL;
        }
        done += (size_t)r;
    }
    *size = n;
    return b;
}

static int carry(struct hs_writer *w, struct hs_file *f, int fd, struct binaries_result *res)
{
    uint64_t size;
    uint8_t *data = slurp(fd, &size);
    if (!data)
        return 1; /* unreadable: said by the caller */
    f->size = size;
    uint64_t before = hs_writer_bytes(w);
    int rc = hs_write_file(w, f, data);
    free(data);
    if (rc < 0)
        return -1;
    res->files++;
    res->bytes += size;
    res->stored += hs_writer_bytes(w) - before;
    return 0;
}

/* The module whose path is the executable's, or UINT32_MAX. */
static uint32_t exe_module(pid_t pid, const struct hs_module *mods, size_t n)
{
    char link[64], exe[4096];
    snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
    ssize_t l = readlink(link, exe, sizeof exe - 1);
    if (l <= 0)
        return UINT32_MAX;
    exe[l] = 0;
    for (size_t i = 0; i < n && i < UINT32_MAX; i++)
        if (mods[i].path && !strcmp(mods[i].path, exe))
            return (uint32_t)i;
    return UINT32_MAX;
}

int binaries_carry(struct hs_writer *w, pid_t pid, const struct hs_module *mods, size_t n, int quiet,
                   struct binaries_result *res)
{
    memset(res, 0, sizeof *res);
    char path[4300];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    struct hs_file f = {.kind = HS_FILE_EXECUTABLE, .module = exe_module(pid, mods, n)};
    if (f.module != UINT32_MAX) {
        f.build_id_len = mods[f.module].build_id_len <= sizeof f.build_id ? mods[f.module].build_id_len : 0;
        memcpy(f.build_id, mods[f.module].build_id, f.build_id_len);
        f.path = mods[f.module].path;
    } else {
        f.path = path;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC), r = 1;
    if (fd >= 0) {
        r = carry(w, &f, fd, res);
        close(fd);
    }
    if (r < 0)
        return -1;
    if (r > 0 && !quiet)
        fprintf(stderr, "heapsnap-capture: --with-binaries: %s: %s; the executable is not carried\n", path,
                strerror(errno));

    for (size_t i = 0; i < n && i < UINT32_MAX; i++) {
        const struct hs_module *m = &mods[i];
        if (m->build_id_len < 2 || m->build_id_len > sizeof f.build_id)
            continue;
        char hex[2 * sizeof f.build_id + 1];
        for (uint32_t k = 0; k < m->build_id_len; k++)
            snprintf(hex + 2 * k, 3, "%02x", m->build_id[k]);
        static const char *const roots[] = {"", "/proc/%d/root"};
        for (size_t k = 0; k < sizeof roots / sizeof *roots; k++) {
            char root[64];
            snprintf(root, sizeof root, roots[k], (int)pid);
            snprintf(path, sizeof path, "%s/usr/lib/debug/.build-id/%.2s/%s.debug", root, hex, hex + 2);
            if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
                continue;
            struct hs_file d = {.kind = HS_FILE_DEBUG, .module = (uint32_t)i, .build_id_len = m->build_id_len,
                                .path = path};
            memcpy(d.build_id, m->build_id, m->build_id_len);
            r = carry(w, &d, fd, res);
            close(fd);
            if (r < 0)
                return -1;
            if (r == 0)
                break;
        }
    }
    return 0;
}
