/*
 * gather.c — read a few bytes of many places in a snapshot without
 * materialising its memory (hs_gather_u64 in hsnap.h).
 *
 * hs_open() decompresses every memory block into place: a heap's worth of
 * RSS.  A reader that wants one word of each of millions of objects (diff
 * compares the first words of objects it matches) needs far less.  Here
 * the file is walked metadata only (reader.c's hs_parse_blocks: every
 * checksum and every check of an open, the blocks noted), and the blocks
 * are visited in address order beside the sorted addresses: a block that
 * holds one of them is decompressed once, into one block's room, and its
 * words picked out; a block that holds none is never decompressed.  The
 * memory is the file's mapping and one block, whatever the heap's size.
 *
 * Page states mean what they mean to hs_read() (access.c): DATA is read,
 * ZERO reads as zeros, ABSENT reads as zeros in an anonymous mapping and
 * not at all elsewhere, the rest not at all.
 */
#include <stdlib.h>
#include <string.h>

#include "walk.h"

struct gather {
    const uint64_t *addr;
    size_t n;
    uint64_t *out;
    uint8_t *ok;
    const char *name;
    struct hs_error *err;
};

static int by_addr(const void *x, const void *y)
{
    const struct block *a = *(const struct block *const *)x, *b = *(const struct block *const *)y;
    return a->addr < b->addr ? -1 : a->addr > b->addr;
}

/* The word at addr of block b, whose pages are at room if placed (NULL
 * if not yet): 1 with *v, 0 if the snapshot does not have it, or -1 when
 * the block must be placed first. */
static int word_of(const struct block *b, const uint8_t *room, uint64_t addr, uint64_t *v)
{
    uint64_t at = addr - b->addr;
    switch (b->states[at / b->page_size]) {
    case HS_PAGE_DATA:
        if (!room)
            return -1;
        memcpy(v, room + at, sizeof *v);
        return 1;
    case HS_PAGE_ZERO: *v = 0; return 1;
    case HS_PAGE_ABSENT:
        if (b->flags & HS_MEM_ANON)
            return *v = 0, 1;
        return 0;
    default: return 0;
    }
}

static int gather_blocks(struct walk *w, void *arg)
{
    struct gather *g = arg;
    const struct block **bs = malloc((w->nblocks ? w->nblocks : 1) * sizeof *bs);
    uint8_t *room = NULL;
    size_t room_cap = 0;
    int rc = -1;
    if (!bs) {
        hs_set_err(g->err, "%s: out of memory", g->name);
        return -1;
    }
    for (size_t k = 0; k < w->nblocks; k++)
        bs[k] = &w->blocks[k];
    /* hs_build_ranges() has refused overlaps: sorted, the blocks are disjoint */
    qsort(bs, w->nblocks, sizeof *bs, by_addr);
    if (!w->dctx && !(w->dctx = ZSTD_createDCtx())) {
        hs_set_err(g->err, "%s: out of memory", g->name);
        goto out;
    }
    size_t k = 0;
    const struct block *placed = NULL;
    for (size_t i = 0; i < g->n; i++) {
        uint64_t a = g->addr[i];
        if (i && a < g->addr[i - 1]) {
            hs_set_err(g->err, "%s: addresses to gather are not in ascending order", g->name);
            goto out;
        }
        g->out[i] = 0;
        g->ok[i] = 0;
        while (k < w->nblocks && bs[k]->addr + (uint64_t)bs[k]->npages * bs[k]->page_size <= a)
            k++;
        /* aligned, a word never crosses a page, so never a block */
        if (k == w->nblocks || a < bs[k]->addr || a % 8)
            continue;
        const struct block *b = bs[k];
        uint64_t v;
        int r = word_of(b, placed == b ? room : NULL, a, &v);
        if (r < 0) {
            size_t need = (size_t)b->npages * b->page_size;
            if (need > room_cap) {
                free(room);
                if (!(room = malloc(need))) {
                    hs_set_err(g->err, "%s: out of memory for a block of %zu bytes", g->name, need);
                    room_cap = 0;
                    goto out;
                }
                room_cap = need;
            }
            w->secno = b->secno;
            w->off = b->off;
            w->type = HS_SEC_MEMORY;
            if (hs_place_block(w, w->dctx, b, room) < 0)
                goto out; /* w said which section */
            placed = b;
            r = word_of(b, room, a, &v);
        }
        if (r == 1) {
            g->out[i] = v;
            g->ok[i] = 1;
        }
    }
    rc = 0;
out:
    free(room);
    free(bs);
    return rc;
}

int hs_gather_u64_memory(const void *buf, size_t len, const char *name, const uint64_t *addr, size_t n,
                         uint64_t *out, uint8_t *ok, struct hs_error *err)
{
    struct gather g = {addr, n, out, ok, name ? name : "(memory)", err};
    return hs_parse_blocks(buf, len, g.name, err, gather_blocks, &g);
}

int hs_gather_u64(const char *path, const uint64_t *addr, size_t n, uint64_t *out, uint8_t *ok,
                  struct hs_error *err)
{
    const uint8_t *buf;
    size_t len;
    int mapped;
    if (hs_load(path, &buf, &len, &mapped, err) < 0)
        return -1;
    int rc = hs_gather_u64_memory(buf, len, strcmp(path, "-") ? path : "(stdin)", addr, n, out, ok, err);
    hs_unload(buf, len, mapped);
    return rc;
}
