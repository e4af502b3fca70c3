/*
 * load.c — read a heapsnap database's objects, roots and refs into the
 * compact arrays and the CSR graph every analysis works on (analysis.h has
 * the node numbering).
 *
 * Ids map to nodes by arithmetic, which relies on what the indexer
 * guarantees (docs/schema.md): objects are numbered 1..N and roots
 * -R..-1 with no gaps.  A database that breaks this is refused rather than
 * analysed wrongly.  Everything is read in primary-key order, one pass per
 * table, so SQLite streams it without sorting.
 */
#include "analysis/analysis.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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

static int load_objects(struct hgraph *h, char *err, size_t errlen)
{
    const char *sql = h->typed ? "SELECT id, addr, size, state = 'used', type_id FROM objects ORDER BY id"
                               : "SELECT id, addr, size, state = 'used', NULL FROM objects ORDER BY id";
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
        h->used[i] = (uint8_t)sqlite3_column_int(s, 3);
        if (sqlite3_column_type(s, 4) != SQLITE_NULL)
            h->group[i] = HG_TYPED | (uint64_t)sqlite3_column_int64(s, 4);
        else
            h->group[i] = h->osize[i];
        h->nsize[hg_obj_node(h, i)] = h->used[i] ? h->osize[i] : 0;
        if (h->used[i]) {
            h->used_bytes += h->osize[i];
            h->used_count++;
        }
        i++;
        if ((i & 0xfffff) == 0)
            cli_progress("loading objects", i, h->nobjs);
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

/* Edges: super-root -> every root, then every ref whose source is a root or
 * a used object and whose target is a used object. */
static int load_refs(struct hgraph *h, unsigned flags, char *err, size_t errlen)
{
    int64_t want = flags & HG_NO_REFS ? 0 : scalar(h->db, "SELECT refs FROM snapshot", 0);
    struct graph_edges el = {0};
    size_t cap = (size_t)(want > 0 ? want : 0) + h->nroots + 16;
    if (!(el.e = malloc(cap * sizeof *el.e))) {
        snprintf(err, errlen, "%s: out of memory for %zu references", h->file, cap);
        return -1;
    }
    el.cap = cap;
    for (uint32_t i = 1; i <= h->nroots; i++)
        el.e[el.len++] = (struct graph_edge){0, i};
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(h->db, flags & HG_NO_REFS ? "SELECT src, dst FROM refs LIMIT 0" : "SELECT src, dst FROM refs",
                           -1, &s, NULL) != SQLITE_OK) {
        graph_edges_free(&el);
        return sql_fail(h, "reading refs", err, errlen);
    }
    int rc;
    uint64_t seen = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        uint32_t a = hg_id_node(h, sqlite3_column_int64(s, 0));
        uint32_t b = hg_id_node(h, sqlite3_column_int64(s, 1));
        if ((++seen & 0xfffff) == 0)
            cli_progress("loading references", seen, (uint64_t)(want > 0 ? want : 0));
        if (a == GRAPH_NONE || a == 0 || b == GRAPH_NONE || !hg_is_obj(h, b))
            continue;
        if (hg_is_obj(h, a) && !h->used[hg_obj_index(h, a)])
            continue; /* a free chunk's stale words keep nothing alive */
        if (!h->used[hg_obj_index(h, b)])
            continue;
        if (graph_edges_add(&el, a, b)) {
            sqlite3_finalize(s);
            graph_edges_free(&el);
            snprintf(err, errlen, "%s: out of memory for references", h->file);
            return -1;
        }
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        graph_edges_free(&el);
        return sql_fail(h, "reading refs", err, errlen);
    }
    int g = graph_build(&h->g, h->n, el.e, el.len);
    int e = errno;
    graph_edges_free(&el);
    if (g) {
        snprintf(err, errlen, "%s: building the graph: %s", h->file, strerror(e));
        return -1;
    }
    return 0;
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
    /* reading through a memory map skips a copy per page: the load is most
     * of an analysis's time on a big heap */
    sqlite3_exec(db, "PRAGMA mmap_size = 68719476736; PRAGMA cache_size = -65536", NULL, NULL, NULL);
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
    if (h->typed && sqlite3_prepare_v2(db, "SELECT name FROM types WHERE id = ?", -1, &h->type_name, NULL) != SQLITE_OK)
        h->type_name = NULL;
    h->roots = calloc(h->nroots + 1, sizeof *h->roots);
    h->addr = malloc((h->nobjs + 1) * sizeof *h->addr);
    h->osize = malloc((h->nobjs + 1) * sizeof *h->osize);
    h->used = malloc(h->nobjs + 1);
    h->group = malloc((h->nobjs + 1) * sizeof *h->group);
    h->nsize = calloc(h->n, sizeof *h->nsize);
    if (!h->roots || !h->addr || !h->osize || !h->used || !h->group || !h->nsize) {
        snprintf(err, errlen, "%s: out of memory for %u objects", file, h->nobjs);
        return -1;
    }
    int rc = load_objects(h, err, errlen) || load_roots(h, err, errlen) || load_refs(h, flags, err, errlen) ? -1 : 0;
    cli_progress_done();
    return rc;
}

void hgraph_free(struct hgraph *h)
{
    if (h->roots)
        for (uint32_t i = 0; i < h->nroots; i++)
            free(h->roots[i].name);
    free(h->roots);
    free(h->addr);
    free(h->osize);
    free(h->used);
    free(h->group);
    free(h->nsize);
    graph_free(&h->g);
    sqlite3_finalize(h->type_name);
    memset(h, 0, sizeof *h);
}
