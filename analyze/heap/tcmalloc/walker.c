/*
 * tcmalloc/walker.c — the tcmalloc (gperftools 2.x) walker
 * (tcmalloc_allocator; see allocator.h).
 *
 * How tcmalloc lays out its memory, and so how we walk it:
 *
 *   spans      All memory is in spans: runs of 8 KiB pages described by a
 *              Span in tcmalloc's metadata, which the page map names
 *              (tcmalloc/layout.c finds it).  A span is in use, or free in
 *              the page heap (normal, or returned to the system).
 *   small      An in-use span with a size class holds objects of that
 *              class's size, end to end from its first page; those that
 *              no one holds are in the span's own list (Span::objects),
 *              in a thread cache, or in its class's transfer cache.
 *   large      An in-use span without one is one object: the whole span.
 *   thread     Each thread's ThreadCache (all linked from thread_heaps_)
 *   caches     has a list of free objects per size class; the central free
 *              list of each class keeps up to 64 batches of them in its
 *              transfer cache.  To the span they are allocated; to the
 *              program they are free.
 *
 * Objects reported: every object of every small span (used, or free in its
 * span, a thread cache or a transfer cache), every large object.
 * heap_object.size is what tc_malloc_size() says: the class's size, or the
 * large span's bytes.
 *
 * Facts, in MallocExtension's terms so that a test can compare them exactly:
 *   tcmalloc.current_allocated_bytes   Σ size of used objects
 *   tcmalloc.thread_cache_free_bytes   Σ size of objects in thread caches
 *   tcmalloc.central_cache_free_bytes  Σ size of objects in span lists, plus
 *                                      each small span's tail that no
 *                                      object fits in
 *   tcmalloc.transfer_cache_free_bytes Σ size of objects in transfer caches
 *   tcmalloc.pageheap_free_bytes / pageheap_unmapped_bytes   free spans
 *
 * tcmalloc's own memory: the central free lists and the thread caches
 * point only at free objects, and keep stale pointers in their unused
 * slots; they are reported through ctx->internal, and never scanned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap/tcmalloc/internal.h"

#define MAX_SPANS      (1u << 24)
#define MAX_CACHES     4096u
#define MAX_LIST       (1u << 16)   /* nodes of one free list (FreeList's length is 32 bits) */
#define MAX_BATCH      8192u        /* nodes of one transfer cache batch */

enum { CACHED_THREAD = 1, CACHED_TRANSFER = 2 };

struct cached {
    uint64_t p;
    uint8_t how;        /* CACHED_* */
    uint8_t cl;         /* the size class of the list it is on */
};

struct walk {
    struct heap_ctx *c;
    const struct tc_where *w;
    uint64_t *spans;
    size_t nspans, capspans;
    struct cached *cached;
    size_t ncached, capcached;
    uint64_t stale;     /* page map elements naming a span that no longer holds the page */
    uint64_t caches;    /* thread caches */
    int oom;
};

struct totals {
    uint64_t allocated, thread, central, transfer, pagefree, unmapped, small, large, matched;
};

static int cmp_u64(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return *x < *y ? -1 : *x > *y;
}

static int cmp_cached(const void *a, const void *b)
{
    const struct cached *x = a, *y = b;
    return x->p < y->p ? -1 : x->p > y->p;
}

/* ------------------------------------------------------------ spans */

static void add_span(struct walk *W, uint64_t s)
{
    if (W->nspans == W->capspans) {
        if (W->capspans >= MAX_SPANS) {
            W->oom = 1;
            return;
        }
        size_t cap = W->capspans ? 2 * W->capspans : 4096;
        uint64_t *p = realloc(W->spans, cap * sizeof *p);
        if (!p) {
            W->oom = 1;
            return;
        }
        W->spans = p;
        W->capspans = cap;
    }
    W->spans[W->nspans++] = s;
}

/* Every element of every leaf: the spans that hold their pages, once each.
 * A run of elements naming one span costs one read. */
static void collect_spans(struct walk *W)
{
    struct heap_ctx *c = W->c;
    for (unsigned pg = 0; pg < TC_ROOT_LEN * 8 / 4096 && !W->oom; pg++) {
        const uint64_t *r = hs_ptr(c->snap, W->w->root + (uint64_t)pg * 4096, 4096);
        if (!r)
            continue;
        for (unsigned k = 0; k < 512 && !W->oom; k++) {
            uint64_t leaf = r[k], prev = 0;
            unsigned idx = pg * 512 + k;
            if (!leaf)
                continue;
            if (leaf % 8 || !hs_ptr(c->snap, leaf, 8)) {
                c->problem(c, W->w->root + 8u * idx, "tcmalloc: page map root[%u] points to 0x%llx, "
                                                     "which was not captured; skipped",
                           idx, (unsigned long long)leaf);
                continue;
            }
            for (unsigned lp = 0; lp < TC_LEAF_LEN * 8 / 4096 && !W->oom; lp++) {
                const uint64_t *e = hs_ptr(c->snap, leaf + (uint64_t)lp * 4096, 4096);
                if (!e)
                    continue;
                for (unsigned j = 0; j < 512; j++) {
                    uint64_t v = e[j], page = ((uint64_t)idx << TC_LEAF_BITS) | (lp * 512 + j);
                    struct tc_span s;
                    if (!v || v == prev)
                        continue;
                    if (!tc_read_span(c, v, &s) || page < s.start || page >= s.start + s.length) {
                        W->stale++;
                        continue;
                    }
                    prev = v;
                    add_span(W, v);
                }
            }
        }
    }
    if (W->nspans > 1)
        qsort(W->spans, W->nspans, sizeof *W->spans, cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < W->nspans; i++)
        if (!u || W->spans[u - 1] != W->spans[i])
            W->spans[u++] = W->spans[i];
    W->nspans = u;
}

/* ------------------------------------------------------------ caches */

static void add_cached(struct walk *W, uint64_t p, unsigned how, unsigned cl)
{
    if (W->ncached == W->capcached) {
        size_t cap = W->capcached ? 2 * W->capcached : 1024;
        struct cached *q = realloc(W->cached, cap * sizeof *q);
        if (!q) {
            W->oom = 1;
            return;
        }
        W->cached = q;
        W->capcached = cap;
    }
    W->cached[W->ncached++] = (struct cached){p, (uint8_t)how, (uint8_t)cl};
}

/* The free list from head, at most max nodes (to stop where it should, at
 * `last`, or at NULL); each node added.  Returns how many. */
static uint64_t walk_list(struct walk *W, uint64_t head, uint64_t last, uint64_t max, unsigned how,
                          unsigned cl, uint64_t where)
{
    struct heap_ctx *c = W->c;
    uint64_t n = 0, p = head;
    while (p && n < max && !W->oom) {
        add_cached(W, p, how, cl);
        n++;
        if (p == last)
            break;
        if (p % 8 || hs_read_u64(c->snap, p, &p)) {
            c->problem(c, where, "tcmalloc: a %s list of class %u runs into 0x%llx, which was not "
                                 "captured; cut there",
                       how == CACHED_THREAD ? "thread cache" : "transfer cache", cl,
                       (unsigned long long)p);
            break;
        }
    }
    return n;
}

static void thread_caches(struct walk *W)
{
    struct heap_ctx *c = W->c;
    uint64_t tc, seen[64];
    unsigned nseen = 0;
    if (!W->w->thread_heaps || hs_read_u64(c->snap, W->w->thread_heaps, &tc))
        return;
    for (; tc && W->caches < MAX_CACHES && !W->oom; W->caches++) {
        const uint8_t *p = tc % 8 ? NULL : hs_ptr(c->snap, tc, TC_TC_SIZE);
        if (!p) {
            c->problem(c, tc, "tcmalloc: thread cache 0x%llx (on thread_heaps_) not captured; the "
                              "list is cut there", (unsigned long long)tc);
            return;
        }
        for (unsigned k = 0; k < nseen; k++)
            if (seen[k] == tc) {
                c->problem(c, tc, "tcmalloc: thread_heaps_ loops back to 0x%llx", (unsigned long long)tc);
                return;
            }
        if (nseen < sizeof seen / sizeof seen[0])
            seen[nseen++] = tc;
        if (c->internal)
            c->internal(c, tc, tc + TC_TC_SIZE, "tcmalloc ThreadCache");
        for (unsigned cl = 1; cl < W->w->nclasses; cl++) {
            uint64_t head;
            uint32_t len;
            memcpy(&head, p + cl * TC_TC_LIST_STRIDE, 8);
            memcpy(&len, p + cl * TC_TC_LIST_STRIDE + TC_TC_LENGTH, 4);
            if (!head && !len)
                continue;
            uint64_t got = walk_list(W, head, 0, len < MAX_LIST ? len : MAX_LIST, CACHED_THREAD, cl,
                                     tc + cl * TC_TC_LIST_STRIDE);
            if (got != len)
                c->problem(c, tc + cl * TC_TC_LIST_STRIDE, "tcmalloc: thread cache 0x%llx: the list "
                           "of class %u has %llu objects, its length says %u",
                           (unsigned long long)tc, cl, (unsigned long long)got, len);
        }
        memcpy(&tc, p + TC_TC_NEXT, 8);
    }
}

static void transfer_caches(struct walk *W)
{
    struct heap_ctx *c = W->c;
    uint64_t base = W->w->central;
    if (!base)
        return;
    if (c->internal)
        c->internal(c, base, base + (uint64_t)TC_CFL_SIZE * TC_NCLASSES, "tcmalloc central_cache_");
    for (unsigned cl = 1; cl < W->w->nclasses && !W->oom; cl++) {
        uint64_t a = base + (uint64_t)cl * TC_CFL_SIZE;
        int32_t used;
        if (hs_read(c->snap, a + TC_CFL_USED_SLOTS, &used, 4))
            continue;
        for (int32_t k = 0; k < used && k < (int32_t)TC_CFL_NSLOTS; k++) {
            uint64_t ht[2];
            if (hs_read(c->snap, a + TC_CFL_SLOTS + 16u * (unsigned)k, ht, sizeof ht))
                break;
            uint64_t n = walk_list(W, ht[0], ht[1], MAX_BATCH, CACHED_TRANSFER, cl, a);
            if (!n || W->cached[W->ncached - 1].p != ht[1])
                c->problem(c, a, "tcmalloc: transfer cache slot %d of class %u does not end at its "
                                 "tail 0x%llx", (int)k, cl, (unsigned long long)ht[1]);
        }
    }
}

/* Is p in a cache?  Its entry, or NULL; a pointer cached twice is a
 * double free. */
static const struct cached *find_cached(struct walk *W, uint64_t p)
{
    size_t lo = 0, hi = W->ncached;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (W->cached[mid].p < p)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == W->ncached || W->cached[lo].p != p)
        return NULL;
    if (lo + 1 < W->ncached && W->cached[lo + 1].p == p)
        W->c->problem(W->c, p, "tcmalloc: 0x%llx is in a cache twice (double free?)", (unsigned long long)p);
    return &W->cached[lo];
}

/* ------------------------------------------------------------ the walk */

static void report_small(struct walk *W, const struct tc_span *s, unsigned cl, struct totals *t)
{
    struct heap_ctx *c = W->c;
    uint64_t base = s->start << TC_PAGE_SHIFT, bytes = s->length << TC_PAGE_SHIFT;
    uint64_t size = cl < W->w->nclasses ? W->w->class_size[cl] : 0, n = size ? bytes / size : 0;
    if (!n) {
        c->problem(c, s->addr, "tcmalloc: span 0x%llx: size class %u does not fit its %llu bytes; "
                               "skipped", (unsigned long long)base, cl, (unsigned long long)bytes);
        return;
    }
    uint8_t *isfree = calloc(n / 8 + 1, 1);
    if (!isfree) {
        W->oom = 1;
        return;
    }
    /* the span's own list of free objects */
    uint64_t nfree = 0;
    for (uint64_t p = s->objects; p && nfree < n;) {
        uint64_t i = (p - base) / size;
        if (p < base || p >= base + n * size || (p - base) % size) {
            c->problem(c, s->addr, "tcmalloc: span 0x%llx: its free list holds 0x%llx, which is "
                                   "not one of its objects; cut there",
                       (unsigned long long)base, (unsigned long long)p);
            break;
        }
        if (isfree[i / 8] >> (i % 8) & 1) {
            c->problem(c, s->addr, "tcmalloc: span 0x%llx: its free list loops back to 0x%llx",
                       (unsigned long long)base, (unsigned long long)p);
            break;
        }
        isfree[i / 8] |= (uint8_t)(1u << (i % 8));
        nfree++;
        if (hs_read_u64(c->snap, p, &p)) {
            c->problem(c, s->addr, "tcmalloc: span 0x%llx: free object not captured",
                       (unsigned long long)base);
            break;
        }
    }
    if (TC_SPAN_REFCOUNT(s->bits) != n - nfree)
        c->problem(c, s->addr, "tcmalloc: span 0x%llx: %llu of its %llu objects are on its free "
                               "list, its refcount says %u are out",
                   (unsigned long long)base, (unsigned long long)nfree, (unsigned long long)n,
                   (unsigned)TC_SPAN_REFCOUNT(s->bits));
    struct heap_region rg = {.start = base, .end = base + bytes, .kind = "tcmalloc-span"};
    c->region(c, &rg);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t a = base + i * size;
        struct heap_object o = {.addr = a, .size = size, .chunk = a, .chunk_size = size,
                                .state = OBJ_USED, .where = TC_WHERE_SPAN};
        const struct cached *k;
        if (isfree[i / 8] >> (i % 8) & 1) {
            o.state = OBJ_FREE;
            t->central += size;
        } else if ((k = find_cached(W, a))) {
            if (k->cl != cl)
                c->problem(c, a, "tcmalloc: 0x%llx is on a free list of class %u, its span is of "
                                 "class %u", (unsigned long long)a, k->cl, cl);
            o.state = OBJ_FREE;
            o.where = k->how == CACHED_THREAD ? TC_WHERE_TCACHE : TC_WHERE_TRANSFER;
            *(k->how == CACHED_THREAD ? &t->thread : &t->transfer) += size;
            t->matched++;
        } else {
            t->allocated += size;
        }
        c->object(c, &o);
    }
    t->central += bytes - n * size; /* the tail no object fits in, as OverheadBytes() counts it */
    t->small++;
    free(isfree);
}

static void report_span(struct walk *W, uint64_t addr, struct totals *t)
{
    struct heap_ctx *c = W->c;
    struct tc_span s;
    if (!tc_read_span(c, addr, &s))
        return;
    uint64_t base = s.start << TC_PAGE_SHIFT, bytes = s.length << TC_PAGE_SHIFT;
    unsigned loc = TC_SPAN_LOCATION(s.bits), cl = TC_SPAN_CLASS(s.bits);
    if (loc != TC_IN_USE) {
        if (loc > TC_ON_RETURNED_FREELIST) {
            c->problem(c, addr, "tcmalloc: span 0x%llx: location %u is none tcmalloc has; skipped",
                       (unsigned long long)base, loc);
            return;
        }
        struct heap_region rg = {.start = base, .end = base + bytes,
                                 .kind = loc == TC_ON_NORMAL_FREELIST ? "tcmalloc-free" : "tcmalloc-returned"};
        c->region(c, &rg);
        *(loc == TC_ON_NORMAL_FREELIST ? &t->pagefree : &t->unmapped) += bytes;
        return;
    }
    if (cl) {
        report_small(W, &s, cl, t);
        return;
    }
    if (TC_SPAN_SAMPLE(s.bits))
        c->problem(c, addr, "tcmalloc: span 0x%llx holds a sampled allocation, whose usable size is "
                            "its request's size class, not read here: reported as the whole span",
                   (unsigned long long)base);
    struct heap_region rg = {.start = base, .end = base + bytes, .kind = "tcmalloc-large"};
    c->region(c, &rg);
    struct heap_object o = {.addr = base, .size = bytes, .chunk = base, .chunk_size = bytes,
                            .state = OBJ_USED, .where = TC_WHERE_LARGE};
    t->allocated += bytes;
    t->large++;
    c->object(c, &o);
}

static int tcmalloc_detect(struct heap_ctx *c)
{
    return tc_module(c) >= 0;
}

static int tcmalloc_walk(struct heap_ctx *c)
{
    const struct hs_process *proc = hs_get_process(c->snap);
    if (proc && (proc->flags & HS_PROC_REDACTED)) {
        c->problem(c, 0, "tcmalloc: the snapshot is redacted (--redact zeroed tcmalloc's "
                         "metadata); the heap cannot be walked");
        return -1;
    }
    struct tc_where w;
    if (tc_locate(c, &w))
        return -1;
    char buf[96];
    c->fact(c, "tcmalloc.layout", "fallback (gperftools 2.10, x86_64)");
    snprintf(buf, sizeof buf, "0x%llx (scan)", (unsigned long long)w.root);
    c->fact(c, "tcmalloc.pagemap_root", buf);
    heap_fact_u64(c, "tcmalloc.size_classes", w.nclasses);

    struct walk W = {.c = c, .w = &w};
    thread_caches(&W);
    transfer_caches(&W);
    if (W.ncached > 1)
        qsort(W.cached, W.ncached, sizeof *W.cached, cmp_cached);
    collect_spans(&W);
    struct totals t = {0};
    for (size_t i = 0; i < W.nspans && !W.oom; i++)
        report_span(&W, W.spans[i], &t);
    if (t.matched != W.ncached)
        c->problem(c, 0, "tcmalloc: %llu pointers are in thread and transfer caches, but %llu of "
                         "them are objects of in-use spans",
                   (unsigned long long)W.ncached, (unsigned long long)t.matched);
    heap_fact_u64(c, "tcmalloc.spans", W.nspans);
    heap_fact_u64(c, "tcmalloc.small_spans", t.small);
    heap_fact_u64(c, "tcmalloc.large_spans", t.large);
    heap_fact_u64(c, "tcmalloc.stale_pagemap_elements", W.stale);
    heap_fact_u64(c, "tcmalloc.thread_caches", W.caches);
    heap_fact_u64(c, "tcmalloc.current_allocated_bytes", t.allocated);
    heap_fact_u64(c, "tcmalloc.thread_cache_free_bytes", t.thread);
    heap_fact_u64(c, "tcmalloc.central_cache_free_bytes", t.central);
    heap_fact_u64(c, "tcmalloc.transfer_cache_free_bytes", t.transfer);
    heap_fact_u64(c, "tcmalloc.pageheap_free_bytes", t.pagefree);
    heap_fact_u64(c, "tcmalloc.pageheap_unmapped_bytes", t.unmapped);
    int rc = W.oom ? -1 : 0;
    if (W.oom)
        c->problem(c, 0, "tcmalloc: out of memory (or more than %u spans) during the walk", MAX_SPANS);
    free(W.spans);
    free(W.cached);
    return rc;
}

static const struct heap_where_kind tcmalloc_wheres[TC_WHERE_COUNT] = {
    [TC_WHERE_SPAN] = {"span", "spans", 0},
    [TC_WHERE_LARGE] = {"large-span", NULL, 0},
    [TC_WHERE_TRANSFER] = {"transfer-cache", "transfer caches", 0},
    [TC_WHERE_TCACHE] = {"tcache", "tcache", 0}, /* free in a thread cache */
};

const struct allocator tcmalloc_allocator = {
    .name = "tcmalloc",
    .wheres = tcmalloc_wheres,
    .advisor = &tcmalloc_advisor,
    .type_slack = 16, /* its small size classes are 8 to 16 bytes apart up to 128 */
    .nwheres = TC_WHERE_COUNT,
    .detect = tcmalloc_detect,
    .walk = tcmalloc_walk,
};
