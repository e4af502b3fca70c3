/*
 * cmd_types.c — `heapsnap types FILE`: the live heap by type — how many
 * objects and bytes of each type, untyped objects grouped by size as
 * "[48 bytes]", and how much of the heap the types explain.  A thin
 * reader of the type_histogram view (types/store.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "cli.h"
#include "base/units.h"
#include "commands.h"
#include "db/db.h"
#include "open.h"
#include "base/json.h"

static const char help[] =
    "usage: heapsnap types [options] FILE.hsnap|FILE.db\n"
    "\n"
    "The live heap by type: count and bytes of each type (arrays under their\n"
    "element type), untyped objects grouped by size as \"[48 bytes]\", largest\n"
    "first, and the share of objects and bytes whose type is known.  Types\n"
    "come from DWARF (through typed globals and pointers) and C++ vtables;\n"
    "'heapsnap show FILE ADDR' shows one object's fields.\n"
    "\n"
    "options:\n"
    "  --json             one JSON document\n"
    "  --limit N          at most N rows (default 50; 0 for all)\n"
    "  --typed            only typed rows\n"
    "  --debug-dir DIR    where to look for debug files when indexing a snapshot\n"
    "  --db DB            keep the snapshot's index in DB (default: FILE.db beside it)\n"
    "  -h, --help         this help\n"
    "\n"
    "exit status: 0 shown, 1 the file could not be read, 2 usage\n";

static int64_t scalar(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static double pct(uint64_t a, uint64_t b)
{
    return b ? 100.0 * (double)a / (double)b : 0.0;
}

/* types' own options: --typed, and --limit N that may be 0 (all) */
enum { T_TYPED = ARGS_OWN, T_LIMIT };
struct types_opts {
    int typed_only;
    long limit;
};

static int on_types_option(void *u, int id, const char *v)
{
    struct types_opts *o = u;
    if (id == T_TYPED)
        o->typed_only = 1;
    else if (options_number(v, 0, 1L << 40, &o->limit))
        return cli_usage_error("--limit wants a number >= 0, not '%s'", v);
    return -1;
}

/* The table of types in file, once the options are read. */
static int types_run(const char *file, struct open_options *dopt, int json, int typed_only, long limit)
{
    dopt->quiet = 1;
    char err[1024];
    sqlite3 *db = open_snapshot_db(file, dopt, err, sizeof err);
    if (!db) {
        cli_error("%s", err);
        return EXIT_FAIL;
    }
    if (session_check_heap(db, file)) {
        sqlite3_close(db);
        return EXIT_FAIL;
    }
    int rc = EXIT_FAIL;
    sqlite3_stmt *s = NULL;
    /* used objects as docs/schema.md defines them: the allocator's own apart */
#define USED "state = 'used' AND \"where\" IS NOT 'malloc-internal'"
    int64_t n = scalar(db, "SELECT count(*) FROM objects WHERE " USED);
    int64_t bytes = scalar(db, "SELECT ifnull(sum(size), 0) FROM objects WHERE " USED);
    int64_t tn = scalar(db, "SELECT count(*) FROM objects WHERE " USED " AND type_id IS NOT NULL");
    int64_t tb = scalar(db, "SELECT ifnull(sum(size), 0) FROM objects WHERE " USED " AND type_id IS NOT NULL");
#undef USED
    int64_t conflicts = scalar(db, "SELECT ifnull(type_conflicts, 0) FROM snapshot");
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT h.type, h.type_id, t.kind, h.count, h.bytes, h.elements FROM type_histogram h"
             " LEFT JOIN types t ON t.id = h.type_id %s ORDER BY h.bytes DESC, h.count DESC, h.type%s",
             typed_only ? "WHERE h.type_id IS NOT NULL" : "", limit ? " LIMIT ?1" : "");
    if (n < 0 || tn < 0 || sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
        cli_error("%s: no type tables (%s); index it again with this heapsnap", file, sqlite3_errmsg(db));
        goto out;
    }
    if (limit)
        sqlite3_bind_int64(s, 1, limit);
    struct json j;
    if (json) {
        json_init(&j, stdout, JSON_PRETTY);
        json_begin_object(&j);
        json_kv_string(&j, "file", file);
        json_kv_int(&j, "objects", n);
        json_kv_int(&j, "bytes", bytes);
        json_kv_int(&j, "typed_objects", tn);
        json_kv_int(&j, "typed_bytes", tb);
        json_kv_double(&j, "typed_objects_percent", pct((uint64_t)tn, (uint64_t)n));
        json_kv_double(&j, "typed_bytes_percent", pct((uint64_t)tb, (uint64_t)bytes));
        json_kv_int(&j, "type_conflicts", conflicts);
        json_key(&j, "types");
        json_begin_array(&j);
    } else {
        char b1[32], b2[32];
        printf("typed: %" PRId64 " of %" PRId64 " live objects (%.1f%%), %s of %s (%.1f%%); %" PRId64
               " type conflicts%s\n\n",
               tn, n, pct((uint64_t)tn, (uint64_t)n), units_bytes(b1, sizeof b1, (uint64_t)tb),
               units_bytes(b2, sizeof b2, (uint64_t)bytes), pct((uint64_t)tb, (uint64_t)bytes), conflicts,
               conflicts ? " (objects two typing sources gave different types; the stronger source's "
                           "type is shown: docs/schema.md, Conflicts)"
                         : "");
        printf("%10s %14s %7s  %s\n", "count", "bytes", "share", "type");
    }
    int r;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(s, 0);
        int typed = sqlite3_column_type(s, 1) != SQLITE_NULL;
        const char *kind = (const char *)sqlite3_column_text(s, 2);
        int64_t c = sqlite3_column_int64(s, 3), b = sqlite3_column_int64(s, 4), e = sqlite3_column_int64(s, 5);
        if (json) {
            json_begin_object(&j);
            json_kv_string(&j, "type", name);
            if (typed)
                json_kv_int(&j, "type_id", sqlite3_column_int64(s, 1));
            else
                json_kv_null(&j, "type_id");
            json_kv_string(&j, "kind", typed ? kind : NULL);
            json_kv_int(&j, "count", c);
            if (typed)
                json_kv_int(&j, "elements", e);
            json_kv_int(&j, "bytes", b);
            json_kv_double(&j, "percent", pct((uint64_t)b, (uint64_t)bytes));
            json_end_object(&j);
        } else {
            printf("%10" PRId64 " %14" PRId64 " %6.1f%%  %s", c, b, pct((uint64_t)b, (uint64_t)bytes),
                   name ? name : "?");
            if (typed && e > c)
                printf("  (%" PRId64 " elements)", e);
            printf("\n");
        }
    }
    if (r != SQLITE_DONE) {
        cli_error("%s: %s", file, sqlite3_errmsg(db));
        goto out;
    }
    if (json) {
        json_end_array(&j);
        json_end_object(&j);
        if (json_finish(&j)) {
            cli_error("stdout: write error");
            goto out;
        }
    }
    rc = EXIT_OK;
out:
    sqlite3_finalize(s);
    sqlite3_close(db);
    return rc;
}

int cmd_types(int argc, char **argv)
{
    static const struct option_spec own[] = {
        {"--typed", NULL, NULL, T_TYPED}, {"--limit", NULL, "a number >= 0", T_LIMIT}, {0}};
    struct types_opts o = {0, 50};
    struct args a;
    int rc = args_parse_own(&a, argc, argv, help, 0, 1, 1, own, on_types_option, &o);
    if (rc >= 0)
        return rc;
    rc = types_run(a.pos[0], &a.dopt, a.json, o.typed_only, o.limit);
    args_free(&a);
    return rc;
}
