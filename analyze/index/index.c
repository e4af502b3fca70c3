/*
 * index.c — the indexer pipeline's orchestration (see index.h): open the
 * snapshot and its debug info (files the snapshot carries first,
 * index/carried.h), let the allocator walker fill the object
 * table, find the roots, scan for references straight into the database,
 * and put the finished file in place.
 *
 * Problems found on the way (allocator doubts, dropped objects, missing
 * debug files) are kept as rows of the warnings table, never fatal: a
 * damaged heap is exactly what people index snapshots to look at.  Only an
 * unreadable snapshot or a failing database write stops the pipeline.
 */
#include "core/hscore.h"
#include "index/index.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/notify.h"
#include "db/db.h"
#include "heap/allocator.h"
#include "index/carried.h"
#include "index/dominators.h"
#include "model/objects.h"
#include "index/refs.h"
#include "index/refsort.h"
#include "model/roots.h"
#include "types/store.h"
#include "types/types.h"

/* Hostile snapshots can make a walker complain about every chunk; keep
 * this many warnings and count the rest. */
#define MAX_WARNINGS 10000

struct warning {
    uint64_t addr;
    const char *source; /* static */
    char *message;
};

struct fact {
    char *key, *value;
};

struct pipeline {
    const struct index_options *opt;
    struct objtab objs;
    struct heap_region *regions;
    size_t nregions, capregions;
    /* The allocator's own bookkeeping outside its regions (allocator.h:
     * internal); 'kind' holds the walker's name for it. */
    struct heap_region *internal;
    /* threads that hold no roots (heap_ctx.quiet_thread): into any heap
     * (heap NULL) or into the named allocator's regions only */
    struct quiet { int tid, how; const char *heap; } *quiet;
    size_t nquiet, capquiet;
    size_t ninternal, capinternal;
    struct warning *warn;
    size_t nwarn, capwarn;
    uint64_t warn_dropped;
    struct fact *facts;
    size_t nfacts;
    const char *source; /* the allocator being walked, for its warnings */
    int oom;
    struct db_load *load;
    uint64_t nrefs, refs_pulled; /* refs_pulled: how many db_load_refs took so far */
    struct refsort *refs;       /* the references, into key order (refsort.h) */
    struct idx_tree *tree;      /* the dominator tree, worked out beside the load (dominators.h) */
    /* The allocator that walked the heap, for its optional hooks
     * (allocator.h): extra roots, pointer maps, tables of its own. */
    const struct allocator *alloc;
    const char *unwalked; /* an allocator that replaces malloc and that no walker knows */
    struct heap_ctx ctx;
    /* The process's malloc, walked beside a runtime's heap (walk_heap) */
    const struct allocator *alloc2;
    struct heap_ctx ctx2;
    const struct allocator *walking; /* the one whose callbacks are running */
    const char **rheap;              /* per region: its allocator's name */
    size_t caprheap;
    struct heap_root *xroots;
    size_t nxroots;
    sqlite3 *db;
    sqlite3_stmt *trow;   /* INSERT into the allocator table being filled */
    char tname[64];
    struct tytab types;      /* types/: the program's types ... */
    struct ty_result typing; /* ... and which objects and roots have them */
};

static void add_warning(struct pipeline *p, uint64_t addr, const char *source, const char *msg)
{
    if (p->nwarn >= MAX_WARNINGS) {
        p->warn_dropped++;
        return;
    }
    if (p->nwarn == p->capwarn) {
        size_t cap = p->capwarn ? 2 * p->capwarn : 64;
        struct warning *w = realloc(p->warn, cap * sizeof *w);
        if (!w) {
            p->oom = 1;
            return;
        }
        p->warn = w;
        p->capwarn = cap;
    }
    char *m = strdup(msg);
    if (!m) {
        p->oom = 1;
        return;
    }
    p->warn[p->nwarn++] = (struct warning){addr, source, m};
}

/* ---- heap_ctx callbacks: the walker talks to the pipeline through these */

static void on_object(struct heap_ctx *c, const struct heap_object *o)
{
    struct pipeline *p = c->user;
    /* the walker's own where, made the one numbering (allocator.h); a
     * value its table does not name is no where at all */
    struct heap_object g = *o;
    g.where = p->walking && o->where < p->walking->nwheres ? (uint8_t)(heap_where_base(p->walking) + o->where)
                                                           : UINT8_MAX;
    if (!p->oom && objtab_add(&p->objs, &g))
        p->oom = 1;
    if ((p->objs.n & 0xffff) == 0 && p->opt->progress)
        notify_progress("walking the heap (objects found)", p->objs.n, 0);
}

/* Append a copy of r to the array *v (n used, cap allocated). */
static void keep_region(struct pipeline *p, struct heap_region **v, size_t *n, size_t *cap,
                        const struct heap_region *r)
{
    if (p->oom || r->end <= r->start)
        return;
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 16;
        struct heap_region *nv = realloc(*v, c * sizeof *nv);
        if (!nv) {
            p->oom = 1;
            return;
        }
        *v = nv;
        *cap = c;
    }
    struct heap_region *d = &(*v)[*n];
    *d = *r;
    /* the walker's strings need not outlive the walk */
    if (!(d->kind = strdup(r->kind ? r->kind : ""))) {
        p->oom = 1;
        return;
    }
    (*n)++;
}

static void on_region(struct heap_ctx *c, const struct heap_region *r)
{
    struct pipeline *p = c->user;
    size_t n = p->nregions;
    keep_region(p, &p->regions, &p->nregions, &p->capregions, r);
    if (p->nregions == n)
        return;
    if (p->nregions > p->caprheap) {
        size_t cap = p->capregions;
        const char **v = realloc(p->rheap, cap * sizeof *v);
        if (!v) {
            p->oom = 1;
            return;
        }
        p->rheap = v;
        p->caprheap = cap;
    }
    p->rheap[n] = p->walking ? p->walking->name : NULL;
}

static void on_internal(struct heap_ctx *c, uint64_t start, uint64_t end, const char *what)
{
    struct pipeline *p = c->user;
    struct heap_region r = {.start = start, .end = end, .kind = what ? what : "allocator"};
    keep_region(p, &p->internal, &p->ninternal, &p->capinternal, &r);
}

static void on_quiet_thread(struct heap_ctx *c, int tid, int how)
{
    struct pipeline *p = c->user;
    if (p->oom)
        return;
    if (p->nquiet == p->capquiet) {
        size_t cap = p->capquiet ? 2 * p->capquiet : 16;
        struct quiet *q = realloc(p->quiet, cap * sizeof *q);
        if (!q) {
            p->oom = 1;
            return;
        }
        p->quiet = q;
        p->capquiet = cap;
    }
    int whole = how == HEAP_QUIET_ALL;
    p->quiet[p->nquiet++] = (struct quiet){tid, how, whole || !p->walking ? NULL : p->walking->name};
}

static int region_cmp(const void *a, const void *b)
{
    const struct heap_region *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * The quiet threads as roots_collect wants them: a thread quieted for one
 * allocator's heap only gets that allocator's regions, sorted; *regs holds
 * them (one copy per entry: a handful of threads, a few regions each).
 * -1 on out-of-memory.
 */
static int quiet_roots(const struct pipeline *p, struct roots_quiet **out, struct heap_region **regs)
{
    size_t nr = 0;
    for (size_t q = 0; q < p->nquiet; q++)
        for (size_t i = 0; p->quiet[q].heap && i < p->nregions; i++)
            nr += p->rheap[i] && !strcmp(p->rheap[i], p->quiet[q].heap);
    *out = calloc(p->nquiet ? p->nquiet : 1, sizeof **out);
    *regs = malloc((nr ? nr : 1) * sizeof **regs);
    if (!*out || !*regs)
        return -1;
    size_t k = 0;
    for (size_t q = 0; q < p->nquiet; q++) {
        struct roots_quiet *r = &(*out)[q];
        r->tid = p->quiet[q].tid;
        r->whole = !p->quiet[q].heap;
        r->own_stack_only = p->quiet[q].how == HEAP_QUIET_OWN_STACK;
        r->regions = *regs + k;
        for (size_t i = 0; p->quiet[q].heap && i < p->nregions; i++)
            if (p->rheap[i] && !strcmp(p->rheap[i], p->quiet[q].heap))
                (*regs)[k++] = p->regions[i];
        r->nregions = (size_t)(*regs + k - r->regions);
        qsort((void *)r->regions, r->nregions, sizeof *r->regions, region_cmp);
    }
    return 0;
}

static void add_fact(struct pipeline *p, const char *key, const char *value)
{
    if (p->oom || !key)
        return;
    struct fact *f = realloc(p->facts, (p->nfacts + 1) * sizeof *f);
    if (!f) {
        p->oom = 1;
        return;
    }
    p->facts = f;
    f[p->nfacts].key = strdup(key);
    f[p->nfacts].value = value ? strdup(value) : NULL;
    p->nfacts++;
    if (!f[p->nfacts - 1].key || (value && !f[p->nfacts - 1].value))
        p->oom = 1;
}

static void on_fact(struct heap_ctx *c, const char *key, const char *value)
{
    add_fact(c->user, key, value);
}

static void on_problem(struct heap_ctx *c, uint64_t addr, const char *fmt, ...)
{
    struct pipeline *p = c->user;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    add_warning(p, addr, p->source, msg);
}

static void on_type_warning(void *u, const char *msg)
{
    add_warning(u, 0, "types", msg);
}

static void on_dropped(void *u, const struct obj *o, const char *why)
{
    char msg[256];
    snprintf(msg, sizeof msg, "object of %llu bytes left out: %s", (unsigned long long)o->size, why);
    add_warning(u, o->addr, "index", msg);
}

/* ---- the references: scanned into the sorter, loaded from it in key order */

static int on_ref(void *u, int64_t src, uint64_t offset, int64_t dst, int interior)
{
    struct pipeline *p = u;
    return refsort_add(p->refs, src, offset, dst, interior) ? -1 : 0;
}

static int pull_ref(void *u, struct db_ref *r)
{
    struct pipeline *p = u;
    if ((p->refs_pulled++ & 0xffff) == 0 && p->opt->progress)
        notify_progress("storing references", p->refs_pulled - 1, p->nrefs);
    return refsort_next(p->refs, r);
}

static void on_store_progress(void *u, uint64_t done, uint64_t total)
{
    (void)u;
    notify_progress("storing objects", done, total);
}

static void on_progress(void *u, uint64_t done, uint64_t total)
{
    struct pipeline *p = u;
    if (p->opt->progress)
        notify_progress("scanning references", done, total);
}

/* ---- the allocator's optional hooks (allocator.h) */

static void on_root(struct heap_ctx *c, const struct heap_root *r)
{
    struct pipeline *p = c->user;
    if (p->oom)
        return;
    struct heap_root *v = realloc(p->xroots, (p->nxroots + 1) * sizeof *v);
    if (!v) {
        p->oom = 1;
        return;
    }
    p->xroots = v;
    v[p->nxroots] = *r;
    v[p->nxroots].name = NULL;
    v[p->nxroots].mask = NULL;
    p->nxroots++; /* from here on it is freed with the others */
    if (r->name && !(v[p->nxroots - 1].name = strdup(r->name))) {
        p->oom = 1;
        return;
    }
    if (r->mask && r->size % 8 == 0 && r->addr % 8 == 0) {
        size_t nw = (size_t)((r->size / 8 + 63) / 64);
        uint64_t *m = malloc(nw * sizeof *m);
        if (!m) {
            p->oom = 1;
            return;
        }
        memcpy(m, r->mask, nw * sizeof *m);
        v[p->nxroots - 1].mask = m;
    }
}

static int sql_name_ok(const char *s)
{
    size_t n = 0;
    for (; s && s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || s[n] == '_' || (n && s[n] >= '0' && s[n] <= '9')))
            return 0;
    return n > 0 && n < 64;
}

/* CREATE TABLE name (...) and prepare its INSERT; the walker names both. */
static int on_table(struct heap_ctx *c, const char *name, const struct heap_column *cols, size_t ncols)
{
    struct pipeline *p = c->user;
    sqlite3_finalize(p->trow);
    p->trow = NULL;
    p->tname[0] = 0;
    if (!sql_name_ok(name) || ncols == 0 || ncols > 64)
        return -1;
    char sql[4096], ins[1024];
    int n = snprintf(sql, sizeof sql, "CREATE TABLE %s (", name);
    int m = snprintf(ins, sizeof ins, "INSERT INTO %s VALUES (", name);
    for (size_t i = 0; i < ncols; i++) {
        if (!sql_name_ok(cols[i].name) || !cols[i].decl || strpbrk(cols[i].decl, ";()'\""))
            return -1;
        n += snprintf(sql + n, sizeof sql - (size_t)n, "%s%s %s", i ? ", " : "", cols[i].name, cols[i].decl);
        m += snprintf(ins + m, sizeof ins - (size_t)m, "%s?", i ? ", " : "");
        if (n >= (int)sizeof sql - 2 || m >= (int)sizeof ins - 2)
            return -1;
    }
    snprintf(sql + n, sizeof sql - (size_t)n, ")");
    snprintf(ins + m, sizeof ins - (size_t)m, ")");
    if (sqlite3_exec(p->db, sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(p->db, ins, -1, &p->trow, NULL) != SQLITE_OK)
        return -1;
    snprintf(p->tname, sizeof p->tname, "%s", name);
    return 0;
}

static int on_row(struct heap_ctx *c, const char *name, const struct heap_value *v, size_t ncols)
{
    struct pipeline *p = c->user;
    if (!p->trow || strcmp(name, p->tname) || (int)ncols != sqlite3_bind_parameter_count(p->trow))
        return -1;
    for (size_t i = 0; i < ncols; i++) {
        int k = (int)i + 1;
        switch (v[i].kind) {
        case HV_INT: sqlite3_bind_int64(p->trow, k, v[i].i); break;
        case HV_REAL: sqlite3_bind_double(p->trow, k, v[i].d); break;
        case HV_TEXT: sqlite3_bind_text(p->trow, k, v[i].s ? v[i].s : "", -1, SQLITE_TRANSIENT); break;
        default: sqlite3_bind_null(p->trow, k); break;
        }
    }
    int rc = sqlite3_step(p->trow) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(p->trow);
    return rc;
}

/* The allocator's own tables, inside the load's transaction.  A failure is
 * a warning: the heap's database is still whole without them. */
static void tables_of(struct pipeline *p, const struct allocator *a, struct heap_ctx *ctx)
{
    if (!a || !a->tables || !ctx->walker)
        return;
    ctx->table = on_table;
    ctx->row = on_row;
    if (a->tables(ctx))
        add_warning(p, 0, "index", p->db && sqlite3_errmsg(p->db) ? sqlite3_errmsg(p->db) :
                    "the allocator's own tables could not be written");
    sqlite3_finalize(p->trow);
    p->trow = NULL;
}

static void allocator_tables(struct pipeline *p)
{
    tables_of(p, p->alloc2, &p->ctx2);
    tables_of(p, p->alloc, &p->ctx);
}

/* Walk allocator a with ctx (its own context); 0 if it walked. */
static int walk_one(struct pipeline *p, const struct allocator *a, struct heap_ctx *ctx)
{
    p->source = a->name;
    p->walking = a;
    size_t first = p->nwarn;
    int rc = a->walk(ctx);
    if (rc != 0) {
        /* the analyses quote this line when they refuse (session.c): give it the walker's reason */
        char msg[768];
        snprintf(msg, sizeof msg, "%s was detected but its heap could not be walked%s%.600s", a->name,
                 first < p->nwarn ? ": " : "", first < p->nwarn ? p->warn[first].message : "");
        add_warning(p, 0, a->name, msg);
    } else if (a->roots) {
        a->roots(ctx);
    }
    p->walking = NULL;
    return rc;
}

/*
 * Run the first allocator that recognises the snapshot; returns its name.
 * A language runtime with a heap of its own (beside_malloc: Go) leaves
 * the process's malloc to be walked too — a cgo program has both heaps —
 * so the next allocator that recognises the snapshot is walked first,
 * and the runtime's walker is told which regions malloc holds (claimed),
 * so that it does not take them for its own memory.  Each object's heap
 * is its where's allocator; the first allocator stays the snapshot's.
 */
static const char *walk_heap(struct pipeline *p, const struct hs_snapshot *s, struct dbg *d)
{
    p->ctx = (struct heap_ctx){.snap = s, .dbg = d, .user = p, .object = on_object, .region = on_region,
                               .fact = on_fact, .problem = on_problem, .keep_state = 1, .root = on_root,
                               .internal = on_internal, .quiet_thread = on_quiet_thread};
    const struct allocator *a = NULL, *b = NULL;
    size_t i = 0;
    for (; allocators[i] && !a; i++) {
        p->source = allocators[i]->name;
        if (allocators[i]->detect(&p->ctx))
            a = allocators[i];
    }
    for (; a && a->beside_malloc && allocators[i] && !b; i++) {
        p->source = allocators[i]->name;
        if (!allocators[i]->beside_malloc && allocators[i]->detect(&p->ctx))
            b = allocators[i];
    }
    if (!a) {
        /* Never a silent zero: an allocator we cannot walk is named (heap/recognise.c). */
        p->source = "heap";
        if (heap_recognise(&p->ctx, NULL, &p->unwalked) == 0)
            add_warning(p, 0, "index", "no known allocator found: the database has roots but no objects");
        return NULL;
    }
    if (b) {
        p->ctx2 = p->ctx;
        p->alloc2 = b;
        walk_one(p, b, &p->ctx2);
        p->ctx.claimed = p->regions;
        p->ctx.nclaimed = p->nregions;
    }
    p->alloc = a;
    walk_one(p, a, &p->ctx);
    p->ctx.claimed = NULL;
    p->ctx.nclaimed = 0;
    /* One that replaces malloc but that no walker knows is named too. */
    p->source = "heap";
    heap_recognise(&p->ctx, b ? b->name : a->name, &p->unwalked);
    return a->name;
}

/* HEAPSNAP_TIMING=1 prints how long each phase took (bench/index uses it).
 * One clock for the whole run: the first mark, "start", starts it. */
static struct phase_clock index_clock;

static void phase(const char *name)
{
    phase_mark(&index_clock, name);
}

/* Everything that goes into the database, in key order per table. */
static int load_all(struct pipeline *p, struct hs_snapshot *s, struct dbg *d,
                    const struct rootset *rs, const char *heap)
{
    struct db_load *l = p->load;
    if (db_load_metadata(l, s, d))
        return -1;
    phase("metadata");
    for (size_t i = 0; i < p->nregions; i++)
        if (db_load_region(l, &p->regions[i], p->rheap && p->rheap[i] ? p->rheap[i] : heap))
            return -1;
    for (size_t i = 0; i < p->nfacts; i++)
        if (db_load_fact(l, p->facts[i].key, p->facts[i].value))
            return -1;
    allocator_tables(p);
    /* the scan runs on a second thread while the objects and roots are
     * stored, straight into the sorter (refsort.h), and gives back the
     * snapshot's memory behind it: nothing here reads memory from now on */
    if (!(p->refs = refsort_new(p->objs.n)))
        return db_load_fail(l, "out of memory for the references");
    if ((p->tree = idx_tree_new(&p->objs, rs->n)))
        refsort_tee(p->refs, idx_tree_ref, p->tree);
    int threaded = refsort_scan(p->refs, s, &p->objs, rs) == 0;
    int rc = db_load_objects(l, &p->objs, p->opt->progress ? on_store_progress : NULL, p);
    for (size_t i = 0; i < rs->n && !rc; i++)
        rc = db_load_root(l, root_id(rs, i), &rs->v[i]);
    phase("load objects, roots");
    if (rc)
        return -1;
    if (threaded) {
        /* said at least once, done or not: the scan may have ended with
         * the objects' storing, or long after it */
        for (int done = 0; !done;) {
            uint64_t k = refsort_scanned(p->refs, &done);
            if (p->opt->progress)
                notify_progress("scanning references", done ? p->objs.n : k, p->objs.n);
            if (!done)
                nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
        }
        rc = refsort_join(p->refs);
    } else { /* no second thread to be had: scan here */
        struct ref_sink sink = {.user = p, .ref = on_ref, .progress = on_progress, .release = s};
        rc = refs_scan(s, &p->objs, rs, &sink);
    }
    phase("scan refs");
    uint64_t refused = hs_released_reads(s);
    if (!rc && refused) {
        /* a pointer map read memory behind the scan (refs.c): the objects
         * it was for were scanned conservatively, so say it */
        char msg[200];
        snprintf(msg, sizeof msg, "%llu reads of memory the scan had already given back were refused; the "
                                  "objects they were for were scanned conservatively",
                 (unsigned long long)refused);
        add_warning(p, 0, "index", msg);
        notify_warn("%s: %s", p->opt->snapshot, msg);
    }
    /* The objects are stored and scanned, and no byte of memory is read
     * from here on: the sort and the tree need the room more.  The tree is
     * worked out on the core the refs' load leaves idle; it takes what it
     * needs of the objects before they go. */
    if (!rc) {
        hs_drop_memory(s);
        if (p->tree)
            idx_tree_start(p->tree, &p->objs);
        objtab_release(&p->objs);
    }
    if (rc || refsort_finish(p->refs))
        return db_load_fail(l, refsort_count(p->refs) >= UINT32_MAX ? "2^32 references or more: too many to index"
                                                                   : "out of memory for the references");
    /* the load pulls them in key order, each bucket sorted as it is reached */
    p->nrefs = refsort_count(p->refs);
    if (db_load_refs(l, pull_ref, p))
        return -1;
    refsort_free(p->refs);
    p->refs = NULL;
    phase("load refs");
    char why[128], terr[512];
    int stored = p->tree ? idx_tree_store(p->tree, p->db, db_load_bulk(l), p->opt->progress, why, sizeof why,
                                          terr, sizeof terr)
                         : (snprintf(why, sizeof why, "out of memory"), 1);
    if (stored < 0)
        return db_load_fail(l, terr);
    if (stored > 0)
        notify_warn("%s: the dominator tree is left to the first analysis: %s", p->opt->snapshot, why);
    idx_tree_free(p->tree);
    p->tree = NULL;
    phase("dominators (joined), store");
    if (p->warn_dropped) {
        char msg[128];
        snprintf(msg, sizeof msg, "%llu more warnings were not kept",
                 (unsigned long long)p->warn_dropped);
        add_warning(p, 0, "index", msg);
        p->warn_dropped = 0;
    }
    for (size_t i = 0; i < p->nwarn; i++)
        if (db_load_warning(l, p->warn[i].addr, p->warn[i].source, p->warn[i].message))
            return -1;
    return 0;
}

static void pipeline_free(struct pipeline *p)
{
    refsort_free(p->refs);
    idx_tree_free(p->tree); /* after the scan has ended: it feeds the tree */
    if (p->alloc && p->alloc->release && p->ctx.walker)
        p->alloc->release(&p->ctx);
    if (p->alloc2 && p->alloc2->release && p->ctx2.walker)
        p->alloc2->release(&p->ctx2);
    free(p->rheap);
    for (size_t i = 0; i < p->nxroots; i++) {
        free((char *)p->xroots[i].name);
        free((uint64_t *)p->xroots[i].mask);
    }
    free(p->xroots);
    sqlite3_finalize(p->trow);
    objtab_free(&p->objs);
    for (size_t i = 0; i < p->nregions; i++)
        free((char *)p->regions[i].kind);
    free(p->regions);
    for (size_t i = 0; i < p->ninternal; i++)
        free((char *)p->internal[i].kind);
    free(p->internal);
    free(p->quiet);
    for (size_t i = 0; i < p->nwarn; i++)
        free(p->warn[i].message);
    free(p->warn);
    for (size_t i = 0; i < p->nfacts; i++) {
        free(p->facts[i].key);
        free(p->facts[i].value);
    }
    free(p->facts);
    ty_result_free(&p->typing);
    ty_free(&p->types);
}

/* The walker's way of naming an interface value's type word, for the
 * typing pass (types/dynamic.c), when it has one and kept its state. */
static void set_dynamic(struct pipeline *p)
{
    if (p->alloc && p->alloc->type_name && p->alloc->interface_types && p->ctx.walker) {
        p->types.dyn.structs = p->alloc->interface_types;
        p->types.dyn.name = p->alloc->type_name;
        p->types.dyn.u = p->ctx.walker;
        p->types.dyn.object_word = p->alloc->object_type_word;
    }
}

int index_snapshot(const struct index_options *opt, struct index_stats *st, char *err, size_t errlen)
{
    double t0 = clock_wall_s();
    struct pipeline p = {.opt = opt};
    struct rootset rs = {0};
    struct roots_quiet *quiet = NULL;
    struct heap_region *quiet_regions = NULL; /* what quiet points into, until the refs are scanned */
    struct hs_snapshot *s = NULL;
    struct dbg *d = NULL;
    sqlite3 *db = NULL;
    char tmp[4096 + 32];
    int rc = -1, made_tmp = 0;
    struct db_snapid *id = calloc(1, sizeof *id);
    struct carried carried = {0};

    memset(st, 0, sizeof *st);
    if (!id) {
        snprintf(err, errlen, "%s: out of memory", opt->snapshot);
        return -1;
    }
    if (db_snapshot_id(opt->snapshot, id, err, errlen) || db_may_replace(opt->output, err, errlen))
        goto out;
    struct hs_error herr;
    phase("start");
    if (!(s = hs_open_any(opt->snapshot, 0, &herr))) {
        snprintf(err, errlen, "%s", herr.msg);
        goto out;
    }
    if (hs_snapshot_truncated(s) && !opt->partial) {
        const char *w = hs_snapshot_warning(s);
        snprintf(err, errlen, "%s: the snapshot is truncated (%s); --partial indexes what is there",
                 opt->snapshot, w ? w : "cut short");
        goto out;
    }
    phase("open snapshot");
    /* what the snapshot carries comes before any file on this machine */
    struct dbg_options dopt = opt->dbg;
    if (carried_extract(s, &carried, &dopt, err, errlen))
        goto out;
    if (!(d = dbg_open(s, &dopt))) {
        snprintf(err, errlen, "%s: out of memory reading debug info", opt->snapshot);
        goto out;
    }
    if (hs_snapshot_truncated(s) && !hs_snapshot_warning(s))
        add_warning(&p, 0, "snapshot", "truncated");
    /* One warning per line: a core's reader says several things (a cut,
     * files missing here, headers taken from disk). */
    for (const char *w = hs_snapshot_warning(s); w && *w;) {
        const char *nl = strchr(w, '\n');
        size_t len = nl ? (size_t)(nl - w) : strlen(w);
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), w);
        add_warning(&p, 0, "snapshot", line);
        notify_warn("%s", line); /* what the reader could not know is said where it is met */
        w = nl ? nl + 1 : w + len;
    }
    size_t nth;
    const struct hs_thread *th = hs_get_threads(s, &nth);
    for (size_t i = 0; i < nth; i++)
        if (th[i].regs_error[0]) {
            char msg[160];
            snprintf(msg, sizeof msg, "thread %d: registers not captured: %s",
                     (int)th[i].tid, th[i].regs_error);
            add_warning(&p, 0, "snapshot", msg);
        }

    phase("debug info");
    if (opt->progress)
        notify_progress("walking the heap (objects found)", 0, 0);
    const char *heap = walk_heap(&p, s, d);
    phase("walk heap");
    if (p.oom || objtab_finish(&p.objs, on_dropped, &p) || p.oom ||
        quiet_roots(&p, &quiet, &quiet_regions) ||
        roots_collect(&rs, s, d, p.regions, p.nregions, p.internal, p.ninternal, quiet, p.nquiet) ||
        roots_add_extra(&rs, p.xroots, p.nxroots)) {
        snprintf(err, errlen, "%s: out of memory", opt->snapshot);
        goto out;
    }
    phase("objects, roots");
    if (opt->progress)
        notify_progress("typing objects", 0, 0);
    int tyfail = ty_init(&p.types);
    if (!tyfail) {
        set_dynamic(&p);
        tyfail = ty_index(&p.types, s, d, &p.objs, &rs, &p.typing, on_type_warning, &p);
    }
    if (tyfail) {
        snprintf(err, errlen, "%s: out of memory typing objects", opt->snapshot);
        goto out;
    }
    phase("types");
    /* what the types prove holds bytes is not scanned; how much, said */
    p.objs.bytes = p.typing.obj_bytes;
    char num[24];
    snprintf(num, sizeof num, "%llu", (unsigned long long)p.typing.byte_objects);
    add_fact(&p, "types.byte_objects", num);
    snprintf(num, sizeof num, "%llu", (unsigned long long)p.typing.byte_bytes);
    add_fact(&p, "types.byte_bytes", num);
    if (p.oom) {
        snprintf(err, errlen, "%s: out of memory", opt->snapshot);
        goto out;
    }
    if (p.alloc && p.alloc->pointer_words && p.ctx.walker) {
        p.objs.pointer_words = p.alloc->pointer_words;
        p.objs.walker = p.ctx.walker;
    }

    /* Created here, exclusively and 0600 (it will hold the target's
     * memory and metadata): never through a name someone else put there.
     * SQLite takes an empty file as a new database, and gives its journal
     * the database's mode. */
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", opt->output, (long)getpid());
    int tfd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (tfd < 0) {
        snprintf(err, errlen, "%s: cannot create: %s%s", tmp, strerror(errno),
                 errno == EEXIST ? " (left by an earlier run of this process id? remove it)" : "");
        goto out;
    }
    close(tfd);
    made_tmp = 1;
    if (sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot create: %s", tmp, db ? sqlite3_errmsg(db) : "out of memory");
        goto out;
    }
    char lerr[512];
    p.db = db;
    if (!(p.load = db_load_begin(db, lerr, sizeof lerr))) {
        snprintf(err, errlen, "%s: %s", tmp, lerr);
        goto out;
    }
    db_load_set_typing(p.load, &p.types, &p.typing, rs.n);
    if (load_all(&p, s, d, &rs, heap ? heap : "none")) {
        snprintf(err, errlen, "%s: %s", tmp, db_load_error(p.load));
        goto out;
    }
    if (ty_db_write(db, &p.types, lerr, sizeof lerr)) {
        snprintf(err, errlen, "%s: %s", tmp, lerr);
        goto out;
    }
    if (p.opt->progress)
        notify_progress_done();
    st->objects = p.objs.n;
    st->used = p.objs.nused;
    st->internal = p.objs.ninternal;
    st->free = p.objs.nfree;
    st->roots = rs.n;
    st->refs = p.nrefs;
    st->warnings = db_load_warnings(p.load);
    if (d) {
        size_t nsym = 0;
        dbg_symbols(d, &nsym);
        st->symbols = nsym;
    }
    snprintf(st->allocator, sizeof st->allocator, "%s", heap ? heap : "");
    snprintf(st->unwalked, sizeof st->unwalked, "%s", p.unwalked ? p.unwalked : "");
    struct db_summary sum = {.id = id, .allocator = heap, .objects = st->objects, .used = st->used,
                             .free = st->free, .roots = st->roots, .refs = st->refs,
                             .typed_objects = p.typing.typed_objects,
                             .typed_bytes = p.typing.typed_bytes,
                             .type_conflicts = p.typing.conflicts,
                             .index_seconds = clock_wall_s() - t0};
    if (opt->progress)
        notify_progress("committing", 0, 0);
    if (db_load_finish(p.load, s, &sum)) {
        snprintf(err, errlen, "%s: %s", tmp, db_load_error(p.load));
        goto out;
    }
    phase("indexes, commit");
    if (sqlite3_close(db) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", tmp, sqlite3_errmsg(db));
        goto out;
    }
    db = NULL;
    /* the big tables' rows, laid out beside SQLite's, go in now (bulk.c) */
    if (opt->progress)
        notify_progress("writing the tables", 0, 0);
    if (db_load_splice(p.load, tmp)) {
        snprintf(err, errlen, "%s: %s", tmp, db_load_error(p.load));
        goto out;
    }
    db_load_free(p.load);
    p.load = NULL;
    phase("splice tables");
    /* checked again: the indexing took a while */
    if (db_may_replace(opt->output, err, errlen))
        goto out;
    if (rename(tmp, opt->output)) {
        snprintf(err, errlen, "%s: %s", opt->output, strerror(errno));
        goto out;
    }
    made_tmp = 0;
    st->seconds = clock_wall_s() - t0;
    rc = 0;
out:
    refsort_free(p.refs); /* first: it ends a scan still reading the objects and roots */
    p.refs = NULL;
    if (opt->progress)
        notify_progress_done();
    db_load_free(p.load);
    if (db)
        sqlite3_close(db);
    if (made_tmp)
        unlink(tmp);
    roots_free(&rs);
    free(quiet);
    free(quiet_regions);
    pipeline_free(&p);
    if (d)
        dbg_close(d);
    if (s)
        hs_close(s);
    carried_remove(&carried);
    free(id);
    return rc;
}
