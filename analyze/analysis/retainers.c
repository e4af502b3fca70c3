/*
 * retainers.c — the largest retainers for `heapsnap top`, from the dominator
 * tree: single objects, roots, and types.
 *
 * A type's retained size follows Eclipse MAT: the sum of the retained sizes
 * of its objects that have no dominator-tree ancestor of the same type.
 * Summing every object's retained size would count a linked list of N
 * nodes N times over; skipping the dominated ones counts each byte at most
 * once per type.  The walk is an iterative depth-first pass over the tree
 * (children lists built from idom by counting sort) with one counter per
 * type of "ancestors of this type on the current branch".
 */
#include "analysis/analysis.h"

#include <stdlib.h>
#include <string.h>

static int by_retained(const void *a, const void *b)
{
    const struct retainer *x = a, *y = b;
    if (x->retained_size != y->retained_size)
        return x->retained_size < y->retained_size ? 1 : -1;
    return x->node < y->node ? -1 : x->node > y->node;
}

/* Keep the k largest of the candidates offered, in out[0..*n). */
static void offer(struct retainer *out, size_t k, size_t *n, const struct retainer *c)
{
    if (*n < k) {
        out[(*n)++] = *c;
        return;
    }
    size_t min = 0;
    for (size_t i = 1; i < *n; i++)
        if (by_retained(&out[i], &out[min]) > 0)
            min = i;
    if (by_retained(c, &out[min]) < 0)
        out[min] = *c;
}

static int types(const struct hgraph *h, const struct hresults *r, struct retainer **groups, size_t *ngroups)
{
    uint32_t n = h->n;
    uint32_t *first = calloc((size_t)n + 1, sizeof *first), *kids = malloc((size_t)n * sizeof *kids);
    uint32_t *gid = malloc((size_t)(h->nobjs ? h->nobjs : 1) * sizeof *gid);
    struct frame { uint32_t v, pos; } *stack = malloc((size_t)n * sizeof *stack);
    uint32_t *onbranch = NULL;
    struct retainer *g = NULL;
    struct u64map m = {0};
    size_t ng = 0, cap = 0;
    int rc = -1;
    if (!first || !kids || !gid || !stack)
        goto out;
    /* children of each node, by counting sort on idom */
    for (uint32_t v = 1; v < n; v++)
        if (r->idom[v] != GRAPH_NONE)
            first[r->idom[v] + 1]++;
    for (uint32_t v = 0; v < n; v++)
        first[v + 1] += first[v];
    for (uint32_t v = 1; v < n; v++)
        if (r->idom[v] != GRAPH_NONE)
            kids[first[r->idom[v]]++] = v;
    for (uint32_t v = n; v > 0; v--)
        first[v] = first[v - 1];
    first[0] = 0;
    /* a group per key */
    for (uint32_t i = 0; i < h->nobjs; i++) {
        gid[i] = GRAPH_NONE;
        if (!hg_program(h, i) || r->idom[hg_obj_node(h, i)] == GRAPH_NONE)
            continue;
        uint32_t *x = u64map_slot(&m, h->group[i], (uint32_t)ng);
        if (!x)
            goto out;
        if (*x == ng) {
            if (ng == cap) {
                cap = cap ? 2 * cap : 64;
                struct retainer *ngp = realloc(g, cap * sizeof *ngp);
                if (!ngp)
                    goto out;
                g = ngp;
            }
            g[ng++] = (struct retainer){.node = GRAPH_NONE, .key = h->group[i]};
        }
        gid[i] = *x;
        g[*x].count++;
        g[*x].shallow += h->osize[i];
    }
    if (!(onbranch = calloc(ng ? ng : 1, sizeof *onbranch)))
        goto out;
    /* depth-first over the dominator tree, entering and leaving each node */
    uint32_t sp = 0;
    stack[sp++] = (struct frame){0, first[0]};
    while (sp) {
        struct frame *f = &stack[sp - 1];
        if (f->pos < first[f->v + 1]) {
            uint32_t c = kids[f->pos++];
            if (hg_is_obj(h, c)) {
                uint32_t k = gid[hg_obj_index(h, c)];
                if (k != GRAPH_NONE) {
                    if (onbranch[k] == 0) {
                        g[k].retained_size += r->retained_size[c];
                        g[k].retained_count += r->retained_count[c];
                    }
                    onbranch[k]++;
                }
            }
            stack[sp++] = (struct frame){c, first[c]};
            continue;
        }
        uint32_t v = f->v;
        sp--;
        if (hg_is_obj(h, v) && gid[hg_obj_index(h, v)] != GRAPH_NONE)
            onbranch[gid[hg_obj_index(h, v)]]--;
    }
    if (ng > 1)
        qsort(g, ng, sizeof *g, by_retained);
    *groups = g;
    *ngroups = ng;
    g = NULL;
    rc = 0;
out:
    free(first);
    free(kids);
    free(gid);
    free(stack);
    free(onbranch);
    free(g);
    u64map_free(&m);
    return rc;
}

int retainers_top(const struct hgraph *h, const struct hresults *r, size_t k, struct retainer **objs,
                  size_t *nobjs, struct retainer **roots, size_t *nroots, struct retainer **groups,
                  size_t *ngroups)
{
    *objs = calloc(k ? k : 1, sizeof **objs);
    *roots = calloc(k ? k : 1, sizeof **roots);
    *groups = NULL;
    *nobjs = *nroots = *ngroups = 0;
    if (!*objs || !*roots)
        return -1;
    for (uint32_t v = 1; v < h->n; v++) {
        if (r->idom[v] == GRAPH_NONE || !r->retained_size[v])
            continue;
        if (hg_is_obj(h, v) && !hg_program(h, hg_obj_index(h, v)))
            continue; /* malloc's own chunk: never the program's retainer */
        struct retainer c = {.node = v, .count = 1, .retained_size = r->retained_size[v],
                             .retained_count = r->retained_count[v], .shallow = hg_nsize(h, v)};
        if (hg_is_root(h, v))
            offer(*roots, k, nroots, &c);
        else
            offer(*objs, k, nobjs, &c);
    }
    if (*nobjs > 1)
        qsort(*objs, *nobjs, sizeof **objs, by_retained);
    if (*nroots > 1)
        qsort(*roots, *nroots, sizeof **roots, by_retained);
    return types(h, r, groups, ngroups);
}
