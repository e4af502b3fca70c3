/*
 * analysis.c — the `analysis` table (reachability, immediate dominators and
 * retained sizes: docs/schema.md, "Analysis tables") and the
 * `analysis_done` record of which steps a database holds the answers of.
 *
 * Two writers share them: the indexer, which works the dominator tree out
 * while it loads the references and stores it in the same transaction, and
 * the analyses (analysis/results.c), for a database the index did not
 * analyse.  So the table's shape and its row feed are kept here, below
 * both; each caller brings its own transaction.
 */
#include "db/db.h"

#include <stdio.h>

#include "base/notify.h"
#include "graph/graph.h"

int db_step_done(sqlite3 *db, const char *step)
{
    sqlite3_stmt *s;
    int done = 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM analysis_done WHERE step = ?", -1, &s, NULL) != SQLITE_OK)
        return 0; /* no such table yet */
    sqlite3_bind_text(s, 1, step, -1, SQLITE_STATIC);
    done = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_finalize(s);
    return done;
}

int db_step_mark(sqlite3 *db, const char *step, double seconds)
{
    sqlite3_stmt *s;
    if (sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS analysis_done(step TEXT PRIMARY KEY, seconds REAL, at TEXT)",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO analysis_done VALUES(?, ?, datetime('now'))", -1, &s,
                           NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(s, 1, step, -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 2, seconds);
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(s);
    return rc;
}

/* The rows, in ascending id (roots first, then objects), so every insert
 * appends; each row's columns are worked out once, in next_row(), for
 * either writer: the row feed (feed.c: one INSERT ... SELECT, where a
 * prepared INSERT stepped per row spent most of a first leaks in the VDBE)
 * or the index's bulk writer (bulk.c). */
enum { AC_ID, AC_REACHABLE, AC_IDOM, AC_SIZE, AC_COUNT, AC_N };

struct rowfeed {
    const struct db_analysis *a;
    uint32_t n;        /* 1 + nroots + nobjs */
    uint32_t v;        /* the current node; 0 before the first */
    int64_t row[AC_N]; /* its row */
    uint32_t nulls;    /* the row's NULL columns, a bit each */
};

static int64_t node_id(const struct db_analysis *a, uint32_t v)
{
    return v <= a->nroots ? (int64_t)v - (int64_t)a->nroots - 1 : (int64_t)(v - a->nroots);
}

/* Move to the next node that has a row: 1, or 0 at the end. */
static int next_row(void *u)
{
    struct rowfeed *f = u;
    const struct db_analysis *a = f->a;
    for (f->v++; f->v < f->n; f->v++) {
        if (f->v > a->nroots && !a->used[f->v - a->nroots - 1])
            continue; /* free chunks have no row (docs/schema.md) */
        if ((f->v & 0xffff) == 0 && a->progress)
            notify_progress(a->progress, f->v, f->n);
        uint32_t d = a->idom[f->v];
        int has_idom = d != GRAPH_NONE && d != 0; /* the super-root is no one's idom */
        f->row[AC_ID] = node_id(a, f->v);
        f->row[AC_REACHABLE] = d != GRAPH_NONE;
        f->row[AC_IDOM] = has_idom ? node_id(a, d) : 0;
        f->row[AC_SIZE] = (int64_t)a->retained_size[f->v];
        f->row[AC_COUNT] = (int64_t)a->retained_count[f->v];
        f->nulls = has_idom ? 0 : 1u << AC_IDOM;
        return 1;
    }
    return 0;
}

static void feed_column(void *u, sqlite3_context *ctx, int col)
{
    const struct rowfeed *f = u;
    if (f->nulls >> col & 1)
        sqlite3_result_null(ctx);
    else
        sqlite3_result_int64(ctx, f->row[col]);
}

/* The index's way: the id is the rowid, NULL in the record. */
static int write_bulk(struct db_bulk *bulk, const struct db_analysis *a, char *err, size_t errlen)
{
    struct db_bulk_tree *t = db_bulk_tree(bulk, "analysis", 0);
    struct rowfeed f = {.a = a, .n = 1 + a->nroots + a->nobjs};
    while (t && next_row(&f))
        if (db_bulk_row(t, f.row[AC_ID], f.row, f.nulls | 1u << AC_ID, AC_N))
            t = NULL;
    if (!t) {
        snprintf(err, errlen, "%s", db_bulk_error(bulk));
        return -1;
    }
    return 0;
}

int db_analysis_write(sqlite3 *db, struct db_bulk *bulk, const struct db_analysis *a, char *err, size_t errlen)
{
    if (db_exec(db,
                "DROP TABLE IF EXISTS analysis;"
                "CREATE TABLE analysis(id INTEGER PRIMARY KEY, reachable INTEGER NOT NULL,"
                " idom INTEGER, retained_size INTEGER NOT NULL, retained_count INTEGER NOT NULL);"
                "CREATE VIEW IF NOT EXISTS objects_analysis AS SELECT o.*, a.reachable, a.idom,"
                " a.retained_size, a.retained_count FROM objects o LEFT JOIN analysis a ON a.id = o.id;",
                err, errlen))
        return -1;
    if (bulk)
        return write_bulk(bulk, a, err, errlen);
    struct rowfeed rf = {.a = a, .n = 1 + a->nroots + a->nobjs};
    struct db_feed f = {.decl = "CREATE TABLE x(id, reachable, idom, retained_size, retained_count)",
                        .user = &rf, .next = next_row, .column = feed_column};
    return db_feed_insert(db, "INSERT INTO analysis(id, reachable, idom, retained_size, retained_count)", &f, err,
                          errlen);
}
