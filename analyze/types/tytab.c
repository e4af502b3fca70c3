/*
 * tytab.c — the type table (see types.h): storage for types, fields,
 * enumerators and names; deduplication by canonical hash; typedef
 * resolution; the count rule; and the pointer slots of a type, which are
 * all that inference needs to know about a struct.
 *
 * Deduplication.  The DWARF of a C program repeats every header's types in
 * every compilation unit that includes it.  dwtypes.c describes each type
 * canonically (kind, name, size, members by name and offset, the ids of
 * the types it refers to) and hashes that; a type whose hash is already in
 * the table is the same type and gets the same id.  64-bit hashes make a
 * false merge improbable (about 1 in 10^9 for a million types).
 */
#include "types/types.h"

#include <stdlib.h>
#include <string.h>

#include "base/u64map.h"

struct ty_slotcache {
    struct ty_slot *v;
    uint32_t n;
    uint8_t state; /* 0 not computed, 1 being computed (a cycle), 2 done */
};

static const char *const kind_names[TY_KIND_COUNT] = {
    [TY_NONE] = "none",       [TY_BASE] = "base",       [TY_STRUCT] = "struct",
    [TY_UNION] = "union",     [TY_CLASS] = "class",     [TY_ENUM] = "enum",
    [TY_POINTER] = "pointer", [TY_ARRAY] = "array",     [TY_TYPEDEF] = "typedef",
    [TY_FUNCPTR] = "function pointer",
};

const char *ty_kind_name(unsigned kind)
{
    return kind < TY_KIND_COUNT ? kind_names[kind] : "none";
}

int ty_kind_from_name(const char *s)
{
    for (int k = 0; k < TY_KIND_COUNT; k++)
        if (s && !strcmp(s, kind_names[k]))
            return k;
    return TY_NONE;
}

uint64_t ty_hash(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static int grow(void **v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 64;
    while (nc < need)
        nc *= 2;
    void *p = realloc(*v, nc * elem);
    if (!p)
        return -1;
    *v = p;
    *cap = nc;
    return 0;
}

int ty_init(struct tytab *t)
{
    memset(t, 0, sizeof *t);
    t->dedup = u64map_new();
    t->byname = u64map_new();
    if (!t->dedup || !t->byname || grow((void **)&t->v, &t->cap, 1, sizeof *t->v) ||
        grow((void **)&t->str, &t->capstr, 1, 1)) {
        ty_free(t);
        return -1;
    }
    t->str[0] = 0;
    t->nstr = 1;
    memset(&t->v[0], 0, sizeof t->v[0]);
    t->v[0].module = -1;
    t->n = 1;
    return 0;
}

void ty_free(struct tytab *t)
{
    ty_slots_free(t);
    free(t->v);
    free(t->f);
    free(t->e);
    free(t->str);
    free(t->vars);
    free(t->frames);
    free(t->locals);
    u64map_destroy(t->dedup);
    u64map_destroy(t->byname);
    u64map_destroy(t->byrtype);
    memset(t, 0, sizeof *t);
}

uint32_t ty_intern(struct tytab *t, const char *s)
{
    if (!s || !*s)
        return 0;
    size_t len = strlen(s) + 1;
    if (t->nstr + len > UINT32_MAX || grow((void **)&t->str, &t->capstr, t->nstr + len, 1)) {
        t->oom = 1;
        return 0;
    }
    memcpy(t->str + t->nstr, s, len);
    uint32_t off = (uint32_t)t->nstr;
    t->nstr += len;
    return off;
}

uint32_t ty_add(struct tytab *t, uint64_t hash, const struct ty *ty, int *isnew)
{
    uint32_t id;
    *isnew = 0;
    if (u64map_get(t->dedup, hash, &id))
        return id;
    if (t->n >= UINT32_MAX - 1 || grow((void **)&t->v, &t->cap, t->n + 1, sizeof *t->v) ||
        u64map_set(t->dedup, hash, (uint32_t)t->n)) {
        t->oom = 1;
        return 0;
    }
    t->v[t->n] = *ty;
    *isnew = 1;
    return (uint32_t)t->n++;
}

/* Append n elements of size elem from src to *v (count *nv, capacity *cap); the index of the first. */
static uint32_t append(struct tytab *t, void **v, size_t *nv, size_t *cap, const void *src, size_t n,
                       size_t elem)
{
    if (*nv + n > UINT32_MAX || grow(v, cap, *nv + n, elem)) {
        t->oom = 1;
        return 0;
    }
    if (n)
        memcpy((char *)*v + *nv * elem, src, n * elem);
    uint32_t first = (uint32_t)*nv;
    *nv += n;
    return first;
}

uint32_t ty_add_fields(struct tytab *t, const struct ty_field *f, size_t n)
{
    return append(t, (void **)&t->f, &t->nf, &t->capf, f, n, sizeof *f);
}

uint32_t ty_add_enums(struct tytab *t, const struct ty_enum *e, size_t n)
{
    return append(t, (void **)&t->e, &t->ne, &t->cape, e, n, sizeof *e);
}

uint32_t ty_resolve(const struct tytab *t, uint32_t id)
{
    for (int i = 0; id && id < t->n && i < TY_MAX_DEPTH; i++) {
        if (t->v[id].kind != TY_TYPEDEF)
            return id;
        id = t->v[id].target;
    }
    return 0;
}

static int is_record(unsigned kind)
{
    return kind == TY_STRUCT || kind == TY_CLASS || kind == TY_UNION;
}

int ty_index_names(struct tytab *t)
{
    u64map_destroy(t->byname);
    if (!(t->byname = u64map_new()))
        return -1;
    for (uint32_t id = 1; id < t->n; id++) {
        const struct ty *y = &t->v[id];
        if (!is_record(y->kind) || (y->flags & TYF_DECL) || !y->name)
            continue;
        const char *nm = t->str + y->name;
        uint64_t h = ty_hash(TY_HASH0, nm, strlen(nm));
        uint32_t old;
        if (u64map_get(t->byname, h, &old) && t->v[old].size >= y->size &&
            !(t->v[old].flags & TYF_VTABLE))
            continue;
        if (u64map_set(t->byname, h, id))
            return -1;
    }
    return 0;
}

uint32_t ty_by_name(const struct tytab *t, const char *name)
{
    uint32_t id;
    if (!u64map_get(t->byname, ty_hash(TY_HASH0, name, strlen(name)), &id))
        return 0;
    return id < t->n && !strcmp(t->str + t->v[id].name, name) ? id : 0;
}

uint64_t ty_count_for(const struct tytab *t, uint32_t type, uint64_t usable, unsigned slack)
{
    uint32_t r = ty_resolve(t, type);
    if (!r)
        return 0;
    const struct ty *y = &t->v[r];
    uint64_t S = y->size;
    if (!S || S > usable)
        return 0;
    int scalar = y->kind == TY_BASE || y->kind == TY_ENUM || y->kind == TY_POINTER ||
                 y->kind == TY_FUNCPTR;
    if (!scalar && usable < S + slack)
        return 1;
    return usable / S;
}

int ty_holds_bytes(const struct tytab *t, uint32_t type)
{
    uint32_t r = ty_resolve(t, type);
    for (int depth = 0; r && depth < TY_MAX_DEPTH; depth++) {
        const struct ty *y = &t->v[r];
        if (y->kind == TY_BASE)
            return (y->flags & TYF_CHAR) && y->size == 1;
        if (y->kind != TY_ARRAY || !y->count)
            return 0;
        r = ty_resolve(t, y->target);
    }
    return 0;
}

/* ------------------------------------------------------------ pointer slots */

struct slotbuf {
    struct ty_slot *v;
    size_t n, cap;
    int full;
};

static int push_slot(struct slotbuf *b, uint64_t off, uint32_t pointee)
{
    if (b->n >= TY_MAX_FLAT) {
        b->full = 1;
        return 0;
    }
    if (grow((void **)&b->v, &b->cap, b->n + 1, sizeof *b->v))
        return -1;
    b->v[b->n++] = (struct ty_slot){off, pointee};
    return 0;
}

static const struct ty_slot *slots_of(struct tytab *t, uint32_t id, size_t *n, int depth);

/* Append the slots of the type id placed at off. */
static int add_slots_of(struct tytab *t, struct slotbuf *b, uint32_t id, uint64_t off, int depth)
{
    size_t m;
    const struct ty_slot *s = slots_of(t, id, &m, depth + 1);
    if (!s && m == (size_t)-1)
        return -1;
    for (size_t i = 0; i < m && !b->full; i++)
        if (push_slot(b, off + s[i].offset, s[i].pointee))
            return -1;
    return 0;
}

static int compute_slots(struct tytab *t, uint32_t id, struct slotbuf *b, int depth)
{
    const struct ty *y = &t->v[id];
    switch (y->kind) {
    case TY_POINTER: {
        uint32_t p = ty_resolve(t, y->target);
        if (p && t->v[p].size && !(t->v[p].flags & TYF_DECL) && t->v[p].kind != TY_FUNCPTR)
            return push_slot(b, 0, p);
        return 0;
    }
    case TY_STRUCT:
    case TY_CLASS:
        /* an interface value: only its data word, typed by the word before it */
        if (y->flags & TYF_DYNAMIC)
            return y->size >= 16 ? push_slot(b, 8, TY_DYNAMIC_SLOT) : 0;
        for (uint32_t i = 0; i < y->n && !b->full; i++) {
            const struct ty_field *f = &t->f[y->first + i];
            if (f->bit_size)
                continue;
            if (add_slots_of(t, b, f->type, f->offset, depth))
                return -1;
        }
        return 0;
    case TY_ARRAY: {
        uint32_t e = ty_resolve(t, y->target);
        uint64_t es = e ? t->v[e].size : 0;
        if (!es)
            return 0;
        size_t m;
        const struct ty_slot *s = slots_of(t, e, &m, depth + 1);
        if (!s && m == (size_t)-1)
            return -1;
        if (!m)
            return 0;
        for (uint64_t k = 0; k < y->count && !b->full; k++)
            for (size_t i = 0; i < m && !b->full; i++)
                if (push_slot(b, k * es + s[i].offset, s[i].pointee))
                    return -1;
        return 0;
    }
    default: /* unions, scalars, functions: no typed pointers */
        return 0;
    }
}

/* NULL with *n == (size_t)-1 on out-of-memory; NULL with *n == 0 for none. */
static const struct ty_slot *slots_of(struct tytab *t, uint32_t id, size_t *n, int depth)
{
    *n = 0;
    id = ty_resolve(t, id);
    if (!id || depth > TY_MAX_DEPTH)
        return NULL;
    if (t->nslots < t->n) { /* types were added since the cache was made */
        ty_slots_free(t);
        if (!(t->slots = calloc(t->n, sizeof *t->slots))) {
            *n = (size_t)-1;
            return NULL;
        }
        t->nslots = t->n;
    }
    struct ty_slotcache *c = &t->slots[id];
    if (c->state == 2) {
        *n = c->n;
        return c->v;
    }
    if (c->state == 1)
        return NULL; /* a struct containing itself: only hostile DWARF */
    c->state = 1;
    struct slotbuf b = {0};
    if (compute_slots(t, id, &b, depth)) {
        free(b.v);
        c->state = 0;
        *n = (size_t)-1;
        return NULL;
    }
    if (t->slots_total + b.n > TY_MAX_SLOTS) { /* over budget: this type propagates nothing */
        free(b.v);
        b.v = NULL;
        b.n = 0;
    }
    t->slots_total += b.n;
    c->v = b.v;
    c->n = (uint32_t)b.n;
    c->state = 2;
    *n = c->n;
    return c->v;
}

const struct ty_slot *ty_slots(struct tytab *t, uint32_t id, size_t *n)
{
    const struct ty_slot *s = slots_of(t, id, n, 0);
    if (*n == (size_t)-1) {
        t->oom = 1;
        *n = 0;
    }
    return s;
}

void ty_slots_free(struct tytab *t)
{
    for (size_t i = 0; i < t->nslots; i++)
        free(t->slots[i].v);
    free(t->slots);
    t->slots = NULL;
    t->nslots = 0;
    t->slots_total = 0;
}
