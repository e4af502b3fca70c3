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
 * That is the buffered mode.  The others (see choose_mode() in capture.c):
 *   cow       stopped: maps, pagemap, registers, then a fork of a frozen copy
 *             (cow.h); resumed: read the copy, compress, write.  No buffer.
 *   stop-lz4  stopped: copy and LZ4-compress on every CPU (lz4stop.h);
 *             resumed: recompress to zstd, write.  Memory: the LZ4 output.
 *   streamed  buffered or stop-lz4 outgrowing --max-buffer during the stop:
 *             the rest is zstd-compressed and written while stopped.
 * The default is the mode with the shortest pause within the memory limit:
 * cow if a fork is safe, else buffered if the buffer fits, else stop-lz4.
 * The snapshot records the mode and the reason it was chosen.
 */
#ifndef HEAPSNAP_CAPTURE_CAPTURE_H
#define HEAPSNAP_CAPTURE_CAPTURE_H

#include <stdint.h>
#include <sys/types.h>

#include "hsnap.h"

enum capture_mode_req {
    CAPTURE_AUTO = 0, /* the shortest pause within the memory limit */
    CAPTURE_COW,      /* --mode=cow: cow, or say why not and fall back */
    CAPTURE_BUFFER,   /* --mode=buffer: buffered, streamed if it outgrows --max-buffer */
    CAPTURE_STOP,     /* --mode=stop: stop-lz4 */
};

struct capture_opts {
    pid_t pid;
    int mode;             /* enum capture_mode_req */
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
    char reason[512];     /* why that mode, as recorded in the snapshot */
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

#endif /* HEAPSNAP_CAPTURE_CAPTURE_H */
