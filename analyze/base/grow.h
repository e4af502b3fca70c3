/*
 * grow.h — room for one more element at the end of a malloc'd array that
 * doubles as it fills: the idiom every list the analyzer builds as it goes
 * (warnings, side lists, intervals) would otherwise spell out again; and
 * its byte-buffer form, room for so many more bytes (grow_bytes).
 *
 *     struct item *v = grow_for_one(a->v, a->n, &a->cap, sizeof *v, 64);
 *     if (!v)
 *         return -1;      (a->v is still the old array, still valid)
 *     a->v = v;
 *     a->v[a->n++] = item;
 *
 * Header-only: it is four lines of logic, and inlined it costs nothing on
 * the hot paths that use it.
 */
#ifndef HEAPSNAP_BASE_GROW_H
#define HEAPSNAP_BASE_GROW_H

#include <stdint.h>
#include <stdlib.h>

/* v (of *cap elements of elem bytes, len of them in use) with room for one
 * more: v itself, or v moved to twice the room (first elements the first
 * time), *cap updated.  NULL without memory or past SIZE_MAX bytes. */
static inline void *grow_for_one(void *v, size_t len, size_t *cap, size_t elem, size_t first)
{
    if (len < *cap)
        return v;
    size_t n = *cap ? 2 * *cap : first;
    if (n <= *cap || n > SIZE_MAX / elem)
        return NULL;
    void *w = realloc(v, n * elem);
    if (w)
        *cap = n;
    return w;
}

/* v (of *cap bytes) with room for need bytes: v itself, or v moved to the
 * first power-of-two multiple of its room (first bytes the first time)
 * that holds them, *cap updated.  NULL without memory. */
static inline void *grow_bytes(void *v, size_t need, size_t *cap, size_t first)
{
    if (need <= *cap)
        return v;
    size_t n = *cap ? *cap : first;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return NULL;
        n *= 2;
    }
    void *w = realloc(v, n);
    if (w)
        *cap = n;
    return w;
}

#endif
