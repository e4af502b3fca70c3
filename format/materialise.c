/*
 * materialise.c — turn the memory blocks a walk noted into the ranges of a
 * snapshot: group blocks by range, check order and overlaps, then
 * decompress each block straight into one anonymous mapping per range
 * (or, opened HS_OPEN_ON_DEMAND, leave that to ondemand.c).
 *
 * Decompression is most of the time an open takes, and blocks are
 * independent, so with two or more CPUs a helper thread takes blocks from
 * the same list (HSNAP_READER_THREADS=1 turns it off).  On failure the
 * first bad block in file order is redone on the main thread, so the
 * message does not depend on scheduling.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "walk.h"

size_t hs_reader_max_data = SIZE_MAX;

/* One range in the making: blocks [first, first + n) of w->blocks. */
struct span {
    size_t first, n;
    uint64_t start, end;
};

static int cmp_span(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Put one block's pages in place: decompress into dst, then spread the
 * packed DATA pages out to their slots from the last to the first (a page
 * only ever moves up, so nothing is overwritten before it is moved) and
 * clear what is left in the slots of the other pages.  w as for
 * hs_unzstd_with(). */
int hs_place_block(struct walk *w, ZSTD_DCtx *dctx, const struct block *b, uint8_t *dst)
{
    size_t ps = b->page_size;
    if (b->body_raw == 0)
        return 0;
    if (b->zstd) {
        if (hs_unzstd_with(w, dctx, dst, b->body_raw, b->body, b->body_len) < 0)
            return -1;
    } else {
        memcpy(dst, b->body, b->body_raw);
    }
    if (b->ndata == b->npages)
        return 0;
    size_t k = b->ndata;
    for (size_t i = b->npages; i-- > 0;) {
        if (b->states[i] == HS_PAGE_DATA) {
            k--;
            if (k != i)
                memcpy(dst + i * ps, dst + k * ps, ps);
        } else if (i < b->ndata) {
            memset(dst + i * ps, 0, ps);
        }
    }
    return 0;
}

struct place_job {
    const struct block *b;
    uint8_t *dst;
    int failed;
};

struct placer {
    struct place_job *jobs;
    size_t n;
    size_t next; /* taken with __atomic_fetch_add */
};

static void place_some(struct placer *p, ZSTD_DCtx *dctx)
{
    for (;;) {
        size_t i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
        if (i >= p->n)
            return;
        p->jobs[i].failed = hs_place_block(NULL, dctx, p->jobs[i].b, p->jobs[i].dst) < 0;
    }
}

static void *place_helper(void *arg)
{
    struct placer *p = arg;
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (dctx)
        place_some(p, dctx);
    ZSTD_freeDCtx(dctx);
    return NULL;
}

static int place_all(struct walk *w, struct place_job *jobs, size_t n)
{
    struct placer p = {jobs, n, 0};
    if (!w->dctx && !(w->dctx = ZSTD_createDCtx())) {
        hs_set_err(w->err, "%s: out of memory", w->name);
        return -1;
    }
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += jobs[i].b->body_raw;
    const char *t = getenv("HSNAP_READER_THREADS");
    pthread_t helper;
    int threaded = bytes >= (8u << 20) && (!t || atoi(t) != 1) &&
                   sysconf(_SC_NPROCESSORS_ONLN) >= 2 &&
                   pthread_create(&helper, NULL, place_helper, &p) == 0;
    place_some(&p, w->dctx);
    if (threaded)
        pthread_join(helper, NULL);
    for (size_t i = 0; i < n; i++) {
        if (!jobs[i].failed)
            continue;
        /* Say what went wrong with the first bad block, in file order. */
        w->secno = jobs[i].b->secno;
        w->off = jobs[i].b->off;
        w->type = HS_SEC_MEMORY;
        if (hs_place_block(w, w->dctx, jobs[i].b, jobs[i].dst) == 0)
            hs_sec_err(w, "could not be decompressed");
        return -1;
    }
    return 0;
}

int hs_build_ranges(struct walk *w)
{
    struct hs_snapshot *s = w->s;
    if (!w->nblocks)
        return 0;
    struct span *sp = calloc(w->nblocks, sizeof *sp);
    struct place_job *jobs = calloc(w->nblocks, sizeof *jobs);
    size_t njobs = 0;
    if (!sp || !jobs) {
        free(sp);
        free(jobs);
        hs_set_err(w->err, "%s: out of memory", w->name);
        return -1;
    }
    size_t n = 0;
    int rc = -1;
    for (size_t i = 0; i < w->nblocks; i++) {
        const struct block *b = &w->blocks[i];
        uint64_t bend = b->addr + (uint64_t)b->npages * b->page_size;
        w->secno = b->secno;
        w->off = b->off;
        w->type = HS_SEC_MEMORY;
        const struct block *p = i ? &w->blocks[i - 1] : NULL;
        if (p && b->seq == p->seq) {
            if (b->block_no != p->block_no + 1 || b->addr != sp[n - 1].end ||
                b->page_size != p->page_size || b->flags != p->flags) {
                hs_sec_err(w,
                           "block %u of range %u does not continue block %u at 0x%llx "
                           "(section %zu)",
                           b->block_no, b->seq, p->block_no, (unsigned long long)sp[n - 1].end,
                           p->secno);
                goto out;
            }
            sp[n - 1].n++;
            sp[n - 1].end = bend;
            continue;
        }
        if (b->block_no != 0 || (p && b->seq < p->seq)) {
            hs_sec_err(w, "block %u of range %u, but the range's previous block is missing",
                       b->block_no, b->seq);
            goto out;
        }
        sp[n++] = (struct span){i, 1, b->addr, bend};
    }
    /* However little space the blocks take in the file, the memory they
     * describe is mapped: keep a forged file from asking for more than an
     * x86_64 address space holds. */
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += sp[i].end - sp[i].start;
        if (total > HSL_MEM_TOTAL_MAX || total < sp[i].end - sp[i].start) {
            hs_set_err(w->err, "%s: the memory blocks describe more than %llu bytes in all",
                       w->name, (unsigned long long)HSL_MEM_TOTAL_MAX);
            goto out;
        }
    }
    qsort(sp, n, sizeof *sp, cmp_span);
    for (size_t i = 1; i < n; i++) {
        if (sp[i].start < sp[i - 1].end) {
            const struct block *b = &w->blocks[sp[i].first];
            w->secno = b->secno;
            w->off = b->off;
            hs_sec_err(w, "memory 0x%llx-0x%llx overlaps 0x%llx-0x%llx (section %zu)",
                       (unsigned long long)sp[i].start, (unsigned long long)sp[i].end,
                       (unsigned long long)sp[i - 1].start, (unsigned long long)sp[i - 1].end,
                       w->blocks[sp[i - 1].first].secno);
            goto out;
        }
    }
    s->store = calloc(n, sizeof *s->store);
    s->ranges = calloc(n, sizeof *s->ranges);
    if (!s->store || !s->ranges) {
        hs_set_err(w->err, "%s: out of memory", w->name);
        goto out;
    }
    int lazy = !(w->flags & HS_OPEN_METADATA_ONLY) && (w->flags & HS_OPEN_ON_DEMAND);
    if (!(w->flags & HS_OPEN_METADATA_ONLY)) {
        /* what is placed now or on demand: the same limit for both */
        uint64_t data = 0;
        for (size_t i = 0; i < w->nblocks; i++)
            data += w->blocks[i].body_raw;
        if (data > hs_reader_max_data) {
            hs_set_err(w->err,
                       "%s: the memory blocks hold %llu bytes of data, more than the %zu this "
                       "reader may materialise",
                       w->name, (unsigned long long)data, hs_reader_max_data);
            goto out;
        }
    }
    if (lazy && hs_lazy_begin(w, n))
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct hs_range_store *st = &s->store[i];
        const struct block *b0 = &w->blocks[sp[i].first];
        uint64_t bytes = sp[i].end - sp[i].start;
        uint64_t npages = bytes / b0->page_size;
        s->nranges++;
        st->r.start = sp[i].start;
        st->r.end = sp[i].end;
        st->r.flags = b0->flags;
        st->r.page_size = b0->page_size;
        st->states = malloc((size_t)npages);
        if (!st->states || bytes > SIZE_MAX) {
            hs_set_err(w->err, "%s: out of memory for the %llu page states of 0x%llx-0x%llx",
                       w->name, (unsigned long long)npages, (unsigned long long)sp[i].start,
                       (unsigned long long)sp[i].end);
            goto out;
        }
        st->r.page_state = st->states;
        if (!(w->flags & HS_OPEN_METADATA_ONLY)) {
            /* on demand, a block's pages become readable once it is placed */
            void *m = mmap(NULL, (size_t)bytes, lazy ? PROT_NONE : PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (m == MAP_FAILED) {
                hs_set_err(w->err, "%s: cannot map %llu bytes for memory 0x%llx-0x%llx: %s",
                           w->name, (unsigned long long)bytes, (unsigned long long)sp[i].start,
                           (unsigned long long)sp[i].end, strerror(errno));
                goto out;
            }
            st->map = m;
            st->map_len = (size_t)bytes;
            st->r.data = lazy ? NULL : m;
            if (lazy && hs_lazy_range(w, i, &w->blocks[sp[i].first], sp[i].n))
                goto out;
        }
        for (size_t k = 0; k < sp[i].n; k++) {
            const struct block *b = &w->blocks[sp[i].first + k];
            size_t at = (size_t)(b->addr - sp[i].start);
            memcpy(st->states + at / b->page_size, b->states, b->npages);
            if (st->map && b->body_raw && !lazy)
                jobs[njobs++] = (struct place_job){b, st->map + at, 0};
        }
        hs_store_states_set(st);
        s->ranges[i] = st->r;
    }
    if (place_all(w, jobs, njobs) < 0)
        goto out;
    for (size_t i = 0; i < n && !lazy; i++)
        if (s->store[i].map) /* the snapshot is read-only */
            mprotect(s->store[i].map, s->store[i].map_len, PROT_READ);
    rc = 0;
out:
    free(jobs);
    free(sp);
    return rc;
}
