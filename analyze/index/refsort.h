/*
 * refsort.h — the references of a snapshot, put in the refs table's key
 * order (dst, src, offset) in memory, so that the database takes them as
 * appends to a table clustered by target and no CREATE INDEX has to sort
 * them again on disk (db/schema.c).
 *
 * The scan (refs.h) produces references grouped by source, in ascending
 * (src, offset) order; it runs on a thread of its own (refsort_scan), at
 * the same time as the loader stores the objects, and appends each
 * reference to the bucket of its target (65536 targets a bucket), encoded
 * in about 4 bytes (refsort.c).  refsort_next() then places one bucket at
 * a time by a counting sort on the target, as the loader asks for the
 * next reference: each bucket's counts fit in the cache, and its stream is
 * freed once placed.  The sort is stable, so within one target the
 * references keep the scan's (src, offset) order: the whole key order,
 * with no comparison at all.  A reference that does not fit a placed one
 * (a source id beyond 2^31, an offset of 2 GiB or more: a huge root) is
 * kept whole on a side list, sorted, and merged in as they are read.
 *
 * Memory, for m references: about 4m while scanning (5m at worst for
 * long offsets), then 8 bytes for each reference of the largest bucket
 * while they are read; the streams shrink as they are.
 */
#ifndef HEAPSNAP_INDEX_REFSORT_H
#define HEAPSNAP_INDEX_REFSORT_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "hsnap.h"
#include "model/objects.h"
#include "model/roots.h"

struct refsort;

/* An empty sorter for references to objects 1..nobjs; NULL without memory. */
struct refsort *refsort_new(size_t nobjs);

/* Append one reference; they must come in ascending (src, offset) order,
 * as the scan makes them.  0, or -1 out of memory or on a dst out of range. */
int refsort_add(struct refsort *rs, int64_t src, uint64_t offset, int64_t dst, int interior);

/* fn(u, src, dst) sees every reference refsort_add() takes, as it takes it
 * (on the scan's thread, when it has one): for what else is built from
 * the references in scan order (index/dominators.h).  Set before the scan. */
void refsort_tee(struct refsort *rs, void (*fn)(void *u, int64_t src, int64_t dst), void *u);

/* Run the reference scan into rs on a new thread; t and roots must stay
 * unchanged until refsort_join(), and s is the scan's: it gives back each
 * object's memory behind it (ref_sink.release), so nothing else may read
 * s's memory until then, nor any object's after.  -1 if no thread could
 * be had (then scan with refs_scan() and refsort_add() instead). */
int refsort_scan(struct refsort *rs, struct hs_snapshot *s, const struct objtab *t,
                 const struct rootset *roots);
/* Objects scanned so far, for progress; 1 once the scan has ended. */
uint64_t refsort_scanned(struct refsort *rs, int *done);
/* Wait for the scan thread; 0, or -1 if it ran out of memory. */
int refsort_join(struct refsort *rs);

/* End the adding: what refsort_next() will place needs its room now.  0,
 * or -1 out of memory or with 2^32 references or more (more than the
 * analyses' graph can hold). */
int refsort_finish(struct refsort *rs);

/* How many references were added. */
uint64_t refsort_count(const struct refsort *rs);

/* The next reference in (dst, src, offset) order: 1, or 0 at the end.
 * Only after refsort_finish(). */
int refsort_next(struct refsort *rs, struct db_ref *r);

/* Free everything (waiting for a scan still running: call refsort_stop()
 * first to end it early). */
void refsort_stop(struct refsort *rs);
void refsort_free(struct refsort *rs);

#endif
