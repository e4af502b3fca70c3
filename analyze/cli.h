/*
 * cli.h — what every heapsnap command shares: exit codes, error messages,
 * --help handling and the progress line.
 *
 * Conventions (the same for every command):
 *   exit 0   success
 *   exit 1   the input is bad or the work failed (the message says which file and why)
 *   exit 2   the command line is wrong (the message says how to get --help)
 * Errors go to stderr as "heapsnap CMD: FILE: what is wrong".  Results go to
 * stdout, as text or, with --json, as one JSON document.
 */
#ifndef HEAPSNAP_CLI_H
#define HEAPSNAP_CLI_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "base/notify.h"

#define EXIT_OK    0
#define EXIT_FAIL  1
#define EXIT_USAGE 2

/* One subcommand: `heapsnap NAME ...` calls fn(argc, argv) with argv[0] = NAME. */
struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary; /* one line for `heapsnap --help` */
};

/* The name of the running command, for messages ("info", "index", ...). */
extern const char *cli_command;

/* Print "heapsnap CMD: message" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* For a usage error: print the message and a pointer to --help; returns EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The progress line on stderr (base/notify.h decides when and what; this
 * draws it): "PHASE: DONE/TOTAL (P%), T left", or the time so far where
 * the total is not known, rewritten in place with \r.  Only when stderr
 * is a terminal and cli_progress_off() was not called; cli_progress_done()
 * clears it, and every message above clears it before it prints.
 */
void cli_progress(const struct notify_progress_line *line);
void cli_progress_done(void);

/* Send what the library layers say (base/notify.h) to stderr, as the
 * messages above: main() calls it once. */
void cli_install_sink(void);

/* No progress line from here on (--quiet). */
void cli_progress_off(void);


#endif
