/*
 * session.c — option parsing and opening shared by the analysis commands
 * (see session.h), so that every one of them takes --json, --limit N,
 * --debug-dir DIR and -h/--help the same way and fails the same way.
 */
#include "session.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "cli.h"
#include "core/hscore.h"

static int parse(struct args *a, int argc, char **argv, const char *help, unsigned flags, int minpos, int maxpos)
{
    memset(a, 0, sizeof *a);
    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return EXIT_OK;
    }
    const char **dirs = calloc((size_t)argc + 1, sizeof *dirs);
    if (!dirs) {
        cli_error("out of memory");
        return EXIT_FAIL;
    }
    a->dopt.dbg.debug_dirs = dirs;
    int opts = 1;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (opts && !strcmp(s, "--")) {
            opts = 0;
        } else if (opts && !strcmp(s, "--json")) {
            a->json = 1;
        } else if (opts && !strcmp(s, "--limit")) {
            char *end;
            if (i + 1 >= argc || (a->limit = strtol(argv[i + 1], &end, 10)) <= 0 || *end)
                return cli_usage_error("--limit takes a positive number");
            i++;
        } else if (opts && !strcmp(s, "--all") && (flags & ARG_ALL)) {
            a->all = 1;
        } else if (opts && !strcmp(s, "-o") && (flags & ARG_OUTPUT)) {
            if (i + 1 >= argc)
                return cli_usage_error("-o takes a file name");
            a->output = argv[++i];
        } else if (opts && !strcmp(s, "--exe")) {
            if (i + 1 >= argc)
                return cli_usage_error("--exe takes the executable's path");
            hs_core_set_exe(argv[++i]);
        } else if (opts && !strcmp(s, "--db")) {
            if (i + 1 >= argc)
                return cli_usage_error("--db takes a file name");
            a->dopt.db = argv[++i];
        } else if (opts && !strcmp(s, "--debug-dir")) {
            if (i + 1 >= argc)
                return cli_usage_error("--debug-dir takes a directory");
            dirs[a->dopt.dbg.ndebug_dirs++] = argv[++i];
        } else if (opts && s[0] == '-' && s[1]) {
            return cli_usage_error("unknown option '%s'", s);
        } else if (a->npos < maxpos) {
            a->pos[a->npos++] = s;
        } else {
            return cli_usage_error("too many arguments ('%s')", s);
        }
    }
    if (a->npos < minpos)
        return cli_usage_error(minpos == 1 ? "which snapshot or database?" : "missing arguments");
    return -1;
}

int args_parse(struct args *a, int argc, char **argv, const char *help, unsigned flags, int minpos,
               int maxpos)
{
    int rc = parse(a, argc, argv, help, flags, minpos, maxpos);
    if (rc >= 0)
        args_free(a); /* the caller only returns rc */
    return rc;
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

/* HEAPSNAP_TIMING=1 in the environment: where the time goes, on stderr
 * (bench/analyze reads it). */
int session_open(struct session *s, const char *file, const struct args *a, unsigned flags)
{
    char err[A_ERRLEN];
    double t0 = clock_wall_s(), c0 = clock_cpu_s();
    memset(s, 0, sizeof *s);
    if (!(s->db = open_snapshot_db(file, &a->dopt, err, sizeof err))) {
        cli_error("%s", err);
        return -1;
    }
    if (session_check_heap(s->db, file)) {
        sqlite3_close(s->db);
        s->db = NULL;
        return -1;
    }
    if (hgraph_load_flags(&s->h, s->db, file, flags & SESSION_NO_REFS ? HG_NO_REFS : 0, err, sizeof err)) {
        cli_error("%s", err);
        hgraph_free(&s->h);
        return -1;
    }
    s->have_graph = 1;
    double t1 = clock_wall_s(), c1 = clock_cpu_s();
    if (flags & SESSION_RESULTS) {
        if (hresults_get(&s->r, &s->h, 1, err, sizeof err)) {
            cli_error("%s", err);
            hresults_free(&s->r);
            return -1;
        }
        s->have_results = 1;
    }
    if (getenv("HEAPSNAP_TIMING"))
        fprintf(stderr, "heapsnap %s: timing %s: load %.2f s (cpu %.2f; %u nodes, %u edges)%s%.2f s, store %.2f s"
                " (cpu for both %.2f)\n",
                cli_command, file, t1 - t0, c1 - c0, s->h.n, s->h.g.m,
                !s->have_results ? ", no results " : s->r.from_db ? ", results read back " : ", dominators ",
                s->have_results ? s->r.seconds : 0.0, s->have_results ? s->r.store_seconds : 0.0, clock_cpu_s() - c1);
    return 0;
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
