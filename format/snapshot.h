/*
 * snapshot.h — the reader's internal state (internal to format/).
 *
 * load.c brings a file into memory; reader.c walks it and fills a struct
 * hs_snapshot; decode.c turns the metadata payloads into the public
 * structs; materialise.c turns memory blocks into ranges; access.c answers
 * the getters and memory reads of hsnap.h; verify.c reuses the walk with
 * checks only.
 *
 * Everything the snapshot hands out (strings, argv, module headers, ...)
 * lives in an arena freed at once by hs_close(); the record arrays are
 * plain realloc'd arrays because several sections may append to them.
 */
#ifndef HEAPSNAP_FORMAT_SNAPSHOT_H
#define HEAPSNAP_FORMAT_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "encode.h"
#include "hsnap.h"

struct hs_arena;
struct hs_lazy; /* ondemand.c */

struct hs_range_store {
    struct hs_mem_range r;
    uint8_t *states;    /* malloc'd */
    uint8_t *map;       /* mmap'd, map_len bytes; NULL if metadata only */
    size_t map_len;
    uint64_t *gone;     /* a bit per page given back (hs_release); NULL while none is */
    int all_captured;   /* every page's state is a captured one (hs_store_states_set) */
};

struct hs_snapshot {
    char *path;
    unsigned minor;
    int truncated;
    char *warning;
    struct hs_arena *arena;

    int have_process, have_stats;
    struct hs_process process;
    struct hs_stats stats;
    struct hs_mapping *mappings;
    size_t nmappings;
    struct hs_module *modules;
    size_t nmodules;
    struct hs_thread *threads;
    size_t nthreads;

    struct hs_file *files;       /* files.c: carried files, data malloc'd */
    size_t nfiles;

    struct hs_mem_range *ranges; /* sorted by start; the public view */
    struct hs_range_store *store;
    size_t nranges;
    struct hs_lazy *lazy;        /* HS_OPEN_ON_DEMAND: the blocks not yet placed */
    uint64_t released_reads;     /* reads of pages hs_release gave back; atomic */
};

/* The most DATA bytes one open may materialise (SIZE_MAX, i.e. no limit,
 * unless changed).  A few KiB of zstd can stand for gigabytes of memory;
 * the fuzzer lowers this so that such inputs end in an error rather than
 * in its RSS limit. */
extern size_t hs_reader_max_data;

/* Zeroed memory that lives until hs_close(); NULL if out of memory. */
void *hs_arena_alloc(struct hs_snapshot *s, size_t n);
void hs_arena_free(struct hs_snapshot *s);

/* Decode one metadata payload (raw, decompressed) into s.  On failure
 * returns -1 and writes what is wrong (without the file/section prefix)
 * into why. */
int hs_decode_process(struct hs_snapshot *s, struct hs_cur *c, char *why, size_t whylen);
int hs_decode_mappings(struct hs_snapshot *s, struct hs_cur *c, char *why, size_t whylen);
int hs_decode_modules(struct hs_snapshot *s, struct hs_cur *c, char *why, size_t whylen);
int hs_decode_threads(struct hs_snapshot *s, struct hs_cur *c, char *why, size_t whylen);
int hs_decode_stats(struct hs_snapshot *s, struct hs_cur *c, char *why, size_t whylen);

/* files.c: free the carried files. */
void hs_files_free(struct hs_snapshot *s);

/* The shared walk: parse a whole file image.  verify != 0 checks without
 * materialising memory, treats truncation as an error, and logs one line
 * per section to log (if non-NULL). */
struct hs_snapshot *hs_parse(const uint8_t *buf, size_t len, const char *name, unsigned flags,
                             int verify, FILE *log, struct hs_error *err);

/* Load a file ("-" is standard input) into memory: mmap'd when it is a
 * regular file, read otherwise.  Release with hs_unload(). */
int hs_load(const char *path, const uint8_t **buf, size_t *len, int *mapped, struct hs_error *err);
void hs_unload(const uint8_t *buf, size_t len, int mapped);
/* access.c: the index of the first range whose end is above addr
 * (nranges if none); ranges are sorted and do not overlap. */
size_t hs_first_range_ending_above(const struct hs_snapshot *s, uint64_t addr);
/* Once st's page states are filled in: note whether every page counts as
 * captured, so that a read of it need not look at each page's state
 * (access.c; most ranges are whole). */
void hs_store_states_set(struct hs_range_store *st);
/* ondemand.c: an on-demand snapshot keeps the file image its blocks point
 * into (released by hs_lazy_free()); range ri's bytes [addr, addr + len),
 * placed first if need be, or NULL (a bad block, or not on demand). */
void hs_lazy_keep_file(struct hs_snapshot *s, const uint8_t *file, size_t len, int mapped);
const uint8_t *hs_lazy_bytes(const struct hs_snapshot *s, size_t ri, uint64_t addr, size_t len);
void hs_lazy_free(struct hs_snapshot *s);

#endif /* HEAPSNAP_FORMAT_SNAPSHOT_H */
