/*
 * proto.c — the protobuf wire format, as much of it as profile.proto uses
 * (see profile.h): varints (wire type 0) and length-delimited fields (wire
 * type 2: strings, nested messages, packed repeated integers).  A nested
 * message is encoded into its own pbuf first, so that its length is known
 * when it is appended.
 */
#include "pprof/profile.h"

#include <stdlib.h>
#include <string.h>

void pb_free(struct pbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static int grow(struct pbuf *b, size_t n)
{
    if (b->oom)
        return -1;
    if (b->len + n <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void pb_varint(struct pbuf *b, uint64_t v)
{
    if (grow(b, 10))
        return;
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        b->p[b->len++] = c | (v ? 0x80 : 0);
    } while (v);
}

void pb_uint(struct pbuf *b, unsigned f, uint64_t v)
{
    if (!v)
        return;
    pb_varint(b, (uint64_t)f << 3);
    pb_varint(b, v);
}

void pb_int(struct pbuf *b, unsigned f, int64_t v)
{
    pb_uint(b, f, (uint64_t)v); /* int64 is two's complement in ten bytes */
}

void pb_bytes(struct pbuf *b, unsigned f, const void *p, size_t n)
{
    pb_varint(b, (uint64_t)f << 3 | 2);
    pb_varint(b, n);
    if (n && !grow(b, n)) {
        memcpy(b->p + b->len, p, n);
        b->len += n;
    }
}

void pb_message(struct pbuf *b, unsigned f, const struct pbuf *m)
{
    if (m->oom)
        b->oom = 1;
    pb_bytes(b, f, m->p, m->len);
}

void pb_packed(struct pbuf *b, unsigned f, const uint64_t *v, size_t n)
{
    struct pbuf t = {0};
    for (size_t i = 0; i < n; i++)
        pb_varint(&t, v[i]);
    if (n)
        pb_message(b, f, &t);
    pb_free(&t);
}
