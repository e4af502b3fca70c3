/*
 * dynamic.c — types named by a type word in memory: the dynamic type of an
 * interface value, which DWARF cannot give.
 *
 * A runtime may keep values as two words, a type word and a pointer to the
 * value (Go's interfaces: runtime.eface {_type, data}, runtime.iface {tab,
 * data}).  DWARF types the pointer as untyped (unsafe.Pointer), so the
 * typing pass would stop there.  The allocator walker knows how to name a
 * type word (its type_name hook) and which structs are such pairs (its
 * interface_types); the indexer hands both over in tytab.dyn.  Here, those
 * structs are flagged TYF_DYNAMIC — their slot list then holds the data word
 * with the pointee TY_DYNAMIC_SLOT — and a type word is turned into the
 * DWARF struct of the same name.  Nothing here knows a runtime by name.
 *
 * The name a type word gives is the runtime's: "*main.Session" says the
 * data word points at a main.Session; "main.Record" (a value boxed by the
 * runtime) that it points at a copy of one.  Either way the object is the
 * struct named without the one leading '*'.  Type words are read from a
 * hostile snapshot: the hook checks what it reads, and the answers are
 * cached per word up to a bound, so a heap full of distinct junk words costs
 * a bounded amount of memory.
 *
 * The same naming serves the allocator's record of what an object was
 * allocated as (its object_word hook: Go's malloc header), a type word
 * that names the object's own type: no '*' is taken off.
 */
#include <string.h>

#include "base/u64map.h"
#include "types/types.h"

#define DYN_CACHE_MAX 65536 /* distinct type words remembered */

void ty_mark_dynamic(struct tytab *t)
{
    if (!t->dyn.structs || !t->dyn.name)
        return;
    for (size_t k = 0; t->dyn.structs[k] && k < 16; k++) {
        const char *want = t->dyn.structs[k];
        for (size_t i = 1; i < t->n; i++) {
            struct ty *y = &t->v[i];
            /* a type word and a data word: 16 bytes at least */
            if (y->kind == TY_STRUCT && y->size >= 16 && !strcmp(ty_str(t, y->name), want))
                y->flags |= TYF_DYNAMIC;
        }
    }
}

/* The type word names the object's type itself (not the type of a
 * pointer to it, as an interface's does): "*main.Session" is a pointer. */
static uint32_t named(struct tytab *t, struct u64map *cache, uint64_t word, int strip)
{
    uint32_t id;
    if (!t->dyn.name || !word)
        return 0;
    if (cache && u64map_get(cache, word, &id))
        return id;
    if (cache && u64map_len(cache) >= DYN_CACHE_MAX)
        return 0; /* junk words by the thousand: name no more */
    char name[512];
    id = 0;
    if (t->dyn.name(t->dyn.u, word, name, sizeof name) == 1) {
        name[sizeof name - 1] = 0;
        id = ty_by_name(t, strip && name[0] == '*' ? name + 1 : name);
    }
    if (cache && u64map_set(cache, word, id))
        t->oom = 1;
    return id;
}

uint32_t ty_dynamic_type(struct tytab *t, struct u64map *cache, uint64_t word)
{
    return named(t, cache, word, 1);
}

/* A header's word is a descriptor the DWARF names exactly by its
 * DW_AT_go_runtime_type (an offset from the module's types since Go 1.2x,
 * an address before); else by the name the runtime gives it. */
uint32_t ty_header_type(struct tytab *t, struct u64map *cache, uint64_t word, uint64_t types_base)
{
    uint32_t id;
    if (t->byrtype && ((types_base && word > types_base && u64map_get(t->byrtype, word - types_base, &id) && id) ||
                       (u64map_get(t->byrtype, word, &id) && id)))
        return id;
    return named(t, cache, word, 0);
}
