/*
 * allocators.c — the table of allocator walkers the indexer tries, in order
 * (see allocator.h), and the names of the where values they report, which
 * each allocator gives in its own folder.  Adding an allocator is a line
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

static const struct heap_where_kind *where_kind(unsigned where)
{
    for (size_t a = 0; allocators[a]; a++)
        for (const struct heap_where_kind *k = allocators[a]->wheres; k && k->name; k++)
            if (k->where == where)
                return k;
    return NULL;
}

const char *heap_where_name(unsigned where)
{
    const struct heap_where_kind *k = where_kind(where);
    return k ? k->name : NULL;
}

const char *heap_where_label(unsigned where)
{
    const struct heap_where_kind *k = where_kind(where);
    return k ? k->label : NULL;
}

int heap_where_by_name(const char *name)
{
    for (size_t a = 0; name && allocators[a]; a++)
        for (const struct heap_where_kind *k = allocators[a]->wheres; k && k->name; k++)
            if (!strcmp(k->name, name))
                return k->where;
    return -1;
}
