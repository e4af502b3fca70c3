/*
 * keymap.c — a small uint64 -> uint32 hash map (open addressing, linear
 * probing, power-of-two capacity, at most half full) for grouping objects
 * by type or size.  Keys are hashed with a 64-bit mixer, so sizes that are
 * all multiples of 16 still spread over the table.
 */
#include "analysis/analysis.h"

#include <stdlib.h>

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static int grow(struct keymap *m)
{
    size_t cap = m->cap ? 2 * m->cap : 64;
    uint64_t *keys = malloc(cap * sizeof *keys);
    uint32_t *vals = malloc(cap * sizeof *vals);
    uint8_t *full = calloc(cap, 1);
    if (!keys || !vals || !full) {
        free(keys);
        free(vals);
        free(full);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->full[i])
            continue;
        size_t j = mix(m->keys[i]) & (cap - 1);
        while (full[j])
            j = (j + 1) & (cap - 1);
        full[j] = 1;
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    free(m->full);
    m->keys = keys;
    m->vals = vals;
    m->full = full;
    m->cap = cap;
    return 0;
}

uint32_t *keymap_get(struct keymap *m, uint64_t key, uint32_t val_if_new)
{
    if (2 * (m->len + 1) > m->cap && grow(m))
        return NULL;
    size_t j = mix(key) & (m->cap - 1);
    while (m->full[j]) {
        if (m->keys[j] == key)
            return &m->vals[j];
        j = (j + 1) & (m->cap - 1);
    }
    m->full[j] = 1;
    m->keys[j] = key;
    m->vals[j] = val_if_new;
    m->len++;
    return &m->vals[j];
}

uint32_t keymap_find(const struct keymap *m, uint64_t key)
{
    if (!m->cap)
        return GRAPH_NONE;
    size_t j = mix(key) & (m->cap - 1);
    while (m->full[j]) {
        if (m->keys[j] == key)
            return m->vals[j];
        j = (j + 1) & (m->cap - 1);
    }
    return GRAPH_NONE;
}

void keymap_free(struct keymap *m)
{
    free(m->keys);
    free(m->vals);
    free(m->full);
    m->keys = NULL;
    m->vals = NULL;
    m->full = NULL;
    m->cap = m->len = 0;
}
