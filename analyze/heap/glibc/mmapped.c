/*
 * glibc/mmapped.c — the chunks malloc gave a mapping of their own (step 5
 * of the walk: see glibc/walker.c), which no list holds: found by their
 * headers in the anonymous mappings, against mp_.n_mmaps and mmapped_mem.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap/glibc/walk.h"

/* ------------------------------------------------------------ mmapped chunks */

static int in_arena_heap(const struct walk *W, uint64_t lo, uint64_t hi)
{
    for (size_t i = 0; i < W->nheaps; i++)
        if (lo < W->heaps[i] + GL_HEAP_MAX && W->heaps[i] < hi)
            return 1;
    return 0;
}

/*
 * An mmapped chunk starts a page (prev_size 0) and its size, a whole number
 * of pages, has exactly IS_MMAPPED among the flag bits.  Anonymous mappings
 * are scanned page by page; a found chunk's body is skipped, so its
 * contents are never mistaken for headers.
 *
 * memalign() of an mmapped block moves the chunk forward to the alignment
 * and leaves the first header as it was: the real chunk then sits 'lead'
 * bytes in, with prev_size = lead and size = the rest, which is how
 * munmap finds the mapping again.  So behind every page-start header we
 * look for that pair in the first MEMALIGN_SCAN bytes.
 */
#define MEMALIGN_SCAN 65536u
static uint64_t memalign_lead(struct walk *W, uint64_t p, uint64_t sz)
{
    uint64_t span = sz < MEMALIGN_SCAN ? sz : MEMALIGN_SCAN;
    const uint8_t *b = hs_ptr(W->c->snap, p, span);
    if (!b)
        return 0;
    for (uint64_t lead = GL_MINSIZE; lead + GL_HDR <= span; lead += GL_ALIGN) {
        uint64_t ps, raw;
        memcpy(&ps, b + lead, 8);
        memcpy(&raw, b + lead + 8, 8);
        if (ps == lead && raw == ((sz - lead) | GL_IS_MMAPPED))
            return lead;
    }
    return 0;
}

static int cmp_span_start(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* One page-start candidate at p, in a mapping that ends at hi: the size of
 * the mmapped chunk found there (reported), or 0. */
static uint64_t mmapped_at(struct walk *W, uint64_t p, uint64_t hi, uint64_t *count,
                           uint64_t *bytes, uint64_t *slack)
{
    struct heap_ctx *c = W->c;
    const uint64_t page = 4096;
    uint64_t prev_size, raw;
    if (gl_u64(c, p, &prev_size) || gl_u64(c, p + 8, &raw) || prev_size ||
        (raw & GL_FLAGS) != GL_IS_MMAPPED)
        return 0;
    uint64_t sz = raw & ~(uint64_t)GL_FLAGS;
    if (sz < page || sz % page || sz > hi - p)
        return 0;
    uint64_t lead = memalign_lead(W, p, sz);
    struct heap_region r = {.start = p, .end = p + sz, .arena = GL_NO_ARENA, .kind = "mmap-chunk"};
    c->region(c, &r);
    struct heap_object o = {.addr = p + lead + GL_HDR, .size = sz - lead - GL_HDR,
                            .chunk = p + lead, .chunk_size = sz - lead, .state = OBJ_USED,
                            .where = GL_WHERE_MMAPPED, .arena = GL_NO_ARENA};
    c->object(c, &o);
    (*count)++;
    *bytes += sz; /* the whole mapping, as mp_.mmapped_mem counts it */
    *slack += lead;
    return sz;
}

/*
 * The mappings come from the file: they may overlap, and one may gl_claim the
 * whole address space.  So they are taken in address order, each from
 * where the one before ended (no page is looked at twice), and within one
 * only the captured pages are visited (gl_range_from): the scan costs what
 * the file holds, not what the mappings gl_claim.
 */
void gl_walk_mmapped(struct walk *W, uint64_t *count, uint64_t *bytes, uint64_t *slack)
{
    struct heap_ctx *c = W->c;
    const uint64_t page = 4096;
    size_t nm, nq = 0;
    const struct hs_mapping *m = hs_get_mappings(c->snap, &nm);
    uint64_t(*q)[2] = nm ? malloc(nm * sizeof *q) : NULL;
    if (nm && !q) {
        W->oom = 1;
        return;
    }
    for (size_t i = 0; i < nm; i++) {
        if (!(m[i].flags & HS_MAP_W) || !(m[i].flags & HS_MAP_CAPTURED) ||
            (m[i].path && m[i].path[0]) || in_arena_heap(W, m[i].start, m[i].end))
            continue;
        q[nq][0] = m[i].start;
        q[nq++][1] = m[i].end;
    }
    if (nq > 1)
        qsort(q, nq, sizeof *q, cmp_span_start);
    uint64_t done = 0;
    for (size_t i = 0; i < nq; i++) {
        uint64_t p = q[i][0], hi = q[i][1];
        if (hi <= done)
            continue;
        if (p < done) /* overlaps the one before: go on where it ended, on its page grid */
            p += (done - p + page - 1) / page * page;
        done = hi;
        while (p < hi && hi - p >= page) {
            const struct hs_mem_range *r = gl_range_from(c, p);
            if (!r || r->start >= hi)
                break;
            if (r->start > p && r->start - p >= 2 * GL_SIZE_SZ) {
                /* to the first page whose header could be captured */
                p += ((r->start - 2 * GL_SIZE_SZ - p) / page + 1) * page;
                continue;
            }
            uint64_t sz = mmapped_at(W, p, hi, count, bytes, slack);
            p += sz ? sz : page; /* a found chunk's body is skipped */
        }
    }
    free(q);
}
