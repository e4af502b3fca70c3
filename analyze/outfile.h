/*
 * outfile.h — the files heapsnap writes for people (cores, imported
 * snapshots, pprof profiles, HTML reports): mode 0600 whatever the umask,
 * because they describe a process's memory; written to a temporary file
 * beside the target, fsync'd, and renamed into place only when complete, so
 * that a failure never leaves a half file a reader would half believe; and
 * never over a file heapsnap did not write.  Each kind of file says how to
 * recognise one of its own from its first bytes.
 */
#ifndef HEAPSNAP_OUTFILE_H
#define HEAPSNAP_OUTFILE_H

#include <stddef.h>

#include "hsnap.h"

struct outfile {
    char *path, *tmp;
    int fd;
};

/* How many leading bytes is_ours() is shown (fewer if the file is shorter). */
#define OUTFILE_HEAD 256

/*
 * Start writing path.  If path exists it must be a regular file for which
 * is_ours(first bytes, n) is 1 (is_ours NULL: any regular file), else the
 * call fails with err ("FILE: exists
 * and was not written by heapsnap ...").  0 with o->fd open, or -1.
 */
int outfile_open(struct outfile *o, const char *path, int (*is_ours)(const unsigned char *head, size_t n),
                 char *err, size_t errlen);
/* fsync, close, rename into place; 0, or -1 with err (the temporary is removed). */
int outfile_commit(struct outfile *o, char *err, size_t errlen);
/* Give up: close and remove the temporary. */
void outfile_abort(struct outfile *o);
/* The default output name for an input: FILE without .hsnap or .db, plus
 * ext (".pb.gz"); malloc'd, NULL when out of memory. */
char *outfile_name_for(const char *file, const char *ext);

/* Writes the content to fd; 0, or -1 with err set. */
typedef int (*outfile_fill)(int fd, void *u, struct hs_error *err);

/*
 * The whole of it for one file: open out (is_ours as above), fill(fd, u,
 * err), ask keep (may be NULL) just before the rename whether out must be
 * left alone after all (nonzero, with err set), commit.  Returns EXIT_OK, or
 * EXIT_FAIL after printing the error (the temporary file removed).
 */
int outfile_write(const char *out, int (*is_ours)(const unsigned char *head, size_t n), outfile_fill fill,
                  void *u, int (*keep)(const char *out, struct hs_error *err));

#endif
