/*
 * refqueue.h — run the reference scan (refs.h) on a second thread and hand
 * its output to the loader in batches.
 *
 * The scan reads the snapshot and the object table, both read-only by then
 * (so is the allocator's walker state: its pointer_words hook, objects.h,
 * is called on the scanner thread and must only read);
 * SQLite's inserts are single-threaded and are the slower half.  So while
 * the main thread stores objects and roots, the scanner already runs, and
 * afterwards the two overlap: on two cores the scan costs almost nothing
 * end to end.  Refs come out of the queue in exactly the order the scan
 * produced them (key order, see refs.h).  Memory: REFQ_BATCHES batches of
 * REFQ_BATCH refs, whatever the heap size; a full queue blocks the scanner.
 */
#ifndef HEAPSNAP_INDEX_REFQUEUE_H
#define HEAPSNAP_INDEX_REFQUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "index/refs.h"

#define REFQ_BATCH   16384
#define REFQ_BATCHES 8

struct ref_row {
    int64_t src, dst;
    uint64_t offset; /* interior in the top bit: offsets stay far below 2^63 */
};

#define REF_ROW_INTERIOR (1ull << 63)

struct refq;

/* Start scanning on a new thread.  s, t and rs must stay unchanged until
 * refq_finish().  NULL if the thread or memory could not be had. */
struct refq *refq_start(const struct hs_snapshot *s, const struct objtab *t, const struct rootset *rs);

/* The next batch, blocking until one is ready: its row count, 0 at the end
 * of the scan.  The rows stay valid until the next refq_next() call. */
size_t refq_next(struct refq *q, const struct ref_row **rows);

/* Objects scanned so far, for progress. */
uint64_t refq_progress(struct refq *q);

/* Stop (early, if the loader failed) and wait for the scanner, free q. */
void refq_finish(struct refq *q);

#endif
