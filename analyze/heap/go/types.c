/*
 * go/types.c — Go type names from the runtime's own type descriptors, for
 * the one thing DWARF cannot say: the dynamic type of an interface value.
 *
 * An interface value is two words: a type word, then a data word.  For an
 * empty interface (any) the type word points at the runtime._type of the
 * value; for a non-empty one at an itab, whose _type field does (static
 * itabs lie among the descriptors; an itab is told from a _type by its
 * first two words, both descriptor pointers).  A
 * runtime._type's str is a nameOff: an offset from moduledata.types to an
 * encoded name — a flags byte, the length as a varint, the bytes — and
 * with tflagExtraStar set the stored name has a '*' too many ("*main.T"
 * stored for main.T, since the pointer type's name is the common one).
 * Descriptors outside [types, etypes) (made at run time by reflect) are not
 * named.  Names are in read-only data: from the executable's file when the
 * capture left them out (go/mem.c).
 *
 * go_itypes_scan finds interface values the way Go's collector sees them:
 * a pointer word (by the gcdata/gcbss masks and the heap bitmap) into a
 * used object of the heap, right after a word that names a type (the
 * collector does not count the type word as a pointer: it points at
 * static data).  It reports the dynamic type of that object —
 * a typing hint: the object pointed to is a T when the value's type is *T
 * (and a boxed copy of T otherwise).  go/walker.c stores them as the go_itypes
 * table; the typing pass (types/dynamic.c) finds interface values by their
 * DWARF instead and names their type words with go_type_name, through the
 * allocator's type_name hook.
 */
#include <stdlib.h>
#include <string.h>

#include "heap/go/internal.h"

int go_types_load(struct go_walk *w)
{
    const struct go_layout *L = &w->L;
    if (go_u64(w, L->firstmoduledata + (uint64_t)L->md_types, &w->types_lo) ||
        go_u64(w, L->firstmoduledata + (uint64_t)L->md_etypes, &w->types_hi) || w->types_lo >= w->types_hi ||
        w->types_hi - w->types_lo > (1ull << 32)) {
        w->types_lo = w->types_hi = 0;
        return -1;
    }
    return 0;
}

static int in_types(const struct go_walk *w, uint64_t a)
{
    return a >= w->types_lo && a < w->types_hi;
}

int go_type_name(const struct go_walk *w, uint64_t addr, char *buf, size_t len)
{
    const struct go_layout *L = &w->L;
    uint64_t t = addr, tflag, str;
    if (len < 2 || !w->types_hi)
        return -1;
    /* An itab (static ones are in the types section too) starts with two
     * descriptor pointers, inter and _type; a _type with its size and
     * ptrdata, which are no addresses in the types section. */
    uint64_t inter = 0, it = 0;
    if (addr % 8 == 0 && !go_u64(w, addr, &inter) && !go_field(w, addr, L->itab_type, 8, &it) &&
        in_types(w, inter) && in_types(w, it))
        t = it;
    else if (!in_types(w, t))
        return -1;
    if (go_field(w, t, L->t_tflag, 1, &tflag) || go_field(w, t, L->t_str, 4, &str))
        return -1;
    int32_t off = (int32_t)(uint32_t)str;
    if (off <= 0 || (uint64_t)off >= w->types_hi - w->types_lo)
        return -1;
    uint8_t hdr[11];
    uint64_t n = w->types_lo + (uint64_t)off, l = 0;
    if (go_read(w, n, hdr, 2))
        return -1;
    size_t i = 1;
    for (unsigned shift = 0; i < sizeof hdr; shift += 7) { /* the length, a varint */
        if (i > 1 && go_read(w, n + i, hdr + i, 1))
            return -1;
        l |= (uint64_t)(hdr[i] & 0x7f) << shift;
        if (!(hdr[i++] & 0x80))
            break;
    }
    if (l == 0 || l > 4096)
        return -1;
    size_t skip = (tflag & (uint64_t)L->tflag_extrastar) ? 1 : 0;
    if (l <= skip)
        return -1;
    size_t take = l - skip < len - 1 ? (size_t)(l - skip) : len - 1;
    if (go_read(w, n + i + skip, buf, take))
        return -1;
    buf[take] = 0;
    return memchr(buf, 0, take) ? -1 : 0;
}

/* The used object holding a (a heap address), as the walk found it. */
static int heap_object(const struct go_walk *w, uint64_t a, uint64_t *base)
{
    const struct go_span *s = go_span_of(w, a);
    if (!s || s->state != 1 || !s->elemsize)
        return 0;
    uint64_t size;
    go_slot_object(w, s, (a - s->start) / s->elemsize, base, &size);
    return a >= *base;
}

/* Could t be a type word?  A descriptor lies in the types section, an itab
 * there too or in the runtime's own memory — never in the heap arenas.
 * This refuses the common case, a heap pointer before a heap pointer,
 * without reading anything: the arenas (a short search, in cache) are
 * asked before the spans (a lookup that misses the cache, and was most of
 * this scan). */
static int maybe_type(const struct go_walk *w, uint64_t t)
{
    if (in_types(w, t))
        return 1;
    if (!t || t % 8 || go_arena_of(w, t))
        return 0;
    if (go_span_of(w, t))
        return 0;
    return hs_find_range(w->c->snap, t) != NULL;
}

/* Interface values among the nw words at addr (mem: their contents) whose
 * pointer words are mask: the collector marks only an interface's data
 * word as a pointer (the type word points at static data), so each
 * pointer word into the heap is checked for a type word just before it. */
static int scan(const struct go_walk *w, uint64_t addr, const uint64_t *mem, size_t nw, const uint64_t *mask,
                int (*emit)(void *, uint64_t, uint64_t, uint64_t, const char *), void *u)
{
    char name[256];
    uint64_t base;
    for (size_t i = 1; i < nw; i++) {
        if (!(mask[i / 64] >> (i % 64) & 1))
            continue;
        uint64_t t, d;
        memcpy(&t, mem + i - 1, 8); /* the snapshot's bytes need not be aligned */
        memcpy(&d, mem + i, 8);
        if (!maybe_type(w, t) || !heap_object(w, d, &base) || go_type_name(w, t, name, sizeof name))
            continue;
        if (emit(u, addr, 8 * (i - 1), base, name[0] == '*' ? name + 1 : name))
            return -1;
    }
    return 0;
}

int go_itypes_scan(const struct go_walk *w, int (*emit)(void *u, uint64_t holder, uint64_t offset,
                                                        uint64_t target, const char *type), void *u)
{
    if (!w->types_hi)
        return 0;
    uint64_t mask[512]; /* objects up to 256 KiB; larger ones are left out */
    uint64_t *buf = malloc(8 * 64 * 512); /* globals: a section may span captured ranges */
    if (!buf)
        return -1;
    for (size_t g = 0; g < w->nglobals; g++) {
        const struct go_globals *gl = &w->globals[g];
        for (uint64_t a = gl->lo; gl->bits && a < gl->hi; a += 8 * 64 * 512 - 8) {
            uint64_t n = gl->hi - a < 8 * 64 * 512 ? gl->hi - a : 8 * 64 * 512;
            if (!hs_read(w->c->snap, a, buf, n) && go_globals_words(w, a, n, mask, 512) == 1 &&
                scan(w, a, buf, n / 8, mask, emit, u)) {
                free(buf);
                return -1;
            }
            if (a + n >= gl->hi)
                break;
        }
    }
    free(buf);
    uint8_t bits[1024]; /* a small span's allocBits: 8192 slots at most */
    for (size_t i = 0; i < w->nspans; i++) {
        const struct go_span *s = &w->spans[i];
        if (s->state != 1 || (s->spanclass & 1) || s->elemsize < 16 || s->elemsize > 8 * 64 * 512 ||
            s->nelems > 8 * sizeof bits)
            continue;
        if (go_read(w, s->allocbits, bits, (s->nelems + 7) / 8))
            memset(bits, 0, (s->nelems + 7) / 8);
        for (uint32_t k = 0; k < s->nelems; k++) {
            if (k >= s->freeindex && !(bits[k / 8] >> (k % 8) & 1))
                continue; /* a free slot's bitmap is not maintained */
            uint64_t a, sz;
            go_slot_object(w, s, k, &a, &sz);
            const uint64_t *mem = hs_ptr(w->c->snap, a, sz);
            if (mem && go_pointer_words(w, a, sz, mask, 512) == 1 && scan(w, a, mem, sz / 8, mask, emit, u))
                return -1;
        }
    }
    return 0;
}
