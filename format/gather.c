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
 * not at all elsewhere, the rest not at all.  A word may cross a page or
 * run into the next block, as hs_read() allows (a writer's blocks are
 * page-aligned, so only a damaged or forged file makes an aligned word do
 * so); the two blocks last placed are kept, so that such a word, or the
 * next address, never decompresses a block twice in a row.
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

static uint64_t block_end(const struct block *b)
{
    return b->addr + (uint64_t)b->npages * b->page_size;
}

/* Two blocks' room, the two last placed: a word that runs from one block
 * into the next needs both, and the next address is in either. */
struct rooms {
    uint8_t *room[2];
    size_t cap[2];
    const struct block *placed[2];
    int last; /* the slot placed or used last */
};

/* Block b's pages, placed: from a slot if there, else decompressed into
 * the other slot.  NULL with err said (by hs_place_block, or here). */
static const uint8_t *placed(struct walk *w, struct gather *g, struct rooms *r, const struct block *b)
{
    for (int k = 0; k < 2; k++)
        if (r->placed[k] == b)
            return r->last = k, r->room[k];
    int k = !r->last;
    size_t need = (size_t)b->npages * b->page_size;
    if (need > r->cap[k]) {
        free(r->room[k]);
        r->placed[k] = NULL;
        if (!(r->room[k] = malloc(need))) {
            r->cap[k] = 0;
            hs_set_err(g->err, "%s: out of memory for a block of %zu bytes", g->name, need);
            return NULL;
        }
        r->cap[k] = need;
    }
    w->secno = b->secno;
    w->off = b->off;
    w->type = HS_SEC_MEMORY;
    r->placed[k] = NULL;
    if (hs_place_block(w, w->dctx, b, r->room[k]) < 0)
        return NULL; /* w said which section */
    r->placed[k] = b;
    r->last = k;
    return r->room[k];
}

/* The 8 bytes at a, from blocks bs[k..] (bs[k] holds a): 1 with out, 0 if
 * the snapshot does not have them all, -1 on an error.  A word may cross
 * a page, and from a block into the next one that starts where it ends
 * (its range's next block, or a range that touches), as hs_read() reads
 * it; which pages read as what is as in hs_read(). */
static int word_at(struct walk *w, struct gather *g, struct rooms *r, const struct block *const *bs, size_t nb,
                   size_t k, uint64_t a, uint8_t out[8])
{
    size_t got = 0;
    while (got < 8) {
        const struct block *b = bs[k];
        uint64_t at = a + got, off = at - b->addr;
        size_t in_page = b->page_size - (size_t)(off % b->page_size), len = 8 - got < in_page ? 8 - got : in_page;
        switch (b->states[off / b->page_size]) {
        case HS_PAGE_DATA: {
            const uint8_t *room = placed(w, g, r, b);
            if (!room)
                return -1;
            memcpy(out + got, room + off, len);
            break;
        }
        case HS_PAGE_ZERO: memset(out + got, 0, len); break;
        case HS_PAGE_ABSENT: /* zeros in anonymous memory, else not captured */
            if (!(b->flags & HS_MEM_ANON))
                return 0;
            memset(out + got, 0, len);
            break;
        default: return 0;
        }
        got += len;
        if (got < 8 && a + got == block_end(b)) {
            if (++k == nb || bs[k]->addr != block_end(b))
                return 0; /* runs past what was captured */
        }
    }
    return 1;
}

static int gather_blocks(struct walk *w, void *arg)
{
    struct gather *g = arg;
    const struct block **bs = malloc((w->nblocks ? w->nblocks : 1) * sizeof *bs);
    struct rooms r = {0};
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
    for (size_t i = 0; i < g->n; i++) {
        uint64_t a = g->addr[i];
        if (i && a < g->addr[i - 1]) {
            hs_set_err(g->err, "%s: addresses to gather are not in ascending order", g->name);
            goto out;
        }
        g->out[i] = 0;
        g->ok[i] = 0;
        while (k < w->nblocks && block_end(bs[k]) <= a)
            k++;
        if (k == w->nblocks || a < bs[k]->addr || a > UINT64_MAX - 8)
            continue;
        uint8_t v[8];
        int got = word_at(w, g, &r, bs, w->nblocks, k, a, v);
        if (got < 0)
            goto out;
        if (got) {
            g->out[i] = hs_ld64(v);
            g->ok[i] = 1;
        }
    }
    rc = 0;
out:
    free(r.room[0]);
    free(r.room[1]);
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
