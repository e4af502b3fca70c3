/*
 * cli.c — shared command-line plumbing for heapsnap's commands: messages,
 * usage errors and the terminal progress line (see cli.h for the contract).
 */
#include "cli.h"

#include "base/notify.h"

#include "core/hscore.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *cli_command = "heapsnap";

static void vmsg(const char *kind, const char *fmt, va_list ap)
{
    cli_progress_done();
    fprintf(stderr, "heapsnap %s: %s", cli_command, kind);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
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

static int progress_shown;
static struct timespec progress_last;

void cli_progress(const char *what, uint64_t done, uint64_t total)
{
    if (!isatty(STDERR_FILENO))
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ms = (now.tv_sec - progress_last.tv_sec) * 1000 + (now.tv_nsec - progress_last.tv_nsec) / 1000000;
    if (progress_shown && ms < 100 && done != total)
        return;
    progress_last = now;
    if (total)
        fprintf(stderr, "\r\033[K%s: %llu/%llu (%.0f%%)", what, (unsigned long long)done,
                (unsigned long long)total, 100.0 * (double)done / (double)total);
    else
        fprintf(stderr, "\r\033[K%s: %llu", what, (unsigned long long)done);
    progress_shown = 1;
}

void cli_progress_done(void)
{
    if (progress_shown) {
        fputs("\r\033[K", stderr);
        progress_shown = 0;
    }
}

/* The command line's sink for what the layers below it say (base/notify.h):
 * the same lines as cli_warn() and cli_progress(). */
static void sink_warn(const char *msg)
{
    cli_warn("%s", msg);
}

static void sink_note(const char *msg)
{
    cli_progress_done();
    fprintf(stderr, "heapsnap %s: %s\n", cli_command, msg);
}

static const struct notify_sink cli_sink = {
    .progress = cli_progress, .progress_done = cli_progress_done, .warn = sink_warn, .note = sink_note};

void cli_install_sink(void)
{
    notify_install(&cli_sink);
}
