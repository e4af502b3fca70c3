/*
 * diff.c — comparing snapshots of one process for `heapsnap diff`: which
 * objects are the same object, what is new and what is gone per type, and
 * who holds the growth.
 *
 * Identity.  A heap object has no identity but its address, and addresses
 * are reused, so the match is a rule of thumb (docs/analyses.md says it to
 * users): same address, same usable size, same type (by name, kind and
 * size, not by types.id, which each database numbers its own way: see
 * "type identity" below), and when the older object's first word points
 * into a read-only part of a module (a C++ vtable, a Go type descriptor, a
 * function table) the same first word — a different class at a reused
 * address then counts as new.  A block freed and
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
#include "core/hscore.h"
#include "analysis/analysis.h"
#include "base/notify.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    /* gathered, not opened: a block at a time, not the whole heap in RSS
     * beside the graphs (objects are in address order, as gathering wants) */
    struct hs_error herr;
    if (hs_gather_u64_any(path, h->addr, h->nobjs, w->word, w->known, &herr)) {
        if (access(path, F_OK) == 0) /* there, but refused: say why; absent is the usual case */
            snprintf(w->why, sizeof w->why, "%s", herr.msg);
        return 0; /* compared by address, size and type only */
    }
    for (uint32_t i = 0; i < h->nobjs; i++)
        if (!h->used[i] || h->osize[i] < 8) {
            w->known[i] = 0;
            w->word[i] = 0;
        }
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

/* ------------------------------------------------------------ type identity
 *
 * types.id is a number local to one database: the typing pass loads a
 * library's types only when one of its variables points at a live object,
 * and a dlopen between snapshots shifts the numbering, so the same struct
 * can be id 3 in A and id 40 in B.  A diff therefore compares types by
 * what survives re-indexing (docs/analyses.md): name, kind and size; when
 * that is not unique on either side, the module path of the row too; and
 * when even that cannot pair them one to one, the rows that look alike are
 * taken for one type (they print the same anyway, and an object at the
 * same address and size with a type of the same name is the old one: the
 * rule's bias, churn under-counted, growth never invented).  Every row is
 * given a number in a numbering common to both sides, B-only types numbers
 * no A type has; keys are compared in that numbering.  Hash-based: O(types
 * + objects).
 */

struct trow {
    uint32_t id;               /* as a group key holds it */
    int side;                  /* 0 a, 1 b */
    char *name, *kind, *mod;   /* NULL for SQL NULL */
    int64_t size;              /* -1 for NULL */
    uint32_t cls, sub;         /* its (name, kind, size) and (..., module) classes */
};

struct tclass {
    const struct trow *rep;    /* the first row of the class, to compare with */
    uint32_t next;             /* the next class with the same hash, or GRAPH_NONE */
    uint32_t n[2];             /* rows of side a, b */
};

struct tclasses {
    struct u64map heads;       /* hash -> first class with it */
    struct tclass *v;
    size_t n, cap;
};

static uint64_t hash_str(uint64_t h, const char *s)
{
    if (!s)
        return (h ^ 0xff) * 0x100000001b3ULL; /* NULL differs from every string, "" included */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
    return (h ^ 0xfe) * 0x100000001b3ULL; /* end marker: ("ab","c") is not ("a","bc") */
}

static int str_eq(const char *x, const char *y)
{
    return x == y || (x && y && !strcmp(x, y));
}

/* The class of r (by name, kind, size and, with_mod, module), created if new. */
static uint32_t tclass_of(struct tclasses *c, const struct trow *r, int with_mod)
{
    uint64_t h = hash_str(hash_str(0xcbf29ce484222325ULL, r->name), r->kind) ^ (uint64_t)r->size * 0x9e3779b97f4a7c15ULL;
    if (with_mod)
        h = hash_str(h, r->mod);
    uint32_t k = u64map_find(&c->heads, h, GRAPH_NONE);
    for (uint32_t x = k; x != GRAPH_NONE; x = c->v[x].next) {
        const struct trow *q = c->v[x].rep;
        if (str_eq(q->name, r->name) && str_eq(q->kind, r->kind) && q->size == r->size &&
            (!with_mod || str_eq(q->mod, r->mod)))
            return c->v[x].n[r->side]++, x;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 256;
        struct tclass *nv = realloc(c->v, c->cap * sizeof *nv);
        if (!nv)
            return GRAPH_NONE;
        c->v = nv;
    }
    uint32_t *head = u64map_slot(&c->heads, h, (uint32_t)c->n);
    if (!head)
        return GRAPH_NONE;
    c->v[c->n] = (struct tclass){.rep = r, .next = k};
    c->v[c->n].n[r->side] = 1;
    *head = (uint32_t)c->n;
    return (uint32_t)c->n++;
}

static char *dup_col(sqlite3_stmt *s, int col, int *oom)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    char *d = t ? strdup((const char *)t) : NULL;
    if (t && !d)
        *oom = 1;
    return d;
}

/* Append h's types rows to *rows; a database without types adds none. */
static int read_types(const struct hgraph *h, int side, struct trow **rows, size_t *n, size_t *cap, char *err,
                      size_t errlen)
{
    sqlite3_stmt *s;
    if (!h->typed)
        return 0;
    /* modules may be missing from a hand-made database: compare without paths then */
    if (sqlite3_prepare_v2(h->db, "SELECT t.id, t.name, t.kind, t.size, m.path FROM types t"
                           " LEFT JOIN modules m ON m.id = t.module", -1, &s, NULL) != SQLITE_OK &&
        sqlite3_prepare_v2(h->db, "SELECT id, name, kind, size, NULL FROM types", -1, &s, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: reading types: %s", h->file, sqlite3_errmsg(h->db));
        return -1;
    }
    int rc, oom = 0;
    while (!oom && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 256;
            struct trow *nv = realloc(*rows, *cap * sizeof *nv);
            if (!nv) {
                oom = 1;
                break;
            }
            *rows = nv;
        }
        struct trow *r = &(*rows)[(*n)++];
        *r = (struct trow){.id = (uint32_t)sqlite3_column_int64(s, 0), .side = side,
                           .size = sqlite3_column_type(s, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 3)};
        r->name = dup_col(s, 1, &oom);
        r->kind = dup_col(s, 2, &oom);
        r->mod = dup_col(s, 4, &oom);
    }
    sqlite3_finalize(s);
    if (oom) {
        snprintf(err, errlen, "%s: out of memory reading types", h->file);
        return -1;
    }
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "%s: reading types: %s", h->file, sqlite3_errmsg(h->db));
        return -1;
    }
    return 0;
}

/* Give every type id an object of h names but its types table lacks a
 * number of its own: it has no identity to match by. */
static int number_dangling(struct u64map *m, const struct hgraph *h, uint32_t *next)
{
    for (uint32_t i = 0; i < h->nobjs; i++) {
        if (!(h->group[i] & HG_TYPED))
            continue;
        uint32_t *x = u64map_slot(m, hg_key_type(h->group[i]), *next);
        if (!x)
            return -1;
        if (*x == *next)
            ++*next;
    }
    return 0;
}

int dtypes_build(struct dtypes *t, const struct hgraph *a, const struct hgraph *b, char *err, size_t errlen)
{
    struct trow *rows = NULL;
    size_t n = 0, cap = 0;
    struct tclasses cls = {0}, sub = {0};
    int rc = -1;
    memset(t, 0, sizeof *t);
    if (read_types(a, 0, &rows, &n, &cap, err, errlen) || read_types(b, 1, &rows, &n, &cap, err, errlen))
        goto out;
    for (size_t k = 0; k < n; k++)
        if ((rows[k].cls = tclass_of(&cls, &rows[k], 0)) == GRAPH_NONE ||
            (rows[k].sub = tclass_of(&sub, &rows[k], 1)) == GRAPH_NONE)
            goto oom;
    if (cls.n + sub.n >= GRAPH_NONE / 2) {
        snprintf(err, errlen, "%s, %s: too many types to compare", a->file, b->file);
        goto out;
    }
    /* numbers: a class is cls index; a pair told apart by module ncls + sub index */
    for (size_t k = 0; k < n; k++) {
        const struct trow *r = &rows[k];
        const struct tclass *c = &cls.v[r->cls], *s = &sub.v[r->sub];
        uint32_t num = r->cls;
        if ((c->n[0] > 1 || c->n[1] > 1) && s->n[0] == 1 && s->n[1] == 1)
            num = (uint32_t)cls.n + r->sub;
        if (!u64map_slot(r->side ? &t->b : &t->a, r->id, num))
            goto oom;
    }
    uint32_t next = (uint32_t)(cls.n + sub.n);
    if (number_dangling(&t->a, a, &next) || number_dangling(&t->b, b, &next))
        goto oom;
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "%s, %s: out of memory comparing types", a->file, b->file);
out:
    for (size_t k = 0; k < n; k++) {
        free(rows[k].name);
        free(rows[k].kind);
        free(rows[k].mod);
    }
    free(rows);
    u64map_free(&cls.heads);
    u64map_free(&sub.heads);
    free(cls.v);
    free(sub.v);
    if (rc)
        dtypes_free(t);
    return rc;
}

void dtypes_free(struct dtypes *t)
{
    u64map_free(&t->a);
    u64map_free(&t->b);
}

uint64_t dtypes_key(const struct u64map *m, uint64_t key)
{
    if (!(key & HG_TYPED))
        return key; /* a size, or malloc's own: the same on both sides */
    /* every typed key's id is in the map (dtypes_build numbers dangling ones) */
    return (key & ~(uint64_t)0xffffffffu) | u64map_find(m, hg_key_type(key), GRAPH_NONE);
}

/* ------------------------------------------------------------ matching */

static int same(const struct hgraph *a, const struct dwords *wa, uint32_t i, const struct hgraph *b,
                const struct dwords *wb, uint32_t j, const struct dtypes *t)
{
    if (!a->used[i] || !b->used[j] || a->osize[i] != b->osize[j] ||
        dtypes_key(&t->a, a->group[i]) != dtypes_key(&t->b, b->group[j]))
        return 0;
    if (wa->known[i] && wb->known[j] && in_ro(wa, wa->word[i]))
        return wa->word[i] == wb->word[j];
    return 1;
}

int diff_match(const struct hgraph *a, const struct dwords *wa, const struct hgraph *b, const struct dwords *wb,
               const struct dtypes *t, uint32_t **ab, uint32_t **ba)
{
    *ab = malloc((a->nobjs + 1) * sizeof **ab);
    *ba = malloc((b->nobjs + 1) * sizeof **ba);
    if (!*ab || !*ba)
        return -1;
    for (uint32_t i = 0; i < a->nobjs; i++)
        (*ab)[i] = GRAPH_NONE;
    for (uint32_t j = 0; j < b->nobjs; j++)
        (*ba)[j] = GRAPH_NONE;
    uint32_t i = 0, j = 0, steps = 0;
    while (i < a->nobjs && j < b->nobjs) {
        if ((++steps & 0xffffu) == 0)
            notify_progress("matching objects", i, a->nobjs);
        if (a->addr[i] < b->addr[j]) {
            i++;
        } else if (a->addr[i] > b->addr[j]) {
            j++;
        } else {
            if (same(a, wa, i, b, wb, j, t)) {
                (*ab)[i] = j;
                (*ba)[j] = i;
            }
            i++;
            j++;
        }
    }
    notify_progress_done();
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

/* The group of common key 'key', created from side h's own key 'own' (which
 * names it) if new. */
static struct diff_group *group_of(struct u64map *m, struct diff_group **v, size_t *n, size_t *cap, uint64_t key,
                                   const struct hgraph *h, uint64_t own)
{
    uint32_t *x = u64map_slot(m, key, (uint32_t)*n);
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
        (*v)[(*n)++] = (struct diff_group){.key = key, .from = h, .own = own};
    }
    return &(*v)[*x];
}

int diff_groups(const struct hgraph *a, const uint32_t *ab, const struct hgraph *b, const uint32_t *ba,
                const struct dtypes *t, struct diff_group **out, size_t *n)
{
    struct u64map m = {0};
    size_t cap = 0;
    struct diff_group *g;
    *out = NULL;
    *n = 0;
    for (uint32_t i = 0; i < a->nobjs; i++) {
        if (!hg_program(a, i) || ab[i] != GRAPH_NONE)
            continue;
        if (!(g = group_of(&m, out, n, &cap, dtypes_key(&t->a, a->group[i]), a, a->group[i])))
            goto oom;
        g->ndel++;
        g->freed += a->osize[i];
    }
    for (uint32_t j = 0; j < b->nobjs; j++) {
        if (!hg_program(b, j) || ba[j] != GRAPH_NONE)
            continue;
        if (!(g = group_of(&m, out, n, &cap, dtypes_key(&t->b, b->group[j]), b, b->group[j])))
            goto oom;
        g->nnew++;
        g->alloc += b->osize[j];
    }
    u64map_free(&m);
    if (*n > 1)
        qsort(*out, *n, sizeof **out, by_delta);
    return 0;
oom:
    u64map_free(&m);
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
    uint32_t up = v, first = v; /* first: the object right below the root */
    while (up != 0 && !hg_is_root(h, up) && up != GRAPH_NONE) {
        first = up;
        up = r->idom[up];
    }
    snprintf(buf, len, "%s -> %s", hg_holder_name(h, up == GRAPH_NONE ? 0 : up, first, a, sizeof a),
             hg_node_name(h, v, b, sizeof b));
    return buf;
}

void diff_mark(const struct hgraph *A, const uint32_t *ab, const struct hgraph *B, const uint32_t *ba, uint8_t *old,
               uint8_t *fresh, struct diff_counts *c)
{
    *c = (struct diff_counts){0};
    for (uint32_t i = 0; i < B->nobjs; i++) {
        old[i] = ba[i] != GRAPH_NONE;
        fresh[i] = hg_program(B, i) && ba[i] == GRAPH_NONE;
        c->nnew += fresh[i];
        c->bnew += fresh[i] ? B->osize[i] : 0;
    }
    for (uint32_t i = 0; i < A->nobjs; i++)
        if (hg_program(A, i) && ab[i] == GRAPH_NONE) {
            c->ndel++;
            c->bdel += A->osize[i];
        }
}
