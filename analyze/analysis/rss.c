/*
 * rss.c — the figures behind `heapsnap rss` (see rss.h): every mapping's
 * smaps RSS put under one kind, so the kinds add up to the process's RSS
 * exactly; the allocator's memory split into used bytes, per-chunk
 * overhead and free chunks by where they sit; and how much of the free
 * memory is still resident.
 *
 * Resident free memory is counted the way malloc_trim() would find it:
 * only the whole pages inside a free chunk, from the first page boundary
 * past the chunk's first 48 bytes (header and free-list links, which stay
 * written) to the last page boundary before its end.  A page counts as
 * resident when the snapshot has it as DATA or ZERO (both were present in
 * the process; ABSENT and SWAPPED pages were not).  So the figure is what
 * trimming could give back, and it undercounts the bytes a free chunk
 * really occupies by at most two partial pages plus 48 bytes per chunk.
 * Free memory a walker keeps out of the objects table (Go's free slots and
 * free page runs, per span in go_spans) its advisor reads and hands over
 * (heap_advisor.unlisted_free).  Where kinds are told apart by their flags
 * (allocator.h), never by an allocator's name.
 */
#include "core/hscore.h"
#include "analysis/analysis.h"
#include "analysis/rss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsnap.h"
#include "db/db.h"

#define FREE_LINKS 48 /* sizeof(struct malloc_chunk): header + fd/bk + fd/bk_nextsize */

static const char *const kind_names[RSS_NKINDS] = {
    [RSS_HEAP] = "heap arenas",     [RSS_MMAPPED] = "mmapped allocations", [RSS_STACK] = "thread stacks",
    [RSS_BINARY] = "binaries and libraries", [RSS_ANON] = "other anonymous memory",
    [RSS_SHARED] = "shared memory",
};

const char *rss_kind_name(enum rss_kind k)
{
    return k < RSS_NKINDS ? kind_names[k] : "?";
}

const struct heap_advisor *rss_advisor_for(const char *allocator)
{
    const struct allocator *a = heap_allocator_named(allocator);
    return a ? a->advisor : NULL;
}

#define UNNAMED "unnamed"

const char *rss_free_label(unsigned where)
{
    if (where == RSS_FREE_UNNAMED)
        return UNNAMED;
    const char *l = heap_where_label(where);
    for (unsigned w = 0; l && w < where; w++)
        if (heap_where_label(w) && !strcmp(heap_where_label(w), l))
            return NULL;
    return l;
}

uint64_t rss_free_labelled(const struct rss_arena *a, const char *label)
{
    uint64_t n = strcmp(label, UNNAMED) ? 0 : a->free[RSS_FREE_UNNAMED];
    for (unsigned w = 0; w < heap_where_count(); w++)
        if (heap_where_label(w) && !strcmp(heap_where_label(w), label))
            n += a->free[w];
    return n;
}

uint64_t rss_arena_free(const struct rss_arena *a)
{
    uint64_t n = 0;
    for (unsigned w = 0; w <= HEAP_WHERE_MAX; w++)
        if (!(heap_where_flags(w) & HW_TOP))
            n += a->free[w];
    return n;
}

/* The free bytes of arena a under where kinds named name, of whichever
 * allocator (an arena is one heap's, so only its own have any). */
static uint64_t free_named(const struct rss_arena *a, const char *name)
{
    uint64_t n = 0;
    for (unsigned w = 0; w < heap_where_count(); w++)
        if (heap_where_name(w) && !strcmp(heap_where_name(w), name))
            n += a->free[w];
    return n;
}

/* heap_reader.rows on the database (advice.h): an advisor's reads. */
static int reader_rows(void *u, const char *sql, const char *param, size_t ncols,
                       void (*each)(void *arg, const struct heap_value *v), void *arg)
{
    sqlite3 *db = u;
    sqlite3_stmt *s;
    struct heap_value v[8];
    if (!db || ncols > sizeof v / sizeof *v || sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return -1;
    if (param)
        sqlite3_bind_text(s, 1, param, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        for (size_t c = 0; c < ncols; c++) {
            v[c] = (struct heap_value){0};
            switch (sqlite3_column_type(s, (int)c)) {
            case SQLITE_INTEGER: v[c].kind = HV_INT; v[c].i = sqlite3_column_int64(s, (int)c); break;
            case SQLITE_FLOAT: v[c].kind = HV_REAL; v[c].d = sqlite3_column_double(s, (int)c); break;
            case SQLITE_NULL: v[c].kind = HV_NULL; break;
            default: v[c].kind = HV_TEXT; v[c].s = (const char *)sqlite3_column_text(s, (int)c); break;
            }
        }
        each(arg, v);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

struct region {
    uint64_t start, end;
    int arena;
    int mmapped;
    int heap;       /* index into rss_figures.heaps */
    int runtime;    /* the allocator's own metadata (kind '...-runtime': Go's) */
};

/* The index of heap 'name' in f->heaps, added if new (the last slot takes
 * any overflow: four heaps in one process is already more than exists). */
static int heap_index(struct rss_figures *f, const char *name)
{
    if (!name)
        name = f->allocator;
    for (size_t i = 0; i < f->nheaps; i++)
        if (!strcmp(f->heaps[i].name, name))
            return (int)i;
    if (f->nheaps == sizeof f->heaps / sizeof *f->heaps)
        return (int)f->nheaps - 1;
    snprintf(f->heaps[f->nheaps].name, sizeof f->heaps[f->nheaps].name, "%s", name);
    return (int)f->nheaps++;
}

static int by_start(const void *a, const void *b)
{
    const struct region *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static int by_arena(const void *a, const void *b)
{
    const struct rss_arena *x = a, *y = b;
    return (x->arena > y->arena) - (x->arena < y->arena);
}

/* Arena numbers are each heap's own: glibc's main arena and Go's are both 0. */
static struct rss_arena *arena_of(struct rss_figures *f, int heap, int arena)
{
    for (size_t i = 0; i < f->narenas; i++)
        if (f->arenas[i].arena == arena && f->arenas[i].heap == heap)
            return &f->arenas[i];
    if (f->narenas == RSS_MAX_ARENAS)
        return NULL;
    f->arenas[f->narenas] = (struct rss_arena){.arena = arena, .heap = heap};
    return &f->arenas[f->narenas++];
}

/* The first region overlapping [start, end), or NULL (regions sorted). */
static const struct region *overlap(const struct region *r, size_t n, uint64_t start, uint64_t end)
{
    size_t a = 0, b = n;
    while (a < b) { /* first region ending after start */
        size_t m = a + (b - a) / 2;
        if (r[m].end <= start)
            a = m + 1;
        else
            b = m;
    }
    /* regions do not overlap each other, so ends are sorted as starts are */
    return a < n && r[a].start < end ? &r[a] : NULL;
}

static int fail(sqlite3 *db, const char *file, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s: %s", file, what, sqlite3_errmsg(db));
    return -1;
}

/* Resident whole pages of [a, b). */
static uint64_t resident(const struct hs_snapshot *s, uint64_t a, uint64_t b, uint32_t ps)
{
    uint64_t lo = (a + ps - 1) / ps * ps, hi = b / ps * ps, n = 0;
    const struct hs_mem_range *r = NULL;
    for (uint64_t p = lo; p < hi; p += ps) {
        if (!r || p < r->start || p >= r->end)
            r = hs_find_range(s, p);
        if (!r)
            continue;
        uint8_t st = r->page_state[(p - r->start) / r->page_size];
        if (st == HS_PAGE_DATA || st == HS_PAGE_ZERO)
            n += ps;
    }
    return n;
}

static int load_regions(struct rss_figures *f, sqlite3 *db, const char *file, struct region **out, size_t *n,
                        char *err, size_t errlen)
{
    sqlite3_stmt *s;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(db, "SELECT start, end, arena, kind = 'mmap-chunk', heap, kind LIKE '%-runtime' FROM regions", -1, &s, NULL) !=
        SQLITE_OK)
        return fail(db, file, "reading regions", err, errlen);
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            struct region *v = realloc(*out, cap * sizeof *v);
            if (!v) {
                sqlite3_finalize(s);
                snprintf(err, errlen, "%s: out of memory", file);
                return -1;
            }
            *out = v;
        }
        (*out)[(*n)++] = (struct region){(uint64_t)sqlite3_column_int64(s, 0), (uint64_t)sqlite3_column_int64(s, 1),
                                         sqlite3_column_int(s, 2), sqlite3_column_int(s, 3),
                                         heap_index(f, (const char *)sqlite3_column_text(s, 4)),
                                         sqlite3_column_int(s, 5)};
    }
    sqlite3_finalize(s);
    if (*n > 1)
        qsort(*out, *n, sizeof **out, by_start);
    return 0;
}

/*
 * Each mapping's smaps RSS goes to the kinds of memory it holds.  The
 * allocator's regions take what is resident inside them, page by page from
 * the snapshot's page states, and the rest of the mapping goes to what it
 * would be without them: the kernel merges adjacent anonymous mappings, so
 * one mapping may hold malloc's mmapped chunks and memory that is not
 * malloc's at all (python3's own arenas), and only the ranges the allocator
 * owns are its.  Without page states a mapping is counted whole, under the
 * first region it holds.  Either way the kinds add up to smaps exactly.
 * kind_count counts a mapping under every kind it gave bytes to.
 */
static int mappings(struct rss_figures *f, sqlite3 *db, const char *file, const struct region *rg, size_t nrg,
                    const struct hs_snapshot *snap, char *err, size_t errlen)
{
    sqlite3_stmt *s, *t;
    /* lazyfree came with format 1.2 (NULL before it); a database from an
     * older heapsnap has no such column at all */
    if (sqlite3_prepare_v2(db, "SELECT start, end, perms, coalesce(path, ''), rss, swap, coalesce(vmflags, ''),"
                           " lazyfree FROM mappings ORDER BY start",
                           -1, &s, NULL) != SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT start, end, perms, coalesce(path, ''), rss, swap, coalesce(vmflags, ''),"
                           " NULL FROM mappings ORDER BY start",
                           -1, &s, NULL) != SQLITE_OK)
        return fail(db, file, "reading mappings", err, errlen);
    f->lazyfree_known = 1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM threads WHERE stack_start < ? AND stack_end > ?", -1, &t,
                           NULL) != SQLITE_OK) {
        sqlite3_finalize(s);
        return fail(db, file, "reading threads", err, errlen);
    }
    char prev_path[8] = "";
    uint64_t prev_end = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        uint64_t start = (uint64_t)sqlite3_column_int64(s, 0), end = (uint64_t)sqlite3_column_int64(s, 1);
        const char *perms = (const char *)sqlite3_column_text(s, 2);
        const char *path = (const char *)sqlite3_column_text(s, 3);
        uint64_t rss = (uint64_t)sqlite3_column_int64(s, 4);
        /* smaps gives every mapping a VmFlags line; a core gives none. */
        const unsigned char *vmf = sqlite3_column_text(s, 6);
        if (rss || (vmf && vmf[0]))
            f->smaps_known = 1;
        f->total_rss += rss;
        f->total_swap += (uint64_t)sqlite3_column_int64(s, 5);
        uint64_t lazy = (uint64_t)sqlite3_column_int64(s, 7);
        if (sqlite3_column_type(s, 7) == SQLITE_NULL)
            f->lazyfree_known = 0;
        f->total_lazyfree += lazy;
        sqlite3_bind_int64(t, 1, (int64_t)end);
        sqlite3_bind_int64(t, 2, (int64_t)start);
        int stack = sqlite3_step(t) == SQLITE_ROW && sqlite3_column_int(t, 0) > 0;
        sqlite3_reset(t);
        const struct region *r = overlap(rg, nrg, start, end);
        enum rss_kind k;
        if (perms && strlen(perms) >= 4 && perms[3] == 's')
            k = RSS_SHARED;
        else if (r && r->mmapped && !snap)
            k = RSS_MMAPPED;
        else if ((r && !snap) || (path && !strcmp(path, "[heap]")))
            k = RSS_HEAP;
        else if (stack || (path && !strcmp(path, "[stack]")))
            k = RSS_STACK;
        else if (path && path[0] && path[0] != '[')
            k = RSS_BINARY;
        else if (!path[0] && prev_path[0] == '/' && prev_end == start && perms && perms[1] == 'w')
            k = RSS_BINARY; /* .bss beyond the file: anonymous, right after the module's data */
        else
            k = RSS_ANON;
        uint64_t left = rss;
        int gave[RSS_NKINDS] = {0};
        f->kind_size[k] += end - start;
        /* Two passes: malloc's mmapped chunks first, then the other regions.
         * smaps is read before the stop and the page states at it; a page
         * that a runtime touched in between (Go's own memory beside a cgo
         * program's chunks) would otherwise be taken from the chunks, whose
         * pages change only when the program writes them. */
        for (int pass = 0; pass < 2; pass++)
        for (const struct region *q = r; snap && k != RSS_SHARED && q && q < rg + nrg && q->start < end; q++) {
            if (q->mmapped != (pass == 0))
                continue;
            uint64_t lo = q->start > start ? q->start : start, hi = q->end < end ? q->end : end;
            uint64_t ps = f->page_size;
            uint64_t res = resident(snap, lo / ps * ps, (hi + ps - 1) / ps * ps, f->page_size);
            uint64_t share = res < left ? res : left;
            enum rss_kind qk = q->mmapped ? RSS_MMAPPED : RSS_HEAP;
            left -= share;
            f->kind_rss[qk] += share;
            f->heaps[q->heap].rss += share;
            gave[qk] = 1;
            if (qk == RSS_MMAPPED) {
                f->mmapped_rss += share;
            } else {
                struct rss_arena *a = arena_of(f, q->heap, q->arena);
                if (a)
                    a->rss += share;
                if (a && q->runtime)
                    a->runtime_rss += share;
            }
        }
        if (left || !(gave[RSS_HEAP] || gave[RSS_MMAPPED])) {
            f->kind_rss[k] += left;
            gave[k] = 1;
            if (k == RSS_MMAPPED)
                f->mmapped_rss += left;
            if (k == RSS_HEAP || k == RSS_MMAPPED)
                f->heaps[r ? r->heap : 0].rss += left;
            if (k == RSS_HEAP) {
                struct rss_arena *a = arena_of(f, r ? r->heap : 0, r ? r->arena : 0);
                if (a)
                    a->rss += left;
            }
        }
        if (r && r->heap == 0 && !r->mmapped)
            f->heap_lazyfree += lazy; /* smaps says it per mapping: the mapping's, whatever else it holds */
        for (int g = 0; g < RSS_NKINDS; g++)
            f->kind_count[g] += gave[g];
        snprintf(prev_path, sizeof prev_path, "%s", k == RSS_BINARY && path[0] ? path : "");
        prev_end = end;
    }
    sqlite3_finalize(s);
    sqlite3_finalize(t);
    return 0;
}

/* Heap heap's where named w; free memory of a kind no allocator names
 * has a slot of its own. */
static int where_index(const char *heap, const char *w)
{
    int k = heap_where_find(heap, w);
    return k >= 0 ? k : (int)RSS_FREE_UNNAMED;
}

static int chunks(struct rss_figures *f, sqlite3 *db, const char *file, const struct hs_snapshot *snap, char *err,
                  size_t errlen)
{
    sqlite3_stmt *s;
    /* the where as stored (db.h: this build's numbering, which the schema
     * version pins), not its generated name looked up again per row */
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT arena, (bits & %u) = 0, bits & 31, size, chunk, chunk_size, heap FROM objects",
             DB_BITS_FREE);
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return fail(db, file, "reading objects", err, errlen);
    while (sqlite3_step(s) == SQLITE_ROW) {
        int used = sqlite3_column_int(s, 1);
        const char *heap = (const char *)sqlite3_column_text(s, 6);
        unsigned bw = (unsigned)sqlite3_column_int(s, 2);
        int w = heap_where_name(bw) ? (int)bw : (int)RSS_FREE_UNNAMED;
        unsigned flags = heap_where_flags((unsigned)w);
        uint64_t size = (uint64_t)sqlite3_column_int64(s, 3), chunk = (uint64_t)sqlite3_column_int64(s, 4);
        uint64_t csize = (uint64_t)sqlite3_column_int64(s, 5);
        int hp = heap_index(f, heap);
        struct rss_heap *hh = &f->heaps[hp];
        if (used && !(flags & HW_INTERNAL)) {
            /* In the runtime's own terms: Go's HeapAlloc counts whole slots,
             * a malloc header (Go 1.22+) included; glibc's uordblks-like
             * figure is what the program was given. */
            hh->used += flags & HW_WHOLE_SLOT ? csize : size;
            hh->used_count++;
        } else if (!used) {
            hh->free += csize;
        }
        if (used && (flags & HW_OWN_MAPPING)) {
            f->mmapped_count++;
            f->mmapped_bytes += size;
            continue;
        }
        struct rss_arena *a = arena_of(f, hp, sqlite3_column_int(s, 0));
        if (!a)
            continue;
        if (used && (flags & HW_INTERNAL)) {
            /* the allocator's own block (glibc: a thread's tcache): overhead, not the program's data */
            a->internal += csize;
            a->overhead += csize;
            continue;
        }
        if (used) {
            a->used += size;
            a->used_count++;
            a->overhead += csize > size ? csize - size : 0;
            if (csize >= RSS_LARGE) {
                f->large_count++;
                f->large_bytes += size;
            }
            continue;
        }
        a->free[w] += csize;
        uint64_t res = snap && csize > FREE_LINKS ? resident(snap, chunk + FREE_LINKS, chunk + csize, f->page_size) : 0;
        if (flags & HW_TOP) {
            a->top += csize;
            a->top_resident += res;
        } else {
            a->free_count++;
            a->free_resident += res;
            if (csize > a->largest_free)
                a->largest_free = csize;
        }
    }
    sqlite3_finalize(s);
    return 0;
}

/* Free memory with no object rows, as each allocator's advisor reads it
 * (heap_advisor.unlisted_free: Go's free slots and free page runs, whose
 * resident bytes the walker took from the page states).  Its largest free
 * block is one slot, or one run. */
static void unlisted(struct rss_figures *f, const struct hs_snapshot *snap)
{
    for (size_t i = 0; allocators[i]; i++) {
        const struct heap_advisor *adv = allocators[i]->advisor;
        struct rss_unlisted u = {0};
        if (!adv || !adv->unlisted_free || adv->unlisted_free(&f->reader, &u) != 1)
            continue;
        int hp = heap_index(f, allocators[i]->name);
        f->heaps[hp].free += u.bytes;
        struct rss_arena *a = arena_of(f, hp, u.arena);
        if (!a)
            continue;
        int w = where_index(allocators[i]->name, u.where);
        a->free[w] += u.bytes;
        a->free_count += u.count;
        if (snap) /* as for the chunks: resident only with the snapshot's page states at hand */
            a->free_resident += u.resident;
        if (u.largest > a->largest_free)
            a->largest_free = u.largest;
    }
}

int rss_compute(struct rss_figures *f, sqlite3 *db, const char *file, const char *snapshot, char *err, size_t errlen)
{
    static char allocator[32];
    char path[4096] = "";
    memset(f, 0, sizeof *f);
    f->reader = (struct heap_reader){.u = db, .rows = reader_rows};
    f->allocator = "";
    f->page_size = 4096;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT coalesce(allocator, ''), page_size, path, (SELECT count(*) FROM threads)"
                           " FROM snapshot", -1, &s, NULL) != SQLITE_OK)
        return fail(db, file, "reading the snapshot row", err, errlen);
    if (sqlite3_step(s) == SQLITE_ROW) {
        snprintf(allocator, sizeof allocator, "%s", (const char *)sqlite3_column_text(s, 0));
        f->allocator = allocator;
        if (sqlite3_column_int(s, 1) > 0)
            f->page_size = (uint32_t)sqlite3_column_int(s, 1);
        if (sqlite3_column_text(s, 2))
            snprintf(path, sizeof path, "%s", (const char *)sqlite3_column_text(s, 2));
        f->threads = (uint64_t)sqlite3_column_int64(s, 3);
    }
    sqlite3_finalize(s);
    if (snapshot)
        snprintf(path, sizeof path, "%s", snapshot);
    struct hs_error herr;
    struct hs_snapshot *snap = path[0] ? hs_open_any(path, HS_OPEN_METADATA_ONLY, &herr) : NULL;
    f->pages_known = snap != NULL;

    struct region *rg = NULL;
    size_t nrg = 0;
    int rc = -1;
    heap_index(f, f->allocator); /* the snapshot's heap is heaps[0] */
    if (load_regions(f, db, file, &rg, &nrg, err, errlen) || mappings(f, db, file, rg, nrg, snap, err, errlen) ||
        chunks(f, db, file, snap, err, errlen))
        goto out;
    unlisted(f, snap);
    /* Without smaps (a core), the page states say what the core holds, not
     * what was resident: no residency figure may be built on them. */
    if (!f->smaps_known)
        f->pages_known = 0;
    for (size_t i = 0; i < nrg; i++) {
        struct rss_arena *a = rg[i].mmapped ? NULL : arena_of(f, rg[i].heap, rg[i].arena);
        if (a)
            a->size += rg[i].end - rg[i].start;
    }
    if (f->narenas > 1) /* printed in arena order, whatever order they were met in */
        qsort(f->arenas, f->narenas, sizeof f->arenas[0], by_arena);
    for (size_t i = 0; i < f->narenas; i++) {
        const struct rss_arena *a = &f->arenas[i];
        f->used += a->used;
        f->overhead += a->overhead;
        f->internal += a->internal;
        f->free += rss_arena_free(a);
        f->free_resident += a->free_resident;
        f->free_count += a->free_count;
        f->top += a->top;
        f->top_resident += a->top_resident;
        if (a->largest_free > f->largest_free)
            f->largest_free = a->largest_free;
    }
    rc = 0;
out:
    free(rg);
    if (snap)
        hs_close(snap);
    return rc;
}

void rss_json_kinds(struct json *j, const struct rss_figures *f)
{
    json_key(j, "kinds");
    json_begin_array(j);
    for (int k = 0; k < RSS_NKINDS; k++) {
        json_begin_object(j);
        json_kv_string(j, "kind", rss_kind_name((enum rss_kind)k));
        json_kv_uint(j, "mappings", f->kind_count[k]);
        json_kv_uint(j, "rss", f->kind_rss[k]);
        json_end_object(j);
    }
    json_end_array(j);
}

/* The result tables rss_kinds, rss_heaps and rss_arenas (docs/schema.md),
 * replaced in one transaction. */
int rss_store(sqlite3 *db, const struct rss_figures *f, const char *file, char *err, size_t errlen)
{
    if (sqlite3_db_readonly(db, "main") == 1)
        return 0;
    if (analysis_begin(db, file,
                      "DROP TABLE IF EXISTS rss_kinds; DROP TABLE IF EXISTS rss_arenas;"
                      " DROP TABLE IF EXISTS rss_heaps;"
                      "CREATE TABLE rss_kinds(kind TEXT PRIMARY KEY, mappings INTEGER, rss INTEGER);"
                      "CREATE TABLE rss_heaps(heap TEXT PRIMARY KEY, rss INTEGER, used INTEGER, used_count INTEGER,"
                      " free INTEGER);"
                      "CREATE TABLE rss_arenas(arena INTEGER, size INTEGER, rss INTEGER,"
                      " used INTEGER, used_count INTEGER, overhead INTEGER, tcache INTEGER, fastbin INTEGER,"
                      " unsorted INTEGER, smallbin INTEGER, largebin INTEGER, other_free INTEGER,"
                      " free_count INTEGER, free_resident INTEGER, largest_free INTEGER, top INTEGER,"
                      " top_resident INTEGER, heap TEXT, UNIQUE(heap, arena));",
                      err, errlen))
        return -1;
    int ok = 1;
    for (int k = 0; k < RSS_NKINDS && ok; k++) {
        char *q = sqlite3_mprintf("INSERT INTO rss_kinds VALUES(%Q, %lld, %lld)", rss_kind_name((enum rss_kind)k),
                                  (long long)f->kind_count[k], (long long)f->kind_rss[k]);
        ok = q && sqlite3_exec(db, q, NULL, NULL, NULL) == SQLITE_OK;
        sqlite3_free(q);
    }
    for (size_t i = 0; i < f->narenas && ok; i++) {
        const struct rss_arena *a = &f->arenas[i];
        char *q = sqlite3_mprintf(
            "INSERT INTO rss_arenas VALUES(%d, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld,"
            " %lld, %lld, %lld, %lld, %lld, %Q)",
            a->arena, (long long)a->size, (long long)a->rss, (long long)a->used, (long long)a->used_count,
            (long long)a->overhead, (long long)free_named(a, "tcache"), (long long)free_named(a, "fastbin"),
            (long long)free_named(a, "unsorted"), (long long)free_named(a, "smallbin"),
            (long long)free_named(a, "largebin"), (long long)(free_named(a, "free-other") + a->free[RSS_FREE_UNNAMED]),
            (long long)a->free_count, (long long)a->free_resident,
            (long long)a->largest_free, (long long)a->top, (long long)a->top_resident,
            a->heap < (int)f->nheaps ? f->heaps[a->heap].name : NULL);
        ok = q && sqlite3_exec(db, q, NULL, NULL, NULL) == SQLITE_OK;
        sqlite3_free(q);
    }
    for (size_t i = 0; i < f->nheaps && ok; i++) {
        const struct rss_heap *h = &f->heaps[i];
        char *q = sqlite3_mprintf("INSERT INTO rss_heaps VALUES(%Q, %lld, %lld, %lld, %lld)", h->name,
                                  (long long)h->rss, (long long)h->used, (long long)h->used_count, (long long)h->free);
        ok = q && sqlite3_exec(db, q, NULL, NULL, NULL) == SQLITE_OK;
        sqlite3_free(q);
    }
    if (!ok || db_step_mark(db, "rss", 0) || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: storing rss figures: %s", file, sqlite3_errmsg(db));
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}
