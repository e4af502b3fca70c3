/*
 * allocators.c — the table of allocator walkers the indexer tries, in order
 * (see allocator.h).  Adding an allocator is a line here and a file of its
 * own; a process may have several (a Go program linking C via cgo has both:
 * see allocator.h, beside_malloc).
 */
#include "heap/allocator.h"

#include <stddef.h>

const struct allocator *const allocators[] = {
    &go_allocator, /* before glibc: a Go program's heap; with cgo, glibc's is walked beside it */
    &jemalloc_allocator, /* before glibc: when jemalloc is loaded it is the process's malloc */
    &tcmalloc_allocator, /* likewise tcmalloc */
    &glibc_allocator,
    NULL,
};
