/*
 * rss.h — where a process's resident memory goes, for `heapsnap rss`.
 *
 * rss.c works out the figures from the database (mappings with their
 * smaps numbers, the allocator's regions, objects and free chunks) and the
 * snapshot's page states (which pages of a free chunk are still resident);
 * then the advisor of the snapshot's allocator turns them into levers.
 *
 * The advisor is the only allocator-specific part: rss_glibc.c knows
 * malloc_trim(), MALLOC_ARENA_MAX, M_TRIM_THRESHOLD and M_MMAP_THRESHOLD;
 * rss_jemalloc.c MALLOC_CONF's dirty_decay_ms, muzzy_decay_ms, narenas and
 * background_thread; rss_tcmalloc.c TCMALLOC_RELEASE_RATE,
 * ReleaseFreeMemory() and TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES;
 * rss_go.c GOGC, GOMEMLIMIT, debug.FreeOSMemory() and GODEBUG=madvdontneed.
 * A new allocator adds its rss_NAME.c and one line in rss.c's table.
 */
#ifndef HEAPSNAP_ANALYSIS_RSS_H
#define HEAPSNAP_ANALYSIS_RSS_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "heap/allocator.h"
#include "base/json.h"

/* Kinds of mapping RSS is split into; every mapping is exactly one. */
enum rss_kind {
    RSS_HEAP,      /* an allocator arena (glibc main arena, arena heaps) */
    RSS_MMAPPED,   /* allocations with their own mapping (glibc mmapped chunks) */
    RSS_STACK,     /* thread stacks */
    RSS_BINARY,    /* executables and libraries, their .data and .bss */
    RSS_ANON,      /* other anonymous memory */
    RSS_SHARED,    /* shared mappings: shared memory, shared files */
    RSS_NKINDS
};

const char *rss_kind_name(enum rss_kind k);

#define RSS_MAX_ARENAS 256
#define RSS_LARGE (128 * 1024) /* glibc's default M_MMAP_THRESHOLD */

struct rss_arena {
    int arena;
    int heap;                  /* index into rss_figures.heaps */
    uint64_t size;             /* bytes of its regions */
    uint64_t rss;              /* smaps RSS of the mappings holding them */
    uint64_t runtime_rss;      /* of it, in the allocator's own metadata regions (Go's
                                  'go-runtime': spans, bitmaps, profiling buckets...) */
    uint64_t used, used_count, overhead;  /* used chunks: usable bytes, headers and padding;
                                             overhead includes 'internal' */
    uint64_t internal;         /* whole chunks malloc uses itself (where 'malloc-internal') */
    uint64_t free[WHERE_COUNT];           /* free chunk bytes (whole chunks) by where */
    uint64_t free_count;
    uint64_t free_resident;    /* resident interior pages of free chunks other than top */
    uint64_t largest_free;     /* the largest free chunk other than top */
    uint64_t top, top_resident;
};

struct rss_figures {
    const char *allocator;     /* "glibc", ... or "" */
    uint32_t page_size;
    int pages_known;           /* the snapshot's page states could be read */
    int smaps_known;           /* the mappings carry smaps figures (a snapshot read
                                  from a core has none: RSS is then unknown) */
    uint64_t kind_size[RSS_NKINDS]; /* virtual bytes of each kind's mappings */
    uint64_t total_rss, total_swap;
    /* smaps LazyFree (format 1.2): MADV_FREE'd pages the kernel has not
     * reclaimed, inside RSS; heap_lazyfree of the mappings holding the
     * snapshot's heap (heaps[0]) regions.  lazyfree_known 0 if any mapping
     * lacks the figure (an older snapshot, a core). */
    uint64_t total_lazyfree, heap_lazyfree;
    int lazyfree_known;
    uint64_t kind_rss[RSS_NKINDS], kind_count[RSS_NKINDS];
    struct rss_arena arenas[RSS_MAX_ARENAS];
    size_t narenas;
    uint64_t mmapped_count, mmapped_bytes, mmapped_rss;  /* chunks with their own mapping */
    uint64_t large_count, large_bytes;  /* used arena chunks of RSS_LARGE bytes or more */
    /* sums over the arenas */
    uint64_t used, overhead, internal, free, free_count, free_resident, top, top_resident, largest_free;
    uint64_t threads;
    /* Each heap's share (a cgo program has two: go and glibc), by the
     * objects' and regions' heap column; heaps[0] is the snapshot's. */
    struct rss_heap {
        char name[16];
        uint64_t rss;          /* RSS of the mappings its regions are in */
        uint64_t used, used_count, free;
    } heaps[4];
    size_t nheaps;
    /* The database the figures came from, open while the advisor runs: an
     * allocator may keep figures of its own there (Go: go_memstats). */
    sqlite3 *db;
};

/* Fill f from db (whose snapshot is 'snapshot', or the path in the
 * snapshot table if NULL).  0, or -1 with err. */
int rss_compute(struct rss_figures *f, sqlite3 *db, const char *file, const char *snapshot, char *err,
                size_t errlen);

/* Store f as db's rss_kinds, rss_heaps and rss_arenas tables (nothing on
 * a read-only database).  0, or -1 with err (the transaction rolled back). */
int rss_store(sqlite3 *db, const struct rss_figures *f, const char *file, char *err, size_t errlen);

/* How an advisor speaks: one lever and why, in plain words. */
typedef void (*rss_say)(void *u, const char *lever, const char *text);

struct rss_advisor {
    const char *allocator;
    void (*advise)(const struct rss_figures *f, rss_say say, void *u);
    /* Optional: how heapsnap's figures meet the allocator's own statistics
     * (glibc: mallinfo2; jemalloc: mallctl stats), one line per figure,
     * the statistic's name as the lever. */
    void (*reconcile)(const struct rss_figures *f, rss_say say, void *u);
    /* Optional: the allocator's heap in its own terms, replacing the
     * generic arena figures (malloc's words: chunks, top, overhead) for
     * the arenas of the snapshot's own heap; text and --json ("go": ...). */
    void (*describe)(const struct rss_figures *f, FILE *out);
    void (*describe_json)(const struct rss_figures *f, struct json *j);
};

extern const struct rss_advisor rss_glibc_advisor;
extern const struct rss_advisor rss_go_advisor;
extern const struct rss_advisor rss_jemalloc_advisor;
extern const struct rss_advisor rss_tcmalloc_advisor;

/* One integer from a one-row query on the advisor's database (a fact, a
 * sum over objects): 0 with *v, or -1 if there is none. */
int rss_scalar(sqlite3 *db, const char *sql, uint64_t *v);
/* The walker's fact KEY ("jemalloc.dirty_bytes") as a number, 0 if absent. */
uint64_t rss_fact(const struct rss_figures *f, const char *key);

/* The advisor for f->allocator, or NULL. */
const struct rss_advisor *rss_advisor_for(const char *allocator);

/* The "kinds" array of the figures' --json (rss and report share it). */
void rss_json_kinds(struct json *j, const struct rss_figures *f);

#endif
