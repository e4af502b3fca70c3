/*
 * outfile.h — where the snapshot goes: a file that appears complete or not
 * at all, or standard output.
 *
 * A file is written under a temporary name in the same directory (so the
 * final rename is atomic and never crosses filesystems), created mode 0600
 * because a snapshot holds the target's memory, and renamed over the final
 * name only after the writer finished.  Any failure, or a fatal signal
 * (see stop.h), removes the temporary file, so no half-written file is ever
 * left under the final name.  "-" means standard output, for pipes.
 */
#ifndef CAPTURE_OUTFILE_H
#define CAPTURE_OUTFILE_H

#include <stddef.h>

struct outfile {
    const char *path; /* the final name, or "-" */
    char *tmp;        /* the temporary name, or NULL for stdout */
    int fd;
};

/* Open; on failure fill err and return -1. */
int outfile_open(struct outfile *o, const char *path, char *err, size_t errlen);
/* Flush to disk and rename into place (a no-op for stdout). */
int outfile_commit(struct outfile *o, char *err, size_t errlen);
/* Remove the temporary file. */
void outfile_abort(struct outfile *o);

#endif /* CAPTURE_OUTFILE_H */
