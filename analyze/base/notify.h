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

/* What the progress line says (progress.c works it out). */
struct notify_progress_line {
    const char *what;  /* the phase */
    uint64_t done;     /* how far through, in its own units */
    uint64_t total;    /* of how many; 0 if not known */
    double elapsed_s;  /* since the phase began */
    double eta_s;      /* the time left, or < 0 if it cannot be told */
};

struct notify_sink {
    /*
     * Long work: draw this line in place of the last one.  Called from
     * progress.c's ticker thread as well as from the working thread, never
     * two at once, never after progress_done() until a new phase begins.
     * NULL: the program wants no progress (stderr is no terminal, --quiet),
     * and no ticker runs.
     */
    void (*progress)(const struct notify_progress_line *line);
    void (*progress_done)(void); /* the work is over: clear the line */
    void (*warn)(const char *msg); /* something the user must know */
    void (*note)(const char *msg); /* what is being done on their behalf */
};

/* Install s (kept by pointer; NULL: say nothing), and the one installed. */
void notify_install(const struct notify_sink *s);
const struct notify_sink *notify_current_sink(void);

/*
 * The progress of a phase of long work (progress.c): 'done' of 'total' (0
 * if unknown) units of 'what'.  A call with a 'what' other than the last
 * one's begins a new phase; call it at the start of a phase (done 0) and
 * then as often as is cheap (every few thousand items: it takes a mutex,
 * and never writes).  The sink is asked to draw once the phase has run a
 * second, a few times a second, with an estimate of the time left from the
 * rate so far; notify_progress_done() ends the phase and clears the line.
 * Safe from any thread.
 */
void notify_progress(const char *what, uint64_t done, uint64_t total);
void notify_progress_done(void);
/* From now on, progress from the calling thread is dropped (mute 1) or
 * said again (0): a thread that works beside the one whose phase the line
 * shows would otherwise start a phase of its own at each report, and end
 * the other's with its progress_done. */
void notify_progress_mute_thread(int mute);
void notify_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void notify_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
