/*
 * reader.c — the reader half of the .hsnap library: load a file, walk its
 * sections, check them, and materialise the captured memory (see hsnap.h
 * for the interface, docs/format.md for the bytes).
 *
 * The walk is sequential from the file header to the footer.  Each section
 * header and payload is checksummed before anything in it is believed.
 * Metadata is decoded as it is met (decode.c); memory blocks are only noted
 * on the way, then grouped into ranges, checked for overlaps, and
 * decompressed straight into one anonymous mapping per range.  The walk is
 * shared with hs_verify() (verify.c), which decompresses every block into a
 * scratch buffer instead and treats truncation as an error.
 *
 * A file that ends early is not an error as long as its process section
 * was read: the snapshot then holds everything before the cut and says
 * where it was cut.  A file whose bytes are wrong (bad checksum, bad
 * structure) is an error: nothing from it is returned.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "layout.h"
#include "snapshot.h"

size_t hs_reader_max_data = SIZE_MAX;

/* A memory block noted during the walk. */
struct block {
    uint64_t addr, off;
    uint32_t page_size, npages, flags, ndata, seq, block_no;
    size_t secno;
    const uint8_t *states, *body;
    size_t body_len, body_raw;
    int zstd;
};

struct sec_ent {
    uint32_t type, flags;
    uint64_t offset, stored, raw;
};

struct walk {
    const uint8_t *buf;
    size_t len;
    const char *name;
    unsigned flags;
    int verify;
    FILE *log;
    struct hs_error *err;
    struct hs_snapshot *s;
    ZSTD_DCtx *dctx;
    uint8_t *scratch;
    size_t scratch_cap;
    struct block *blocks;
    size_t nblocks, cblocks;
    struct sec_ent *secs;
    size_t nsecs, csecs;
    /* the section being looked at, for messages */
    size_t secno;
    uint32_t type;
    uint64_t off;
};

static void set_err(struct hs_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct hs_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

/* "FILE: section N (type) at offset O: what" */
static int sec_err(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sec_err(struct walk *w, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    set_err(w->err, "%s: section %zu (%s) at offset %llu: %s", w->name, w->secno,
            hs_section_name(w->type), (unsigned long long)w->off, what);
    return -1;
}

/* ------------------------------------------------------------- loading */

int hs_load(const char *path, const uint8_t **buf, size_t *len, int *mapped, struct hs_error *err)
{
    int stdin_ = !strcmp(path, "-");
    int fd = stdin_ ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        set_err(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    *mapped = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uint64_t)st.st_size <= SIZE_MAX) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
            if (!stdin_)
                close(fd);
            *buf = p;
            *len = (size_t)st.st_size;
            *mapped = 1;
            return 0;
        }
    }
    /* A pipe, or mmap refused: read it all. */
    size_t cap = 1 << 20, n = 0;
    uint8_t *b = malloc(cap);
    for (;;) {
        if (!b) {
            set_err(err, "%s: out of memory after reading %zu bytes", path, n);
            break;
        }
        if (n == cap) {
            uint8_t *nb = cap > SIZE_MAX / 2 ? NULL : realloc(b, cap * 2);
            if (!nb) {
                free(b);
                b = NULL;
                continue;
            }
            b = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            set_err(err, "%s: read at offset %zu: %s", path, n, strerror(errno));
            free(b);
            b = NULL;
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (!stdin_)
        close(fd);
    if (!b)
        return -1;
    *buf = b;
    *len = n;
    return 0;
}

void hs_unload(const uint8_t *buf, size_t len, int mapped)
{
    if (mapped)
        munmap((void *)buf, len);
    else
        free((void *)buf);
}

/* ------------------------------------------------------------- the walk */

static int truncated(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int truncated(struct walk *w, const char *fmt, ...)
{
    char what[400], msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof msg, "%s: truncated at offset %zu: %s", w->name, w->len, what);
    w->s->truncated = 1;
    free(w->s->warning);
    w->s->warning = strdup(msg);
    if (w->verify)
        set_err(w->err, "%s", msg);
    return 0;
}

static int push_sec(struct walk *w, uint32_t type, uint32_t flags, uint64_t stored, uint64_t raw)
{
    if (w->nsecs == w->csecs) {
        size_t c = w->csecs ? 2 * w->csecs : 64;
        struct sec_ent *n = realloc(w->secs, c * sizeof *n);
        if (!n)
            return sec_err(w, "out of memory");
        w->secs = n;
        w->csecs = c;
    }
    w->secs[w->nsecs++] = (struct sec_ent){type, flags, w->off, stored, raw};
    return 0;
}

/* Decompress exactly raw bytes of a zstd frame into dst.  w may be NULL
 * (a helper thread): then nothing is said, and the caller redoes the work
 * with w to get the message. */
static int unzstd_with(struct walk *w, ZSTD_DCtx *dctx, void *dst, size_t raw,
                       const uint8_t *src, size_t n)
{
    size_t r = ZSTD_decompressDCtx(dctx, dst, raw, src, n);
    if (ZSTD_isError(r))
        return w ? sec_err(w, "zstd: %s (payload of %zu bytes, %zu expected out)",
                           ZSTD_getErrorName(r), n, raw)
                 : -1;
    if (r != raw)
        return w ? sec_err(w, "decompressed to %zu bytes; the header says %zu", r, raw) : -1;
    return 0;
}

static int unzstd(struct walk *w, void *dst, size_t raw, const uint8_t *src, size_t n)
{
    if (!w->dctx && !(w->dctx = ZSTD_createDCtx()))
        return sec_err(w, "out of memory");
    return unzstd_with(w, w->dctx, dst, raw, src, n);
}

static uint8_t *scratch(struct walk *w, size_t n)
{
    if (n > w->scratch_cap) {
        uint8_t *p = realloc(w->scratch, n);
        if (!p)
            return NULL;
        w->scratch = p;
        w->scratch_cap = n;
    }
    return w->scratch ? w->scratch : (uint8_t *)"";
}

static int metadata(struct walk *w, const uint8_t *pay, uint64_t stored, uint64_t raw, int zstd,
                    uint32_t plain)
{
    struct hs_snapshot *s = w->s;
    if (plain)
        return sec_err(w, "plain length %u; metadata sections have none", plain);
    if (raw > HSL_META_MAX)
        return sec_err(w, "raw length %llu is more than the %u a metadata section may have",
                       (unsigned long long)raw, HSL_META_MAX);
    if ((w->type == HS_SEC_PROCESS && s->have_process) ||
        (w->type == HS_SEC_STATS && s->have_stats))
        return sec_err(w, "a second %s section", hs_section_name(w->type));
    const uint8_t *p = pay;
    if (zstd) {
        uint8_t *d = scratch(w, (size_t)raw);
        if (!d)
            return sec_err(w, "out of memory");
        if (unzstd(w, d, (size_t)raw, pay, (size_t)stored) < 0)
            return -1;
        p = d;
    }
    struct hs_cur c = hs_cur_make(p, (size_t)raw);
    char why[400];
    int r = -1;
    switch (w->type) {
    case HS_SEC_PROCESS: r = hs_decode_process(s, &c, why, sizeof why); break;
    case HS_SEC_MAPPINGS: r = hs_decode_mappings(s, &c, why, sizeof why); break;
    case HS_SEC_MODULES: r = hs_decode_modules(s, &c, why, sizeof why); break;
    case HS_SEC_THREADS: r = hs_decode_threads(s, &c, why, sizeof why); break;
    case HS_SEC_STATS: r = hs_decode_stats(s, &c, why, sizeof why); break;
    }
    return r < 0 ? sec_err(w, "%s", why) : 0;
}

static int memory(struct walk *w, const uint8_t *pay, uint64_t stored, uint64_t raw, int zstd,
                  uint32_t plain)
{
    if (plain < HSL_MEM_HDR_LEN || plain > stored)
        return sec_err(w, "plain length %u is not a memory block header (%u bytes + states) "
                          "within the %llu-byte payload",
                       plain, HSL_MEM_HDR_LEN, (unsigned long long)stored);
    struct block b = {0};
    b.addr = hs_ld64(pay);
    b.page_size = hs_ld32(pay + 8);
    b.npages = hs_ld32(pay + 12);
    b.flags = hs_ld32(pay + 16);
    b.ndata = hs_ld32(pay + 20);
    b.seq = hs_ld32(pay + 24);
    b.block_no = hs_ld32(pay + 28);
    b.secno = w->secno;
    b.off = w->off;
    if (b.page_size < HSL_PAGE_MIN || b.page_size > HSL_PAGE_MAX ||
        (b.page_size & (b.page_size - 1)))
        return sec_err(w, "page size %u is not a power of two in [%u, %u]", b.page_size,
                       HSL_PAGE_MIN, HSL_PAGE_MAX);
    if (b.npages == 0 || b.npages > HS_BLOCK_PAGES)
        return sec_err(w, "%u pages; a block holds 1 to %u", b.npages, HS_BLOCK_PAGES);
    if (b.flags & ~HSL_MEM_FLAGS_KNOWN)
        return sec_err(w, "unknown memory flags 0x%x", b.flags);
    if ((uint64_t)b.npages * b.page_size > UINT64_MAX - b.addr) /* end must fit in a u64 */
        return sec_err(w, "block at 0x%llx runs past the end of the address space",
                       (unsigned long long)b.addr);
    if (plain != HSL_MEM_HDR_LEN + b.npages)
        return sec_err(w, "plain length %u; %u pages need %u", plain, b.npages,
                       HSL_MEM_HDR_LEN + b.npages);
    b.states = pay + HSL_MEM_HDR_LEN;
    uint32_t ndata = 0;
    for (uint32_t i = 0; i < b.npages; i++) {
        if (b.states[i] > HS_PAGE_UNREADABLE)
            return sec_err(w, "page %u (0x%llx) has invalid state %u", i,
                           (unsigned long long)(b.addr + (uint64_t)i * b.page_size),
                           b.states[i]);
        ndata += b.states[i] == HS_PAGE_DATA;
    }
    if (ndata != b.ndata)
        return sec_err(w, "header says %u data pages, the states say %u", b.ndata, ndata);
    b.body_raw = (size_t)ndata * b.page_size;
    if (raw != plain + (uint64_t)b.body_raw)
        return sec_err(w, "raw length %llu; %u data pages of %u bytes need %llu",
                       (unsigned long long)raw, ndata, b.page_size,
                       (unsigned long long)(plain + (uint64_t)b.body_raw));
    b.body = pay + plain;
    b.body_len = (size_t)(stored - plain);
    b.zstd = zstd;
    if (zstd && b.body_raw == 0)
        return sec_err(w, "compressed, but has no data pages");
    if (w->log)
        fprintf(w->log, "    0x%llx-0x%llx: %u pages of %u (%u data), range %u block %u%s\n",
                (unsigned long long)b.addr,
                (unsigned long long)(b.addr + (uint64_t)b.npages * b.page_size), b.npages,
                b.page_size, ndata, b.seq, b.block_no, b.flags & HS_MEM_ANON ? ", anon" : "");
    if (w->verify) {
        /* Check the data decompresses to exactly its size; keep nothing. */
        if (zstd) {
            uint8_t *d = scratch(w, b.body_raw);
            if (!d)
                return sec_err(w, "out of memory");
            if (unzstd(w, d, b.body_raw, b.body, b.body_len) < 0)
                return -1;
        }
    }
    if (w->nblocks == w->cblocks) {
        size_t c = w->cblocks ? 2 * w->cblocks : 256;
        struct block *n = realloc(w->blocks, c * sizeof *n);
        if (!n)
            return sec_err(w, "out of memory");
        w->blocks = n;
        w->cblocks = c;
    }
    w->blocks[w->nblocks++] = b;
    return 0;
}

static int unknown(struct walk *w, const uint8_t *pay, uint64_t stored, uint64_t raw, int zstd,
                   uint32_t plain)
{
    /* Not ours to understand; verify still checks what the generic header
     * promises, when the size is sane. */
    if (!w->verify || !zstd)
        return 0;
    if (plain > stored)
        return sec_err(w, "plain length %u is more than the payload (%llu)", plain,
                       (unsigned long long)stored);
    if (raw < plain || raw - plain > HSL_META_MAX)
        return 0;
    uint8_t *d = scratch(w, (size_t)(raw - plain));
    if (!d)
        return sec_err(w, "out of memory");
    return unzstd(w, d, (size_t)(raw - plain), pay + plain, (size_t)(stored - plain));
}

/* The index (whose header starts at w->off) and the footer after it. */
static int index_and_footer(struct walk *w, const uint8_t *pay, uint64_t stored, uint64_t raw,
                            int zstd, uint32_t plain)
{
    if (plain || zstd)
        return sec_err(w, "the index is never compressed and has no plain part");
    if (raw < HSL_INDEX_HDR_LEN)
        return sec_err(w, "%llu bytes is shorter than the index header",
                       (unsigned long long)raw);
    uint32_t count = hs_ld32(pay);
    if (count != (raw - HSL_INDEX_HDR_LEN) / HSL_INDEX_ENT_LEN ||
        (raw - HSL_INDEX_HDR_LEN) % HSL_INDEX_ENT_LEN)
        return sec_err(w, "%u entries do not fill %llu bytes", count, (unsigned long long)raw);
    if (count != w->nsecs)
        return sec_err(w, "lists %u sections; the file has %zu before it", count, w->nsecs);
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = pay + HSL_INDEX_HDR_LEN + (size_t)i * HSL_INDEX_ENT_LEN;
        const struct sec_ent *x = &w->secs[i];
        if (hs_ld32(e) != x->type || hs_ld32(e + 4) != x->flags || hs_ld64(e + 8) != x->offset ||
            hs_ld64(e + 16) != x->stored || hs_ld64(e + 24) != x->raw)
            return sec_err(w, "entry %u (type %u at offset %llu) does not match section %u "
                              "(type %u at offset %llu)",
                           i, hs_ld32(e), (unsigned long long)hs_ld64(e + 8), i + 1, x->type,
                           (unsigned long long)x->offset);
    }
    uint64_t foot = w->off + HSL_SEC_HDR_LEN + stored;
    size_t left = w->len - (size_t)foot;
    if (left < HSL_FOOTER_LEN)
        return truncated(w, "the footer at offset %llu has %zu of its %u bytes",
                         (unsigned long long)foot, left, HSL_FOOTER_LEN);
    const uint8_t *f = w->buf + foot;
    if (memcmp(f + 16, HSL_END_MAGIC, 8)) {
        set_err(w->err, "%s: footer at offset %llu: bad end magic", w->name,
                (unsigned long long)foot);
        return -1;
    }
    uint32_t crc = hs_crc32c(hs_crc32c(0, f, 12), f + 16, 8);
    if (crc != hs_ld32(f + 12)) {
        set_err(w->err, "%s: footer at offset %llu: checksum mismatch (stored 0x%08x, computed "
                "0x%08x)", w->name, (unsigned long long)foot, hs_ld32(f + 12), crc);
        return -1;
    }
    if (hs_ld64(f) != w->off) {
        set_err(w->err, "%s: footer at offset %llu: points at the index at %llu, but it is at %llu",
                w->name, (unsigned long long)foot, (unsigned long long)hs_ld64(f),
                (unsigned long long)w->off);
        return -1;
    }
    if (left > HSL_FOOTER_LEN) {
        set_err(w->err, "%s: %zu bytes of garbage after the footer at offset %llu", w->name,
                left - HSL_FOOTER_LEN, (unsigned long long)foot);
        return -1;
    }
    if (w->log)
        fprintf(w->log, "footer at offset %llu: index at %llu, %u sections, ok\n",
                (unsigned long long)foot, (unsigned long long)w->off, count);
    return 0;
}

static int file_header(struct walk *w, size_t *hlen)
{
    const uint8_t *b = w->buf;
    size_t n = w->len;
    size_t m = n < HS_MAGIC_LEN ? n : HS_MAGIC_LEN;
    if (memcmp(b, HS_MAGIC, m)) {
        set_err(w->err, "%s: not a heapsnap snapshot (no HSNAP magic at offset 0)", w->name);
        return -1;
    }
    if (n < 16) {
        set_err(w->err, "%s: truncated at offset %zu: inside the file header", w->name, n);
        return -1;
    }
    unsigned major = hs_ld16(b + 8), minor = hs_ld16(b + 10);
    if (major > HS_VERSION_MAJOR) {
        set_err(w->err, "%s: format version %u.%u is newer than this heapsnap understands (%u.x); "
                "upgrade heapsnap", w->name, major, minor, HS_VERSION_MAJOR);
        return -1;
    }
    if (major < 1) {
        set_err(w->err, "%s: format version %u.%u is not supported", w->name, major, minor);
        return -1;
    }
    uint32_t len = hs_ld32(b + 12);
    if (len < HSL_FILE_HDR_LEN || len > HSL_FILE_HDR_MAX || len % 4) {
        set_err(w->err, "%s: file header at offset 0: header length %u is not a multiple of 4 "
                "in [%u, %u]", w->name, len, HSL_FILE_HDR_LEN, HSL_FILE_HDR_MAX);
        return -1;
    }
    if (len > n) {
        set_err(w->err, "%s: truncated at offset %zu: inside the %u-byte file header", w->name,
                n, len);
        return -1;
    }
    uint32_t crc = hs_crc32c(0, b, len - 4);
    if (crc != hs_ld32(b + len - 4)) {
        set_err(w->err, "%s: file header at offset 0: checksum mismatch (stored 0x%08x, "
                "computed 0x%08x)", w->name, hs_ld32(b + len - 4), crc);
        return -1;
    }
    w->s->minor = minor;
    *hlen = len;
    if (w->log)
        fprintf(w->log, "file header at offset 0: version %u.%u, %u bytes, ok\n", major, minor,
                len);
    return 0;
}

/* Walk every section.  Returns -1 on a fault (err set); 0 otherwise, with
 * s->truncated set if the file ended early. */
static int walk_sections(struct walk *w)
{
    size_t off;
    if (w->len == 0) {
        set_err(w->err, "%s: empty file: not a heapsnap snapshot", w->name);
        return -1;
    }
    if (file_header(w, &off) < 0)
        return -1;
    for (w->secno = 1;; w->secno++) {
        w->off = off;
        w->type = 0;
        size_t left = w->len - off;
        if (left == 0)
            return truncated(w, "the file ends after section %zu, before the index",
                             w->secno - 1);
        if (left < HSL_SEC_HDR_LEN)
            return truncated(w, "section %zu at offset %zu has %zu of its %u header bytes",
                             w->secno, off, left, HSL_SEC_HDR_LEN);
        const uint8_t *h = w->buf + off;
        uint32_t hcrc = hs_crc32c(0, h, 36);
        if (hs_ld32(h) != HSL_SEC_MAGIC)
            return sec_err(w, "no section magic (found 0x%08x)", hs_ld32(h));
        if (hcrc != hs_ld32(h + 36))
            return sec_err(w, "header checksum mismatch (stored 0x%08x, computed 0x%08x)",
                           hs_ld32(h + 36), hcrc);
        w->type = hs_ld32(h + 4);
        uint32_t flags = hs_ld32(h + 8), plain = hs_ld32(h + 12);
        uint64_t stored = hs_ld64(h + 16), raw = hs_ld64(h + 24);
        if (stored > left - HSL_SEC_HDR_LEN)
            return truncated(w, "section %zu (%s) at offset %zu has %zu of its %llu payload "
                             "bytes", w->secno, hs_section_name(w->type), off,
                             left - HSL_SEC_HDR_LEN, (unsigned long long)stored);
        const uint8_t *pay = h + HSL_SEC_HDR_LEN;
        uint32_t crc = hs_crc32c(0, pay, (size_t)stored);
        if (crc != hs_ld32(h + 32))
            return sec_err(w, "payload checksum mismatch (stored 0x%08x, computed 0x%08x)",
                           hs_ld32(h + 32), crc);
        int known = w->type >= HS_SEC_PROCESS && w->type <= HS_SEC_INDEX;
        if (known && (flags & ~HSL_SF_KNOWN))
            return sec_err(w, "unknown section flags 0x%x", flags);
        int zstd = (flags & HSL_SF_ZSTD) != 0;
        if (known && !zstd && stored != raw)
            return sec_err(w, "uncompressed, but stored length %llu differs from raw length %llu",
                           (unsigned long long)stored, (unsigned long long)raw);
        if (w->log)
            fprintf(w->log, "section %zu at offset %zu: %s (type %u), %llu bytes stored, %llu raw%s, "
                    "checksums ok\n", w->secno, off, hs_section_name(w->type), w->type,
                    (unsigned long long)stored, (unsigned long long)raw, zstd ? ", zstd" : "");
        int r;
        switch (w->type) {
        case HS_SEC_INDEX: return index_and_footer(w, pay, stored, raw, zstd, plain);
        case HS_SEC_MEMORY: r = memory(w, pay, stored, raw, zstd, plain); break;
        case HS_SEC_PROCESS:
        case HS_SEC_MAPPINGS:
        case HS_SEC_MODULES:
        case HS_SEC_THREADS:
        case HS_SEC_STATS: r = metadata(w, pay, stored, raw, zstd, plain); break;
        default: r = unknown(w, pay, stored, raw, zstd, plain); break;
        }
        if (r < 0 || push_sec(w, w->type, flags, stored, raw) < 0)
            return -1;
        off += HSL_SEC_HDR_LEN + (size_t)stored;
    }
}

/* ------------------------------------------------------------- memory */

/* One range in the making: blocks [first, first + n) of w->blocks. */
struct span {
    size_t first, n;
    uint64_t start, end;
};

static int cmp_span(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Put one block's pages in place: decompress into dst, then spread the
 * packed DATA pages out to their slots from the last to the first (a page
 * only ever moves up, so nothing is overwritten before it is moved) and
 * clear what is left in the slots of the other pages.  w as for
 * unzstd_with(). */
static int place_block(struct walk *w, ZSTD_DCtx *dctx, const struct block *b, uint8_t *dst)
{
    size_t ps = b->page_size;
    if (b->body_raw == 0)
        return 0;
    if (b->zstd) {
        if (unzstd_with(w, dctx, dst, b->body_raw, b->body, b->body_len) < 0)
            return -1;
    } else {
        memcpy(dst, b->body, b->body_raw);
    }
    if (b->ndata == b->npages)
        return 0;
    size_t k = b->ndata;
    for (size_t i = b->npages; i-- > 0;) {
        if (b->states[i] == HS_PAGE_DATA) {
            k--;
            if (k != i)
                memcpy(dst + i * ps, dst + k * ps, ps);
        } else if (i < b->ndata) {
            memset(dst + i * ps, 0, ps);
        }
    }
    return 0;
}

/* Decompressing the blocks is most of the time an open takes, and blocks
 * are independent: with two or more CPUs a helper thread takes blocks from
 * the same list (HSNAP_READER_THREADS=1 turns it off). */
struct place_job {
    const struct block *b;
    uint8_t *dst;
    int failed;
};

struct placer {
    struct place_job *jobs;
    size_t n;
    size_t next; /* taken with __atomic_fetch_add */
};

static void place_some(struct placer *p, ZSTD_DCtx *dctx)
{
    for (;;) {
        size_t i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
        if (i >= p->n)
            return;
        p->jobs[i].failed = place_block(NULL, dctx, p->jobs[i].b, p->jobs[i].dst) < 0;
    }
}

static void *place_helper(void *arg)
{
    struct placer *p = arg;
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (dctx)
        place_some(p, dctx);
    ZSTD_freeDCtx(dctx);
    return NULL;
}

static int place_all(struct walk *w, struct place_job *jobs, size_t n)
{
    struct placer p = {jobs, n, 0};
    if (!w->dctx && !(w->dctx = ZSTD_createDCtx())) {
        set_err(w->err, "%s: out of memory", w->name);
        return -1;
    }
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += jobs[i].b->body_raw;
    if (bytes > hs_reader_max_data) {
        set_err(w->err, "%s: the memory blocks hold %llu bytes of data, more than the %zu this "
                "reader may materialise", w->name, (unsigned long long)bytes, hs_reader_max_data);
        return -1;
    }
    const char *t = getenv("HSNAP_READER_THREADS");
    pthread_t helper;
    int threaded = bytes >= (8u << 20) && (!t || atoi(t) != 1) &&
                   sysconf(_SC_NPROCESSORS_ONLN) >= 2 &&
                   pthread_create(&helper, NULL, place_helper, &p) == 0;
    place_some(&p, w->dctx);
    if (threaded)
        pthread_join(helper, NULL);
    for (size_t i = 0; i < n; i++) {
        if (!jobs[i].failed)
            continue;
        /* Say what went wrong with the first bad block, in file order. */
        w->secno = jobs[i].b->secno;
        w->off = jobs[i].b->off;
        w->type = HS_SEC_MEMORY;
        if (place_block(w, w->dctx, jobs[i].b, jobs[i].dst) == 0)
            sec_err(w, "could not be decompressed");
        return -1;
    }
    return 0;
}

static int build_ranges(struct walk *w)
{
    struct hs_snapshot *s = w->s;
    if (!w->nblocks)
        return 0;
    struct span *sp = calloc(w->nblocks, sizeof *sp);
    struct place_job *jobs = calloc(w->nblocks, sizeof *jobs);
    size_t njobs = 0;
    if (!sp || !jobs) {
        free(sp);
        free(jobs);
        set_err(w->err, "%s: out of memory", w->name);
        return -1;
    }
    size_t n = 0;
    int rc = -1;
    for (size_t i = 0; i < w->nblocks; i++) {
        const struct block *b = &w->blocks[i];
        uint64_t bend = b->addr + (uint64_t)b->npages * b->page_size;
        w->secno = b->secno;
        w->off = b->off;
        w->type = HS_SEC_MEMORY;
        const struct block *p = i ? &w->blocks[i - 1] : NULL;
        if (p && b->seq == p->seq) {
            if (b->block_no != p->block_no + 1 || b->addr != sp[n - 1].end ||
                b->page_size != p->page_size || b->flags != p->flags) {
                sec_err(w, "block %u of range %u does not continue block %u at 0x%llx "
                        "(section %zu)", b->block_no, b->seq, p->block_no,
                        (unsigned long long)sp[n - 1].end, p->secno);
                goto out;
            }
            sp[n - 1].n++;
            sp[n - 1].end = bend;
            continue;
        }
        if (b->block_no != 0 || (p && b->seq < p->seq)) {
            sec_err(w, "block %u of range %u, but the range's previous block is missing",
                    b->block_no, b->seq);
            goto out;
        }
        sp[n++] = (struct span){i, 1, b->addr, bend};
    }
    /* However little space the blocks take in the file, the memory they
     * describe is mapped: keep a forged file from asking for more than an
     * x86_64 address space holds. */
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += sp[i].end - sp[i].start;
        if (total > HSL_MEM_TOTAL_MAX || total < sp[i].end - sp[i].start) {
            set_err(w->err, "%s: the memory blocks describe more than %llu bytes in all",
                    w->name, (unsigned long long)HSL_MEM_TOTAL_MAX);
            goto out;
        }
    }
    qsort(sp, n, sizeof *sp, cmp_span);
    for (size_t i = 1; i < n; i++) {
        if (sp[i].start < sp[i - 1].end) {
            const struct block *b = &w->blocks[sp[i].first];
            w->secno = b->secno;
            w->off = b->off;
            sec_err(w, "memory 0x%llx-0x%llx overlaps 0x%llx-0x%llx (section %zu)",
                    (unsigned long long)sp[i].start, (unsigned long long)sp[i].end,
                    (unsigned long long)sp[i - 1].start, (unsigned long long)sp[i - 1].end,
                    w->blocks[sp[i - 1].first].secno);
            goto out;
        }
    }
    s->store = calloc(n, sizeof *s->store);
    s->ranges = calloc(n, sizeof *s->ranges);
    if (!s->store || !s->ranges) {
        set_err(w->err, "%s: out of memory", w->name);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct hs_range_store *st = &s->store[i];
        const struct block *b0 = &w->blocks[sp[i].first];
        uint64_t bytes = sp[i].end - sp[i].start;
        uint64_t npages = bytes / b0->page_size;
        s->nranges++;
        st->r.start = sp[i].start;
        st->r.end = sp[i].end;
        st->r.flags = b0->flags;
        st->r.page_size = b0->page_size;
        st->states = malloc((size_t)npages);
        if (!st->states || bytes > SIZE_MAX) {
            set_err(w->err, "%s: out of memory for the %llu page states of 0x%llx-0x%llx",
                    w->name, (unsigned long long)npages, (unsigned long long)sp[i].start,
                    (unsigned long long)sp[i].end);
            goto out;
        }
        st->r.page_state = st->states;
        if (!(w->flags & HS_OPEN_METADATA_ONLY)) {
            void *m = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (m == MAP_FAILED) {
                set_err(w->err, "%s: cannot map %llu bytes for memory 0x%llx-0x%llx: %s",
                        w->name, (unsigned long long)bytes, (unsigned long long)sp[i].start,
                        (unsigned long long)sp[i].end, strerror(errno));
                goto out;
            }
            st->map = m;
            st->map_len = (size_t)bytes;
            st->r.data = m;
        }
        for (size_t k = 0; k < sp[i].n; k++) {
            const struct block *b = &w->blocks[sp[i].first + k];
            size_t at = (size_t)(b->addr - sp[i].start);
            memcpy(st->states + at / b->page_size, b->states, b->npages);
            if (st->map && b->body_raw)
                jobs[njobs++] = (struct place_job){b, st->map + at, 0};
        }
        s->ranges[i] = st->r;
    }
    if (place_all(w, jobs, njobs) < 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (s->store[i].map) /* the snapshot is read-only */
            mprotect(s->store[i].map, s->store[i].map_len, PROT_READ);
    rc = 0;
out:
    free(jobs);
    free(sp);
    return rc;
}

/* ------------------------------------------------------------- entry */

struct hs_snapshot *hs_parse(const uint8_t *buf, size_t len, const char *name, unsigned flags,
                             int verify, FILE *log, struct hs_error *err)
{
    struct hs_snapshot *s = calloc(1, sizeof *s);
    struct walk w = {.buf = buf, .len = len, .name = name, .flags = flags, .verify = verify,
                     .log = log, .err = err, .s = s};
    if (!s || !(s->path = strdup(name))) {
        set_err(err, "%s: out of memory", name);
        free(s);
        return NULL;
    }
    int r = walk_sections(&w);
    if (r == 0 && verify && s->truncated)
        r = -1;
    if (r == 0 && !s->have_process) {
        if (s->truncated)
            set_err(err, "%s", s->warning ? s->warning : "truncated");
        else
            set_err(err, "%s: no process section", name);
        r = -1;
    }
    if (r == 0 && !verify)
        r = build_ranges(&w);
    if (r == 0 && verify) {
        /* The ranges must still fit together; build them without memory. */
        w.flags |= HS_OPEN_METADATA_ONLY;
        r = build_ranges(&w);
    }
    ZSTD_freeDCtx(w.dctx);
    free(w.scratch);
    free(w.blocks);
    free(w.secs);
    if (r < 0) {
        hs_close(s);
        return NULL;
    }
    return s;
}

struct hs_snapshot *hs_open(const char *path, unsigned flags, struct hs_error *err)
{
    const uint8_t *buf;
    size_t len;
    int mapped;
    if (hs_load(path, &buf, &len, &mapped, err) < 0)
        return NULL;
    struct hs_snapshot *s = hs_parse(buf, len, strcmp(path, "-") ? path : "(stdin)", flags, 0,
                                     NULL, err);
    hs_unload(buf, len, mapped);
    return s;
}

struct hs_snapshot *hs_open_memory(const void *buf, size_t len, const char *name, unsigned flags,
                                   struct hs_error *err)
{
    /* Nothing returned points into buf, so it need not be copied. */
    return hs_parse(buf, len, name ? name : "(memory)", flags, 0, NULL, err);
}

void hs_close(struct hs_snapshot *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nranges; i++) {
        if (s->store[i].map)
            munmap(s->store[i].map, s->store[i].map_len);
        free(s->store[i].states);
    }
    free(s->store);
    free(s->ranges);
    free(s->mappings);
    free(s->modules);
    free(s->threads);
    hs_arena_free(s);
    free(s->warning);
    free(s->path);
    free(s);
}
