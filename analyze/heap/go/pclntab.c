/*
 * go/pclntab.c — function names for program counters, from the Go
 * runtime's own symbol table (the pclntab), as runtime.FuncForPC finds
 * them; goroutines are described by the functions they run and were
 * started from.
 *
 * Layout (Go 1.18 and later; symtab.go): runtime.firstmoduledata holds
 * slices into the pclntab: ftab, a sorted array of {entryoff, funcoff}
 * (uint32 each: the function's entry as an offset from moduledata.text,
 * and its _func record as an offset into pclntable), with one more entry
 * than there are functions marking the end of the text; and funcnametab,
 * NUL-terminated names that _func.nameoff indexes.  pcHeader.magic says
 * which layout this is (0xfffffff0 for 1.18 and 1.19, 0xfffffff1 for 1.20,
 * which kept these tables, through 1.27; 1.26 dropped pcHeader.textStart).  The pclntab is read-only data: it comes from
 * the executable's file when the capture did not include it (go/mem.c).
 * Every offset is checked by the read that follows it; names are cut at
 * the caller's buffer.
 *
 * The rest of a function's record, for the stack unwinder (go/stacks.c)
 * and file:line (go_pc_frames): _func's args, deferreturn, pcsp, pcfile,
 * pcln, cuOffset, npcdata, flag and nfuncdata, then npcdata uint32 offsets
 * into moduledata.pctab and nfuncdata uint32 offsets from
 * moduledata.gofunc (^0: none).  A pc-value table is a run of (value
 * delta, pc delta) varint pairs from the function's entry, the value
 * zig-zag coded and starting at -1, ending at a zero byte.  A file is
 * filetab[cutab[cuOffset + pcfile value]]; inlined calls are
 * FUNCDATA_InlTree entries (runtime.inlinedCall: the callee's name offset
 * and the pc in the caller it was inlined at), which PCDATA_InlTreeIndex
 * names at each pc (-1: the function's own code).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap/go/internal.h"

int go_pclntab_load(struct go_walk *w)
{
    const struct go_layout *L = &w->L;
    uint64_t md = L->firstmoduledata, ph, n;
    uint64_t magic = 0, nfunc = 0;
    if (go_u64(w, md + (uint64_t)L->md_pcheader, &ph) || go_field(w, ph, L->ph_magic, 4, &magic) ||
        go_field(w, ph, L->ph_nfunc, 8, &nfunc))
        return -1;
    uint64_t textstart = 0, nameoff = 0, plnoff = 0;
    if (go_u64(w, md + (uint64_t)L->md_ftab, &w->ftab) || go_u64(w, md + (uint64_t)L->md_ftab_len, &n) ||
        go_u64(w, md + (uint64_t)L->md_pclntable, &w->pclntable) ||
        go_u64(w, md + (uint64_t)L->md_funcnametab, &w->funcnametab) ||
        go_u64(w, md + (uint64_t)L->md_text, &w->text) || go_field(w, ph, L->ph_funcnameoff, 8, &nameoff) ||
        go_field(w, ph, L->ph_pclnoff, 8, &plnoff))
        return -1;
    /* textStart is gone since Go 1.26: without it, the text start agrees */
    if (L->ph_textstart < 0)
        textstart = w->text;
    else if (go_field(w, ph, L->ph_textstart, 8, &textstart))
        return -1;
    /* The pclntab usually comes from the file (go/mem.c), and a Go binary
     * has no GNU build-id to match it by: the header must agree with the
     * moduledata the snapshot holds (its text start, and where its name and
     * function tables begin), or the file is another build. */
    if ((magic != 0xfffffff0 && magic != 0xfffffff1) || textstart != w->text || ph + nameoff != w->funcnametab ||
        ph + plnoff != w->pclntable) {
        w->c->problem(w->c, ph, "go: the pclntab (magic 0x%llx, text 0x%llx) does not match the process's "
                      "moduledata (text 0x%llx): the executable on disk is another build; function names and "
                      "wait reasons are not read from it", (unsigned long long)magic,
                      (unsigned long long)textstart, (unsigned long long)w->text);
        go_mem_close(w);
        return -1;
    }
    if (n < 2 || n > GO_MAX_FUNCS || n != nfunc + 1) {
        w->c->problem(w->c, w->ftab, "go: ftab has %llu entries for %llu functions", (unsigned long long)n,
                      (unsigned long long)nfunc);
        return -1;
    }
    if (!(w->funcs = malloc(n * sizeof *w->funcs)))
        return -1;
    if (go_read(w, w->ftab, w->funcs, n * sizeof *w->funcs)) {
        free(w->funcs);
        w->funcs = NULL;
        return -1;
    }
    for (size_t i = 1; i < n; i++)
        if (w->funcs[i].entryoff < w->funcs[i - 1].entryoff) {
            w->c->problem(w->c, w->ftab, "go: ftab is not sorted at entry %zu", i);
            free(w->funcs);
            w->funcs = NULL;
            return -1;
        }
    w->nfuncs = n;
    /* the pc-value tables, funcdata and file names: optional (their
     * absence leaves the stacks conservative and frames without lines) */
    const struct go_layout *Lq = &w->L;
    if (Lq->md_pctab >= 0 && Lq->md_gofunc >= 0 && Lq->md_rodata >= 0 &&
        (go_u64(w, md + (uint64_t)Lq->md_pctab, &w->pctab) || go_u64(w, md + (uint64_t)Lq->md_pctab + 8, &w->pctab_len) ||
         go_u64(w, md + (uint64_t)Lq->md_gofunc, &w->gofunc) || go_u64(w, md + (uint64_t)Lq->md_rodata, &w->rodata)))
        w->pctab = w->pctab_len = 0;
    if (Lq->md_cutab >= 0 && Lq->md_filetab >= 0 &&
        (go_u64(w, md + (uint64_t)Lq->md_cutab, &w->cutab) || go_u64(w, md + (uint64_t)Lq->md_cutab + 8, &w->cutab_len) ||
         go_u64(w, md + (uint64_t)Lq->md_filetab, &w->filetab) ||
         go_u64(w, md + (uint64_t)Lq->md_filetab + 8, &w->filetab_len)))
        w->cutab_len = w->filetab_len = 0;
    return 0;
}

int64_t go_func_index(const struct go_walk *w, uint64_t pc)
{
    if (!w->nfuncs || pc < w->text || pc - w->text >= w->funcs[w->nfuncs - 1].entryoff)
        return -1;
    uint32_t off = (uint32_t)(pc - w->text);
    size_t lo = 0, hi = w->nfuncs - 1; /* the last entry only marks the end */
    while (hi - lo > 1) {
        size_t m = (lo + hi) / 2;
        if (w->funcs[m].entryoff <= off)
            lo = m;
        else
            hi = m;
    }
    return w->funcs[lo].entryoff <= off ? (int64_t)lo : -1;
}

int go_func_name(const struct go_walk *w, uint64_t pc, char *buf, size_t len)
{
    if (len == 0)
        return -1;
    buf[0] = 0;
    int64_t lo = go_func_index(w, pc);
    uint64_t nameoff;
    if (lo < 0 || go_field(w, w->pclntable + w->funcs[lo].funcoff, w->L.f_nameoff, 4, &nameoff))
        return -1;
    /* read the name in pieces: the table may end close after it */
    size_t got = 0;
    while (got + 1 < len) {
        char piece[32];
        size_t want = len - 1 - got < sizeof piece ? len - 1 - got : sizeof piece;
        uint64_t a = w->funcnametab + nameoff + got;
        if (go_read(w, a, piece, want)) {
            /* near the end of what is readable: a byte at a time */
            if (go_read(w, a, piece, 1))
                break;
            want = 1;
        }
        void *z = memchr(piece, 0, want);
        size_t take = z ? (size_t)((char *)z - piece) : want;
        memcpy(buf + got, piece, take);
        got += take;
        if (z)
            break;
    }
    buf[got] = 0;
    return got ? 0 : -1;
}

/* ---- pc-value tables and function records */


/* A small read-through cache over go_read, for the varint tables (which
 * usually come from the executable's file). */
struct rd {
    const struct go_walk *w;
    uint64_t at;
    size_t n;
    uint8_t buf[256];
};

static int rd_byte(struct rd *r, uint64_t a, uint8_t *b)
{
    if (a < r->at || a - r->at >= r->n) {
        size_t want = sizeof r->buf;
        while (want && go_read(r->w, a, r->buf, want)) /* the table may end close by */
            want /= 2;
        if (!want)
            return -1;
        r->at = a;
        r->n = want;
    }
    *b = r->buf[a - r->at];
    return 0;
}

static int rd_varint(struct rd *r, uint64_t *a, uint32_t *v)
{
    uint32_t x = 0;
    for (unsigned shift = 0; shift < 35; shift += 7) {
        uint8_t b;
        if (rd_byte(r, (*a)++, &b))
            return -1;
        x |= (uint32_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

int go_pcvalue(const struct go_walk *w, const struct go_fn *f, uint32_t off, uint64_t target, int32_t *out)
{
    if (off == 0 || off >= w->pctab_len)
        return -1;
    struct rd r = {.w = w};
    uint64_t p = w->pctab + off, pc = f->entry;
    int32_t val = -1;
    for (uint64_t step = 0; step <= (uint64_t)f->len + 16; step++) { /* each step moves pc on */
        uint32_t uv, pcd;
        uint8_t b0;
        if (rd_byte(&r, p, &b0) || (b0 == 0 && step) || rd_varint(&r, &p, &uv) || rd_varint(&r, &p, &pcd))
            return -1;
        val += (int32_t)(-(uv & 1) ^ (uv >> 1));
        pc += pcd; /* PCQuantum is 1 on amd64 */
        if (target < pc) {
            *out = val;
            return 0;
        }
    }
    return -1;
}

int go_fn_at(const struct go_walk *w, uint64_t pc, struct go_fn *f)
{
    const struct go_layout *L = &w->L;
    int64_t i = go_func_index(w, pc);
    uint8_t h[GO_MAX_FUNC_HDR];
    if (i < 0 || (size_t)i + 1 >= w->nfuncs || !w->pctab_len || L->f_nfuncdata < 0 ||
        L->f_nfuncdata + 1 > GO_MAX_FUNC_HDR)
        return -1;
    uint64_t rec = w->pclntable + w->funcs[i].funcoff;
    if (go_read(w, rec, h, (size_t)L->f_nfuncdata + 1))
        return -1;
    memset(f, 0, sizeof *f);
    f->entry = w->text + w->funcs[i].entryoff;
    f->len = w->funcs[i + 1].entryoff - w->funcs[i].entryoff;
    f->tabs = rec + (uint64_t)L->f_nfuncdata + 1;
    /* every field lies before nfuncdata (go/stacks.c checks the layout) */
#define FLD(off, size) ((off) >= 0 && (off) + (size) <= L->f_nfuncdata ? go_get(h, (off), (size)) : 0)
    f->args = (int32_t)FLD(L->f_args, 4);
    f->deferreturn = (uint32_t)FLD(L->f_deferreturn, 4);
    f->pcsp = (uint32_t)FLD(L->f_pcsp, 4);
    f->pcfile = (uint32_t)FLD(L->f_pcfile, 4);
    f->pcln = (uint32_t)FLD(L->f_pcln, 4);
    f->cuoff = (uint32_t)FLD(L->f_cuoffset, 4);
    f->npcdata = (uint32_t)FLD(L->f_npcdata, 4);
    f->flag = (uint32_t)FLD(L->f_flag, 1);
#undef FLD
    f->nfuncdata = (uint32_t)go_get(h, L->f_nfuncdata, 1);
    if (f->npcdata > 1024)
        return -1;
    if (go_func_name(w, pc, f->name, sizeof f->name))
        snprintf(f->name, sizeof f->name, "?");
    return 0;
}

int go_pcdata(const struct go_walk *w, const struct go_fn *f, int64_t table, uint64_t target, int32_t *out)
{
    uint64_t off;
    if (table < 0 || (uint64_t)table >= f->npcdata || go_field(w, f->tabs, table * 4, 4, &off))
        return -1;
    return go_pcvalue(w, f, (uint32_t)off, target, out);
}

int go_funcdata(const struct go_walk *w, const struct go_fn *f, int64_t i, uint64_t *addr)
{
    uint64_t off;
    *addr = 0;
    if (i < 0 || (uint64_t)i >= f->nfuncdata)
        return 0;
    if (go_field(w, f->tabs, (int64_t)f->npcdata * 4 + i * 4, 4, &off))
        return -1;
    if (off != 0xffffffffu)
        *addr = w->gofunc + off;
    return 0;
}

/* A NUL-terminated string at a (a function or file name), cut at len. */
static void read_cstr(const struct go_walk *w, uint64_t a, char *buf, size_t len)
{
    struct rd r = {.w = w};
    size_t n = 0;
    for (; n + 1 < len; n++) {
        uint8_t b;
        if (rd_byte(&r, a + n, &b) || !b)
            break;
        buf[n] = (char)b;
    }
    buf[n] = 0;
}

/* funcline1: the file and line of f's code at pc. */
static void file_line(const struct go_walk *w, const struct go_fn *f, uint64_t pc, char *file, size_t len,
                      int32_t *line)
{
    int32_t fileno = -1;
    uint64_t off;
    file[0] = 0;
    *line = 0;
    if (go_pcvalue(w, f, f->pcln, pc, line))
        *line = 0;
    if (!go_pcvalue(w, f, f->pcfile, pc, &fileno) && fileno >= 0 &&
        (uint64_t)f->cuoff + (uint64_t)fileno < w->cutab_len &&
        !go_field(w, w->cutab, (int64_t)(f->cuoff + (uint64_t)fileno) * 4, 4, &off) && off != 0xffffffffu &&
        off < w->filetab_len)
        read_cstr(w, w->filetab + off, file, len);
}

int go_pc_frames(const struct go_walk *w, uint64_t pc, int max,
                 void (*emit)(void *u, const char *func, const char *file, int32_t line), void *u)
{
    const struct go_layout *L = &w->L;
    struct go_fn f;
    if (go_fn_at(w, pc, &f))
        return -1;
    uint64_t tree = 0;
    if (!L->ic_bytes || L->ic_bytes > 64 || L->ic_nameoff < 0 || L->ic_parentpc < 0 ||
        go_funcdata(w, &f, L->funcdata_inltree, &tree))
        tree = 0;
    int n = 0;
    int32_t ix = -1;
    if (tree && go_pcdata(w, &f, L->pcdata_inltree, pc, &ix))
        ix = -1;
    /* each inlined call names a distinct, shallower call site: a tree of
     * at most max levels is read */
    for (; n < max; n++) {
        char name[160], file[256];
        int32_t line;
        file_line(w, &f, pc, file, sizeof file, &line);
        if (ix < 0) {
            emit(u, f.name, file, line);
            return n + 1;
        }
        uint8_t ic[64];
        if (go_read(w, tree + (uint64_t)ix * L->ic_bytes, ic, L->ic_bytes)) {
            emit(u, f.name, file, line); /* the tree is unreadable: the function itself */
            return n + 1;
        }
        uint32_t nameoff = (uint32_t)go_get(ic, L->ic_nameoff, 4);
        int32_t parentpc = (int32_t)go_get(ic, L->ic_parentpc, 4);
        read_cstr(w, w->funcnametab + nameoff, name, sizeof name);
        emit(u, name[0] ? name : "?", file, line);
        if (parentpc < 0 || (uint32_t)parentpc >= f.len)
            return n + 1;
        pc = f.entry + (uint32_t)parentpc;
        if (go_pcdata(w, &f, L->pcdata_inltree, pc, &ix))
            ix = -1;
    }
    return n;
}
