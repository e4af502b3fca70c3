/*
 * glibc/stdio.c — the memory glibc proves holds bytes: stdio buffers.
 *
 * A conservative scan takes any word that points into a used object for a
 * reference.  A stdio buffer holds text, and past the text whatever the
 * chunk held before malloc gave it to stdio: stale pointers, which would
 * keep garbage alive (a lost cycle "reachable" through stdout's buffer).
 * Every FILE is on the list _IO_list_all heads (linked by _chain), and its
 * buffer is [_IO_buf_base, _IO_buf_end); those bytes are never pointers,
 * so glibc_pointer_words() leaves them out of the scan of the object that
 * holds them, and scans the rest of it as before.
 *
 * The layout of struct _IO_FILE comes from libc's DWARF, else the x86_64
 * one (it is ABI: _IO_buf_base at 56, _IO_buf_end at 64, _chain at 104).
 * The list comes from the snapshot: bounded, cycle-checked, each buffer
 * checked for a sane size; a bad FILE ends the walk with a problem.
 */
#include <stdlib.h>
#include <string.h>

#include "heap/glibc/internal.h"

#define MAX_FILES  4096u
#define MAX_BUFFER (64u << 20)

static int cmp_range(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

void gl_stdio_buffers(struct heap_ctx *c, int libc_module, struct gl_bytes *out)
{
    memset(out, 0, sizeof *out);
    if (!c->dbg || libc_module < 0)
        return;
    const struct dbg_symbol *s = dbg_symbol_by_name(c->dbg, "_IO_list_all", libc_module);
    if (!s || !s->addr)
        return;
    uint64_t off_base = 56, off_end = 64, off_chain = 104;
    const struct dbg_layout *l = dbg_struct(c->dbg, "_IO_FILE", libc_module);
    if (l) {
        int64_t b = dbg_field_offset(l, "_IO_buf_base"), e = dbg_field_offset(l, "_IO_buf_end");
        int64_t ch = dbg_field_offset(l, "_chain");
        if (b >= 0 && e >= 0 && ch >= 0) {
            off_base = (uint64_t)b;
            off_end = (uint64_t)e;
            off_chain = (uint64_t)ch;
        }
    }
    uint64_t fp, seen[64];
    unsigned nseen = 0;
    if (gl_u64(c, s->addr, &fp))
        return;
    for (unsigned n = 0; fp && n < MAX_FILES; n++) {
        uint64_t base, end, next;
        if (fp % 8 || gl_u64(c, fp + off_base, &base) || gl_u64(c, fp + off_end, &end) ||
            gl_u64(c, fp + off_chain, &next)) {
            c->problem(c, fp, "glibc: stdio: FILE 0x%llx on _IO_list_all not captured; list cut there",
                       (unsigned long long)fp);
            break;
        }
        for (unsigned k = 0; k < nseen; k++)
            if (seen[k] == fp) {
                c->problem(c, fp, "glibc: stdio: _IO_list_all loops back to FILE 0x%llx",
                           (unsigned long long)fp);
                return;
            }
        if (nseen < sizeof seen / sizeof seen[0])
            seen[nseen++] = fp;
        if (base && end > base && end - base <= MAX_BUFFER) {
            if (out->n == out->cap) {
                size_t cap = out->cap ? 2 * out->cap : 8;
                uint64_t(*v)[2] = realloc(out->v, cap * sizeof *v);
                if (!v)
                    break;
                out->v = v;
                out->cap = cap;
            }
            out->v[out->n][0] = base;
            out->v[out->n++][1] = end;
        }
        fp = next;
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, cmp_range);
}

int gl_bytes_mask(const struct gl_bytes *b, uint64_t addr, uint64_t size, uint64_t *mask,
                  size_t maskwords)
{
    uint64_t end = addr + size;
    size_t lo = 0, hi = b->n;
    while (lo < hi) { /* the first buffer ending after addr */
        size_t mid = lo + (hi - lo) / 2;
        if (b->v[mid][1] <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == b->n || b->v[lo][0] >= end)
        return 0; /* no bytes here: scan it as before */
    size_t nwords = (size_t)(size / 8);
    if ((nwords + 63) / 64 > maskwords)
        return 0;
    memset(mask, 0, (nwords + 63) / 64 * 8);
    for (size_t w = 0; w < nwords; w++) /* only the object's own words, none past its end */
        mask[w / 64] |= (uint64_t)1 << (w % 64);
    for (size_t i = lo; i < b->n && b->v[i][0] < end; i++)
        for (size_t w = 0; w < nwords; w++) {
            uint64_t a = addr + 8 * w;
            if (a + 8 > b->v[i][0] && a < b->v[i][1])
                mask[w / 64] &= ~((uint64_t)1 << (w % 64));
        }
    return 1;
}
