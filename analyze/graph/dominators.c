/*
 * dominators.c — the dominator tree and retained sizes of graph.h, by
 * semi-NCA (the default) or by Lengauer-Tarjan with simple (path-
 * compressing) link and eval; both share the DFS and the predecessor CSR.
 *
 * Why two: semi-NCA (Georgiadis and Tarjan) does less on the graphs heaps
 * make (on bench/graph's 10 M nodes and 30 M edges, about 55 % of LT's
 * time and 88 % of its memory): no buckets, and forest records of 8 bytes
 * instead of 16.  But its last step walks up the dominator tree, and on a
 * linked list of a million nodes whose payloads a table also holds from
 * the roots, each payload walks the list's whole chain: quadratic.  LT's
 * path-compressed eval does that in O(m log n).  So semi-NCA's walk has a
 * budget of n + m steps, and past it LT computes the tree instead.
 *
 * LT's outline (Lengauer and Tarjan, 1979), everything numbered by DFS preorder
 * so that "smaller number" means "visited earlier":
 *  1. Depth-first search from the root: preorder numbers and DFS parents.
 *  2. In reverse preorder, the semidominator of each w: the smallest
 *     number reachable backwards from w through nodes numbered above w,
 *     found by eval() over the forest of already-processed nodes.
 *  3. Put w in the bucket of its semidominator; link w under its parent;
 *     then for each v in the parent's bucket, eval(v) tells whether
 *     idom(v) is the semidominator or is deferred to that of another node.
 *  4. In preorder, resolve the deferred ones: idom(w) = idom(idom(w)).
 * Semi-NCA runs steps 1 and 2 alike (its records keep only the smallest
 * semi on the path, not the node holding it) and replaces 3 and 4 by one
 * pass in preorder: idom(w) is the nearest common ancestor of parent(w)
 * and semi(w) in the tree built so far (build_snca()).
 *
 * At 10 M nodes every array is far bigger than the caches and is indexed
 * at random, so the cost is cache and TLB misses, and memory is tight:
 *  - The DFS needs no stack.  Going down, a node's next edge to try is kept
 *    in idom[] (unused until step 3); going up follows parent[].
 *  - Step 2 reads predecessors from a CSR built for it in preorder numbers
 *    (preds_build), one sequential stream with no lookups in pre[], and
 *    prefetches the forest records a few predecessors ahead.
 *  - What eval() touches per node (ancestor, label, semi of label, semi)
 *    sits in one 16-byte record, one miss instead of four.
 *  - Buckets are linked lists threaded through idom[] (a node's idom is
 *    only written when it leaves its bucket), with the list heads kept in
 *    the label of the bucket's owner: a label is only read for nodes
 *    already linked into the forest, and a bucket is always emptied before
 *    its owner is linked (its members are the owner's descendants, flushed
 *    by the owner's children), so the label is set for real at link time.
 *  - compress() reverses ancestor pointers on the way up and restores them
 *    (compressed) on the way down, instead of recursing or keeping a stack.
 *  - The big arrays ask for transparent huge pages (internal.h).
 * Working set: pre[n] and vertex[r] (kept as the results idom and order),
 * parent[r], idom[r], 16 bytes of record per reachable node, and the
 * predecessor CSR (4r + 4 per edge that points to an earlier number).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/notify.h"
#include "graph/graph.h"
#include "graph/internal.h"

#define NONE GRAPH_NONE

/*
 * Progress: one phase, named as the analyses name it, counted in nodes:
 * the DFS's n (the nodes it numbers), then the reverse-preorder pass's r.
 * Only a graph of more than PROGRESS_EVERY nodes says anything (and ends
 * the phase when done): a small one is over before a line could show.
 */
#define DOM_PHASE "dominator tree"
#define PROGRESS_EVERY 0xffffu

/*
 * Per preorder number, the fields eval() touches together, in one 16-byte
 * record so that a step along a forest path is one cache miss, not four.
 * lsemi caches semi[label] for the same reason.
 */
struct ltv {
    uint32_t ancestor; /* forest parent once linked, else NONE */
    uint32_t label;    /* linked: the min-semi node on the path; unlinked: bucket head */
    uint32_t lsemi;    /* semi of label */
    uint32_t semi;     /* the semidominator once processed; before, the lowest
                          predecessor numbered below this node (dfs()) */
};

/*
 * Path compression for eval(): make every node on the forest path from v
 * point straight at the tree's root, and give each the label with the
 * smallest semidominator on its path (the root excluded).  Iterative: the
 * up-walk reverses ancestor pointers so the down-walk can visit the path
 * top-down, as the recursive formulation does.
 */
static void compress(struct ltv *t, uint32_t v)
{
    uint32_t below = NONE, x = v;
    while (t[t[x].ancestor].ancestor != NONE) {
        uint32_t up = t[x].ancestor;
        t[x].ancestor = below;
        below = x;
        x = up;
    }
    /* x is the topmost linked node; its ancestor is the tree root. */
    uint32_t root = t[x].ancestor, above = x;
    while (below != NONE) {
        uint32_t next = t[below].ancestor;
        if (t[above].lsemi < t[below].lsemi) {
            t[below].lsemi = t[above].lsemi;
            t[below].label = t[above].label;
        }
        t[below].ancestor = root;
        above = below;
        below = next;
    }
}

/* eval() for a linked v: afterwards t[v].label is the answer, t[v].lsemi its semi. */
static inline void eval(struct ltv *t, uint32_t v)
{
    if (t[t[v].ancestor].ancestor != NONE)
        compress(t, v);
}

/*
 * Per preorder number, semi-NCA's forest record: eval() needs only the
 * ancestor and the smallest semidominator on the compressed path (no
 * label node, since semi-NCA has no buckets to resolve), so a record is
 * 8 bytes and the forest half the size of LT's.
 */
struct snv {
    uint32_t ancestor; /* forest parent once linked, else NONE */
    uint32_t best;     /* linked: the smallest semi on the path; before: as ltv.semi */
};

/*
 * Step 1: iterative DFS from root.  Fills pre[] (node -> number, NONE if
 * unreached), vertex[] (number -> node) and parent[]; cursor[] holds each
 * node's next edge to try.  Returns the number of nodes reached.
 *
 * It also does the counting half of preds_build(), since it looks at
 * every edge from a reached node exactly once and already knows both
 * numbers: an edge to a lower number (back or cross) is counted in
 * poff[]; one to a higher number (tree or forward) can only lower the
 * semidominator to its source, which is folded into the record at once.
 * Exactly one of lt and sn is not NULL: the records of the algorithm
 * that runs (the function is inlined into each, so the test costs nothing).
 *
 * Each node's successors are prefetched in pre[] and off[] when the node
 * is entered: the DFS is a chain of dependent misses (off[], adj[], pre[]
 * of a child, then the child's off[]...); this way the lookups of a node's
 * edges overlap, and the off[] of the child it descends into is there.
 */
static inline __attribute__((always_inline)) uint32_t
dfs(const struct graph *g, uint32_t root, uint32_t *pre, uint32_t *vertex, uint32_t *parent,
    uint32_t *cursor, struct ltv *lt, struct snv *sn, uint32_t *poff)
{
    for (uint32_t v = 0; v < g->n; v++)
        pre[v] = NONE;
    pre[root] = 0;
    vertex[0] = root;
    parent[0] = NONE;
    cursor[0] = g->off[root];
    if (lt)
        lt[0] = (struct ltv){NONE, NONE, 0, 0};
    else
        sn[0] = (struct snv){NONE, 0};
    uint32_t r = 1, i = 0;
    for (;;) {
        uint32_t e = cursor[i], end = g->off[vertex[i] + 1], pc = NONE;
        for (; e < end; e++) {
            pc = pre[g->adj[e]];
            if (pc == NONE)
                break;
            if (pc < i)
                poff[pc]++;
            else if (pc > i) {
                if (lt && i < lt[pc].semi)
                    lt[pc].semi = i;
                else if (sn && i < sn[pc].best)
                    sn[pc].best = i;
            }
        }
        if (e < end) {
            uint32_t c = g->adj[e];
            cursor[i] = e + 1;
            pre[c] = r;
            vertex[r] = c;
            parent[r] = i;
            if ((r & PROGRESS_EVERY) == 0)
                notify_progress(DOM_PHASE, r, 2 * (uint64_t)g->n);
            uint32_t ce = g->off[c], cend = g->off[c + 1];
            cursor[r] = ce;
            for (uint32_t k = ce; k < cend && k < ce + 8; k++) {
                __builtin_prefetch(&pre[g->adj[k]]);
                __builtin_prefetch(&g->off[g->adj[k]]);
            }
            /* Unlinked, an empty bucket, and the parent as semi so far. */
            if (lt)
                lt[r] = (struct ltv){NONE, NONE, 0, i};
            else
                sn[r] = (struct snv){NONE, i};
            i = r++;
        } else {
            if (i == 0)
                break;
            i = parent[i];
        }
    }
    return r;
}

/* Shrink an array to the size now known; keeping the bigger one is no error. */
static void *shrink(void *a, size_t bytes)
{
    void *b = realloc(a, bytes ? bytes : 1);
    return b ? b : a;
}

/*
 * Step 1b: the predecessors step 2 needs, numbered by preorder, as a CSR
 * (poff[r+1], padj) by counting sort; dfs() did the counting.  Only edges
 * from a higher number to a lower one are stored: for an edge from a
 * lower number pu, eval(pu) is pu itself (pu is not yet processed when its
 * successor is), so dfs() folded those into t[].semi.  Storing numbers
 * rather than node ids spares step 2 a random lookup in pre[] per edge,
 * and lets it read its predecessors as one stream.  Its own lookups in
 * pre[] are independent of each other, so they are prefetched well ahead.
 */
#define PREDS_AHEAD 32 /* edges ahead that preds_build() prefetches pre[] for */

static int preds_build(const struct graph *g, const uint32_t *pre, uint32_t r, uint32_t *poff,
                       uint32_t **padj_out)
{
    uint32_t sum = 0, *padj;
    for (uint32_t i = 0; i < r; i++) {
        uint32_t c = poff[i];
        poff[i] = sum;
        sum += c;
    }
    poff[r] = sum;
    padj = graph_alloc((size_t)sum * sizeof *padj);
    if (!padj)
        return -1;
    for (uint32_t u = 0; u < g->n; u++) {
        uint32_t pu = pre[u];
        if (pu == NONE)
            continue;
        for (uint32_t e = g->off[u]; e < g->off[u + 1]; e++) {
            if (e + PREDS_AHEAD < g->m)
                __builtin_prefetch(&pre[g->adj[e + PREDS_AHEAD]]);
            uint32_t pc = pre[g->adj[e]]; /* reachable, as u is */
            if (pu > pc)
                padj[poff[pc]++] = pu;
        }
    }
    memmove(poff + 1, poff, (size_t)(r - 1) * sizeof *poff);
    poff[0] = 0;
    *padj_out = padj;
    return 0;
}

/*
 * How far ahead step 2 prefetches: the record of the predecessor PF_FAR
 * entries ahead, then, once that has had time to arrive, the record of its
 * forest ancestor PF_NEAR ahead (eval's first two misses).
 */
#define PF_FAR 16
#define PF_NEAR 8
/*
 * Semi-NCA's records are half the size, and it prefetches half as far
 * ahead: on bench/graph 8 and 4 came out at or below 16 and 8, and 32 and
 * 16 above both (two runs each, semidominator pass 1.5-1.7 s against
 * 1.5-2.0 s and 1.9-2.1 s of CPU, on a loaded machine).
 */
#define SN_PF_FAR 8
#define SN_PF_NEAR 4

/*
 * The last step of both algorithms: from preorder numbers back to node
 * ids, in place over pre[].  Driven by vertex[] rather than by pre[], so
 * that idom[] is read in order and vertex[idom[i]] mostly near i (an idom
 * is a DFS ancestor, often a close one); pre[] is only written, and its
 * entries for unreached nodes are NONE already.
 */
static void to_node_ids(uint32_t *pre, const uint32_t *vertex, const uint32_t *idom, uint32_t r)
{
    for (uint32_t i = 0; i < r; i++)
        pre[vertex[i]] = vertex[idom[i]];
}

/*
 * What both algorithms start from, in arrays of their own that the caller
 * frees: the DFS numbering of what root reaches (r vertices: pre, vertex,
 * parent), aux (the DFS's edge cursor, then the caller's: LT's idom,
 * SNCA's semi), the algorithm's per-vertex records (lt or sn, of tsize
 * bytes each), and the predecessor lists by preorder number (poff, padj).
 * Sized by r once the DFS is done: an unreachable half of the heap costs
 * nothing.  0, or -1 on out of memory with whatever was had set.
 */
struct dom_start {
    uint32_t r;
    uint32_t *pre, *vertex, *parent, *aux, *poff, *padj;
    void *t;
};

static inline __attribute__((always_inline)) int dom_start(struct dom_start *x, const struct graph *g, uint32_t root,
                                                           size_t tsize, int lt)
{
    uint32_t n = g->n;
    *x = (struct dom_start){0};
    x->pre = graph_alloc((size_t)n * sizeof *x->pre);
    x->vertex = graph_alloc((size_t)n * sizeof *x->vertex);
    x->parent = graph_alloc((size_t)n * sizeof *x->parent);
    x->aux = graph_alloc((size_t)n * sizeof *x->aux);
    x->poff = graph_zalloc(((size_t)n + 1) * sizeof *x->poff);
    x->t = graph_alloc((size_t)n * tsize);
    if (!x->pre || !x->vertex || !x->parent || !x->aux || !x->poff || !x->t)
        return -1;
    uint32_t r = x->r = dfs(g, root, x->pre, x->vertex, x->parent, x->aux, lt ? x->t : NULL, lt ? NULL : x->t,
                            x->poff);
    x->vertex = shrink(x->vertex, (size_t)r * sizeof *x->vertex);
    x->parent = shrink(x->parent, (size_t)r * sizeof *x->parent);
    x->aux = shrink(x->aux, (size_t)r * sizeof *x->aux);
    x->t = shrink(x->t, (size_t)r * tsize);
    x->poff = shrink(x->poff, ((size_t)r + 1) * sizeof *x->poff);
    return preds_build(g, x->pre, r, x->poff, &x->padj) < 0 ? -1 : 0;
}

static int build_lt(struct domtree *d, const struct graph *g, uint32_t root)
{
    uint32_t n = g->n;
    struct dom_start x;
    int failed = dom_start(&x, g, root, sizeof(struct ltv), 1);
    /* aux is the DFS's edge cursor until step 3 needs it as idom */
    uint32_t *pre = x.pre, *vertex = x.vertex, *parent = x.parent, *idom = x.aux, *poff = x.poff, *padj = x.padj;
    struct ltv *t = x.t;
    uint32_t r = x.r;
    if (failed)
        goto nomem;

    for (uint32_t w = r - 1; w > 0; w--) {
        if ((w & PROGRESS_EVERY) == 0)
            notify_progress(DOM_PHASE, r + (r - w), 2 * (uint64_t)r);
        /*
         * Step 2: the semidominator.  t[w].semi already holds the lowest
         * predecessor numbered below w; those above are processed, hence
         * linked, and need eval().
         */
        uint32_t s = t[w].semi;
        for (uint32_t k = poff[w + 1]; k-- > poff[w];) {
            if (k >= PF_FAR)
                __builtin_prefetch(&t[padj[k - PF_FAR]]);
            if (k >= PF_NEAR) {
                uint32_t a = t[padj[k - PF_NEAR]].ancestor;
                if (a != NONE)
                    __builtin_prefetch(&t[a]);
            }
            uint32_t pu = padj[k];
            eval(t, pu);
            if (t[pu].lsemi < s)
                s = t[pu].lsemi;
        }
        /* Step 3: bucket w under its semidominator, link, flush the parent's bucket. */
        idom[w] = t[s].label;
        t[s].label = w;
        uint32_t p = parent[w];
        t[w].semi = s;
        t[w].ancestor = p;
        t[w].label = w; /* w's own bucket was emptied by its children */
        t[w].lsemi = s;
        /* Every v in p's bucket has semi p. */
        for (uint32_t v = t[p].label; v != NONE;) {
            uint32_t next = idom[v];
            eval(t, v);
            idom[v] = t[v].lsemi < p ? t[v].label : p;
            v = next;
        }
        t[p].label = NONE;
    }
    free(poff);
    free(padj);
    poff = padj = NULL;
    /* Step 4: the deferred ones, top down so idom[idom[w]] is final. */
    idom[0] = 0;
    for (uint32_t w = 1; w < r; w++)
        if (idom[w] != t[w].semi)
            idom[w] = idom[idom[w]];

    to_node_ids(pre, vertex, idom, r);
    free(parent);
    free(idom);
    free(t);
    d->n = n;
    d->root = root;
    d->reached = r;
    d->idom = pre;
    d->order = vertex;
    d->algo = DOMTREE_LT;
    return 0;
nomem:
    free(pre);
    free(vertex);
    free(parent);
    free(idom);
    free(t);
    free(poff);
    free(padj);
    errno = ENOMEM;
    return -1;
}

/* compress() over semi-NCA's 8-byte records: the same walk, best for lsemi. */
static void snca_compress(struct snv *t, uint32_t v)
{
    uint32_t below = NONE, x = v;
    while (t[t[x].ancestor].ancestor != NONE) {
        uint32_t up = t[x].ancestor;
        t[x].ancestor = below;
        below = x;
        x = up;
    }
    uint32_t root = t[x].ancestor, above = x;
    while (below != NONE) {
        uint32_t next = t[below].ancestor;
        if (t[above].best < t[below].best)
            t[below].best = t[above].best;
        t[below].ancestor = root;
        above = below;
        below = next;
    }
}

/*
 * Semi-NCA (Georgiadis and Tarjan): semidominators as in LT, by eval()
 * over the forest in reverse preorder, but no buckets; then, in preorder,
 * idom(w) is the nearest common ancestor of parent(w) and semi(w) in the
 * dominator tree built so far, which is the first node at or above
 * parent(w) numbered no higher than semi(w) (tree ancestors are DFS
 * ancestors, so numbers fall on the way up).
 *
 * That walk is what makes semi-NCA quadratic on some shapes (a list whose
 * payloads a table also holds: each payload walks the list's whole chain).
 * So it is given a budget of steps, the size of the graph: past it, this
 * returns 1 having freed everything, and the caller runs LT, whose cost is
 * bounded; the time lost is at most about one more semi-NCA run.
 *
 * Arrays: cursor[] becomes semi[] once the DFS is done, and idom[] is
 * written over parent[] (parent(w) is read just before idom(w) is written,
 * and an ancestor's entry, already its idom, is all the walk reads).
 */
static int build_snca(struct domtree *d, const struct graph *g, uint32_t root, uint64_t budget)
{
    uint32_t n = g->n;
    struct dom_start x;
    int failed = dom_start(&x, g, root, sizeof(struct snv), 0);
    uint32_t *pre = x.pre, *vertex = x.vertex, *parent = x.parent, *semi = x.aux, *poff = x.poff, *padj = x.padj;
    struct snv *t = x.t;
    uint32_t r = x.r;
    if (failed)
        goto nomem;

    for (uint32_t w = r - 1; w > 0; w--) {
        if ((w & PROGRESS_EVERY) == 0)
            notify_progress(DOM_PHASE, r + (r - w), 2 * (uint64_t)r);
        uint32_t s = t[w].best;
        for (uint32_t k = poff[w + 1]; k-- > poff[w];) {
            if (k >= SN_PF_FAR)
                __builtin_prefetch(&t[padj[k - SN_PF_FAR]]);
            if (k >= SN_PF_NEAR) {
                uint32_t a = t[padj[k - SN_PF_NEAR]].ancestor;
                if (a != NONE)
                    __builtin_prefetch(&t[a]);
            }
            uint32_t pu = padj[k];
            if (t[t[pu].ancestor].ancestor != NONE)
                snca_compress(t, pu);
            if (t[pu].best < s)
                s = t[pu].best;
        }
        semi[w] = s;
        t[w].ancestor = parent[w];
        t[w].best = s;
    }
    free(poff);
    free(padj);
    free(t);
    poff = padj = NULL;
    t = NULL;

    uint32_t *idom = parent;
    uint64_t steps = 0;
    idom[0] = 0;
    for (uint32_t w = 1; w < r; w++) {
        uint32_t x = parent[w], s = semi[w];
        while (x > s) {
            x = idom[x];
            if (++steps > budget) {
                free(pre);
                free(vertex);
                free(parent);
                free(semi);
                return 1;
            }
        }
        idom[w] = x;
    }
    to_node_ids(pre, vertex, idom, r);
    free(parent);
    free(semi);
    d->n = n;
    d->root = root;
    d->reached = r;
    d->idom = pre;
    d->order = vertex;
    d->algo = DOMTREE_SNCA;
    return 0;
nomem:
    free(pre);
    free(vertex);
    free(parent);
    free(semi);
    free(t);
    free(poff);
    free(padj);
    errno = ENOMEM;
    return -1;
}

int domtree_build_with(struct domtree *d, const struct graph *g, uint32_t root,
                       enum domtree_algo algo)
{
    memset(d, 0, sizeof *d);
    if (root >= g->n || (algo != DOMTREE_SNCA && algo != DOMTREE_LT && algo != DOMTREE_SNCA_ONLY)) {
        errno = EINVAL;
        return -1;
    }
    int rc;
    if (algo == DOMTREE_LT)
        rc = build_lt(d, g, root);
    else if ((rc = build_snca(d, g, root,
                              algo == DOMTREE_SNCA_ONLY ? UINT64_MAX : (uint64_t)g->n + g->m)) == 1)
        rc = build_lt(d, g, root);
    if (g->n > PROGRESS_EVERY)
        notify_progress_done();
    return rc;
}

int domtree_build(struct domtree *d, const struct graph *g, uint32_t root)
{
    return domtree_build_with(d, g, root, DOMTREE_SNCA);
}

int domtree_retained(struct domtree *d, const uint64_t *size)
{
    free(d->retained_size);
    free(d->retained_count);
    d->retained_size = graph_zalloc(((size_t)d->n + 1) * sizeof *d->retained_size);
    d->retained_count = graph_zalloc(((size_t)d->n + 1) * sizeof *d->retained_count);
    if (!d->retained_size || !d->retained_count) {
        free(d->retained_size);
        free(d->retained_count);
        d->retained_size = NULL;
        d->retained_count = NULL;
        errno = ENOMEM;
        return -1;
    }
    uint64_t *rs = d->retained_size;
    uint32_t *rc = d->retained_count;
    for (uint32_t v = 0; v < d->n; v++) {
        if (d->idom[v] != NONE) {
            rs[v] = size ? size[v] : 0;
            rc[v] = 1;
        }
    }
    /* Bottom up: order[] puts every node after its idom, so reverse order
     * finishes a node's whole subtree before adding it to its idom. */
    for (uint32_t i = d->reached; i-- > 1;) {
        uint32_t v = d->order[i], p = d->idom[v];
        rs[p] += rs[v];
        rc[p] += rc[v];
    }
    return 0;
}

void domtree_free(struct domtree *d)
{
    free(d->idom);
    free(d->order);
    free(d->retained_size);
    free(d->retained_count);
    memset(d, 0, sizeof *d);
}
