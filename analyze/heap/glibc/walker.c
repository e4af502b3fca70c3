/*
 * glibc/walker.c — the glibc ptmalloc2 walker (glibc_allocator; see allocator.h):
 * the order of the walk, its chunk array, and what it reports.
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
 * are found (see gl_find_tcaches), and every free list is walked against the
 * array — each step must land on a chunk of the walk, and a chunk claimed
 * twice means a cycle or a double free, which is how lists are bounded
 * and cycles caught; (4) the objects are reported; (5) mmapped chunks;
 * (6) the totals are compared with what the arenas and mp_ say, and
 * published as facts in mallinfo2() terms.  Steps 1 and 2 are arenas.c,
 * the lists of step 3 freelists.c, step 5 mmapped.c; this file holds the
 * chunk array, the order of the steps and what is reported (walk.h is
 * the state they share).
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
 * where = GL_WHERE_INTERNAL, so its entries — pointers to free chunks — are
 * not scanned either.
 *
 * A chunk that looks free (its neighbour's PREV_INUSE is clear) but is in
 * no list is reported free with where = GL_WHERE_FREE_OTHER, and a problem.
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
#include <sys/mman.h>
#include <unistd.h>

#include "heap/glibc/walk.h"


const char *const gl_where_name[GL_WHERE_COUNT] = {
    [GL_WHERE_INUSE] = "in use", [GL_WHERE_MMAPPED] = "mmapped", [GL_WHERE_TCACHE] = "tcache",
    [GL_WHERE_FASTBIN] = "a fastbin", [GL_WHERE_UNSORTED] = "the unsorted bin",
    [GL_WHERE_SMALLBIN] = "a small bin", [GL_WHERE_LARGEBIN] = "a large bin",
    [GL_WHERE_TOP] = "the top chunk", [GL_WHERE_FREE_OTHER] = "free elsewhere",
    [GL_WHERE_INTERNAL] = "a tcache_perthread_struct",
};

/* ------------------------------------------------------------ chunk array */

/*
 * The array is a mapping of its own rather than malloc's, for the index's
 * peak: it holds every chunk (24 bytes each, 240 MB for 10 M), and the
 * pipeline copies each into its object table as report_chunks() reports
 * it, so the two were side by side at their whole size.  A mapping can
 * give back the stretch already reported (munmap of its start) and grow
 * in place or move without a copy (mremap).
 */
struct gl_chunk *gl_add_chunk(struct walk *W, uint64_t addr, uint64_t size, unsigned arena)
{
    if (W->n == W->cap) {
        size_t cap = W->cap ? W->cap * 2 : 4096, page = (size_t)sysconf(_SC_PAGESIZE);
        size_t bytes = (cap * sizeof *W->ch + page - 1) / page * page;
        void *p = W->ch ? mremap(W->ch, W->ch_bytes, bytes, MREMAP_MAYMOVE)
                        : mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            W->oom = 1;
            return NULL;
        }
        W->ch = p;
        W->ch_bytes = bytes;
        W->cap = bytes / sizeof *W->ch;
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
struct gl_chunk *gl_find_chunk(struct walk *W, uint64_t addr)
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

/* ------------------------------------------------------------ the walker */

static int glibc_detect(struct heap_ctx *c)
{
    int mod;
    return gl_libc_present(c, &mod);
}

/* Give back the array's pages below entry i (see gl_add_chunk). */
static void give_back_below(struct walk *W, size_t i)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), upto = i * sizeof *W->ch / page * page;
    if (upto > W->ch_gone && munmap((char *)W->ch + W->ch_gone, upto - W->ch_gone) == 0)
        W->ch_gone = upto;
}

/* Report every chunk of the (sorted) array, giving back the array as it
 * goes; count what the totals need: the bytes of used chunks, and of free
 * ones that no list holds (mallinfo counts those as used). */
static void report_chunks(struct walk *W, uint64_t *used_chunk_bytes, uint64_t *unlisted_bytes)
{
    struct heap_ctx *c = W->c;
    for (size_t i = 0; i < W->n; i++) {
        if ((i & 0xffff) == 0)
            give_back_below(W, i);
        struct gl_chunk *k = &W->ch[i];
        struct heap_object o = {.addr = k->addr + GL_HDR, .size = k->size - GL_SIZE_SZ,
                                .chunk = k->addr, .chunk_size = k->size, .state = OBJ_FREE,
                                .where = k->where, .arena = k->arena};
        if (k->where == GL_WHERE_TOP) {
            o.size = k->size - GL_HDR;
        } else if (!(k->flags & CH_CLAIMED)) {
            if (k->flags & (CH_NEXT_INUSE | CH_NEXT_UNKNOWN)) {
                o.state = OBJ_USED;
                *used_chunk_bytes += k->size;
            } else {
                o.where = GL_WHERE_FREE_OTHER;
                *unlisted_bytes += k->size;
                c->problem(c, k->addr, "glibc arena %u: chunk 0x%llx (size 0x%llx) is free but "
                                       "in no bin",
                           k->arena, (unsigned long long)k->addr, (unsigned long long)k->size);
            }
        } else if (k->where == GL_WHERE_TCACHE || k->where == GL_WHERE_FASTBIN) {
            /* Still marked in use by its neighbour; free to the program. */
        } else if (k->flags & CH_NEXT_INUSE) {
            c->problem(c, k->addr, "glibc arena %u: chunk 0x%llx is in %s but the next chunk "
                                   "says it is in use",
                       k->arena, (unsigned long long)k->addr, gl_where_name[k->where]);
        }
        c->object(c, &o);
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

/* Where malloc's structures are, as facts (and main_arena and mp_ as
 * malloc's own memory, which is not scanned). */
static void publish_where(struct heap_ctx *c, const struct gl_layout *L, const struct gl_where *w)
{
    c->fact(c, "glibc.layout", L->source);
    char buf[96];
    snprintf(buf, sizeof buf, "0x%llx (%s)", (unsigned long long)w->main_arena, w->arena_how);
    c->fact(c, "glibc.main_arena", buf);
    if (w->mp) {
        snprintf(buf, sizeof buf, "0x%llx (%s)", (unsigned long long)w->mp, w->mp_how);
        c->fact(c, "glibc.mp_", buf);
    }
    if (w->heap_end) {
        snprintf(buf, sizeof buf, "0x%llx-0x%llx (%s)", (unsigned long long)w->heap_start,
                 (unsigned long long)w->heap_end, w->heap_how);
        c->fact(c, "glibc.brk_heap", buf);
    }
    declare_internal(c, w->main_arena, L->ms_size, "main_arena");
    declare_internal(c, w->mp, L->mp_size, "mp_");
}

/* The libc version decides safe-linking (2.32 on), and how far a fallback
 * layout is to be trusted. */
static void check_version(struct walk *W)
{
    struct heap_ctx *c = W->c;
    int major, minor;
    char buf[32];
    if (gl_version(c, W->w->libc_module, &major, &minor))
        return;
    snprintf(buf, sizeof buf, "%d.%d", major, minor);
    c->fact(c, "glibc.version", buf);
    if (major == 2 && minor < 32)
        W->safe_linking = 0;
    if (!strcmp(W->L->source, "fallback") && (major != 2 || minor != 36))
        c->problem(c, 0, "glibc: libc is %d.%d but the fallback layout is 2.36's (it passed "
                         "the checks against the heap; trust it less)",
                   major, minor);
}

/* Each arena's top chunk into the array, then the array sorted; chunks
 * that overlap (a damaged heap) are said. */
static void add_tops_and_sort(struct walk *W)
{
    struct heap_ctx *c = W->c;
    for (unsigned ai = 0; ai < W->nar; ai++) {
        struct gl_arena *A = &W->ar[ai];
        if (A->top_ok) {
            struct gl_chunk *k = gl_add_chunk(W, A->top, A->top_size, ai);
            if (k) {
                k->where = GL_WHERE_TOP;
                k->flags = CH_CLAIMED;
                A->free_bytes += A->top_size;
            }
        }
    }
    /* One arena's chunks come in address order, its top last: then there is
     * nothing to sort, and qsort would still take a copy's room for its merge. */
    int sorted = 1;
    for (size_t i = 1; i < W->n && sorted; i++)
        sorted = W->ch[i - 1].addr <= W->ch[i].addr;
    if (!sorted)
        qsort(W->ch, W->n, sizeof *W->ch, cmp_chunk);
    for (size_t i = 1; i < W->n; i++)
        if (W->ch[i].addr < W->ch[i - 1].addr + W->ch[i - 1].size)
            c->problem(c, W->ch[i].addr, "glibc: chunk 0x%llx overlaps chunk 0x%llx (arenas %u, %u)",
                       (unsigned long long)W->ch[i].addr, (unsigned long long)W->ch[i - 1].addr,
                       W->ch[i].arena, W->ch[i - 1].arena);
}

/* The tcaches, marked malloc's own (see the top of this file), and every
 * free list. */
static void walk_lists(struct walk *W)
{
    gl_find_tcaches(W);
    for (unsigned t = 0; t < W->ntcaches; t++) {
        struct gl_chunk *k = gl_find_chunk(W, W->tcaches[t] - GL_HDR);
        if (k && k->where == GL_WHERE_INUSE)
            k->where = GL_WHERE_INTERNAL;
    }
    heap_fact_u64(W->c, "glibc.tcaches", W->ntcaches);
    gl_walk_tcaches(W);
    for (unsigned ai = 0; ai < W->nar; ai++) {
        gl_walk_fastbins(W, ai);
        gl_walk_bins(W, ai);
    }
}

/* What was found against what mp_ and the arenas say, and the totals as
 * facts in mallinfo2() terms (see the top of this file). */
static void totals(struct walk *W, uint64_t used_chunks, uint64_t unlisted, uint64_t nmm, uint64_t mmbytes,
                   uint64_t mmslack)
{
    struct heap_ctx *c = W->c;
    const struct gl_layout *L = W->L;
    const struct gl_where *w = W->w;
    if (w->mp) {
        uint64_t n_mmaps, mmapped_mem;
        if (!gl_u64(c, w->mp + L->mp_n_mmaps, &n_mmaps) && !gl_u64(c, w->mp + L->mp_mmapped_mem, &mmapped_mem)) {
            n_mmaps &= 0xffffffffu; /* an int */
            if (n_mmaps != nmm || mmapped_mem != mmbytes)
                c->problem(c, w->mp, "glibc: found %llu mmapped chunks (%llu bytes); mp_ says %llu "
                                     "(%llu bytes)",
                           (unsigned long long)nmm, (unsigned long long)mmbytes,
                           (unsigned long long)n_mmaps, (unsigned long long)mmapped_mem);
        }
    }
    /* arena by arena: what we walked must cover system_mem */
    uint64_t sys = 0, fre = 0;
    for (unsigned ai = 0; ai < W->nar; ai++) {
        struct gl_arena *A = &W->ar[ai];
        sys += A->system_mem;
        fre += A->free_bytes;
        if (A->heap_bytes != A->system_mem)
            c->problem(c, A->addr, "glibc arena %u: its heaps hold %llu bytes, system_mem says %llu",
                       ai, (unsigned long long)A->heap_bytes, (unsigned long long)A->system_mem);
    }
    /* free but in no list: counted by mallinfo as used */
    uint64_t walked = used_chunks + unlisted + W->tcache_bytes + fre + W->overhead + W->lost;
    if (walked != sys)
        c->problem(c, w->main_arena, "glibc: chunks walked (%llu bytes, with %llu of headers and "
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
    publish_where(c, &L, &w);

    struct walk *W = calloc(1, sizeof *W);
    if (!W) {
        c->problem(c, 0, "glibc: out of memory");
        return -1;
    }
    W->c = c;
    W->L = &L;
    W->w = &w;
    W->safe_linking = 1;
    check_version(W);

    gl_find_arenas(W); /* (1) */
    heap_fact_u64(c, "glibc.arenas", W->nar);
    gl_walk_main_arena(W); /* (2) */
    for (unsigned ai = 1; ai < W->nar; ai++)
        gl_walk_other_arena(W, ai);
    add_tops_and_sort(W);
    walk_lists(W); /* (3) */
    uint64_t used_chunks = 0, unlisted = 0;
    report_chunks(W, &used_chunks, &unlisted); /* (4) */
    uint64_t nmm = 0, mmbytes = 0, mmslack = 0;
    gl_walk_mmapped(W, &nmm, &mmbytes, &mmslack); /* (5) */
    totals(W, used_chunks, unlisted, nmm, mmbytes, mmslack); /* (6) */

    int rc = W->oom ? -1 : 0;
    if (W->oom)
        c->problem(c, 0, "glibc: out of memory during the walk");
    if (W->ch)
        munmap((char *)W->ch + W->ch_gone, W->ch_bytes - W->ch_gone);
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

static const struct heap_where_kind glibc_wheres[GL_WHERE_COUNT] = {
    [GL_WHERE_INUSE] = {"inuse", NULL, 0},
    [GL_WHERE_MMAPPED] = {"mmapped", NULL, HW_OWN_MAPPING},
    [GL_WHERE_TCACHE] = {"tcache", "tcache", 0},
    [GL_WHERE_FASTBIN] = {"fastbin", "fastbins", 0},
    [GL_WHERE_UNSORTED] = {"unsorted", "unsorted", 0},
    [GL_WHERE_SMALLBIN] = {"smallbin", "small bins", 0},
    [GL_WHERE_LARGEBIN] = {"largebin", "large bins", 0},
    [GL_WHERE_TOP] = {"top", NULL, HW_TOP},
    [GL_WHERE_FREE_OTHER] = {"free-other", "elsewhere", 0},
    [GL_WHERE_INTERNAL] = {"malloc-internal", NULL, HW_INTERNAL},
};

const struct allocator glibc_allocator = {
    .name = "glibc",
    .wheres = glibc_wheres,
    .advisor = &glibc_advisor,
    .type_slack = 24, /* requests round up to 16 with 8 bytes of header, 24 bytes at least */
    .nwheres = GL_WHERE_COUNT,
    .detect = glibc_detect,
    .walk = glibc_walk,
    .pointer_words = glibc_pointer_words,
    .release = glibc_release,
};
