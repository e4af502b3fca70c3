/*
 * outfile.h — how heapsnap writes a file that holds a process's memory
 * (`heapsnap core`, `heapsnap import`): into a temporary file beside the
 * target, created with mode 0600 whatever the umask, then fsync'd and
 * renamed into place only when complete, so that a failure never leaves a
 * half file that a reader would half believe.
 */
#ifndef HEAPSNAP_OUTFILE_H
#define HEAPSNAP_OUTFILE_H

#include "hsnap.h"

/* Writes the content to fd; 0, or -1 with err set. */
typedef int (*outfile_fill)(int fd, void *u, struct hs_error *err);

/*
 * Write out with fill(fd, u, err).  keep (may be NULL) is asked just before
 * the rename whether out must be left alone (a file heapsnap did not make:
 * nonzero, with err set).  Returns EXIT_OK, or EXIT_FAIL after printing the
 * error (the temporary file removed).
 */
int outfile_write(const char *out, outfile_fill fill, void *u, int (*keep)(const char *out, struct hs_error *err));

#endif
