/*
 * jemalloc/internal.h — what the two halves of the jemalloc 5.x walker share.
 *
 * jemalloc/layout.c answers "where is jemalloc's state and what does it look
 * like": the layout of edata_t (jemalloc's extent descriptor) from DWARF
 * when a module describes it, else the 5.3.0 x86_64 layout written down
 * below; the size classes (sz_index2size) for 4 KiB pages and 16-byte
 * quantum, computed the way jemalloc's sc.c computes them; and the root of
 * the emap radix tree (arena_emap_global.rtree.root), by symbol when the
 * symbols are there (jemalloc linked statically) or else by a scan of
 * jemalloc's writable data for the one array whose leaves map pages to
 * extents that say they hold those pages.  jemalloc/walker.c walks.
 *
 * Nothing here is trusted because of where it came from: every pointer is
 * checked against the snapshot before it is read, and the fallback layout
 * is only believed once the tree it leads to agrees with itself.
 */
#ifndef HEAPSNAP_HEAP_JEMALLOC_INTERNAL_H
#define HEAPSNAP_HEAP_JEMALLOC_INTERNAL_H

#include <stdint.h>

#include "heap/allocator.h"

/* x86_64, LG_PAGE 12. */
#define JE_PAGE         4096u
#define JE_LG_PAGE      12u
#define JE_EDATA_ALIGN  128u                /* EDATA_ALIGNMENT */
#define JE_NSIZES       232u                /* SC_NSIZES: szind < this */
#define JE_NBINS        36u                 /* SC_NBINS: small size classes */
#define JE_SMALL_MAX    14336u              /* SC_SMALL_MAXCLASS */
#define JE_SLAB_MAXREGS 512u                /* 1 << SC_LG_SLAB_MAXREGS */

/*
 * The emap rtree's shape: rtree.h's constants, which the build's LG_VADDR
 * sets.  48 (most x86_64 builds, Debian's): two levels of 18 key bits and
 * 8-byte "compact" leaf elements.  57 (configure on a CPU that can page
 * five levels deep): three levels of 15 bits, and elements of 16 bytes,
 * the edata pointer and then a word of slab, is_head, state and szind
 * (RTREE_LEAF_COMPACT needs 8 spare high bits; 57 leaves 7).  Read from
 * DWARF (the root's length) where there is DWARF, else each shape is tried
 * on the heap (je_locate): the one whose root maps pages to the extents
 * that hold them.
 */
struct je_rtree {
    unsigned lg_vaddr;           /* 48 or 57 */
    unsigned height;             /* 2 or 3 */
    unsigned bits[3];            /* key bits of each level, the root's first */
    unsigned elm;                /* bytes of a leaf element: 8 (compact) or 16 */
};

/* A leaf element in the compact form, whatever the shape (je_leaf_elm):
 * szind in bits 48..63, edata in 7..47 (sign-extended), state in 2..4,
 * is_head in 1, slab in 0.  (A 57-bit build's edata still fits: user
 * addresses stay below 2^47 unless a program asks for more.) */
#define JE_LEAF_SLAB(b)   ((b) & 1u)
#define JE_LEAF_STATE(b)  (((b) >> 2) & 7u)
#define JE_LEAF_SZIND(b)  ((unsigned)((b) >> 48))
#define JE_LEAF_EDATA(b)  ((uint64_t)(((int64_t)((b) << 16)) >> 16) & ~(uint64_t)(JE_EDATA_ALIGN - 1))

enum je_state { JE_ACTIVE = 0, JE_DIRTY, JE_MUZZY, JE_RETAINED, JE_TRANSITION, JE_MERGING };

/* Where edata_t, cache_bin_t and the emap keep what the walker reads, and
 * how e_bits is packed.  The offsets come from DWARF where a module
 * describes the struct; e_bits' packing is macros (EDATA_BITS_*), which
 * DWARF does not carry, so it is always the 5.3.0 one, checked by the walk
 * against the rtree's own copy of slab, state and szind. */
/* Where a jemalloc block sits: its where value (allocator.h), named in
 * walker.c's jemalloc_wheres. */
enum je_where_kind {
    JE_WHERE_SLAB = 0,   /* a slab region (used or free by the slab's bitmap) */
    JE_WHERE_LARGE,      /* a large allocation: an extent of its own */
    JE_WHERE_TCACHE,     /* free in a thread's tcache bin */
    JE_WHERE_INTERNAL,   /* a tcache's stack array: jemalloc's own */
    JE_WHERE_COUNT
};

struct je_layout {
    const char *source;          /* "dwarf" (edata_s from DWARF) or "fallback" */
    char dwarf[64];              /* the structs DWARF gave: "edata_s cache_bin_s emap_s" */
    char differs[256];           /* where DWARF says otherwise than the fallback, or "" */
    uint64_t ed_size;            /* sizeof(edata_t) */
    uint64_t ed_bits, ed_addr, ed_size_esn, ed_bitmap;
    unsigned arena_shift, arena_bits, slab_shift, state_shift, szind_shift, nfree_shift,
        nfree_bits;
    uint64_t cb_size;            /* sizeof(cache_bin_t) */
    uint64_t cb_head, cb_full, cb_empty; /* stack_head, low_bits_full, low_bits_empty */
    uint64_t root_off;           /* arena_emap_global.rtree.root's offset, or UINT64_MAX: the
                                    fallback's "the last member" (symbol end - the root's size) */
    unsigned lg_vaddr;           /* the rtree's LG_VADDR from DWARF (the root's length), 0: unknown */
};

/* What je_locate() found. */
struct je_where {
    int module;                  /* the module holding jemalloc, or -1 */
    uint64_t root;               /* &arena_emap_global.rtree.root[0], 0 if not found */
    const char *root_how;        /* "symbol" or "scan" */
    struct je_rtree rt;          /* the shape of the tree under it */
};

/* The fallback layout, with edata_s, cache_bin_s and emap_s from DWARF
 * where a module has them (a problem where DWARF has them but they make no
 * sense: then the fallback's). */
void je_layout_load(struct heap_ctx *c, int module, struct je_layout *L);

/* Find the rtree root, and the tree's shape.  0, or -1 with a problem
 * saying why. */
int je_locate(struct heap_ctx *c, const struct je_layout *L, struct je_where *w);

/* The shape of a build with this LG_VADDR (48 or 57), as rtree.h splits it. */
void je_rtree_shape(struct je_rtree *t, unsigned lg_vaddr);
/* The leaf element at p (t->elm captured bytes), in the compact form. */
uint64_t je_leaf_elm(const struct je_rtree *t, const uint8_t *p);
/* Bytes of one leaf array. */
static inline uint64_t je_leaf_bytes(const struct je_rtree *t)
{
    return (uint64_t)t->elm << t->bits[t->height - 1];
}
/* Every leaf under w's root that sits where its elements say it must
 * (one that does not is said, and skipped): fn(u, leaf, root index). */
void je_leaves(struct heap_ctx *c, const struct je_layout *L, const struct je_where *w,
               void (*fn)(void *u, uint64_t leaf, unsigned idx), void *u);

/* sz_index2size(szind): the usable size of size class szind; 0 if none. */
uint64_t je_index2size(unsigned szind);

/* The module that holds jemalloc (libjemalloc*, or the one defining
 * mallctl / je_mallctl), or -1. */
int je_module(struct heap_ctx *c);

/* advice.c: what `heapsnap rss` says of this allocator (heap/advice.h) */
extern const struct heap_advisor jemalloc_advisor;

#endif
