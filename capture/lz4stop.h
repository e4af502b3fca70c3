/*
 * lz4stop.h — the stop-mode capture (HS_MODE_STOP_LZ4): when neither a
 * buffer of the target's size nor a copy-on-write fork is possible, the
 * resident pages are copied and LZ4-compressed into memory while the
 * target is stopped, on every CPU, and recompressed to the file's zstd
 * after it has resumed.
 *
 * LZ4 compresses several times faster than zstd -1 and the CPUs are idle
 * while the target is stopped, so the pause is about the copy plus an LZ4
 * pass spread over all CPUs, instead of a single-threaded zstd pass plus
 * writing.  Memory: a budget (--max-buffer), the arena.  Compressing is over
 * half of the stop's CPU time, so the budget is spent on the pause: pieces
 * are compressed until what is left would fit in the arena as it is (LZ4's
 * bound: even if none of it compressed), and the rest are copied raw,
 * straight into the arena.  A piece that does not fit in what is left is
 * not stored here; the caller writes it with zstd while the target is
 * still stopped, as the old streamed mode did.
 *
 * The caller cuts its ranges into pieces of at most HS_BLOCK_PAGES pages
 * (one block of the file each) and owns them; this module fills them in.
 */
#ifndef HEAPSNAP_CAPTURE_LZ4STOP_H
#define HEAPSNAP_CAPTURE_LZ4STOP_H

#include <stddef.h>
#include <stdint.h>

#include "copy.h"

struct lz4_piece {
    uint64_t addr, npages;
    uint8_t *state;   /* npages entries (the caller's); DATA pages read */
    uint32_t flags;   /* HS_MEM_* (the caller's, not used here) */
    size_t range;     /* which of the caller's ranges it is cut from (not used here) */
    uint64_t ndata;   /* out: DATA pages stored */
    uint8_t *comp;    /* out: their LZ4 block, in the arena */
    uint32_t clen;    /* its length (ndata pages when raw) */
    int raw;          /* out: stored as it is, not compressed */
    int done;         /* out: copied and stored (else: the caller's) */
};

struct lz4stop {
    uint32_t psz;
    int nthreads;
    uint8_t *arena;           /* the compressed pieces */
    size_t cap, used;
    uint8_t *scratch;         /* per thread: one piece raw, then compressed */
    size_t raw_each, comp_each;
    int full;                 /* a piece did not fit in the arena */
    uint64_t total;           /* bytes of DATA pages in all the pieces */
    uint64_t claimed;         /* of which workers have taken so far */
    uint64_t lz_in, lz_out;   /* out: bytes compressed, and what they became */
    uint64_t raw_bytes;       /* out: bytes stored raw */
    uint64_t copy_cpu_ns;     /* out: CPU time of all threads in the copy, */
    uint64_t lz4_cpu_ns;      /* and in LZ4 (for -v: what the pause is made of) */
};

/* Before the stop: reserve the arena (budget bytes) and pre-fault the
 * scratch and as much of the arena as estimate_bytes of memory can fill
 * (raw pieces fill it to the budget).  0, or -1 with errno. */
int lz4stop_prepare(struct lz4stop *z, uint64_t budget, uint64_t estimate_bytes, uint32_t psz);

/* While stopped: copy (with cp's pid; counts and failures merged into cp)
 * and store, raw or compressed, every piece that fits.  0, or -1 with errno ESRCH when the
 * target has gone away. */
int lz4stop_run(struct lz4stop *z, struct copier *cp, struct lz4_piece *p, size_t n);

/* After the resume: a done piece's pages back into dst (ndata pages; a
 * raw piece is copied).
 * 0, or -1 if the block is damaged (never, short of a bug). */
int lz4stop_unpack(const struct lz4stop *z, const struct lz4_piece *p, uint8_t *dst);

/* One thread's raw scratch (HS_BLOCK_PAGES pages), for the caller's own
 * use of the pieces that did not fit, while the workers are idle. */
uint8_t *lz4stop_scratch(struct lz4stop *z);

void lz4stop_free(struct lz4stop *z);

#endif /* HEAPSNAP_CAPTURE_LZ4STOP_H */
