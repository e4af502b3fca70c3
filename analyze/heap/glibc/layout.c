/*
 * glibc/layout.c — where glibc's malloc keeps its state in a snapshot, and
 * what that state looks like (see glibc/internal.h; glibc/walker.c does the walk).
 *
 * Two sources, in order of trust:
 *
 *  1. libc's DWARF (libc6-dbg): the layouts of malloc_state, malloc_par,
 *     heap_info and tcache_perthread_struct come from dbg_struct(), and
 *     main_arena and mp_ from dbg_variable().  Even then the arena is
 *     checked against the heap before it is believed.
 *
 *  2. Nothing but the dynamic symbols (main_arena and mp_ are static, so
 *     they are not there): the layout of glibc 2.36 on x86_64, written down
 *     below, and main_arena found by scanning libc's writable data for the
 *     one place where a malloc_state fits the snapshot: its `top` chunk
 *     ends where brk memory ends, the system_mem bytes before that end are
 *     captured and start where brk memory starts, and its `next` ring comes
 *     back to it.  A wrong layout cannot pass those tests by accident, which
 *     is how the fallback layout is "checked against the dump" before it is
 *     trusted.  mp_ is found the same way: its sbrk_base is the start of
 *     that heap and its tcache settings are in range.
 *
 * The brk heap's extent comes from the arena, not from the mapping named
 * [heap]: after a fork, a child that grows its heap gets a second mapping
 * (the kernel cannot merge memory shared with the parent with memory that
 * is not), and either may be the one a name-based search picks.  The
 * [heap] names are only a hint for when the arena itself is damaged.
 *
 * When the main arena is itself damaged (its top overwritten), nothing
 * fits; then the symbol is taken unchecked, or else a weaker scan that
 * does not look at top, and a problem says so.  The glibc release comes
 * from the banner in libc's binary (gl_version), because safe-linking of
 * the free lists depends on it (2.32 and later).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap/glibc/internal.h"

/* ------------------------------------------------------------ layouts */

/* glibc 2.36, x86_64 (as `ptype /o` shows them with libc6-dbg). */
static const struct gl_layout fallback_236 = {
    .source = "fallback",
    .ms_size = 2200, .ms_flags = 4, .ms_fastbins = 16, .ms_top = 96, .ms_bins = 112,
    .ms_next = 2160, .ms_system_mem = 2184,
    .mp_size = 136, .mp_mmap_threshold = 16, .mp_n_mmaps = 60, .mp_mmapped_mem = 80,
    .mp_sbrk_base = 96, .mp_tcache_bins = 104, .mp_tcache_count = 120,
    .hi_size = 48, .hi_ar_ptr = 0, .hi_prev = 8, .hi_hsize = 16,
    .tc_size = 640, .tc_counts = 0, .tc_entries = 128,
};

/* One field from a DWARF layout into *out; -1 (and a problem) if missing. */
static int field(struct heap_ctx *c, const struct dbg_layout *l, const char *name, uint64_t *out)
{
    int64_t off = dbg_field_offset(l, name);
    if (off < 0 || (uint64_t)off >= l->size) {
        c->problem(c, 0, "glibc: DWARF struct %s has no field %s; using the 2.36 layout", l->name,
                   name);
        return -1;
    }
    *out = (uint64_t)off;
    return 0;
}

void gl_layout_load(struct heap_ctx *c, int mod, struct gl_layout *L)
{
    *L = fallback_236;
    if (!c->dbg || mod < 0)
        return;
    const struct dbg_layout *ms = dbg_struct(c->dbg, "malloc_state", mod);
    const struct dbg_layout *mp = dbg_struct(c->dbg, "malloc_par", mod);
    const struct dbg_layout *hi = dbg_struct(c->dbg, "_heap_info", mod);
    if (!hi)
        hi = dbg_struct(c->dbg, "heap_info", mod);
    const struct dbg_layout *tc = dbg_struct(c->dbg, "tcache_perthread_struct", mod);
    if (!ms || !mp || !hi || !tc)
        return; /* no DWARF for libc: the quiet, expected case */

    struct gl_layout d = {.source = "dwarf"};
    d.ms_size = ms->size;
    d.mp_size = mp->size;
    d.hi_size = hi->size;
    d.tc_size = tc->size;
    if (field(c, ms, "flags", &d.ms_flags) || field(c, ms, "fastbinsY", &d.ms_fastbins) ||
        field(c, ms, "top", &d.ms_top) || field(c, ms, "bins", &d.ms_bins) ||
        field(c, ms, "next", &d.ms_next) || field(c, ms, "system_mem", &d.ms_system_mem) ||
        field(c, mp, "mmap_threshold", &d.mp_mmap_threshold) ||
        field(c, mp, "n_mmaps", &d.mp_n_mmaps) || field(c, mp, "mmapped_mem", &d.mp_mmapped_mem) ||
        field(c, mp, "sbrk_base", &d.mp_sbrk_base) ||
        field(c, mp, "tcache_bins", &d.mp_tcache_bins) ||
        field(c, mp, "tcache_count", &d.mp_tcache_count) || field(c, hi, "ar_ptr", &d.hi_ar_ptr) ||
        field(c, hi, "prev", &d.hi_prev) || field(c, hi, "size", &d.hi_hsize) ||
        field(c, tc, "counts", &d.tc_counts) || field(c, tc, "entries", &d.tc_entries))
        return;
    /* The walker indexes bins and fastbins itself; their arrays must be as
     * big as ptmalloc2's constants say, or this is some other malloc. */
    if (dbg_field_size(ms, "bins") != (int64_t)((GL_NBINS * 2 - 2) * 8) ||
        dbg_field_size(ms, "fastbinsY") < (int64_t)(GL_NFASTBINS * 8) ||
        dbg_field_size(tc, "counts") != (int64_t)(GL_TCACHE_BINS * 2)) {
        c->problem(c, 0, "glibc: DWARF malloc_state/tcache arrays have unexpected sizes; "
                         "using the 2.36 layout");
        return;
    }
    *L = d;
}

/* ------------------------------------------------------------ finding libc */

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static int is_libc_path(const char *p)
{
    const char *b = base_name(p);
    return !strncmp(b, "libc.so", 7) || !strncmp(b, "libc-2.", 7);
}

int gl_libc_present(struct heap_ctx *c, int *mod)
{
    *mod = c->dbg ? dbg_find_module(c->dbg, "libc.so") : -1;
    if (*mod < 0 && c->dbg)
        *mod = dbg_find_module(c->dbg, "libc-2.");
    if (*mod >= 0)
        return 1;
    size_t n;
    const struct hs_mapping *m = hs_get_mappings(c->snap, &n);
    for (size_t i = 0; i < n; i++)
        if (m[i].path && is_libc_path(m[i].path))
            return 1;
    return 0;
}

/* ------------------------------------------------------------ version */

/*
 * The glibc release, from the banner every libc.so carries in .rodata
 * ("GNU C Library (...) release version 2.36.").  The snapshot does not
 * hold .rodata, so it is read from the binary debuginfo matched to the
 * module by build-id (never from a path alone).  0 if unknown.
 */
int gl_version(struct heap_ctx *c, int mod, int *major, int *minor)
{
    if (!c->dbg || mod < 0)
        return -1;
    const struct dbg_module_info *mi = dbg_module(c->dbg, (size_t)mod);
    if (!mi || !mi->elf_path)
        return -1;
    FILE *f = fopen(mi->elf_path, "rb");
    if (!f)
        return -1;
    static const char key[] = "release version ";
    enum { CHUNK = 1 << 16, KEEP = 64 };
    char *buf = malloc(CHUNK + KEEP);
    int rc = -1;
    size_t have = 0, n;
    while (buf && rc && (n = fread(buf + have, 1, CHUNK, f)) > 0) {
        have += n;
        const char *hit = memmem(buf, have, key, sizeof key - 1);
        if (hit && (size_t)(hit - buf) + sizeof key - 1 + 16 <= have) {
            char ver[17];
            memcpy(ver, hit + sizeof key - 1, 16);
            ver[16] = 0;
            if (sscanf(ver, "%d.%d", major, minor) == 2)
                rc = 0;
            break;
        }
        /* keep the tail, in case the banner straddles two reads */
        size_t keep = have < KEEP ? have : KEEP;
        memmove(buf, buf + have - keep, keep);
        have = keep;
    }
    free(buf);
    fclose(f);
    return rc;
}

/* ------------------------------------------------------------ validation */

/* A mapping brk memory may be in: writable, anonymous, named "[heap]" or
 * nothing (after a fork the child's heap is two mappings, and the kernel
 * names a mapping [heap] only while it overlaps the current brk range). */
static int brk_mapping(const struct hs_mapping *m)
{
    return (m->flags & HS_MAP_W) && (!m->path || !m->path[0] || !strcmp(m->path, "[heap]"));
}

/* Could [lo, hi) be memory brk handed out?  It must lie in one run of
 * adjacent brk_mapping()s, begin within a page of the run's start and end
 * within a page of the end of the mapping holding its last byte. */
static int brk_shaped(struct heap_ctx *c, uint64_t lo, uint64_t hi)
{
    size_t n;
    const struct hs_mapping *m = hs_get_mappings(c->snap, &n);
    uint64_t runstart = 0;
    int inrun = 0;
    for (size_t i = 0; i < n; i++) {
        if (!brk_mapping(&m[i])) {
            inrun = 0;
            continue;
        }
        if (!inrun || m[i].start != m[i - 1].end)
            runstart = m[i].start;
        inrun = 1;
        if (lo >= runstart && hi > m[i].start && hi <= m[i].end)
            return lo - runstart < 4096 && m[i].end - hi < 4096;
    }
    return 0;
}

/*
 * Where a malloc_state at 'a' says its brk heap is, if it is believable as
 * main_arena: 1 with [*lo, *hi) (0, 0 for an arena that never grew).  The
 * main arena's memory is contiguous from mp_.sbrk_base to the end of its
 * top chunk, and system_mem is its size; so the heap is [top + size -
 * system_mem, top + size), whatever the mappings are called and however
 * the kernel split them.  That range must be captured without a gap and
 * shaped like brk memory (brk_shaped), the top chunk's flags must be those
 * of a main-arena chunk, and the `next` ring must come back to 'a' through
 * captured arenas.  An arena in its initial state has top = the unsorted
 * bin's header (initial_top()) and no memory; one never initialised (top
 * 0) has not even that.
 */
static int arena_extent(struct heap_ctx *c, const struct gl_layout *L, uint64_t a, uint64_t *lo,
                        uint64_t *hi)
{
    uint64_t top, next, sysmem, tsize;
    if (gl_u64(c, a + L->ms_top, &top) || gl_u64(c, a + L->ms_next, &next) ||
        gl_u64(c, a + L->ms_system_mem, &sysmem))
        return 0;
    if (top == a + L->ms_bins - GL_HDR || top == 0) {
        /* initialised but never grown, or never initialised at all (no
         * malloc ever ran: another allocator replaced it), when `next` is
         * still the static &main_arena and the bins are all zero */
        uint64_t fd;
        if (sysmem || (top == 0 && (next != a || gl_u64(c, a + L->ms_bins, &fd) || fd)))
            return 0;
        *lo = *hi = 0;
    } else {
        if (top % GL_ALIGN || gl_u64(c, top + 8, &tsize))
            return 0;
        /* main-arena chunks never carry NON_MAIN_ARENA or IS_MMAPPED */
        if (tsize & (GL_IS_MMAPPED | GL_NON_MAIN_ARENA))
            return 0;
        tsize &= ~(uint64_t)GL_FLAGS;
        uint64_t tend = top + tsize;
        if (tsize < GL_MINSIZE || tend < top || sysmem < tsize || sysmem > tend)
            return 0;
        uint64_t start = tend - sysmem;
        if (gl_captured_end(c, start) < tend || !brk_shaped(c, start, tend))
            return 0;
        *lo = start;
        *hi = tend;
    }
    /* The ring: at most 1024 arenas (glibc's cap is 8 per core). */
    uint64_t p = next;
    for (int i = 0; i < 1024; i++) {
        if (p == a)
            return 1;
        if (!p || p % 8)
            return 0;
        if (gl_u64(c, p + L->ms_next, &p))
            return 0;
    }
    return 0;
}

static int arena_fits(struct heap_ctx *c, const struct gl_layout *L, const struct gl_where *w,
                      uint64_t a)
{
    uint64_t lo, hi;
    (void)w;
    return arena_extent(c, L, a, &lo, &hi);
}

/*
 * A weaker test, for when no arena fits because the main arena's own top
 * is damaged: the `next` ring still comes back, system_mem is the size of
 * [heap], and the unsorted bin's links are its own header or in the heap.
 */
static int arena_fits_weakly(struct heap_ctx *c, const struct gl_layout *L,
                             const struct gl_where *w, uint64_t a)
{
    uint64_t sysmem, fd, bk, self = a + L->ms_bins - GL_HDR;
    if (!w->heap_start || gl_u64(c, a + L->ms_system_mem, &sysmem) ||
        gl_u64(c, a + L->ms_bins, &fd) || gl_u64(c, a + L->ms_bins + 8, &bk))
        return 0;
    if (sysmem > w->heap_end - w->heap_start || w->heap_end - w->heap_start - sysmem >= 4096)
        return 0;
    if ((fd != self && (fd < w->heap_start || fd >= w->heap_end)) ||
        (bk != self && (bk < w->heap_start || bk >= w->heap_end)))
        return 0;
    uint64_t p;
    if (gl_u64(c, a + L->ms_next, &p))
        return 0;
    for (int i = 0; i < 1024; i++) {
        if (p == a)
            return 1;
        if (!p || p % 8 || gl_u64(c, p + L->ms_next, &p))
            return 0;
    }
    return 0;
}

/* Is a malloc_par at m consistent with the heap and with sane tunables? */
static int mp_fits(struct heap_ctx *c, const struct gl_layout *L, const struct gl_where *w,
                   uint64_t m)
{
    uint64_t sbrk, tbins, tcount, mmth, mmem, nm;
    if (gl_u64(c, m + L->mp_sbrk_base, &sbrk) || gl_u64(c, m + L->mp_tcache_bins, &tbins) ||
        gl_u64(c, m + L->mp_tcache_count, &tcount) ||
        gl_u64(c, m + L->mp_mmap_threshold, &mmth) ||
        gl_u64(c, m + L->mp_mmapped_mem, &mmem) || gl_u64(c, m + L->mp_n_mmaps, &nm))
        return 0;
    int32_t n_mmaps = (int32_t)(uint32_t)nm; /* an int in malloc_par */
    if (w->heap_start ? sbrk < w->heap_start || sbrk >= w->heap_start + 4096 : sbrk != 0)
        return 0;
    return tbins >= 1 && tbins <= GL_TCACHE_BINS && tcount <= 65535 && mmth <= GL_HEAP_MAX &&
           n_mmaps >= 0 && mmem % 4096 == 0 && mmem >= (uint64_t)n_mmaps * 4096;
}

/* ------------------------------------------------------------ scanning */

/*
 * Scan libc's writable data (its file-backed rw mappings and the anonymous
 * .bss right after them) with fits() at every 8-byte step.  Returns the one
 * address that fits, 0 if none, and says so if there were several.
 */
static uint64_t scan_libc_data(struct heap_ctx *c, const struct gl_layout *L,
                               const struct gl_where *w, uint64_t objsize, const char *what,
                               int (*fits)(struct heap_ctx *, const struct gl_layout *,
                                           const struct gl_where *, uint64_t))
{
    size_t n;
    const struct hs_mapping *m = hs_get_mappings(c->snap, &n);
    uint64_t found = 0;
    int nfound = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(m[i].flags & HS_MAP_W) || !m[i].path || !is_libc_path(m[i].path))
            continue;
        uint64_t lo = m[i].start, hi = m[i].end;
        /* libc's .bss continues in the anonymous mapping that follows */
        if (i + 1 < n && m[i + 1].start == hi && (m[i + 1].flags & HS_MAP_W) &&
            (!m[i + 1].path || !m[i + 1].path[0]))
            hi = m[i + 1].end;
        /* Only candidates with captured bytes can fit (fits() reads inside
         * the object first), so the scan skips what was not captured: a
         * hostile mapping named like libc may span the address space. */
        for (uint64_t a = lo; a < hi && hi - a >= objsize;) {
            const struct hs_mem_range *r = gl_range_from(c, a);
            if (!r || r->start >= hi)
                break;
            if (r->start > a && r->start - a >= objsize) {
                a += ((r->start - objsize - a) / 8 + 1) * 8;
                continue;
            }
            if (fits(c, L, w, a) && nfound++ == 0)
                found = a;
            a += 8;
        }
    }
    if (nfound > 1)
        c->problem(c, found, "glibc: %d places in libc's data look like %s; taking the first",
                   nfound, what);
    return found;
}

int gl_locate(struct heap_ctx *c, const struct gl_layout *L, struct gl_where *w)
{
    memset(w, 0, sizeof *w);
    gl_libc_present(c, &w->libc_module);

    /* The [heap] mappings are only a hint, for when the arena itself is
     * damaged: the first run of adjacent ones (a forked child has two). */
    size_t n;
    const struct hs_mapping *m = hs_get_mappings(c->snap, &n);
    for (size_t i = 0; i < n; i++) {
        if (!m[i].path || strcmp(m[i].path, "[heap]"))
            continue;
        if (!w->heap_start) {
            w->heap_start = m[i].start;
            w->heap_end = m[i].end;
        } else if (m[i].start == w->heap_end) {
            w->heap_end = m[i].end;
        }
    }
    w->heap_how = "the [heap] mappings";

    uint64_t addr, size, by_symbol = 0;
    if (c->dbg && w->libc_module >= 0 &&
        !dbg_variable(c->dbg, "main_arena", w->libc_module, &addr, &size)) {
        by_symbol = addr;
        if (arena_fits(c, L, w, addr)) {
            w->main_arena = addr;
            w->arena_how = "symbol";
        } else {
            c->problem(c, addr, "glibc: main_arena (by symbol) does not fit the heap; scanning");
        }
    }
    if (!w->main_arena) {
        w->main_arena = scan_libc_data(c, L, w, L->ms_size, "main_arena", arena_fits);
        w->arena_how = "scan";
    }
    /* Nothing fits: the arena itself may be what is damaged.  Take the
     * symbol if there is one, else the weaker scan, and say so; the walk
     * then copes with a bad top. */
    if (!w->main_arena && by_symbol) {
        w->main_arena = by_symbol;
        w->arena_how = "symbol, unchecked";
    }
    if (!w->main_arena) {
        w->main_arena = scan_libc_data(c, L, w, L->ms_size, "main_arena", arena_fits_weakly);
        w->arena_how = "weak scan";
        if (w->main_arena)
            c->problem(c, w->main_arena, "glibc: main_arena found only by a weak test: its top "
                                         "chunk does not fit the heap");
    }
    /* The heap's extent from the arena that fits (arena_extent); mp_ is
     * checked against it. */
    uint64_t lo, hi;
    if (w->main_arena && arena_extent(c, L, w->main_arena, &lo, &hi)) {
        w->heap_start = lo;
        w->heap_end = hi;
        w->heap_how = "main_arena";
    }
    if (c->dbg && w->libc_module >= 0 && !dbg_variable(c->dbg, "mp_", w->libc_module, &addr, &size)) {
        if (mp_fits(c, L, w, addr)) {
            w->mp = addr;
            w->mp_how = "symbol";
        } else {
            c->problem(c, addr, "glibc: mp_ (by symbol) does not fit the heap; scanning");
        }
    }
    if (!w->mp) {
        w->mp = scan_libc_data(c, L, w, L->mp_size, "mp_", mp_fits);
        w->mp_how = "scan";
    }
    if (!w->main_arena) {
        c->problem(c, w->heap_start, "glibc: main_arena not found (no malloc_state in libc's "
                                     "data fits the heap)");
        return -1;
    }
    if (!w->mp)
        c->problem(c, 0, "glibc: mp_ not found; mmapped chunks are not cross-checked");
    return 0;
}
