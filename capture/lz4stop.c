/*
 * lz4stop.c — copy and LZ4-compress pieces of the stopped target on every
 * CPU.  See lz4stop.h.
 */
#include "lz4stop.h"
#include "hsnap.h"

#include <errno.h>
#include <lz4.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

enum { MAXT = 8 };

/* LZ4's acceleration.  Measured on bigheap's 1.1 GiB of small objects, 2
 * CPUs: 8 made the copy-and-compress 15% faster than 1 (580 against 680
 * ms) for an output 1% larger (192 against 190 MiB); higher did no better. */
#define LZ4_ACCEL 8


static void prefault(uint8_t *p, size_t len, uint32_t psz)
{
    if (madvise(p, len, MADV_POPULATE_WRITE) < 0)
        for (size_t off = 0; off < len; off += psz)
            ((volatile uint8_t *)p)[off] = 0;
}

int lz4stop_prepare(struct lz4stop *z, uint64_t budget, uint64_t estimate, uint32_t psz)
{
    memset(z, 0, sizeof *z);
    z->psz = psz;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    z->nthreads = ncpu < 1 ? 1 : ncpu > MAXT ? MAXT : (int)ncpu;
    z->raw_each = (size_t)HS_BLOCK_PAGES * psz;
    z->comp_each = ((size_t)LZ4_compressBound((int)z->raw_each) + psz - 1) / psz * psz;
    size_t slen = (size_t)z->nthreads * (z->raw_each + z->comp_each);
    z->cap = (size_t)budget / psz * psz;
    if (z->cap < psz)
        z->cap = psz;
    z->scratch = mmap(NULL, slen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    z->arena = mmap(NULL, z->cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (z->scratch == MAP_FAILED || z->arena == MAP_FAILED) {
        int e = errno;
        if (z->scratch != MAP_FAILED)
            munmap(z->scratch, slen);
        if (z->arena != MAP_FAILED)
            munmap(z->arena, z->cap);
        z->scratch = z->arena = NULL;
        errno = e;
        return -1;
    }
    prefault(z->scratch, slen, psz);
    /* Raw pieces fill the arena up to 90%, so fault in all of that the
     * target's resident size can use: a fault during the stop is pause. */
    size_t pre = (size_t)(estimate + estimate / 16) / psz * psz;
    prefault(z->arena, pre < z->cap ? pre : z->cap, psz);
    return 0;
}

uint8_t *lz4stop_scratch(struct lz4stop *z)
{
    return z->scratch;
}

struct worker {
    struct copy_worker h;
    struct lz4stop *z;
    struct lz4_piece *p;
    size_t n, *next;
    uint8_t *raw, *comp;
    uint64_t copy_ns, lz4_ns; /* this thread's CPU time in each */
};

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Take n bytes of the arena, if it has them: *at, 0; else -1. */
static int reserve(struct lz4stop *z, size_t n, size_t *at)
{
    size_t cur = __atomic_load_n(&z->used, __ATOMIC_RELAXED);
    do {
        if (cur + n > z->cap)
            return -1;
    } while (!__atomic_compare_exchange_n(&z->used, &cur, cur + n, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    *at = cur;
    return 0;
}

/*
 * Store a piece of want bytes raw, with left bytes still to come after it?
 * Only if the arena would still hold all of those even if none of them
 * compressed (LZ4's bound), and the pieces the other threads are
 * compressing now: so a raw piece never makes the copy outgrow the budget
 * when storing everything compressed would not have.  The arena fills
 * with compressed pieces first; the last ones, once what is left fits as
 * it is, are copied raw.  No guess of the ratio is needed, and memory that
 * does not compress is not compressed at the end.
 */
static int raw_fits(struct lz4stop *z, size_t want, uint64_t left)
{
    uint64_t need = __atomic_load_n(&z->used, __ATOMIC_RELAXED) + want + left + left / 255 + 16 +
                    (uint64_t)z->nthreads * z->comp_each;
    return need <= z->cap;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    struct lz4stop *z = w->z;
    for (;;) {
        if (__atomic_load_n(&z->full, __ATOMIC_RELAXED))
            break;
        size_t i = __atomic_fetch_add(w->next, 1, __ATOMIC_RELAXED);
        if (i >= w->n)
            break;
        struct lz4_piece *p = &w->p[i];
        uint64_t nd = 0, t0 = thread_cpu_ns(), ndata = 0;
        for (uint64_t k = 0; k < p->npages; k++)
            ndata += p->state[k] == HS_PAGE_DATA;
        size_t want = (size_t)ndata * z->psz, at = 0;
        uint64_t claimed = __atomic_add_fetch(&z->claimed, want, __ATOMIC_RELAXED);
        uint8_t *dst = w->raw;
        p->raw = want && raw_fits(z, want, z->total > claimed ? z->total - claimed : 0) && reserve(z, want, &at) == 0;
        if (p->raw)
            dst = z->arena + at; /* straight into the arena: no compression, no second copy */
        if (ndata && copier_copy(&w->h.cp, p->addr, p->npages, z->psz, p->state, dst, &nd) < 0) {
            w->h.rc = -1;
            w->h.err = errno;
            __atomic_store_n(w->next, w->n, __ATOMIC_RELAXED); /* the others stop too */
            break;
        }
        uint64_t t1 = thread_cpu_ns();
        w->copy_ns += t1 - t0;
        p->ndata = nd;
        if (p->raw) {
            /* unreadable pages leave a gap at the end of its room */
            p->comp = dst;
            p->clen = (uint32_t)(nd * z->psz);
            __atomic_add_fetch(&z->raw_bytes, p->clen, __ATOMIC_RELAXED);
            p->done = 1;
            continue;
        }
        if (nd == 0) {
            p->done = 1;
            continue;
        }
        int clen = LZ4_compress_fast((const char *)w->raw, (char *)w->comp, (int)(nd * z->psz),
                                     (int)z->comp_each, LZ4_ACCEL);
        w->lz4_ns += thread_cpu_ns() - t1;
        if (clen <= 0 || reserve(z, (size_t)clen, &at) < 0) {
            /* Full (or, impossibly within the bound, not compressed): the
             * caller copies this piece again, so count it once. */
            w->h.cp.bytes_read -= nd * z->psz;
            __atomic_store_n(&z->full, 1, __ATOMIC_RELAXED);
            break;
        }
        memcpy(z->arena + at, w->comp, (size_t)clen);
        __atomic_add_fetch(&z->lz_in, nd * z->psz, __ATOMIC_RELAXED);
        __atomic_add_fetch(&z->lz_out, (uint64_t)clen, __ATOMIC_RELAXED);
        p->comp = z->arena + at;
        p->clen = (uint32_t)clen;
        p->done = 1;
    }
    return NULL;
}

int lz4stop_run(struct lz4stop *z, struct copier *cp, struct lz4_piece *p, size_t n)
{
    struct worker w[MAXT];
    size_t next = 0;
    z->total = z->claimed = 0;
    for (size_t i = 0; i < n; i++)
        for (uint64_t k = 0; k < p[i].npages; k++)
            z->total += p[i].state[k] == HS_PAGE_DATA ? z->psz : 0;
    for (int t = 0; t < z->nthreads; t++) {
        uint8_t *raw = z->scratch + (size_t)t * (z->raw_each + z->comp_each);
        w[t] = (struct worker){.z = z, .p = p, .n = n, .next = &next, .raw = raw, .comp = raw + z->raw_each};
    }
    int rc = copier_parallel(cp, z->nthreads, work, w, sizeof w[0]);
    for (int t = 0; t < z->nthreads; t++) {
        z->copy_cpu_ns += w[t].copy_ns;
        z->lz4_cpu_ns += w[t].lz4_ns;
    }
    if (z->used > z->cap)
        z->used = z->cap;
    return rc;
}

int lz4stop_unpack(const struct lz4stop *z, const struct lz4_piece *p, uint8_t *dst)
{
    if (p->ndata == 0)
        return 0;
    int want = (int)(p->ndata * z->psz);
    if (p->raw) {
        memcpy(dst, p->comp, (size_t)want);
        return 0;
    }
    return LZ4_decompress_safe((const char *)p->comp, (char *)dst, (int)p->clen, want) == want ? 0 : -1;
}

void lz4stop_free(struct lz4stop *z)
{
    if (z->scratch)
        munmap(z->scratch, (size_t)z->nthreads * (z->raw_each + z->comp_each));
    if (z->arena)
        munmap(z->arena, z->cap);
    memset(z, 0, sizeof *z);
}
