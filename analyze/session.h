/*
 * session.h — the common shape of an analysis command (leaks, explain, top,
 * path, diff, rss): the same options parsed the same way, a database opened
 * for each FILE (snapshot or .db, through open_snapshot_db), the heap graph and
 * its shared results loaded, and everything closed again.  Each cmd_*.c
 * keeps only what is its own: its help text, its printing.
 */
#ifndef HEAPSNAP_SESSION_H
#define HEAPSNAP_SESSION_H

#include "analysis/analysis.h"
#include "db/db.h"
#include "open.h"
#include "options.h"

#define ARGS_MAX_POS 3

/* Options every analysis command accepts, plus the optional ones below. */
struct args {
    const char *pos[ARGS_MAX_POS]; /* positional arguments in order */
    int npos;
    int json;                  /* --json */
    long limit;                /* --limit N (default set by the caller) */
    int all;                   /* --all (if the command takes it) */
    const char *output;        /* -o FILE (if the command takes it) */
    struct open_options dopt;
};

/* The end of every analysis command's option list in its help text. */
#define ARGS_HELP_COMMON                                                                                    \
    "  --json             one JSON document\n"                                                             \
    "  --debug-dir DIR    where to look for debug files when indexing a snapshot\n"                        \
    "  --exe PATH         a core's executable, when it is not where the core says\n"                      \
    "  --db DB            keep the snapshot's index in DB (default: FILE.db beside it)\n"                \
    "  -h, --help         this help\n"

#define ARG_ALL    0x1u  /* the command takes --all */
#define ARG_OUTPUT 0x2u  /* the command takes -o FILE */

/*
 * Parse argv (argv[0] is the command name) into a.  minpos..maxpos
 * positional arguments.  Returns -1 on success (call args_free() when
 * done), else the exit code to return, a already freed (EXIT_OK after
 * printing help, EXIT_USAGE after a usage error).
 */
int args_parse(struct args *a, int argc, char **argv, const char *help, unsigned flags, int minpos,
               int maxpos);
/* The same, with the command's own options beside the shared ones (ids
 * from ARGS_OWN, handed to on; options.h). */
#define ARGS_OWN 100
int args_parse_own(struct args *a, int argc, char **argv, const char *help, unsigned flags, int minpos,
                   int maxpos, const struct option_spec *own, option_fn on, void *u);
/* The same for "FILE ADDR" commands (explain, path): ADDR into addr. */
int args_parse_addr(struct args *a, int argc, char **argv, const char *help, unsigned flags, uint64_t *addr);
void args_free(struct args *a);

/* One opened analysis: database, graph, results. */
struct session {
    sqlite3 *db;
    struct hgraph h;
    struct hresults r;
    int have_graph, have_results;
    double t_open, c_open;     /* wall and cpu clocks when opening began (HEAPSNAP_TIMING) */
};

/* Open file and load its graph; flags: SESSION_RESULTS also gets the
 * shared results, SESSION_NO_REFS skips the references (objects only).
 * 0, or -1 after printing the error. */
#define SESSION_RESULTS 0x1u
#define SESSION_NO_REFS 0x2u
/* The references are wanted for the dominators only (top, diff): they are
 * freed as soon as the computation is done with them, before its largest
 * step, and not read at all when the dominators are stored.  Not for
 * commands that walk the graph after (leaks, explain). */
#define SESSION_REFS_FOR_RESULTS 0x4u
/* The command gets the references it needs itself, after the results
 * (leaks: leaks_load_refs): when the results are stored, none are read
 * with the graph. */
#define SESSION_REFS_LATER 0x8u
int session_open(struct session *s, const char *file, const struct args *a, unsigned flags);
/* session_open() in two halves, for a command that may answer from what
 * the database already holds (answers.c) before loading any graph: open
 * and check the database, then load.  0, or -1 after printing the error
 * (call session_close() either way). */
int session_open_db(struct session *s, const char *file, const struct args *a);
int session_load(struct session *s, const char *file, unsigned flags);
/* The shared results of a session loaded without SESSION_RESULTS, later
 * (diff loads its newest side's objects, matches them, frees the older
 * side, and only then gets dominators: read back if stored, else computed,
 * the references read first if the load left them out); flags:
 * SESSION_REFS_FOR_RESULTS or 0.  0, or -1 after printing the error. */
int session_results(struct session *s, const char *file, unsigned flags);
/* HEAPSNAP_TIMING: the time an answer read back took, on stderr. */
void session_timing_answer(const struct session *s, const char *file);
/* session_open() on a->pos[0], then the object (index) holding addr into
 * obj; 0, or -1 after printing the error (call session_close() either way). */
int session_open_at(struct session *s, const struct args *a, unsigned flags, uint64_t addr, uint32_t *obj);
void session_close(struct session *s);
/* For commands that open their database themselves (rss, types): refuse,
 * printing why, a heap that could not be walked (0), else -1; warn once of
 * a walk that met damage.  session_open() does this itself. */
int session_check_heap(sqlite3 *db, const char *file);

/* Begin the --json document (pretty) or nothing; and finish it. */
void out_begin(struct json *j, const struct args *a);
/* Flush stdout and check for write errors; returns the exit code. */
int out_finish(struct json *j, const struct args *a);

#endif
