/*
 * advice.h — what an allocator offers `heapsnap rss`: its advisor, and the
 * figures the advisor is given.
 *
 * analysis/rss.c works out where a process's resident memory goes from the
 * database (mappings with their smaps numbers, the allocator's regions,
 * objects and free chunks) and the snapshot's page states, into struct
 * rss_figures.  Then the advisor of the snapshot's allocator, which lives
 * in the allocator's folder beside its walker (struct allocator.advisor),
 * turns the figures into levers in the allocator's own terms: glibc's
 * malloc_trim() and MALLOC_ARENA_MAX, jemalloc's MALLOC_CONF decay times,
 * tcmalloc's release rate, Go's GOGC and GOMEMLIMIT.
 *
 * An advisor also reads back what its walker stored: its facts
 * ("jemalloc.dirty_bytes"), its own tables (Go: go_memstats, go_spans).
 * It does so through struct heap_reader, SQL text over the schema of
 * docs/schema.md answered row by row, so that heap/ needs no SQLite and
 * the layer that owns the database (analysis/rss.c) answers.
 */
#ifndef HEAPSNAP_HEAP_ADVICE_H
#define HEAPSNAP_HEAP_ADVICE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/json.h"
#include "heap/allocator.h"

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

#define RSS_MAX_ARENAS 256
#define RSS_LARGE (128 * 1024) /* glibc's default M_MMAP_THRESHOLD */
/* rss_arena.free's slot for free memory whose where no allocator names */
#define RSS_FREE_UNNAMED HEAP_WHERE_MAX

struct rss_arena {
    int arena;
    int heap;                  /* index into rss_figures.heaps */
    uint64_t size;             /* bytes of its regions */
    uint64_t rss;              /* smaps RSS of the mappings holding them */
    uint64_t runtime_rss;      /* of it, in the allocator's own metadata regions (Go's
                                  'go-runtime': spans, bitmaps, profiling buckets...) */
    uint64_t used, used_count, overhead;  /* used chunks: usable bytes, headers and padding;
                                             overhead includes 'internal' */
    uint64_t internal;         /* whole blocks the allocator uses itself (HW_INTERNAL) */
    uint64_t free[HEAP_WHERE_MAX + 1];    /* free bytes (whole blocks) by where (allocator.h) */
    uint64_t free_count;
    uint64_t free_resident;    /* resident interior pages of free chunks other than top */
    uint64_t largest_free;     /* the largest free chunk other than top */
    uint64_t top, top_resident;
};

/* How an advisor reads the database its figures came from: sql (one
 * statement; ?1 bound to param when param is not NULL) is run, and each()
 * called with the first ncols columns of every row (a text is valid only
 * during the call).  0, or -1 if the query could not run (a table the
 * snapshot's walker did not write). */
struct heap_reader {
    void *u;
    int (*rows)(void *u, const char *sql, const char *param, size_t ncols,
                void (*each)(void *arg, const struct heap_value *v), void *arg);
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
    /* The database the figures came from, readable while the advisor runs. */
    struct heap_reader reader;
};

/* Free memory a walker kept out of the objects table (Go's free slots and
 * free page runs, counted per span in go_spans), added to arena 'arena'
 * of the allocator's heap under where kind 'where' (its name). */
struct rss_unlisted {
    const char *where;
    int arena;
    uint64_t bytes, count, resident, largest;
};

/* How an advisor speaks: one lever and why, in plain words. */
typedef void (*rss_say)(void *u, const char *lever, const char *text);

struct heap_advisor {
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
    /* Optional: the free memory that has no object rows (struct
     * rss_unlisted), read through r; 1 with *u filled, 0 if there is none
     * (the walker's table is absent or empty). */
    int (*unlisted_free)(const struct heap_reader *r, struct rss_unlisted *u);
};

/* Whether a lever that concerns bytes is worth saying: at least 1 MiB and
 * a tenth of rss (judgement, not law: below that a setting is not worth a
 * deployment).  rss_lever says lever with the text fmt makes when it is,
 * and returns 1 if it said it. */
int rss_worth(uint64_t bytes, uint64_t rss);
int rss_lever(rss_say say, void *u, uint64_t bytes, uint64_t rss, const char *lever, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Readers built on heap_reader.rows (heap/advice.c).  One integer from a
 * one-row query: 0 with *v, or -1 if there is none (no row, NULL). */
int rss_scalar(const struct heap_reader *r, const char *sql, uint64_t *v);
/* The walker's fact KEY ("jemalloc.dirty_bytes") as a number, 0 if absent;
 * as text into buf (len bytes), 0, or -1 if absent. */
uint64_t rss_fact(const struct rss_figures *f, const char *key);
int rss_fact_text(const struct heap_reader *r, const char *key, char *buf, size_t len);

#endif
