/*
 * go/stacks.c — goroutine stacks as the Go collector scans them: frame by
 * frame, by the stack maps the compiler left in the pclntab, so that a
 * stale pointer in a dead slot keeps nothing alive (runtime/mgcmark.go
 * scanstack and scanframeworker; traceback.go's unwinder; stkframe.go
 * getStackMap; symtab.go pcvalue, pcdatavalue and funcdata).
 *
 * The unwind, for each goroutine that is not dead, from where the runtime
 * stopped it (go/goroutines.c: g.sched, or g.syscallsp/pc):
 *   - the frame of the function holding pc spans [sp, fp): fp is sp plus
 *     the function's SP delta at pc (its pcsp table) plus the return
 *     address the CALL pushed; the caller's pc is that return address, at
 *     fp - 8, and the caller's sp is fp;
 *   - varp, the top of the locals, is fp - 8, less the saved frame pointer
 *     below the return address when the frame has one (linux/amd64 always
 *     keeps frame pointers); argp, the arguments, is fp;
 *   - the stack-map index is PCDATA_StackMapIndex at pc - 1 (the CALL that
 *     pc returns to), or 0 at the function's entry; the locals' bitmap
 *     (FUNCDATA_LocalsPointerMaps) covers the words just below varp, the
 *     arguments' (FUNCDATA_ArgsPointerMaps) the words from argp; a stack
 *     map is {int32 n, int32 nbit, then n bitmaps of nbit bits};
 *   - the walk ends at a function flagged TOPFRAME (goexit), or at the
 *     stack's top.
 * Address-taken locals (FUNCDATA_StackObjects: {uintptr n, then n records
 * of off, size, ptrdata, gcdata offset from moduledata.rodata}) are scanned
 * by their type's pointer mask once something reaches them, as the runtime
 * does: a marked word of the stack pointing into one, another reached
 * object, or the goroutine's defer and panic records.  A dead iterator or
 * buffer nothing points to any more keeps nothing alive.
 *
 * Conservative only where the runtime is, or where the unwind cannot go on:
 *   - asyncPreempt's and debugCallV2's frames (they hold the registers of the
 *     frame they interrupted) and the frame they interrupted, locals and
 *     arguments; a goroutine that a thread was running, or a signal caught,
 *     is in the same state: its innermost frame stopped anywhere;
 *   - from any frame that cannot be unwound or has no stack map (no
 *     function at pc, no pcsp, an SPWRITE function above the innermost, a
 *     map out of range, an unreadable word) to the top of the stack: a root
 *     dropped would make what it holds look like garbage, so the rest of
 *     that stack is scanned whole, and a fact counts such stacks.
 * A frame that sigpanic interrupted continues at its deferreturn, or is
 * dead (continpc 0: no pointers), as the runtime says.
 *
 * Roots: one per frame, named "goroutine 19 (main.handler)" after the
 * frame's function, [its start, the end of its arguments) with the mask of
 * its pointer words (heap_root.mask; none set for a frame that holds no
 * pointer, which is kept so that `roots` shows the whole stack), and its pc
 * and CFA for the typing pass to find its locals in the DWARF; the
 * arguments the caller passed belong to the callee's root, so the roots of
 * one stack never overlap.  A conservative rest is one root with no mask.
 *
 * Every table is read through go_read (the pclntab is often only in the
 * executable's file), every offset and count is bounded, and the walk of a
 * stack makes at most one step per word of it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap/go/internal.h"

#define MAX_NBIT       (1u << 20)   /* words in one stack map: an 8 MiB frame */
#define MAX_NMAPS      (1u << 16)   /* stack maps of one function */
#define MAX_STACKOBJS  (1u << 12)   /* stack objects of one function */

enum fn_kind { FN_PLAIN = 0, FN_INJECTED, FN_SIGPANIC };

/* A function as the unwinder needs it (go/pclntab.c), and how the
 * collector treats it. */
struct fn {
    struct go_fn f;
    uint8_t kind;              /* enum fn_kind */
};

/* A stack object of a frame walked: [addr, addr + 8 words), its pointer
 * words (bits, LSB first; NULL: every word, a type with a GC program). */
struct sobj {
    uint64_t addr, words;
    uint8_t *bits;
    uint8_t scanned;
};

/* A frame's root, kept until the stack objects are resolved. */
struct froot {
    uint64_t lo, hi;
    uint64_t pc, cfa;          /* heap_root.frame_pc, frame_cfa */
    char name[160];
};

struct stk {
    struct go_walk *w;
    struct heap_ctx *c;
    /* the goroutine being scanned: bit i of mask for the word at base + 8 i */
    uint64_t base, hi;
    uint64_t *mask;
    size_t maskcap;
    struct sobj *objs;
    size_t nobjs, objcap;
    struct froot *fr;
    size_t nfr, frcap;
    /* totals, for the facts */
    uint64_t frames, frames_cons, stacks_cons, stacks_cons_bytes;
    unsigned reported;
};

static int fn_at(const struct go_walk *w, uint64_t pc, struct fn *f)
{
    if (go_fn_at(w, pc, &f->f))
        return -1;
    /* the frames the runtime scans conservatively, and the one that makes
     * its caller's continuation its deferreturn (mgcmark.go, traceback.go) */
    f->kind = FN_PLAIN;
    if (!strcmp(f->f.name, "runtime.asyncPreempt") || !strcmp(f->f.name, "runtime.debugCallV2"))
        f->kind = FN_INJECTED;
    else if (!strcmp(f->f.name, "runtime.sigpanic"))
        f->kind = FN_SIGPANIC;
    return 0;
}

/* Mark the n words from a: every one (bits NULL) or those whose bit is set
 * in bits (LSB first).  -1 if they leave the stack. */
static int mark(struct stk *k, uint64_t a, uint64_t n, const uint8_t *bits)
{
    if (a % 8 || a < k->base || a > k->hi || n > (k->hi - a) / 8)
        return -1;
    uint64_t w0 = (a - k->base) / 8;
    for (uint64_t i = 0; i < n; i++)
        if (!bits || (bits[i / 8] >> (i % 8) & 1))
            k->mask[(w0 + i) / 64] |= 1ull << ((w0 + i) % 64);
    return 0;
}

/* Stack map 'map' (a runtime.stackmap) entry idx: mark its nbit words from
 * a.  0 when the map says so; -1 when it cannot be read or idx is outside. */
static int mark_map(struct stk *k, uint64_t map, int32_t idx, uint64_t a, int args)
{
    uint64_t n, nbit;
    if (!map || go_field(k->w, map, 0, 4, &n) || go_field(k->w, map, 4, 4, &nbit) || (int32_t)n <= 0 ||
        n > MAX_NMAPS || nbit > MAX_NBIT)
        return -1;
    if (nbit == 0)
        return 0;
    if (idx < 0 || (uint64_t)idx >= n)
        return -1;
    uint64_t bytes = (nbit + 7) / 8;
    uint8_t *b = malloc(bytes);
    int rc = -1;
    if (b && !go_read(k->w, map + 8 + (uint64_t)idx * bytes, b, bytes))
        /* arguments start at a (argp); locals end at a (varp) */
        rc = args ? mark(k, a, nbit, b) : mark(k, a - nbit * 8, nbit, b);
    free(b);
    return rc;
}

static int add_object(struct stk *k, uint64_t addr, uint64_t words, uint8_t *bits)
{
    if (addr % 8 || addr < k->base || addr > k->hi || words > (k->hi - addr) / 8 || k->nobjs >= (1u << 20)) {
        free(bits);
        return -1;
    }
    if (k->nobjs == k->objcap) {
        size_t cap = k->objcap ? 2 * k->objcap : 16;
        struct sobj *v = realloc(k->objs, cap * sizeof *v);
        if (!v) {
            free(bits);
            return -1;
        }
        k->objs = v;
        k->objcap = cap;
    }
    k->objs[k->nobjs++] = (struct sobj){.addr = addr, .words = words, .bits = bits};
    return 0;
}

/* The frame's stack objects, each with its type's pointer mask (1.19: a
 * negative ptrdata says the type has a GC program: every word of it); they
 * are scanned once a pointer to them is found (resolve_objects). */
static int mark_objects(struct stk *k, const struct fn *f, uint64_t sp, uint64_t varp, uint64_t argp)
{
    const struct go_layout *L = &k->w->L;
    uint64_t p, n;
    if (go_funcdata(k->w, &f->f, L->funcdata_stackobjs, &p))
        return -1;
    if (!p)
        return 0;
    if (!L->so_bytes || L->so_bytes > 64 || go_u64(k->w, p, &n) || n > MAX_STACKOBJS)
        return -1;
    for (uint64_t i = 0; i < n; i++) {
        uint8_t r[64];
        uint64_t ra = p + 8 + i * L->so_bytes;
        if (go_read(k->w, ra, r, L->so_bytes))
            return -1;
        int32_t off = (int32_t)go_get(r, L->so_off, 4), size = (int32_t)go_get(r, L->so_size, 4);
        int32_t ptrdata = (int32_t)go_get(r, L->so_ptrdata, 4);
        uint32_t gcoff = (uint32_t)go_get(r, L->so_gcdataoff, 4);
        uint64_t at = (off >= 0 ? argp : varp) + (uint64_t)(int64_t)off;
        if (at < sp)
            continue; /* not allocated in the frame yet */
        if (size < 0)
            return -1;
        if (ptrdata < 0) {
            if (add_object(k, at, (uint64_t)size / 8, NULL))
                return -1;
            continue;
        }
        uint64_t words = (uint64_t)ptrdata / 8, bytes = (words + 7) / 8;
        if (!words)
            continue;
        if (ptrdata > size || words > MAX_NBIT)
            return -1;
        uint8_t *b = malloc(bytes);
        if (!b || go_read(k->w, k->w->rodata + gcoff, b, bytes)) {
            free(b);
            return -1;
        }
        if (add_object(k, at, words, b))
            return -1;
    }
    return 0;
}

/* getStackMap and scanframeworker's precise case; -1: no usable map. */
static int frame_precise(struct stk *k, const struct fn *f, uint64_t sp, uint64_t varp, uint64_t argp,
                         uint64_t continpc)
{
    const struct go_layout *L = &k->w->L;
    if (!continpc)
        return 0; /* dead: sigpanic ended it and it has no deferreturn */
    int32_t idx = -1;
    if (continpc != f->f.entry && go_pcdata(k->w, &f->f, L->pcdata_stackmap, continpc - 1, &idx))
        idx = -1;
    if (idx == -1)
        idx = 0; /* the prologue: the runtime assumes the entry's map */
    uint64_t map;
    if (varp > sp && (go_funcdata(k->w, &f->f, L->funcdata_locals, &map) || mark_map(k, map, idx, varp, 0)))
        return -1;
    if (f->f.args == (int32_t)L->args_unknown)
        return -1; /* reflect's stubs: their maps come from reflect, not the pclntab */
    if (f->f.args >= 8 &&
        (go_funcdata(k->w, &f->f, L->funcdata_args, &map) || mark_map(k, map, idx, argp, 1)))
        return -1;
    return mark_objects(k, f, sp, varp, argp);
}

static void emit(struct stk *k, const struct go_g *g, uint64_t lo, uint64_t hi, const char *fn, int masked,
                 uint64_t pc, uint64_t cfa)
{
    char name[224];
    if (lo >= hi)
        return;
    snprintf(name, sizeof name, "goroutine %llu (%s)", (unsigned long long)g->goid, fn);
    struct heap_root r = {.addr = lo, .size = hi - lo, .name = name, .thread = g->thread, .frame_pc = pc,
                          .frame_cfa = cfa};
    if (!masked) {
        k->c->root(k->c, &r);
        return;
    }
    /* the frame's bits, shifted to start at lo */
    size_t nw = (size_t)((hi - lo) / 8 + 63) / 64;
    uint64_t *m = calloc(nw ? nw : 1, sizeof *m);
    if (!m) {
        r.mask = NULL; /* out of memory: scanned whole, never dropped */
        k->c->root(k->c, &r);
        return;
    }
    uint64_t w0 = (lo - k->base) / 8;
    for (uint64_t i = 0; i < (hi - lo) / 8; i++)
        if (k->mask[(w0 + i) / 64] >> ((w0 + i) % 64) & 1)
            m[i / 64] |= 1ull << (i % 64);
    r.mask = m; /* all zero for a frame that holds no pointer: a root that reads nothing */
    k->c->root(k->c, &r);
    free(m);
}

static int add_frame(struct stk *k, uint64_t lo, uint64_t hi, const char *name, uint64_t pc, uint64_t cfa)
{
    if (lo >= hi)
        return 0;
    if (k->nfr == k->frcap) {
        size_t cap = k->frcap ? 2 * k->frcap : 32;
        struct froot *v = realloc(k->fr, cap * sizeof *v);
        if (!v)
            return -1;
        k->fr = v;
        k->frcap = cap;
    }
    struct froot *f = &k->fr[k->nfr++];
    f->lo = lo;
    f->hi = hi;
    f->pc = pc;
    f->cfa = cfa;
    snprintf(f->name, sizeof f->name, "%s", name);
    return 0;
}

/* Out of memory for the work list: every object counts as reached, so
 * that none is dropped. */
static void reach_all(struct stk *k)
{
    for (size_t m = 0; m < k->nobjs; m++)
        if (!k->objs[m].scanned) {
            k->objs[m].scanned = 1;
            mark(k, k->objs[m].addr, k->objs[m].words, k->objs[m].bits);
        }
}

/* A word of the stack pointing into a stack object not yet scanned: scan
 * it (mark its pointer words) and follow what they point to in turn.  The
 * work list is bounded: each object is scanned once, and each scan adds at
 * most its own words. */
static void reach_object(struct stk *k, uint64_t v)
{
    uint64_t *todo = malloc(64 * sizeof *todo);
    size_t n = 0, cap = 64;
    if (!todo) {
        reach_all(k);
        return;
    }
    todo[n++] = v;
    while (n) {
        v = todo[--n];
        if (v < k->base || v >= k->hi)
            continue;
        for (size_t i = 0; i < k->nobjs; i++) {
            struct sobj *o = &k->objs[i];
            if (o->scanned || v < o->addr || v - o->addr >= o->words * 8)
                continue;
            o->scanned = 1;
            mark(k, o->addr, o->words, o->bits); /* add_object checked the bounds */
            for (uint64_t j = 0; j < o->words; j++) {
                uint64_t x;
                if ((o->bits && !(o->bits[j / 8] >> (j % 8) & 1)) || go_u64(k->w, o->addr + 8 * j, &x) ||
                    x < k->base || x >= k->hi)
                    continue;
                if (n == cap) {
                    uint64_t *t = realloc(todo, 2 * cap * sizeof *t);
                    if (!t) {
                        free(todo);
                        reach_all(k);
                        return;
                    }
                    todo = t;
                    cap *= 2;
                }
                todo[n++] = x;
            }
        }
    }
    free(todo);
}

/* mgcmark.go scanstack: stack objects are scanned only when something
 * reaches them — a word the frames' maps (or a conservative scan) mark that
 * points into one, another such object, or the goroutine's defer and panic
 * records (g._defer, g._panic), which may live on its stack. */
static void resolve_objects(struct stk *k, const struct go_g *g)
{
    if (!k->nobjs)
        return;
    size_t nw = (size_t)((k->hi - k->base) / 8);
    for (size_t i = 0; i < nw; i++) {
        uint64_t x;
        if (k->mask[i / 64] >> (i % 64) & 1 && !go_u64(k->w, k->base + 8 * i, &x) && x >= k->base && x < k->hi)
            reach_object(k, x);
    }
    reach_object(k, g->defer_rec);
    reach_object(k, g->panic_rec);
}

static void objects_free(struct stk *k)
{
    for (size_t i = 0; i < k->nobjs; i++)
        free(k->objs[i].bits);
    k->nobjs = 0;
}

/* Keep the frame's pc for goroutine gi's stack (go_walk.gpc). */
static void keep_pc(struct stk *k, size_t gi, uint64_t pc)
{
    struct go_walk *w = k->w;
    if (!w->gpc_off || w->ngpc >= (1u << 26))
        return;
    if (w->ngpc == w->capgpc) {
        size_t cap = w->capgpc ? 2 * w->capgpc : 1024;
        uint64_t *v = realloc(w->gpc, cap * sizeof *v);
        if (!v)
            return;
        w->gpc = v;
        w->capgpc = cap;
    }
    if (!w->gpc_n[gi])
        w->gpc_off[gi] = (uint32_t)w->ngpc;
    w->gpc[w->ngpc++] = pc;
    w->gpc_n[gi]++;
}

/* One goroutine (gs[gi]): its frames' roots through c->root. */
static void stack_roots(struct stk *k, const struct go_g *g, size_t gi)
{
    const struct go_layout *L = &k->w->L;
    char startfn[160] = "?";
    go_func_name(k->w, g->startpc, startfn, sizeof startfn);
    k->base = g->sp;
    k->hi = g->stack_hi;
    k->nfr = 0;
    size_t need = (size_t)((k->hi - k->base) / 8 + 63) / 64;
    if (need > k->maskcap) {
        uint64_t *m = realloc(k->mask, need * sizeof *m);
        if (!m) {
            emit(k, g, g->sp, g->stack_hi, startfn, 0, 0, 0);
            return;
        }
        k->mask = m;
        k->maskcap = need;
    }
    memset(k->mask, 0, need * sizeof *k->mask);

    uint64_t sp = g->sp, pc = g->pc, start = g->sp;
    int conservative = !g->saved, innermost = 1, callee_sigpanic = 0, done = 0;
    const char *why = NULL;
    struct fn f;
    for (uint64_t n = 0; !done; n++) {
        if (n > (k->hi - k->base) / 8 || sp % 8) {
            why = "does not end";
            break;
        }
        if (fn_at(k->w, pc, &f)) {
            why = "has a pc in no function";
            break;
        }
        int32_t delta;
        if (!f.f.pcsp || go_pcvalue(k->w, &f.f, f.f.pcsp, pc, &delta) || delta < 0 || delta % 8) {
            why = "has a frame of no known size";
            break;
        }
        uint64_t fp = sp + (uint64_t)delta + 8, lr = 0;
        int top = (f.f.flag & (uint32_t)L->flag_topframe) != 0;
        if (fp > k->hi) {
            why = "has a frame above the stack";
            break;
        }
        if (!top && (f.f.flag & (uint32_t)L->flag_spwrite) && !innermost) {
            why = "has a function that writes SP";
            break;
        }
        if (!top && go_u64(k->w, fp - 8, &lr)) {
            why = "has an unreadable return address";
            break;
        }
        uint64_t varp = fp - 8, argp = fp;
        if (varp > sp)
            varp -= 8; /* the saved frame pointer */
        uint64_t continpc = pc;
        if (callee_sigpanic)
            continpc = f.f.deferreturn ? f.f.entry + f.f.deferreturn + 1 : 0;
        uint64_t argbytes = f.f.args > 0 ? (uint64_t)f.f.args : 0, end = argp + argbytes;
        if (end > k->hi)
            end = k->hi;
        if (conservative || f.kind == FN_INJECTED) {
            /* the whole frame below varp and its arguments */
            if (mark(k, sp, (varp - sp) / 8, NULL) || mark(k, argp, (end - argp) / 8, NULL)) {
                why = "has a frame outside it";
                break;
            }
            conservative = f.kind == FN_INJECTED;
            k->frames_cons++;
        } else if (frame_precise(k, &f, sp, varp, argp, continpc)) {
            why = "has a frame with no stack map";
            break;
        } else {
            k->frames++;
        }
        /* the frame's root: from where the callee's arguments ended to
         * the end of its own */
        /* DWARF's locations hold inside the CALL the frame returns to;
         * Go's CFA is the frame's fp */
        uint64_t look = pc > f.f.entry && (g->saved || !innermost) ? pc - 1 : pc;
        keep_pc(k, gi, look);
        if (add_frame(k, start, end, f.f.name, look, fp)) {
            why = "could not be kept (out of memory)";
            break;
        }
        start = end;
        done = top || !lr || fp >= k->hi; /* the stack's top */
        callee_sigpanic = f.kind == FN_SIGPANIC;
        innermost = 0;
        pc = lr;
        sp = fp;
        if (start < sp)
            start = sp;
    }
    if (why) {
        /* what the unwind could not explain: all of it, as a conservative
         * scan would, from the end of the last frame understood */
        mark(k, start, (k->hi - start) / 8, NULL);
        k->stacks_cons++;
        k->stacks_cons_bytes += k->hi - start;
        if (k->reported++ < 8)
            k->c->problem(k->c, g->addr, "go: goroutine %llu's stack %s at pc 0x%llx (sp 0x%llx): scanned "
                          "conservatively from 0x%llx", (unsigned long long)g->goid, why, (unsigned long long)pc,
                          (unsigned long long)sp, (unsigned long long)start);
    }
    resolve_objects(k, g);
    for (size_t i = 0; i < k->nfr; i++)
        emit(k, g, k->fr[i].lo, k->fr[i].hi, k->fr[i].name, 1, k->fr[i].pc, k->fr[i].cfa);
    if (why)
        emit(k, g, start, k->hi, startfn, 0, 0, 0);
    objects_free(k);
}

static void fact(struct heap_ctx *c, const char *key, uint64_t v)
{
    char b[32];
    snprintf(b, sizeof b, "%llu", (unsigned long long)v);
    c->fact(c, key, b);
}

void go_stack_roots(struct go_walk *w, struct heap_ctx *c)
{
    const struct go_layout *L = &w->L;
    struct stk k = {.w = w, .c = c};
    const char *missing = NULL;
    if (!w->nfuncs)
        missing = "the pclntab";
    else if (L->f_args < 0 || L->f_deferreturn < 0 || L->f_pcsp < 0 || L->f_npcdata < 0 || L->f_flag < 0 ||
             L->f_nfuncdata < 0 || L->f_nfuncdata + 1 > GO_MAX_FUNC_HDR || L->f_args + 4 > L->f_nfuncdata ||
             L->f_deferreturn + 4 > L->f_nfuncdata || L->f_pcsp + 4 > L->f_nfuncdata ||
             L->f_npcdata + 4 > L->f_nfuncdata || L->f_flag >= L->f_nfuncdata)
        missing = "runtime._func's args, deferreturn, pcsp, npcdata, flag or nfuncdata";
    else if (L->md_pctab < 0 || L->md_gofunc < 0 || L->md_rodata < 0)
        missing = "runtime.moduledata's pctab, gofunc or rodata";
    else if (L->pcdata_stackmap < 0 || L->funcdata_locals < 0 || L->funcdata_args < 0 ||
             L->funcdata_stackobjs < 0 || L->args_unknown == -1 || L->flag_topframe <= 0 || L->flag_spwrite <= 0)
        missing = "the PCDATA/FUNCDATA indices, ArgsSizeUnknown or the TOPFRAME/SPWRITE flags";
    else if (!L->so_bytes || L->so_off < 0 || L->so_size < 0 || L->so_ptrdata < 0 || L->so_gcdataoff < 0)
        missing = "runtime.stackObjectRecord";
    else if (L->g_defer < 0 || L->g_panic < 0)
        missing = "runtime.g's _defer and _panic";
    else if (!w->pctab_len)
        missing = "the module data's pctab, gofunc and rodata (not captured)";
    if (missing)
        c->problem(c, 0, "go: %s could not be read: goroutine stacks are scanned conservatively", missing);
    c->fact(c, "go.stacks", missing ? "conservative" : "precise");
    if (w->ngs && !w->gpc_off) {
        w->gpc_off = calloc(w->ngs, sizeof *w->gpc_off);
        w->gpc_n = calloc(w->ngs, sizeof *w->gpc_n);
        if (!w->gpc_off || !w->gpc_n) {
            free(w->gpc_off);
            free(w->gpc_n);
            w->gpc_off = w->gpc_n = NULL; /* no frames for the goroutines table: they are only listed */
        }
    }
    for (size_t i = 0; i < w->ngs; i++) {
        const struct go_g *g = &w->gs[i];
        if (g->status == (uint32_t)L->g_dead || g->sp < g->stack_lo || g->sp >= g->stack_hi)
            continue;
        if (missing) {
            char fn[160] = "?";
            go_func_name(w, g->startpc, fn, sizeof fn);
            emit(&k, g, g->sp, g->stack_hi, fn, 0, 0, 0);
            continue;
        }
        stack_roots(&k, g, i);
    }
    free(k.mask);
    free(k.objs);
    free(k.fr);
    fact(c, "go.stack_frames_precise", k.frames);
    fact(c, "go.stack_frames_conservative", k.frames_cons);
    fact(c, "go.stacks_conservative", k.stacks_cons);
    fact(c, "go.stacks_conservative_bytes", k.stacks_cons_bytes);
}
