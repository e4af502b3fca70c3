/*
 * capture.h — one capture of one process, from the first look at /proc to
 * the last byte handed to the writer.  main.c deals with the command line,
 * the output file and the wording of errors; this is the sequence:
 *
 *   before the stop  read smaps to estimate the resident size; allocate and
 *                    pre-fault the copy buffer; read cmdline, auxv, exe
 *   stopped          re-read maps (the truth), read pagemap, copy the
 *                    resident pages with process_vm_readv, read registers
 *   resumed          re-read smaps for its figures, collect module
 *                    build-ids, scrub, compress, write
 *
 * If the resident memory would not fit in --max-buffer, the pages are
 * compressed and written while the target is stopped (HS_MODE_STREAMED):
 * a longer pause, but bounded memory.
 */
#ifndef CAPTURE_CAPTURE_H
#define CAPTURE_CAPTURE_H

#include <stdint.h>
#include <sys/types.h>

#include "hsnap.h"

struct capture_opts {
    pid_t pid;
    int policy;           /* enum hs_policy */
    uint64_t max_buffer;  /* bytes */
    double timeout_s;     /* bound on stopping every thread */
    int redact;
    int quiet;
    int verbose;          /* -v: the time of each phase on stderr */
    int with_binaries;    /* --with-binaries: carry the executable and debug files (binaries.h) */
};

struct capture_result {
    uint32_t threads;
    uint32_t mode;        /* enum hs_capture_mode */
    uint64_t bytes_read;
    uint64_t pause_ns, total_ns;
    uint32_t files;       /* --with-binaries: files carried, their bytes, and what they cost */
    uint64_t file_bytes, file_stored;
    pid_t denied_tid;     /* on EPERM: the thread PTRACE_SEIZE was refused, or 0 */
};

/*
 * Capture opts->pid into w.  Returns 0, or -1 with a one-line message in err
 * and errno saying what kind of failure it was: EACCES/EPERM (not allowed),
 * ESRCH (no such process, or it exited during the capture), ETIMEDOUT (a
 * thread would not stop), anything else (our own trouble, e.g. writing).
 * Whatever happens, the target is left running (detached) on return.
 */
int capture_run(const struct capture_opts *opts, struct hs_writer *w, struct capture_result *res, char *err,
                size_t errlen);

#endif /* CAPTURE_CAPTURE_H */
