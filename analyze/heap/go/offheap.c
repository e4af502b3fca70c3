/*
 * go/offheap.c — the Go runtime's memory outside its heap arenas, claimed
 * so that it is not taken for roots.
 *
 * The indexer treats writable memory nobody explains as an 'anon' root, so
 * that memory it cannot explain never makes an object look leaked.  For a
 * Go program that is wrong in the other direction: the runtime keeps
 * spans, heap bitmaps, mcaches, GC work buffers and the like in anonymous
 * mappings of its own (persistentalloc, sysAlloc), full of stale pointers
 * into the heap, and Go's collector never scans them — an object they
 * alone point to is garbage to Go.  C code (cgo) may not keep Go pointers
 * either (the cgo pointer rules), so no anonymous mapping is a root of the
 * Go heap.  The roots are the ones Go scans: globals (.data/.bss) and
 * goroutine stacks (go/walker.c's roots hook), plus the threads' registers and
 * stacks the indexer always takes.
 *
 * So every private anonymous writable mapping is claimed as a "go-runtime"
 * region, except: the heap arenas (claimed by go/spans.c), the regions of
 * the process's malloc when it was walked beside us (c->claimed: a cgo
 * program's C heap, whose blocks are objects of their own), any module's
 * segments (.bss beyond the file is anonymous too), and a mapping holding a
 * thread's stack pointer (a C thread's stack; a thread stack of Go's own
 * lives in a heap span).  Only done when the pipeline takes goroutine stacks
 * as roots (c->root): without them the anonymous memory is all there is.
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "heap/go/internal.h"

struct cut {
    uint64_t lo, hi;
};

static int by_lo(const void *a, const void *b)
{
    const struct cut *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int push(struct cut **v, size_t *n, size_t *cap, uint64_t lo, uint64_t hi)
{
    if (lo >= hi)
        return 0;
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        struct cut *p = realloc(*v, c * sizeof *p);
        if (!p)
            return -1;
        *v = p;
        *cap = c;
    }
    (*v)[(*n)++] = (struct cut){lo, hi};
    return 0;
}

int go_offheap_claim(struct go_walk *w)
{
    struct heap_ctx *c = w->c;
    size_t nmaps = 0, nmods = 0, nthr = 0, n = 0, cap = 0;
    const struct hs_mapping *maps = hs_get_mappings(c->snap, &nmaps);
    const struct hs_module *mods = hs_get_modules(c->snap, &nmods);
    const struct hs_thread *thr = hs_get_threads(c->snap, &nthr);
    struct cut *cuts = NULL;
    int rc = -1;
    /* what is not ours to claim: arenas and module segments */
    for (size_t i = 0; i < w->narenas; i++)
        if (push(&cuts, &n, &cap, w->arenas[i].base, w->arenas[i].base + w->L.arena_bytes))
            goto out;
    /* and what the process's malloc holds (cgo: glibc's mmapped chunks, walked first) */
    for (size_t i = 0; i < c->nclaimed; i++)
        if (push(&cuts, &n, &cap, c->claimed[i].start, c->claimed[i].end))
            goto out;
    for (size_t i = 0; i < nmods; i++) {
        const struct hs_module *m = &mods[i];
        if (!m->phdrs || m->phdrs_len % sizeof(Elf64_Phdr))
            continue;
        for (size_t k = 0; k < m->phdrs_len / sizeof(Elf64_Phdr) && k < 4096; k++) {
            Elf64_Phdr ph;
            memcpy(&ph, m->phdrs + k * sizeof ph, sizeof ph);
            if (ph.p_type == PT_LOAD && ph.p_memsz < (1ull << 40) &&
                push(&cuts, &n, &cap, m->base + ph.p_vaddr, m->base + ph.p_vaddr + ph.p_memsz))
                goto out;
        }
    }
    if (n > 1)
        qsort(cuts, n, sizeof *cuts, by_lo);
    for (size_t i = 0; i < nmaps; i++) {
        const struct hs_mapping *m = &maps[i];
        /* Go 1.25+ names its mappings where the kernel lets it
         * ("[anon: Go: heap]", "[anon: Go: page summary]"): still anonymous */
        int named = m->path && m->path[0] && strncmp(m->path, "[anon:", 6) != 0;
        if (!(m->flags & HS_MAP_W) || !(m->flags & HS_MAP_ANON) || (m->flags & HS_MAP_SHARED) || named ||
            m->start >= m->end)
            continue;
        int stack = 0;
        for (size_t t = 0; t < nthr && !stack; t++)
            stack = thr[t].regs[HS_RSP] >= m->start && thr[t].regs[HS_RSP] < m->end;
        if (stack)
            continue;
        uint64_t pos = m->start;
        for (size_t k = 0; k < n && pos < m->end; k++) {
            if (cuts[k].hi <= pos || cuts[k].lo >= m->end)
                continue;
            if (cuts[k].lo > pos) {
                struct heap_region r = {.start = pos, .end = cuts[k].lo, .kind = "go-runtime"};
                c->region(c, &r);
            }
            if (cuts[k].hi > pos)
                pos = cuts[k].hi;
        }
        if (pos < m->end) {
            struct heap_region r = {.start = pos, .end = m->end, .kind = "go-runtime"};
            c->region(c, &r);
        }
    }
    rc = 0;
out:
    free(cuts);
    return rc;
}
