/*
 * access.c — what a caller asks of an open snapshot: the metadata getters
 * and the memory reads of hsnap.h (hs_find_range, hs_read, hs_ptr,
 * hs_read_u64).
 *
 * The indexer calls these millions of times, so they are small: a binary
 * search over the sorted ranges, then a check of the page states the read
 * covers.  Opened on demand, a range's data is NULL and ondemand.c places
 * the blocks a read needs.  A byte counts as captured if its page is DATA or ZERO, or
 * ABSENT in an anonymous range (where the kernel would have given zeros).
 */
#include "snapshot.h"

const char *hs_snapshot_path(const struct hs_snapshot *s) { return s->path; }
unsigned hs_snapshot_version_minor(const struct hs_snapshot *s) { return s->minor; }
int hs_snapshot_truncated(const struct hs_snapshot *s) { return s->truncated; }
const char *hs_snapshot_warning(const struct hs_snapshot *s) { return s->warning; }

const struct hs_process *hs_get_process(const struct hs_snapshot *s) { return &s->process; }

const struct hs_mapping *hs_get_mappings(const struct hs_snapshot *s, size_t *n)
{
    *n = s->nmappings;
    return s->mappings;
}

const struct hs_module *hs_get_modules(const struct hs_snapshot *s, size_t *n)
{
    *n = s->nmodules;
    return s->modules;
}

const struct hs_thread *hs_get_threads(const struct hs_snapshot *s, size_t *n)
{
    *n = s->nthreads;
    return s->threads;
}

const struct hs_stats *hs_get_stats(const struct hs_snapshot *s)
{
    return s->have_stats ? &s->stats : NULL;
}

const struct hs_mem_range *hs_get_ranges(const struct hs_snapshot *s, size_t *n)
{
    *n = s->nranges;
    return s->ranges;
}

size_t hs_first_range_ending_above(const struct hs_snapshot *s, uint64_t addr)
{
    size_t lo = 0, hi = s->nranges;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->ranges[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const struct hs_mem_range *hs_find_range(const struct hs_snapshot *s, uint64_t addr)
{
    size_t i = hs_first_range_ending_above(s, addr);
    return i < s->nranges && s->ranges[i].start <= addr ? &s->ranges[i] : NULL;
}

/* Whether a page in state st of range r counts as captured. */
static int captured(const struct hs_mem_range *r, uint8_t st)
{
    return st == HS_PAGE_DATA || st == HS_PAGE_ZERO || (st == HS_PAGE_ABSENT && (r->flags & HS_MEM_ANON));
}

void hs_store_states_set(struct hs_range_store *st)
{
    uint64_t n = (st->r.end - st->r.start) / st->r.page_size;
    st->all_captured = 1;
    for (uint64_t p = 0; p < n && st->all_captured; p++)
        st->all_captured = captured(&st->r, st->r.page_state[p]);
}

/* Are the pages under [addr, addr + len) of r all captured, and none
 * given back (hs_release)?  len > 0 and the bytes lie within r.  A whole
 * range none of whose pages was given back needs no look at them. */
static int readable(const struct hs_snapshot *s, const struct hs_mem_range *r, uint64_t addr, size_t len)
{
    const struct hs_range_store *st = &s->store[r - s->ranges];
    const uint64_t *gone = st->gone;
    if (st->all_captured && !gone)
        return 1;
    uint64_t first = (addr - r->start) / r->page_size;
    uint64_t last = (addr + len - 1 - r->start) / r->page_size;
    for (uint64_t p = first; p <= last; p++) {
        if (gone && (gone[p / 64] >> (p % 64) & 1)) {
            __atomic_fetch_add(&((struct hs_snapshot *)s)->released_reads, 1, __ATOMIC_RELAXED);
            return 0;
        }
        if (!captured(r, r->page_state[p]))
            return 0;
    }
    return 1;
}

/* The bytes [addr, addr + len) of r, which lie within it: in place, or
 * placed now (on demand); NULL when the memory was not materialised
 * (HS_OPEN_METADATA_ONLY, hs_drop_memory) or its block is bad. */
static const uint8_t *bytes(const struct hs_snapshot *s, const struct hs_mem_range *r, uint64_t addr, size_t len)
{
    if (r->data)
        return r->data + (addr - r->start);
    return s->lazy ? hs_lazy_bytes(s, (size_t)(r - s->ranges), addr, len) : NULL;
}

const void *hs_ptr(const struct hs_snapshot *s, uint64_t addr, size_t len)
{
    const struct hs_mem_range *r = hs_find_range(s, addr);
    if (!r || len > r->end - addr)
        return NULL;
    if (len && !readable(s, r, addr, len))
        return NULL;
    return bytes(s, r, addr, len);
}

int hs_read(const struct hs_snapshot *s, uint64_t addr, void *buf, size_t len)
{
    uint8_t *out = buf;
    while (len) {
        /* A read may cross from one range into the next if they touch. */
        const struct hs_mem_range *r = hs_find_range(s, addr);
        if (!r)
            return -1;
        uint64_t avail = r->end - addr;
        size_t n = avail < len ? (size_t)avail : len;
        const uint8_t *from = readable(s, r, addr, n) ? bytes(s, r, addr, n) : NULL;
        if (!from)
            return -1;
        memcpy(out, from, n);
        out += n;
        len -= n;
        addr += n;
        if (len && addr == 0)
            return -1; /* wrapped past the top of the address space */
    }
    return 0;
}

uint64_t hs_released_reads(const struct hs_snapshot *s)
{
    return __atomic_load_n(&s->released_reads, __ATOMIC_RELAXED);
}

int hs_read_u64(const struct hs_snapshot *s, uint64_t addr, uint64_t *out)
{
    const struct hs_mem_range *r = hs_find_range(s, addr);
    uint8_t b[8];
    if (r && r->end - addr >= 8 && r->data) {
        /* The common case: one range, usually one page. */
        if (!readable(s, r, addr, 8))
            return -1;
        memcpy(b, r->data + (addr - r->start), 8);
    } else if (hs_read(s, addr, b, 8) < 0) {
        return -1;
    }
    *out = hs_ld64(b);
    return 0;
}
