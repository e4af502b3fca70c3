/*
 * rss.h — where a process's resident memory goes, for `heapsnap rss`.
 *
 * rss.c works out the figures (struct rss_figures, heap/advice.h) from the
 * database (mappings with their smaps numbers, the allocator's regions,
 * objects and free chunks) and the snapshot's page states (which pages of
 * a free chunk are still resident); then the advisor of the snapshot's
 * allocator turns them into levers.
 *
 * The advisor is the only allocator-specific part, and it lives in the
 * allocator's folder (heap/glibc/advice.c: malloc_trim(), MALLOC_ARENA_MAX,
 * M_TRIM_THRESHOLD, M_MMAP_THRESHOLD; heap/jemalloc/advice.c: MALLOC_CONF's
 * dirty_decay_ms, muzzy_decay_ms, narenas, background_thread;
 * heap/tcmalloc/advice.c: TCMALLOC_RELEASE_RATE, ReleaseFreeMemory();
 * heap/go/advice.c: GOGC, GOMEMLIMIT, debug.FreeOSMemory(),
 * GODEBUG=madvdontneed), reached through struct allocator.advisor; rss.c
 * answers its reads of the database (struct heap_reader).
 */
#ifndef HEAPSNAP_ANALYSIS_RSS_H
#define HEAPSNAP_ANALYSIS_RSS_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "heap/allocator.h"
#include "base/json.h"

#include "heap/advice.h"

const char *rss_kind_name(enum rss_kind k);

/* Fill f from db (whose snapshot is 'snapshot', or the path in the
 * snapshot table if NULL).  0, or -1 with err. */
int rss_compute(struct rss_figures *f, sqlite3 *db, const char *file, const char *snapshot, char *err,
                size_t errlen);

/* Store f as db's rss_kinds, rss_heaps and rss_arenas tables (nothing on
 * a read-only database).  0, or -1 with err (the transaction rolled back). */
int rss_store(sqlite3 *db, const struct rss_figures *f, const char *file, char *err, size_t errlen);

/* The advisor of allocator ("glibc"), or NULL. */
const struct heap_advisor *rss_advisor_for(const char *allocator);

/* Free memory listed by label (struct heap_where_kind.label, "fastbins"):
 * rss_free_label(w) is where w's label if w is the first where with it
 * (two allocators may use one, as "tcache"), "unnamed" for the slot of
 * free memory no allocator names (RSS_FREE_UNNAMED), else NULL; so a loop
 * over w <= HEAP_WHERE_MAX meets each label once.  rss_free_labelled: arena
 * a's free bytes under that label.  rss_arena_free: a's free bytes but its
 * top (HW_TOP), as the arena's "free" figure. */
const char *rss_free_label(unsigned where);
uint64_t rss_free_labelled(const struct rss_arena *a, const char *label);
uint64_t rss_arena_free(const struct rss_arena *a);

/* The "kinds" array of the figures' --json (rss and report share it). */
void rss_json_kinds(struct json *j, const struct rss_figures *f);

#endif
