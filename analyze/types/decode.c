/*
 * decode.c — typed values printed as gdb prints them, field paths, and
 * scalars (see decode.h).
 *
 * The gdb conventions followed (gdb 13, default settings):
 *  - structs and unions: {a = 1, b = {x = 2}}; a base class <Base> = {...};
 *    an anonymous member's value without a name; static members absent
 *  - arrays: {1, 2, 3}; a run of more than 10 equal elements is written once
 *    as "V <repeats N times>"; at most 200 elements, then "..."
 *  - char arrays as strings: one trailing NUL dropped, runs of more than 10
 *    equal chars as '\000' <repeats N times> between quoted stretches,
 *    non-printable bytes as 3-digit octal escapes
 *  - a char: 65 'A'; bool: true/false; enums by name (a value no enumerator
 *    has: the number); doubles %.17g, floats %.9g
 *  - pointers: 0x0, or the address and " <sym+off>" when it is in a symbol;
 *    a char * also shows the string it points to; a function pointer
 *    0x401136 <handler>
 * Nesting is bounded (TY_MAX_DEPTH); every byte comes from the caller's
 * buffer or ty_env.read, so hostile types cannot make it read elsewhere.
 */
#include "types/decode.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRINT_MAX  200
#define REPEATS    10
#define STR_MAX    200
#define OUT_MAX    (1u << 20) /* bytes of output: hostile types could nest arrays 64 deep */

void tybuf_add(struct tybuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->n + n + 1)
            nc *= 2;
        char *p = realloc(b->s, nc);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->s = p;
        b->cap = nc;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

void tybuf_printf(struct tybuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        tybuf_add(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    tybuf_add(b, big, (size_t)n);
    free(big);
}

void tybuf_free(struct tybuf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

static void puts_b(struct tybuf *b, const char *s)
{
    tybuf_add(b, s, strlen(s));
}

struct fmt {
    const struct tytab *t;
    const uint8_t *bytes;
    size_t len;
    uint64_t addr;
    const struct ty_env *env;
    struct tybuf *b;
};

/* ------------------------------------------------------------ scalars */

static uint64_t load_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n && i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

int ty_scalar(const struct tytab *t, uint32_t type, const uint8_t *bytes, size_t len,
              unsigned bit_size, unsigned bit_offset, int64_t *i, double *d)
{
    uint32_t r = ty_resolve(t, type);
    if (!r)
        return 0;
    const struct ty *y = &t->v[r];
    if (y->kind != TY_BASE && y->kind != TY_ENUM && y->kind != TY_POINTER && y->kind != TY_FUNCPTR)
        return 0;
    if (!y->size || y->size > 16 || y->size > len)
        return 0;
    if (y->flags & TYF_FLOAT) {
        if (y->size == 4) {
            float f;
            memcpy(&f, bytes, 4);
            *d = f;
        } else if (y->size == 8) {
            memcpy(d, bytes, 8);
        } else if (y->size == 16 || y->size == 10) {
            long double ld;
            memcpy(&ld, bytes, sizeof ld < y->size ? sizeof ld : y->size);
            *d = (double)ld;
        } else {
            return 0;
        }
        return 'd';
    }
    size_t n = y->size > 8 ? 8 : (size_t)y->size;
    uint64_t v = load_le(bytes, n);
    int sign = (y->flags & TYF_SIGNED) != 0;
    unsigned bits = (unsigned)(8 * n);
    if (bit_size && bit_size < 64) {
        v >>= bit_offset;
        bits = bit_size;
    }
    if (bits < 64) {
        v &= ((uint64_t)1 << bits) - 1;
        if (sign && (v >> (bits - 1) & 1))
            v |= ~(((uint64_t)1 << bits) - 1);
    }
    *i = (int64_t)v;
    return sign ? 'i' : 'u';
}

/* A character as gdb escapes it inside quote q. */
static void put_char(struct tybuf *b, unsigned char c, char q)
{
    static const char esc[] = "\a\b\f\n\r\t\v";
    static const char let[] = "abfnrtv";
    const char *e = c ? strchr(esc, c) : NULL;
    if (e) {
        char s[3] = {'\\', let[e - esc], 0};
        puts_b(b, s);
    } else if (c == (unsigned char)q || c == '\\') {
        char s[3] = {'\\', (char)c, 0};
        puts_b(b, s);
    } else if (c >= 0x20 && c < 0x7f) {
        tybuf_add(b, (const char *)&c, 1);
    } else {
        tybuf_printf(b, "\\%03o", c);
    }
}

/* gdb's generic_printstr: chars[0..n) as "..." with repeat blocks. */
static void put_string(struct tybuf *b, const uint8_t *s, size_t n, int drop_nul, int ellipsis)
{
    if (drop_nul && n > 0 && s[n - 1] == 0)
        n--;
    if (n == 0) {
        puts_b(b, "\"\"");
        if (ellipsis)
            puts_b(b, "...");
        return;
    }
    enum { START, SINGLE, REPEAT } st = START;
    size_t groups = 0, i = 0;
    for (; i < n && groups < PRINT_MAX; groups++) {
        size_t r = 1;
        while (i + r < n && s[i + r] == s[i])
            r++;
        if (r > REPEATS) {
            if (st == SINGLE)
                puts_b(b, "\", ");
            else if (st == REPEAT)
                puts_b(b, ", ");
            puts_b(b, "'");
            put_char(b, s[i], '\'');
            tybuf_printf(b, "' <repeats %zu times>", r);
            st = REPEAT;
        } else {
            if (st == REPEAT)
                puts_b(b, ", \"");
            else if (st == START)
                puts_b(b, "\"");
            for (size_t k = 0; k < r; k++)
                put_char(b, s[i], '"');
            st = SINGLE;
        }
        i += r;
    }
    if (st == SINGLE)
        puts_b(b, "\"");
    if (ellipsis || i < n)
        puts_b(b, "...");
}

static int is_char_type(const struct tytab *t, uint32_t type)
{
    uint32_t r = ty_resolve(t, type);
    return r && t->v[r].kind == TY_BASE && (t->v[r].flags & TYF_CHAR) && t->v[r].size == 1;
}

/* The " <sym>" gdb adds after an address, and our " <obj ...>". */
static void annotate(struct fmt *f, uint64_t p, int want_obj)
{
    if (!f->env || !f->env->name || !p)
        return;
    char sym[512] = "", obj[512] = "";
    f->env->name(f->env->u, p, sym, sizeof sym, obj, sizeof obj);
    if (sym[0])
        tybuf_printf(f->b, " <%s>", sym);
    if (want_obj && obj[0])
        tybuf_printf(f->b, " <%s>", obj);
}

static void fmt_pointer(struct fmt *f, const struct ty *y, uint64_t p)
{
    tybuf_printf(f->b, "0x%llx", (unsigned long long)p);
    if (y->kind == TY_FUNCPTR) {
        annotate(f, p, 0);
        return;
    }
    annotate(f, p, 1);
    if (!p || !is_char_type(f->t, y->target) || !f->env || !f->env->read)
        return;
    /* the string, as gdb reads it: up to 200 chars, stopping at NUL */
    uint8_t s[STR_MAX + 1];
    size_t n = 0;
    while (n < STR_MAX + 1 && f->env->read(f->env->u, p + n, s + n, 1) == 0 && s[n])
        n++;
    if (n == 0 && f->env->read(f->env->u, p, s, 1) != 0) {
        tybuf_printf(f->b, " <error: Cannot access memory at address 0x%llx>", (unsigned long long)p);
        return;
    }
    puts_b(f->b, " ");
    put_string(f->b, s, n > STR_MAX ? STR_MAX : n, 0, n > STR_MAX);
}

static void fmt_value(struct fmt *f, uint32_t type, uint64_t off, int depth, unsigned bit_size,
                      unsigned bit_offset);

static void fmt_record(struct fmt *f, const struct ty *y, uint64_t off, int depth)
{
    if (y->flags & (TYF_DECL | TYF_VTABLE)) {
        puts_b(f->b, "<incomplete type>");
        return;
    }
    puts_b(f->b, "{");
    for (uint32_t i = 0; i < y->n; i++) {
        const struct ty_field *fl = &f->t->f[y->first + i];
        if (i)
            puts_b(f->b, ", ");
        const char *nm = ty_str(f->t, fl->name);
        if (fl->flags & TYFF_BASE)
            tybuf_printf(f->b, "<%s> = ", nm);
        else if (nm[0])
            tybuf_printf(f->b, "%s = ", nm);
        fmt_value(f, fl->type, off + fl->offset, depth + 1, fl->bit_size, fl->bit_offset);
    }
    puts_b(f->b, "}");
}

static void fmt_array(struct fmt *f, const struct ty *y, uint64_t off, int depth)
{
    uint32_t e = ty_resolve(f->t, y->target);
    uint64_t es = e ? f->t->v[e].size : 0;
    uint64_t n = y->count;
    if (!es || !n) {
        puts_b(f->b, n ? "<unknown element size>" : "{}");
        return;
    }
    if (off > f->len || n > (f->len - off) / es) { /* cut short by the capture or the object */
        puts_b(f->b, "<unavailable>");
        return;
    }
    if (is_char_type(f->t, y->target)) {
        put_string(f->b, f->bytes + off, (size_t)n, 1, 0);
        return;
    }
    puts_b(f->b, "{");
    uint64_t i = 0, printed = 0;
    for (; i < n && printed < PRINT_MAX; i++) {
        if (i)
            puts_b(f->b, ", ");
        uint64_t r = 1;
        while (i + r < n && !memcmp(f->bytes + off + i * es, f->bytes + off + (i + r) * es, es))
            r++;
        fmt_value(f, y->target, off + i * es, depth + 1, 0, 0);
        if (r > REPEATS) {
            tybuf_printf(f->b, " <repeats %llu times>", (unsigned long long)r);
            i += r - 1;
            printed += REPEATS;
        } else {
            printed++;
        }
    }
    if (i < n)
        puts_b(f->b, "...");
    puts_b(f->b, "}");
}

static void fmt_value(struct fmt *f, uint32_t type, uint64_t off, int depth, unsigned bit_size,
                      unsigned bit_offset)
{
    uint32_t r = ty_resolve(f->t, type);
    if (!r) {
        puts_b(f->b, "<unknown type>");
        return;
    }
    if (depth > TY_MAX_DEPTH || f->b->n > OUT_MAX) {
        puts_b(f->b, "...");
        return;
    }
    const struct ty *y = &f->t->v[r];
    if (y->kind == TY_STRUCT || y->kind == TY_CLASS || y->kind == TY_UNION) {
        fmt_record(f, y, off, depth);
        return;
    }
    if (y->kind == TY_ARRAY) {
        fmt_array(f, y, off, depth);
        return;
    }
    int64_t iv;
    double dv;
    int k = off <= f->len ? ty_scalar(f->t, r, f->bytes + off, f->len - off, bit_size, bit_offset, &iv, &dv) : 0;
    if (!k) {
        puts_b(f->b, y->size && off + y->size > f->len ? "<unavailable>" : "<unknown type>");
        return;
    }
    switch (y->kind) {
    case TY_POINTER:
    case TY_FUNCPTR:
        fmt_pointer(f, y, (uint64_t)iv);
        return;
    case TY_ENUM:
        for (uint32_t i = 0; i < y->n; i++)
            if (f->t->e[y->first + i].value == iv) {
                puts_b(f->b, ty_str(f->t, f->t->e[y->first + i].name));
                return;
            }
        break;
    default:
        if (k == 'd') {
            tybuf_printf(f->b, y->size == 4 ? "%.9g" : "%.17g", dv);
            return;
        }
        if ((y->flags & TYF_BOOL) && (iv == 0 || iv == 1)) {
            puts_b(f->b, iv ? "true" : "false");
            return;
        }
        if ((y->flags & TYF_CHAR) && y->size == 1 && !bit_size) {
            tybuf_printf(f->b, k == 'i' ? "%lld '" : "%llu '", (long long)iv);
            put_char(f->b, (unsigned char)iv, '\'');
            puts_b(f->b, "'");
            return;
        }
        break;
    }
    if (k == 'i')
        tybuf_printf(f->b, "%lld", (long long)iv);
    else
        tybuf_printf(f->b, "%llu", (unsigned long long)iv);
}

void ty_format(const struct tytab *t, uint32_t type, const uint8_t *bytes, size_t len,
               uint64_t addr, const struct ty_env *env, struct tybuf *b)
{
    struct fmt f = {t, bytes, len, addr, env, b};
    fmt_value(&f, type, 0, 0, 0, 0);
}

void ty_format_bits(const struct tytab *t, uint32_t type, unsigned bit_size, unsigned bit_offset,
                    const uint8_t *bytes, size_t len, uint64_t addr, const struct ty_env *env,
                    struct tybuf *b)
{
    struct fmt f = {t, bytes, len, addr, env, b};
    fmt_value(&f, type, 0, 0, bit_size, bit_offset);
}

static void field_at(const struct tytab *t, uint32_t type, uint64_t offset, struct tybuf *b, int depth)
{
    uint32_t r = ty_resolve(t, type);
    if (!r || depth > TY_MAX_DEPTH)
        return;
    const struct ty *y = &t->v[r];
    if (y->kind == TY_ARRAY) {
        uint32_t e = ty_resolve(t, y->target);
        uint64_t es = e ? t->v[e].size : 0;
        if (!es || (y->count && offset >= es * y->count))
            return;
        tybuf_printf(b, "[%llu]", (unsigned long long)(offset / es));
        field_at(t, y->target, offset % es, b, depth + 1);
        return;
    }
    if (y->kind != TY_STRUCT && y->kind != TY_CLASS && y->kind != TY_UNION)
        return;
    /* the last member starting at or below offset that covers it */
    const struct ty_field *best = NULL;
    for (uint32_t i = 0; i < y->n; i++) {
        const struct ty_field *f = &t->f[y->first + i];
        uint32_t fr = ty_resolve(t, f->type);
        uint64_t fs = fr ? t->v[fr].size : 0;
        if (f->offset <= offset && offset - f->offset < (fs ? fs : 1)) {
            best = f;
            if (y->kind == TY_UNION)
                break; /* every member covers it: name the first, as declared */
        }
    }
    if (!best)
        return;
    const char *nm = ty_str(t, best->name);
    if (nm[0] && !(best->flags & TYFF_BASE))
        tybuf_printf(b, "%s%s", b->n ? "." : "", nm);
    field_at(t, best->type, offset - best->offset, b, depth + 1);
}

void ty_field_at(const struct tytab *t, uint32_t type, uint64_t count, uint64_t offset,
                 struct tybuf *b)
{
    uint32_t r = ty_resolve(t, type);
    uint64_t S = r ? t->v[r].size : 0;
    if (!S)
        return;
    if (count > 1) {
        if (offset / S >= count)
            return;
        tybuf_printf(b, "[%llu]", (unsigned long long)(offset / S));
        offset %= S;
    }
    field_at(t, type, offset, b, 0);
    if (b->s && b->s[0] == '.') /* "[2].x" keeps its dot; a leading one is dropped */
        memmove(b->s, b->s + 1, b->n--);
}

/* ------------------------------------------------------------ field paths */

static int path_at(const struct tytab *t, uint32_t type, const char *path, uint64_t *offset,
                   uint32_t *ftype, unsigned *bit_size, unsigned *bit_offset, char *err, size_t errlen,
                   int depth)
{
    uint64_t off = 0;
    if (depth > TY_MAX_DEPTH) {
        snprintf(err, errlen, "'%s': nested too deep", path);
        return -1;
    }
    unsigned bs = 0, bo = 0;
    const char *p = path;
    for (int steps = 0; *p; steps++) {
        uint32_t r = ty_resolve(t, type);
        if (!r || steps > 1000) {
            snprintf(err, errlen, "'%s': no such field", path);
            return -1;
        }
        const struct ty *y = &t->v[r];
        if (*p == '[') {
            char *end;
            unsigned long long idx = strtoull(p + 1, &end, 10);
            if (end == p + 1 || *end != ']') {
                snprintf(err, errlen, "'%s': bad index", path);
                return -1;
            }
            uint32_t e = y->kind == TY_ARRAY ? ty_resolve(t, y->target) : 0;
            if (!e || (y->count && idx >= y->count)) {
                snprintf(err, errlen, "'%s': not an array, or index out of range", path);
                return -1;
            }
            off += idx * t->v[e].size;
            type = y->target;
            p = end + 1;
            bs = bo = 0;
            continue;
        }
        if (*p == '.')
            p++;
        size_t n = strcspn(p, ".[");
        if (!n || !(y->kind == TY_STRUCT || y->kind == TY_CLASS || y->kind == TY_UNION)) {
            snprintf(err, errlen, "'%s': %.*s is not a struct", path, (int)(p - path), path);
            return -1;
        }
        /* a named member, or one inside an anonymous member or base class */
        uint32_t found = UINT32_MAX;
        uint64_t extra = 0;
        for (uint32_t i = 0; i < y->n && found == UINT32_MAX; i++) {
            const struct ty_field *fl = &t->f[y->first + i];
            const char *nm = ty_str(t, fl->name);
            if (strlen(nm) == n && !strncmp(nm, p, n) && !(fl->flags & TYFF_BASE)) {
                found = y->first + i;
            } else if (!nm[0] || (fl->flags & TYFF_BASE)) {
                uint64_t o2;
                uint32_t t2;
                unsigned b2, o3;
                char sub[256], e2[64];
                snprintf(sub, sizeof sub, "%.*s", (int)n, p);
                if (path_at(t, fl->type, sub, &o2, &t2, &b2, &o3, e2, sizeof e2, depth + 1) == 0) {
                    found = UINT32_MAX - 1;
                    extra = fl->offset + o2;
                    type = t2;
                    bs = b2;
                    bo = o3;
                }
            }
        }
        if (found == UINT32_MAX) {
            snprintf(err, errlen, "'%s': %s has no field '%.*s'", path, ty_name(t, r), (int)n, p);
            return -1;
        }
        if (found == UINT32_MAX - 1) {
            off += extra;
        } else {
            const struct ty_field *fl = &t->f[found];
            off += fl->offset;
            type = fl->type;
            bs = fl->bit_size;
            bo = fl->bit_offset;
        }
        p += n;
    }
    *offset = off;
    *ftype = type;
    *bit_size = bs;
    *bit_offset = bo;
    return 0;
}

int ty_path(const struct tytab *t, uint32_t type, const char *path, uint64_t *offset,
            uint32_t *ftype, unsigned *bit_size, unsigned *bit_offset, char *err, size_t errlen)
{
    return path_at(t, type, path, offset, ftype, bit_size, bit_offset, err, errlen, 0);
}
