/*
 * go/mprof.h — the Go runtime's heap profile as it stands in the snapshot
 * (go/mprof.c), written into the database by the walker's tables() hook.
 */
#ifndef HEAPSNAP_HEAP_GO_MPROF_H
#define HEAPSNAP_HEAP_GO_MPROF_H

#include "heap/go/internal.h"

/* Tables go_mprof_buckets, go_mprof_stacks, go_mprof_frames and
 * go_alloc_objects (docs/schema.md).  A runtime whose profiling structures
 * the DWARF does not describe gets a problem saying so and no tables; 0,
 * or -1 when a table could not be written. */
int go_mprof_tables(struct go_walk *w, struct heap_ctx *c);

#endif
