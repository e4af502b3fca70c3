/*
 * ondemand.c — memory decompressed block by block as reads reach it, for
 * a snapshot opened HS_OPEN_ON_DEMAND (hsnap.h).
 *
 * hs_open() decompresses every block into place, which is a heap's worth
 * of time and RSS.  A reader of a few words does not need that: the SQL
 * functions (u64(), cstr(), read()) that a Go leak report calls once per
 * blocked goroutine, or a user's query into a 6 GB heap.  Here the open
 * walks and checks the file as usual (every checksum), keeps the file
 * image, and maps each range PROT_NONE.  The first read of a block makes
 * its pages readable and decompresses it there (materialise.c's
 * hs_place_block, as an eager open would); later reads of it are plain
 * loads.  A block that does not decompress makes every read of it fail,
 * and hs_snapshot_memory_error() says which block and why, so that a
 * caller tells damage apart from memory that was never captured.
 *
 * Reads may come from several threads: placing takes the lock, and a
 * block's state is published with release/acquire, so a reader that sees
 * a block placed sees its bytes.  The ranges' public data pointers stay
 * NULL: a reader that walks hs_get_ranges() directly (the indexer's scan)
 * must open eagerly, and sees no bytes rather than unplaced ones.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "walk.h"

enum { BLOCK_UNPLACED, BLOCK_PLACED, BLOCK_BAD };

struct lazy_range {
    struct block *blocks; /* in address order, each continuing the last */
    size_t n;
    uint8_t *state;       /* BLOCK_*, one per block; atomic */
};

struct hs_lazy {
    const uint8_t *file;  /* the file image the blocks' bodies point into */
    size_t len;
    int mapped;
    struct lazy_range *ranges; /* parallel to s->store */
    size_t nranges;
    ZSTD_DCtx *dctx;
    pthread_mutex_t lock;
    char *error;          /* the first block that did not decompress */
};

int hs_lazy_begin(struct walk *w, size_t nranges)
{
    struct hs_lazy *z = calloc(1, sizeof *z);
    if (z && !(z->ranges = calloc(nranges ? nranges : 1, sizeof *z->ranges))) {
        free(z);
        z = NULL;
    }
    if (!z) {
        hs_set_err(w->err, "%s: out of memory", w->name);
        return -1;
    }
    z->nranges = nranges;
    pthread_mutex_init(&z->lock, NULL);
    w->s->lazy = z;
    return 0;
}

int hs_lazy_range(struct walk *w, size_t ri, const struct block *first, size_t n)
{
    struct lazy_range *lr = &w->s->lazy->ranges[ri];
    lr->blocks = malloc(n * sizeof *lr->blocks);
    lr->state = calloc(n, 1);
    if (!lr->blocks || !lr->state)
        goto oom;
    memcpy(lr->blocks, first, n * sizeof *lr->blocks);
    lr->n = n;
    return 0;
oom:
    hs_set_err(w->err, "%s: out of memory", w->name);
    return -1;
}

void hs_lazy_keep_file(struct hs_snapshot *s, const uint8_t *file, size_t len, int mapped)
{
    struct hs_lazy *z = s->lazy;
    z->file = file;
    z->len = len;
    z->mapped = mapped;
    /* The walk read every byte to check it; what a later read needs comes
     * back from the page cache, so the rest need not stay in our RSS. */
    if (mapped) {
        madvise((void *)file, len, MADV_DONTNEED);
        madvise((void *)file, len, MADV_RANDOM);
    }
}

/* Say once why block b of s could not be placed. */
static void note_bad(struct hs_snapshot *s, struct hs_lazy *z, const struct block *b)
{
    if (z->error)
        return;
    struct hs_error err = {{0}};
    struct walk w = {.name = s->path, .err = &err, .secno = b->secno, .off = b->off, .type = HS_SEC_MEMORY};
    uint8_t *room = z->dctx ? malloc((size_t)b->npages * b->page_size) : NULL;
    /* redone with a walk to hear what zstd said (the placing had none) */
    if (!room)
        hs_sec_err(&w, "memory block at 0x%llx: out of memory to place it", (unsigned long long)b->addr);
    else if (hs_place_block(&w, z->dctx, b, room) == 0 || !err.msg[0])
        hs_sec_err(&w, "memory block at 0x%llx: its pages could not be made readable", (unsigned long long)b->addr);
    free(room);
    z->error = strdup(err.msg);
}

/* Place block k of range ri, under the lock.  0, or -1 if it is bad. */
static int place(struct hs_snapshot *s, size_t ri, size_t k)
{
    struct hs_lazy *z = s->lazy;
    struct lazy_range *lr = &z->ranges[ri];
    int rc = 0;
    pthread_mutex_lock(&z->lock);
    uint8_t st = __atomic_load_n(&lr->state[k], __ATOMIC_ACQUIRE);
    if (st == BLOCK_UNPLACED) {
        const struct block *b = &lr->blocks[k];
        struct hs_range_store *rs = &s->store[ri];
        uint8_t *dst = rs->map + (b->addr - rs->r.start);
        size_t bytes = (size_t)b->npages * b->page_size;
        st = BLOCK_BAD;
        if ((z->dctx || (z->dctx = ZSTD_createDCtx())) && mprotect(dst, bytes, PROT_READ | PROT_WRITE) == 0) {
            if (hs_place_block(NULL, z->dctx, b, dst) == 0) {
                st = BLOCK_PLACED;
                mprotect(dst, bytes, PROT_READ);
            } else {
                madvise(dst, bytes, MADV_DONTNEED); /* what was written of it goes */
                mprotect(dst, bytes, PROT_NONE);
            }
        }
        if (st == BLOCK_BAD)
            note_bad(s, z, b);
        __atomic_store_n(&lr->state[k], st, __ATOMIC_RELEASE);
    }
    rc = st == BLOCK_PLACED ? 0 : -1;
    pthread_mutex_unlock(&z->lock);
    return rc;
}

const uint8_t *hs_lazy_bytes(const struct hs_snapshot *cs, size_t ri, uint64_t addr, size_t len)
{
    struct hs_snapshot *s = (struct hs_snapshot *)cs; /* placing is not a change the caller sees */
    struct hs_lazy *z = s->lazy;
    if (!z || ri >= z->nranges || !s->store[ri].map)
        return NULL;
    struct lazy_range *lr = &z->ranges[ri];
    const struct hs_range_store *rs = &s->store[ri];
    uint64_t end = addr + len;
    /* the first block that holds addr: blocks are contiguous and sorted */
    size_t lo = 0, hi = lr->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct block *b = &lr->blocks[mid];
        if (addr >= b->addr + (uint64_t)b->npages * b->page_size)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t k = lo; k < lr->n && lr->blocks[k].addr < end; k++)
        if (__atomic_load_n(&lr->state[k], __ATOMIC_ACQUIRE) != BLOCK_PLACED && place(s, ri, k))
            return NULL;
    return rs->map + (addr - rs->r.start);
}

const char *hs_snapshot_memory_error(const struct hs_snapshot *s)
{
    if (!s->lazy)
        return NULL;
    pthread_mutex_lock(&s->lazy->lock);
    const char *e = s->lazy->error;
    pthread_mutex_unlock(&s->lazy->lock);
    return e;
}

void hs_lazy_free(struct hs_snapshot *s)
{
    struct hs_lazy *z = s->lazy;
    if (!z)
        return;
    for (size_t i = 0; i < z->nranges; i++) {
        free(z->ranges[i].blocks);
        free(z->ranges[i].state);
    }
    free(z->ranges);
    if (z->file)
        hs_unload(z->file, z->len, z->mapped);
    ZSTD_freeDCtx(z->dctx);
    pthread_mutex_destroy(&z->lock);
    free(z->error);
    free(z);
    s->lazy = NULL;
}
