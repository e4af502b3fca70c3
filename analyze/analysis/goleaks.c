/*
 * goleaks.c — what a Go developer means by a leak, for `heapsnap leaks` on a
 * Go heap (analysis.h).  In a collected heap an unreachable object is
 * garbage the next cycle frees (leaks.c counts it apart); what grows
 * without end in a Go program is goroutines blocked forever, and what they
 * hold.
 *
 * Blocked goroutines.  The runtime notes when it first saw a goroutine
 * blocked: scanning a goroutine's stack, the mark phase sets g.waitsince
 * to work.tstart for every goroutine it finds waiting or in a system call
 * with waitsince still 0, and execute() and exitsyscall() clear it when the
 * goroutine runs again (mgcmark.go, markroot; proc.go; Go 1.19 to 1.27).
 * work.tstart is set at mark termination (gcMark), so a cycle marks with
 * the previous cycle's time: the first cycle leaves waitsince 0.  So a
 * goroutine with waitsince set has been blocked since before the last
 * cycle's mark, and capture − waitsince is how long it has waited as Go's
 * own traceback reckons it ("[chan receive, 5 minutes]": nanotime() −
 * waitsince); it is never less than the time since the last GC.  The field's offset
 * comes from the DWARF of runtime.g (the fields table); the word from the
 * captured g (the goroutines table has its address).  nanotime() is turned
 * into the capture's clock through the last GC's end, which the runtime
 * keeps in both (memstats.last_gc_nanotime and last_gc_unix: go_memstats'
 * LastGCNanotime and LastGC).
 *
 * Groups are (status, wait reason, start function, current function,
 * creator), largest first: a leak is one large group.  Goroutines the
 * runtime starts for itself (start function runtime.*, but runtime.main)
 * block for ever by design and are counted apart, as Go's own traceback
 * hides them.
 */
#include "analysis/analysis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GO_LEAK_GROUPS_MAX 100000 /* goroutine groups kept; a hostile table stops here */

static int stat_of(sqlite3 *db, const char *name, uint64_t *v)
{
    sqlite3_stmt *s;
    int rc = -1;
    if (sqlite3_prepare_v2(db, "SELECT value FROM go_memstats WHERE name = ?", -1, &s, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
        *v = (uint64_t)sqlite3_column_int64(s, 0);
        rc = 0;
    }
    sqlite3_finalize(s);
    return rc;
}

static int one_int(sqlite3 *db, const char *sql, int64_t *v)
{
    sqlite3_stmt *s;
    int rc = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
        *v = sqlite3_column_int64(s, 0);
        rc = 0;
    }
    sqlite3_finalize(s);
    return rc;
}

static void copy(char *dst, size_t len, const unsigned char *s)
{
    snprintf(dst, len, "%s", s ? (const char *)s : "");
}

static int by_count(const void *a, const void *b)
{
    const struct go_blocked *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return x->first_goid < y->first_goid ? -1 : x->first_goid > y->first_goid;
}

int go_leaks_find(struct go_leaks *g, sqlite3 *db)
{
    memset(g, 0, sizeof *g);
    g->since_gc_ns = -1;
    if (stat_of(db, "HeapAlloc", &g->heap_alloc) || stat_of(db, "HeapMarked", &g->heap_marked))
        return 0; /* not a Go heap (or its MemStats could not be rebuilt: the warnings say why) */
    g->go = 1;
    stat_of(db, "NumGC", &g->num_gc);
    uint64_t last_unix = 0, last_nano = 0;
    int64_t capture = 0, off = -1;
    int clocks = !stat_of(db, "LastGC", &last_unix) && !stat_of(db, "LastGCNanotime", &last_nano) &&
                 !one_int(db, "SELECT capture_time_ns FROM snapshot", &capture) && capture > 0 && last_unix;
    if (clocks)
        g->since_gc_ns = capture - (int64_t)last_unix;
    if (one_int(db, "SELECT f.offset FROM fields f JOIN types t ON t.id = f.type_id WHERE t.name = 'runtime.g'"
                    " AND t.kind = 'struct' AND f.name = 'waitsince' LIMIT 1", &off) || off < 0) {
        snprintf(g->problem, sizeof g->problem, "the DWARF has no runtime.g.waitsince: how long goroutines "
                 "have been blocked is unknown");
        return 0;
    }
    if (!clocks) {
        snprintf(g->problem, sizeof g->problem, "the last GC's time is not in go_memstats: how long goroutines "
                 "have been blocked is unknown");
        return 0;
    }
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT goid, status, ifnull(wait_reason, ''), ifnull(func, ''),"
                           " ifnull(start_func, ''), ifnull(created_by, ''), u64(addr + ?1) FROM goroutines"
                           " WHERE status IN ('waiting', 'syscall') ORDER BY goid",
                           -1, &s, NULL) != SQLITE_OK) {
        snprintf(g->problem, sizeof g->problem, "no goroutines table: %s", sqlite3_errmsg(db));
        return 0;
    }
    sqlite3_bind_int64(s, 1, off);
    size_t cap = 0;
    int rc = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (sqlite3_column_type(s, 6) == SQLITE_NULL) {
            g->unreadable++;
            continue;
        }
        int64_t since = sqlite3_column_int64(s, 6);
        if (since == 0)
            continue; /* blocked after the last mark phase: no GC has seen it waiting yet */
        const unsigned char *start = sqlite3_column_text(s, 4);
        if (start && !strncmp((const char *)start, "runtime.", 8) && strcmp((const char *)start, "runtime.main")) {
            g->runtime_blocked++;
            continue;
        }
        g->blocked++;
        /* nanotime() at waitsince, in the capture's clock, and how long ago */
        int64_t blocked_ns = capture - ((int64_t)last_unix - ((int64_t)last_nano - since));
        struct go_blocked key = {0};
        copy(key.status, sizeof key.status, sqlite3_column_text(s, 1));
        copy(key.wait_reason, sizeof key.wait_reason, sqlite3_column_text(s, 2));
        copy(key.func, sizeof key.func, sqlite3_column_text(s, 3));
        copy(key.start_func, sizeof key.start_func, start);
        copy(key.created_by, sizeof key.created_by, sqlite3_column_text(s, 5));
        size_t k = 0;
        for (; k < g->ngroups; k++) {
            const struct go_blocked *b = &g->groups[k];
            if (!strcmp(b->status, key.status) && !strcmp(b->wait_reason, key.wait_reason) &&
                !strcmp(b->func, key.func) && !strcmp(b->start_func, key.start_func) &&
                !strcmp(b->created_by, key.created_by))
                break;
        }
        if (k == g->ngroups) {
            if (g->ngroups == GO_LEAK_GROUPS_MAX)
                continue;
            if (g->ngroups == cap) {
                cap = cap ? 2 * cap : 16;
                struct go_blocked *v = realloc(g->groups, cap * sizeof *v);
                if (!v) {
                    rc = -1;
                    break;
                }
                g->groups = v;
            }
            key.first_goid = sqlite3_column_int64(s, 0);
            key.longest_ns = blocked_ns;
            key.shortest_ns = blocked_ns;
            g->groups[g->ngroups++] = key;
        }
        struct go_blocked *b = &g->groups[k];
        b->count++;
        if (blocked_ns > b->longest_ns)
            b->longest_ns = blocked_ns;
        if (blocked_ns < b->shortest_ns)
            b->shortest_ns = blocked_ns;
    }
    sqlite3_finalize(s);
    if (g->ngroups > 1)
        qsort(g->groups, g->ngroups, sizeof *g->groups, by_count);
    return rc;
}

void go_leaks_free(struct go_leaks *g)
{
    free(g->groups);
    memset(g, 0, sizeof *g);
}
