/*
 * notes.c — the PT_NOTE payload of a heapsnap core: NT_PRSTATUS per
 * thread, NT_PRPSINFO, NT_AUXV and NT_FILE (order and purpose in elfcore.h).
 *
 * The kernel's note structures are laid out here byte by byte, with their
 * offsets written out, instead of taken from <sys/procfs.h>: the core must
 * be x86_64 whatever the C library's idea of these structs, and the
 * offsets are the documentation of the format:
 *
 *   struct elf_prstatus (x86_64, 336 bytes)     struct elf_prpsinfo (136 bytes)
 *     0  pr_info {signo, code, errno}  3 x int     0 pr_state, pr_sname, pr_zomb, pr_nice
 *    12  pr_cursig                     short       8 pr_flag        unsigned long
 *    16  pr_sigpend, 24 pr_sighold     ulong      16 pr_uid, 20 pr_gid   unsigned int
 *    32  pr_pid, pr_ppid, pr_pgrp, pr_sid  int    24 pr_pid, ppid, pgrp, sid  int
 *    48  pr_utime, stime, cutime, cstime  timeval 40 pr_fname[16]
 *   112  pr_reg: user_regs_struct, 27 x u64       56 pr_psargs[80]
 *   328  pr_fpvalid                    int
 *
 *   NT_FILE: u64 count, u64 page_size, count x {u64 start, end, file_offset
 *   in pages}, then count NUL-terminated path names.
 *
 * Each note is {u32 namesz, u32 descsz, u32 type, name "CORE\0" padded to 4,
 * desc padded to 4}.
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PRSTATUS_SIZE   336
#define PRSTATUS_PID    32
#define PRSTATUS_REG    112
#define PRPSINFO_SIZE   136
#define PRPSINFO_SNAME  1
#define PRPSINFO_PID    24
#define PRPSINFO_FNAME  40
#define PRPSINFO_PSARGS 56

/* ------------------------------------------------------------ buffer */

void core_buf_append(struct core_buf *b, const void *data, size_t n)
{
    if (b->failed || n == 0)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    if (data)
        memcpy(b->p + b->len, data, n);
    else
        memset(b->p + b->len, 0, n);
    b->len += n;
}

void core_buf_zeros(struct core_buf *b, size_t n) { core_buf_append(b, NULL, n); }

void core_buf_align(struct core_buf *b, size_t align)
{
    if (b->len % align)
        core_buf_zeros(b, align - b->len % align);
}

void core_buf_free(struct core_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* ------------------------------------------------------------ notes */

static void add_note(struct core_buf *b, uint32_t type, const void *desc, size_t descsz)
{
    uint32_t hdr[3] = {5 /* "CORE\0" */, (uint32_t)descsz, type};
    core_buf_append(b, hdr, sizeof hdr);
    core_buf_append(b, "CORE\0\0\0", 8); /* name padded to 4 */
    core_buf_append(b, desc, descsz);
    core_buf_align(b, 4);
}

static void add_prstatus(struct core_buf *b, const struct hs_thread *t)
{
    uint8_t d[PRSTATUS_SIZE] = {0};
    put32(d + PRSTATUS_PID, (uint32_t)t->tid);
    for (int r = 0; r < HS_NREGS; r++)
        put64(d + PRSTATUS_REG + 8 * r, t->regs[r]);
    /* pr_fpvalid stays 0: no FP state in a snapshot. */
    add_note(b, NT_PRSTATUS, d, sizeof d);
}

/* Copy at most n - 1 bytes of s into dst, NUL-padded (dst is n bytes). */
static void copy_field(uint8_t *dst, size_t n, const char *s)
{
    size_t len = s ? strnlen(s, n - 1) : 0;
    memcpy(dst, s ? s : "", len);
    memset(dst + len, 0, n - len);
}

static void add_prpsinfo(struct core_buf *b, const struct hs_process *p, const struct hs_thread *first)
{
    uint8_t d[PRPSINFO_SIZE] = {0};
    char st = first ? first->state : 'S';
    d[PRPSINFO_SNAME] = (uint8_t)((st > 0x20 && st < 0x7f) ? st : '?');
    put32(d + PRPSINFO_PID, (uint32_t)p->pid);

    const char *base = p->exe ? strrchr(p->exe, '/') : NULL;
    base = base ? base + 1 : (p->exe ? p->exe : "");
    copy_field(d + PRPSINFO_FNAME, 16, base);

    /* psargs: argv joined by spaces, cut to 79 bytes, as the kernel does. */
    char args[80];
    size_t len = 0;
    for (uint32_t i = 0; i < p->argc && len < sizeof args - 1; i++) {
        if (i)
            args[len++] = ' ';
        const char *a = p->argv[i] ? p->argv[i] : "";
        while (*a && len < sizeof args - 1)
            args[len++] = *a++;
    }
    args[len] = '\0';
    copy_field(d + PRPSINFO_PSARGS, 80, args);
    add_note(b, NT_PRPSINFO, d, sizeof d);
}

/* True if every page of the mapping holding addr has its bytes stored in
 * the snapshot (DATA), not merely readable as zeros. */
static int mapping_stored(const struct hs_snapshot *s, uint64_t addr)
{
    size_t n;
    const struct hs_mapping *m = hs_get_mappings(s, &n);
    const struct hs_mapping *hit = NULL;
    for (size_t i = 0; i < n && !hit; i++)
        if (m[i].start <= addr && addr < m[i].end)
            hit = &m[i];
    if (!hit)
        return 0;
    for (uint64_t a = hit->start; a < hit->end;) {
        const struct hs_mem_range *r = hs_find_range(s, a);
        if (!r || !r->page_size)
            return 0;
        uint64_t page = (a - r->start) / r->page_size;
        if (page >= (r->end - r->start) / r->page_size || r->page_state[page] != HS_PAGE_DATA)
            return 0;
        a = r->start + (page + 1) * r->page_size;
    }
    return 1;
}

/*
 * NT_AUXV: the recorded vector, except that AT_SYSINFO_EHDR becomes
 * AT_IGNORE unless the whole vDSO was stored.  gdb reads the vDSO image at
 * that address from the core: under the default policy it is not
 * captured ("Failed to read a valid object file image from memory"), and
 * a vDSO page the process never touched is "not present" to the capture
 * and reads as zeros ("corrupt string table index").  The vDSO only
 * matters for frames inside it, which a stopped thread is almost never in.
 */
static void add_auxv(struct core_buf *b, const struct hs_snapshot *s, const struct hs_process *p)
{
    size_t n = (size_t)p->auxv_count * 2;
    uint64_t *v = malloc(n * sizeof *v);
    if (!v) {
        b->failed = 1;
        return;
    }
    memcpy(v, p->auxv, n * sizeof *v);
    for (size_t i = 0; i < n; i += 2)
        if (v[i] == AT_SYSINFO_EHDR && !mapping_stored(s, v[i + 1]))
            v[i] = AT_IGNORE;
    add_note(b, NT_AUXV, v, n * sizeof *v);
    free(v);
}

static int file_backed(const struct hs_mapping *m)
{
    return !(m->flags & HS_MAP_ANON) && m->path && m->path[0] == '/' && m->end > m->start;
}

static void add_file(struct core_buf *b, const struct hs_snapshot *s, uint32_t page_size)
{
    size_t n;
    const struct hs_mapping *m = hs_get_mappings(s, &n);
    struct core_buf d = {0};
    uint64_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += file_backed(&m[i]);
    uint64_t head[2] = {count, page_size};
    core_buf_append(&d, head, sizeof head);
    for (size_t i = 0; i < n; i++) {
        if (!file_backed(&m[i]))
            continue;
        uint64_t e[3] = {m[i].start, m[i].end, m[i].offset / page_size};
        core_buf_append(&d, e, sizeof e);
    }
    for (size_t i = 0; i < n; i++)
        if (file_backed(&m[i]))
            core_buf_append(&d, m[i].path, strlen(m[i].path) + 1);
    if (d.failed)
        b->failed = 1;
    else if (d.len <= UINT32_MAX)
        add_note(b, NT_FILE, d.p, d.len);
    core_buf_free(&d);
}

int core_notes(const struct hs_snapshot *s, const struct core_options *opt, struct core_buf *b,
               struct hs_error *err)
{
    const struct hs_process *p = hs_get_process(s);
    size_t nt;
    const struct hs_thread *t = hs_get_threads(s, &nt);

    /* The first thread: the one asked for, else the main thread, else the
     * first recorded. */
    size_t first = 0;
    int want = opt->first_tid ? opt->first_tid : p->pid;
    int found = 0;
    for (size_t i = 0; i < nt; i++)
        if (t[i].tid == want) {
            first = i;
            found = 1;
            break;
        }
    if (opt->first_tid && !found) {
        snprintf(err->msg, sizeof err->msg, "%s: no thread %d in the snapshot",
                 hs_snapshot_path(s), opt->first_tid);
        return -1;
    }

    uint32_t page_size = p->page_size;
    if (page_size < 4096 || (page_size & (page_size - 1)))
        page_size = 4096;

    if (nt)
        add_prstatus(b, &t[first]);
    add_prpsinfo(b, p, nt ? &t[first] : NULL);
    if (p->auxv_count && p->auxv_count <= 4096) /* a real auxv has a few dozen */
        add_auxv(b, s, p);
    add_file(b, s, page_size);
    for (size_t i = 0; i < nt; i++)
        if (i != first)
            add_prstatus(b, &t[i]);
    if (b->failed) {
        snprintf(err->msg, sizeof err->msg, "%s: out of memory building the core notes",
                 hs_snapshot_path(s));
        return -1;
    }
    return 0;
}
