/*
 * walk.h — the state of one walk over a file image, shared by reader.c
 * (the walk itself, section by section), materialise.c (memory blocks into
 * ranges) and load.c.  Internal to format/.
 */
#ifndef HEAPSNAP_FORMAT_WALK_H
#define HEAPSNAP_FORMAT_WALK_H

#include <stdio.h>

#include <zstd.h>

#include "layout.h"
#include "snapshot.h"

/* A memory block noted during the walk. */
struct block {
    uint64_t addr, off;
    uint32_t page_size, npages, flags, ndata, seq, block_no;
    size_t secno;
    const uint8_t *states, *body;
    size_t body_len, body_raw;
    int zstd;
};

struct sec_ent {
    uint32_t type, flags;
    uint64_t offset, stored, raw;
};

struct walk {
    const uint8_t *buf;
    size_t len;
    const char *name;
    unsigned flags;
    int verify;
    FILE *log;
    struct hs_error *err;
    struct hs_snapshot *s;
    ZSTD_DCtx *dctx;
    uint8_t *scratch;
    size_t scratch_cap;
    struct block *blocks;
    size_t nblocks, cblocks;
    struct sec_ent *secs;
    size_t nsecs, csecs;
    /* the section being looked at, for messages */
    size_t secno;
    uint32_t type;
    uint64_t off;
};

/* files.c: decode one file section (type 8) into w->s. */
int hs_file_section(struct walk *w, const uint8_t *pay, uint64_t stored, uint64_t raw, int zstd,
                    uint32_t plain);

/* Fill err (if non-NULL) with a message. */
void hs_set_err(struct hs_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "FILE: section N (type) at offset O: what", about the section w is at; returns -1. */
int hs_sec_err(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Decompress exactly raw bytes of zstd data into dst.  w may be NULL (a
 * helper thread): then nothing is said, and the caller redoes the work
 * with w to get the message.  Returns 0 or -1. */
int hs_unzstd_with(struct walk *w, ZSTD_DCtx *dctx, void *dst, size_t raw, const uint8_t *src,
                   size_t n);
/* Group w's memory blocks into ranges of w->s, check them, and unless
 * w->flags has HS_OPEN_METADATA_ONLY decompress them into place. */
int hs_build_ranges(struct walk *w);
/* Put block b's pages in place at dst (npages * page_size bytes): its DATA
 * pages decompressed and spread to their slots.  The slots of its other
 * pages below its last DATA page are cleared; those above are left as
 * they were (a fresh mapping is zero).  w, dctx as for hs_unzstd_with(). */
int hs_place_block(struct walk *w, ZSTD_DCtx *dctx, const struct block *b, uint8_t *dst);
/* ondemand.c, for hs_build_ranges() under HS_OPEN_ON_DEMAND: start the
 * snapshot's on-demand state for nranges ranges, then note range ri's n
 * blocks (copied).  0, or -1 with w->err said. */
int hs_lazy_begin(struct walk *w, size_t nranges);
int hs_lazy_range(struct walk *w, size_t ri, const struct block *first, size_t n);
/* reader.c: walk buf as hs_open_memory() does, metadata only, and hand
 * the walk, its blocks noted and its ranges checked, to each() before it
 * is freed.  Returns each()'s result, or -1 with err if the file does not
 * open. */
int hs_parse_blocks(const uint8_t *buf, size_t len, const char *name, struct hs_error *err,
                    int (*each)(struct walk *w, void *arg), void *arg);

#endif /* HEAPSNAP_FORMAT_WALK_H */
