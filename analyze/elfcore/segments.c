/*
 * segments.c — which PT_LOAD segments a heapsnap core has.
 *
 * A mapping and a captured range need not coincide: a mapping may be
 * captured in part (pages the capture could not read split it), or not at
 * all (read-only file mappings under the default policy).  So each mapping
 * is cut at the edges of the captured ranges into pieces: captured pieces
 * carry their bytes, the rest are PT_LOADs with p_filesz 0, which tell gdb
 * "mapped, contents elsewhere" (it then reads file-backed pieces from the
 * files named in NT_FILE, and shows the others as zeros).  Captured memory
 * that lies in no mapping (only in a damaged or hand-made snapshot) is kept
 * as read-write segments rather than dropped.
 *
 * Nothing from the file is trusted to be sorted or disjoint: mappings are
 * sorted here, empty or inverted ones are skipped, and every loop advances
 * its cursor strictly, so a hostile mapping table cannot make this loop.
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int core_segs_add(struct core_segs *l, const struct core_seg *seg)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        struct core_seg *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *seg;
    return 0;
}

void core_segs_free(struct core_segs *l)
{
    for (size_t i = 0; i < l->nowned; i++)
        free(l->owned[i]);
    free(l->owned);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static uint32_t pflags(uint32_t mflags)
{
    return ((mflags & HS_MAP_R) ? PF_R : 0) | ((mflags & HS_MAP_W) ? PF_W : 0) |
           ((mflags & HS_MAP_X) ? PF_X : 0);
}

static int by_start(const void *a, const void *b)
{
    const struct hs_mapping *x = *(const struct hs_mapping *const *)a;
    const struct hs_mapping *y = *(const struct hs_mapping *const *)b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static int seg_by_start(const void *a, const void *b)
{
    const struct core_seg *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    /* Same start (only in odd inputs): captured bytes first, so gdb, which
     * takes the first segment holding an address, sees them. */
    return (!x->range && !x->own) - (!y->range && !y->own);
}

void core_segs_sort(struct core_segs *l)
{
    if (l->n)
        qsort(l->v, l->n, sizeof *l->v, seg_by_start);
}

/* The first range whose end is above addr (ranges are sorted, disjoint). */
static size_t first_range_after(const struct hs_mem_range *r, size_t n, uint64_t addr)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int add(struct core_segs *l, uint64_t start, uint64_t end, uint32_t flags,
               const struct hs_mem_range *range)
{
    struct core_seg seg = {.start = start, .end = end, .pflags = flags, .range = range};
    return core_segs_add(l, &seg);
}

/* Cut one mapping into captured and uncaptured pieces. */
static int split_mapping(struct core_segs *l, const struct hs_mapping *m,
                         const struct hs_mem_range *r, size_t nr)
{
    uint32_t fl = pflags(m->flags);
    uint64_t cur = m->start;
    for (size_t i = first_range_after(r, nr, cur); i < nr && r[i].start < m->end; i++) {
        if (r[i].end <= r[i].start)
            continue;
        uint64_t cs = r[i].start > cur ? r[i].start : cur;
        uint64_t ce = r[i].end < m->end ? r[i].end : m->end;
        if (cs > cur && add(l, cur, cs, fl, NULL) != 0)
            return -1;
        if (ce > cs && add(l, cs, ce, fl, &r[i]) != 0)
            return -1;
        if (ce > cur)
            cur = ce;
    }
    if (cur < m->end && add(l, cur, m->end, fl, NULL) != 0)
        return -1;
    return 0;
}

/* Add the parts of range r that lie in no mapping (sorted[] by start). */
static int add_orphans(struct core_segs *l, const struct hs_mem_range *r,
                       const struct hs_mapping **sorted, size_t nm)
{
    uint64_t a = r->start;
    while (a < r->end) {
        /* The last mapping starting at or below a. */
        size_t lo = 0, hi = nm;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (sorted[mid]->start <= a)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo > 0 && sorted[lo - 1]->end > a) {
            uint64_t e = sorted[lo - 1]->end;
            a = e < r->end ? e : r->end; /* covered by split_mapping */
            continue;
        }
        uint64_t e = r->end;
        if (lo < nm && sorted[lo]->start < e)
            e = sorted[lo]->start; /* > a, by the search */
        if (add(l, a, e, PF_R | PF_W, r) != 0)
            return -1;
        a = e;
    }
    return 0;
}

int core_segments(const struct hs_snapshot *s, struct core_segs *l, struct hs_error *err)
{
    size_t nm, nr;
    const struct hs_mapping *m = hs_get_mappings(s, &nm);
    const struct hs_mem_range *r = hs_get_ranges(s, &nr);

    const struct hs_mapping **sorted = malloc((nm ? nm : 1) * sizeof *sorted);
    if (!sorted)
        goto oom;
    size_t ns = 0;
    for (size_t i = 0; i < nm; i++)
        if (m[i].end > m[i].start)
            sorted[ns++] = &m[i];
    qsort(sorted, ns, sizeof *sorted, by_start);

    for (size_t i = 0; i < ns; i++)
        if (split_mapping(l, sorted[i], r, nr) != 0)
            goto oom_free;
    for (size_t i = 0; i < nr; i++)
        if (r[i].end > r[i].start && add_orphans(l, &r[i], sorted, ns) != 0)
            goto oom_free;
    free(sorted);
    return 0;

oom_free:
    free(sorted);
oom:
    snprintf(err->msg, sizeof err->msg, "%s: out of memory listing the core's segments",
             hs_snapshot_path(s));
    return -1;
}
