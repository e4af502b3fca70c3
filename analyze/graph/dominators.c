/*
 * dominators.c — the dominator tree and retained sizes of graph.h, by the
 * Lengauer-Tarjan algorithm with simple (path-compressing) link and eval.
 *
 * Why this algorithm: heap graphs are deep.  A linked list of a million
 * nodes whose payloads are also held by a table from the roots makes both
 * the iterative Cooper-Harvey-Kennedy algorithm and semi-NCA walk the
 * list's dominator chain once per payload, which is quadratic.  LT's
 * path-compressed eval does the same work in O(m log n).
 *
 * Outline (Lengauer and Tarjan, 1979), everything numbered by DFS preorder
 * so that "smaller number" means "visited earlier":
 *  1. Depth-first search from the root: preorder numbers and DFS parents.
 *  2. In reverse preorder, the semidominator of each w: the smallest
 *     number reachable backwards from w through nodes numbered above w,
 *     found by eval() over the forest of already-processed nodes.
 *  3. Put w in the bucket of its semidominator; link w under its parent;
 *     then for each v in the parent's bucket, eval(v) tells whether
 *     idom(v) is the semidominator or is deferred to that of another node.
 *  4. In preorder, resolve the deferred ones: idom(w) = idom(idom(w)).
 *
 * Memory is the constraint at 10 M nodes, so the arrays do double duty:
 *  - The DFS needs no stack.  Going down, a node's next edge to try is kept
 *    in semi[] (unused until step 2); going up follows parent[].
 *  - Buckets are linked lists threaded through idom[] (a node's idom is
 *    only written when it leaves its bucket), with the list heads kept in
 *    label[] of the bucket's owner: label[] is only read for nodes already
 *    linked into the forest, and a bucket is always emptied before its
 *    owner is linked (its members are the owner's descendants, flushed by
 *    the owner's children), so label[p] is set to p at link time.
 *  - compress() reverses ancestor pointers on the way up and restores them
 *    (compressed) on the way down, instead of recursing or keeping a stack.
 * Working set: pre[n] and vertex[r] (kept as the results idom and order),
 * parent[r], semi[r], label[r], ancestor[r], idom[r]; r = reachable nodes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"

#define NONE GRAPH_NONE

/*
 * Path compression for eval(): make every node on the forest path from v
 * point straight at the tree's root, and give each the label with the
 * smallest semidominator on its path (the root excluded).  Needs
 * ancestor[v] != NONE.  Iterative: the up-walk reverses ancestor pointers
 * so the down-walk can visit the path top-down, as the recursive
 * formulation does.
 */
static void compress(uint32_t v, uint32_t *ancestor, uint32_t *label, const uint32_t *semi)
{
    uint32_t below = NONE, x = v;
    while (ancestor[ancestor[x]] != NONE) {
        uint32_t up = ancestor[x];
        ancestor[x] = below;
        below = x;
        x = up;
    }
    /* x is the topmost linked node; its ancestor is the tree root. */
    uint32_t root = ancestor[x], above = x;
    while (below != NONE) {
        uint32_t next = ancestor[below];
        if (semi[label[above]] < semi[label[below]])
            label[below] = label[above];
        ancestor[below] = root;
        above = below;
        below = next;
    }
}

/* The node with the smallest semidominator on v's forest path (root excluded). */
static inline uint32_t eval(uint32_t v, uint32_t *ancestor, uint32_t *label,
                            const uint32_t *semi)
{
    if (ancestor[v] == NONE)
        return v;
    compress(v, ancestor, label, semi);
    return label[v];
}

/*
 * Step 1: iterative DFS from root.  Fills pre[] (node -> number, NONE if
 * unreached), vertex[] (number -> node) and parent[]; uses semi[] as each
 * node's edge cursor.  Returns the number of nodes reached.
 */
static uint32_t dfs(const struct graph *g, uint32_t root, uint32_t *pre, uint32_t *vertex,
                    uint32_t *parent, uint32_t *cursor)
{
    for (uint32_t v = 0; v < g->n; v++)
        pre[v] = NONE;
    pre[root] = 0;
    vertex[0] = root;
    parent[0] = NONE;
    cursor[0] = g->off[root];
    uint32_t r = 1, i = 0;
    for (;;) {
        uint32_t e = cursor[i], end = g->off[vertex[i] + 1];
        while (e < end && pre[g->adj[e]] != NONE)
            e++;
        if (e < end) {
            uint32_t c = g->adj[e];
            cursor[i] = e + 1;
            pre[c] = r;
            vertex[r] = c;
            parent[r] = i;
            cursor[r] = g->off[c];
            i = r++;
        } else {
            if (i == 0)
                break;
            i = parent[i];
        }
    }
    return r;
}

int domtree_build(struct domtree *d, struct graph *g, uint32_t root)
{
    memset(d, 0, sizeof *d);
    if (root >= g->n) {
        errno = EINVAL;
        return -1;
    }
    if (graph_reverse(g) < 0)
        return -1;
    uint32_t n = g->n;
    uint32_t *pre = malloc((size_t)n * sizeof *pre);
    uint32_t *vertex = malloc((size_t)n * sizeof *vertex);
    uint32_t *parent = malloc((size_t)n * sizeof *parent);
    uint32_t *semi = malloc((size_t)n * sizeof *semi);
    uint32_t *label = NULL, *ancestor = NULL, *idom = NULL;
    if (!pre || !vertex || !parent || !semi)
        goto nomem;

    uint32_t r = dfs(g, root, pre, vertex, parent, semi);

    /* Sized by r: an unreachable half of the heap costs nothing here. */
    label = malloc((size_t)r * sizeof *label);
    ancestor = malloc((size_t)r * sizeof *ancestor);
    idom = malloc((size_t)r * sizeof *idom);
    if (!label || !ancestor || !idom)
        goto nomem;
    for (uint32_t i = 0; i < r; i++) {
        semi[i] = i;
        label[i] = NONE; /* empty bucket until i is linked */
        ancestor[i] = NONE;
    }

    for (uint32_t w = r - 1; w > 0; w--) {
        /* Step 2: the semidominator. */
        uint32_t s = semi[w];
        const uint32_t *pred = graph_in(g, vertex[w]);
        for (uint32_t j = 0, deg = graph_in_degree(g, vertex[w]); j < deg; j++) {
            uint32_t pu = pre[pred[j]];
            if (pu == NONE)
                continue; /* an unreachable node's edge proves nothing */
            uint32_t x = eval(pu, ancestor, label, semi);
            if (semi[x] < s)
                s = semi[x];
        }
        semi[w] = s;
        /* Step 3: bucket w under its semidominator, link, flush the parent's bucket. */
        idom[w] = label[s];
        label[s] = w;
        uint32_t p = parent[w];
        ancestor[w] = p;
        label[w] = w; /* w's own bucket was emptied by its children */
        for (uint32_t v = label[p]; v != NONE;) {
            uint32_t next = idom[v];
            uint32_t x = eval(v, ancestor, label, semi);
            idom[v] = semi[x] < semi[v] ? x : p;
            v = next;
        }
        label[p] = NONE;
    }
    /* Step 4: the deferred ones, top down so idom[idom[w]] is final. */
    idom[0] = 0;
    for (uint32_t w = 1; w < r; w++)
        if (idom[w] != semi[w])
            idom[w] = idom[idom[w]];

    /* From preorder numbers back to node ids, in place over pre[]. */
    for (uint32_t v = 0; v < n; v++) {
        uint32_t i = pre[v];
        pre[v] = i == NONE ? NONE : vertex[idom[i]];
    }
    free(parent);
    free(semi);
    free(label);
    free(ancestor);
    free(idom);
    uint32_t *order = realloc(vertex, (size_t)r * sizeof *order);
    d->n = n;
    d->root = root;
    d->reached = r;
    d->idom = pre;
    d->order = order ? order : vertex;
    return 0;
nomem:
    free(pre);
    free(vertex);
    free(parent);
    free(semi);
    free(label);
    free(ancestor);
    free(idom);
    errno = ENOMEM;
    return -1;
}

int domtree_retained(struct domtree *d, const uint64_t *size)
{
    free(d->retained_size);
    free(d->retained_count);
    d->retained_size = calloc((size_t)d->n + 1, sizeof *d->retained_size);
    d->retained_count = calloc((size_t)d->n + 1, sizeof *d->retained_count);
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
