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

#endif
