/*
 * gofmt.c — Go values printed as Go's fmt prints them with %#v (decode.h:
 * ty_format_go), for `heapsnap show` on a Go heap.
 *
 * The types are DWARF's, as Go's linker writes them (TYF_GO), and are told
 * apart by their structure and Go's own names for them:
 *   string          a struct "string" of {str *uint8, len int}:
 *                   "text", quoted as strconv.Quote does
 *   []T             a struct named "[]T" of {array *T, len, cap int}:
 *                   []T{e0, e1} ("[]T(nil)" for a nil slice)
 *   interface       a TYF_DYNAMIC struct {type word, data}: the dynamic type
 *                   from env->go_type; a pointer-shaped one as (*T)(0xc000),
 *                   another by its boxed value; interface {}(nil) when nil
 *   map[K]V         a typedef "map[K]V" of a pointer to the runtime's map,
 *                   walked as the runtime lays it out: a Swiss map (Go
 *                   1.24+: map<K,V> {dirPtr, dirLen}: one group when dirLen
 *                   is 0, else a directory of tables, each {groups {data,
 *                   lengthMask}}) or an hmap (Go 1.19: hash<K,V> {B,
 *                   buckets, oldbuckets}, buckets chained by overflow); the
 *                   full slots (ty_go_group) as map[K]V{k:v, ...}, keys
 *                   sorted as fmt sorts them (numbers by value, strings by
 *                   bytes, the rest by their text)
 *   pointers        (*T)(0xc000), (*T)(nil); unsafe.Pointer(0xc000)
 *   structs         main.T{A:1, B:"x"}; arrays [2]int{1, 2}
 *   scalars         ints in decimal; unsigned ints (uint8, uintptr...) as
 *                   0x1f as %#v writes them; floats in %v's shortest form;
 *                   bool true/false
 * As in decode.c, every byte comes from the caller's buffer or env->read,
 * nesting is bounded (TY_MAX_DEPTH) and so is the output; a slice shows
 * at most GO_ELEMS elements and a string GO_STR bytes, then "...".
 */
#include "types/decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GO_ELEMS 200
#define GO_STR   4096
#define GO_OUT   (1u << 20)
#define GO_MAP_ENTRIES 10000   /* entries of one map collected for sorting */
#define GO_MAP_GROUPS  (1u << 20) /* groups or buckets visited in one map */

struct gf {
    const struct tytab *t;
    const struct ty_env *env;
    struct tybuf *b;
};

static void puts_b(struct tybuf *b, const char *s)
{
    tybuf_add(b, s, strlen(s));
}

static int go_flag(const struct tytab *t, uint32_t id)
{
    return id && id < t->n && (t->v[id].flags & TYF_GO);
}

/* The field of record r named name, or NULL. */
static const struct ty_field *field(const struct tytab *t, const struct ty *r, const char *name)
{
    for (uint32_t i = 0; i < r->n; i++)
        if (!strcmp(ty_str(t, t->f[r->first + i].name), name))
            return &t->f[r->first + i];
    return NULL;
}

static uint64_t word(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

enum shape { G_OTHER, G_STRING, G_SLICE };

static enum shape shape_of(const struct tytab *t, const struct ty *y)
{
    if (y->kind != TY_STRUCT || !(y->flags & TYF_GO) || y->size != (y->n == 2 ? 16u : 24u))
        return G_OTHER;
    const char *n = ty_name(t, (uint32_t)(y - t->v));
    const struct ty_field *a = field(t, y, "str"), *l = field(t, y, "len"), *c = field(t, y, "cap");
    if (y->n == 2 && !strcmp(n, "string") && a && a->offset == 0 && l && l->offset == 8)
        return G_STRING;
    a = field(t, y, "array");
    if (y->n == 3 && !strncmp(n, "[]", 2) && a && a->offset == 0 && l && l->offset == 8 && c && c->offset == 16)
        return G_SLICE;
    return G_OTHER;
}

/* strconv.Quote's escapes (ASCII; other bytes as \x..) */
static void quote(struct tybuf *b, const uint8_t *s, size_t n, int more)
{
    puts_b(b, "\"");
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        switch (c) {
        case '"': puts_b(b, "\\\""); break;
        case '\\': puts_b(b, "\\\\"); break;
        case '\n': puts_b(b, "\\n"); break;
        case '\t': puts_b(b, "\\t"); break;
        case '\r': puts_b(b, "\\r"); break;
        case '\a': puts_b(b, "\\a"); break;
        case '\b': puts_b(b, "\\b"); break;
        case '\f': puts_b(b, "\\f"); break;
        case '\v': puts_b(b, "\\v"); break;
        default:
            if (c >= 0x20 && c < 0x7f)
                tybuf_add(b, (const char *)&c, 1);
            else
                tybuf_printf(b, "\\x%02x", c);
        }
    }
    puts_b(b, more ? "\"..." : "\"");
}

/* %v's float: the shortest digits that read back, %e form below 1e-4 and
 * from 1e21 (strconv 'g', -1 as fmt uses it). */
static void go_float(struct tybuf *b, double d, int size)
{
    char s[64];
    if (d != d) {
        puts_b(b, "NaN");
        return;
    }
    if (d > 1.7976931348623157e308 || d < -1.7976931348623157e308) {
        puts_b(b, d > 0 ? "+Inf" : "-Inf");
        return;
    }
    int p = 1;
    for (; p < 17; p++) {
        snprintf(s, sizeof s, "%.*e", p - 1, d);
        if (size == 4 ? (float)strtod(s, NULL) == (float)d : strtod(s, NULL) == d)
            break;
    }
    snprintf(s, sizeof s, "%.*e", p - 1, d);
    int exp = atoi(strchr(s, 'e') + 1);
    if (exp < -4 || exp >= 21) {
        puts_b(b, s); /* C writes e+06 as Go does */
        return;
    }
    int dec = p - 1 - exp;
    snprintf(s, sizeof s, "%.*f", dec > 0 ? dec : 0, d);
    puts_b(b, s);
}

static void value(struct gf *g, uint32_t type, const uint8_t *p, size_t len, int depth);

int ty_go_group(const struct tytab *t, uint32_t type, const uint8_t *b, size_t n, struct ty_go_slots *s)
{
    uint32_t r = ty_resolve(t, type);
    const struct ty *y = r ? &t->v[r] : NULL;
    if (!y || y->kind != TY_STRUCT || !(y->flags & TYF_GO) || y->size > n || y->n < 2)
        return 0;
    const struct ty_field *f0 = &t->f[y->first], *f1 = f0 + 1;
    const char *n0 = ty_str(t, f0->name), *n1 = ty_str(t, f1->name);
    memset(s, 0, sizeof *s);
    s->overflow_off = -1;
    if (y->n == 2 && !strcmp(n0, "ctrl") && !strcmp(n1, "slots") && f0->offset + 8 <= n) {
        uint32_t ar = ty_resolve(t, f1->type), st = ar ? ty_resolve(t, t->v[ar].target) : 0;
        if (!ar || t->v[ar].kind != TY_ARRAY || t->v[ar].count != 8 || !st || t->v[st].n != 2 ||
            f1->offset + 8 * t->v[st].size > n)
            return 0;
        const struct ty_field *kf = &t->f[t->v[st].first], *vf = kf + 1;
        uint64_t ctrl = word(b + f0->offset);
        s->key_type = kf->type, s->value_type = vf->type;
        for (int i = 0; i < 8; i++) {
            s->key_off[i] = f1->offset + (uint64_t)i * t->v[st].size + kf->offset;
            s->value_off[i] = f1->offset + (uint64_t)i * t->v[st].size + vf->offset;
            s->full[i] = !((ctrl >> (8 * i)) & 0x80);
        }
        return 8;
    }
    if (y->n < 3 || strcmp(n0, "tophash") || strcmp(n1, "keys"))
        return 0;
    const struct ty_field *vf = f1 + 1;
    if (strcmp(ty_str(t, vf->name), "elems") && strcmp(ty_str(t, vf->name), "values"))
        return 0;
    uint32_t ka = ty_resolve(t, f1->type), va = ty_resolve(t, vf->type);
    if (!ka || !va || t->v[ka].kind != TY_ARRAY || t->v[va].kind != TY_ARRAY || t->v[ka].count != 8 ||
        t->v[va].count != 8 || f0->offset + 8 > n)
        return 0;
    uint32_t kr = ty_resolve(t, t->v[ka].target), vr = ty_resolve(t, t->v[va].target);
    if (!kr || !vr)
        return 0;
    s->key_type = t->v[ka].target, s->value_type = t->v[va].target;
    for (int i = 0; i < 8; i++) {
        s->key_off[i] = f1->offset + (uint64_t)i * t->v[kr].size;
        s->value_off[i] = vf->offset + (uint64_t)i * t->v[vr].size;
        s->full[i] = b[f0->offset + (uint64_t)i] >= 5;
    }
    const struct ty_field *of = y->n >= 4 ? vf + 1 : NULL;
    if (of && !strcmp(ty_str(t, of->name), "overflow") && of->offset + 8 <= n)
        s->overflow_off = (int64_t)of->offset;
    return 8;
}

/* One map entry, formatted, with what fmt sorts it by. */
struct entry {
    char *k, *v;
    int numeric;
    int64_t ik;
    char *raw;      /* a string key's bytes */
    size_t rawn;
};

static int by_key(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->numeric && y->numeric)
        return x->ik < y->ik ? -1 : x->ik > y->ik;
    if (x->raw && y->raw) {
        size_t n = x->rawn < y->rawn ? x->rawn : y->rawn;
        int c = memcmp(x->raw, y->raw, n);
        return c ? c : (x->rawn > y->rawn) - (x->rawn < y->rawn);
    }
    return strcmp(x->k ? x->k : "", y->k ? y->k : "");
}

struct mapwalk {
    struct gf *g;
    int depth;
    struct entry *e;
    size_t n, cap;
    uint64_t visited;
    int more;       /* entries past GO_MAP_ENTRIES */
};

static void add_entries(struct mapwalk *m, uint32_t group_type, const uint8_t *b, size_t len)
{
    struct ty_go_slots sl;
    if (!ty_go_group(m->g->t, group_type, b, len, &sl))
        return;
    uint32_t kr = ty_resolve(m->g->t, sl.key_type);
    const struct ty *ky = kr ? &m->g->t->v[kr] : NULL;
    for (int i = 0; i < 8; i++) {
        if (!sl.full[i])
            continue;
        if (m->n == GO_MAP_ENTRIES) {
            m->more = 1;
            return;
        }
        if (m->n == m->cap) {
            size_t nc = m->cap ? 2 * m->cap : 16;
            struct entry *v = realloc(m->e, nc * sizeof *v);
            if (!v) {
                m->g->b->oom = 1;
                return;
            }
            m->e = v, m->cap = nc;
        }
        struct entry *e = &m->e[m->n++];
        memset(e, 0, sizeof *e);
        struct tybuf kb = {0}, vb = {0};
        struct gf sub = {m->g->t, m->g->env, &kb};
        value(&sub, sl.key_type, b + sl.key_off[i], len - sl.key_off[i], m->depth + 1);
        sub.b = &vb;
        value(&sub, sl.value_type, b + sl.value_off[i], len - sl.value_off[i], m->depth + 1);
        e->k = kb.s, e->v = vb.s;
        int64_t iv;
        double dv;
        if (ky && ky->kind == TY_BASE && !(ky->flags & TYF_FLOAT) &&
            ty_scalar(m->g->t, kr, b + sl.key_off[i], len - sl.key_off[i], 0, 0, &iv, &dv))
            e->numeric = 1, e->ik = iv;
        uint64_t sa, sn, sc;
        if (ky && ty_go_extent(m->g->t, sl.key_type, b + sl.key_off[i], len - sl.key_off[i], &sa, &sn, &sc) == 's' &&
            sn <= GO_STR && m->g->env && m->g->env->read && (e->raw = malloc(sn ? sn : 1)) &&
            m->g->env->read(m->g->env->u, sa, e->raw, (size_t)sn) == 0)
            e->rawn = (size_t)sn;
        else if (e->raw) {
            free(e->raw);
            e->raw = NULL;
        }
    }
}

/* Read one group or bucket of type gt at a into a buffer and add its entries; a
 * bucket's overflow address in *next (0 if none). */
static int visit(struct mapwalk *m, uint32_t gt, uint64_t a, uint64_t *next)
{
    uint32_t r = ty_resolve(m->g->t, gt);
    uint64_t size = r ? m->g->t->v[r].size : 0;
    *next = 0;
    if (!size || size > (1u << 20) || ++m->visited > GO_MAP_GROUPS || !m->g->env || !m->g->env->read)
        return -1;
    uint8_t *b = malloc(size);
    if (!b || m->g->env->read(m->g->env->u, a, b, (size_t)size)) {
        free(b);
        return -1;
    }
    add_entries(m, gt, b, (size_t)size);
    struct ty_go_slots sl;
    if (ty_go_group(m->g->t, gt, b, (size_t)size, &sl) && sl.overflow_off >= 0)
        *next = word(b + sl.overflow_off);
    free(b);
    return 0;
}

/* The pointee of a pointer-typed field's type: 0 if not a pointer. */
static uint32_t pointee(const struct tytab *t, const struct ty_field *f)
{
    uint32_t r = f ? ty_resolve(t, f->type) : 0;
    return r && t->v[r].kind == TY_POINTER ? t->v[r].target : 0;
}

static int read_struct(struct gf *g, uint32_t type, uint64_t a, uint8_t **out, const struct ty **y)
{
    uint32_t r = ty_resolve(g->t, type);
    *y = r ? &g->t->v[r] : NULL;
    *out = NULL;
    if (!*y || (*y)->kind != TY_STRUCT || !(*y)->size || (*y)->size > 4096 || !g->env || !g->env->read)
        return -1;
    *out = malloc((*y)->size);
    if (!*out || g->env->read(g->env->u, a, *out, (size_t)(*y)->size)) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

/* A Swiss map: its groups, through its directory's tables (each once). */
static int walk_swiss(struct mapwalk *m, const struct ty *my, const uint8_t *mb)
{
    const struct tytab *t = m->g->t;
    const struct ty_field *dp = field(t, my, "dirPtr"), *dl = field(t, my, "dirLen");
    uint32_t tbl = ty_resolve(t, pointee(t, dp)); /* dirPtr is **table */
    tbl = tbl && t->v[tbl].kind == TY_POINTER ? t->v[tbl].target : 0;
    uint32_t tr = ty_resolve(t, tbl);
    const struct ty *ty = tr ? &t->v[tr] : NULL;
    const struct ty_field *gr = ty ? field(t, ty, "groups") : NULL;
    uint32_t grr = gr ? ty_resolve(t, gr->type) : 0;
    const struct ty_field *gd = grr ? field(t, &t->v[grr], "data") : NULL, *gm = grr ? field(t, &t->v[grr], "lengthMask") : NULL;
    uint32_t gt = pointee(t, gd);
    if (!gt || !gm)
        return -1;
    uint64_t dir = word(mb + dp->offset), dlen = word(mb + dl->offset), next;
    if (!dir)
        return 0;
    if (dlen == 0)
        return visit(m, gt, dir, &next);
    if (dlen > (1u << 16))
        return -1;
    uint64_t prev = 0;
    for (uint64_t i = 0; i < dlen; i++) {
        uint8_t w[8];
        if (m->g->env->read(m->g->env->u, dir + 8 * i, w, 8))
            return -1;
        uint64_t tp = word(w);
        if (!tp || tp == prev) /* a table spans consecutive directory entries */
            continue;
        prev = tp;
        uint8_t *tb;
        const struct ty *tty;
        if (read_struct(m->g, tbl, tp, &tb, &tty))
            return -1;
        uint64_t data = word(tb + gr->offset + gd->offset), mask = word(tb + gr->offset + gm->offset);
        free(tb);
        uint32_t gsr = ty_resolve(t, gt);
        uint64_t gsize = gsr ? t->v[gsr].size : 0;
        if (mask >= GO_MAP_GROUPS || !gsize)
            return -1;
        for (uint64_t k = 0; k <= mask; k++)
            if (visit(m, gt, data + k * gsize, &next))
                return -1;
    }
    return 0;
}

/* An hmap (Go 1.19): 2^B buckets and their overflow chains, and the old
 * buckets' entries not yet evacuated while it grows. */
static int walk_hmap(struct mapwalk *m, const struct ty *hy, const uint8_t *hb)
{
    const struct tytab *t = m->g->t;
    const struct ty_field *bf = field(t, hy, "B"), *bk = field(t, hy, "buckets"), *ob = field(t, hy, "oldbuckets"),
                          *fl = field(t, hy, "flags");
    uint32_t bt = pointee(t, bk), br = ty_resolve(t, bt);
    uint64_t bsize = br ? t->v[br].size : 0;
    if (!bf || !bt || !bsize || hb[bf->offset] > 30)
        return -1;
    unsigned B = hb[bf->offset];
    for (int pass = 0; pass < 2; pass++) {
        uint64_t base = word(hb + (pass ? ob : bk)->offset);
        if (!base)
            continue;
        /* while growing, the old array is half as large, or as large for a same-size grow (flags & 8) */
        uint64_t nb = (uint64_t)1 << (pass && !(fl && (hb[fl->offset] & 8)) && B ? B - 1 : B);
        for (uint64_t i = 0; i < nb; i++) {
            uint64_t a = base + i * bsize, next;
            for (int chain = 0; a && chain < 65536; chain++, a = next)
                if (visit(m, bt, a, &next))
                    return -1;
        }
    }
    return 0;
}

static void map_value(struct gf *g, uint32_t type, uint64_t hdr, int depth)
{
    const char *name = ty_name(g->t, type);
    if (!hdr) {
        tybuf_printf(g->b, "%s(nil)", name);
        return;
    }
    uint32_t pr = ty_resolve(g->t, type);
    uint8_t *mb;
    const struct ty *my;
    if (!pr || g->t->v[pr].kind != TY_POINTER || read_struct(g, g->t->v[pr].target, hdr, &mb, &my)) {
        tybuf_printf(g->b, "%s(0x%llx)", name, (unsigned long long)hdr);
        return;
    }
    struct mapwalk m = {g, depth, NULL, 0, 0, 0, 0};
    int rc = field(g->t, my, "dirPtr") && field(g->t, my, "dirLen") ? walk_swiss(&m, my, mb)
             : field(g->t, my, "buckets") && field(g->t, my, "B") ? walk_hmap(&m, my, mb)
                                                                  : -1;
    free(mb);
    if (m.n > 1)
        qsort(m.e, m.n, sizeof *m.e, by_key);
    tybuf_printf(g->b, "%s{", name);
    for (size_t i = 0; i < m.n; i++) {
        if (i < GO_ELEMS)
            tybuf_printf(g->b, "%s%s:%s", i ? ", " : "", m.e[i].k ? m.e[i].k : "", m.e[i].v ? m.e[i].v : "");
        free(m.e[i].k);
        free(m.e[i].v);
        free(m.e[i].raw);
    }
    free(m.e);
    if (m.n > GO_ELEMS || m.more)
        puts_b(g->b, ", ...");
    if (rc)
        tybuf_printf(g->b, "%s<map at 0x%llx not wholly readable>", m.n ? ", " : "", (unsigned long long)hdr);
    puts_b(g->b, "}");
}

/* Elements [0, n) of type elem at addr, each read through env. */
static void elements(struct gf *g, uint32_t elem, uint64_t addr, uint64_t n, int depth)
{
    uint32_t e = ty_resolve(g->t, elem);
    uint64_t es = e ? g->t->v[e].size : 0;
    if (!e) {
        puts_b(g->b, "<unknown element type>");
        return;
    }
    uint8_t *buf = malloc(es ? es : 1);
    if (!buf) {
        g->b->oom = 1;
        return;
    }
    for (uint64_t i = 0; i < n && i < GO_ELEMS; i++) {
        if (i)
            puts_b(g->b, ", ");
        if (es && (!g->env || !g->env->read || g->env->read(g->env->u, addr + i * es, buf, (size_t)es))) {
            puts_b(g->b, "<unavailable>");
            break;
        }
        value(g, elem, buf, (size_t)es, depth + 1);
        if (g->b->n > GO_OUT)
            break;
    }
    if (n > GO_ELEMS)
        puts_b(g->b, ", ...");
    free(buf);
}

static void string_value(struct gf *g, const uint8_t *p)
{
    uint64_t s = word(p), n = word(p + 8);
    if (!n) {
        puts_b(g->b, "\"\"");
        return;
    }
    size_t take = n > GO_STR ? GO_STR : (size_t)n;
    uint8_t *buf = malloc(take);
    if (!buf) {
        g->b->oom = 1;
        return;
    }
    if (g->env && g->env->read && !g->env->read(g->env->u, s, buf, take))
        quote(g->b, buf, take, take < n);
    else
        tybuf_printf(g->b, "<string at 0x%llx, len %llu: not captured>", (unsigned long long)s,
                     (unsigned long long)n);
    free(buf);
}

/* The pointee of a slice's array field: the element type. */
static uint32_t slice_elem(const struct tytab *t, const struct ty *y)
{
    const struct ty_field *a = field(t, y, "array");
    uint32_t pr = a ? ty_resolve(t, a->type) : 0;
    return pr && t->v[pr].kind == TY_POINTER ? t->v[pr].target : 0;
}

static void slice_value(struct gf *g, const struct ty *y, const char *name, const uint8_t *p, int depth)
{
    uint64_t a = word(p), n = word(p + 8);
    if (!a) {
        tybuf_printf(g->b, "%s(nil)", name);
        return;
    }
    tybuf_printf(g->b, "%s{", name);
    elements(g, slice_elem(g->t, y), a, n, depth);
    puts_b(g->b, "}");
}

static void iface_value(struct gf *g, uint32_t type, const uint8_t *p, int depth)
{
    uint64_t tw = word(p), data = word(p + 8);
    if (!tw) {
        tybuf_printf(g->b, "%s(nil)", ty_name(g->t, type));
        return;
    }
    int ptr_to = 0;
    uint32_t dyn = g->env && g->env->go_type ? g->env->go_type(g->env->u, tw, &ptr_to) : 0;
    uint32_t r = ty_resolve(g->t, dyn);
    if (r && ptr_to) { /* a *T the DWARF has no type for */
        tybuf_printf(g->b, data ? "(*%s)(0x%llx)" : "(*%s)(nil)", ty_name(g->t, dyn), (unsigned long long)data);
        return;
    }
    if (!r) {
        tybuf_printf(g->b, "%s(<type word 0x%llx>, 0x%llx)", ty_name(g->t, type), (unsigned long long)tw,
                     (unsigned long long)data);
        return;
    }
    const struct ty *y = &g->t->v[r];
    /* pointer-shaped types sit in the data word itself; the others are boxed */
    if (y->kind == TY_POINTER || y->kind == TY_FUNCPTR ||
        (y->kind == TY_TYPEDEF && !strncmp(ty_name(g->t, dyn), "map[", 4))) {
        uint8_t w[8];
        memcpy(w, p + 8, 8);
        value(g, dyn, w, 8, depth + 1);
        return;
    }
    uint64_t size = y->size;
    uint8_t *buf = size && size <= (1u << 20) ? malloc(size) : NULL;
    if (buf && g->env && g->env->read && !g->env->read(g->env->u, data, buf, (size_t)size))
        value(g, dyn, buf, (size_t)size, depth + 1);
    else
        tybuf_printf(g->b, "%s(<boxed at 0x%llx: not captured>)", ty_name(g->t, dyn), (unsigned long long)data);
    free(buf);
}

static void value(struct gf *g, uint32_t type, const uint8_t *p, size_t len, int depth)
{
    uint32_t r = ty_resolve(g->t, type);
    if (!r) {
        puts_b(g->b, "<unknown type>");
        return;
    }
    if (depth > TY_MAX_DEPTH || g->b->n > GO_OUT) {
        puts_b(g->b, "...");
        return;
    }
    const struct ty *y = &g->t->v[r];
    if (y->size > len) {
        puts_b(g->b, "<unavailable>");
        return;
    }
    const char *name = ty_name(g->t, type); /* the named type's, as Go prints it */
    if (y->kind == TY_STRUCT || y->kind == TY_CLASS || y->kind == TY_UNION) {
        enum shape sh = shape_of(g->t, y);
        if (sh == G_STRING) {
            string_value(g, p);
        } else if (sh == G_SLICE) {
            slice_value(g, y, name, p, depth);
        } else if ((y->flags & TYF_DYNAMIC) && y->size == 16) {
            iface_value(g, type, p, depth);
        } else {
            tybuf_printf(g->b, "%s{", name);
            for (uint32_t i = 0; i < y->n; i++) {
                const struct ty_field *f = &g->t->f[y->first + i];
                tybuf_printf(g->b, "%s%s:", i ? ", " : "", ty_str(g->t, f->name));
                value(g, f->type, p + f->offset, f->offset <= len ? len - f->offset : 0, depth + 1);
            }
            puts_b(g->b, "}");
        }
        return;
    }
    if (y->kind == TY_ARRAY) {
        uint32_t e = ty_resolve(g->t, y->target);
        uint64_t es = e ? g->t->v[e].size : 0;
        tybuf_printf(g->b, "%s{", name);
        for (uint64_t i = 0; es && i < y->count && i < GO_ELEMS; i++) {
            if (i)
                puts_b(g->b, ", ");
            value(g, y->target, p + i * es, (size_t)(len - i * es), depth + 1);
        }
        puts_b(g->b, y->count > GO_ELEMS ? ", ...}" : "}");
        return;
    }
    int64_t iv;
    double dv;
    int k = ty_scalar(g->t, r, p, len, 0, 0, &iv, &dv);
    if (!k) {
        puts_b(g->b, "<unknown type>");
        return;
    }
    if (y->kind == TY_POINTER || y->kind == TY_FUNCPTR) {
        const char *tn = ty_name(g->t, type);
        if (!strncmp(tn, "map[", 4) && y->target && depth < TY_MAX_DEPTH / 2)
            map_value(g, type, (uint64_t)iv, depth);
        else if (!strncmp(tn, "map[", 4) || !strncmp(tn, "chan ", 5) || !strncmp(tn, "func(", 5))
            tybuf_printf(g->b, iv ? "%s(0x%llx)" : "%s(nil)", tn, (unsigned long long)iv);
        else if (!strcmp(tn, "unsafe.Pointer"))
            tybuf_printf(g->b, "unsafe.Pointer(0x%llx)", (unsigned long long)iv);
        else
            tybuf_printf(g->b, iv ? "(%s)(0x%llx)" : "(%s)(nil)", tn, (unsigned long long)iv);
        return;
    }
    if (k == 'd') {
        go_float(g->b, dv, (int)y->size);
    } else if (y->flags & TYF_BOOL) {
        puts_b(g->b, iv ? "true" : "false");
    } else if (k == 'i') {
        tybuf_printf(g->b, "%lld", (long long)iv);
    } else {
        tybuf_printf(g->b, "0x%llx", (unsigned long long)iv);
    }
}

int ty_is_go(const struct tytab *t, uint32_t type)
{
    return go_flag(t, type) || go_flag(t, ty_resolve(t, type));
}

void ty_format_go(const struct tytab *t, uint32_t type, const uint8_t *bytes, size_t len, const struct ty_env *env,
                  struct tybuf *b)
{
    struct gf g = {t, env, b};
    value(&g, type, bytes, len, 0);
}

int ty_go_extent(const struct tytab *t, uint32_t type, const uint8_t *bytes, size_t len, uint64_t *addr,
                 uint64_t *n, uint64_t *cap)
{
    uint32_t r = ty_resolve(t, type);
    if (!r || t->v[r].size > len)
        return 0;
    enum shape sh = shape_of(t, &t->v[r]);
    if (sh == G_OTHER)
        return 0;
    *addr = word(bytes);
    *n = word(bytes + 8);
    *cap = sh == G_SLICE ? word(bytes + 16) : *n;
    return sh == G_STRING ? 's' : 'l';
}
