/*
 * clock.h — the analyzer's one way to tell the time: wall and CPU seconds,
 * and the HEAPSNAP_TIMING phase lines the benchmarks read.
 *
 * With HEAPSNAP_TIMING set (and not "0"), each phase_mark() but a clock's
 * first prints "timing: LABEL  rss RSS MiB peak PEAK MiB  cpu CPU s
 * SECONDS s" on stderr: the process's RSS at the mark and its peak so far
 * (VmRSS, VmHWM), the CPU seconds (of the whole process, every thread) and
 * the wall seconds since the previous mark on the same clock; bench/index
 * and bench/go-index print those lines, and bench/types reads the wall
 * seconds as the next-to-last field.
 * Without it, phase_mark() prints nothing and costs one clock read.
 */
#ifndef HEAPSNAP_BASE_CLOCK_H
#define HEAPSNAP_BASE_CLOCK_H

/* Monotonic wall-clock seconds, and this process's CPU seconds. */
double clock_wall_s(void);
double clock_cpu_s(void);

struct phase_clock {
    double last, cpu;
};

/* Start the clock (label NULL), or end a phase: print its line when timing
 * is on, and start the next. */
void phase_mark(struct phase_clock *pc, const char *label);

#endif
