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

/* The rows, handed to one INSERT ... SELECT through the row feed (feed.c):
 * a prepared INSERT stepped per row spends most of its time entering and
 * leaving the VDBE, which on 10 M objects was the largest part of a first
 * leaks or top.  Roots first, then objects: ascending id, so every insert
 * appends. */
struct rowfeed {
    const struct db_analysis *a;
    uint32_t n;        /* 1 + nroots + nobjs */
    uint32_t v;        /* the current node; 0 before the first */
};

static int64_t node_id(const struct db_analysis *a, uint32_t v)
{
    return v <= a->nroots ? (int64_t)v - (int64_t)a->nroots - 1 : (int64_t)(v - a->nroots);
}

static int feed_next(void *u)
{
    struct rowfeed *f = u;
    const struct db_analysis *a = f->a;
    for (f->v++; f->v < f->n; f->v++) {
        if (f->v > a->nroots && !a->used[f->v - a->nroots - 1])
            continue; /* free chunks have no row (docs/schema.md) */
        if ((f->v & 0xffff) == 0 && a->progress)
            notify_progress(a->progress, f->v, f->n);
        return 1;
    }
    return 0;
}

static void feed_column(void *u, sqlite3_context *ctx, int col)
{
    const struct rowfeed *f = u;
    const struct db_analysis *a = f->a;
    uint32_t v = f->v, d = a->idom[v];
    switch (col) {
    case 0:
        sqlite3_result_int64(ctx, node_id(a, v));
        break;
    case 1:
        sqlite3_result_int(ctx, d != GRAPH_NONE);
        break;
    case 2:
        if (d != GRAPH_NONE && d != 0)
            sqlite3_result_int64(ctx, node_id(a, d));
        else
            sqlite3_result_null(ctx);
        break;
    case 3:
        sqlite3_result_int64(ctx, (int64_t)a->retained_size[v]);
        break;
    default:
        sqlite3_result_int64(ctx, (int64_t)a->retained_count[v]);
        break;
    }
}

/* The same rows through the bulk writer: the index's way (bulk.c). */
static int write_bulk(struct db_bulk *bulk, const struct db_analysis *a, char *err, size_t errlen)
{
    struct db_bulk_tree *t = db_bulk_tree(bulk, "analysis", 0);
    struct rowfeed f = {.a = a, .n = 1 + a->nroots + a->nobjs};
    while (t && feed_next(&f)) {
        uint32_t d = a->idom[f.v];
        /* id (the rowid: NULL), reachable, idom, retained_size, retained_count */
        int64_t v[5] = {0, d != GRAPH_NONE, d != GRAPH_NONE && d != 0 ? node_id(a, d) : 0,
                        (int64_t)a->retained_size[f.v], (int64_t)a->retained_count[f.v]};
        uint32_t nulls = 1u | (d != GRAPH_NONE && d != 0 ? 0 : 1u << 2);
        if (db_bulk_row(t, node_id(a, f.v), v, nulls, 5))
            t = NULL;
    }
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
                        .user = &rf, .next = feed_next, .column = feed_column};
    return db_feed_insert(db, "INSERT INTO analysis(id, reachable, idom, retained_size, retained_count)", &f, err,
                          errlen);
}
