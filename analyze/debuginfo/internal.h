/*
 * internal.h — what the files of analyze/debuginfo/ share and nobody else
 * sees: the per-module state behind dbg_module_info and the whole struct
 * dbg.  debuginfo.c owns the lifetimes; find.c fills in the files of a
 * module; symbols.c builds the merged symbol table; dwarf.c opens a
 * module's DWARF on first use and keeps its indexes and layouts.
 */
#ifndef HEAPSNAP_DEBUGINFO_INTERNAL_H
#define HEAPSNAP_DEBUGINFO_INTERNAL_H

#include <libdwarf.h>

#include "debuginfo/debuginfo.h"
#include "debuginfo/elffile.h"
#include "debuginfo/strmap.h"

struct dbg_dwarf; /* dwarf.c */

struct dbg_mod {
    struct dbg_module_info info; /* the public view; its strings point at the fields below */
    struct elffile *elf;         /* the binary matched by build-id, or NULL */
    struct elffile *debug;       /* the file with DWARF (may be == elf), or NULL */
    char *problem;
    int dwarf_tried;             /* dwarf.c opened (or failed to open) debug already */
    struct dbg_dwarf *dw;        /* NULL until then, or if it failed */
    int cfi_tried, cfi_fd;       /* the binary's own handle, for its .eh_frame, when it is */
    Dwarf_Debug cfi_dbg;         /* not the debug file (dbg_module_cfi); else NULL */
    struct dbg_go go;            /* gobuild.c: a Go executable's facts (info.go points here) */
    struct dbg_remap *remap;     /* a stripped Go executable's debug build: its sections' moves */
    size_t nremap;
};

/* [from, from + size) of the debug file is at [to, to + size) in the binary. */
struct dbg_remap {
    uint64_t from, size, to;
};

struct dbg {
    struct dbg_options opt;      /* debug_dirs deep-copied */
    size_t nmods;
    struct dbg_mod *mods;
    /* symbols.c */
    struct dbg_symbol *syms;     /* sorted by address */
    size_t nsyms;
    char *symnames;              /* one block holding every symbol name */
    uint32_t *sym_next;          /* per symbol: the next one with the same name, or UINT32_MAX */
    struct strmap sym_by_name;   /* name -> the first symbol of that name */
};

/* find.c: locate mod's binary and debug file; sets elf, debug, problem. */
void dbg_find_files(const struct dbg *d, struct dbg_mod *mod);

/* gobuild.c: a Go binary's facts; a stripped one's unstripped build,
 * matched and remapped (sets debug, remap, problem). */
int dbg_go_probe(const struct elffile *ef, struct dbg_go *g);
int dbg_go_match(const struct elffile *bin, const struct dbg_go *bg, const struct elffile *cand,
                 struct dbg_remap **map, size_t *nmap, char *why, size_t whylen);
void dbg_go_find_debug(const struct dbg *d, struct dbg_mod *mod);
/* A vaddr of mod's debug file (or binary) as a runtime address; 0 or -1. */
int dbg_mod_addr(const struct dbg_mod *m, uint64_t vaddr, uint64_t *addr);

/* symbols.c */
int dbg_build_symbols(struct dbg *d);
void dbg_free_symbols(struct dbg *d);

/* dwarf.c */
void dbg_dwarf_free(struct dbg_dwarf *dw);
void dbg_cfi_close(struct dbg_mod *mod);
/* Open mod's DWARF and index it, once; the index or NULL. */
struct dbg_dwarf *dbg_dwarf_get(struct dbg_mod *mod);
const struct dbg_layout *dbg_dwarf_struct(struct dbg_dwarf *dw, const char *name);
/* A variable's ELF vaddr (*tls = 0) or TLS-block offset (*tls = 1), and size. */
int dbg_dwarf_variable(struct dbg_dwarf *dw, const char *name, int *tls, uint64_t *value,
                       uint64_t *size);
int dbg_dwarf_constant(struct dbg_dwarf *dw, const char *name, int64_t *value);

#endif
