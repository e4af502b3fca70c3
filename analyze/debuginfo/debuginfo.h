/*
 * debuginfo.h — the binaries behind a snapshot: which ELF file (and which
 * separate debug file) belongs to each module, their symbols, and the
 * struct layouts, variables and constants their DWARF describes.
 *
 * Files are matched to a snapshot's modules by build-id, never by path
 * alone: a file with another build-id is a different build and is refused
 * whatever its name.  Search order per module (find.c), after what the
 * snapshot itself carries (dbg_options.carried_*):
 *   binary:      the recorded path; then for each --debug-dir DIR:
 *                DIR/<recorded path>, DIR/.build-id/xx/rest, DIR/<basename>
 *   debug file   (when the binary has no DWARF, unless no_separate_debug):
 *                DIR/.build-id/xx/rest.debug for each DIR,
 *                /usr/lib/debug/.build-id/xx/rest.debug, then the binary's
 *                .gnu_debuglink name (CRC-checked) beside it, in .debug/
 *                beside it, in each DIR and under /usr/lib/debug/<its dir>.
 * A module whose files cannot be found is kept, with 'problem' saying which
 * file and what is lost, e.g.
 *   "/x/app (build-id 1a2b...): not found; no symbols, no DWARF"
 *   "/lib/.../libc.so.6 (build-id ...): no DWARF (separate debug files
 *    ignored); only .dynsym symbols"
 * and everything else goes on with what is there.
 *
 * Cost: dbg_open reads every module's symbol table (milliseconds).  A
 * module's DWARF is opened and its top-level names indexed on the first
 * dbg_struct/dbg_variable/dbg_constant that visits that module (about 0.3 s
 * for libc6-dbg's libc, 1.5 s under ASan); later lookups take microseconds
 * and layouts are cached.  Everything returned (layouts, symbols, strings)
 * lives until dbg_close.  Not thread-safe.
 *
 * All addresses handed out here are runtime addresses in the target (ELF
 * vaddr + the module's load bias), except STT_TLS symbols, whose addr is
 * their offset in the module's TLS block.  DWARF 4 and 5 and compressed
 * sections (SHF_COMPRESSED, .zdebug) are read.
 */
#ifndef HEAPSNAP_DEBUGINFO_DEBUGINFO_H
#define HEAPSNAP_DEBUGINFO_DEBUGINFO_H

#include <stddef.h>
#include <stdint.h>

#include <libdwarf.h>

#include "hsnap.h"

struct dbg;

struct dbg_options {
    const char **debug_dirs; /* --debug-dir, in order */
    size_t ndebug_dirs;
    int no_separate_debug;   /* ignore separate debug files (tests: "libc6-dbg hidden") */
    int no_system_debug;     /* do not look under /usr/lib/debug */
    const char *go_binary;   /* --go-binary: the unstripped build of a stripped Go executable */
    /* What the snapshot carries (index/carried.h), tried before anything
     * else: per module index the executable's file (or NULL), and a
     * directory of .build-id/xx/rest.debug files.  Must outlive the dbg. */
    const char *const *carried_binaries;
    size_t ncarried_binaries;
    const char *carried_dir;
};

/* What a Go executable says of itself (gobuild.c), symbols or not. */
struct dbg_go {
    int is_go;
    char version[32];               /* "go1.26.8" from .go.buildinfo, or "" */
    char build_id[128];             /* .note.go.buildid, or "" */
    uint32_t pclntab_magic;         /* the first word of .gopclntab, or 0 */
};

struct dbg_module_info {
    const struct hs_module *module; /* from the snapshot */
    const char *elf_path;           /* the matching binary, or NULL */
    const char *debug_path;         /* the file whose DWARF is used, or NULL */
    int has_symtab;                 /* a .symtab (not only .dynsym) was found */
    int has_dwarf;
    const char *problem;            /* NULL, or "libfoo.so: not found (build-id ...): no symbols" */
    const struct dbg_go *go;        /* a Go executable's own facts, or NULL */
    int elf_carried, debug_carried; /* that file came out of the snapshot (dbg_options.carried_*) */
};

struct dbg_symbol {
    uint64_t addr, size;            /* runtime address */
    const char *name;               /* as in the ELF file (mangled for C++) */
    uint8_t type;                   /* STT_OBJECT, STT_FUNC, STT_TLS, ... */
    uint8_t bind;                   /* STB_GLOBAL, STB_LOCAL, STB_WEAK */
    uint16_t module;                /* index into the modules */
};

struct dbg_layout;

/* The members of an anonymous struct or union member are also listed in
 * the containing layout, with their offsets from its start (as C lets you
 * name them); the anonymous member itself is there too, named "". */
struct dbg_field {
    const char *name;               /* "" for an anonymous member */
    uint64_t offset;                /* bytes from the start of the struct */
    uint64_t size;                  /* bytes (a bit-field: its declared type's size) */
    uint64_t count;                 /* array elements (all dimensions), 0 if not an array */
    const struct dbg_layout *layout; /* the member's struct/union type (typedefs and
                                        qualifiers followed), or NULL; arrays: NULL */
};

struct dbg_layout {
    const char *name;
    uint64_t size;
    size_t nfields;
    const struct dbg_field *fields;
};

/* Find and open the files of every module of s.  Never fails for a missing
 * file (see dbg_module_info.problem); returns NULL only on out-of-memory. */
struct dbg *dbg_open(const struct hs_snapshot *s, const struct dbg_options *opt);
/* The same from a module list (tests, probes); mods must outlive the dbg. */
struct dbg *dbg_open_modules(const struct hs_module *mods, size_t n, const struct dbg_options *opt);
void dbg_close(struct dbg *d);

/*
 * Module m's one libdwarf handle on its debug file, opened on first use
 * and shared by every reader of it (debuginfo's own index, types/): owned
 * by d, never finished by the caller.  The unit cursor
 * (dwarf_next_cu_header_d) is the handle's: a walk of the units that stops
 * before their end rewinds it (dwh_cu_rewind), so that the next reader
 * starts at the first.  NULL when m has no readable DWARF.
 */
Dwarf_Debug dbg_module_dwarf(struct dbg *d, size_t m);
/* The handle on m's binary, for its call frame information (.eh_frame;
 * a separate debug file has none): the same handle when the binary is its
 * own debug file, else one of its own, opened once; NULL if unreadable. */
Dwarf_Debug dbg_module_cfi(struct dbg *d, size_t m);

size_t dbg_nmodules(const struct dbg *d);
const struct dbg_module_info *dbg_module(const struct dbg *d, size_t i);
/* The module whose name (basename of its path) starts with prefix, e.g. "libc.so". */
int dbg_find_module(const struct dbg *d, const char *prefix);

/* Every symbol of every module (.symtab, else .dynsym), sorted by address. */
const struct dbg_symbol *dbg_symbols(const struct dbg *d, size_t *n);
/* The symbol whose [addr, addr+size) holds addr (or the nearest below it
 * with size 0), or NULL.  Of aliases, a sized global is preferred. */
const struct dbg_symbol *dbg_symbol_at(const struct dbg *d, uint64_t addr);
/* By exact name; module < 0 searches every module.  A global or weak
 * symbol is preferred to a local one of the same name. */
const struct dbg_symbol *dbg_symbol_by_name(const struct dbg *d, const char *name, int module);

/* The layout of 'struct name' (or a typedef of it) from DWARF; module < 0
 * searches every module.  NULL if no DWARF describes it. */
const struct dbg_layout *dbg_struct(struct dbg *d, const char *name, int module);
/* Offset of a field, following dots through nested structs ("a.b"); -1 if absent. */
int64_t dbg_field_offset(const struct dbg_layout *l, const char *field);
/* A field's size, or -1. */
int64_t dbg_field_size(const struct dbg_layout *l, const char *field);

/* Address and size of a global or static variable, from DWARF (DW_AT_location
 * DW_OP_addr; top-level variables of each CU and of C++ namespaces) or else
 * the symbol table.  0 on success, -1 if unknown. */
int dbg_variable(struct dbg *d, const char *name, int module, uint64_t *addr, uint64_t *size);
/* A thread-local (__thread) variable: its offset in the module's TLS block
 * (DW_OP_form_tls_address / DW_OP_GNU_push_tls_address, else the STT_TLS
 * symbol) and size.  The address in a thread is that thread's block for
 * the module plus the offset; finding the block is the caller's business.
 * 0 or -1. */
int dbg_tls_variable(struct dbg *d, const char *name, int module, uint64_t *offset, uint64_t *size);
/* A DWARF constant (DW_TAG_constant, a variable with DW_AT_const_value, or
 * an enumerator of a top-level enum) by name; 0 or -1. */
int dbg_constant(struct dbg *d, const char *name, int module, int64_t *value);

/* A Go executable stripped with -ldflags='-s -w' takes its symbols and DWARF
 * from the unstripped build of the same program (gobuild.c), whose data
 * sections sit elsewhere.  dbg_module_addr turns a vaddr of the module's
 * debug file into a runtime address (vaddr + load bias for every other
 * module), dbg_module_vaddr the other way; -1 where the stripped binary
 * has no place for it (a section of another size). */
int dbg_module_addr(const struct dbg *d, size_t module, uint64_t vaddr, uint64_t *addr);
int dbg_module_vaddr(const struct dbg *d, size_t module, uint64_t addr, uint64_t *vaddr);
/* The Go version in a .go.buildinfo image (buf, len bytes); 0 or -1. */
int dbg_go_buildinfo_version(const uint8_t *buf, size_t len, char *ver, size_t vlen);
/* Which Go versions write a pclntab with this magic, or NULL. */
const char *dbg_go_pclntab_format(uint32_t magic);

#endif
