/*
 * outfile.h — where the snapshot goes: a file that appears complete or not
 * at all, or standard output.
 *
 * A file is created mode 0600 (a snapshot holds the target's memory) in
 * the directory of the final name, as an unnamed O_TMPFILE where the
 * filesystem allows it, else under a temporary name.  Only after the
 * writer has finished does it get a temporary name and is renamed over the
 * final name (atomic: same directory).  Any failure or fatal signal (see
 * stop.h) removes the temporary file; with O_TMPFILE even SIGKILL leaves
 * nothing behind.  So no half-written file is ever left under the final
 * name.  "-" means standard output, for pipes.
 */
#ifndef HEAPSNAP_CAPTURE_OUTFILE_H
#define HEAPSNAP_CAPTURE_OUTFILE_H

#include <stddef.h>

struct outfile {
    const char *path; /* the final name, or "-" */
    char *tmp;        /* the temporary name, or NULL for stdout */
    int unnamed;      /* fd is an O_TMPFILE: tmp is not yet created */
    int fd;
};

/* Open; on failure fill err and return -1. */
int outfile_open(struct outfile *o, const char *path, char *err, size_t errlen);
/* The name a fatal-signal handler must unlink, or NULL (no file by name yet). */
const char *outfile_tmp_name(const struct outfile *o);
/* Flush to disk and rename into place (a no-op for stdout). */
int outfile_commit(struct outfile *o, char *err, size_t errlen);
/* Remove the temporary file. */
void outfile_abort(struct outfile *o);

#endif /* HEAPSNAP_CAPTURE_OUTFILE_H */
