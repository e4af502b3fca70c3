/*
 * outfile.c — see outfile.h.  The check of an existing file and the rename
 * are not one atomic step; what they protect against is a user's typo
 * (-o main.go), not a race with someone replacing files under us, and a
 * file that appears in between is still only replaced by a complete one.
 */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

int outfile_open(struct outfile *o, const char *path, int (*is_ours)(const unsigned char *head, size_t n),
                 char *err, size_t errlen)
{
    struct stat st;
    memset(o, 0, sizeof *o);
    o->fd = -1;
    if (lstat(path, &st) == 0) {
        unsigned char head[OUTFILE_HEAD];
        ssize_t n = -1;
        int fd = S_ISREG(st.st_mode) ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
        if (fd >= 0) {
            n = read(fd, head, sizeof head);
            close(fd);
        }
        if (n < 0 || (is_ours && !is_ours(head, (size_t)n))) {
            snprintf(err, errlen, "%s: exists and was not written by heapsnap; heapsnap will not replace it (remove it or choose another name)",
                     path);
            return -1;
        }
    } else if (errno != ENOENT) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t len = strlen(path);
    o->path = strdup(path);
    o->tmp = malloc(len + sizeof ".XXXXXX");
    if (!o->path || !o->tmp) {
        snprintf(err, errlen, "%s: out of memory", path);
        free(o->path);
        free(o->tmp);
        return -1;
    }
    memcpy(o->tmp, path, len);
    memcpy(o->tmp + len, ".XXXXXX", sizeof ".XXXXXX");
    if ((o->fd = mkstemp(o->tmp)) < 0) { /* mode 0600 */
        snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        free(o->path);
        free(o->tmp);
        return -1;
    }
    return 0;
}

int outfile_commit(struct outfile *o, char *err, size_t errlen)
{
    int rc = 0;
    if (fsync(o->fd) != 0 && errno != EINVAL) {
        snprintf(err, errlen, "%s: fsync: %s", o->path, strerror(errno));
        rc = -1;
    }
    if (close(o->fd) != 0 && rc == 0) {
        snprintf(err, errlen, "%s: close: %s", o->path, strerror(errno));
        rc = -1;
    }
    o->fd = -1;
    if (rc == 0 && rename(o->tmp, o->path) != 0) {
        snprintf(err, errlen, "%s: rename from %s: %s", o->path, o->tmp, strerror(errno));
        rc = -1;
    }
    if (rc)
        unlink(o->tmp);
    free(o->tmp);
    free(o->path);
    o->tmp = o->path = NULL;
    return rc;
}

void outfile_abort(struct outfile *o)
{
    if (o->fd >= 0)
        close(o->fd);
    if (o->tmp)
        unlink(o->tmp);
    free(o->tmp);
    free(o->path);
    o->tmp = o->path = NULL;
    o->fd = -1;
}

char *outfile_name_for(const char *file, const char *ext)
{
    size_t n = strlen(file), le = strlen(ext);
    const char *in[] = {".hsnap", ".db"};
    for (size_t k = 0; k < 2; k++) {
        size_t e = strlen(in[k]);
        if (n > e && !strcmp(file + n - e, in[k])) {
            n -= e;
            break;
        }
    }
    char *out = malloc(n + le + 1);
    if (out) {
        memcpy(out, file, n);
        memcpy(out + n, ext, le + 1);
    }
    return out;
}

int outfile_write(const char *out, int (*is_ours)(const unsigned char *head, size_t n), outfile_fill fill,
                  void *u, int (*keep)(const char *out, struct hs_error *err))
{
    struct outfile o;
    struct hs_error err = {{0}};
    if (outfile_open(&o, out, is_ours, err.msg, sizeof err.msg)) {
        cli_error("%s", err.msg);
        return EXIT_FAIL;
    }
    int rc = fill(o.fd, u, &err);
    if (rc == 0 && keep && keep(out, &err))
        rc = -1;
    if (rc == 0 && outfile_commit(&o, err.msg, sizeof err.msg))
        rc = -1;
    else if (rc != 0)
        outfile_abort(&o);
    if (rc != 0)
        cli_error("%s", err.msg);
    return rc == 0 ? EXIT_OK : EXIT_FAIL;
}
