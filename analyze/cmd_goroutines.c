/*
 * cmd_goroutines.c — `heapsnap goroutines FILE`: a Go program's goroutines
 * grouped by what they run and why they wait, largest group first, the way
 * one looks for a goroutine leak (a thousand goroutines parked on the same
 * channel receive, all started by the same function).
 *
 * It only reads the goroutines table the Go walker stores (heap/go/walker.c,
 * docs/schema.md); a snapshot of a program that is not Go has no such
 * table and is refused with a plain message.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "session.h"
#include "cli.h"
#include "commands.h"

#define GOIDS_SHOWN 10 /* goroutine ids listed per group */

static const char help[] =
    "usage: heapsnap goroutines [options] FILE.hsnap|FILE.db\n"
    "\n"
    "List a Go program's goroutines grouped by start function, state and wait\n"
    "reason (\"chan receive\", \"select\", \"IO wait\", ...), with the function that\n"
    "created them and the count, largest group first.  A goroutine leak shows as\n"
    "a large group of goroutines parked in the same place.  The rows come from\n"
    "the table goroutines (docs/schema.md), filled when the snapshot is indexed.\n"
    "\n"
    "options:\n"
    "  --limit N          show the N largest groups (default all)\n"
    "  --json             one JSON document\n"
    "  --debug-dir DIR    where to look for debug files when indexing a snapshot\n"
    "  -h, --help         this help\n"
    "\n"
    "exit status: 0 success, 1 the file could not be analysed (or is not a Go\n"
    "program), 2 usage\n";

static const char groups_sql[] =
    "SELECT count(*), coalesce(start_func, '?'), status, coalesce(wait_reason, ''),"
    "       coalesce(created_by, '?'), group_concat(goid, ' ')"
    " FROM (SELECT * FROM goroutines ORDER BY goid)"
    " GROUP BY 2, 3, 4, 5 ORDER BY 1 DESC, 2, 3, 4";

static int has_table(sqlite3 *db)
{
    sqlite3_stmt *s;
    int yes = 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'goroutines'", -1, &s,
                           NULL) == SQLITE_OK) {
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
    int rc = args_parse(&a, argc, argv, help, 0, 1, 1);
    if (rc >= 0) {
        args_free(&a);
        return rc;
    }
    const char *file = a.pos[0];
    char err[1024];
    sqlite3 *db = open_snapshot_db(file, &a.dopt, err, sizeof err);
    args_free(&a);
    if (!db) {
        cli_error("%s", err);
        return EXIT_FAIL;
    }
    if (!has_table(db)) {
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
    if (sqlite3_prepare_v2(db, groups_sql, -1, &s, NULL) != SQLITE_OK) {
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
    long shown = 0;
    while (sqlite3_step(s) == SQLITE_ROW && (a.limit <= 0 || shown < a.limit)) {
        long n = sqlite3_column_int64(s, 0);
        const char *start = (const char *)sqlite3_column_text(s, 1);
        const char *status = (const char *)sqlite3_column_text(s, 2);
        const char *wait = (const char *)sqlite3_column_text(s, 3);
        const char *by = (const char *)sqlite3_column_text(s, 4);
        const char *ids = (const char *)sqlite3_column_text(s, 5);
        shown++;
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
            json_end_object(&j);
        } else {
            printf("%7ld  %-10s %-24s %-36s %s\n         goroutines ", n, status ? status : "?",
                   wait && *wait ? wait : "-", start, by);
            print_ids(ids, n);
            printf("\n");
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
