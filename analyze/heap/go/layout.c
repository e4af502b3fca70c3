/*
 * go/layout.c — where the Go walker learns the runtime's shapes: every
 * struct offset, global variable and constant it uses, looked up by name in
 * the executable's DWARF (Go emits it compressed; debuginfo reads it).
 *
 * Nothing is hard-coded: Go moves fields between releases, and a walker
 * that guessed would report nonsense with confidence.  So a name that is
 * not in the DWARF is an error — reported as a problem naming it — and the
 * walk is refused, never run with a silent zero.  The tables below are the
 * complete list of what the walker depends on.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "heap/go/internal.h"

#define OFF(f) offsetof(struct go_layout, f)

struct field_need {
    const char *type, *field;
    size_t dst;
};

static const struct field_need fields[] = {
    {"runtime.mheap", "allspans", OFF(h_allspans)},
    {"runtime.mheap", "arenas", OFF(h_arenas)},
    {"runtime.mheap", "sweepgen", OFF(h_sweepgen)},
    {"runtime.mheap", "allArenas", OFF(h_allarenas)},
    {"runtime.mheap", "curArena", OFF(h_curarena)},
    {"runtime.mheap", "spanalloc.inuse", OFF(h_spanalloc_inuse)},
    {"runtime.mspan", "startAddr", OFF(s_start)},
    {"runtime.mspan", "npages", OFF(s_npages)},
    {"runtime.mspan", "freeindex", OFF(s_freeindex)},
    {"runtime.mspan", "nelems", OFF(s_nelems)},
    {"runtime.mspan", "allocBits", OFF(s_allocbits)},
    {"runtime.mspan", "gcmarkBits", OFF(s_gcmarkbits)},
    {"runtime.mspan", "sweepgen", OFF(s_sweepgen)},
    {"runtime.mspan", "allocCount", OFF(s_alloccount)},
    {"runtime.mspan", "spanclass", OFF(s_spanclass)},
    {"runtime.mspan", "state", OFF(s_state)},
    {"runtime.mspan", "allocCountBeforeCache", OFF(s_acbc)},
    {"runtime.mspan", "elemsize", OFF(s_elemsize)},
    {"runtime.mspan", "specials", OFF(s_specials)},
    {"runtime.special", "next", OFF(sp_next)},
    {"runtime.special", "offset", OFF(sp_offset)},
    {"runtime.special", "kind", OFF(sp_kind)},
    {"runtime.specialfinalizer", "fn", OFF(sf_fn)},
    {"runtime.heapArena", "bitmap", OFF(ha_bitmap)},
    {"runtime.heapArena", "spans", OFF(ha_spans)},
    {"runtime.g", "stack.lo", OFF(g_stack_lo)},
    {"runtime.g", "stack.hi", OFF(g_stack_hi)},
    {"runtime.g", "sched.sp", OFF(g_sched_sp)},
    {"runtime.g", "sched.pc", OFF(g_sched_pc)},
    {"runtime.g", "atomicstatus", OFF(g_status)},
    {"runtime.g", "goid", OFF(g_goid)},
    {"runtime.g", "waitreason", OFF(g_waitreason)},
    {"runtime.g", "gopc", OFF(g_gopc)},
    {"runtime.g", "startpc", OFF(g_startpc)},
    {"runtime.g", "m", OFF(g_m)},
    {"runtime.g", "syscallsp", OFF(g_syscallsp)},
    {"runtime.m", "procid", OFF(m_procid)},
    {"runtime.p", "mcache", OFF(p_mcache)},
    {"runtime.mcache", "alloc", OFF(mc_alloc)},
    {"runtime.mcache", "tinyAllocs", OFF(mc_tinyallocs)},
    {"runtime.mstats", "heapStats.stats", OFF(ms_stats)},
    {"runtime.mstats", "stacks_sys", OFF(ms_stacks_sys)},
    {"runtime.mstats", "mspan_sys", OFF(ms_mspan_sys)},
    {"runtime.mstats", "mcache_sys", OFF(ms_mcache_sys)},
    {"runtime.mstats", "buckhash_sys", OFF(ms_buckhash_sys)},
    {"runtime.mstats", "gcMiscSys", OFF(ms_gcmisc_sys)},
    {"runtime.mstats", "other_sys", OFF(ms_other_sys)},
    {"runtime.mstats", "numgc", OFF(ms_numgc)},
    {"runtime.mstats", "numforcedgc", OFF(ms_numforcedgc)},
    {"runtime.mstats", "pause_total_ns", OFF(ms_pause_total)},
    {"runtime.heapStatsDelta", "committed", OFF(d_committed)},
    {"runtime.heapStatsDelta", "released", OFF(d_released)},
    {"runtime.heapStatsDelta", "inHeap", OFF(d_inheap)},
    {"runtime.heapStatsDelta", "inStacks", OFF(d_instacks)},
    {"runtime.heapStatsDelta", "inWorkBufs", OFF(d_inworkbufs)},
    {"runtime.heapStatsDelta", "inPtrScalarBits", OFF(d_inptrscalar)},
    {"runtime.heapStatsDelta", "tinyAllocCount", OFF(d_tiny)},
    {"runtime.heapStatsDelta", "largeAlloc", OFF(d_large_alloc)},
    {"runtime.heapStatsDelta", "largeAllocCount", OFF(d_large_count)},
    {"runtime.heapStatsDelta", "smallAllocCount", OFF(d_small_alloc)},
    {"runtime.heapStatsDelta", "largeFree", OFF(d_large_free)},
    {"runtime.heapStatsDelta", "largeFreeCount", OFF(d_large_free_count)},
    {"runtime.heapStatsDelta", "smallFreeCount", OFF(d_small_free)},
    {"runtime.gcControllerState", "gcPercent.value", OFF(gc_percent)},
    {"runtime.gcControllerState", "memoryLimit.value", OFF(gc_memlimit)},
    {"runtime.gcControllerState", "heapInUse", OFF(gc_heapinuse)},
    {"runtime.gcControllerState", "heapReleased", OFF(gc_heapreleased)},
    {"runtime.gcControllerState", "heapFree", OFF(gc_heapfree)},
    {"runtime.gcControllerState", "gcPercentHeapGoal.value", OFF(gc_goal)},
    {"runtime.gcControllerState", "sweepDistMinTrigger.value", OFF(gc_sweepdist)},
    {"runtime.gcControllerState", "heapLive", OFF(gc_heaplive)},
    {"runtime.gcControllerState", "heapMarked", OFF(gc_heapmarked)},
    {"runtime.moduledata", "pcHeader", OFF(md_pcheader)},
    {"runtime.moduledata", "funcnametab", OFF(md_funcnametab)},
    {"runtime.moduledata", "pclntable", OFF(md_pclntable)},
    {"runtime.moduledata", "ftab", OFF(md_ftab)},
    {"runtime.moduledata", "ftab.len", OFF(md_ftab_len)},
    {"runtime.moduledata", "text", OFF(md_text)},
    {"runtime.moduledata", "data", OFF(md_data)},
    {"runtime.moduledata", "edata", OFF(md_edata)},
    {"runtime.moduledata", "bss", OFF(md_bss)},
    {"runtime.moduledata", "ebss", OFF(md_ebss)},
    {"runtime.moduledata", "gcdatamask", OFF(md_gcdatamask)},
    {"runtime.moduledata", "gcbssmask", OFF(md_gcbssmask)},
    {"runtime.moduledata", "noptrdata", OFF(md_noptrdata)},
    {"runtime.moduledata", "enoptrdata", OFF(md_enoptrdata)},
    {"runtime.moduledata", "noptrbss", OFF(md_noptrbss)},
    {"runtime.moduledata", "enoptrbss", OFF(md_enoptrbss)},
    {"runtime._type", "tflag", OFF(t_tflag)},
    {"runtime._type", "str", OFF(t_str)},
    {"runtime.itab", "_type", OFF(itab_type)},
    {"runtime.moduledata", "types", OFF(md_types)},
    {"runtime.moduledata", "etypes", OFF(md_etypes)},
    {"runtime.pcHeader", "magic", OFF(ph_magic)},
    {"runtime.pcHeader", "nfunc", OFF(ph_nfunc)},
    {"runtime.pcHeader", "textStart", OFF(ph_textstart)},
    {"runtime._func", "nameoff", OFF(f_nameoff)},
};

struct const_need {
    const char *name;
    size_t dst;
    int is_signed;
};

static const struct const_need consts[] = {
    {"runtime.heapArenaBytes", OFF(arena_bytes), 0},
    {"runtime.pageSize", OFF(page_size), 0},
    {"runtime._PageShift", OFF(page_shift), 0},
    {"runtime.arenaL1Bits", OFF(l1_bits), 0},
    {"runtime.arenaL2Bits", OFF(l2_bits), 0},
    {"runtime.heapArenaBitmapBytes", OFF(bitmap_bytes), 0},
    {"runtime.pagesPerArena", OFF(pages_per_arena), 0},
    {"runtime._NumSizeClasses", OFF(nclasses), 0},
    {"runtime.mSpanInUse", OFF(span_inuse), 0},
    {"runtime.mSpanManual", OFF(span_manual), 0},
    {"runtime._Gdead", OFF(g_dead), 1},
    {"runtime._Gscan", OFF(g_scan), 1},
    {"runtime._Gwaiting", OFF(g_waiting), 1},
    {"runtime._Grunning", OFF(g_running), 1},
    {"runtime._Gsyscall", OFF(g_syscall), 1},
    {"runtime.tflagExtraStar", OFF(tflag_extrastar), 1},
    {"runtime._KindSpecialFinalizer", OFF(kind_special_finalizer), 1},
};

struct var_need {
    const char *name;
    size_t dst, size_dst; /* size_dst 0: size not kept */
};

static const struct var_need vars[] = {
    {"runtime.mheap_", OFF(mheap), 0},
    {"runtime.allgs", OFF(allgs), 0},
    {"runtime.allp", OFF(allp), 0},
    {"runtime.memstats", OFF(memstats), 0},
    {"runtime.gcController", OFF(gc_controller), 0},
    {"runtime.firstmoduledata", OFF(firstmoduledata), 0},
    {"runtime.class_to_size", OFF(class_to_size), 0},
    {"runtime.emptymspan", OFF(emptymspan), 0},
    {"runtime.waitReasonStrings", OFF(wait_reason_strings), OFF(wait_reason_strings_size)},
};

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
        const struct dbg_layout *l = dbg_struct(c->dbg, fields[i].type, w->module);
        int64_t off = l ? dbg_field_offset(l, fields[i].field) : -1;
        if (off < 0) {
            c->problem(c, 0, "go: the DWARF has no %s.%s; the walk needs it", fields[i].type, fields[i].field);
            missing++;
        }
        memcpy(base + fields[i].dst, &off, sizeof off);
    }
    for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++) {
        int64_t v;
        if (dbg_constant(c->dbg, consts[i].name, w->module, &v)) {
            c->problem(c, 0, "go: the DWARF has no constant %s; the walk needs it", consts[i].name);
            missing++;
            v = 0;
        }
        memcpy(base + consts[i].dst, &v, sizeof v);
    }
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        uint64_t a = 0, sz = 0;
        if (dbg_variable(c->dbg, vars[i].name, w->module, &a, &sz)) {
            c->problem(c, 0, "go: no variable %s in the DWARF or the symbols; the walk needs it", vars[i].name);
            missing++;
        }
        memcpy(base + vars[i].dst, &a, sizeof a);
        if (vars[i].size_dst)
            memcpy(base + vars[i].size_dst, &sz, sizeof sz);
    }
    if (struct_size(w, "runtime.mspan", &w->L.span_size) || struct_size(w, "runtime.g", &w->L.g_size) ||
        struct_size(w, "runtime.heapStatsDelta", &w->L.delta_size))
        missing++;
    if (missing)
        return -1;

    /* sanity: what the arithmetic below relies on */
    const struct go_layout *L = &w->L;
    if (L->page_size == 0 || (L->page_size & (L->page_size - 1)) || (1ull << L->page_shift) != L->page_size ||
        L->arena_bytes < L->page_size || (L->arena_bytes & (L->arena_bytes - 1)) ||
        L->arena_bytes / L->page_size != L->pages_per_arena || L->bitmap_bytes != L->arena_bytes / 8 / 4 ||
        L->l1_bits + L->l2_bits > 48 || L->nclasses == 0 || L->nclasses > GO_MAX_CLASSES) {
        c->problem(c, 0, "go: the runtime's constants do not fit together (page %llu, arena %llu, bitmap %llu, "
                   "%llu size classes); this walker knows Go 1.19's 2-bit heap bitmap",
                   (unsigned long long)L->page_size, (unsigned long long)L->arena_bytes,
                   (unsigned long long)L->bitmap_bytes, (unsigned long long)L->nclasses);
        return -1;
    }
    return 0;
}
