/*
 * jemalloc/layout.c — where jemalloc 5.x keeps its state in a snapshot, and
 * what that state looks like (see jemalloc/internal.h; jemalloc/walker.c
 * does the walk).
 *
 * The one structure that leads to every extent is the emap: a radix tree
 * (rtree) keyed by page address, whose root is a static array inside
 * arena_emap_global, in jemalloc's .bss.  In the usual LG_VADDR 48 build it
 * has two levels: the root is 2^18 pointers to leaves, each leaf 2^18
 * words, one per page of a 1 GiB span, and a word names the extent
 * (edata_t) holding that page with its size class, slab bit and state.  A
 * build with LG_VADDR 57 has three levels of 2^15 and elements of two
 * words (internal.h, struct je_rtree).  Debian's libjemalloc2 is stripped
 * and has no DWARF, so:
 *
 *   the shape    from DWARF's emap_s (rtree.root's length) when there is
 *                DWARF, else tried: 48 first, then 57 (je_locate).
 *   the root     by the symbol (je_)arena_emap_global when there is one —
 *                the root is its last member, so it starts 8 * 2^18 bytes
 *                (or 2^15) before the symbol's end (or where DWARF's emap_s puts
 *                rtree.root, when there is DWARF) — or else by scanning jemalloc's
 *                writable data for a word that points at a leaf: the
 *                leaf's first used element names an extent whose pages
 *                give the leaf's index in the root, hence where the root
 *                must start; a candidate root is believed only when every
 *                leaf it holds agrees the same way (root_agrees).
 *   edata_t      from DWARF (struct edata_s) when a module describes it,
 *                else the 5.3.0 layout below (and likewise cache_bin_t,
 *                struct cache_bin_s, and the root's place in emap_s; where
 *                DWARF says otherwise than the fallback is told, as the
 *                fact jemalloc.fallback_layout): e_bits at 0 (arena_ind 12
 *                bits, slab, committed, pai, zeroed, guarded, state 3,
 *                szind 8, nfree 10, bin_shard 6, is_head), e_addr at 8,
 *                e_size_esn at 16 (size in the bits above the page), and
 *                the slab's bitmap (e_slab_data) at 64.  e_bits' packing
 *                is macros (EDATA_BITS_*), which DWARF does not carry: it
 *                is 5.3.0's whatever the offsets' source.  The walker checks
 *                it against the tree: every leaf's slab bit, szind and
 *                state must be the extent's own, every slab's free count
 *                its bitmap's.
 *   size classes computed as sc.c does for 4 KiB pages and a 16-byte
 *                quantum (8, 16, 32, 48, ..., 4 per doubling).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <elf.h>

#include "heap/jemalloc/internal.h"

/* jemalloc 5.3.0, x86_64 (include/jemalloc/internal/edata.h, cache_bin.h,
 * rtree.h). */
static const struct je_layout fallback_530 = {
    .source = "fallback", .ed_size = 128,
    .ed_bits = 0, .ed_addr = 8, .ed_size_esn = 16, .ed_bitmap = 64,
    .arena_shift = 0, .arena_bits = 12, .slab_shift = 12, .state_shift = 17, .szind_shift = 20,
    .nfree_shift = 28, .nfree_bits = 10,
    .cb_size = 24, .cb_head = 0, .cb_full = 18, .cb_empty = 20,
    .root_off = UINT64_MAX,
};

/* Note what DWARF said, and where it says otherwise than the fallback. */
static void from_dwarf(struct je_layout *L, const char *st)
{
    size_t n = strlen(L->dwarf);
    snprintf(L->dwarf + n, sizeof L->dwarf - n, "%s%s", n ? " " : "", st);
}

static void compare(struct je_layout *L, const char *what, uint64_t dwarf, uint64_t fallback)
{
    if (dwarf == fallback)
        return;
    size_t n = strlen(L->differs);
    snprintf(L->differs + n, sizeof L->differs - n, "%s%s %llu (fallback %llu)", n ? ", " : "", what,
             (unsigned long long)dwarf, (unsigned long long)fallback);
}

/* A field's offset, if it lies with its `need` bytes inside the struct; -1 if not. */
static int64_t field_in(const struct dbg_layout *l, const char *name, uint64_t need)
{
    int64_t o = dbg_field_offset(l, name);
    return o >= 0 && (uint64_t)o <= l->size && l->size - (uint64_t)o >= need ? o : -1;
}

static void load_edata(struct heap_ctx *c, int module, struct je_layout *L)
{
    const struct dbg_layout *l = dbg_struct(c->dbg, "edata_s", module);
    if (!l)
        return;
    int64_t b = field_in(l, "e_bits", 8), a = field_in(l, "e_addr", 8);
    int64_t s = field_in(l, "e_size_esn", 8), m = field_in(l, "e_slab_data", 64);
    if (b < 0 || a < 0 || s < 0 || m < 0 || l->size % 8) {
        c->problem(c, 0, "jemalloc: DWARF struct edata_s lacks e_bits/e_addr/e_size_esn/"
                         "e_slab_data; using the 5.3.0 layout");
        return;
    }
    L->source = "dwarf";
    from_dwarf(L, "edata_s");
    compare(L, "sizeof(edata_t)", l->size, L->ed_size);
    compare(L, "edata_t.e_bits", (uint64_t)b, L->ed_bits);
    compare(L, "edata_t.e_addr", (uint64_t)a, L->ed_addr);
    compare(L, "edata_t.e_size_esn", (uint64_t)s, L->ed_size_esn);
    compare(L, "edata_t.e_slab_data", (uint64_t)m, L->ed_bitmap);
    L->ed_size = l->size;
    L->ed_bits = (uint64_t)b;
    L->ed_addr = (uint64_t)a;
    L->ed_size_esn = (uint64_t)s;
    L->ed_bitmap = (uint64_t)m;
}

static void load_cache_bin(struct heap_ctx *c, int module, struct je_layout *L)
{
    const struct dbg_layout *l = dbg_struct(c->dbg, "cache_bin_s", module);
    if (!l)
        return;
    int64_t h = field_in(l, "stack_head", 8), f = field_in(l, "low_bits_full", 2);
    int64_t e = field_in(l, "low_bits_empty", 2);
    if (h < 0 || f < 0 || e < 0 || l->size < 8 || l->size > 256) {
        c->problem(c, 0, "jemalloc: DWARF struct cache_bin_s lacks stack_head/low_bits_full/"
                         "low_bits_empty; using the 5.3.0 layout");
        return;
    }
    from_dwarf(L, "cache_bin_s");
    compare(L, "sizeof(cache_bin_t)", l->size, L->cb_size);
    compare(L, "cache_bin_t.stack_head", (uint64_t)h, L->cb_head);
    compare(L, "cache_bin_t.low_bits_full", (uint64_t)f, L->cb_full);
    compare(L, "cache_bin_t.low_bits_empty", (uint64_t)e, L->cb_empty);
    L->cb_size = l->size;
    L->cb_head = (uint64_t)h;
    L->cb_full = (uint64_t)f;
    L->cb_empty = (uint64_t)e;
}

/* The shapes there are (internal.h, struct je_rtree), the common one first. */
static const unsigned lg_vaddrs[] = {48, 57};
#define NSHAPES (sizeof lg_vaddrs / sizeof lg_vaddrs[0])

/* rtree.root inside emap_s: its offset, and its length, which says the
 * tree's shape (internal.h): 2^18 words for LG_VADDR 48, 2^15 for 57. */
static void load_emap(struct heap_ctx *c, int module, struct je_layout *L)
{
    const struct dbg_layout *l = dbg_struct(c->dbg, "emap_s", module);
    if (!l)
        return;
    int64_t r = dbg_field_offset(l, "rtree.root");
    const struct dbg_field *root = NULL;
    for (size_t i = 0; i < l->nfields; i++)
        if (!strcmp(l->fields[i].name, "rtree") && l->fields[i].layout) {
            const struct dbg_layout *rt = l->fields[i].layout;
            for (size_t k = 0; k < rt->nfields; k++)
                if (!strcmp(rt->fields[k].name, "root"))
                    root = &rt->fields[k];
        }
    unsigned vaddr = 0;
    struct je_rtree t;
    for (size_t i = 0; i < NSHAPES && root && !vaddr; i++) {
        je_rtree_shape(&t, lg_vaddrs[i]);
        if (root->count == 1ull << t.bits[0])
            vaddr = lg_vaddrs[i];
    }
    uint64_t bytes = vaddr ? 8ull << t.bits[0] : 0;
    if (r < 0 || !vaddr || root->size != bytes || (uint64_t)r > l->size || l->size - (uint64_t)r < bytes) {
        c->problem(c, 0, "jemalloc: DWARF struct emap_s has no rtree.root of 2^18 or 2^15 words (LG_VADDR 48 "
                         "or 57; a build with another rtree?); finding the root as 5.3.0 keeps it");
        return;
    }
    from_dwarf(L, "emap_s");
    /* the fallback's root: the last member, so at the end of the struct */
    compare(L, "emap_t.rtree.root", (uint64_t)r, l->size - bytes);
    L->root_off = (uint64_t)r;
    L->lg_vaddr = vaddr;
}

void je_layout_load(struct heap_ctx *c, int module, struct je_layout *L)
{
    *L = fallback_530;
    if (!c->dbg)
        return;
    load_edata(c, module, L);
    load_cache_bin(c, module, L);
    load_emap(c, module, L);
}

/* ------------------------------------------------------------ size classes */

static uint64_t classes[JE_NSIZES];

uint64_t je_index2size(unsigned szind)
{
    if (!classes[0]) {
        /* 8, 16, then groups of 4 per doubling with delta = max(16, base / 4) */
        unsigned n = 0;
        classes[n++] = 8;
        uint64_t s = 16;
        while (n < JE_NSIZES) {
            classes[n++] = s;
            uint64_t p = 1;
            while (p * 2 <= s)
                p *= 2;
            s += p / 4 > 16 ? p / 4 : 16;
        }
    }
    return szind < JE_NSIZES ? classes[szind] : 0;
}

/* ------------------------------------------------------------ the module */

int je_module(struct heap_ctx *c)
{
    static const char *const syms[] = {"je_mallctl", "mallctl", NULL};
    return heap_allocator_module(c, "libjemalloc", syms);
}

/* ------------------------------------------------------------ the rtree */

void je_rtree_shape(struct je_rtree *t, unsigned lg_vaddr)
{
    unsigned nsb = lg_vaddr - JE_LG_PAGE; /* RTREE_NSB */
    *t = (struct je_rtree){.lg_vaddr = lg_vaddr};
    if (nsb <= 36) { /* rtree_levels[] for RTREE_HEIGHT 2 */
        t->height = 2;
        t->bits[0] = nsb / 2;
        t->bits[1] = nsb / 2 + nsb % 2;
    } else { /* and 3 */
        t->height = 3;
        t->bits[0] = nsb / 3;
        t->bits[1] = nsb / 3 + nsb % 3 / 2;
        t->bits[2] = nsb / 3 + nsb % 3 - nsb % 3 / 2;
    }
    /* RTREE_LEAF_COMPACT: the high bits left over hold szind (8 bits) */
    t->elm = 64 - lg_vaddr >= 8 ? 8 : 16;
}

uint64_t je_leaf_elm(const struct je_rtree *t, const uint8_t *p)
{
    uint64_t b;
    memcpy(&b, p, 8);
    if (t->elm == 8)
        return b;
    /* le_edata, then le_metadata: szind above state (3 bits at 2), is_head, slab */
    uint32_t md;
    memcpy(&md, p + 8, 4);
    return (uint64_t)(md >> 5) << 48 | (b & 0x0000ffffffffff80ull) | (md & 0x1f);
}

/* The first element of the leaf at l that names an extent, with its index;
 * 0 if none.  Only captured pages are read: a leaf spans 2 MiB (LG_VADDR
 * 48) or 512 KiB (57), mostly never touched. */
static uint64_t first_element(struct heap_ctx *c, const struct je_rtree *t, uint64_t l, unsigned *j)
{
    uint64_t bytes = je_leaf_bytes(t);
    for (uint64_t off = 0; off < bytes; off += JE_PAGE) {
        const uint8_t *w = hs_ptr(c->snap, l + off, JE_PAGE);
        if (!w)
            continue;
        for (unsigned k = 0; k < JE_PAGE / t->elm; k++) {
            uint64_t b = je_leaf_elm(t, w + k * t->elm);
            if (JE_LEAF_EDATA(b)) {
                *j = (unsigned)(off / t->elm) + k;
                return b;
            }
        }
    }
    return 0;
}

/* The first non-zero word of the node at n (a level above the leaves),
 * with its index; 0 if none. */
static uint64_t first_child(struct heap_ctx *c, const struct je_rtree *t, uint64_t n, unsigned *k)
{
    for (uint64_t off = 0; off < 8ull << t->bits[1]; off += JE_PAGE) {
        const uint64_t *w = hs_ptr(c->snap, n + off, JE_PAGE);
        if (!w)
            continue;
        for (unsigned i = 0; i < JE_PAGE / 8; i++)
            if (w[i]) {
                *k = (unsigned)(off / 8) + i;
                return w[i];
            }
    }
    return 0;
}

/* Where a leaf holding element bits at index j must sit: the extent it
 * names must cover the page that the leaf's place and j stand for.  1 with
 * up[0] (the root index) and, for three levels, up[1] (the node's); 0 if
 * the element names no believable extent. */
static int leaf_place(struct heap_ctx *c, const struct je_layout *L, const struct je_rtree *t, uint64_t bits,
                      unsigned j, unsigned up[2])
{
    uint64_t e = JE_LEAF_EDATA(bits), addr, sz;
    if (!e || JE_LEAF_STATE(bits) > JE_MERGING || hs_read_u64(c->snap, e + L->ed_addr, &addr) ||
        hs_read_u64(c->snap, e + L->ed_size_esn, &sz))
        return 0;
    uint64_t base = addr & ~(uint64_t)(JE_PAGE - 1);
    sz &= ~(uint64_t)(JE_PAGE - 1);
    if (!sz || base + sz < base || base >> t->lg_vaddr)
        return 0;
    unsigned lb = t->bits[t->height - 1];
    const uint64_t span = (uint64_t)1 << (JE_LG_PAGE + lb); /* what one leaf maps: 1 GiB or 128 MiB */
    for (uint64_t hi = base & ~(span - 1); hi < base + sz; hi += span) {
        uint64_t key = hi | ((uint64_t)j << JE_LG_PAGE);
        if (key >= base && key < base + sz) {
            uint64_t above = key >> (JE_LG_PAGE + lb);
            if (t->height == 3) {
                up[1] = (unsigned)(above & ((1u << t->bits[1]) - 1));
                above >>= t->bits[1];
            }
            up[0] = (unsigned)(above & ((1u << t->bits[0]) - 1));
            return 1;
        }
    }
    return 0;
}

/* Does the leaf at leaf belong at root index idx (and, for three levels,
 * node index ni): does its first element name an extent that holds a
 * page of that place?  1 yes, 0 no, -1 if it has no element that could be
 * read. */
static int leaf_agrees(struct heap_ctx *c, const struct je_layout *L, const struct je_rtree *t, uint64_t leaf,
                       unsigned idx, unsigned ni)
{
    unsigned j, up[2] = {0, 0};
    uint64_t bits = first_element(c, t, leaf, &j);
    if (!bits)
        return -1;
    return leaf_place(c, L, t, bits, j, up) && up[0] == idx && (t->height == 2 || up[1] == ni);
}

/* Does the entry v of root index idx lead to a leaf that belongs there
 * (for three levels: the node's first child, at its index)?  As
 * leaf_agrees. */
static int entry_agrees(struct heap_ctx *c, const struct je_layout *L, const struct je_rtree *t, uint64_t v,
                        unsigned idx)
{
    unsigned k = 0;
    uint64_t leaf = v;
    if (t->height == 3 && !(leaf = first_child(c, t, v, &k)))
        return -1;
    return leaf_agrees(c, L, t, leaf, idx, k);
}

/* Does the array at r look like the root of a tree of shape t: its
 * non-zero entries lead to leaves whose first element sends them back to
 * their own place — more of them than not (one damaged leaf must not hide
 * the rest; the walker skips it, saying so), and at least one.  What was
 * not captured counts for neither. */
static int root_agrees(struct heap_ctx *c, const struct je_layout *L, const struct je_rtree *t, uint64_t r)
{
    unsigned leaves = 0, bad = 0;
    for (uint64_t off = 0; off < 8ull << t->bits[0]; off += JE_PAGE) {
        const uint64_t *w = hs_ptr(c->snap, r + off, JE_PAGE);
        if (!w)
            continue;
        for (unsigned k = 0; k < JE_PAGE / 8; k++) {
            if (!w[k])
                continue;
            int a = entry_agrees(c, L, t, w[k], (unsigned)(off / 8) + k);
            if (a > 0)
                leaves++;
            else if (a == 0 && ++bad > 64)
                return 0;
        }
    }
    return leaves > bad;
}

/*
 * Scan jemalloc's writable data (its rw mappings and the anonymous .bss
 * right after them) for the root of a tree of shape t.  Only captured
 * words are looked at; a candidate costs one leaf's captured pages, and
 * there are few: words that are cacheline-aligned pointers to memory
 * outside the data itself.
 */
static uint64_t scan_root(struct heap_ctx *c, const struct je_layout *L, const struct je_rtree *t, int module)
{
    size_t n;
    const struct hs_mapping *m = hs_get_mappings(c->snap, &n);
    const char *path = heap_module_path(c, module);
    if (!path)
        return 0;
    unsigned tried = 0;
    uint64_t root_bytes = 8ull << t->bits[0];
    for (size_t i = 0; i < n; i++) {
        if (!(m[i].flags & HS_MAP_W) || !m[i].path || strcmp(m[i].path, path))
            continue;
        uint64_t lo = m[i].start, hi = m[i].end;
        while (i + 1 < n && m[i + 1].start == hi && (m[i + 1].flags & HS_MAP_W) &&
               (!m[i + 1].path || !m[i + 1].path[0] || !strcmp(m[i + 1].path, path)))
            hi = m[++i].end;
        for (uint64_t pa = lo; pa < hi; pa += JE_PAGE) {
            const uint64_t *w = hs_ptr(c->snap, pa, JE_PAGE);
            if (!w)
                continue;
            for (unsigned k = 0; k < JE_PAGE / 8; k++) {
                uint64_t v = w[k], leaf = v;
                if (!v || v % 64 || (v >= lo && v < hi) || !hs_ptr(c->snap, v, 8))
                    continue;
                unsigned j, ck = 0, up[2] = {0, 0};
                if (t->height == 3 && !(leaf = first_child(c, t, v, &ck)))
                    continue;
                uint64_t bits = first_element(c, t, leaf, &j);
                if (!bits || !leaf_place(c, L, t, bits, j, up) || (t->height == 3 && up[1] != ck))
                    continue;
                uint64_t p = pa + 8u * k, r = p - 8u * up[0];
                if (p < 8u * up[0] || r < lo || r + root_bytes > hi)
                    continue;
                if (root_agrees(c, L, t, r))
                    return r;
                if (++tried > 64)
                    return 0;
            }
        }
    }
    return 0;
}

/* The root of a tree of shape t, by symbol or by a scan; 0 if not found. */
static uint64_t find_root(struct heap_ctx *c, const struct je_layout *L, const struct je_rtree *t, int module,
                          const char **how)
{
    uint64_t bytes = 8ull << t->bits[0];
    if (c->dbg) {
        static const char *const syms[] = {"je_arena_emap_global", "arena_emap_global", NULL};
        for (size_t i = 0; syms[i]; i++) {
            const struct dbg_symbol *s = dbg_symbol_by_name(c->dbg, syms[i], -1);
            if (!s || s->size < bytes)
                continue;
            uint64_t r = L->root_off == UINT64_MAX ? s->addr + s->size - bytes : s->addr + L->root_off;
            if (L->root_off != UINT64_MAX && L->root_off + bytes > s->size)
                continue;
            if (root_agrees(c, L, t, r)) {
                *how = "symbol";
                return r;
            }
            c->problem(c, s->addr, "jemalloc: %s (by symbol) does not hold a believable rtree (LG_VADDR %u); "
                                   "scanning", syms[i], t->lg_vaddr);
        }
    }
    *how = "scan";
    return scan_root(c, L, t, module);
}

int je_locate(struct heap_ctx *c, const struct je_layout *L, struct je_where *w)
{
    memset(w, 0, sizeof *w);
    w->module = je_module(c);
    /* DWARF said the shape; else each is tried */
    for (size_t i = 0; i < NSHAPES && !w->root; i++) {
        if (L->lg_vaddr && L->lg_vaddr != lg_vaddrs[i])
            continue;
        je_rtree_shape(&w->rt, lg_vaddrs[i]);
        w->root = find_root(c, L, &w->rt, w->module, &w->root_how);
    }
    if (!w->root) {
        c->problem(c, 0, "jemalloc: the emap's rtree root was not found in jemalloc's data (no "
                         "array there maps pages to extents that hold them, as LG_VADDR 48 or 57 lays them out)");
        return -1;
    }
    return 0;
}

/* The leaf at leaf, held by the word at slot, at root index idx and node
 * index ni: to fn if it sits where its elements say it must. */
static void visit_leaf(struct heap_ctx *c, const struct je_layout *L, const struct je_rtree *t, uint64_t slot,
                       uint64_t leaf, unsigned idx, unsigned ni, void (*fn)(void *u, uint64_t leaf, unsigned idx),
                       void *u)
{
    if (leaf_agrees(c, L, t, leaf, idx, ni) != 0) {
        fn(u, leaf, idx);
        return;
    }
    char place[48];
    if (t->height == 2)
        snprintf(place, sizeof place, "rtree root[%u]", idx);
    else
        snprintf(place, sizeof place, "rtree node root[%u][%u]", idx, ni);
    c->problem(c, slot, "jemalloc: %s points to 0x%llx, which is not a leaf for its pages; skipped", place,
               (unsigned long long)leaf);
}

void je_leaves(struct heap_ctx *c, const struct je_layout *L, const struct je_where *w,
               void (*fn)(void *u, uint64_t leaf, unsigned idx), void *u)
{
    const struct je_rtree *t = &w->rt;
    for (uint64_t off = 0; off < 8ull << t->bits[0]; off += JE_PAGE) {
        const uint64_t *r = hs_ptr(c->snap, w->root + off, JE_PAGE);
        for (unsigned k = 0; r && k < JE_PAGE / 8; k++) {
            unsigned idx = (unsigned)(off / 8) + k;
            if (r[k] && t->height == 2)
                visit_leaf(c, L, t, w->root + 8u * idx, r[k], idx, 0, fn, u);
            /* three levels: each of the node's leaves, at its own place */
            int seen = 0;
            for (uint64_t noff = 0; r[k] && t->height == 3 && noff < 8ull << t->bits[1]; noff += JE_PAGE) {
                const uint64_t *nd = hs_ptr(c->snap, r[k] + noff, JE_PAGE);
                seen |= nd != NULL;
                for (unsigned i = 0; nd && i < JE_PAGE / 8; i++)
                    if (nd[i])
                        visit_leaf(c, L, t, r[k] + noff + 8u * i, nd[i], idx, (unsigned)(noff / 8) + i, fn, u);
            }
            if (r[k] && t->height == 3 && !seen)
                c->problem(c, w->root + 8u * idx, "jemalloc: rtree node 0x%llx (root[%u]) was not captured",
                           (unsigned long long)r[k], idx);
        }
    }
}
