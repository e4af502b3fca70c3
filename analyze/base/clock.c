/*
 * clock.c — wall and CPU seconds, and HEAPSNAP_TIMING phase lines (see
 * clock.h).
 */
#include "base/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double seconds(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double clock_wall_s(void)
{
    return seconds(CLOCK_MONOTONIC);
}

double clock_cpu_s(void)
{
    return seconds(CLOCK_PROCESS_CPUTIME_ID);
}

static int timing_on(void)
{
    static int on = -1;
    if (on < 0) {
        const char *e = getenv("HEAPSNAP_TIMING");
        on = e && *e && strcmp(e, "0");
    }
    return on;
}

void phase_mark(struct phase_clock *pc, const char *label)
{
    double t = clock_wall_s(), c = clock_cpu_s();
    if (label && timing_on())
        fprintf(stderr, "timing: %-22s cpu %7.3f s %8.3f s\n", label, c - pc->cpu, t - pc->last);
    pc->last = t;
    pc->cpu = c;
}
