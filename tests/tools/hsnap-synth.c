/*
 * hsnap-synth.c — synthetic .hsnap snapshots for the format tests
 * (tests/t0001-format.sh), the fuzzer's seed corpus and the format
 * benchmarks.  It links only the format library; no process is captured.
 *
 *   hsnap-synth write FILE [OPTIONS]   write the synthetic snapshot ("-" = stdout)
 *       --level N      zstd level (default 3)
 *       --unknown      add a section of a type this version does not know
 *       --newer        records with trailing fields a newer minor might add
 *       --truncate     stop without the index and footer (hs_writer_abort)
 *       --small        a smaller, compressible variant (fuzzer seeds)
 *       --odd          ranges 3 bytes past a page (a forged file; for gather only)
 *   hsnap-synth check FILE             read it back; every field must be what
 *                                      write put there; prints a digest
 *   hsnap-synth dump FILE              print every field and a digest of memory
 *   hsnap-synth gather FILE            hs_gather_u64 of every word agrees with hs_read_u64
 *   hsnap-synth release FILE           hs_release of the middle of each range: reads there
 *                                      fail and are counted, reads elsewhere are unchanged
 *   hsnap-synth ondemand FILE          every word read from an HS_OPEN_ON_DEMAND open, last
 *                                      to first, agrees with the eager open; where that
 *                                      fails, says what on demand could read, and why not
 *   hsnap-synth verify FILE            hs_verify with the per-section log
 *   hsnap-synth zeros FILE NPAGES      one range of NPAGES all-zero DATA pages
 *   hsnap-synth version FILE MAJOR MINOR   rewrite the header's version (and CRC)
 *   hsnap-synth grow-header IN OUT     what a newer minor may do: 8 more header
 *                                      bytes before its CRC, the next minor
 *   hsnap-synth flip FILE OFFSET [--fix-crc]   flip the low bit of the byte at
 *                                      OFFSET; --fix-crc then recomputes every
 *                                      checksum, to reach the checks behind them
 *   hsnap-synth poke FILE OFFSET BYTE  set one byte and recompute every checksum
 *   hsnap-synth big FILE MIB [LEVEL]   a MIB-MiB heap-like range; prints MB/s
 *   hsnap-synth time-read FILE         time hs_open (full) and hs_verify
 *   hsnap-synth rewrite IN OUT [LEVEL] time writing IN's memory again (a real
 *                                      capture makes a realistic benchmark)
 *   hsnap-synth crc                    CRC32C: check value, both implementations agree
 *
 * Exit status 0 on success, 1 on any mismatch or error (said on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "encode.h" /* hs_crc32c_portable */
#include "hsnap.h"

#define PAGE 4096u

static int failures;

#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "mismatch: " __VA_ARGS__);                                         \
            fputc('\n', stderr);                                                               \
            failures++;                                                                        \
        }                                                                                      \
    } while (0)

static double cpu(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ the model */

static char *argv_model[] = {"synth", "--flag", "a b c", "", "ünïcode"};
static uint64_t auxv_model[] = {3, 0x400040, 6, 4096, 9, 0x401000, 0, 0};

static struct hs_process process_model(void)
{
    struct hs_process p = {0};
    p.pid = 4242;
    p.machine = 62;
    p.policy = HS_POLICY_ALL;
    p.flags = HS_PROC_REDACTED;
    p.page_size = PAGE;
    p.capture_time_ns = 1700000000123456789ull;
    p.exe = "/usr/bin/synth";
    p.kernel_release = "6.1.0-synth";
    p.hostname = "synthhost";
    p.argc = 5;
    p.argv = argv_model;
    p.auxv_count = 4;
    p.auxv = auxv_model;
    return p;
}

#define NMAPS 4
static void mappings_model(struct hs_mapping *m)
{
    static const char *paths[NMAPS] = {"/usr/bin/synth", "[heap]", "", "[stack]"};
    for (int i = 0; i < NMAPS; i++) {
        memset(&m[i], 0, sizeof m[i]);
        m[i].start = 0x400000ull + (uint64_t)i * 0x100000;
        m[i].end = m[i].start + 0x1000 * (uint64_t)(i + 1);
        m[i].offset = (uint64_t)i * 0x1000;
        m[i].inode = i == 0 ? 1234567 : 0;
        m[i].dev_major = 8;
        m[i].dev_minor = (uint32_t)i;
        m[i].flags = HS_MAP_R | (i ? HS_MAP_W : HS_MAP_X) | (i ? HS_MAP_ANON : 0) |
                     HS_MAP_CAPTURED;
        m[i].path = (char *)paths[i];
        m[i].rss = 100u + i;
        m[i].pss = 200u + i;
        m[i].private_clean = 300u + i;
        m[i].private_dirty = 400u + i;
        m[i].shared_clean = 500u + i;
        m[i].shared_dirty = 600u + i;
        m[i].swap = 700u + i;
        m[i].lazyfree = 800u + i; /* 1.2 */
        m[i].has_lazyfree = 1;
        m[i].anonymous = 800u + i;
        m[i].anon_huge = 1ull << 40 | (uint64_t)i;
        m[i].vmflags = i == 2 ? "" : "rd wr mr mw me ac sd";
    }
}

#define NMODS 2
static uint8_t ehdr_model[64], phdrs_model[3 * 56];
static void modules_model(struct hs_module *m)
{
    for (unsigned i = 0; i < sizeof ehdr_model; i++)
        ehdr_model[i] = (uint8_t)(i * 7 + 1);
    for (unsigned i = 0; i < sizeof phdrs_model; i++)
        phdrs_model[i] = (uint8_t)(i * 13 + 5);
    memset(m, 0, NMODS * sizeof *m);
    m[0].path = "/usr/bin/synth";
    m[0].base = 0;
    m[0].lowest = 0x400000;
    m[0].build_id_len = 20;
    for (int i = 0; i < 20; i++)
        m[0].build_id[i] = (uint8_t)(0xa0 + i);
    m[0].ehdr_len = sizeof ehdr_model;
    m[0].ehdr = ehdr_model;
    m[0].phdrs_len = sizeof phdrs_model;
    m[0].phdrs = phdrs_model;
    m[1].path = "/lib/x86_64-linux-gnu/libc.so.6";
    m[1].base = 0x7f0000000000;
    m[1].lowest = 0x7f0000028000;
    m[1].build_id_len = 64;
    for (int i = 0; i < 64; i++)
        m[1].build_id[i] = (uint8_t)(255 - i);
}

#define NTHREADS 3
static void threads_model(struct hs_thread *t)
{
    memset(t, 0, NTHREADS * sizeof *t);
    for (int i = 0; i < NTHREADS; i++) {
        t[i].tid = 4242 + i;
        t[i].state = "RSD"[i];
        snprintf(t[i].name, sizeof t[i].name, i == 2 ? "fifteen-chars!!" : "worker-%d", i);
        for (int r = 0; r < HS_NREGS; r++)
            t[i].regs[r] = 0x1000000000000000ull * (uint64_t)i + (uint64_t)r * 0x11;
        t[i].stack_start = 0x7ffd00000000ull + (uint64_t)i * 0x10000;
        t[i].stack_end = t[i].stack_start + 0x8000;
    }
    /* format 1.1: a thread whose registers could not be read */
    memset(t[2].regs, 0, sizeof t[2].regs);
    snprintf(t[2].regs_error, sizeof t[2].regs_error, "PTRACE_GETREGSET: No such process");
}

static struct hs_failure failures_model[] = {
    {0x500000, 0x501000, 14, "process_vm_readv: EFAULT; /proc/PID/mem: EIO"},
    {0x600000, 0x602000, 5, ""},
};

static struct hs_stats stats_model(void)
{
    struct hs_stats s = {0};
    s.pause_ns = 12345678;
    s.total_ns = 98765432;
    s.bytes_read = 1ull << 33;
    s.bytes_zero = 4096 * 7;
    s.bytes_absent = 4096 * 11;
    s.bytes_swapped = 4096 * 13;
    s.bytes_unreadable = 4096 * 17;
    s.threads = NTHREADS;
    s.mode = HS_MODE_STREAMED;
    s.nfailures = 2;
    s.failures = failures_model;
    return s;
}

/* Memory: three ranges.  Range A (anonymous) crosses block boundaries and
 * holds every page state; range B (file-backed) starts right where A ends
 * but is a separate range; range C is far away and small. */
struct range_model {
    uint64_t addr, npages;
    uint32_t flags;
};
static const struct range_model ranges_full[] = {
    {0x10000000, 600, HS_MEM_ANON},
    {0x10000000 + 600 * PAGE, 10, 0},
    {0x7f0000001000, 3, HS_MEM_ANON},
};
static const struct range_model ranges_small[] = {
    {0x10000000, 260, HS_MEM_ANON},
    {0x10000000 + 260 * PAGE, 4, 0},
};
/* --odd: what no writer of ours makes, and a forged file may: ranges that
 * start 3 bytes past a page, so that aligned words cross pages, blocks and
 * (A into B, which touch) ranges; for the gather test, not for check. */
static const struct range_model ranges_odd[] = {
    {0x10000003, 600, HS_MEM_ANON},
    {0x10000003 + 600 * PAGE, 10, 0},
};
static const struct range_model *ranges = ranges_full;
static size_t nranges = 3;

/* The state the caller passes for page i of range r. */
static uint8_t state_in(size_t r, uint64_t i)
{
    uint64_t k = (i * 7 + r * 3) % 16;
    if (k < 9)
        return HS_PAGE_DATA;
    return (uint8_t)(1 + (k - 9) % 4); /* ZERO, ABSENT, SWAPPED, UNREADABLE */
}

/* DATA page contents; every 5th DATA page is all zero (the writer must turn
 * it into ZERO). */
static int data_is_zero(size_t r, uint64_t i) { return (i + r) % 5 == 0; }

static void fill_page(uint8_t *p, size_t r, uint64_t i)
{
    if (data_is_zero(r, i)) {
        memset(p, 0, PAGE);
        return;
    }
    uint64_t x = (r + 1) * 0x9E3779B97F4A7C15ull ^ (i + 1) * 0xBF58476D1CE4E5B9ull;
    for (size_t o = 0; o < PAGE; o += 8) {
        uint64_t v;
        /* Incompressible: every third page, or in the small variant all of
         * range B, so that its block is stored uncompressed. */
        if (ranges == ranges_small ? r == 1 : i % 3 == 0) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v = x;
        } else { /* heap-like: small numbers and pointers */
            v = (o / 8) % 4 == 0 ? 0x10000000 + o * 16 : (o / 8) % 4 == 1 ? i : 0;
        }
        memcpy(p + o, &v, 8);
    }
    p[PAGE - 1] = (uint8_t)(0x80 | i); /* never all zero */
}

static uint8_t state_out(size_t r, uint64_t i)
{
    uint8_t s = state_in(r, i);
    return s == HS_PAGE_DATA && data_is_zero(r, i) ? HS_PAGE_ZERO : s;
}

static int write_range(struct hs_writer *w, size_t r)
{
    const struct range_model *m = &ranges[r];
    uint8_t *st = malloc(m->npages);
    uint8_t *data = malloc(m->npages * PAGE);
    size_t nd = 0;
    for (uint64_t i = 0; i < m->npages; i++) {
        st[i] = state_in(r, i);
        if (st[i] == HS_PAGE_DATA)
            fill_page(data + (nd++) * PAGE, r, i);
    }
    int rc = hs_write_memory(w, m->addr, PAGE, m->npages, m->flags, st, data);
    free(st);
    free(data);
    return rc;
}

/* ------------------------------------------------------------ writing */

/* A thread record as a newer minor might write it: the 1.0 fields, four
 * more registers, the 1.1 regs_error, and 16 bytes of some future
 * field. */
static void put32(uint8_t **p, uint32_t v) { memcpy(*p, &v, 4), *p += 4; }
static void put64(uint8_t **p, uint64_t v) { memcpy(*p, &v, 8), *p += 8; }

static size_t newer_threads_payload(uint8_t *buf, const struct hs_thread *t, size_t n)
{
    uint8_t *p = buf;
    put32(&p, (uint32_t)n);
    put32(&p, 0);
    for (size_t i = 0; i < n; i++) {
        uint8_t *len = p;
        p += 4;
        put32(&p, (uint32_t)t[i].tid);
        *p++ = (uint8_t)t[i].state;
        memcpy(p, t[i].name, 16);
        p += 16;
        put64(&p, t[i].stack_start);
        put64(&p, t[i].stack_end);
        put32(&p, HS_NREGS + 4);
        for (int r = 0; r < HS_NREGS; r++)
            put64(&p, t[i].regs[r]);
        for (int r = 0; r < 4; r++)
            put64(&p, 0xdead0000 + (uint64_t)r);
        uint32_t el = (uint32_t)strlen(t[i].regs_error);
        put32(&p, el);
        memcpy(p, t[i].regs_error, el);
        p += el;
        memset(p, 0x5a, 16);
        p += 16;
        uint32_t l = (uint32_t)(p - len - 4);
        memcpy(len, &l, 4);
    }
    return (size_t)(p - buf);
}

static int open_out(const char *path)
{
    if (!strcmp(path, "-"))
        return 1;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return fd;
}

static int cmd_write(const char *path, int argc, char **argv)
{
    int level = 3, unknown = 0, newer = 0, trunc = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--level") && i + 1 < argc)
            level = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--unknown"))
            unknown = 1;
        else if (!strcmp(argv[i], "--newer"))
            newer = 1;
        else if (!strcmp(argv[i], "--truncate"))
            trunc = 1;
        else if (!strcmp(argv[i], "--small"))
            ranges = ranges_small, nranges = 2;
        else if (!strcmp(argv[i], "--odd"))
            ranges = ranges_odd, nranges = 2;
        else {
            fprintf(stderr, "write: unknown option %s\n", argv[i]);
            return 1;
        }
    }
    int fd = open_out(path);
    if (fd < 0)
        return 1;
    struct hs_error err;
    struct hs_writer *w = hs_writer_open(fd, path, level, &err);
    if (!w) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    struct hs_process p = process_model();
    struct hs_mapping m[NMAPS];
    struct hs_module mo[NMODS];
    struct hs_thread t[NTHREADS];
    struct hs_stats s = stats_model();
    mappings_model(m);
    modules_model(mo);
    threads_model(t);
    int rc = hs_write_process(w, &p);
    if (unknown && !rc) {
        static const char blob[] = "a section from the future: skip me";
        rc = hs_write_section(w, 99, blob, sizeof blob, 0);
        if (!rc)
            rc = hs_write_section(w, 100, argv_model[2], 5, 1); /* compressed (or not) */
    }
    if (!rc)
        rc = hs_write_mappings(w, m, NMAPS);
    if (!rc)
        rc = hs_write_modules(w, mo, NMODS);
    if (!rc && newer) {
        uint8_t buf[4096];
        size_t n = newer_threads_payload(buf, t, NTHREADS);
        rc = hs_write_section(w, HS_SEC_THREADS, buf, n, 1);
    } else if (!rc) {
        rc = hs_write_threads(w, t, NTHREADS);
    }
    for (size_t r = 0; r < nranges && !rc; r++)
        rc = write_range(w, r);
    if (!rc)
        rc = hs_write_stats(w, &s);
    if (rc) {
        fprintf(stderr, "%s\n", hs_writer_error(w));
        hs_writer_abort(w);
        return 1;
    }
    if (trunc) {
        hs_writer_abort(w);
    } else if (hs_writer_finish(w, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    if (fd != 1 && close(fd) < 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------ checking */

static int str_eq(const char *a, const char *b) { return a && b && !strcmp(a, b); }

static void check_meta(const struct hs_snapshot *s)
{
    const struct hs_process *p = hs_get_process(s), e = process_model();
    CHECK(p->pid == e.pid, "pid %d", p->pid);
    CHECK(p->machine == e.machine && p->policy == e.policy && p->flags == e.flags &&
              p->page_size == e.page_size && p->capture_time_ns == e.capture_time_ns,
          "process fixed fields");
    CHECK(str_eq(p->exe, e.exe) && str_eq(p->kernel_release, e.kernel_release) &&
              str_eq(p->hostname, e.hostname),
          "process strings");
    CHECK(p->argc == e.argc, "argc %u", p->argc);
    for (uint32_t i = 0; i < e.argc && i < p->argc; i++)
        CHECK(str_eq(p->argv[i], e.argv[i]), "argv[%u] '%s'", i, p->argv[i]);
    CHECK(p->argv && p->argv[p->argc] == NULL, "argv not NULL-terminated");
    CHECK(p->auxv_count == e.auxv_count &&
              !memcmp(p->auxv, e.auxv, 16 * (size_t)e.auxv_count),
          "auxv");

    size_t n;
    const struct hs_mapping *m = hs_get_mappings(s, &n);
    struct hs_mapping em[NMAPS];
    mappings_model(em);
    CHECK(n == NMAPS, "%zu mappings", n);
    for (size_t i = 0; i < n && i < NMAPS; i++) {
        const struct hs_mapping *a = &m[i], *b = &em[i];
        CHECK(a->start == b->start && a->end == b->end && a->offset == b->offset &&
                  a->inode == b->inode && a->dev_major == b->dev_major &&
                  a->dev_minor == b->dev_minor && a->flags == b->flags,
              "mapping %zu fixed fields", i);
        CHECK(a->rss == b->rss && a->pss == b->pss && a->private_clean == b->private_clean &&
                  a->private_dirty == b->private_dirty && a->shared_clean == b->shared_clean &&
                  a->shared_dirty == b->shared_dirty && a->swap == b->swap &&
                  a->anonymous == b->anonymous && a->anon_huge == b->anon_huge &&
                  a->lazyfree == b->lazyfree && a->has_lazyfree == b->has_lazyfree,
              "mapping %zu smaps", i);
        CHECK(str_eq(a->path, b->path) && str_eq(a->vmflags, b->vmflags),
              "mapping %zu strings", i);
    }

    const struct hs_module *mo = hs_get_modules(s, &n);
    struct hs_module emo[NMODS];
    modules_model(emo);
    CHECK(n == NMODS, "%zu modules", n);
    for (size_t i = 0; i < n && i < NMODS; i++) {
        const struct hs_module *a = &mo[i], *b = &emo[i];
        CHECK(str_eq(a->path, b->path) && a->base == b->base && a->lowest == b->lowest,
              "module %zu", i);
        CHECK(a->build_id_len == b->build_id_len &&
                  !memcmp(a->build_id, b->build_id, b->build_id_len),
              "module %zu build id", i);
        CHECK(a->ehdr_len == b->ehdr_len && (!b->ehdr_len || !memcmp(a->ehdr, b->ehdr, b->ehdr_len)),
              "module %zu ehdr", i);
        CHECK(a->phdrs_len == b->phdrs_len &&
                  (!b->phdrs_len || !memcmp(a->phdrs, b->phdrs, b->phdrs_len)),
              "module %zu phdrs", i);
    }

    const struct hs_thread *t = hs_get_threads(s, &n);
    struct hs_thread et[NTHREADS];
    threads_model(et);
    CHECK(n == NTHREADS, "%zu threads", n);
    for (size_t i = 0; i < n && i < NTHREADS; i++)
        CHECK(t[i].tid == et[i].tid && t[i].state == et[i].state &&
                  !strcmp(t[i].name, et[i].name) && !memcmp(t[i].regs, et[i].regs, sizeof t[i].regs) &&
                  t[i].stack_start == et[i].stack_start && t[i].stack_end == et[i].stack_end &&
                  !strcmp(t[i].regs_error, et[i].regs_error),
              "thread %zu", i);

    const struct hs_stats *st = hs_get_stats(s);
    struct hs_stats es = stats_model();
    CHECK(st != NULL, "no stats");
    if (st) {
        CHECK(st->pause_ns == es.pause_ns && st->total_ns == es.total_ns &&
                  st->bytes_read == es.bytes_read && st->bytes_zero == es.bytes_zero &&
                  st->bytes_absent == es.bytes_absent && st->bytes_swapped == es.bytes_swapped &&
                  st->bytes_unreadable == es.bytes_unreadable && st->threads == es.threads &&
                  st->mode == es.mode,
              "stats figures");
        CHECK(st->nfailures == es.nfailures, "%u failures", st->nfailures);
        for (uint32_t i = 0; i < st->nfailures && i < es.nfailures; i++)
            CHECK(st->failures[i].start == es.failures[i].start &&
                      st->failures[i].end == es.failures[i].end &&
                      st->failures[i].err == es.failures[i].err &&
                      str_eq(st->failures[i].reason, es.failures[i].reason),
                  "failure %u", i);
    }
}

static void check_memory(const struct hs_snapshot *s)
{
    size_t n;
    const struct hs_mem_range *r = hs_get_ranges(s, &n);
    CHECK(n == nranges, "%zu ranges, expected %zu", n, nranges);
    uint8_t *page = malloc(PAGE), *got = malloc(PAGE);
    for (size_t k = 0; k < n && k < nranges; k++) {
        const struct range_model *m = &ranges[k];
        CHECK(r[k].start == m->addr && r[k].end == m->addr + m->npages * PAGE &&
                  r[k].flags == m->flags && r[k].page_size == PAGE,
              "range %zu bounds", k);
        if (r[k].end != m->addr + m->npages * PAGE)
            continue;
        for (uint64_t i = 0; i < m->npages; i++) {
            uint64_t a = m->addr + i * PAGE;
            uint8_t st = state_out(k, i);
            CHECK(r[k].page_state[i] == st, "range %zu page %" PRIu64 ": state %u, expected %u",
                  k, i, r[k].page_state[i], st);
            CHECK(hs_find_range(s, a + 123) == &r[k], "find_range 0x%" PRIx64, a);
            int readable = st == HS_PAGE_DATA || st == HS_PAGE_ZERO ||
                           (st == HS_PAGE_ABSENT && (m->flags & HS_MEM_ANON));
            if (st == HS_PAGE_DATA)
                fill_page(page, k, i);
            else
                memset(page, 0, PAGE);
            int rc = hs_read(s, a, got, PAGE);
            CHECK(rc == (readable ? 0 : -1), "hs_read 0x%" PRIx64 " (%s) returned %d", a,
                  hs_page_state_name(st), rc);
            if (readable) {
                CHECK(!memcmp(got, page, PAGE), "contents of page 0x%" PRIx64, a);
                const uint8_t *p = hs_ptr(s, a + 8, PAGE - 8);
                CHECK(p && !memcmp(p, page + 8, PAGE - 8), "hs_ptr 0x%" PRIx64, a + 8);
                uint64_t v, ev;
                memcpy(&ev, page + 64, 8);
                CHECK(hs_read_u64(s, a + 64, &v) == 0 && v == ev, "hs_read_u64 0x%" PRIx64, a);
            } else {
                CHECK(hs_ptr(s, a, 8) == NULL, "hs_ptr of %s page", hs_page_state_name(st));
                uint64_t v;
                CHECK(hs_read_u64(s, a, &v) < 0, "hs_read_u64 of %s page", hs_page_state_name(st));
            }
            /* Pages without contents read as zeros in data. */
            CHECK(!memcmp(r[k].data + i * PAGE, page, PAGE), "range data of page 0x%" PRIx64, a);
        }
    }
    /* Outside every range, and across the A/B boundary. */
    uint64_t v;
    CHECK(hs_find_range(s, 0x1000) == NULL && hs_read_u64(s, 0x1000, &v) < 0, "below ranges");
    CHECK(hs_find_range(s, UINT64_MAX) == NULL, "top of address space");
    CHECK(hs_ptr(s, ranges[0].addr + ranges[0].npages * PAGE - 8, 16) == NULL,
          "hs_ptr across two ranges");
    free(page);
    free(got);
}

/* Open path, or say why not on stderr (after 'what', "" or "metadata only: "). */
static struct hs_snapshot *open_or_say(const char *path, unsigned flags, const char *what)
{
    struct hs_error err;
    struct hs_snapshot *s = hs_open(path, flags, &err);
    if (!s)
        fprintf(stderr, "%s%s\n", what, err.msg);
    return s;
}

/* Every aligned word of every range, and the words just outside each,
 * gathered (hs_gather_u64) and read from the opened snapshot: the same. */
static int cmd_release(const char *path)
{
    struct hs_error err;
    struct hs_snapshot *s = hs_open(path, 0, &err), *whole = hs_open(path, 0, &err);
    if (!s || !whole) {
        fprintf(stderr, "%s\n", err.msg);
        hs_close(s);
        return 1;
    }
    size_t nr, refused = 0, bad = 0, n = 0;
    const struct hs_mem_range *r = hs_get_ranges(s, &nr);
    /* from a third of each range to two thirds: whole pages inside go */
    for (size_t i = 0; i < nr; i++) {
        uint64_t len = r[i].end - r[i].start;
        if (hs_release(s, r[i].start + len / 3 + 5, r[i].start + 2 * len / 3 + 5))
            bad++;
    }
    for (size_t i = 0; i < nr; i++) {
        uint64_t len = r[i].end - r[i].start, ps = r[i].page_size;
        uint64_t lo = (r[i].start + len / 3 + 5 + ps - 1) / ps * ps, hi = (r[i].start + 2 * len / 3 + 5) / ps * ps;
        for (uint64_t a = r[i].start; a < r[i].end; a += 8) {
            uint64_t v = 0, w = 0;
            int got = hs_read_u64(s, a, &v) == 0, want = hs_read_u64(whole, a, &w) == 0;
            int gone = a >= lo && a < hi;
            n++;
            refused += gone; /* counted even where nothing was captured: given back first */
            if (gone ? got || hs_ptr(s, a, 8) != NULL : got != want || v != w)
                bad++;
        }
    }
    if (hs_released_reads(s) != 2 * refused) /* each word: hs_read_u64 and hs_ptr */
        bad++;
    if (bad)
        fprintf(stderr, "release: %zu wrong; %llu reads refused, %zu expected\n", bad,
                (unsigned long long)hs_released_reads(s), 2 * refused);
    else
        printf("release: %zu words, %zu given back, the rest as read whole\n", n, refused);
    hs_close(s);
    hs_close(whole);
    return bad != 0;
}

static int cmd_ondemand(const char *path)
{
    struct hs_error err;
    struct hs_snapshot *lazy = hs_open(path, HS_OPEN_ON_DEMAND, &err);
    if (!lazy) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    struct hs_snapshot *s = hs_open(path, 0, &err); /* NULL: a block does not decompress */
    size_t nr, n = 0, readable = 0, bad = 0;
    const struct hs_mem_range *r = hs_get_ranges(lazy, &nr);
    for (size_t i = nr; i-- > 0;) {
        if (r[i].data)
            bad++; /* on demand, the ranges hold no bytes of their own */
        for (uint64_t a = r[i].end - 8; a >= r[i].start && a < r[i].end; a -= 8) {
            uint64_t v = 0, w = 0;
            int got = hs_read_u64(lazy, a, &v) == 0, want = s ? hs_read_u64(s, a, &w) == 0 : got;
            const uint64_t *p = hs_ptr(lazy, a, 8);
            n++;
            readable += got;
            if (got != want || (s && got && v != w) || (p != NULL) != got || (p && *p != v)) {
                if (bad++ < 5)
                    fprintf(stderr, "0x%" PRIx64 ": on demand %d 0x%" PRIx64 ", eager %d 0x%" PRIx64 "\n", a, got, v,
                            want, w);
            }
        }
    }
    const char *why = hs_snapshot_memory_error(lazy);
    if (bad)
        fprintf(stderr, "%zu of %zu words differ\n", bad, n);
    else if (s)
        printf("on demand: %zu words agree, %zu readable%s%s\n", n, readable, why ? "; but " : "", why ? why : "");
    else
        printf("on demand: %zu of %zu words readable; %s\n", readable, n, why ? why : "no block was bad");
    int rc = bad || (s && why) || (!s && !why);
    hs_close(s);
    hs_close(lazy);
    return rc;
}

static int cmd_gather(const char *path)
{
    struct hs_snapshot *s = open_or_say(path, 0, "");
    if (!s)
        return 1;
    size_t nr, n = 0, cap = 0;
    const struct hs_mem_range *r = hs_get_ranges(s, &nr);
    for (size_t i = 0; i < nr; i++)
        cap += (size_t)((r[i].end - r[i].start) / 8) + 2;
    uint64_t *addr = malloc((cap ? cap : 1) * sizeof *addr), *out = malloc((cap ? cap : 1) * sizeof *out);
    uint8_t *ok = malloc(cap ? cap : 1);
    int rc = 1;
    if (!addr || !out || !ok) {
        fprintf(stderr, "out of memory\n");
        goto done;
    }
    for (size_t i = 0; i < nr; i++) {
        if (!i || r[i - 1].end < r[i].start - 8)
            addr[n++] = r[i].start - 8;
        for (uint64_t a = r[i].start; a < r[i].end; a += 8)
            addr[n++] = a;
        if (i + 1 == nr || r[i].end + 8 <= r[i + 1].start)
            addr[n++] = r[i].end;
    }
    struct hs_error err;
    if (hs_gather_u64(path, addr, n, out, ok, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        goto done;
    }
    size_t readable = 0, bad = 0;
    for (size_t k = 0; k < n; k++) {
        uint64_t v = 0;
        int want = hs_read_u64(s, addr[k], &v) == 0;
        readable += want;
        if (ok[k] != want || out[k] != (want ? v : 0)) {
            if (bad++ < 5)
                fprintf(stderr, "0x%" PRIx64 ": gathered %d 0x%" PRIx64 ", read %d 0x%" PRIx64 "\n", addr[k], ok[k],
                        out[k], want, v);
        }
    }
    if (bad)
        fprintf(stderr, "%zu of %zu words differ\n", bad, n);
    else
        printf("gather: %zu words agree, %zu readable\n", n, readable);
    /* out of order is refused, not answered */
    uint64_t two[2] = {r && nr ? r[0].start + 8 : 16, r && nr ? r[0].start : 8};
    if (!bad && hs_gather_u64(path, two, 2, out, ok, &err) == 0) {
        fprintf(stderr, "descending addresses were gathered\n");
        bad = 1;
    } else if (!bad) {
        printf("refused: %s\n", err.msg);
    }
    rc = bad != 0;
done:
    free(addr);
    free(out);
    free(ok);
    hs_close(s);
    return rc;
}

static int cmd_check(const char *path)
{
    struct hs_snapshot *s = open_or_say(path, 0, "");
    if (!s)
        return 1;
    CHECK(!hs_snapshot_truncated(s), "truncated: %s", hs_snapshot_warning(s));
    /* Which variant was written?  The small one has two ranges. */
    size_t n;
    hs_get_ranges(s, &n);
    if (n == 2)
        ranges = ranges_small, nranges = 2;
    check_meta(s);
    check_memory(s);
    hs_close(s);

    /* Metadata-only: same metadata, ranges with states but no data. */
    s = open_or_say(path, HS_OPEN_METADATA_ONLY, "metadata only: ");
    if (!s)
        return 1;
    check_meta(s);
    const struct hs_mem_range *r = hs_get_ranges(s, &n);
    CHECK(n == nranges && r[0].data == NULL && r[0].page_state[1] == state_out(0, 1),
          "metadata-only ranges");
    uint64_t v;
    CHECK(hs_read_u64(s, ranges[0].addr + 8, &v) < 0, "metadata-only hs_read");
    hs_close(s);
    if (failures) {
        fprintf(stderr, "%s: %d mismatches\n", path, failures);
        return 1;
    }
    printf("%s: every field round-trips\n", path);
    return 0;
}

/* ------------------------------------------------------------ dump */

static uint32_t memory_digest(const struct hs_snapshot *s)
{
    size_t n;
    const struct hs_mem_range *r = hs_get_ranges(s, &n);
    uint32_t c = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t hdr[3] = {r[i].start, r[i].end, r[i].flags};
        c = hs_crc32c(c, hdr, sizeof hdr);
        c = hs_crc32c(c, r[i].page_state, (r[i].end - r[i].start) / r[i].page_size);
        if (r[i].data)
            c = hs_crc32c(c, r[i].data, r[i].end - r[i].start);
    }
    return c;
}

static int cmd_dump(const char *path)
{
    struct hs_snapshot *s = open_or_say(path, 0, "");
    if (!s)
        return 1;
    const struct hs_process *p = hs_get_process(s);
    printf("version 1.%u truncated %d\n", hs_snapshot_version_minor(s), hs_snapshot_truncated(s));
    if (hs_snapshot_warning(s))
        printf("warning %s\n", hs_snapshot_warning(s));
    printf("process pid %d machine %u policy %u flags %u page %u time %" PRIu64 "\n", p->pid,
           p->machine, p->policy, p->flags, p->page_size, p->capture_time_ns);
    printf("  exe '%s' kernel '%s' host '%s'\n", p->exe, p->kernel_release, p->hostname);
    for (uint32_t i = 0; i < p->argc; i++)
        printf("  argv[%u] '%s'\n", i, p->argv[i]);
    for (uint32_t i = 0; i < p->auxv_count; i++)
        printf("  auxv %" PRIu64 " 0x%" PRIx64 "\n", p->auxv[2 * i], p->auxv[2 * i + 1]);
    size_t n;
    const struct hs_mapping *m = hs_get_mappings(s, &n);
    for (size_t i = 0; i < n; i++)
        printf("mapping %" PRIx64 "-%" PRIx64 " off %" PRIx64 " ino %" PRIu64 " dev %u:%u flags %x "
               "'%s' %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
               " %" PRIu64 " %" PRIu64 " %" PRIu64 " '%s'\n",
               m[i].start, m[i].end, m[i].offset, m[i].inode, m[i].dev_major, m[i].dev_minor,
               m[i].flags, m[i].path, m[i].rss, m[i].pss, m[i].private_clean, m[i].private_dirty,
               m[i].shared_clean, m[i].shared_dirty, m[i].swap, m[i].anonymous, m[i].anon_huge,
               m[i].vmflags);
    const struct hs_module *mo = hs_get_modules(s, &n);
    for (size_t i = 0; i < n; i++)
        printf("module '%s' base %" PRIx64 " lowest %" PRIx64 " build-id %u ehdr %u crc %08x "
               "phdrs %u crc %08x\n",
               mo[i].path, mo[i].base, mo[i].lowest, mo[i].build_id_len, mo[i].ehdr_len,
               hs_crc32c(0, mo[i].ehdr, mo[i].ehdr_len), mo[i].phdrs_len,
               hs_crc32c(0, mo[i].phdrs, mo[i].phdrs_len));
    const struct hs_thread *t = hs_get_threads(s, &n);
    for (size_t i = 0; i < n; i++)
        printf("thread %d '%c' '%s' rip %" PRIx64 " rsp %" PRIx64 " stack %" PRIx64 "-%" PRIx64
               " regs crc %08x\n",
               t[i].tid, t[i].state, t[i].name, t[i].regs[HS_RIP], t[i].regs[HS_RSP],
               t[i].stack_start, t[i].stack_end, hs_crc32c(0, t[i].regs, sizeof t[i].regs));
    const struct hs_stats *st = hs_get_stats(s);
    if (st) {
        printf("stats pause %" PRIu64 " total %" PRIu64 " read %" PRIu64 " zero %" PRIu64
               " absent %" PRIu64 " swapped %" PRIu64 " unreadable %" PRIu64
               " threads %u mode %u\n",
               st->pause_ns, st->total_ns, st->bytes_read, st->bytes_zero, st->bytes_absent,
               st->bytes_swapped, st->bytes_unreadable, st->threads, st->mode);
        for (uint32_t i = 0; i < st->nfailures; i++)
            printf("  failure %" PRIx64 "-%" PRIx64 " err %d '%s'\n", st->failures[i].start,
                   st->failures[i].end, st->failures[i].err, st->failures[i].reason);
    }
    const struct hs_mem_range *r = hs_get_ranges(s, &n);
    for (size_t i = 0; i < n; i++) {
        size_t np = (r[i].end - r[i].start) / r[i].page_size, cnt[5] = {0};
        for (size_t k = 0; k < np; k++)
            cnt[r[i].page_state[k] < 5 ? r[i].page_state[k] : 0]++;
        printf("range %" PRIx64 "-%" PRIx64 " flags %x data %zu zero %zu absent %zu swapped %zu "
               "unreadable %zu\n",
               r[i].start, r[i].end, r[i].flags, cnt[0], cnt[1], cnt[2], cnt[3], cnt[4]);
    }
    printf("digest %08x\n", memory_digest(s));
    hs_close(s);
    return 0;
}

/* ------------------------------------------------------------ the rest */

static int cmd_verify(const char *path)
{
    struct hs_error err;
    if (hs_verify(path, stdout, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("%s: ok\n", path);
    return 0;
}

static int cmd_zeros(const char *path, uint64_t npages)
{
    int fd = open_out(path);
    if (fd < 0)
        return 1;
    struct hs_error err;
    struct hs_writer *w = hs_writer_open(fd, path, 1, &err);
    if (!w) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    struct hs_process p = process_model();
    uint8_t *st = calloc(npages, 1); /* all HS_PAGE_DATA */
    uint8_t *data = calloc(npages, PAGE);
    int rc = hs_write_process(w, &p);
    if (!rc)
        rc = hs_write_memory(w, 0x20000000, PAGE, npages, HS_MEM_ANON, st, data);
    free(st);
    free(data);
    if (rc) {
        fprintf(stderr, "%s\n", hs_writer_error(w));
        hs_writer_abort(w);
        return 1;
    }
    if (hs_writer_finish(w, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    close(fd);
    return 0;
}

static int rewrite(const char *path, long off, int (*edit)(uint8_t *buf, long len, long off,
                                                           void *arg), void *arg)
{
    FILE *f = fopen(path, "r+b");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
    rewind(f);
    if (len <= 0 || fread(buf, 1, (size_t)len, f) != (size_t)len || off >= len ||
        edit(buf, len, off, arg) < 0) {
        fprintf(stderr, "%s: cannot edit at offset %ld\n", path, off);
        fclose(f);
        free(buf);
        return 1;
    }
    rewind(f);
    fwrite(buf, 1, (size_t)len, f);
    free(buf);
    return fclose(f) ? 1 : 0;
}

static int edit_flip(uint8_t *buf, long len, long off, void *arg)
{
    (void)len, (void)arg;
    buf[off] ^= 1;
    return 0;
}

/* Recompute every checksum of a (damaged) file, walking it the way the
 * layout in docs/format.md says; stops quietly where the walk cannot go. */
static void fix_crcs(uint8_t *b, long n)
{
    uint32_t hl, v;
    if (n < 24)
        return;
    memcpy(&hl, b + 12, 4);
    if (hl < 24 || hl > (uint32_t)n)
        return;
    v = hs_crc32c(0, b, hl - 4);
    memcpy(b + hl - 4, &v, 4);
    long off = hl;
    while (n - off >= 40) {
        uint8_t *h = b + off;
        uint64_t stored;
        uint32_t type;
        memcpy(&stored, h + 16, 8);
        memcpy(&type, h + 4, 4);
        if (stored > (uint64_t)(n - off - 40))
            return;
        v = hs_crc32c(0, h + 40, (size_t)stored);
        memcpy(h + 32, &v, 4);
        v = hs_crc32c(0, h, 36);
        memcpy(h + 36, &v, 4);
        off += 40 + (long)stored;
        if (type == HS_SEC_INDEX && n - off >= 24) {
            v = hs_crc32c(hs_crc32c(0, b + off, 12), b + off + 16, 8);
            memcpy(b + off + 12, &v, 4);
            return;
        }
    }
}

static int edit_flip_fix(uint8_t *buf, long len, long off, void *arg)
{
    (void)arg;
    buf[off] ^= 1;
    fix_crcs(buf, len);
    return 0;
}

static int edit_poke(uint8_t *buf, long len, long off, void *arg)
{
    buf[off] = *(uint8_t *)arg;
    fix_crcs(buf, len);
    return 0;
}

static int edit_version(uint8_t *buf, long len, long off, void *arg)
{
    (void)off;
    const unsigned *v = arg;
    if (len < 24)
        return -1;
    buf[8] = (uint8_t)v[0], buf[9] = (uint8_t)(v[0] >> 8);
    buf[10] = (uint8_t)v[1], buf[11] = (uint8_t)(v[1] >> 8);
    uint32_t hl;
    memcpy(&hl, buf + 12, 4);
    if (hl < 24 || hl > (uint32_t)len)
        return -1;
    uint32_t c = hs_crc32c(0, buf, hl - 4);
    memcpy(buf + hl - 4, &c, 4);
    return 0;
}

/* The end of a timed write (big, rewrite): abort the writer if a write
 * failed (rc), else finish it, saying why on stderr when either failed.
 * Returns rc, or 1 if finishing failed.  Without a writer (its open
 * failed, rc already set) there is nothing to end. */
static int end_timed_write(struct hs_writer *w, int rc)
{
    struct hs_error err;
    if (w && rc)
        fprintf(stderr, "%s\n", hs_writer_error(w)), hs_writer_abort(w);
    else if (w && hs_writer_finish(w, &err) < 0)
        fprintf(stderr, "%s\n", err.msg), rc = 1;
    return rc;
}

static int cmd_big(const char *path, uint64_t mib, int level)
{
    uint64_t npages = mib * (1 << 20) / PAGE;
    uint8_t *st = malloc(npages);
    uint8_t *data = malloc(npages * PAGE);
    if (!st || !data) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    /* Heap-like: a quarter of the pages zero, the rest a mix of pointers,
     * small integers, text and some random bytes. */
    uint64_t x = 88172645463325252ull;
    for (uint64_t i = 0; i < npages; i++) {
        st[i] = HS_PAGE_DATA;
        uint8_t *p = data + i * PAGE;
        if (i % 4 == 3) {
            memset(p, 0, PAGE);
            continue;
        }
        for (size_t o = 0; o < PAGE; o += 8) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            uint64_t v;
            switch (x % 8) {
            case 0: case 1: case 2: v = 0x555555560000ull + (x >> 40) * 16; break;
            case 3: case 4: v = x % 100; break;
            case 5: memcpy(&v, "heapsnap", 8); break;
            case 6: v = x; break;
            default: v = 0; break;
            }
            memcpy(p + o, &v, 8);
        }
    }
    int fd = open_out(path);
    if (fd < 0)
        return 1;
    struct hs_error err;
    double c0 = cpu(), t0 = now();
    struct hs_writer *w = hs_writer_open(fd, path, level, &err);
    struct hs_process p = process_model();
    int rc = !w || hs_write_process(w, &p) ||
             hs_write_memory(w, 0x555555560000ull, PAGE, npages, HS_MEM_ANON, st, data);
    rc = end_timed_write(w, rc);
    double t1 = now(), c1 = cpu();
    off_t size = lseek(fd, 0, SEEK_END);
    close(fd);
    free(st);
    free(data);
    if (rc)
        return 1;
    fprintf(stderr, "wrote %" PRIu64 " MiB in %.3f s (%.3f s CPU): %.0f MB/s, file %.1f MiB "
            "(level %d)\n", mib, t1 - t0, c1 - c0, (double)mib * (1 << 20) / 1e6 / (t1 - t0),
            (double)size / (1 << 20), level);
    return 0;
}

static int cmd_time_read(const char *path)
{
    struct hs_error err;
    double c0 = cpu(), t0 = now();
    struct hs_snapshot *s = hs_open(path, 0, &err);
    double t1 = now(), c1 = cpu();
    if (!s) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    size_t n, bytes = 0;
    const struct hs_mem_range *r = hs_get_ranges(s, &n);
    for (size_t i = 0; i < n; i++)
        bytes += r[i].end - r[i].start;
    hs_close(s);
    double t2 = now();
    s = hs_open(path, HS_OPEN_METADATA_ONLY, &err);
    double t3 = now();
    hs_close(s);
    double t4 = now();
    int v = hs_verify(path, NULL, &err);
    double t5 = now();
    fprintf(stderr, "open: %.3f s (%.3f s CPU) for %.1f MiB (%.0f MB/s); metadata only %.3f s; "
            "verify %.3f s%s\n", t1 - t0, c1 - c0, (double)bytes / (1 << 20),
            (double)bytes / 1e6 / (t1 - t0), t3 - t2, t5 - t4, v ? " FAILED" : "");
    return v ? 1 : 0;
}

static int cmd_grow_header(const char *in, const char *out)
{
    FILE *f = fopen(in, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", in, strerror(errno));
        return 1;
    }
    static uint8_t b[1 << 24];
    size_t n = fread(b + 8, 1, sizeof b - 8, f);
    fclose(f);
    uint32_t hl;
    memcpy(&hl, b + 8 + 12, 4);
    if (n < 24 + 24 || n == sizeof b - 8 || hl != 24) {
        fprintf(stderr, "%s: not a 24-byte-header snapshot of a size this tool handles\n", in);
        return 1;
    }
    /* New header: the old first 20 bytes, 8 bytes of a future field, the CRC. */
    memmove(b, b + 8, 20);
    memset(b + 20, 0xa5, 8);
    b[10] = HS_VERSION_MINOR + 1, b[11] = 0; /* a minor newer than this library's */
    hl = 32;
    memcpy(b + 12, &hl, 4);
    n += 8;
    /* Every offset in the file moves by 8: the footer's and the index's. */
    uint64_t idx, o;
    memcpy(&idx, b + n - 24, 8);
    idx += 8;
    memcpy(b + n - 24, &idx, 8);
    uint32_t count;
    memcpy(&count, b + idx + 40, 4);
    for (uint32_t i = 0; i < count && idx + 48 + 32 * (uint64_t)i + 16 <= n; i++) {
        uint8_t *e = b + idx + 48 + 32 * (size_t)i;
        memcpy(&o, e + 8, 8);
        o += 8;
        memcpy(e + 8, &o, 8);
    }
    fix_crcs(b, (long)n);
    f = fopen(out, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f)) {
        fprintf(stderr, "%s: cannot write\n", out);
        return 1;
    }
    return 0;
}

static int cmd_rewrite(const char *in, const char *out, int level)
{
    struct hs_error err;
    struct hs_snapshot *s = open_or_say(in, 0, "");
    if (!s)
        return 1;
    size_t n, bytes = 0;
    const struct hs_mem_range *r = hs_get_ranges(s, &n);
    uint8_t **packed = calloc(n, sizeof *packed);
    for (size_t i = 0; i < n; i++) { /* pack the DATA pages as a capture would hand them over */
        size_t np = (r[i].end - r[i].start) / r[i].page_size, k = 0;
        packed[i] = malloc(np * r[i].page_size + 1);
        for (size_t p = 0; p < np; p++)
            if (r[i].page_state[p] == HS_PAGE_DATA || r[i].page_state[p] == HS_PAGE_ZERO)
                memcpy(packed[i] + (k++) * r[i].page_size, r[i].data + p * r[i].page_size,
                       r[i].page_size);
        bytes += k * r[i].page_size;
    }
    int fd = open_out(out);
    if (fd < 0)
        return 1;
    double c0 = cpu(), t0 = now();
    struct hs_writer *w = hs_writer_open(fd, out, level, &err);
    int rc = !w || hs_write_process(w, hs_get_process(s));
    for (size_t i = 0; i < n && !rc; i++) {
        /* ZERO pages go back as DATA, so the writer's zero check is timed too. */
        size_t np = (r[i].end - r[i].start) / r[i].page_size;
        uint8_t *st = malloc(np);
        for (size_t p = 0; p < np; p++)
            st[p] = r[i].page_state[p] == HS_PAGE_ZERO ? HS_PAGE_DATA : r[i].page_state[p];
        rc = hs_write_memory(w, r[i].start, r[i].page_size, np, r[i].flags, st, packed[i]);
        free(st);
    }
    rc = end_timed_write(w, rc);
    double t1 = now(), c1 = cpu();
    off_t size = lseek(fd, 0, SEEK_END);
    close(fd);
    for (size_t i = 0; i < n; i++)
        free(packed[i]);
    free(packed);
    hs_close(s);
    if (rc)
        return 1;
    fprintf(stderr, "rewrote %.1f MiB in %.3f s (%.3f s CPU): %.0f MB/s, file %.1f MiB (level %d)\n",
            (double)bytes / (1 << 20), t1 - t0, c1 - c0, (double)bytes / 1e6 / (t1 - t0),
            (double)size / (1 << 20), level);
    return 0;
}

static int cmd_crc(void)
{
    CHECK(hs_crc32c(0, "123456789", 9) == 0xE3069283u, "check value %08x",
          hs_crc32c(0, "123456789", 9));
    CHECK(hs_crc32c_portable(0, "123456789", 9) == 0xE3069283u, "portable check value");
    CHECK(hs_crc32c(0, NULL, 0) == 0, "empty");
    static uint8_t buf[5000];
    uint64_t x = 1;
    for (size_t i = 0; i < sizeof buf; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
    /* Every alignment and many lengths; chaining equals one pass. */
    for (size_t a = 0; a < 16; a++)
        for (size_t n = 0; n < 300; n += (n < 70 ? 1 : 37)) {
            uint32_t c = hs_crc32c(0, buf + a, n);
            CHECK(c == hs_crc32c_portable(0, buf + a, n), "align %zu len %zu", a, n);
            size_t k = n / 3;
            CHECK(hs_crc32c(hs_crc32c(0, buf + a, k), buf + a + k, n - k) == c,
                  "chained at %zu of %zu", k, n);
        }
    CHECK(hs_crc32c(0, buf, sizeof buf) == hs_crc32c_portable(0, buf, sizeof buf), "long");
    if (failures)
        return 1;
    printf("crc32c ok\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "grow-header"))
        return cmd_grow_header(argv[2], argv[3]);
    if ((argc == 4 || argc == 5) && !strcmp(argv[1], "rewrite"))
        return cmd_rewrite(argv[2], argv[3], argc == 5 ? atoi(argv[4]) : 1);
    if (argc == 2 && !strcmp(argv[1], "crc"))
        return cmd_crc();
    if (argc >= 3 && !strcmp(argv[1], "write"))
        return cmd_write(argv[2], argc - 3, argv + 3);
    if (argc == 3 && !strcmp(argv[1], "check"))
        return cmd_check(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "dump"))
        return cmd_dump(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "gather"))
        return cmd_gather(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "release"))
        return cmd_release(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "ondemand"))
        return cmd_ondemand(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "verify"))
        return cmd_verify(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "zeros"))
        return cmd_zeros(argv[2], strtoull(argv[3], NULL, 0));
    if (argc == 4 && !strcmp(argv[1], "flip"))
        return rewrite(argv[2], strtol(argv[3], NULL, 0), edit_flip, NULL);
    if (argc == 5 && !strcmp(argv[1], "flip") && !strcmp(argv[4], "--fix-crc"))
        return rewrite(argv[2], strtol(argv[3], NULL, 0), edit_flip_fix, NULL);
    if (argc == 5 && !strcmp(argv[1], "poke")) {
        uint8_t v = (uint8_t)strtoul(argv[4], NULL, 0);
        return rewrite(argv[2], strtol(argv[3], NULL, 0), edit_poke, &v);
    }
    if (argc == 5 && !strcmp(argv[1], "version")) {
        unsigned v[2] = {(unsigned)atoi(argv[3]), (unsigned)atoi(argv[4])};
        return rewrite(argv[2], 0, edit_version, v);
    }
    if ((argc == 4 || argc == 5) && !strcmp(argv[1], "big"))
        return cmd_big(argv[2], strtoull(argv[3], NULL, 0), argc == 5 ? atoi(argv[4]) : 1);
    if (argc == 3 && !strcmp(argv[1], "time-read"))
        return cmd_time_read(argv[2]);
    fprintf(stderr, "usage: see the comment at the top of tests/tools/hsnap-synth.c\n");
    return 2;
}
