/*
 * refs.c — the reference scan (see refs.h).
 *
 * This is the indexer's hot loop: tens of millions of words.  Memory is read
 * in place through the captured ranges (no copies), the last range used is
 * remembered because consecutive objects almost always share it, and a word
 * is rejected by one subtraction and compare unless it falls between the
 * lowest and highest object address; only then does it cost a lookup.
 *
 * An allocator that knows which words of an object are pointers (Go's heap
 * bitmap; objtab.pointer_words) has its objects scanned by that map
 * instead: only the marked words are read, and an object with none (a
 * noscan span) costs nothing.  Data roots (globals) are offered to it too
 * (Go's gcdata/gcbss masks), and a stack root that came with a mask (a Go
 * frame, by its stack maps: root.mask) has only those words read; other
 * stacks, registers, TLS and anonymous memory are scanned conservatively.
 *
 * Three things are not read at all: 'allocator' roots and objects whose
 * where is HW_INTERNAL (allocator.h).  Both are the allocator's own bookkeeping
 * (glibc's main_arena, a tcache_perthread_struct), whose pointers lead to
 * free chunks — or to a free chunk's header, which lies in the last word
 * of the block before it: read, they would keep that block alive.  And
 * objects whose type proves they hold only bytes (objtab.bytes: a char
 * [n] no other type was claimed for), where a word that looks like a
 * pointer is what the block held before it was reused (docs/analyses.md,
 * "Bytes are not pointers") — unless the allocator has the object's
 * pointer map, which is read instead.
 */
#include "index/refs.h"
#include "model/span_search.h"

#include <stdlib.h>
#include <string.h>

#define SCAN_BATCH 64 /* lookups in flight: see flush */

struct scan {
    const struct hs_snapshot *s;
    const struct hs_mem_range *ranges, *last;
    size_t nranges;
    const struct objtab *t;
    const struct ref_sink *sink;
    const struct heap_region *unreached; /* the root being scanned reaches no object in these */
    size_t nunreached;
    /* candidates waiting for their lookup (see flush), in scan order */
    struct cand {
        int64_t src;
        uint64_t off, w;
    } batch[SCAN_BATCH];
    size_t nbatch;
};

/* Whether a lies in one of the scanned root's unreached regions (sorted). */
static int unreached(const struct scan *sc, uint64_t a)
{
    size_t i = SPAN_FIRST_ENDING_ABOVE(sc->unreached, sc->nunreached, end, a);
    return i < sc->nunreached && sc->unreached[i].start <= a;
}

/* The captured range holding a, else the first one above a (or NULL). */
static const struct hs_mem_range *range_from(struct scan *sc, uint64_t a)
{
    if (sc->last && a >= sc->last->start && a < sc->last->end)
        return sc->last;
    size_t lo = SPAN_FIRST_ENDING_ABOVE(sc->ranges, sc->nranges, end, a);
    if (lo == sc->nranges)
        return NULL;
    return sc->last = &sc->ranges[lo];
}

/*
 * The lookups are batched: a word that passes the range filter is a random
 * address, and its lookup (objects.h) costs two cache misses, the bucket
 * and then the object, which one at a time is most of the scan's time.  So
 * candidates are gathered with their buckets prefetched, then their objects
 * prefetched, and only then looked up and passed to the sink, in their
 * order: the misses overlap instead of queueing.  A batch runs across
 * objects, since a Go object's pointer map marks a word or two of it
 * (batched per object, a Go heap's scan took as long as its objects' load);
 * it is flushed before the scan moves to another root, whose unreached
 * regions flush reads, and at the end.
 */
/* The bucket entry objtab_find() will read first for p (in [t->lo, t->hi)). */
static const uint32_t *bucket_of(const struct objtab *t, uint64_t p)
{
    const uint32_t *bk;
    return objtab_bucket_of(t, p, &bk) ? bk : NULL;
}

static int flush(struct scan *sc)
{
    const struct objtab *t = sc->t;
    size_t n = sc->nbatch;
    sc->nbatch = 0;
    for (size_t k = 0; k < n; k++) {
        const uint32_t *bk = bucket_of(t, sc->batch[k].w);
        if (bk && bk[0] > 0)
            __builtin_prefetch(&t->v[bk[0] - 1]);
    }
    for (size_t k = 0; k < n; k++) {
        const struct cand *c = &sc->batch[k];
        int64_t i = objtab_find(t, c->w);
        if (i < 0 || t->v[i].state != OBJ_USED || (sc->nunreached && unreached(sc, c->w)))
            continue;
        int rc = sc->sink->ref(sc->sink->user, c->src, c->off, i + 1, c->w != t->v[i].addr);
        if (rc)
            return rc;
    }
    return 0;
}

/* The words of [a, stop), read from p, as references of src at offsets
 * from base: into the batch. */
static int scan_words(struct scan *sc, int64_t src, uint64_t base, const uint8_t *p, uint64_t a,
                      uint64_t stop)
{
    const struct objtab *t = sc->t;
    uint64_t lo = t->lo, span = t->hi - t->lo;
    for (; a + 8 <= stop; a += 8, p += 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        if (w - lo >= span)
            continue;
        const uint32_t *bk = bucket_of(t, w);
        if (!bk)
            continue; /* in a gap between segments: no object holds it */
        __builtin_prefetch(bk);
        sc->batch[sc->nbatch++] = (struct cand){src, a - base, w};
        if (sc->nbatch == SCAN_BATCH) {
            int rc = flush(sc);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* Scan [base, base + len) as far as it was captured. */
static int scan_span(struct scan *sc, int64_t src, uint64_t base, uint64_t len)
{
    uint64_t end = base + len < base ? UINT64_MAX : base + len;
    uint64_t a = (base + 7) & ~(uint64_t)7;
    if (a < base)
        return 0;
    while (a < end && end - a >= 8) {
        const struct hs_mem_range *r = range_from(sc, a);
        if (!r || r->start >= end)
            break;
        if (r->start > a)
            a = (r->start + 7) & ~(uint64_t)7;
        uint64_t stop = r->end < end ? r->end : end;
        if (a >= stop || !r->data) {
            a = stop;
            continue;
        }
        int rc = scan_words(sc, src, base, r->data + (a - r->start), a, stop);
        if (rc)
            return rc;
        a = (stop + 7) & ~(uint64_t)7;
        if (a < stop)
            break;
    }
    return 0;
}

/* An object whose allocator said which words can hold pointers (bit i of
 * mask: the word at base + 8 i); only those are read. */
static int scan_masked(struct scan *sc, int64_t src, uint64_t base, uint64_t size, const uint64_t *mask)
{
    uint64_t nw = size / 8;
    for (uint64_t k = 0; k < (nw + 63) / 64; k++)
        for (uint64_t m = mask[k]; m; m &= m - 1) {
            uint64_t a = base + 8 * (64 * k + (uint64_t)__builtin_ctzll(m));
            const struct hs_mem_range *r = range_from(sc, a);
            if (!r || r->start > a || a + 8 > r->end || !r->data)
                continue;
            int rc = scan_words(sc, src, base, r->data + (a - r->start), a, a + 8);
            if (rc)
                return rc;
        }
    return 0;
}

/* Scan [addr, addr + size) for src: precisely when the allocator has its
 * pointer map (an object of its heap, or a global it describes); else not
 * at all if the types prove it holds only bytes; else conservatively.  The
 * allocator's map comes first: it is the runtime's own word (Go's heap
 * bitmap), where a type is an inference. */
static int scan_range(struct scan *sc, int64_t src, uint64_t addr, uint64_t size, uint64_t **mask,
                      size_t *maskcap, int bytes)
{
    const struct objtab *t = sc->t;
    if (t->pointer_words && size >= 8 && addr % 8 == 0) {
        size_t need = (size_t)((size / 8 + 63) / 64);
        if (need > *maskcap) {
            uint64_t *m = realloc(*mask, need * sizeof *m);
            if (m) {
                *mask = m;
                *maskcap = need;
            }
        }
        if (need <= *maskcap && t->pointer_words(t->walker, addr, size, *mask, *maskcap))
            return scan_masked(sc, src, addr, size, *mask);
    }
    return bytes ? 0 : scan_span(sc, src, addr, size);
}

/*
 * Giving back behind the scan (ref_sink.release).  Objects are scanned in
 * address order, and once an object is scanned no one reads its bytes
 * again, nor those of the gaps before it: a Go span's heap bits, at its
 * end, are read only for the span's own objects, which come before them.
 * So the pages of a range that holds objects go once the scan is past
 * them, a megabyte at a time, and the rest of a range once the scan moves
 * to the next.  The RUN_GUARD bytes below the next object stay until it is
 * scanned (a Go malloc header lies just before it).  The pointer maps'
 * other reads are of memory the walk kept (type descriptors) or outside
 * the object ranges (Go 1.19's heap arena bitmaps).  Should a read still
 * reach memory given back, it fails, and the index says so
 * (hs_released_reads).
 */
#define RUN_GUARD 64
#define RUN_STEP (1u << 20)

struct behind {
    const struct hs_mem_range *r; /* the range the last object lay in */
    uint64_t from;                /* what of it is not given back starts here */
    uint64_t end;                 /* the end of its last object */
};

static void behind(struct hs_snapshot *s, struct behind *b, const struct obj *o)
{
    if (!b->r || o->addr < b->r->start || o->addr >= b->r->end) {
        if (b->r && b->end > b->from)
            hs_release(s, b->from, b->end); /* every object in it is scanned */
        b->r = hs_find_range(s, o->addr);
        b->from = b->end = o->addr;
    } else if (o->addr >= b->from + RUN_STEP + RUN_GUARD) {
        uint64_t to = o->addr - RUN_GUARD;
        hs_release(s, b->from, to);
        b->from = to & ~(uint64_t)4095; /* the page it stopped inside, which the next one finishes */
    }
    if (o->addr + o->size > b->end)
        b->end = o->addr + o->size;
}

int refs_scan(const struct hs_snapshot *s, const struct objtab *t, const struct rootset *rs,
              const struct ref_sink *sink)
{
    struct scan sc = {.s = s, .t = t, .sink = sink};
    sc.ranges = hs_get_ranges(s, &sc.nranges);
    if (t->n == 0)
        return 0;
    int rc;
    uint64_t *mask = NULL;
    size_t maskcap = 0;
    for (size_t i = 0; i < rs->n; i++) {
        const struct root *r = &rs->v[i];
        if (r->kind == ROOT_ALLOCATOR)
            continue;
        sc.unreached = r->unreached;
        sc.nunreached = r->nunreached;
        if (r->kind == ROOT_REGISTER && r->regs)
            rc = scan_words(&sc, root_id(rs, i), 0, (const uint8_t *)r->regs, 0, 8 * HS_NREGS);
        else if (r->kind == ROOT_STACK && r->mask)
            rc = scan_masked(&sc, root_id(rs, i), r->addr, r->size, r->mask);
        else if (r->kind == ROOT_DATA || r->kind == ROOT_FINALIZER)
            /* globals, a finalized object: the allocator may know their pointers too */
            rc = scan_range(&sc, root_id(rs, i), r->addr, r->size, &mask, &maskcap, 0);
        else
            rc = scan_span(&sc, root_id(rs, i), r->addr, r->size);
        if (!rc)
            rc = flush(&sc); /* under this root's unreached regions */
        if (rc) {
            free(mask);
            return rc;
        }
    }
    sc.unreached = NULL;
    sc.nunreached = 0;
    struct behind b = {0};
    for (size_t i = 0; i < t->n; i++) {
        if ((i & 0xffff) == 0 && sink->progress)
            sink->progress(sink->user, i, t->n);
        const struct obj *o = &t->v[i];
        if (sink->release)
            behind(sink->release, &b, o);
        if (o->state != OBJ_USED || (heap_where_flags(o->where) & HW_INTERNAL))
            continue;
        int bytes = t->bytes && (t->bytes[i >> 3] >> (i & 7) & 1);
        if ((rc = scan_range(&sc, (int64_t)i + 1, o->addr, o->size, &mask, &maskcap, bytes))) {
            free(mask);
            return rc;
        }
    }
    free(mask);
    if ((rc = flush(&sc)))
        return rc;
    if (sink->progress)
        sink->progress(sink->user, t->n, t->n);
    return 0;
}
