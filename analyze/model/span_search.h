/*
 * span_search.h — the one binary search the indexer and its SQL functions
 * need: in an array of address spans sorted by address and not
 * overlapping (captured ranges, mappings, claimed intervals), the first
 * span that ends above an address.
 *
 * That span is the one holding the address if any does, else the first one
 * above it; callers check its start for the one or walk on from it for the
 * other.  Spans are half-open [start, end): a span ending at a does not
 * hold a.  Header-only (static inline) so each hot loop gets it inlined
 * for its own element type.
 */
#ifndef HEAPSNAP_MODEL_SPAN_SEARCH_H
#define HEAPSNAP_MODEL_SPAN_SEARCH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The index of the first of the n elements at v (each 'stride' bytes, with
 * a uint64_t end at 'end_off') whose end is above a; n if none.  Use
 * SPAN_FIRST_ENDING_ABOVE, which works out stride and offset. */
static inline size_t span_first_ending_above(const void *v, size_t n, size_t stride, size_t end_off,
                                             uint64_t a)
{
    const unsigned char *p = v;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        uint64_t end;
        memcpy(&end, p + m * stride + end_off, sizeof end);
        if (end <= a)
            lo = m + 1;
        else
            hi = m;
    }
    return lo;
}

/* v: a pointer to the first element; END: the name of its uint64_t member
 * holding the end of the span (checked at compile time). */
#define SPAN_FIRST_ENDING_ABOVE(v, n, END, a)                                           \
    ((void)sizeof(char[sizeof((v)->END) == sizeof(uint64_t) ? 1 : -1]),                 \
     span_first_ending_above((v), (n), sizeof *(v), offsetof(__typeof__(*(v)), END), (a)))

#endif
