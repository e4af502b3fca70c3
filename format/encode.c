/*
 * encode.c — the growing buffer and bounded cursor of encode.h.
 */
#include <stdlib.h>

#include "encode.h"

void hs_buf_free(struct hs_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

uint8_t *hs_buf_reserve(struct hs_buf *b, size_t n)
{
    if (b->failed)
        return NULL;
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2) {
                b->failed = 1;
                return NULL;
            }
            cap *= 2;
        }
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return NULL;
        }
        b->p = p;
        b->cap = cap;
    }
    uint8_t *r = b->p + b->len;
    b->len += n;
    return r;
}

void hs_buf_bytes(struct hs_buf *b, const void *p, size_t n)
{
    uint8_t *d = hs_buf_reserve(b, n);
    if (d && n)
        memcpy(d, p, n);
}

void hs_buf_u8(struct hs_buf *b, uint8_t v)
{
    hs_buf_bytes(b, &v, 1);
}

void hs_buf_u16(struct hs_buf *b, uint16_t v)
{
    uint8_t *d = hs_buf_reserve(b, 2);
    if (d)
        hs_st16(d, v);
}

void hs_buf_u32(struct hs_buf *b, uint32_t v)
{
    uint8_t *d = hs_buf_reserve(b, 4);
    if (d)
        hs_st32(d, v);
}

void hs_buf_u64(struct hs_buf *b, uint64_t v)
{
    uint8_t *d = hs_buf_reserve(b, 8);
    if (d)
        hs_st64(d, v);
}

void hs_buf_blob(struct hs_buf *b, const void *p, size_t n, size_t max)
{
    if (n > max || n > UINT32_MAX) { /* a reader would refuse it: refuse to write it */
        if (!b->failed)
            b->failed = 2;
        return;
    }
    hs_buf_u32(b, (uint32_t)n);
    hs_buf_bytes(b, p, n);
}

void hs_buf_str(struct hs_buf *b, const char *s, size_t max)
{
    hs_buf_blob(b, s, s ? strlen(s) : 0, max);
}

size_t hs_buf_begin(struct hs_buf *b)
{
    size_t mark = b->len;
    hs_buf_u32(b, 0);
    return mark;
}

void hs_buf_end(struct hs_buf *b, size_t mark)
{
    if (b->failed)
        return;
    size_t n = b->len - mark - 4;
    if (n > UINT32_MAX) {
        b->failed = 1;
        return;
    }
    hs_st32(b->p + mark, (uint32_t)n);
}

const uint8_t *hs_cur_take(struct hs_cur *c, size_t n)
{
    if (c->failed || n > c->len - c->pos) {
        c->failed = 1;
        return NULL;
    }
    const uint8_t *r = c->p + c->pos;
    c->pos += n;
    return r;
}

uint8_t hs_cur_u8(struct hs_cur *c)
{
    const uint8_t *p = hs_cur_take(c, 1);
    return p ? p[0] : 0;
}

uint16_t hs_cur_u16(struct hs_cur *c)
{
    const uint8_t *p = hs_cur_take(c, 2);
    return p ? hs_ld16(p) : 0;
}

uint32_t hs_cur_u32(struct hs_cur *c)
{
    const uint8_t *p = hs_cur_take(c, 4);
    return p ? hs_ld32(p) : 0;
}

uint64_t hs_cur_u64(struct hs_cur *c)
{
    const uint8_t *p = hs_cur_take(c, 8);
    return p ? hs_ld64(p) : 0;
}

int hs_cur_record(struct hs_cur *c, struct hs_cur *sub)
{
    uint32_t n = hs_cur_u32(c);
    const uint8_t *p = hs_cur_take(c, n);
    if (!p) {
        *sub = hs_cur_make(NULL, 0);
        sub->failed = 1;
        return -1;
    }
    *sub = hs_cur_make(p, n);
    return 0;
}
