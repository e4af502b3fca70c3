/*
 * refsort.c — references into the refs table's key order by a counting sort
 * on their target, one bucket of targets at a time (see refsort.h), and the
 * scan thread that feeds it.
 */
#include "index/refsort.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "index/refs.h"
#include "index/varint.h"

/*
 * While scanning, the references are kept by target bucket: BUCKET_BITS of
 * targets per bucket, each bucket a chain of chunks holding its references
 * in scan order, encoded:
 *   the source, as the zigzag varint of its difference from the bucket's
 *     previous source (the scan's sources only grow, so mostly 1 byte);
 *   the target's place in its bucket, 2 bytes;
 *   offset << 1 | interior, a varint (1 byte below offset 64).
 * About 4 bytes a reference instead of 12, appended in a few hundred
 * places that stay in cache, with no per-object counter to bump at random.
 */
#define BUCKET_BITS 16
#define BUCKET_SIZE (1u << BUCKET_BITS)
#define CHUNK_BYTES (64u << 10)
#define MAX_CODE 22 /* 10 + 2 + 10: the longest a reference can encode */
#define OFF_LIMIT (1ull << 31) /* below it, offset << 1 | interior fits a placed one */

struct chunk {
    struct chunk *next;
    uint32_t len;
    uint8_t b[CHUNK_BYTES - 16];
};

struct bucket {
    struct chunk *head, *tail;
    int64_t last;  /* the source the next difference is from */
    uint64_t n;    /* references in it */
};

/* Placed by target within one bucket: the target is implicit in the position. */
struct pref {
    int32_t src;
    uint32_t off;
};

struct refsort {
    size_t nobjs;
    struct bucket *buckets;
    size_t nbuckets;
    uint64_t n;                      /* every ref, the big ones included */
    struct db_ref *big;              /* the ones a placed ref cannot hold */
    size_t nbig, capbig;
    int oom;
    void (*tee)(void *u, int64_t src, int64_t dst); /* refsort_tee() */
    void *tee_user;
    /* after refsort_finish (end set): one bucket at a time is placed */
    struct pref *placed;             /* [the largest bucket's n] */
    uint32_t *end;                   /* [BUCKET_SIZE + 1]: where each target's run starts, then ends */
    size_t cur, next;                /* the bucket placed now, the next to place */
    uint64_t ncur, pos;              /* its references, the next one's place */
    uint32_t low;                    /* the current target's place in the bucket */
    size_t bigpos;
    /* the scan thread */
    pthread_t thread;
    int threaded;
    struct hs_snapshot *s; /* the scan gives its memory back behind it */
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
    rs->nbuckets = (nobjs >> BUCKET_BITS) + 1;
    if (!(rs->buckets = calloc(rs->nbuckets, sizeof *rs->buckets))) {
        free(rs);
        return NULL;
    }
    return rs;
}

void refsort_tee(struct refsort *rs, void (*fn)(void *u, int64_t src, int64_t dst), void *u)
{
    rs->tee = fn;
    rs->tee_user = u;
}

static int add_big(struct refsort *rs, int64_t src, uint64_t offset, int64_t dst, int interior)
{
    struct db_ref *v = grow_for_one(rs->big, rs->nbig, &rs->capbig, sizeof *v, 64);
    if (!v)
        return -1;
    rs->big = v;
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
    if (rs->tee)
        rs->tee(rs->tee_user, src, dst);
    if (src < INT32_MIN || src > INT32_MAX || offset >= OFF_LIMIT)
        return add_big(rs, src, offset, dst, interior) ? (rs->oom = 1, -1) : 0;
    struct bucket *b = &rs->buckets[(uint64_t)dst >> BUCKET_BITS];
    struct chunk *c = b->tail;
    if (!c || c->len + MAX_CODE > sizeof c->b) {
        struct chunk *f = malloc(sizeof *f);
        if (!f) {
            rs->oom = 1;
            return -1;
        }
        f->next = NULL;
        f->len = 0;
        if (c)
            c->next = f;
        else
            b->head = f;
        b->tail = c = f;
    }
    uint8_t *p = c->b + c->len;
    int64_t d = src - b->last; /* both within int32: no overflow */
    p = put_varint(p, zigzag(d));
    uint32_t low = (uint32_t)dst & (BUCKET_SIZE - 1);
    *p++ = (uint8_t)low;
    *p++ = (uint8_t)(low >> 8);
    p = put_varint(p, offset << 1 | !!interior);
    c->len = (uint32_t)(p - c->b);
    b->last = src;
    b->n++;
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
    struct ref_sink sink = {.user = rs, .ref = on_ref, .progress = on_progress, .release = rs->s};
    refs_scan(rs->s, rs->t, rs->roots, &sink);
    atomic_store(&rs->done, 1);
    return NULL;
}

int refsort_scan(struct refsort *rs, struct hs_snapshot *s, const struct objtab *t,
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
    uint64_t most = 1;
    for (size_t k = 0; k < rs->nbuckets; k++)
        if (rs->buckets[k].n > most)
            most = rs->buckets[k].n;
    if (!(rs->placed = malloc(most * sizeof *rs->placed)) ||
        !(rs->end = malloc((BUCKET_SIZE + 1) * sizeof *rs->end)))
        return -1;
    if (rs->nbig)
        qsort(rs->big, rs->nbig, sizeof *rs->big, cmp_ref);
    return 0;
}

/* Walk one bucket's chunks, decoding each reference; with place set, put it
 * at end[low]++, else count it in end[low + 1].  The stream is our own, in
 * memory, written by refsort_add: each chunk holds whole references. */
static void decode(struct refsort *rs, const struct bucket *b, int place)
{
    int64_t src = 0;
    for (const struct chunk *c = b->head; c; c = c->next) {
        const uint8_t *p = c->b, *e = c->b + c->len;
        while (p < e) {
            src += unzigzag(get_varint(&p, e));
            uint32_t low = (uint32_t)p[0] | (uint32_t)p[1] << 8;
            p += 2;
            uint32_t off = (uint32_t)get_varint(&p, e);
            if (place)
                rs->placed[rs->end[low]++] = (struct pref){(int32_t)src, off};
            else
                rs->end[low + 1]++;
        }
    }
}

/* Place the references of bucket k, a counting sort on the target's place
 * in it.  Stable: within a target they keep the scan's (src, offset) order,
 * the whole key order with no comparison.  Then its chunks are freed. */
static void place_bucket(struct refsort *rs, size_t k)
{
    struct bucket *b = &rs->buckets[k];
    memset(rs->end, 0, (BUCKET_SIZE + 1) * sizeof *rs->end);
    decode(rs, b, 0);
    for (uint32_t i = 1; i <= BUCKET_SIZE; i++) /* end[low]: where low's run starts */
        rs->end[i] += rs->end[i - 1];
    decode(rs, b, 1); /* and now where it ends */
    for (struct chunk *c = b->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    b->head = b->tail = NULL;
    rs->ncur = b->n;
    rs->pos = 0;
    rs->low = 0;
}

uint64_t refsort_count(const struct refsort *rs)
{
    return rs->n;
}

int refsort_next(struct refsort *rs, struct db_ref *r)
{
    if (!rs->end)
        return 0; /* not finished */
    /* the next placed one: the next bucket once this one is used up, then
     * skip the targets whose runs are */
    while (rs->pos >= rs->ncur && rs->next < rs->nbuckets) {
        rs->cur = rs->next++;
        if (rs->buckets[rs->cur].n)
            place_bucket(rs, rs->cur);
        else
            rs->ncur = rs->pos = 0;
    }
    int have = rs->pos < rs->ncur;
    struct db_ref c = {0};
    if (have) {
        while (rs->pos >= rs->end[rs->low])
            rs->low++;
        const struct pref *p = &rs->placed[rs->pos];
        c = (struct db_ref){.src = p->src, .dst = (int64_t)(rs->cur << BUCKET_BITS | rs->low),
                            .offset = p->off >> 1, .interior = p->off & 1};
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
    for (size_t k = 0; k < rs->nbuckets; k++)
        for (struct chunk *c = rs->buckets[k].head, *next; c; c = next) {
            next = c->next;
            free(c);
        }
    free(rs->buckets);
    free(rs->big);
    free(rs->placed);
    free(rs->end);
    free(rs);
}
