/*
 * results.c — reachability and the dominator tree of a heap graph, worked
 * out once per database and kept there (docs/schema.md, "Analysis tables").
 *
 * One step gives both: the dominator computation visits exactly the nodes
 * the super-root reaches, so "reachable" is "has an idom".  The first
 * command that needs either (leaks, explain, top, path, diff) computes them
 * and writes the `analysis` table and an `analysis_done` row; the next
 * commands read the table back instead of running Lengauer-Tarjan again.
 * A database opened read-only still gets its answers, just not stored.
 */
#include "analysis/analysis.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define STEP "dominators"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int analysis_exec(sqlite3 *db, const char *file, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    snprintf(err, errlen, "%s: %s", file, msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return -1;
}

int analysis_done(sqlite3 *db, const char *step)
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

int analysis_mark(sqlite3 *db, const char *step, double seconds)
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

static void count_reachable(struct hresults *r, const struct hgraph *h)
{
    r->reachable_count = r->reachable_bytes = 0;
    for (uint32_t i = 0; i < h->nobjs; i++) {
        uint32_t v = hg_obj_node(h, i);
        if (h->used[i] && r->idom[v] != GRAPH_NONE) {
            r->reachable_count++;
            r->reachable_bytes += h->osize[i];
        }
    }
}

static int compute(struct hresults *r, struct hgraph *h, char *err, size_t errlen)
{
    struct domtree d;
    if (domtree_build(&d, &h->g, GRAPH_SUPER_ROOT) || domtree_retained(&d, h->nsize)) {
        snprintf(err, errlen, "%s: dominator tree: %s", h->file, strerror(errno));
        domtree_free(&d);
        return -1;
    }
    r->idom = d.idom;
    r->retained_size = d.retained_size;
    r->retained_count = d.retained_count;
    d.idom = NULL;
    d.retained_size = NULL;
    d.retained_count = NULL;
    domtree_free(&d);
    /* the tree counts every node; only objects count for people */
    r->retained_count[0] -= 1 + h->nroots;
    for (uint32_t v = 1; v <= h->nroots; v++)
        r->retained_count[v] -= 1;
    /* the reverse adjacency is as big as the graph; keep it only if asked */
    graph_drop_reverse(&h->g);
    return 0;
}

static int store(const struct hresults *r, const struct hgraph *h, char *err, size_t errlen)
{
    err[0] = 0;
    if (analysis_exec(h->db, h->file,
                      "BEGIN;"
                      "DROP TABLE IF EXISTS analysis;"
                      "CREATE TABLE analysis(id INTEGER PRIMARY KEY, reachable INTEGER NOT NULL,"
                      " idom INTEGER, retained_size INTEGER NOT NULL, retained_count INTEGER NOT NULL);"
                      "CREATE VIEW IF NOT EXISTS objects_analysis AS SELECT o.*, a.reachable, a.idom,"
                      " a.retained_size, a.retained_count FROM objects o LEFT JOIN analysis a ON a.id = o.id;",
                      err, errlen))
        return -1;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(h->db, "INSERT INTO analysis VALUES(?,?,?,?,?)", -1, &s, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", h->file, sqlite3_errmsg(h->db));
        sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    /* roots first, then objects: ascending id, so every insert appends */
    for (uint32_t v = 1; v < h->n; v++) {
        if (hg_is_obj(h, v) && !h->used[hg_obj_index(h, v)])
            continue;
        if ((v & 0xfffff) == 0)
            cli_progress("storing results", v, h->n);
        int reach = r->idom[v] != GRAPH_NONE;
        sqlite3_bind_int64(s, 1, hg_node_id(h, v));
        sqlite3_bind_int(s, 2, reach);
        if (reach && r->idom[v] != 0)
            sqlite3_bind_int64(s, 3, hg_node_id(h, r->idom[v]));
        else
            sqlite3_bind_null(s, 3);
        sqlite3_bind_int64(s, 4, (int64_t)r->retained_size[v]);
        sqlite3_bind_int64(s, 5, (int64_t)r->retained_count[v]);
        if (sqlite3_step(s) != SQLITE_DONE) {
            snprintf(err, errlen, "%s: storing the analysis: %s", h->file, sqlite3_errmsg(h->db));
            sqlite3_finalize(s);
            sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    if (analysis_mark(h->db, STEP, r->seconds) ||
        analysis_exec(h->db, h->file, "COMMIT", err, errlen)) {
        if (!err[0])
            snprintf(err, errlen, "%s: %s", h->file, sqlite3_errmsg(h->db));
        sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

/* Read a stored analysis back; 1 if it was there and sound, 0 if not. */
static int read_back(struct hresults *r, const struct hgraph *h)
{
    if (!analysis_done(h->db, STEP))
        return 0;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(h->db, "SELECT id, reachable, idom, retained_size, retained_count FROM analysis"
                           " ORDER BY id", -1, &s, NULL) != SQLITE_OK)
        return 0;
    for (uint32_t v = 0; v < h->n; v++) {
        r->idom[v] = GRAPH_NONE;
        r->retained_size[v] = 0;
        r->retained_count[v] = 0;
    }
    int ok = 1, rc;
    uint64_t rows = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        uint32_t v = hg_id_node(h, sqlite3_column_int64(s, 0));
        if (v == GRAPH_NONE || v == 0) {
            ok = 0;
            break;
        }
        if (sqlite3_column_int(s, 1)) {
            uint32_t d = sqlite3_column_type(s, 2) == SQLITE_NULL ? 0 : hg_id_node(h, sqlite3_column_int64(s, 2));
            if (d == GRAPH_NONE) {
                ok = 0;
                break;
            }
            r->idom[v] = d;
        }
        r->retained_size[v] = (uint64_t)sqlite3_column_int64(s, 3);
        r->retained_count[v] = (uint32_t)sqlite3_column_int64(s, 4);
        if ((++rows & 0xfffff) == 0)
            cli_progress("reading results", rows, h->n);
    }
    sqlite3_finalize(s);
    if (!ok || rc != SQLITE_DONE)
        return 0;
    /* the super-root's own row is not stored: it holds everything reachable */
    r->idom[0] = 0;
    r->retained_size[0] = 0;
    r->retained_count[0] = 0;
    for (uint32_t v = 1; v < h->n; v++)
        if (r->idom[v] == 0) {
            r->retained_size[0] += r->retained_size[v];
            r->retained_count[0] += r->retained_count[v];
        }
    return 1;
}

int hresults_get(struct hresults *r, struct hgraph *h, int progress, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    double t0 = now_s();
    r->idom = malloc(h->n * sizeof *r->idom);
    r->retained_size = malloc(h->n * sizeof *r->retained_size);
    r->retained_count = malloc(h->n * sizeof *r->retained_count);
    if (!r->idom || !r->retained_size || !r->retained_count) {
        snprintf(err, errlen, "%s: out of memory", h->file);
        return -1;
    }
    if (read_back(r, h)) {
        r->from_db = 1;
        r->seconds = now_s() - t0;
        if (progress)
            cli_progress_done();
        count_reachable(r, h);
        return 0;
    }
    free(r->idom);
    free(r->retained_size);
    free(r->retained_count);
    r->idom = NULL;
    r->retained_size = NULL;
    r->retained_count = NULL;
    if (progress)
        cli_progress("dominator tree", 0, 0);
    if (compute(r, h, err, errlen))
        return -1;
    r->seconds = now_s() - t0;
    count_reachable(r, h);
    double t1 = now_s();
    if (sqlite3_db_readonly(h->db, "main") == 1) {
        cli_warn("%s: read-only database: the analysis is not stored", h->file);
    } else if (store(r, h, err, errlen)) {
        /* answers are still good; the next command just computes again */
        cli_warn("%s", err);
        err[0] = 0;
    }
    r->store_seconds = now_s() - t1;
    if (progress)
        cli_progress_done();
    return 0;
}

void hresults_free(struct hresults *r)
{
    free(r->idom);
    free(r->retained_size);
    free(r->retained_count);
    memset(r, 0, sizeof *r);
}
