/*
 * go/spans.c — the Go heap proper: arenas, spans and the objects in them,
 * and the heap bitmap that says which words of an object are pointers.
 *
 * Arenas.  The heap is made of 64 MiB arenas (heapArenaBytes), each with a
 * heapArena of metadata kept outside the heap: spans[] (the mspan of every
 * page) and, in Go 1.19, bitmap[] (2 bits per heap word; see go/ptrbits.c).  mheap_.arenas is
 * a two-level array of heapArena pointers indexed by arena number, and
 * mheap_.allArenas lists the numbers in use.  An arena's address is
 * number * heapArenaBytes + arenaBaseOffset; Go's DWARF does not carry
 * arenaBaseOffset, so it is derived instead: the in-use span s must appear
 * in spans[] of its own arena's heapArena at its page index, which is true
 * for exactly one offset.  The derivation is checked, not assumed: no
 * matching arena means no walk.
 *
 * Spans.  mheap_.allspans lists every mspan ever made.  state says what it
 * is: mSpanInUse (a heap span: nelems slots of elemsize bytes; spanclass>>1
 * is the size class, 0 for one large object, and spanclass&1 "noscan": no
 * pointers inside), mSpanManual (goroutine stacks and other manually
 * managed memory), mSpanDead (recycled; ignored).
 *
 * Objects.  Slot i of an in-use span is allocated when i < freeindex (the
 * allocator hands out slots in order and never goes back below freeindex
 * until the next sweep) or allocBits bit i is set.  Sweeping replaces
 * allocBits with the mark bits of the last GC, so after a sweep allocBits
 * is the authority — which is the state after runtime.GC() returns, since
 * it sweeps every span.  A span still unswept (sweepgen == mheap sweepgen
 * - 2, or - 1 while being swept) has the allocBits of the cycle before: its
 * unmarked objects are garbage the sweeper has not reclaimed yet.  They are
 * reported as used, as ReadMemStats counts them (HeapAlloc includes them),
 * and the number of such spans is the fact go.unswept_spans.
 *
 * Free memory is not objects.  A span's free slots are a count and bytes
 * on the span (go_spans: free_count, free_bytes), as the runtime itself
 * keeps them — a bit clear in allocBits, not a block of its own — and a
 * large heap has several times more of them than objects.  Pages of an
 * arena in no span are free page runs ("idle" in MemStats terms; released
 * to the OS or not, the page states of the snapshot say), go_spans rows
 * of state 'free' — within the page allocator's inUse ranges, the memory
 * the heap has grown into (mheap_.pages.inUse).  Each span and run also
 * carries the bytes of the whole snapshot pages inside its free memory
 * that were resident (DATA or ZERO) at the capture: what `rss` counts as
 * free yet resident, computed here once, where the pages are at hand.
 *
 * Regions.  In-use spans and free runs are claimed as "go-heap" regions.
 * Manual spans hold goroutine stacks, which are roots: when the pipeline
 * takes the goroutines as roots (c->root), they are claimed too; otherwise
 * they are left unclaimed, and the indexer scans them as anonymous memory
 * (conservatively, the dead part below each goroutine's SP included).
 */
#include <stdlib.h>
#include <string.h>

#include "heap/go/internal.h"

#define READ_BATCH 512 /* allspans pointers read at once */
#define SMALL_SPAN_PAGES 64 /* a small size class's span: 10 pages at most in Go 1.19 to 1.27 */

static int by_start(const void *a, const void *b)
{
    const struct go_span *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static int by_base(const void *a, const void *b)
{
    const struct go_arena *x = a, *y = b;
    return x->base < y->base ? -1 : x->base > y->base;
}

/* The heapArena pointer of arena number ri, or 0. */
static uint64_t arena_meta(const struct go_walk *w, uint64_t ri)
{
    const struct go_layout *L = &w->L;
    uint64_t l1 = L->l1_bits ? ri >> L->l2_bits : 0, l2 = ri & ((1ull << L->l2_bits) - 1);
    uint64_t l2arr, meta;
    if (l1 >> L->l1_bits)
        return 0;
    if (go_u64(w, L->mheap + (uint64_t)L->h_arenas + l1 * 8, &l2arr) || !l2arr ||
        go_u64(w, l2arr + l2 * 8, &meta))
        return 0;
    return meta;
}

static int push_span(struct go_walk *w, const struct go_span *s, size_t *cap)
{
    if (w->nspans == *cap) {
        size_t n = *cap ? 2 * *cap : 1024;
        struct go_span *v = realloc(w->spans, n * sizeof *v);
        if (!v)
            return -1;
        w->spans = v;
        *cap = n;
    }
    w->spans[w->nspans++] = *s;
    return 0;
}

/* Go 1.22+ (allocation headers; see go/ptrbits.c): where a small-object
 * span keeps its pointer bits, whether its objects begin with a header, a
 * large object's type.  The span's nelems must be what the runtime's
 * initSpan computes for that layout — the slots that fit before the
 * pointer bitmap and the inline mark bits — or the layout is not the one
 * this walker knows: the span's objects are still reported, but scanned
 * conservatively, and the problem says why.  0, or -1 to skip the span. */
static int headers_layout(struct go_walk *w, struct go_span *s, unsigned cls, uint64_t mspan, const uint8_t *sb)
{
    const struct go_layout *L = &w->L;
    uint64_t bytes = s->end - s->start;
    int noscan = s->spanclass & 1;
    if (cls == 0) {
        s->largetype = go_get(sb, L->s_largetype, 8);
        if (!noscan && s->largetype && go_gctype_add(w, s->largetype))
            return -1;
        return 0;
    }
    if (s->elemsize > L->min_malloc_header) {
        s->header = !noscan;
        return 0;
    }
    /* the inline mark bits: spans of objects of 16 bytes or more
     * (gcUsesSpanInlineMarkBits), when the runtime has them at all */
    uint64_t imb = L->inline_mark_bytes && s->elemsize >= 16 ? L->inline_mark_bytes : 0;
    uint64_t hb = noscan ? 0 : bytes / 64;
    if (imb + hb >= bytes || (uint64_t)s->nelems != (bytes - imb - hb) / s->elemsize) {
        w->c->problem(w->c, mspan, "go: span at 0x%llx has %u slots of %llu bytes, not the %llu the runtime's "
                      "layout (pointer bits %llu, inline mark bits %llu bytes) leaves: scanned conservatively",
                      (unsigned long long)s->start, s->nelems, (unsigned long long)s->elemsize,
                      (unsigned long long)(imb + hb < bytes ? (bytes - imb - hb) / s->elemsize : 0),
                      (unsigned long long)hb, (unsigned long long)imb);
        return 0;
    }
    if (!noscan)
        s->hb_off = (uint32_t)(bytes - imb - hb);
    return 0;
}

void go_slot_object(const struct go_walk *w, const struct go_span *s, uint64_t k, uint64_t *addr, uint64_t *size)
{
    uint64_t h = s->header ? w->L.malloc_header_size : 0;
    *addr = s->start + k * s->elemsize + h;
    *size = s->elemsize - h;
}

/* Decode every live span of allspans.  -1 only on out-of-memory. */
static int read_spans(struct go_walk *w)
{
    const struct go_layout *L = &w->L;
    struct heap_ctx *c = w->c;
    uint64_t arr, len, sg;
    size_t cap = 0;
    if (go_u64(w, L->mheap + (uint64_t)L->h_allspans, &arr) ||
        go_u64(w, L->mheap + (uint64_t)L->h_allspans + 8, &len) ||
        go_field(w, L->mheap, L->h_sweepgen, 4, &sg)) {
        c->problem(c, L->mheap, "go: mheap_ was not captured");
        return 0;
    }
    w->sweepgen = sg;
    if (len > GO_MAX_SPANS) {
        c->problem(c, arr, "go: mheap_.allspans has %llu entries; reading the first %u",
                   (unsigned long long)len, GO_MAX_SPANS);
        len = GO_MAX_SPANS;
    }
    uint16_t sizes[GO_MAX_CLASSES];
    if (go_read(w, L->class_to_size, sizes, L->nclasses * 2)) {
        c->problem(c, L->class_to_size, "go: runtime.class_to_size not readable: no spans");
        return 0;
    }
    for (uint64_t i = 0; i < L->nclasses; i++)
        w->class_size[i] = sizes[i];
    uint8_t *sb = malloc(L->span_size);
    uint64_t ptrs[READ_BATCH];
    if (!sb)
        return -1;
    for (uint64_t i = 0; i < len; i += READ_BATCH) {
        size_t n = len - i < READ_BATCH ? (size_t)(len - i) : READ_BATCH;
        if (go_read(w, arr + i * 8, ptrs, n * 8)) {
            c->problem(c, arr + i * 8, "go: allspans[%llu..] not captured", (unsigned long long)i);
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            if (!ptrs[k] || go_read(w, ptrs[k], sb, L->span_size))
                continue;
            uint64_t state = go_get(sb, L->s_state, 1);
            if (state != L->span_inuse && state != L->span_manual)
                continue;
            struct go_span s = {.mspan = ptrs[k], .state = state == L->span_inuse ? 1 : 2};
            uint64_t npages = go_get(sb, L->s_npages, 8);
            s.start = go_get(sb, L->s_start, 8);
            s.elemsize = go_get(sb, L->s_elemsize, 8);
            uint64_t nelems = go_get(sb, L->s_nelems, (unsigned)L->sz_nelems);
            s.spanclass = (uint8_t)go_get(sb, L->s_spanclass, 1);
            s.alloc_count = (uint32_t)go_get(sb, L->s_alloccount, (unsigned)L->sz_alloccount);
            s.needzero = L->s_needzero >= 0 && go_get(sb, L->s_needzero, 1) != 0;
            uint64_t ssg = go_get(sb, L->s_sweepgen, 4);
            /* mheap sweepgen - 2: needs sweeping; - 1: being swept (mheap.go) */
            s.unswept = s.state == 1 && ((uint32_t)(ssg + 2) == (uint32_t)sg || (uint32_t)(ssg + 1) == (uint32_t)sg);
            if (npages == 0 || npages > (1ull << 36) / L->page_size || (s.start & (L->page_size - 1)) ||
                s.start + npages * L->page_size < s.start) {
                c->problem(c, ptrs[k], "go: span at 0x%llx has %llu pages: not believable, skipped",
                           (unsigned long long)s.start, (unsigned long long)npages);
                continue;
            }
            s.end = s.start + npages * L->page_size;
            if (s.state == 1 && (s.elemsize == 0 || nelems == 0 || nelems > (s.end - s.start) / s.elemsize)) {
                c->problem(c, ptrs[k], "go: span at 0x%llx: %llu slots of %llu bytes do not fit its %llu pages",
                           (unsigned long long)s.start, (unsigned long long)nelems,
                           (unsigned long long)s.elemsize, (unsigned long long)npages);
                continue;
            }
            /* a small span holds elements of its class's size and is at
             * most a few pages (10 in Go 1.19 to 1.27); a large one holds one */
            unsigned cls = s.spanclass >> 1;
            if (s.state == 1 && (cls >= L->nclasses ||
                                 (cls ? s.elemsize != w->class_size[cls] || npages > SMALL_SPAN_PAGES :
                                        nelems != 1 || s.elemsize != s.end - s.start))) {
                c->problem(c, ptrs[k], "go: span at 0x%llx: class %u with %llu-byte elements over %llu pages "
                           "does not fit the size classes; skipped", (unsigned long long)s.start, cls,
                           (unsigned long long)s.elemsize, (unsigned long long)npages);
                continue;
            }
            s.nelems = (uint32_t)nelems;
            if (s.state == 1 && L->bits == GO_BITS_HEADERS && headers_layout(w, &s, cls, ptrs[k], sb))
                continue;
            if (push_span(w, &s, &cap)) {
                free(sb);
                return -1;
            }
        }
    }
    free(sb);
    if (w->nspans > 1)
        qsort(w->spans, w->nspans, sizeof *w->spans, by_start);
    /* allspans never lists a live span twice, nor do live spans overlap */
    size_t o = 0;
    for (size_t i = 0; i < w->nspans; i++) {
        if (o && w->spans[i].start < w->spans[o - 1].end) {
            c->problem(c, w->spans[i].mspan, "go: span at 0x%llx overlaps the span at 0x%llx; skipped",
                       (unsigned long long)w->spans[i].start, (unsigned long long)w->spans[o - 1].start);
            continue;
        }
        w->spans[o++] = w->spans[i];
    }
    w->nspans = o;
    return 0;
}

/* Arenas from allArenas, their bases from the derived arenaBaseOffset. */
static int read_arenas(struct go_walk *w)
{
    const struct go_layout *L = &w->L;
    struct heap_ctx *c = w->c;
    uint64_t arr, len;
    if (go_u64(w, L->mheap + (uint64_t)L->h_allarenas, &arr) ||
        go_u64(w, L->mheap + (uint64_t)L->h_allarenas + 8, &len))
        return 0;
    if (len > GO_MAX_ARENAS) {
        c->problem(c, arr, "go: %llu arenas listed; reading %u", (unsigned long long)len, GO_MAX_ARENAS);
        len = GO_MAX_ARENAS;
    }
    uint64_t *idx = len ? malloc(len * 8) : NULL;
    if (len && !idx)
        return -1;
    if (len && go_read(w, arr, idx, len * 8)) {
        c->problem(c, arr, "go: mheap_.allArenas not captured");
        free(idx);
        return 0;
    }
    if (!(w->arenas = calloc(len ? len : 1, sizeof *w->arenas))) {
        free(idx);
        return -1;
    }
    /* derive arenaBaseOffset from the first in-use span (see the top) */
    int found = 0;
    for (size_t si = 0; si < w->nspans && !found && si < 64; si++) {
        const struct go_span *s = &w->spans[si];
        uint64_t base = s->start & ~(L->arena_bytes - 1);
        for (uint64_t i = 0; i < len && !found; i++) {
            uint64_t meta = arena_meta(w, idx[i]), sp;
            if (meta && !go_u64(w, meta + (uint64_t)L->ha_spans + (s->start - base) / L->page_size * 8, &sp) &&
                sp == s->mspan) {
                w->arena_offset = base - idx[i] * L->arena_bytes;
                found = 1;
            }
        }
    }
    if (!found && w->nspans) {
        c->problem(c, 0, "go: no arena's span table holds the heap's spans: arenaBaseOffset cannot be derived");
        free(idx);
        return 0;
    }
    for (uint64_t i = 0; i < len; i++) {
        uint64_t meta = arena_meta(w, idx[i]);
        if (!meta) {
            c->problem(c, 0, "go: arena %llu has no heapArena", (unsigned long long)idx[i]);
            continue;
        }
        w->arenas[w->narenas++] = (struct go_arena){idx[i] * L->arena_bytes + w->arena_offset, meta};
    }
    free(idx);
    if (w->narenas > 1)
        qsort(w->arenas, w->narenas, sizeof *w->arenas, by_base);
    return 0;
}

/*
 * The page directory.  The typing and reference scans ask for the span of
 * every pointer they meet, and a binary search over 100,000 spans for a
 * random address costs a cache miss a step: 80% of the interface scan
 * (go_itypes_scan) of an 18 M-object heap.  The runtime answers from its
 * arenas' page tables; this is our own, made from the spans as walked, so
 * that it answers exactly what the search does: each page-size step of the
 * heap's extent holds the first span that ends after the step begins, and
 * a lookup moves on from there past the spans that end at or before the
 * address (at most one or two: spans are at least a page long and do not
 * overlap).  A snapshot whose spans are scattered across the address space
 * gets no directory, so its size stays bounded by the spans themselves.
 */
#define SPAN_DIR_SLACK (1u << 20) /* steps allowed beyond 8 per span */

static int span_directory(struct go_walk *w)
{
    uint64_t ps = w->L.page_size;
    free(w->span_dir);
    w->span_dir = NULL;
    w->span_dir_n = 0;
    if (!w->nspans || !ps || ps > (1ull << 32) || w->nspans >= UINT32_MAX)
        return 0;
    uint64_t lo = w->spans[0].start, hi = w->spans[w->nspans - 1].end;
    uint64_t steps = (hi - lo) / ps + ((hi - lo) % ps != 0); /* no overflow, however far apart */
    if (hi <= lo || steps > 8 * (uint64_t)w->nspans + SPAN_DIR_SLACK)
        return 0;
    if (!(w->span_dir = malloc(steps * sizeof *w->span_dir)))
        return -1;
    size_t k = 0;
    for (uint64_t p = 0; p < steps; p++) {
        uint64_t at = lo + p * ps;
        while (k < w->nspans && w->spans[k].end <= at)
            k++;
        w->span_dir[p] = (uint32_t)k;
    }
    w->span_dir_lo = lo;
    w->span_dir_n = steps;
    return 0;
}

const struct go_span *go_span_of(const struct go_walk *w, uint64_t a)
{
    if (w->span_dir) {
        if (a - w->span_dir_lo >= (uint64_t)w->span_dir_n * w->L.page_size)
            return NULL; /* below the first span or past the last */
        size_t k = w->span_dir[(a - w->span_dir_lo) / w->L.page_size];
        while (k < w->nspans && w->spans[k].end <= a)
            k++;
        return k < w->nspans && w->spans[k].start <= a ? &w->spans[k] : NULL;
    }
    size_t lo = 0, hi = w->nspans;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (w->spans[m].end <= a)
            lo = m + 1;
        else
            hi = m;
    }
    return lo < w->nspans && w->spans[lo].start <= a ? &w->spans[lo] : NULL;
}

/* Bytes of the whole pages of [a, b) that the snapshot has resident
 * (DATA or ZERO: present in the process; ABSENT and SWAPPED were not), at
 * each range's own page size.  Only the captured ranges that overlap
 * [a, b) are visited, so the work is bounded by the captured pages there,
 * however large a damaged span or run claims to be. */
static uint64_t resident_bytes(const struct go_walk *w, uint64_t a, uint64_t b)
{
    size_t n = 0, lo = 0, hi;
    const struct hs_mem_range *rs = w->c->snap ? hs_get_ranges(w->c->snap, &n) : NULL;
    uint64_t bytes = 0;
    for (hi = n; lo < hi;) { /* the first range ending after a (ranges are sorted, disjoint) */
        size_t m = lo + (hi - lo) / 2;
        if (rs[m].end <= a)
            lo = m + 1;
        else
            hi = m;
    }
    for (size_t i = lo; i < n && rs[i].start < b; i++) {
        const struct hs_mem_range *r = &rs[i];
        uint64_t ps = r->page_size;
        if (!ps || !r->page_state)
            continue;
        uint64_t from = a > r->start ? a : r->start, to = b < r->end ? b : r->end;
        for (uint64_t p = (from + ps - 1) / ps * ps; p + ps <= to && p >= from; p += ps) {
            uint8_t st = r->page_state[(p - r->start) / ps];
            if (st == HS_PAGE_DATA || st == HS_PAGE_ZERO)
                bytes += ps;
        }
    }
    return bytes;
}

static int report_free(struct go_walk *w, uint64_t a, uint64_t b)
{
    if (a >= b)
        return 0;
    if (w->nruns == w->capruns) {
        size_t n = w->capruns ? 2 * w->capruns : 256;
        struct go_run *v = realloc(w->runs, n * sizeof *v);
        if (!v)
            return -1;
        w->runs = v;
        w->capruns = n;
    }
    w->runs[w->nruns++] = (struct go_run){a, b, resident_bytes(w, a, b)};
    w->free_pages_bytes += b - a;
    return 0;
}

static void region(struct go_walk *w, uint64_t a, uint64_t b)
{
    struct heap_region r = {.start = a, .end = b, .kind = "go-heap"};
    if (a < b)
        w->c->region(w->c, &r);
}

/* The objects of one in-use span. */
static int span_objects(struct go_walk *w, struct go_span *s, uint8_t **bits, size_t *bitcap)
{
    const struct go_layout *L = &w->L;
    struct heap_ctx *c = w->c;
    uint64_t freeindex, ab;
    size_t nb = (s->nelems + 7) / 8;
    if (go_field(w, s->mspan, L->s_freeindex, (unsigned)L->sz_freeindex, &freeindex) ||
        go_field(w, s->mspan, L->s_allocbits, 8, &ab))
        return 0;
    if (nb > *bitcap) {
        uint8_t *v = realloc(*bits, nb);
        if (!v)
            return -1;
        *bits = v;
        *bitcap = nb;
    }
    if (go_read(w, ab, *bits, nb)) {
        c->problem(c, s->mspan, "go: allocBits of the span at 0x%llx not captured; its slots below freeindex "
                   "only are counted", (unsigned long long)s->start);
        memset(*bits, 0, nb);
    }
    if (freeindex > s->nelems)
        freeindex = s->nelems;
    s->freeindex = freeindex;
    s->allocbits = ab;
    /* a free slot holds a whole page only if it is at least one long (the
     * snapshot's pages are 4 KiB or more) */
    int big = s->elemsize >= 4096;
    for (uint32_t i = 0; i < s->nelems; i++) {
        int used = i < freeindex || ((*bits)[i / 8] >> (i % 8) & 1);
        uint64_t a = s->start + (uint64_t)i * s->elemsize, oa, os;
        if (!used) { /* a count on the span, not an object (see the top) */
            w->free_slots++;
            w->free_slot_bytes += s->elemsize;
            if (big)
                s->free_resident += resident_bytes(w, a, a + s->elemsize);
            continue;
        }
        go_slot_object(w, s, i, &oa, &os);
        struct heap_object o = {.addr = oa, .size = os, .chunk = a, .chunk_size = s->elemsize,
                                .state = OBJ_USED, .where = GO_WHERE_SPAN};
        c->object(c, &o);
        uint64_t t;
        if (s->header && !go_u64(w, a, &t) && t && go_gctype_add(w, t))
            return -1;
        s->allocated++;
        w->objects++;
        w->object_bytes += s->elemsize;
    }
    return 0;
}

int go_spans_walk(struct go_walk *w)
{
    const struct go_layout *L = &w->L;
    if (read_spans(w) || read_arenas(w) || span_directory(w))
        return -1;
    uint8_t *bits = NULL;
    size_t bitcap = 0;
    for (size_t i = 0; i < w->nspans; i++) {
        struct go_span *s = &w->spans[i];
        if (s->state == 2) {
            w->manual_span_bytes += s->end - s->start;
            continue;
        }
        w->inuse_span_bytes += s->end - s->start;
        w->unswept += s->unswept;
        if (span_objects(w, s, &bits, &bitcap)) {
            free(bits);
            return -1;
        }
    }
    free(bits);

    /* free page runs and regions, range by range of the page allocator's
     * inUse: the memory the heap has grown into (what HeapSys counts; the
     * rest of an arena is only reserved — and since Go 1.26 the heap starts
     * at a random page of its first arena) */
    uint64_t rarr = 0, rlen = 0, prev_hi = 0;
    if (go_u64(w, L->mheap + (uint64_t)L->h_inuse_ranges, &rarr) ||
        go_u64(w, L->mheap + (uint64_t)L->h_inuse_ranges + 8, &rlen)) {
        w->c->problem(w->c, L->mheap, "go: mheap_.pages.inUse not captured: no free page runs");
        return 0;
    }
    if (rlen > GO_MAX_ARENAS) {
        w->c->problem(w->c, rarr, "go: %llu heap address ranges listed; reading %u", (unsigned long long)rlen,
                      GO_MAX_ARENAS);
        rlen = GO_MAX_ARENAS;
    }
    size_t k = 0;
    for (uint64_t ri = 0; ri < rlen; ri++) {
        uint64_t lo, hi;
        if (go_u64(w, rarr + ri * L->addr_range_size, &lo) || go_u64(w, rarr + ri * L->addr_range_size + 8, &hi)) {
            w->c->problem(w->c, rarr, "go: mheap_.pages.inUse[%llu] not captured", (unsigned long long)ri);
            break;
        }
        if (lo >= hi || lo < prev_hi || (lo | hi) & (L->page_size - 1)) {
            w->c->problem(w->c, rarr, "go: heap address range [0x%llx, 0x%llx) is out of order or unaligned; "
                          "the free page runs end before it", (unsigned long long)lo, (unsigned long long)hi);
            break;
        }
        prev_hi = hi;
        uint64_t pos = lo, reg = lo;
        while (k < w->nspans && w->spans[k].end <= lo)
            k++;
        for (; k < w->nspans && w->spans[k].start < hi; k++) {
            const struct go_span *sp = &w->spans[k];
            if (sp->start > pos && report_free(w, pos, sp->start))
                return -1;
            if (sp->state == 2 && !w->c->root) { /* a manual span ends a region (see the top) */
                region(w, reg, sp->start);
                reg = sp->end;
            }
            pos = sp->end;
        }
        if (pos < hi && report_free(w, pos, hi))
            return -1;
        region(w, reg, pos > hi ? pos : hi);
    }
    return 0;
}

/* One go_spans row; NULL for what a free run or a manual span has not. */
static int span_row(struct heap_ctx *c, const struct go_walk *w, const struct go_span *s, const struct go_run *r)
{
    struct heap_value v[17] = {{0}};
    uint64_t start = s ? s->start : r->start, end = s ? s->end : r->end;
    v[0] = (struct heap_value){HV_INT, (int64_t)start, 0, NULL};
    v[1] = (struct heap_value){HV_INT, (int64_t)((end - start) / w->L.page_size), 0, NULL};
    v[2] = (struct heap_value){HV_TEXT, 0, 0, !s ? "free" : s->state == 1 ? "in-use" : "manual"};
    if (s && s->state == 1) {
        uint64_t nfree = s->nelems - s->allocated;
        const int64_t iv[] = {s->spanclass, s->spanclass >> 1, s->spanclass & 1, (int64_t)s->elemsize, s->nelems,
                              (int64_t)s->freeindex, s->allocated, s->alloc_count, (int64_t)nfree,
                              (int64_t)(nfree * s->elemsize), (int64_t)s->free_resident, s->unswept};
        for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++)
            v[3 + i] = (struct heap_value){HV_INT, iv[i], 0, NULL};
    } else if (!s) {
        v[12] = (struct heap_value){HV_INT, (int64_t)(end - start), 0, NULL};
        v[13] = (struct heap_value){HV_INT, (int64_t)r->resident, 0, NULL};
    }
    if (s) {
        if (w->L.s_needzero >= 0)
            v[15] = (struct heap_value){HV_INT, s->needzero, 0, NULL};
        v[16] = (struct heap_value){HV_INT, (int64_t)s->mspan, 0, NULL};
    }
    return c->row(c, "go_spans", v, 17);
}

int go_spans_table(struct go_walk *w, struct heap_ctx *c)
{
    static const struct heap_column cols[] = {
        {"base", "INTEGER PRIMARY KEY"}, {"npages", "INTEGER"},       {"state", "TEXT"},
        {"spanclass", "INTEGER"},        {"sizeclass", "INTEGER"},    {"noscan", "INTEGER"},
        {"elemsize", "INTEGER"},         {"nelems", "INTEGER"},       {"freeindex", "INTEGER"},
        {"allocated", "INTEGER"},        {"alloc_count", "INTEGER"},  {"free_count", "INTEGER"},
        {"free_bytes", "INTEGER"},       {"free_resident", "INTEGER"}, {"unswept", "INTEGER"},
        {"needzero", "INTEGER"},         {"mspan", "INTEGER"},
    };
    if (c->table(c, "go_spans", cols, sizeof cols / sizeof cols[0]))
        return -1;
    /* spans and runs are each sorted and never overlap: merge them */
    size_t i = 0, k = 0;
    while (i < w->nspans || k < w->nruns) {
        int span = k == w->nruns || (i < w->nspans && w->spans[i].start < w->runs[k].start);
        if (span ? span_row(c, w, &w->spans[i++], NULL) : span_row(c, w, NULL, &w->runs[k++]))
            return -1;
    }
    return 0;
}
