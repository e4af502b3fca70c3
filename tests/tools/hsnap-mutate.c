/*
 * hsnap-mutate.c — hostile snapshots for the end-to-end robustness test of
 * the analyzer (tests/t5100-hostile.sh).
 *
 *   hsnap-mutate IN.hsnap OUT.hsnap SEED [--lie NAME] [--poke ADDR VALUE]...
 *                [--module-path PATH] [--store]
 *
 * Reads a real snapshot and writes a copy whose checksums are all valid but
 * whose contents lie, the way a buggy target, a damaged capture or a
 * hostile sender would leave them.  The reader's own checks (CRCs, lengths,
 * bounds) are the fuzzer's business (tests/fuzz/); this tool gets past them
 * to reach what the analyses do with what the reader accepts.  Everything
 * is chosen by SEED, so a failing mutant is rebuilt from its seed alone.
 *
 * Each mutant gets one metadata lie (or none, for a third of the seeds) and
 * a handful of damaged memory words (hundreds, for one seed in six):
 *  - memory: words in the heap, in glibc chunk headers (found by walking
 *    the [heap] chunks by their size fields), in the allocator's own
 *    metadata (glibc's main_arena and mp_ from libc's debug file; Go's
 *    runtime.mheap_, allgs, allm, allp, sched, ... from the executable's
 *    symbols) and in what those point to, one to three pointers away
 *    (heapArena bitmaps, span structures, bins, g structures).  A word
 *    becomes a pointer into another range, an unaligned one, one to the
 *    last bytes of a range or just past it, a pointer to itself or to the
 *    start of its own structure (one-element cycles), to the previously
 *    damaged word (two-element cycles), zero, all ones, a huge size, a
 *    flipped bit or noise.  A block of bytes may be smashed whole, and a
 *    heap page may become SWAPPED or UNREADABLE (a hole in the heap).
 *  - metadata: a thread whose rsp is outside every mapping or at the last
 *    bytes of a range, an inverted or huge stack range, no threads, many
 *    threads; a module whose base or lowest address is wild, whose ELF
 *    header or program headers are garbage, truncated or lie about their
 *    count, whose build-id is wrong, whose path names something that is
 *    not the file (a device, a directory, another binary); a mapping that
 *    overlaps another, that ends below its start (the reader must refuse
 *    it), that covers everything, a second [heap], no mappings; memory
 *    outside every mapping, no memory at all, the heap's memory dropped, a
 *    [heap] stretched to the top of the address space, a hundred thousand
 *    mappings in descending order;
 *    a page size of 0, odd or huge; argv with huge or hostile strings;
 *    wild auxv values; a redaction flag that is a lie; a machine that is
 *    not x86_64; stats whose failures are wild.
 *
 * With --lie NAME (hsnap-mutate without arguments lists the names) and/or
 * --poke ADDR VALUE (one 64-bit word, repeatable) and/or --module-path PATH
 * (every module and the executable name PATH: a FIFO, a device, ...), only
 * those changes are made, and the rest stays as captured: the targeted
 * cases.  --store writes every body uncompressed (writer level 0), so that
 * two copies that differ in a word have the same size (t8100).
 *
 * Prints "seed N", then one line per change, to stdout: the test prints
 * them with a failing seed so that the failure explains itself.
 * Links only the format library.  Exit 0, 1 if IN cannot be read or OUT
 * written, 2 for a bad command line.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hsnap.h"

/* ------------------------------------------------------------ randomness */

static uint64_t rng_state;
static uint64_t rnd(void) /* xorshift64*: reproducible from the seed */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}
static uint64_t below(uint64_t n) { return n ? rnd() % n : 0; }

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

static void *xmalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p) {
        fprintf(stderr, "hsnap-mutate: out of memory\n");
        exit(1);
    }
    return p;
}

/* ------------------------------------------------------------ the model */

/* A captured range, unpacked: data holds every page, DATA or not, so that a
 * word can be changed in place; the DATA pages are packed again on write. */
struct range {
    uint64_t start, end;
    uint32_t page_size, flags;
    uint8_t *state;
    uint8_t *data;
};

static struct hs_process proc;
static struct hs_mapping *maps;
static size_t nmaps;
static struct hs_module *mods;
static size_t nmods;
static struct hs_thread *threads;
static size_t nthreads;
static struct range *ranges;
static size_t nranges;
static struct hs_stats stats;
static int have_stats;

/* Areas worth damaging: the heap, and the allocator's metadata. */
struct area {
    uint64_t start, end;
    const char *what;
};
static struct area *heap; /* captured anonymous memory: heap, arenas, Go's spans */
static size_t nheap;
static struct area meta[32]; /* allocator globals found by symbol */
static size_t nmeta;
static uint64_t *chunks; /* glibc chunk headers in [heap], by a walk of the size fields */
static size_t nchunks;

static struct range *range_of(uint64_t addr, size_t len)
{
    size_t lo = 0, hi = nranges;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ranges[mid].end <= addr)
            lo = mid + 1;
        else if (ranges[mid].start > addr)
            hi = mid;
        else
            return addr + len <= ranges[mid].end && addr + len >= addr ? &ranges[mid] : NULL;
    }
    return NULL;
}

/* Whether the page at addr has contents one can change (an anonymous
 * ABSENT or a ZERO page becomes DATA when written). */
static int writable_page(const struct range *r, uint64_t addr)
{
    uint8_t st = r->state[(addr - r->start) / r->page_size];
    return st == HS_PAGE_DATA || st == HS_PAGE_ZERO ||
           (st == HS_PAGE_ABSENT && (r->flags & HS_MEM_ANON));
}

static int get_word(uint64_t addr, uint64_t *v)
{
    struct range *r = range_of(addr, 8);
    if (!r)
        return -1;
    memcpy(v, r->data + (addr - r->start), 8);
    return 0;
}

/* Set len bytes at addr, if they lie in one range on pages with contents. */
static int put_bytes(uint64_t addr, const void *buf, size_t len)
{
    struct range *r = range_of(addr, len);
    if (!r || !writable_page(r, addr) || !writable_page(r, addr + len - 1))
        return -1;
    r->state[(addr - r->start) / r->page_size] = HS_PAGE_DATA;
    r->state[(addr + len - 1 - r->start) / r->page_size] = HS_PAGE_DATA;
    memcpy(r->data + (addr - r->start), buf, len);
    return 0;
}

static void load(const struct hs_snapshot *s)
{
    proc = *hs_get_process(s);
    const struct hs_mapping *m = hs_get_mappings(s, &nmaps);
    maps = xmalloc((nmaps + 8) * sizeof *maps); /* room for the mappings a lie adds */
    memcpy(maps, m, nmaps * sizeof *maps);
    const struct hs_module *mo = hs_get_modules(s, &nmods);
    mods = xmalloc((nmods + 2) * sizeof *mods);
    memcpy(mods, mo, nmods * sizeof *mods);
    const struct hs_thread *t = hs_get_threads(s, &nthreads);
    threads = xmalloc((nthreads + 1) * sizeof *threads);
    memcpy(threads, t, nthreads * sizeof *threads);
    const struct hs_stats *st = hs_get_stats(s);
    if (st) {
        stats = *st;
        have_stats = 1;
    }
    const struct hs_mem_range *r = hs_get_ranges(s, &nranges);
    ranges = xmalloc((nranges + 2) * sizeof *ranges);
    for (size_t i = 0; i < nranges; i++) {
        uint64_t len = r[i].end - r[i].start, np = len / r[i].page_size;
        ranges[i] = (struct range){r[i].start, r[i].end, r[i].page_size, r[i].flags,
                                   xmalloc(np), xmalloc(len)};
        memcpy(ranges[i].state, r[i].page_state, np);
        memcpy(ranges[i].data, r[i].data, len);
    }
}

/* ------------------------------------------------------------ finding targets */

/* The value of each wanted symbol in an ELF file's .symtab, plus bias. */
static void find_symbols(const char *path, uint64_t bias, const char *const *names)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return;
    off_t size = lseek(fd, 0, SEEK_END);
    uint8_t *f = size > (off_t)sizeof(Elf64_Ehdr) && size < (1 << 30) ? malloc((size_t)size) : NULL;
    if (!f || pread(fd, f, (size_t)size, 0) != size) {
        free(f);
        close(fd);
        return;
    }
    close(fd);
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_shentsize != sizeof(Elf64_Shdr) ||
        eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > (uint64_t)size) {
        free(f);
        return;
    }
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(f + eh->e_shoff);
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum ||
            sh[i].sh_offset + sh[i].sh_size > (uint64_t)size)
            continue;
        const Elf64_Shdr *str = &sh[sh[i].sh_link];
        if (str->sh_offset + str->sh_size > (uint64_t)size)
            continue;
        const Elf64_Sym *sym = (const Elf64_Sym *)(f + sh[i].sh_offset);
        for (size_t k = 0; k < sh[i].sh_size / sizeof *sym; k++) {
            if (sym[k].st_name >= str->sh_size || !sym[k].st_size)
                continue;
            const char *nm = (const char *)f + str->sh_offset + sym[k].st_name;
            if (!memchr(nm, 0, str->sh_size - sym[k].st_name))
                continue;
            for (size_t n = 0; names[n]; n++)
                if (!strcmp(nm, names[n]) && nmeta < sizeof meta / sizeof meta[0]) {
                    uint64_t a = sym[k].st_value + bias;
                    meta[nmeta++] = (struct area){a, a + sym[k].st_size, names[n]};
                }
        }
    }
    free(f);
}

static void find_targets(void)
{
    /* The heap: captured anonymous writable memory that is not a stack. */
    heap = xmalloc((nranges + 1) * sizeof *heap);
    for (size_t i = 0; i < nranges; i++) {
        const char *what = NULL;
        for (size_t k = 0; k < nmaps; k++)
            if (maps[k].start < ranges[i].end && ranges[i].start < maps[k].end &&
                (maps[k].flags & HS_MAP_W) && (maps[k].flags & HS_MAP_ANON) &&
                strcmp(maps[k].path, "[stack]"))
                what = maps[k].path[0] ? maps[k].path : "anon";
        if (what)
            heap[nheap++] = (struct area){ranges[i].start, ranges[i].end, what};
    }
    /* glibc's chunks in [heap]: the first chunk starts the mapping, and each
     * size field (low 3 bits are flags) leads to the next. */
    for (size_t k = 0; k < nmaps; k++) {
        if (strcmp(maps[k].path, "[heap]"))
            continue;
        uint64_t p = maps[k].start, sz;
        size_t cap = 0;
        while (nchunks < 200000 && get_word(p + 8, &sz) == 0) {
            sz &= ~7ull;
            if (sz < 32 || sz > maps[k].end - p)
                break;
            if (nchunks == cap) {
                cap = cap ? 2 * cap : 1024;
                uint64_t *c = realloc(chunks, cap * sizeof *c);
                if (!c)
                    exit(1);
                chunks = c;
            }
            chunks[nchunks++] = p;
            p += sz;
        }
    }
    /* The allocators' globals. */
    static const char *const go_names[] = {
        "runtime.mheap_", "runtime.allgs", "runtime.allm", "runtime.allp",
        "runtime.sched",  "runtime.m0",    "runtime.g0",   "runtime.mcache0",
        "runtime.allglen", "runtime.allgptr", "runtime.memstats", "runtime.gcController",
        "runtime.firstmoduledata", NULL};
    static const char *const glibc_names[] = {"main_arena", "mp_", NULL};
    for (size_t i = 0; i < nmods; i++) {
        if (proc.exe && !strcmp(mods[i].path, proc.exe))
            find_symbols(mods[i].path, mods[i].base, go_names);
        if (strstr(mods[i].path, "/libc.so") && mods[i].build_id_len > 1) {
            char dbg[256];
            int n = snprintf(dbg, sizeof dbg, "/usr/lib/debug/.build-id/%02x/", mods[i].build_id[0]);
            for (unsigned b = 1; b < mods[i].build_id_len && n < 200; b++)
                n += snprintf(dbg + n, sizeof dbg - (size_t)n, "%02x", mods[i].build_id[b]);
            snprintf(dbg + n, sizeof dbg - (size_t)n, ".debug");
            find_symbols(dbg, mods[i].base, glibc_names);
        }
    }
}

/* ------------------------------------------------------------ memory damage */

static uint64_t last_target; /* the previous damaged word: a second one may point back */

/* A random captured address, 8-aligned, in range i. */
static uint64_t in_range(size_t i)
{
    uint64_t len = ranges[i].end - ranges[i].start;
    return ranges[i].start + (below(len / 8) * 8);
}

/* An aligned word in one of the areas. */
static uint64_t in_area(const struct area *a, size_t n)
{
    const struct area *x = &a[below(n)];
    uint64_t len = x->end - x->start;
    return (x->start + below(len / 8 ? len / 8 : 1) * 8) & ~7ull;
}

/* Follow up to depth pointers from a, to land in a structure it leads to. */
static uint64_t chase(uint64_t a, unsigned depth)
{
    for (unsigned d = 0; d < depth; d++) {
        /* look for a pointer among the next few words */
        uint64_t v = 0, found = 0;
        for (unsigned k = 0; k < 16 && !found; k++)
            if (get_word(a + 8 * k, &v) == 0 && (v & 7) == 0 && range_of(v, 8))
                found = v;
        if (!found)
            break;
        a = found + 8 * below(32);
    }
    return a;
}

static uint64_t pick_target(const char **how)
{
    for (int tries = 0; tries < 64; tries++) {
        uint64_t a = 0;
        switch (below(6)) {
        case 0:
        case 1:
            if (!nheap)
                continue;
            a = in_area(heap, nheap);
            *how = "heap word";
            break;
        case 2:
            if (!nchunks)
                continue;
            a = chunks[below(nchunks)] + 8 * below(4); /* prev_size, size, fd, bk */
            *how = "chunk header";
            break;
        case 3:
            if (!nmeta)
                continue;
            a = in_area(meta, nmeta);
            *how = "allocator global";
            break;
        case 4:
            if (!nmeta)
                continue;
            a = chase(in_area(meta, nmeta), 1 + (unsigned)below(3));
            *how = "reached from an allocator global";
            break;
        default:
            if (!nheap)
                continue;
            a = chase(in_area(heap, nheap), 1 + (unsigned)below(2));
            *how = "reached from the heap";
            break;
        }
        /* most of a heap is zeros; damage what holds something, mostly */
        uint64_t v = 0;
        struct range *r = range_of(a, 8);
        if (r && writable_page(r, a) && (get_word(a, &v), v || tries >= 48))
            return a;
    }
    return 0;
}

static uint64_t hostile_value(uint64_t a, uint64_t old, const char **how)
{
    size_t i = below(nranges);
    switch (below(16)) {
    case 0: *how = "pointer into another range"; return nranges ? in_range(i) : 0;
    case 1: *how = "unaligned pointer"; return nranges ? in_range(i) + 1 + below(7) : 3;
    case 2: *how = "the last bytes of a range"; return nranges ? ranges[i].end - 1 - below(8) : 0;
    case 3: *how = "the end of a range"; return nranges ? ranges[i].end + 8 * below(2) : 0;
    case 4: *how = "itself"; return a;
    case 5: *how = "the start of its own structure"; return a - 8 * below(8);
    case 6: *how = "the previous damaged word"; return last_target ? last_target : a;
    case 7: *how = "zero"; return 0;
    case 8: *how = "all ones"; return ~0ull;
    case 9: *how = "a huge size"; return 1ull << (30 + below(34));
    case 10: *how = "a small number"; return below(4096);
    case 11: *how = "a flipped bit"; return old ^ (1ull << below(64));
    case 12: *how = "another chunk"; return nchunks ? chunks[below(nchunks)] + 16 * below(2) : a;
    case 13: *how = "a neighbour"; return old + 8 * (below(5) - 2);
    case 14: *how = "a fill pattern"; return 0x4141414141414141ull;
    default: *how = "noise"; return rnd();
    }
}

static void damage_word(void)
{
    const char *where = NULL, *what = NULL;
    uint64_t a = pick_target(&where);
    if (!a)
        return;
    uint64_t old = 0;
    get_word(a, &old);
    uint64_t v = hostile_value(a, old, &what);
    if (put_bytes(a, &v, 8) == 0) {
        say("word 0x%llx (%s): 0x%llx -> 0x%llx (%s)", (unsigned long long)a, where,
            (unsigned long long)old, (unsigned long long)v, what);
        last_target = a;
    }
}

static void smash_block(void)
{
    const char *where = NULL;
    uint64_t a = pick_target(&where);
    if (!a)
        return;
    uint8_t buf[256];
    size_t len = 16 + below(sizeof buf - 16);
    int fill = (int)below(3);
    for (size_t k = 0; k < len; k++)
        buf[k] = fill == 0 ? 0xff : fill == 1 ? 0 : (uint8_t)rnd();
    while (len > 8 && put_bytes(a, buf, len))
        len /= 2;
    say("block 0x%llx (%s): %zu bytes of %s", (unsigned long long)a, where, len,
        fill == 0 ? "0xff" : fill == 1 ? "zeros" : "noise");
}

static void heap_hole(void)
{
    if (!nheap)
        return;
    uint64_t a = in_area(heap, nheap);
    struct range *r = range_of(a, 1);
    if (!r)
        return;
    uint8_t st = below(2) ? HS_PAGE_SWAPPED : HS_PAGE_UNREADABLE;
    r->state[(a - r->start) / r->page_size] = st;
    say("page 0x%llx: %s", (unsigned long long)(a & ~(uint64_t)(r->page_size - 1)),
        hs_page_state_name(st));
}

/* ------------------------------------------------------------ metadata lies */

static char *bigstr(size_t len, char c)
{
    char *s = xmalloc(len + 1);
    memset(s, c, len);
    return s;
}

/* An address no mapping and no range covers. */
static uint64_t unmapped(void)
{
    for (;;) {
        uint64_t a = (0x100000000000ull + below(1ull << 44)) & ~0xfffull;
        int hit = range_of(a, 1) != NULL;
        for (size_t k = 0; k < nmaps && !hit; k++)
            hit = a >= maps[k].start && a < maps[k].end + 0x100000;
        if (!hit)
            return a;
    }
}

static uint64_t wild(void)
{
    static const uint64_t v[] = {0, 1, ~0ull, ~0ull << 12, 1ull << 47, 0x8000000000000000ull,
                                 0xfffffffffffff000ull};
    return below(2) ? v[below(sizeof v / sizeof v[0])] : rnd();
}

static struct hs_thread *a_thread(void) { return nthreads ? &threads[below(nthreads)] : NULL; }
static struct hs_module *a_module(void) { return nmods ? &mods[below(nmods)] : NULL; }

static void lie_threads(unsigned which)
{
    struct hs_thread *t = a_thread();
    switch (which) {
    case 0:
        if (!t)
            break;
        t->regs[HS_RSP] = unmapped() + 8 * below(512);
        say("thread %d: rsp 0x%llx, outside every mapping", t->tid,
            (unsigned long long)t->regs[HS_RSP]);
        break;
    case 1:
        if (!t || !nranges)
            break;
        t->regs[HS_RSP] = ranges[below(nranges)].end - 1 - below(8);
        say("thread %d: rsp 0x%llx, the last bytes of a range", t->tid,
            (unsigned long long)t->regs[HS_RSP]);
        break;
    case 2:
        if (!t)
            break;
        uint64_t s = t->stack_start;
        t->stack_start = t->stack_end;
        t->stack_end = s;
        say("thread %d: stack inverted, 0x%llx-0x%llx", t->tid, (unsigned long long)t->stack_start,
            (unsigned long long)t->stack_end);
        break;
    case 3:
        if (!t)
            break;
        t->stack_start = below(2) ? 0 : t->stack_start;
        t->stack_end = below(2) ? ~0ull : t->stack_start + (1ull << 46);
        say("thread %d: stack huge, 0x%llx-0x%llx", t->tid, (unsigned long long)t->stack_start,
            (unsigned long long)t->stack_end);
        break;
    case 4:
        nthreads = 0;
        say("no threads");
        break;
    case 5: {
        if (!t)
            break;
        size_t n = 3000;
        struct hs_thread *many = xmalloc(n * sizeof *many);
        for (size_t k = 0; k < n; k++) {
            many[k] = *t;
            many[k].tid = t->tid + (int)below(3); /* duplicate tids, too */
        }
        say("%zu threads, copies of %d", n, t->tid);
        free(threads);
        threads = many;
        nthreads = n;
        break;
    }
    default:
        if (!t)
            break;
        for (int r = 0; r < HS_NREGS; r++)
            t->regs[r] = wild();
        say("thread %d: every register wild (rsp 0x%llx)", t->tid,
            (unsigned long long)t->regs[HS_RSP]);
        break;
    }
}

static void lie_modules(unsigned which)
{
    struct hs_module *m = a_module();
    if (!m)
        return;
    static uint8_t garbage[4096];
    for (size_t k = 0; k < sizeof garbage; k++)
        garbage[k] = (uint8_t)rnd();
    switch (which) {
    case 0:
        m->base = wild();
        say("module %s: base 0x%llx", m->path, (unsigned long long)m->base);
        break;
    case 1:
        m->lowest = wild();
        say("module %s: lowest 0x%llx", m->path, (unsigned long long)m->lowest);
        break;
    case 2:
        m->ehdr = garbage;
        say("module %s: ELF header garbage (%u bytes)", m->path, m->ehdr_len);
        break;
    case 3:
        m->ehdr_len = m->ehdr_len ? (uint32_t)below(m->ehdr_len) : 0;
        m->phdrs_len = m->phdrs_len ? (uint32_t)below(m->phdrs_len) : 0;
        say("module %s: ELF header cut to %u bytes, program headers to %u", m->path, m->ehdr_len,
            m->phdrs_len);
        break;
    case 4:
        m->phdrs = garbage;
        say("module %s: program headers garbage (%u bytes)", m->path, m->phdrs_len);
        break;
    case 5: {
        /* a header that claims many program headers, far away */
        static Elf64_Ehdr eh;
        if (m->ehdr && m->ehdr_len >= sizeof eh)
            memcpy(&eh, m->ehdr, sizeof eh);
        eh.e_phnum = (uint16_t)(below(2) ? 0xffff : 0);
        eh.e_phoff = wild();
        eh.e_phentsize = (uint16_t)(below(2) ? 1 : 0xffff);
        m->ehdr = (uint8_t *)&eh;
        m->ehdr_len = sizeof eh;
        say("module %s: ELF header claims %u program headers of %u bytes at 0x%llx", m->path,
            eh.e_phnum, eh.e_phentsize, (unsigned long long)eh.e_phoff);
        break;
    }
    case 6:
        m->build_id_len = (uint32_t)below(65);
        memcpy(m->build_id, garbage, m->build_id_len);
        say("module %s: wrong build-id of %u bytes", m->path, m->build_id_len);
        break;
    case 7: {
        static const char *const paths[] = {"/dev/zero", "/dev/urandom", "/", "", "/etc/passwd",
                                            "/bin/true", "/proc/self/mem", "relative/path"};
        const char *p = paths[below(sizeof paths / sizeof paths[0])];
        say("module %s: path %s", m->path, p);
        m->path = (char *)p;
        if (below(2)) {
            proc.exe = (char *)p;
            say("exe: %s", p);
        }
        break;
    }
    default:
        nmods = 0;
        say("no modules");
        break;
    }
}

static int cmp_range(const void *a, const void *b)
{
    const struct range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static void lie_mappings(unsigned which)
{
    struct hs_mapping *m = nmaps ? &maps[below(nmaps)] : NULL;
    switch (which) {
    case 0:
        if (!m)
            break;
        maps[nmaps] = *m;
        maps[nmaps].start = m->start + (m->end - m->start) / 2;
        maps[nmaps].end = m->end + (m->end - m->start) + 0x1000;
        say("mapping 0x%llx-0x%llx overlaps %s", (unsigned long long)maps[nmaps].start,
            (unsigned long long)maps[nmaps].end, m->path);
        nmaps++;
        break;
    case 1:
        if (!m)
            break;
        m->end = m->start - 0x1000 * (1 + below(4));
        say("mapping %s: end 0x%llx below start 0x%llx", m->path, (unsigned long long)m->end,
            (unsigned long long)m->start);
        break;
    case 2:
    case 8:
    case 9:
    case 10: {
        /* one writable mapping over the whole address space: anonymous, or
         * named like the heap, libc's data or a stack */
        const char *path = which == 2 ? "" : which == 8 ? "[heap]" : which == 10 ? "[stack]" : NULL;
        for (size_t k = 0; k < nmaps && !path; k++)
            if (strstr(maps[k].path, "/libc.so"))
                path = maps[k].path;
        maps[nmaps++] = (struct hs_mapping){.start = 0, .end = ~0ull & ~0xfffull,
                                            .flags = HS_MAP_R | HS_MAP_W | HS_MAP_CAPTURED |
                                                     (path && path[0] != '/' ? HS_MAP_ANON : 0),
                                            .path = (char *)(path ? path : "/lib/libc.so.6"),
                                            .vmflags = "rd wr", .rss = ~0ull, .pss = ~0ull,
                                            .anonymous = ~0ull};
        say("mapping covering everything, path \"%s\"", maps[nmaps - 1].path);
        break;
    }
    case 3:
        if (!m)
            break;
        m->path = "[heap]";
        say("mapping 0x%llx-0x%llx named [heap] too", (unsigned long long)m->start,
            (unsigned long long)m->end);
        break;
    case 4:
        nmaps = 0;
        say("no mappings");
        break;
    case 5: {
        /* memory outside every mapping, full of pointers into the heap */
        uint64_t a = unmapped(), np = 1 + below(8);
        uint8_t *st = xmalloc(np), *data = xmalloc(np * 4096);
        for (uint64_t k = 0; k < np * 4096 / 8; k++) {
            uint64_t v = nheap ? in_area(heap, nheap) : rnd();
            memcpy(data + 8 * k, &v, 8);
        }
        ranges[nranges++] = (struct range){a, a + np * 4096, 4096, HS_MEM_ANON, st, data};
        qsort(ranges, nranges, sizeof *ranges, cmp_range);
        say("memory 0x%llx-0x%llx in no mapping", (unsigned long long)a,
            (unsigned long long)(a + np * 4096));
        break;
    }
    case 6:
        nranges = 0;
        say("no memory");
        break;
    case 12: {
        /* a hundred thousand one-page mappings, in descending order, and
         * every thread's rsp in none of them: the lookups that trust the
         * order find nothing and must not go quadratic */
        size_t n = 100000;
        struct hs_mapping *v = xmalloc((nmaps + n + 8) * sizeof *v);
        memcpy(v, maps, nmaps * sizeof *v);
        uint64_t base = unmapped();
        for (size_t k = 0; k < n; k++)
            v[nmaps + k] = (struct hs_mapping){.start = base + 0x2000 * (n - k),
                                               .end = base + 0x2000 * (n - k) + 0x1000,
                                               .flags = HS_MAP_R | HS_MAP_W | HS_MAP_ANON,
                                               .path = "", .vmflags = ""};
        free(maps);
        maps = v;
        nmaps += n;
        for (size_t k = 0; k < nthreads; k++)
            threads[k].regs[HS_RSP] = threads[k].regs[HS_FS_BASE] = base + 0x2000 * (n + 2);
        say("%zu more mappings, descending, and every rsp and fs_base in none", n);
        break;
    }
    case 11:
        for (size_t k = 0; k < nmaps; k++)
            if (!strcmp(maps[k].path, "[heap]")) {
                maps[k].end = 1ull << 47;
                say("[heap] stretched to 0x%llx", (unsigned long long)maps[k].end);
            }
        break;
    case 7: {
        /* the heap's memory dropped, or all of it unreadable */
        int drop = (int)below(2);
        for (size_t i = 0; i < nranges; i++)
            for (size_t k = 0; k < nheap; k++)
                if (heap[k].start == ranges[i].start) {
                    if (drop)
                        ranges[i].end = ranges[i].start; /* skipped on write */
                    else
                        memset(ranges[i].state, HS_PAGE_UNREADABLE,
                               (ranges[i].end - ranges[i].start) / ranges[i].page_size);
                }
        say("the heap's memory %s", drop ? "dropped" : "unreadable");
        break;
    }
    }
    (void)m;
}

static void lie_process(unsigned which)
{
    static uint64_t auxv[2 * 64];
    switch (which) {
    case 0: {
        static const uint32_t ps[] = {0, 1, 3, 4097, 1u << 31, 0xffffffffu, 512, 65536};
        proc.page_size = ps[below(sizeof ps / sizeof ps[0])];
        say("page size %u", proc.page_size);
        break;
    }
    case 1: {
        static char *av[64];
        uint32_t n = 0;
        av[n++] = bigstr(1 << 20, 'A');
        av[n++] = "\"quotes\" \\back\\slashes\\ \x1b[2J\x01\x7f";
        av[n++] = "\xff\xfe invalid utf-8 \xc3";
        av[n++] = bigstr(3 << 20, '%');
        while (n < 64)
            av[n++] = "%s%n%x";
        proc.argv = av;
        proc.argc = n;
        proc.exe = below(2) ? bigstr(8192, '/') : proc.exe;
        say("argv: %u strings, two of 1 and 3 MiB, control bytes, invalid UTF-8", n);
        break;
    }
    case 2: {
        uint32_t n = (uint32_t)(1 + below(64));
        for (uint32_t k = 0; k < 2 * n; k++)
            auxv[k] = k % 2 ? wild() : below(64);
        proc.auxv = auxv;
        proc.auxv_count = n;
        say("auxv: %u wild pairs", n);
        break;
    }
    case 3:
        proc.flags ^= HS_PROC_REDACTED;
        say("redaction flag %s", proc.flags & HS_PROC_REDACTED ? "set, a lie" : "cleared");
        break;
    case 4:
        proc.machine = (uint16_t)(below(2) ? 3 : 0);
        say("machine %u", proc.machine);
        break;
    case 5:
        proc.pid = below(2) ? -1 : 0;
        proc.policy = (uint16_t)below(65536);
        say("pid %d, policy %u", proc.pid, proc.policy);
        break;
    case 6: {
        static struct hs_failure f[100];
        for (size_t k = 0; k < 100; k++)
            f[k] = (struct hs_failure){wild(), wild(), (int32_t)rnd(), "\x1b[31mhostile\x1b[0m"};
        stats.failures = f;
        stats.nfailures = 100;
        stats.threads = (uint32_t)rnd();
        stats.bytes_read = wild();
        have_stats = 1;
        say("stats: 100 wild failures");
        break;
    }
    default:
        have_stats = 0;
        proc.exe = "";
        proc.hostname = "";
        proc.kernel_release = "";
        say("no stats, empty exe, hostname and kernel");
        break;
    }
}

/* ------------------------------------------------------------ writing */

static int store_level = 1; /* --store: 0, every body stored as is */

static int write_out(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    struct hs_error err;
    struct hs_writer *w = hs_writer_open(fd, path, store_level, &err);
    if (!w) {
        fprintf(stderr, "hsnap-mutate: %s\n", err.msg);
        close(fd);
        return 1;
    }
    hs_write_process(w, &proc);
    hs_write_mappings(w, maps, nmaps);
    hs_write_modules(w, mods, nmods);
    hs_write_threads(w, threads, nthreads);
    for (size_t i = 0; i < nranges; i++) {
        struct range *r = &ranges[i];
        uint64_t np = (r->end - r->start) / r->page_size, packed = 0;
        if (!np)
            continue;
        for (uint64_t p = 0; p < np; p++) /* the writer wants the DATA pages packed */
            if (r->state[p] == HS_PAGE_DATA) {
                memmove(r->data + packed, r->data + p * r->page_size, r->page_size);
                packed += r->page_size;
            }
        hs_write_memory(w, r->start, r->page_size, np, r->flags, r->state, r->data);
    }
    if (have_stats)
        hs_write_stats(w, &stats);
    if (hs_writer_finish(w, &err)) {
        fprintf(stderr, "hsnap-mutate: %s\n", err.msg);
        close(fd);
        return 1;
    }
    close(fd);
    return 0;
}

/* Every lie by name, in the order of the switches above. */
static const char *const lie_names[] = {
    "rsp-outside", "rsp-range-end", "stack-inverted", "stack-huge", "no-threads", "many-threads",
    "wild-registers", /* threads: 0..6 */
    "module-base", "module-lowest", "ehdr-garbage", "elf-truncated", "phdrs-garbage", "phnum-lie",
    "build-id", "module-path", "no-modules", /* modules: 7..15 */
    "mapping-overlap", "mapping-inverted", "mapping-everything", "second-heap", "no-mappings",
    "memory-unmapped", "no-memory", "heap-memory-gone", "heap-everything", "libc-everything",
    "stack-everything", "heap-stretched", "many-mappings", /* mappings: 16..28 */
    "page-size", "argv", "auxv", "redacted", "machine", "pid-policy", "stats-failures",
    "no-stats", /* process: 29..36 */
};
#define NLIES (sizeof lie_names / sizeof lie_names[0])

static void lie(unsigned k)
{
    if (k < 7)
        lie_threads(k);
    else if (k < 16)
        lie_modules(k - 7);
    else if (k < 29)
        lie_mappings(k - 16);
    else
        lie_process(k - 29);
}

static int usage(void)
{
    fprintf(stderr, "usage: hsnap-mutate IN.hsnap OUT.hsnap SEED [--lie NAME] [--poke ADDR VALUE]...\n"
                    "       [--module-path PATH] [--store]\n"
                    "lies:");
    for (size_t k = 0; k < NLIES; k++)
        fprintf(stderr, " %s", lie_names[k]);
    fputc('\n', stderr);
    return 2;
}

int main(int argc, char **argv)
{
    long only = -1;
    int targeted = 0;
    if (argc < 4)
        return usage();
    for (int i = 4; i < argc; i++) {
        if (!strcmp(argv[i], "--lie") && i + 1 < argc) {
            for (size_t k = 0; k < NLIES; k++)
                if (!strcmp(argv[i + 1], lie_names[k]))
                    only = (long)k;
            if (only < 0)
                return usage();
            i++;
        } else if (!strcmp(argv[i], "--poke") && i + 2 < argc) {
            i += 2; /* applied once the snapshot is loaded */
        } else if (!strcmp(argv[i], "--module-path") && i + 1 < argc) {
            i++;
        } else if (!strcmp(argv[i], "--store")) {
            store_level = 0;
            continue;
        } else {
            return usage();
        }
        targeted = 1;
    }
    unsigned long long seed = strtoull(argv[3], NULL, 0);
    rng_state = (seed + 1) * 0x9E3779B97F4A7C15ull;
    for (int k = 0; k < 4; k++)
        rnd();
    struct hs_error err;
    struct hs_snapshot *s = hs_open(argv[1], 0, &err);
    if (!s) {
        fprintf(stderr, "hsnap-mutate: %s\n", err.msg);
        return 1;
    }
    load(s);
    find_targets();
    say("seed %llu (%zu heap ranges, %zu chunks, %zu allocator globals)", seed, nheap, nchunks,
        nmeta);

    if (targeted) {
        /* one lie alone and the words asked for, the rest as captured: what
         * a targeted test wants */
        if (only >= 0)
            lie((unsigned)only);
        for (int i = 4; i + 1 < argc; i++)
            if (!strcmp(argv[i], "--module-path")) {
                /* every module, the executable too, names this file */
                for (size_t k = 0; k < nmods; k++)
                    mods[k].path = argv[i + 1];
                proc.exe = argv[i + 1];
                say("every module's path: %s", argv[i + 1]);
            }
        for (int i = 4; i + 2 < argc; i++)
            if (!strcmp(argv[i], "--poke")) {
                uint64_t a = strtoull(argv[i + 1], NULL, 0), v = strtoull(argv[i + 2], NULL, 0);
                if (put_bytes(a, &v, 8)) {
                    fprintf(stderr, "hsnap-mutate: 0x%llx was not captured\n", (unsigned long long)a);
                    return 1;
                }
                say("word 0x%llx: 0x%llx", (unsigned long long)a, (unsigned long long)v);
                i += 2;
            }
    } else {
        /* Two thirds of the mutants tell one lie and damage a few words; the
         * others damage memory only, a few words or, for one in six, hundreds.
         * The lies come in turn, so that a few dozen seeds tell each once. */
        if (seed % 6 < 4)
            lie((unsigned)((seed / 6 * 4 + seed % 6) % NLIES));
        unsigned nwords = seed % 6 == 5 ? 50 + (unsigned)below(250)
                                        : 1 + (unsigned)below(seed % 6 == 4 ? 24 : 6);
        for (unsigned k = 0; k < nwords; k++)
            damage_word();
        if (below(4) == 0)
            smash_block();
        if (below(6) == 0)
            heap_hole();
    }

    int rc = write_out(argv[2]);
    /* The snapshot owns the strings the model shares; it goes last. */
    for (size_t i = 0; i < nranges; i++) {
        free(ranges[i].state);
        free(ranges[i].data);
    }
    hs_close(s);
    return rc;
}
