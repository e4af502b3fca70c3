/*
 * goalloc.c — `heapsnap pprof --by alloc` (goalloc.h): the runtime's heap
 * profile from the go_mprof_* tables, written as runtime/pprof's
 * writeHeapProto writes it (Go 1.19, runtime/pprof/proto.go), so that the
 * two are the same profile:
 *
 *  - one sample per bucket (MemProfile with inuseZero: those with nothing
 *    in use too), values alloc_objects, alloc_space, inuse_objects,
 *    inuse_space scaled as scaleHeapSample does for the sampling rate, and
 *    a "bytes" label with the average object size;
 *  - the runtime's own frames at the top of a stack left out, unless that
 *    leaves nothing: go_mprof_stacks.shown_depth says which (go/mprof.c
 *    applies writeHeapProto's rule, by runtime.FuncForPC of each PC);
 *  - runtime.goexit frames left out;
 *  - the PCs of one physical frame (the stack has one PC per inlined call)
 *    folded into one location whose lines are the inlined calls, innermost
 *    first, as its pcDeck does: a PC joins the previous one's location when
 *    the previous frame was inlined, has the same function entry and a
 *    different function name;
 *  - a location is reused for a later stack that reaches the same first
 *    PC, skipping as many PCs as it holds (the runtime's locs cache);
 *  - a location's address is its first PC less one (the call instruction).
 */
#include "pprof/goalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "base/notify.h"

#define MAX_STACK 32 /* runtime.MemProfileRecord.Stack0 */

struct frame {
    uint64_t pc, entry;
    char *func, *file;
    int64_t line;
    int inlined;
};

struct loc {
    uint64_t addr, id;
    size_t npcs;
};

struct gen {
    struct prof *p;
    struct frame *fr;
    size_t nfr;
    struct loc *locs;          /* the locs cache; grown as needed */
    size_t nlocs, caplocs;
    struct u64map loc_of;      /* first PC -> index in locs */
    /* the deck: PCs of one location being built */
    uint64_t deck[MAX_STACK];
    const struct frame *deckf[MAX_STACK];
    size_t ndeck;
    int oom;
};

static char *dup(const unsigned char *s)
{
    return strdup(s ? (const char *)s : "");
}

static const struct frame *find_frame(const struct gen *g, uint64_t pc)
{
    size_t lo = 0, hi = g->nfr;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (g->fr[m].pc < pc)
            lo = m + 1;
        else
            hi = m;
    }
    return lo < g->nfr && g->fr[lo].pc == pc ? &g->fr[lo] : NULL;
}

static const struct loc *find_loc(const struct gen *g, uint64_t addr)
{
    uint32_t i = u64map_find(&g->loc_of, addr, GRAPH_NONE);
    return i == GRAPH_NONE ? NULL : &g->locs[i];
}

/* Write the deck as a location; its id, 0 if the deck is empty. */
static uint64_t emit(struct gen *g)
{
    if (!g->ndeck)
        return 0;
    struct prof_line lines[MAX_STACK];
    for (size_t i = 0; i < g->ndeck; i++) {
        const struct frame *f = g->deckf[i];
        lines[i].function = prof_function(g->p, f ? f->func : "", f ? f->file : "", 0);
        lines[i].line = f ? f->line : 0;
    }
    const struct frame *f0 = g->deckf[0];
    uint64_t addr = f0 && g->deck[0] > f0->entry ? g->deck[0] - 1 : g->deck[0] - (f0 ? 0 : 1);
    uint64_t id = prof_location(g->p, addr, lines, g->ndeck);
    if (g->nlocs == g->caplocs) {
        size_t cap = g->caplocs ? 2 * g->caplocs : 256;
        struct loc *n = realloc(g->locs, cap * sizeof *n);
        if (!n) {
            g->oom = 1;
            return 0;
        }
        g->locs = n;
        g->caplocs = cap;
    }
    uint32_t *slot = u64map_slot(&g->loc_of, g->deck[0], (uint32_t)g->nlocs);
    if (!slot)
        g->oom = 1;
    else
        *slot = (uint32_t)g->nlocs; /* the latest location for a first PC, as the runtime's map keeps */
    g->locs[g->nlocs++] = (struct loc){g->deck[0], id, g->ndeck};
    g->ndeck = 0;
    if (!id)
        g->oom = 1;
    return id;
}

/* pcDeck.tryAdd */
static int try_add(struct gen *g, uint64_t pc, const struct frame *f)
{
    if (g->ndeck) {
        const struct frame *last = g->deckf[g->ndeck - 1];
        if (!last || !f || !last->inlined || last->entry == 0 || f->entry == 0 || last->entry != f->entry ||
            !strcmp(last->func, f->func))
            return 0;
    }
    if (g->ndeck == MAX_STACK)
        return 0;
    g->deck[g->ndeck] = pc;
    g->deckf[g->ndeck++] = f;
    return 1;
}

/* appendLocsForStack: the location ids of stk (leaf first) into locs. */
static size_t locs_for_stack(struct gen *g, const uint64_t *stk, size_t n, uint64_t *locs)
{
    size_t nl = 0;
    while (n > 0) {
        uint64_t addr = stk[0];
        const struct loc *l = find_loc(g, addr);
        if (l) {
            if (g->ndeck && try_add(g, addr, find_frame(g, addr))) {
                stk++, n--;
                continue;
            }
            uint64_t id = emit(g);
            if (id)
                locs[nl++] = id;
            locs[nl++] = l->id;
            size_t skip = l->npcs < n ? l->npcs : n;
            stk += skip, n -= skip;
            continue;
        }
        const struct frame *f = find_frame(g, addr);
        if (f && !strcmp(f->func, "runtime.goexit")) {
            stk++, n--;
            continue;
        }
        if (try_add(g, addr, f)) {
            stk++, n--;
            continue;
        }
        uint64_t id = emit(g);
        if (id)
            locs[nl++] = id;
        try_add(g, addr, f);
        stk++, n--;
    }
    uint64_t id = emit(g);
    if (id)
        locs[nl++] = id;
    return nl;
}

/* runtime/pprof.scaleHeapSample */
static void scale(int64_t count, int64_t size, int64_t rate, int64_t *c, int64_t *s)
{
    if (count == 0 || size == 0) {
        *c = *s = 0;
        return;
    }
    if (rate <= 1) {
        *c = count;
        *s = size;
        return;
    }
    double avg = (double)size / (double)count;
    double k = 1 / (1 - exp(-avg / (double)rate));
    *c = (int64_t)((double)count * k);
    *s = (int64_t)((double)size * k);
}

/* runtime.MemProfileRate at the capture (table go_mprof), or -1; and in
 * *objects whether the runtime's records carry only object counts of the
 * bucket's size (Go 1.27: every sample then has a "bytes" label, the
 * object size, even with nothing allocated yet) rather than byte counts
 * (to 1.26: a label only where something was, of the average size). */
static int64_t profile_rate(sqlite3 *db, int *objects)
{
    sqlite3_stmt *s;
    int64_t v = -1;
    *objects = 0;
    if (sqlite3_prepare_v2(db, "SELECT rate, records FROM go_mprof", -1, &s, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_INTEGER) {
        v = sqlite3_column_int64(s, 0);
        const unsigned char *r = sqlite3_column_text(s, 1);
        *objects = r && !strcmp((const char *)r, "objects");
    }
    sqlite3_finalize(s);
    return v;
}

int goalloc_profile(struct prof *p, sqlite3 *db, const char *file, int progress, char *err, size_t errlen)
{
    struct gen g = {.p = p};
    sqlite3_stmt *fs = NULL, *bs = NULL, *ss = NULL;
    size_t cap = 0;
    int rc = -1;
    if (sqlite3_prepare_v2(db, "SELECT pc, func, file, line, entry, inlined FROM go_mprof_frames"
                               " ORDER BY pc", -1, &fs, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT id, allocs, frees, alloc_bytes, free_bytes, size FROM go_mprof_buckets"
                               " ORDER BY id", -1, &bs, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT pc, shown_depth FROM go_mprof_stacks WHERE bucket = ? ORDER BY depth", -1, &ss,
                           NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: no Go heap profile in the database (--by alloc is for Go programs; "
                 "heapsnap sql %s 'SELECT * FROM warnings' says why a Go heap's was not read)", file, file);
        goto out;
    }
    while (sqlite3_step(fs) == SQLITE_ROW) {
        if (g.nfr == cap) {
            cap = cap ? 2 * cap : 1024;
            struct frame *n = realloc(g.fr, cap * sizeof *n);
            if (!n)
                goto oom;
            g.fr = n;
        }
        struct frame *f = &g.fr[g.nfr++];
        f->pc = (uint64_t)sqlite3_column_int64(fs, 0);
        f->func = dup(sqlite3_column_text(fs, 1));
        f->file = dup(sqlite3_column_text(fs, 2));
        f->line = sqlite3_column_int64(fs, 3);
        f->entry = (uint64_t)sqlite3_column_int64(fs, 4);
        f->inlined = sqlite3_column_int(fs, 5);
        if (!f->func || !f->file)
            goto oom;
    }
    int objects;
    int64_t rate = profile_rate(db, &objects);
    if (rate < 0) {
        snprintf(err, errlen, "%s: runtime.MemProfileRate could not be read: the profile's values cannot be scaled",
                 file);
        goto out;
    }
    prof_sample_type(p, "alloc_objects", "count");
    prof_sample_type(p, "alloc_space", "bytes");
    prof_sample_type(p, "inuse_objects", "count");
    prof_sample_type(p, "inuse_space", "bytes");
    prof_period(p, "space", "bytes", rate);
    prof_default_type(p, "inuse_space");
    uint64_t nb = 0;
    while (sqlite3_step(bs) == SQLITE_ROW) {
        if (progress && (nb & 0x3ff) == 0)
            notify_progress("heap profile buckets", nb, 0);
        nb++;
        uint64_t stk[MAX_STACK], locs[2 * MAX_STACK + 2]; /* at most two ids a PC, and the last deck */
        size_t n = 0, shown = 0;
        int seen_shown = 0;
        sqlite3_bind_int64(ss, 1, sqlite3_column_int64(bs, 0));
        while (n < MAX_STACK && sqlite3_step(ss) == SQLITE_ROW) {
            uint64_t pc = (uint64_t)sqlite3_column_int64(ss, 0);
            if (!pc)
                break; /* MemProfileRecord.Stack stops at the first 0 */
            if (!seen_shown && sqlite3_column_type(ss, 1) != SQLITE_NULL) {
                shown = n; /* the first frame the runtime's profile shows (go/mprof.c) */
                seen_shown = 1;
            }
            stk[n++] = pc;
        }
        sqlite3_reset(ss);
        size_t nl = 0;
        /* as writeHeapProto: the shown frames, and all of them if those
         * give no location */
        for (int hide = 1; hide >= 0; hide--) {
            size_t from = hide ? shown : 0;
            nl = locs_for_stack(&g, stk + from, n - from, locs);
            if (nl > 0 || g.oom)
                break;
        }
        if (g.oom)
            goto oom;
        int64_t allocs = sqlite3_column_int64(bs, 1), frees = sqlite3_column_int64(bs, 2);
        int64_t ab = sqlite3_column_int64(bs, 3), fb = sqlite3_column_int64(bs, 4);
        int64_t v[4];
        scale(allocs, ab, rate, &v[0], &v[1]);
        scale(allocs - frees, ab - fb, rate, &v[2], &v[3]);
        int64_t block = objects ? sqlite3_column_int64(bs, 5) : allocs > 0 ? ab / allocs : 0;
        if (prof_sample(p, locs, nl, v, block ? "bytes" : NULL, block, NULL))
            goto oom;
    }
    if (progress)
        notify_progress_done();
    if (nb == 0) {
        snprintf(err, errlen, "%s: the Go runtime's heap profile has no buckets (runtime.MemProfileRate was 0?)",
                 file);
        goto out;
    }
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "%s: out of memory", file);
out:
    for (size_t i = 0; i < g.nfr; i++) {
        free(g.fr[i].func);
        free(g.fr[i].file);
    }
    free(g.fr);
    free(g.locs);
    u64map_free(&g.loc_of);
    sqlite3_finalize(fs);
    sqlite3_finalize(bs);
    sqlite3_finalize(ss);
    return rc;
}
