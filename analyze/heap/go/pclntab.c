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
 */
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
