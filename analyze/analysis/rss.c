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
 * Go's free slots and free page runs are no objects: their counts, bytes
 * and resident bytes come from the go_spans table (go_spans() below).
 */
#include "core/hscore.h"
#include "analysis/analysis.h"
#include "analysis/rss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsnap.h"

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

static const struct rss_advisor *const advisors[] = {
    &rss_glibc_advisor,
    &rss_jemalloc_advisor,
    &rss_tcmalloc_advisor,
    &rss_go_advisor,
    NULL,
};

const struct rss_advisor *rss_advisor_for(const char *allocator)
{
    for (size_t i = 0; allocator && advisors[i]; i++)
        if (!strcmp(advisors[i]->allocator, allocator))
            return advisors[i];
    return NULL;
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

int rss_scalar(sqlite3 *db, const char *sql, uint64_t *v)
{
    sqlite3_stmt *s;
    int rc = -1;
    if (!db || sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
        *v = (uint64_t)sqlite3_column_int64(s, 0);
        rc = 0;
    }
    sqlite3_finalize(s);
    return rc;
}

uint64_t rss_fact(const struct rss_figures *f, const char *key)
{
    sqlite3_stmt *s;
    uint64_t v = 0;
    if (!f->db || sqlite3_prepare_v2(f->db, "SELECT CAST(value AS INTEGER) FROM facts WHERE key = ?1", -1, &s,
                                     NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = (uint64_t)sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
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

/* The where named w; free memory of a kind no allocator names counts as
 * free elsewhere. */
static int where_index(const char *w)
{
    int k = heap_where_by_name(w);
    return k >= 0 ? k : WHERE_FREE_OTHER;
}

static int chunks(struct rss_figures *f, sqlite3 *db, const char *file, const struct hs_snapshot *snap, char *err,
                  size_t errlen)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT arena, state = 'used', \"where\", size, chunk, chunk_size, heap FROM objects",
                           -1, &s, NULL) != SQLITE_OK)
        return fail(db, file, "reading objects", err, errlen);
    while (sqlite3_step(s) == SQLITE_ROW) {
        int used = sqlite3_column_int(s, 1);
        int w = where_index((const char *)sqlite3_column_text(s, 2));
        uint64_t size = (uint64_t)sqlite3_column_int64(s, 3), chunk = (uint64_t)sqlite3_column_int64(s, 4);
        uint64_t csize = (uint64_t)sqlite3_column_int64(s, 5);
        int hp = heap_index(f, (const char *)sqlite3_column_text(s, 6));
        struct rss_heap *hh = &f->heaps[hp];
        if (used && w != WHERE_INTERNAL) {
            /* In the runtime's own terms: Go's HeapAlloc counts whole slots,
             * a malloc header (Go 1.22+) included; glibc's uordblks-like
             * figure is what the program was given. */
            hh->used += w == WHERE_GO_SPAN ? csize : size;
            hh->used_count++;
        } else if (!used) {
            hh->free += csize;
        }
        if (used && w == WHERE_MMAPPED) {
            f->mmapped_count++;
            f->mmapped_bytes += size;
            continue;
        }
        struct rss_arena *a = arena_of(f, hp, sqlite3_column_int(s, 0));
        if (!a)
            continue;
        if (used && w == WHERE_INTERNAL) {
            /* malloc's own chunk (a thread's tcache): overhead, not the program's data */
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
        if (w == WHERE_TOP) {
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

/* The Go heap's free memory, which is not in objects: each in-use span's
 * free slots (go_spans free_count, free_bytes; the largest free block is a
 * slot, elemsize) and each free page run (one free block of free_bytes),
 * with the resident bytes of the whole pages inside them that the walker
 * took from the page states (free_resident; Go's free memory carries no
 * links, so the whole pages of each slot or run count).  Go's objects and
 * regions are arena 0 of heap 'go'.  No go_spans table: nothing to add. */
static int go_spans(struct rss_figures *f, sqlite3 *db, const char *file, const struct hs_snapshot *snap, char *err,
                    size_t errlen)
{
    sqlite3_stmt *s;
    uint64_t have = 0;
    if (rss_scalar(db, "SELECT count(*) FROM sqlite_master WHERE name = 'go_spans'", &have) || !have)
        return 0;
    if (sqlite3_prepare_v2(db, "SELECT state = 'free', ifnull(free_count, 0), ifnull(free_bytes, 0), "
                           "ifnull(free_resident, 0), ifnull(elemsize, 0) FROM go_spans "
                           "WHERE state = 'free' OR free_count > 0", -1, &s, NULL) != SQLITE_OK)
        return fail(db, file, "reading go_spans", err, errlen);
    int hp = heap_index(f, "go");
    struct rss_heap *hh = &f->heaps[hp];
    struct rss_arena *a = arena_of(f, hp, 0);
    while (sqlite3_step(s) == SQLITE_ROW) {
        int run = sqlite3_column_int(s, 0);
        uint64_t n = (uint64_t)sqlite3_column_int64(s, 1), bytes = (uint64_t)sqlite3_column_int64(s, 2);
        uint64_t res = (uint64_t)sqlite3_column_int64(s, 3), elem = (uint64_t)sqlite3_column_int64(s, 4);
        uint64_t largest = run ? bytes : elem;
        hh->free += bytes;
        if (!a)
            continue;
        a->free[WHERE_GO_SPAN] += bytes;
        a->free_count += run ? 1 : n;
        if (snap) /* as for the chunks: resident only with the snapshot's page states at hand */
            a->free_resident += res;
        if (largest > a->largest_free)
            a->largest_free = largest;
    }
    sqlite3_finalize(s);
    return 0;
}

int rss_compute(struct rss_figures *f, sqlite3 *db, const char *file, const char *snapshot, char *err, size_t errlen)
{
    static char allocator[32];
    char path[4096] = "";
    memset(f, 0, sizeof *f);
    f->db = db;
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
        chunks(f, db, file, snap, err, errlen) || go_spans(f, db, file, snap, err, errlen))
        goto out;
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
        for (int w = 0; w < WHERE_COUNT; w++)
            if (w != WHERE_TOP)
                f->free += a->free[w];
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
            (long long)a->overhead, (long long)a->free[WHERE_TCACHE], (long long)a->free[WHERE_FASTBIN],
            (long long)a->free[WHERE_UNSORTED], (long long)a->free[WHERE_SMALLBIN], (long long)a->free[WHERE_LARGEBIN],
            (long long)a->free[WHERE_FREE_OTHER], (long long)a->free_count, (long long)a->free_resident,
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
    if (!ok || analysis_mark(db, "rss", 0) || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: storing rss figures: %s", file, sqlite3_errmsg(db));
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}
