/*
 * dbgprobe.c — a test driver for analyze/debuginfo/: open the debug info
 * behind a snapshot (or behind a live process) and answer lookups given on
 * the command line, one line of output per answer, in a form the shell
 * tests (tests/t2000-debuginfo.sh) compare with gdb's.
 *
 *   dbgprobe [options] SNAPSHOT.hsnap LOOKUP...
 *   dbgprobe [options] --pid PID LOOKUP...
 *
 * options:  --debug-dir DIR (repeatable)  --no-separate-debug
 *           --no-system-debug  --module PREFIX (restrict lookups)  --time
 * lookups:  modules | struct NAME | var NAME | tls NAME | const NAME |
 *           sym NAME | addr 0xADDR
 *
 * With --pid, the module list is built the way heapsnap-capture builds it
 * (from /proc/PID/maps, with each module's build-id read from the
 * process's memory, not from the file), so that debuginfo can be tested
 * before, and independently of, the capture tool.
 */
#include <elf.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "debuginfo/debuginfo.h"
#include "hsnap.h"

static int time_lookups;
static int module = -1;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------ --pid */

static int read_mem(int fd, uint64_t addr, void *buf, size_t len)
{
    return pread(fd, buf, len, (off_t)addr) == (ssize_t)len ? 0 : -1;
}

/* The GNU build-id from the PT_NOTE segments of the module loaded at 'base'. */
static void mem_build_id(int fd, struct hs_module *m, const Elf64_Phdr *ph, int n)
{
    for (int i = 0; i < n; i++) {
        if (ph[i].p_type != PT_NOTE || ph[i].p_filesz > 65536)
            continue;
        uint8_t buf[65536];
        size_t len = ph[i].p_filesz;
        if (read_mem(fd, m->base + ph[i].p_vaddr, buf, len) < 0)
            continue;
        for (size_t off = 0; off + 12 <= len;) {
            uint32_t nsz, dsz, type;
            memcpy(&nsz, buf + off, 4);
            memcpy(&dsz, buf + off + 4, 4);
            memcpy(&type, buf + off + 8, 4);
            size_t name = off + 12, desc = name + ((nsz + 3u) & ~3u);
            if (nsz > len || dsz > len || desc + dsz > len)
                break;
            if (type == NT_GNU_BUILD_ID && nsz == 4 && !memcmp(buf + name, "GNU", 4) &&
                dsz <= sizeof m->build_id) {
                memcpy(m->build_id, buf + desc, dsz);
                m->build_id_len = dsz;
                return;
            }
            off = desc + ((dsz + 3u) & ~3u);
        }
    }
}

static struct hs_module *pid_modules(int pid, size_t *nout)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    FILE *f = fopen(path, "r");
    snprintf(path, sizeof path, "/proc/%d/mem", pid);
    int fd = open(path, O_RDONLY);
    if (!f || fd < 0) {
        perror(path);
        exit(1);
    }
    struct hs_module *mods = NULL;
    size_t n = 0;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        unsigned long long start, end, off;
        int pathpos = 0;
        if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %n", &start, &end, &off, &pathpos) < 3 ||
            !pathpos || line[pathpos] != '/' || off != 0)
            continue;
        line[strcspn(line, "\n")] = '\0';
        const char *p = line + pathpos;
        int seen = 0;
        for (size_t i = 0; i < n; i++)
            seen |= !strcmp(mods[i].path, p);
        Elf64_Ehdr eh;
        if (seen || read_mem(fd, start, &eh, sizeof eh) < 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
            eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 256)
            continue;
        Elf64_Phdr ph[256];
        if (read_mem(fd, start + eh.e_phoff, ph, eh.e_phnum * sizeof *ph) < 0)
            continue;
        struct hs_module m = {.lowest = start};
        for (int i = 0; i < eh.e_phnum; i++) {
            if (ph[i].p_type == PT_LOAD) {
                m.base = start - (ph[i].p_vaddr & ~(uint64_t)4095);
                break;
            }
        }
        mem_build_id(fd, &m, ph, eh.e_phnum);
        m.path = strdup(p);
        mods = realloc(mods, (n + 1) * sizeof *mods);
        if (!mods || !m.path)
            exit(1);
        mods[n++] = m;
    }
    fclose(f);
    close(fd);
    *nout = n;
    return mods;
}

/* ------------------------------------------------------------ lookups */

static void print_layout(const struct dbg_layout *l, const char *prefix, uint64_t base, int depth)
{
    for (size_t i = 0; i < l->nfields; i++) {
        const struct dbg_field *f = &l->fields[i];
        printf("field %s%s %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", prefix, f->name[0] ? f->name : "<anon>",
               base + f->offset, f->size, f->count);
        if (f->layout && f->name[0] && depth < 4) {
            char sub[512];
            snprintf(sub, sizeof sub, "%s%s.", prefix, f->name);
            print_layout(f->layout, sub, base + f->offset, depth + 1);
        }
    }
}

static int lookup(struct dbg *d, const char *what, const char *arg)
{
    double t0 = now_ms();
    int ok = 1;
    if (!strcmp(what, "struct")) {
        const struct dbg_layout *l = dbg_struct(d, arg, module);
        if ((ok = l != NULL)) {
            printf("struct %s size %" PRIu64 "\n", arg, l->size);
            print_layout(l, "", 0, 0);
        } else {
            printf("struct %s unknown\n", arg);
        }
    } else if (!strcmp(what, "var") || !strcmp(what, "tls")) {
        /* the same answer, an address or an offset in the TLS block */
        uint64_t where, size;
        int (*find)(struct dbg *, const char *, int, uint64_t *, uint64_t *) =
            what[0] == 'v' ? dbg_variable : dbg_tls_variable;
        if ((ok = find(d, arg, module, &where, &size) == 0))
            printf("%s %s 0x%" PRIx64 " %" PRIu64 "\n", what, arg, where, size);
        else
            printf("%s %s unknown\n", what, arg);
    } else if (!strcmp(what, "const")) {
        int64_t v;
        if ((ok = dbg_constant(d, arg, module, &v) == 0))
            printf("const %s %" PRId64 "\n", arg, v);
        else
            printf("const %s unknown\n", arg);
    } else if (!strcmp(what, "sym")) {
        const struct dbg_symbol *s = dbg_symbol_by_name(d, arg, module);
        if ((ok = s != NULL))
            printf("sym %s 0x%" PRIx64 " %" PRIu64 " %s\n", arg, s->addr, s->size,
                   dbg_module(d, s->module)->module->path);
        else
            printf("sym %s unknown\n", arg);
    } else if (!strcmp(what, "addr")) {
        uint64_t a = strtoull(arg, NULL, 0);
        const struct dbg_symbol *s = dbg_symbol_at(d, a);
        if ((ok = s != NULL))
            printf("addr 0x%" PRIx64 " %s+0x%" PRIx64 "\n", a, s->name, a - s->addr);
        else
            printf("addr 0x%" PRIx64 " unknown\n", a);
    } else {
        fprintf(stderr, "dbgprobe: unknown lookup '%s'\n", what);
        return -1;
    }
    if (time_lookups)
        printf("# time %s %s %.3f ms\n", what, arg, now_ms() - t0);
    return ok ? 0 : 1;
}

static void print_modules(const struct dbg *d)
{
    for (size_t i = 0; i < dbg_nmodules(d); i++) {
        const struct dbg_module_info *m = dbg_module(d, i);
        printf("module %zu %s elf=%s debug=%s symtab=%d dwarf=%d\n", i, m->module->path,
               m->elf_path ? m->elf_path : "-", m->debug_path ? m->debug_path : "-",
               m->has_symtab, m->has_dwarf);
        if (m->problem)
            printf("problem %zu %s\n", i, m->problem);
    }
}

int main(int argc, char **argv)
{
    const char *dirs[64];
    struct dbg_options opt = {.debug_dirs = dirs};
    const char *modprefix = NULL, *snapshot = NULL;
    int pid = 0, i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (!strcmp(argv[i], "--debug-dir") && i + 1 < argc && opt.ndebug_dirs < 64)
            dirs[opt.ndebug_dirs++] = argv[++i];
        else if (!strcmp(argv[i], "--no-separate-debug"))
            opt.no_separate_debug = 1;
        else if (!strcmp(argv[i], "--no-system-debug"))
            opt.no_system_debug = 1;
        else if (!strcmp(argv[i], "--module") && i + 1 < argc)
            modprefix = argv[++i];
        else if (!strcmp(argv[i], "--time"))
            time_lookups = 1;
        else if (!strcmp(argv[i], "--pid") && i + 1 < argc)
            pid = atoi(argv[++i]);
        else {
            fprintf(stderr, "dbgprobe: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!pid) {
        if (i >= argc) {
            fprintf(stderr, "usage: dbgprobe [options] (SNAPSHOT | --pid PID) LOOKUP...\n");
            return 2;
        }
        snapshot = argv[i++];
    }

    struct hs_snapshot *snap = NULL;
    struct hs_module *mods = NULL;
    size_t nmods = 0;
    double t0 = now_ms();
    struct dbg *d;
    if (snapshot) {
        struct hs_error err;
        if (!(snap = hs_open(snapshot, HS_OPEN_METADATA_ONLY, &err))) {
            fprintf(stderr, "dbgprobe: %s\n", err.msg);
            return 1;
        }
        d = dbg_open(snap, &opt);
    } else {
        mods = pid_modules(pid, &nmods);
        d = dbg_open_modules(mods, nmods, &opt);
    }
    if (!d) {
        fprintf(stderr, "dbgprobe: out of memory\n");
        return 1;
    }
    if (time_lookups)
        printf("# time open %.3f ms\n", now_ms() - t0);
    if (modprefix && (module = dbg_find_module(d, modprefix)) < 0) {
        fprintf(stderr, "dbgprobe: no module %s\n", modprefix);
        return 1;
    }

    int rc = 0;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "modules")) {
            print_modules(d);
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "dbgprobe: %s needs an argument\n", argv[i]);
            rc = 2;
            break;
        }
        int r = lookup(d, argv[i], argv[i + 1]);
        if (r < 0) {
            rc = 2;
            break;
        }
        if (r)
            rc = 1;
        i++;
    }
    dbg_close(d);
    if (snap)
        hs_close(snap);
    for (size_t k = 0; k < nmods; k++)
        free(mods[k].path);
    free(mods);
    return rc;
}
