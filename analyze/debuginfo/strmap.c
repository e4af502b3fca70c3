/*
 * strmap.c — the string hash table of strmap.h: FNV-1a hashing, linear
 * probing, load factor at most one half.
 */
#include <stdlib.h>
#include <string.h>

#include "debuginfo/strmap.h"

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

void strmap_free(struct strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}

/* The slot holding key, or the empty slot where it would go. */
static struct strmap_slot *probe(const struct strmap *m, const char *key, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        struct strmap_slot *s = &m->slots[i];
        if (!s->key || (s->hash == h && !strcmp(s->key, key)))
            return s;
    }
}

static int grow(struct strmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    struct strmap_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -1;
    struct strmap old = *m;
    m->slots = ns;
    m->cap = ncap;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key)
            *probe(m, old.slots[i].key, old.slots[i].hash) = old.slots[i];
    free(old.slots);
    return 0;
}

int strmap_get(const struct strmap *m, const char *key, uint64_t *value)
{
    if (!m->cap)
        return -1;
    struct strmap_slot *s = probe(m, key, hash_str(key));
    if (!s->key)
        return -1;
    *value = s->value;
    return 0;
}

const char *strmap_key(const struct strmap *m, const char *key)
{
    if (!m->cap)
        return NULL;
    return probe(m, key, hash_str(key))->key;
}

static int put(struct strmap *m, const char *key, uint64_t value, int overwrite)
{
    if ((m->count + 1) * 2 > m->cap && grow(m) < 0)
        return -1;
    uint64_t h = hash_str(key);
    struct strmap_slot *s = probe(m, key, h);
    if (s->key) {
        if (overwrite)
            s->value = value;
        return 0;
    }
    if (!(s->key = strdup(key)))
        return -1;
    s->hash = h;
    s->value = value;
    m->count++;
    return 1;
}

int strmap_add(struct strmap *m, const char *key, uint64_t value)
{
    return put(m, key, value, 0);
}

int strmap_set(struct strmap *m, const char *key, uint64_t value)
{
    return put(m, key, value, 1) < 0 ? -1 : 0;
}
