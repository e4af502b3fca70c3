/*
 * graphcheck.c — tests and benchmark for the graph core (analyze/graph/).
 *
 * The fast algorithms are checked against slow ones that are obviously
 * right, on hundreds of seeded random graphs:
 *   dominators   d dominates v iff v is unreachable from the root once d is
 *                removed (one BFS per d); idom(v) is the deepest strict one
 *   retained     sums over the brute-force dominated sets
 *   reach        a fixpoint over the edge list
 *   path         lengths against a plain BFS, and every step is an edge
 *   disjoint     paths valid, interiors disjoint, lengths non-decreasing,
 *                and none missing: with all interiors removed, no path is left
 *   build        the CSR holds exactly the edge multiset, both directions
 * Random graphs mix long chains, cycles, diamonds, self-loops, repeated
 * edges, several roots hanging off the super-root, and islands that the
 * root cannot reach but that point into the reachable part.
 *
 *   graphcheck random [--count N] [--seed S] [--check NAME] [--max-nodes N]
 *   (every mode takes --algo snca|lt|snca-only: the dominator algorithm
 *   checked; compare and shapes run them all)
 *   graphcheck chain N          a list 0 -> 1 -> ... -> N-1
 *   graphcheck listtable N      a list whose payloads a table also holds
 *   graphcheck shapes N         adversarial shapes of about N nodes: every
 *                               dominator algorithm gives the same tree
 *   graphcheck unreachable      a hand-made graph with known answers
 *   graphcheck bench [--nodes N] [--edges M] [--seed S] [--repeat R]
 *
 * Exit 0 when every check passes; otherwise each failure is printed with
 * its seed (rerun one with --seed S --count 1) and the exit status is 1.
 * The test build runs under ASan + UBSan, so memory errors fail too.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph/graph.h"

#define NONE GRAPH_NONE

static uint64_t cur_seed;  /* the graph being checked, for messages */
static enum domtree_algo algo = DOMTREE_SNCA; /* --algo: the one checked */
static int failures;       /* in the current graph */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;
    if (failures < 10) {
        fprintf(stderr, "FAIL seed %" PRIu64 ": ", cur_seed);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    failures++;
}

static void die(const char *what)
{
    fprintf(stderr, "graphcheck: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        die("out of memory");
    return p;
}

/* splitmix64: small, seedable, good enough for test graphs. */
static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static uint32_t below(uint32_t n) /* uniform enough in 0..n-1, n > 0 */
{
    return (uint32_t)(rnd() % n);
}

/* ------------------------------------------------------- random graphs */

struct testgraph {
    uint32_t n;
    struct graph_edges el;
    uint64_t *size;   /* [n] */
    uint8_t *island;  /* [n]: edges from outside into an island are dropped */
};

static void add_edge(struct testgraph *t, uint32_t s, uint32_t d)
{
    if (t->island[d] && !t->island[s])
        return;
    if (graph_edges_add(&t->el, s, d) < 0)
        die("edge list");
}

/*
 * A random graph of up to max_nodes nodes (a few hundred by default).  Node 0 is the super-root; perm[]
 * scatters the structures over the ids so that nothing lines up with
 * numbering.
 */
static void random_graph(struct testgraph *t, uint64_t seed, uint32_t max_nodes)
{
    rng_state = seed;
    uint32_t n = below(10) == 0 ? 1 + below(6) : 2 + below(max_nodes - 1);
    memset(t, 0, sizeof *t);
    t->n = n;
    t->size = xcalloc(n, sizeof *t->size);
    t->island = xcalloc(n, 1);
    uint32_t *perm = xcalloc(n, sizeof *perm);
    for (uint32_t i = 0; i < n; i++) {
        perm[i] = i;
        t->size[i] = 1 + below(1000);
    }
    for (uint32_t i = n - 1; i > 1; i--) { /* shuffle 1..n-1; 0 stays */
        uint32_t j = 1 + below(i);
        uint32_t x = perm[i];
        perm[i] = perm[j];
        perm[j] = x;
    }
    /* Islands: a random share of nodes (never 0) nothing outside points to. */
    uint32_t nisland = n > 1 ? below(n / 3 + 1) : 0;
    for (uint32_t i = 0; i < nisland; i++)
        t->island[1 + below(n - 1)] = 1;

    uint32_t nroots = 1 + below(5);
    for (uint32_t i = 0; i < nroots && n > 1; i++)
        add_edge(t, 0, 1 + below(n - 1));
    /*
     * A random tree in perm order from 0 over a share of the nodes (none,
     * half, most, all), so that most graphs reach most of themselves and
     * dominator trees get deep; the structures below then add sharing.
     */
    uint32_t share = (uint32_t[]){0, 5, 9, 10}[below(4)];
    for (uint32_t i = 1; i < n; i++)
        if (below(10) < share)
            add_edge(t, perm[below(i)], perm[i]);
    uint32_t budget = below(15) == 0 ? 0 : (uint32_t)t->el.len + n * below(4);
    while (t->el.len < budget) {
        uint32_t a = below(n), len;
        switch (below(7)) {
        case 0: /* a chain along perm, sometimes closed into a cycle */
        case 1:
            len = 2 + below(n / 2 + 2);
            for (uint32_t i = 0; i + 1 < len && a + i + 1 < n; i++)
                add_edge(t, perm[a + i], perm[a + i + 1]);
            if (below(2) && a + 1 < n)
                add_edge(t, perm[a + len - 1 < n ? a + len - 1 : n - 1], perm[a]);
            break;
        case 2: { /* a diamond a -> b, c -> d */
            uint32_t b = below(n), c = below(n), d = below(n);
            add_edge(t, a, b);
            add_edge(t, a, c);
            add_edge(t, b, d);
            add_edge(t, c, d);
            break;
        }
        case 3: /* a self-loop */
            add_edge(t, a, a);
            break;
        case 4: /* a repeated edge */
            if (t->el.len)
                add_edge(t, t->el.e[below((uint32_t)t->el.len)].src,
                         t->el.e[below((uint32_t)t->el.len)].dst);
            break;
        default: /* scattered edges */
            for (uint32_t i = 0; i < 3; i++)
                add_edge(t, below(n), below(n));
            break;
        }
        if (n == 1 && below(4) == 0)
            break;
    }
    /* Shuffle the edge order: the graph must not care. */
    for (size_t i = t->el.len; i > 1; i--) {
        size_t j = below((uint32_t)i);
        struct graph_edge x = t->el.e[i - 1];
        t->el.e[i - 1] = t->el.e[j];
        t->el.e[j] = x;
    }
    free(perm);
}

static void testgraph_free(struct testgraph *t)
{
    graph_edges_free(&t->el);
    free(t->size);
    free(t->island);
}

/* ----------------------------------------------------- brute force */

/*
 * Plain BFS from roots over g, never entering node skip (which is then also
 * no source), nor nodes with blocked[v], nor taking a root's direct edge to
 * target when direct[root].  Fills seen[] and dist[] (either may be NULL
 * for dist).  Returns the number of nodes seen.
 */
static uint32_t brute_bfs(const struct graph *g, const uint32_t *roots, uint32_t nroots,
                          uint32_t skip, const uint8_t *blocked, const uint8_t *direct,
                          uint32_t target, uint8_t *seen, uint32_t *dist)
{
    uint32_t *q = xcalloc(g->n, sizeof *q), qh = 0, qt = 0;
    memset(seen, 0, g->n);
    for (uint32_t v = 0; dist && v < g->n; v++)
        dist[v] = NONE;
    for (uint32_t i = 0; i < nroots; i++) {
        uint32_t r = roots[i];
        if (r == skip || seen[r])
            continue;
        seen[r] = 1;
        if (dist)
            dist[r] = 0;
        q[qt++] = r;
    }
    while (qh < qt) {
        uint32_t u = q[qh++];
        for (uint32_t j = g->off[u]; j < g->off[u + 1]; j++) {
            uint32_t w = g->adj[j];
            if (w == skip || seen[w] || (blocked && blocked[w]))
                continue;
            if (direct && w == target && direct[u])
                continue;
            seen[w] = 1;
            if (dist)
                dist[w] = dist[u] + 1;
            q[qt++] = w;
        }
    }
    free(q);
    return qt;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The CSR holds exactly the edge multiset, forward and reverse. */
static void check_build(const struct testgraph *t, struct graph *g)
{
    if (graph_reverse(g) < 0)
        die("graph_reverse");
    if (g->n != t->n || g->m != t->el.len || g->off[0] != 0 || g->off[g->n] != g->m ||
        g->roff[0] != 0 || g->roff[g->n] != g->m) {
        fail("build: sizes or offsets wrong");
        return;
    }
    uint32_t *fwd = xcalloc(g->m, sizeof *fwd), *want = xcalloc(g->m, sizeof *want);
    for (int dir = 0; dir < 2; dir++) {
        for (uint32_t v = 0; v < g->n; v++) {
            uint32_t k = 0, lo = dir ? g->roff[v] : g->off[v];
            uint32_t hi = dir ? g->roff[v + 1] : g->off[v + 1];
            if (hi < lo) {
                fail("build: offsets decrease at %u", v);
                goto out;
            }
            for (size_t i = 0; i < t->el.len; i++)
                if ((dir ? t->el.e[i].dst : t->el.e[i].src) == v)
                    want[k++] = dir ? t->el.e[i].src : t->el.e[i].dst;
            if (k != hi - lo) {
                fail("build: node %u has %u %s edges, expected %u", v, hi - lo,
                     dir ? "in" : "out", k);
                goto out;
            }
            memcpy(fwd, (dir ? g->radj : g->adj) + lo, k * sizeof *fwd);
            if (!dir && memcmp(fwd, want, k * sizeof *fwd) != 0)
                fail("build: successors of %u not in input order", v);
            qsort(fwd, k, sizeof *fwd, cmp_u32);
            qsort(want, k, sizeof *want, cmp_u32);
            if (memcmp(fwd, want, k * sizeof *fwd) != 0)
                fail("build: %s edges of %u differ", dir ? "in" : "out", v);
        }
    }
out:
    free(fwd);
    free(want);
}

/* Dominator tree and retained sizes against removal-and-BFS. */
static void check_dominators(const struct testgraph *t, struct graph *g, uint32_t root,
                             int want_retained)
{
    uint32_t n = g->n;
    struct domtree d;
    if (domtree_build_with(&d, g, root, algo) < 0)
        die("domtree_build");
    if (want_retained && domtree_retained(&d, t->size) < 0)
        die("domtree_retained");
    uint8_t *reach = xcalloc(n, 1), *seen = xcalloc(n, 1);
    uint8_t *dom = xcalloc((size_t)n * n, 1); /* dom[a*n+b]: a dominates b */
    uint32_t *ndom = xcalloc(n, sizeof *ndom);
    uint32_t reached = brute_bfs(g, &root, 1, NONE, NULL, NULL, NONE, reach, NULL);
    for (uint32_t a = 0; a < n; a++) {
        if (!reach[a])
            continue;
        brute_bfs(g, &root, 1, a, NULL, NULL, NONE, seen, NULL);
        for (uint32_t b = 0; b < n; b++)
            if (reach[b] && !seen[b]) {
                dom[(size_t)a * n + b] = 1;
                ndom[b]++;
            }
    }
    if (d.reached != reached)
        fail("dom: reached %u, expected %u", d.reached, reached);
    for (uint32_t v = 0; v < n; v++) {
        uint32_t want = NONE;
        if (v == root) {
            want = root;
        } else if (reach[v]) {
            /* The deepest strict dominator: the one with most dominators. */
            for (uint32_t a = 0; a < n; a++)
                if (a != v && dom[(size_t)a * n + v] &&
                    (want == NONE || ndom[a] > ndom[want]))
                    want = a;
        }
        if (d.idom[v] != want) {
            if (want == NONE)
                fail("dom: unreachable node %u got idom %u", v, d.idom[v]);
            else
                fail("dom: idom(%u) = %u, expected %u", v, d.idom[v], want);
        }
    }
    /* order[]: each reachable node once, root first, every node after its idom. */
    uint32_t *pos = xcalloc(n, sizeof *pos);
    for (uint32_t v = 0; v < n; v++)
        pos[v] = NONE;
    for (uint32_t i = 0; i < d.reached && i < reached; i++) {
        uint32_t v = d.order[i];
        if (v >= n || !reach[v] || pos[v] != NONE) {
            fail("dom: order[%u] = %u is not a new reachable node", i, v);
            break;
        }
        pos[v] = i;
    }
    if (d.reached && d.order[0] != root)
        fail("dom: order[0] = %u, not the root", d.order[0]);
    for (uint32_t v = 0; v < n; v++)
        if (v != root && d.idom[v] != NONE && d.idom[v] < n && pos[v] != NONE &&
            pos[d.idom[v]] >= pos[v])
            fail("dom: %u comes before its idom %u in order", v, d.idom[v]);

    if (want_retained) {
        uint64_t total = 0;
        for (uint32_t v = 0; v < n; v++)
            if (reach[v])
                total += t->size[v];
        for (uint32_t a = 0; a < n; a++) {
            uint64_t rs = 0;
            uint32_t rc = 0;
            for (uint32_t b = 0; b < n; b++)
                if (dom[(size_t)a * n + b]) {
                    rs += t->size[b];
                    rc++;
                }
            if (d.retained_size[a] != rs || d.retained_count[a] != rc)
                fail("retained(%u) = %" PRIu64 " bytes / %u nodes, expected %" PRIu64
                     " / %u", a, d.retained_size[a], d.retained_count[a], rs, rc);
        }
        if (d.retained_size[root] != total)
            fail("retained(root) = %" PRIu64 ", total reachable is %" PRIu64,
                 d.retained_size[root], total);
    }
    free(pos);
    free(reach);
    free(seen);
    free(dom);
    free(ndom);
    domtree_free(&d);
}

static const char *algo_name(enum domtree_algo a)
{
    return a == DOMTREE_LT ? "Lengauer-Tarjan" : a == DOMTREE_SNCA ? "semi-NCA" : "semi-NCA only";
}

/*
 * The ways to build the tree agree exactly: idom[], order[] and the
 * reached count of LT, of semi-NCA with no budget, and of the default
 * (semi-NCA or its fallback).  Returns which algorithm the default used.
 * Without with_only, semi-NCA with no budget is left out (it is quadratic
 * on some shapes, and those are the point of some tests) and LT stands in.
 */
static enum domtree_algo compare_algos_ex(const char *what, const struct graph *g, uint32_t root,
                                          int with_only)
{
    const enum domtree_algo all[] = {DOMTREE_LT, with_only ? DOMTREE_SNCA_ONLY : DOMTREE_LT,
                                     DOMTREE_SNCA};
    struct domtree d[3];
    for (int k = 0; k < 3; k++)
        if (domtree_build_with(&d[k], g, root, all[k]) < 0)
            die("domtree_build_with");
    for (int k = 1; k < 3; k++) {
        if (d[k].reached != d[0].reached ||
            memcmp(d[k].idom, d[0].idom, (size_t)g->n * sizeof *d[0].idom) ||
            memcmp(d[k].order, d[0].order, (size_t)d[0].reached * sizeof *d[0].order))
            fail("%s: %s and %s give different trees", what, algo_name(all[k]),
                 algo_name(all[0]));
    }
    if (d[0].algo != DOMTREE_LT || d[1].algo != (with_only ? DOMTREE_SNCA : DOMTREE_LT))
        fail("%s: built by %s and %s, not as asked", what, algo_name(d[0].algo),
             algo_name(d[1].algo));
    enum domtree_algo used = d[2].algo;
    for (int k = 0; k < 3; k++)
        domtree_free(&d[k]);
    return used;
}

static enum domtree_algo compare_algos(const char *what, const struct graph *g, uint32_t root)
{
    return compare_algos_ex(what, g, root, 1);
}

/* A random set of 0..4 roots, node 0 likely among them. */
static uint32_t random_roots(uint32_t n, uint32_t *roots)
{
    uint32_t k = below(5);
    for (uint32_t i = 0; i < k; i++)
        roots[i] = i == 0 && below(2) ? 0 : below(n);
    return k;
}

static void check_reach(struct graph *g)
{
    uint32_t roots[4], nroots = random_roots(g->n, roots);
    uint64_t *bm;
    uint32_t count;
    if (graph_reach(g, roots, nroots, &bm, &count) < 0)
        die("graph_reach");
    /* Fixpoint over the edge list: nothing clever to get wrong. */
    uint8_t *r = xcalloc(g->n, 1);
    uint32_t want = 0;
    for (uint32_t i = 0; i < nroots; i++)
        r[roots[i]] = 1;
    for (int changed = 1; changed;) {
        changed = 0;
        for (uint32_t s = 0; s < g->n; s++)
            for (uint32_t j = g->off[s]; r[s] && j < g->off[s + 1]; j++)
                if (!r[g->adj[j]])
                    r[g->adj[j]] = changed = 1;
    }
    for (uint32_t v = 0; v < g->n; v++) {
        want += r[v];
        if (graph_bit(bm, v) != r[v])
            fail("reach: node %u %s", v, r[v] ? "missed" : "wrongly reached");
    }
    if (count != want)
        fail("reach: count %u, expected %u", count, want);
    free(r);
    free(bm);
}

static int has_edge(const struct graph *g, uint32_t s, uint32_t d)
{
    for (uint32_t j = g->off[s]; j < g->off[s + 1]; j++)
        if (g->adj[j] == d)
            return 1;
    return 0;
}

/* Every path starts at a root, ends at target, and steps along edges. */
static int path_valid(const struct graph *g, const uint32_t *roots, uint32_t nroots,
                      uint32_t target, const uint32_t *p, uint32_t len)
{
    int root = 0;
    for (uint32_t i = 0; i < nroots; i++)
        root |= roots[i] == p[0];
    if (len == 0 || !root || p[len - 1] != target)
        return 0;
    for (uint32_t i = 0; i + 1 < len; i++)
        if (p[i] >= g->n || !has_edge(g, p[i], p[i + 1]))
            return 0;
    return 1;
}

static void check_paths(struct graph *g, int disjoint)
{
    uint32_t n = g->n, roots[4], nroots = random_roots(n, roots);
    uint8_t *seen = xcalloc(n, 1), *blocked = xcalloc(n, 1), *direct = xcalloc(n, 1);
    uint8_t *isroot = xcalloc(n, 1);
    uint32_t *dist = xcalloc(n, sizeof *dist);
    for (uint32_t i = 0; i < nroots; i++)
        isroot[roots[i]] = 1;
    brute_bfs(g, roots, nroots, NONE, NULL, NULL, NONE, seen, dist);
    for (uint32_t target = 0; target < n; target++) {
        struct graph_paths p;
        uint32_t k = disjoint ? 1 + below(6) : 1;
        int got = disjoint ? graph_disjoint_paths(g, roots, nroots, target, k, &p)
                           : graph_shortest_path(g, roots, nroots, target, &p);
        if (got < 0)
            die("path");
        if ((uint32_t)got != p.count)
            fail("path: returned %d but holds %u paths", got, p.count);
        if ((got > 0) != (dist[target] != NONE))
            fail("path to %u: found %d, distance %u", target, got, dist[target]);
        memset(blocked, 0, n);
        memset(direct, 0, n);
        uint32_t prevlen = 0;
        for (uint32_t i = 0; i < p.count; i++) {
            const uint32_t *q = p.nodes + p.start[i];
            uint32_t len = p.start[i + 1] - p.start[i];
            if (!path_valid(g, roots, nroots, target, q, len)) {
                fail("path %u to %u is not a path from a root", i, target);
                continue;
            }
            if (i == 0 && len - 1 != dist[target])
                fail("path to %u has %u edges, BFS says %u", target, len - 1, dist[target]);
            if (len < prevlen)
                fail("path %u to %u is shorter than the one before", i, target);
            prevlen = len;
            for (uint32_t j = 1; j + 1 < len; j++) {
                if (blocked[q[j]] || isroot[q[j]] || q[j] == target)
                    fail("path %u to %u reuses node %u", i, target, q[j]);
                blocked[q[j]] = 1;
            }
            if (len == 2) {
                if (direct[q[0]])
                    fail("direct edge %u -> %u reported twice", q[0], target);
                direct[q[0]] = 1;
            }
            if (len == 1 && p.count != 1)
                fail("target %u is a root but got %u paths", target, p.count);
        }
        /* None missing: if it stopped short of k, nothing else gets through. */
        if (disjoint && p.count < k && p.count > 0 && dist[target] > 0) {
            uint8_t *s2 = xcalloc(n, 1);
            brute_bfs(g, roots, nroots, NONE, blocked, direct, target, s2, NULL);
            if (s2[target])
                fail("disjoint paths to %u stopped at %u of %u with a path left", target,
                     p.count, k);
            free(s2);
        }
        graph_paths_free(&p);
    }
    free(seen);
    free(blocked);
    free(direct);
    free(isroot);
    free(dist);
}

static int check_wanted(const char *check, const char *name)
{
    return !strcmp(check, "all") || !strcmp(check, name);
}

static int run_random(uint32_t count, uint64_t seed0, const char *check, uint32_t max_nodes)
{
    uint32_t bad = 0;
    uint64_t *bad_seeds = xcalloc(count, sizeof *bad_seeds);
    for (uint32_t i = 0; i < count; i++) {
        struct testgraph t;
        struct graph g;
        cur_seed = seed0 + i;
        failures = 0;
        random_graph(&t, cur_seed, max_nodes);
        if (graph_build(&g, t.n, t.el.e, t.el.len) < 0)
            die("graph_build");
        if (check_wanted(check, "build"))
            check_build(&t, &g);
        if (check_wanted(check, "dominators") || check_wanted(check, "retained")) {
            /* Mostly the super-root; sometimes any node, as the API allows. */
            uint32_t root = below(5) == 0 ? below(t.n) : 0;
            check_dominators(&t, &g, root, check_wanted(check, "retained"));
        }
        if (check_wanted(check, "compare"))
            compare_algos("compare", &g, below(4) == 0 ? below(t.n) : 0);
        if (check_wanted(check, "reach"))
            check_reach(&g);
        if (check_wanted(check, "path"))
            check_paths(&g, 0);
        if (check_wanted(check, "disjoint"))
            check_paths(&g, 1);
        graph_free(&g);
        testgraph_free(&t);
        if (failures)
            bad_seeds[bad++] = cur_seed;
    }
    if (bad) {
        fprintf(stderr, "%u of %u graphs failed; seeds:", bad, count);
        for (uint32_t i = 0; i < bad; i++)
            fprintf(stderr, " %" PRIu64, bad_seeds[i]);
        fprintf(stderr, "\n");
    } else {
        printf("ok %u random graphs (seeds %" PRIu64 "..%" PRIu64 "), check %s\n", count,
               seed0, seed0 + count - 1, check);
    }
    free(bad_seeds);
    return bad ? 1 : 0;
}

/* ----------------------------------------------------- fixed shapes */

static void build_or_die(struct graph *g, uint32_t n, const struct graph_edges *el)
{
    if (graph_build(g, n, el->e, el->len) < 0)
        die("graph_build");
}

/* 0 -> 1 -> ... -> n-1: idom(i) = i-1, retained(i) = the tail from i. */
static int run_chain(uint32_t n)
{
    struct graph_edges el = {0};
    struct graph g;
    struct domtree d;
    for (uint32_t i = 1; i < n; i++)
        if (graph_edges_add(&el, i - 1, i) < 0)
            die("edges");
    build_or_die(&g, n, &el);
    graph_edges_free(&el);
    uint64_t *size = xcalloc(n, sizeof *size);
    for (uint32_t i = 0; i < n; i++)
        size[i] = i % 7 + 1;
    if (domtree_build_with(&d, &g, 0, algo) < 0 || domtree_retained(&d, size) < 0)
        die("dominators");
    if (d.idom[0] != 0)
        fail("chain: idom(0) = %u", d.idom[0]);
    for (uint32_t i = 1; i < n; i++)
        if (d.idom[i] != i - 1) {
            fail("chain: idom(%u) = %u", i, d.idom[i]);
            break;
        }
    uint64_t tail = 0;
    for (uint32_t i = n; i-- > 0;) {
        tail += size[i];
        if (d.retained_size[i] != tail || d.retained_count[i] != n - i) {
            fail("chain: retained(%u) = %" PRIu64 "/%u, expected %" PRIu64 "/%u", i,
                 d.retained_size[i], d.retained_count[i], tail, n - i);
            break;
        }
    }
    /* The path to the end is the whole list. */
    struct graph_paths p;
    uint32_t root = 0;
    if (graph_shortest_path(&g, &root, 1, n - 1, &p) != 1 || p.start[1] != n)
        fail("chain: shortest path to the end is not the list");
    graph_paths_free(&p);
    if (!failures)
        printf("ok chain of %u: idom(i) = i-1, retained sizes are tail sums (%s)\n", n,
               algo_name(d.algo));
    free(size);
    domtree_free(&d);
    graph_free(&g);
    return failures != 0;
}

/*
 * The shape that makes semi-NCA and Cooper-Harvey-Kennedy quadratic: a list
 * 1..n whose node i holds payload n+i, and a table (2n+1) that holds every
 * payload too.  The root reaches both list and table, so each payload's
 * idom is the root, while the list nodes dominate each other in a chain.
 */
static int run_listtable(uint32_t n)
{
    uint32_t nn = 2 * n + 2, table = 2 * n + 1;
    struct graph_edges el = {0};
    struct graph g;
    struct domtree d;
    int ok = graph_edges_add(&el, 0, 1) == 0;
    for (uint32_t i = 1; i <= n; i++) {
        if (i < n)
            ok &= graph_edges_add(&el, i, i + 1) == 0;
        ok &= graph_edges_add(&el, i, n + i) == 0;
    }
    ok &= graph_edges_add(&el, 0, table) == 0;
    for (uint32_t i = 1; i <= n; i++)
        ok &= graph_edges_add(&el, table, n + i) == 0;
    if (!ok)
        die("edges");
    build_or_die(&g, nn, &el);
    graph_edges_free(&el);
    if (domtree_build_with(&d, &g, 0, algo) < 0 || domtree_retained(&d, NULL) < 0)
        die("dominators");
    for (uint32_t i = 1; i <= n; i++) {
        if (d.idom[i] != i - 1)
            fail("listtable: idom(list %u) = %u", i, d.idom[i]);
        if (d.idom[n + i] != 0)
            fail("listtable: idom(payload %u) = %u", n + i, d.idom[n + i]);
        if (failures)
            break;
    }
    if (d.idom[table] != 0 || d.retained_count[1] != n || d.retained_count[0] != nn)
        fail("listtable: table idom %u, list retains %u, root retains %u", d.idom[table],
             d.retained_count[1], d.retained_count[0]);
    if (!failures)
        printf("ok list of %u with a table of its payloads: payload idoms are the root (%s)\n",
               n, algo_name(d.algo));
    domtree_free(&d);
    graph_free(&g);
    return failures != 0;
}

/*
 *   0 -> 1 -> 2 -> 3        4 <-> 5 -> 2     6 -> 6      7 (isolated)
 *        1 ------> 3        5 -> 0
 * 4, 5, 6, 7 are unreachable: no idom, retain nothing, and their edges into
 * the reachable part change nothing there (idom(2) stays 1).
 */
static int run_unreachable(void)
{
    static const struct graph_edge e[] = {
        {0, 1}, {1, 2}, {2, 3}, {1, 3}, {4, 5}, {5, 4}, {5, 2}, {6, 6}, {5, 0},
    };
    static const uint32_t want[] = {0, 0, 1, 1, NONE, NONE, NONE, NONE};
    uint64_t size[8] = {0, 10, 20, 30, 40, 50, 60, 70};
    struct graph g;
    struct domtree d;
    if (graph_build(&g, 8, e, sizeof e / sizeof e[0]) < 0)
        die("graph_build");
    if (domtree_build_with(&d, &g, 0, algo) < 0 || domtree_retained(&d, size) < 0)
        die("dominators");
    for (uint32_t v = 0; v < 8; v++) {
        if (d.idom[v] != want[v])
            fail("unreachable: idom(%u) = %u, expected %u", v, d.idom[v], want[v]);
        if (want[v] == NONE && (d.retained_size[v] || d.retained_count[v]))
            fail("unreachable: node %u retains something", v);
    }
    if (d.reached != 4 || d.retained_size[0] != 60 || d.retained_size[1] != 60 ||
        d.retained_size[2] != 20 || d.retained_count[0] != 4)
        fail("unreachable: reached %u, retained(0) %" PRIu64 ", retained(2) %" PRIu64,
             d.reached, d.retained_size[0], d.retained_size[2]);
    if (!failures)
        printf("ok unreachable nodes have no idom and retain nothing\n");
    domtree_free(&d);
    graph_free(&g);
    return failures != 0;
}

/* ------------------------------------------------------ adversarial shapes */

static void edge_or_die(struct graph_edges *el, uint32_t s, uint32_t d)
{
    if (graph_edges_add(el, s, d) < 0)
        die("edges");
}

/*
 * Build one shape, compare the algorithms on it, check the answers known
 * for it (want: an idom per node, or NULL), and say which algorithm the
 * default used.  Frees el.
 */
static void shape(const char *name, uint32_t n, struct graph_edges *el, const uint32_t *want,
                  int with_only, enum domtree_algo expect)
{
    struct graph g;
    struct domtree d;
    int before = failures;
    build_or_die(&g, n, el);
    graph_edges_free(el);
    enum domtree_algo used = compare_algos_ex(name, &g, 0, with_only);
    if (used != expect)
        fail("%s: the default was built by %s, expected %s", name, algo_name(used),
             algo_name(expect));
    if (want) {
        if (domtree_build_with(&d, &g, 0, algo) < 0)
            die("dominators");
        for (uint32_t v = 0; v < n; v++)
            if (d.idom[v] != want[v]) {
                fail("%s: idom(%u) = %u, expected %u", name, v, d.idom[v], want[v]);
                break;
            }
        domtree_free(&d);
    }
    graph_free(&g);
    if (failures == before)
        printf("ok %s: %u nodes, the algorithms agree%s (default: %s)\n", name, n,
               want ? " with the known idoms" : "", algo_name(used));
}

/*
 * Shapes that break dominator code: a list n long and one closed into a
 * cycle (a DFS n deep), a ladder of two cross-linked lists (2n deep, no
 * dominator but the root), semi-NCA's quadratic list-and-table (at a
 * size its unbudgeted walk can finish, and at n, where the default must
 * hand over to LT), several roots under the super-root with lists that
 * cross, nodes the root cannot reach pointing into what it can, a hub
 * every node points back to, and a random heap-like graph of n nodes.
 */
static int run_shapes(uint32_t n)
{
    struct graph_edges el = {0};
    uint32_t *want = xcalloc((size_t)2 * n + 2, sizeof *want);
    rng_state = n;

    for (uint32_t i = 1; i < n; i++)
        edge_or_die(&el, i - 1, i);
    for (uint32_t i = 0; i < n; i++)
        want[i] = i ? i - 1 : 0;
    shape("list", n, &el, want, 1, DOMTREE_SNCA);

    for (uint32_t i = 1; i < n; i++)
        edge_or_die(&el, i - 1, i);
    edge_or_die(&el, n - 1, 1);
    edge_or_die(&el, n - 1, 0);
    shape("cycle", n, &el, want, 1, DOMTREE_SNCA);

    /* ladder: a_i = 2i-1, b_i = 2i for i = 1..n/2; each rung reaches both of the next */
    uint32_t rungs = n / 2, ln = 2 * rungs + 1;
    edge_or_die(&el, 0, 1);
    edge_or_die(&el, 0, 2);
    for (uint32_t i = 1; i < rungs; i++) {
        uint32_t a = 2 * i - 1, b = 2 * i;
        edge_or_die(&el, a, a + 2);
        edge_or_die(&el, a, b + 2);
        edge_or_die(&el, b, b + 2);
        edge_or_die(&el, b, a + 2);
    }
    for (uint32_t v = 0; v < ln; v++)
        want[v] = 0;
    shape("ladder", ln, &el, want, 1, DOMTREE_SNCA);

    /* list 1..k whose payloads k+1..2k a table 2k+1 also holds */
    for (int big = 0; big < 2; big++) {
        uint32_t k = big ? n : (n < 2000 ? n : 2000), tn = 2 * k + 2, table = 2 * k + 1;
        edge_or_die(&el, 0, 1);
        edge_or_die(&el, 0, table);
        for (uint32_t i = 1; i <= k; i++) {
            if (i < k)
                edge_or_die(&el, i, i + 1);
            edge_or_die(&el, i, k + i);
            edge_or_die(&el, table, k + i);
        }
        for (uint32_t v = 0; v < tn; v++)
            want[v] = v >= 1 && v <= k ? v - 1 : 0;
        /* the walk takes about k^2/2 steps against a budget of about 6k */
        shape(big ? "listtable" : "listtable-small", tn, &el, want, !big,
              k > 12 ? DOMTREE_LT : DOMTREE_SNCA);
    }

    /* several roots, each heading a list; lists cross at random and point back */
    uint32_t nroots = 16, per = (n - 1) / nroots;
    for (uint32_t r = 0; r < nroots; r++) {
        uint32_t first = 1 + r * per;
        edge_or_die(&el, 0, first);
        for (uint32_t i = 1; i < per; i++)
            edge_or_die(&el, first + i - 1, first + i);
    }
    for (uint32_t i = 0; i < n / 8; i++) {
        edge_or_die(&el, 1 + below(nroots * per), 1 + below(nroots * per));
        edge_or_die(&el, 1 + below(nroots * per), 1 + (below(nroots) * per));
    }
    shape("multiroot", n, &el, NULL, 1, DOMTREE_SNCA);

    /* odd nodes unreachable, pointing at even ones and each other */
    for (uint32_t v = 2; v < n; v += 2)
        edge_or_die(&el, v - 2, v);
    for (uint32_t v = 1; v < n; v += 2) {
        edge_or_die(&el, v, below(n));
        edge_or_die(&el, v, v + 2 < n ? v + 2 : 1);
    }
    for (uint32_t v = 0; v < n; v++)
        want[v] = v % 2 ? NONE : v ? v - 2 : 0;
    shape("unreachable-half", n, &el, want, 1, DOMTREE_SNCA);

    /* a hub: 0 -> 1 -> every node -> 1 */
    edge_or_die(&el, 0, 1);
    for (uint32_t v = 2; v < n; v++) {
        edge_or_die(&el, 1, v);
        edge_or_die(&el, v, 1);
    }
    for (uint32_t v = 0; v < n; v++)
        want[v] = v <= 1 ? 0 : 1;
    shape("hub", n, &el, want, 1, DOMTREE_SNCA);

    /* heap-like: every node owned by an earlier one, plus 2n random edges */
    for (uint32_t v = 1; v < n; v++)
        edge_or_die(&el, below(v), v);
    for (uint32_t i = 0; i < 2 * n; i++)
        edge_or_die(&el, below(n), below(n));
    shape("random", n, &el, NULL, 1, DOMTREE_SNCA);

    free(want);
    return failures != 0;
}

/* ----------------------------------------------------------- bench */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The peak RSS of one phase: writing 5 to /proc/self/clear_refs resets
 * VmHWM to the current RSS, so VmHWM after the phase is its own peak (what
 * was resident before it included).  NAN where the kernel lacks it.
 */
static void phase_peak_reset(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

static double phase_peak_mib(void)
{
    char line[256];
    double kib = NAN;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return NAN;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            kib = strtod(line + 6, NULL);
    fclose(f);
    return kib / 1024.0;
}

/*
 * A 64-bit digest of a dominator tree (idom[] and order[]), so that the
 * bench can compare the two algorithms' trees without keeping one of them
 * resident, which would skew the other's peak RSS.
 */
static uint64_t tree_hash(const struct domtree *d)
{
    uint64_t h = 0x6a09e667f3bcc908ull;
    for (uint32_t v = 0; v < d->n; v++)
        h = (h ^ d->idom[v]) * 0x9E3779B97F4A7C15ull, h ^= h >> 29;
    for (uint32_t i = 0; i < d->reached; i++)
        h = (h ^ d->order[i]) * 0xBF58476D1CE4E5B9ull, h ^= h >> 31;
    return h;
}

static void bench_edge(struct graph_edges *el, uint32_t s, uint32_t d)
{
    if (graph_edges_add(el, s, d) < 0)
        die("edge list");
}

/*
 * A heap-like graph: 1,000 roots off the super-root; an edge into every
 * node from an earlier one, so that all is reachable; half of the nodes in
 * ten linked lists of n/20 each; the rest of the edges random, so that
 * most nodes have several owners.
 */
static int run_bench(uint32_t n, uint64_t m, uint64_t seed, uint32_t repeat)
{
    struct graph_edges el = {0};
    struct graph g;
    struct domtree d;
    rng_state = seed;
    if (n < 100 || m < n)
        return fprintf(stderr, "graphcheck bench: need 100 <= nodes <= edges\n"), 2;
    el.cap = m;
    el.e = malloc(m * sizeof *el.e);
    if (!el.e)
        die("edge list");
    uint32_t block = n / 10, chain_len = n / 20;
    for (uint32_t i = 0; i < 1000; i++)
        bench_edge(&el, 0, 1 + below(n - 1));
    for (uint32_t v = 1; v < n; v++) {
        int in_chain = v % block != 0 && v % block < chain_len;
        bench_edge(&el, in_chain ? v - 1 : below(v), v);
    }
    while (el.len < m)
        bench_edge(&el, below(n), below(n));
    uint64_t *size = malloc((size_t)n * sizeof *size);
    if (!size)
        die("sizes");
    for (uint32_t v = 0; v < n; v++)
        size[v] = 16 + 16 * below(64);
    printf("bench: %u nodes, %zu edges, seed %" PRIu64 "\n", n, el.len, seed);

    double t0 = now(), c0 = cpu();
    if (graph_build(&g, n, el.e, el.len) < 0)
        die("graph_build");
    double t1 = now(), c1 = cpu();
    graph_edges_free(&el);
    /* Timed for the analyses that want it; dominators do not. */
    if (graph_reverse(&g) < 0)
        die("graph_reverse");
    double t2 = now(), c2 = cpu();
    graph_drop_reverse(&g);
    printf("                     wall s   cpu s  peak MiB\n");
    printf("build CSR           %7.2f %7.2f\n", t1 - t0, c1 - c0);
    printf("build reverse       %7.2f %7.2f            (then freed)\n", t2 - t1, c2 - c1);

    /*
     * Both algorithms, alternating which goes first on each repeat so that
     * neither always meets the other's freed memory; the trees must be
     * identical, idom and order both.
     */
    int bad = 0;
    uint32_t want_reached = 0;
    uint64_t want_hash = 0;
    double whole_peak = 0;
    static const struct {
        enum domtree_algo algo;
        const char *name;
    } algos[] = {{DOMTREE_LT, "Lengauer-Tarjan"}, {DOMTREE_SNCA, "semi-NCA"}};
    for (uint32_t rep = 0; rep < repeat; rep++) {
        for (uint32_t k = 0; k < 2; k++) {
            uint32_t which = (k + rep) % 2;
            phase_peak_reset();
            double a0 = now(), a1 = cpu();
            if (domtree_build_with(&d, &g, 0, algos[which].algo) < 0)
                die("domtree_build");
            double b0 = now(), b1 = cpu();
            double dom_peak = phase_peak_mib();
            whole_peak = dom_peak > whole_peak ? dom_peak : whole_peak;
            if (domtree_retained(&d, size) < 0)
                die("domtree_retained");
            double e0 = now(), e1 = cpu();
            printf("dominators, %-7.7s %7.2f %7.2f %7.0f   (%s%s, %u reachable)\n",
                   which ? "SNCA" : "LT", b0 - a0, b1 - a1, dom_peak, algos[which].name,
                   d.algo == algos[which].algo ? "" : ", fell back to LT", d.reached);
            printf("  retained sizes    %7.2f %7.2f            (root retains %" PRIu64
                   " bytes, %u nodes)\n", e0 - b0, e1 - b1, d.retained_size[0],
                   d.retained_count[0]);
            uint64_t h = tree_hash(&d);
            if (rep == 0 && k == 0) {
                want_reached = d.reached;
                want_hash = h;
            } else if (d.reached != want_reached || h != want_hash) {
                fprintf(stderr, "bench: %s's dominator tree differs from the first one\n",
                        algos[which].name);
                bad = 1;
            }
            domtree_free(&d);
        }
    }
    uint64_t *bm;
    uint32_t count;
    uint32_t root = 0;
    phase_peak_reset();
    double t4 = now(), c4 = cpu();
    if (graph_reach(&g, &root, 1, &bm, &count) < 0)
        die("graph_reach");
    double t5 = now(), c5 = cpu();
    double reach_peak = phase_peak_mib();
    whole_peak = reach_peak > whole_peak ? reach_peak : whole_peak;
    printf("reachability        %7.2f %7.2f %7.0f   (%u reachable)\n", t5 - t4, c5 - c4,
           reach_peak, count);
    printf("peak RSS                            %7.0f   (the graph phases)\n", whole_peak);
    if (count != want_reached) {
        fprintf(stderr, "bench: reach and dominators disagree on reachability\n");
        bad = 1;
    }
    if (!bad)
        printf("ok: both algorithms give the same idom[] and order[] (hash %016" PRIx64 ")\n",
               want_hash);
    free(bm);
    free(size);
    graph_free(&g);
    return bad;
}

/* ----------------------------------------------------------- main */

static int usage(void)
{
    fprintf(stderr,
            "usage: graphcheck random [--count N] [--seed S] [--check NAME] [--max-nodes N]\n"
            "       graphcheck chain N | listtable N | shapes N | unreachable\n"
            "       graphcheck bench [--nodes N] [--edges M] [--seed S] [--repeat R]\n"
            "NAME: all build dominators retained compare reach path disjoint\n"
            "--algo snca|lt|snca-only (before or after the mode): the dominator algorithm checked\n");
    return 2;
}

/* The value after option name at argv[*i], as a number; exits on junk. */
static uint64_t num_arg(int argc, char **argv, int *i)
{
    char *end;
    if (*i + 1 >= argc)
        exit(usage());
    errno = 0;
    uint64_t v = strtoull(argv[++*i], &end, 10);
    if (errno || *end || end == argv[*i])
        exit(usage());
    return v;
}

int main(int argc, char **argv)
{
    /* --algo NAME may come anywhere: take it out before the mode's own parsing. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--algo"))
            continue;
        if (i + 1 >= argc)
            return usage();
        const char *a = argv[i + 1];
        if (!strcmp(a, "snca"))
            algo = DOMTREE_SNCA;
        else if (!strcmp(a, "lt"))
            algo = DOMTREE_LT;
        else if (!strcmp(a, "snca-only"))
            algo = DOMTREE_SNCA_ONLY;
        else
            return usage();
        memmove(argv + i, argv + i + 2, (size_t)(argc - i - 2 + 1) * sizeof *argv);
        argc -= 2;
        i--;
    }
    if (argc < 2)
        return usage();
    const char *mode = argv[1];
    if (!strcmp(mode, "random")) {
        uint64_t count = 300, seed = 1, max_nodes = 300;
        const char *check = "all";
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "--count"))
                count = num_arg(argc, argv, &i);
            else if (!strcmp(argv[i], "--seed"))
                seed = num_arg(argc, argv, &i);
            else if (!strcmp(argv[i], "--max-nodes"))
                max_nodes = num_arg(argc, argv, &i);
            else if (!strcmp(argv[i], "--check") && i + 1 < argc)
                check = argv[++i];
            else
                return usage();
        }
        static const char *checks[] = {"all", "build", "dominators", "retained",
                                       "compare", "reach", "path", "disjoint"};
        int known = 0;
        for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
            known |= !strcmp(check, checks[i]);
        if (!known || count == 0 || count > UINT32_MAX || max_nodes < 2 || max_nodes > 20000)
            return usage();
        return run_random((uint32_t)count, seed, check, (uint32_t)max_nodes);
    }
    if (!strcmp(mode, "chain") || !strcmp(mode, "listtable")) {
        int i = 1;
        uint64_t n = num_arg(argc, argv, &i);
        if (argc != 3 || n < 1 || n > 100000000)
            return usage();
        return !strcmp(mode, "chain") ? run_chain((uint32_t)n) : run_listtable((uint32_t)n);
    }
    if (!strcmp(mode, "shapes")) {
        int i = 1;
        uint64_t n = num_arg(argc, argv, &i);
        if (argc != 3 || n < 64 || n > 50000000)
            return usage();
        return run_shapes((uint32_t)n);
    }
    if (!strcmp(mode, "unreachable"))
        return argc == 2 ? run_unreachable() : usage();
    if (!strcmp(mode, "bench")) {
        uint64_t n = 10000000, m = 30000000, seed = 1, repeat = 1;
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "--nodes"))
                n = num_arg(argc, argv, &i);
            else if (!strcmp(argv[i], "--edges"))
                m = num_arg(argc, argv, &i);
            else if (!strcmp(argv[i], "--seed"))
                seed = num_arg(argc, argv, &i);
            else if (!strcmp(argv[i], "--repeat"))
                repeat = num_arg(argc, argv, &i);
            else
                return usage();
        }
        if (n >= UINT32_MAX || m >= UINT32_MAX || repeat < 1 || repeat > 100)
            return usage();
        return run_bench((uint32_t)n, m, seed, (uint32_t)repeat);
    }
    return usage();
}
