/*
 * rtree.h — the heap as a tree of retention paths, shared by `heapsnap
 * pprof --by retainer|type` (each node a stack of frames) and `heapsnap
 * report` (its treemap).
 *
 * Every used object of the program (hg_program) goes to one node: the path
 * of its dominator chain from the root that alone keeps it alive, one frame
 * per step, the object's own type last:
 *
 *   global g_cache  ->  struct cache  ->  struct entry via .items  ->  char[64] via .key
 *
 * A root's frame is its name (hg_root_name); an object's frame is its type
 * (or "[48 bytes]" when untyped) and, when its dominator is typed and the
 * reference between them names a field, " via .field" (not in parentheses:
 * pprof would take those for a C++ argument list and drop them).  Array
 * lengths and element indexes are left out ("struct node [...]",
 * "items[].next"), so that the same path in two snapshots is the same
 * frames, as pprof -diff_base needs.  Objects held by
 * several roots hang under "several roots", unreachable ones under
 * "unreachable (leaked)".  A run of equal frames — a linked list's nodes,
 * each dominating the next — is one frame, so a list of a million nodes
 * is one step, not a million; paths deeper than RT_MAX_DEPTH end in "...".
 * With RT_TYPES the tree is one level: each type a node.
 *
 * A node's count and bytes are the objects that end there; its total_*
 * add its subtree's (the retained size of that path).  Nodes are numbered
 * so that a parent comes before its children; node 0 is the tree's root
 * (no frame).
 */
#ifndef HEAPSNAP_PPROF_RTREE_H
#define HEAPSNAP_PPROF_RTREE_H

#include "analysis/analysis.h"
#include "debuginfo/strmap.h"

#define RT_MAX_DEPTH 64

#define RT_TYPES  0x1u   /* one frame per type */
#define RT_FIELDS 0x2u   /* name the field an object is reached by (costs two queries per object) */

struct rt_node {
    uint32_t parent, frame, depth;
    uint64_t count, bytes;
    uint64_t total_count, total_bytes;
};

struct rtree {
    struct rt_node *v;
    size_t n, cap;
    char **frames;             /* frame names, by index */
    size_t nframes, capframes;
    struct strmap frame_of;    /* name -> index */
    struct u64map child;       /* parent << 32 | frame -> node */
    uint32_t *node_of;         /* [nobjs] the node of each object, GRAPH_NONE if not the program's */
};

/* Build the tree of h with results r; progress: a progress line.  0, or -1
 * (out of memory). */
int rtree_build(struct rtree *t, const struct hgraph *h, const struct hresults *r, unsigned flags, int progress);
void rtree_free(struct rtree *t);

#endif
