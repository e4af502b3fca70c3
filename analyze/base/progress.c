/*
 * progress.c — the progress line's bookkeeping behind notify_progress() and
 * notify_progress_done() (notify.h): which phase is running, since when,
 * how far through it is, and the estimate of the time left; and a ticker
 * thread that has the sink draw it a few times a second.
 *
 * Why a thread: the phases that matter most are the ones that cannot say
 * how far they are while they run (SQLite building an index, a heap walk
 * that counts what it finds), and a line that only changes when the work
 * reports would sit frozen exactly there.  The ticker redraws from the
 * last figures, so the elapsed time and the estimate keep moving.  Callers
 * only store numbers under a mutex; no caller ever writes to the terminal.
 *
 * A phase is shown only once it has run for a second, and redrawn at most
 * every PROGRESS_TICK_MS.  HEAPSNAP_PROGRESS_DELAY (milliseconds) changes
 * the second, for the tests; 0 also draws every report as it comes, so
 * that what a test sees does not depend on how fast the machine is.  Nothing here runs, no thread
 * is started, unless the installed sink wants progress.
 */
#include "base/notify.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROGRESS_TICK_MS 250

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake;
static int ticker_started, ticker_failed;

/* The phase being shown; all under lock. */
static int active;        /* a phase is running */
static int drawn;         /* the sink has a line on the screen */
static char phase[96];    /* its name */
static uint64_t done_n, total_n;
static double started;    /* when the phase began, monotonic seconds */
static double last_draw;
static double delay_s = 1.0;

/* notify_progress_mute_thread(): this thread says nothing */
static _Thread_local int muted;

void notify_progress_mute_thread(int mute)
{
    muted = mute;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Draw the line if the phase is old enough and the last draw is not too
 * recent; called with lock held. */
static void draw_locked(const struct notify_sink *s, double now)
{
    if (!active || !s || !s->progress || now - started < delay_s)
        return;
    if (drawn && delay_s > 0 && now - last_draw < PROGRESS_TICK_MS / 1000.0)
        return;
    double elapsed = now - started, eta = -1;
    /* The rate over the whole phase: steadier than the last interval's. */
    if (total_n && done_n && done_n <= total_n)
        eta = elapsed * (double)(total_n - done_n) / (double)done_n;
    struct notify_progress_line line = {
        .what = phase, .done = done_n, .total = total_n, .elapsed_s = elapsed, .eta_s = eta};
    s->progress(&line);
    drawn = 1;
    last_draw = now;
}

static void *ticker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (!active)
            pthread_cond_wait(&wake, &lock);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += PROGRESS_TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&wake, &lock, &until);
        draw_locked(notify_current_sink(), now_s());
    }
    return NULL;
}

/* Start the ticker once, the first time there is something to show. */
static void ticker_start_locked(void)
{
    if (ticker_started || ticker_failed)
        return;
    const char *d = getenv("HEAPSNAP_PROGRESS_DELAY");
    if (d && *d) {
        char *end;
        long ms = strtol(d, &end, 10);
        if (!*end && ms >= 0)
            delay_s = (double)ms / 1000.0;
    }
    pthread_condattr_t ca;
    pthread_attr_t ta;
    pthread_t t;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_attr_init(&ta);
    pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
    /* Without the thread the line is still drawn when the work reports. */
    if (pthread_create(&t, &ta, ticker, NULL) == 0)
        ticker_started = 1;
    else
        ticker_failed = 1;
    pthread_attr_destroy(&ta);
}

void notify_progress(const char *what, uint64_t done, uint64_t total)
{
    const struct notify_sink *s = notify_current_sink();
    if (!s || !s->progress || muted)
        return;
    pthread_mutex_lock(&lock);
    ticker_start_locked();
    double now = now_s();
    if (!active || strncmp(what, phase, sizeof phase - 1) != 0) {
        /* A new phase: the old line goes, the clock starts again. */
        if (drawn && s->progress_done)
            s->progress_done();
        snprintf(phase, sizeof phase, "%s", what);
        started = now;
        drawn = 0;
        active = 1;
        if (ticker_started)
            pthread_cond_signal(&wake);
    }
    done_n = done;
    total_n = total;
    draw_locked(s, now);
    pthread_mutex_unlock(&lock);
}

void notify_progress_done(void)
{
    const struct notify_sink *s = notify_current_sink();
    if (muted)
        return;
    pthread_mutex_lock(&lock);
    if (drawn && s && s->progress_done)
        s->progress_done();
    drawn = 0;
    active = 0;
    phase[0] = 0;
    pthread_mutex_unlock(&lock);
}
