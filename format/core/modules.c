/*
 * modules.c — the files behind a core: one module per ELF file NT_FILE
 * names, with its load bias, ELF header, program headers and build-id;
 * then the names a core does not carry but the analyzer looks for
 * ([heap], [stack], [vdso]), the executable, and the threads' stacks.
 *
 * Headers come from the core itself where it holds them: the kernel dumps
 * the first page of every file mapping at offset 0 (coredump_filter bit 4,
 * on by default) and gcore does the same, and that page holds the ELF
 * header, the program headers and, in practice, the build-id note.  Only
 * where the core lacks them is the file on this machine read, and a warning
 * says so: that file may be another build.  A file that is neither in the
 * core nor on this machine is named in a warning with its NT_FILE entry.
 *
 * [heap] is the brk heap: the kernel places it at a random distance of at
 * most 1 GiB above the end of the executable's bss, and nothing else is
 * mapped there.  The mapping right at the end of the executable is its bss;
 * the heap is the next anonymous writable mapping in that window, or that
 * one if the two were merged.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"

#define MAX_PHDRS_BYTES (64 * 1024)
#define MAX_NOTE_BYTES  (64 * 1024)
#define BRK_RANDOM      (1ull << 30) /* arch_randomize_brk on x86_64: 1 GiB (32 MiB for ia32) */

/* A pointer to the len bytes at addr in the core's file bytes, or NULL. */
static const uint8_t *core_bytes(const struct core_in *ci, uint64_t addr, uint64_t len)
{
    for (size_t i = 0; i < ci->phnum; i++) {
        const Elf64_Phdr *ph = &ci->ph[i];
        if (ph->p_type != PT_LOAD || addr < ph->p_vaddr || addr - ph->p_vaddr > ph->p_filesz ||
            len > ph->p_filesz - (addr - ph->p_vaddr))
            continue;
        uint64_t off = ph->p_offset + (addr - ph->p_vaddr);
        return off <= ci->len && len <= ci->len - off ? ci->buf + off : NULL;
    }
    return NULL;
}

/* Copy len bytes at target address addr from the core's file bytes; 0 if
 * the core holds all of them. */
static int core_read(const struct core_in *ci, uint64_t addr, void *out, size_t len)
{
    const uint8_t *p = core_bytes(ci, addr, len);
    if (!p)
        return -1;
    memcpy(out, p, len);
    return 0;
}

/* Where a module's bytes are read from: the core, or a file. */
struct src {
    const struct core_in *ci;
    uint64_t base_addr; /* core: address of file offset 0 */
    int fd;             /* file: >= 0 */
};

static int src_read(const struct src *s, uint64_t off, void *out, size_t len)
{
    if (s->fd < 0)
        return core_read(s->ci, s->base_addr + off, out, len);
    size_t done = 0;
    while (done < len) {
        ssize_t r = pread(s->fd, (char *)out + done, len - done, (off_t)(off + done));
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

/* ELF header and program headers from s into mod; 0 if it is an x86_64 ELF file. */
static int read_headers(struct core_in *ci, const struct src *s, struct hs_module *mod)
{
    Elf64_Ehdr eh;
    if (src_read(s, 0, &eh, sizeof eh) < 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr))
        return -1;
    size_t phlen = (size_t)eh.e_phnum * sizeof(Elf64_Phdr);
    if (phlen == 0 || phlen > MAX_PHDRS_BYTES)
        return -1;
    uint8_t *e = hs_arena_alloc(ci->s, sizeof eh), *p = hs_arena_alloc(ci->s, phlen);
    if (!e || !p || src_read(s, eh.e_phoff, p, phlen) < 0)
        return -1;
    memcpy(e, &eh, sizeof eh);
    mod->ehdr = e;
    mod->ehdr_len = sizeof eh;
    mod->phdrs = p;
    mod->phdrs_len = (uint32_t)phlen;
    return 0;
}

/* NT_GNU_BUILD_ID from the PT_NOTE segments, read through s at their file
 * offsets (the first page of a file mapping is the file's first page). */
static void read_build_id(const struct src *s, struct hs_module *mod)
{
    size_t nph = mod->phdrs_len / sizeof(Elf64_Phdr);
    for (size_t i = 0; i < nph && !mod->build_id_len; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, mod->phdrs + i * sizeof ph, sizeof ph);
        if (ph.p_type != PT_NOTE || ph.p_filesz == 0 || ph.p_filesz > MAX_NOTE_BYTES)
            continue;
        uint8_t buf[MAX_NOTE_BYTES];
        if (src_read(s, ph.p_offset, buf, (size_t)ph.p_filesz) < 0)
            continue;
        hs_find_build_id(buf, (size_t)ph.p_filesz, ph.p_align, mod->build_id, &mod->build_id_len);
    }
}

/* The load bias, as the capture computes it: the mapping of this file at
 * its first PT_LOAD's (page-aligned) offset starts at that segment's
 * (page-aligned) vaddr plus the bias. */
static void find_bias(const struct core_in *ci, const char *path, struct hs_module *mod)
{
    size_t nph = mod->phdrs_len / sizeof(Elf64_Phdr);
    uint64_t mask = ~(uint64_t)(ci->page_size - 1);
    for (size_t i = 0; i < nph; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, mod->phdrs + i * sizeof ph, sizeof ph);
        if (ph.p_type != PT_LOAD)
            continue;
        for (size_t k = 0; k < ci->s->nmappings; k++) {
            const struct hs_mapping *m = &ci->s->mappings[k];
            if (!strcmp(m->path, path) && m->offset == (ph.p_offset & mask)) {
                mod->base = m->start - (ph.p_vaddr & mask);
                return;
            }
        }
        return;
    }
}

static void hex(char *out, const uint8_t *id, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", id[i]);
    out[2 * n] = 0;
}

/* Fill one module for the file of NT_FILE entry fno, mapped first at
 * 'first' (offset 0) and lowest at 'lowest'.  'disk' is the file to read
 * when the core lacks its headers (the NT_FILE path, or --exe).  1 if it is
 * an ELF module, 0 if not, -1 on an error (ci->err set). */
static int one_module(struct core_in *ci, size_t fno, const char *path, const char *disk, uint64_t first,
                      uint64_t lowest, int is_exe, struct hs_module *mod)
{
    memset(mod, 0, sizeof *mod);
    mod->lowest = lowest;
    struct src core = {ci, first, -1};
    int in_core = first != UINT64_MAX && read_headers(ci, &core, mod) == 0;
    int fd = open(disk, O_RDONLY | O_CLOEXEC);
    struct src file = {ci, 0, fd};
    const struct core_file *f = &ci->files[fno];
    if (in_core)
        read_build_id(&core, mod);
    if (is_exe && ci->exe_override) {
        /* --exe: the file must be the build the core ran. */
        struct hs_module fm = {0};
        if (fd < 0 || read_headers(ci, &file, &fm) < 0) {
            if (fd >= 0)
                close(fd);
            return cr_err(ci, "--exe %s: %s", disk, fd < 0 ? "cannot open it" : "not an x86_64 ELF file");
        }
        read_build_id(&file, &fm);
        char a[129], b[129];
        if (in_core && mod->build_id_len && fm.build_id_len &&
            (mod->build_id_len != fm.build_id_len || memcmp(mod->build_id, fm.build_id, fm.build_id_len))) {
            hex(a, fm.build_id, fm.build_id_len);
            hex(b, mod->build_id, mod->build_id_len);
            close(fd);
            return cr_err(ci, "--exe %s has build-id %s, but the executable in the core (NT_FILE entry %zu, %s) "
                            "has build-id %s: another build", disk, a, fno, f->path, b);
        }
        if (in_core && (mod->ehdr_len != fm.ehdr_len || memcmp(mod->ehdr, fm.ehdr, fm.ehdr_len) ||
                        mod->phdrs_len != fm.phdrs_len || memcmp(mod->phdrs, fm.phdrs, fm.phdrs_len))) {
            close(fd);
            return cr_err(ci, "--exe %s: its ELF headers differ from those of the executable in the core "
                            "(NT_FILE entry %zu, %s): another build", disk, fno, f->path);
        }
        if (!in_core || !mod->build_id_len)
            *mod = fm, mod->lowest = lowest;
        in_core = 1;
    }
    if (!in_core) {
        if (fd < 0) {
            cr_warn(ci, "%s: NT_FILE entry %zu names %s (0x%llx-0x%llx), which is not on this machine, and the "
                      "core holds no ELF header for it: no build-id, so no symbols or types from it", ci->name, fno,
                      path, (unsigned long long)f->start, (unsigned long long)f->end);
            return 0;
        }
        if (read_headers(ci, &file, mod) < 0) {
            close(fd);
            return 0; /* not an ELF file: data, a locale archive, ... */
        }
        read_build_id(&file, mod);
        cr_warn(ci, "%s: NT_FILE entry %zu (%s): the core holds no ELF header for it, so its headers and "
                  "build-id were read from the file on this machine, which may be another build", ci->name, fno,
                  path);
    } else if (!mod->build_id_len && fd >= 0) {
        /* The note lay beyond the dumped page: take it from the file if
         * that file's headers are the core's. */
        struct hs_module fm = {0};
        if (read_headers(ci, &file, &fm) == 0 && fm.ehdr_len == mod->ehdr_len &&
            !memcmp(fm.ehdr, mod->ehdr, fm.ehdr_len) && fm.phdrs_len == mod->phdrs_len &&
            !memcmp(fm.phdrs, mod->phdrs, fm.phdrs_len))
            read_build_id(&file, mod);
    } else if (fd < 0) {
        char id[129];
        if (mod->build_id_len > 1) {
            hex(id, mod->build_id, mod->build_id_len);
            cr_warn(ci, "%s: NT_FILE entry %zu names %s, which is not on this machine; the core gives its "
                      "build-id, so --debug-dir DIR finds a copy at DIR/.build-id/%.2s/%s", ci->name, fno, path,
                      id, id + 2);
        } else {
            cr_warn(ci, "%s: NT_FILE entry %zu names %s, which is not on this machine, and it has no build-id: "
                      "--debug-dir DIR finds a copy at DIR/%s", ci->name, fno, path, path);
        }
    }
    if (fd >= 0)
        close(fd);
    return 1;
}

/*
 * The whole command line, from the initial stack, where NT_PRPSINFO keeps
 * only its first 80 bytes.  At exec the kernel lays out, upwards from the
 * first stack pointer: argc, argv[0..argc-1], NULL, envp..., NULL, then the
 * auxiliary vector NT_AUXV copies.  So the vector is found in the stack,
 * and argc and argv are read backwards from it.  Only argv is followed:
 * the environment is never read (it is never captured).  Nothing found,
 * or anything implausible, keeps the 80 bytes.
 */
static void argv_from_stack(struct core_in *ci, uint64_t lo, uint64_t hi)
{
    struct hs_process *p = &ci->s->process;
    size_t need = (size_t)p->auxv_count * 16;
    if (!need || hi - lo < need + 64)
        return;
    if (hi - lo > (8u << 20))
        lo = hi - (8u << 20);
    const uint8_t *st = core_bytes(ci, lo, hi - lo);
    if (!st)
        return;
    size_t len = (size_t)(hi - lo), at = SIZE_MAX;
    for (size_t off = (len - need) & ~(size_t)7;; off -= 8) {
        if (!memcmp(st + off, p->auxv, need)) {
            at = off;
            break;
        }
        if (off < 8)
            return;
    }
    uint64_t w;
    size_t k = at;
    /* envp pointers, back to argv's NULL */
    if (k < 8 || (memcpy(&w, st + k - 8, 8), w != 0))
        return;
    k -= 8;
    for (;;) {
        if (k < 8)
            return;
        memcpy(&w, st + k - 8, 8);
        k -= 8;
        if (w == 0)
            break;
    }
    /* argv pointers, back to argc */
    uint64_t n = 0;
    for (;;) {
        if (k < 8 || n > 65536)
            return;
        memcpy(&w, st + k - 8, 8);
        k -= 8;
        if (w == n)
            break;
        if (w < lo || w >= hi)
            return;
        n++;
    }
    if (n == 0)
        return;
    char **argv = hs_arena_alloc(ci->s, (size_t)n * sizeof *argv);
    if (!argv)
        return;
    for (uint64_t i = 0; i < n; i++) {
        memcpy(&w, st + k + 8 + 8 * i, 8);
        const char *str = (const char *)st + (w - lo);
        size_t max = (size_t)(hi - w);
        if (!memchr(str, 0, max) || !(argv[i] = cr_strndup(ci, str, max)))
            return;
    }
    p->argv = argv;
    p->argc = (uint32_t)n;
}

static int mapping_at(const struct hs_snapshot *s, uint64_t addr)
{
    for (size_t i = 0; i < s->nmappings; i++)
        if (s->mappings[i].start <= addr && addr < s->mappings[i].end)
            return (int)i;
    return -1;
}

static void name_pseudo(struct core_in *ci, const char *exe)
{
    struct hs_snapshot *s = ci->s;
    const struct hs_process *p = &s->process;
    for (uint32_t i = 0; i < p->auxv_count; i++)
        if (p->auxv[2 * i] == AT_SYSINFO_EHDR) {
            int k = mapping_at(s, p->auxv[2 * i + 1]);
            if (k >= 0 && (s->mappings[k].flags & HS_MAP_ANON))
                s->mappings[k].path = (char *)"[vdso]";
        }
    for (size_t i = 0; i < s->nmappings; i++)
        if (s->mappings[i].start >= 0xffffffffff600000ull && (s->mappings[i].flags & HS_MAP_ANON))
            s->mappings[i].path = (char *)"[vsyscall]";
    for (size_t t = 0; t < s->nthreads; t++)
        if (s->threads[t].tid == p->pid) {
            int k = mapping_at(s, s->threads[t].regs[HS_RSP]);
            if (k >= 0 && (s->mappings[k].flags & HS_MAP_ANON))
                s->mappings[k].path = (char *)"[stack]";
        }
    /* [heap]: see the top of this file.  Mappings are in address order up
     * to the NT_FILE-only ones at the end, which are never anonymous. */
    uint64_t exe_end = 0;
    for (size_t i = 0; exe && i < s->nmappings; i++)
        if (!strcmp(s->mappings[i].path, exe) && s->mappings[i].end > exe_end)
            exe_end = s->mappings[i].end;
    if (!exe_end)
        return;
    int cand[2] = {-1, -1}, nc = 0;
    for (size_t i = 0; i < s->nmappings && nc < 2; i++) {
        struct hs_mapping *m = &s->mappings[i];
        if (m->start < exe_end)
            continue;
        if (m->start - exe_end > BRK_RANDOM + ci->page_size)
            break;
        if ((m->flags & (HS_MAP_ANON | HS_MAP_W)) != (HS_MAP_ANON | HS_MAP_W) || m->path[0])
            break; /* anything else in the window: not the layout above */
        cand[nc++] = (int)i;
    }
    int heap = -1;
    if (nc == 2 && s->mappings[cand[0]].start == exe_end)
        heap = cand[1];
    else if (nc >= 1)
        heap = cand[0];
    if (heap >= 0)
        s->mappings[heap].path = (char *)"[heap]";
}

int cr_modules(struct core_in *ci)
{
    struct hs_snapshot *s = ci->s;
    struct hs_process *p = &s->process;
    uint64_t at_phdr = 0, at_entry = 0;
    for (uint32_t i = 0; i < p->auxv_count; i++) {
        if (p->auxv[2 * i] == AT_PHDR)
            at_phdr = p->auxv[2 * i + 1];
        if (p->auxv[2 * i] == AT_ENTRY)
            at_entry = p->auxv[2 * i + 1];
    }
    int k = mapping_at(s, at_phdr ? at_phdr : at_entry);
    const char *exe = k >= 0 && s->mappings[k].path[0] == '/' ? s->mappings[k].path : NULL;
    if (exe && ci->exe_override) {
        const char *was = exe;
        char abs[PATH_MAX];
        if (!realpath(ci->exe_override, abs))
            return cr_err(ci, "--exe %s: %s", ci->exe_override, strerror(errno));
        char *now = cr_strndup(ci, abs, sizeof abs);
        if (!now)
            return cr_err(ci, "out of memory");
        for (size_t i = 0; i < s->nmappings; i++)
            if (!strcmp(s->mappings[i].path, was))
                s->mappings[i].path = now;
        for (size_t i = 0; i < ci->nfiles; i++)
            if (!strcmp(ci->files[i].path, was))
                ci->files[i].path = now;
        exe = now;
    } else if (!exe && ci->exe_override) {
        return cr_err(ci, "--exe %s: the core's auxiliary vector (NT_AUXV) locates no executable mapping to "
                        "replace", ci->exe_override);
    }
    s->modules = calloc(ci->nfiles ? ci->nfiles : 1, sizeof *s->modules);
    if (!s->modules)
        return cr_err(ci, "out of memory");
    for (size_t i = 0; i < ci->nfiles; i++) {
        const char *path = ci->files[i].path;
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(ci->files[j].path, path);
        if (seen || path[0] != '/')
            continue;
        uint64_t first = UINT64_MAX, lowest = UINT64_MAX;
        for (size_t m = 0; m < s->nmappings; m++) {
            const struct hs_mapping *mp = &s->mappings[m];
            if (strcmp(mp->path, path))
                continue;
            if (mp->start < lowest)
                lowest = mp->start;
            if (mp->offset == 0 && first == UINT64_MAX)
                first = mp->start;
        }
        struct hs_module *mod = &s->modules[s->nmodules];
        int r = one_module(ci, i, path, path, first, lowest, exe && !strcmp(path, exe), mod);
        if (r < 0)
            return -1;
        if (r == 0)
            continue;
        mod->path = (char *)path;
        find_bias(ci, path, mod);
        s->nmodules++;
    }
    /* The process record. */
    p->machine = EM_X86_64;
    p->policy = HS_POLICY_WRITABLE;
    p->pid = ci->have_prpsinfo ? ci->ps_pid : s->threads[0].tid;
    p->capture_time_ns = ci->mtime_ns > 0 ? (uint64_t)ci->mtime_ns : 0;
    p->kernel_release = (char *)"";
    p->hostname = (char *)"";
    const char *comm = p->exe ? p->exe : "";
    if (exe)
        p->exe = (char *)exe;
    else if (!p->exe)
        p->exe = (char *)"";
    if (!p->argv && !(p->argv = hs_arena_alloc(s, sizeof *p->argv)))
        return cr_err(ci, "out of memory");
    for (size_t t = 0; t < s->nthreads; t++) {
        struct hs_thread *th = &s->threads[t];
        if (th->tid == p->pid) {
            snprintf(th->name, sizeof th->name, "%s", comm);
            if (ci->have_prpsinfo && ci->sname > 0x20 && ci->sname < 0x7f)
                th->state = ci->sname;
        }
        int m = mapping_at(s, th->regs[HS_RSP]);
        if (m >= 0) {
            th->stack_start = s->mappings[m].start;
            th->stack_end = s->mappings[m].end;
        }
    }
    name_pseudo(ci, exe);
    for (size_t i = 0; i < s->nmappings; i++)
        if (!strcmp(s->mappings[i].path, "[stack]"))
            argv_from_stack(ci, s->mappings[i].start, s->mappings[i].end);
    return 0;
}
