/*
 * refsort.c — references into the refs table's key order by a counting sort
 * on their target (see refsort.h), and the scan thread that feeds it.
 */
#include "index/refsort.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "index/refs.h"

/* Appended in scan order: off is offset << 1 | interior. */
struct cref {
    int32_t src;
    uint32_t dst;
    uint32_t off;
};

/* Placed by target: the target is implicit in the position. */
struct pref {
    int32_t src;
    uint32_t off;
};

#define BLOCK (1u << 20) /* crefs per block: 12 MiB */
#define OFF_LIMIT (1ull << 31)

struct refsort {
    size_t nobjs;
    struct cref **blocks;
    size_t nblocks, capblocks, fill; /* fill: crefs in the last block */
    uint32_t *count;                 /* [nobjs + 1]: refs to dst, then (finish) the end of dst's run */
    uint64_t n;                      /* every ref, the big ones included */
    struct db_ref *big;              /* the ones the compact form cannot hold */
    size_t nbig, capbig;
    int oom;
    /* after refsort_finish */
    struct pref *placed;
    size_t ncompact;
    uint32_t dst;                    /* reading: the current target, its run's end */
    size_t pos, bigpos;
    /* the scan thread */
    pthread_t thread;
    int threaded;
    const struct hs_snapshot *s;
    const struct objtab *t;
    const struct rootset *roots;
    atomic_uint_fast64_t scanned;
    atomic_int done, stop;
};

struct refsort *refsort_new(size_t nobjs)
{
    struct refsort *rs = calloc(1, sizeof *rs);
    if (!rs)
        return NULL;
    rs->nobjs = nobjs;
    if (!(rs->count = calloc(nobjs + 1, sizeof *rs->count))) {
        free(rs);
        return NULL;
    }
    return rs;
}

static int add_big(struct refsort *rs, int64_t src, uint64_t offset, int64_t dst, int interior)
{
    if (rs->nbig == rs->capbig) {
        size_t cap = rs->capbig ? 2 * rs->capbig : 64;
        struct db_ref *v = realloc(rs->big, cap * sizeof *v);
        if (!v)
            return -1;
        rs->big = v;
        rs->capbig = cap;
    }
    rs->big[rs->nbig++] = (struct db_ref){.src = src, .dst = dst, .offset = offset, .interior = !!interior};
    return 0;
}

int refsort_add(struct refsort *rs, int64_t src, uint64_t offset, int64_t dst, int interior)
{
    if (dst < 1 || (uint64_t)dst > rs->nobjs) {
        rs->oom = 1;
        return -1;
    }
    rs->n++;
    if (src < INT32_MIN || src > INT32_MAX || offset >= OFF_LIMIT)
        return add_big(rs, src, offset, dst, interior) ? (rs->oom = 1, -1) : 0;
    if (rs->nblocks == 0 || rs->fill == BLOCK) {
        if (rs->nblocks == rs->capblocks) {
            size_t cap = rs->capblocks ? 2 * rs->capblocks : 16;
            struct cref **v = realloc(rs->blocks, cap * sizeof *v);
            if (!v) {
                rs->oom = 1;
                return -1;
            }
            rs->blocks = v;
            rs->capblocks = cap;
        }
        if (!(rs->blocks[rs->nblocks] = malloc(BLOCK * sizeof **rs->blocks))) {
            rs->oom = 1;
            return -1;
        }
        rs->nblocks++;
        rs->fill = 0;
    }
    rs->blocks[rs->nblocks - 1][rs->fill++] =
        (struct cref){.src = (int32_t)src, .dst = (uint32_t)dst, .off = (uint32_t)(offset << 1 | !!interior)};
    rs->count[dst]++; /* cannot wrap: refsort_finish refuses 2^32 refs before using it */
    return 0;
}

/* ---- the scan thread */

static int on_ref(void *u, int64_t src, uint64_t offset, int64_t dst, int interior)
{
    struct refsort *rs = u;
    if (atomic_load_explicit(&rs->stop, memory_order_relaxed))
        return 1;
    return refsort_add(rs, src, offset, dst, interior) ? -1 : 0;
}

static void on_progress(void *u, uint64_t done, uint64_t total)
{
    (void)total;
    atomic_store(&((struct refsort *)u)->scanned, done);
}

static void *scanner(void *arg)
{
    struct refsort *rs = arg;
    struct ref_sink sink = {.user = rs, .ref = on_ref, .progress = on_progress};
    refs_scan(rs->s, rs->t, rs->roots, &sink);
    atomic_store(&rs->done, 1);
    return NULL;
}

int refsort_scan(struct refsort *rs, const struct hs_snapshot *s, const struct objtab *t,
                 const struct rootset *roots)
{
    rs->s = s;
    rs->t = t;
    rs->roots = roots;
    if (pthread_create(&rs->thread, NULL, scanner, rs))
        return -1;
    rs->threaded = 1;
    return 0;
}

uint64_t refsort_scanned(struct refsort *rs, int *done)
{
    *done = atomic_load(&rs->done);
    return atomic_load(&rs->scanned);
}

int refsort_join(struct refsort *rs)
{
    if (rs->threaded) {
        pthread_join(rs->thread, NULL);
        rs->threaded = 0;
    }
    return rs->oom || atomic_load(&rs->stop) ? -1 : 0;
}

void refsort_stop(struct refsort *rs)
{
    if (!rs)
        return;
    atomic_store(&rs->stop, 1);
    refsort_join(rs);
}

/* ---- the sort */

static int cmp_ref(const void *a, const void *b)
{
    const struct db_ref *x = a, *y = b;
    if (x->dst != y->dst)
        return x->dst < y->dst ? -1 : 1;
    if (x->src != y->src)
        return x->src < y->src ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

int refsort_finish(struct refsort *rs)
{
    if (rs->oom || rs->n >= UINT32_MAX)
        return -1;
    size_t ncompact = rs->n - rs->nbig;
    /* count[d] becomes where d's run starts; after placing, where it ends */
    uint32_t sum = 0;
    for (size_t d = 0; d <= rs->nobjs; d++) {
        uint32_t c = rs->count[d];
        rs->count[d] = sum;
        sum += c;
    }
    if (!(rs->placed = malloc((ncompact ? ncompact : 1) * sizeof *rs->placed)))
        return -1;
    for (size_t b = 0; b < rs->nblocks; b++) {
        size_t len = b + 1 == rs->nblocks ? rs->fill : BLOCK;
        const struct cref *c = rs->blocks[b];
        for (size_t i = 0; i < len; i++)
            rs->placed[rs->count[c[i].dst]++] = (struct pref){c[i].src, c[i].off};
        free(rs->blocks[b]);
        rs->blocks[b] = NULL;
    }
    free(rs->blocks);
    rs->blocks = NULL;
    rs->nblocks = 0;
    rs->ncompact = ncompact;
    if (rs->nbig)
        qsort(rs->big, rs->nbig, sizeof *rs->big, cmp_ref);
    rs->dst = 1;
    rs->pos = 0;
    return 0;
}

uint64_t refsort_count(const struct refsort *rs)
{
    return rs->n;
}

int refsort_next(struct refsort *rs, struct db_ref *r)
{
    /* the next compact one: skip the targets whose runs are used up */
    while (rs->dst <= rs->nobjs && rs->pos >= rs->count[rs->dst])
        rs->dst++;
    int have = rs->pos < rs->ncompact && rs->dst <= rs->nobjs;
    struct db_ref c = {0};
    if (have) {
        const struct pref *p = &rs->placed[rs->pos];
        c = (struct db_ref){.src = p->src, .dst = rs->dst, .offset = p->off >> 1, .interior = p->off & 1};
    }
    if (rs->bigpos < rs->nbig && (!have || cmp_ref(&rs->big[rs->bigpos], &c) < 0)) {
        *r = rs->big[rs->bigpos++];
        return 1;
    }
    if (!have)
        return 0;
    rs->pos++;
    *r = c;
    return 1;
}

void refsort_free(struct refsort *rs)
{
    if (!rs)
        return;
    refsort_stop(rs);
    for (size_t b = 0; b < rs->nblocks; b++)
        free(rs->blocks[b]);
    free(rs->blocks);
    free(rs->count);
    free(rs->big);
    free(rs->placed);
    free(rs);
}
