/*
 * files.c — files a snapshot carries (section type 8, "file"): the
 * executable and the debug files of the modules, so that a snapshot taken
 * in a container can be indexed on a laptop that has neither
 * (heapsnap-capture --with-binaries).  The writer half (hs_write_file)
 * and the reader half (hs_file_section, called by reader.c's walk) are
 * both here; docs/format.md, "Carried files (type 8)", has the bytes.
 *
 * The file's bytes are the body, one zstd frame; the plain part before it
 * says what the file is (kind, module, build-id, path), so that `info`
 * can list the files without decompressing them.  A reader older than
 * format 1.1 skips the section as unknown.
 */
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "walk.h"
#include "writer.h"

int hs_write_file(struct hs_writer *w, const struct hs_file *f, const void *data)
{
    if (w->failed)
        return -1;
    size_t plen = f->path ? strlen(f->path) : 0;
    if (f->build_id_len > sizeof f->build_id || plen > HSL_FILE_PATH_MAX || f->size > HSL_FILE_MAX)
        return hs_writer_fail(w, "file section: %s is too large to carry", f->path ? f->path : "(unnamed)");
    uint8_t plain[HSL_FILE_HDR_LEN + sizeof f->build_id + HSL_FILE_PATH_MAX];
    hs_st32(plain + 0, f->kind);
    hs_st32(plain + 4, f->module);
    hs_st64(plain + 8, f->size);
    hs_st32(plain + 16, f->build_id_len);
    hs_st32(plain + 20, (uint32_t)plen);
    memcpy(plain + HSL_FILE_HDR_LEN, f->build_id, f->build_id_len);
    if (plen)
        memcpy(plain + HSL_FILE_HDR_LEN + f->build_id_len, f->path, plen);
    size_t plain_len = HSL_FILE_HDR_LEN + f->build_id_len + plen;

    const void *body = data;
    size_t body_len = (size_t)f->size;
    uint32_t flags = 0;
    uint8_t *z = NULL;
    if (f->size) {
        size_t bound = ZSTD_compressBound((size_t)f->size);
        if (!(z = malloc(bound)))
            return hs_writer_fail(w, "file section: out of memory");
        size_t r = ZSTD_compressCCtx(w->cctx, z, bound, data, (size_t)f->size, w->level);
        if (ZSTD_isError(r)) {
            free(z);
            return hs_writer_fail(w, "file section: zstd: %s", ZSTD_getErrorName(r));
        }
        if (r < f->size) {
            body = z;
            body_len = r;
            flags = HSL_SF_ZSTD;
        }
    }
    uint32_t crc = hs_crc32c(hs_crc32c(0, plain, plain_len), body, body_len);
    int rc = hs_writer_emit_section(w, HS_SEC_FILE, flags, plain, plain_len, body, body_len,
                                    plain_len + f->size, crc);
    free(z);
    return rc;
}

int hs_file_section(struct walk *w, const uint8_t *pay, uint64_t stored, uint64_t raw, int zstd,
                    uint32_t plain)
{
    struct hs_snapshot *s = w->s;
    if (plain < HSL_FILE_HDR_LEN || plain > stored)
        return hs_sec_err(w, "plain length %u: a file section has a %u-byte header inside its payload "
                          "of %llu", plain, HSL_FILE_HDR_LEN, (unsigned long long)stored);
    struct hs_file f = {0};
    f.kind = hs_ld32(pay);
    f.module = hs_ld32(pay + 4);
    f.size = hs_ld64(pay + 8);
    f.build_id_len = hs_ld32(pay + 16);
    uint32_t plen = hs_ld32(pay + 20);
    if (f.build_id_len > sizeof f.build_id || plen > HSL_FILE_PATH_MAX ||
        (uint64_t)HSL_FILE_HDR_LEN + f.build_id_len + plen != plain)
        return hs_sec_err(w, "build-id length %u and path length %u do not fill the %u-byte header",
                          f.build_id_len, plen, plain);
    if (f.size > HSL_FILE_MAX || raw != plain + f.size)
        return hs_sec_err(w, "file of %llu bytes in a payload of %llu raw bytes (header %u)",
                          (unsigned long long)f.size, (unsigned long long)raw, plain);
    if (f.kind != HS_FILE_EXECUTABLE && f.kind != HS_FILE_DEBUG)
        return hs_sec_err(w, "unknown file kind %u", f.kind);
    memcpy(f.build_id, pay + HSL_FILE_HDR_LEN, f.build_id_len);
    char *path = hs_arena_alloc(s, plen + 1);
    if (!path)
        return hs_sec_err(w, "out of memory");
    memcpy(path, pay + HSL_FILE_HDR_LEN + f.build_id_len, plen);
    f.path = path;
    f.stored = stored - plain;

    const uint8_t *body = pay + plain;
    size_t blen = (size_t)(stored - plain);
    int want = !(w->flags & HS_OPEN_METADATA_ONLY) || w->verify;
    if (want && f.size > hs_reader_max_data)
        return hs_sec_err(w, "a carried file of %llu bytes is more than this reader may materialise",
                          (unsigned long long)f.size);
    uint8_t *d = NULL;
    if (want && f.size) {
        if (!(d = malloc((size_t)f.size)))
            return hs_sec_err(w, "out of memory for a file of %llu bytes", (unsigned long long)f.size);
        int r;
        if (!zstd) {
            r = blen == f.size ? 0 : hs_sec_err(w, "stored file of %zu bytes, %llu expected", blen,
                                                (unsigned long long)f.size);
            if (!r)
                memcpy(d, body, blen);
        } else if (!w->dctx && !(w->dctx = ZSTD_createDCtx())) {
            r = hs_sec_err(w, "out of memory");
        } else {
            r = hs_unzstd_with(w, w->dctx, d, (size_t)f.size, body, blen);
        }
        if (r) {
            free(d);
            return -1;
        }
        if (w->verify || (w->flags & HS_OPEN_METADATA_ONLY)) {
            free(d);
            d = NULL;
        }
    }
    f.data = d;
    struct hs_file *v = realloc(s->files, (s->nfiles + 1) * sizeof *v);
    if (!v) {
        free(d);
        return hs_sec_err(w, "out of memory");
    }
    s->files = v;
    s->files[s->nfiles++] = f;
    return 0;
}

const struct hs_file *hs_get_files(const struct hs_snapshot *s, size_t *n)
{
    *n = s->nfiles;
    return s->files;
}

void hs_files_free(struct hs_snapshot *s)
{
    for (size_t i = 0; i < s->nfiles; i++)
        free((void *)s->files[i].data);
    free(s->files);
    s->files = NULL;
    s->nfiles = 0;
}
