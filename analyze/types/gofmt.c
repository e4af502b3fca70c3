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
 *   map[K]V         a typedef "map[K]V" of a pointer to the runtime's map:
 *                   map[K]V(0xc000) — the header's address, as %#v does not
 *                   print (it walks the map); `show` on a map's group or
 *                   bucket lists its entries (cmd_show.c)
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
        if (!strncmp(tn, "map[", 4) || !strncmp(tn, "chan ", 5) || !strncmp(tn, "func(", 5))
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
