/*
 * glibc/internal.h — what the two halves of the glibc ptmalloc2 walker share.
 *
 * glibc/layout.c answers "where are malloc's structures and what do they
 * look like": it reads the layouts of malloc_state, malloc_par, heap_info
 * and tcache_perthread_struct from libc's DWARF when there is any, else
 * takes the glibc 2.36 x86_64 layout written down below, and it finds
 * main_arena and mp_ (by symbol, or by scanning libc's writable data for a
 * structure that fits the heap).  glibc/walker.c walks the heaps with what it was
 * given.  Nothing here is trusted because it came from DWARF: every address
 * is still checked against the snapshot before it is read.
 */
#ifndef HEAPSNAP_HEAP_GLIBC_INTERNAL_H
#define HEAPSNAP_HEAP_GLIBC_INTERNAL_H

#include <stdint.h>

#include "heap/allocator.h"

/* Constants of ptmalloc2 on x86_64 (the same in every 2.2x/2.3x release). */
#define GL_SIZE_SZ        8u
#define GL_ALIGN          16u            /* MALLOC_ALIGNMENT */
#define GL_MINSIZE        32u            /* smallest chunk */
#define GL_HDR            16u            /* CHUNK_HDR_SZ: prev_size + size */
#define GL_PREV_INUSE     0x1u
#define GL_IS_MMAPPED     0x2u
#define GL_NON_MAIN_ARENA 0x4u
#define GL_FLAGS          0x7u
#define GL_NFASTBINS      10u
#define GL_NBINS          128u
#define GL_NSMALLBINS     64u
#define GL_TCACHE_BINS    64u
#define GL_HEAP_MAX       (64ull << 20)  /* HEAP_MAX_SIZE: 2 * DEFAULT_MMAP_THRESHOLD_MAX */

/*
 * Byte offsets and sizes of the fields the walker reads.  Filled from
 * DWARF, or from the 2.36 fallback; 'source' says which.
 */
struct gl_layout {
    const char *source;            /* "dwarf" or "fallback" */
    /* struct malloc_state */
    uint64_t ms_size, ms_flags, ms_fastbins, ms_top, ms_bins, ms_next, ms_system_mem;
    /* struct malloc_par (mp_) */
    uint64_t mp_size, mp_mmap_threshold, mp_n_mmaps, mp_mmapped_mem, mp_sbrk_base;
    uint64_t mp_tcache_bins, mp_tcache_count;
    /* heap_info */
    uint64_t hi_size, hi_ar_ptr, hi_prev, hi_hsize;
    /* tcache_perthread_struct: uint16_t counts[64]; tcache_entry *entries[64] */
    uint64_t tc_size, tc_counts, tc_entries;
};

/* What glibc_locate() found. */
struct gl_where {
    int libc_module;               /* index in dbg, or -1 */
    uint64_t main_arena;           /* 0 if not found */
    const char *arena_how;         /* "symbol", "scan", ... for the fact table */
    uint64_t mp;                   /* address of mp_, 0 if not found */
    const char *mp_how;
    /* The main arena's brk heap: from main_arena's own state (top, its
     * size and system_mem) when the arena fits, else the first run of
     * adjacent [heap] mappings; 0,0 if none.  heap_how says which. */
    uint64_t heap_start, heap_end;
    const char *heap_how;
};

/* Fill L from libc's DWARF, or the 2.36 fallback.  Never fails. */
void gl_layout_load(struct heap_ctx *c, int libc_module, struct gl_layout *L);

/* Find main_arena and mp_.  0 if main_arena was found, -1 otherwise (with
 * ctx->problem saying why). */
int gl_locate(struct heap_ctx *c, const struct gl_layout *L, struct gl_where *w);

/* Is there a libc in the snapshot at all?  The module index via dbg, or the
 * mapping path when there is no dbg. */
int gl_libc_present(struct heap_ctx *c, int *libc_module);

/* The glibc release of libc's binary (e.g. 2, 36); 0 or -1 if unknown. */
int gl_version(struct heap_ctx *c, int libc_module, int *major, int *minor);

/* Ranges glibc proves hold bytes, never pointers (glibc/stdio.c), sorted. */
struct gl_bytes {
    uint64_t (*v)[2];
    size_t n, cap;
};

/* Every FILE's buffer, from _IO_list_all, into *out (emptied first). */
void gl_stdio_buffers(struct heap_ctx *c, int libc_module, struct gl_bytes *out);

/* allocator.h's pointer_words over *b: 0 if [addr, addr + size) holds none
 * of the ranges (scan it conservatively), else 1 with mask clear for the
 * words that overlap one. */
int gl_bytes_mask(const struct gl_bytes *b, uint64_t addr, uint64_t size, uint64_t *mask,
                  size_t maskwords);

/* Small readers: 0 on success, -1 if the bytes were not captured. */
static inline int gl_u64(struct heap_ctx *c, uint64_t addr, uint64_t *v)
{
    return hs_read_u64(c->snap, addr, v);
}

/*
 * The first captured range that ends above a, or NULL.  A scan over an
 * address span the metadata gave — a mapping, [heap] — steps through this
 * rather than through the span: a hostile mapping may claim the whole
 * address space, and only captured bytes can hold anything to find, so the
 * work stays bounded by the memory in the file.
 */
static inline const struct hs_mem_range *gl_range_from(struct heap_ctx *c, uint64_t a)
{
    size_t n, lo = 0, hi;
    const struct hs_mem_range *r = hs_get_ranges(c->snap, &n);
    hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r[mid].end <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n ? &r[lo] : NULL;
}

/* The end of the captured memory that runs on without a gap from a (ranges
 * that touch count as one); a itself if a was not captured. */
static inline uint64_t gl_captured_end(struct heap_ctx *c, uint64_t a)
{
    const struct hs_mem_range *r = gl_range_from(c, a), *last;
    if (!r || r->start > a)
        return a;
    size_t n;
    last = hs_get_ranges(c->snap, &n) + n;
    while (r + 1 < last && r[1].start == r->end)
        r++;
    return r->end;
}

#endif
