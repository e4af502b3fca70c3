/*
 * writer.h — the writer's internal state, shared by writer.c (output,
 * sections, metadata, finish) and wmemory.c (memory blocks and the
 * compression helper thread).  Internal to format/.
 */
#ifndef HEAPSNAP_FORMAT_WRITER_H
#define HEAPSNAP_FORMAT_WRITER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <zstd.h>

#include "hsnap.h"
#include "layout.h"

#define HSW_OUT_BUF (1u << 20) /* output buffer; bigger writes go straight to write(2) */

/* One memory block on its way to the file: input described by the caller,
 * output (prefix, body, crc) computed by compress_block(). */
struct block_job {
    /* in */
    uint64_t addr;
    uint32_t page_size, npages, flags, range_seq, block_no;
    const uint8_t *states; /* npages caller states */
    const uint8_t *data;   /* the block's first DATA page in the caller's buffer */
    /* out */
    uint8_t prefix[HSL_MEM_HDR_LEN + HS_BLOCK_PAGES];
    size_t prefix_len;
    const uint8_t *body;   /* what goes after the prefix */
    size_t body_len, body_raw;
    int compressed;
    uint32_t crc;
    size_t zerr;           /* zstd error code, 0 if none */
    /* scratch, kept between blocks */
    ZSTD_CCtx *cctx;
    uint8_t *gather, *out;
    size_t gather_cap, out_cap;
};

struct idx_ent {
    uint32_t type, flags;
    uint64_t offset, stored, raw;
};

struct hs_writer {
    int fd;
    char *name;
    int level;
    uint64_t off;            /* bytes emitted so far, buffered or not */
    uint64_t written;        /* bytes that write(2) took */
    uint8_t *obuf;
    size_t olen;
    struct idx_ent *idx;
    size_t nidx, cidx;
    uint32_t range_seq;
    int have_process, have_stats;
    char err[512];
    int failed;
    ZSTD_CCtx *cctx;         /* metadata sections */
    uint8_t *zbuf;           /* metadata compression output */
    size_t zcap;
    struct block_job job[2]; /* job[1] is the helper thread's */

    /* the helper thread */
    int threads;             /* 2 if a helper thread may be used, else 1 */
    int helper_state;        /* 0 none, 1 idle, 2 job posted, 3 quit */
    pthread_t helper;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

/* Record the first error ("NAME: what") and return -1. */
int hs_writer_fail(struct hs_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Emit one section: header, then plain (never compressed), then body
 * (compressed if flags has HSL_SF_ZSTD); crc covers plain + body. */
int hs_writer_emit_section(struct hs_writer *w, uint32_t type, uint32_t flags, const void *plain,
                           size_t plain_len, const void *body, size_t body_len, uint64_t raw_len,
                           uint32_t crc);

/* Stop the helper thread (if it runs) and free the block jobs' buffers. */
void hs_writer_free_blocks(struct hs_writer *w);

#endif /* HEAPSNAP_FORMAT_WRITER_H */
