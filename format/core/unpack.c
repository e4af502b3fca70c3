/*
 * unpack.c — bring a core into memory: a plain core is mmap'd as it lies;
 * a compressed one (systemd-coredump stores cores as .zst, .lz4 or .xz) is
 * decompressed into one anonymous mapping that grows as it fills, so that
 * a core of many gigabytes is never unpacked to disk first.
 *
 * The compression is told by magic, not by the file name: a core renamed
 * without its suffix still opens.  Concatenated frames/streams are read to
 * the end, as the command-line tools do.  The output is bounded by
 * hs_reader_max_data (the fuzzer lowers it: a few bytes of xz can claim
 * terabytes).
 */
#include <errno.h>
#include <fcntl.h>
#include <lz4frame.h>
#include <lzma.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "core/internal.h"

const char *cr_compression(const uint8_t *b, size_t n)
{
    static const uint8_t zst[4] = {0x28, 0xb5, 0x2f, 0xfd};
    static const uint8_t lz4[4] = {0x04, 0x22, 0x4d, 0x18};
    static const uint8_t xz[6] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
    if (n >= 4 && !memcmp(b, zst, 4))
        return "zstd";
    if (n >= 4 && !memcmp(b, lz4, 4))
        return "lz4";
    if (n >= 6 && !memcmp(b, xz, 6))
        return "xz";
    return NULL;
}

/* The growing output. */
struct outbuf {
    uint8_t *p;
    size_t len, cap;
    const char *name, *how;
    struct hs_error *err;
};

static int grow(struct outbuf *o, size_t want)
{
    if (want <= o->cap)
        return 0;
    if (want > hs_reader_max_data) {
        hs_set_err(o->err, "%s: the %s stream decompresses to more than the %zu bytes this reader may hold",
                   o->name, o->how, hs_reader_max_data);
        return -1;
    }
    size_t cap = o->cap ? o->cap : (1u << 20);
    while (cap < want)
        cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
    if (cap > hs_reader_max_data)
        cap = hs_reader_max_data;
    void *p = o->p ? mremap(o->p, o->cap, cap, MREMAP_MAYMOVE)
                   : mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        hs_set_err(o->err, "%s: cannot map %zu bytes to decompress the %s core into: %s", o->name, cap,
                   o->how, strerror(errno));
        return -1;
    }
    o->p = p;
    o->cap = cap;
    return 0;
}

static int un_zstd(struct outbuf *o, const uint8_t *in, size_t n)
{
    ZSTD_DStream *z = ZSTD_createDStream();
    if (!z) {
        hs_set_err(o->err, "%s: out of memory", o->name);
        return -1;
    }
    ZSTD_inBuffer ib = {in, n, 0};
    int rc = -1;
    for (;;) {
        if (grow(o, o->len + (1u << 20)) < 0)
            goto out;
        ZSTD_outBuffer ob = {o->p, o->cap, o->len};
        size_t before = ob.pos, inbefore = ib.pos;
        size_t r = ZSTD_decompressStream(z, &ob, &ib);
        if (ZSTD_isError(r)) {
            hs_set_err(o->err, "%s: zstd: %s at compressed offset %zu", o->name, ZSTD_getErrorName(r), ib.pos);
            goto out;
        }
        o->len = ob.pos;
        if (r == 0 && ib.pos == ib.size)
            break; /* the last frame is complete */
        if (ib.pos == ib.size && ob.pos == before && ib.pos == inbefore) {
            hs_set_err(o->err, "%s: zstd: the stream ends inside a frame after %zu compressed bytes "
                       "(a truncated .zst)", o->name, n);
            goto out;
        }
    }
    rc = 0;
out:
    ZSTD_freeDStream(z);
    return rc;
}

static int un_lz4(struct outbuf *o, const uint8_t *in, size_t n)
{
    LZ4F_dctx *z;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&z, LZ4F_VERSION))) {
        hs_set_err(o->err, "%s: out of memory", o->name);
        return -1;
    }
    size_t pos = 0, hint = 1;
    int rc = -1;
    while (pos < n) {
        if (grow(o, o->len + (1u << 20)) < 0)
            goto out;
        size_t outsz = o->cap - o->len, insz = n - pos;
        hint = LZ4F_decompress(z, o->p + o->len, &outsz, in + pos, &insz, NULL);
        if (LZ4F_isError(hint)) {
            hs_set_err(o->err, "%s: lz4: %s at compressed offset %zu", o->name, LZ4F_getErrorName(hint), pos);
            goto out;
        }
        pos += insz;
        o->len += outsz;
        if (insz == 0 && outsz == 0)
            break;
    }
    if (hint != 0) {
        hs_set_err(o->err, "%s: lz4: the stream ends inside a frame after %zu compressed bytes "
                   "(a truncated .lz4)", o->name, n);
        goto out;
    }
    rc = 0;
out:
    LZ4F_freeDecompressionContext(z);
    return rc;
}

static int un_xz(struct outbuf *o, const uint8_t *in, size_t n)
{
    lzma_stream z = LZMA_STREAM_INIT;
    /* 1 GiB of decoder memory is far more than any xz preset needs. */
    if (lzma_stream_decoder(&z, 1ull << 30, LZMA_CONCATENATED) != LZMA_OK) {
        hs_set_err(o->err, "%s: out of memory", o->name);
        return -1;
    }
    z.next_in = in;
    z.avail_in = n;
    int rc = -1;
    for (;;) {
        if (grow(o, o->len + (1u << 20)) < 0)
            goto out;
        z.next_out = o->p + o->len;
        z.avail_out = o->cap - o->len;
        lzma_ret r = lzma_code(&z, z.avail_in ? LZMA_RUN : LZMA_FINISH);
        o->len = o->cap - z.avail_out;
        if (r == LZMA_STREAM_END)
            break;
        if (r == LZMA_OK)
            continue;
        if (r == LZMA_BUF_ERROR) /* no progress possible: the input ended inside a stream */
            hs_set_err(o->err, "%s: xz: the stream ends early after %zu compressed bytes (a truncated .xz)",
                       o->name, n);
        else
            hs_set_err(o->err, "%s: xz: %s at compressed offset %zu", o->name,
                       r == LZMA_DATA_ERROR ? "corrupt data" : r == LZMA_FORMAT_ERROR ? "not an xz stream"
                       : r == LZMA_MEM_ERROR || r == LZMA_MEMLIMIT_ERROR ? "out of memory" : "decoder error",
                       (size_t)(n - z.avail_in));
        goto out;
    }
    rc = 0;
out:
    lzma_end(&z);
    return rc;
}

int cr_unpack_memory(const uint8_t *in, size_t inlen, const char *name, const uint8_t **out,
                       size_t *len, size_t *mapped_len, struct hs_error *err)
{
    const char *how = cr_compression(in, inlen);
    if (!how) {
        *out = in;
        *len = inlen;
        *mapped_len = 0;
        return 0;
    }
    struct outbuf o = {.name = name, .how = how, .err = err};
    int r = how[0] == 'z' ? un_zstd(&o, in, inlen) : how[0] == 'l' ? un_lz4(&o, in, inlen) : un_xz(&o, in, inlen);
    if (r < 0) {
        if (o.p)
            munmap(o.p, o.cap);
        return -1;
    }
    if (o.len == 0) {
        if (o.p)
            munmap(o.p, o.cap);
        hs_set_err(err, "%s: the %s stream is empty", name, how);
        return -1;
    }
    *out = o.p;
    *len = o.len;
    *mapped_len = o.cap;
    return 0;
}

int cr_unpack(const char *path, const uint8_t **buf, size_t *len, size_t *mapped_len,
                int *compressed, struct hs_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        hs_set_err(err, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > SIZE_MAX) {
        hs_set_err(err, "%s: %s", path, S_ISREG(st.st_mode) ? "empty file: not a core" : "not a regular file");
        close(fd);
        return -1;
    }
    size_t n = (size_t)st.st_size;
    void *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) {
        hs_set_err(err, "%s: mmap: %s", path, strerror(e));
        return -1;
    }
    *compressed = cr_compression(p, n) != NULL;
    if (!*compressed) {
        *buf = p;
        *len = n;
        *mapped_len = n;
        return 0;
    }
    madvise(p, n, MADV_SEQUENTIAL);
    int r = cr_unpack_memory(p, n, path, buf, len, mapped_len, err);
    munmap(p, n);
    return r;
}
