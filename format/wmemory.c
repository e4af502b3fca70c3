/*
 * wmemory.c — hs_write_memory(): captured memory into MEMORY sections, the
 * bulk of every snapshot and of the writer's time.
 *
 * A range is cut into blocks of HS_BLOCK_PAGES pages.  For each block the
 * all-zero DATA pages become ZERO (and are not stored), the remaining DATA
 * pages are compressed with a reused ZSTD_CCtx, and the block goes out as
 * one section whose plain part is the block header and page states.  When
 * the machine has two or more CPUs a helper thread compresses every other
 * block, so two blocks are compressed at once; the main thread writes them
 * in order, so the output is byte for byte the same with or without the
 * helper (HSNAP_WRITER_THREADS=1 turns it off).
 */
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "writer.h"

/* Is the page all zero?  memcmp against itself shifted by 16 bytes runs at
 * memory speed with libc's vector code and stops at the first difference. */
static int page_is_zero(const uint8_t *p, size_t n)
{
    static const uint8_t z[16];
    return memcmp(p, z, 16) == 0 && memcmp(p, p + 16, n - 16) == 0;
}

static int grow(uint8_t **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    uint8_t *n = realloc(*p, need);
    if (!n)
        return -1;
    *p = n;
    *cap = need;
    return 0;
}

/* Build one block: prefix, zero-page detection, compression, crc.  Runs on
 * either thread; touches nothing but its job. */
static void compress_block(struct block_job *j, int level)
{
    size_t ps = j->page_size;
    uint8_t *st = j->prefix + HSL_MEM_HDR_LEN;
    uint32_t ndata = 0, nzero = 0;
    memcpy(st, j->states, j->npages);
    for (uint32_t i = 0; i < j->npages; i++) {
        if (st[i] != HS_PAGE_DATA)
            continue;
        if (page_is_zero(j->data + (size_t)(ndata + nzero) * ps, ps)) {
            st[i] = HS_PAGE_ZERO;
            nzero++;
        } else {
            ndata++;
        }
    }
    j->zerr = 0;
    j->body_raw = (size_t)ndata * ps;
    if (nzero == 0) {
        j->body = j->data; /* the DATA pages are already packed */
    } else if (ndata) {
        if (grow(&j->gather, &j->gather_cap, j->body_raw) < 0) {
            j->zerr = (size_t)-1;
            return;
        }
        size_t k = 0, o = 0;
        for (uint32_t i = 0; i < j->npages; i++) {
            if (j->states[i] != HS_PAGE_DATA)
                continue;
            if (st[i] == HS_PAGE_DATA)
                memcpy(j->gather + (o++) * ps, j->data + k * ps, ps);
            k++;
        }
        j->body = j->gather;
    }
    j->body_len = j->body_raw;
    j->compressed = 0;
    if (j->body_raw && level > 0) {
        size_t bound = ZSTD_compressBound(j->body_raw);
        if (grow(&j->out, &j->out_cap, bound) < 0) {
            j->zerr = (size_t)-1;
            return;
        }
        size_t r = ZSTD_compressCCtx(j->cctx, j->out, j->out_cap, j->body, j->body_raw, level);
        if (ZSTD_isError(r)) {
            j->zerr = r;
            return;
        }
        if (r < j->body_raw) {
            j->body = j->out;
            j->body_len = r;
            j->compressed = 1;
        }
    }
    uint8_t *h = j->prefix;
    hs_st64(h + 0, j->addr);
    hs_st32(h + 8, j->page_size);
    hs_st32(h + 12, j->npages);
    hs_st32(h + 16, j->flags);
    hs_st32(h + 20, ndata);
    hs_st32(h + 24, j->range_seq);
    hs_st32(h + 28, j->block_no);
    j->prefix_len = HSL_MEM_HDR_LEN + j->npages;
    j->crc = hs_crc32c(hs_crc32c(0, j->prefix, j->prefix_len), j->body, j->body_len);
}

static int emit_block(struct hs_writer *w, struct block_job *j)
{
    if (j->zerr == (size_t)-1)
        return hs_writer_fail(w, "memory block at 0x%llx: out of memory",
                              (unsigned long long)j->addr);
    if (j->zerr)
        return hs_writer_fail(w, "memory block at 0x%llx: zstd: %s", (unsigned long long)j->addr,
                              ZSTD_getErrorName(j->zerr));
    return hs_writer_emit_section(w, HS_SEC_MEMORY, j->compressed ? HSL_SF_ZSTD : 0, j->prefix,
                                  j->prefix_len, j->body, j->body_len, j->prefix_len + j->body_raw,
                                  j->crc);
}

static void *helper_main(void *arg)
{
    struct hs_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->helper_state == 1)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->helper_state == 3)
            break;
        pthread_mutex_unlock(&w->mu);
        compress_block(&w->job[1], w->level);
        pthread_mutex_lock(&w->mu);
        w->helper_state = 1;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Start the helper on first use; on any failure just stay single-threaded. */
static int helper_ready(struct hs_writer *w)
{
    if (w->threads < 2)
        return 0;
    if (w->helper_state)
        return 1;
    w->job[1].cctx = ZSTD_createCCtx();
    if (!w->job[1].cctx)
        goto single;
    if (pthread_mutex_init(&w->mu, NULL))
        goto single;
    if (pthread_cond_init(&w->cv, NULL)) {
        pthread_mutex_destroy(&w->mu);
        goto single;
    }
    w->helper_state = 1;
    if (pthread_create(&w->helper, NULL, helper_main, w)) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        w->helper_state = 0;
        goto single;
    }
    return 1;
single:
    w->threads = 1;
    return 0;
}

static void helper_post(struct hs_writer *w)
{
    pthread_mutex_lock(&w->mu);
    w->helper_state = 2;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void helper_wait(struct hs_writer *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->helper_state == 2)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

static void helper_stop(struct hs_writer *w)
{
    if (w->helper_state == 0)
        return;
    helper_wait(w);
    pthread_mutex_lock(&w->mu);
    w->helper_state = 3;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->helper, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    w->helper_state = 0;
}

int hs_write_memory(struct hs_writer *w, uint64_t addr, uint32_t page_size, uint64_t npages,
                    uint32_t flags, const uint8_t *page_state, const void *data)
{
    if (w->failed)
        return -1;
    if (page_size < HSL_PAGE_MIN || page_size > HSL_PAGE_MAX || (page_size & (page_size - 1)))
        return hs_writer_fail(w, "memory at 0x%llx: page size %u is not a power of two in [%u, %u]",
                              (unsigned long long)addr, page_size, HSL_PAGE_MIN, HSL_PAGE_MAX);
    if (flags & ~HSL_MEM_FLAGS_KNOWN)
        return hs_writer_fail(w, "memory at 0x%llx: unknown flags 0x%x", (unsigned long long)addr,
                              flags);
    if (npages == 0)
        return 0;
    if (npages > (UINT64_MAX - addr) / page_size)
        return hs_writer_fail(w,
                              "memory at 0x%llx: %llu pages run past the end of the address space",
                              (unsigned long long)addr, (unsigned long long)npages);
    for (uint64_t i = 0; i < npages; i++)
        if (page_state[i] > HS_PAGE_UNREADABLE)
            return hs_writer_fail(w, "memory at 0x%llx: page %llu has invalid state %u",
                                  (unsigned long long)addr, (unsigned long long)i, page_state[i]);
    uint32_t seq = w->range_seq++;
    const uint8_t *d = data;
    uint64_t done = 0, block_no = 0;
    while (done < npages) {
        /* Fill up to two jobs, one for each thread. */
        int njobs = 0;
        for (int k = 0; k < 2 && done < npages; k++) {
            if (k == 1 && !helper_ready(w))
                break;
            struct block_job *j = &w->job[k];
            uint64_t n = npages - done < HS_BLOCK_PAGES ? npages - done : HS_BLOCK_PAGES;
            if (block_no > UINT32_MAX)
                return hs_writer_fail(w, "memory at 0x%llx: too many blocks",
                                      (unsigned long long)addr);
            j->addr = addr + done * page_size;
            j->page_size = page_size;
            j->npages = (uint32_t)n;
            j->flags = flags;
            j->range_seq = seq;
            j->block_no = (uint32_t)block_no++;
            j->states = page_state + done;
            j->data = d;
            for (uint64_t i = 0; i < n; i++)
                if (j->states[i] == HS_PAGE_DATA)
                    d += page_size;
            done += n;
            njobs++;
        }
        if (njobs == 2)
            helper_post(w);
        compress_block(&w->job[0], w->level);
        int r = emit_block(w, &w->job[0]);
        if (njobs == 2) {
            helper_wait(w);
            if (r == 0)
                r = emit_block(w, &w->job[1]);
        }
        if (r < 0)
            return -1;
    }
    return 0;
}

void hs_writer_free_blocks(struct hs_writer *w)
{
    helper_stop(w);
    for (int k = 0; k < 2; k++) {
        ZSTD_freeCCtx(w->job[k].cctx);
        free(w->job[k].gather);
        free(w->job[k].out);
    }
}
