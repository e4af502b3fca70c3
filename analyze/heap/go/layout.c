/*
 * go/layout.c — where the Go walker learns the runtime's shapes: every
 * struct offset, global variable and constant it uses, looked up by name in
 * the executable's DWARF (Go emits it compressed; debuginfo reads it).
 *
 * Nothing is hard-coded: Go moves fields between releases, and a walker
 * that guessed would report nonsense with confidence.  So a name that is
 * not in the DWARF is an error — reported as a problem naming it — and the
 * walk is refused, never run with a silent zero.  The tables below are the
 * complete list of what the walker depends on, each need under every name
 * it has had from Go 1.19 to 1.27; the optional ones are how one runtime
 * design is told from another, by structure rather than by version (see
 * the end of go_layout_load).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "heap/go/internal.h"

#define OFF(f) offsetof(struct go_layout, f)
#define NONE ((size_t)-1)

/* A need names what to look up; "a|b" lists the names it has had across
 * releases (runtime._type became internal/abi.Type in Go 1.21, its tflag
 * TFlag), tried in order — each type name with each field name.  An
 * optional need (opt) that is missing leaves -1: its absence is how the
 * walker tells one runtime design from another (go_layout_load's end).
 * size_dst, if not NONE, receives the field's size in bytes: nelems and
 * freeindex shrank from uintptr to uint16 in Go 1.22, and are read at the
 * width DWARF gives. */
struct field_need {
    const char *type, *field;
    size_t dst;
    int opt;
    size_t size_dst;
};

static const struct field_need fields[] = {
    {"runtime.mheap", "allspans", OFF(h_allspans), 0, NONE},
    {"runtime.mheap", "arenas", OFF(h_arenas), 0, NONE},
    {"runtime.mheap", "sweepgen", OFF(h_sweepgen), 0, NONE},
    {"runtime.mheap", "allArenas|heapArenas", OFF(h_allarenas), 0, NONE},
    {"runtime.mheap", "pages.inUse.ranges", OFF(h_inuse_ranges), 0, NONE},
    {"runtime.mheap", "spanalloc.inuse", OFF(h_spanalloc_inuse), 0, NONE},
    {"runtime.mheap", "cachealloc.inuse", OFF(h_cachealloc_inuse), 0, NONE},
    {"runtime.mspan", "startAddr", OFF(s_start), 0, NONE},
    {"runtime.mspan", "npages", OFF(s_npages), 0, NONE},
    {"runtime.mspan", "freeindex", OFF(s_freeindex), 0, OFF(sz_freeindex)},
    {"runtime.mspan", "nelems", OFF(s_nelems), 0, OFF(sz_nelems)},
    {"runtime.mspan", "allocBits", OFF(s_allocbits), 0, NONE},
    {"runtime.mspan", "gcmarkBits", OFF(s_gcmarkbits), 0, NONE},
    {"runtime.mspan", "sweepgen", OFF(s_sweepgen), 0, NONE},
    {"runtime.mspan", "allocCount", OFF(s_alloccount), 0, OFF(sz_alloccount)},
    {"runtime.mspan", "spanclass", OFF(s_spanclass), 0, NONE},
    {"runtime.mspan", "state", OFF(s_state), 0, NONE},
    {"runtime.mspan", "allocCountBeforeCache", OFF(s_acbc), 0, OFF(sz_acbc)},
    {"runtime.mspan", "elemsize", OFF(s_elemsize), 0, NONE},
    {"runtime.mspan", "specials", OFF(s_specials), 0, NONE},
    {"runtime.mspan", "largeType", OFF(s_largetype), 1, NONE},
    {"runtime.mspan", "needzero", OFF(s_needzero), 1, NONE},
    {"runtime.special", "next", OFF(sp_next), 0, NONE},
    {"runtime.special", "offset", OFF(sp_offset), 0, OFF(sz_sp_offset)},
    {"runtime.special", "kind", OFF(sp_kind), 0, NONE},
    {"runtime.specialfinalizer", "fn", OFF(sf_fn), 0, NONE},
    {"runtime.heapArena", "bitmap", OFF(ha_bitmap), 1, OFF(sz_ha_bitmap)},
    {"runtime.heapArena", "noMorePtrs", OFF(ha_nomoreptrs), 1, NONE},
    {"runtime.heapArena", "spans", OFF(ha_spans), 0, NONE},
    {"runtime.g", "stack.lo", OFF(g_stack_lo), 0, NONE},
    {"runtime.g", "stack.hi", OFF(g_stack_hi), 0, NONE},
    {"runtime.g", "sched.sp", OFF(g_sched_sp), 0, NONE},
    {"runtime.g", "sched.pc", OFF(g_sched_pc), 0, NONE},
    {"runtime.g", "atomicstatus", OFF(g_status), 0, NONE},
    {"runtime.g", "goid", OFF(g_goid), 0, NONE},
    {"runtime.g", "waitreason", OFF(g_waitreason), 0, NONE},
    {"runtime.g", "gopc", OFF(g_gopc), 0, NONE},
    {"runtime.g", "startpc", OFF(g_startpc), 0, NONE},
    {"runtime.g", "m", OFF(g_m), 0, NONE},
    {"runtime.g", "syscallsp", OFF(g_syscallsp), 0, NONE},
    {"runtime.m", "procid", OFF(m_procid), 0, NONE},
    {"runtime.m", "alllink", OFF(m_alllink), 0, NONE},
    {"runtime.p", "mcache", OFF(p_mcache), 0, NONE},
    {"runtime.mcache", "alloc", OFF(mc_alloc), 0, NONE},
    {"runtime.mcache", "tinyAllocs", OFF(mc_tinyallocs), 0, NONE},
    {"runtime.mcache", "tiny", OFF(mc_tiny), 0, NONE},
    {"runtime.mstats", "heapStats.stats", OFF(ms_stats), 0, NONE},
    {"runtime.mstats", "stacks_sys", OFF(ms_stacks_sys), 0, NONE},
    {"runtime.mstats", "mspan_sys", OFF(ms_mspan_sys), 0, NONE},
    {"runtime.mstats", "mcache_sys", OFF(ms_mcache_sys), 0, NONE},
    {"runtime.mstats", "buckhash_sys", OFF(ms_buckhash_sys), 0, NONE},
    {"runtime.mstats", "gcMiscSys", OFF(ms_gcmisc_sys), 0, NONE},
    {"runtime.mstats", "other_sys", OFF(ms_other_sys), 0, NONE},
    {"runtime.mstats", "numgc", OFF(ms_numgc), 0, NONE},
    {"runtime.mstats", "numforcedgc", OFF(ms_numforcedgc), 0, NONE},
    {"runtime.mstats", "pause_total_ns", OFF(ms_pause_total), 0, NONE},
    /* for the GC state at the capture (rss, leaks): optional, never needed by the walk */
    {"runtime.mstats", "last_gc_unix", OFF(ms_last_gc_unix), 1, NONE},
    {"runtime.mstats", "last_gc_nanotime", OFF(ms_last_gc_nanotime), 1, NONE},
    {"runtime.mstats", "lastHeapInUse|last_heap_inuse", OFF(ms_last_heap_inuse), 1, NONE},
    {"runtime.heapStatsDelta", "committed", OFF(d_committed), 0, NONE},
    {"runtime.heapStatsDelta", "released", OFF(d_released), 0, NONE},
    {"runtime.heapStatsDelta", "inHeap", OFF(d_inheap), 0, NONE},
    {"runtime.heapStatsDelta", "inStacks", OFF(d_instacks), 0, NONE},
    {"runtime.heapStatsDelta", "inWorkBufs", OFF(d_inworkbufs), 0, NONE},
    /* the arena bitmap's bytes; gone with it in Go 1.22 */
    {"runtime.heapStatsDelta", "inPtrScalarBits", OFF(d_inptrscalar), 1, NONE},
    {"runtime.heapStatsDelta", "tinyAllocCount", OFF(d_tiny), 0, NONE},
    {"runtime.heapStatsDelta", "largeAlloc", OFF(d_large_alloc), 0, NONE},
    {"runtime.heapStatsDelta", "largeAllocCount", OFF(d_large_count), 0, NONE},
    {"runtime.heapStatsDelta", "smallAllocCount", OFF(d_small_alloc), 0, NONE},
    {"runtime.heapStatsDelta", "largeFree", OFF(d_large_free), 0, NONE},
    {"runtime.heapStatsDelta", "largeFreeCount", OFF(d_large_free_count), 0, NONE},
    {"runtime.heapStatsDelta", "smallFreeCount", OFF(d_small_free), 0, NONE},
    {"runtime.gcControllerState", "gcPercent.value", OFF(gc_percent), 0, NONE},
    {"runtime.gcControllerState", "memoryLimit.value", OFF(gc_memlimit), 0, NONE},
    {"runtime.gcControllerState", "heapInUse", OFF(gc_heapinuse), 0, NONE},
    {"runtime.gcControllerState", "heapReleased", OFF(gc_heapreleased), 0, NONE},
    {"runtime.gcControllerState", "heapFree", OFF(gc_heapfree), 0, NONE},
    {"runtime.gcControllerState", "gcPercentHeapGoal.value", OFF(gc_goal), 0, NONE},
    {"runtime.gcControllerState", "sweepDistMinTrigger.value", OFF(gc_sweepdist), 0, NONE},
    {"runtime.gcControllerState", "heapLive", OFF(gc_heaplive), 0, NONE},
    {"runtime.gcControllerState", "heapMarked", OFF(gc_heapmarked), 0, NONE},
    {"runtime.moduledata", "pcHeader", OFF(md_pcheader), 0, NONE},
    {"runtime.moduledata", "funcnametab", OFF(md_funcnametab), 0, NONE},
    {"runtime.moduledata", "pclntable", OFF(md_pclntable), 0, NONE},
    {"runtime.moduledata", "ftab", OFF(md_ftab), 0, NONE},
    {"runtime.moduledata", "ftab.len", OFF(md_ftab_len), 0, NONE},
    {"runtime.moduledata", "text", OFF(md_text), 0, NONE},
    {"runtime.moduledata", "data", OFF(md_data), 0, NONE},
    {"runtime.moduledata", "edata", OFF(md_edata), 0, NONE},
    {"runtime.moduledata", "bss", OFF(md_bss), 0, NONE},
    {"runtime.moduledata", "ebss", OFF(md_ebss), 0, NONE},
    {"runtime.moduledata", "gcdatamask", OFF(md_gcdatamask), 0, NONE},
    {"runtime.moduledata", "gcbssmask", OFF(md_gcbssmask), 0, NONE},
    {"runtime.moduledata", "noptrdata", OFF(md_noptrdata), 0, NONE},
    {"runtime.moduledata", "enoptrdata", OFF(md_enoptrdata), 0, NONE},
    {"runtime.moduledata", "noptrbss", OFF(md_noptrbss), 0, NONE},
    {"runtime.moduledata", "enoptrbss", OFF(md_enoptrbss), 0, NONE},
    {"runtime._type|internal/abi.Type", "size|Size_", OFF(t_size), 0, NONE},
    {"runtime._type|internal/abi.Type", "ptrdata|PtrBytes", OFF(t_ptrdata), 0, NONE},
    {"runtime._type|internal/abi.Type", "gcdata|GCData", OFF(t_gcdata), 0, NONE},
    {"runtime._type|internal/abi.Type", "tflag|TFlag", OFF(t_tflag), 0, NONE},
    {"runtime._type|internal/abi.Type", "str|Str", OFF(t_str), 0, NONE},
    {"runtime.itab|internal/abi.ITab", "_type|Type", OFF(itab_type), 0, NONE},
    {"runtime.moduledata", "types", OFF(md_types), 0, NONE},
    {"runtime.moduledata", "etypes", OFF(md_etypes), 0, NONE},
    {"runtime.pcHeader", "magic", OFF(ph_magic), 0, NONE},
    {"runtime.pcHeader", "nfunc", OFF(ph_nfunc), 0, NONE},
    /* dropped in Go 1.26; funcnameOffset and pclnOffset check the match */
    {"runtime.pcHeader", "textStart", OFF(ph_textstart), 1, NONE},
    {"runtime.pcHeader", "funcnameOffset", OFF(ph_funcnameoff), 0, NONE},
    {"runtime.pcHeader", "pclnOffset", OFF(ph_pclnoff), 0, NONE},
    {"runtime._func", "nameoff|nameOff", OFF(f_nameoff), 0, NONE},
    /* precise goroutine stacks (go/stacks.c); without any of these the
     * stacks are scanned conservatively, and a problem says which */
    {"runtime._func", "args", OFF(f_args), 1, NONE},
    {"runtime._func", "deferreturn", OFF(f_deferreturn), 1, NONE},
    {"runtime._func", "pcsp", OFF(f_pcsp), 1, NONE},
    {"runtime._func", "npcdata", OFF(f_npcdata), 1, NONE},
    {"runtime._func", "flag", OFF(f_flag), 1, NONE},
    {"runtime._func", "nfuncdata", OFF(f_nfuncdata), 1, NONE},
    {"runtime.moduledata", "pctab", OFF(md_pctab), 1, NONE},
    {"runtime.moduledata", "gofunc", OFF(md_gofunc), 1, NONE},
    {"runtime.moduledata", "rodata", OFF(md_rodata), 1, NONE},
    {"runtime.stackObjectRecord", "off", OFF(so_off), 1, NONE},
    {"runtime.stackObjectRecord", "size", OFF(so_size), 1, NONE},
    {"runtime.stackObjectRecord", "_ptrdata|ptrBytes", OFF(so_ptrdata), 1, NONE},
    {"runtime.stackObjectRecord", "gcdataoff", OFF(so_gcdataoff), 1, NONE},
    {"runtime.g", "syscallpc", OFF(g_syscallpc), 1, NONE},
    /* file:line and inlined frames (go/pclntab.c: go_pc_frames) */
    {"runtime._func", "pcfile", OFF(f_pcfile), 1, NONE},
    {"runtime._func", "pcln", OFF(f_pcln), 1, NONE},
    {"runtime._func", "cuOffset", OFF(f_cuoffset), 1, NONE},
    {"runtime.moduledata", "cutab", OFF(md_cutab), 1, NONE},
    {"runtime.moduledata", "filetab", OFF(md_filetab), 1, NONE},
    {"runtime.inlinedCall", "func_|nameOff", OFF(ic_nameoff), 1, NONE},
    {"runtime.inlinedCall", "parentPc", OFF(ic_parentpc), 1, NONE},
    {"runtime.g", "_defer", OFF(g_defer), 1, NONE},
    {"runtime.g", "_panic", OFF(g_panic), 1, NONE},
};

struct const_need {
    const char *name;
    size_t dst;
    int is_signed, opt;
};

static const struct const_need consts[] = {
    {"runtime.heapArenaBytes", OFF(arena_bytes), 0, 0},
    {"runtime.pageSize", OFF(page_size), 0, 0},
    {"runtime._PageShift|internal/runtime/gc.PageShift", OFF(page_shift), 0, 0},
    {"runtime.arenaL1Bits", OFF(l1_bits), 0, 0},
    {"runtime.arenaL2Bits", OFF(l2_bits), 0, 0},
    {"runtime.heapArenaBitmapBytes", OFF(bitmap_bytes), 0, 1},
    {"runtime.pagesPerArena", OFF(pages_per_arena), 0, 0},
    {"runtime._NumSizeClasses|internal/runtime/gc.NumSizeClasses", OFF(nclasses), 0, 0},
    {"runtime.mSpanInUse", OFF(span_inuse), 0, 0},
    {"runtime.mSpanManual", OFF(span_manual), 0, 0},
    {"runtime._Gdead", OFF(g_dead), 1, 0},
    {"runtime._Gscan", OFF(g_scan), 1, 0},
    {"runtime._Gwaiting", OFF(g_waiting), 1, 0},
    {"runtime._Grunning", OFF(g_running), 1, 0},
    {"runtime._Gsyscall", OFF(g_syscall), 1, 0},
    {"runtime.tflagExtraStar|internal/abi.TFlagExtraStar", OFF(tflag_extrastar), 1, 0},
    {"runtime._KindSpecialFinalizer", OFF(kind_special_finalizer), 1, 0},
    /* allocation headers (Go 1.22+): objects above this size start with a
     * header of this many bytes, a *abi.Type */
    {"runtime.minSizeForMallocHeader|internal/runtime/gc.MinSizeForMallocHeader", OFF(min_malloc_header), 0, 1},
    {"runtime.mallocHeaderSize|internal/runtime/gc.MallocHeaderSize", OFF(malloc_header_size), 0, 1},
    /* Go 1.24+: a large type's GCData points at a slot for a mask the
     * runtime builds on first use */
    {"internal/abi.TFlagGCMaskOnDemand", OFF(tflag_gcmask_ondemand), 1, 1},
    /* the symbol table's indices and flags, for precise stacks (go/stacks.c) */
    {"runtime._PCDATA_StackMapIndex|internal/abi.PCDATA_StackMapIndex", OFF(pcdata_stackmap), 1, 1},
    {"runtime._FUNCDATA_LocalsPointerMaps|internal/abi.FUNCDATA_LocalsPointerMaps", OFF(funcdata_locals), 1, 1},
    {"runtime._FUNCDATA_ArgsPointerMaps|internal/abi.FUNCDATA_ArgsPointerMaps", OFF(funcdata_args), 1, 1},
    {"runtime._FUNCDATA_StackObjects|internal/abi.FUNCDATA_StackObjects", OFF(funcdata_stackobjs), 1, 1},
    {"runtime._ArgsSizeUnknown|internal/abi.ArgsSizeUnknown", OFF(args_unknown), 1, 1},
    {"runtime.funcFlag_TOPFRAME|internal/abi.FuncFlagTopFrame", OFF(flag_topframe), 1, 1},
    {"runtime.funcFlag_SPWRITE|internal/abi.FuncFlagSPWrite", OFF(flag_spwrite), 1, 1},
    {"runtime._PCDATA_InlTreeIndex|internal/abi.PCDATA_InlTreeIndex", OFF(pcdata_inltree), 1, 1},
    {"runtime._FUNCDATA_InlTree|internal/abi.FUNCDATA_InlTree", OFF(funcdata_inltree), 1, 1},
};

struct var_need {
    const char *name;
    size_t dst, size_dst; /* size_dst 0: size not kept */
    int opt;              /* 1: the walk does without it (left 0) */
};

static const struct var_need vars[] = {
    {"runtime.mheap_", OFF(mheap), 0},
    {"runtime.allgs", OFF(allgs), 0},
    {"runtime.allm", OFF(allm), 0},
    {"runtime.allp", OFF(allp), 0},
    {"runtime.memstats", OFF(memstats), 0},
    {"runtime.gcController", OFF(gc_controller), 0},
    {"runtime.firstmoduledata", OFF(firstmoduledata), 0},
    {"runtime.class_to_size|internal/runtime/gc.SizeClassToSize", OFF(class_to_size), 0},
    {"runtime.emptymspan", OFF(emptymspan), 0},
    {"runtime.waitReasonStrings", OFF(wait_reason_strings), OFF(wait_reason_strings_size)},
    /* the scavenger's goals (memstats.c reports them; rss explains them) */
    {"runtime.scavenge", OFF(scavenge), OFF(scavenge_size), 1},
};

/* The k-th of the '|'-separated names in alts, into buf; 0, or -1 past the last. */
static int alt(const char *alts, int k, char *buf, size_t len)
{
    const char *p = alts;
    for (; k > 0 && p; k--)
        if ((p = strchr(p, '|')))
            p++;
    if (!p)
        return -1;
    size_t n = strcspn(p, "|");
    if (n >= len)
        return -1;
    memcpy(buf, p, n);
    buf[n] = 0;
    return 0;
}

/* The offset (and size) of a field under any of its names; -1 if none. */
static int64_t find_field(struct go_walk *w, const struct field_need *f, int64_t *size)
{
    char tn[96], fn[96];
    for (int i = 0; !alt(f->type, i, tn, sizeof tn); i++) {
        const struct dbg_layout *l = dbg_struct(w->c->dbg, tn, w->module);
        for (int k = 0; l && !alt(f->field, k, fn, sizeof fn); k++) {
            int64_t off = dbg_field_offset(l, fn);
            if (off >= 0) {
                *size = dbg_field_size(l, fn);
                return off;
            }
        }
    }
    return -1;
}

static int find_constant(struct go_walk *w, const char *names, int64_t *v)
{
    char n[96];
    for (int i = 0; !alt(names, i, n, sizeof n); i++)
        if (!dbg_constant(w->c->dbg, n, w->module, v))
            return 0;
    return -1;
}

static int find_variable(struct go_walk *w, const char *names, uint64_t *a, uint64_t *sz)
{
    char n[96];
    for (int i = 0; !alt(names, i, n, sizeof n); i++)
        if (!dbg_variable(w->c->dbg, n, w->module, a, sz))
            return 0;
    return -1;
}

/* The struct sizes the walker reads whole. */
static int struct_size(struct go_walk *w, const char *name, uint64_t *out)
{
    const struct dbg_layout *l = dbg_struct(w->c->dbg, name, w->module);
    if (!l || l->size == 0) {
        w->c->problem(w->c, 0, "go: the DWARF does not describe %s; the walk needs it", name);
        return -1;
    }
    *out = l->size;
    return 0;
}

int go_layout_load(struct go_walk *w)
{
    struct heap_ctx *c = w->c;
    char *base = (char *)&w->L;
    int missing = 0;

    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        int64_t size = -1, off = find_field(w, &fields[i], &size);
        if (off < 0 && !fields[i].opt) {
            c->problem(c, 0, "go: the DWARF has no %s.%s; the walk needs it", fields[i].type, fields[i].field);
            missing++;
        }
        memcpy(base + fields[i].dst, &off, sizeof off);
        if (fields[i].size_dst != NONE)
            memcpy(base + fields[i].size_dst, &size, sizeof size);
    }
    for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++) {
        int64_t v;
        if (find_constant(w, consts[i].name, &v)) {
            if (!consts[i].opt) {
                c->problem(c, 0, "go: the DWARF has no constant %s; the walk needs it", consts[i].name);
                missing++;
            }
            v = consts[i].opt ? -1 : 0;
        }
        memcpy(base + consts[i].dst, &v, sizeof v);
    }
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        uint64_t a = 0, sz = 0;
        if (find_variable(w, vars[i].name, &a, &sz) && !vars[i].opt) {
            c->problem(c, 0, "go: no variable %s in the DWARF or the symbols; the walk needs it", vars[i].name);
            missing++;
        }
        memcpy(base + vars[i].dst, &a, sizeof a);
        if (vars[i].size_dst)
            memcpy(base + vars[i].size_dst, &sz, sizeof sz);
    }
    if (struct_size(w, "runtime.mspan", &w->L.span_size) || struct_size(w, "runtime.g", &w->L.g_size) ||
        struct_size(w, "runtime.heapStatsDelta", &w->L.delta_size) ||
        struct_size(w, "runtime.addrRange", &w->L.addr_range_size))
        missing++;
    const struct dbg_layout *sor = dbg_struct(c->dbg, "runtime.stackObjectRecord", w->module);
    w->L.so_bytes = sor ? sor->size : 0; /* 0: stack objects unknown (go/stacks.c says so) */
    const struct dbg_layout *ic = dbg_struct(c->dbg, "runtime.inlinedCall", w->module);
    w->L.ic_bytes = ic ? ic->size : 0;   /* 0: inlined frames are not expanded */
    if (missing)
        return -1;
    struct go_layout *L = &w->L;
    if (L->sz_freeindex <= 0 || L->sz_freeindex > 8 || L->sz_nelems <= 0 || L->sz_nelems > 8 ||
        L->sz_alloccount <= 0 || L->sz_alloccount > 8 || L->sz_acbc <= 0 || L->sz_acbc > 8 ||
        L->sz_sp_offset <= 0 || L->sz_sp_offset > 8) {
        c->problem(c, 0, "go: the DWARF gives runtime.mspan's counters or runtime.special.offset sizes of "
                   "no integer; the walk needs them");
        return -1;
    }

    /* Which heap-bitmap design this runtime has, by its structures:
     *   Go 1.19   heapArena.bitmap of 2 bits per word (a quarter byte),
     *             no noMorePtrs
     *   1.20-21   heapArena.bitmap of 1 bit per word plus noMorePtrs (read
     *             from what the DWARF describes; no toolchain here builds
     *             these versions, so this design is untested)
     *   1.22+     no arena bitmap: allocation headers (mspan.largeType,
     *             minSizeForMallocHeader), pointer bits at the end of
     *             small-object spans, and with the Green Tea collector
     *             (1.26) a spanInlineMarkBits at the end of those spans
     * The bitmap's size, from the DWARF's own array, tells the first two
     * apart; heapArenaBitmapBytes, where the runtime has it, must agree. */
    if (L->ha_bitmap >= 0 && L->ha_nomoreptrs < 0 && (uint64_t)L->sz_ha_bitmap == L->arena_bytes / 8 / 4 &&
        (L->bitmap_bytes == (uint64_t)-1 || L->bitmap_bytes == L->arena_bytes / 8 / 4)) {
        L->bits = GO_BITS_ARENA2;
    } else if (L->ha_bitmap >= 0 && L->ha_nomoreptrs >= 0 && (uint64_t)L->sz_ha_bitmap == L->arena_bytes / 8 / 8) {
        L->bits = GO_BITS_ARENA1;
    } else if (L->ha_bitmap >= 0) {
        c->problem(c, 0, "go: this runtime's heapArena.bitmap is %lld bytes for an arena of %llu (noMorePtrs %s): "
                   "neither 2 bits per word (Go 1.19) nor 1 bit per word with noMorePtrs (Go 1.20-1.21)",
                   (long long)L->sz_ha_bitmap, (unsigned long long)L->arena_bytes,
                   L->ha_nomoreptrs >= 0 ? "present" : "missing");
        return -1;
    } else if (L->s_largetype >= 0 && L->min_malloc_header != (uint64_t)-1 && L->malloc_header_size == 8) {
        L->bits = GO_BITS_HEADERS;
        const struct dbg_layout *imb = dbg_struct(c->dbg, "runtime.spanInlineMarkBits", w->module);
        L->inline_mark_bytes = imb ? imb->size : 0;
    } else {
        c->problem(c, 0, "go: the runtime has neither heapArena.bitmap nor allocation headers (mspan.largeType %s, "
                   "minSizeForMallocHeader %s, mallocHeaderSize %lld): its heap bitmap is unknown",
                   L->s_largetype >= 0 ? "present" : "missing",
                   L->min_malloc_header != (uint64_t)-1 ? "present" : "missing", (long long)L->malloc_header_size);
        return -1;
    }

    /* sanity: what the arithmetic below relies on */
    if (L->page_size == 0 || (L->page_size & (L->page_size - 1)) || (1ull << L->page_shift) != L->page_size ||
        L->arena_bytes < L->page_size || (L->arena_bytes & (L->arena_bytes - 1)) ||
        L->arena_bytes / L->page_size != L->pages_per_arena || L->l1_bits + L->l2_bits > 48 || L->nclasses == 0 ||
        L->nclasses > GO_MAX_CLASSES || L->addr_range_size < 16 ||
        (L->bits == GO_BITS_HEADERS && (L->min_malloc_header == 0 || L->min_malloc_header > L->page_size ||
                                        L->inline_mark_bytes >= L->page_size / 4))) {
        c->problem(c, 0, "go: the runtime's constants do not fit together (page %llu, arena %llu, "
                   "%llu size classes, malloc header above %llu bytes, inline mark bits %llu bytes)",
                   (unsigned long long)L->page_size, (unsigned long long)L->arena_bytes,
                   (unsigned long long)L->nclasses, (unsigned long long)L->min_malloc_header,
                   (unsigned long long)L->inline_mark_bytes);
        return -1;
    }
    return 0;
}
