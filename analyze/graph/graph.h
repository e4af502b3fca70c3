/*
 * graph.h — the graph core that heapsnap's analyses (leaks, top, path, diff)
 * build on: a compact directed graph, reachability, shortest and disjoint
 * paths, and the dominator tree with retained sizes.
 *
 * This layer knows nothing of snapshots, files or the database.  A caller
 * numbers its objects 0..n-1, hands over the references between them as an
 * edge list, and gets back arrays indexed by those same numbers.
 *
 * Conventions every function here follows:
 *  - Nodes are uint32_t ids 0..n-1; GRAPH_NONE (UINT32_MAX) means "no node"
 *    and is never a valid id, so n <= UINT32_MAX - 1.
 *  - Node 0 is, by convention, the super-root: a node that does not exist in
 *    the heap and has an edge to every real root (globals, stacks,
 *    registers).  The functions take the root(s) as parameters, so nothing
 *    here depends on it, but analyses agree to use 0 so that "reachable",
 *    "dominated by" and "retained" all mean "from the program's roots".
 *  - Edges may repeat and may be self-loops; both are harmless everywhere.
 *  - The edge count is limited to UINT32_MAX - 1 (4 G edges, 16 GiB of
 *    adjacency): 32-bit offsets halve the size of the offset arrays, which
 *    matters more at 10 M nodes than a limit no snapshot comes near.
 *  - Functions that allocate return 0 on success and -1 with errno set
 *    (ENOMEM, EINVAL for an id out of range, EOVERFLOW for too many edges),
 *    leaving their outputs empty so that the matching _free is always safe.
 *  - Nothing recurses: heaps hold linked lists millions of nodes long.
 *
 * Memory, for n nodes and m edges: the forward graph is 4(n+1) + 4m bytes,
 * the reverse graph (built only on request) the same again.  Dominators
 * need, while they run, about 28n + 4b bytes of their own by semi-NCA and
 * 36n + 4b by Lengauer-Tarjan (b: the edges that point back to an earlier
 * DFS number, at most m; less when part of the graph is unreachable) and
 * keep 4n + 4r (r reachable nodes); retained sizes add 12n.  bench/graph
 * (10 M nodes, 30 M edges, the edge list freed once built) peaks at about
 * 540 MiB RSS by semi-NCA and 615 MiB by LT, the graph and its 80 MB of
 * node sizes included.
 */
#ifndef HEAPSNAP_GRAPH_GRAPH_H
#define HEAPSNAP_GRAPH_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#define GRAPH_NONE UINT32_MAX
#define GRAPH_SUPER_ROOT 0u

/* ---------------------------------------------------------------- graph */

struct graph_edge {
    uint32_t src, dst; /* a reference from src to dst */
};

/*
 * A directed graph in compressed sparse row form.  The successors of v are
 * adj[off[v]] .. adj[off[v+1]-1], in the order their edges were given; the
 * predecessors (once graph_reverse() has run) are radj[roff[v]] ..
 * radj[roff[v+1]-1], in increasing order of source.
 */
struct graph {
    uint32_t n;     /* node count */
    uint32_t m;     /* edge count */
    uint32_t *off;  /* [n+1] */
    uint32_t *adj;  /* [m] */
    uint32_t *roff; /* [n+1], NULL until graph_reverse() */
    uint32_t *radj; /* [m],   NULL until graph_reverse() */
};

/*
 * Build g over nodes 0..n-1 from m edges, by counting sort: one pass to
 * count out-degrees, one to place the edges, O(n + m), no per-edge
 * allocation.  The edge array is only read; the caller may free it after.
 * Fails with EINVAL if an edge names a node >= n.
 */
int graph_build(struct graph *g, uint32_t n, const struct graph_edge *e, size_t m);

/* Build the reverse adjacency (roff/radj) if it is not there yet. */
int graph_reverse(struct graph *g);

/* Free the reverse adjacency only (it is as big as the graph). */
void graph_drop_reverse(struct graph *g);

/* Free everything; g is left empty and may be built again. */
void graph_free(struct graph *g);

static inline uint32_t graph_out_degree(const struct graph *g, uint32_t v)
{
    return g->off[v + 1] - g->off[v];
}
static inline const uint32_t *graph_out(const struct graph *g, uint32_t v)
{
    return g->adj + g->off[v];
}
static inline uint32_t graph_in_degree(const struct graph *g, uint32_t v)
{
    return g->roff[v + 1] - g->roff[v];
}
static inline const uint32_t *graph_in(const struct graph *g, uint32_t v)
{
    return g->radj + g->roff[v];
}

/*
 * A growable edge list, for callers that discover edges one at a time.
 * Grows geometrically; 8 bytes an edge.
 */
struct graph_edges {
    struct graph_edge *e;
    size_t len, cap;
};
int graph_edges_add(struct graph_edges *l, uint32_t src, uint32_t dst);
void graph_edges_free(struct graph_edges *l);

/* -------------------------------------------------------------- bitmaps */

/* A set of nodes as a bitmap of (n + 63) / 64 words; free() it. */
static inline int graph_bit(const uint64_t *bm, uint32_t v)
{
    return (bm[v >> 6] >> (v & 63)) & 1;
}
static inline void graph_bit_set(uint64_t *bm, uint32_t v)
{
    bm[v >> 6] |= (uint64_t)1 << (v & 63);
}
static inline size_t graph_bitmap_words(uint32_t n)
{
    return ((size_t)n + 63) / 64;
}

/* ------------------------------------------------------- reachability */

/*
 * The set of nodes reachable from any of roots[0..nroots-1] (the roots
 * included), as a newly allocated bitmap in *out; *count (if not NULL)
 * gets its size.  Iterative, with an explicit work list of at most n entries.
 */
int graph_reach(const struct graph *g, const uint32_t *roots, uint32_t nroots,
                uint64_t **out, uint32_t *count);

/*
 * A path: nodes[0] is a root, nodes[len-1] the target, and each node has an
 * edge to the next.  A set of paths is stored back to back: path i is
 * nodes[start[i]] .. nodes[start[i+1]-1].
 */
struct graph_paths {
    uint32_t count;   /* number of paths */
    uint32_t *start;  /* [count+1] */
    uint32_t *nodes;  /* [start[count]] */
};
void graph_paths_free(struct graph_paths *p);

/*
 * A shortest path (fewest edges) from any root to target, by breadth-first
 * search from all roots at once; ties go to the root listed first and then
 * to the edge listed first, so the answer is deterministic.  Returns 1 and
 * fills *out with one path, 0 if target is unreachable (out->count = 0),
 * or -1 on error.  If target is itself a root the path is just [target].
 */
int graph_shortest_path(const struct graph *g, const uint32_t *roots, uint32_t nroots,
                        uint32_t target, struct graph_paths *out);

/*
 * Up to k paths from the roots to target that share no node but their ends,
 * for `heapsnap path --all`: "the different ways this object is kept
 * alive".  Semantics:
 *  - The first path is graph_shortest_path()'s.  Each next path is a
 *    shortest path in the graph with the interior nodes (all but the first
 *    and the last) of every earlier path removed.  So no interior node is
 *    shared between paths or with any path's ends, and lengths never
 *    decrease.
 *  - The first node of a path is a root; roots may be shared between paths
 *    (with roots = {super-root} every path starts there), the target
 *    always is.  A direct edge root -> target is one path, found once.
 *  - It is greedy: it stops when no further path exists, which can be
 *    fewer than the most node-disjoint paths a max-flow would find (an
 *    early shortest path may block two longer ones).  It never reports a
 *    path that is not there.
 *  - If target is a root the answer is the single path [target].
 * Costs one BFS, O(n + m), per path found plus one.  Returns the number of
 * paths found (0 if unreachable) or -1 on error.
 */
int graph_disjoint_paths(const struct graph *g, const uint32_t *roots, uint32_t nroots,
                         uint32_t target, uint32_t k, struct graph_paths *out);

/* --------------------------------------------------------- dominators */

/* The algorithms domtree_build_with() offers (described there). */
enum domtree_algo { DOMTREE_SNCA, DOMTREE_LT, DOMTREE_SNCA_ONLY };


/*
 * The dominator tree of g from one root: d dominates v if every path from
 * the root to v passes through d.  Retained size of v is the total size of
 * the nodes v dominates (v included): what freeing v would free.
 */
struct domtree {
    uint32_t n;        /* g->n when built */
    uint32_t root;
    uint32_t reached;  /* nodes reachable from root, root included */
    /*
     * idom[v]: v's immediate dominator; idom[root] == root, and GRAPH_NONE
     * for nodes the root cannot reach.  Walking up from a reachable v ends
     * at the root, where idom[v] == v.
     */
    uint32_t *idom;    /* [n] */
    /*
     * The reachable nodes in depth-first preorder from the root:
     * order[0] == root, and every node comes after its idom (an idom is a
     * DFS-tree ancestor).  So a forward walk visits the dominator tree top
     * down and a backward walk bottom up, with no recursion.
     */
    uint32_t *order;   /* [reached] */
    /*
     * After domtree_retained(): the sum of size[] over v's dominator
     * subtree, and the number of nodes in it.  Zero for unreachable nodes.
     */
    uint64_t *retained_size;   /* [n], NULL until domtree_retained() */
    uint32_t *retained_count;  /* [n], NULL until domtree_retained() */
    enum domtree_algo algo; /* which algorithm built it */
};

/*
 * Compute the dominator tree of g from root.  Needs only the forward graph:
 * each algorithm builds its own predecessor lists, numbered in DFS order,
 * and frees them before returning.  Both give the same tree and the same
 * order[] (the same DFS numbers it), so which one ran changes no answer.
 *
 *  DOMTREE_SNCA  semi-NCA (Georgiadis and Tarjan), the default: LT's
 *                semidominators with half its forest records and no
 *                buckets, then each idom by a walk up the tree built so
 *                far.  That walk can go quadratic (a million-long list
 *                whose payloads a table also holds), so it has a budget of
 *                n + m steps; past it the work is dropped and LT runs.
 *  DOMTREE_LT    Lengauer-Tarjan with path compression (the "simple"
 *                link-eval): O(m log n), linear in practice, on every shape.
 *  DOMTREE_SNCA_ONLY  semi-NCA with no budget, never LT: for the tests that
 *                compare the two algorithms; quadratic where said above.
 *
 * d->algo says which algorithm built the tree (DOMTREE_SNCA or DOMTREE_LT).
 */
int domtree_build_with(struct domtree *d, const struct graph *g, uint32_t root,
                       enum domtree_algo algo);

/* domtree_build_with(d, g, root, DOMTREE_SNCA). */
int domtree_build(struct domtree *d, const struct graph *g, uint32_t root);

/*
 * Fill retained_size and retained_count from size[0..n-1] (the bytes of
 * each node; NULL counts every node as size 0), bottom up over order[]
 * with no recursion.  retained_size[root] is the total size of everything
 * reachable.
 */
int domtree_retained(struct domtree *d, const uint64_t *size);

void domtree_free(struct domtree *d);

/* ------------------------------------------------------------ heaptree.c */

/*
 * The dominator tree of a heap graph, the super-root (node 0) at its top,
 * with what each node retains: its own share and those of all it
 * dominates.  What a node's own share is (bytes, and whether it counts as
 * an object) is the caller's: it fills retained_size[v] and
 * retained_count[v] with them, [n] each, before heaptree_build(), which
 * sets idom, zeroes the shares of what the super-root does not reach, and
 * adds every subtree into its dominator.  Leaves are peeled first
 * (heaptree.c); the tree is the same as domtree_build()'s.
 */
struct heaptree {
    uint32_t *idom;             /* [n], allocated here: GRAPH_NONE if unreachable, idom[0] = 0 */
    uint64_t *retained_size;    /* [n], the caller's */
    uint32_t *retained_count;   /* [n], the caller's */
};
/* heaptree_build's flags: g is needed no more, so it may be freed as soon
 * as peeling has made the smaller graph the tree is built from. */
#define HEAPTREE_FREE_GRAPH 0x1u
/* 0, or -1 with errno (ENOMEM) and t->idom NULL. */
int heaptree_build(struct heaptree *t, struct graph *g, unsigned flags);

#endif
