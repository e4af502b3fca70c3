/*
 * hashmap.h — the integer hash map of analyze/types/: 64-bit keys to 32-bit
 * values, open addressing, growing by doubling, nothing ever removed.
 *
 * It maps canonical type hashes to type ids (tytab.c), DIE offsets to type
 * ids while a module's DWARF is read (dwtypes.c), and addresses to vtable
 * classes (infer.c).  Key 0 is allowed (stored apart).
 */
#ifndef HEAPSNAP_TYPES_HASHMAP_H
#define HEAPSNAP_TYPES_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

struct tymap;

struct tymap *tymap_new(void);
void tymap_free(struct tymap *m);
/* 1 and *v if present, 0 if not. */
int tymap_get(const struct tymap *m, uint64_t key, uint32_t *v);
/* Insert or overwrite; 0, or -1 on out-of-memory. */
int tymap_set(struct tymap *m, uint64_t key, uint32_t v);
size_t tymap_count(const struct tymap *m);

#endif
