/*
 * go/globals.c — which words of a Go program's globals are pointers, so
 * that the indexer reads .data and .bss as Go's collector does rather than
 * conservatively (a uintptr or an integer that looks like an address is
 * then no reference).
 *
 * The linker sorts globals by kind: .noptrdata and .noptrbss hold no
 * pointers at all; .data and .bss come with a bitmap each, built by the
 * runtime at start-up from the linker's GC programs and kept in
 * runtime.firstmoduledata as gcdatamask and gcbssmask (bitvector: n bits,
 * bytedata; bit i for the word at data + 8 i, resp. bss + 8 i).  Only the
 * executable's module data is read (no plugins or -linkshared modules).
 * A mask that does not cover its section, or that was not captured, is
 * left out: those globals are then scanned conservatively.
 */
#include <stdlib.h>
#include <string.h>

#include "heap/go/internal.h"

#define MAX_SECTION (1ull << 32) /* 4 GiB of globals */

static void add(struct go_walk *w, uint64_t lo, uint64_t hi, int64_t mask_off)
{
    const struct go_layout *L = &w->L;
    if (lo >= hi || hi - lo > MAX_SECTION || lo % 8 || w->nglobals >= 4)
        return;
    struct go_globals g = {lo, hi, NULL};
    if (mask_off >= 0) {
        uint64_t n, p, words = (hi - lo) / 8;
        if (go_field(w, L->firstmoduledata, mask_off, 4, &n) ||
            go_u64(w, L->firstmoduledata + (uint64_t)mask_off + 8, &p) || n < words)
            return;
        if (!(g.bits = malloc((words + 7) / 8)))
            return;
        if (go_read(w, p, g.bits, (words + 7) / 8)) {
            free(g.bits);
            return;
        }
    }
    w->globals[w->nglobals++] = g;
}

int go_globals_load(struct go_walk *w)
{
    const struct go_layout *L = &w->L;
    uint64_t md = L->firstmoduledata, v[8];
    const int64_t offs[8] = {L->md_data, L->md_edata, L->md_bss, L->md_ebss,
                             L->md_noptrdata, L->md_enoptrdata, L->md_noptrbss, L->md_enoptrbss};
    for (int i = 0; i < 8; i++)
        if (go_u64(w, md + (uint64_t)offs[i], &v[i]))
            return -1;
    add(w, v[0], v[1], L->md_gcdatamask);
    add(w, v[2], v[3], L->md_gcbssmask);
    add(w, v[4], v[5], -1);
    add(w, v[6], v[7], -1);
    return 0;
}

void go_globals_free(struct go_walk *w)
{
    for (size_t i = 0; i < w->nglobals; i++)
        free(w->globals[i].bits);
    w->nglobals = 0;
}

int go_globals_words(const struct go_walk *w, uint64_t addr, uint64_t size, uint64_t *mask, size_t maskwords)
{
    size_t nw = size / 8;
    for (size_t i = 0; i < w->nglobals; i++) {
        const struct go_globals *g = &w->globals[i];
        if (addr < g->lo || addr >= g->hi || size > g->hi - addr || nw > maskwords * 64)
            continue;
        memset(mask, 0, (nw + 63) / 64 * 8);
        if (!g->bits)
            return 1;
        uint64_t w0 = (addr - g->lo) / 8;
        for (size_t k = 0; k < nw; k++)
            if (g->bits[(w0 + k) / 8] >> ((w0 + k) % 8) & 1)
                mask[k / 64] |= 1ull << (k % 64);
        return 1;
    }
    return 0;
}
