/*
 * load.c — read a heapsnap database's objects, roots and refs into the
 * compact arrays and the CSR graph every analysis works on (analysis.h has
 * the node numbering).
 *
 * Ids map to nodes by arithmetic, which relies on what the indexer
 * guarantees (docs/schema.md): objects are numbered 1..N and roots
 * -R..-1 with no gaps.  A database that breaks this is refused rather than
 * analysed wrongly.  Everything is read in primary-key order, one pass per
 * table, so SQLite streams it without sorting; the refs on a second
 * connection in a second thread, at the same time as the objects.
 */
#include "analysis/analysis.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/notify.h"
#include "db/db.h"

static int sql_fail(const struct hgraph *h, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s: %s", h->file, what, sqlite3_errmsg(h->db));
    return -1;
}

static int64_t scalar(sqlite3 *db, const char *sql, int64_t dflt)
{
    sqlite3_stmt *s;
    int64_t v = dflt;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return dflt;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

uint32_t hg_id_node(const struct hgraph *h, int64_t id)
{
    if (id > 0 && id <= (int64_t)h->nobjs)
        return h->nroots + (uint32_t)id;
    if (id < 0 && id >= -(int64_t)h->nroots)
        return (uint32_t)(id + (int64_t)h->nroots + 1);
    return id == 0 ? 0 : GRAPH_NONE;
}

int64_t hgraph_find(const struct hgraph *h, uint64_t addr)
{
    size_t a = 0, b = h->nobjs;
    while (a < b) { /* first object starting above addr */
        size_t m = a + (b - a) / 2;
        if (h->addr[m] <= addr)
            a = m + 1;
        else
            b = m;
    }
    if (a == 0)
        return -1;
    size_t i = a - 1;
    if (addr == h->addr[i] || addr - h->addr[i] < h->osize[i])
        return (int64_t)i;
    return -1;
}

static int load_objects(struct hgraph *h, int progress, char *err, size_t errlen)
{
    /* The state, where and heap columns are generated from the stored bits
     * (db.h), which are read here and taken apart in C: the three
     * expressions in SQL were a fifth of the rows' reading.  where =
     * 'malloc-internal' is the allocator's own chunk (analysis.h); heap =
     * 'go' a collected heap, where unreachable is garbage (analysis.h). */
    uint8_t internal[DB_BITS_WHERE_NONE + 1] = {0};
    for (unsigned w = 0; w < heap_where_count() && w <= DB_BITS_WHERE_NONE; w++)
        internal[w] = !!(heap_where_flags(w) & HW_INTERNAL);
    int go = heap_allocator_index("go");
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT id, addr, size, bits, %s FROM objects ORDER BY id",
             h->typed ? "type_id, type_count" : "NULL, NULL");
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(h->db, sql, -1, &s, NULL) != SQLITE_OK)
        return sql_fail(h, "reading objects", err, errlen);
    uint32_t i = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (i >= h->nobjs || sqlite3_column_int64(s, 0) != (int64_t)i + 1) {
            sqlite3_finalize(s);
            snprintf(err, errlen, "%s: object ids are not 1..%u without gaps; index the snapshot again",
                     h->file, h->nobjs);
            return -1;
        }
        h->addr[i] = (uint64_t)sqlite3_column_int64(s, 1);
        h->osize[i] = (uint64_t)sqlite3_column_int64(s, 2);
        uint64_t bits = (uint64_t)sqlite3_column_int64(s, 3);
        h->used[i] = !(bits & DB_BITS_FREE);
        h->internal[i] = h->used[i] && internal[bits & DB_BITS_WHERE_NONE];
        h->collected[i] = go >= 0 && ((bits >> 5) & DB_BITS_HEAP_NONE) == (uint64_t)go;
        if (h->internal[i])
            h->group[i] = HG_INTERNAL; /* whatever type it has, it is malloc's */
        else if (sqlite3_column_type(s, 4) != SQLITE_NULL)
            h->group[i] = hg_type_key((uint32_t)sqlite3_column_int64(s, 4), (uint64_t)sqlite3_column_int64(s, 5));
        else
            h->group[i] = h->osize[i];
        if (hg_program(h, i)) {
            h->used_bytes += h->osize[i];
            h->used_count++;
        }
        i++;
        if (progress && (i & 0xffff) == 0)
            notify_progress("loading objects", i, h->nobjs);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return sql_fail(h, "reading objects", err, errlen);
    if (i != h->nobjs) {
        snprintf(err, errlen, "%s: the objects table changed while it was read", h->file);
        return -1;
    }
    return 0;
}

static int load_roots(struct hgraph *h, char *err, size_t errlen)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(h->db, "SELECT id, kind, name, thread, addr, size FROM roots ORDER BY id", -1,
                           &s, NULL) != SQLITE_OK)
        return sql_fail(h, "reading roots", err, errlen);
    uint32_t i = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (i >= h->nroots || sqlite3_column_int64(s, 0) != (int64_t)i - (int64_t)h->nroots) {
            sqlite3_finalize(s);
            snprintf(err, errlen, "%s: root ids are not -%u..-1 without gaps; index the snapshot again",
                     h->file, h->nroots);
            return -1;
        }
        struct hroot *r = &h->roots[i];
        const char *kind = (const char *)sqlite3_column_text(s, 1);
        snprintf(r->kind, sizeof r->kind, "%s", kind ? kind : "?");
        if (sqlite3_column_type(s, 2) != SQLITE_NULL &&
            !(r->name = strdup((const char *)sqlite3_column_text(s, 2)))) {
            sqlite3_finalize(s);
            snprintf(err, errlen, "%s: out of memory", h->file);
            return -1;
        }
        r->thread = sqlite3_column_int(s, 3);
        r->addr = (uint64_t)sqlite3_column_int64(s, 4);
        r->size = (uint64_t)sqlite3_column_int64(s, 5);
        i++;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return sql_fail(h, "reading roots", err, errlen);
    return 0;
}

/*
 * Reading the refs, the bulk of a load, runs on its own connection in a
 * second thread while the main one reads objects and roots: ids map to
 * nodes by arithmetic on the counts alone, so the reader needs nothing
 * from the objects; which edges to keep (used objects only) is decided
 * after both are done.
 */
struct refreader {
    sqlite3 *db;            /* the connection to read with */
    uint32_t nroots, nobjs;
    size_t want;            /* the snapshot row's ref count, to size the list */
    int progress;
    int no_refs;            /* only the super-root's edges (HG_NO_REFS) */
    struct graph_edges el;  /* super-root -> roots, then every ref, as nodes */
    int rc;                 /* 0, or -1 with err */
    char err[512];
};

static uint32_t id_node(const struct refreader *r, int64_t id)
{
    if (id > 0 && id <= (int64_t)r->nobjs)
        return r->nroots + (uint32_t)id;
    if (id < 0 && id >= -(int64_t)r->nroots)
        return (uint32_t)(id + (int64_t)r->nroots + 1);
    return GRAPH_NONE;
}

static void *read_refs(void *u)
{
    struct refreader *r = u;
    size_t cap = r->want + r->nroots + 16;
    r->rc = -1;
    if (!(r->el.e = malloc(cap * sizeof *r->el.e))) {
        snprintf(r->err, sizeof r->err, "out of memory for %zu references", cap);
        return NULL;
    }
    r->el.cap = cap;
    for (uint32_t i = 1; i <= r->nroots; i++)
        r->el.e[r->el.len++] = (struct graph_edge){0, i};
    if (r->no_refs) {
        r->rc = 0;
        return NULL;
    }
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(r->db, "SELECT src, dst FROM refs", -1, &s, NULL) != SQLITE_OK) {
        snprintf(r->err, sizeof r->err, "reading refs: %s", sqlite3_errmsg(r->db));
        return NULL;
    }
    int rc;
    uint64_t seen = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        uint32_t a = id_node(r, sqlite3_column_int64(s, 0)), b = id_node(r, sqlite3_column_int64(s, 1));
        if (r->progress && (++seen & 0xffff) == 0)
            notify_progress("loading references", seen, r->want);
        if (a == GRAPH_NONE || b == GRAPH_NONE || b <= r->nroots)
            continue; /* refs only ever lead to objects */
        if (graph_edges_add(&r->el, a, b)) {
            sqlite3_finalize(s);
            snprintf(r->err, sizeof r->err, "out of memory for references");
            return NULL;
        }
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        snprintf(r->err, sizeof r->err, "reading refs: %s", sqlite3_errmsg(r->db));
        return NULL;
    }
    r->rc = 0;
    return NULL;
}

/* Keep the edges a leak checker may follow: from a root or a used object
 * (a free chunk's stale words keep nothing alive) to a used object. */
static int build(struct hgraph *h, struct graph_edges *el, char *err, size_t errlen)
{
    size_t k = 0;
    for (size_t i = 0; i < el->len; i++) {
        struct graph_edge e = el->e[i];
        if (e.src != 0 && hg_is_obj(h, e.src) && !h->used[hg_obj_index(h, e.src)])
            continue;
        if (e.src != 0 && !h->used[hg_obj_index(h, e.dst)])
            continue;
        el->e[k++] = e;
    }
    el->len = k;
    int g = graph_build(&h->g, h->n, el->e, el->len);
    int e = errno;
    graph_edges_free(el);
    if (g) {
        snprintf(err, errlen, "%s: building the graph: %s", h->file, strerror(e));
        return -1;
    }
    return 0;
}

#define LOAD_PRAGMAS "PRAGMA mmap_size = 0; PRAGMA cache_size = -2048"

sqlite3 *hgraph_reader_open(const char *path)
{
    sqlite3 *db = NULL;
    if (!path || !path[0] || sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    /* as patient as the first (db/open.c): another heapsnap storing its
     * analysis tables in this database holds it for a moment */
    sqlite3_busy_timeout(db, 600000);
    sqlite3_exec(db, LOAD_PRAGMAS, NULL, NULL, NULL);
    return db;
}

int hgraph_load(struct hgraph *h, sqlite3 *db, const char *file, char *err, size_t errlen)
{
    return hgraph_load_flags(h, db, file, 0, err, errlen);
}

int hgraph_load_flags(struct hgraph *h, sqlite3 *db, const char *file, unsigned flags, char *err,
                      size_t errlen)
{
    memset(h, 0, sizeof *h);
    h->db = db;
    h->file = file;
    /* Each page is read once, in key order, so a big cache buys nothing,
     * and a memory map leaves every page read in RSS for the rest of the
     * command.  Measured on 10M objects and 27M refs, leaks: 1.43 GB peak
     * with a map and 64 MiB caches, 0.90 GB with neither, the same load
     * time (3.5-3.7 s).  The connection keeps this small cache after. */
    sqlite3_exec(db, LOAD_PRAGMAS, NULL, NULL, NULL);
    int64_t nobjs = scalar(db, "SELECT count(*) FROM objects", -1);
    int64_t nroots = scalar(db, "SELECT count(*) FROM roots", -1);
    if (nobjs < 0 || nroots < 0)
        return sql_fail(h, "counting objects and roots", err, errlen);
    if (nobjs + nroots + 1 >= (int64_t)GRAPH_NONE) {
        snprintf(err, errlen, "%s: too many objects for one graph", file);
        return -1;
    }
    h->nobjs = (uint32_t)nobjs;
    h->nroots = (uint32_t)nroots;
    h->n = 1 + h->nroots + h->nobjs;
    h->typed = scalar(db, "SELECT count(*) FROM pragma_table_info('types') WHERE name = 'name'", 0) > 0;
    if (h->typed && sqlite3_prepare_v2(db, "SELECT name, flags FROM types WHERE id = ?", -1, &h->type_name, NULL) != SQLITE_OK)
        h->type_name = NULL;
    const char *path = sqlite3_db_filename(db, "main");
    if (flags & HG_READ_RESULTS)
        h->ahead = hresults_ahead_start(path, h->nroots, h->nobjs);
    h->roots = calloc(h->nroots + 1, sizeof *h->roots);
    h->addr = malloc((h->nobjs + 1) * sizeof *h->addr);
    h->osize = malloc((h->nobjs + 1) * sizeof *h->osize);
    h->used = malloc(h->nobjs + 1);
    h->internal = malloc(h->nobjs + 1);
    h->collected = malloc(h->nobjs + 1);
    h->group = malloc((h->nobjs + 1) * sizeof *h->group);
    if (!h->roots || !h->addr || !h->osize || !h->used || !h->internal || !h->collected || !h->group) {
        snprintf(err, errlen, "%s: out of memory for %u objects", file, h->nobjs);
        return -1;
    }
    struct refreader rr = {.db = db, .nroots = h->nroots, .nobjs = h->nobjs, .progress = 1,
                           .no_refs = !!(flags & HG_NO_REFS)};
    int64_t want = scalar(db, "SELECT refs FROM snapshot", 0);
    rr.want = flags & HG_NO_REFS || want < 0 ? 0 : (size_t)want;
    /* a second connection for the refs thread; without one, read in turn */
    sqlite3 *db2 = NULL;
    pthread_t th;
    int threaded = 0;
    if (!(flags & HG_NO_REFS) && (db2 = hgraph_reader_open(path))) {
        rr.db = db2;
        threaded = pthread_create(&th, NULL, read_refs, &rr) == 0;
    }
    int rc = load_objects(h, !threaded, err, errlen) || load_roots(h, err, errlen) ? -1 : 0;
    if (threaded)
        pthread_join(th, NULL);
    else
        read_refs(&rr);
    sqlite3_close(db2);
    if (rc == 0 && rr.rc) {
        snprintf(err, errlen, "%s: %s", file, rr.err);
        rc = -1;
    }
    if (rc == 0)
        rc = build(h, &rr.el, err, errlen);
    graph_edges_free(&rr.el);
    notify_progress_done();
    h->refs_loaded = rc == 0 && !(flags & HG_NO_REFS);
    return rc;
}

int hgraph_load_refs(struct hgraph *h, char *err, size_t errlen)
{
    struct refreader rr = {.db = h->db, .nroots = h->nroots, .nobjs = h->nobjs, .progress = 1};
    int64_t want = scalar(h->db, "SELECT refs FROM snapshot", 0);
    rr.want = want < 0 ? 0 : (size_t)want;
    graph_free(&h->g); /* the super-root's edges alone, from HG_NO_REFS */
    read_refs(&rr);
    int rc = -1;
    if (rr.rc)
        snprintf(err, errlen, "%s: %s", h->file, rr.err);
    else
        rc = build(h, &rr.el, err, errlen);
    graph_edges_free(&rr.el);
    notify_progress_done();
    h->refs_loaded = rc == 0;
    return rc;
}

int hgraph_load_refs_among(struct hgraph *h, const uint8_t *keep, char *err, size_t errlen)
{
    struct graph_edges el = {0};
    sqlite3_stmt *s = NULL;
    int rc = -1, txn = 0;
    for (uint32_t i = 1; i <= h->nroots; i++)
        if (graph_edges_add(&el, 0, i))
            goto oom;
    /* refs are clustered by dst (db/schema.c): one primary-key lookup
     * each, all in one read transaction (else each takes and drops the
     * file's lock and checks its header again: most of their time) */
    if (sqlite3_prepare_v2(h->db, "SELECT src FROM refs WHERE dst = ?", -1, &s, NULL) != SQLITE_OK ||
        sqlite3_exec(h->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        sql_fail(h, "reading refs", err, errlen);
        goto out;
    }
    txn = 1;
    for (uint32_t i = 0; i < h->nobjs; i++) {
        if (!keep[i])
            continue;
        sqlite3_bind_int64(s, 1, (int64_t)i + 1);
        int step;
        while ((step = sqlite3_step(s)) == SQLITE_ROW) {
            uint32_t a = hg_id_node(h, sqlite3_column_int64(s, 0));
            if (a != GRAPH_NONE && hg_is_obj(h, a) && keep[hg_obj_index(h, a)] &&
                graph_edges_add(&el, a, hg_obj_node(h, i)))
                goto oom;
        }
        sqlite3_reset(s);
        if (step != SQLITE_DONE) {
            sql_fail(h, "reading refs", err, errlen);
            goto out;
        }
    }
    graph_free(&h->g); /* the super-root's edges alone, from HG_NO_REFS */
    rc = build(h, &el, err, errlen);
    h->refs_among = rc == 0;
    goto out;
oom:
    snprintf(err, errlen, "%s: out of memory for references", h->file);
out:
    sqlite3_finalize(s);
    if (txn)
        sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL);
    graph_edges_free(&el);
    return rc;
}

void hgraph_trim_to_identity(struct hgraph *h)
{
    if (h->roots)
        for (uint32_t i = 0; i < h->nroots; i++)
            free(h->roots[i].name);
    free(h->roots);
    free(h->internal);
    free(h->collected);
    h->roots = NULL;
    h->internal = h->collected = NULL;
    graph_free(&h->g);
}

void hgraph_free(struct hgraph *h)
{
    hresults_ahead_free(h->ahead);
    hgraph_trim_to_identity(h);
    free(h->addr);
    free(h->osize);
    free(h->used);
    free(h->group);
    sqlite3_finalize(h->type_name);
    memset(h, 0, sizeof *h);
}
