/*
 * go/mprof.c — the runtime's memory profile (runtime/mprof.go), read from
 * the snapshot: every profiling bucket with its stack and its published
 * counts, each stack PC symbolized as runtime.CallersFrames would, and the
 * allocation bucket of every sampled object still live.
 *
 * The runtime keeps one bucket per (allocation stack, object size), all on
 * the list runtime.mbuckets (bucket.allnext).  A bucket is a runtime.bucket
 * header, then nstk PCs, then a runtime.memRecord: 'active', the published
 * profile, and 'future[3]', the cycles not yet published.  Mallocs count
 * into future[(C+2)%3] and frees (at sweep) into future[(C+1)%3] of the
 * global cycle C (mProfCycle.value >> 1); mProf_Flush publishes
 * future[C%3] into active when a GC's sweep is done.  A reader of the
 * profile, runtime.MemProfile (what /debug/pprof/heap and
 * WriteHeapProfile call), first publishes future[C%3] itself (the cycle
 * between mProf_NextCycle and mProf_Flush), and if after that no bucket has
 * any published count (no GC has finished yet), publishes every future
 * cycle.  That is what is rebuilt here, without changing anything: the
 * published record of each bucket is what MemProfile would have returned
 * at the moment of the capture.
 *
 * Symbolization follows the runtime too: a stack holds one PC per logical
 * frame (an inlined call has a "fake" PC in its caller, at the inline mark),
 * so each PC is one frame: the function whose inline tree entry covers
 * pc - 1 (the call instruction, not the return address), else the physical
 * function, with the file and line of pc - 1 from the pclntab.  The
 * runtime's name for the PC itself (runtime.FuncForPC(pc), which the
 * profile writer uses to hide the runtime's own frames) is kept beside it.
 *
 * Every layout here comes from DWARF (runtime.bucket, memRecord,
 * memRecordCycle, specialprofile, inlinedCall, _func, moduledata), so a
 * version that moves a field is read right or refused, never misread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap/go/mprof.h"

#include "base/u64map.h"

#define MP_MAX_BUCKETS (1u << 22)
#define MP_MAX_STACK   1024u     /* the runtime's maxStack is 32; bounded generously */
#define MP_NAME        256

struct mp_layout {
    uint64_t mbuckets, cycle_var;
    int64_t cycle_value;                                /* mProfCycle.value */
    uint64_t bucket_size, cycle_size;
    int64_t b_allnext, b_typ, b_size, b_nstk;
    int64_t r_active, r_future;
    int64_t c_allocs, c_frees, c_alloc_bytes, c_free_bytes;
    int64_t membucket, kind_profile, sp_bucket;
    /* symbolization */
    int64_t f_pcfile, f_pcln, f_npcdata, f_cuoffset, f_nfuncdata;
    uint64_t func_size;
    int64_t md_pctab, md_cutab, md_filetab, md_gofunc;
    uint64_t inl_size;
    int64_t inl_name;                                   /* inlinedCall.func_ (1.19) or nameOff */
    uint64_t pctab, cutab, filetab, gofunc;
};

static int need(struct go_walk *w, int ok, const char *what)
{
    if (!ok)
        w->c->problem(w->c, 0, "go: the DWARF does not describe %s; the heap profile (go_mprof_*) is not read", what);
    return ok ? 0 : -1;
}

static int field(struct go_walk *w, const char *type, const char *name, int64_t *off)
{
    const struct dbg_layout *l = dbg_struct(w->c->dbg, type, w->module);
    *off = l ? dbg_field_offset(l, name) : -1;
    char what[160];
    snprintf(what, sizeof what, "%s.%s", type, name);
    return need(w, *off >= 0, what);
}

/* The first of several names a field has had across releases. */
static int field2(struct go_walk *w, const char *type, const char *a, const char *b, int64_t *off)
{
    const struct dbg_layout *l = dbg_struct(w->c->dbg, type, w->module);
    *off = l ? dbg_field_offset(l, a) : -1;
    if (*off < 0 && l)
        *off = dbg_field_offset(l, b);
    char what[160];
    snprintf(what, sizeof what, "%s.%s", type, a);
    return need(w, *off >= 0, what);
}

static int size_of(struct go_walk *w, const char *type, uint64_t *size)
{
    const struct dbg_layout *l = dbg_struct(w->c->dbg, type, w->module);
    *size = l ? l->size : 0;
    return need(w, *size > 0, type);
}

static int layout(struct go_walk *w, struct mp_layout *M)
{
    struct dbg *d = w->c->dbg;
    uint64_t sz;
    memset(M, 0, sizeof *M);
    if (need(w, dbg_variable(d, "runtime.mbuckets", w->module, &M->mbuckets, &sz) == 0, "runtime.mbuckets") ||
        need(w, dbg_variable(d, "runtime.mProfCycle", w->module, &M->cycle_var, &sz) == 0, "runtime.mProfCycle") ||
        field(w, "runtime.mProfCycleHolder", "value", &M->cycle_value) ||
        size_of(w, "runtime.bucket", &M->bucket_size) || size_of(w, "runtime.memRecordCycle", &M->cycle_size) ||
        field(w, "runtime.bucket", "allnext", &M->b_allnext) || field(w, "runtime.bucket", "typ", &M->b_typ) ||
        field(w, "runtime.bucket", "size", &M->b_size) || field(w, "runtime.bucket", "nstk", &M->b_nstk) ||
        field(w, "runtime.memRecord", "active", &M->r_active) || field(w, "runtime.memRecord", "future", &M->r_future) ||
        field(w, "runtime.memRecordCycle", "allocs", &M->c_allocs) ||
        field(w, "runtime.memRecordCycle", "frees", &M->c_frees) ||
        field(w, "runtime.specialprofile", "b", &M->sp_bucket) ||
        field(w, "runtime._func", "pcfile", &M->f_pcfile) || field(w, "runtime._func", "pcln", &M->f_pcln) ||
        field(w, "runtime._func", "npcdata", &M->f_npcdata) || field(w, "runtime._func", "cuOffset", &M->f_cuoffset) ||
        field(w, "runtime._func", "nfuncdata", &M->f_nfuncdata) || size_of(w, "runtime._func", &M->func_size) ||
        field(w, "runtime.moduledata", "pctab", &M->md_pctab) || field(w, "runtime.moduledata", "cutab", &M->md_cutab) ||
        field(w, "runtime.moduledata", "filetab", &M->md_filetab) ||
        field(w, "runtime.moduledata", "gofunc", &M->md_gofunc) || size_of(w, "runtime.inlinedCall", &M->inl_size) ||
        field2(w, "runtime.inlinedCall", "func_", "nameOff", &M->inl_name))
        return -1;
    /* Until Go 1.26 a cycle counts bytes too; from 1.27 it counts objects
     * only, every object of a bucket being of the bucket's size (the runtime
     * multiplies the two for MemProfileRecord).  Absent fields: -1. */
    const struct dbg_layout *cyc = dbg_struct(d, "runtime.memRecordCycle", w->module);
    M->c_alloc_bytes = cyc ? dbg_field_offset(cyc, "alloc_bytes") : -1;
    M->c_free_bytes = cyc ? dbg_field_offset(cyc, "free_bytes") : -1;
    if ((M->c_alloc_bytes < 0) != (M->c_free_bytes < 0))
        return need(w, 0, "runtime.memRecordCycle.alloc_bytes and free_bytes together");
    if (need(w, dbg_constant(d, "runtime.memProfile", w->module, &M->membucket) == 0, "runtime.memProfile") ||
        need(w, dbg_constant(d, "runtime._KindSpecialProfile", w->module, &M->kind_profile) == 0,
             "runtime._KindSpecialProfile"))
        return -1;
    uint64_t md = w->L.firstmoduledata;
    if (go_u64(w, md + (uint64_t)M->md_pctab, &M->pctab) || go_u64(w, md + (uint64_t)M->md_cutab, &M->cutab) ||
        go_u64(w, md + (uint64_t)M->md_filetab, &M->filetab) || go_u64(w, md + (uint64_t)M->md_gofunc, &M->gofunc)) {
        w->c->problem(w->c, md, "go: the moduledata's pctab/cutab/filetab/gofunc cannot be read");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ symbolization */

static int read_cstr(const struct go_walk *w, uint64_t a, char *buf, size_t len)
{
    size_t n = 0;
    while (n + 1 < len) {
        if (go_read(w, a + n, &buf[n], 1))
            return -1;
        if (!buf[n])
            return 0;
        n++;
    }
    buf[n] = 0;
    return 0;
}

static uint32_t varint(const struct go_walk *w, uint64_t *p, int *bad)
{
    uint32_t v = 0;
    for (unsigned shift = 0; shift < 35; shift += 7) {
        uint8_t b;
        if (go_read(w, (*p)++, &b, 1)) {
            *bad = 1;
            return 0;
        }
        v |= (uint32_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    *bad = 1;
    return v;
}

/* The runtime's pcvalue(): the value table at pctab + off says for target;
 * -1 if none or unreadable (bounded by the function's size). */
static int32_t pcvalue(const struct go_walk *w, const struct mp_layout *M, uint32_t off, uint64_t entry,
                       uint64_t end, uint64_t target)
{
    if (off == 0)
        return -1;
    uint64_t p = M->pctab + off, pc = entry;
    int32_t val = -1;
    int bad = 0;
    for (int first = 1, steps = 0; steps < 1 << 20; first = 0, steps++) {
        uint64_t q = p;
        uint8_t b0;
        if (go_read(w, q, &b0, 1))
            return -1;
        if (b0 == 0 && !first)
            return -1;
        uint32_t uv = varint(w, &p, &bad);
        val += (int32_t)(-(uv & 1) ^ (uv >> 1));
        uint32_t pd = varint(w, &p, &bad);
        if (bad)
            return -1;
        pc += pd; /* PCQuantum is 1 on amd64 */
        if (target < pc)
            return val;
        if (pc > end)
            return -1;
    }
    return -1;
}

struct mp_frame {
    char func[MP_NAME], funcforpc[MP_NAME], file[MP_NAME];
    int64_t line;
    uint64_t entry;
    int inlined;
};

/* The frames runtime/pprof's heap profile hides at the top of a stack: the
 * runtime's own, by the name runtime.FuncForPC gives the return PC.  Go
 * 1.19 hides "runtime."; later releases "internal/runtime/" too, a prefix
 * no 1.19 program can have, so one rule serves every version. */
static int is_runtime_func(const char *name)
{
    return !strncmp(name, "runtime.", 8) || !strncmp(name, "internal/runtime/", 17);
}

/* The inline tree's innermost function at pc, into name; 1 if pc is in an
 * inlined body, 0 if not, -1 if unreadable. */
static int inlined_name(const struct go_walk *w, const struct mp_layout *M, uint64_t fn, uint64_t entry,
                        uint64_t end, uint64_t pc, char *name, size_t len)
{
    uint64_t npcdata, nfuncdata, pcoff, fdoff;
    if (go_field(w, fn, M->f_npcdata, 4, &npcdata) || go_field(w, fn, M->f_nfuncdata, 1, &nfuncdata))
        return -1;
    /* _PCDATA_InlTreeIndex = 2, _FUNCDATA_InlTree = 3 (runtime/symtab.go) */
    if (npcdata <= 2 || nfuncdata <= 3)
        return 0;
    if (go_field(w, fn, (int64_t)M->func_size + 2 * 4, 4, &pcoff) ||
        go_field(w, fn, (int64_t)M->func_size + (int64_t)npcdata * 4 + 3 * 4, 4, &fdoff))
        return -1;
    if (fdoff == 0xffffffffu)
        return 0;
    int32_t ix = pcvalue(w, M, (uint32_t)pcoff, entry, end, pc);
    if (ix < 0)
        return 0;
    uint64_t nameoff;
    if (go_field(w, M->gofunc + fdoff + (uint64_t)ix * M->inl_size, M->inl_name, 4, &nameoff) ||
        read_cstr(w, w->funcnametab + (uint32_t)nameoff, name, len))
        return -1;
    return 1;
}

/* Symbolize one stack PC as the runtime does; -1 if pc is in no function. */
static int symbolize(const struct go_walk *w, const struct mp_layout *M, uint64_t pc, struct mp_frame *f)
{
    memset(f, 0, sizeof *f);
    int64_t k = go_func_index(w, pc);
    if (k < 0)
        return -1;
    uint64_t fn = w->pclntable + w->funcs[k].funcoff, entry = w->text + w->funcs[k].entryoff,
             end = w->text + w->funcs[k + 1].entryoff;
    uint64_t nameoff, pcfile, pcln, cu;
    if (go_field(w, fn, w->L.f_nameoff, 4, &nameoff) || read_cstr(w, w->funcnametab + nameoff, f->func, MP_NAME))
        return -1;
    snprintf(f->funcforpc, MP_NAME, "%s", f->func);
    f->entry = entry;
    uint64_t at = pc > entry ? pc - 1 : pc; /* the call, not the return address */
    if (inlined_name(w, M, fn, entry, end, at, f->func, MP_NAME) == 1)
        f->inlined = 1;
    inlined_name(w, M, fn, entry, end, pc, f->funcforpc, MP_NAME);
    if (go_field(w, fn, M->f_pcfile, 4, &pcfile) || go_field(w, fn, M->f_pcln, 4, &pcln) ||
        go_field(w, fn, M->f_cuoffset, 4, &cu))
        return 0;
    int32_t fileno = pcvalue(w, M, (uint32_t)pcfile, entry, end, at);
    f->line = pcvalue(w, M, (uint32_t)pcln, entry, end, at);
    uint64_t fileoff;
    if (fileno >= 0 && go_field(w, M->cutab + (cu + (uint64_t)fileno) * 4, 0, 4, &fileoff) == 0 &&
        fileoff != 0xffffffffu)
        read_cstr(w, M->filetab + fileoff, f->file, MP_NAME);
    if (f->line < 0)
        f->line = 0;
    return 0;
}

/* ------------------------------------------------------------ buckets */

struct mp_cycle {
    uint64_t allocs, frees, alloc_bytes, free_bytes;
};

/* One memRecordCycle at a; size is its bucket's object size, which gives
 * the bytes where the cycle does not count them (Go 1.27+). */
static int read_cycle(const struct go_walk *w, const struct mp_layout *M, uint64_t a, uint64_t size,
                      struct mp_cycle *c)
{
    if (go_field(w, a, M->c_allocs, 8, &c->allocs) || go_field(w, a, M->c_frees, 8, &c->frees))
        return -1;
    if (M->c_alloc_bytes < 0) {
        c->alloc_bytes = c->allocs * size;
        c->free_bytes = c->frees * size;
        return 0;
    }
    return go_field(w, a, M->c_alloc_bytes, 8, &c->alloc_bytes) || go_field(w, a, M->c_free_bytes, 8, &c->free_bytes);
}

static void add_cycle(struct mp_cycle *a, const struct mp_cycle *b)
{
    a->allocs += b->allocs;
    a->frees += b->frees;
    a->alloc_bytes += b->alloc_bytes;
    a->free_bytes += b->free_bytes;
}

struct mp_bucket {
    uint64_t addr, size, nstk;
    struct mp_cycle active, future[3], published;
};

static struct heap_value vint(int64_t v)
{
    return (struct heap_value){HV_INT, v, 0, NULL};
}

static struct heap_value vtext(const char *s)
{
    return (struct heap_value){s && s[0] ? HV_TEXT : HV_NULL, 0, 0, s};
}

/* Symbolize each distinct PC once (a small open-addressing set). */
struct baddr {
    uint64_t addr;
    int64_t id;
};

static int cmp_baddr(const void *a, const void *b)
{
    uint64_t x = ((const struct baddr *)a)->addr, y = ((const struct baddr *)b)->addr;
    return x < y ? -1 : x > y;
}

int go_mprof_tables(struct go_walk *w, struct heap_ctx *c)
{
    struct mp_layout M;
    if (!w->nfuncs || layout(w, &M))
        return 0; /* said as a problem; the rest of the walk stands */
    uint64_t head, cycle;
    if (go_u64(w, M.mbuckets, &head) || go_field(w, M.cycle_var, M.cycle_value, 4, &cycle)) {
        c->problem(c, M.mbuckets, "go: runtime.mbuckets or runtime.mProfCycle cannot be read");
        return 0;
    }
    cycle >>= 1; /* value is cycle << 1 | flushed */
    struct mp_bucket *bs = NULL;
    size_t nb = 0, cap = 0;
    int clear = 1, rc = 0;
    for (uint64_t b = head; b; ) {
        if (nb >= MP_MAX_BUCKETS || b % 8) {
            c->problem(c, b, "go: runtime.mbuckets does not end where it should (a loop, or not a bucket)");
            break;
        }
        if (nb == cap) {
            cap = cap ? 2 * cap : 256;
            struct mp_bucket *n = realloc(bs, cap * sizeof *n);
            if (!n) {
                free(bs);
                return -1;
            }
            bs = n;
        }
        struct mp_bucket *x = &bs[nb];
        uint64_t typ, next;
        if (go_field(w, b, M.b_typ, 8, &typ) || go_field(w, b, M.b_size, 8, &x->size) ||
            go_field(w, b, M.b_nstk, 8, &x->nstk) || go_field(w, b, M.b_allnext, 8, &next) ||
            (int64_t)typ != M.membucket || x->nstk > MP_MAX_STACK) {
            c->problem(c, b, "go: a memory profile bucket cannot be read (type %llu, %llu frames)",
                       (unsigned long long)typ, (unsigned long long)x->nstk);
            break;
        }
        x->addr = b;
        uint64_t rec = b + M.bucket_size + 8 * x->nstk;
        if (read_cycle(w, &M, rec + (uint64_t)M.r_active, x->size, &x->active)) {
            c->problem(c, b, "go: a memory profile bucket's record cannot be read");
            break;
        }
        for (int k = 0; k < 3; k++)
            if (read_cycle(w, &M, rec + (uint64_t)M.r_future + (uint64_t)k * M.cycle_size, x->size, &x->future[k]))
                memset(&x->future[k], 0, sizeof x->future[k]);
        /* MemProfile: publish the current cycle's future first */
        x->published = x->active;
        add_cycle(&x->published, &x->future[cycle % 3]);
        if (x->published.allocs || x->published.frees)
            clear = 0;
        nb++;
        b = next;
    }
    if (clear) /* no GC has published anything yet: MemProfile takes every cycle */
        for (size_t i = 0; i < nb; i++)
            for (int k = 0; k < 3; k++)
                if ((uint64_t)k != cycle % 3)
                    add_cycle(&bs[i].published, &bs[i].future[k]);

    static const struct heap_column bcols[] = {
        {"id", "INTEGER PRIMARY KEY"}, {"addr", "INTEGER"}, {"size", "INTEGER"}, {"nstk", "INTEGER"},
        {"allocs", "INTEGER"}, {"frees", "INTEGER"}, {"alloc_bytes", "INTEGER"}, {"free_bytes", "INTEGER"},
        {"active_allocs", "INTEGER"}, {"active_frees", "INTEGER"}, {"unpublished_allocs", "INTEGER"},
        {"unpublished_frees", "INTEGER"}};
    static const struct heap_column scols[] = {
        {"bucket", "INTEGER"}, {"depth", "INTEGER"}, {"pc", "INTEGER"}, {"shown_depth", "INTEGER"}};
    static const struct heap_column fcols[] = {
        {"pc", "INTEGER PRIMARY KEY"}, {"func", "TEXT"}, {"file", "TEXT"}, {"line", "INTEGER"},
        {"entry", "INTEGER"}, {"inlined", "INTEGER"}, {"funcforpc", "TEXT"}};
    static const struct heap_column ocols[] = {{"addr", "INTEGER"}, {"bucket", "INTEGER"}};
    struct u64map seen = {0}; /* pc -> 1, or 2 if runtime/pprof hides it at a stack's top */
    uint64_t *pcs = NULL; /* every bucket's stack, one after the other */
    size_t npcs = 0;
    struct mp_frame fr;
    /* the profile as a whole: one row */
    static const struct heap_column mcols[] = {
        {"cycle", "INTEGER"}, {"flushed", "INTEGER"}, {"rate", "INTEGER"}, {"published", "TEXT"},
        {"records", "TEXT"}};
    uint64_t rate_addr, rate_size, rate, raw = 0;
    go_field(w, M.cycle_var, M.cycle_value, 4, &raw);
    int have_rate = dbg_variable(w->c->dbg, "runtime.MemProfileRate", w->module, &rate_addr, &rate_size) == 0 &&
                    go_u64(w, rate_addr, &rate) == 0; /* runtime.MemProfileRate: the profile's period */
    struct heap_value mv[] = {vint((int64_t)cycle), vint((int64_t)(raw & 1)),
                              have_rate ? vint((int64_t)rate) : vtext(NULL),
                              vtext(clear ? "every cycle (no GC had published one)" : "active + current cycle"),
                              /* what a MemProfileRecord carries, told by memRecordCycle's fields: byte
                               * counts (to Go 1.26), or only objects of the bucket's size (1.27) */
                              vtext(M.c_alloc_bytes >= 0 ? "bytes" : "objects")};
    if (c->table(c, "go_mprof", mcols, 5) || c->row(c, "go_mprof", mv, 5)) {
        rc = -1;
        goto out;
    }
    for (size_t i = 0; i < nb; i++)
        npcs += bs[i].nstk;
    if (npcs && !(pcs = malloc(npcs * sizeof *pcs))) {
        rc = -1;
        goto out;
    }
    npcs = 0;
    for (size_t i = 0; i < nb; i++) {
        if (go_read(w, bs[i].addr + M.bucket_size, pcs + npcs, 8 * bs[i].nstk)) {
            c->problem(c, bs[i].addr, "go: a memory profile bucket's stack cannot be read");
            bs[i].nstk = 0;
        }
        npcs += bs[i].nstk;
    }
    /* the pipeline takes one table at a time: each is filled whole */
    if (c->table(c, "go_mprof_buckets", bcols, 12)) {
        rc = -1;
        goto out;
    }
    for (size_t i = 0; i < nb && !rc; i++) {
        struct mp_bucket *x = &bs[i];
        uint64_t unp_a = 0, unp_f = 0;
        for (int k = 0; k < 3; k++) {
            unp_a += x->future[k].allocs;
            unp_f += x->future[k].frees;
        }
        unp_a -= x->published.allocs - x->active.allocs;
        unp_f -= x->published.frees - x->active.frees;
        struct heap_value v[] = {vint((int64_t)i + 1), vint((int64_t)x->addr), vint((int64_t)x->size),
                                 vint((int64_t)x->nstk), vint((int64_t)x->published.allocs),
                                 vint((int64_t)x->published.frees), vint((int64_t)x->published.alloc_bytes),
                                 vint((int64_t)x->published.free_bytes), vint((int64_t)x->active.allocs),
                                 vint((int64_t)x->active.frees), vint((int64_t)unp_a), vint((int64_t)unp_f)};
        rc = c->row(c, "go_mprof_buckets", v, 12);
    }
    if (rc || c->table(c, "go_mprof_frames", fcols, 7)) {
        rc = -1;
        goto out;
    }
    for (size_t k = 0; k < npcs && !rc; k++) {
        uint32_t *slot = u64map_slot(&seen, pcs[k], 0);
        if (!slot) {
            rc = -1;
            break;
        }
        if (*slot)
            continue;
        *slot = 1; /* not in the pclntab: FuncForPC gives nil, and it is shown */
        if (symbolize(w, &M, pcs[k], &fr))
            continue;
        if (is_runtime_func(fr.funcforpc))
            *slot = 2;
        struct heap_value f[] = {vint((int64_t)pcs[k]), vtext(fr.func), vtext(fr.file), vint(fr.line),
                                 vint((int64_t)fr.entry), vint(fr.inlined), vtext(fr.funcforpc)};
        rc = c->row(c, "go_mprof_frames", f, 7);
    }
    /* Each stack, with each frame's depth as runtime/pprof's heap profile
     * shows it (writeHeapProto): the runtime's own frames at the top are
     * hidden, unless every frame is the runtime's. */
    if (rc || c->table(c, "go_mprof_stacks", scols, 4)) {
        rc = -1;
        goto out;
    }
    for (size_t i = 0, at = 0; i < nb && !rc; at += bs[i].nstk, i++) {
        uint64_t top = 0;
        while (top < bs[i].nstk && u64map_find(&seen, pcs[at + top], 1) == 2)
            top++;
        if (top == bs[i].nstk)
            top = 0;
        for (uint64_t d = 0; d < bs[i].nstk && !rc; d++) {
            struct heap_value v[] = {vint((int64_t)i + 1), vint((int64_t)d), vint((int64_t)pcs[at + d]),
                                     d >= top ? vint((int64_t)(d - top)) : vtext(NULL)};
            rc = c->row(c, "go_mprof_stacks", v, 4);
        }
    }
    if (rc || c->table(c, "go_alloc_objects", ocols, 2)) {
        rc = -1;
        goto out;
    }
    /* the live sampled objects: their profile specials name their bucket */
    struct baddr *byaddr = nb ? malloc(nb * sizeof *byaddr) : NULL;
    if (nb && !byaddr)
        rc = -1;
    for (size_t k = 0; k < nb && byaddr; k++)
        byaddr[k] = (struct baddr){bs[k].addr, (int64_t)k + 1};
    if (byaddr)
        qsort(byaddr, nb, sizeof *byaddr, cmp_baddr);
    for (size_t i = 0; i < w->nspans && !rc; i++) {
        const struct go_span *s = &w->spans[i];
        const struct go_layout *L = &w->L;
        uint64_t sp, next, off, kind, b;
        if (s->state != 1 || !s->elemsize || go_field(w, s->mspan, L->s_specials, 8, &sp))
            continue;
        uint64_t budget = 4 * (uint64_t)s->nelems + 16;
        for (; sp && budget; sp = next, budget--) {
            if (sp % 8 || go_field(w, sp, L->sp_next, 8, &next) || go_field(w, sp, L->sp_offset, 2, &off) ||
                go_field(w, sp, L->sp_kind, 1, &kind))
                break; /* go/finalizers.c reports an unreadable list */
            if ((int64_t)kind != M.kind_profile || off % s->elemsize || off / s->elemsize >= s->nelems ||
                go_field(w, sp, M.sp_bucket, 8, &b))
                continue;
            /* the bucket's row id, by address */
            int64_t id = 0;
            size_t lo = 0, hi = nb;
            while (lo < hi) {
                size_t m = (lo + hi) / 2;
                if (byaddr[m].addr < b)
                    lo = m + 1;
                else
                    hi = m;
            }
            if (lo < nb && byaddr[lo].addr == b)
                id = byaddr[lo].id;
            struct heap_value o[] = {vint((int64_t)(s->start + off)), id ? vint(id) : vtext(NULL)};
            if (c->row(c, "go_alloc_objects", o, 2)) {
                rc = -1;
                break;
            }
        }
    }
    free(byaddr);
out:
    free(pcs);
    u64map_free(&seen);
    free(bs);
    return rc;
}
