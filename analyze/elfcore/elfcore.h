/*
 * elfcore.h — turn a snapshot into a standard x86_64 ELF core file (ET_CORE),
 * so that gdb, and every other tool that reads Linux cores, can open a
 * heapsnap capture: `gdb EXE core` prints globals and heap data, and
 * `thread apply all bt` unwinds every thread.
 *
 * What goes into the core, and why:
 *  - PT_NOTE, first, in the order the Linux kernel writes them:
 *    for the first thread NT_PRSTATUS, then NT_PRPSINFO, NT_AUXV, NT_FILE;
 *    then NT_PRSTATUS for each other thread.  gdb makes the thread of the
 *    first NT_PRSTATUS its current thread.  NT_AUXV lets gdb relocate a PIE
 *    executable (AT_ENTRY, AT_PHDR) and find the dynamic linker (AT_BASE);
 *    NT_FILE lets it read the unchanged parts of mapped files from disk.
 *    No NT_FPREGSET: the snapshot holds no FP/SSE state, and gdb shows the
 *    registers as unavailable rather than as invented zeros.
 *  - PT_LOAD per piece of every mapping: captured memory with its bytes,
 *    and the parts that were not captured with p_filesz 0, so that gdb
 *    knows the address is mapped and reads file-backed ones from the file.
 *  - gdb finds the shared libraries through the dynamic linker's r_debug,
 *    located by the DT_DEBUG entry of the executable's .dynamic in memory.
 *    .dynamic lives in the RELRO region, which is read-only at run time and
 *    so is not captured by the default policy; then the file on disk would
 *    show DT_DEBUG = 0.  In that case (only), the writer reconstructs the
 *    .dynamic contents: the executable's own from disk, with DT_DEBUG set to
 *    the address of _r_debug from the dynamic linker's symbol table, and
 *    writes just those bytes as one more PT_LOAD.  Both files are matched by
 *    build-id; if they do not match, the core is written without it and a
 *    warning says that gdb will not list the shared libraries.
 *
 * Pages that were not stored (zero, absent, swapped, unreadable) read as
 * zeros.  On a regular file they are left as holes (the file is sparse).
 */
#ifndef HEAPSNAP_ELFCORE_ELFCORE_H
#define HEAPSNAP_ELFCORE_ELFCORE_H

#include "hsnap.h"

struct core_options {
    int first_tid;  /* the thread gdb shows first; 0 = the main thread (tid == pid) */
    int no_dtdebug; /* never reconstruct .dynamic (see above) */
};

/*
 * Write the core of s to fd.  outname names fd in messages.  fd may be a
 * pipe: then nothing is seeked and holes are written as zeros.  Warnings
 * (what gdb will lack) are said through base/notify.h (notify_warn).  Returns 0, or -1 with
 * err->msg saying what went wrong ("OUT: write: No space left on device").
 */
int core_write(const struct hs_snapshot *s, const struct core_options *opt, int fd,
               const char *outname, struct hs_error *err);

#endif
