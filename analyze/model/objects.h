/*
 * objects.h — the indexer's object table: every chunk the allocator walker
 * reported, in one compact array sorted by address, with an O(1)-ish
 * "which object holds this address?" lookup for the reference scan.
 *
 * Life cycle: objtab_add() for each heap_object (any order), then
 * objtab_finish() once, which sorts, drops what cannot be true (overlaps,
 * duplicates, wrapping sizes: each reported through 'dropped'), numbers
 * the survivors and builds the lookup.  After that the table is read-only:
 * object i has database id i + 1, so ids follow address order.
 *
 * The lookup.  Objects are split into segments at gaps of more than
 * OBJTAB_GAP bytes (arenas, mmapped chunks and thread heaps lie far apart).
 * Each segment has a bucket array: bucket b covers addresses
 * [lo + b<<shift, lo + (b+1)<<shift) and records the index of the first
 * object starting at or after it; shift is chosen per segment so there are
 * about two buckets per object.  A lookup is a range check, a short binary
 * search over the segments, a shift and a binary search over the (usually
 * one or two) objects of one bucket.  Because objects never overlap after
 * objtab_finish(), "the last object starting at or below p" is the only
 * candidate.  Memory: 24 bytes per object plus about 8 per object of buckets.
 */
#ifndef HEAPSNAP_MODEL_OBJECTS_H
#define HEAPSNAP_MODEL_OBJECTS_H

#include <stddef.h>
#include <stdint.h>

#include "heap/allocator.h"

#define OBJTAB_GAP (1u << 20)

/*
 * One object, 24 bytes: for 10 M objects, 80 MB less than with the chunk's
 * size and offset in full, at the index's peak.  chunk = addr - chunk_off
 * and chunk_size = size + chunk_extra, both small for every allocator (16
 * and 8 for glibc, 0 or 8 for Go, up to a page for jemalloc's large).  An
 * object whose two do not fit 16 bits (or whose walker reported a chunk
 * smaller than the object) has chunk_off OBJ_WIDE, and its pair lies in the
 * table's side list (objtab_chunk()).
 */
#define OBJ_WIDE UINT16_MAX
struct obj {
    uint64_t addr;
    uint64_t size;        /* usable size */
    uint16_t chunk_off;   /* addr - chunk; 0 if the walker's value made no sense */
    uint16_t chunk_extra; /* chunk_size - size */
    uint8_t state;        /* enum obj_state */
    uint8_t where;        /* heap_where_base's numbering (heap/allocator.h) */
    uint16_t arena;
};

/* The chunk of an OBJ_WIDE object, by its address. */
struct objwide {
    uint64_t addr;
    uint64_t chunk_off;
    uint64_t chunk_size;
    size_t seq;           /* the order it was added in: the first wins a tie */
};

struct objseg {
    uint64_t lo, hi;      /* first object's addr .. last object's end */
    uint32_t first, last; /* object indexes [first, last) */
    uint32_t shift;
    size_t bucket0;       /* this segment's buckets start here in objtab.buckets */
    size_t nbuckets;      /* plus one sentinel entry after them */
};

struct objtab {
    struct obj *v;
    size_t n, cap;
    struct objwide *wide; /* sorted by addr once finished */
    size_t nwide, capwide;
    uint64_t lo, hi;      /* every object lies in [lo, hi): the fast filter */
    struct objseg *segs;
    size_t nsegs;
    uint32_t *buckets;
    size_t nused, nfree;   /* used objects (docs/schema.md: malloc-internal ones apart), free */
    size_t ninternal;      /* used by the allocator itself (its where is HW_INTERNAL) */
    /* The allocator's precise pointer maps, when it has them (allocator.h,
     * pointer_words), for its objects and for data roots; NULL: everything
     * is scanned conservatively. */
    int (*pointer_words)(const void *walker, uint64_t addr, uint64_t size, uint64_t *mask, size_t maskwords);
    const void *walker;
    /* Bit i: object i holds only bytes by its type (types.h, ty_result.obj_bytes),
     * and is not scanned; NULL: none is known to. */
    const uint8_t *bytes;
};

/* Append one object; -1 on out-of-memory or more than 2^32-2 objects. */
int objtab_add(struct objtab *t, const struct heap_object *o);

/* Object o's chunk offset (addr - chunk) and chunk_size - size, as the
 * walker reported them (the difference wraps if the chunk was smaller).
 * Inline for the database load, which asks for every object; an OBJ_WIDE
 * one is looked up in the side list. */
void objtab_chunk_wide(const struct objtab *t, const struct obj *o, uint64_t *chunk_off, uint64_t *chunk_extra);
static inline void objtab_chunk(const struct objtab *t, const struct obj *o, uint64_t *chunk_off,
                                uint64_t *chunk_extra)
{
    if (o->chunk_off == OBJ_WIDE) {
        objtab_chunk_wide(t, o, chunk_off, chunk_extra);
        return;
    }
    *chunk_off = o->chunk_off;
    *chunk_extra = o->chunk_extra;
}

/* Sort, clean and index.  'dropped' (may be NULL) hears of each object
 * thrown away and why.  -1 on out-of-memory. */
int objtab_finish(struct objtab *t,
                  void (*dropped)(void *u, const struct obj *o, const char *why), void *u);

void objtab_free(struct objtab *t);
/* Free the objects and the lookup but keep the counts (n, nused, nfree,
 * ninternal), for a caller done with the objects themselves: the indexer
 * once they are stored and scanned. */
void objtab_release(struct objtab *t);

/* The segment holding p and, in *bucket, the bucket entry objtab_find()
 * reads first for it (p in [t->lo, t->hi)); NULL when p falls between
 * segments, where no object is.  A batch of lookups prefetches it. */
static inline const struct objseg *objtab_bucket_of(const struct objtab *t, uint64_t p, const uint32_t **bucket)
{
    size_t a = 0, b = t->nsegs;
    while (b - a > 1) { /* the last segment with lo <= p */
        size_t m = (a + b) / 2;
        if (t->segs[m].lo <= p)
            a = m;
        else
            b = m;
    }
    const struct objseg *s = &t->segs[a];
    if (p < s->lo || p >= s->hi)
        return NULL;
    *bucket = t->buckets + s->bucket0 + ((p - s->lo) >> s->shift);
    return s;
}

/* The index of the object whose [addr, addr+size) holds p (an object of
 * size 0 holds only its own address), or -1.  Free objects are found too;
 * callers that want only live targets check state. */
static inline int64_t objtab_find(const struct objtab *t, uint64_t p)
{
    if (p - t->lo >= t->hi - t->lo)
        return -1;
    const uint32_t *bk;
    const struct objseg *s = objtab_bucket_of(t, p, &bk);
    if (!s)
        return -1;
    /* objects starting in bucket k are [bk[k], bk[k+1]); the holder of p
     * is the last of them starting at or below p, else the one before. */
    uint32_t lo = bk[0], hi = bk[1];
    while (lo < hi) {
        uint32_t m = lo + (hi - lo) / 2;
        if (t->v[m].addr <= p)
            lo = m + 1;
        else
            hi = m;
    }
    if (lo == s->first)
        return -1;
    const struct obj *o = &t->v[lo - 1];
    if (p == o->addr || p - o->addr < o->size)
        return (int64_t)(lo - 1);
    return -1;
}

#endif
