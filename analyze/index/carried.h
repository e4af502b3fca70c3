/*
 * carried.h — the files a snapshot carries (heapsnap-capture
 * --with-binaries: its executable and the modules' debug files), put
 * where debuginfo looks first, so that `index` uses them before any path
 * on this machine.
 *
 * debuginfo (libelf, libdwarf) and the Go walker read files by path, so the
 * carried files are written out once per index into a private directory
 * (mkdtemp under $TMPDIR or /tmp, mode 0700; files 0600) and removed when
 * the index is done:
 *   DIR/exe-N                      the executable of module N
 *   DIR/.build-id/xx/rest.debug    a debug file, by its module's build-id
 * and opt->carried_binaries / opt->carried_dir point there.  Nothing is
 * trusted: debuginfo checks each file against its module as it does any
 * other (build-id, or ELF headers for a Go binary without one).
 */
#ifndef HEAPSNAP_INDEX_CARRIED_H
#define HEAPSNAP_INDEX_CARRIED_H

#include <stddef.h>

#include "debuginfo/debuginfo.h"
#include "hsnap.h"

struct carried {
    char *dir;             /* NULL if the snapshot carries nothing */
    char **paths;          /* every file written, for removal */
    size_t npaths;
    const char **binaries; /* per module: the carried executable, or NULL */
    size_t nbinaries;
};

/* Write s's carried files out and point opt at them.  0 (also when there
 * are none), or -1 with err. */
int carried_extract(const struct hs_snapshot *s, struct carried *c, struct dbg_options *opt, char *err,
                    size_t errlen);
/* Remove the files and the directory, and free c. */
void carried_remove(struct carried *c);

#endif
