/*
 * memory.c — the PT_LOAD segments of a core become the snapshot's mappings
 * and captured ranges.
 *
 * Each PT_LOAD is one mapping of the process (the kernel and gdb write one
 * per VMA, bytes or not).  NT_FILE says which are files.  A captured range
 * holds exactly the whole pages the core file holds of it, so the memory an
 * open costs is bounded by the file, whatever its headers claim.  The rest
 * of the mapping has no range, so a read of it fails, never returns zeros,
 * and a failure record (hs_stats.failures, `heapsnap info`) says why:
 *  - "not in the core": the pages after p_filesz of an anonymous mapping,
 *    which the dumper chose not to write;
 *  - "truncated": pages p_filesz promises but the file ends before (a
 *    core cut by a size limit); the snapshot is then marked truncated.
 * The rest of a file mapping (usually all but its ELF header page,
 * coredump_filter bit 4) is the file's, as in a capture that did not copy
 * it.  Mappings without read permission get no range, as in a capture.
 *
 * A PT_LOAD that is not page-aligned is not a mapping: heapsnap's own core
 * writer adds one holding a rebuilt .dynamic (analyze/elfcore/dtdebug.c)
 * inside the executable's mapping.  It is left out, with a warning.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/internal.h"

static const char NOT_IN_CORE[] = "not in the core (the dumper left it out: coredump_filter, MADV_DONTDUMP, "
                                  "or never touched)";

struct fail {
    uint64_t start, end;
    int truncated;
};

struct fails {
    struct fail *v;
    size_t n, cap;
};

static int add_fail(struct fails *f, uint64_t start, uint64_t end, int truncated)
{
    if (start >= end)
        return 0;
    if (f->n && f->v[f->n - 1].end == start && f->v[f->n - 1].truncated == truncated) {
        f->v[f->n - 1].end = end;
        return 0;
    }
    if (f->n == f->cap) {
        size_t c = f->cap ? 2 * f->cap : 32;
        struct fail *v = realloc(f->v, c * sizeof *v);
        if (!v)
            return -1;
        f->v = v;
        f->cap = c;
    }
    f->v[f->n++] = (struct fail){start, end, truncated};
    return 0;
}

static const struct core_file *file_at(const struct core_in *ci, uint64_t addr)
{
    for (size_t i = 0; i < ci->nfiles; i++)
        if (ci->files[i].start <= addr && addr < ci->files[i].end)
            return &ci->files[i];
    return NULL;
}

static int by_vaddr(const void *a, const void *b)
{
    const Elf64_Phdr *x = *(const Elf64_Phdr *const *)a, *y = *(const Elf64_Phdr *const *)b;
    return x->p_vaddr < y->p_vaddr ? -1 : x->p_vaddr > y->p_vaddr;
}

/* The range of one PT_LOAD: its first npages pages, all in the file. */
static int add_range(struct core_in *ci, const Elf64_Phdr *ph, size_t phno, uint64_t npages, int anon)
{
    struct hs_snapshot *s = ci->s;
    uint64_t ps = ci->page_size, start = ph->p_vaddr;
    struct hs_range_store *st = &s->store[s->nranges];
    memset(st, 0, sizeof *st);
    st->states = calloc((size_t)npages, 1); /* HS_PAGE_DATA is 0 */
    if (!st->states)
        return cr_err(ci, "out of memory for the %llu page states of PT_LOAD %zu", (unsigned long long)npages,
                      phno);
    s->nranges++;
    st->r.start = start;
    st->r.end = start + npages * ps;
    st->r.flags = anon ? HS_MEM_ANON : 0;
    st->r.page_size = (uint32_t)ps;
    st->r.page_state = st->states;
    hs_store_states_set(st);
    if (!(ci->flags & HS_OPEN_METADATA_ONLY)) {
        size_t bytes = (size_t)(npages * ps);
        void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED)
            return cr_err(ci, "cannot map %zu bytes for PT_LOAD %zu (0x%llx): %s", bytes, phno,
                          (unsigned long long)start, strerror(errno));
        st->map = m;
        st->map_len = bytes;
        st->r.data = m;
        memcpy(m, ci->buf + ph->p_offset, bytes);
        mprotect(m, bytes, PROT_READ);
    }
    return 0;
}

int cr_memory(struct core_in *ci)
{
    struct hs_snapshot *s = ci->s;
    uint64_t ps = ci->page_size;
    size_t nload = 0;
    for (size_t i = 0; i < ci->phnum; i++)
        nload += ci->ph[i].p_type == PT_LOAD;
    const Elf64_Phdr **ld = calloc(nload ? nload : 1, sizeof *ld);
    s->mappings = calloc(nload + ci->nfiles + 1, sizeof *s->mappings);
    s->store = calloc(nload ? nload : 1, sizeof *s->store);
    s->ranges = calloc(nload ? nload : 1, sizeof *s->ranges);
    struct fails fl = {0};
    int rc = -1;
    if (!ld || !s->mappings || !s->store || !s->ranges) {
        cr_err(ci, "out of memory for %zu segments", nload);
        goto out;
    }
    size_t n = 0, skipped = 0;
    for (size_t i = 0; i < ci->phnum; i++) {
        const Elf64_Phdr *ph = &ci->ph[i];
        if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
            continue;
        if (ph->p_vaddr % ps || ph->p_memsz % ps) {
            skipped++;
            continue;
        }
        ld[n++] = ph;
    }
    if (skipped)
        cr_warn(ci, "%s: %zu PT_LOAD segment(s) not page-aligned, so not mappings, were left out "
                  "(heapsnap core writes one for a rebuilt .dynamic)", ci->name, skipped);
    qsort(ld, n, sizeof *ld, by_vaddr);
    uint64_t data_bytes = 0, missing_bytes = 0, cut_total = 0;
    const Elf64_Phdr *first_cut = NULL;
    size_t first_cut_no = 0, after_cut = 0;
    for (size_t k = 0; k < n; k++) {
        const Elf64_Phdr *ph = ld[k];
        size_t phno = (size_t)(ph - ci->ph);
        uint64_t start = ph->p_vaddr, end = ph->p_vaddr + ph->p_memsz;
        if (k && start < ld[k - 1]->p_vaddr + ld[k - 1]->p_memsz) {
            cr_err(ci, "program header %zu (PT_LOAD 0x%llx-0x%llx) overlaps program header %zu (0x%llx-0x%llx)",
                     phno, (unsigned long long)start, (unsigned long long)end, (size_t)(ld[k - 1] - ci->ph),
                     (unsigned long long)ld[k - 1]->p_vaddr,
                     (unsigned long long)(ld[k - 1]->p_vaddr + ld[k - 1]->p_memsz));
            goto out;
        }
        struct hs_mapping *m = &s->mappings[s->nmappings++];
        m->start = start;
        m->end = end;
        m->flags = (ph->p_flags & PF_R ? HS_MAP_R : 0) | (ph->p_flags & PF_W ? HS_MAP_W : 0) |
                   (ph->p_flags & PF_X ? HS_MAP_X : 0);
        const struct core_file *f = file_at(ci, start);
        m->path = f ? (char *)f->path : (char *)"";
        m->offset = f ? f->offset + (start - f->start) : 0;
        if (!f)
            m->flags |= HS_MAP_ANON;
        m->vmflags = (char *)"";
        /* Not readable, or the vsyscall page (the kernel's, at the same
         * address in every process): no range, as in a capture. */
        if (!(ph->p_flags & PF_R) || start >= 0xffff800000000000ull)
            continue;
        /* What the file holds of it: whole pages only (a partial last page
         * is not read), and none past the end of the file. */
        uint64_t ndata = ph->p_filesz / ps;
        uint64_t avail = ph->p_offset >= ci->len ? 0 : ci->len - ph->p_offset;
        uint64_t have = ndata < avail / ps ? ndata : avail / ps;
        if (have && add_range(ci, ph, phno, have, !f) < 0)
            goto out;
        if (have)
            m->flags |= HS_MAP_CAPTURED;
        /* The rest has no range, so a read of it fails; the failure records
         * say why.  A file mapping's rest is the file's, as in a capture. */
        if (add_fail(&fl, start + have * ps, start + ndata * ps, 1) < 0 ||
            (!f && add_fail(&fl, start + ndata * ps, end, 0) < 0)) {
            cr_err(ci, "out of memory");
            goto out;
        }
        data_bytes += have * ps;
        missing_bytes += (ndata - have) * ps + (f ? 0 : end - start - ndata * ps);
        if (have < ndata) {
            cut_total += ndata - have;
            if (!first_cut) {
                first_cut = ph;
                first_cut_no = phno;
            } else {
                after_cut++;
            }
        }
    }
    /* Files NT_FILE lists that no PT_LOAD covers (a dumper that leaves out
     * what it does not dump): mapped, nothing captured. */
    for (size_t i = 0; i < ci->nfiles; i++) {
        const struct core_file *f = &ci->files[i];
        int covered = 0;
        for (size_t k = 0; k < n && !covered; k++)
            covered = ld[k]->p_vaddr <= f->start && f->start < ld[k]->p_vaddr + ld[k]->p_memsz;
        if (covered)
            continue;
        struct hs_mapping *m = &s->mappings[s->nmappings++];
        m->start = f->start;
        m->end = f->end;
        m->offset = f->offset;
        m->flags = HS_MAP_R;
        m->path = (char *)f->path;
        m->vmflags = (char *)"";
    }
    for (size_t i = 0; i < s->nranges; i++)
        s->ranges[i] = s->store[i].r;
    if (first_cut) {
        s->truncated = 1;
        snprintf(ci->trunc, sizeof ci->trunc,
                 "%s: truncated at offset %zu: program header %zu (PT_LOAD 0x%llx-0x%llx) has %llu of its %llu "
                 "bytes, and %zu later segment(s) lost bytes too (%llu pages in all, now 'truncated'); a core "
                 "size limit (ulimit -c, systemd-coredump's ProcessSizeMax) cuts cores like this",
                 ci->name, ci->len, first_cut_no, (unsigned long long)first_cut->p_vaddr,
                 (unsigned long long)(first_cut->p_vaddr + first_cut->p_memsz),
                 (unsigned long long)(first_cut->p_offset >= ci->len ? 0 : ci->len - first_cut->p_offset),
                 (unsigned long long)first_cut->p_filesz, after_cut, (unsigned long long)cut_total);
    }
    /* What a capture's statistics would say, as far as a core tells. */
    struct hs_stats *st = &s->stats;
    s->have_stats = 1;
    st->bytes_read = data_bytes;
    st->bytes_unreadable = missing_bytes;
    st->threads = (uint32_t)s->nthreads;
    st->failures = hs_arena_alloc(s, (fl.n ? fl.n : 1) * sizeof *st->failures);
    if (!st->failures) {
        cr_err(ci, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < fl.n; i++) {
        struct hs_failure *hf = &st->failures[st->nfailures++];
        hf->start = fl.v[i].start;
        hf->end = fl.v[i].end;
        hf->err = fl.v[i].truncated ? EIO : ENODATA;
        hf->reason = (char *)(fl.v[i].truncated ? "truncated: the core file ends before these bytes" : NOT_IN_CORE);
    }
    rc = 0;
out:
    free(fl.v);
    free(ld);
    return rc;
}
