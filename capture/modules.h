/*
 * modules.h — the ELF files mapped into the target, for symbolization later.
 *
 * For each mapped ELF file: its path, the load bias (runtime address = ELF
 * vaddr + bias), the lowest mapped address, the GNU build-id, and copies of
 * the ELF header and program headers.  These are read from the file itself
 * — through /proc/PID/map_files/ (which works even if the file was deleted
 * or lives in another mount namespace) or else /proc/PID/root/PATH — never
 * from the target's memory, so this can run after the target is resumed.
 */
#ifndef HEAPSNAP_CAPTURE_MODULES_H
#define HEAPSNAP_CAPTURE_MODULES_H

#include <stddef.h>
#include <sys/types.h>

#include "hsnap.h"

/* Collect the modules among maps[0..n).  Non-ELF files (locale archives,
 * fonts) are skipped.  Never fails as a whole: a file that cannot be read
 * is listed with what is known (path and lowest address). */
int modules_collect(pid_t pid, const struct hs_mapping *maps, size_t n, uint32_t page_size,
                    struct hs_module **out, size_t *nout);
void modules_free(struct hs_module *m, size_t n);

#endif /* HEAPSNAP_CAPTURE_MODULES_H */
