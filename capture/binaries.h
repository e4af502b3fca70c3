/*
 * binaries.h — heapsnap-capture --with-binaries: after the target runs
 * again, carry its executable (read through /proc/PID/exe) and the debug
 * file the host has for each module by build-id, compressed, as file
 * sections (format 1.1, docs/format.md).  See binaries.c.
 */
#ifndef HEAPSNAP_CAPTURE_BINARIES_H
#define HEAPSNAP_CAPTURE_BINARIES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hsnap.h"

struct binaries_result {
    uint32_t files;       /* files carried */
    uint64_t bytes;       /* their size */
    uint64_t stored;      /* what they cost in the snapshot (sections, compressed) */
};

/* Write the file sections for pid's modules mods[0..n).  A file that cannot
 * be read is left out (said on stderr unless quiet); -1 only when the
 * writer fails. */
int binaries_carry(struct hs_writer *w, pid_t pid, const struct hs_module *mods, size_t n, int quiet,
                   struct binaries_result *res);

#endif /* HEAPSNAP_CAPTURE_BINARIES_H */
