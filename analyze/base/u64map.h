/*
 * u64map.h — the analyzer's one integer hash map: 64-bit keys to 32-bit
 * values, open addressing with linear probing over a power-of-two table
 * kept at most half full, growing by doubling, nothing ever removed.
 *
 * Every layer uses it: the types pass maps canonical type hashes, DIE
 * offsets and vtable addresses to type ids; the analyses group objects by
 * type or size and number diff's classes.  Any key is allowed, 0 included.
 * A zeroed struct u64map is an empty map, so one can sit inside another
 * struct; u64map_new() gives one on the heap for code that passes maps
 * around by pointer.
 */
#ifndef HEAPSNAP_BASE_U64MAP_H
#define HEAPSNAP_BASE_U64MAP_H

#include <stddef.h>
#include <stdint.h>

struct u64map_slot {
    uint64_t key;
    uint32_t val;
    uint32_t used;
};

struct u64map {
    struct u64map_slot *s;
    size_t cap, len;
};

/* A map on the heap (NULL on ENOMEM), and its end (NULL is fine). */
struct u64map *u64map_new(void);
void u64map_destroy(struct u64map *m);
/* Release what a map holds, leaving it empty (for one inside a struct). */
void u64map_free(struct u64map *m);

/* 1 and *v if key is present, 0 if not (m may be NULL). */
int u64map_get(const struct u64map *m, uint64_t key, uint32_t *v);
/* The value for key, or dflt when absent. */
uint32_t u64map_find(const struct u64map *m, uint64_t key, uint32_t dflt);
/* The slot value for key, inserting val_if_new when absent; NULL on ENOMEM.
 * The pointer is good until the next insertion. */
uint32_t *u64map_slot(struct u64map *m, uint64_t key, uint32_t val_if_new);
/* Insert or overwrite; 0, or -1 on ENOMEM. */
int u64map_set(struct u64map *m, uint64_t key, uint32_t v);
size_t u64map_len(const struct u64map *m);

#endif
