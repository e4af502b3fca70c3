/*
 * index.h — the indexer pipeline: one snapshot in, one database out.
 *
 *   snapshot --hs_open--> dbg_open (modules, symbols)
 *            --allocators[]: the first whose detect() says yes walks the heap
 *            --objtab: objects sorted by address, ids 1..n in that order
 *            --roots:  data, stack, register, tls, anon (ids -n..-1)
 *            --refs:   every word of every root and live object that points
 *                      into a live object (on a second thread while the
 *                      main thread stores the objects), sorted by target
 *                      in memory (refsort.h) and stored in that order
 *            --db/load: one transaction into OUT.tmp-PID, indexes, rename
 *
 * The database appears under its final name only when complete: on any
 * failure the temporary file is removed and nothing is left behind.
 * `heapsnap index` (cmd_index.c) and open_snapshot_db() (indexing on first use)
 * both come through here.
 */
#ifndef HEAPSNAP_INDEX_INDEX_H
#define HEAPSNAP_INDEX_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "debuginfo/debuginfo.h"

struct index_options {
    const char *snapshot;   /* the .hsnap to read */
    const char *output;     /* the .db to create or replace */
    struct dbg_options dbg;
    int partial;            /* index a truncated snapshot as far as it goes */
    int progress;           /* progress line on stderr (when it is a terminal) */
};

struct index_stats {
    uint64_t objects, used, free, roots, refs, warnings, symbols;
    uint64_t internal;      /* objects = used + free + internal (the allocator's own) */
    char allocator[32];     /* "" if no allocator was found */
    char unwalked[32];      /* an allocator that replaces malloc but has no walker, or "" */
    double seconds;
};

/* Index opt->snapshot into opt->output.  0, or -1 with err = "FILE: why". */
int index_snapshot(const struct index_options *opt, struct index_stats *st, char *err, size_t errlen);

#endif
