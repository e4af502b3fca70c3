/*
 * allocators.c — the table of allocator walkers the indexer tries, in order
 * (see allocator.h), and the one numbering of the where values they
 * report, which each allocator names in its own folder.  Adding an allocator is a line
 * here and a folder of its own; a process may have several (a Go program linking C via cgo has both:
 * see allocator.h, beside_malloc).
 */
#include "heap/allocator.h"

#include <stddef.h>
#include <string.h>

const struct allocator *const allocators[] = {
    &go_allocator, /* before glibc: a Go program's heap; with cgo, glibc's is walked beside it */
    &jemalloc_allocator, /* before glibc: when jemalloc is loaded it is the process's malloc */
    &tcmalloc_allocator, /* likewise tcmalloc */
    &glibc_allocator,
    NULL,
};

const struct allocator *heap_allocator_named(const char *name)
{
    int i = heap_allocator_index(name);
    return i >= 0 ? allocators[i] : NULL;
}

int heap_allocator_index(const char *name)
{
    for (int a = 0; name && allocators[a]; a++)
        if (!strcmp(allocators[a]->name, name))
            return a;
    return -1;
}

/* Where numbers are the allocators' own, laid end to end in table order;
 * a few allocators of a few kinds each, so a walk of the table is as cheap
 * as a lookup in a cache of it, and needs no state. */
unsigned heap_where_base(const struct allocator *a)
{
    unsigned base = 0;
    for (size_t i = 0; allocators[i] && allocators[i] != a; i++)
        base += allocators[i]->nwheres;
    return base;
}

unsigned heap_where_count(void)
{
    return heap_where_base(NULL);
}

/* The allocator whose where 'where' is, with its own number in *local. */
static const struct allocator *owner(unsigned where, unsigned *local)
{
    for (size_t i = 0; allocators[i]; i++) {
        if (where < allocators[i]->nwheres) {
            *local = where;
            return allocators[i];
        }
        where -= allocators[i]->nwheres;
    }
    return NULL;
}

const struct heap_where_kind *heap_where_kind(unsigned where)
{
    unsigned local;
    const struct allocator *a = owner(where, &local);
    return a ? &a->wheres[local] : NULL;
}

const char *heap_where_name(unsigned where)
{
    const struct heap_where_kind *k = heap_where_kind(where);
    return k ? k->name : NULL;
}

const char *heap_where_label(unsigned where)
{
    const struct heap_where_kind *k = heap_where_kind(where);
    return k ? k->label : NULL;
}

unsigned heap_where_flags(unsigned where)
{
    const struct heap_where_kind *k = heap_where_kind(where);
    return k ? k->flags : 0;
}

const char *heap_where_heap(unsigned where)
{
    unsigned local;
    const struct allocator *a = owner(where, &local);
    return a ? a->name : NULL;
}

unsigned heap_where_type_slack(unsigned where)
{
    unsigned local;
    const struct allocator *a = owner(where, &local);
    return a && a->type_slack ? a->type_slack : HEAP_TYPE_SLACK;
}

int heap_where_find(const char *heap, const char *name)
{
    const struct allocator *a = heap_allocator_named(heap);
    for (unsigned w = 0; a && name && w < a->nwheres; w++)
        if (!strcmp(a->wheres[w].name, name))
            return (int)(heap_where_base(a) + w);
    return -1;
}
