/*
 * internal.h — what the parts of the core writer share (not for use
 * outside analyze/elfcore/): a growable byte buffer, the list of segments, and
 * the three steps write.c runs in order:
 *
 *   core_notes()     the PT_NOTE payload          (notes.c)
 *   core_segments()  the PT_LOAD list             (segments.c)
 *   core_dtdebug()   the reconstructed .dynamic   (dtdebug.c)
 *
 * The core is x86_64 little-endian; so is every host this builds on (the
 * build checks), so integers are stored with memcpy.
 */
#ifndef HEAPSNAP_ELFCORE_INTERNAL_H
#define HEAPSNAP_ELFCORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "elfcore.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the core writer assumes a little-endian host"
#endif

/* A byte buffer that grows; on allocation failure 'failed' is set and later
 * appends do nothing, so callers check once at the end. */
struct core_buf {
    uint8_t *p;
    size_t len, cap;
    int failed;
};

void core_buf_append(struct core_buf *b, const void *data, size_t n);
void core_buf_zeros(struct core_buf *b, size_t n);
void core_buf_align(struct core_buf *b, size_t align);
void core_buf_free(struct core_buf *b);

/* One PT_LOAD. */
struct core_seg {
    uint64_t start, end; /* target addresses */
    uint32_t pflags;     /* PF_R | PF_W | PF_X */
    /* Where the bytes come from: a captured range (range != NULL), a
     * buffer owned by the segment list (own != NULL), or nowhere
     * (p_filesz 0: not captured). */
    const struct hs_mem_range *range;
    const uint8_t *own;
    uint64_t file_offset; /* filled in by write.c */
};

struct core_segs {
    struct core_seg *v;
    size_t n, cap;
    uint8_t **owned; /* buffers to free with the list */
    size_t nowned;
};

void core_segs_free(struct core_segs *l);

/* Build the notes for s into b; threads ordered per opt->first_tid. */
int core_notes(const struct hs_snapshot *s, const struct core_options *opt, struct core_buf *b,
               struct hs_error *err);

/* Every mapping split into captured and uncaptured pieces, plus captured
 * memory outside any mapping; in no particular order (core_segs_sort). */
int core_segments(const struct hs_snapshot *s, struct core_segs *l, struct hs_error *err);

/* If the executable's DT_DEBUG word was not captured, append a segment with
 * the reconstructed .dynamic (see elfcore.h).  Never fails the core: problems
 * are warnings. */
void core_dtdebug(const struct hs_snapshot *s, struct core_segs *l);

/* Append a segment to l; -1 on allocation failure. */
int core_segs_add(struct core_segs *l, const struct core_seg *seg);
/* Sort by address; at equal addresses, segments with bytes first. */
void core_segs_sort(struct core_segs *l);

#endif
