/*
 * refs.h — the reference scan: every root and every in-use object is read
 * as 8-byte-aligned little-endian words, and each word that points into an
 * in-use object becomes a reference (src, offset, dst, interior).
 *
 * (The allocator's own bookkeeping — 'allocator' roots and HW_INTERNAL
 * objects — is not read: refs.c says why.)
 *
 * The scan is conservative, as a leak checker must be: any word that looks
 * like a pointer is one.  (Objects of an allocator with precise pointer maps — objtab.pointer_words,
 * Go's heap bitmap — have only their pointer words read.)  It goes in key order — roots by ascending id
 * (-n .. -1), then objects by ascending id, offsets ascending within each —
 * so the database can take the rows as they come with no sort.  Nothing is
 * buffered: each reference goes straight to the sink.
 */
#ifndef HEAPSNAP_INDEX_REFS_H
#define HEAPSNAP_INDEX_REFS_H

#include <stdint.h>

#include "hsnap.h"
#include "model/objects.h"
#include "model/roots.h"

struct ref_sink {
    void *user;
    /* Return 0 to go on, nonzero to stop the scan (e.g. a database error). */
    int (*ref)(void *user, int64_t src, uint64_t offset, int64_t dst, int interior);
    /* Called now and then with objects scanned so far (may be NULL). */
    void (*progress)(void *user, uint64_t done, uint64_t total);
    /* If set (the snapshot scanned), the objects' memory is given back
     * (hs_release) once the scan is past it, so that the snapshot shrinks
     * as the sorter grows: for a caller that reads no memory of an object
     * after the scan (refs.c says what is kept). */
    struct hs_snapshot *release;
};

/* Scan everything; 0, or the sink's nonzero value if it stopped the scan. */
int refs_scan(const struct hs_snapshot *s, const struct objtab *t, const struct rootset *rs,
              const struct ref_sink *sink);

#endif
