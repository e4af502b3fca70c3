/*
 * varint.h — the byte streams the indexer keeps its references in while it
 * works (refsort.c's buckets, dominators.c's edges): LEB128 varints, and
 * zigzag for the signed differences they store.  Both streams are the
 * indexer's own, written and read by the same process.
 */
#ifndef HEAPSNAP_INDEX_VARINT_H
#define HEAPSNAP_INDEX_VARINT_H

#include <stdint.h>

/* Append v at p (at most 10 bytes); the byte after it. */
static inline uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* The varint at *pp, which moves past it, or UINT64_MAX (and *pp = end)
 * if it runs off the end. */
static inline uint64_t get_varint(const uint8_t **pp, const uint8_t *end)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (unsigned shift = 0; p < end && shift < 64; shift += 7) {
        uint8_t c = *p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *pp = p;
            return v;
        }
    }
    *pp = end;
    return UINT64_MAX;
}

/* Signed to unsigned, small magnitudes small: 0, -1, 1, -2 ... -> 0, 1, 2, 3 ... */
static inline uint64_t zigzag(int64_t d)
{
    return (uint64_t)d << 1 ^ (uint64_t)(d >> 63);
}

static inline int64_t unzigzag(uint64_t z)
{
    return (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
}

#endif
