/*
 * strmap.h — a string-keyed hash table for the debug-info indexes.
 *
 * The symbol table and the per-module DWARF name indexes map names to small
 * integers (symbol indexes, DIE offsets, constant values).  This is the one
 * open-addressing table they all use: keys are copied into the table (so
 * the caller may free or reuse its buffer), values are plain 64-bit words,
 * and the table grows by doubling.  Nothing is ever removed, which keeps
 * probing trivial.
 */
#ifndef HEAPSNAP_DEBUGINFO_STRMAP_H
#define HEAPSNAP_DEBUGINFO_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap_slot {
    char *key;      /* NULL: empty */
    uint64_t hash;
    uint64_t value;
};

struct strmap {
    struct strmap_slot *slots;
    size_t cap;     /* a power of two, or 0 */
    size_t count;
};

/* An empty map needs no setup beyond zeroing it. */
void strmap_free(struct strmap *m);

/* The value for key in *value; 0 if found, -1 if not. */
int strmap_get(const struct strmap *m, const char *key, uint64_t *value);
/* The stored copy of key (stable until strmap_free), or NULL. */
const char *strmap_key(const struct strmap *m, const char *key);

/* Insert key -> value unless key is present (the first value wins).
 * Returns 1 if inserted, 0 if it was already there, -1 on out-of-memory. */
int strmap_add(struct strmap *m, const char *key, uint64_t value);

/* Insert or overwrite.  0, or -1 on out-of-memory. */
int strmap_set(struct strmap *m, const char *key, uint64_t value);

#endif
