/*
 * diff.c — comparing snapshots of one process for `heapsnap diff`: which
 * objects are the same object, what is new and what is gone per type, and
 * who holds the growth.
 *
 * Identity.  A heap object has no identity but its address, and addresses
 * are reused, so the match is a rule of thumb (docs/analyses.md says it to
 * users): same address, same usable size, same type, and when the older
 * object's first word points into a read-only part of a module (a C++ vtable,
 * a Go type descriptor, a function table) the same first word — a different
 * class at a reused address then counts as new.  A block freed and
 * allocated again at the same address with the same size and kind is
 * still taken for the old one: churn is under-counted, growth never
 * invented.  Both object lists are in address order, so matching is one
 * merge, O(n).
 *
 * Growth is attributed through the dominator tree of the newer snapshot:
 * from a new object, up the idom chain to the first node that existed
 * before (an old object) or is a root.  "global cache -> [4096 bytes] ->
 * 12000 x [48 bytes]" is that walk read backwards.  The walk is memoised
 * along the way, so a million-long new list costs O(n), not O(n^2).
 */
#include "analysis/analysis.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hsnap.h"

static int64_t scalar_text(sqlite3 *db, const char *sql, char *out, size_t len)
{
    sqlite3_stmt *s;
    out[0] = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        snprintf(out, len, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return out[0] ? 0 : -1;
}

int dwords_load(struct dwords *w, const struct hgraph *h, const char *snapshot, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    w->word = calloc(h->nobjs + 1, sizeof *w->word);
    w->known = calloc(h->nobjs + 1, 1);
    if (!w->word || !w->known) {
        snprintf(err, errlen, "%s: out of memory", h->file);
        return -1;
    }
    /* read-only mappings of files: where vtables and type descriptors live */
    sqlite3_stmt *s;
    size_t cap = 0;
    if (sqlite3_prepare_v2(h->db, "SELECT start, end FROM mappings WHERE path <> '' AND path NOT LIKE '[%'"
                           " AND perms NOT LIKE '_w%' ORDER BY start", -1, &s, NULL) == SQLITE_OK) {
        while (sqlite3_step(s) == SQLITE_ROW) {
            if (w->nro == cap) {
                cap = cap ? 2 * cap : 64;
                void *n = realloc(w->ro, cap * sizeof *w->ro);
                if (!n) {
                    sqlite3_finalize(s);
                    snprintf(err, errlen, "%s: out of memory", h->file);
                    return -1;
                }
                w->ro = n;
            }
            w->ro[w->nro][0] = (uint64_t)sqlite3_column_int64(s, 0);
            w->ro[w->nro][1] = (uint64_t)sqlite3_column_int64(s, 1);
            w->nro++;
        }
        sqlite3_finalize(s);
    }
    char path[4096];
    if (snapshot)
        snprintf(path, sizeof path, "%s", snapshot);
    else if (scalar_text(h->db, "SELECT path FROM snapshot", path, sizeof path))
        return 0;
    struct hs_error herr;
    struct hs_snapshot *snap = hs_open(path, 0, &herr);
    if (!snap)
        return 0; /* compared by address, size and type only */
    for (uint32_t i = 0; i < h->nobjs; i++)
        if (h->used[i] && h->osize[i] >= 8 && hs_read_u64(snap, h->addr[i], &w->word[i]) == 0)
            w->known[i] = 1;
    hs_close(snap);
    w->available = 1;
    return 0;
}

void dwords_free(struct dwords *w)
{
    free(w->word);
    free(w->known);
    free(w->ro);
    memset(w, 0, sizeof *w);
}

/* 1 if v points into one of the read-only module mappings. */
static int in_ro(const struct dwords *w, uint64_t v)
{
    size_t a = 0, b = w->nro;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (w->ro[m][1] <= v)
            a = m + 1;
        else
            b = m;
    }
    return a < w->nro && w->ro[a][0] <= v && v < w->ro[a][1];
}

static int same(const struct hgraph *a, const struct dwords *wa, uint32_t i, const struct hgraph *b,
                const struct dwords *wb, uint32_t j)
{
    if (!a->used[i] || !b->used[j] || a->osize[i] != b->osize[j] || a->group[i] != b->group[j])
        return 0;
    if (wa->known[i] && wb->known[j] && in_ro(wa, wa->word[i]))
        return wa->word[i] == wb->word[j];
    return 1;
}

int diff_match(const struct hgraph *a, const struct dwords *wa, const struct hgraph *b, const struct dwords *wb,
               uint32_t **ab, uint32_t **ba)
{
    *ab = malloc((a->nobjs + 1) * sizeof **ab);
    *ba = malloc((b->nobjs + 1) * sizeof **ba);
    if (!*ab || !*ba)
        return -1;
    for (uint32_t i = 0; i < a->nobjs; i++)
        (*ab)[i] = GRAPH_NONE;
    for (uint32_t j = 0; j < b->nobjs; j++)
        (*ba)[j] = GRAPH_NONE;
    uint32_t i = 0, j = 0;
    while (i < a->nobjs && j < b->nobjs) {
        if (a->addr[i] < b->addr[j]) {
            i++;
        } else if (a->addr[i] > b->addr[j]) {
            j++;
        } else {
            if (same(a, wa, i, b, wb, j)) {
                (*ab)[i] = j;
                (*ba)[j] = i;
            }
            i++;
            j++;
        }
    }
    return 0;
}

static int by_delta(const void *x, const void *y)
{
    const struct diff_group *p = x, *q = y;
    int64_t dp = (int64_t)p->alloc - (int64_t)p->freed, dq = (int64_t)q->alloc - (int64_t)q->freed;
    if (dp != dq)
        return dp < dq ? 1 : -1;
    return p->key < q->key ? -1 : p->key > q->key;
}

static struct diff_group *group_of(struct keymap *m, struct diff_group **v, size_t *n, size_t *cap, uint64_t key)
{
    uint32_t *x = keymap_get(m, key, (uint32_t)*n);
    if (!x)
        return NULL;
    if (*x == *n) {
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 64;
            struct diff_group *nv = realloc(*v, *cap * sizeof *nv);
            if (!nv)
                return NULL;
            *v = nv;
        }
        (*v)[(*n)++] = (struct diff_group){.key = key};
    }
    return &(*v)[*x];
}

int diff_groups(const struct hgraph *a, const uint32_t *ab, const struct hgraph *b, const uint32_t *ba,
                struct diff_group **out, size_t *n)
{
    struct keymap m = {0};
    size_t cap = 0;
    struct diff_group *g;
    *out = NULL;
    *n = 0;
    for (uint32_t i = 0; i < a->nobjs; i++) {
        if (!hg_program(a, i) || ab[i] != GRAPH_NONE)
            continue;
        if (!(g = group_of(&m, out, n, &cap, a->group[i])))
            goto oom;
        g->ndel++;
        g->freed += a->osize[i];
    }
    for (uint32_t j = 0; j < b->nobjs; j++) {
        if (!hg_program(b, j) || ba[j] != GRAPH_NONE)
            continue;
        if (!(g = group_of(&m, out, n, &cap, b->group[j])))
            goto oom;
        g->nnew++;
        g->alloc += b->osize[j];
    }
    keymap_free(&m);
    if (*n > 1)
        qsort(*out, *n, sizeof **out, by_delta);
    return 0;
oom:
    keymap_free(&m);
    return -1;
}

/* A stop: where the walk up from a new object ends. */
static int stop_here(const struct hgraph *h, const uint8_t *old, uint32_t v)
{
    return v == 0 || hg_is_root(h, v) || old[hg_obj_index(h, v)];
}

struct growth_item {
    uint32_t retainer;
    uint32_t obj;
    uint64_t key;
};

static int by_retainer_key(const void *x, const void *y)
{
    const struct growth_item *p = x, *q = y;
    if (p->retainer != q->retainer)
        return p->retainer < q->retainer ? -1 : 1;
    if (p->key != q->key)
        return p->key < q->key ? -1 : 1;
    return p->obj < q->obj ? -1 : p->obj > q->obj;
}

static int by_bytes(const void *x, const void *y)
{
    const struct diff_growth *p = x, *q = y;
    if (p->bytes != q->bytes)
        return p->bytes < q->bytes ? 1 : -1;
    return p->retainer < q->retainer ? -1 : p->retainer > q->retainer;
}

int diff_growth(const struct hgraph *h, const struct hresults *r, const uint8_t *old, const uint8_t *consider,
                struct diff_growth **out, size_t *n, uint32_t **retainer_of)
{
    *out = NULL;
    *n = 0;
    uint32_t *ret = malloc((h->nobjs + 1) * sizeof *ret), *path = malloc((h->nobjs + 1) * sizeof *path);
    struct growth_item *items = NULL;
    size_t nitems = 0;
    int rc = -1;
    if (!ret || !path)
        goto out;
    for (uint32_t i = 0; i < h->nobjs; i++)
        ret[i] = GRAPH_NONE;
    for (uint32_t i = 0; i < h->nobjs; i++) {
        if (!consider[i] || !hg_program(h, i) || r->idom[hg_obj_node(h, i)] == GRAPH_NONE)
            continue;
        nitems++;
        if (ret[i] != GRAPH_NONE)
            continue;
        /* climb until a stop or an object whose retainer is known */
        uint32_t len = 0, v = r->idom[hg_obj_node(h, i)], found;
        path[len++] = i;
        for (;;) {
            if (stop_here(h, old, v)) {
                found = v;
                break;
            }
            uint32_t k = hg_obj_index(h, v);
            if (ret[k] != GRAPH_NONE) {
                found = ret[k];
                break;
            }
            path[len++] = k;
            v = r->idom[v];
        }
        while (len)
            ret[path[--len]] = found;
    }
    if (!(items = malloc((nitems ? nitems : 1) * sizeof *items)))
        goto out;
    nitems = 0;
    for (uint32_t i = 0; i < h->nobjs; i++)
        if (consider[i] && hg_program(h, i) && r->idom[hg_obj_node(h, i)] != GRAPH_NONE)
            items[nitems++] = (struct growth_item){ret[i], i, h->group[i]};
    if (nitems > 1)
        qsort(items, nitems, sizeof *items, by_retainer_key);
    size_t cap = 0;
    for (size_t k = 0; k < nitems; k++) {
        if (!*n || (*out)[*n - 1].retainer != items[k].retainer || (*out)[*n - 1].key != items[k].key) {
            if (*n == cap) {
                cap = cap ? 2 * cap : 64;
                struct diff_growth *nv = realloc(*out, cap * sizeof *nv);
                if (!nv)
                    goto out;
                *out = nv;
            }
            (*out)[(*n)++] = (struct diff_growth){.retainer = items[k].retainer, .key = items[k].key,
                                                  .example = items[k].obj};
        }
        (*out)[*n - 1].count++;
        (*out)[*n - 1].bytes += h->osize[items[k].obj];
    }
    if (*n > 1)
        qsort(*out, *n, sizeof **out, by_bytes);
    rc = 0;
out:
    free(path);
    free(items);
    if (rc == 0 && retainer_of)
        *retainer_of = ret;
    else
        free(ret);
    return rc;
}

const char *diff_retainer_name(const struct hgraph *h, const struct hresults *r, uint32_t v, char *buf, size_t len)
{
    char a[256], b[256];
    if (!hg_is_obj(h, v))
        return hg_node_name(h, v, buf, len);
    uint32_t up = v;
    while (up != 0 && !hg_is_root(h, up) && up != GRAPH_NONE)
        up = r->idom[up];
    snprintf(buf, len, "%s -> %s", hg_node_name(h, up == GRAPH_NONE ? 0 : up, a, sizeof a),
             hg_node_name(h, v, b, sizeof b));
    return buf;
}
