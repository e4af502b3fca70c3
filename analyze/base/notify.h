/*
 * notify.h — how library code tells the user something without printing
 * it: the progress of long work, warnings and notes go to the one sink the
 * program installed, as SQLite's log goes to SQLITE_CONFIG_LOG's callback.
 * The command line installs a sink that prints to stderr (cli.c); a program
 * that installs none (a test tool, the SQLite extension) hears nothing.
 *
 * The layers below the command line (index/, analysis/, pprof/, elfcore/,
 * db/, ...) call notify_*() and never write to stderr themselves, so that
 * what they say is the caller's to show, log or drop.
 */
#ifndef HEAPSNAP_BASE_NOTIFY_H
#define HEAPSNAP_BASE_NOTIFY_H

#include <stdint.h>

struct notify_sink {
    /* long work: 'done' of 'total' (0 if unknown) units of 'what' */
    void (*progress)(const char *what, uint64_t done, uint64_t total);
    void (*progress_done)(void); /* the work is over: clear the line */
    void (*warn)(const char *msg); /* something the user must know */
    void (*note)(const char *msg); /* what is being done on their behalf */
};

/* Install s (kept by pointer; NULL: say nothing). */
void notify_install(const struct notify_sink *s);

void notify_progress(const char *what, uint64_t done, uint64_t total);
void notify_progress_done(void);
void notify_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void notify_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
