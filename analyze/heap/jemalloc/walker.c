/*
 * jemalloc/walker.c — the jemalloc 5.x walker (jemalloc_allocator; see
 * allocator.h).
 *
 * How jemalloc lays out its memory, and so how we walk it:
 *
 *   extents    All memory handed to the program is in extents: page runs
 *              described by an edata_t (in jemalloc's own "base" memory).
 *              The emap rtree maps every page of an active slab, and the
 *              first and last page of every other extent, to its edata
 *              (jemalloc/layout.c finds the tree).  So the tree's leaves
 *              name every extent: active ones, and the dirty, muzzy and
 *              retained ones jemalloc keeps for reuse.
 *   slabs      An active extent with the slab bit holds regions of one
 *              small size class (szind < 36, up to 14 KiB): size / reg_size
 *              of them, and a bitmap in the edata with a 1 for each free
 *              region (bitmap.h: a set bit is an unallocated one).
 *              e_bits' nfree says how many there should be.
 *   large      An active extent without it is one allocation: the program
 *              holds e_addr (a random cacheline offset into the first page
 *              when cache_oblivious is on), usable size sz_index2size(szind).
 *   tcache     Each thread keeps freed pointers in its tcache, in the TLS
 *              block just below fs_base: cache_bin_t records (24 bytes
 *              in 5.3.0, or as DWARF's cache_bin_s says: stack_head,
 *              stats, then the low 16 bits of the low water, full and
 *              empty positions), one per size class, whose stacks
 *              lie end to end in one array — bin k's empty position is bin
 *              k+1's full one, which is how a run of them is recognised.
 *              To the slab they are allocated; to the program they are free.
 *
 * Objects reported: every region of every slab (used, free by the bitmap,
 * or free in a tcache), every large allocation (used, or in a tcache).
 * heap_object.size is what malloc_usable_size() says: the size class.
 *
 * Facts, in mallctl terms so that a test can compare them exactly:
 *   jemalloc.allocated  Σ size of used and tcache objects ("stats.allocated":
 *                       to jemalloc's arenas a tcache'd region is allocated)
 *   jemalloc.active     Σ size of active extents ("stats.active")
 *   jemalloc.dirty_bytes / muzzy_bytes / retained_bytes   the other extents
 *
 * malloc's own memory: every edata_t holds e_addr, the address of the
 * first region of a slab or of a large allocation, so a conservative scan
 * of base memory would keep each of those alive.  The edata are reported
 * through ctx->internal, and never scanned.  A tcache's stack array, which
 * points only at free regions, is a large allocation of jemalloc's own: it
 * is reported used with where = JE_WHERE_INTERNAL, and not scanned either.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap/jemalloc/internal.h"

#define MAX_EXTENTS (1u << 24)
#define TLS_SCAN    65536u /* bytes below a thread's fs_base searched for its tcache */
#define MAX_TCACHES 1024u

struct je_ext {
    uint64_t edata;
    uint64_t bits;     /* the first leaf element that named it */
};

struct walk {
    struct heap_ctx *c;
    const struct je_layout *L;
    const struct je_where *where; /* the rtree's root and shape */
    struct je_ext *ex;
    size_t n, cap;
    uint64_t *cached;  /* pointers in tcaches, sorted */
    size_t ncached, capcached;
    uint64_t tcaches;
    uint64_t stacks[MAX_TCACHES][2]; /* each tcache's stack array [lo, hi) */
    int oom;
};

static int cmp_ext(const void *a, const void *b)
{
    const struct je_ext *x = a, *y = b;
    return x->edata < y->edata ? -1 : x->edata > y->edata;
}

static int cmp_u64(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return *x < *y ? -1 : *x > *y;
}

static void add_ext(struct walk *W, uint64_t edata, uint64_t bits)
{
    if (W->n == W->cap) {
        if (W->cap >= MAX_EXTENTS) {
            W->oom = 1;
            return;
        }
        size_t cap = W->cap ? 2 * W->cap : 4096;
        struct je_ext *p = realloc(W->ex, cap * sizeof *p);
        if (!p) {
            W->oom = 1;
            return;
        }
        W->ex = p;
        W->cap = cap;
    }
    W->ex[W->n++] = (struct je_ext){edata, bits};
}

/* Every element of one leaf: its extents, once each as far as the leaf
 * goes (a slab's pages name it one after another). */
static void leaf_extents(void *u, uint64_t leaf, unsigned idx)
{
    struct walk *W = u;
    struct heap_ctx *c = W->c;
    const struct je_rtree *t = &W->where->rt;
    uint64_t prev = 0, bytes = je_leaf_bytes(t);
    int seen = 0;
    for (uint64_t off = 0; off < bytes && !W->oom; off += JE_PAGE) {
        const uint8_t *e = hs_ptr(c->snap, leaf + off, JE_PAGE);
        if (!e)
            continue;
        seen = 1;
        for (unsigned j = 0; j < JE_PAGE / t->elm; j++) {
            /* a cleared element keeps szind SC_NSIZES and no edata */
            uint64_t b = je_leaf_elm(t, e + j * t->elm), ed = JE_LEAF_EDATA(b);
            if (!ed || ed == prev)
                continue;
            prev = ed;
            add_ext(W, ed, b);
        }
    }
    if (!seen)
        c->problem(c, leaf, "jemalloc: rtree leaf 0x%llx (root[%u]) was not captured", (unsigned long long)leaf,
                   idx);
}

/* Every element of every leaf under the root: the extents, once each. */
static void collect_extents(struct walk *W)
{
    je_leaves(W->c, W->L, W->where, leaf_extents, W);
    if (W->n > 1)
        qsort(W->ex, W->n, sizeof *W->ex, cmp_ext);
    size_t u = 0;
    for (size_t i = 0; i < W->n; i++)
        if (!u || W->ex[u - 1].edata != W->ex[i].edata)
            W->ex[u++] = W->ex[i];
    W->n = u;
}

/* ------------------------------------------------------------ tcache */

static void add_cached(struct walk *W, uint64_t p)
{
    if (W->ncached == W->capcached) {
        size_t cap = W->capcached ? 2 * W->capcached : 1024;
        uint64_t *q = realloc(W->cached, cap * sizeof *q);
        if (!q) {
            W->oom = 1;
            return;
        }
        W->cached = q;
        W->capcached = cap;
    }
    W->cached[W->ncached++] = p;
}

/* The cache_bin_t at a: its stack head and low bits, 1 if they are sane. */
struct cbin {
    uint64_t head;
    uint16_t full, empty;
};
static int read_bin(struct heap_ctx *c, const struct je_layout *L, uint64_t a, struct cbin *b)
{
    const uint8_t *p = hs_ptr(c->snap, a, L->cb_size);
    if (!p)
        return 0;
    memcpy(&b->head, p + L->cb_head, 8);
    memcpy(&b->full, p + L->cb_full, 2);
    memcpy(&b->empty, p + L->cb_empty, 2);
    uint16_t h = (uint16_t)b->head, max = (uint16_t)(b->empty - b->full),
             n = (uint16_t)(b->empty - h);
    return b->head && b->head % 8 == 0 && max % 8 == 0 && n % 8 == 0 && n <= max &&
           max <= 8 * 4096;
}

/*
 * A thread's tcache: below fs_base, the run of cache_bin_t whose stacks
 * are end to end (bin k's empty == bin k+1's full) and at least as long
 * as there are small size classes.  Its entries (from stack_head up to the
 * empty position) are added to W->cached; the stack array is malloc's own.
 */
static void find_tcache(struct walk *W, uint64_t fs)
{
    struct heap_ctx *c = W->c;
    const uint64_t cb = W->L->cb_size;
    for (uint64_t a = fs - TLS_SCAN; a + cb * JE_NBINS <= fs; a += 8) {
        struct cbin b0, b;
        if (!read_bin(c, W->L, a, &b0))
            continue;
        unsigned nb = 1;
        uint16_t want = b0.empty;
        while (nb < JE_NSIZES && read_bin(c, W->L, a + cb * nb, &b) && b.full == want) {
            want = b.empty;
            nb++;
        }
        if (nb < JE_NBINS)
            continue;
        /* bins 0..nb-1 at a: size class k holds stack entries [head, empty) */
        uint64_t lo = UINT64_MAX, hi = 0;
        for (unsigned k = 0; k < nb; k++) {
            read_bin(c, W->L, a + cb * k, &b);
            unsigned n = (uint16_t)(b.empty - (uint16_t)b.head) / 8;
            uint16_t max = (uint16_t)(b.empty - b.full);
            uint64_t full = b.head - (uint16_t)((uint16_t)b.head - b.full);
            if (full < lo)
                lo = full;
            if (full + max > hi)
                hi = full + max;
            for (unsigned e = 0; e < n; e++) {
                uint64_t p;
                if (hs_read_u64(c->snap, b.head + 8u * e, &p)) {
                    c->problem(c, b.head, "jemalloc: tcache bin %u at 0x%llx: stack not captured",
                               k, (unsigned long long)(a + cb * k));
                    break;
                }
                add_cached(W, p);
            }
        }
        if (lo < hi) {
            W->stacks[W->tcaches][0] = lo;
            W->stacks[W->tcaches][1] = hi;
        }
        W->tcaches++;
        return;
    }
}

static void find_tcaches(struct walk *W)
{
    size_t nt;
    const struct hs_thread *t = hs_get_threads(W->c->snap, &nt);
    for (size_t i = 0; i < nt && W->tcaches < MAX_TCACHES; i++) {
        uint64_t fs = t[i].regs[HS_FS_BASE];
        if (fs && fs % 8 == 0 && fs > TLS_SCAN)
            find_tcache(W, fs);
    }
    if (W->ncached > 1)
        qsort(W->cached, W->ncached, sizeof *W->cached, cmp_u64);
}

/* Is p in a tcache?  Each entry may stand for one object only: a pointer
 * cached twice is a double free. */
static int take_cached(struct walk *W, uint64_t p)
{
    size_t lo = 0, hi = W->ncached;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (W->cached[mid] < p)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < W->ncached && W->cached[lo] == p) {
        if (lo + 1 < W->ncached && W->cached[lo + 1] == p)
            W->c->problem(W->c, p, "jemalloc: 0x%llx is in a tcache twice (double free?)",
                          (unsigned long long)p);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------ the walk */

struct totals {
    uint64_t allocated, active, dirty, muzzy, retained, slabs, large, cached;
};

static uint64_t field(uint64_t bits, unsigned shift, unsigned width)
{
    return (bits >> shift) & (((uint64_t)1 << width) - 1);
}

static void report_slab(struct walk *W, uint64_t e, uint64_t base, uint64_t size, uint64_t bits,
                        unsigned arena, struct totals *t)
{
    struct heap_ctx *c = W->c;
    const struct je_layout *L = W->L;
    unsigned szind = (unsigned)field(bits, L->szind_shift, 8);
    uint64_t reg = je_index2size(szind);
    if (szind >= JE_NBINS || !reg || size % reg || size / reg > JE_SLAB_MAXREGS) {
        c->problem(c, e, "jemalloc: slab 0x%llx: size class %u does not divide its %llu bytes; "
                         "skipped", (unsigned long long)base, szind, (unsigned long long)size);
        return;
    }
    uint64_t bm[JE_SLAB_MAXREGS / 64];
    if (hs_read(c->snap, e + L->ed_bitmap, bm, sizeof bm)) {
        c->problem(c, e, "jemalloc: slab 0x%llx: bitmap not captured", (unsigned long long)base);
        return;
    }
    unsigned nregs = (unsigned)(size / reg), nfree = 0;
    for (unsigned r = 0; r < nregs; r++)
        nfree += (bm[r / 64] >> (r % 64)) & 1;
    unsigned want = (unsigned)field(bits, L->nfree_shift, L->nfree_bits);
    if (nfree != want)
        c->problem(c, e, "jemalloc: slab 0x%llx: its bitmap has %u free regions, nfree says %u",
                   (unsigned long long)base, nfree, want);
    struct heap_region rg = {.start = base, .end = base + size, .arena = (uint16_t)arena,
                             .kind = "jemalloc-slab"};
    c->region(c, &rg);
    for (unsigned r = 0; r < nregs; r++) {
        uint64_t a = base + r * reg;
        int isfree = (bm[r / 64] >> (r % 64)) & 1;
        struct heap_object o = {.addr = a, .size = reg, .chunk = a, .chunk_size = reg,
                                .state = isfree ? OBJ_FREE : OBJ_USED, .where = JE_WHERE_SLAB,
                                .arena = (uint16_t)arena};
        if (!isfree && take_cached(W, a)) {
            o.state = OBJ_FREE;
            o.where = JE_WHERE_TCACHE;
            t->cached++;
        }
        if (!isfree)
            t->allocated += reg;
        c->object(c, &o);
    }
    t->slabs++;
}

static void report_extent(struct walk *W, const struct je_ext *x, struct totals *t)
{
    struct heap_ctx *c = W->c;
    const struct je_layout *L = W->L;
    uint64_t bits, addr, sz;
    if (x->edata % JE_EDATA_ALIGN || hs_read_u64(c->snap, x->edata + L->ed_bits, &bits) ||
        hs_read_u64(c->snap, x->edata + L->ed_addr, &addr) ||
        hs_read_u64(c->snap, x->edata + L->ed_size_esn, &sz)) {
        c->problem(c, x->edata, "jemalloc: edata 0x%llx (from the rtree) not captured",
                   (unsigned long long)x->edata);
        return;
    }
    unsigned state = (unsigned)field(bits, L->state_shift, 3), slab = (unsigned)field(bits, L->slab_shift, 1);
    unsigned szind = (unsigned)field(bits, L->szind_shift, 8);
    unsigned arena = (unsigned)field(bits, L->arena_shift, L->arena_bits);
    uint64_t base = addr & ~(uint64_t)(JE_PAGE - 1), size = sz & ~(uint64_t)(JE_PAGE - 1);
    if (!size || base + size < base || (base + size) >> W->where->rt.lg_vaddr) {
        c->problem(c, x->edata, "jemalloc: edata 0x%llx: extent 0x%llx of size 0x%llx is not "
                                "believable; skipped",
                   (unsigned long long)x->edata, (unsigned long long)addr, (unsigned long long)sz);
        return;
    }
    if (state != JE_LEAF_STATE(x->bits) || (state == JE_ACTIVE && slab != JE_LEAF_SLAB(x->bits))) {
        c->problem(c, x->edata, "jemalloc: edata 0x%llx says state %u%s, the rtree says %u%s",
                   (unsigned long long)x->edata, state, slab ? " (slab)" : "",
                   (unsigned)JE_LEAF_STATE(x->bits), JE_LEAF_SLAB(x->bits) ? " (slab)" : "");
        return;
    }
    if (state != JE_ACTIVE) {
        static const char *const kind[] = {"", "jemalloc-dirty", "jemalloc-muzzy", "jemalloc-retained"};
        if (state <= JE_RETAINED) {
            struct heap_region rg = {.start = base, .end = base + size, .arena = (uint16_t)arena,
                                     .kind = kind[state]};
            c->region(c, &rg);
            *(state == JE_DIRTY ? &t->dirty : state == JE_MUZZY ? &t->muzzy : &t->retained) += size;
        }
        return;
    }
    t->active += size;
    if (slab) {
        report_slab(W, x->edata, base, size, bits, arena, t);
        return;
    }
    uint64_t usize = je_index2size(szind);
    if (szind < JE_NBINS || !usize || usize > size || addr - base >= JE_PAGE) {
        c->problem(c, x->edata, "jemalloc: large extent 0x%llx: size class %u (%llu bytes) does "
                                "not fit its %llu bytes; skipped",
                   (unsigned long long)base, szind, (unsigned long long)usize,
                   (unsigned long long)size);
        return;
    }
    struct heap_region rg = {.start = base, .end = base + size, .arena = (uint16_t)arena,
                             .kind = "jemalloc-large"};
    c->region(c, &rg);
    struct heap_object o = {.addr = addr, .size = usize, .chunk = base, .chunk_size = size,
                            .state = OBJ_USED, .where = JE_WHERE_LARGE, .arena = (uint16_t)arena};
    if (take_cached(W, addr)) {
        o.state = OBJ_FREE;
        o.where = JE_WHERE_TCACHE;
        t->cached++;
    }
    /* A tcache's stack array is an allocation jemalloc made for itself:
     * in use (stats.allocated counts it), but its words point only at free
     * regions, so it is not scanned (like glibc's tcache_perthread_struct). */
    for (uint64_t k = 0; k < W->tcaches; k++)
        if (W->stacks[k][0] >= addr && W->stacks[k][1] <= addr + usize && W->stacks[k][1])
            o.where = JE_WHERE_INTERNAL;
    t->allocated += usize;
    t->large++;
    c->object(c, &o);
}

static int jemalloc_detect(struct heap_ctx *c)
{
    return je_module(c) >= 0;
}

static int jemalloc_walk(struct heap_ctx *c)
{
    const struct hs_process *proc = hs_get_process(c->snap);
    if (proc && (proc->flags & HS_PROC_REDACTED)) {
        c->problem(c, 0, "jemalloc: the snapshot is redacted (--redact zeroed jemalloc's "
                         "metadata); the heap cannot be walked");
        return -1;
    }
    struct je_layout L;
    struct je_where w;
    je_layout_load(c, je_module(c), &L);
    if (je_locate(c, &L, &w))
        return -1;
    char buf[96];
    c->fact(c, "jemalloc.layout", L.source);
    if (L.dwarf[0]) {
        c->fact(c, "jemalloc.layout_dwarf", L.dwarf);
        c->fact(c, "jemalloc.fallback_layout", L.differs[0] ? L.differs : "agrees with DWARF");
    }
    snprintf(buf, sizeof buf, "0x%llx (%s)", (unsigned long long)w.root, w.root_how);
    c->fact(c, "jemalloc.rtree_root", buf);
    snprintf(buf, sizeof buf, "%u", w.rt.lg_vaddr);
    c->fact(c, "jemalloc.lg_vaddr", buf);

    struct walk W = {.c = c, .L = &L, .where = &w};
    find_tcaches(&W);
    collect_extents(&W);
    /* the edata, in runs (they are carved from base memory side by side) */
    for (size_t i = 0; c->internal && i < W.n;) {
        size_t j = i + 1;
        while (j < W.n && W.ex[j].edata == W.ex[j - 1].edata + L.ed_size)
            j++;
        c->internal(c, W.ex[i].edata, W.ex[j - 1].edata + L.ed_size, "jemalloc-edata");
        i = j;
    }
    struct totals t = {0};
    for (size_t i = 0; i < W.n; i++)
        report_extent(&W, &W.ex[i], &t);
    if (t.cached != W.ncached)
        c->problem(c, 0, "jemalloc: %llu pointers are in tcaches but %llu of them are allocated "
                         "regions or large extents",
                   (unsigned long long)W.ncached, (unsigned long long)t.cached);
    heap_fact_u64(c, "jemalloc.extents", W.n);
    heap_fact_u64(c, "jemalloc.slabs", t.slabs);
    heap_fact_u64(c, "jemalloc.large", t.large);
    heap_fact_u64(c, "jemalloc.tcaches", W.tcaches);
    heap_fact_u64(c, "jemalloc.tcache_objects", t.cached);
    heap_fact_u64(c, "jemalloc.allocated", t.allocated);
    heap_fact_u64(c, "jemalloc.active", t.active);
    heap_fact_u64(c, "jemalloc.dirty_bytes", t.dirty);
    heap_fact_u64(c, "jemalloc.muzzy_bytes", t.muzzy);
    heap_fact_u64(c, "jemalloc.retained_bytes", t.retained);
    int rc = W.oom ? -1 : 0;
    if (W.oom)
        c->problem(c, 0, "jemalloc: out of memory (or more than %u extents) during the walk",
                   MAX_EXTENTS);
    free(W.ex);
    free(W.cached);
    return rc;
}

static const struct heap_where_kind jemalloc_wheres[JE_WHERE_COUNT] = {
    [JE_WHERE_SLAB] = {"slab", "slabs", 0},
    [JE_WHERE_LARGE] = {"large", NULL, 0},
    [JE_WHERE_TCACHE] = {"tcache", "tcache", 0},
    [JE_WHERE_INTERNAL] = {"malloc-internal", NULL, HW_INTERNAL},
};

const struct allocator jemalloc_allocator = {
    .name = "jemalloc",
    .wheres = jemalloc_wheres,
    .advisor = &jemalloc_advisor,
    .type_slack = 16, /* its small size classes are 16 bytes apart up to 128: a request gets at most 15 more */
    .nwheres = JE_WHERE_COUNT,
    .detect = jemalloc_detect,
    .walk = jemalloc_walk,
};
