/*
 * fuzz_reader.c — libFuzzer target for the .hsnap reader (format/).
 *
 * Input files are hostile, so every input here must end in a clean
 * hs_error or a sound snapshot: never a crash, a sanitizer report, a hang
 * or a huge allocation.  Each input is opened both ways (full and
 * metadata-only), every getter is walked, memory is read at range edges
 * and page boundaries (and gathered there, hs_gather_u64_memory, and read
 * from an on-demand open, both of which must read the same words), and the
 * strict walk of hs_verify_memory runs too.
 * Built by `make build/fuzz/fuzz_reader`; run by tests/fuzz/run.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/hscore.h"
#include "encode.h"
#include "hsnap.h"
#include "layout.h"
#include "snapshot.h"

static volatile uint64_t sink;

static void touch_str(const char *s)
{
    if (s)
        sink += strlen(s);
}

static void walk(const struct hs_snapshot *s)
{
    const struct hs_process *p = hs_get_process(s);
    touch_str(p->exe);
    touch_str(p->kernel_release);
    touch_str(p->hostname);
    for (uint32_t i = 0; i < p->argc; i++)
        touch_str(p->argv[i]);
    for (uint64_t i = 0; i < 2 * (uint64_t)p->auxv_count; i++)
        sink += p->auxv[i];
    touch_str(hs_snapshot_warning(s));
    size_t n;
    const struct hs_mapping *m = hs_get_mappings(s, &n);
    for (size_t i = 0; i < n; i++) {
        touch_str(m[i].path);
        touch_str(m[i].vmflags);
    }
    const struct hs_module *mo = hs_get_modules(s, &n);
    for (size_t i = 0; i < n; i++) {
        touch_str(mo[i].path);
        sink += hs_crc32c(0, mo[i].ehdr, mo[i].ehdr_len) + hs_crc32c(0, mo[i].phdrs, mo[i].phdrs_len);
        sink += hs_crc32c(0, mo[i].build_id, mo[i].build_id_len);
    }
    const struct hs_thread *t = hs_get_threads(s, &n);
    for (size_t i = 0; i < n; i++)
        sink += strlen(t[i].name) + t[i].regs[HS_RSP];
    const struct hs_stats *st = hs_get_stats(s);
    if (st)
        for (uint32_t i = 0; i < st->nfailures; i++)
            touch_str(st->failures[i].reason);

    const struct hs_mem_range *r = hs_get_ranges(s, &n);
    for (size_t i = 0; i < n; i++) {
        uint64_t np = (r[i].end - r[i].start) / r[i].page_size;
        for (uint64_t k = 0; k < np && k < 4096; k++)
            sink += r[i].page_state[k];
        if (i && r[i].start < r[i - 1].end)
            __builtin_trap(); /* the contract: sorted, non-overlapping */
        uint64_t probes[] = {r[i].start, r[i].start + r[i].page_size - 4, r[i].end - 8,
                             r[i].end - 1, r[i].end, r[i].start - 1};
        for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++) {
            uint64_t v;
            uint8_t buf[64];
            if (hs_read_u64(s, probes[k], &v) == 0)
                sink += v;
            if (hs_read(s, probes[k], buf, sizeof buf) == 0)
                sink += buf[63];
            const uint8_t *p8 = hs_ptr(s, probes[k], 16);
            if (p8)
                sink += p8[15];
            if (hs_find_range(s, probes[k]) && (probes[k] < r[i].start || probes[k] >= r[i].end) &&
                hs_find_range(s, probes[k]) == &r[i])
                __builtin_trap();
        }
        if (r[i].data)
            sink += hs_crc32c(0, r[i].data, (size_t)(r[i].end - r[i].start) < 65536
                                                 ? (size_t)(r[i].end - r[i].start)
                                                 : 65536);
    }
}

/* Mutated inputs almost never keep their checksums right, which would stop
 * the fuzzer at the first CRC check.  So each input is also tried with
 * every checksum recomputed, which lets mutations reach the parsers behind
 * the checks; the reader itself is the same code either way. */
static void fix_checksums(uint8_t *b, size_t n)
{
    if (n < HSL_FILE_HDR_LEN)
        return;
    uint32_t hl = hs_ld32(b + 12);
    if (hl < HSL_FILE_HDR_LEN || hl > n || hl % 4)
        return;
    hs_st32(b + hl - 4, hs_crc32c(0, b, hl - 4));
    size_t off = hl;
    for (int i = 0; i < 100000 && n - off >= HSL_SEC_HDR_LEN; i++) {
        uint8_t *h = b + off;
        uint64_t stored = hs_ld64(h + 16);
        if (stored > n - off - HSL_SEC_HDR_LEN)
            return;
        hs_st32(h + 32, hs_crc32c(0, h + HSL_SEC_HDR_LEN, (size_t)stored));
        hs_st32(h + 36, hs_crc32c(0, h, 36));
        off += HSL_SEC_HDR_LEN + (size_t)stored;
        if (hs_ld32(h + 4) == HS_SEC_INDEX && n - off >= HSL_FOOTER_LEN) {
            uint8_t *f = b + off;
            hs_st32(f + 12, hs_crc32c(hs_crc32c(0, f, 12), f + 16, 8));
            return;
        }
    }
}

static int by_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* hs_gather_u64_memory must read what the opened snapshot s reads, word
 * for word, at each range's edges and first pages (and just outside). */
static void gather_agrees(const uint8_t *data, size_t size, const struct hs_snapshot *s)
{
    enum { MAX = 2048 };
    static uint64_t addr[MAX], out[MAX];
    static uint8_t ok[MAX];
    size_t n = 0, nr;
    const struct hs_mem_range *r = hs_get_ranges(s, &nr);
    for (size_t i = 0; i < nr && n + 12 <= MAX; i++) {
        uint64_t base = r[i].start & ~(uint64_t)7;
        uint64_t probes[] = {base - 8, base, base + 8, base + r[i].page_size - 8, base + r[i].page_size,
                             base + 2 * r[i].page_size, (r[i].end & ~(uint64_t)7) - 8, r[i].end & ~(uint64_t)7,
                             (r[i].end & ~(uint64_t)7) + 8, base + 13 * 8};
        for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++)
            addr[n++] = probes[k];
    }
    qsort(addr, n, sizeof *addr, by_u64);
    struct hs_error err;
    if (hs_gather_u64_memory(data, size, "fuzz", addr, n, out, ok, &err))
        __builtin_trap(); /* the file opened whole: its blocks all decompress */
    /* and opened on demand, it reads the same, block by block, in an order
     * of its own (from the last address down), and finds nothing bad */
    struct hs_snapshot *lazy = hs_open_memory(data, size, "fuzz", HS_OPEN_ON_DEMAND, &err);
    if (!lazy)
        __builtin_trap();
    for (size_t k = 0; k < n; k++) {
        uint64_t v = 0, lv = 0;
        int want = hs_read_u64(s, addr[k], &v) == 0;
        if (ok[k] != want || (want && out[k] != v) || (!want && out[k]))
            __builtin_trap();
        size_t j = n - 1 - k;
        int lwant = hs_read_u64(s, addr[j], &v) == 0;
        if ((hs_read_u64(lazy, addr[j], &lv) == 0) != lwant || (lwant && lv != v))
            __builtin_trap();
    }
    if (hs_snapshot_memory_error(lazy))
        __builtin_trap();
    hs_close(lazy);
}

/* Opened on demand where the eager open failed: a read may fail, but a
 * block that does not decompress must be said, and nothing may crash. */
static void on_demand_alone(const uint8_t *data, size_t size)
{
    struct hs_error err;
    struct hs_snapshot *s = hs_open_memory(data, size, "fuzz", HS_OPEN_ON_DEMAND, &err);
    if (!s) {
        if (strncmp(err.msg, "fuzz: ", 6))
            __builtin_trap();
        return;
    }
    walk(s);
    const char *why = hs_snapshot_memory_error(s);
    if (why && strncmp(why, "fuzz: ", 6))
        __builtin_trap();
    hs_close(s);
}

static void one(const uint8_t *data, size_t size)
{
    struct hs_error err;
    int opened[2] = {0, 0}; /* full, metadata-only: opened and not truncated */
    for (unsigned flags = 0; flags <= HS_OPEN_METADATA_ONLY; flags++) {
        struct hs_snapshot *s = hs_open_memory(data, size, "fuzz", flags, &err);
        if (s) {
            opened[flags] = !hs_snapshot_truncated(s);
            walk(s);
            if (flags == 0)
                gather_agrees(data, size, s);
            hs_close(s);
        } else if (strncmp(err.msg, "fuzz: ", 6)) {
            __builtin_trap(); /* every error names the file */
        } else if (strstr(err.msg, "materialise") || strstr(err.msg, "cannot map")) {
            opened[flags] = -1; /* a resource limit, not a verdict on the file */
        }
    }
    int verified = hs_verify_memory(data, size, "fuzz", NULL, &err) == 0;
    if (!verified && strncmp(err.msg, "fuzz: ", 6))
        __builtin_trap();
    /* What verify passes, open must read whole; what the full open reads,
     * the metadata-only open (which decompresses less) reads too. */
    if (verified && (!opened[0] || !opened[1]))
        __builtin_trap();
    if (opened[0] == 1 && opened[1] != 1)
        __builtin_trap();
    if (opened[0] != 1)
        on_demand_alone(data, size);
}

static void one_core(const uint8_t *data, size_t size)
{
    struct hs_error err;
    for (unsigned flags = 0; flags <= HS_OPEN_METADATA_ONLY; flags++) {
        struct hs_snapshot *s = hs_open_core_memory(data, size, "fuzz", flags, &err);
        if (s) {
            walk(s);
            hs_close(s);
        } else if (strncmp(err.msg, "fuzz: ", 6)) {
            __builtin_trap(); /* every error names the file */
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hs_reader_max_data = 64u << 20; /* see snapshot.h */
    one(data, size);
    one_core(data, size);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    fix_checksums(copy, size);
    if (memcmp(copy, data, size))
        one(copy, size);
    free(copy);
    return 0;
}
