/*
 * write.c — lay out and write a heapsnap core: the ELF header, the program
 * headers (PT_NOTE first, then the PT_LOADs in address order), the notes,
 * then each segment's bytes at a page-aligned file offset.
 *
 *   [Elf64_Ehdr][Elf64_Phdr x phnum][Elf64_Shdr if phnum >= PN_XNUM][notes]
 *   [pad to page][segment 1 bytes][pad][segment 2 bytes]...
 *
 * More than 65534 program headers do not fit e_phnum; then, as the kernel
 * does, e_phnum is PN_XNUM and the real count is in sh_info of a single
 * section header.
 *
 * Pages the snapshot did not store are not written: on a regular file they
 * stay holes (a sparse file, zeros when read); on a pipe, or a file opened
 * for appending, everything is written in order, zeros included.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fdio.h"
#include "internal.h"

/* ------------------------------------------------------------ output */

struct out {
    int fd;
    const char *name;
    int seekable; /* a regular file: pwrite, holes */
    uint64_t pos; /* sequential: bytes written so far */
    uint64_t end; /* seekable: highest byte written + 1 */
    struct hs_error *err;
};

static int out_fail(struct out *o, const char *what)
{
    snprintf(o->err->msg, sizeof o->err->msg, "%s: %s: %s", o->name, what, strerror(errno));
    return -1;
}

static int out_raw(struct out *o, uint64_t off, const uint8_t *p, size_t n)
{
    if (fd_write_all(o->fd, p, n, o->seekable ? (int64_t)off : -1))
        return out_fail(o, "write");
    off += n;
    if (o->seekable) {
        if (off > o->end)
            o->end = off;
    } else
        o->pos = off;
    return 0;
}

static int out_zeros_to(struct out *o, uint64_t off)
{
    static const uint8_t zeros[65536];
    while (o->pos < off) {
        uint64_t n = off - o->pos < sizeof zeros ? off - o->pos : sizeof zeros;
        if (out_raw(o, o->pos, zeros, (size_t)n) != 0)
            return -1;
    }
    return 0;
}

/* Write n bytes at file offset off (which only grows, on a pipe). */
static int out_write_at(struct out *o, uint64_t off, const void *p, size_t n)
{
    if (!o->seekable && out_zeros_to(o, off) != 0)
        return -1;
    return out_raw(o, off, p, n);
}

/* Make the output exactly 'total' bytes long. */
static int out_finish(struct out *o, uint64_t total)
{
    if (!o->seekable)
        return out_zeros_to(o, total);
    if (o->end < total) {
        if (ftruncate(o->fd, (off_t)total) != 0)
            return out_fail(o, "ftruncate");
    }
    return 0;
}

/* ------------------------------------------------------------ layout */

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

static int seg_has_bytes(const struct core_seg *g) { return g->range || g->own; }

/* Write the bytes of a segment that come from a captured range: only the
 * DATA pages, in runs; the rest stays zero. */
static int write_range_seg(struct out *o, const struct core_seg *g)
{
    const struct hs_mem_range *r = g->range;
    uint64_t ps = r->page_size ? r->page_size : (r->end - r->start);
    uint64_t npages = (r->end - r->start) / ps; /* entries in page_state */
    uint64_t a = g->start;
    while (a < g->end) {
        uint64_t page = (a - r->start) / ps;
        if (page >= npages || r->page_state[page] != HS_PAGE_DATA) {
            a = r->start + (page + 1) * ps;
            continue;
        }
        /* A run of DATA pages, clipped to the segment. */
        uint64_t b = r->start + (page + 1) * ps;
        while (b < g->end && (b - r->start) / ps < npages &&
               r->page_state[(b - r->start) / ps] == HS_PAGE_DATA)
            b += ps;
        if (b > g->end)
            b = g->end;
        if (out_write_at(o, g->file_offset + (a - g->start), r->data + (a - r->start),
                         (size_t)(b - a)) != 0)
            return -1;
        a = b;
    }
    return 0;
}

static void fill_ehdr(Elf64_Ehdr *e, size_t phnum, uint64_t shoff)
{
    memset(e, 0, sizeof *e);
    memcpy(e->e_ident, ELFMAG, SELFMAG);
    e->e_ident[EI_CLASS] = ELFCLASS64;
    e->e_ident[EI_DATA] = ELFDATA2LSB;
    e->e_ident[EI_VERSION] = EV_CURRENT;
    e->e_ident[EI_OSABI] = ELFOSABI_NONE; /* what Linux writes */
    e->e_type = ET_CORE;
    e->e_machine = EM_X86_64;
    e->e_version = EV_CURRENT;
    e->e_phoff = sizeof *e;
    e->e_ehsize = sizeof *e;
    e->e_phentsize = sizeof(Elf64_Phdr);
    if (phnum >= PN_XNUM) {
        e->e_phnum = PN_XNUM;
        e->e_shoff = shoff;
        e->e_shentsize = sizeof(Elf64_Shdr);
        e->e_shnum = 1;
    } else
        e->e_phnum = (Elf64_Half)phnum;
}

int core_write(const struct hs_snapshot *s, const struct core_options *opt, int fd,
               const char *outname, struct hs_error *err)
{
    const struct hs_process *p = hs_get_process(s);
    if (p->machine != EM_X86_64) {
        snprintf(err->msg, sizeof err->msg, "%s: the process is not x86_64 (e_machine %u)",
                 hs_snapshot_path(s), (unsigned)p->machine);
        return -1;
    }
    uint64_t page = p->page_size;
    if (page < 4096 || page > (1u << 24) || (page & (page - 1)))
        page = 4096;

    struct core_buf notes = {0};
    struct core_segs segs = {0};
    struct core_buf head = {0};
    int rc = -1;
    if (core_notes(s, opt, &notes, err) != 0 || core_segments(s, &segs, err) != 0)
        goto done;
    if (!opt->no_dtdebug)
        core_dtdebug(s, &segs);
    core_segs_sort(&segs);

    /* Offsets. */
    size_t phnum = 1 + segs.n;
    uint64_t off = sizeof(Elf64_Ehdr) + (uint64_t)phnum * sizeof(Elf64_Phdr);
    uint64_t shoff = 0;
    if (phnum >= PN_XNUM) {
        shoff = off;
        off += sizeof(Elf64_Shdr);
    }
    uint64_t notes_off = off;
    off = align_up(off + notes.len, page);
    for (size_t i = 0; i < segs.n; i++) {
        segs.v[i].file_offset = off;
        if (seg_has_bytes(&segs.v[i]))
            off = align_up(off + (segs.v[i].end - segs.v[i].start), page);
    }
    uint64_t total = off;

    /* Headers and notes, in one buffer. */
    Elf64_Ehdr eh;
    fill_ehdr(&eh, phnum, shoff);
    core_buf_append(&head, &eh, sizeof eh);
    Elf64_Phdr ph = {.p_type = PT_NOTE, .p_offset = notes_off, .p_filesz = notes.len, .p_align = 4};
    core_buf_append(&head, &ph, sizeof ph);
    for (size_t i = 0; i < segs.n; i++) {
        const struct core_seg *g = &segs.v[i];
        uint64_t size = g->end - g->start;
        Elf64_Phdr lp = {.p_type = PT_LOAD, .p_flags = g->pflags, .p_offset = g->file_offset,
                         .p_vaddr = g->start, .p_filesz = seg_has_bytes(g) ? size : 0,
                         .p_memsz = size, .p_align = page};
        core_buf_append(&head, &lp, sizeof lp);
    }
    if (shoff) {
        Elf64_Shdr sh = {.sh_type = SHT_NULL, .sh_size = 1, .sh_info = (Elf64_Word)phnum};
        if (phnum > UINT32_MAX) {
            snprintf(err->msg, sizeof err->msg, "%s: too many segments for an ELF core (%zu)",
                     hs_snapshot_path(s), phnum);
            goto done;
        }
        core_buf_append(&head, &sh, sizeof sh);
    }
    core_buf_append(&head, notes.p, notes.len);
    if (head.failed) {
        snprintf(err->msg, sizeof err->msg, "%s: out of memory", hs_snapshot_path(s));
        goto done;
    }

    struct stat st;
    struct out o = {.fd = fd, .name = outname, .err = err};
    /* Holes and pwrite only on a regular file we write from its start:
     * with O_APPEND (">>") pwrite would ignore the offsets. */
    int fl = fcntl(fd, F_GETFL);
    o.seekable = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && fl != -1 && !(fl & O_APPEND) &&
                 lseek(fd, 0, SEEK_CUR) == 0;
    if (out_write_at(&o, 0, head.p, head.len) != 0)
        goto done;
    for (size_t i = 0; i < segs.n; i++) {
        const struct core_seg *g = &segs.v[i];
        if (g->range && write_range_seg(&o, g) != 0)
            goto done;
        if (g->own && out_write_at(&o, g->file_offset, g->own, (size_t)(g->end - g->start)) != 0)
            goto done;
    }
    if (out_finish(&o, total) != 0)
        goto done;
    rc = 0;
done:
    core_buf_free(&head);
    core_buf_free(&notes);
    core_segs_free(&segs);
    return rc;
}
