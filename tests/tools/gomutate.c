/*
 * gomutate.c — the Go walker against damaged runtime metadata: the driver
 * of tests/t3410-go-mutate.sh.
 *
 *   gomutate ROUNDS [--seed N] SNAPSHOT.hsnap
 *
 * Walks the snapshot once with every optional hook (roots, pointer maps for
 * every used object, tables), notes where the runtime's metadata lies —
 * mspans, heapArena span tables and bitmaps (Go 1.19), the pointer bits,
 * inline mark bits and malloc headers in spans (1.22+), mheap_ and its
 * heap ranges, allgs and the g's,
 * allp and the mcaches, memstats, gcController, firstmoduledata — then, ROUNDS
 * times, overwrites a few of those words with hostile values (zero, small
 * numbers, pointers into the heap, flipped bits, 0x4141..., random), writes
 * the snapshot anew and reads it back from memory (mutated.h, shared with
 * heapwalk) and walks it again.  A round over 20 s is a hang and kills the tool; any
 * sanitizer report fails it.  Prints "rounds N objects N problems N".
 *
 * Exit: 0, 1 if the snapshot cannot be read or has no Go heap, 2 usage.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heap/go/internal.h"
#include "mutated.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

struct tally {
    uint64_t objects, problems, rows;
    uint64_t *used;   /* used object addresses and sizes, pairs */
    size_t nused, capused;
    int keep;
};

static void on_object(struct heap_ctx *c, const struct heap_object *o)
{
    struct tally *t = c->user;
    t->objects++;
    if (o->state != OBJ_USED || t->nused + 2 > 4000000)
        return;
    if (t->nused + 2 > t->capused) {
        size_t n = t->capused ? 2 * t->capused : 1024;
        uint64_t *v = realloc(t->used, n * sizeof *v);
        if (!v)
            abort();
        t->used = v;
        t->capused = n;
    }
    t->used[t->nused++] = o->addr;
    t->used[t->nused++] = o->size;
}
static void on_region(struct heap_ctx *c, const struct heap_region *r) { (void)c; (void)r; }
static void on_fact(struct heap_ctx *c, const char *k, const char *v) { (void)c; (void)k; (void)v; }
static void on_problem(struct heap_ctx *c, uint64_t a, const char *fmt, ...)
{
    (void)a;
    (void)fmt;
    ((struct tally *)c->user)->problems++;
}
static void on_root(struct heap_ctx *c, const struct heap_root *r)
{
    (void)r;
    ((struct tally *)c->user)->rows++;
}
static int on_table(struct heap_ctx *c, const char *n, const struct heap_column *col, size_t nc)
{
    (void)c; (void)n; (void)col; (void)nc;
    return 0;
}
static int on_row(struct heap_ctx *c, const char *n, const struct heap_value *v, size_t nc)
{
    (void)n;
    for (size_t i = 0; i < nc; i++)
        if (v[i].kind == HV_TEXT && v[i].s)
            ((struct tally *)c->user)->rows += strlen(v[i].s) > 0;
    ((struct tally *)c->user)->rows++;
    return 0;
}

/* Where the metadata is: address ranges to mutate, from a clean walk. */
struct target {
    uint64_t lo, hi;
};
static struct target *targets;
static size_t ntargets, captargets;

static void target(uint64_t lo, uint64_t len)
{
    if (!lo || len < 8)
        return;
    if (ntargets == captargets) {
        captargets = captargets ? 2 * captargets : 256;
        if (!(targets = realloc(targets, captargets * sizeof *targets)))
            abort();
    }
    targets[ntargets++] = (struct target){lo, lo + len};
}

/* Walk s with every hook; with 'note', remember the metadata's places. */
static int walk(const struct hs_snapshot *s, struct dbg *d, struct tally *t, int note)
{
    struct heap_ctx c = {.snap = s, .dbg = d, .user = t, .object = on_object, .region = on_region,
                         .fact = on_fact, .problem = on_problem, .keep_state = 1, .root = on_root,
                         .table = on_table, .row = on_row};
    if (!go_allocator.detect(&c))
        return -1;
    if (go_allocator.walk(&c) == 0) {
        go_allocator.roots(&c);
        uint64_t mask[1024];
        for (size_t i = 0; i < t->nused; i += 2)
            go_allocator.pointer_words(c.walker, t->used[i], t->used[i + 1], mask, 1024);
        go_allocator.tables(&c);
    }
    struct go_walk *w = c.walker;
    if (note && w) {
        const struct go_layout *L = &w->L;
        target(L->mheap + (uint64_t)L->h_allspans, 16);
        target(L->mheap + (uint64_t)L->h_arenas, 8);
        target(L->mheap + (uint64_t)L->h_allarenas, 16);
        target(L->mheap + (uint64_t)L->h_inuse_ranges, 16);
        uint64_t ranges = 0;
        if (!hs_read_u64(s, L->mheap + (uint64_t)L->h_inuse_ranges, &ranges))
            target(ranges, 4 * L->addr_range_size);
        target(L->allgs, 16);
        target(L->allp, 16);
        target(L->memstats, 4096);
        target(L->gc_controller, 352);
        target(L->firstmoduledata, 552);
        for (size_t i = 0; i < w->nspans; i++) {
            const struct go_span *sp = &w->spans[i];
            target(sp->mspan, L->span_size);
            /* Go 1.22+: a span's own pointer bits and inline mark bits at
             * its end, and the malloc headers of its first objects */
            if (sp->hb_off)
                target(sp->start + sp->hb_off, sp->end - sp->start - sp->hb_off);
            for (uint32_t k = 0; sp->header && k < sp->nelems && k < 4; k++)
                target(sp->start + (uint64_t)k * sp->elemsize, 8);
        }
        for (size_t i = 0; i < w->narenas; i++) {
            target(w->arenas[i].meta + (uint64_t)L->ha_spans, 8192 * 8);
            if (L->ha_bitmap >= 0) /* Go 1.19's arena bitmap */
                target(w->arenas[i].meta + (uint64_t)L->ha_bitmap, 64 * 1024);
        }
        for (size_t i = 0; i < w->ngs; i++)
            target(w->gs[i].addr, L->g_size);
    }
    if (w)
        go_allocator.release(&c);
    return 0;
}

static uint64_t bad_value(const struct hs_snapshot *s, uint64_t a, const struct tally *t)
{
    uint64_t old = 0;
    hs_read_u64(s, a, &old);
    switch (rnd() % 7) {
    case 0: return 0;
    case 1: return rnd() % 4096;
    case 2: return t->nused ? t->used[2 * (rnd() % (t->nused / 2))] : 0;
    case 3: return old ^ (1ull << (rnd() % 64));
    case 4: return 0x4141414141414141ull;
    case 5: return old + 8 * (rnd() % 64);
    default: return rnd();
    }
}

int main(int argc, char **argv)
{
    unsigned rounds = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            rng = strtoull(argv[++i], NULL, 0) * 2654435761u + 1;
        else if (!rounds && atoi(argv[i]) > 0)
            rounds = (unsigned)atoi(argv[i]);
        else
            path = argv[i];
    }
    if (!rounds || !path) {
        fprintf(stderr, "usage: gomutate ROUNDS [--seed N] SNAPSHOT.hsnap\n");
        return 2;
    }
    struct hs_error err;
    struct hs_snapshot *s = hs_open(path, 0, &err);
    if (!s) {
        fprintf(stderr, "gomutate: %s\n", err.msg);
        return 1;
    }
    struct dbg_options o = {0};
    struct dbg *d = dbg_open(s, &o);
    struct tally clean = {0};
    if (!d || walk(s, d, &clean, 1) || !ntargets) {
        fprintf(stderr, "gomutate: %s: no Go heap to mutate\n", path);
        return 1;
    }
    uint64_t objects = 0, problems = 0;
    for (unsigned round = 0; round < rounds; round++) {
        struct mutation m[8];
        size_t nm = 1 + rnd() % 8;
        for (size_t k = 0; k < nm; k++) {
            const struct target *tg = &targets[rnd() % ntargets];
            uint64_t a = (tg->lo + rnd() % (tg->hi - tg->lo)) & ~7ull;
            m[k] = (struct mutation){a, bad_value(s, a, &clean)};
        }
        struct hs_snapshot *ms = mutated_snapshot(s, m, nm, 0, "gomutate", "mutated");
        if (!ms) {
            fprintf(stderr, "gomutate: round %u: could not rewrite the snapshot\n", round);
            return 1;
        }
        struct tally t = {0}; /* pointer maps are asked for what this walk reported */
        alarm(20);
        walk(ms, d, &t, 0);
        alarm(0);
        objects += t.objects;
        problems += t.problems;
        free(t.used);
        hs_close(ms);
    }
    printf("rounds %u objects %llu problems %llu\n", rounds, (unsigned long long)objects,
           (unsigned long long)problems);
    free(clean.used);
    free(targets);
    dbg_close(d);
    hs_close(s);
    return 0;
}
