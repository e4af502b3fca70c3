/*
 * report.h — the report writer shared by the sample programs that must not
 * allocate while they describe their heap (linked, typed, classes, ...).
 * It compiles as C and as C++ (classes.cpp).
 *
 * A sample tells its test the truth about itself as "KEY value" lines in
 * the file named by argv[1], ending with "ready".  Formatting those lines
 * with stdio would malloc (the FILE and its buffer) and so change the very
 * heap the report describes; so report_line() formats into a static buffer
 * and report_flush() hands it to write(2).
 *
 * Header-only (static state, static inline functions) because the Makefile
 * builds each sample from its one source file; every sample that includes
 * this gets its own buffer.  Define REPORT_BUF_SIZE before including it to
 * change the buffer's size (default 64 KiB).  A line that does not fit in
 * what is left is dropped whole, never cut.
 */
#ifndef HEAPSNAP_SAMPLES_REPORT_H
#define HEAPSNAP_SAMPLES_REPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

#ifndef REPORT_BUF_SIZE
#define REPORT_BUF_SIZE 65536
#endif

static char report_buf[REPORT_BUF_SIZE];
static size_t report_len;

/* Append one formatted piece of the report (the caller writes the '\n'). */
static inline void report_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void report_line(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(report_buf + report_len, sizeof report_buf - report_len, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < sizeof report_buf - report_len)
        report_len += (size_t)n;
}

/* Write everything appended so far to fd and empty the buffer, so a sample
 * may report in several rounds.  0, or -1 if a write fails (the caller
 * decides how to die; the test then sees no "ready"). */
static inline int report_flush(int fd)
{
    size_t off = 0;
    while (off < report_len) {
        ssize_t n = write(fd, report_buf + off, report_len - off);
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    report_len = 0;
    return 0;
}

/* A block a sample allocated: where, the size it asked for, and whether it
 * is still live (0: freed since). */
struct report_block {
    void *p;
    size_t req;
    int live;
};

/* "live ADDR REQ USABLE" for each live block (USABLE from the allocator's
 * own usable_size), and "freed ADDR" for each freed one whose address no
 * live block has taken again: the lines tests/lib.sh's report_truth reads. */
static inline void report_blocks(const struct report_block *b, size_t n, size_t (*usable_size)(void *))
{
    for (size_t i = 0; i < n; i++) {
        if (b[i].live) {
            report_line("live %p %zu %zu\n", b[i].p, b[i].req, usable_size(b[i].p));
            continue;
        }
        int reused = 0;
        for (size_t j = 0; j < n && !reused; j++)
            reused = b[j].live && b[j].p == b[i].p;
        if (!reused)
            report_line("freed %p\n", b[i].p);
    }
}

#endif
