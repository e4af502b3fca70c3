/*
 * internal.h — what the parts of the core reader share (internal to
 * format/core/).  open.c runs the steps in order on one struct core_in:
 *
 *   cr_unpack()     the file (or a compressed stream) into memory   unpack.c
 *   cr_elf()        ELF header and program headers, checked         elf.c
 *   cr_notes()      PT_NOTE: threads, process, auxv, NT_FILE        notes.c
 *   cr_memory()     PT_LOAD: mappings, ranges, failures             memory.c
 *   cr_modules()    modules, build-ids, [heap]/[stack]/[vdso]       modules.c
 *
 * Each step returns 0, or -1 with ci->err set to a message that names the
 * file and the header or note at fault.
 */
#ifndef HEAPSNAP_FORMAT_CORE_INTERNAL_H
#define HEAPSNAP_FORMAT_CORE_INTERNAL_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hscore.h"
#include "walk.h" /* snapshot.h, hs_set_err */

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the core reader assumes a little-endian host"
#endif

/* Bounds on what a core may claim, so that a hostile file costs little. */
#define CORE_MAX_PHNUM    (1u << 20)  /* program headers */
#define CORE_MAX_NOTES    (1u << 20)  /* notes in all PT_NOTE segments */
#define CORE_MAX_THREADS  (1u << 16)
#define CORE_MAX_AUXV     4096        /* pairs; a real vector has a few dozen */

/* One NT_FILE entry. */
struct core_file {
    uint64_t start, end, offset; /* offset in bytes */
    const char *path;            /* in the snapshot's arena */
};

struct core_in {
    const char *name;            /* for messages */
    const uint8_t *buf;          /* the whole (decompressed) core */
    size_t len;
    unsigned flags;              /* HS_OPEN_* */
    struct hs_error *err;
    struct hs_snapshot *s;       /* being filled */

    Elf64_Phdr *ph;              /* copied out of buf (alignment), phnum entries */
    size_t phnum;

    uint32_t page_size;          /* NT_FILE's, else AT_PAGESZ, else 4096 */
    struct core_file *files;     /* NT_FILE, malloc'd */
    size_t nfiles;
    int have_prpsinfo;
    char sname;                  /* pr_sname */
    int32_t ps_pid;
    size_t nfpregs, nxstate;     /* threads with FP state (not kept) */
    const char *exe_override;    /* hs_core_set_exe() */
    int64_t mtime_ns;
    char trunc[512];             /* where the file was cut, if it was */
};

/* Steps (see above). */
int cr_elf(struct core_in *ci);
int cr_notes(struct core_in *ci);
int cr_memory(struct core_in *ci);
int cr_modules(struct core_in *ci);

/* Load path into memory: mmap'd as it is, or decompressed into an
 * anonymous mapping.  *mapped_len is what to munmap.  "-" is refused. */
int cr_unpack(const char *path, const uint8_t **buf, size_t *len, size_t *mapped_len,
                int *compressed, struct hs_error *err);
/* The same for a buffer: a compressed one is decompressed (*out then
 * needs munmap of *mapped_len), a plain one is returned as is (*mapped_len 0). */
int cr_unpack_memory(const uint8_t *in, size_t inlen, const char *name, const uint8_t **out,
                       size_t *len, size_t *mapped_len, struct hs_error *err);
/* Which compression the first bytes say: "zstd", "lz4", "xz", or NULL. */
const char *cr_compression(const uint8_t *b, size_t n);

/* "FILE: what" into ci->err; returns -1. */
int cr_err(struct core_in *ci, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Add one line to the snapshot's warning (hs_snapshot_warning()). */
void cr_warn(struct core_in *ci, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A copy of the first n bytes of str (up to a NUL) in the snapshot's arena. */
char *cr_strndup(struct core_in *ci, const char *str, size_t n);
/* A name for a note type / a program header type, for messages. */
const char *cr_note_name(uint32_t type);

#endif
