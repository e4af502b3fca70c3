/*
 * glibc/freelists.c — the free lists, walked against the chunk array
 * (step 3 of the walk: see glibc/walker.c): each arena's fastbins and
 * bins, and each thread's tcache, found through its TLS.
 *
 * Every step of a list must land on a chunk the contiguous walk found, and
 * a chunk claimed twice ends the list: that bounds every list and catches
 * a cycle or a double free, whatever the snapshot holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <elf.h>

#include "heap/glibc/walk.h"

/* ------------------------------------------------------------ free lists */

/*
 * Claim chunk 'addr' for a free list.  Returns the chunk, or NULL (with a
 * problem) if the list may not go on: not a chunk, wrong arena, or already
 * claimed (a cycle when by the same list, else a double free).  'from' is
 * the address of the link that led here (0 for the list head): that link
 * is where the damage is, so problems are reported there.
 */
struct gl_chunk *gl_claim(struct walk *W, uint64_t addr, int where, int arena, uint64_t want_size, const char *list,
                          uint64_t from)
{
    struct heap_ctx *c = W->c;
    uint64_t at = from ? from : addr;
    struct gl_chunk *k = gl_find_chunk(W, addr);
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
                       list, (unsigned long long)addr, gl_where_name[k->where]);
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
 * is at p + 16.  'limit' bounds the walk; gl_claim() catches cycles sooner.
 */
static uint64_t walk_single(struct walk *W, uint64_t head, int where, int arena, uint64_t size,
                            const char *list, uint64_t limit)
{
    struct heap_ctx *c = W->c;
    const uint64_t bias = where == GL_WHERE_TCACHE ? GL_HDR : 0; /* list value - chunk */
    uint64_t v = head, n = 0, from = 0;
    while (v && n <= limit) {
        if (v % GL_ALIGN || v < bias) {
            c->problem(c, from ? from : v, "glibc: %s: link at 0x%llx gives a misaligned "
                                          "entry 0x%llx (bad safe-linked pointer?); list cut there",
                       list, (unsigned long long)from, (unsigned long long)v);
            break;
        }
        uint64_t p = v - bias;
        struct gl_chunk *k = gl_claim(W, p, where, arena, size, list, from);
        if (!k)
            break;
        n++;
        from = p + 16;
        if (where == GL_WHERE_TCACHE)
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

void gl_walk_fastbins(struct walk *W, unsigned ai)
{
    struct gl_arena *A = &W->ar[ai];
    for (unsigned i = 0; i < GL_NFASTBINS; i++) {
        uint64_t head;
        if (gl_u64(W->c, A->addr + W->L->ms_fastbins + 8 * i, &head) || !head)
            continue;
        char list[64];
        snprintf(list, sizeof list, "fastbin[%u] of arena %u", i, ai);
        walk_single(W, head, GL_WHERE_FASTBIN, (int)ai, (i + 2) * GL_ALIGN, list, W->n);
    }
}

/* Bins 1 (unsorted), 2..63 (small), 64..127 (large): circular, doubly
 * linked through fd (chunk+16) and bk (chunk+24); the list head is a fake
 * chunk whose fd/bk are bins[2i-2], bins[2i-1]. */
void gl_walk_bins(struct walk *W, unsigned ai)
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
        int where = i == 1 ? GL_WHERE_UNSORTED : i < GL_NSMALLBINS ? GL_WHERE_SMALLBIN : GL_WHERE_LARGEBIN;
        char list[64];
        snprintf(list, sizeof list, "%s %u of arena %u",
                 i == 1 ? "unsorted bin" : i < GL_NSMALLBINS ? "small bin" : "large bin", i, ai);
        for (size_t steps = 0; p != head && steps <= W->n; steps++) {
            struct gl_chunk *k =
                gl_claim(W, p, where, (int)ai, where == GL_WHERE_SMALLBIN ? i * GL_ALIGN : 0, list,
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
    struct gl_chunk *k = gl_find_chunk(W, u - GL_HDR);
    if (!k || k->where != GL_WHERE_INUSE || k->size != tcache_chunk_size(L))
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
void gl_find_tcaches(struct walk *W)
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
            if (k->where == GL_WHERE_INUSE)
                add_tcache(W, k->addr + GL_HDR);
        }
    }
}

void gl_walk_tcaches(struct walk *W)
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
            uint64_t n = walk_single(W, e, GL_WHERE_TCACHE, -1, (i + 2) * GL_ALIGN, list,
                                     limit > count ? limit : count);
            if (n != count)
                c->problem(c, u, "glibc: %s holds %llu chunks, its count says %u", list,
                           (unsigned long long)n, count);
        }
    }
}
