/*
 * leaks.c — what `heapsnap leaks` reports: the used objects no root
 * reaches, grouped, and the heads that hold them.
 *
 * Heads.  A leak head is a leaked object nothing else leaked points to: the
 * block the program lost its last pointer to, with everything under it
 * lost as a consequence (chap calls these "unreferenced" versus "leaked").
 * Leaked cycles have no such object — every member of a lost ring is
 * pointed to by another — so the rule is taken over strongly connected
 * components: condense the leaked subgraph into its SCCs (iterative Tarjan,
 * no recursion: a lost list can be millions long), and each SCC with no
 * edge coming in from another leaked SCC gives one head, its member with
 * the lowest address.  A plain head is then the one-member case.  Every
 * leaked object is reachable from some head, so the heads account for the
 * whole leak.
 *
 * What a head holds is everything reachable from it inside the leaked set:
 * what freeing the structure from that head would give back.  Heads can
 * share a sub-structure, so held totals may add up to more than the leak;
 * each object's head column names the first head (largest first) that
 * reaches it.
 */
#include "analysis/analysis.h"

#include <stdlib.h>
#include <string.h>

#include "base/notify.h"
#include "db/db.h"

#define UNSET GRAPH_NONE

/* Heads can share one big lost structure, which makes holding quadratic;
 * past this many steps, later heads count only objects no head reached
 * yet (a lower bound, flagged). */
#define HOLD_BUDGET 200000000ull

static int leaked(const struct hgraph *h, const struct hresults *r, uint32_t v)
{
    /* malloc's own chunks are never the program's leak, nor is a collector's garbage (analysis.h) */
    return hg_is_obj(h, v) && hg_program(h, hg_obj_index(h, v)) && !h->collected[hg_obj_index(h, v)] &&
           r->idom[v] == GRAPH_NONE;
}

/*
 * Tarjan's SCC algorithm over the leaked objects, iteratively.  comp[i]
 * gets the component number of leaked object i (UNSET for others).
 * Returns the number of components, or -1 on out-of-memory.
 */
static int64_t scc(const struct hgraph *h, const struct hresults *r, uint32_t *comp)
{
    uint32_t n = h->nobjs;
    uint32_t *idx = malloc((size_t)n * sizeof *idx), *low = malloc((size_t)n * sizeof *low);
    uint32_t *stk = malloc((size_t)n * sizeof *stk);
    struct frame { uint32_t v, pos; } *call = malloc((size_t)n * sizeof *call);
    uint8_t *on = calloc(n, 1);
    int64_t ncomp = -1;
    if (!idx || !low || !stk || !call || !on)
        goto out;
    for (uint32_t i = 0; i < n; i++)
        idx[i] = comp[i] = UNSET;
    uint32_t counter = 0, sp = 0;
    ncomp = 0;
    for (uint32_t s = 0; s < n; s++) {
        if (idx[s] != UNSET || !leaked(h, r, hg_obj_node(h, s)))
            continue;
        uint32_t depth = 0;
        call[depth++] = (struct frame){s, 0};
        idx[s] = low[s] = counter++;
        stk[sp++] = s;
        on[s] = 1;
        while (depth) {
            struct frame *f = &call[depth - 1];
            uint32_t v = f->v, node = hg_obj_node(h, v);
            if (f->pos < graph_out_degree(&h->g, node)) {
                uint32_t wn = graph_out(&h->g, node)[f->pos++];
                if (!leaked(h, r, wn))
                    continue;
                uint32_t w = hg_obj_index(h, wn);
                if (idx[w] == UNSET) {
                    idx[w] = low[w] = counter++;
                    stk[sp++] = w;
                    on[w] = 1;
                    call[depth++] = (struct frame){w, 0};
                } else if (on[w] && idx[w] < low[v]) {
                    low[v] = idx[w];
                }
                continue;
            }
            depth--;
            if (low[v] == idx[v]) {
                uint32_t w;
                do {
                    w = stk[--sp];
                    on[w] = 0;
                    comp[w] = (uint32_t)ncomp;
                } while (w != v);
                ncomp++;
            }
            if (depth) {
                uint32_t p = call[depth - 1].v;
                if (low[v] < low[p])
                    low[p] = low[v];
            }
        }
    }
out:
    free(idx);
    free(low);
    free(stk);
    free(call);
    free(on);
    return ncomp;
}

static int by_held(const void *a, const void *b)
{
    const struct leak_head *x = a, *y = b;
    if (x->held_bytes != y->held_bytes)
        return x->held_bytes < y->held_bytes ? 1 : -1;
    return x->obj < y->obj ? -1 : x->obj > y->obj;
}

static int by_bytes(const void *a, const void *b)
{
    const struct leak_group *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    return x->key < y->key ? -1 : x->key > y->key;
}

/* The heads: one per source component, its lowest-addressed member. */
static int find_heads(struct leaks *l, const struct hgraph *h, const struct hresults *r, const uint32_t *comp,
                      uint32_t ncomp)
{
    uint8_t *entered = calloc(ncomp ? ncomp : 1, 1);
    uint32_t *rep = malloc((ncomp ? ncomp : 1) * sizeof *rep), *size = calloc(ncomp ? ncomp : 1, sizeof *size);
    if (!entered || !rep || !size) {
        free(entered);
        free(rep);
        free(size);
        return -1;
    }
    for (uint32_t c = 0; c < ncomp; c++)
        rep[c] = UNSET;
    for (uint32_t i = 0; i < h->nobjs; i++) {
        if (comp[i] == UNSET)
            continue;
        if (rep[comp[i]] == UNSET)
            rep[comp[i]] = i; /* objects go by address, so the first is the lowest */
        size[comp[i]]++;
        uint32_t v = hg_obj_node(h, i);
        const uint32_t *out = graph_out(&h->g, v);
        for (uint32_t k = 0; k < graph_out_degree(&h->g, v); k++)
            if (leaked(h, r, out[k]) && comp[hg_obj_index(h, out[k])] != comp[i])
                entered[comp[hg_obj_index(h, out[k])]] = 1;
    }
    size_t nh = 0;
    for (uint32_t c = 0; c < ncomp; c++)
        nh += !entered[c];
    l->heads = calloc(nh ? nh : 1, sizeof *l->heads);
    if (l->heads)
        for (uint32_t c = 0; c < ncomp; c++)
            if (!entered[c])
                l->heads[l->nheads++] = (struct leak_head){.obj = rep[c], .scc_size = size[c]};
    free(entered);
    free(rep);
    free(size);
    return l->heads ? 0 : -1;
}

/* Held totals by a search from each head inside the leaked set.  A stamp
 * per object (the head's number) saves clearing a visited set per head. */
static int hold(struct leaks *l, const struct hgraph *h, const struct hresults *r)
{
    uint32_t *stamp = malloc((size_t)h->nobjs * sizeof *stamp), *stack = malloc((size_t)h->nobjs * sizeof *stack);
    if (!stamp || !stack) {
        free(stamp);
        free(stack);
        return -1;
    }
    for (uint32_t i = 0; i < h->nobjs; i++)
        stamp[i] = UNSET;
    uint64_t steps = 0;
    for (size_t k = 0; k < l->nheads; k++) {
        struct leak_head *hd = &l->heads[k];
        int partial = steps > HOLD_BUDGET;
        l->held_partial |= partial;
        uint32_t sp = 0;
        stack[sp++] = hd->obj;
        stamp[hd->obj] = (uint32_t)k;
        while (sp) {
            uint32_t i = stack[--sp];
            hd->held_count++;
            hd->held_bytes += h->osize[i];
            uint32_t v = hg_obj_node(h, i);
            const uint32_t *out = graph_out(&h->g, v);
            for (uint32_t e = 0; e < graph_out_degree(&h->g, v); e++) {
                if (!leaked(h, r, out[e]))
                    continue;
                uint32_t w = hg_obj_index(h, out[e]);
                steps++;
                if (stamp[w] != (uint32_t)k && (!partial || stamp[w] == UNSET)) {
                    stamp[w] = (uint32_t)k;
                    stack[sp++] = w;
                }
            }
        }
        if (k % 4096 == 0)
            notify_progress("leak heads", k, l->nheads);
    }
    free(stamp);
    free(stack);
    if (l->nheads > 1)
        qsort(l->heads, l->nheads, sizeof *l->heads, by_held);
    return 0;
}

/* head_of: the first head, largest first, that reaches each object. */
static int assign(struct leaks *l, const struct hgraph *h, const struct hresults *r)
{
    uint32_t *stack = malloc((size_t)(h->nobjs ? h->nobjs : 1) * sizeof *stack);
    if (!stack)
        return -1;
    for (size_t k = 0; k < l->nheads; k++) {
        uint32_t head = l->heads[k].obj, sp = 0;
        if (l->head_of[head] != UNSET)
            continue;
        l->head_of[head] = head;
        stack[sp++] = head;
        while (sp) {
            uint32_t v = hg_obj_node(h, stack[--sp]);
            const uint32_t *out = graph_out(&h->g, v);
            for (uint32_t e = 0; e < graph_out_degree(&h->g, v); e++) {
                if (!leaked(h, r, out[e]))
                    continue;
                uint32_t w = hg_obj_index(h, out[e]);
                if (l->head_of[w] == UNSET) {
                    l->head_of[w] = head;
                    stack[sp++] = w;
                }
            }
        }
    }
    free(stack);
    return 0;
}

static int group(struct leaks *l, const struct hgraph *h, const struct hresults *r)
{
    struct u64map m = {0};
    size_t cap = 0;
    for (uint32_t i = 0; i < h->nobjs; i++) {
        if (h->collected[i] && hg_program(h, i) && r->idom[hg_obj_node(h, i)] == GRAPH_NONE) {
            l->garbage_count++;
            l->garbage_bytes += h->osize[i];
        }
        if (!leaked(h, r, hg_obj_node(h, i)))
            continue;
        l->count++;
        l->bytes += h->osize[i];
        uint32_t *g = u64map_slot(&m, h->group[i], (uint32_t)l->ngroups);
        if (!g)
            goto oom;
        if (*g == l->ngroups) {
            if (l->ngroups == cap) {
                cap = cap ? 2 * cap : 64;
                struct leak_group *ng = realloc(l->groups, cap * sizeof *ng);
                if (!ng)
                    goto oom;
                l->groups = ng;
            }
            l->groups[l->ngroups++] = (struct leak_group){.key = h->group[i]};
        }
        struct leak_group *lg = &l->groups[*g];
        lg->count++;
        lg->bytes += h->osize[i];
        if (lg->nexamples < 4)
            lg->examples[lg->nexamples++] = i;
    }
    u64map_free(&m);
    if (l->ngroups > 1)
        qsort(l->groups, l->ngroups, sizeof *l->groups, by_bytes);
    return 0;
oom:
    u64map_free(&m);
    return -1;
}

/*
 * Everything below follows only edges from a leaked object to a leaked
 * object.  The refs are clustered by target, so those are a lookup per
 * leaked object: next to nothing for the usual heap, against reading every
 * reference (3.4 s for 27M on bench/analyze's heap).  Past one leaked
 * object in LOOKUPS_MAX_SHARE, the one scan of them all is the cheaper.
 */
#define LOOKUPS_MAX_SHARE 8

int leaks_load_refs(struct hgraph *h, const struct hresults *r, char *err, size_t errlen)
{
    if (h->refs_loaded || h->refs_among)
        return 0;
    uint8_t *keep = calloc((size_t)h->nobjs + 1, 1);
    if (!keep) {
        snprintf(err, errlen, "%s: out of memory", h->file);
        return -1;
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < h->nobjs; i++)
        n += keep[i] = (uint8_t)leaked(h, r, hg_obj_node(h, i));
    int rc = n > h->nobjs / LOOKUPS_MAX_SHARE ? hgraph_load_refs(h, err, errlen)
                                              : hgraph_load_refs_among(h, keep, err, errlen);
    free(keep);
    return rc;
}

int leaks_find(struct leaks *l, const struct hgraph *h, const struct hresults *r)
{
    memset(l, 0, sizeof *l);
    uint32_t *comp = malloc((size_t)(h->nobjs ? h->nobjs : 1) * sizeof *comp);
    l->head_of = malloc((size_t)(h->nobjs ? h->nobjs : 1) * sizeof *l->head_of);
    if (!comp || !l->head_of) {
        free(comp);
        return -1;
    }
    for (uint32_t i = 0; i < h->nobjs; i++)
        l->head_of[i] = UNSET;
    int64_t ncomp = scc(h, r, comp);
    int rc = ncomp < 0 || find_heads(l, h, r, comp, (uint32_t)ncomp) || hold(l, h, r) || assign(l, h, r) ||
                     group(l, h, r)
                 ? -1
                 : 0;
    notify_progress_done();
    free(comp);
    return rc;
}

int leaks_store(const struct leaks *l, const struct hgraph *h, const struct leaks_answer *ans, char *err,
                size_t errlen)
{
    /* written every time, not once: the leaks are cheap to find again, and
     * their group names change when types are inferred after the fact */
    if (sqlite3_db_readonly(h->db, "main") == 1)
        return 0;
    if (analysis_begin(h->db, h->file,
                      "DROP TABLE IF EXISTS leaks; DROP TABLE IF EXISTS leak_heads;"
                      "CREATE TABLE leaks(object INTEGER PRIMARY KEY, head INTEGER NOT NULL, group_key TEXT);"
                      "CREATE TABLE leak_heads(object INTEGER PRIMARY KEY, held_count INTEGER NOT NULL,"
                      " held_bytes INTEGER NOT NULL, scc_size INTEGER NOT NULL);",
                      err, errlen))
        return -1;
    sqlite3_stmt *a = NULL, *b = NULL;
    int ok = sqlite3_prepare_v2(h->db, "INSERT INTO leaks VALUES(?,?,?)", -1, &a, NULL) == SQLITE_OK &&
             sqlite3_prepare_v2(h->db, "INSERT INTO leak_heads VALUES(?,?,?,?)", -1, &b, NULL) == SQLITE_OK;
    char g[128];
    for (uint32_t i = 0; ok && i < h->nobjs; i++) {
        if (l->head_of[i] == UNSET)
            continue;
        sqlite3_bind_int64(a, 1, (int64_t)i + 1);
        sqlite3_bind_int64(a, 2, (int64_t)l->head_of[i] + 1);
        sqlite3_bind_text(a, 3, hg_group_name(h, h->group[i], g, sizeof g), -1, SQLITE_TRANSIENT);
        ok = sqlite3_step(a) == SQLITE_DONE;
        sqlite3_reset(a);
    }
    for (size_t k = 0; ok && k < l->nheads; k++) {
        sqlite3_bind_int64(b, 1, (int64_t)l->heads[k].obj + 1);
        sqlite3_bind_int64(b, 2, (int64_t)l->heads[k].held_count);
        sqlite3_bind_int64(b, 3, (int64_t)l->heads[k].held_bytes);
        sqlite3_bind_int64(b, 4, l->heads[k].scc_size);
        ok = sqlite3_step(b) == SQLITE_DONE;
        sqlite3_reset(b);
    }
    sqlite3_finalize(a);
    sqlite3_finalize(b);
    /* the answer goes with the tables it was found with: both or neither */
    ok = ok && (!ans || leaks_answer_write(ans, h->db) == 0);
    if (!ok || db_step_mark(h->db, "leaks", 0) || analysis_exec(h->db, h->file, "COMMIT", err, errlen)) {
        snprintf(err, errlen, "%s: storing leaks: %s", h->file, sqlite3_errmsg(h->db));
        sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

void leaks_free(struct leaks *l)
{
    free(l->head_of);
    free(l->groups);
    free(l->heads);
    memset(l, 0, sizeof *l);
}
