/*
 * go/walker.c — the Go runtime heap walker (go_allocator; see allocator.h),
 * for Go binaries on linux/amd64: Go 1.19, and 1.22 and later (allocation
 * headers; tested on 1.26 and 1.27), told apart by go/layout.c from the
 * structures their DWARF describes.
 *
 * Recognising Go: the executable defines runtime.mheap_ and
 * runtime.firstmoduledata — or, stripped, its build info says it is Go
 * (go/buildinfo.c), and the walk is refused saying what to pass, unless
 * debuginfo matched its unstripped build (debuginfo/gobuild.c).  Every layout then comes from the executable's
 * DWARF (go/layout.c); without DWARF (a binary built with -ldflags=-w) the
 * walk is refused with a problem saying so.
 *
 * What the walk reports (the pieces live in go_*.c, see go/internal.h):
 *   objects  every allocated slot of every in-use span (go/spans.c);
 *            where = 'go-span'.  Free slots and free page runs are no
 *            objects: they are counts and bytes on their span in the
 *            go_spans table (below)
 *   regions  "go-heap": the arenas' in-use spans and free runs; the spans
 *            holding goroutine stacks too when the pipeline takes the
 *            goroutines as roots (otherwise they stay anonymous memory, a
 *            conservative root); and then "go-runtime": the runtime's
 *            anonymous memory outside the arenas, which Go never scans
 *            (go/offheap.c)
 *   facts    go.version, go.arena_base_offset, go.objects, go.object_bytes,
 *            go.free_slots, go.free_slot_bytes, go.spans, go.unswept_spans,
 *            go.goroutines, ...
 * and, through the optional hooks:
 *   roots          each live goroutine's stack, one root per frame with the
 *                  mask of its pointer words from the function's stack maps
 *                  at that pc, conservatively only where the runtime is
 *                  (go/stacks.c)
 *   object_type_word  the type an object was allocated as (1.22+: its
 *                  malloc header or its span's largeType), for the typing
 *                  pass's 'malloc-header' source
 *   pointer_words  the runtime's pointer data (go/ptrbits.c): scan spans are scanned precisely,
 *                  noscan spans not at all; and .data/.bss by their GC
 *                  masks (go/globals.c)
 *   type_name      a runtime type descriptor's (or itab's) name, for a
 *                  typing pass meeting an interface value (go/types.c);
 *                  interface_types names the runtime.iface/eface structs
 *                  that such values are in the DWARF
 *   roots          also each P's tiny-allocation block (mcache.tiny, as a
 *                  'runtime' root), and per finalizer (go/finalizers.c): the object's
 *                  memory (its referents, not itself) and the funcval
 *   tables         go_spans (go/spans.c: every span and free page run, with
 *                  its free slots' count, bytes and resident bytes),
 *                  go_finalizers, goroutines (go/goroutines.c), go_frames
 *                  (go/frames.c: each goroutine's stack as file:line), go_memstats
 *                  and go_metrics (go/memstats.c), and go_itypes: the dynamic types of
 *                  the objects interface values point to (go/types.c)
 *
 * The Go heap comes first in the allocator table and is the snapshot's
 * allocator; a cgo program has glibc's heap too, which the indexer walks
 * beside it (beside_malloc): glibc's objects are heap 'glibc', and its
 * regions are left out of the "go-runtime" claim (c->claimed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "heap/go/internal.h"
#include "heap/go/mprof.h"

/* HEAPSNAP_TIMING=1: the walker's own phases on stderr, in the indexer's
 * format (bench/go-index reads them); phase(NULL) starts the clock. */
static struct phase_clock go_clock;

static void phase(const char *name)
{
    char label[64];
    if (name)
        snprintf(label, sizeof label, "go %s", name);
    phase_mark(&go_clock, name ? label : NULL);
}

static int have_runtime_symbols(const struct heap_ctx *c)
{
    return c->dbg && dbg_symbol_by_name(c->dbg, "runtime.mheap_", -1) &&
           dbg_symbol_by_name(c->dbg, "runtime.firstmoduledata", -1);
}

/* Go by its runtime's symbols, or without them by its build info
 * (go/buildinfo.c): a stripped Go program is still Go, refused by name. */
static int go_detect(struct heap_ctx *c)
{
    struct go_ident id;
    return have_runtime_symbols(c) || go_recognise(c, &id) == 0;
}

static void go_free(struct go_walk *w)
{
    if (!w)
        return;
    go_mem_close(w);
    go_globals_free(w);
    go_gctypes_free(w);
    free(w->arenas);
    free(w->spans);
    free(w->span_dir);
    free(w->runs);
    free(w->funcs);
    free(w->gs);
    free(w->gpc);
    free(w->gpc_off);
    free(w->gpc_n);
    free(w->fins);
    free(w);
}

/* runtime.buildVersion, a Go string: "go1.19.8". */
static void version_fact(struct go_walk *w)
{
    uint64_t a, sz, p, n;
    char v[64];
    if (dbg_variable(w->c->dbg, "runtime.buildVersion", w->module, &a, &sz) || go_u64(w, a, &p) ||
        go_u64(w, a + 8, &n) || n == 0 || n >= sizeof v || go_read(w, p, v, n))
        return;
    v[n] = 0;
    w->c->fact(w->c, "go.version", v);
}

static int go_walk_heap(struct heap_ctx *c)
{
    struct go_ident id;
    if (!have_runtime_symbols(c)) {
        if (go_recognise(c, &id) == 0)
            go_refuse_stripped(c, &id);
        return -1;
    }
    struct go_walk *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    w->c = c;
    w->fd = -1;
    const struct dbg_symbol *sym = dbg_symbol_by_name(c->dbg, "runtime.mheap_", -1);
    w->module = sym ? sym->module : 0;
    const struct dbg_module_info *mi = dbg_module(c->dbg, (size_t)w->module);
    if (!mi || !mi->has_dwarf) {
        c->problem(c, 0, "go: the executable has no DWARF (built with -ldflags=-w?): the Go heap's layout "
                   "cannot be read, so it is not walked");
        go_free(w);
        return -1;
    }
    if (go_mem_open(w))
        c->problem(c, 0, "go: the executable's file could not be opened: function names and wait reasons "
                   "are read from it and will be missing");
    phase(NULL);
    if (go_layout_load(w)) {
        go_free(w);
        return -1;
    }
    phase("layout (DWARF)");
    if (go_spans_walk(w)) {
        go_free(w);
        return -1;
    }
    phase("spans, objects");
    if (c->root && go_offheap_claim(w)) {
        go_free(w);
        return -1;
    }
    version_fact(w);
    heap_fact_hex(c, "go.arena_base_offset", w->arena_offset);
    heap_fact_u64(c, "go.arenas", w->narenas);
    heap_fact_u64(c, "go.objects", w->objects);
    heap_fact_u64(c, "go.object_bytes", w->object_bytes);
    /* free slots are counts on their spans (go_spans), not objects */
    heap_fact_u64(c, "go.free_slots", w->free_slots);
    heap_fact_u64(c, "go.free_slot_bytes", w->free_slot_bytes);
    uint64_t inuse_spans = 0;
    for (size_t i = 0; i < w->nspans; i++)
        inuse_spans += w->spans[i].state == 1;
    heap_fact_u64(c, "go.spans", inuse_spans);
    heap_fact_u64(c, "go.unswept_spans", w->unswept);
    if (go_pclntab_load(w))
        c->problem(c, 0, "go: the pclntab could not be read: goroutines have no function names");
    go_goroutines_load(w);
    phase("goroutines");
    if (go_globals_load(w))
        c->problem(c, 0, "go: the module data's sections could not be read: globals are scanned conservatively");
    if (go_types_load(w))
        c->problem(c, 0, "go: the module's type descriptors could not be found: interface values are not typed");
    /* allgs keeps dead goroutines for reuse: they are not the program's */
    uint64_t dead = 0;
    for (size_t i = 0; i < w->ngs; i++)
        dead += w->gs[i].status == (uint32_t)w->L.g_dead;
    heap_fact_u64(c, "go.goroutines", w->ngs - dead);
    heap_fact_u64(c, "go.goroutines_dead", dead);
    if (go_finalizers_load(w)) {
        go_free(w);
        return -1;
    }
    heap_fact_u64(c, "go.finalizers", w->nfins);
    go_memstats_compute(w);
    phase("memstats");
    int rc = w->nspans ? 0 : -1;
    if (c->keep_state)
        c->walker = w;
    else
        go_free(w);
    return rc;
}

static void go_roots(struct heap_ctx *c)
{
    struct go_walk *w = c->walker;
    if (!w || !c->root)
        return;
    go_stack_roots(w, c); /* go/stacks.c: frame by frame, by the stack maps */
    /* Each P's active tiny-allocation block: mcache.tiny is a uintptr,
     * which points at no object for a scan, but the collector greys the
     * block at each cycle's start (mgcmark.go gcMarkTinyAllocs), so what
     * was packed into it lives; the word is the root. */
    uint64_t parr = 0, plen = 0;
    if (go_u64(w, w->L.allp, &parr) || go_u64(w, w->L.allp + 8, &plen))
        c->problem(c, w->L.allp, "go: runtime.allp was not captured: the Ps' tiny blocks are no roots");
    for (uint64_t i = 0; i < plen && i < GO_MAX_PS; i++) {
        uint64_t p, mc, tiny;
        char name[48];
        if (go_u64(w, parr + i * 8, &p) || !p || go_field(w, p, w->L.p_mcache, 8, &mc) || !mc ||
            go_field(w, mc, w->L.mc_tiny, 8, &tiny) || !tiny)
            continue;
        snprintf(name, sizeof name, "tiny block of P %llu", (unsigned long long)i);
        struct heap_root r = {.addr = mc + (uint64_t)w->L.mc_tiny, .size = 8, .name = name,
                              .kind = HEAP_ROOT_RUNTIME};
        c->root(c, &r);
    }
    /* Finalizers, as the collector roots them (go/finalizers.c): what the
     * object points to, not the object; and the finalizer's funcval. */
    for (size_t i = 0; i < w->nfins; i++) {
        const struct go_fin *f = &w->fins[i];
        char name[96];
        snprintf(name, sizeof name, "finalizer of 0x%llx", (unsigned long long)f->object);
        struct heap_root r = {.addr = f->object, .size = f->size, .name = name, .kind = HEAP_ROOT_FINALIZER};
        c->root(c, &r);
        if (!f->fn)
            continue;
        snprintf(name, sizeof name, "finalizer fn of 0x%llx", (unsigned long long)f->object);
        r = (struct heap_root){.addr = f->special + (uint64_t)w->L.sf_fn, .size = 8, .name = name,
                               .kind = HEAP_ROOT_FINALIZER};
        c->root(c, &r);
    }
}

static int go_words(const void *walker, uint64_t addr, uint64_t size, uint64_t *mask, size_t maskwords)
{
    return walker ? go_pointer_words(walker, addr, size, mask, maskwords) : 0;
}

struct itype_sink {
    struct heap_ctx *c;
    uint64_t n;
};

static int itype_row(void *u, uint64_t holder, uint64_t offset, uint64_t target, const char *type)
{
    struct itype_sink *k = u;
    struct heap_value v[] = {{HV_INT, (int64_t)target, 0, NULL}, {HV_TEXT, 0, 0, type},
                             {HV_INT, (int64_t)holder, 0, NULL}, {HV_INT, (int64_t)offset, 0, NULL}};
    k->n++;
    return k->c->row(k->c, "go_itypes", v, 4);
}

static int go_tables(struct heap_ctx *c)
{
    struct go_walk *w = c->walker;
    if (!w || !c->table || !c->row)
        return 0;
    phase(NULL);
    static const struct heap_column gcols[] = {
        {"goid", "INTEGER PRIMARY KEY"}, {"status", "TEXT"},     {"wait_reason", "TEXT"},
        {"stack_lo", "INTEGER"},         {"stack_hi", "INTEGER"}, {"sp", "INTEGER"},
        {"pc", "INTEGER"},               {"func", "TEXT"},        {"start_pc", "INTEGER"},
        {"start_func", "TEXT"},          {"created_pc", "INTEGER"}, {"created_by", "TEXT"},
        {"thread", "INTEGER"},           {"addr", "INTEGER"},
    };
    const size_t ng = sizeof gcols / sizeof gcols[0];
    struct {
        uint64_t pc;
        int valid, ok;
        char name[128];
    } memo[3] = {0};
    if (c->table(c, "goroutines", gcols, ng))
        return -1;
    for (size_t i = 0; i < w->ngs; i++) {
        const struct go_g *g = &w->gs[i];
        if (g->status == (uint32_t)w->L.g_dead)
            continue;
        char wr[64];
        wr[0] = 0; /* waitreason is stale unless the goroutine waits */
        if ((int64_t)g->status == w->L.g_waiting)
            go_wait_reason(w, g->waitreason, wr, sizeof wr);
        /* thousands of goroutines share a few functions: remember the last */
        static const size_t np = 3;
        const uint64_t pcs[3] = {g->pc, g->startpc, g->gopc};
        for (size_t k = 0; k < np; k++)
            if (!memo[k].valid || memo[k].pc != pcs[k]) {
                memo[k].pc = pcs[k];
                memo[k].valid = 1;
                memo[k].ok = !go_func_name(w, pcs[k], memo[k].name, sizeof memo[k].name);
            }
        const char *f1 = memo[0].name, *f2 = memo[1].name, *f3 = memo[2].name;
        int h1 = memo[0].ok, h2 = memo[1].ok, h3 = memo[2].ok;
        struct heap_value v[] = {
            {HV_INT, (int64_t)g->goid, 0, NULL},
            {HV_TEXT, 0, 0, go_status_name(w, g->status)},
            {wr[0] ? HV_TEXT : HV_NULL, 0, 0, wr},
            {HV_INT, (int64_t)g->stack_lo, 0, NULL},
            {HV_INT, (int64_t)g->stack_hi, 0, NULL},
            {HV_INT, (int64_t)g->sp, 0, NULL},
            {HV_INT, (int64_t)g->pc, 0, NULL},
            {h1 ? HV_TEXT : HV_NULL, 0, 0, f1},
            {HV_INT, (int64_t)g->startpc, 0, NULL},
            {h2 ? HV_TEXT : HV_NULL, 0, 0, f2},
            {HV_INT, (int64_t)g->gopc, 0, NULL},
            {h3 ? HV_TEXT : HV_NULL, 0, 0, f3},
            {g->thread ? HV_INT : HV_NULL, g->thread, 0, NULL},
            {HV_INT, (int64_t)g->addr, 0, NULL},
        };
        if (c->row(c, "goroutines", v, ng))
            return -1;
    }
    static const struct heap_column mcols[] = {{"name", "TEXT PRIMARY KEY"}, {"value", "INTEGER"}};
    if (c->table(c, "go_memstats", mcols, 2))
        return -1;
    for (size_t i = 0; i < w->nstats; i++) {
        struct heap_value v[] = {{HV_TEXT, 0, 0, w->stats[i].name}, {HV_INT, (int64_t)w->stats[i].value, 0, NULL}};
        if (c->row(c, "go_memstats", v, 2))
            return -1;
    }
    if (c->table(c, "go_metrics", mcols, 2))
        return -1;
    for (size_t i = 0; i < w->nmetrics; i++) {
        struct heap_value v[] = {{HV_TEXT, 0, 0, w->metrics[i].name},
                                 {HV_INT, (int64_t)w->metrics[i].value, 0, NULL}};
        if (c->row(c, "go_metrics", v, 2))
            return -1;
    }
    if (go_frames_table(w, c)) /* each goroutine's frames: go/frames.c */
        return -1;
    if (go_spans_table(w, c)) /* spans, free runs, free slots as counts: go/spans.c */
        return -1;
    phase("goroutines, memstats, spans");
    /* typing hints: what interface values say their targets are */
    static const struct heap_column icols[] = {
        {"addr", "INTEGER"}, {"type", "TEXT"}, {"holder", "INTEGER"}, {"offset", "INTEGER"}};
    static const struct heap_column fcols[] = {
        {"object", "INTEGER"}, {"size", "INTEGER"}, {"fn", "INTEGER"}, {"func", "TEXT"}, {"special", "INTEGER"}};
    if (c->table(c, "go_finalizers", fcols, 5))
        return -1;
    for (size_t i = 0; i < w->nfins; i++) {
        const struct go_fin *f = &w->fins[i];
        char fn[256];
        int named = f->fnpc && go_func_name(w, f->fnpc, fn, sizeof fn) == 0;
        struct heap_value v[] = {{HV_INT, (int64_t)f->object, 0, NULL}, {HV_INT, (int64_t)f->size, 0, NULL},
                                 {HV_INT, (int64_t)f->fn, 0, NULL}, {named ? HV_TEXT : HV_NULL, 0, 0, fn},
                                 {HV_INT, (int64_t)f->special, 0, NULL}};
        if (c->row(c, "go_finalizers", v, 5))
            return -1;
    }
    struct itype_sink k = {c, 0};
    if (c->table(c, "go_itypes", icols, 4) || go_itypes_scan(w, itype_row, &k))
        return -1;
    phase("go_itypes");
    if (go_mprof_tables(w, c)) /* the runtime's heap profile: go/mprof.c */
        return -1;
    phase("go_mprof");
    return 0;
}

/* Go 1.22+: the type an object was allocated as — the *abi.Type in its
 * malloc header (a pointerful object of a size class above 512 bytes) or
 * its span's largeType (a large object); go_type names it. */
static int go_object_type(const void *walker, uint64_t addr, uint64_t *word, uint64_t *types_base)
{
    const struct go_walk *w = walker;
    const struct go_span *s = w ? go_span_of(w, addr) : NULL;
    if (!s || s->state != 1 || (s->spanclass & 1))
        return 0;
    *types_base = w->types_lo;
    if (s->spanclass >> 1 == 0) {
        *word = s->largetype;
        return addr == s->start && s->largetype && w->L.bits == GO_BITS_HEADERS;
    }
    uint64_t slot = s->start + (addr - s->start) / s->elemsize * s->elemsize;
    return s->header && addr == slot + w->L.malloc_header_size && !go_u64(w, slot, word) && *word;
}

static int go_type(const void *walker, uint64_t addr, char *name, size_t len)
{
    return walker && go_type_name(walker, addr, name, len) == 0;
}

/* What an interface value is in Go's DWARF: every interface type is a
 * typedef of one of these (error -> runtime.iface, any -> runtime.eface);
 * the first word is an itab or a _type, which go_type names. */
static const char *const go_interface_types[] = {"runtime.iface", "runtime.eface", NULL};

static void go_release(struct heap_ctx *c)
{
    go_free(c->walker);
    c->walker = NULL;
}

/* A used object in a span (Go's free slots are no objects: go_spans). */
static const struct heap_where_kind go_wheres[GO_WHERE_COUNT] = {
    [GO_WHERE_SPAN] = {"go-span", "spans", HW_WHOLE_SLOT},
};

const struct allocator go_allocator = {
    .name = "go",
    .wheres = go_wheres,
    .advisor = &go_advisor,
    .type_slack = 16, /* Go's size classes are 8 to 16 bytes apart up to 256 */
    .nwheres = GO_WHERE_COUNT,
    .beside_malloc = 1, /* cgo: glibc's heap is walked too (index.c) */
    .detect = go_detect,
    .walk = go_walk_heap,
    .roots = go_roots,
    .pointer_words = go_words,
    .type_name = go_type,
    .interface_types = go_interface_types,
    .object_type_word = go_object_type,
    .tables = go_tables,
    .release = go_release,
};
