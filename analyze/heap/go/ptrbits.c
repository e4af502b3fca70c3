/*
 * go/ptrbits.c — which words of a Go heap object are pointers, read the way
 * the runtime's own collector reads them, so that the indexer scans the
 * heap precisely (a uintptr or an integer that looks like an address is no
 * reference).  Two designs, told apart by go/layout.c from the structures
 * the DWARF describes:
 *
 * The arena bitmap (Go 1.19).  heapArena.bitmap holds 2 bits per heap word,
 * four words to a byte: the low nibble's bit says "pointer", the high
 * nibble's bit "scan further" (clear: no more pointers in this object).
 *
 * The one-bit arena bitmap (Go 1.20 and 1.21).  heapArena.bitmap holds one
 * bit per heap word, in uintptr words read from their low bit up (so, on a
 * little-endian machine, byte i / 8, bit i % 8).  noMorePtrs only lets the
 * collector stop early: the bits past an object's last pointer are zero, so
 * reading them all gives the same answer.  No toolchain here builds these
 * versions; the design is read as the DWARF describes it, untested.
 *
 * Allocation headers (Go 1.22 and later; mbitmap.go).  There is no arena
 * bitmap; where an object's pointer bits are depends on its size:
 *   - objects of minSizeForMallocHeader (512) bytes or less: one bit per
 *     word of the span, in a bitmap at the span's end (span bytes / 64
 *     bytes of it), before the Green Tea collector's spanInlineMarkBits
 *     when the span has those (Go 1.26: spans of objects of 16 bytes or
 *     more).  mspan.nelems counts the slots that fit before both, which
 *     go/spans.c checks against this very layout;
 *   - larger objects of a size class begin with an 8-byte header, the
 *     *abi.Type of what was allocated; the object the program holds starts
 *     after it, and its pointer words are the type's GC mask (GCData, one
 *     bit per word of the type's first PtrBytes bytes) tiled every Size_
 *     bytes, as arrays are;
 *   - a large object (a span of its own) has its type in mspan.largeType.
 *   A nil type means the object was allocated but not yet typed (delayed
 *   zeroing): it holds no pointers yet, as the collector sees it.  A type
 *   with TFlagGCMaskOnDemand (large types, Go 1.24+) has in GCData the
 *   address of a slot where the runtime keeps a mask it builds on first
 *   use; an empty slot leaves the object to conservative scanning.
 * Noscan spans (spanclass & 1) hold no pointers in either design.
 *
 * The type descriptors behind headers are read-only data, usually read from
 * the executable's file (go/mem.c): the walk collects them once into a
 * table (go_gctype_add, single-threaded), which the scan then only reads
 * (go_pointer_words is called from several threads).
 */
#include <stdlib.h>
#include <string.h>

#include "heap/go/internal.h"

#define MAX_MASK_BYTES (16u << 20) /* a type's GC mask: 1 GiB of pointer words */

static uint64_t hash_addr(uint64_t a)
{
    a ^= a >> 29;
    a *= 0xbf58476d1ce4e5b9ull;
    return a ^ (a >> 32);
}

static struct go_gctype *slot_of(struct go_gctype *tab, size_t cap, uint64_t t)
{
    size_t i = (size_t)hash_addr(t) & (cap - 1);
    while (tab[i].addr && tab[i].addr != t)
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

const struct go_gctype *go_gctype_get(const struct go_walk *w, uint64_t t)
{
    if (!t || !w->gct_cap)
        return NULL;
    const struct go_gctype *g = slot_of(w->gct, w->gct_cap, t);
    return g->addr ? g : NULL;
}

/* Read the descriptor at t: its size, PtrBytes and mask (NULL if unknown). */
static void read_type(const struct go_walk *w, uint64_t t, struct go_gctype *g)
{
    const struct go_layout *L = &w->L;
    uint64_t size = 0, ptrdata = 0, gcdata = 0, tflag = 0;
    *g = (struct go_gctype){.addr = t};
    if (go_field(w, t, L->t_size, 8, &size) || go_field(w, t, L->t_ptrdata, 8, &ptrdata) ||
        go_field(w, t, L->t_gcdata, 8, &gcdata) || go_field(w, t, L->t_tflag, 1, &tflag))
        return;
    g->readable = 1;
    g->size = size;
    g->ptrdata = ptrdata;
    if (ptrdata == 0)
        return;
    if (ptrdata > size || ptrdata % 8 || size % 8 || ptrdata / 64 + 1 > MAX_MASK_BYTES)
        return;
    if (L->tflag_gcmask_ondemand > 0 && (tflag & (uint64_t)L->tflag_gcmask_ondemand)) {
        uint64_t built = 0;
        if (go_u64(w, gcdata, &built) || !built)
            return; /* not built yet: the caller scans conservatively */
        gcdata = built;
    }
    size_t nb = (size_t)((ptrdata / 8 + 7) / 8);
    uint8_t *m = malloc(nb);
    if (!m)
        return;
    if (go_read(w, gcdata, m, nb)) {
        free(m);
        return;
    }
    g->mask = m;
}

int go_gctype_add(struct go_walk *w, uint64_t t)
{
    if (!t || go_gctype_get(w, t))
        return 0;
    if (2 * (w->gct_n + 1) > w->gct_cap) {
        size_t nc = w->gct_cap ? 2 * w->gct_cap : 1024;
        struct go_gctype *v = calloc(nc, sizeof *v);
        if (!v)
            return -1;
        for (size_t i = 0; i < w->gct_cap; i++)
            if (w->gct[i].addr)
                *slot_of(v, nc, w->gct[i].addr) = w->gct[i];
        free(w->gct);
        w->gct = v;
        w->gct_cap = nc;
    }
    read_type(w, t, slot_of(w->gct, w->gct_cap, t));
    w->gct_n++;
    return 0;
}

void go_gctypes_free(struct go_walk *w)
{
    for (size_t i = 0; i < w->gct_cap; i++)
        free(w->gct[i].mask);
    free(w->gct);
    w->gct = NULL;
    w->gct_cap = w->gct_n = 0;
}

const struct go_arena *go_arena_of(const struct go_walk *w, uint64_t a)
{
    size_t lo = 0, hi = w->narenas;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (w->arenas[m].base + w->L.arena_bytes <= a)
            lo = m + 1;
        else
            hi = m;
    }
    return lo < w->narenas && w->arenas[lo].base <= a ? &w->arenas[lo] : NULL;
}

/* Go 1.19: the arena bitmap. */
static int arena_words(const struct go_walk *w, uint64_t addr, size_t nw, uint64_t *mask)
{
    const struct go_arena *ar = NULL;
    const uint8_t *bm = NULL;
    uint64_t bmlen = 0, first = 0, bitmap_bytes = w->L.arena_bytes / 32;
    for (size_t i = 0; i < nw; i++) {
        uint64_t a = addr + i * 8;
        if (!ar || a - ar->base >= w->L.arena_bytes) {
            if (!(ar = go_arena_of(w, a)))
                return 0;
            first = (a - ar->base) / 32;
            bmlen = bitmap_bytes - first;
            uint64_t want = (nw - i + 3) / 4 + 1;
            if (bmlen > want)
                bmlen = want;
            bm = hs_ptr(w->c->snap, ar->meta + (uint64_t)w->L.ha_bitmap + first, bmlen);
            if (!bm)
                return 0; /* bitmap not captured: let the caller be conservative */
        }
        uint64_t wi = (a - ar->base) / 8;
        unsigned bits = bm[wi / 4 - first] >> (wi % 4);
        if (!(bits & 0x10))
            break; /* dead: no more pointers in this object */
        if (bits & 1)
            mask[i / 64] |= 1ull << (i % 64);
    }
    return 1;
}

/* Go 1.20-1.21: the arena bitmap, one bit per word. */
static int arena1_words(const struct go_walk *w, uint64_t addr, size_t nw, uint64_t *mask)
{
    size_t i = 0;
    while (i < nw) {
        uint64_t a = addr + i * 8;
        const struct go_arena *ar = go_arena_of(w, a);
        if (!ar)
            return 0;
        uint64_t wi = (a - ar->base) / 8, in_arena = w->L.arena_bytes / 8 - wi;
        size_t n = nw - i < in_arena ? nw - i : (size_t)in_arena;
        const uint8_t *bm = hs_ptr(w->c->snap, ar->meta + (uint64_t)w->L.ha_bitmap + wi / 8, (wi % 8 + n + 7) / 8);
        if (!bm)
            return 0; /* bitmap not captured: let the caller be conservative */
        for (size_t k = 0; k < n; k++, i++) {
            uint64_t b = wi % 8 + k;
            if (bm[b / 8] >> (b % 8) & 1)
                mask[i / 64] |= 1ull << (i % 64);
        }
    }
    return 1;
}

/* Go 1.22+, a small object: the span's own bitmap, one bit per word. */
static int span_bits_words(const struct go_walk *w, const struct go_span *s, uint64_t addr, size_t nw,
                           uint64_t *mask)
{
    if (!s->hb_off)
        return 0; /* the span's layout did not check out (go/spans.c) */
    uint64_t w0 = (addr - s->start) / 8;
    size_t nb = (size_t)((w0 % 8 + nw + 7) / 8);
    const uint8_t *hb = hs_ptr(w->c->snap, s->start + s->hb_off + w0 / 8, nb);
    if (!hb)
        return 0;
    for (size_t i = 0; i < nw; i++) {
        uint64_t b = w0 % 8 + i;
        if (hb[b / 8] >> (b % 8) & 1)
            mask[i / 64] |= 1ull << (i % 64);
    }
    return 1;
}

/* Go 1.22+, a typed object: type t's mask tiled over [data, data + n words),
 * the object the caller asked about being the words from addr. */
static int type_words(const struct go_walk *w, uint64_t t, uint64_t data, uint64_t addr, size_t nw, uint64_t *mask)
{
    if (!t)
        return 1; /* allocated, not yet typed: no pointers yet */
    const struct go_gctype *g = go_gctype_get(w, t);
    struct go_gctype tmp;
    if (!g) { /* not met by the walk (a damaged snapshot): read, unkept */
        read_type(w, t, &tmp);
        g = &tmp;
    }
    int rc = 1;
    if (!g->readable || (g->ptrdata && !g->mask) || (g->ptrdata && !g->size))
        rc = 0;
    else if (g->ptrdata)
        for (size_t i = 0; i < nw; i++) {
            uint64_t e = (addr + 8 * i - data) % g->size;
            if (e < g->ptrdata && (g->mask[e / 64] >> (e / 8 % 8) & 1))
                mask[i / 64] |= 1ull << (i % 64);
        }
    if (g == &tmp)
        free(tmp.mask);
    return rc;
}

int go_pointer_words(const struct go_walk *w, uint64_t addr, uint64_t size, uint64_t *mask, size_t maskwords)
{
    const struct go_span *s = go_span_of(w, addr);
    size_t nw = size / 8;
    if (!s)
        return go_globals_words(w, addr, size, mask, maskwords);
    if (s->state != 1 || nw > maskwords * 64)
        return 0;
    memset(mask, 0, (nw + 63) / 64 * 8);
    if (s->spanclass & 1)
        return 1; /* noscan: no pointers at all */
    if (w->L.bits == GO_BITS_ARENA2)
        return arena_words(w, addr, nw, mask);
    if (w->L.bits == GO_BITS_ARENA1)
        return arena1_words(w, addr, nw, mask);
    uint64_t slot = s->start + (addr - s->start) / s->elemsize * s->elemsize;
    if (addr + size > slot + s->elemsize)
        return 0;
    if (s->elemsize <= w->L.min_malloc_header)
        return span_bits_words(w, s, addr, nw, mask);
    if (s->spanclass >> 1 == 0)
        return type_words(w, s->largetype, slot, addr, nw, mask);
    uint64_t t;
    if (addr < slot + 8 || go_u64(w, slot, &t))
        return 0;
    return type_words(w, t, slot + 8, addr, nw, mask);
}
