/*
 * hashmap.c — 64-bit keys to 32-bit values (see hashmap.h).  Linear probing
 * over a power-of-two table kept at most half full; keys are mixed with a
 * multiplicative hash because DIE offsets and addresses are far from random
 * in their low bits.
 */
#include "types/hashmap.h"

#include <stdlib.h>

struct slot {
    uint64_t key;
    uint32_t value;
    uint32_t used;
};

struct tymap {
    struct slot *s;
    size_t cap, count;
    int has_zero;
    uint32_t zero_value;
};

static size_t mix(uint64_t k, size_t cap)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

struct tymap *tymap_new(void)
{
    return calloc(1, sizeof(struct tymap));
}

void tymap_free(struct tymap *m)
{
    if (m) {
        free(m->s);
        free(m);
    }
}

int tymap_get(const struct tymap *m, uint64_t key, uint32_t *v)
{
    if (!m)
        return 0;
    if (key == 0) {
        if (m->has_zero)
            *v = m->zero_value;
        return m->has_zero;
    }
    if (!m->cap)
        return 0;
    for (size_t i = mix(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (!m->s[i].used)
            return 0;
        if (m->s[i].key == key) {
            *v = m->s[i].value;
            return 1;
        }
    }
}

static void put(struct slot *s, size_t cap, uint64_t key, uint32_t v, size_t *count)
{
    for (size_t i = mix(key, cap);; i = (i + 1) & (cap - 1)) {
        if (!s[i].used) {
            s[i] = (struct slot){key, v, 1};
            (*count)++;
            return;
        }
        if (s[i].key == key) {
            s[i].value = v;
            return;
        }
    }
}

int tymap_set(struct tymap *m, uint64_t key, uint32_t v)
{
    if (key == 0) {
        m->has_zero = 1;
        m->zero_value = v;
        return 0;
    }
    if ((m->count + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64, n = 0;
        struct slot *s = calloc(cap, sizeof *s);
        if (!s)
            return -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->s[i].used)
                put(s, cap, m->s[i].key, m->s[i].value, &n);
        free(m->s);
        m->s = s;
        m->cap = cap;
        m->count = n;
    }
    put(m->s, m->cap, key, v, &m->count);
    return 0;
}

size_t tymap_count(const struct tymap *m)
{
    return m ? m->count + (size_t)m->has_zero : 0;
}
