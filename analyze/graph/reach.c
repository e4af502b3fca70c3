/*
 * reach.c — what the roots can reach, and how: reachability as a bitmap,
 * one shortest path, and up to k node-disjoint paths (graph.h gives the
 * exact semantics).
 *
 * Reachability is a walk with an explicit work list (a FIFO, so that what
 * it will read next can be prefetched); a node is marked when queued, so
 * the list never holds more than n entries and a million-long list costs
 * no C stack at all.  Paths come from breadth-first
 * search from all roots at once, recording each node's BFS parent; the
 * queue doubles as the list of visited nodes, so a search that stops early
 * resets only what it touched, which keeps repeated searches (disjoint
 * paths) from paying O(n) each just to clear.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/notify.h"
#include "graph/graph.h"
#include "graph/internal.h"

/* How far ahead of the FIFO's head graph_reach() prefetches off[], then adj[]. */
#define REACH_OFF_AHEAD 16
#define REACH_ADJ_AHEAD 8

static int roots_valid(const struct graph *g, const uint32_t *roots, uint32_t nroots)
{
    for (uint32_t i = 0; i < nroots; i++)
        if (roots[i] >= g->n)
            return 0;
    return 1;
}

int graph_reach(const struct graph *g, const uint32_t *roots, uint32_t nroots,
                uint64_t **out, uint32_t *count)
{
    *out = NULL;
    if (count)
        *count = 0;
    if (!roots_valid(g, roots, nroots)) {
        errno = EINVAL;
        return -1;
    }
    uint64_t *seen = calloc(graph_bitmap_words(g->n) + 1, sizeof *seen);
    uint32_t *stack = malloc(((size_t)g->n + 1) * sizeof *stack);
    if (!seen || !stack) {
        free(seen);
        free(stack);
        errno = ENOMEM;
        return -1;
    }
    /*
     * Order does not matter for a set, so the work list is a FIFO: a node
     * waits long enough between being queued and being scanned for its
     * off[] and then its successors to be prefetched, where a stack would
     * pop it at once.  Each node is queued once, so n entries suffice.
     */
    uint32_t head = 0, tail = 0, reached = 0;
    int said = 0; /* a progress line was begun: end it */
    for (uint32_t i = 0; i < nroots; i++) {
        if (graph_bit(seen, roots[i]))
            continue;
        graph_bit_set(seen, roots[i]);
        reached++;
        stack[tail++] = roots[i];
    }
    while (head < tail) {
        if (head + REACH_OFF_AHEAD < tail)
            __builtin_prefetch(&g->off[stack[head + REACH_OFF_AHEAD]]);
        if (head + REACH_ADJ_AHEAD < tail)
            __builtin_prefetch(&g->adj[g->off[stack[head + REACH_ADJ_AHEAD]]]);
        if ((head & 0xffffu) == 0xffffu) {
            notify_progress("reachability", head, g->n);
            said = 1;
        }
        uint32_t v = stack[head++];
        const uint32_t *succ = graph_out(g, v);
        for (uint32_t j = 0, deg = graph_out_degree(g, v); j < deg; j++) {
            uint32_t w = succ[j];
            if (!graph_bit(seen, w)) {
                graph_bit_set(seen, w);
                reached++;
                stack[tail++] = w;
            }
        }
    }
    free(stack);
    if (said)
        notify_progress_done();
    *out = seen;
    if (count)
        *count = reached;
    return 0;
}

void graph_paths_free(struct graph_paths *p)
{
    free(p->start);
    free(p->nodes);
    memset(p, 0, sizeof *p);
}

/* What a BFS may not do, per node (the disjoint-path search sets these). */
enum {
    BLOCK_INTERIOR = 1, /* an interior node of an earlier path: never entered */
    BLOCK_DIRECT = 2,   /* a root whose edge straight to the target is used */
};

/* The working arrays of a breadth-first search, reused between searches. */
struct bfs {
    uint32_t *parent;  /* [n]: BFS parent, the node itself for a root, or NONE */
    uint32_t *queue;   /* [n]: the FIFO, and the record of what was visited */
    uint32_t visited;  /* queue[0..visited-1] have parent set */
    uint8_t *block;    /* [n] or NULL: BLOCK_* flags */
};

static int bfs_init(struct bfs *b, uint32_t n, int with_block)
{
    memset(b, 0, sizeof *b);
    b->parent = graph_alloc(((size_t)n + 1) * sizeof *b->parent);
    b->queue = malloc(((size_t)n + 1) * sizeof *b->queue);
    if (with_block)
        b->block = graph_zalloc((size_t)n + 1);
    if (!b->parent || !b->queue || (with_block && !b->block)) {
        free(b->parent);
        free(b->queue);
        free(b->block);
        errno = ENOMEM;
        return -1;
    }
    for (uint32_t v = 0; v < n; v++)
        b->parent[v] = GRAPH_NONE;
    return 0;
}

static void bfs_free(struct bfs *b)
{
    free(b->parent);
    free(b->queue);
    free(b->block);
}

/* Forget the last search, in time proportional to what it visited. */
static void bfs_reset(struct bfs *b)
{
    for (uint32_t i = 0; i < b->visited; i++)
        b->parent[b->queue[i]] = GRAPH_NONE;
    b->visited = 0;
}

/* Search from all roots until target is found; 1 if it was, else 0. */
static int bfs_search(const struct graph *g, const uint32_t *roots, uint32_t nroots,
                      uint32_t target, struct bfs *b)
{
    uint32_t head = 0;
    for (uint32_t i = 0; i < nroots; i++) {
        uint32_t r = roots[i];
        if (b->parent[r] != GRAPH_NONE)
            continue;
        b->parent[r] = r;
        b->queue[b->visited++] = r;
        if (r == target)
            return 1;
    }
    while (head < b->visited) {
        uint32_t u = b->queue[head++];
        const uint32_t *succ = graph_out(g, u);
        for (uint32_t j = 0, deg = graph_out_degree(g, u); j < deg; j++) {
            uint32_t w = succ[j];
            if (b->parent[w] != GRAPH_NONE)
                continue;
            if (b->block && (w == target ? b->block[u] & BLOCK_DIRECT
                                         : b->block[w] & BLOCK_INTERIOR))
                continue;
            b->parent[w] = u;
            b->queue[b->visited++] = w;
            if (w == target)
                return 1;
        }
    }
    return 0;
}

/* Append the path the last search found (root .. target) to out. */
static int append_path(struct graph_paths *out, uint32_t *cap, const struct bfs *b,
                       uint32_t target)
{
    uint32_t len = 1;
    for (uint32_t v = target; b->parent[v] != v; v = b->parent[v])
        len++;
    uint32_t at = out->count ? out->start[out->count] : 0;
    uint32_t *start = realloc(out->start, ((size_t)out->count + 2) * sizeof *start);
    if (!start)
        goto nomem;
    out->start = start;
    if ((size_t)at + len > *cap) {
        size_t want = ((size_t)at + len) * 2;
        uint32_t *nodes = realloc(out->nodes, want * sizeof *nodes);
        if (!nodes)
            goto nomem;
        out->nodes = nodes;
        *cap = (uint32_t)(want > UINT32_MAX ? UINT32_MAX : want);
    }
    uint32_t i = at + len;
    for (uint32_t v = target;; v = b->parent[v]) {
        out->nodes[--i] = v;
        if (b->parent[v] == v)
            break;
    }
    out->start[out->count] = at;
    out->start[out->count + 1] = at + len;
    out->count++;
    return 0;
nomem:
    errno = ENOMEM;
    return -1;
}

int graph_disjoint_paths(const struct graph *g, const uint32_t *roots, uint32_t nroots,
                         uint32_t target, uint32_t k, struct graph_paths *out)
{
    memset(out, 0, sizeof *out);
    if (target >= g->n || !roots_valid(g, roots, nroots)) {
        errno = EINVAL;
        return -1;
    }
    struct bfs b;
    uint32_t cap = 0;
    if (k > INT_MAX)
        k = INT_MAX; /* the count is returned as an int */
    /* Only the disjoint search (k > 1) needs the block flags. */
    if (bfs_init(&b, g->n, k > 1) < 0)
        return -1;
    while (out->count < k) {
        if (!bfs_search(g, roots, nroots, target, &b))
            break;
        if (append_path(out, &cap, &b, target) < 0)
            goto fail;
        const uint32_t *p = out->nodes + out->start[out->count - 1];
        uint32_t len = out->start[out->count] - out->start[out->count - 1];
        if (len == 1)
            break; /* target is a root: there is no other way to it */
        if (b.block) {
            for (uint32_t i = 1; i + 1 < len; i++)
                b.block[p[i]] |= BLOCK_INTERIOR;
            if (len == 2)
                b.block[p[0]] |= BLOCK_DIRECT;
        }
        bfs_reset(&b);
    }
    bfs_free(&b);
    return (int)out->count;
fail:
    bfs_free(&b);
    graph_paths_free(out);
    return -1;
}

int graph_shortest_path(const struct graph *g, const uint32_t *roots, uint32_t nroots,
                        uint32_t target, struct graph_paths *out)
{
    return graph_disjoint_paths(g, roots, nroots, target, 1, out);
}
