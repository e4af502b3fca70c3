/*
 * u64map.c — 64-bit keys to 32-bit values (see u64map.h).  Keys are mixed
 * with MurmurHash3's finaliser before they pick a slot, because what is
 * stored here is far from random in its low bits: sizes that are all
 * multiples of 16, DIE offsets, addresses.
 */
#include "base/u64map.h"

#include <stdlib.h>

static size_t home(uint64_t x, size_t cap)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return (size_t)x & (cap - 1);
}

/* The slot that holds key, or the empty one where it would go. */
static struct u64map_slot *probe(struct u64map_slot *s, size_t cap, uint64_t key)
{
    size_t i = home(key, cap);
    while (s[i].used && s[i].key != key)
        i = (i + 1) & (cap - 1);
    return &s[i];
}

static int grow(struct u64map *m)
{
    size_t cap = m->cap ? 2 * m->cap : 64;
    struct u64map_slot *s = calloc(cap, sizeof *s);
    if (!s)
        return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->s[i].used)
            *probe(s, cap, m->s[i].key) = m->s[i];
    free(m->s);
    m->s = s;
    m->cap = cap;
    return 0;
}

struct u64map *u64map_new(void)
{
    return calloc(1, sizeof(struct u64map));
}

void u64map_free(struct u64map *m)
{
    if (!m)
        return;
    free(m->s);
    m->s = NULL;
    m->cap = m->len = 0;
}

void u64map_destroy(struct u64map *m)
{
    u64map_free(m);
    free(m);
}

int u64map_get(const struct u64map *m, uint64_t key, uint32_t *v)
{
    if (!m || !m->cap)
        return 0;
    const struct u64map_slot *x = probe(m->s, m->cap, key);
    if (!x->used)
        return 0;
    *v = x->val;
    return 1;
}

uint32_t u64map_find(const struct u64map *m, uint64_t key, uint32_t dflt)
{
    uint32_t v;
    return u64map_get(m, key, &v) ? v : dflt;
}

uint32_t *u64map_slot(struct u64map *m, uint64_t key, uint32_t val_if_new)
{
    if (2 * (m->len + 1) > m->cap && grow(m))
        return NULL;
    struct u64map_slot *x = probe(m->s, m->cap, key);
    if (!x->used) {
        *x = (struct u64map_slot){key, val_if_new, 1};
        m->len++;
    }
    return &x->val;
}

int u64map_set(struct u64map *m, uint64_t key, uint32_t v)
{
    uint32_t *x = u64map_slot(m, key, v);
    if (!x)
        return -1;
    *x = v;
    return 0;
}

size_t u64map_len(const struct u64map *m)
{
    return m ? m->len : 0;
}
