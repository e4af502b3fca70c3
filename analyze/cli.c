/*
 * cli.c — shared command-line plumbing for heapsnap's commands: messages,
 * usage errors and the terminal progress line (see cli.h for the contract).
 */
#include "cli.h"

#include "base/notify.h"

#include "core/hscore.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *cli_command = "heapsnap";

/*
 * One writer on stderr at a time: the progress line is drawn from
 * base/progress.c's ticker thread too, and a message must clear it and
 * print whole without a redraw landing in the middle.
 */
static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;
static int progress_shown;

static void clear_locked(void)
{
    if (progress_shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        progress_shown = 0;
    }
}

static void vmsg(const char *kind, const char *fmt, va_list ap)
{
    pthread_mutex_lock(&err_lock);
    clear_locked();
    fprintf(stderr, "heapsnap %s: %s", cli_command, kind);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    pthread_mutex_unlock(&err_lock);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg("warning: ", fmt, ap);
    va_end(ap);
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try 'heapsnap %s --help'.\n", cli_command);
    return EXIT_USAGE;
}

/* "< 1 s", "12 s", "3 min 05 s", "1 h 02 min": the ETA and elapsed time. */
static void fmt_seconds(char *buf, size_t len, double s)
{
    unsigned long t = s < 0 ? 0 : (unsigned long)(s + 0.5);
    if (t == 0)
        snprintf(buf, len, "< 1 s");
    else if (t < 60)
        snprintf(buf, len, "%lu s", t);
    else if (t < 3600)
        snprintf(buf, len, "%lu min %02lu s", t / 60, t % 60);
    else
        snprintf(buf, len, "%lu h %02lu min", t / 3600, t / 60 % 60);
}

void cli_progress(const struct notify_progress_line *l)
{
    char t[32], line[256];
    if (l->total) {
        double pct = l->done >= l->total ? 100.0 : 100.0 * (double)l->done / (double)l->total;
        if (l->eta_s >= 0)
            fmt_seconds(t, sizeof t, l->eta_s);
        snprintf(line, sizeof line, "%s: %llu/%llu (%.0f%%), %s%s", l->what,
                 (unsigned long long)l->done, (unsigned long long)l->total, pct,
                 l->eta_s >= 0 ? t : "time left unknown", l->eta_s >= 0 ? " left" : "");
    } else {
        fmt_seconds(t, sizeof t, l->elapsed_s);
        if (l->done)
            snprintf(line, sizeof line, "%s: %llu so far, %s", l->what,
                     (unsigned long long)l->done, t);
        else
            snprintf(line, sizeof line, "%s: %s", l->what, t);
    }
    pthread_mutex_lock(&err_lock);
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
    progress_shown = 1;
    pthread_mutex_unlock(&err_lock);
}

void cli_progress_done(void)
{
    pthread_mutex_lock(&err_lock);
    clear_locked();
    pthread_mutex_unlock(&err_lock);
}

/* The command line's sink for what the layers below it say (base/notify.h):
 * the same lines as cli_warn() and cli_progress(). */
static void sink_warn(const char *msg)
{
    cli_warn("%s", msg);
}

static void sink_note(const char *msg)
{
    pthread_mutex_lock(&err_lock);
    clear_locked();
    fprintf(stderr, "heapsnap %s: %s\n", cli_command, msg);
    pthread_mutex_unlock(&err_lock);
}

/* With the progress line when stderr is a terminal, and without. */
static const struct notify_sink cli_sink = {
    .progress = cli_progress, .progress_done = cli_progress_done, .warn = sink_warn, .note = sink_note};
static const struct notify_sink cli_sink_quiet = {.warn = sink_warn, .note = sink_note};

/* A phase some path forgot to end must not leave its line, or a redraw
 * after the command's last output, on the terminal. */
static void end_progress_at_exit(void)
{
    notify_progress_done();
}

void cli_install_sink(void)
{
    notify_install(isatty(STDERR_FILENO) ? &cli_sink : &cli_sink_quiet);
    atexit(end_progress_at_exit);
}

void cli_progress_off(void)
{
    notify_install(&cli_sink_quiet);
}
