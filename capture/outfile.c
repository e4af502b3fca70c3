/*
 * outfile.c — temporary-name-then-rename output.  See outfile.h.
 */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "DIR/.NAME.tmp-XXXXXX" for path, malloc'd. */
static char *tmp_name(const char *path)
{
    char *d = strdup(path), *b = strdup(path), *t = NULL;
    size_t len = strlen(path) + 32;
    if (d && b && (t = malloc(len)))
        snprintf(t, len, "%s/.%s.tmp-XXXXXX", dirname(d), basename(b));
    free(d);
    free(b);
    return t;
}

int outfile_open(struct outfile *o, const char *path, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->path = path;
    o->fd = -1;
    if (strcmp(path, "-") == 0) {
        o->fd = STDOUT_FILENO;
        return 0;
    }
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "%s is a directory; give a file name, e.g. %s/app.hsnap", path, path);
        return -1;
    }
    o->tmp = tmp_name(path);
    if (!o->tmp) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* Best: an unnamed file (O_TMPFILE) that gets a name only when it is
     * complete, so that even SIGKILL leaves nothing behind.  Otherwise a
     * named temporary file, which a fatal signal handler removes. */
    char *d = strdup(path);
    if (d) {
        o->fd = open(dirname(d), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        free(d);
    }
    if (o->fd >= 0) {
        o->unnamed = 1;
    } else {
        /* mkstemp creates the file 0600 whatever the umask: a snapshot
         * holds another process's memory and must not be readable by others. */
        o->fd = mkostemp(o->tmp, O_CLOEXEC);
        if (o->fd < 0) {
            int e = errno;
            snprintf(err, errlen, "cannot create a file next to %s: %s%s", path, strerror(e),
                     e == ENOENT ? " (does the directory exist?)"
                     : e == EACCES || e == EROFS ? " (is the directory writable?)" : "");
            free(o->tmp);
            o->tmp = NULL;
            return -1;
        }
    }
    fchmod(o->fd, 0600);
    return 0;
}

const char *outfile_tmp_name(const struct outfile *o)
{
    return o->unnamed ? NULL : o->tmp;
}

int outfile_commit(struct outfile *o, char *err, size_t errlen)
{
    if (!o->tmp)
        return 0;
    if (fdatasync(o->fd) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", o->path, strerror(errno));
        outfile_abort(o);
        return -1;
    }
    if (o->unnamed) {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", o->fd);
        int fd = mkostemp(o->tmp, O_CLOEXEC); /* reserve a unique name... */
        if (fd >= 0) {
            close(fd);
            unlink(o->tmp); /* ...that linkat() may then create */
        }
        if (fd < 0 || linkat(AT_FDCWD, proc, AT_FDCWD, o->tmp, AT_SYMLINK_FOLLOW) < 0) {
            snprintf(err, errlen, "cannot name %s: %s", o->path, strerror(errno));
            o->unnamed = 0;
            free(o->tmp);
            o->tmp = NULL;
            close(o->fd);
            o->fd = -1;
            return -1;
        }
        o->unnamed = 0;
    }
    if (close(o->fd) < 0) {
        o->fd = -1;
        snprintf(err, errlen, "cannot write %s: %s", o->path, strerror(errno));
        outfile_abort(o);
        return -1;
    }
    o->fd = -1;
    if (rename(o->tmp, o->path) < 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", o->tmp, o->path, strerror(errno));
        outfile_abort(o);
        return -1;
    }
    free(o->tmp);
    o->tmp = NULL;
    return 0;
}

void outfile_abort(struct outfile *o)
{
    if (o->fd >= 0 && o->fd != STDOUT_FILENO)
        close(o->fd);
    o->fd = -1;
    if (o->tmp) {
        if (!o->unnamed)
            unlink(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
    }
}
