/*
 * graph.c — building the compressed sparse row graph of graph.h, forward
 * and reverse, and the growable edge list callers collect edges in.
 *
 * Both directions are built by the same counting sort: count each node's
 * edges into off[], turn the counts into start offsets with a prefix sum,
 * then drop every edge into its node's slot while advancing off[] as the
 * cursor.  The cursors end up one node to the right (off[v] has become the
 * start of v+1), so a final shift puts them back.  That needs no array
 * besides the result, which is what lets 10 M nodes and 30 M edges build
 * in 160 MB per direction.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "graph/graph.h"
#include "graph/internal.h"

#define HUGE_PAGE ((size_t)2 << 20)

void *graph_alloc(size_t bytes)
{
    void *p;
    if (bytes < HUGE_PAGE)
        return malloc(bytes ? bytes : 1);
    if (posix_memalign(&p, HUGE_PAGE, bytes) != 0) {
        errno = ENOMEM;
        return NULL;
    }
    /* Only a hint: without THP the memory is simply ordinary. */
    (void)madvise(p, bytes & ~(HUGE_PAGE - 1), MADV_HUGEPAGE);
    return p;
}

void *graph_zalloc(size_t bytes)
{
    if (bytes < HUGE_PAGE)
        return calloc(1, bytes ? bytes : 1);
    void *p = graph_alloc(bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

/*
 * Turn off[0..n-1], holding degrees, into start offsets, with off[n] the
 * total.  The caller has checked that the total fits.
 */
static void counts_to_starts(uint32_t *off, uint32_t n)
{
    uint32_t sum = 0;
    for (uint32_t v = 0; v < n; v++) {
        uint32_t c = off[v];
        off[v] = sum;
        sum += c;
    }
    off[n] = sum;
}

/* After placement off[v] is the start of v+1; shift it back to v's start. */
static void cursors_to_starts(uint32_t *off, uint32_t n)
{
    if (n == 0)
        return;
    memmove(off + 1, off, (size_t)(n - 1) * sizeof *off);
    off[0] = 0;
}

int graph_build(struct graph *g, uint32_t n, const struct graph_edge *e, size_t m)
{
    memset(g, 0, sizeof *g);
    if (n == GRAPH_NONE) {
        errno = EINVAL;
        return -1;
    }
    if (m >= UINT32_MAX) {
        errno = EOVERFLOW;
        return -1;
    }
    g->off = graph_zalloc(((size_t)n + 1) * sizeof *g->off);
    g->adj = graph_alloc(m * sizeof *g->adj);
    if (!g->off || !g->adj)
        goto fail;
    for (size_t i = 0; i < m; i++) {
        if (e[i].src >= n || e[i].dst >= n) {
            errno = EINVAL;
            goto fail;
        }
        g->off[e[i].src]++;
    }
    counts_to_starts(g->off, n);
    for (size_t i = 0; i < m; i++)
        g->adj[g->off[e[i].src]++] = e[i].dst;
    cursors_to_starts(g->off, n);
    g->n = n;
    g->m = (uint32_t)m;
    return 0;
fail:
    graph_free(g);
    return -1;
}

int graph_reverse(struct graph *g)
{
    if (g->roff)
        return 0;
    uint32_t n = g->n, m = g->m;
    uint32_t *roff = graph_zalloc(((size_t)n + 1) * sizeof *roff);
    uint32_t *radj = graph_alloc((size_t)m * sizeof *radj);
    if (!roff || !radj) {
        free(roff);
        free(radj);
        errno = ENOMEM;
        return -1;
    }
    for (uint32_t i = 0; i < m; i++)
        roff[g->adj[i]]++;
    counts_to_starts(roff, n);
    /* Sources in increasing order, so each predecessor list comes out sorted. */
    for (uint32_t s = 0; s < n; s++)
        for (uint32_t i = g->off[s]; i < g->off[s + 1]; i++)
            radj[roff[g->adj[i]]++] = s;
    cursors_to_starts(roff, n);
    g->roff = roff;
    g->radj = radj;
    return 0;
}

void graph_drop_reverse(struct graph *g)
{
    free(g->roff);
    free(g->radj);
    g->roff = g->radj = NULL;
}

void graph_free(struct graph *g)
{
    graph_drop_reverse(g);
    free(g->off);
    free(g->adj);
    memset(g, 0, sizeof *g);
}

int graph_edges_add(struct graph_edges *l, uint32_t src, uint32_t dst)
{
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        struct graph_edge *e = realloc(l->e, cap * sizeof *e);
        if (!e) {
            errno = ENOMEM;
            return -1;
        }
        l->e = e;
        l->cap = cap;
    }
    l->e[l->len].src = src;
    l->e[l->len].dst = dst;
    l->len++;
    return 0;
}

void graph_edges_free(struct graph_edges *l)
{
    free(l->e);
    memset(l, 0, sizeof *l);
}
