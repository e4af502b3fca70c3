/*
 * goalloc.h — `heapsnap pprof --by alloc`: a Go program's heap profile as
 * the runtime itself would have written it at the moment of the capture,
 * from the tables the Go walker filled (heap/go/mprof.c: go_mprof_buckets,
 * go_mprof_frames).  The cycle rules are applied there, when the buckets
 * are read; this side turns the published records into a profile the way
 * runtime/pprof's writeHeapProto does: four values per bucket
 * (alloc_objects, alloc_space, inuse_objects, inuse_space), every bucket a
 * sample (also those with nothing in use), a "bytes" label with the
 * bucket's object size, and the runtime's own frames at the top of a stack
 * left out.
 */
#ifndef HEAPSNAP_PPROF_GOALLOC_H
#define HEAPSNAP_PPROF_GOALLOC_H

#include <sqlite3.h>
#include <stddef.h>

#include "pprof/profile.h"

/* 0, or -1 with err ("FILE: why": not a Go heap, no profiling buckets). */
int goalloc_profile(struct prof *p, sqlite3 *db, const char *file, int progress, char *err, size_t errlen);

#endif
