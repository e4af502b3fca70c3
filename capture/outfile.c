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

int outfile_open(struct outfile *o, const char *path, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->path = path;
    o->fd = -1;
    if (strcmp(path, "-") == 0) {
        o->fd = STDOUT_FILENO;
        return 0;
    }
    char *d = strdup(path), *b = strdup(path);
    if (!d || !b) {
        free(d);
        free(b);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t len = strlen(path) + 32;
    o->tmp = malloc(len);
    if (o->tmp)
        snprintf(o->tmp, len, "%s/.%s.tmp-XXXXXX", dirname(d), basename(b));
    free(d);
    free(b);
    if (!o->tmp) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* mkstemp creates the file 0600 whatever the umask: a snapshot holds
     * another process's memory and must not be readable by others. */
    o->fd = mkostemp(o->tmp, O_CLOEXEC);
    if (o->fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s (is the directory writable?)", o->tmp, strerror(errno));
        free(o->tmp);
        o->tmp = NULL;
        return -1;
    }
    fchmod(o->fd, 0600);
    return 0;
}

int outfile_commit(struct outfile *o, char *err, size_t errlen)
{
    if (!o->tmp)
        return 0;
    if (fdatasync(o->fd) < 0 || close(o->fd) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", o->tmp, strerror(errno));
        o->fd = -1;
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
    if (o->fd >= 0 && o->tmp)
        close(o->fd);
    o->fd = -1;
    if (o->tmp) {
        unlink(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
    }
}
