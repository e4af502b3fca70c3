/*
 * go/internal.h — the Go walker's insides, shared by its files (go/walker.c is the
 * entry point; see there for how the Go heap is laid out and walked).
 *
 *   go/layout.c      every runtime struct offset, variable and constant the
 *                    walker uses, from DWARF; a missing one refuses the walk
 *   go/mem.c         reading target memory: the snapshot, else the
 *                    executable's file (read-only data such as the pclntab
 *                    and string contents is not in a "writable" capture)
 *   go/spans.c       arenas, spans, objects, free page runs, regions, and
 *                    the go_spans table (free slots as counts on their span)
 *   go/ptrbits.c     which words of an object are pointers: the arena
 *                    bitmap (1.19), or span bitmaps and type headers (1.22+)
 *   go/offheap.c     the runtime's own anonymous memory, claimed so that
 *                    it is not scanned as a root (Go never scans it)
 *   go/globals.c     .data/.bss pointer masks (gcdata/gcbss): precise roots
 *   go/finalizers.c  objects with finalizers (the spans' specials): roots
 *   go/types.c       type names from runtime type descriptors: the dynamic
 *                    types of interface values
 *   go/pclntab.c     function names for PCs, from the pclntab (1.18+ layout)
 *   go/buildinfo.c   a Go program known without its symbols (stripped):
 *                    its version and build ID, and the refusal saying
 *                    what to pass
 *   go/goroutines.c  allgs: every goroutine's state, stack and functions
 *   go/stacks.c      the goroutines' stacks as precise roots: frames
 *                    unwound by the pclntab, scanned by their stack maps
 *   go/frames.c      those frames as function, file and line (go_frames)
 *   go/memstats.c    runtime.ReadMemStats() rebuilt from the runtime's own
 *                    counters, including what per-P mcaches have not flushed
 *
 * Nothing read from the snapshot is trusted: counts are bounded, pointers
 * are checked by reading them (a failed read is a problem, not a crash).
 */
#ifndef HEAPSNAP_HEAP_GO_INTERNAL_H
#define HEAPSNAP_HEAP_GO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "heap/allocator.h"

#define GO_MAX_SPANS     (1u << 26)  /* allspans entries we accept (512 GiB of 8 KiB spans) */
#define GO_MAX_ARENAS    (1u << 16)  /* 4 TiB of 64 MiB arenas */
#define GO_MAX_GS        (1u << 22)  /* goroutines (4 M) */
#define GO_MAX_PS        4096u       /* GOMAXPROCS */
#define GO_MAX_CLASSES   256u        /* size classes (68 in Go 1.19) */
#define GO_MAX_FUNCS     (1u << 24)  /* pclntab functions */
#define GO_MAX_FUNC_HDR  128         /* bytes of a _func record through nfuncdata */

/* Offsets and constants from DWARF (go/layout.c).  -1 never survives
 * go_layout_load(): a name that is missing fails the whole load. */
/* Where a Go object sits: its where value (allocator.h), named in
 * walker.c's go_wheres.  One kind: a used slot of an in-use span. */
enum go_where { GO_WHERE_SPAN = 0, GO_WHERE_COUNT };

struct go_layout {
    /* constants */
    uint64_t arena_bytes, page_size, page_shift, l1_bits, l2_bits, bitmap_bytes;
    uint64_t pages_per_arena, nclasses, span_inuse, span_manual;
    uint64_t min_malloc_header, malloc_header_size; /* -1: no allocation headers */
    int64_t tflag_gcmask_ondemand;                  /* -1: none */
    int64_t g_dead, g_scan, g_waiting, g_running, g_syscall;
    /* variables: address (and size where it matters) */
    uint64_t mheap, allgs, allm, allp, memstats, gc_controller, firstmoduledata, class_to_size,
        emptymspan, wait_reason_strings, wait_reason_strings_size;
    /* runtime.mheap */
    int64_t h_allspans, h_arenas, h_sweepgen, h_allarenas, h_inuse_ranges, h_spanalloc_inuse, h_cachealloc_inuse;
    uint64_t addr_range_size;
    /* runtime.mspan */
    uint64_t span_size;
    int64_t s_start, s_npages, s_freeindex, s_nelems, s_allocbits, s_gcmarkbits, s_sweepgen,
        s_alloccount, s_spanclass, s_state, s_acbc, s_elemsize, s_largetype, s_needzero;
    int64_t sz_freeindex, sz_nelems, sz_alloccount, sz_acbc, sz_sp_offset; /* field sizes */
    /* runtime.mspan.specials, runtime.special, runtime.specialfinalizer */
    int64_t s_specials, sp_next, sp_offset, sp_kind, sf_fn, kind_special_finalizer;
    /* runtime.heapArena */
    int64_t ha_bitmap, ha_nomoreptrs, ha_spans, sz_ha_bitmap;
    /* runtime.g, runtime.m, runtime.p, runtime.mcache */
    uint64_t g_size;
    int64_t g_stack_lo, g_stack_hi, g_sched_sp, g_sched_pc, g_status, g_goid, g_waitreason, g_gopc,
        g_startpc, g_m, g_syscallsp;
    int64_t m_procid, m_alllink;
    int64_t p_mcache;
    int64_t mc_alloc, mc_tinyallocs, mc_tiny;
    /* runtime.mstats and heapStatsDelta */
    int64_t ms_stats, ms_stacks_sys, ms_mspan_sys, ms_mcache_sys, ms_buckhash_sys, ms_gcmisc_sys,
        ms_other_sys, ms_numgc, ms_numforcedgc, ms_pause_total;
    /* optional (-1 if absent): the last GC's end in both clocks, HeapInuse then */
    int64_t ms_last_gc_unix, ms_last_gc_nanotime, ms_last_heap_inuse;
    /* runtime.scavenge (Go 1.19+): the retained-memory goals the background
     * scavenger works toward; scavenge 0 if the variable is absent */
    uint64_t scavenge, scavenge_size;
    uint64_t delta_size;
    int64_t d_committed, d_released, d_inheap, d_instacks, d_inworkbufs, d_inptrscalar, d_tiny,
        d_large_alloc, d_large_count, d_small_alloc, d_large_free, d_large_free_count, d_small_free;
    /* runtime.gcControllerState */
    int64_t gc_percent, gc_memlimit, gc_heapinuse, gc_heapreleased, gc_heapfree, gc_goal,
        gc_sweepdist, gc_heaplive, gc_heapmarked;
    /* runtime.moduledata */
    int64_t md_pcheader, md_funcnametab, md_pclntable, md_ftab, md_ftab_len, md_text, md_data, md_edata, md_bss,
        md_ebss, md_gcdatamask, md_gcbssmask, md_noptrdata, md_enoptrdata, md_noptrbss, md_enoptrbss;
    /* runtime._type, runtime.itab, and where type descriptors live */
    int64_t t_size, t_ptrdata, t_gcdata, t_tflag, t_str, itab_type, md_types, md_etypes;
    int64_t tflag_extrastar;
    /* runtime.pcHeader, runtime._func */
    int64_t ph_magic, ph_nfunc, ph_textstart, ph_funcnameoff, ph_pclnoff;
    int64_t f_nameoff;
    /* precise stacks (go/stacks.c): all optional, -1 if missing */
    int64_t f_args, f_deferreturn, f_pcsp, f_npcdata, f_flag, f_nfuncdata, md_pctab, md_gofunc, md_rodata;
    int64_t so_off, so_size, so_ptrdata, so_gcdataoff, g_syscallpc, g_defer, g_panic;
    uint64_t so_bytes;        /* sizeof(runtime.stackObjectRecord), 0 if unknown */
    int64_t f_pcfile, f_pcln, f_cuoffset, md_cutab, md_filetab, ic_nameoff, ic_parentpc, pcdata_inltree,
        funcdata_inltree;
    uint64_t ic_bytes;        /* sizeof(runtime.inlinedCall), 0 if unknown */
    int64_t pcdata_stackmap, funcdata_locals, funcdata_args, funcdata_stackobjs, args_unknown, flag_topframe,
        flag_spwrite;
    /* derived by go_layout_load from which structures exist */
    enum { GO_BITS_ARENA2 = 1, GO_BITS_ARENA1, GO_BITS_HEADERS } bits;
    uint64_t inline_mark_bytes; /* sizeof(spanInlineMarkBits), 0 without Green Tea */
};

/* One span as decoded from its mspan (go/spans.c). */
struct go_span {
    uint64_t start, end;      /* [startAddr, startAddr + npages * pageSize) */
    uint64_t mspan;           /* the mspan's own address */
    uint64_t freeindex, allocbits; /* in-use spans: slot i is used if i < freeindex or allocBits bit i */
    uint64_t elemsize;
    uint32_t nelems;
    uint32_t allocated;       /* slots in use, counted by the walk */
    uint32_t alloc_count;     /* mspan.allocCount, as the runtime keeps it */
    uint64_t free_resident;   /* bytes of whole snapshot pages inside free slots, resident at the capture */
    uint8_t state;            /* 1 in use (heap), 2 manual (stacks) */
    uint8_t spanclass;
    uint8_t unswept;
    uint8_t needzero;         /* mspan.needzero (0 if the runtime has no such field) */
    uint8_t header;           /* 1.22+: objects begin with a malloc header (an *abi.Type) */
    uint32_t arena;           /* index into go_walk.arenas */
    uint32_t hb_off;          /* 1.22+: the span's pointer bitmap, from start; 0 if none */
    uint64_t largetype;       /* 1.22+: a large object's type (mspan.largeType) */
};

/* A type descriptor as the collector uses it (go/ptrbits.c). */
struct go_gctype {
    uint64_t addr;            /* the abi.Type; 0: an empty table slot */
    uint64_t size, ptrdata;   /* Size_, PtrBytes */
    uint8_t *mask;            /* ptrdata / 8 bits; NULL if there are none or it is unknown */
    uint8_t readable;         /* the descriptor could be read */
};

struct go_arena {
    uint64_t base;            /* arena start address */
    uint64_t meta;            /* its heapArena */
};

/* An object with a finalizer (go/finalizers.c). */
struct go_fin {
    uint64_t object, size;    /* the object's slot */
    uint64_t special;         /* its runtime.specialfinalizer */
    uint64_t fn, fnpc;        /* the funcval and the function it calls (0 if unread) */
};

struct go_func {
    uint32_t entryoff, funcoff;
};

/* A goroutine (go/goroutines.c). */
struct go_g {
    uint64_t addr, goid;
    uint32_t status;          /* atomicstatus without _Gscan */
    uint8_t waitreason;
    uint64_t stack_lo, stack_hi, sp, pc, gopc, startpc;
    int32_t thread;           /* the thread running it, 0 if none */
    uint64_t defer_rec, panic_rec; /* g._defer, g._panic (0 if none or unknown) */
    uint8_t saved;            /* sp and pc are where the runtime stopped it, at a call
                               * (g.sched, g.syscallsp/pc): 0 if it was stopped anywhere
                               * (a running thread's registers, a signal context) */
};

/* A section of the executable's globals and its GC pointer mask
 * (go/globals.c): bit i set if the word at lo + 8 i is a pointer; a
 * noptr section has no mask and no pointers. */
struct go_globals {
    uint64_t lo, hi;
    uint8_t *bits;            /* (hi - lo) / 64 bytes; NULL for a noptr section */
};

struct go_stat {
    const char *name;
    uint64_t value;
};

#define GO_NSTATS 48
#define GO_NMETRICS 16

struct go_walk {
    struct heap_ctx *c;
    struct go_layout L;
    int module;               /* the executable's module index */
    int fd;                   /* the executable's file, for read-only data; -1 if none */
    void *map;                /* that file mapped read-only (NULL: pread) */
    uint64_t map_len;
    uint64_t arena_offset;    /* arenaBaseOffset, derived (go/spans.c) */
    struct go_arena *arenas;
    size_t narenas;
    struct go_span *spans;    /* in-use and manual spans, sorted by start */
    size_t nspans;
    /* go_span_of's page directory over [spans[0].start, the last end), a
     * page_size step each: the first span ending after the step's start;
     * NULL (binary search) when the spans are too sparse for one */
    uint32_t *span_dir;
    uint64_t span_dir_lo;
    size_t span_dir_n;
    /* free page runs (no mspan: the page allocator's free pages inside
     * mheap_.pages.inUse), sorted by start, with their resident bytes */
    struct go_run {
        uint64_t start, end, resident;
    } *runs;
    size_t nruns, capruns;
    uint64_t sweepgen;
    /* walk totals */
    uint64_t objects, object_bytes, free_slots, free_slot_bytes, free_pages_bytes, unswept;
    uint64_t inuse_span_bytes, manual_span_bytes;
    /* pclntab */
    uint64_t text, ftab, pclntable, funcnametab;
    /* its pc-value tables, funcdata, file names (0 when unknown: no
     * go_fn_at, so stacks are conservative and frames have no file:line) */
    uint64_t pctab, pctab_len, gofunc, rodata, cutab, cutab_len, filetab, filetab_len;
    struct go_func *funcs;
    size_t nfuncs;
    /* goroutines and memstats */
    struct go_g *gs;
    size_t ngs;
    /* each goroutine's frames as go/stacks.c unwound them: the pcs to look
     * up (inside the CALL for a return address), innermost first;
     * goroutine i's are gpc[gpc_off[i] .. + gpc_n[i]) */
    uint64_t *gpc;
    size_t ngpc, capgpc;
    uint32_t *gpc_off, *gpc_n;
    struct go_stat stats[GO_NSTATS];
    size_t nstats;
    struct go_stat metrics[GO_NMETRICS]; /* runtime/metrics /memory/classes/... */
    size_t nmetrics;
    uint64_t types_lo, types_hi; /* the module's type descriptors (go/types.c) */
    struct go_gctype *gct;    /* the types of header-typed objects (go/ptrbits.c) */
    size_t gct_cap, gct_n;
    struct go_fin *fins;      /* objects with finalizers (go/finalizers.c) */
    size_t nfins;
    struct go_globals globals[4]; /* data, bss, noptrdata, noptrbss */
    size_t nglobals;
    int64_t status_value[8];  /* go/goroutines.c: the _G* constants, -1 if absent */
    uint64_t class_size[GO_MAX_CLASSES];
};

/* go/layout.c: fill w->L; 0, or -1 after a problem naming what is missing. */
int go_layout_load(struct go_walk *w);

/* go/buildinfo.c: a Go executable, symbols or not. */
struct go_ident {
    int module;
    const struct dbg_module_info *info;
    char version[32];         /* "go1.19.8", or "" */
};
int go_recognise(const struct heap_ctx *c, struct go_ident *id);
/* A Go program whose runtime symbols are missing: facts, and the problem
 * that names the version and says what to pass. */
void go_refuse_stripped(struct heap_ctx *c, const struct go_ident *id);

/* go/mem.c */
int go_mem_open(struct go_walk *w);
void go_mem_close(struct go_walk *w);
int go_read(const struct go_walk *w, uint64_t addr, void *buf, size_t len);
int go_u64(const struct go_walk *w, uint64_t addr, uint64_t *v);
/* A little-endian unsigned field of 1, 2, 4 or 8 bytes at addr + off. */
int go_field(const struct go_walk *w, uint64_t addr, int64_t off, unsigned size, uint64_t *v);
/* Unsigned little-endian of size bytes from a local copy. */
uint64_t go_get(const uint8_t *buf, int64_t off, unsigned size);

/* go/spans.c */
int go_spans_walk(struct go_walk *w);
/* Table go_spans: every in-use and manual span and every free page run, in
 * address order, with each span's free slots as a count and bytes (free
 * slots are not objects).  0 or -1. */
int go_spans_table(struct go_walk *w, struct heap_ctx *c);
const struct go_span *go_span_of(const struct go_walk *w, uint64_t addr);
/* go/ptrbits.c: the arena holding addr (a binary search: arenas are sorted), or NULL. */
const struct go_arena *go_arena_of(const struct go_walk *w, uint64_t addr);
/* Slot k of in-use span s as the program holds it: after the malloc
 * header if the span's objects have one. */
void go_slot_object(const struct go_walk *w, const struct go_span *s, uint64_t k, uint64_t *addr, uint64_t *size);

/* go/ptrbits.c */
/* Collect the type descriptor t (single-threaded, during the walk); 0 or
 * -1 out of memory.  go_gctype_get: it, or NULL if never collected. */
int go_gctype_add(struct go_walk *w, uint64_t t);
const struct go_gctype *go_gctype_get(const struct go_walk *w, uint64_t t);
void go_gctypes_free(struct go_walk *w);
/* Pointer words of the object at addr (size bytes, an object the walk
 * reported): bit i of mask is word i.  1 if mask is precise, 0 if the
 * caller should scan conservatively.  Thread-safe (read-only). */
int go_pointer_words(const struct go_walk *w, uint64_t addr, uint64_t size, uint64_t *mask, size_t maskwords);

/* go/offheap.c: claim the runtime's anonymous memory outside the arenas */
int go_offheap_claim(struct go_walk *w);

/* go/globals.c: the moduledata's sections and GC masks; 0 or -1 */
int go_globals_load(struct go_walk *w);
void go_globals_free(struct go_walk *w);
/* go_pointer_words for a range of globals: 1 with mask, 0 if not ours. */
int go_globals_words(const struct go_walk *w, uint64_t addr, uint64_t size, uint64_t *mask, size_t maskwords);

/* go/types.c: the name of the type whose descriptor (a runtime._type) or
 * itab is at addr, as reflect prints it ("*main.Session"); 0, or -1 if addr
 * is neither.  Thread-safe. */
int go_types_load(struct go_walk *w);
int go_type_name(const struct go_walk *w, uint64_t addr, char *buf, size_t len);
/* Interface values (a type word, then a pointer into the heap) in the
 * globals and in scan objects: the dynamic types of what they point to,
 * for the go_itypes table.  Calls emit for each. */
int go_itypes_scan(const struct go_walk *w, int (*emit)(void *u, uint64_t holder, uint64_t offset,
                                                        uint64_t target, const char *type), void *u);

/* go/finalizers.c: the finalizer specials of the in-use spans into
 * w->fins; 0, or -1 out of memory (unreadable lists are problems). */
int go_finalizers_load(struct go_walk *w);

/* go/pclntab.c */
int go_pclntab_load(struct go_walk *w);

/* A function's _func record as the unwinder and the symbolizer need it. */
struct go_fn {
    uint64_t entry, tabs;      /* tabs: pcdata[0], right after nfuncdata */
    int32_t args;
    uint32_t deferreturn, pcsp, pcfile, pcln, cuoff, npcdata, nfuncdata, flag;
    uint32_t len;              /* bytes of text, to bound pcvalue */
    char name[160];
};
/* The function holding pc; 0, or -1 if none (or the tables are unknown). */
int go_fn_at(const struct go_walk *w, uint64_t pc, struct go_fn *f);
/* symtab.go pcvalue: table off (an offset into pctab) at target; 0 with
 * *out, or -1 if the table is absent or unreadable. */
int go_pcvalue(const struct go_walk *w, const struct go_fn *f, uint32_t off, uint64_t target, int32_t *out);
/* pcdatavalue(f, table, target); -1 if absent. */
int go_pcdata(const struct go_walk *w, const struct go_fn *f, int64_t table, uint64_t target, int32_t *out);
/* funcdata(f, i): *addr, 0 if the function has none; -1 unreadable. */
int go_funcdata(const struct go_walk *w, const struct go_fn *f, int64_t i, uint64_t *addr);
/* The source frames at pc (a pc inside the CALL for a return address),
 * innermost first, inlined calls expanded as the runtime's
 * inlineUnwinder does: emit(u, function, file, line) for each, at most
 * max; returns how many, or -1 if pc is in no function. */
int go_pc_frames(const struct go_walk *w, uint64_t pc, int max,
                 void (*emit)(void *u, const char *func, const char *file, int32_t line), void *u);
/* The name of the function holding pc into buf; 0, or -1 if unknown. */
/* The ftab index of the function holding pc, or -1 (pclntab.c). */
int64_t go_func_index(const struct go_walk *w, uint64_t pc);
int go_func_name(const struct go_walk *w, uint64_t pc, char *buf, size_t len);

/* go/stacks.c: every live goroutine's stack as roots, through c->root,
 * scanned as the collector scans it: frame by frame by its stack maps,
 * conservatively only where the runtime is or the unwind fails. */
void go_stack_roots(struct go_walk *w, struct heap_ctx *c);

/* go/frames.c: table go_frames(goid, depth, pc, func, file, line), each
 * goroutine's frames innermost first, inlined calls expanded; 0 or -1. */
int go_frames_table(struct go_walk *w, struct heap_ctx *c);

/* go/goroutines.c */
int go_goroutines_load(struct go_walk *w);
const char *go_status_name(const struct go_walk *w, uint32_t status);
/* The wait reason's text ("chan receive"); "" for none. */
void go_wait_reason(const struct go_walk *w, uint8_t reason, char *buf, size_t len);

/* go/memstats.c */
int go_memstats_compute(struct go_walk *w);

/* advice.c: what `heapsnap rss` says of this allocator (heap/advice.h) */
extern const struct heap_advisor go_advisor;

#endif
