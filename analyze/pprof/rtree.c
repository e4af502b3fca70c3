/*
 * rtree.c — building the tree of retention paths (rtree.h).
 *
 * Each object's node is its dominator's node plus one frame, so nodes are
 * assigned from the top of the dominator tree down: for an object whose
 * dominator has no node yet, climb until one that has, then come back
 * down giving each its node.  Every object is visited once on the way down,
 * so the whole build is linear in the heap.
 */
#include "pprof/rtree.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/notify.h"

static int64_t frame(struct rtree *t, const char *name)
{
    uint64_t v;
    if (strmap_get(&t->frame_of, name, &v) == 0)
        return (int64_t)v;
    if (t->nframes == t->capframes) {
        size_t cap = t->capframes ? 2 * t->capframes : 256;
        char **f = realloc(t->frames, cap * sizeof *f);
        if (!f)
            return -1;
        t->frames = f;
        t->capframes = cap;
    }
    if (strmap_add(&t->frame_of, name, t->nframes) != 1)
        return -1;
    t->frames[t->nframes] = (char *)strmap_key(&t->frame_of, name);
    return (int64_t)t->nframes++;
}

/* The child of node p with frame f, made if new; GRAPH_NONE when out of memory. */
static uint32_t child(struct rtree *t, uint32_t p, int64_t f)
{
    if (f < 0)
        return GRAPH_NONE;
    if (t->v[p].frame == (uint32_t)f && p != 0)
        return p; /* a run of equal frames is one */
    if (t->v[p].depth >= RT_MAX_DEPTH) {
        if (t->frames[t->v[p].frame][0] == '.' && !strcmp(t->frames[t->v[p].frame], "..."))
            return p;
        if ((f = frame(t, "...")) < 0)
            return GRAPH_NONE;
    }
    uint32_t *slot = u64map_slot(&t->child, (uint64_t)p << 32 | (uint32_t)f, GRAPH_NONE);
    if (!slot)
        return GRAPH_NONE;
    if (*slot != GRAPH_NONE)
        return *slot;
    if (t->n == t->cap) {
        size_t cap = 2 * t->cap;
        struct rt_node *nv = realloc(t->v, cap * sizeof *nv);
        if (!nv)
            return GRAPH_NONE;
        t->v = nv;
        t->cap = cap;
    }
    struct rt_node *c = &t->v[t->n];
    memset(c, 0, sizeof *c);
    c->parent = p;
    c->frame = (uint32_t)f;
    c->depth = t->v[p].depth + 1;
    *slot = (uint32_t)t->n;
    return (uint32_t)t->n++;
}

struct ctx {
    struct rtree *t;
    const struct hgraph *h;
    unsigned flags;
    sqlite3_stmt *off, *field;
    struct u64map type_frame;  /* group key -> frame of its name */
    struct strmap field_frame; /* "dominator's group:offset:type frame" -> frame with the field */
};

/* The frame of object i reached from node u (its immediate dominator). */
static int64_t object_frame(struct ctx *c, uint32_t u, uint32_t i)
{
    const struct hgraph *h = c->h;
    char name[256], full[512];
    uint32_t *slot = u64map_slot(&c->type_frame, h->group[i], GRAPH_NONE);
    if (!slot)
        return -1;
    if (*slot == GRAPH_NONE) {
        /* an array's length is left out ("T [...]"): the same path in two
         * snapshots must be the same frames for pprof -diff_base */
        uint64_t key = h->group[i];
        int array = (key & HG_TYPED) && key != HG_INTERNAL && hg_key_count(key) > 1;
        hg_group_name(h, array ? hg_type_key(hg_key_type(key), 0) : key, name, sizeof name);
        if (array && strlen(name) + 7 < sizeof name)
            strcat(name, " [...]");
        int64_t f = frame(c->t, name);
        if (f < 0)
            return -1;
        *slot = (uint32_t)f;
    }
    int64_t tf = *slot;
    /* only a typed dominator has fields to name: the two queries below are
     * the build's cost, so an untyped one (most of a C heap) skips them */
    if (!(c->flags & RT_FIELDS) || !c->field || u == 0 ||
        (hg_is_obj(h, u) && (!(h->group[hg_obj_index(h, u)] & HG_TYPED) || h->group[hg_obj_index(h, u)] == HG_INTERNAL)))
        return tf;
    /* the field of u that holds the reference: the first at v's start, else the lowest */
    int64_t off = -1;
    sqlite3_bind_int64(c->off, 1, hg_node_id(h, u));
    sqlite3_bind_int64(c->off, 2, (int64_t)i + 1);
    if (sqlite3_step(c->off) == SQLITE_ROW)
        off = sqlite3_column_int64(c->off, 0);
    sqlite3_reset(c->off);
    if (off < 0)
        return tf;
    /* the field's name depends on the dominator's type and the offset only:
     * asked once per pair, for roots (typed one by one) once per root */
    char key[96];
    uint64_t memo;
    snprintf(key, sizeof key, "%" PRIx64 ":%" PRId64 ":%" PRId64, hg_is_obj(h, u) ? h->group[hg_obj_index(h, u)]
             : (uint64_t)u, off, tf);
    if (strmap_get(&c->field_frame, key, &memo) == 0)
        return (int64_t)memo;
    const char *fld = NULL;
    sqlite3_bind_int64(c->field, 1, hg_node_id(h, u));
    sqlite3_bind_int64(c->field, 2, off);
    if (sqlite3_step(c->field) == SQLITE_ROW && sqlite3_column_text(c->field, 0) &&
        sqlite3_column_text(c->field, 0)[0])
        fld = (const char *)sqlite3_column_text(c->field, 0);
    if (fld) {
        /* element indexes go too: items[17].next is items[].next */
        char norm[256];
        size_t n = 0;
        for (const char *q = fld; *q && n + 1 < sizeof norm; q++) {
            if (*q >= '0' && *q <= '9' && q > fld && (q[-1] == '[' || (q[-1] >= '0' && q[-1] <= '9')))
                continue;
            norm[n++] = *q;
        }
        norm[n] = 0;
        snprintf(full, sizeof full, "%s via %s%s", c->t->frames[tf], norm[0] == '[' ? "" : ".", norm);
        tf = frame(c->t, full);
    }
    sqlite3_reset(c->field);
    if (tf >= 0 && strmap_add(&c->field_frame, key, (uint64_t)tf) < 0)
        return -1;
    return tf;
}

int rtree_build(struct rtree *t, const struct hgraph *h, const struct hresults *r, unsigned flags, int progress)
{
    char name[256];
    struct ctx c = {.t = t, .h = h, .flags = flags};
    uint32_t *tn = NULL, *stack = NULL;
    int rc = -1, in_txn = 0;
    memset(t, 0, sizeof *t);
    t->cap = 1024;
    if (!(t->v = calloc(t->cap, sizeof *t->v)) || !(t->node_of = malloc((h->nobjs + 1) * sizeof *t->node_of)))
        goto out;
    t->n = 1; /* node 0: the tree's root */
    if (frame(t, "") < 0)
        goto out;
    for (uint32_t i = 0; i < h->nobjs; i++)
        t->node_of[i] = GRAPH_NONE;
    /* one read transaction for the queries below, not one each */
    in_txn = sqlite3_get_autocommit(h->db) && sqlite3_exec(h->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
    if ((flags & RT_FIELDS) && h->typed) {
        if (sqlite3_prepare_v2(h->db, "SELECT offset FROM refs WHERE src = ? AND dst = ?"
                                      " ORDER BY interior, offset LIMIT 1", -1, &c.off, NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(h->db, "SELECT field_name(?, ?)", -1, &c.field, NULL) != SQLITE_OK) {
            sqlite3_finalize(c.off);
            c.off = c.field = NULL;
        }
    }
    if (flags & RT_TYPES) {
        for (uint32_t i = 0; i < h->nobjs; i++) {
            if (!hg_program(h, i))
                continue;
            uint32_t k = child(t, 0, object_frame(&c, 0, i));
            if (k == GRAPH_NONE)
                goto out;
            t->node_of[i] = k;
        }
    } else {
        if (!(tn = malloc((size_t)h->n * sizeof *tn)) || !(stack = malloc((size_t)h->n * sizeof *stack)))
            goto out;
        for (uint32_t v = 0; v < h->n; v++)
            tn[v] = GRAPH_NONE;
        if ((tn[0] = child(t, 0, frame(t, "several roots"))) == GRAPH_NONE)
            goto out;
        for (uint32_t v = 1; v <= h->nroots; v++)
            if ((tn[v] = child(t, 0, frame(t, hg_root_name(h, v, name, sizeof name)))) == GRAPH_NONE)
                goto out;
        uint32_t leaked = GRAPH_NONE;
        for (uint32_t i = 0; i < h->nobjs; i++) {
            if (progress && (i & 0xffff) == 0)
                notify_progress("retention paths", i, h->nobjs);
            if (!hg_program(h, i))
                continue;
            uint32_t v = hg_obj_node(h, i);
            if (!hr_reachable(r, v)) {
                if (leaked == GRAPH_NONE && (leaked = child(t, 0, frame(t, "unreachable (leaked)"))) == GRAPH_NONE)
                    goto out;
                if ((tn[v] = child(t, leaked, object_frame(&c, 0, i))) == GRAPH_NONE)
                    goto out;
                continue;
            }
            /* climb to the nearest dominator with a node (bounded: each
             * node is pushed at most once over the whole build) */
            size_t sp = 0;
            uint32_t u = v;
            while (tn[u] == GRAPH_NONE && sp < h->n) {
                stack[sp++] = u;
                u = r->idom[u];
            }
            while (sp > 0) {
                uint32_t w = stack[--sp], d = r->idom[w];
                if (!hg_is_obj(h, w)) /* a root (already done) or a stray: give it the parent's */
                    tn[w] = tn[d];
                else if ((tn[w] = child(t, tn[d], object_frame(&c, d, hg_obj_index(h, w)))) == GRAPH_NONE)
                    goto out;
            }
        }
        for (uint32_t i = 0; i < h->nobjs; i++)
            if (hg_program(h, i))
                t->node_of[i] = tn[hg_obj_node(h, i)];
        if (progress)
            notify_progress_done();
    }
    for (uint32_t i = 0; i < h->nobjs; i++) {
        uint32_t k = t->node_of[i];
        if (k == GRAPH_NONE)
            continue;
        t->v[k].count++;
        t->v[k].bytes += hg_nsize(h, hg_obj_node(h, i));
    }
    for (size_t k = t->n; k-- > 0;) {
        struct rt_node *x = &t->v[k];
        x->total_count += x->count;
        x->total_bytes += x->bytes;
        if (k) {
            t->v[x->parent].total_count += x->total_count;
            t->v[x->parent].total_bytes += x->total_bytes;
        }
    }
    rc = 0;
out:
    if (rc && progress)
        notify_progress_done();
    sqlite3_finalize(c.off);
    sqlite3_finalize(c.field);
    if (in_txn)
        sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL);
    u64map_free(&c.type_frame);
    strmap_free(&c.field_frame);
    free(tn);
    free(stack);
    if (rc)
        rtree_free(t);
    return rc;
}

void rtree_free(struct rtree *t)
{
    free(t->v);
    free(t->frames);
    strmap_free(&t->frame_of);
    u64map_free(&t->child);
    free(t->node_of);
    memset(t, 0, sizeof *t);
}
