/*
 * scrub.h — what heapsnap-capture removes from captured pages before they
 * are written.
 *
 * 1. The environment strings.  The kernel copies the environment onto the
 *    main thread's stack at exec time, at [env_start, env_end) of
 *    /proc/PID/stat.  Capturing the stack would carry every secret passed
 *    in the environment (tokens, passwords) into the file, and the format
 *    promises that the environment is not captured.  So those bytes are
 *    always zeroed in the copy.  What this does not cover: copies the
 *    program made itself (getenv() results duplicated on the heap, a
 *    setenv() that moved the strings to the heap) — those are ordinary
 *    program data, like any other secret in memory; use --redact.
 *    argv lives next to it and is kept: it is in the process section anyway.
 *
 * 2. With --redact, every 8-byte word that is not a pointer into captured
 *    anonymous memory (heap, anonymous mmaps, stacks) is zeroed.  The
 *    object graph survives (that is what the analyses need); strings,
 *    numbers and keys do not.  The same rule applies to every thread's
 *    registers (scrub_registers), and the process's argv, the host name
 *    and the thread names are replaced by SCRUB_REDACTED (capture.c), so
 *    that nothing the program was given or computed survives outside the
 *    pointers.  docs/format.md lists byte by byte what is left.
 */
#ifndef HEAPSNAP_CAPTURE_SCRUB_H
#define HEAPSNAP_CAPTURE_SCRUB_H

#include <stddef.h>
#include <stdint.h>

struct scrub_span {
    uint64_t start, end;
};

struct scrub {
    uint64_t env_start, env_end;  /* 0,0 if unknown */
    int redact;
    const struct scrub_span *targets; /* sorted, for --redact */
    size_t ntargets;
};

/* What a redacted argv, host name and thread name read as. */
#define SCRUB_REDACTED "(redacted)"

/* With --redact, zero every register that does not point into captured
 * anonymous memory (n registers at regs). */
void scrub_registers(const struct scrub *s, uint64_t *regs, size_t n);

/* Apply the scrubbing to one written range: data holds its HS_PAGE_DATA
 * pages packed in address order, as for hs_write_memory(). */
void scrub_range(const struct scrub *s, uint64_t addr, uint64_t npages, uint32_t page_size,
                 const uint8_t *state, uint8_t *data);

#endif /* HEAPSNAP_CAPTURE_SCRUB_H */
