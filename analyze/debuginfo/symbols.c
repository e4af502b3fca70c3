/*
 * symbols.c — one symbol table for the whole snapshot.
 *
 * Each module contributes its .symtab (from the binary, else from its
 * separate debug file) or, when there is none, its .dynsym.  Values are
 * turned into runtime addresses by adding the module's load bias (or, for
 * a stripped Go binary's unstripped build, by its section map), and all
 * symbols go into one array sorted by address, so that "what is at this
 * address" is a binary search and "where is this name" a hash lookup.
 * STT_TLS symbols keep their value as it is (an offset in the module's TLS
 * block, not an address) and are never returned by dbg_symbol_at().
 */
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "debuginfo/internal.h"

#define MAX_SYMS_PER_MODULE 20000000u /* far beyond any real binary; bounds a hostile one */
#define NO_NEXT UINT32_MAX

struct builder {
    struct dbg_symbol *syms;
    size_t n, cap;
    char *names;
    size_t nlen, ncap;
};

static int add_symbol(struct builder *b, const struct dbg_symbol *s, const char *name)
{
    size_t len = strlen(name) + 1;
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 4096;
        void *p = realloc(b->syms, nc * sizeof *b->syms);
        if (!p)
            return -1;
        b->syms = p;
        b->cap = nc;
    }
    char *names = grow_bytes(b->names, b->nlen + len, &b->ncap, 65536);
    if (!names)
        return -1;
    b->names = names;
    memcpy(b->names + b->nlen, name, len);
    b->syms[b->n] = *s;
    b->syms[b->n].name = (const char *)(uintptr_t)b->nlen; /* an offset until the block stops moving */
    b->nlen += len;
    b->n++;
    return 0;
}

/* Add every defined, named symbol of the first section of type 'type'. */
static int add_table(struct builder *b, const struct elffile *ef, Elf64_Word type, uint16_t modidx,
                     const struct dbg_mod *m)
{
    for (Elf_Scn *scn = NULL; (scn = elf_nextscn(ef->elf, scn));) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || sh.sh_entsize == 0)
            continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        if (!data)
            return 0;
        size_t count = sh.sh_size / sh.sh_entsize;
        if (count > MAX_SYMS_PER_MODULE)
            count = MAX_SYMS_PER_MODULE;
        for (size_t i = 1; i < count; i++) {
            GElf_Sym sym;
            if (!gelf_getsym(data, (int)i, &sym))
                break;
            unsigned t = GELF_ST_TYPE(sym.st_info);
            if (sym.st_shndx == SHN_UNDEF || sym.st_shndx == SHN_ABS || t == STT_SECTION ||
                t == STT_FILE)
                continue;
            const char *name = elf_strptr(ef->elf, sh.sh_link, sym.st_name);
            if (!name || !name[0])
                continue;
            uint64_t addr = sym.st_value;
            if (t != STT_TLS && dbg_mod_addr(m, sym.st_value, &addr))
                continue; /* a stripped Go binary has no place for it (gobuild.c) */
            struct dbg_symbol s = {
                .addr = addr,
                .size = sym.st_size,
                .type = (uint8_t)t,
                .bind = (uint8_t)GELF_ST_BIND(sym.st_info),
                .module = modidx,
            };
            if (add_symbol(b, &s, name) < 0)
                return -1;
        }
        return 0;
    }
    return 0;
}

/* Among symbols at one address, the most useful name comes first: one with
 * a size, then global before weak before local, then functions and
 * objects before untyped labels; the name breaks ties so output is stable. */
static int bind_rank(unsigned b)
{
    return b == STB_GLOBAL ? 0 : b == STB_WEAK ? 1 : 2;
}

static int cmp_sym(const void *pa, const void *pb)
{
    const struct dbg_symbol *a = pa, *b = pb;
    if (a->addr != b->addr)
        return a->addr < b->addr ? -1 : 1;
    if ((a->size == 0) != (b->size == 0))
        return a->size == 0 ? 1 : -1;
    if (bind_rank(a->bind) != bind_rank(b->bind))
        return bind_rank(a->bind) - bind_rank(b->bind);
    int ta = a->type == STT_NOTYPE, tb = b->type == STT_NOTYPE;
    if (ta != tb)
        return ta - tb;
    int c = strcmp(a->name, b->name);
    if (c)
        return c;
    return (int)a->module - (int)b->module;
}

int dbg_build_symbols(struct dbg *d)
{
    struct builder b = {0};
    for (size_t i = 0; i < d->nmods && i <= UINT16_MAX; i++) {
        struct dbg_mod *m = &d->mods[i];
        const struct elffile *src = m->elf && m->elf->has_symtab ? m->elf
                                  : m->debug && m->debug->has_symtab ? m->debug
                                  : NULL;
        int r = src ? add_table(&b, src, SHT_SYMTAB, (uint16_t)i, m)
              : m->elf && m->elf->has_dynsym
                  ? add_table(&b, m->elf, SHT_DYNSYM, (uint16_t)i, m)
                  : 0;
        if (r < 0)
            goto oom;
        m->info.has_symtab = src != NULL;
    }
    for (size_t i = 0; i < b.n; i++)
        b.syms[i].name = b.names + (uintptr_t)b.syms[i].name;
    if (b.n)
        qsort(b.syms, b.n, sizeof *b.syms, cmp_sym);
    if (b.n && !(d->sym_next = malloc(b.n * sizeof *d->sym_next)))
        goto oom;
    /* Walk backwards so that each name's chain runs in address order. */
    for (size_t i = b.n; i-- > 0;) {
        uint64_t first;
        d->sym_next[i] = strmap_get(&d->sym_by_name, b.syms[i].name, &first) == 0 ? (uint32_t)first
                                                                                  : NO_NEXT;
        if (strmap_set(&d->sym_by_name, b.syms[i].name, i) < 0)
            goto oom;
    }
    d->syms = b.syms;
    d->nsyms = b.n;
    d->symnames = b.names;
    return 0;
oom:
    free(b.syms);
    free(b.names);
    return -1;
}

void dbg_free_symbols(struct dbg *d)
{
    free(d->syms);
    free(d->symnames);
    free(d->sym_next);
    strmap_free(&d->sym_by_name);
}

const struct dbg_symbol *dbg_symbols(const struct dbg *d, size_t *n)
{
    *n = d->nsyms;
    return d->syms;
}

/* How far back from the nearest symbol below addr to look for an enclosing
 * one (a big function with small local labels inside it). */
#define BACK_SCAN 64

const struct dbg_symbol *dbg_symbol_at(const struct dbg *d, uint64_t addr)
{
    size_t lo = 0, hi = d->nsyms; /* find the first symbol above addr */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->syms[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    const struct dbg_symbol *unsized = NULL;
    uint64_t nearest = 0;
    int seen = 0;
    for (size_t k = 0; k < BACK_SCAN && lo > 0; k++) {
        const struct dbg_symbol *s = &d->syms[--lo];
        if (s->type == STT_TLS)
            continue;
        if (s->size && addr - s->addr < s->size)
            return s;
        if (!seen) {
            seen = 1;
            nearest = s->addr;
        }
        /* A size-0 label answers only if nothing lies between it and addr;
         * walking backwards reaches the best-ranked one at that address last. */
        if (!s->size && s->addr == nearest)
            unsized = s;
    }
    return unsized;
}

const struct dbg_symbol *dbg_symbol_by_name(const struct dbg *d, const char *name, int module)
{
    uint64_t i;
    if (strmap_get(&d->sym_by_name, name, &i) < 0)
        return NULL;
    const struct dbg_symbol *local = NULL;
    for (size_t k = 0; i != NO_NEXT && k < d->nsyms; k++, i = d->sym_next[i]) {
        const struct dbg_symbol *s = &d->syms[i];
        if (module >= 0 && s->module != module)
            continue;
        if (s->bind != STB_LOCAL)
            return s;
        if (!local)
            local = s;
    }
    return local;
}
