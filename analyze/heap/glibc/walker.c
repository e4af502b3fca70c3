/*
 * glibc/walker.c — the glibc ptmalloc2 walker (glibc_allocator; see allocator.h).
 *
 * How ptmalloc2 lays out its memory, and so how we walk it:
 *
 *   arenas     main_arena lives in libc's .data and owns the brk heap
 *              (from mp_.sbrk_base to the end of its top chunk, system_mem
 *              bytes: one or several mappings, see glibc/layout.c).  Every other arena is a malloc_state placed just
 *              after the heap_info header of its first "heap": a mapping
 *              aligned to HEAP_MAX_SIZE (64 MiB) of which heap_info.size
 *              bytes are usable.  An arena that outgrew its heap has more
 *              heaps, chained newest to oldest by heap_info.prev; the newest
 *              holds the top chunk.  Arenas form a ring through
 *              malloc_state.next, starting and ending at main_arena.
 *   chunks     Within a heap, chunks follow each other: each starts with
 *              prev_size and size (low 3 bits: PREV_INUSE, IS_MMAPPED,
 *              NON_MAIN_ARENA), so a heap is walked from its first chunk to
 *              the top chunk by sizes alone.  Older heaps end in a fencepost
 *              (a 16-byte chunk and a zero size) instead of a top chunk.
 *   free       A chunk is free if the next chunk's PREV_INUSE is clear —
 *              except in tcache and fastbins, which keep PREV_INUSE set.  So
 *              free chunks are found from the lists: each thread's tcache
 *              (singly linked, next pointers "safe-linked": stored as
 *              (address of the field >> 12) XOR pointer, glibc >= 2.32),
 *              each arena's fastbins (singly linked, safe-linked), and the
 *              bins (doubly linked through fd/bk: 1 unsorted, 2..63 small,
 *              64..126 large).
 *   mmapped    Big blocks get a mapping of their own, with IS_MMAPPED set
 *              and prev_size the alignment slack before the chunk (0 unless
 *              memalign).  No list holds them; they are found by scanning
 *              anonymous mappings for such headers, and mp_.n_mmaps and
 *              mp_.mmapped_mem say how many to expect.
 *
 * The walk: (1) the arenas, from the ring and from the heaps themselves;
 * (2) every arena's heaps, contiguously, into one array of chunks (a bad
 * size is reported and the walk resynchronises at the first later address
 * from which valid sizes lead to the top chunk; a heap whose top is not
 * believable is walked to its end); (3) the array is sorted, the tcaches
 * are found (see find_tcaches), and every free list is walked against the
 * array — each step must land on a chunk of the walk, and a chunk claimed
 * twice means a cycle or a double free, which is how lists are bounded
 * and cycles caught; (4) the objects are reported; (5) mmapped chunks;
 * (6) the totals are compared with what the arenas and mp_ say, and
 * published as facts in mallinfo2() terms.
 *
 * malloc's own memory.  main_arena and mp_ live in libc's .data, which is
 * otherwise a data root; main_arena's fastbins, bins, top and
 * last_remainder point at chunk *headers*, whose first word (prev_size) is
 * the last usable word of the chunk before — so a conservative scan would
 * take each for an interior pointer into that neighbour and keep a leaked
 * block alive just because a free chunk follows it.  Both are therefore
 * reported through ctx->internal, and the indexer does not scan them.  The
 * other arenas' malloc_state sits in their first heap, right after
 * heap_info, inside an 'arena-heap' region: never a root, nothing to do.
 * Each thread's tcache_perthread_struct is a chunk malloc allocated for
 * itself: it stays a used object (mallinfo2 counts it in uordblks) but with
 * where = WHERE_INTERNAL, so its entries — pointers to free chunks — are
 * not scanned either.
 *
 * A chunk that looks free (its neighbour's PREV_INUSE is clear) but is in
 * no list is reported free with where = WHERE_FREE_OTHER, and a problem.
 *
 * Sizes reported (heap_object.size):
 *   in use, in an arena  chunk_size - 8 (malloc_usable_size: the next chunk's
 *                        prev_size field is usable while this one is in use)
 *   mmapped              chunk_size - 16
 *   free (any list)      chunk_size - 8: what it held when it was in use
 *   top chunk            chunk_size - 16: the bytes after its header (no
 *                        chunk follows it whose prev_size it could lend)
 *
 * Facts, in mallinfo2() terms so that a test can compare them exactly:
 *   glibc.arena_bytes   Σ system_mem (mallinfo2 .arena)
 *   glibc.free_bytes    top + bins + fastbins (mallinfo2 .fordblks).  tcache
 *                       chunks are NOT in it: to malloc they are in use.
 *   glibc.used_bytes    arena_bytes - free_bytes (mallinfo2 .uordblks)
 *   glibc.mmapped_bytes Σ mmapped chunk mappings (mallinfo2 .hblkhd)
 *   glibc.tcache_bytes  Σ chunk sizes of tcache chunks
 *   glibc.overhead_bytes memory malloc holds in no chunk: heap_info and
 *                       malloc_state headers, alignment, fenceposts, and
 *                       the slack before a memalign'd mmapped chunk
 * so  Σ chunk_size(state used) + tcache_bytes + overhead_bytes
 *       = used_bytes + mmapped_bytes = uordblks + hblkhd.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <elf.h>

#include "heap/glibc/internal.h"

#define GL_NO_ARENA HEAP_NO_ARENA /* an mmapped chunk is in no arena */
#define MAX_ARENAS  1024u   /* glibc caps arenas at 8 per core */
#define MAX_HEAPS   4096u   /* per arena; 64 MiB each */
#define TLS_SCAN    8192u   /* bytes below a thread's fs_base searched for `tcache` */

/* One chunk found by the contiguous walk. */
struct gl_chunk {
    uint64_t addr;  /* header */
    uint64_t size;  /* chunksize(), flags stripped */
    uint16_t arena;
    uint8_t where;  /* WHERE_INUSE until a list claims it */
    uint8_t flags;  /* CH_* */
};
#define CH_NEXT_INUSE 0x1 /* the following header has PREV_INUSE set */
#define CH_NEXT_UNKNOWN 0x2 /* the following header was corrupt: state unknown, assume used */
#define CH_CLAIMED 0x4    /* a free list (or top) holds it */

struct gl_arena {
    uint64_t addr, top, top_size;
    uint64_t system_mem;
    uint64_t heap_bytes;  /* Σ of its heaps' sizes as we walked them */
    uint64_t free_bytes;  /* top + bins + fastbins */
    int top_ok;
};

struct walk {
    struct heap_ctx *c;
    const struct gl_layout *L;
    const struct gl_where *w;
    struct gl_chunk *ch;
    size_t n, cap;
    struct gl_arena ar[MAX_ARENAS];
    unsigned nar;
    uint64_t heaps[MAX_HEAPS * 4]; /* [h, h+HEAP_MAX) of non-main heaps, for the mmap scan */
    size_t nheaps;
    uint64_t overhead, lost;
    uint64_t tcache_bytes;         /* Σ chunk sizes in tcaches (used, to mallinfo) */
    uint64_t tcaches[256];         /* tcache_perthread_struct user addresses found */
    int safe_linking;              /* glibc >= 2.32 mangles tcache/fastbin links */
    unsigned ntcaches;
    int oom;
};

static const char *const where_name[WHERE_COUNT] = {
    [WHERE_INUSE] = "in use", [WHERE_MMAPPED] = "mmapped", [WHERE_TCACHE] = "tcache",
    [WHERE_FASTBIN] = "a fastbin", [WHERE_UNSORTED] = "the unsorted bin",
    [WHERE_SMALLBIN] = "a small bin", [WHERE_LARGEBIN] = "a large bin",
    [WHERE_TOP] = "the top chunk", [WHERE_FREE_OTHER] = "free elsewhere",
    [WHERE_INTERNAL] = "a tcache_perthread_struct",
};

/* ------------------------------------------------------------ chunk array */

static struct gl_chunk *add_chunk(struct walk *W, uint64_t addr, uint64_t size, unsigned arena)
{
    if (W->n == W->cap) {
        size_t cap = W->cap ? W->cap * 2 : 4096;
        struct gl_chunk *p = realloc(W->ch, cap * sizeof *p);
        if (!p) {
            W->oom = 1;
            return NULL;
        }
        W->ch = p;
        W->cap = cap;
    }
    struct gl_chunk *k = &W->ch[W->n++];
    *k = (struct gl_chunk){.addr = addr, .size = size, .arena = (uint16_t)arena};
    return k;
}

static int cmp_chunk(const void *a, const void *b)
{
    const struct gl_chunk *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The chunk whose header is at addr, or NULL (binary search; sorted array). */
static struct gl_chunk *find_chunk(struct walk *W, uint64_t addr)
{
    size_t lo = 0, hi = W->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (W->ch[mid].addr < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < W->n && W->ch[lo].addr == addr ? &W->ch[lo] : NULL;
}

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
        prev = add_chunk(W, p, sz, ai);
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

static void walk_main_arena(struct walk *W)
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

static void walk_other_arena(struct walk *W, unsigned ai)
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

/* ------------------------------------------------------------ free lists */

/*
 * Claim chunk 'addr' for a free list.  Returns the chunk, or NULL (with a
 * problem) if the list may not go on: not a chunk, wrong arena, or already
 * claimed (a cycle when by the same list, else a double free).  'from' is
 * the address of the link that led here (0 for the list head): that link
 * is where the damage is, so problems are reported there.
 */
static struct gl_chunk *claim(struct walk *W, uint64_t addr, int where, int arena,
                              uint64_t want_size, const char *list, uint64_t from)
{
    struct heap_ctx *c = W->c;
    uint64_t at = from ? from : addr;
    struct gl_chunk *k = find_chunk(W, addr);
    if (!k) {
        c->problem(c, at, "glibc: %s: link at 0x%llx points to 0x%llx, which is not a chunk; "
                          "list cut there",
                   list, (unsigned long long)from, (unsigned long long)addr);
        return NULL;
    }
    if (k->flags & CH_CLAIMED) {
        if (k->where == where)
            c->problem(c, at, "glibc: %s: link at 0x%llx cycles back to chunk 0x%llx; list cut "
                              "there",
                       list, (unsigned long long)from, (unsigned long long)addr);
        else
            c->problem(c, at, "glibc: %s holds chunk 0x%llx, which is also in %s (double free?)",
                       list, (unsigned long long)addr, where_name[k->where]);
        return NULL;
    }
    if (arena >= 0 && k->arena != arena) {
        c->problem(c, at, "glibc: %s holds chunk 0x%llx of arena %u; list cut there", list,
                   (unsigned long long)addr, k->arena);
        return NULL;
    }
    if (want_size && k->size != want_size)
        c->problem(c, addr, "glibc: %s holds chunk 0x%llx of size 0x%llx, expected 0x%llx", list,
                   (unsigned long long)addr, (unsigned long long)k->size,
                   (unsigned long long)want_size);
    k->flags |= CH_CLAIMED;
    k->where = (uint8_t)where;
    return k;
}

/* Safe-linking (glibc >= 2.32): a stored next pointer is (pos >> 12) ^ ptr,
 * where pos is the address of the field itself. */
static uint64_t reveal(const struct walk *W, uint64_t pos, uint64_t stored)
{
    return W->safe_linking ? (pos >> 12) ^ stored : stored;
}

/*
 * A singly linked, safe-linked list: a fastbin (head and links are chunk
 * addresses) or a tcache bin (head and links are user addresses, chunk + 16,
 * which is also where the link is stored).  Either way the link of chunk p
 * is at p + 16.  'limit' bounds the walk; claim() catches cycles sooner.
 */
static uint64_t walk_single(struct walk *W, uint64_t head, int where, int arena, uint64_t size,
                            const char *list, uint64_t limit)
{
    struct heap_ctx *c = W->c;
    const uint64_t bias = where == WHERE_TCACHE ? GL_HDR : 0; /* list value - chunk */
    uint64_t v = head, n = 0, from = 0;
    while (v && n <= limit) {
        if (v % GL_ALIGN || v < bias) {
            c->problem(c, from ? from : v, "glibc: %s: link at 0x%llx gives a misaligned "
                                          "entry 0x%llx (bad safe-linked pointer?); list cut there",
                       list, (unsigned long long)from, (unsigned long long)v);
            break;
        }
        uint64_t p = v - bias;
        struct gl_chunk *k = claim(W, p, where, arena, size, list, from);
        if (!k)
            break;
        n++;
        from = p + 16;
        if (where == WHERE_TCACHE)
            W->tcache_bytes += k->size;
        else
            W->ar[k->arena].free_bytes += k->size;
        uint64_t stored;
        if (gl_u64(c, p + 16, &stored)) {
            c->problem(c, p, "glibc: %s: next pointer at 0x%llx not captured", list,
                       (unsigned long long)(p + 16));
            break;
        }
        v = reveal(W, p + 16, stored);
    }
    return n;
}

static void walk_fastbins(struct walk *W, unsigned ai)
{
    struct gl_arena *A = &W->ar[ai];
    for (unsigned i = 0; i < GL_NFASTBINS; i++) {
        uint64_t head;
        if (gl_u64(W->c, A->addr + W->L->ms_fastbins + 8 * i, &head) || !head)
            continue;
        char list[64];
        snprintf(list, sizeof list, "fastbin[%u] of arena %u", i, ai);
        walk_single(W, head, WHERE_FASTBIN, (int)ai, (i + 2) * GL_ALIGN, list, W->n);
    }
}

/* Bins 1 (unsorted), 2..63 (small), 64..127 (large): circular, doubly
 * linked through fd (chunk+16) and bk (chunk+24); the list head is a fake
 * chunk whose fd/bk are bins[2i-2], bins[2i-1]. */
static void walk_bins(struct walk *W, unsigned ai)
{
    struct heap_ctx *c = W->c;
    struct gl_arena *A = &W->ar[ai];
    uint64_t top;
    /* main_arena before malloc's first call (or in a process whose malloc
     * is another allocator) is all zeros: no bin heads to follow */
    if (ai == 0 && !gl_u64(c, A->addr + W->L->ms_top, &top) && top == 0)
        return;
    for (unsigned i = 1; i < GL_NBINS; i++) {
        uint64_t head = A->addr + W->L->ms_bins + (uint64_t)(i - 1) * 16 - 16, p, prev = head;
        if (gl_u64(c, head + 16, &p)) {
            c->problem(c, head, "glibc arena %u: bins not captured", ai);
            return;
        }
        int where = i == 1 ? WHERE_UNSORTED : i < GL_NSMALLBINS ? WHERE_SMALLBIN : WHERE_LARGEBIN;
        char list[64];
        snprintf(list, sizeof list, "%s %u of arena %u",
                 i == 1 ? "unsorted bin" : i < GL_NSMALLBINS ? "small bin" : "large bin", i, ai);
        for (size_t steps = 0; p != head && steps <= W->n; steps++) {
            struct gl_chunk *k =
                claim(W, p, where, (int)ai, where == WHERE_SMALLBIN ? i * GL_ALIGN : 0, list,
                      prev == head ? 0 : prev + 16);
            if (!k)
                break;
            A->free_bytes += k->size;
            uint64_t bk, fd;
            if (gl_u64(c, p + 24, &bk) || gl_u64(c, p + 16, &fd)) {
                c->problem(c, p, "glibc: %s: links of 0x%llx not captured", list,
                           (unsigned long long)p);
                break;
            }
            if (bk != prev)
                c->problem(c, p, "glibc: %s: 0x%llx's bk is 0x%llx, not 0x%llx (corrupt list)",
                           list, (unsigned long long)p, (unsigned long long)bk,
                           (unsigned long long)prev);
            prev = p;
            p = fd;
        }
    }
}

/* ------------------------------------------------------------ tcache */

/* The chunk size holding a tcache_perthread_struct: request2size(640). */
static uint64_t tcache_chunk_size(const struct gl_layout *L)
{
    uint64_t s = (L->tc_size + GL_SIZE_SZ + GL_ALIGN - 1) & ~(uint64_t)(GL_ALIGN - 1);
    return s < GL_MINSIZE ? GL_MINSIZE : s;
}

/* Does the in-use chunk at user address u hold a consistent tcache?  A bin
 * is empty exactly when its count is 0, and entries are 16-aligned. */
static int tcache_plausible(struct walk *W, uint64_t u)
{
    const struct gl_layout *L = W->L;
    struct gl_chunk *k = find_chunk(W, u - GL_HDR);
    if (!k || k->where != WHERE_INUSE || k->size != tcache_chunk_size(L))
        return 0;
    for (unsigned i = 0; i < GL_TCACHE_BINS; i++) {
        uint64_t e, cw;
        if (gl_u64(W->c, u + L->tc_entries + 8 * i, &e) ||
            gl_u64(W->c, u + L->tc_counts + 2 * (i & ~3u), &cw))
            return 0;
        unsigned count = (unsigned)(cw >> (16 * (i & 3))) & 0xffff;
        if ((count == 0) != (e == 0) || e % GL_ALIGN)
            return 0;
    }
    return 1;
}

static void add_tcache(struct walk *W, uint64_t u)
{
    for (unsigned i = 0; i < W->ntcaches; i++)
        if (W->tcaches[i] == u)
            return;
    if (W->ntcaches < sizeof W->tcaches / sizeof W->tcaches[0] && tcache_plausible(W, u))
        W->tcaches[W->ntcaches++] = u;
}

/*
 * Each thread's `tcache` is a TLS variable of libc, so it sits in libc's
 * block of static TLS, just below the thread pointer (fs_base; x86_64 TLS
 * is "variant II"), at an offset that is the same for every thread.
 * Rather than redo ld.so's TLS layout arithmetic, find that offset: every
 * word in the TLS_SCAN bytes below each fs_base that points at a
 * consistent tcache votes for its offset, and the offset most threads
 * agree on is taken — then each thread's tcache is read there and nowhere
 * else.  With libc's symbols, `thread_arena` (another TLS variable of
 * malloc, at a known distance from `tcache`) must then point at one of the
 * arenas: a check that we found the right word.  The first chunk of each
 * arena is also a tcache (the thread that made the arena allocated it
 * first), which finds the tcache of a thread whose registers are missing.
 */
#define MAX_VOTES 64
static void find_tcaches(struct walk *W)
{
    struct heap_ctx *c = W->c;
    size_t nt;
    const struct hs_thread *t = hs_get_threads(c->snap, &nt);
    uint64_t off[MAX_VOTES];
    unsigned votes[MAX_VOTES], nv = 0, best = 0;
    for (size_t i = 0; i < nt; i++) {
        uint64_t fs = t[i].regs[HS_FS_BASE];
        if (!fs || fs % 8 || fs < TLS_SCAN)
            continue;
        for (uint64_t a = fs - 8; a >= fs - TLS_SCAN; a -= 8) {
            uint64_t v;
            if (gl_u64(c, a, &v))
                break;
            if (v % GL_ALIGN || v <= GL_HDR || !tcache_plausible(W, v))
                continue;
            unsigned k = 0;
            while (k < nv && off[k] != fs - a)
                k++;
            if (k == nv) {
                if (nv == MAX_VOTES)
                    continue;
                off[nv] = fs - a;
                votes[nv++] = 0;
            }
            votes[k]++;
        }
    }
    for (unsigned k = 1; k < nv; k++)
        if (votes[k] > votes[best])
            best = k;

    /* thread_arena's distance from tcache, if libc's symbols say. */
    int have_delta = 0;
    int64_t delta = 0;
    if (c->dbg && W->w->libc_module >= 0) {
        const struct dbg_symbol *tc = dbg_symbol_by_name(c->dbg, "tcache", W->w->libc_module);
        const struct dbg_symbol *ta =
            dbg_symbol_by_name(c->dbg, "thread_arena", W->w->libc_module);
        if (tc && ta && tc->type == STT_TLS && ta->type == STT_TLS) {
            have_delta = 1;
            delta = (int64_t)(ta->addr - tc->addr);
        }
    }
    unsigned found = 0, agree = 0;
    for (size_t i = 0; nv && i < nt; i++) {
        uint64_t fs = t[i].regs[HS_FS_BASE], u, ar;
        if (!fs || fs < off[best] || gl_u64(c, fs - off[best], &u) || !u)
            continue;
        if (u % GL_ALIGN || !tcache_plausible(W, u)) {
            c->problem(c, fs - off[best], "glibc: thread %d: tcache pointer 0x%llx does not "
                                          "point at a tcache",
                       t[i].tid, (unsigned long long)u);
            continue;
        }
        add_tcache(W, u);
        found++;
        if (!have_delta || gl_u64(c, fs - off[best] + (uint64_t)delta, &ar))
            continue;
        int known = 0;
        for (unsigned k = 0; k < W->nar; k++)
            known |= W->ar[k].addr == ar;
        if (known)
            agree++;
        else
            c->problem(c, fs - off[best] + (uint64_t)delta,
                       "glibc: thread %d: thread_arena 0x%llx is no arena; is 0x%llx really its "
                       "tcache?",
                       t[i].tid, (unsigned long long)ar, (unsigned long long)u);
    }
    if (nv) {
        char buf[128];
        snprintf(buf, sizeof buf, "fs_base-0x%llx (%u threads%s)", (unsigned long long)off[best],
                 found, have_delta && agree == found ? ", thread_arena agrees" : "");
        c->fact(c, "glibc.tcache_tls", buf);
    }

    /* The lowest in-use chunk of each arena (the array is sorted). */
    uint8_t seen[MAX_ARENAS] = {0};
    for (size_t j = 0; j < W->n; j++) {
        struct gl_chunk *k = &W->ch[j];
        if (k->arena < MAX_ARENAS && !seen[k->arena]) {
            seen[k->arena] = 1;
            if (k->where == WHERE_INUSE)
                add_tcache(W, k->addr + GL_HDR);
        }
    }
}

static void walk_tcaches(struct walk *W)
{
    struct heap_ctx *c = W->c;
    const struct gl_layout *L = W->L;
    uint64_t nbins = GL_TCACHE_BINS, limit = 65535;
    if (W->w->mp) {
        uint64_t v;
        if (!gl_u64(c, W->w->mp + L->mp_tcache_bins, &v) && v <= GL_TCACHE_BINS)
            nbins = v;
        if (!gl_u64(c, W->w->mp + L->mp_tcache_count, &v) && v <= 65535)
            limit = v;
    }
    for (unsigned t = 0; t < W->ntcaches; t++) {
        uint64_t u = W->tcaches[t];
        for (unsigned i = 0; i < nbins; i++) {
            uint64_t e, cw;
            if (gl_u64(c, u + L->tc_entries + 8 * i, &e) || !e ||
                gl_u64(c, u + L->tc_counts + 2 * (i & ~3u), &cw))
                continue;
            unsigned count = (unsigned)(cw >> (16 * (i & 3))) & 0xffff;
            char list[64];
            snprintf(list, sizeof list, "tcache 0x%llx bin %u", (unsigned long long)u, i);
            uint64_t n = walk_single(W, e, WHERE_TCACHE, -1, (i + 2) * GL_ALIGN, list,
                                     limit > count ? limit : count);
            if (n != count)
                c->problem(c, u, "glibc: %s holds %llu chunks, its count says %u", list,
                           (unsigned long long)n, count);
        }
    }
}

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
                            .where = WHERE_MMAPPED, .arena = GL_NO_ARENA};
    c->object(c, &o);
    (*count)++;
    *bytes += sz; /* the whole mapping, as mp_.mmapped_mem counts it */
    *slack += lead;
    return sz;
}

/*
 * The mappings come from the file: they may overlap, and one may claim the
 * whole address space.  So they are taken in address order, each from
 * where the one before ended (no page is looked at twice), and within one
 * only the captured pages are visited (gl_range_from): the scan costs what
 * the file holds, not what the mappings claim.
 */
static void walk_mmapped(struct walk *W, uint64_t *count, uint64_t *bytes, uint64_t *slack)
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

/* ------------------------------------------------------------ the walker */

static int glibc_detect(struct heap_ctx *c)
{
    int mod;
    return gl_libc_present(c, &mod);
}

/* Report every chunk of the (sorted) array; count what the totals need. */
static void report_chunks(struct walk *W, uint64_t *used_chunk_bytes)
{
    struct heap_ctx *c = W->c;
    for (size_t i = 0; i < W->n; i++) {
        struct gl_chunk *k = &W->ch[i];
        struct heap_object o = {.addr = k->addr + GL_HDR, .size = k->size - GL_SIZE_SZ,
                                .chunk = k->addr, .chunk_size = k->size, .state = OBJ_FREE,
                                .where = k->where, .arena = k->arena};
        if (k->where == WHERE_TOP) {
            o.size = k->size - GL_HDR;
        } else if (!(k->flags & CH_CLAIMED)) {
            if (k->flags & (CH_NEXT_INUSE | CH_NEXT_UNKNOWN)) {
                o.state = OBJ_USED;
                *used_chunk_bytes += k->size;
            } else {
                o.where = WHERE_FREE_OTHER;
                c->problem(c, k->addr, "glibc arena %u: chunk 0x%llx (size 0x%llx) is free but "
                                       "in no bin",
                           k->arena, (unsigned long long)k->addr, (unsigned long long)k->size);
            }
        } else if (k->where == WHERE_TCACHE || k->where == WHERE_FASTBIN) {
            /* Still marked in use by its neighbour; free to the program. */
        } else if (k->flags & CH_NEXT_INUSE) {
            c->problem(c, k->addr, "glibc arena %u: chunk 0x%llx is in %s but the next chunk "
                                   "says it is in use",
                       k->arena, (unsigned long long)k->addr, where_name[k->where]);
        }
        c->object(c, &o);
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
static void find_arenas(struct walk *W)
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

/*
 * Declare malloc's own structure at [a, a + size) (main_arena, mp_) to the
 * pipeline.  The size came from DWARF or the fallback layout; a hostile
 * debug file could make it huge and so hide real globals, so it is capped
 * and clipped to the writable mappings that hold a (libc's .data and the
 * anonymous .bss after it).
 */
#define INTERNAL_MAX 65536u
static void declare_internal(struct heap_ctx *c, uint64_t a, uint64_t size, const char *what)
{
    if (!c->internal || !a || !size)
        return;
    size_t n;
    const struct hs_mapping *m = hs_get_mappings(c->snap, &n);
    uint64_t end = a + (size < INTERNAL_MAX ? size : INTERNAL_MAX), lim = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(m[i].flags & HS_MAP_W))
            continue;
        if (m[i].start <= a && a < m[i].end)
            lim = m[i].end;
        else if (lim && m[i].start == lim)
            lim = m[i].end;
    }
    if (!lim)
        return;
    c->internal(c, a, end < lim && end > a ? end : lim, what);
}

static int glibc_walk(struct heap_ctx *c)
{
    /* --redact keeps only words that point into the heap: chunk sizes and
     * safe-linked links are gone, and there is nothing left to walk. */
    const struct hs_process *proc = hs_get_process(c->snap);
    if (proc && (proc->flags & HS_PROC_REDACTED)) {
        c->problem(c, 0, "glibc: the snapshot is redacted (--redact zeroed malloc's chunk "
                         "headers and free-list links); the heap cannot be walked");
        return -1;
    }
    int mod;
    gl_libc_present(c, &mod);
    struct gl_layout L;
    gl_layout_load(c, mod, &L);
    struct gl_where w;
    if (gl_locate(c, &L, &w))
        return -1;
    c->fact(c, "glibc.layout", L.source);
    char buf[96];
    snprintf(buf, sizeof buf, "0x%llx (%s)", (unsigned long long)w.main_arena, w.arena_how);
    c->fact(c, "glibc.main_arena", buf);
    if (w.mp) {
        snprintf(buf, sizeof buf, "0x%llx (%s)", (unsigned long long)w.mp, w.mp_how);
        c->fact(c, "glibc.mp_", buf);
    }
    if (w.heap_end) {
        snprintf(buf, sizeof buf, "0x%llx-0x%llx (%s)", (unsigned long long)w.heap_start,
                 (unsigned long long)w.heap_end, w.heap_how);
        c->fact(c, "glibc.brk_heap", buf);
    }
    declare_internal(c, w.main_arena, L.ms_size, "main_arena");
    declare_internal(c, w.mp, L.mp_size, "mp_");

    struct walk *W = calloc(1, sizeof *W);
    if (!W) {
        c->problem(c, 0, "glibc: out of memory");
        return -1;
    }
    W->c = c;
    W->L = &L;
    W->w = &w;
    W->safe_linking = 1;
    int major, minor;
    if (!gl_version(c, w.libc_module, &major, &minor)) {
        snprintf(buf, sizeof buf, "%d.%d", major, minor);
        c->fact(c, "glibc.version", buf);
        if (major == 2 && minor < 32)
            W->safe_linking = 0;
        if (!strcmp(L.source, "fallback") && (major != 2 || minor != 36))
            c->problem(c, 0, "glibc: libc is %d.%d but the fallback layout is 2.36's (it passed "
                             "the checks against the heap; trust it less)",
                       major, minor);
    }

    find_arenas(W);
    heap_fact_u64(c, "glibc.arenas", W->nar);

    walk_main_arena(W);
    for (unsigned ai = 1; ai < W->nar; ai++)
        walk_other_arena(W, ai);
    for (unsigned ai = 0; ai < W->nar; ai++) {
        struct gl_arena *A = &W->ar[ai];
        if (A->top_ok) {
            struct gl_chunk *k = add_chunk(W, A->top, A->top_size, ai);
            if (k) {
                k->where = WHERE_TOP;
                k->flags = CH_CLAIMED;
                A->free_bytes += A->top_size;
            }
        }
    }
    if (W->n > 1) /* qsort of NULL, even for 0 elements, is undefined */
        qsort(W->ch, W->n, sizeof *W->ch, cmp_chunk);
    for (size_t i = 1; i < W->n; i++)
        if (W->ch[i].addr < W->ch[i - 1].addr + W->ch[i - 1].size)
            c->problem(c, W->ch[i].addr, "glibc: chunk 0x%llx overlaps chunk 0x%llx (arenas %u, %u)",
                       (unsigned long long)W->ch[i].addr, (unsigned long long)W->ch[i - 1].addr,
                       W->ch[i].arena, W->ch[i - 1].arena);

    find_tcaches(W);
    /* A tcache is malloc's, not the program's (see the top of this file). */
    for (unsigned t = 0; t < W->ntcaches; t++) {
        struct gl_chunk *k = find_chunk(W, W->tcaches[t] - GL_HDR);
        if (k && k->where == WHERE_INUSE)
            k->where = WHERE_INTERNAL;
    }
    heap_fact_u64(c, "glibc.tcaches", W->ntcaches);
    walk_tcaches(W);
    for (unsigned ai = 0; ai < W->nar; ai++) {
        walk_fastbins(W, ai);
        walk_bins(W, ai);
    }

    uint64_t used_chunks = 0;
    report_chunks(W, &used_chunks);

    uint64_t nmm = 0, mmbytes = 0, mmslack = 0;
    walk_mmapped(W, &nmm, &mmbytes, &mmslack);
    if (w.mp) {
        uint64_t n_mmaps, mmapped_mem;
        if (!gl_u64(c, w.mp + L.mp_n_mmaps, &n_mmaps) &&
            !gl_u64(c, w.mp + L.mp_mmapped_mem, &mmapped_mem)) {
            n_mmaps &= 0xffffffffu; /* an int */
            if (n_mmaps != nmm || mmapped_mem != mmbytes)
                c->problem(c, w.mp, "glibc: found %llu mmapped chunks (%llu bytes); mp_ says %llu "
                                    "(%llu bytes)",
                           (unsigned long long)nmm, (unsigned long long)mmbytes,
                           (unsigned long long)n_mmaps, (unsigned long long)mmapped_mem);
        }
    }

    /* Totals, arena by arena: what we walked must cover system_mem. */
    uint64_t sys = 0, fre = 0;
    for (unsigned ai = 0; ai < W->nar; ai++) {
        struct gl_arena *A = &W->ar[ai];
        sys += A->system_mem;
        fre += A->free_bytes;
        if (A->heap_bytes != A->system_mem)
            c->problem(c, A->addr, "glibc arena %u: its heaps hold %llu bytes, system_mem says %llu",
                       ai, (unsigned long long)A->heap_bytes, (unsigned long long)A->system_mem);
    }
    uint64_t walked = used_chunks + W->tcache_bytes + fre + W->overhead + W->lost;
    for (size_t i = 0; i < W->n; i++) /* free but in no list: counted by mallinfo as used */
        if (!(W->ch[i].flags & CH_CLAIMED) && !(W->ch[i].flags & (CH_NEXT_INUSE | CH_NEXT_UNKNOWN)))
            walked += W->ch[i].size;
    if (walked != sys)
        c->problem(c, w.main_arena, "glibc: chunks walked (%llu bytes, with %llu of headers and "
                                    "%llu unwalkable) do not add up to system_mem (%llu bytes)",
                   (unsigned long long)walked, (unsigned long long)W->overhead,
                   (unsigned long long)W->lost, (unsigned long long)sys);
    heap_fact_u64(c, "glibc.arena_bytes", sys);
    heap_fact_u64(c, "glibc.free_bytes", fre);
    heap_fact_u64(c, "glibc.used_bytes", sys - fre);
    heap_fact_u64(c, "glibc.mmapped_bytes", mmbytes);
    heap_fact_u64(c, "glibc.mmapped_chunks", nmm);
    heap_fact_u64(c, "glibc.tcache_bytes", W->tcache_bytes);
    heap_fact_u64(c, "glibc.overhead_bytes", W->overhead + mmslack);

    int rc = W->oom ? -1 : 0;
    if (W->oom)
        c->problem(c, 0, "glibc: out of memory during the walk");
    free(W->ch);
    free(W);
    /* Bytes are not pointers: stdio buffers are left out of the scan
     * (glibc/stdio.c), through pointer_words, for a pipeline that keeps state. */
    if (!rc && c->keep_state) {
        struct gl_bytes *b = calloc(1, sizeof *b);
        if (b) {
            gl_stdio_buffers(c, w.libc_module, b);
            heap_fact_u64(c, "glibc.stdio_buffers", b->n);
            c->walker = b;
        }
    }
    return rc;
}

static int glibc_pointer_words(const void *walker, uint64_t addr, uint64_t size, uint64_t *mask,
                               size_t maskwords)
{
    return gl_bytes_mask(walker, addr, size, mask, maskwords);
}

static void glibc_release(struct heap_ctx *c)
{
    struct gl_bytes *b = c->walker;
    if (b)
        free(b->v);
    free(b);
    c->walker = NULL;
}

const struct allocator glibc_allocator = {
    .name = "glibc",
    .detect = glibc_detect,
    .walk = glibc_walk,
    .pointer_words = glibc_pointer_words,
    .release = glibc_release,
};
