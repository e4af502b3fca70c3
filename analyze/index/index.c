/*
 * index.c — the indexer pipeline's orchestration (see index.h): open the
 * snapshot and its debug info, let the allocator walker fill the object
 * table, find the roots, scan for references straight into the database,
 * and put the finished file in place.
 *
 * Problems found on the way (allocator doubts, dropped objects, missing
 * debug files) are kept as rows of the warnings table, never fatal: a
 * damaged heap is exactly what people index snapshots to look at.  Only an
 * unreadable snapshot or a failing database write stops the pipeline.
 */
#include "index/index.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "db/db.h"
#include "heap/allocator.h"
#include "index/objects.h"
#include "index/refqueue.h"
#include "index/refs.h"
#include "index/roots.h"

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
    struct warning *warn;
    size_t nwarn, capwarn;
    uint64_t warn_dropped;
    struct fact *facts;
    size_t nfacts;
    const char *source; /* the allocator being walked, for its warnings */
    int oom;
    struct db_load *load;
    uint64_t nrefs;
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
    if (!p->oom && objtab_add(&p->objs, o))
        p->oom = 1;
}

static void on_region(struct heap_ctx *c, const struct heap_region *r)
{
    struct pipeline *p = c->user;
    if (p->oom || r->end <= r->start)
        return;
    if (p->nregions == p->capregions) {
        size_t cap = p->capregions ? 2 * p->capregions : 16;
        struct heap_region *v = realloc(p->regions, cap * sizeof *v);
        if (!v) {
            p->oom = 1;
            return;
        }
        p->regions = v;
        p->capregions = cap;
    }
    struct heap_region *d = &p->regions[p->nregions];
    *d = *r;
    /* the walker's strings need not outlive the walk */
    if (!(d->kind = strdup(r->kind ? r->kind : ""))) {
        p->oom = 1;
        return;
    }
    p->nregions++;
}

static void on_fact(struct heap_ctx *c, const char *key, const char *value)
{
    struct pipeline *p = c->user;
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

static void on_dropped(void *u, const struct obj *o, const char *why)
{
    char msg[256];
    snprintf(msg, sizeof msg, "object of %llu bytes left out: %s", (unsigned long long)o->size, why);
    add_warning(u, o->addr, "index", msg);
}

/* ---- the reference sink: rows go straight to SQLite */

static int on_ref(void *u, int64_t src, uint64_t offset, int64_t dst, int interior)
{
    struct pipeline *p = u;
    p->nrefs++;
    return db_load_ref(p->load, src, offset, dst, interior) ? -1 : 0;
}

static void on_progress(void *u, uint64_t done, uint64_t total)
{
    struct pipeline *p = u;
    if (p->opt->progress)
        cli_progress("scanning references", done, total);
}

/* Run the first allocator that recognises the snapshot.  Returns its name. */
static const char *walk_heap(struct pipeline *p, const struct hs_snapshot *s, struct dbg *d)
{
    struct heap_ctx ctx = {.snap = s, .dbg = d, .user = p, .object = on_object, .region = on_region,
                           .fact = on_fact, .problem = on_problem};
    for (size_t i = 0; allocators[i]; i++) {
        const struct allocator *a = allocators[i];
        p->source = a->name;
        if (!a->detect(&ctx))
            continue;
        if (a->walk(&ctx) != 0)
            add_warning(p, 0, a->name, "the allocator was detected but its heap could not be walked");
        return a->name;
    }
    add_warning(p, 0, "index", "no known allocator found: the database has roots but no objects");
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* HEAPSNAP_TIMING=1 prints how long each phase took (bench/index uses it). */
static void phase(const char *name)
{
    static double last;
    static int on = -1;
    if (on < 0) {
        const char *e = getenv("HEAPSNAP_TIMING");
        on = e && *e && strcmp(e, "0");
        last = now_s();
    }
    if (!on)
        return;
    double t = now_s();
    fprintf(stderr, "timing: %-22s %8.3f s\n", name, t - last);
    last = t;
}

/* Everything that goes into the database, in key order per table. */
static int load_all(struct pipeline *p, const struct hs_snapshot *s, struct dbg *d,
                    const struct rootset *rs, const char *heap)
{
    struct db_load *l = p->load;
    if (db_load_metadata(l, s, d))
        return -1;
    phase("metadata");
    for (size_t i = 0; i < p->nregions; i++)
        if (db_load_region(l, &p->regions[i], heap))
            return -1;
    for (size_t i = 0; i < p->nfacts; i++)
        if (db_load_fact(l, p->facts[i].key, p->facts[i].value))
            return -1;
    /* the scan runs beside the object and root inserts (refqueue.h) */
    struct refq *q = refq_start(s, &p->objs, rs);
    int rc = 0;
    for (size_t i = 0; i < p->objs.n && !rc; i++) {
        if ((i & 0xffff) == 0 && p->opt->progress)
            cli_progress("storing objects", i, p->objs.n);
        rc = db_load_object(l, (int64_t)i + 1, &p->objs.v[i], heap);
    }
    for (size_t i = 0; i < rs->n && !rc; i++)
        rc = db_load_root(l, root_id(rs, i), &rs->v[i]);
    phase("load objects, roots");
    if (q) {
        const struct ref_row *rows;
        size_t n;
        while (!rc && (n = refq_next(q, &rows)) > 0) {
            if (p->opt->progress)
                cli_progress("scanning references", refq_progress(q), p->objs.n);
            for (size_t i = 0; i < n && !rc; i++)
                rc = db_load_ref(l, rows[i].src, rows[i].offset & ~REF_ROW_INTERIOR, rows[i].dst,
                                 !!(rows[i].offset & REF_ROW_INTERIOR));
            p->nrefs += n;
        }
        refq_finish(q);
    } else if (!rc) { /* no second thread to be had: scan here */
        struct ref_sink sink = {.user = p, .ref = on_ref, .progress = on_progress};
        rc = refs_scan(s, &p->objs, rs, &sink);
    }
    if (rc)
        return -1;
    phase("scan + load refs");
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
    objtab_free(&p->objs);
    for (size_t i = 0; i < p->nregions; i++)
        free((char *)p->regions[i].kind);
    free(p->regions);
    for (size_t i = 0; i < p->nwarn; i++)
        free(p->warn[i].message);
    free(p->warn);
    for (size_t i = 0; i < p->nfacts; i++) {
        free(p->facts[i].key);
        free(p->facts[i].value);
    }
    free(p->facts);
}

int index_snapshot(const struct index_options *opt, struct index_stats *st, char *err, size_t errlen)
{
    double t0 = now_s();
    struct pipeline p = {.opt = opt};
    struct rootset rs = {0};
    struct hs_snapshot *s = NULL;
    struct dbg *d = NULL;
    sqlite3 *db = NULL;
    char tmp[4096 + 32];
    int rc = -1, made_tmp = 0;
    struct db_snapid *id = calloc(1, sizeof *id);

    memset(st, 0, sizeof *st);
    if (!id) {
        snprintf(err, errlen, "%s: out of memory", opt->snapshot);
        return -1;
    }
    if (db_snapshot_id(opt->snapshot, id, err, errlen))
        goto out;
    struct hs_error herr;
    phase("start");
    if (!(s = hs_open(opt->snapshot, 0, &herr))) {
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
    if (!(d = dbg_open(s, &opt->dbg))) {
        snprintf(err, errlen, "%s: out of memory reading debug info", opt->snapshot);
        goto out;
    }
    if (hs_snapshot_truncated(s))
        add_warning(&p, 0, "snapshot", hs_snapshot_warning(s) ? hs_snapshot_warning(s) : "truncated");

    phase("debug info");
    const char *heap = walk_heap(&p, s, d);
    phase("walk heap");
    if (p.oom || objtab_finish(&p.objs, on_dropped, &p) || p.oom ||
        roots_collect(&rs, s, d, p.regions, p.nregions)) {
        snprintf(err, errlen, "%s: out of memory", opt->snapshot);
        goto out;
    }
    phase("objects, roots");

    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", opt->output, (long)getpid());
    unlink(tmp);
    made_tmp = 1;
    if (sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot create: %s", tmp, db ? sqlite3_errmsg(db) : "out of memory");
        goto out;
    }
    char lerr[512];
    if (!(p.load = db_load_begin(db, lerr, sizeof lerr))) {
        snprintf(err, errlen, "%s: %s", tmp, lerr);
        goto out;
    }
    if (load_all(&p, s, d, &rs, heap ? heap : "none")) {
        snprintf(err, errlen, "%s: %s", tmp, db_load_error(p.load));
        goto out;
    }
    if (p.opt->progress)
        cli_progress_done();
    st->objects = p.objs.n;
    st->used = p.objs.nused;
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
    struct db_summary sum = {.id = id, .allocator = heap, .objects = st->objects, .used = st->used,
                             .free = st->free, .roots = st->roots, .refs = st->refs,
                             .index_seconds = now_s() - t0};
    if (db_load_finish(p.load, s, &sum)) {
        snprintf(err, errlen, "%s: %s", tmp, db_load_error(p.load));
        goto out;
    }
    phase("indexes, commit");
    db_load_free(p.load);
    p.load = NULL;
    if (sqlite3_close(db) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", tmp, sqlite3_errmsg(db));
        goto out;
    }
    db = NULL;
    if (rename(tmp, opt->output)) {
        snprintf(err, errlen, "%s: %s", opt->output, strerror(errno));
        goto out;
    }
    made_tmp = 0;
    st->seconds = now_s() - t0;
    rc = 0;
out:
    if (opt->progress)
        cli_progress_done();
    db_load_free(p.load);
    if (db)
        sqlite3_close(db);
    if (made_tmp)
        unlink(tmp);
    roots_free(&rs);
    pipeline_free(&p);
    if (d)
        dbg_close(d);
    if (s)
        hs_close(s);
    free(id);
    return rc;
}
