/*
 * glibc/arenas.c — the arenas and their heaps, walked chunk by chunk
 * (step 1 and 2 of the walk: see glibc/walker.c).
 *
 * The arenas are found from the ring main_arena starts and from the heaps
 * themselves (an arena whose heap is mapped but that the ring does not
 * reach is walked anyway, and said); each heap is walked from its first
 * chunk to its top chunk by sizes alone into the walk's chunk array, and a
 * bad size costs only the stretch up to the next address from which valid
 * sizes lead to the top again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap/glibc/walk.h"

/* ------------------------------------------------------------ heaps */

/* Why a size word at p cannot be a chunk of arena ai ending by lim, or NULL. */
static const char *bad_size(uint64_t raw, unsigned ai, uint64_t p, uint64_t lim)
{
    uint64_t sz = raw & ~(uint64_t)GL_FLAGS;
    if (raw & GL_IS_MMAPPED)
        return "has IS_MMAPPED set inside an arena";
    /* Chunks of other arenas carry NON_MAIN_ARENA while in use, but a free
     * chunk in a bin has lost it (free rewrites the header), so only the
     * main arena can be held to it. */
    if ((raw & GL_NON_MAIN_ARENA) && ai == 0)
        return "has NON_MAIN_ARENA set in the main arena";
    if (sz < GL_MINSIZE)
        return "is below the minimum chunk size";
    if (sz % GL_ALIGN)
        return "is not a multiple of 16";
    if (sz > lim - p)
        return "runs past the end of the heap";
    return NULL;
}

/*
 * After a corrupt size at p: the first address q in (p, lim) from which a
 * chain of valid sizes reaches 'goal' (the top chunk, or the end of an old
 * heap, where a fencepost also counts) exactly.  Computed backwards in one
 * pass: good[q] = valid(q) && (next(q) == goal || good[next(q)]).
 * 0 if there is none.
 *
 * Only headers that were captured can be on such a chain, so the slots end
 * where the captured memory from p does: lim comes from the [heap] mapping,
 * which a hostile file may stretch over the whole address space.
 */
static uint64_t resync(struct walk *W, unsigned ai, uint64_t p, uint64_t lim, uint64_t goal,
                       int old_heap)
{
    uint64_t cap = gl_captured_end(W->c, p + 8); /* p's size field was read */
    size_t nslots = (size_t)(((cap < lim ? cap : lim) - p) / GL_ALIGN);
    if (nslots < 2)
        return 0;
    uint8_t *good = calloc(nslots, 1);
    if (!good) {
        W->oom = 1;
        return 0;
    }
    uint64_t found = 0;
    for (size_t j = nslots - 1; j >= 1; j--) {
        uint64_t q = p + GL_ALIGN * j, raw;
        if (gl_u64(W->c, q + 8, &raw))
            continue;
        if (old_heap && (raw & ~(uint64_t)GL_FLAGS) == GL_HDR) {
            good[j] = 1;
            continue;
        }
        if (bad_size(raw, ai, q, lim))
            continue;
        uint64_t nq = q + (raw & ~(uint64_t)GL_FLAGS);
        if (nq == goal)
            good[j] = 1;
        else if (nq < lim && (nq - p) / GL_ALIGN < nslots)
            good[j] = good[(nq - p) / GL_ALIGN];
    }
    for (size_t j = 1; j < nslots; j++)
        if (good[j]) {
            found = p + GL_ALIGN * j;
            break;
        }
    free(good);
    return found;
}

/*
 * Walk the chunks of one heap (or the brk heap) from 'first' up to 'lim'.
 * If top is in this heap, lim is top and the walk must arrive at it
 * exactly; otherwise lim is the end of the heap, which ends in a fencepost.
 */
static void walk_heap(struct walk *W, unsigned ai, uint64_t first, uint64_t lim, int has_top)
{
    struct heap_ctx *c = W->c;
    uint64_t p = first;
    struct gl_chunk *prev = NULL;
    size_t prev_i = 0;
    while (p < lim) {
        uint64_t raw;
        if (gl_u64(c, p + 8, &raw)) {
            c->problem(c, p, "glibc arena %u: chunk header at 0x%llx not captured; rest of "
                             "this heap (%llu bytes) skipped",
                       ai, (unsigned long long)p, (unsigned long long)(lim - p));
            W->lost += lim - p;
            return;
        }
        if (prev && (raw & GL_PREV_INUSE))
            W->ch[prev_i].flags |= CH_NEXT_INUSE;
        uint64_t sz = raw & ~(uint64_t)GL_FLAGS;
        if (!has_top && sz == GL_HDR) { /* fencepost: the rest is not chunks */
            W->overhead += lim - p;
            return;
        }
        const char *why = bad_size(raw, ai, p, lim);
        if (why) {
            uint64_t q = resync(W, ai, p, lim, lim, !has_top);
            if (prev)
                W->ch[prev_i].flags |= CH_NEXT_UNKNOWN;
            prev = NULL;
            if (!q) {
                c->problem(c, p, "glibc arena %u: chunk at 0x%llx: size 0x%llx %s; the rest of "
                                 "the heap (%llu bytes) could not be walked",
                           ai, (unsigned long long)p, (unsigned long long)raw, why,
                           (unsigned long long)(lim - p));
                W->lost += lim - p;
                return;
            }
            c->problem(c, p, "glibc arena %u: chunk at 0x%llx: size 0x%llx %s; walk resumed at "
                             "0x%llx (%llu bytes skipped)",
                       ai, (unsigned long long)p, (unsigned long long)raw, why,
                       (unsigned long long)q, (unsigned long long)(q - p));
            W->lost += q - p;
            p = q;
            continue;
        }
        prev = gl_add_chunk(W, p, sz, ai);
        if (!prev)
            return;
        prev_i = W->n - 1;
        p += sz;
    }
    /* The top chunk's own PREV_INUSE describes the last chunk before it. */
    if (has_top && prev) {
        uint64_t raw;
        if (!gl_u64(c, lim + 8, &raw) && (raw & GL_PREV_INUSE))
            W->ch[prev_i].flags |= CH_NEXT_INUSE;
    }
}

/* Read and check an arena's top chunk: inside [lo, hi), sane size. */
static void read_top(struct walk *W, struct gl_arena *A, unsigned ai, uint64_t lo, uint64_t hi)
{
    struct heap_ctx *c = W->c;
    uint64_t raw;
    A->top_ok = 0;
    if (gl_u64(c, A->addr + W->L->ms_top, &A->top) || A->top < lo || A->top >= hi ||
        A->top % GL_ALIGN || gl_u64(c, A->top + 8, &raw)) {
        c->problem(c, A->addr, "glibc arena %u: top 0x%llx is not in its heap [0x%llx, 0x%llx)", ai,
                   (unsigned long long)A->top, (unsigned long long)lo, (unsigned long long)hi);
        return;
    }
    A->top_size = raw & ~(uint64_t)GL_FLAGS;
    if (A->top_size < GL_MINSIZE || A->top_size % GL_ALIGN || A->top_size > hi - A->top) {
        c->problem(c, A->top, "glibc arena %u: top chunk size 0x%llx does not fit its heap", ai,
                   (unsigned long long)raw);
        return;
    }
    A->top_ok = 1;
}

void gl_walk_main_arena(struct walk *W)
{
    struct heap_ctx *c = W->c;
    struct gl_arena *A = &W->ar[0];
    uint64_t base = W->w->heap_start;
    if (W->w->mp) {
        uint64_t sb;
        if (!gl_u64(c, W->w->mp + W->L->mp_sbrk_base, &sb) && sb)
            base = sb;
    }
    if (!base) /* never used brk: nothing in the main arena */
        return;
    uint64_t end = W->w->heap_end;
    /* A capture holds all of [heap] (absent pages included), so memory that
     * stops short of the mapping's end means the mapping lies: the heap, and
     * the region that keeps roots out of it, end with what was captured. */
    uint64_t cap = gl_captured_end(c, base);
    if (end > cap) {
        c->problem(c, base, "glibc: [heap] ends at 0x%llx but its captured memory at 0x%llx; "
                            "the heap is taken to end there",
                   (unsigned long long)end, (unsigned long long)cap);
        end = cap;
    }
    if (end < base) /* an sbrk base past the mapping's end: nothing to walk */
        end = base;
    uint64_t first = (base + GL_ALIGN - 1) & ~(uint64_t)(GL_ALIGN - 1);
    W->overhead += first - base;
    read_top(W, A, 0, base, end);
    /* Without a believable top, walk to the end of [heap]: the real top
     * chunk is then just the last chunk the sizes lead to. */
    uint64_t top_end = A->top_ok ? A->top + A->top_size : end;
    A->heap_bytes = top_end - base;
    struct heap_region r = {.start = base, .end = top_end, .arena = 0, .kind = "main-arena"};
    c->region(c, &r);
    if (A->top_ok)
        walk_heap(W, 0, first, A->top, 1);
    else
        walk_heap(W, 0, first, end, 0);
}

/* Has heap h been seen already (a cycle in heap_info.prev)? */
static int heap_seen(const struct walk *W, uint64_t h)
{
    for (size_t i = 0; i < W->nheaps; i++)
        if (W->heaps[i] == h)
            return 1;
    return 0;
}

void gl_walk_other_arena(struct walk *W, unsigned ai)
{
    struct heap_ctx *c = W->c;
    const struct gl_layout *L = W->L;
    struct gl_arena *A = &W->ar[ai];
    uint64_t top;
    if (gl_u64(c, A->addr + L->ms_top, &top)) {
        c->problem(c, A->addr, "glibc arena %u: malloc_state not captured", ai);
        return;
    }
    /* The newest heap holds top; heap_info sits at its 64 MiB-aligned start.
     * If top leads nowhere sensible, fall back to the arena's first heap
     * (the one the malloc_state itself lives in), walked without a top. */
    uint64_t h = top & ~(GL_HEAP_MAX - 1);
    int newest = 1;
    if (!h) {
        c->problem(c, A->addr, "glibc arena %u: top 0x%llx is in no heap; walking its first heap "
                               "without it",
                   ai, (unsigned long long)top);
        h = A->addr & ~(GL_HEAP_MAX - 1);
        newest = 0;
    }
    for (unsigned k = 0; h && k < MAX_HEAPS; k++) {
        uint64_t ar_ptr = 0, prev = 0, hsize = 0;
        if (heap_seen(W, h)) {
            c->problem(c, h, "glibc arena %u: heap_info.prev chain loops back to 0x%llx", ai,
                       (unsigned long long)h);
            return;
        }
        int unreadable = gl_u64(c, h + L->hi_ar_ptr, &ar_ptr) ||
                         gl_u64(c, h + L->hi_prev, &prev) || gl_u64(c, h + L->hi_hsize, &hsize);
        if (unreadable || ar_ptr != A->addr || hsize < L->hi_size || hsize > GL_HEAP_MAX ||
            (prev & (GL_HEAP_MAX - 1))) {
            c->problem(c, h, "glibc arena %u: heap_info at 0x%llx is %s (ar_ptr 0x%llx, size "
                             "0x%llx, prev 0x%llx)",
                       ai, (unsigned long long)h, unreadable ? "not captured" : "not this arena's",
                       (unsigned long long)ar_ptr, (unsigned long long)hsize,
                       (unsigned long long)prev);
            uint64_t home = A->addr & ~(GL_HEAP_MAX - 1);
            if (!newest || h == home)
                return;
            h = home;
            newest = 0;
            continue;
        }
        if (W->nheaps < sizeof W->heaps / sizeof W->heaps[0])
            W->heaps[W->nheaps++] = h;
        /* The arena's first heap holds the malloc_state right after heap_info. */
        uint64_t first = A->addr == h + L->hi_size ? A->addr + L->ms_size : h + L->hi_size;
        first = (first + GL_ALIGN - 1) & ~(uint64_t)(GL_ALIGN - 1);
        W->overhead += first - h;
        A->heap_bytes += hsize;
        struct heap_region r = {.start = h, .end = h + hsize, .arena = (uint16_t)ai,
                                .kind = "arena-heap"};
        c->region(c, &r);
        if (newest)
            read_top(W, A, ai, first, h + hsize);
        if (newest && A->top_ok) {
            walk_heap(W, ai, first, A->top, 1);
            /* Past top, up to heap_info.size, is nothing (top ends there). */
            W->overhead += h + hsize - (A->top + A->top_size);
        } else {
            walk_heap(W, ai, first, h + hsize, 0);
        }
        newest = 0;
        h = prev;
    }
}

/* Add arena a (if new); 1 if added. */
static int add_arena(struct walk *W, uint64_t a)
{
    for (unsigned i = 0; i < W->nar; i++)
        if (W->ar[i].addr == a)
            return 0;
    if (W->nar == MAX_ARENAS)
        return 0;
    W->ar[W->nar].addr = a;
    gl_u64(W->c, a + W->L->ms_system_mem, &W->ar[W->nar].system_mem);
    W->nar++;
    return 1;
}

/*
 * The arenas: the ring through malloc_state.next, from main_arena back to
 * it.  Each arena but main also lives in its own first heap, right after
 * heap_info, whose ar_ptr points back at it — so the 64 MiB-aligned
 * anonymous mappings are checked for arenas too, and one the ring missed
 * (a broken `next`) is still walked, with a problem saying so.
 */
void gl_find_arenas(struct walk *W)
{
    struct heap_ctx *c = W->c;
    const struct gl_layout *L = W->L;
    uint64_t a = W->w->main_arena;
    add_arena(W, a);
    for (;;) {
        uint64_t next;
        if (gl_u64(c, a + L->ms_next, &next)) {
            c->problem(c, a, "glibc: arena ring broken: next of arena 0x%llx not captured",
                       (unsigned long long)a);
            break;
        }
        if (next == W->w->main_arena)
            break;
        if (!next || next % 8) {
            c->problem(c, a + L->ms_next, "glibc: arena ring broken: next of arena 0x%llx is "
                                          "0x%llx",
                       (unsigned long long)a, (unsigned long long)next);
            break;
        }
        if (!add_arena(W, next)) {
            c->problem(c, a + L->ms_next, "glibc: arena ring loops at 0x%llx without returning "
                                          "to main_arena",
                       (unsigned long long)next);
            break;
        }
        a = next;
    }
    size_t nm;
    const struct hs_mapping *m = hs_get_mappings(c->snap, &nm);
    for (size_t i = 0; i < nm; i++) {
        uint64_t ar_ptr, h = m[i].start;
        if (h % GL_HEAP_MAX || (m[i].path && m[i].path[0]) || !(m[i].flags & HS_MAP_W) ||
            gl_u64(c, h + L->hi_ar_ptr, &ar_ptr) || ar_ptr != h + L->hi_size)
            continue;
        if (add_arena(W, ar_ptr))
            c->problem(c, ar_ptr, "glibc: arena 0x%llx (in the heap at 0x%llx) is not in the "
                                  "ring from main_arena; walked anyway",
                       (unsigned long long)ar_ptr, (unsigned long long)h);
    }
}
