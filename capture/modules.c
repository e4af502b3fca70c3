/*
 * modules.c — build-id, load bias and ELF headers of the mapped files.
 * See modules.h.
 */
#include "modules.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PHDRS_BYTES (64 * 1024)
#define MAX_NOTE_BYTES  (64 * 1024)

static int open_module(pid_t pid, const struct hs_mapping *m)
{
    char path[4200];
    snprintf(path, sizeof path, "/proc/%d/map_files/%llx-%llx", (int)pid, (unsigned long long)m->start,
             (unsigned long long)m->end);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
        return fd;
    snprintf(path, sizeof path, "/proc/%d/root%s", (int)pid, m->path);
    return open(path, O_RDONLY | O_CLOEXEC);
}

static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t r = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

/* Find NT_GNU_BUILD_ID in one PT_NOTE segment. */
static void find_build_id(int fd, const Elf64_Phdr *ph, struct hs_module *mod)
{
    if (ph->p_filesz == 0 || ph->p_filesz > MAX_NOTE_BYTES)
        return;
    uint8_t *buf = malloc(ph->p_filesz);
    if (!buf || read_at(fd, buf, ph->p_filesz, ph->p_offset) < 0) {
        free(buf);
        return;
    }
    hs_find_build_id(buf, (size_t)ph->p_filesz, ph->p_align, mod->build_id, &mod->build_id_len);
    free(buf);
}

/* Fill ehdr, phdrs, build-id and bias from the file; 0 if it is an ELF file. */
static int read_elf(int fd, const struct hs_mapping *maps, size_t n, const char *path, uint32_t psz,
                    struct hs_module *mod)
{
    Elf64_Ehdr eh;
    if (read_at(fd, &eh, sizeof eh, 0) < 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
        return -1;
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr))
        return -1;
    size_t phlen = (size_t)eh.e_phnum * sizeof(Elf64_Phdr);
    if (phlen == 0 || phlen > MAX_PHDRS_BYTES)
        return -1;
    Elf64_Phdr *ph = malloc(phlen);
    mod->ehdr = malloc(sizeof eh);
    if (!ph || !mod->ehdr || read_at(fd, ph, phlen, eh.e_phoff) < 0) {
        free(ph);
        free(mod->ehdr);
        mod->ehdr = NULL;
        return -1;
    }
    memcpy(mod->ehdr, &eh, sizeof eh);
    mod->ehdr_len = sizeof eh;
    mod->phdrs = (uint8_t *)ph;
    mod->phdrs_len = (uint32_t)phlen;

    /* The bias comes from the first PT_LOAD: the mapping of this file at
     * that segment's (page-aligned) file offset starts at its (page-aligned)
     * vaddr plus the bias. */
    const Elf64_Phdr *load = NULL;
    for (size_t i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD && !load)
            load = &ph[i];
        if (ph[i].p_type == PT_NOTE && mod->build_id_len == 0)
            find_build_id(fd, &ph[i], mod);
    }
    if (load) {
        uint64_t mask = ~(uint64_t)(psz - 1);
        for (size_t i = 0; i < n; i++) {
            if (strcmp(maps[i].path, path) == 0 && maps[i].offset == (load->p_offset & mask)) {
                mod->base = maps[i].start - (load->p_vaddr & mask);
                break;
            }
        }
    }
    return 0;
}

int modules_collect(pid_t pid, const struct hs_mapping *maps, size_t n, uint32_t psz, struct hs_module **out,
                    size_t *nout)
{
    struct hs_module *v = calloc(n ? n : 1, sizeof *v);
    size_t cnt = 0;
    if (!v)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const struct hs_mapping *m = &maps[i];
        if (m->path[0] != '/')
            continue;
        int seen = 0;
        for (size_t j = 0; j < cnt && !seen; j++)
            seen = strcmp(v[j].path, m->path) == 0;
        if (seen)
            continue;
        struct hs_module mod;
        memset(&mod, 0, sizeof mod);
        mod.lowest = m->start; /* maps are sorted: the first is the lowest */
        int fd = open_module(pid, m);
        if (fd < 0)
            continue;
        int is_elf = read_elf(fd, maps, n, m->path, psz, &mod) == 0;
        close(fd);
        if (!is_elf)
            continue;
        mod.path = strdup(m->path);
        v[cnt++] = mod;
    }
    *out = v;
    *nout = cnt;
    return 0;
}

void modules_free(struct hs_module *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(m[i].path);
        free(m[i].ehdr);
        free(m[i].phdrs);
    }
    free(m);
}
