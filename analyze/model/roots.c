/*
 * roots.c — find the root set of a snapshot (see roots.h for the kinds and
 * the promise that roots never overlap each other or allocator regions).
 *
 * Everything here comes from hostile metadata: program headers are parsed
 * from the bytes the capture copied, so counts and sizes are bounded, and
 * every range is clipped rather than trusted.  Roots may name memory that
 * was not captured; the scan simply finds nothing there.
 */
#include "model/roots.h"
#include "model/span_search.h"

#include "base/grow.h"

#include <elf.h>
#include <stdlib.h>
#include <string.h>

/* A half-open address interval. */
struct iv {
    uint64_t lo, hi;
};

struct ivec {
    struct iv *v;
    size_t n, cap;
};

static int iv_push(struct ivec *a, uint64_t lo, uint64_t hi)
{
    if (lo >= hi)
        return 0;
    struct iv *v = grow_for_one(a->v, a->n, &a->cap, sizeof *v, 64);
    if (!v)
        return -1;
    a->v = v;
    a->v[a->n++] = (struct iv){lo, hi};
    return 0;
}

static int cmp_iv(const void *a, const void *b)
{
    const struct iv *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sort and merge, so subtraction can walk the list once. */
static void iv_normalize(struct ivec *a)
{
    if (a->n == 0)
        return;
    qsort(a->v, a->n, sizeof *a->v, cmp_iv);
    size_t w = 0;
    for (size_t i = 1; i < a->n; i++) {
        if (a->v[i].lo <= a->v[w].hi) {
            if (a->v[i].hi > a->v[w].hi)
                a->v[w].hi = a->v[i].hi;
        } else {
            a->v[++w] = a->v[i];
        }
    }
    a->n = w + 1;
}

static int push_root(struct rootset *rs, const struct root *r, const char *name)
{
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? 2 * rs->cap : 256;
        struct root *v = realloc(rs->v, cap * sizeof *v);
        if (!v)
            return -1;
        rs->v = v;
        rs->cap = cap;
    }
    struct root *d = &rs->v[rs->n];
    *d = *r;
    d->name = NULL;
    d->mask = NULL;
    if (name && !(d->name = strdup(name)))
        return -1;
    rs->n++;
    return 0;
}

/* Add [lo, hi) minus every claimed interval, as roots shaped like 'tmpl'. */
static int push_minus(struct rootset *rs, const struct root *tmpl, const char *name,
                      uint64_t lo, uint64_t hi, const struct ivec *claimed)
{
    size_t a = SPAN_FIRST_ENDING_ABOVE(claimed->v, claimed->n, hi, lo);
    for (size_t i = a; i < claimed->n && lo < hi; i++) {
        const struct iv *c = &claimed->v[i];
        if (c->lo >= hi)
            break;
        if (c->lo > lo) {
            struct root r = *tmpl;
            r.addr = lo;
            r.size = c->lo - lo;
            if (push_root(rs, &r, name))
                return -1;
        }
        if (c->hi > lo)
            lo = c->hi;
    }
    if (lo < hi) {
        struct root r = *tmpl;
        r.addr = lo;
        r.size = hi - lo;
        if (push_root(rs, &r, name))
            return -1;
    }
    return 0;
}

/* Program header k of a module, copied out (the reader's buffer need not be
 * aligned for Elf64_Phdr); -1 past the end or if the table makes no sense. */
static int module_phdr(const struct hs_module *m, size_t k, Elf64_Phdr *out)
{
    if (!m->phdrs || m->phdrs_len % sizeof(Elf64_Phdr) || m->phdrs_len > 4096 * sizeof(Elf64_Phdr) ||
        k >= m->phdrs_len / sizeof(Elf64_Phdr))
        return -1;
    memcpy(out, m->phdrs + k * sizeof(Elf64_Phdr), sizeof *out);
    return 0;
}

static int add_segment_ranges(struct ivec *segs, struct ivec *mods_owner, const struct hs_module *mods,
                              size_t nmods, uint64_t *static_tls)
{
    *static_tls = 0;
    for (size_t i = 0; i < nmods; i++) {
        Elf64_Phdr ph;
        for (size_t k = 0; module_phdr(&mods[i], k, &ph) == 0; k++) {
            uint64_t lo = mods[i].base + ph.p_vaddr, hi = lo + ph.p_memsz;
            if (hi < lo || ph.p_memsz > (1ull << 40))
                continue;
            if (ph.p_type == PT_LOAD && (ph.p_flags & PF_W)) {
                if (iv_push(segs, lo, hi) || iv_push(mods_owner, i, i + 1))
                    return -1;
            } else if (ph.p_type == PT_TLS && ph.p_memsz < (1ull << 30)) {
                uint64_t al = ph.p_align ? ph.p_align : 1;
                if (al > 4096)
                    al = 4096;
                *static_tls += (ph.p_memsz + al - 1) / al * al + al;
            }
        }
    }
    return 0;
}

/* First symbol with addr >= a. */
static size_t sym_lower_bound(const struct dbg_symbol *sym, size_t n, uint64_t a)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (sym[m].addr < a)
            lo = m + 1;
        else
            hi = m;
    }
    return lo;
}

/* One writable segment: a root per object symbol, unnamed roots between. */
static int data_roots(struct rootset *rs, int module, uint64_t lo, uint64_t hi,
                      const struct dbg_symbol *sym, size_t nsym, const struct ivec *claimed)
{
    struct root t = {.kind = ROOT_DATA, .module = module};
    uint64_t pos = lo;
    for (size_t i = sym_lower_bound(sym, nsym, lo); i < nsym && sym[i].addr < hi; i++) {
        const struct dbg_symbol *s = &sym[i];
        if (s->type != STT_OBJECT || s->size == 0 || s->addr < pos || !s->name)
            continue; /* not data, or an alias of what we just emitted */
        uint64_t end = s->addr + s->size;
        if (end > hi || end < s->addr)
            end = hi;
        if (push_minus(rs, &t, NULL, pos, s->addr, claimed) ||
            push_minus(rs, &t, s->name, s->addr, end, claimed))
            return -1;
        pos = end;
    }
    return push_minus(rs, &t, NULL, pos, hi, claimed);
}

static const struct hs_mapping *mapping_at(const struct hs_mapping *m, size_t n, uint64_t a)
{
    size_t lo = 0, hi = n;
    /* mappings are in /proc/PID/maps order (ascending); be robust anyway */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m[mid].end <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < n && m[lo].start <= a && a < m[lo].end)
        return &m[lo];
    for (size_t i = 0; i < n; i++) /* not sorted after all */
        if (m[i].start <= a && a < m[i].end)
            return &m[i];
    return NULL;
}

static int cmp_region(const void *a, const void *b)
{
    const struct heap_region *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * The allocator's bookkeeping ranges as 'allocator' roots: in address
 * order, each clipped to start where the previous one ended (a walker's
 * ranges should not overlap; a hostile heap could make them), minus the
 * allocator regions.  Then they join 'claimed', so that no other root
 * covers them.
 */
static int allocator_roots(struct rootset *rs, const struct heap_region *internal, size_t n,
                           struct ivec *claimed)
{
    if (n == 0)
        return 0;
    struct heap_region *v = malloc(n * sizeof *v);
    if (!v)
        return -1;
    memcpy(v, internal, n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_region);
    struct root t = {.kind = ROOT_ALLOCATOR, .module = -1};
    uint64_t pos = 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        uint64_t lo = v[i].start > pos ? v[i].start : pos, hi = v[i].end;
        if (lo >= hi)
            continue;
        rc = push_minus(rs, &t, v[i].kind, lo, hi, claimed);
        pos = hi;
    }
    for (size_t i = 0; i < n && !rc; i++)
        rc = iv_push(claimed, v[i].start, v[i].end);
    free(v);
    iv_normalize(claimed);
    return rc;
}

int roots_collect(struct rootset *rs, const struct hs_snapshot *s, struct dbg *d,
                  const struct heap_region *regions, size_t nregions,
                  const struct heap_region *internal, size_t ninternal,
                  const struct roots_quiet *quiet, size_t nquiet)
{
    int rc = -1;
    size_t nmods = 0, nmaps = 0, nthr = 0, nsym = 0;
    const struct hs_module *mods = hs_get_modules(s, &nmods);
    const struct hs_mapping *maps = hs_get_mappings(s, &nmaps);
    const struct hs_thread *thr = hs_get_threads(s, &nthr);
    const struct dbg_symbol *sym = d ? dbg_symbols(d, &nsym) : NULL;
    struct ivec segs = {0}, owner = {0}, claimed = {0}, tls = {0}, tmp = {0}, stacks = {0};
    uint64_t static_tls = 0;
    int main_tid = hs_get_process(s)->pid;
    const struct hs_mapping *main_stack = NULL;
    for (size_t i = 0; i < nmaps && !main_stack; i++)
        if (!strcmp(maps[i].path, "[stack]"))
            main_stack = &maps[i];

    if (add_segment_ranges(&segs, &owner, mods, nmods, &static_tls))
        goto out;
    for (size_t i = 0; i < nregions; i++)
        if (iv_push(&claimed, regions[i].start, regions[i].end))
            goto out;
    iv_normalize(&claimed);
    /* the allocator's bookkeeping: its own roots, claimed from every other */
    if (allocator_roots(rs, internal, ninternal, &claimed))
        goto out;

    /* data: every module's writable segments, minus allocator regions */
    for (size_t i = 0; i < segs.n; i++)
        if (data_roots(rs, (int)owner.v[i].lo, segs.v[i].lo, segs.v[i].hi, sym, nsym, &claimed))
            goto out;

    /* tls ranges first: stacks are carved around them */
    for (size_t i = 0; i < nthr; i++) {
        uint64_t fs = thr[i].regs[HS_FS_BASE];
        const struct hs_mapping *m = fs ? mapping_at(maps, nmaps, fs) : NULL;
        if (!m)
            continue;
        uint64_t below = static_tls + 1664; /* glibc's default static TLS surplus */
        uint64_t lo = fs - m->start > below ? fs - below : m->start;
        uint64_t hi = m->end - fs > ROOTS_TCB_SIZE ? fs + ROOTS_TCB_SIZE : m->end;
        if (iv_push(&tls, lo, hi))
            goto out;
    }
    struct ivec tls_sorted = {0};
    if (tls.n && !(tls_sorted.v = malloc(tls.n * sizeof *tls.v)))
        goto out;
    if (tls.n)
        memcpy(tls_sorted.v, tls.v, tls.n * sizeof *tls.v);
    tls_sorted.n = tls_sorted.cap = tls.n;
    iv_normalize(&tls_sorted);
    /* claimed by stacks: allocator regions plus every TLS block */
    for (size_t i = 0; i < claimed.n; i++)
        if (iv_push(&tmp, claimed.v[i].lo, claimed.v[i].hi))
            goto out_tls;
    for (size_t i = 0; i < tls_sorted.n; i++)
        if (iv_push(&tmp, tls_sorted.v[i].lo, tls_sorted.v[i].hi))
            goto out_tls;
    iv_normalize(&tmp);

    /* per thread: registers, stack, tls; tls blocks of two threads never
     * overlap in a sane process, but the second one is clipped if they do */
    struct ivec tls_done = {0};
    size_t ti = 0;
    for (size_t i = 0; i < nthr; i++) {
        const struct hs_thread *t = &thr[i];
        char tname[sizeof t->name + 1]; /* the snapshot's copy need not end in NUL */
        memcpy(tname, t->name, sizeof t->name);
        tname[sizeof t->name] = 0;
        const char *name = tname[0] ? tname : NULL;
        int silent = 0; /* its registers and stack are no roots (an idle Go M) */
        const struct roots_quiet *part = NULL; /* ... or none into one heap */
        const struct roots_quiet *own_part = NULL; /* ... from its own stack alone */
        for (size_t q = 0; q < nquiet && !silent; q++)
            if (quiet[q].tid == t->tid) {
                silent = quiet[q].whole;
                part = &quiet[q];
            }
        if (part && part->own_stack_only) {
            own_part = part;
            part = NULL;
        }
        struct root r = {.kind = ROOT_REGISTER, .thread = t->tid, .module = -1,
                         .size = 8 * HS_NREGS, .regs = t->regs,
                         .unreached = part ? part->regions : NULL, .nunreached = part ? part->nregions : 0};
        if (!silent && push_root(rs, &r, name))
            goto out_done;
        uint64_t sp = t->regs[HS_RSP], lo = t->stack_start, hi = t->stack_end;
        /* A snapshot records the mapping that holds SP as a thread's stack
         * (docs/format.md).  The process's main thread has one of its own
         * whatever SP says: [stack], where m0's g0 runs the Go scheduler and
         * every cgo call of a goroutine locked to it.  When it runs on
         * another (a goroutine's), [stack] is still its stack, not anonymous
         * memory to scan whole. */
        if (t->tid == main_tid && main_stack && !(sp >= main_stack->start && sp < main_stack->end)) {
            lo = main_stack->start;
            hi = main_stack->end;
        }
        if (!(lo < hi && sp >= lo && sp < hi)) {
            if (lo < hi) {
                /* running on another stack (a goroutine's, a coroutine's):
                 * its own holds the frames it switched from, a stack still */
                if (iv_push(&stacks, lo, hi))
                    goto out_done;
                struct root os = {.kind = ROOT_STACK, .thread = t->tid, .module = -1,
                                  .unreached = own_part ? own_part->regions : r.unreached,
                                  .nunreached = own_part ? own_part->nregions : r.nunreached};
                if (!silent && push_minus(rs, &os, name, lo, hi, &tmp))
                    goto out_done;
            }
            const struct hs_mapping *m = mapping_at(maps, nmaps, sp);
            lo = m ? m->start : 0;
            hi = m ? m->end : 0;
        }
        if (lo < hi) {
            if (iv_push(&stacks, lo, hi)) /* the dead part below SP is no one's */
                goto out_done;
            lo = sp - lo > ROOTS_RED_ZONE ? sp - ROOTS_RED_ZONE : lo;
            struct root st = {.kind = ROOT_STACK, .thread = t->tid, .module = -1, .unreached = r.unreached,
                              .nunreached = r.nunreached};
            if (!silent && push_minus(rs, &st, name, lo, hi, &tmp))
                goto out_done;
        }
        uint64_t fs = t->regs[HS_FS_BASE];
        if (fs && mapping_at(maps, nmaps, fs) && ti < tls.n) {
            struct iv b = tls.v[ti++];
            struct root tr = {.kind = ROOT_TLS, .thread = t->tid, .module = -1};
            iv_normalize(&tls_done);
            /* minus allocator regions and blocks already emitted */
            struct ivec both = {0};
            int bad = 0;
            for (size_t k = 0; k < claimed.n && !bad; k++)
                bad = iv_push(&both, claimed.v[k].lo, claimed.v[k].hi);
            for (size_t k = 0; k < tls_done.n && !bad; k++)
                bad = iv_push(&both, tls_done.v[k].lo, tls_done.v[k].hi);
            if (!bad) {
                iv_normalize(&both);
                bad = push_minus(rs, &tr, name, b.lo, b.hi, &both) ||
                      iv_push(&tls_done, b.lo, b.hi);
            }
            free(both.v);
            if (bad)
                goto out_done;
        }
    }

    /* anon: writable memory nothing else explains */
    for (size_t i = 0; i < segs.n; i++)
        if (iv_push(&claimed, segs.v[i].lo, segs.v[i].hi))
            goto out_done;
    for (size_t i = 0; i < tls_sorted.n; i++)
        if (iv_push(&claimed, tls_sorted.v[i].lo, tls_sorted.v[i].hi))
            goto out_done;
    for (size_t i = 0; i < stacks.n; i++)
        if (iv_push(&claimed, stacks.v[i].lo, stacks.v[i].hi))
            goto out_done;
    iv_normalize(&claimed);
    for (size_t i = 0; i < nmaps; i++) {
        const struct hs_mapping *m = &maps[i];
        if (!(m->flags & HS_MAP_W) || !(m->flags & HS_MAP_CAPTURED) || m->start >= m->end)
            continue;
        struct root an = {.kind = ROOT_ANON, .module = -1};
        if (push_minus(rs, &an, m->path && m->path[0] ? m->path : NULL, m->start, m->end, &claimed))
            goto out_done;
    }
    rc = 0;
out_done:
    free(tls_done.v);
out_tls:
    free(tls_sorted.v);
out:
    free(segs.v);
    free(owner.v);
    free(claimed.v);
    free(tls.v);
    free(tmp.v);
    free(stacks.v);
    return rc;
}

int roots_add_extra(struct rootset *rs, const struct heap_root *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t kind = r[i].kind == HEAP_ROOT_FINALIZER ? ROOT_FINALIZER
                       : r[i].kind == HEAP_ROOT_RUNTIME ? ROOT_RUNTIME : ROOT_STACK;
        struct root x = {.kind = kind,
                         .thread = r[i].thread, .module = -1, .addr = r[i].addr,
                         .size = r[i].size, .frame_pc = r[i].frame_pc, .frame_cfa = r[i].frame_cfa};
        if (r[i].size && push_root(rs, &x, r[i].name))
            return -1;
        if (r[i].size && r[i].mask && r[i].size % 8 == 0 && r[i].addr % 8 == 0) {
            size_t nw = (size_t)((r[i].size / 8 + 63) / 64);
            uint64_t *m = malloc(nw * sizeof *m);
            if (!m)
                return -1;
            memcpy(m, r[i].mask, nw * sizeof *m);
            rs->v[rs->n - 1].mask = m;
        }
    }
    return 0;
}

void roots_free(struct rootset *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->v[i].name);
        free(rs->v[i].mask);
    }
    free(rs->v);
    memset(rs, 0, sizeof *rs);
}

const char *root_kind_name(unsigned kind)
{
    static const char *const names[] = {"data", "stack", "register", "tls", "anon", "allocator", "finalizer", "runtime"};
    return kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}
