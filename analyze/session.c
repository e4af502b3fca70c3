/*
 * session.c — option parsing and opening shared by the analysis commands
 * (see session.h), so that every one of them takes --json, --limit N,
 * --debug-dir DIR and -h/--help the same way and fails the same way.
 * Opening comes in two halves (the database, then its graph), so that leaks
 * and top can print a stored answer (analysis/answers.c) in between and
 * never load the graph at all.
 */
#include "session.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "cli.h"
#include "options.h"
#include "core/hscore.h"

/* The options every analysis command takes (session.h: struct args). */
enum { A_JSON = 1, A_LIMIT, A_ALL, A_OUTPUT, A_EXE, A_DB, A_DEBUG_DIR };
static const struct option_spec common[] = {
    {"--json", NULL, NULL, A_JSON},
    {"--limit", NULL, "a positive number", A_LIMIT},
    {"--all", NULL, NULL, A_ALL},
    {"--output", "-o", "a file name", A_OUTPUT},
    {"--exe", NULL, "the executable's path", A_EXE},
    {"--db", NULL, "a file name", A_DB},
    {"--debug-dir", NULL, "a directory", A_DEBUG_DIR},
    {0},
};

struct parsing {
    struct args *a;
    unsigned flags;
    option_fn own;
    void *u;
};

static int on_common(void *u, int id, const char *v)
{
    struct parsing *p = u;
    struct args *a = p->a;
    switch (id) {
    case A_JSON: a->json = 1; return -1;
    case A_LIMIT:
        if (options_number(v, 1, 1L << 40, &a->limit))
            return cli_usage_error("--limit takes a positive number");
        return -1;
    case A_ALL:
        if (!(p->flags & ARG_ALL))
            return cli_usage_error("unknown option '--all'");
        a->all = 1;
        return -1;
    case A_OUTPUT:
        if (!(p->flags & ARG_OUTPUT))
            return cli_usage_error("unknown option '-o'");
        a->output = v;
        return -1;
    case A_EXE: hs_core_set_exe(v); return -1;
    case A_DB: a->dopt.db = v; return -1;
    case A_DEBUG_DIR: a->dopt.dbg.debug_dirs[a->dopt.dbg.ndebug_dirs++] = v; return -1;
    }
    return p->own(p->u, id, v);
}

static int parse(struct args *a, int argc, char **argv, const char *help, unsigned flags, int minpos, int maxpos,
                 const struct option_spec *own, option_fn on, void *u)
{
    memset(a, 0, sizeof *a);
    const char **dirs = calloc((size_t)argc + 1, sizeof *dirs);
    if (!dirs) {
        cli_error("out of memory");
        return EXIT_FAIL;
    }
    a->dopt.dbg.debug_dirs = dirs;
    struct parsing p = {a, flags, on, u};
    if (maxpos > ARGS_MAX_POS)
        maxpos = ARGS_MAX_POS;
    int rc = options_parse(argc, argv, help, common, own, on_common, &p, a->pos, maxpos, &a->npos);
    if (rc >= 0)
        return rc;
    if (a->npos < minpos)
        return cli_usage_error(minpos == 1 ? "which snapshot or database?" : "missing arguments");
    return -1;
}

int args_parse_own(struct args *a, int argc, char **argv, const char *help, unsigned flags, int minpos,
                   int maxpos, const struct option_spec *own, option_fn on, void *u)
{
    int rc = parse(a, argc, argv, help, flags, minpos, maxpos, own, on, u);
    if (rc >= 0)
        args_free(a); /* the caller only returns rc */
    return rc;
}

int args_parse(struct args *a, int argc, char **argv, const char *help, unsigned flags, int minpos,
               int maxpos)
{
    return args_parse_own(a, argc, argv, help, flags, minpos, maxpos, NULL, NULL, NULL);
}

int args_parse_addr(struct args *a, int argc, char **argv, const char *help, unsigned flags, uint64_t *addr)
{
    int rc = args_parse(a, argc, argv, help, flags, 2, 2);
    if (rc < 0 && parse_addr(a->pos[1], addr)) {
        rc = cli_usage_error("'%s' is not an address (0x... or decimal)", a->pos[1]);
        args_free(a);
    }
    return rc;
}

/* A Go heap's free memory is no object (heap/go/spans.c): what go_spans
 * says of addr — "a free 48-byte slot of the Go span at 0x...", "a free
 * page run of the Go heap at 0x..." — into buf; 0 if addr is in neither. */
static int go_free_memory(sqlite3 *db, uint64_t addr, char *buf, size_t len)
{
    sqlite3_stmt *st;
    int found = 0;
    if (!db || sqlite3_prepare_v2(db, "SELECT base, npages * 8192, state, ifnull(elemsize, 0), ifnull(sizeclass, 0) "
                                  "FROM go_spans WHERE base <= ?1 ORDER BY base DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(st, 1, (int64_t)addr);
    if (sqlite3_step(st) == SQLITE_ROW) {
        uint64_t base = (uint64_t)sqlite3_column_int64(st, 0), bytes = (uint64_t)sqlite3_column_int64(st, 1);
        const char *state = (const char *)sqlite3_column_text(st, 2);
        uint64_t elem = (uint64_t)sqlite3_column_int64(st, 3);
        if (addr - base < bytes && state && !strcmp(state, "free")) {
            snprintf(buf, len, "a free page run of the Go heap at 0x%" PRIx64 " (%" PRIu64 " bytes)", base, bytes);
            found = 1;
        } else if (addr - base < bytes && state && !strcmp(state, "in-use") && elem) {
            snprintf(buf, len, "a free %" PRIu64 "-byte slot (size class %d) of the Go span at 0x%" PRIx64, elem,
                     sqlite3_column_int(st, 4), base);
            found = 1;
        }
    }
    sqlite3_finalize(st);
    return found;
}

int session_open_at(struct session *s, const struct args *a, unsigned flags, uint64_t addr, uint32_t *obj)
{
    if (session_open(s, a->pos[0], a, flags))
        return -1;
    int64_t found = hgraph_find(&s->h, addr);
    char what[160];
    if (found < 0 && go_free_memory(s->db, addr, what, sizeof what)) {
        cli_error("%s: 0x%" PRIx64 " is in %s: no object, nothing holds it; the memory is the runtime's",
                  a->pos[0], addr, what);
        return -1;
    }
    if (found < 0) {
        cli_error("%s: 0x%" PRIx64 " is not inside any heap object", a->pos[0], addr);
        return -1;
    }
    *obj = (uint32_t)found;
    return 0;
}

void args_free(struct args *a)
{
    free((void *)a->dopt.dbg.debug_dirs);
    a->dopt.dbg.debug_dirs = NULL;
}

/* The first value of a one-column query, or "" (out holds len bytes). */
static void first_text(sqlite3 *db, const char *sql, char *out, size_t len)
{
    sqlite3_stmt *st;
    out[0] = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

/*
 * An analysis of a heap that could not be walked would be an empty answer
 * given as if it were true ("0 leaked objects").  Refuse it, saying why.
 * When the walk met damage but went on, say so once on stderr, so that no
 * figure built on a damaged heap passes silently.
 */
int session_check_heap(sqlite3 *db, const char *file)
{
    char msg[512], count[32];
    first_text(db,
                "SELECT message FROM warnings WHERE message LIKE '%heap could not be walked%'"
                " OR message LIKE 'no known allocator found%' ORDER BY id LIMIT 1",
                msg, sizeof msg);
    if (msg[0]) {
        cli_error("%s: no analysis is possible: %s (heapsnap sql %s 'SELECT * FROM warnings' lists why)", file,
                  msg, file);
        return -1;
    }
    /* an allocator on top of malloc that is not walked (heap/recognise.c) */
    first_text(db, "SELECT message FROM warnings WHERE source = 'heap' ORDER BY id LIMIT 1", msg,
               sizeof msg);
    if (msg[0])
        cli_warn("%s: %s", file, msg);
    first_text(db, "SELECT count(*) FROM warnings WHERE source = (SELECT allocator FROM snapshot)", count,
               sizeof count);
    if (count[0] && strcmp(count, "0") != 0) {
        first_text(db,
                    "SELECT printf('0x%x: %s', addr, message) FROM warnings"
                    " WHERE source = (SELECT allocator FROM snapshot) ORDER BY id LIMIT 1",
                    msg, sizeof msg);
        cli_warn("%s: the heap walk met %s problem(s), first %s; figures cover what could be walked"
                 " (heapsnap sql %s 'SELECT * FROM warnings')",
                 file, count, msg, file);
    }
    return 0;
}

int session_open_db(struct session *s, const char *file, const struct args *a)
{
    char err[A_ERRLEN];
    memset(s, 0, sizeof *s);
    s->t_open = clock_wall_s();
    s->c_open = clock_cpu_s();
    if (!(s->db = open_snapshot_db(file, &a->dopt, err, sizeof err))) {
        cli_error("%s", err);
        return -1;
    }
    if (session_check_heap(s->db, file)) {
        sqlite3_close(s->db);
        s->db = NULL;
        return -1;
    }
    return 0;
}

/* HEAPSNAP_TIMING=1 in the environment: where the time goes, on stderr
 * (bench/analyze and bench/diff read it). */
int session_load(struct session *s, const char *file, unsigned flags)
{
    char err[A_ERRLEN];
    double t0 = s->t_open, c0 = s->c_open;
    /* references wanted for the dominators alone, which are stored: not read
     * (hresults_get reads them if the stored rows prove unusable); stored
     * results are read back beside the load */
    int stored = (flags & SESSION_RESULTS) && hresults_stored(s->db);
    int no_refs = flags & SESSION_NO_REFS || (stored && (flags & (SESSION_REFS_FOR_RESULTS | SESSION_REFS_LATER)));
    unsigned hg = (no_refs ? HG_NO_REFS : 0) | (stored ? HG_READ_RESULTS : 0);
    if (hgraph_load_flags(&s->h, s->db, file, hg, err, sizeof err)) {
        cli_error("%s", err);
        hgraph_free(&s->h);
        return -1;
    }
    s->have_graph = 1;
    if (getenv("HEAPSNAP_TIMING"))
        fprintf(stderr, "heapsnap %s: timing %s: load %.2f s (cpu %.2f; %u nodes, %u edges)\n", cli_command, file,
                clock_wall_s() - t0, clock_cpu_s() - c0, s->h.n, s->h.g.m);
    return flags & SESSION_RESULTS ? session_results(s, file, flags & SESSION_REFS_FOR_RESULTS) : 0;
}

int session_results(struct session *s, const char *file, unsigned flags)
{
    char err[A_ERRLEN];
    double c0 = clock_cpu_s();
    if (hresults_get(&s->r, &s->h, 1, flags & SESSION_REFS_FOR_RESULTS ? HR_REFS_NOT_AFTER : 0, err, sizeof err)) {
        cli_error("%s", err);
        hresults_free(&s->r);
        return -1;
    }
    s->have_results = 1;
    if (getenv("HEAPSNAP_TIMING"))
        fprintf(stderr, "heapsnap %s: timing %s: %s %.2f s, store %.2f s (cpu for both %.2f)\n", cli_command, file,
                s->r.from_db ? "results read back" : "dominators", s->r.seconds, s->r.store_seconds,
                clock_cpu_s() - c0);
    return 0;
}

void session_timing_answer(const struct session *s, const char *file)
{
    if (getenv("HEAPSNAP_TIMING"))
        fprintf(stderr, "heapsnap %s: timing %s: stored answer %.2f s (cpu %.2f)\n", cli_command, file,
                clock_wall_s() - s->t_open, clock_cpu_s() - s->c_open);
}

int session_open(struct session *s, const char *file, const struct args *a, unsigned flags)
{
    if (session_open_db(s, file, a))
        return -1;
    return session_load(s, file, flags);
}

void session_close(struct session *s)
{
    if (s->have_results)
        hresults_free(&s->r);
    if (s->have_graph)
        hgraph_free(&s->h);
    if (s->db)
        sqlite3_close(s->db);
    memset(s, 0, sizeof *s);
}

void out_begin(struct json *j, const struct args *a)
{
    if (a->json)
        json_init(j, stdout, JSON_PRETTY);
}

int out_finish(struct json *j, const struct args *a)
{
    int bad = a->json ? json_finish(j) != 0 : 0;
    if (fflush(stdout) != 0 || bad) {
        cli_error("stdout: write error");
        return EXIT_FAIL;
    }
    return EXIT_OK;
}
