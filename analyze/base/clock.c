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

/* VmHWM and VmRSS of /proc/self/status, in MiB (0 where unreadable). */
static void rss_mib(long *peak, long *now)
{
    char line[128];
    FILE *f = fopen("/proc/self/status", "r");
    *peak = *now = 0;
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        long kb;
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            *peak = kb / 1024;
        else if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            *now = kb / 1024;
    }
    fclose(f);
}

void phase_mark(struct phase_clock *pc, const char *label)
{
    double t = clock_wall_s(), c = clock_cpu_s();
    /* a clock's first mark starts it: there is no phase before to time */
    if (label && pc->last != 0 && timing_on()) {
        long peak, now;
        rss_mib(&peak, &now);
        fprintf(stderr, "timing: %-22s rss %6ld MiB peak %6ld MiB  cpu %7.3f s %8.3f s\n", label, now, peak,
                c - pc->cpu, t - pc->last);
    }
    pc->last = t;
    pc->cpu = c;
}
