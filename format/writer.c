/*
 * writer.c — the writer half of the .hsnap library (see hsnap.h for the
 * interface and docs/format.md for the bytes): output, section framing,
 * the metadata sections, and the index and footer.  Memory blocks are in
 * wmemory.c.
 *
 * The writer only ever appends: the file header, then one section per
 * hs_write_* call (several for memory), then at hs_writer_finish() the
 * index of every section and the footer.  It never seeks, so the output
 * can be a pipe.  Output goes through a 1 MiB buffer; payloads larger than
 * that go straight to write(2).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "encode.h"
#include "writer.h"

int hs_writer_fail(struct hs_writer *w, const char *fmt, ...)
{
    if (!w->failed) {
        char msg[400];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        snprintf(w->err, sizeof w->err, "%s: %s", w->name, msg);
        w->failed = 1;
    }
    return -1;
}

/* ------------------------------------------------------------- output */

static int write_all(struct hs_writer *w, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = write(w->fd, p, n > (1u << 30) ? (1u << 30) : n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                /* A non-blocking pipe or socket handed to us: wait, don't fail. */
                struct pollfd pfd = {w->fd, POLLOUT, 0};
                if (poll(&pfd, 1, -1) >= 0 || errno == EINTR)
                    continue;
            }
            return hs_writer_fail(w, "write at offset %llu: %s",
                                  (unsigned long long)w->written, strerror(errno));
        }
        if (r == 0)
            return hs_writer_fail(w, "write at offset %llu: wrote nothing",
                                  (unsigned long long)w->written);
        p += r;
        n -= (size_t)r;
        w->written += (uint64_t)r;
    }
    return 0;
}

static int flush(struct hs_writer *w)
{
    if (w->olen && write_all(w, w->obuf, w->olen) < 0)
        return -1;
    w->olen = 0;
    return 0;
}

static int emit(struct hs_writer *w, const void *p, size_t n)
{
    if (w->failed)
        return -1;
    if (n == 0)
        return 0;
    if (n > HSW_OUT_BUF - w->olen) {
        if (flush(w) < 0)
            return -1;
        if (n >= HSW_OUT_BUF) {
            if (write_all(w, p, n) < 0)
                return -1;
            w->off += n;
            return 0;
        }
    }
    memcpy(w->obuf + w->olen, p, n);
    w->olen += n;
    w->off += n;
    return 0;
}

int hs_writer_emit_section(struct hs_writer *w, uint32_t type, uint32_t flags, const void *plain,
                           size_t plain_len, const void *body, size_t body_len, uint64_t raw_len,
                           uint32_t crc)
{
    if (w->failed)
        return -1;
    if (plain_len > UINT32_MAX)
        return hs_writer_fail(w, "%s section: plain part too long", hs_section_name(type));
    if (w->nidx == w->cidx) {
        size_t c = w->cidx ? w->cidx * 2 : 64;
        struct idx_ent *n = realloc(w->idx, c * sizeof *n);
        if (!n)
            return hs_writer_fail(w, "out of memory");
        w->idx = n;
        w->cidx = c;
    }
    uint8_t h[HSL_SEC_HDR_LEN];
    hs_st32(h + 0, HSL_SEC_MAGIC);
    hs_st32(h + 4, type);
    hs_st32(h + 8, flags);
    hs_st32(h + 12, (uint32_t)plain_len);
    hs_st64(h + 16, plain_len + body_len);
    hs_st64(h + 24, raw_len);
    hs_st32(h + 32, crc);
    hs_st32(h + 36, hs_crc32c(0, h, 36));
    w->idx[w->nidx++] = (struct idx_ent){type, flags, w->off, plain_len + body_len, raw_len};
    if (emit(w, h, sizeof h) < 0 || emit(w, plain, plain_len) < 0 || emit(w, body, body_len) < 0)
        return -1;
    return 0;
}

/* A section whose payload is compressed whole (metadata, tests). */
static int emit_whole(struct hs_writer *w, uint32_t type, const void *payload, size_t len,
                      int compress)
{
    if (w->failed)
        return -1;
    const void *body = payload;
    size_t body_len = len;
    uint32_t flags = 0;
    if (compress && len > 0 && w->level > 0) {
        size_t bound = ZSTD_compressBound(len);
        if (bound > w->zcap) {
            uint8_t *z = realloc(w->zbuf, bound);
            if (!z)
                return hs_writer_fail(w, "out of memory");
            w->zbuf = z;
            w->zcap = bound;
        }
        size_t r = ZSTD_compressCCtx(w->cctx, w->zbuf, w->zcap, payload, len, w->level);
        if (ZSTD_isError(r))
            return hs_writer_fail(w, "%s section: zstd: %s", hs_section_name(type),
                                  ZSTD_getErrorName(r));
        if (r < len) {
            body = w->zbuf;
            body_len = r;
            flags = HSL_SF_ZSTD;
        }
    }
    return hs_writer_emit_section(w, type, flags, NULL, 0, body, body_len, len,
                                  hs_crc32c(0, body, body_len));
}

/* ------------------------------------------------------------- open */

struct hs_writer *hs_writer_open(int fd, const char *name, int zstd_level, struct hs_error *err)
{
    struct hs_writer *w = calloc(1, sizeof *w);
    if (w) {
        w->name = strdup(name ? name : "(output)");
        w->obuf = malloc(HSW_OUT_BUF);
        w->cctx = ZSTD_createCCtx();
        w->job[0].cctx = ZSTD_createCCtx();
    }
    if (!w || !w->name || !w->obuf || !w->cctx || !w->job[0].cctx) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "%s: out of memory", name ? name : "(output)");
        hs_writer_abort(w);
        return NULL;
    }
    w->fd = fd;
    if (zstd_level < 0)
        zstd_level = 0; /* 0: store */
    if (zstd_level > ZSTD_maxCLevel())
        zstd_level = ZSTD_maxCLevel();
    w->level = zstd_level;
    w->threads = 1;
    const char *t = getenv("HSNAP_WRITER_THREADS");
    if ((!t || atoi(t) != 1) && sysconf(_SC_NPROCESSORS_ONLN) >= 2)
        w->threads = 2;

    uint8_t h[HSL_FILE_HDR_LEN];
    memcpy(h, HS_MAGIC, HS_MAGIC_LEN);
    hs_st16(h + 8, HS_VERSION_MAJOR);
    hs_st16(h + 10, HS_VERSION_MINOR);
    hs_st32(h + 12, HSL_FILE_HDR_LEN);
    hs_st32(h + 16, 0);
    hs_st32(h + 20, hs_crc32c(0, h, 20));
    emit(w, h, sizeof h);
    return w;
}

const char *hs_writer_error(const struct hs_writer *w)
{
    return w && w->failed ? w->err : NULL;
}

/* ------------------------------------------------------------- metadata */

/* Shared tail of the metadata writers: check the payload and emit it. */
static int emit_meta(struct hs_writer *w, uint32_t type, struct hs_buf *b)
{
    int r;
    if (b->failed == 2)
        r = hs_writer_fail(w,
                           "%s section: a string or blob longer than the %u bytes a reader accepts",
                           hs_section_name(type), HSL_STR_MAX);
    else if (b->failed)
        r = hs_writer_fail(w, "%s section: out of memory", hs_section_name(type));
    else if (b->len > HSL_META_MAX)
        r = hs_writer_fail(w, "%s section: %zu bytes is more than a reader accepts (%u)",
                           hs_section_name(type), b->len, HSL_META_MAX);
    else
        r = emit_whole(w, type, b->p, b->len, 1);
    hs_buf_free(b);
    return r;
}

int hs_write_process(struct hs_writer *w, const struct hs_process *p)
{
    if (w->failed)
        return -1;
    if (w->have_process)
        return hs_writer_fail(w, "hs_write_process called twice");
    struct hs_buf b = {0};
    hs_buf_u32(&b, 1);
    hs_buf_u32(&b, 0);
    size_t m = hs_buf_begin(&b);
    hs_buf_u32(&b, (uint32_t)p->pid);
    hs_buf_u16(&b, p->machine);
    hs_buf_u16(&b, p->policy);
    hs_buf_u32(&b, p->flags);
    hs_buf_u32(&b, p->page_size);
    hs_buf_u64(&b, p->capture_time_ns);
    hs_buf_str(&b, p->exe, HSL_STR_MAX);
    hs_buf_str(&b, p->kernel_release, HSL_STR_MAX);
    hs_buf_str(&b, p->hostname, HSL_STR_MAX);
    hs_buf_u32(&b, p->argc);
    for (uint32_t i = 0; i < p->argc; i++)
        hs_buf_str(&b, p->argv ? p->argv[i] : NULL, HSL_STR_MAX);
    hs_buf_u32(&b, p->auxv_count);
    for (uint64_t i = 0; i < 2 * (uint64_t)p->auxv_count; i++)
        hs_buf_u64(&b, p->auxv ? p->auxv[i] : 0);
    hs_buf_end(&b, m);
    int r = emit_meta(w, HS_SEC_PROCESS, &b);
    if (r == 0)
        w->have_process = 1;
    return r;
}

static int count_ok(struct hs_writer *w, uint32_t type, size_t n)
{
    if (n > UINT32_MAX)
        return hs_writer_fail(w, "%s section: %zu records is too many", hs_section_name(type), n);
    return 0;
}

int hs_write_mappings(struct hs_writer *w, const struct hs_mapping *m, size_t n)
{
    if (w->failed || count_ok(w, HS_SEC_MAPPINGS, n) < 0)
        return -1;
    struct hs_buf b = {0};
    hs_buf_u32(&b, (uint32_t)n);
    hs_buf_u32(&b, 0);
    for (size_t i = 0; i < n; i++) {
        const struct hs_mapping *x = &m[i];
        size_t mk = hs_buf_begin(&b);
        hs_buf_u64(&b, x->start);
        hs_buf_u64(&b, x->end);
        hs_buf_u64(&b, x->offset);
        hs_buf_u64(&b, x->inode);
        hs_buf_u32(&b, x->dev_major);
        hs_buf_u32(&b, x->dev_minor);
        hs_buf_u32(&b, x->flags);
        hs_buf_str(&b, x->path, HSL_STR_MAX);
        hs_buf_u64(&b, x->rss);
        hs_buf_u64(&b, x->pss);
        hs_buf_u64(&b, x->private_clean);
        hs_buf_u64(&b, x->private_dirty);
        hs_buf_u64(&b, x->shared_clean);
        hs_buf_u64(&b, x->shared_dirty);
        hs_buf_u64(&b, x->swap);
        hs_buf_u64(&b, x->anonymous);
        hs_buf_u64(&b, x->anon_huge);
        hs_buf_str(&b, x->vmflags, HSL_STR_MAX);
        hs_buf_u64(&b, x->lazyfree); /* 1.2 */
        hs_buf_end(&b, mk);
    }
    return emit_meta(w, HS_SEC_MAPPINGS, &b);
}

int hs_write_modules(struct hs_writer *w, const struct hs_module *m, size_t n)
{
    if (w->failed || count_ok(w, HS_SEC_MODULES, n) < 0)
        return -1;
    struct hs_buf b = {0};
    hs_buf_u32(&b, (uint32_t)n);
    hs_buf_u32(&b, 0);
    for (size_t i = 0; i < n; i++) {
        const struct hs_module *x = &m[i];
        if (x->build_id_len > sizeof x->build_id) {
            hs_buf_free(&b);
            return hs_writer_fail(w, "module %zu: build_id_len %u is more than %zu", i,
                                  x->build_id_len, sizeof x->build_id);
        }
        size_t mk = hs_buf_begin(&b);
        hs_buf_str(&b, x->path, HSL_STR_MAX);
        hs_buf_u64(&b, x->base);
        hs_buf_u64(&b, x->lowest);
        hs_buf_blob(&b, x->build_id, x->build_id_len, sizeof x->build_id);
        hs_buf_blob(&b, x->ehdr, x->ehdr ? x->ehdr_len : 0, HSL_STR_MAX);
        hs_buf_blob(&b, x->phdrs, x->phdrs ? x->phdrs_len : 0, HSL_STR_MAX);
        hs_buf_end(&b, mk);
    }
    return emit_meta(w, HS_SEC_MODULES, &b);
}

int hs_write_threads(struct hs_writer *w, const struct hs_thread *t, size_t n)
{
    if (w->failed || count_ok(w, HS_SEC_THREADS, n) < 0)
        return -1;
    struct hs_buf b = {0};
    hs_buf_u32(&b, (uint32_t)n);
    hs_buf_u32(&b, 0);
    for (size_t i = 0; i < n; i++) {
        const struct hs_thread *x = &t[i];
        size_t mk = hs_buf_begin(&b);
        hs_buf_u32(&b, (uint32_t)x->tid);
        hs_buf_u8(&b, (uint8_t)x->state);
        char name[HSL_THREAD_NAME] = {0};
        memcpy(name, x->name, sizeof name - 1); /* always NUL-terminated on disk */
        hs_buf_bytes(&b, name, sizeof name);
        hs_buf_u64(&b, x->stack_start);
        hs_buf_u64(&b, x->stack_end);
        hs_buf_u32(&b, HS_NREGS);
        for (int r = 0; r < HS_NREGS; r++)
            hs_buf_u64(&b, x->regs[r]);
        hs_buf_str(&b, x->regs_error, sizeof x->regs_error - 1); /* 1.1 */
        hs_buf_end(&b, mk);
    }
    return emit_meta(w, HS_SEC_THREADS, &b);
}

int hs_write_stats(struct hs_writer *w, const struct hs_stats *s)
{
    if (w->failed)
        return -1;
    if (w->have_stats)
        return hs_writer_fail(w, "hs_write_stats called twice");
    struct hs_buf b = {0};
    hs_buf_u32(&b, 1);
    hs_buf_u32(&b, 0);
    size_t mk = hs_buf_begin(&b);
    hs_buf_u64(&b, s->pause_ns);
    hs_buf_u64(&b, s->total_ns);
    hs_buf_u64(&b, s->bytes_read);
    hs_buf_u64(&b, s->bytes_zero);
    hs_buf_u64(&b, s->bytes_absent);
    hs_buf_u64(&b, s->bytes_swapped);
    hs_buf_u64(&b, s->bytes_unreadable);
    hs_buf_u32(&b, s->threads);
    hs_buf_u32(&b, s->mode);
    hs_buf_u32(&b, s->nfailures);
    for (uint32_t i = 0; i < s->nfailures; i++) {
        const struct hs_failure *f = &s->failures[i];
        size_t fm = hs_buf_begin(&b);
        hs_buf_u64(&b, f->start);
        hs_buf_u64(&b, f->end);
        hs_buf_u32(&b, (uint32_t)f->err);
        hs_buf_str(&b, f->reason, HSL_STR_MAX);
        hs_buf_end(&b, fm);
    }
    hs_buf_str(&b, s->mode_reason ? s->mode_reason : "", HSL_STR_MAX); /* 1.1 */
    hs_buf_end(&b, mk);
    int r = emit_meta(w, HS_SEC_STATS, &b);
    if (r == 0)
        w->have_stats = 1;
    return r;
}

int hs_write_section(struct hs_writer *w, uint32_t type, const void *payload, size_t len,
                     int compress)
{
    if (w->failed)
        return -1;
    if (type == HS_SEC_INDEX)
        return hs_writer_fail(w, "hs_write_section: the index is written by hs_writer_finish");
    return emit_whole(w, type, payload, len, compress);
}

/* ------------------------------------------------------------- finish */

static void writer_free(struct hs_writer *w)
{
    if (!w)
        return;
    hs_writer_free_blocks(w);
    ZSTD_freeCCtx(w->cctx);
    free(w->zbuf);
    free(w->idx);
    free(w->obuf);
    free(w->name);
    free(w);
}

int hs_writer_finish(struct hs_writer *w, struct hs_error *err)
{
    if (!w->failed) {
        struct hs_buf b = {0};
        hs_buf_u32(&b, (uint32_t)w->nidx);
        hs_buf_u32(&b, 0);
        for (size_t i = 0; i < w->nidx; i++) {
            hs_buf_u32(&b, w->idx[i].type);
            hs_buf_u32(&b, w->idx[i].flags);
            hs_buf_u64(&b, w->idx[i].offset);
            hs_buf_u64(&b, w->idx[i].stored);
            hs_buf_u64(&b, w->idx[i].raw);
        }
        uint64_t index_off = w->off;
        if (b.failed || w->nidx > UINT32_MAX)
            hs_writer_fail(w, "index: out of memory");
        else if (!w->have_process)
            hs_writer_fail(w, "no process section was written (hs_write_process)");
        else
            hs_writer_emit_section(w, HS_SEC_INDEX, 0, NULL, 0, b.p, b.len, b.len,
                                   hs_crc32c(0, b.p, b.len));
        hs_buf_free(&b);
        uint8_t f[HSL_FOOTER_LEN];
        hs_st64(f, index_off);
        hs_st32(f + 8, 0);
        memcpy(f + 16, HSL_END_MAGIC, 8);
        hs_st32(f + 12, hs_crc32c(hs_crc32c(0, f, 12), f + 16, 8));
        emit(w, f, sizeof f);
        flush(w);
    }
    int r = w->failed ? -1 : 0;
    if (r && err)
        snprintf(err->msg, sizeof err->msg, "%s", w->err);
    writer_free(w);
    return r;
}

uint64_t hs_writer_bytes(const struct hs_writer *w)
{
    return w->off;
}

void hs_writer_abort(struct hs_writer *w)
{
    if (w && !w->failed)
        flush(w); /* what was written stays a readable, truncated snapshot */
    writer_free(w);
}
