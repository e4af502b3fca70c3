/*
 * internal.h — what the graph core's own files share and callers do not
 * see: the allocator for its big arrays.
 */
#ifndef HEAPSNAP_GRAPH_INTERNAL_H
#define HEAPSNAP_GRAPH_INTERNAL_H

#include <stddef.h>

/*
 * malloc/calloc for arrays that are indexed at random (pre[], the LT
 * records, the CSR itself): blocks of 2 MiB and more are aligned to 2 MiB
 * and offered to the kernel as transparent huge pages.  At 10 M nodes a
 * random index into a 40-160 MB array misses the TLB on nearly every
 * access with 4 KiB pages; huge pages take most of those misses away.
 * Release with free(); realloc() works as usual.
 */
void *graph_alloc(size_t bytes);
void *graph_zalloc(size_t bytes);

#endif
