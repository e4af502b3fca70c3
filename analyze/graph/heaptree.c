/*
 * heaptree.c — the dominator tree of a whole heap graph and what each node
 * retains, the one computation behind leaks, top, path and diff.  Both the
 * indexer (index/, while it loads the references) and the analyses
 * (analysis/results.c, on a database the index did not analyse) run it, so
 * it lives here, below both, and works on a graph.h graph alone: node 0 is
 * the super-root, and what a node counts for is the caller's (graph.h).
 *
 * Peeling.  A node with no successors and exactly one incoming edge is
 * dominated by the source of that edge, and lies on no path to any other
 * node, so it changes nobody else's dominators: it can be left out of the
 * dominator computation and given its idom afterwards.  Removing it may
 * make its predecessor such a node in turn (the tail of a list, a tree of
 * strings), so this repeats.  Heaps are full of such leaves — strings,
 * buffers, list and tree tails — and each one peeled is a node and an edge
 * the expensive part never sees.  HEAPSNAP_NO_PEEL=1 turns it off (for
 * checking one against the other, and for bench/analyze).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"

struct peel {
    uint32_t *pred;    /* [n] the source of a node's single in-edge */
    uint32_t *order;   /* the peeled nodes, in the order they were peeled */
    uint32_t count;
};

static int peel(struct peel *p, const struct graph *g)
{
    uint32_t n = g->n;
    uint32_t *indeg = calloc(n, sizeof *indeg), *outrem = malloc((size_t)n * sizeof *outrem);
    p->pred = malloc((size_t)n * sizeof *p->pred);
    p->order = malloc((size_t)n * sizeof *p->order);
    p->count = 0;
    if (!indeg || !outrem || !p->pred || !p->order) {
        free(indeg);
        free(outrem);
        return -1;
    }
    for (uint32_t v = 0; v < n; v++) {
        outrem[v] = graph_out_degree(g, v);
        const uint32_t *out = graph_out(g, v);
        for (uint32_t k = 0; k < outrem[v]; k++) {
            indeg[out[k]]++;
            p->pred[out[k]] = v;
        }
    }
    /* order doubles as the work queue: peeled nodes are appended, and each
     * one's predecessor is looked at once it is */
    for (uint32_t v = 1; v < n; v++)
        if (outrem[v] == 0 && indeg[v] == 1)
            p->order[p->count++] = v;
    for (uint32_t q = 0; q < p->count; q++) {
        uint32_t u = p->pred[p->order[q]];
        if (u != 0 && --outrem[u] == 0 && indeg[u] == 1)
            p->order[p->count++] = u;
    }
    free(indeg);
    free(outrem);
    return 0;
}

/* g without the edges into peeled nodes (which are all the edges from them). */
static int reduced(struct graph *rg, const struct graph *g, const uint8_t *peeled)
{
    memset(rg, 0, sizeof *rg);
    rg->n = g->n;
    rg->off = malloc(((size_t)g->n + 1) * sizeof *rg->off);
    rg->adj = malloc(((size_t)g->m + 1) * sizeof *rg->adj);
    if (!rg->off || !rg->adj) {
        graph_free(rg);
        return -1;
    }
    uint32_t m = 0;
    for (uint32_t v = 0; v < g->n; v++) {
        rg->off[v] = m;
        const uint32_t *out = graph_out(g, v);
        for (uint32_t k = 0; k < graph_out_degree(g, v); k++)
            if (!peeled[out[k]])
                rg->adj[m++] = out[k];
    }
    rg->off[g->n] = m;
    rg->m = m;
    return 0;
}

int heaptree_build(struct heaptree *t, struct graph *g, unsigned flags)
{
    struct domtree d = {0};
    struct peel p = {0};
    struct graph rg = {0};
    uint8_t *peeled = NULL;
    uint32_t *order = NULL;
    int rc = -1, use_peel = !getenv("HEAPSNAP_NO_PEEL");
    uint32_t n = g->n;
    t->idom = NULL;
    if (use_peel && (peel(&p, g) || !(peeled = calloc(n, 1))))
        goto oom;
    for (uint32_t k = 0; k < p.count; k++)
        peeled[p.order[k]] = 1;
    if (use_peel && reduced(&rg, g, peeled))
        goto oom;
    if (use_peel && flags & HEAPTREE_FREE_GRAPH)
        graph_free(g); /* rg is all the tree needs */
    if (domtree_build(&d, use_peel ? &rg : g, GRAPH_SUPER_ROOT))
        goto out;
    graph_free(&rg);
    t->idom = d.idom;
    d.idom = NULL;
    /* peeled nodes, predecessors first (the reverse of peeling): each is
     * dominated by its one predecessor, if that is reachable at all */
    uint32_t total = d.reached;
    for (uint32_t k = p.count; k-- > 0;) {
        uint32_t v = p.order[k], u = p.pred[v];
        t->idom[v] = t->idom[u] == GRAPH_NONE ? GRAPH_NONE : u;
        total += t->idom[v] != GRAPH_NONE;
    }
    /* top-down order of the whole tree: the DFS's preorder, then the peeled */
    if (!(order = malloc(((size_t)total + 1) * sizeof *order)))
        goto oom;
    uint32_t len = 0;
    for (uint32_t k = 0; k < d.reached; k++)
        order[len++] = d.order[k];
    for (uint32_t k = p.count; k-- > 0;)
        if (t->idom[p.order[k]] != GRAPH_NONE)
            order[len++] = p.order[k];
    uint64_t *rs = t->retained_size;
    uint32_t *rc_ = t->retained_count;
    for (uint32_t v = 0; v < n; v++)
        if (t->idom[v] == GRAPH_NONE)
            rs[v] = rc_[v] = 0;
    for (uint32_t k = len; k-- > 1;) { /* order[0] is the root */
        uint32_t v = order[k];
        rs[t->idom[v]] += rs[v];
        rc_[t->idom[v]] += rc_[v];
    }
    rc = 0;
    goto out;
oom:
    errno = ENOMEM;
out:
    if (rc) {
        free(t->idom);
        t->idom = NULL;
    }
    domtree_free(&d);
    graph_free(&rg);
    free(p.pred);
    free(p.order);
    free(peeled);
    free(order);
    return rc;
}
