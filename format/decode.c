/*
 * decode.c — turn metadata payloads (process, mappings, modules, threads,
 * stats) back into the structs of hsnap.h.  The inverse of the encoders in
 * writer.c; docs/format.md lists the fields of each record.
 *
 * Every payload is count:u32 reserved:u32 and then count records, each
 * len:u32 + body.  A record body holds at least the fields of version 1.0;
 * bytes after them come from a newer minor and are skipped.  A count is
 * checked against the bytes left before anything is allocated (every
 * record takes at least its 4-byte length), strings are bounded and may not
 * hold a NUL, and the payload must end exactly after its last record.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "layout.h"
#include "snapshot.h"

struct arena_blk {
    struct arena_blk *next;
    size_t used, cap;
    max_align_t data[];
};

struct hs_arena {
    struct arena_blk *head;
};

void *hs_arena_alloc(struct hs_snapshot *s, size_t n)
{
    if (!s->arena && !(s->arena = calloc(1, sizeof *s->arena)))
        return NULL;
    size_t a = sizeof(max_align_t);
    if (n > SIZE_MAX - 2 * a - sizeof(struct arena_blk))
        return NULL;
    n = (n + a - 1) / a * a;
    struct arena_blk *b = s->arena->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        b = calloc(1, sizeof *b + cap);
        if (!b)
            return NULL;
        b->cap = cap;
        if (n > 65536 && s->arena->head) { /* a big one: keep the current block current */
            b->next = s->arena->head->next;
            s->arena->head->next = b;
        } else {
            b->next = s->arena->head;
            s->arena->head = b;
        }
    }
    void *p = (uint8_t *)b->data + b->used;
    b->used += n;
    return p;
}

void hs_arena_free(struct hs_snapshot *s)
{
    if (!s->arena)
        return;
    for (struct arena_blk *b = s->arena->head, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    free(s->arena);
    s->arena = NULL;
}

/* A decoder's context: the snapshot to allocate from and the complaint. */
struct dec {
    struct hs_snapshot *s;
    char *why;
    size_t whylen;
    int failed;
};

static int bad(struct dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct dec *d, const char *fmt, ...)
{
    if (!d->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->why, d->whylen, fmt, ap);
        va_end(ap);
        d->failed = 1;
    }
    return -1;
}

static char *get_str(struct dec *d, struct hs_cur *c, const char *what)
{
    if (d->failed)
        return NULL;
    size_t at = c->pos;
    uint32_t n = hs_cur_u32(c);
    if (c->failed) {
        bad(d, "%s: length runs past the end of the record", what);
        return NULL;
    }
    if (n > HSL_STR_MAX) {
        bad(d, "%s: string of %u bytes is longer than %u", what, n, HSL_STR_MAX);
        return NULL;
    }
    const uint8_t *p = hs_cur_take(c, n);
    if (!p) {
        bad(d, "%s: string of %u bytes at record offset %zu runs past the end of the record", what,
            n, at);
        return NULL;
    }
    if (memchr(p, 0, n)) {
        bad(d, "%s: string holds a NUL byte", what);
        return NULL;
    }
    char *s = hs_arena_alloc(d->s, (size_t)n + 1);
    if (!s) {
        bad(d, "out of memory");
        return NULL;
    }
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

/* A length-prefixed byte field of at most max bytes; *out NULL when empty. */
static uint32_t get_blob(struct dec *d, struct hs_cur *c, const char *what, uint32_t max,
                         uint8_t **out)
{
    *out = NULL;
    if (d->failed)
        return 0;
    uint32_t n = hs_cur_u32(c);
    if (c->failed)
        return bad(d, "%s: length runs past the end of the record", what), 0;
    if (n > max)
        return bad(d, "%s: %u bytes is more than %u", what, n, max), 0;
    const uint8_t *p = hs_cur_take(c, n);
    if (!p)
        return bad(d, "%s: %u bytes run past the end of the record", what, n), 0;
    if (n) {
        if (!(*out = hs_arena_alloc(d->s, n)))
            return bad(d, "out of memory"), 0;
        memcpy(*out, p, n);
    }
    return n;
}

/* The payload header: count records, each at least min_rec bytes (its
 * length word and its fixed fields), so that a forged count cannot make us
 * allocate much more than the payload itself. */
static int get_count(struct dec *d, struct hs_cur *c, uint32_t *count, size_t min_rec)
{
    *count = hs_cur_u32(c);
    hs_cur_u32(c); /* reserved: written as 0, ignored so a newer minor may use it */
    if (c->failed)
        return bad(d, "payload of %zu bytes is shorter than its %u-byte header", c->len,
                   HSL_META_HDR_LEN);
    if (*count > hs_cur_left(c) / min_rec)
        return bad(d, "count %u is more than the %zu bytes left can hold", *count, hs_cur_left(c));
    return 0;
}

/* The smallest record of each kind: length word + fixed fields + empty
 * strings. */
#define MIN_PROCESS (4 + 4 + 2 + 2 + 4 + 4 + 8 + 3 * 4 + 4 + 4)
#define MIN_MAPPING (4 + 4 * 8 + 3 * 4 + 4 + 9 * 8 + 4)
#define MIN_MODULE (4 + 4 + 2 * 8 + 3 * 4)
#define MIN_THREAD (4 + 4 + 1 + HSL_THREAD_NAME + 2 * 8 + 4 + HS_NREGS * 8)
#define MIN_STATS (4 + 7 * 8 + 3 * 4)
#define MIN_FAILURE (4 + 2 * 8 + 4 + 4)

static int next_record(struct dec *d, struct hs_cur *c, struct hs_cur *rec, const char *what,
                       uint32_t i)
{
    size_t at = c->pos;
    if (hs_cur_record(c, rec) < 0)
        return bad(d, "%s %u at payload offset %zu: record length runs past the end", what, i, at);
    return 0;
}

/* After reading a record's known fields: too short is an error, longer is
 * a newer minor's fields and fine. */
static int end_record(struct dec *d, struct hs_cur *rec, const char *what, uint32_t i)
{
    if (d->failed)
        return -1;
    if (rec->failed)
        return bad(d, "%s %u: record of %zu bytes is shorter than its fields", what, i, rec->len);
    return 0;
}

static int end_payload(struct dec *d, struct hs_cur *c)
{
    if (d->failed)
        return -1;
    if (hs_cur_left(c))
        return bad(d, "%zu bytes after the last record", hs_cur_left(c));
    return 0;
}

/* Grow a record array by count elements; returns the first new one. */
static void *grow_array(struct dec *d, void **arr, size_t *n, size_t count, size_t elem)
{
    if (count > (SIZE_MAX / elem) - *n) {
        bad(d, "too many records");
        return NULL;
    }
    void *p = realloc(*arr, (*n + count) * elem + 1);
    if (!p) {
        bad(d, "out of memory");
        return NULL;
    }
    *arr = p;
    uint8_t *first = (uint8_t *)p + *n * elem;
    memset(first, 0, count * elem);
    return first;
}

int hs_decode_process(struct hs_snapshot *s, struct hs_cur *c, char *why, size_t whylen)
{
    struct dec d = {s, why, whylen, 0};
    uint32_t count;
    struct hs_cur r;
    if (get_count(&d, c, &count, MIN_PROCESS) < 0)
        return -1;
    if (count != 1)
        return bad(&d, "holds %u records; a process section holds exactly 1", count);
    if (next_record(&d, c, &r, "process", 0) < 0)
        return -1;
    struct hs_process *p = &s->process;
    p->pid = (int32_t)hs_cur_u32(&r);
    p->machine = hs_cur_u16(&r);
    p->policy = hs_cur_u16(&r);
    p->flags = hs_cur_u32(&r);
    p->page_size = hs_cur_u32(&r);
    p->capture_time_ns = hs_cur_u64(&r);
    /* Thread records hold x86_64 registers, and every analysis reads words
     * and pages the x86_64 way: another machine's snapshot (or a lie) is
     * refused here, not analysed wrongly.  The page size sizes the
     * analyses' page loops (rss walks free memory page by page), so it is
     * held to what a memory block may have. */
    if (!r.failed && p->machine != HSL_MACHINE)
        return bad(&d, "machine %u is not x86_64 (%u); this heapsnap reads x86_64 snapshots only",
                   p->machine, HSL_MACHINE);
    if (!r.failed && (p->page_size < HSL_PAGE_MIN || p->page_size > HSL_PAGE_MAX ||
                      (p->page_size & (p->page_size - 1))))
        return bad(&d, "page size %u is not a power of two in [%u, %u]", p->page_size, HSL_PAGE_MIN,
                   HSL_PAGE_MAX);
    p->exe = get_str(&d, &r, "exe");
    p->kernel_release = get_str(&d, &r, "kernel_release");
    p->hostname = get_str(&d, &r, "hostname");
    if (d.failed)
        return -1;
    p->argc = hs_cur_u32(&r);
    if (p->argc > hs_cur_left(&r) / 4)
        return bad(&d, "argc %u is more than the record can hold", p->argc);
    p->argv = hs_arena_alloc(s, ((size_t)p->argc + 1) * sizeof *p->argv);
    if (!p->argv)
        return bad(&d, "out of memory");
    for (uint32_t i = 0; i < p->argc && !d.failed; i++) {
        char what[32];
        snprintf(what, sizeof what, "argv[%u]", i);
        p->argv[i] = get_str(&d, &r, what);
    }
    if (d.failed)
        return -1;
    p->auxv_count = hs_cur_u32(&r);
    if (p->auxv_count > hs_cur_left(&r) / 16)
        return bad(&d, "auxv_count %u is more than the record can hold", p->auxv_count);
    p->auxv = hs_arena_alloc(s, (size_t)p->auxv_count * 16 + 1);
    if (!p->auxv)
        return bad(&d, "out of memory");
    for (uint64_t i = 0; i < 2 * (uint64_t)p->auxv_count; i++)
        p->auxv[i] = hs_cur_u64(&r);
    if (end_record(&d, &r, "process", 0) < 0 || end_payload(&d, c) < 0)
        return -1;
    s->have_process = 1;
    return 0;
}

int hs_decode_mappings(struct hs_snapshot *s, struct hs_cur *c, char *why, size_t whylen)
{
    struct dec d = {s, why, whylen, 0};
    uint32_t count;
    if (get_count(&d, c, &count, MIN_MAPPING) < 0)
        return -1;
    struct hs_mapping *m = grow_array(&d, (void **)&s->mappings, &s->nmappings, count, sizeof *m);
    if (!m)
        return -1;
    for (uint32_t i = 0; i < count; i++, m++) {
        struct hs_cur r;
        if (next_record(&d, c, &r, "mapping", i) < 0)
            return -1;
        s->nmappings++; /* counted now so that hs_close frees nothing twice: all is arena */
        m->start = hs_cur_u64(&r);
        m->end = hs_cur_u64(&r);
        m->offset = hs_cur_u64(&r);
        m->inode = hs_cur_u64(&r);
        m->dev_major = hs_cur_u32(&r);
        m->dev_minor = hs_cur_u32(&r);
        m->flags = hs_cur_u32(&r);
        m->path = get_str(&d, &r, "path");
        m->rss = hs_cur_u64(&r);
        m->pss = hs_cur_u64(&r);
        m->private_clean = hs_cur_u64(&r);
        m->private_dirty = hs_cur_u64(&r);
        m->shared_clean = hs_cur_u64(&r);
        m->shared_dirty = hs_cur_u64(&r);
        m->swap = hs_cur_u64(&r);
        m->anonymous = hs_cur_u64(&r);
        m->anon_huge = hs_cur_u64(&r);
        m->vmflags = get_str(&d, &r, "vmflags");
        if (!r.failed && hs_cur_left(&r) >= 8) { /* 1.2: LazyFree */
            m->lazyfree = hs_cur_u64(&r);
            m->has_lazyfree = 1;
        }
        if (end_record(&d, &r, "mapping", i) < 0)
            return -1;
        if (m->end < m->start)
            return bad(&d, "mapping %u: end 0x%llx is below start 0x%llx", i,
                       (unsigned long long)m->end, (unsigned long long)m->start);
    }
    return end_payload(&d, c);
}

int hs_decode_modules(struct hs_snapshot *s, struct hs_cur *c, char *why, size_t whylen)
{
    struct dec d = {s, why, whylen, 0};
    uint32_t count;
    if (get_count(&d, c, &count, MIN_MODULE) < 0)
        return -1;
    struct hs_module *m = grow_array(&d, (void **)&s->modules, &s->nmodules, count, sizeof *m);
    if (!m)
        return -1;
    for (uint32_t i = 0; i < count; i++, m++) {
        struct hs_cur r;
        if (next_record(&d, c, &r, "module", i) < 0)
            return -1;
        s->nmodules++;
        m->path = get_str(&d, &r, "path");
        m->base = hs_cur_u64(&r);
        m->lowest = hs_cur_u64(&r);
        uint8_t *bid;
        m->build_id_len = get_blob(&d, &r, "build_id", sizeof m->build_id, &bid);
        if (bid)
            memcpy(m->build_id, bid, m->build_id_len);
        m->ehdr_len = get_blob(&d, &r, "ehdr", HSL_STR_MAX, &m->ehdr);
        m->phdrs_len = get_blob(&d, &r, "phdrs", HSL_STR_MAX, &m->phdrs);
        if (end_record(&d, &r, "module", i) < 0)
            return -1;
    }
    return end_payload(&d, c);
}

int hs_decode_threads(struct hs_snapshot *s, struct hs_cur *c, char *why, size_t whylen)
{
    struct dec d = {s, why, whylen, 0};
    uint32_t count;
    if (get_count(&d, c, &count, MIN_THREAD) < 0)
        return -1;
    struct hs_thread *t = grow_array(&d, (void **)&s->threads, &s->nthreads, count, sizeof *t);
    if (!t)
        return -1;
    for (uint32_t i = 0; i < count; i++, t++) {
        struct hs_cur r;
        if (next_record(&d, c, &r, "thread", i) < 0)
            return -1;
        s->nthreads++;
        t->tid = (int32_t)hs_cur_u32(&r);
        t->state = (char)hs_cur_u8(&r);
        const uint8_t *name = hs_cur_take(&r, HSL_THREAD_NAME);
        if (name) {
            memcpy(t->name, name, sizeof t->name);
            t->name[sizeof t->name - 1] = 0;
        }
        t->stack_start = hs_cur_u64(&r);
        t->stack_end = hs_cur_u64(&r);
        uint32_t nregs = hs_cur_u32(&r);
        if (!r.failed && nregs < HS_NREGS)
            return bad(&d, "thread %u: %u registers; version 1 has %d", i, nregs, HS_NREGS);
        if (!r.failed && nregs > hs_cur_left(&r) / 8)
            return bad(&d, "thread %u: %u registers run past the end of the record", i, nregs);
        for (int k = 0; k < HS_NREGS; k++)
            t->regs[k] = hs_cur_u64(&r);
        hs_cur_take(&r, (size_t)(nregs - HS_NREGS) * 8); /* registers of a newer minor */
        if (!r.failed && hs_cur_left(&r) > 0) { /* 1.1: why the registers are missing */
            char *why = get_str(&d, &r, "thread regs_error");
            if (!why)
                return -1;
            snprintf(t->regs_error, sizeof t->regs_error, "%s", why);
        }
        if (end_record(&d, &r, "thread", i) < 0)
            return -1;
    }
    return end_payload(&d, c);
}

int hs_decode_stats(struct hs_snapshot *s, struct hs_cur *c, char *why, size_t whylen)
{
    struct dec d = {s, why, whylen, 0};
    uint32_t count;
    struct hs_cur r;
    if (get_count(&d, c, &count, MIN_STATS) < 0)
        return -1;
    if (count != 1)
        return bad(&d, "holds %u records; a stats section holds exactly 1", count);
    if (next_record(&d, c, &r, "stats", 0) < 0)
        return -1;
    struct hs_stats *st = &s->stats;
    st->pause_ns = hs_cur_u64(&r);
    st->total_ns = hs_cur_u64(&r);
    st->bytes_read = hs_cur_u64(&r);
    st->bytes_zero = hs_cur_u64(&r);
    st->bytes_absent = hs_cur_u64(&r);
    st->bytes_swapped = hs_cur_u64(&r);
    st->bytes_unreadable = hs_cur_u64(&r);
    st->threads = hs_cur_u32(&r);
    st->mode = hs_cur_u32(&r);
    st->nfailures = hs_cur_u32(&r);
    if (r.failed)
        return bad(&d, "stats record of %zu bytes is shorter than its fields", r.len);
    if (st->nfailures > hs_cur_left(&r) / MIN_FAILURE)
        return bad(&d, "nfailures %u is more than the record can hold", st->nfailures);
    st->failures = hs_arena_alloc(s, (size_t)st->nfailures * sizeof *st->failures + 1);
    if (!st->failures)
        return bad(&d, "out of memory");
    for (uint32_t i = 0; i < st->nfailures; i++) {
        struct hs_cur f;
        if (next_record(&d, &r, &f, "failure", i) < 0)
            return -1;
        struct hs_failure *x = &st->failures[i];
        x->start = hs_cur_u64(&f);
        x->end = hs_cur_u64(&f);
        x->err = (int32_t)hs_cur_u32(&f);
        x->reason = get_str(&d, &f, "reason");
        if (end_record(&d, &f, "failure", i) < 0)
            return -1;
    }
    /* 1.1 appended the reason for the mode; a 1.0 record ends here. */
    st->mode_reason = hs_cur_left(&r) ? get_str(&d, &r, "mode_reason") : NULL;
    if (end_record(&d, &r, "stats", 0) < 0 || end_payload(&d, c) < 0)
        return -1;
    s->have_stats = 1;
    return 0;
}
