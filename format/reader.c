/*
 * reader.c — the reader half of the .hsnap library: walk a file image
 * section by section, check everything, decode the metadata, and open
 * snapshots (see hsnap.h for the interface, docs/format.md for the bytes).
 *
 * The walk is sequential from the file header to the footer.  Each section
 * header and payload is checksummed before anything in it is believed.
 * Metadata is decoded as it is met (decode.c); memory blocks are only noted
 * on the way and materialised afterwards (materialise.c).  The walk is
 * shared with hs_verify() (verify.c), which decompresses every block into a
 * scratch buffer instead and treats truncation as an error.
 *
 * A file that ends early is not an error as long as its process section
 * was read: the snapshot then holds everything before the cut and says
 * where it was cut.  A file whose bytes are wrong (bad checksum, bad
 * structure) is an error: nothing from it is returned.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "walk.h"

void hs_set_err(struct hs_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

int hs_sec_err(struct walk *w, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    hs_set_err(w->err, "%s: section %zu (%s) at offset %llu: %s", w->name, w->secno,
               hs_section_name(w->type), (unsigned long long)w->off, what);
    return -1;
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
        hs_set_err(w->err, "%s", msg);
    return 0;
}

static int push_sec(struct walk *w, uint32_t type, uint32_t flags, uint64_t stored, uint64_t raw)
{
    if (w->nsecs == w->csecs) {
        size_t c = w->csecs ? 2 * w->csecs : 64;
        struct sec_ent *n = realloc(w->secs, c * sizeof *n);
        if (!n)
            return hs_sec_err(w, "out of memory");
        w->secs = n;
        w->csecs = c;
    }
    w->secs[w->nsecs++] = (struct sec_ent){type, flags, w->off, stored, raw};
    return 0;
}

int hs_unzstd_with(struct walk *w, ZSTD_DCtx *dctx, void *dst, size_t raw, const uint8_t *src,
                   size_t n)
{
    size_t r = ZSTD_decompressDCtx(dctx, dst, raw, src, n);
    if (ZSTD_isError(r))
        return w ? hs_sec_err(w, "zstd: %s (payload of %zu bytes, %zu expected out)",
                              ZSTD_getErrorName(r), n, raw)
                 : -1;
    if (r != raw)
        return w ? hs_sec_err(w, "decompressed to %zu bytes; the header says %zu", r, raw) : -1;
    return 0;
}

static int unzstd(struct walk *w, void *dst, size_t raw, const uint8_t *src, size_t n)
{
    if (!w->dctx && !(w->dctx = ZSTD_createDCtx()))
        return hs_sec_err(w, "out of memory");
    return hs_unzstd_with(w, w->dctx, dst, raw, src, n);
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
        return hs_sec_err(w, "plain length %u; metadata sections have none", plain);
    if (raw > HSL_META_MAX)
        return hs_sec_err(w, "raw length %llu is more than the %u a metadata section may have",
                          (unsigned long long)raw, HSL_META_MAX);
    if ((w->type == HS_SEC_PROCESS && s->have_process) ||
        (w->type == HS_SEC_STATS && s->have_stats))
        return hs_sec_err(w, "a second %s section", hs_section_name(w->type));
    const uint8_t *p = pay;
    if (zstd) {
        uint8_t *d = scratch(w, (size_t)raw);
        if (!d)
            return hs_sec_err(w, "out of memory");
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
    return r < 0 ? hs_sec_err(w, "%s", why) : 0;
}

static int memory(struct walk *w, const uint8_t *pay, uint64_t stored, uint64_t raw, int zstd,
                  uint32_t plain)
{
    if (plain < HSL_MEM_HDR_LEN || plain > stored)
        return hs_sec_err(w,
                          "plain length %u is not a memory block header (%u bytes + states) "
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
        return hs_sec_err(w, "page size %u is not a power of two in [%u, %u]", b.page_size,
                          HSL_PAGE_MIN, HSL_PAGE_MAX);
    if (b.npages == 0 || b.npages > HS_BLOCK_PAGES)
        return hs_sec_err(w, "%u pages; a block holds 1 to %u", b.npages, HS_BLOCK_PAGES);
    if (b.flags & ~HSL_MEM_FLAGS_KNOWN)
        return hs_sec_err(w, "unknown memory flags 0x%x", b.flags);
    if ((uint64_t)b.npages * b.page_size > UINT64_MAX - b.addr) /* end must fit in a u64 */
        return hs_sec_err(w, "block at 0x%llx runs past the end of the address space",
                          (unsigned long long)b.addr);
    if (plain != HSL_MEM_HDR_LEN + b.npages)
        return hs_sec_err(w, "plain length %u; %u pages need %u", plain, b.npages,
                          HSL_MEM_HDR_LEN + b.npages);
    b.states = pay + HSL_MEM_HDR_LEN;
    uint32_t ndata = 0;
    for (uint32_t i = 0; i < b.npages; i++) {
        if (b.states[i] > HS_PAGE_UNREADABLE)
            return hs_sec_err(w, "page %u (0x%llx) has invalid state %u", i,
                              (unsigned long long)(b.addr + (uint64_t)i * b.page_size),
                              b.states[i]);
        ndata += b.states[i] == HS_PAGE_DATA;
    }
    if (ndata != b.ndata)
        return hs_sec_err(w, "header says %u data pages, the states say %u", b.ndata, ndata);
    b.body_raw = (size_t)ndata * b.page_size;
    if (raw != plain + (uint64_t)b.body_raw)
        return hs_sec_err(w, "raw length %llu; %u data pages of %u bytes need %llu",
                          (unsigned long long)raw, ndata, b.page_size,
                          (unsigned long long)(plain + (uint64_t)b.body_raw));
    b.body = pay + plain;
    b.body_len = (size_t)(stored - plain);
    b.zstd = zstd;
    if (zstd && b.body_raw == 0)
        return hs_sec_err(w, "compressed, but has no data pages");
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
                return hs_sec_err(w, "out of memory");
            if (unzstd(w, d, b.body_raw, b.body, b.body_len) < 0)
                return -1;
        }
    }
    if (w->nblocks == w->cblocks) {
        size_t c = w->cblocks ? 2 * w->cblocks : 256;
        struct block *n = realloc(w->blocks, c * sizeof *n);
        if (!n)
            return hs_sec_err(w, "out of memory");
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
        return hs_sec_err(w, "plain length %u is more than the payload (%llu)", plain,
                          (unsigned long long)stored);
    if (raw < plain || raw - plain > HSL_META_MAX)
        return 0;
    uint8_t *d = scratch(w, (size_t)(raw - plain));
    if (!d)
        return hs_sec_err(w, "out of memory");
    return unzstd(w, d, (size_t)(raw - plain), pay + plain, (size_t)(stored - plain));
}

/* The index (whose header starts at w->off) and the footer after it. */
static int index_and_footer(struct walk *w, const uint8_t *pay, uint64_t stored, uint64_t raw,
                            int zstd, uint32_t plain)
{
    if (plain || zstd)
        return hs_sec_err(w, "the index is never compressed and has no plain part");
    if (raw < HSL_INDEX_HDR_LEN)
        return hs_sec_err(w, "%llu bytes is shorter than the index header",
                          (unsigned long long)raw);
    uint32_t count = hs_ld32(pay);
    if (count != (raw - HSL_INDEX_HDR_LEN) / HSL_INDEX_ENT_LEN ||
        (raw - HSL_INDEX_HDR_LEN) % HSL_INDEX_ENT_LEN)
        return hs_sec_err(w, "%u entries do not fill %llu bytes", count, (unsigned long long)raw);
    if (count != w->nsecs)
        return hs_sec_err(w, "lists %u sections; the file has %zu before it", count, w->nsecs);
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = pay + HSL_INDEX_HDR_LEN + (size_t)i * HSL_INDEX_ENT_LEN;
        const struct sec_ent *x = &w->secs[i];
        if (hs_ld32(e) != x->type || hs_ld32(e + 4) != x->flags || hs_ld64(e + 8) != x->offset ||
            hs_ld64(e + 16) != x->stored || hs_ld64(e + 24) != x->raw)
            return hs_sec_err(w,
                              "entry %u (type %u at offset %llu) does not match section %u "
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
        hs_set_err(w->err, "%s: footer at offset %llu: bad end magic", w->name,
                   (unsigned long long)foot);
        return -1;
    }
    uint32_t crc = hs_crc32c(hs_crc32c(0, f, 12), f + 16, 8);
    if (crc != hs_ld32(f + 12)) {
        hs_set_err(w->err,
                   "%s: footer at offset %llu: checksum mismatch (stored 0x%08x, computed "
                   "0x%08x)",
                   w->name, (unsigned long long)foot, hs_ld32(f + 12), crc);
        return -1;
    }
    if (hs_ld64(f) != w->off) {
        hs_set_err(w->err,
                   "%s: footer at offset %llu: points at the index at %llu, but it is at %llu",
                   w->name, (unsigned long long)foot, (unsigned long long)hs_ld64(f),
                   (unsigned long long)w->off);
        return -1;
    }
    if (left > HSL_FOOTER_LEN) {
        hs_set_err(w->err, "%s: %zu bytes of garbage after the footer at offset %llu", w->name,
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
        hs_set_err(w->err, "%s: not a heapsnap snapshot (no HSNAP magic at offset 0)", w->name);
        return -1;
    }
    if (n < 16) {
        hs_set_err(w->err, "%s: truncated at offset %zu: inside the file header", w->name, n);
        return -1;
    }
    unsigned major = hs_ld16(b + 8), minor = hs_ld16(b + 10);
    if (major > HS_VERSION_MAJOR) {
        hs_set_err(w->err,
                   "%s: format version %u.%u is newer than this heapsnap understands (%u.x); "
                   "upgrade heapsnap",
                   w->name, major, minor, HS_VERSION_MAJOR);
        return -1;
    }
    if (major < 1) {
        hs_set_err(w->err, "%s: format version %u.%u is not supported", w->name, major, minor);
        return -1;
    }
    uint32_t len = hs_ld32(b + 12);
    if (len < HSL_FILE_HDR_LEN || len > HSL_FILE_HDR_MAX || len % 4) {
        hs_set_err(w->err,
                   "%s: file header at offset 0: header length %u is not a multiple of 4 "
                   "in [%u, %u]",
                   w->name, len, HSL_FILE_HDR_LEN, HSL_FILE_HDR_MAX);
        return -1;
    }
    if (len > n) {
        hs_set_err(w->err, "%s: truncated at offset %zu: inside the %u-byte file header", w->name,
                   n, len);
        return -1;
    }
    uint32_t crc = hs_crc32c(0, b, len - 4);
    if (crc != hs_ld32(b + len - 4)) {
        hs_set_err(w->err,
                   "%s: file header at offset 0: checksum mismatch (stored 0x%08x, "
                   "computed 0x%08x)",
                   w->name, hs_ld32(b + len - 4), crc);
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
        hs_set_err(w->err, "%s: empty file: not a heapsnap snapshot", w->name);
        return -1;
    }
    if (file_header(w, &off) < 0)
        return -1;
    for (w->secno = 1;; w->secno++) {
        w->off = off;
        w->type = 0;
        size_t left = w->len - off;
        if (left == 0)
            return truncated(w, "the file ends after section %zu, before the index", w->secno - 1);
        if (left < HSL_SEC_HDR_LEN)
            return truncated(w, "section %zu at offset %zu has %zu of its %u header bytes",
                             w->secno, off, left, HSL_SEC_HDR_LEN);
        const uint8_t *h = w->buf + off;
        uint32_t hcrc = hs_crc32c(0, h, 36);
        if (hs_ld32(h) != HSL_SEC_MAGIC)
            return hs_sec_err(w, "no section magic (found 0x%08x)", hs_ld32(h));
        if (hcrc != hs_ld32(h + 36))
            return hs_sec_err(w, "header checksum mismatch (stored 0x%08x, computed 0x%08x)",
                              hs_ld32(h + 36), hcrc);
        w->type = hs_ld32(h + 4);
        uint32_t flags = hs_ld32(h + 8), plain = hs_ld32(h + 12);
        uint64_t stored = hs_ld64(h + 16), raw = hs_ld64(h + 24);
        if (stored > left - HSL_SEC_HDR_LEN)
            return truncated(w,
                             "section %zu (%s) at offset %zu has %zu of its %llu payload "
                             "bytes",
                             w->secno, hs_section_name(w->type), off, left - HSL_SEC_HDR_LEN,
                             (unsigned long long)stored);
        const uint8_t *pay = h + HSL_SEC_HDR_LEN;
        uint32_t crc = hs_crc32c(0, pay, (size_t)stored);
        if (crc != hs_ld32(h + 32))
            return hs_sec_err(w, "payload checksum mismatch (stored 0x%08x, computed 0x%08x)",
                              hs_ld32(h + 32), crc);
        int known = w->type >= HS_SEC_PROCESS && w->type <= HS_SEC_FILE;
        if (known && (flags & ~HSL_SF_KNOWN))
            return hs_sec_err(w, "unknown section flags 0x%x", flags);
        int zstd = (flags & HSL_SF_ZSTD) != 0;
        if (known && !zstd && stored != raw)
            return hs_sec_err(w,
                              "uncompressed, but stored length %llu differs from raw length %llu",
                              (unsigned long long)stored, (unsigned long long)raw);
        if (w->log)
            fprintf(w->log,
                    "section %zu at offset %zu: %s (type %u), %llu bytes stored, %llu raw%s, "
                    "checksums ok\n",
                    w->secno, off, hs_section_name(w->type), w->type, (unsigned long long)stored,
                    (unsigned long long)raw, zstd ? ", zstd" : "");
        int r;
        switch (w->type) {
        case HS_SEC_INDEX: return index_and_footer(w, pay, stored, raw, zstd, plain);
        case HS_SEC_MEMORY: r = memory(w, pay, stored, raw, zstd, plain); break;
        case HS_SEC_FILE: r = hs_file_section(w, pay, stored, raw, zstd, plain); break;
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

/* ------------------------------------------------------------- entry */

/* hs_parse(), and with each, hs_parse_blocks()'s call on the walk before
 * it is freed (its result in *each_rc). */
static struct hs_snapshot *parse(const uint8_t *buf, size_t len, const char *name, unsigned flags, int verify,
                                 FILE *log, struct hs_error *err, int (*each)(struct walk *w, void *arg), void *arg,
                                 int *each_rc)
{
    struct hs_snapshot *s = calloc(1, sizeof *s);
    struct walk w = {.buf = buf,
                     .len = len,
                     .name = name,
                     .flags = flags,
                     .verify = verify,
                     .log = log,
                     .err = err,
                     .s = s};
    if (!s || !(s->path = strdup(name))) {
        hs_set_err(err, "%s: out of memory", name);
        free(s);
        return NULL;
    }
    int r = walk_sections(&w);
    if (r == 0 && verify && s->truncated)
        r = -1;
    if (r == 0 && !s->have_process) {
        if (s->truncated)
            hs_set_err(err, "%s", s->warning ? s->warning : "truncated");
        else
            hs_set_err(err, "%s: no process section", name);
        r = -1;
    }
    if (r == 0 && !verify)
        r = hs_build_ranges(&w);
    if (r == 0 && verify) {
        /* The ranges must still fit together; build them without memory. */
        w.flags |= HS_OPEN_METADATA_ONLY;
        r = hs_build_ranges(&w);
    }
    if (r == 0 && each)
        *each_rc = each(&w, arg);
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

struct hs_snapshot *hs_parse(const uint8_t *buf, size_t len, const char *name, unsigned flags,
                             int verify, FILE *log, struct hs_error *err)
{
    return parse(buf, len, name, flags, verify, log, err, NULL, NULL, NULL);
}

int hs_parse_blocks(const uint8_t *buf, size_t len, const char *name, struct hs_error *err,
                    int (*each)(struct walk *w, void *arg), void *arg)
{
    int rc = -1;
    struct hs_snapshot *s = parse(buf, len, name, HS_OPEN_METADATA_ONLY, 0, NULL, err, each, arg, &rc);
    if (!s)
        return -1;
    hs_close(s);
    return rc;
}

struct hs_snapshot *hs_open(const char *path, unsigned flags, struct hs_error *err)
{
    const uint8_t *buf;
    size_t len;
    int mapped;
    if (hs_load(path, &buf, &len, &mapped, err) < 0)
        return NULL;
    struct hs_snapshot *s =
        hs_parse(buf, len, strcmp(path, "-") ? path : "(stdin)", flags, 0, NULL, err);
    if (s && s->lazy)
        hs_lazy_keep_file(s, buf, len, mapped); /* its blocks' bodies are in it */
    else
        hs_unload(buf, len, mapped);
    return s;
}

struct hs_snapshot *hs_open_memory(const void *buf, size_t len, const char *name, unsigned flags,
                                   struct hs_error *err)
{
    name = name ? name : "(memory)";
    if (!(flags & HS_OPEN_ON_DEMAND) || (flags & HS_OPEN_METADATA_ONLY))
        return hs_parse(buf, len, name, flags, 0, NULL, err); /* nothing returned points into buf */
    /* on demand, the blocks are read later: from a copy, since buf is the caller's */
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        hs_set_err(err, "%s: out of memory", name);
        return NULL;
    }
    memcpy(copy, buf, len);
    struct hs_snapshot *s = hs_parse(copy, len, name, flags, 0, NULL, err);
    if (s && s->lazy)
        hs_lazy_keep_file(s, copy, len, 0);
    else
        free(copy);
    return s;
}

void hs_drop_memory(struct hs_snapshot *s)
{
    hs_lazy_free(s);
    for (size_t i = 0; i < s->nranges; i++) {
        if (s->store[i].map)
            munmap(s->store[i].map, s->store[i].map_len);
        s->store[i].map = NULL;
        s->store[i].map_len = 0;
        s->store[i].r.data = NULL;
        s->ranges[i].data = NULL;
    }
}

int hs_release(struct hs_snapshot *s, uint64_t start, uint64_t end)
{
    for (size_t i = hs_first_range_ending_above(s, start); i < s->nranges && s->ranges[i].start < end; i++) {
        const struct hs_mem_range *r = &s->ranges[i];
        struct hs_range_store *st = &s->store[i];
        if (!r->data || st->map != r->data)
            continue; /* on demand, or given back whole */
        uint64_t ps = r->page_size, npages = (r->end - r->start) / ps;
        uint64_t lo = start > r->start ? start : r->start, hi = end < r->end ? end : r->end;
        uint64_t first = (lo - r->start + ps - 1) / ps, last = (hi - r->start) / ps; /* [first, last) */
        if (first >= last)
            continue;
        if (!st->gone && !(st->gone = calloc((size_t)((npages + 63) / 64), sizeof *st->gone)))
            return -1;
        /* Not made PROT_NONE: each mprotect of part of a mapping splits it,
         * and a scan giving back a megabyte at a time would run out of the
         * kernel's mappings per process.  hs_read and hs_ptr refuse them. */
        madvise(st->map + first * ps, (size_t)((last - first) * ps), MADV_DONTNEED);
        for (uint64_t k = first; k < last; k++)
            st->gone[k / 64] |= 1ull << (k % 64);
    }
    return 0;
}

void hs_close(struct hs_snapshot *s)
{
    if (!s)
        return;
    hs_drop_memory(s);
    for (size_t i = 0; i < s->nranges; i++) {
        free(s->store[i].states);
        free(s->store[i].gone);
    }
    free(s->store);
    free(s->ranges);
    free(s->mappings);
    free(s->modules);
    free(s->threads);
    hs_files_free(s);
    hs_arena_free(s);
    free(s->warning);
    free(s->path);
    free(s);
}
