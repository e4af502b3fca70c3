/*
 * tcmalloc/internal.h — what the two halves of the tcmalloc (gperftools
 * 2.x) walker share.
 *
 * tcmalloc/layout.c answers "where is tcmalloc's state and what does it
 * look like": its module, the writable data it lives in, and there the
 * page map's root (PageHeap::pagemap_, a two-level radix tree from page
 * number to Span), the size map (class_to_size_) and the central free
 * lists (Static::central_cache_).  Debian's libtcmalloc_minimal.so.4 is
 * stripped and those are hidden symbols, so each is found by what it
 * holds, and believed only when it agrees with the others; the list of
 * thread caches (ThreadCache::thread_heaps_) is an exported symbol.
 * tcmalloc/walker.c walks.
 *
 * The layouts are gperftools 2.10's for x86_64 (8 KiB pages, 48-bit
 * addresses, kClassSizesMax 128, 64 transfer cache slots): there is no
 * DWARF to take them from.
 */
#ifndef HEAPSNAP_TCMALLOC_INT_H
#define HEAPSNAP_TCMALLOC_INT_H

#include <stdint.h>

#include "heap/allocator.h"

#define TC_PAGE_SHIFT   13u                 /* kPageShift */
#define TC_PAGE         (1u << TC_PAGE_SHIFT)
#define TC_LEAF_BITS    18u                 /* TCMalloc_PageMap2<35>: (35 + 1) / 2 */
#define TC_LEAF_LEN     (1u << TC_LEAF_BITS)
#define TC_ROOT_LEN     (1u << 17)          /* 2^(35 - 18) */
#define TC_NCLASSES     128u                /* kClassSizesMax */
#define TC_MAX_SMALL    (256u << 10)        /* kMaxSize */

/* struct Span */
#define TC_SPAN_SIZE    48u
#define TC_SPAN_START   0u                  /* PageID */
#define TC_SPAN_LENGTH  8u                  /* pages */
#define TC_SPAN_NEXT    16u
#define TC_SPAN_OBJECTS 32u                 /* the free objects' list */
#define TC_SPAN_BITS    40u                 /* refcount:16 sizeclass:8 location:2 sample:1 */
#define TC_SPAN_REFCOUNT(b)  ((b) & 0xffffu)
#define TC_SPAN_CLASS(b)     (((b) >> 16) & 0xffu)
#define TC_SPAN_LOCATION(b)  (((b) >> 24) & 3u)
#define TC_SPAN_SAMPLE(b)    (((b) >> 26) & 1u)
/* Where a tcmalloc object sits: its where value (allocator.h), named in
 * walker.c's tcmalloc_wheres. */
enum tc_where_kind {
    TC_WHERE_SPAN = 0,   /* a small object (used, or free in its span's list) */
    TC_WHERE_LARGE,      /* a large object: a span of its own */
    TC_WHERE_TRANSFER,   /* a small object free in a central transfer cache */
    TC_WHERE_TCACHE,     /* a small object free in a thread cache */
    TC_WHERE_COUNT
};

enum tc_location { TC_IN_USE = 0, TC_ON_NORMAL_FREELIST, TC_ON_RETURNED_FREELIST };

/* class CentralFreeListPadded (sizeof 1216: 1164 bytes padded to 64) */
#define TC_CFL_SIZE       1216u
#define TC_CFL_CLASS      8u                /* size_class_ */
#define TC_CFL_EMPTY      16u               /* empty_: a Span used as a list head */
#define TC_CFL_SLOTS      128u              /* tc_slots_[64]: {head, tail} */
#define TC_CFL_NSLOTS     64u
#define TC_CFL_USED_SLOTS 1152u             /* int32 used_slots_ */

/* class ThreadCache */
#define TC_TC_LIST_STRIDE 32u               /* FreeList: list_, length_ (u32), ... */
#define TC_TC_LENGTH      8u
#define TC_TC_NEXT        4144u             /* next_ */
#define TC_TC_SIZE        4160u
#define TC_THREAD_HEAPS   "_ZN8tcmalloc11ThreadCache13thread_heaps_E"

/* What tc_locate() found. */
struct tc_where {
    int module;                   /* the module holding tcmalloc, or -1 */
    uint64_t data_lo, data_hi;    /* its writable data (with the .bss after it) */
    uint64_t root;                /* &pagemap_.root_[0] */
    uint64_t central;             /* &central_cache_[0], 0 if not found */
    uint32_t class_size[TC_NCLASSES]; /* class_to_size_ */
    unsigned nclasses;            /* num_size_classes */
    uint64_t thread_heaps;        /* &ThreadCache::thread_heaps_, 0 if no symbol */
};

/* Find tcmalloc's state.  0, or -1 with a problem saying why. */
int tc_locate(struct heap_ctx *c, struct tc_where *w);

/* The Span the page map's leaf element for page `page` names, if it is a
 * span that holds that page: 1 with its fields, 0 otherwise. */
struct tc_span {
    uint64_t addr, start, length, objects;
    uint32_t bits;
};
int tc_read_span(struct heap_ctx *c, uint64_t addr, struct tc_span *s);

/* The module that holds tcmalloc (libtcmalloc*, or the one defining
 * tc_malloc), or -1. */
int tc_module(struct heap_ctx *c);

/* advice.c: what `heapsnap rss` says of this allocator (heap/advice.h) */
extern const struct heap_advisor tcmalloc_advisor;

#endif
