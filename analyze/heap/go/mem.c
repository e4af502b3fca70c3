/*
 * go/mem.c — how the Go walker reads the target: from the snapshot first,
 * and for what the snapshot lacks, from the executable's file.
 *
 * A default ("writable") capture holds .data, .bss and the heap but not
 * read-only data, and the Go runtime keeps two things the walker wants
 * there: the pclntab (function names for goroutines) and the bytes of
 * string constants (wait reasons).  Those are the same in every process
 * running the binary, so reading them from the file is exact — debuginfo
 * only hands out a file whose build-id matches the snapshot's module.  Only
 * file-backed bytes of PT_LOAD segments are read this way; .bss and the heap
 * come from the snapshot or not at all.  The file is mapped read-only when
 * it can be (the stack unwinder reads the pclntab's tables for every
 * frame), else read with pread.
 */
#include <elf.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "heap/go/internal.h"

int go_mem_open(struct go_walk *w)
{
    const struct dbg_module_info *mi = dbg_module(w->c->dbg, (size_t)w->module);
    w->fd = -1;
    if (mi && mi->elf_path)
        w->fd = open(mi->elf_path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    w->map = NULL;
    w->map_len = 0;
    if (w->fd >= 0 && !fstat(w->fd, &st) && st.st_size > 0) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, w->fd, 0);
        if (m != MAP_FAILED) {
            w->map = m;
            w->map_len = (uint64_t)st.st_size;
        }
    }
    return w->fd >= 0 ? 0 : -1;
}

void go_mem_close(struct go_walk *w)
{
    if (w->map)
        munmap(w->map, (size_t)w->map_len);
    w->map = NULL;
    w->map_len = 0;
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
}

/* [addr, addr + len) from the file's PT_LOAD contents, if wholly there. */
static int file_read(const struct go_walk *w, uint64_t addr, void *buf, size_t len)
{
    const struct dbg_module_info *mi = dbg_module(w->c->dbg, (size_t)w->module);
    const struct hs_module *m = mi ? mi->module : NULL;
    if (w->fd < 0 || !m || !m->phdrs || m->phdrs_len % sizeof(Elf64_Phdr) || addr < m->base)
        return -1;
    uint64_t v = addr - m->base;
    for (size_t k = 0; k < m->phdrs_len / sizeof(Elf64_Phdr) && k < 4096; k++) {
        Elf64_Phdr ph;
        memcpy(&ph, m->phdrs + k * sizeof ph, sizeof ph);
        if (ph.p_type != PT_LOAD || v < ph.p_vaddr || v - ph.p_vaddr >= ph.p_filesz ||
            len > ph.p_filesz - (v - ph.p_vaddr))
            continue;
        uint64_t off = ph.p_offset + (v - ph.p_vaddr);
        if (w->map && off <= w->map_len && len <= w->map_len - off) {
            memcpy(buf, (const uint8_t *)w->map + off, len);
            return 0;
        }
        return pread(w->fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -1;
    }
    return -1;
}

int go_read(const struct go_walk *w, uint64_t addr, void *buf, size_t len)
{
    if (addr + len < addr)
        return -1;
    if (hs_read(w->c->snap, addr, buf, len) == 0)
        return 0;
    return file_read(w, addr, buf, len);
}

int go_u64(const struct go_walk *w, uint64_t addr, uint64_t *v)
{
    return go_read(w, addr, v, 8);
}

uint64_t go_get(const uint8_t *buf, int64_t off, unsigned size)
{
    uint64_t v = 0;
    memcpy(&v, buf + off, size > 8 ? 8 : size); /* little-endian host and target */
    return v;
}

int go_field(const struct go_walk *w, uint64_t addr, int64_t off, unsigned size, uint64_t *v)
{
    uint8_t b[8] = {0};
    if (off < 0 || size == 0 || size > 8 || go_read(w, addr + (uint64_t)off, b, size))
        return -1;
    *v = go_get(b, 0, size);
    return 0;
}
