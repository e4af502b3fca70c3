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

#include "base/clock.h"
#include "base/notify.h"
#include "db/db.h"

#define STEP "dominators"

int analysis_exec(sqlite3 *db, const char *file, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    snprintf(err, errlen, "%s: %s", file, msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return -1;
}

int analysis_begin(sqlite3 *db, const char *file, const char *sql, char *err, size_t errlen)
{
    if (analysis_exec(db, file, "BEGIN IMMEDIATE", err, errlen))
        return -1;
    if (analysis_exec(db, file, sql, err, errlen) == 0)
        return 0;
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
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
        if (hg_program(h, i) && r->idom[v] != GRAPH_NONE) {
            r->reachable_count++;
            r->reachable_bytes += h->osize[i];
        }
    }
}

/*
 * Peeling.  A node with no successors and exactly one incoming edge is
 * dominated by the source of that edge, and lies on no path to any other
 * node, so it changes nobody else's dominators: it can be left out of the
 * Lengauer-Tarjan run and given its idom afterwards.  Removing it may make
 * its predecessor such a node in turn (the tail of a list, a tree of
 * strings), so this repeats.  Heaps are full of such leaves — strings,
 * buffers, list and tree tails — and each one peeled is a node and an edge
 * the expensive part never sees.  HEAPSNAP_NO_PEEL=1 turns it off (for
 * checking one against the other).
 */
struct peel {
    uint32_t *pred;    /* [n] the source of a node's single in-edge */
    uint32_t *order;   /* the peeled nodes, in the order they were peeled */
    uint32_t count;
};

static int peel(struct peel *p, const struct graph *g)
{
    uint32_t n = g->n;
    uint32_t *indeg = calloc(n, sizeof *indeg), *outrem = malloc((size_t)n * sizeof *outrem);
    p->pred = malloc((size_t)n * sizeof *p->pred);
    p->order = malloc((size_t)n * sizeof *p->order);
    p->count = 0;
    if (!indeg || !outrem || !p->pred || !p->order) {
        free(indeg);
        free(outrem);
        return -1;
    }
    for (uint32_t v = 0; v < n; v++) {
        outrem[v] = graph_out_degree(g, v);
        const uint32_t *out = graph_out(g, v);
        for (uint32_t k = 0; k < outrem[v]; k++) {
            indeg[out[k]]++;
            p->pred[out[k]] = v;
        }
    }
    /* order doubles as the work queue: peeled nodes are appended, and each
     * one's predecessor is looked at once it is */
    for (uint32_t v = 1; v < n; v++)
        if (outrem[v] == 0 && indeg[v] == 1)
            p->order[p->count++] = v;
    for (uint32_t q = 0; q < p->count; q++) {
        uint32_t u = p->pred[p->order[q]];
        if (u != 0 && --outrem[u] == 0 && indeg[u] == 1)
            p->order[p->count++] = u;
    }
    free(indeg);
    free(outrem);
    return 0;
}

/* g without the edges into peeled nodes (which are all the edges from them). */
static int reduced(struct graph *rg, const struct graph *g, const uint8_t *peeled)
{
    memset(rg, 0, sizeof *rg);
    rg->n = g->n;
    rg->off = malloc(((size_t)g->n + 1) * sizeof *rg->off);
    rg->adj = malloc(((size_t)g->m + 1) * sizeof *rg->adj);
    if (!rg->off || !rg->adj) {
        graph_free(rg);
        return -1;
    }
    uint32_t m = 0;
    for (uint32_t v = 0; v < g->n; v++) {
        rg->off[v] = m;
        const uint32_t *out = graph_out(g, v);
        for (uint32_t k = 0; k < graph_out_degree(g, v); k++)
            if (!peeled[out[k]])
                rg->adj[m++] = out[k];
    }
    rg->off[g->n] = m;
    rg->m = m;
    return 0;
}

static int compute(struct hresults *r, struct hgraph *h, unsigned flags, char *err, size_t errlen)
{
    struct domtree d = {0};
    struct peel p = {0};
    struct graph rg = {0};
    uint8_t *peeled = NULL;
    uint32_t *order = NULL;
    int rc = -1, use_peel = !getenv("HEAPSNAP_NO_PEEL");
    uint32_t n = h->n;
    if (use_peel && (peel(&p, &h->g) || !(peeled = calloc(n, 1))))
        goto oom;
    for (uint32_t k = 0; k < p.count; k++)
        peeled[p.order[k]] = 1;
    if (use_peel && reduced(&rg, &h->g, peeled))
        goto oom;
    if (use_peel && flags & HR_REFS_NOT_AFTER)
        graph_free(&h->g); /* rg is all the tree needs */
    if (domtree_build(&d, use_peel ? &rg : &h->g, GRAPH_SUPER_ROOT)) {
        snprintf(err, errlen, "%s: dominator tree: %s", h->file, strerror(errno));
        goto out;
    }
    graph_free(&rg);
    r->idom = d.idom;
    d.idom = NULL;
    /* peeled nodes, predecessors first (the reverse of peeling): each is
     * dominated by its one predecessor, if that is reachable at all */
    uint32_t total = d.reached;
    for (uint32_t k = p.count; k-- > 0;) {
        uint32_t v = p.order[k], u = p.pred[v];
        r->idom[v] = r->idom[u] == GRAPH_NONE ? GRAPH_NONE : u;
        total += r->idom[v] != GRAPH_NONE;
    }
    /* top-down order of the whole tree: LT's preorder, then the peeled */
    if (!(order = malloc(((size_t)total + 1) * sizeof *order)) ||
        !(r->retained_size = malloc((size_t)n * sizeof *r->retained_size)) ||
        !(r->retained_count = malloc((size_t)n * sizeof *r->retained_count)))
        goto oom;
    uint32_t len = 0;
    for (uint32_t k = 0; k < d.reached; k++)
        order[len++] = d.order[k];
    for (uint32_t k = p.count; k-- > 0;)
        if (r->idom[p.order[k]] != GRAPH_NONE)
            order[len++] = p.order[k];
    for (uint32_t v = 0; v < n; v++) {
        r->retained_size[v] = r->idom[v] == GRAPH_NONE ? 0 : hg_nsize(h, v);
        /* malloc's own chunks are not objects of the program: count 0 (analysis.h) */
        r->retained_count[v] = r->idom[v] == GRAPH_NONE ? 0 : !hg_is_obj(h, v) || hg_program(h, hg_obj_index(h, v));
    }
    for (uint32_t k = len; k-- > 1;) { /* order[0] is the root */
        uint32_t v = order[k];
        r->retained_size[r->idom[v]] += r->retained_size[v];
        r->retained_count[r->idom[v]] += r->retained_count[v];
    }
    /* the tree counts every node; only objects count for people */
    r->retained_count[0] -= 1 + h->nroots;
    for (uint32_t v = 1; v <= h->nroots; v++)
        r->retained_count[v] -= 1;
    /* the reverse adjacency is as big as the graph; keep it only if asked */
    graph_drop_reverse(&h->g);
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "%s: out of memory for the dominator tree", h->file);
out:
    domtree_free(&d);
    graph_free(&rg);
    free(p.pred);
    free(p.order);
    free(peeled);
    free(order);
    return rc;
}

/* The rows of the analysis table, handed to one INSERT ... SELECT through
 * the row feed (db/feed.c): a prepared INSERT stepped per row spends most
 * of its time entering and leaving the VDBE, which on 10 M objects was the
 * largest part of a first leaks or top.  Roots first, then objects:
 * ascending id, so every insert appends. */
struct rowfeed {
    const struct hresults *r;
    const struct hgraph *h;
    uint32_t v;        /* the current node; 0 before the first */
};

static int feed_next(void *u)
{
    struct rowfeed *f = u;
    const struct hgraph *h = f->h;
    for (f->v++; f->v < h->n; f->v++) {
        if (hg_is_obj(h, f->v) && !h->used[hg_obj_index(h, f->v)])
            continue; /* free chunks have no row (docs/schema.md) */
        if ((f->v & 0xffff) == 0)
            notify_progress("storing results", f->v, h->n);
        return 1;
    }
    return 0;
}

static void feed_column(void *u, sqlite3_context *ctx, int col)
{
    const struct rowfeed *f = u;
    uint32_t v = f->v, d = f->r->idom[v];
    switch (col) {
    case 0:
        sqlite3_result_int64(ctx, hg_node_id(f->h, v));
        break;
    case 1:
        sqlite3_result_int(ctx, d != GRAPH_NONE);
        break;
    case 2:
        if (d != GRAPH_NONE && d != 0)
            sqlite3_result_int64(ctx, hg_node_id(f->h, d));
        else
            sqlite3_result_null(ctx);
        break;
    case 3:
        sqlite3_result_int64(ctx, (int64_t)f->r->retained_size[v]);
        break;
    default:
        sqlite3_result_int64(ctx, (int64_t)f->r->retained_count[v]);
        break;
    }
}

static int store(const struct hresults *r, const struct hgraph *h, char *err, size_t errlen)
{
    err[0] = 0;
    if (analysis_begin(h->db, h->file,
                      "DROP TABLE IF EXISTS analysis;"
                      "CREATE TABLE analysis(id INTEGER PRIMARY KEY, reachable INTEGER NOT NULL,"
                      " idom INTEGER, retained_size INTEGER NOT NULL, retained_count INTEGER NOT NULL);"
                      "CREATE VIEW IF NOT EXISTS objects_analysis AS SELECT o.*, a.reachable, a.idom,"
                      " a.retained_size, a.retained_count FROM objects o LEFT JOIN analysis a ON a.id = o.id;",
                      err, errlen))
        return -1;
    struct rowfeed rf = {.r = r, .h = h};
    struct db_feed f = {.decl = "CREATE TABLE x(id, reachable, idom, retained_size, retained_count)",
                        .user = &rf, .next = feed_next, .column = feed_column};
    char msg[400];
    if (db_feed_insert(h->db, "INSERT INTO analysis(id, reachable, idom, retained_size, retained_count)", &f,
                       msg, sizeof msg)) {
        snprintf(err, errlen, "%s: storing the analysis: %s", h->file, msg);
        sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    /* answers made from earlier results are not answers of these (answers.c) */
    if (answers_drop(h->db) || analysis_mark(h->db, STEP, r->seconds) ||
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
        if ((++rows & 0xffff) == 0)
            notify_progress("reading results", rows, h->n);
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

int hresults_stored(sqlite3 *db)
{
    return analysis_done(db, STEP);
}

int hresults_get(struct hresults *r, struct hgraph *h, int progress, unsigned flags, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    double t0 = clock_wall_s();
    r->idom = malloc(h->n * sizeof *r->idom);
    r->retained_size = malloc(h->n * sizeof *r->retained_size);
    r->retained_count = malloc(h->n * sizeof *r->retained_count);
    if (!r->idom || !r->retained_size || !r->retained_count) {
        snprintf(err, errlen, "%s: out of memory", h->file);
        return -1;
    }
    if (read_back(r, h)) {
        r->from_db = 1;
        r->seconds = clock_wall_s() - t0;
        if (progress)
            notify_progress_done();
        count_reachable(r, h);
        return 0;
    }
    free(r->idom);
    free(r->retained_size);
    free(r->retained_count);
    r->idom = NULL;
    r->retained_size = NULL;
    r->retained_count = NULL;
    /* loaded without references in the hope of reading back: they are
     * needed after all */
    if (!h->refs_loaded && hgraph_load_refs(h, err, errlen))
        return -1;
    if (progress)
        notify_progress("dominator tree", 0, 0);
    if (compute(r, h, flags, err, errlen))
        return -1;
    r->seconds = clock_wall_s() - t0;
    count_reachable(r, h);
    double t1 = clock_wall_s();
    if (sqlite3_db_readonly(h->db, "main") == 1) {
        notify_warn("%s: read-only database: the analysis is not stored", h->file);
    } else if (store(r, h, err, errlen)) {
        /* answers are still good; the next command just computes again */
        notify_warn("%s", err);
        err[0] = 0;
    }
    r->store_seconds = clock_wall_s() - t1;
    if (progress)
        notify_progress_done();
    return 0;
}

void hresults_free(struct hresults *r)
{
    free(r->idom);
    free(r->retained_size);
    free(r->retained_count);
    memset(r, 0, sizeof *r);
}
