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
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/notify.h"
#include "db/db.h"

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
 * The tree itself is graph/heaptree.c's, which the indexer runs too; what
 * a node counts for is said here: a program's object its bytes and 1, the
 * allocator's own chunks and free ones nothing (analysis.h), and the roots
 * and the super-root nothing either (only objects count for people).
 */
static int compute(struct hresults *r, struct hgraph *h, unsigned flags, char *err, size_t errlen)
{
    uint32_t n = h->n;
    if (!(r->retained_size = malloc((size_t)n * sizeof *r->retained_size)) ||
        !(r->retained_count = malloc((size_t)n * sizeof *r->retained_count))) {
        snprintf(err, errlen, "%s: out of memory for the dominator tree", h->file);
        return -1;
    }
    for (uint32_t v = 0; v < n; v++) {
        r->retained_size[v] = hg_nsize(h, v);
        r->retained_count[v] = hg_is_obj(h, v) && hg_program(h, hg_obj_index(h, v));
    }
    struct heaptree t = {.retained_size = r->retained_size, .retained_count = r->retained_count};
    if (heaptree_build(&t, &h->g, flags & HR_REFS_NOT_AFTER ? HEAPTREE_FREE_GRAPH : 0)) {
        snprintf(err, errlen, "%s: dominator tree: %s", h->file, strerror(errno));
        return -1;
    }
    r->idom = t.idom;
    /* the reverse adjacency is as big as the graph; keep it only if asked */
    graph_drop_reverse(&h->g);
    return 0;
}

static int store(const struct hresults *r, const struct hgraph *h, char *err, size_t errlen)
{
    err[0] = 0;
    if (analysis_exec(h->db, h->file, "BEGIN IMMEDIATE", err, errlen))
        return -1;
    struct db_analysis a = {.nroots = h->nroots, .nobjs = h->nobjs, .used = h->used, .idom = r->idom,
                            .retained_size = r->retained_size, .retained_count = r->retained_count,
                            .progress = "storing results"};
    char msg[400];
    if (db_analysis_write(h->db, NULL, &a, msg, sizeof msg)) {
        snprintf(err, errlen, "%s: storing the analysis: %s", h->file, msg);
        sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    /* answers made from earlier results are not answers of these (answers.c) */
    if (answers_drop(h->db) || db_step_mark(h->db, DB_STEP_DOMINATORS, r->seconds) ||
        analysis_exec(h->db, h->file, "COMMIT", err, errlen)) {
        if (!err[0])
            snprintf(err, errlen, "%s: %s", h->file, sqlite3_errmsg(h->db));
        sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

/* Read a stored analysis back into r (arrays of n); 1 if it was there and
 * sound, 0 if not.  ids map to nodes by the counts alone (load.c), so this
 * needs nothing of the graph and may run beside its load. */
static int read_back(struct hresults *r, sqlite3 *db, uint32_t nroots, uint32_t nobjs, int progress)
{
    const struct hgraph ids = {.nroots = nroots, .nobjs = nobjs, .n = 1 + nroots + nobjs};
    const struct hgraph *h = &ids;
    if (!db_step_done(db, DB_STEP_DOMINATORS))
        return 0;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT id, reachable, idom, retained_size, retained_count FROM analysis"
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
        if (progress && (++rows & 0xffff) == 0)
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

static int results_alloc(struct hresults *r, uint32_t n)
{
    memset(r, 0, sizeof *r);
    r->idom = malloc((size_t)n * sizeof *r->idom);
    r->retained_size = malloc((size_t)n * sizeof *r->retained_size);
    r->retained_count = malloc((size_t)n * sizeof *r->retained_count);
    return r->idom && r->retained_size && r->retained_count ? 0 : -1;
}

/*
 * Reading back beside the load (hgraph_load's HG_READ_RESULTS): its own
 * connection and thread, muted (the line shows the load's phases), while
 * the graph's objects and references are read on the other two.  The
 * analysis table is as long as the objects', so on two cores this takes
 * the read back off the critical path: top, which needs no references,
 * waits for the longer of the two instead of their sum.
 */
struct hresults_ahead {
    sqlite3 *db;
    uint32_t nroots, nobjs;
    struct hresults r;
    int ok;             /* read back, sound */
    double seconds;
    pthread_t thread;
};

static void *ahead_thread(void *u)
{
    struct hresults_ahead *a = u;
    notify_progress_mute_thread(1);
    double t0 = clock_wall_s();
    a->ok = results_alloc(&a->r, 1 + a->nroots + a->nobjs) == 0 && read_back(&a->r, a->db, a->nroots, a->nobjs, 0);
    a->seconds = clock_wall_s() - t0;
    return NULL;
}

struct hresults_ahead *hresults_ahead_start(const char *path, uint32_t nroots, uint32_t nobjs)
{
    struct hresults_ahead *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->nroots = nroots;
    a->nobjs = nobjs;
    if (!(a->db = hgraph_reader_open(path))) {
        free(a);
        return NULL;
    }
    if (pthread_create(&a->thread, NULL, ahead_thread, a)) {
        sqlite3_close(a->db);
        free(a);
        return NULL;
    }
    return a;
}

/* Wait for it; 1 with its results moved into r, 0 if they were not sound
 * (r untouched).  Frees a either way. */
static int ahead_take(struct hresults_ahead *a, struct hresults *r)
{
    pthread_join(a->thread, NULL);
    sqlite3_close(a->db);
    int ok = a->ok;
    if (ok) {
        *r = a->r;
        r->seconds = a->seconds;
    } else {
        hresults_free(&a->r);
    }
    free(a);
    return ok;
}

void hresults_ahead_free(struct hresults_ahead *a)
{
    struct hresults r;
    if (a && ahead_take(a, &r))
        hresults_free(&r);
}

int hresults_stored(sqlite3 *db)
{
    return db_step_done(db, DB_STEP_DOMINATORS);
}

int hresults_get(struct hresults *r, struct hgraph *h, int progress, unsigned flags, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    double t0 = clock_wall_s();
    int back;
    if (h->ahead) { /* being read beside the load */
        if (progress)
            notify_progress("reading results", 0, 0);
        back = ahead_take(h->ahead, r);
        h->ahead = NULL;
    } else {
        if (results_alloc(r, h->n)) {
            hresults_free(r);
            snprintf(err, errlen, "%s: out of memory", h->file);
            return -1;
        }
        back = read_back(r, h->db, h->nroots, h->nobjs, 1);
        r->seconds = clock_wall_s() - t0;
        if (!back)
            hresults_free(r);
    }
    if (back) {
        r->from_db = 1;
        if (progress)
            notify_progress_done();
        count_reachable(r, h);
        return 0;
    }
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
