/*
 * tcmalloc/layout.c — where tcmalloc (gperftools 2.x) keeps its state in a
 * snapshot (see tcmalloc/internal.h; tcmalloc/walker.c does the walk).
 *
 * Everything tcmalloc knows of its pages is in Static::pageheap_, in the
 * library's .bss: its page map is a two-level radix tree whose root, 2^17
 * pointers to leaves of 2^18 words, maps every page number to the Span
 * describing it (every page of a span of small objects; the first and last
 * page of any other).  The sizes of the small-object classes are in
 * Static::sizemap_ (class_to_size_, then class_to_pages_ and
 * num_size_classes), and the central free lists with their transfer
 * caches in Static::central_cache_[128].  All three are hidden symbols, and
 * Debian's library is stripped, so each is found in the module's writable
 * data by what it holds:
 *
 *   the root     a word pointing to a leaf whose first elements name
 *                spans holding their pages gives the leaf's index in the
 *                root, hence where the root starts; a candidate is believed
 *                when most of its leaves agree (root_agrees).  Elements may
 *                be stale (a free span's interior pages keep the span that
 *                last held them), so a leaf agrees when one of its first
 *                elements does.
 *   the sizes    the run 0, 8, 16, 32, 48, 64, 80, 96, 112, 128 of int32
 *                that starts class_to_size_ (the classes every 2.x build
 *                makes for 8 KiB pages), believed when it ascends to
 *                num_size_classes and class_to_pages_ fits each class.
 *   the central  an array of 1216-byte records whose size_class_ is its
 *                index, and whose empty_ list head links to itself or to a
 *                span.
 *
 * ThreadCache::thread_heaps_, the list of thread caches, is exported.
 * Every word is read through the snapshot and checked before it is used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <elf.h>

#include "heap/tcmalloc/internal.h"

#define MAX_CANDIDATES 64u

int tc_module(struct heap_ctx *c)
{
    static const char *const syms[] = {"tc_malloc", NULL};
    return heap_allocator_module(c, "libtcmalloc", syms);
}

int tc_read_span(struct heap_ctx *c, uint64_t addr, struct tc_span *s)
{
    const uint8_t *p = addr % 8 ? NULL : hs_ptr(c->snap, addr, TC_SPAN_SIZE);
    if (!p)
        return 0;
    s->addr = addr;
    memcpy(&s->start, p + TC_SPAN_START, 8);
    memcpy(&s->length, p + TC_SPAN_LENGTH, 8);
    memcpy(&s->objects, p + TC_SPAN_OBJECTS, 8);
    memcpy(&s->bits, p + TC_SPAN_BITS, 4);
    return s->length && s->start + s->length > s->start &&
           (s->start + s->length) <= ((uint64_t)1 << (48 - TC_PAGE_SHIFT));
}

/* The first page >= span start that is congruent to j in a leaf, if the
 * span holds it: 1 with *page. */
static int page_for(const struct tc_span *s, unsigned j, uint64_t *page)
{
    uint64_t p = (s->start & ~(uint64_t)(TC_LEAF_LEN - 1)) | j;
    if (p < s->start)
        p += TC_LEAF_LEN;
    if (p >= s->start + s->length)
        return 0;
    *page = p;
    return 1;
}

/* Up to `want` non-zero elements of the leaf at l, from its start. */
static unsigned leaf_elements(struct heap_ctx *c, uint64_t l, uint64_t *v, unsigned *j, unsigned want)
{
    unsigned n = 0;
    for (unsigned pg = 0; pg < TC_LEAF_LEN * 8 / 4096 && n < want; pg++) {
        const uint64_t *w = hs_ptr(c->snap, l + (uint64_t)pg * 4096, 4096);
        if (!w)
            continue;
        for (unsigned k = 0; k < 512 && n < want; k++)
            if (w[k]) {
                v[n] = w[k];
                j[n++] = pg * 512 + k;
            }
    }
    return n;
}

/* Does the leaf at l belong at root index idx?  1 yes, 0 no, -1 if none of
 * its elements could be read. */
static int leaf_agrees(struct heap_ctx *c, uint64_t l, unsigned idx)
{
    uint64_t v[16];
    unsigned j[16], n = leaf_elements(c, l, v, j, 16);
    if (!n)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        struct tc_span s;
        uint64_t page = ((uint64_t)idx << TC_LEAF_BITS) | j[i];
        if (tc_read_span(c, v[i], &s) && page >= s.start && page < s.start + s.length)
            return 1;
    }
    return 0;
}

static int root_agrees(struct heap_ctx *c, uint64_t r)
{
    unsigned good = 0, bad = 0;
    for (unsigned pg = 0; pg < TC_ROOT_LEN * 8 / 4096; pg++) {
        const uint64_t *w = hs_ptr(c->snap, r + (uint64_t)pg * 4096, 4096);
        if (!w)
            continue;
        for (unsigned k = 0; k < 512; k++) {
            if (!w[k])
                continue;
            int a = leaf_agrees(c, w[k], pg * 512 + k);
            if (a > 0)
                good++;
            else if (a == 0 && ++bad > 64)
                return 0;
        }
    }
    return good > bad;
}

/* The module's writable data: its rw mappings and the anonymous ones
 * right after them (a big .bss); 0 if none. */
static int data_range(struct heap_ctx *c, int module, uint64_t *lo, uint64_t *hi)
{
    size_t n;
    const struct hs_mapping *m = hs_get_mappings(c->snap, &n);
    const char *path = heap_module_path(c, module);
    if (!path)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!(m[i].flags & HS_MAP_W) || !m[i].path || strcmp(m[i].path, path))
            continue;
        *lo = m[i].start;
        *hi = m[i].end;
        while (i + 1 < n && m[i + 1].start == *hi && (m[i + 1].flags & HS_MAP_W) &&
               (!m[i + 1].path || !m[i + 1].path[0] || !strcmp(m[i + 1].path, path)))
            *hi = m[++i].end;
        return 1;
    }
    return 0;
}

static uint64_t find_root(struct heap_ctx *c, uint64_t lo, uint64_t hi)
{
    unsigned tried = 0;
    for (uint64_t pa = lo; pa < hi; pa += 4096) {
        const uint64_t *w = hs_ptr(c->snap, pa, 4096);
        if (!w)
            continue;
        for (unsigned k = 0; k < 512; k++) {
            uint64_t v = w[k];
            if (!v || v % 8 || (v >= lo && v < hi) || !hs_ptr(c->snap, v, 8))
                continue;
            uint64_t el[4], page;
            unsigned j[4], n = leaf_elements(c, v, el, j, 4);
            for (unsigned e = 0; e < n; e++) {
                struct tc_span s;
                if (!tc_read_span(c, el[e], &s) || !page_for(&s, j[e], &page))
                    continue;
                uint64_t idx = page >> TC_LEAF_BITS, p = pa + 8u * k;
                if (idx >= TC_ROOT_LEN || p < 8 * idx || p - 8 * idx < lo ||
                    p - 8 * idx + 8u * TC_ROOT_LEN > hi)
                    continue;
                if (root_agrees(c, p - 8 * idx))
                    return p - 8 * idx;
                if (++tried > MAX_CANDIDATES)
                    return 0;
                break;
            }
        }
    }
    return 0;
}

/* class_to_size_, class_to_pages_ and num_size_classes, checked. */
static int find_sizes(struct heap_ctx *c, uint64_t lo, uint64_t hi, struct tc_where *w)
{
    static const int32_t start[10] = {0, 8, 16, 32, 48, 64, 80, 96, 112, 128};
    for (uint64_t pa = lo; pa < hi; pa += 4096) {
        const uint8_t *p = hs_ptr(c->snap, pa, 4096);
        if (!p)
            continue;
        for (unsigned k = 0; k + sizeof start <= 4096; k += 4) {
            if (memcmp(p + k, start, sizeof start))
                continue;
            uint64_t cts = pa + k, ctp = (cts + 4 * TC_NCLASSES + 7) & ~(uint64_t)7;
            int32_t sz[TC_NCLASSES];
            uint64_t pages[TC_NCLASSES], n;
            if (hs_read(c->snap, cts, sz, sizeof sz) || hs_read(c->snap, ctp, pages, sizeof pages) ||
                hs_read_u64(c->snap, ctp + 8 * TC_NCLASSES, &n) || n < 2 || n > TC_NCLASSES)
                continue;
            int ok = 1;
            for (unsigned i = 1; i < n && ok; i++)
                ok = sz[i] > sz[i - 1] && (uint32_t)sz[i] <= TC_MAX_SMALL && pages[i] >= 1 &&
                     pages[i] <= 256 && pages[i] * TC_PAGE >= (uint64_t)sz[i];
            if (!ok)
                continue;
            for (unsigned i = 0; i < TC_NCLASSES; i++)
                w->class_size[i] = i < n ? (uint32_t)sz[i] : 0;
            w->nclasses = (unsigned)n;
            return 1;
        }
    }
    return 0;
}

/* Is the record at a the central free list of class cl? */
static int central_at(struct heap_ctx *c, uint64_t a, unsigned cl)
{
    uint64_t cls, next;
    int32_t used;
    if (hs_read_u64(c->snap, a + TC_CFL_CLASS, &cls) || cls != cl ||
        hs_read_u64(c->snap, a + TC_CFL_EMPTY + TC_SPAN_NEXT, &next) ||
        hs_read(c->snap, a + TC_CFL_USED_SLOTS, &used, 4) || used < 0 || used > (int32_t)TC_CFL_NSLOTS)
        return 0;
    struct tc_span s;
    return next == a + TC_CFL_EMPTY || tc_read_span(c, next, &s);
}

static uint64_t find_central(struct heap_ctx *c, uint64_t lo, uint64_t hi, unsigned nclasses)
{
    unsigned check = nclasses < 8 ? nclasses : 8;
    for (uint64_t a = lo; a + (uint64_t)TC_CFL_SIZE * TC_NCLASSES <= hi; a += 8) {
        unsigned cl = 0;
        while (cl < check && central_at(c, a + (uint64_t)cl * TC_CFL_SIZE, cl))
            cl++;
        if (cl < check)
            continue;
        for (; cl < nclasses; cl++)
            if (!central_at(c, a + (uint64_t)cl * TC_CFL_SIZE, cl))
                break;
        if (cl == nclasses)
            return a;
    }
    return 0;
}

int tc_locate(struct heap_ctx *c, struct tc_where *w)
{
    memset(w, 0, sizeof *w);
    w->module = tc_module(c);
    if (!data_range(c, w->module, &w->data_lo, &w->data_hi)) {
        c->problem(c, 0, "tcmalloc: the module holding tcmalloc has no writable data in the "
                         "snapshot");
        return -1;
    }
    if (!(w->root = find_root(c, w->data_lo, w->data_hi))) {
        c->problem(c, 0, "tcmalloc: the page map's root was not found in tcmalloc's data (no "
                         "array there maps pages to spans that hold them)");
        return -1;
    }
    if (!find_sizes(c, w->data_lo, w->data_hi, w)) {
        c->problem(c, 0, "tcmalloc: the size classes (class_to_size_) were not found in "
                         "tcmalloc's data");
        return -1;
    }
    if (!(w->central = find_central(c, w->data_lo, w->data_hi, w->nclasses)))
        c->problem(c, 0, "tcmalloc: the central free lists were not found; objects in their "
                         "transfer caches are taken for used ones");
    if (c->dbg) {
        const struct dbg_symbol *s = dbg_symbol_by_name(c->dbg, TC_THREAD_HEAPS, w->module);
        if (s && s->addr)
            w->thread_heaps = s->addr;
    }
    if (!w->thread_heaps)
        c->problem(c, 0, "tcmalloc: no symbol %s; objects in thread caches are taken for used ones",
                   TC_THREAD_HEAPS);
    return 0;
}
