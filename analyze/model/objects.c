/*
 * objects.c — the object table (see objects.h): collect, sort, clean,
 * number, and build the bucket lookup the reference scan leans on.
 *
 * Walkers report chunks arena by arena, so the input is usually a few
 * sorted runs; we check for "already sorted" before paying for a sort.
 */
#include "model/objects.h"

#include "base/grow.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(struct obj) == 24, "struct obj is 24 bytes (objects.h)");

static int add_wide(struct objtab *t, uint64_t addr, uint64_t chunk_off, uint64_t chunk_size)
{
    struct objwide *v = grow_for_one(t->wide, t->nwide, &t->capwide, sizeof *v, 64);
    if (!v)
        return -1;
    t->wide = v;
    t->wide[t->nwide] = (struct objwide){addr, chunk_off, chunk_size, t->nwide};
    t->nwide++;
    return 0;
}

int objtab_add(struct objtab *t, const struct heap_object *o)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap + t->cap / 2 : 4096;
        if (cap > UINT32_MAX - 2)
            cap = UINT32_MAX - 2;
        if (cap <= t->n)
            return -1;
        struct obj *v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return -1;
        t->v = v;
        t->cap = cap;
    }
    /* The chunk header sits just below addr; anything else is a walker
     * mistake we do not want to carry into the database as a huge number. */
    uint64_t off = (o->chunk <= o->addr && o->addr - o->chunk <= UINT32_MAX) ? o->addr - o->chunk : 0;
    uint64_t extra = o->chunk_size - o->size;
    int wide = off >= OBJ_WIDE || o->chunk_size < o->size || extra > UINT16_MAX;
    if (wide && add_wide(t, o->addr, off, o->chunk_size))
        return -1;
    struct obj *d = &t->v[t->n++];
    d->addr = o->addr;
    d->size = o->size;
    d->chunk_off = wide ? OBJ_WIDE : (uint16_t)off;
    d->chunk_extra = wide ? 0 : (uint16_t)extra;
    d->state = o->state;
    d->where = o->where;
    d->arena = o->arena;
    return 0;
}

static int cmp_wide(const void *a, const void *b)
{
    const struct objwide *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void objtab_chunk_wide(const struct objtab *t, const struct obj *o, uint64_t *chunk_off, uint64_t *chunk_extra)
{
    size_t a = 0, b = t->nwide;
    while (a < b) { /* the first entry at or above o->addr */
        size_t m = a + (b - a) / 2;
        if (t->wide[m].addr < o->addr)
            a = m + 1;
        else
            b = m;
    }
    *chunk_off = *chunk_extra = 0;
    if (a < t->nwide && t->wide[a].addr == o->addr) {
        *chunk_off = t->wide[a].chunk_off;
        *chunk_extra = t->wide[a].chunk_size - o->size;
    }
}

static int cmp_obj(const void *a, const void *b)
{
    const struct obj *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return 0;
}

static uint64_t obj_end(const struct obj *o)
{
    return o->addr + (o->size ? o->size : 1);
}

/* Keep the object table sorted and non-overlapping: the lookup's only
 * candidate for p is then the last object starting at or below p. */
static void clean(struct objtab *t, void (*dropped)(void *, const struct obj *, const char *), void *u)
{
    size_t w = 0;
    uint64_t prev_end = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct obj *o = &t->v[i];
        const char *why = NULL;
        if (o->addr + o->size < o->addr || o->addr + o->size == 0)
            why = "size runs past the end of the address space";
        else if (w > 0 && o->addr == t->v[w - 1].addr)
            why = "reported twice";
        else if (w > 0 && o->addr < prev_end)
            why = "overlaps the object before it";
        if (why) {
            if (dropped)
                dropped(u, o, why);
            continue;
        }
        t->v[w++] = *o;
        prev_end = obj_end(o);
    }
    t->n = w;
}

static unsigned log2_floor(uint64_t x)
{
    unsigned r = 0;
    while (x >>= 1)
        r++;
    return r;
}

static int build_lookup(struct objtab *t)
{
    t->nsegs = 0;
    t->lo = t->hi = 0;
    if (t->n == 0)
        return 0;
    /* Pass 1: segment boundaries. */
    size_t nseg = 1;
    for (size_t i = 1; i < t->n; i++)
        if (t->v[i].addr - obj_end(&t->v[i - 1]) > OBJTAB_GAP)
            nseg++;
    t->segs = calloc(nseg, sizeof *t->segs);
    if (!t->segs)
        return -1;
    size_t total = 0, s = 0, start = 0;
    for (size_t i = 1; i <= t->n; i++) {
        if (i < t->n && t->v[i].addr - obj_end(&t->v[i - 1]) <= OBJTAB_GAP)
            continue;
        struct objseg *g = &t->segs[s++];
        g->first = (uint32_t)start;
        g->last = (uint32_t)i;
        g->lo = t->v[start].addr;
        g->hi = obj_end(&t->v[i - 1]);
        uint64_t span = g->hi - g->lo, count = i - start;
        /* about two buckets per object; never finer than 16 bytes */
        unsigned shift = log2_floor(span / (2 * count) + 1);
        if (shift < 4)
            shift = 4;
        g->shift = shift;
        g->nbuckets = (size_t)((span - 1) >> shift) + 1;
        g->bucket0 = total;
        total += g->nbuckets + 1;
        start = i;
    }
    t->nsegs = nseg;
    t->buckets = malloc(total * sizeof *t->buckets);
    if (!t->buckets)
        return -1;
    for (s = 0; s < nseg; s++) {
        const struct objseg *g = &t->segs[s];
        uint32_t *bk = t->buckets + g->bucket0;
        uint32_t i = g->first;
        for (size_t k = 0; k < g->nbuckets; k++) {
            uint64_t base = g->lo + ((uint64_t)k << g->shift);
            while (i < g->last && t->v[i].addr < base)
                i++;
            bk[k] = i;
        }
        bk[g->nbuckets] = g->last;
    }
    t->lo = t->segs[0].lo;
    t->hi = t->segs[nseg - 1].hi;
    return 0;
}

int objtab_finish(struct objtab *t, void (*dropped)(void *, const struct obj *, const char *), void *u)
{
    int sorted = 1;
    for (size_t i = 1; i < t->n && sorted; i++)
        sorted = t->v[i - 1].addr <= t->v[i].addr;
    if (!sorted)
        qsort(t->v, t->n, sizeof *t->v, cmp_obj);
    if (t->nwide)
        qsort(t->wide, t->nwide, sizeof *t->wide, cmp_wide);
    clean(t, dropped, u);
    t->nused = t->nfree = t->ninternal = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->v[i].state != OBJ_USED)
            t->nfree++;
        else if (heap_where_flags(t->v[i].where) & HW_INTERNAL)
            t->ninternal++; /* the allocator's, not a used object (docs/schema.md) */
        else
            t->nused++;
    }
    return build_lookup(t);
}

void objtab_release(struct objtab *t)
{
    free(t->wide);
    t->wide = NULL;
    t->nwide = t->capwide = 0;
    free(t->v);
    free(t->segs);
    free(t->buckets);
    t->v = NULL;
    t->segs = NULL;
    t->buckets = NULL;
    t->nsegs = 0;
    t->lo = t->hi = 0; /* objtab_find() finds nothing from here on */
}

void objtab_free(struct objtab *t)
{
    free(t->wide);
    free(t->v);
    free(t->segs);
    free(t->buckets);
    memset(t, 0, sizeof *t);
}
