/*
 * encode.h — little-endian encoding helpers for the .hsnap library
 * (internal to format/).
 *
 * struct hs_buf builds bytes in a growing buffer (the writer's metadata
 * records); struct hs_cur reads them back through a bounded cursor (the
 * reader).  A cursor never reads past its end: a read that would is
 * refused, marks the cursor failed, and returns zero, so a parser can read
 * a whole record and check cur.failed once.  Allocation failure in a
 * buffer is likewise sticky (buf.failed).
 */
#ifndef HEAPSNAP_FORMAT_ENCODE_H
#define HEAPSNAP_FORMAT_ENCODE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct hs_buf {
    uint8_t *p;
    size_t len, cap;
    int failed; /* contents are incomplete: 1 out of memory, 2 a string or blob too long */
};

void hs_buf_free(struct hs_buf *b);
uint8_t *hs_buf_reserve(struct hs_buf *b, size_t n); /* n bytes at the end, or NULL */
void hs_buf_bytes(struct hs_buf *b, const void *p, size_t n);
void hs_buf_u8(struct hs_buf *b, uint8_t v);
void hs_buf_u16(struct hs_buf *b, uint16_t v);
void hs_buf_u32(struct hs_buf *b, uint32_t v);
void hs_buf_u64(struct hs_buf *b, uint64_t v);
/* len:u32 + bytes, no NUL; NULL is "".  Longer than max: failed = 2. */
void hs_buf_str(struct hs_buf *b, const char *s, size_t max);
void hs_buf_blob(struct hs_buf *b, const void *p, size_t n, size_t max); /* len:u32 + bytes */
/* A record is len:u32 + body.  begin returns where len goes; end patches it. */
size_t hs_buf_begin(struct hs_buf *b);
void hs_buf_end(struct hs_buf *b, size_t mark);

struct hs_cur {
    const uint8_t *p;
    size_t len, pos;
    int failed; /* a read went past the end */
};

static inline struct hs_cur hs_cur_make(const void *p, size_t len)
{
    struct hs_cur c = {p, len, 0, 0};
    return c;
}
static inline size_t hs_cur_left(const struct hs_cur *c) { return c->len - c->pos; }

/* Point at the next n bytes and step over them; NULL (and failed) if fewer remain. */
const uint8_t *hs_cur_take(struct hs_cur *c, size_t n);
uint8_t hs_cur_u8(struct hs_cur *c);
uint16_t hs_cur_u16(struct hs_cur *c);
uint32_t hs_cur_u32(struct hs_cur *c);
uint64_t hs_cur_u64(struct hs_cur *c);
/* Read a len:u32-prefixed record into *sub and step over it. */
int hs_cur_record(struct hs_cur *c, struct hs_cur *sub);

/* Plain little-endian loads and stores of fixed-layout headers. */
static inline uint16_t hs_ld16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t hs_ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t hs_ld64(const uint8_t *p)
{
    return (uint64_t)hs_ld32(p) | (uint64_t)hs_ld32(p + 4) << 32;
}
static inline void hs_st16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void hs_st32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void hs_st64(uint8_t *p, uint64_t v)
{
    hs_st32(p, (uint32_t)v);
    hs_st32(p + 4, (uint32_t)(v >> 32));
}

/* hs_crc32c() without the SSE4.2 instruction, so tests can compare the two. */
uint32_t hs_crc32c_portable(uint32_t crc, const void *buf, size_t len);

#endif /* HEAPSNAP_FORMAT_ENCODE_H */
