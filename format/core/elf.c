/*
 * elf.c — the outside of a core: its ELF header and program header table,
 * checked before anything in them is believed; plus the small helpers the
 * other steps share (messages, strings in the snapshot's arena).
 *
 * A core of another machine or byte order is refused here, by name: its
 * registers and structures are not the x86_64 ones this reader decodes.
 * More than 65534 program headers are counted in sh_info of section 0
 * (PN_XNUM), as the kernel and gdb write them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

int cr_err(struct core_in *ci, const char *fmt, ...)
{
    char what[448];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    hs_set_err(ci->err, "%s: %s", ci->name, what);
    return -1;
}

void cr_warn(struct core_in *ci, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    struct hs_snapshot *s = ci->s;
    size_t old = s->warning ? strlen(s->warning) : 0;
    if (old > 64 * 1024)
        return; /* enough said */
    char *w = realloc(s->warning, old + strlen(line) + 2);
    if (!w)
        return;
    if (old)
        w[old++] = '\n';
    strcpy(w + old, line);
    s->warning = w;
}

char *cr_strndup(struct core_in *ci, const char *str, size_t n)
{
    size_t len = strnlen(str, n);
    char *p = hs_arena_alloc(ci->s, len + 1);
    if (p) {
        memcpy(p, str, len);
        p[len] = 0;
    }
    return p;
}

const char *cr_note_name(uint32_t type)
{
    switch (type) {
    case NT_PRSTATUS: return "NT_PRSTATUS";
    case NT_FPREGSET: return "NT_FPREGSET";
    case NT_PRPSINFO: return "NT_PRPSINFO";
    case NT_AUXV: return "NT_AUXV";
    case NT_FILE: return "NT_FILE";
    case NT_SIGINFO: return "NT_SIGINFO";
    case NT_X86_XSTATE: return "NT_X86_XSTATE";
    default: return "note";
    }
}

static const char *machine_name(unsigned m)
{
    switch (m) {
    case EM_386: return "i386";
    case EM_ARM: return "arm";
    case EM_AARCH64: return "aarch64";
    case EM_PPC64: return "ppc64";
    case EM_S390: return "s390x";
    case EM_RISCV: return "riscv";
    case EM_MIPS: return "mips";
    default: return "another machine";
    }
}

int cr_elf(struct core_in *ci)
{
    const uint8_t *b = ci->buf;
    size_t n = ci->len;
    if (n < SELFMAG || memcmp(b, ELFMAG, SELFMAG))
        return cr_err(ci, "not an ELF file (no \\177ELF magic at offset 0)");
    if (n < EI_NIDENT)
        return cr_err(ci, "truncated at offset %zu: inside the ELF identification", n);
    if (b[EI_CLASS] != ELFCLASS64 || b[EI_DATA] != ELFDATA2LSB) {
        unsigned m = 0;
        if (n >= 20)
            m = b[EI_DATA] == ELFDATA2MSB ? (unsigned)(b[18] << 8 | b[19]) : (unsigned)(b[18] | b[19] << 8);
        return cr_err(ci, "ELF header: a %s %s-endian core (e_machine %u, %s); heapsnap reads x86_64 cores only",
                        b[EI_CLASS] == ELFCLASS32 ? "32-bit" : "64-bit",
                        b[EI_DATA] == ELFDATA2MSB ? "big" : "little", m, machine_name(m));
    }
    if (n < sizeof(Elf64_Ehdr))
        return cr_err(ci, "truncated at offset %zu: inside the %zu-byte ELF header", n, sizeof(Elf64_Ehdr));
    Elf64_Ehdr eh;
    memcpy(&eh, b, sizeof eh);
    if (eh.e_type != ET_CORE)
        return cr_err(ci, "ELF header: e_type %u is not ET_CORE (%s); give heapsnap the core, and the "
                        "executable with --exe", eh.e_type,
                        eh.e_type == ET_EXEC ? "an executable" : eh.e_type == ET_DYN ? "a shared object or PIE"
                                                                                     : "not a core");
    if (eh.e_machine != EM_X86_64)
        return cr_err(ci, "ELF header: e_machine %u (%s): a core of another architecture; heapsnap reads "
                        "x86_64 cores only", eh.e_machine, machine_name(eh.e_machine));
    if (eh.e_phentsize != sizeof(Elf64_Phdr))
        return cr_err(ci, "ELF header: e_phentsize %u, not the %zu of an Elf64_Phdr", eh.e_phentsize,
                        sizeof(Elf64_Phdr));
    uint64_t phnum = eh.e_phnum;
    if (phnum == PN_XNUM) {
        Elf64_Shdr sh;
        if (eh.e_shoff == 0 || eh.e_shoff > n || n - eh.e_shoff < sizeof sh)
            return cr_err(ci, "e_phnum is PN_XNUM but section header 0 (offset %llu) is %s",
                            (unsigned long long)eh.e_shoff, eh.e_shoff ? "past the end of the file" : "missing");
        memcpy(&sh, b + eh.e_shoff, sizeof sh);
        phnum = sh.sh_info;
    }
    if (phnum == 0)
        return cr_err(ci, "ELF header: no program headers; a core has at least its PT_NOTE");
    if (phnum > CORE_MAX_PHNUM)
        return cr_err(ci, "ELF header: %llu program headers, more than the %u this reader takes",
                        (unsigned long long)phnum, CORE_MAX_PHNUM);
    uint64_t tab = phnum * sizeof(Elf64_Phdr);
    if (eh.e_phoff > n || n - eh.e_phoff < tab)
        return cr_err(ci, "truncated at offset %zu: the program header table (offset %llu, %llu entries) "
                        "is cut short", n, (unsigned long long)eh.e_phoff, (unsigned long long)phnum);
    ci->ph = malloc((size_t)tab);
    if (!ci->ph)
        return cr_err(ci, "out of memory for %llu program headers", (unsigned long long)phnum);
    memcpy(ci->ph, b + eh.e_phoff, (size_t)tab);
    ci->phnum = (size_t)phnum;
    for (size_t i = 0; i < ci->phnum; i++) {
        const Elf64_Phdr *p = &ci->ph[i];
        if (p->p_type != PT_LOAD && p->p_type != PT_NOTE)
            continue;
        if (p->p_vaddr + p->p_memsz < p->p_vaddr || p->p_offset + p->p_filesz < p->p_offset)
            return cr_err(ci, "program header %zu (%s): runs past the end of the address space", i,
                            p->p_type == PT_LOAD ? "PT_LOAD" : "PT_NOTE");
        if (p->p_type == PT_LOAD && p->p_filesz > p->p_memsz)
            return cr_err(ci, "program header %zu (PT_LOAD at 0x%llx): p_filesz %llu is more than p_memsz %llu",
                            i, (unsigned long long)p->p_vaddr, (unsigned long long)p->p_filesz,
                            (unsigned long long)p->p_memsz);
    }
    return 0;
}
