/*
 * dtdebug.c — give gdb a way to the shared library list when the capture
 * did not include the executable's .dynamic (the why is in elfcore.h).
 *
 * gdb lists a core's shared libraries by reading r_debug, whose address it
 * takes from the DT_DEBUG entry of the executable's .dynamic in memory (the
 * dynamic linker fills it in at start-up).  .dynamic sits in the RELRO
 * region, read-only after relocation, so a capture of writable mappings
 * lacks it and gdb would read DT_DEBUG = 0 from the file.  Here, only if
 * that word is missing from the snapshot: take .dynamic from the
 * executable on disk, put the run-time address of the dynamic linker's
 * _r_debug (its symbol + its load bias) into DT_DEBUG, and add those bytes
 * as a segment.  The other entries of .dynamic are the same on disk and in
 * memory for the ones gdb uses (DT_DEBUG is the only one the loader writes
 * that gdb reads).
 *
 * Both files are opened by the paths the snapshot recorded and accepted
 * only if their build-id matches; any doubt means no segment and a warning.
 */
#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/notify.h"
#include "internal.h"

#define MAX_DYNAMIC (1u << 20) /* a .dynamic is a few hundred bytes */

struct elf_file {
    int fd;
    Elf *elf;
};

static void elf_file_close(struct elf_file *f)
{
    if (f->elf)
        elf_end(f->elf);
    if (f->fd >= 0)
        close(f->fd);
    f->elf = NULL;
    f->fd = -1;
}

/* The build-id note of f: 0 if it matches the module's, -1 otherwise. */
static int build_id_matches(Elf *elf, const struct hs_module *mod)
{
    size_t nph;
    if (mod->build_id_len == 0 || mod->build_id_len > sizeof mod->build_id ||
        elf_getphdrnum(elf, &nph) != 0)
        return -1;
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE)
            continue;
        Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
        if (!d)
            continue;
        size_t off = 0, name_off, desc_off;
        GElf_Nhdr nh;
        while (off < d->d_size && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
            if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
                !memcmp((char *)d->d_buf + name_off, "GNU", 4))
                return nh.n_descsz == mod->build_id_len &&
                               !memcmp((char *)d->d_buf + desc_off, mod->build_id, nh.n_descsz)
                           ? 0
                           : -1;
        }
    }
    return -1;
}

/* Open a module's file if it is the one the snapshot saw; why not in *why. */
static int open_module(const struct hs_module *mod, struct elf_file *f, const char **why)
{
    f->fd = -1;
    f->elf = NULL;
    if (!mod->path || mod->path[0] != '/') {
        *why = "no path recorded";
        return -1;
    }
    /* The path comes from the snapshot: it may name a FIFO (a plain open
     * would wait for a writer forever) or a device, so open without
     * blocking and read only a regular file. */
    struct stat st;
    f->fd = open(mod->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (f->fd < 0) {
        *why = "cannot open it";
        return -1;
    }
    if (fstat(f->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        *why = "not a regular file";
        close(f->fd);
        f->fd = -1;
        return -1;
    }
    f->elf = elf_begin(f->fd, ELF_C_READ, NULL);
    if (!f->elf || elf_kind(f->elf) != ELF_K_ELF || gelf_getclass(f->elf) != ELFCLASS64) {
        *why = "not a 64-bit ELF file";
        elf_file_close(f);
        return -1;
    }
    if (build_id_matches(f->elf, mod) != 0) {
        *why = "its build-id differs from the snapshot's";
        elf_file_close(f);
        return -1;
    }
    return 0;
}

static uint64_t auxv_get(const struct hs_process *p, uint64_t type)
{
    for (uint32_t i = 0; i < p->auxv_count; i++)
        if (p->auxv[2 * i] == type)
            return p->auxv[2 * i + 1];
    return 0;
}

/* The executable's module: the one at the recorded exe path, else the one
 * whose program headers are at AT_PHDR. */
static const struct hs_module *find_exe(const struct hs_snapshot *s)
{
    const struct hs_process *p = hs_get_process(s);
    size_t n;
    const struct hs_module *m = hs_get_modules(s, &n);
    for (size_t i = 0; i < n; i++)
        if (p->exe && m[i].path && !strcmp(m[i].path, p->exe))
            return &m[i];
    uint64_t phdr = auxv_get(p, AT_PHDR);
    const struct hs_module *best = NULL;
    for (size_t i = 0; phdr && i < n; i++)
        if (m[i].lowest <= phdr && (!best || m[i].lowest > best->lowest))
            best = &m[i];
    return best;
}

/* The dynamic linker's module: the one loaded at AT_BASE. */
static const struct hs_module *find_interp(const struct hs_snapshot *s)
{
    uint64_t base = auxv_get(hs_get_process(s), AT_BASE);
    size_t n;
    const struct hs_module *m = hs_get_modules(s, &n);
    for (size_t i = 0; base && i < n; i++)
        if (m[i].base == base || m[i].lowest == base)
            return &m[i];
    return NULL;
}

/* The value of symbol 'name' in f's .dynsym or .symtab; 0 if absent. */
static uint64_t find_symbol(Elf *elf, const char *name)
{
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB) ||
            sh.sh_entsize == 0)
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        if (!d)
            continue;
        size_t count = d->d_size / sh.sh_entsize;
        for (size_t i = 0; i < count; i++) {
            GElf_Sym sym;
            if (!gelf_getsym(d, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
                continue;
            const char *sn = elf_strptr(elf, sh.sh_link, sym.st_name);
            if (sn && !strcmp(sn, name))
                return sym.st_value;
        }
    }
    return 0;
}

static void warn_no_libs(const struct hs_snapshot *s, const char *what)
{
    notify_warn("%s: %s; gdb will not list the shared libraries (use --mappings=all when "
             "capturing, or gdb's 'sharedlibrary' by hand)",
             hs_snapshot_path(s), what);
}

void core_dtdebug(const struct hs_snapshot *s, struct core_segs *l)
{
    const struct hs_module *exe = find_exe(s);
    if (!exe)
        return; /* nothing to go on; a static executable needs no r_debug */
    if (elf_version(EV_CURRENT) == EV_NONE)
        return;

    struct elf_file ef, lf = {.fd = -1};
    const char *why;
    if (open_module(exe, &ef, &why) != 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "the executable %s: %s", exe->path, why);
        /* Only worth a warning if .dynamic is indeed missing; we cannot
         * tell without the file, so say it. */
        warn_no_libs(s, msg);
        return;
    }

    /* PT_DYNAMIC of the file; no PT_DYNAMIC means a static executable. */
    size_t nph;
    GElf_Phdr dyn = {0};
    int have_dyn = 0;
    if (elf_getphdrnum(ef.elf, &nph) == 0)
        for (size_t i = 0; i < nph; i++) {
            GElf_Phdr ph;
            if (gelf_getphdr(ef.elf, (int)i, &ph) && ph.p_type == PT_DYNAMIC) {
                dyn = ph;
                have_dyn = 1;
                break;
            }
        }
    if (!have_dyn || dyn.p_filesz == 0) {
        elf_file_close(&ef);
        return;
    }
    if (dyn.p_filesz > MAX_DYNAMIC || dyn.p_filesz % 16) {
        warn_no_libs(s, "the executable's .dynamic has an odd size");
        elf_file_close(&ef);
        return;
    }
    Elf_Data *d = elf_getdata_rawchunk(ef.elf, (int64_t)dyn.p_offset, dyn.p_filesz, ELF_T_BYTE);
    if (!d || d->d_size != dyn.p_filesz) {
        warn_no_libs(s, "cannot read the executable's .dynamic");
        elf_file_close(&ef);
        return;
    }

    /* Where DT_DEBUG is, and whether the snapshot has it already. */
    const uint8_t *bytes = d->d_buf;
    size_t ndyn = dyn.p_filesz / 16, debug = ndyn;
    for (size_t i = 0; i < ndyn; i++) {
        int64_t tag;
        memcpy(&tag, bytes + 16 * i, 8);
        if (tag == DT_DEBUG) {
            debug = i;
            break;
        }
        if (tag == DT_NULL)
            break;
    }
    uint64_t dyn_addr = exe->base + dyn.p_vaddr, word;
    if (debug == ndyn || hs_read_u64(s, dyn_addr + 16 * debug + 8, &word) == 0) {
        elf_file_close(&ef);
        return; /* no DT_DEBUG to fill, or captured: gdb reads it from the core */
    }

    const struct hs_module *interp = find_interp(s);
    uint64_t r_debug = 0;
    if (!interp)
        why = "the dynamic linker (AT_BASE) is not among the modules";
    else if (open_module(interp, &lf, &why) == 0) {
        uint64_t sym = find_symbol(lf.elf, "_r_debug");
        if (!sym)
            why = "the dynamic linker has no _r_debug symbol";
        else if (hs_read_u64(s, interp->base + sym, &word) != 0)
            why = "the dynamic linker's _r_debug was not captured";
        else
            r_debug = interp->base + sym;
    }
    if (!r_debug) {
        char msg[600];
        snprintf(msg, sizeof msg, "cannot reconstruct DT_DEBUG: %s%s%s", interp ? interp->path : "",
                 interp ? ": " : "", why);
        warn_no_libs(s, msg);
        elf_file_close(&lf);
        elf_file_close(&ef);
        return;
    }

    uint8_t *copy = malloc(dyn.p_filesz);
    uint8_t **owned = realloc(l->owned, (l->nowned + 1) * sizeof *owned);
    if (owned)
        l->owned = owned;
    if (!copy || !owned) {
        free(copy);
        warn_no_libs(s, "out of memory");
    } else {
        memcpy(copy, bytes, dyn.p_filesz);
        memcpy(copy + 16 * debug + 8, &r_debug, 8);
        l->owned[l->nowned++] = copy;
        struct core_seg seg = {.start = dyn_addr, .end = dyn_addr + dyn.p_filesz,
                               .pflags = PF_R, .own = copy};
        if (core_segs_add(l, &seg) != 0)
            warn_no_libs(s, "out of memory");
    }
    elf_file_close(&lf);
    elf_file_close(&ef);
}
