/*
 * unwind.c — each thread's call stack, recovered from its registers and the
 * call frame information (.eh_frame, else .debug_frame) of the module that
 * holds each pc, so that the typing pass can find each frame's local
 * variables (dwtypes.c) and type what they point at (infer.c: dwarf-local);
 * and the frames a runtime's walker unwound itself (Go's goroutines, which
 * run on stacks no thread's registers lead to), from their stack roots.
 *
 * Only what locals need is tracked: pc, rsp, rbp and each frame's CFA.  A
 * frame whose CFA rule is not "register rsp or rbp plus offset" (an
 * expression: PLT stubs, signal trampolines), whose return address cannot
 * be read, or whose CFA does not grow ends the walk, as does a pc outside
 * every module's CFI.  At most TY_MAX_FRAMES frames per thread: the stack
 * is the snapshot's, and hostile.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dwarf.h>
#include <libdwarf.h>

#include "model/roots.h"
#include "types/types.h"

#define REG_RBP 6
#define REG_RSP 7
#define REG_RA  16   /* x86-64 psABI: the return address column */

struct cfi {
    int tried, ok;
    Dwarf_Debug dbg; /* the module's (dbg_module_cfi): not ours to finish */
    Dwarf_Cie *cies;
    Dwarf_Fde *fdes;
    Dwarf_Signed ncies, nfdes;
};

static void drop(Dwarf_Debug dbg, Dwarf_Error *e)
{
    if (*e) {
        dwarf_dealloc_error(dbg, *e);
        *e = NULL;
    }
}

/* Module m's CFI, read on first use: .eh_frame of the binary itself (a
 * separate debug file has no .eh_frame), else its .debug_frame.  The lists
 * belong to the module's handle, which libdwarf frees them with. */
static struct cfi *cfi_of(struct cfi *c, struct dbg *d, size_t m)
{
    if (c->tried)
        return c->ok ? c : NULL;
    c->tried = 1;
    if (!(c->dbg = dbg_module_cfi(d, m)))
        return NULL;
    Dwarf_Error e = NULL;
    if (dwarf_get_fde_list_eh(c->dbg, &c->cies, &c->ncies, &c->fdes, &c->nfdes, &e) != DW_DLV_OK) {
        drop(c->dbg, &e);
        if (dwarf_get_fde_list(c->dbg, &c->cies, &c->ncies, &c->fdes, &c->nfdes, &e) != DW_DLV_OK) {
            drop(c->dbg, &e);
            c->cies = NULL;
            c->fdes = NULL;
            return NULL;
        }
    }
    c->ok = 1;
    return c;
}

/* The module whose lowest mapped address is the greatest not above pc;
 * its CFI decides whether pc really is its code. */
static int module_at(struct dbg *d, uint64_t pc)
{
    int best = -1;
    uint64_t lo = 0;
    for (size_t m = 0; m < dbg_nmodules(d); m++) {
        const struct hs_module *hm = dbg_module(d, m)->module;
        if (hm->lowest <= pc && (best < 0 || hm->lowest >= lo)) {
            best = (int)m;
            lo = hm->lowest;
        }
    }
    return best;
}

/* Where a register is saved in this row: 1 and *off (at CFA + off), 0 if it
 * keeps its value (or the rule is unknown to us), -1 if undefined. */
static int saved_at(Dwarf_Fde fde, Dwarf_Half col, Dwarf_Addr pc, int64_t *off)
{
    Dwarf_Small vt = 0;
    Dwarf_Signed rel = 0, reg = 0, o = 0;
    Dwarf_Ptr blk = NULL;
    Dwarf_Addr row = 0, next = 0;
    Dwarf_Bool more = 0;
    Dwarf_Error e = NULL;
    if (dwarf_get_fde_info_for_reg3_b(fde, col, pc, &vt, &rel, &reg, &o, &blk, &row, &more, &next,
                                      &e) != DW_DLV_OK) {
        e = NULL; /* errors here belong to the fde's dbg; they are freed with it */
        return -1;
    }
    if (reg == DW_FRAME_UNDEFINED_VAL)
        return -1;
    if (vt == DW_EXPR_OFFSET && rel && reg == DW_FRAME_CFA_COL3) {
        *off = o;
        return 1;
    }
    return 0;
}

static int add_frame(struct tytab *t, const struct ty_frame *f)
{
    if (t->nframes == t->capframes) {
        size_t nc = t->capframes ? t->capframes * 2 : 64;
        struct ty_frame *p = realloc(t->frames, nc * sizeof *p);
        if (!p)
            return -1;
        t->frames = p;
        t->capframes = nc;
    }
    t->frames[t->nframes++] = *f;
    return 0;
}

int ty_unwind(struct tytab *t, const struct hs_snapshot *s, struct dbg *d)
{
    size_t nth, nm = d ? dbg_nmodules(d) : 0;
    const struct hs_thread *th = hs_get_threads(s, &nth);
    if (!th || !nm)
        return 0;
    struct cfi *cf = calloc(nm, sizeof *cf);
    if (!cf)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < nth && !rc; i++) {
        uint64_t pc = th[i].regs[HS_RIP], sp = th[i].regs[HS_RSP], bp = th[i].regs[HS_RBP];
        for (uint32_t k = 0; k < TY_MAX_FRAMES && pc; k++) {
            /* a caller's pc is a return address: the call is the byte before */
            uint64_t look = k ? pc - 1 : pc;
            int m = module_at(d, look);
            if (m < 0)
                break;
            const struct dbg_module_info *mi = dbg_module(d, (size_t)m);
            struct cfi *c = cfi_of(&cf[m], d, (size_t)m);
            if (!c)
                break;
            Dwarf_Addr vpc = look - mi->module->base, lo, hi;
            Dwarf_Fde fde = NULL;
            Dwarf_Error e = NULL;
            if (dwarf_get_fde_at_pc(c->fdes, vpc, &fde, &lo, &hi, &e) != DW_DLV_OK) {
                drop(c->dbg, &e);
                break;
            }
            Dwarf_Small vt = 0;
            Dwarf_Signed rel = 0, reg = 0, off = 0;
            Dwarf_Ptr blk = NULL;
            Dwarf_Addr row = 0, next = 0;
            Dwarf_Bool more = 0;
            if (dwarf_get_fde_info_for_cfa_reg3_b(fde, vpc, &vt, &rel, &reg, &off, &blk, &row, &more,
                                                  &next, &e) != DW_DLV_OK) {
                drop(c->dbg, &e);
                break;
            }
            if (vt != DW_EXPR_OFFSET || (reg != REG_RSP && reg != REG_RBP))
                break;
            uint64_t cfa = (reg == REG_RSP ? sp : bp) + (uint64_t)off;
            if (cfa <= sp && k)
                break; /* the stack grows down: a caller's CFA is above */
            struct ty_frame f = {.thread = th[i].tid, .index = k, .module = m, .pc = look, .cfa = cfa,
                                .sp = sp, .bp = bp};
            if (add_frame(t, &f)) {
                rc = -1;
                break;
            }
            int64_t ra_off, bp_off;
            uint64_t ra, nbp = bp;
            if (saved_at(fde, REG_RA, vpc, &ra_off) != 1 || hs_read_u64(s, cfa + (uint64_t)ra_off, &ra))
                break;
            int r = saved_at(fde, REG_RBP, vpc, &bp_off);
            if (r == 1 && hs_read_u64(s, cfa + (uint64_t)bp_off, &nbp))
                break;
            if (cfa <= sp)
                break;
            pc = ra;
            sp = cfa;
            bp = nbp;
        }
    }
    free(cf);
    return rc;
}

int ty_root_frames(struct tytab *t, struct dbg *d, const struct rootset *rs)
{
    if (!d || !rs)
        return 0;
    uint32_t next = 0; /* frame numbers of thread 0 (goroutines that no thread runs) */
    for (size_t i = 0; i < rs->n; i++) {
        const struct root *r = &rs->v[i];
        if (r->kind != ROOT_STACK || !r->frame_pc || !r->frame_cfa)
            continue;
        int m = module_at(d, r->frame_pc), dup = 0;
        if (m < 0)
            continue;
        for (size_t k = 0; k < t->nframes && r->thread && !dup; k++) /* its thread's CFI found it too */
            dup = t->frames[k].thread == r->thread && t->frames[k].cfa == r->frame_cfa;
        if (dup)
            continue;
        uint32_t index = next++;
        if (r->thread) { /* after the thread's own frames */
            index = 0;
            for (size_t k = 0; k < t->nframes; k++)
                if (t->frames[k].thread == r->thread && t->frames[k].index >= index)
                    index = t->frames[k].index + 1;
        }
        struct ty_frame f = {.thread = r->thread, .index = index, .module = m, .pc = r->frame_pc,
                             .cfa = r->frame_cfa, .sp = r->addr};
        if (add_frame(t, &f))
            return -1;
    }
    return 0;
}
