/*
 * cmd_goroutines.c — `heapsnap goroutines FILE`: a Go program's goroutines
 * grouped by stack, as pprof's goroutine profile (debug=1) groups them, and
 * by what they run and why they wait, largest group first, the way one
 * looks for a goroutine leak (a thousand goroutines parked on the same
 * channel receive, all started by the same function).  Each group shows
 * its stack as function and file:line, innermost first, inlined calls as
 * frames of their own; like pprof, the runtime's frames above the first
 * frame of the program (runtime.gopark, runtime.chanrecv, ...) and
 * runtime.goexit are left out unless --all asks for them.
 *
 * It only reads the goroutines and go_frames tables the Go walker stores
 * (heap/go/walker.c, go/frames.c, docs/schema.md); a snapshot of a program
 * that is not Go has no such table and is refused with a plain message.
 * A database indexed before go_frames existed is grouped without stacks.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "cli.h"
#include "commands.h"

#define GOIDS_SHOWN 10 /* goroutine ids listed per group */

static const char help[] =
    "usage: heapsnap goroutines [options] FILE.hsnap|FILE.db\n"
    "\n"
    "List a Go program's goroutines grouped by stack (as pprof's goroutine\n"
    "profile with debug=1 does), start function, state and wait reason (\"chan\n"
    "receive\", \"select\", \"IO wait\", ...), with the function that created them\n"
    "and the count, largest group first; under each group its stack, innermost\n"
    "frame first, as function and file:line (inlined calls are frames of their\n"
    "own).  A goroutine leak shows as a large group of goroutines parked in the\n"
    "same place.  The rows come from the tables goroutines and go_frames\n"
    "(docs/schema.md), filled when the snapshot is indexed.\n"
    "\n"
    "options:\n"
    "  --limit N          show the N largest groups (default all)\n"
    "  --all              every frame: also the runtime's own above the program's\n"
    "                     first (runtime.gopark, ...) and runtime.goexit\n"
    "  --json             one JSON document\n"
    "  --debug-dir DIR    where to look for debug files when indexing a snapshot\n"
    "  -h, --help         this help\n"
    "\n"
    "exit status: 0 success, 1 the file could not be analysed (or is not a Go\n"
    "program), 2 usage\n";

static const char groups_sql[] =
    "SELECT count(*), coalesce(start_func, '?'), status, coalesce(wait_reason, ''),"
    "       coalesce(created_by, '?'), group_concat(goid, ' '), ''"
    " FROM (SELECT * FROM goroutines ORDER BY goid)"
    " GROUP BY 2, 3, 4, 5 ORDER BY 1 DESC, 2, 3, 4";

/* The same, one group per stack too: a goroutine's stack is its frames'
 * "func TAB file TAB line" lines, innermost first. */
static const char stack_groups_sql[] =
    "WITH st AS (SELECT goid, group_concat(func || char(9) || coalesce(file, '') || char(9) ||"
    "                                      coalesce(line, 0), char(10)) AS stack"
    "            FROM (SELECT * FROM go_frames ORDER BY goid, depth) GROUP BY goid)"
    " SELECT count(*), coalesce(start_func, '?'), status, coalesce(wait_reason, ''),"
    "        coalesce(created_by, '?'), group_concat(goid, ' '), coalesce(st.stack, '')"
    " FROM (SELECT * FROM goroutines ORDER BY goid) LEFT JOIN st USING (goid)"
    " GROUP BY 7, 2, 3, 4, 5 ORDER BY 1 DESC, 2, 3, 4, 7";

/* Whether frame func is one pprof's debug=1 listing shows: not
 * runtime.goexit, and not one of the runtime's own frames before the
 * program's first (printStackRecord). */
static int shown(const char *func, size_t n, int *seen_program, int all)
{
    if (all)
        return 1;
    if (n == 14 && !strncmp(func, "runtime.goexit", 14))
        return 0;
    if (!*seen_program && ((n > 8 && !strncmp(func, "runtime.", 8)) ||
                           (n > 17 && !strncmp(func, "internal/runtime/", 17))))
        return 0;
    *seen_program = 1;
    return 1;
}

/* Each frame of stack (stack_groups_sql's lines) that is shown, as text
 * or as JSON objects {func, file, line}. */
static void each_frame(const char *stack, int all, struct json *j)
{
    int seen = 0;
    for (const char *p = stack; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *t1 = memchr(p, '\t', n), *t2 = t1 ? memchr(t1 + 1, '\t', n - (size_t)(t1 + 1 - p)) : NULL;
        if (t1 && t2 && shown(p, (size_t)(t1 - p), &seen, all)) {
            int fn = (int)(t1 - p), fl = (int)(t2 - t1 - 1), ln = (int)(n - (size_t)(t2 + 1 - p));
            long line = strtol(t2 + 1, NULL, 10);
            if (j) {
                char func[256], file[512];
                snprintf(func, sizeof func, "%.*s", fn, p);
                snprintf(file, sizeof file, "%.*s", fl, t1 + 1);
                json_begin_object(j);
                json_kv_string(j, "func", func);
                if (fl)
                    json_kv_string(j, "file", file);
                else
                    json_kv_null(j, "file");
                if (line > 0)
                    json_kv_int(j, "line", line);
                else
                    json_kv_null(j, "line");
                json_end_object(j);
            } else if (fl) {
                printf("         %.*s  %.*s:%.*s\n", fn, p, fl, t1 + 1, ln, t2 + 1);
            } else {
                printf("         %.*s\n", fn, p);
            }
        }
        p = e ? e + 1 : p + n;
    }
}

static int has_table(sqlite3 *db, const char *name)
{
    sqlite3_stmt *s;
    int yes = 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", -1, &s, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        yes = sqlite3_step(s) == SQLITE_ROW;
        sqlite3_finalize(s);
    }
    return yes;
}

/* The first n ids of a space-separated list, "... (N more)" after. */
static void print_ids(const char *ids, long count)
{
    const char *p = ids ? ids : "";
    for (int k = 0; k < GOIDS_SHOWN && *p; k++) {
        const char *e = strchr(p, ' ');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        printf("%s%.*s", k ? " " : "", (int)n, p);
        p = e ? e + 1 : p + n;
    }
    if (count > GOIDS_SHOWN)
        printf(" ... (%ld more)", count - GOIDS_SHOWN);
}

int cmd_goroutines(int argc, char **argv)
{
    struct args a;
    int rc = args_parse(&a, argc, argv, help, ARG_ALL, 1, 1);
    if (rc >= 0) {
        args_free(&a);
        return rc;
    }
    const char *file = a.pos[0];
    char err[1024];
    sqlite3 *db = open_snapshot_db(file, &a.dopt, err, sizeof err);
    int all = a.all;
    args_free(&a);
    if (!db) {
        cli_error("%s", err);
        return EXIT_FAIL;
    }
    if (!has_table(db, "goroutines")) {
        cli_error("%s: no goroutines: not a Go program (or its Go heap could not be walked; see the warnings "
                  "table)", file);
        sqlite3_close(db);
        return EXIT_FAIL;
    }
    sqlite3_stmt *s;
    long total = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM goroutines", -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            total = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
    }
    const char *sql = has_table(db, "go_frames") ? stack_groups_sql : groups_sql;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
        cli_error("%s: reading goroutines: %s", file, sqlite3_errmsg(db));
        sqlite3_close(db);
        return EXIT_FAIL;
    }
    struct json j;
    out_begin(&j, &a);
    if (a.json) {
        json_begin_object(&j);
        json_kv_string(&j, "file", file);
        json_kv_int(&j, "goroutines", total);
        json_key(&j, "groups");
        json_begin_array(&j);
    } else {
        printf("%ld goroutines\n\n%7s  %-10s %-24s %-36s %s\n", total, "count", "state", "wait reason",
               "start function", "created by");
    }
    long nshown = 0;
    while (sqlite3_step(s) == SQLITE_ROW && (a.limit <= 0 || nshown < a.limit)) {
        long n = sqlite3_column_int64(s, 0);
        const char *start = (const char *)sqlite3_column_text(s, 1);
        const char *status = (const char *)sqlite3_column_text(s, 2);
        const char *wait = (const char *)sqlite3_column_text(s, 3);
        const char *by = (const char *)sqlite3_column_text(s, 4);
        const char *ids = (const char *)sqlite3_column_text(s, 5);
        const char *stack = (const char *)sqlite3_column_text(s, 6);
        nshown++;
        if (a.json) {
            json_begin_object(&j);
            json_kv_int(&j, "count", n);
            json_kv_string(&j, "start_func", start);
            json_kv_string(&j, "status", status);
            if (wait && *wait)
                json_kv_string(&j, "wait_reason", wait);
            else
                json_kv_null(&j, "wait_reason");
            json_kv_string(&j, "created_by", by);
            json_key(&j, "goids");
            json_begin_array(&j);
            for (const char *p = ids ? ids : ""; *p;) {
                int64_t id = 0;
                while (*p >= '0' && *p <= '9')
                    id = id * 10 + (*p++ - '0');
                json_int(&j, id);
                while (*p == ' ')
                    p++;
                if (*p && (*p < '0' || *p > '9'))
                    break;
            }
            json_end_array(&j);
            json_key(&j, "frames");
            json_begin_array(&j);
            each_frame(stack, all, &j);
            json_end_array(&j);
            json_end_object(&j);
        } else {
            printf("%7ld  %-10s %-24s %-36s %s\n         goroutines ", n, status ? status : "?",
                   wait && *wait ? wait : "-", start, by);
            print_ids(ids, n);
            printf("\n");
            each_frame(stack, all, NULL);
        }
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    if (a.json) {
        json_end_array(&j);
        json_end_object(&j);
    }
    return out_finish(&j, &a);
}
