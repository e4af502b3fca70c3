/*
 * elffile.h — one ELF file on disk, opened with libelf, and the few facts
 * about it the debug-info search needs: its build-id, its .gnu_debuglink,
 * and whether it carries symbols and DWARF.
 *
 * find.c opens candidate files with this to decide whether they belong to a
 * module; symbols.c reads their symbol tables through ef->elf.  The file
 * may be hostile: everything here is bounded by what libelf has checked.
 */
#ifndef HEAPSNAP_DEBUGINFO_ELFFILE_H
#define HEAPSNAP_DEBUGINFO_ELFFILE_H

#include <gelf.h>
#include <libelf.h>
#include <stddef.h>
#include <stdint.h>

struct elffile {
    char *path;
    int fd;                 /* -1 once libelf holds the contents itself */
    Elf *elf;
    uint8_t build_id[64];
    uint32_t build_id_len;  /* 0: the file has none */
    char *debuglink;        /* .gnu_debuglink file name, or NULL */
    uint32_t debuglink_crc;
    int has_symtab;         /* a non-empty .symtab */
    int has_dynsym;
    int has_dwarf;          /* a .debug_info with contents (not SHT_NOBITS) */
};

/* Open path as an ELF file; NULL if it cannot be opened, is not a regular
 * file or is not ELF (then *why, if non-NULL, gets a static reason). */
struct elffile *elffile_open(const char *path, const char **why);

/* An fd open for reading on path if it is a regular file, else -1 with a
 * static reason in *why.  Never blocks: a path from a snapshot may name a
 * FIFO. */
int elffile_open_regular(const char *path, const char **why);
void elffile_close(struct elffile *ef);

/* 1 if ef's build-id equals id[0..len). */
int elffile_build_id_is(const struct elffile *ef, const uint8_t *id, uint32_t len);

/* The section named name, or NULL. */
Elf_Scn *elffile_section(const struct elffile *ef, const char *name, GElf_Shdr *shdr);

/* The CRC-32 (the one .gnu_debuglink uses) of the whole file at path; 0 or -1. */
int elffile_crc32(const char *path, uint32_t *crc);

/* Lower-case hex of a build-id into buf (at least 2*len+1 bytes). */
char *build_id_hex(char *buf, const uint8_t *id, uint32_t len);

#endif
