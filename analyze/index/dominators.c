/*
 * dominators.c — the heap's dominator tree and retained sizes, worked out
 * by the indexer on the core the references' load leaves idle, and stored
 * as the `analysis` table in the same transaction (dominators.h).
 *
 * The graph is the one the analyses would load from the database
 * (analysis/load.c), built as the scan makes the references rather than
 * read back: node 0 the super-root with an edge to every root, nodes
 * 1..R the roots, then the objects; an edge for each reference from a
 * root or a used object to a used object (a free chunk's stale words keep
 * nothing alive, and nothing keeps a free chunk).  The scan makes them in
 * ascending source order, so they are appended as they come, with nothing
 * to sort (the encoding is below).  The tree (graph/heaptree.c) is
 * unique whatever the order of the edges, so the table is the one a first
 * leaks would have written, row for row.
 */
#include "index/dominators.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/grow.h"
#include "base/notify.h"
#include "graph/graph.h"
#include "heap/allocator.h"
#include "index/varint.h"

/*
 * While the scan runs, the snapshot, the object table and the sorter's
 * streams are all in memory: the indexer's peak.  So the edges wait for
 * the tree in a byte stream, not in the CSR: each edge is the difference
 * between its target and its source node, zigzagged, plus one, as a
 * varint (objects point near themselves more often than not: a list's
 * next, a tree's children, allocated together); a 0 byte then the gap as
 * a varint moves on to a later source.  About 2-3 bytes an edge, against
 * 4 for the CSR's and 4 more per node for its offsets.  The tree's
 * thread decodes it into the CSR, once the snapshot's memory is gone.
 */
#define ENC_ROOM 16 /* the most one edge appends: a marker, a gap and a difference */

struct idx_tree {
    uint32_t nroots, nobjs, n;
    uint64_t *usedbits;          /* [nobjs bits], for the scan's filter */
    uint8_t *enc;                /* the edges, in source order (above) */
    size_t enclen, enccap;
    uint32_t m;                  /* edges in enc */
    uint32_t cur;                /* the source node of the last edge */
    const char *broken;          /* why no tree will be made, or NULL */
    /* after idx_tree_start() */
    struct graph g;              /* enc decoded, on the tree's thread */
    uint8_t *used;               /* [nobjs] */
    struct heaptree t;
    pthread_t thread;
    int running;
    int failed;                  /* errno of heaptree_build, or 0 */
    double seconds;
};

static int used_bit(const struct idx_tree *x, int64_t id)
{
    uint64_t i = (uint64_t)id - 1;
    return (x->usedbits[i >> 6] >> (i & 63)) & 1;
}

/* Append the edge v -> dst (v no lower than the last edge's source). */
static int push(struct idx_tree *x, uint32_t v, uint32_t dst)
{
    if (x->m == UINT32_MAX - 1) {
        x->broken = "2^32 edges or more";
        return -1;
    }
    /* room for ENC_ROOM more bytes: one byte past the last of them */
    uint8_t *e = grow_for_one(x->enc, x->enclen + ENC_ROOM - 1, &x->enccap, 1, (size_t)1 << 20);
    if (!e) {
        x->broken = "out of memory";
        return -1;
    }
    x->enc = e;
    uint8_t *p = x->enc + x->enclen;
    if (v != x->cur) {
        *p++ = 0;
        p = put_varint(p, v - x->cur);
        x->cur = v;
    }
    int64_t d = (int64_t)dst - (int64_t)v;
    p = put_varint(p, zigzag(d) + 1);
    x->enclen = (size_t)(p - x->enc);
    x->m++;
    return 0;
}

/* enc into the CSR x->g; frees enc.  0, or -1: out of memory, or with
 * broken set if the stream does not decode (a bug, said as such: better
 * no tree than a wrong one). */
static int decode(struct idx_tree *x)
{
    struct graph *g = &x->g;
    g->n = x->n;
    g->off = malloc(((size_t)x->n + 1) * sizeof *g->off);
    g->adj = malloc(((size_t)x->m + 1) * sizeof *g->adj);
    if (!g->off || !g->adj)
        return -1;
    const uint8_t *p = x->enc, *end = x->enc + x->enclen;
    uint32_t v = 0, m = 0;
    g->off[0] = 0;
    while (p < end) {
        if (*p == 0) {
            p++;
            uint64_t gap = get_varint(&p, end);
            if (gap == 0 || gap > (uint64_t)(x->n - 1 - v))
                return x->broken = "its edges did not decode (a bug in index/dominators.c)", -1;
            for (uint32_t w = v + 1; w <= v + (uint32_t)gap; w++)
                g->off[w] = m;
            v += (uint32_t)gap;
            continue;
        }
        uint64_t z = get_varint(&p, end) - 1;
        int64_t dst = (int64_t)v + unzigzag(z);
        if (z >= UINT64_MAX - 1 || dst < 0 || dst >= (int64_t)x->n || m >= x->m)
            return x->broken = "its edges did not decode (a bug in index/dominators.c)", -1;
        g->adj[m++] = (uint32_t)dst;
    }
    if (m != x->m)
        return x->broken = "its edges did not decode (a bug in index/dominators.c)", -1;
    for (uint32_t w = v + 1; w <= x->n; w++)
        g->off[w] = m;
    g->m = m;
    free(x->enc);
    x->enc = NULL;
    return 0;
}

struct idx_tree *idx_tree_new(const struct objtab *t, size_t nroots)
{
    struct idx_tree *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    if (t->n + nroots + 1 >= GRAPH_NONE) {
        x->broken = "too many objects for one graph";
        return x;
    }
    x->nroots = (uint32_t)nroots;
    x->nobjs = (uint32_t)t->n;
    x->n = 1 + x->nroots + x->nobjs;
    x->usedbits = calloc(graph_bitmap_words(x->nobjs) + 1, sizeof *x->usedbits);
    if (!x->usedbits) {
        x->broken = "out of memory";
        return x;
    }
    for (uint32_t i = 0; i < x->nobjs; i++)
        if (t->v[i].state == OBJ_USED)
            graph_bit_set(x->usedbits, i);
    for (uint32_t r = 1; r <= x->nroots; r++) /* the super-root holds every root */
        if (push(x, 0, r))
            return x;
    return x;
}

void idx_tree_ref(void *u, int64_t src, int64_t dst)
{
    struct idx_tree *x = u;
    if (x->broken)
        return;
    if (dst < 1 || dst > (int64_t)x->nobjs || src < -(int64_t)x->nroots || src == 0 || src > (int64_t)x->nobjs) {
        x->broken = "a reference out of range";
        return;
    }
    uint32_t v = (uint32_t)(src + x->nroots + (src < 0));
    if (v < x->cur) {
        x->broken = "references out of source order";
        return;
    }
    if ((src > 0 && !used_bit(x, src)) || !used_bit(x, dst))
        return;
    push(x, v, x->nroots + (uint32_t)dst);
}

static void *tree_thread(void *arg)
{
    struct idx_tree *x = arg;
    /* the line shows the load's progress; this works beside it */
    notify_progress_mute_thread(1);
    double t0 = clock_wall_s();
    if (decode(x)) {
        if (!x->broken)
            x->failed = ENOMEM;
    } else if (heaptree_build(&x->t, &x->g, HEAPTREE_FREE_GRAPH)) {
        x->failed = errno ? errno : ENOMEM;
    }
    graph_free(&x->g);
    x->seconds = clock_wall_s() - t0;
    return NULL;
}

int idx_tree_start(struct idx_tree *x, const struct objtab *t)
{
    if (x->broken)
        return -1;
    free(x->usedbits);
    x->usedbits = NULL;
    x->used = malloc((size_t)x->nobjs + 1);
    x->t.retained_size = malloc((size_t)x->n * sizeof *x->t.retained_size);
    x->t.retained_count = malloc((size_t)x->n * sizeof *x->t.retained_count);
    if (!x->used || !x->t.retained_size || !x->t.retained_count) {
        x->broken = "out of memory";
        return -1;
    }
    /* each node's own share, as the analyses count it (analysis.h): a
     * program's object its bytes and 1; the allocator's own chunks, free
     * ones, the roots and the super-root nothing */
    memset(x->t.retained_size, 0, ((size_t)x->nroots + 1) * sizeof *x->t.retained_size);
    memset(x->t.retained_count, 0, ((size_t)x->nroots + 1) * sizeof *x->t.retained_count);
    for (uint32_t i = 0; i < x->nobjs; i++) {
        const struct obj *o = &t->v[i];
        int used = o->state == OBJ_USED;
        int program = used && !(heap_where_name(o->where) && heap_where_flags(o->where) & HW_INTERNAL);
        x->used[i] = (uint8_t)used;
        x->t.retained_size[x->nroots + 1 + i] = program ? o->size : 0;
        x->t.retained_count[x->nroots + 1 + i] = (uint32_t)program;
    }
    if (pthread_create(&x->thread, NULL, tree_thread, x)) {
        x->broken = "no thread to work it out on";
        return -1;
    }
    x->running = 1;
    return 0;
}

static void join(struct idx_tree *x)
{
    if (x->running) {
        pthread_join(x->thread, NULL);
        x->running = 0;
    }
}

int idx_tree_store(struct idx_tree *x, sqlite3 *db, struct db_bulk *bulk, int progress, char *why,
                   size_t whylen, char *err, size_t errlen)
{
    if (progress && x->running) /* the line ticks while the load waits for it */
        notify_progress("dominator tree", 0, 0);
    join(x);
    if (x->broken || x->failed) {
        snprintf(why, whylen, "%s", x->broken ? x->broken : strerror(x->failed));
        return 1;
    }
    struct db_analysis a = {.nroots = x->nroots, .nobjs = x->nobjs, .used = x->used, .idom = x->t.idom,
                            .retained_size = x->t.retained_size, .retained_count = x->t.retained_count,
                            .progress = progress ? "storing the dominator tree" : NULL};
    if (db_analysis_write(db, bulk, &a, err, errlen))
        return -1;
    if (db_step_mark(db, DB_STEP_DOMINATORS, x->seconds)) {
        snprintf(err, errlen, "recording the analysis: %s", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

void idx_tree_free(struct idx_tree *x)
{
    if (!x)
        return;
    join(x);
    graph_free(&x->g);
    free(x->enc);
    free(x->usedbits);
    free(x->used);
    free(x->t.idom);
    free(x->t.retained_size);
    free(x->t.retained_count);
    free(x);
}
