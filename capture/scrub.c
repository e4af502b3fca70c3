/*
 * scrub.c — zeroing the environment strings and, with --redact, every word
 * (of memory or of a register) that is not a heap pointer.  See scrub.h
 * for what and why.
 */
#include "scrub.h"
#include "hsnap.h"

#include <string.h>

static int is_target(const struct scrub *s, uint64_t v)
{
    size_t lo = 0, hi = s->ntargets;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v < s->targets[mid].start)
            hi = mid;
        else if (v >= s->targets[mid].end)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

static void redact_page(const struct scrub *s, uint8_t *page, uint32_t psz)
{
    /* Most words of a typical heap are not pointers; a cheap bound check
     * against the whole span first keeps this near memory speed. */
    uint64_t lo = s->ntargets ? s->targets[0].start : 1;
    uint64_t hi = s->ntargets ? s->targets[s->ntargets - 1].end : 0;
    for (uint32_t off = 0; off + 8 <= psz; off += 8) {
        uint64_t v;
        memcpy(&v, page + off, 8);
        if (v == 0)
            continue;
        if (v < lo || v >= hi || !is_target(s, v))
            memset(page + off, 0, 8);
    }
}

void scrub_registers(const struct scrub *s, uint64_t *regs, size_t n)
{
    if (!s->redact)
        return;
    for (size_t i = 0; i < n; i++)
        if (!is_target(s, regs[i]))
            regs[i] = 0;
}

void scrub_range(const struct scrub *s, uint64_t addr, uint64_t npages, uint32_t psz, const uint8_t *state,
                 uint8_t *data)
{
    uint64_t slot = 0;
    for (uint64_t i = 0; i < npages; i++) {
        if (state[i] != HS_PAGE_DATA)
            continue;
        uint8_t *page = data + slot * psz;
        uint64_t pa = addr + i * psz;
        slot++;
        if (s->env_end > s->env_start && pa < s->env_end && pa + psz > s->env_start) {
            uint64_t a = pa > s->env_start ? pa : s->env_start;
            uint64_t b = pa + psz < s->env_end ? pa + psz : s->env_end;
            memset(page + (a - pa), 0, b - a);
        }
        if (s->redact)
            redact_page(s, page, psz);
    }
}
