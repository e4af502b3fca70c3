/*
 * notes.c — the PT_NOTE segments of a core: threads (NT_PRSTATUS), the
 * process (NT_PRPSINFO, NT_AUXV) and the file mappings (NT_FILE).
 *
 * The x86_64 layouts, as the kernel writes them (and gdb, and our own
 * analyze/elfcore/ writer):
 *   elf_prstatus, 336 bytes: pr_pid at 32, pr_reg (user_regs_struct,
 *     27 x u64, the order of enum hs_reg) at 112
 *   elf_prpsinfo, 136 bytes: pr_sname at 1, pr_pid at 24, pr_fname[16]
 *     at 40, pr_psargs[80] at 56
 *   NT_FILE: count, page_size, count x {start, end, offset in pages},
 *     then count NUL-terminated paths
 *   NT_FPREGSET (512 bytes, FXSAVE) and NT_X86_XSTATE follow the
 *     NT_PRSTATUS of their thread.
 * A note of a size other than these is an error naming the note, not a
 * guess: it is another architecture's, or damage.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

#define PRSTATUS_SIZE 336
#define PRSTATUS_PID  32
#define PRSTATUS_REG  112
#define PRPSINFO_SIZE 136
#define FPREGSET_SIZE 512

static uint64_t ld64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint32_t ld32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Where a note is, for messages. */
struct where {
    size_t no;       /* note number, from 1, over all PT_NOTEs */
    uint64_t off;    /* file offset of its header */
    uint32_t type;
};

static int bad(struct core_in *ci, const struct where *w, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(struct core_in *ci, const struct where *w, const char *fmt, ...)
{
    char what[360];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return cr_err(ci, "note %zu (%s, type 0x%x) at offset %llu: %s", w->no, cr_note_name(w->type), w->type,
                    (unsigned long long)w->off, what);
}

static int prstatus(struct core_in *ci, const struct where *w, const uint8_t *d, size_t n)
{
    struct hs_snapshot *s = ci->s;
    if (n != PRSTATUS_SIZE)
        return bad(ci, w, "%zu bytes; an x86_64 elf_prstatus has %d (a core of another architecture?)", n,
                   PRSTATUS_SIZE);
    if (s->nthreads >= CORE_MAX_THREADS)
        return bad(ci, w, "more than %u threads", CORE_MAX_THREADS);
    if ((s->nthreads & (s->nthreads - 1)) == 0) { /* grow at powers of two */
        size_t cap = s->nthreads ? 2 * s->nthreads : 16;
        struct hs_thread *t = realloc(s->threads, cap * sizeof *t);
        if (!t)
            return bad(ci, w, "out of memory");
        s->threads = t;
    }
    struct hs_thread *t = &s->threads[s->nthreads++];
    memset(t, 0, sizeof *t);
    t->tid = (int32_t)ld32(d + PRSTATUS_PID);
    t->state = '?';
    for (int r = 0; r < HS_NREGS; r++)
        t->regs[r] = ld64(d + PRSTATUS_REG + 8 * r);
    for (size_t i = 0; i + 1 < s->nthreads; i++)
        if (s->threads[i].tid == t->tid)
            return bad(ci, w, "a second NT_PRSTATUS for thread %d", t->tid);
    return 0;
}

/* psargs is argv joined by spaces and cut to 79 bytes: split it back. */
static int prpsinfo(struct core_in *ci, const struct where *w, const uint8_t *d, size_t n)
{
    struct hs_process *p = &ci->s->process;
    if (n != PRPSINFO_SIZE)
        return bad(ci, w, "%zu bytes; an x86_64 elf_prpsinfo has %d", n, PRPSINFO_SIZE);
    if (ci->have_prpsinfo)
        return bad(ci, w, "a second NT_PRPSINFO");
    ci->have_prpsinfo = 1;
    ci->sname = (char)d[1];
    ci->ps_pid = (int32_t)ld32(d + 24);
    char args[81];
    memcpy(args, d + 56, 80);
    args[80] = 0;
    size_t len = strlen(args);
    while (len && args[len - 1] == ' ')
        args[--len] = 0;
    uint32_t argc = 0;
    for (size_t i = 0; i < len; i++)
        argc += args[i] != ' ' && (i == 0 || args[i - 1] == ' ');
    p->argv = hs_arena_alloc(ci->s, (argc ? argc : 1) * sizeof *p->argv);
    if (!p->argv)
        return bad(ci, w, "out of memory");
    char *save = NULL;
    for (char *tok = strtok_r(args, " ", &save); tok && p->argc < argc; tok = strtok_r(NULL, " ", &save))
        if (!(p->argv[p->argc++] = cr_strndup(ci, tok, 80)))
            return bad(ci, w, "out of memory");
    /* pr_fname is the thread's comm: the main thread's name. */
    char fname[17];
    memcpy(fname, d + 40, 16);
    fname[16] = 0;
    p->exe = cr_strndup(ci, fname, 16); /* until NT_FILE says which file it is */
    return p->exe ? 0 : bad(ci, w, "out of memory");
}

static int auxv(struct core_in *ci, const struct where *w, const uint8_t *d, size_t n)
{
    struct hs_process *p = &ci->s->process;
    if (n % 16)
        return bad(ci, w, "%zu bytes is not a whole number of (type, value) pairs", n);
    if (p->auxv)
        return bad(ci, w, "a second NT_AUXV");
    size_t pairs = n / 16;
    for (size_t i = 0; i < pairs; i++)
        if (ld64(d + 16 * i) == AT_NULL) {
            pairs = i;
            break;
        }
    if (pairs > CORE_MAX_AUXV)
        return bad(ci, w, "%zu entries, more than the %u a real vector could have", pairs, CORE_MAX_AUXV);
    p->auxv = hs_arena_alloc(ci->s, (pairs ? pairs : 1) * 16);
    if (!p->auxv)
        return bad(ci, w, "out of memory");
    memcpy(p->auxv, d, pairs * 16);
    p->auxv_count = (uint32_t)pairs;
    for (size_t i = 0; i < pairs; i++)
        if (p->auxv[2 * i] == AT_PAGESZ)
            p->page_size = (uint32_t)p->auxv[2 * i + 1];
    return 0;
}

static int ntfile(struct core_in *ci, const struct where *w, const uint8_t *d, size_t n)
{
    if (ci->files)
        return bad(ci, w, "a second NT_FILE");
    if (n < 16)
        return bad(ci, w, "%zu bytes is shorter than its count and page size", n);
    uint64_t count = ld64(d), psz = ld64(d + 8);
    if (count > (n - 16) / 24)
        return bad(ci, w, "says %llu files, but %zu bytes hold at most %zu entries", (unsigned long long)count, n,
                   (n - 16) / 24);
    /* The kernel counts offsets in pages; gdb's gcore writes page size 1
     * and offsets in bytes. */
    if (psz == 0 || psz > (1u << 16) || (psz & (psz - 1)))
        return bad(ci, w, "page size %llu is not a power of two in [1, 65536]", (unsigned long long)psz);
    ci->files = calloc(count ? count : 1, sizeof *ci->files);
    if (!ci->files)
        return bad(ci, w, "out of memory");
    if (psz >= 512)
        ci->page_size = (uint32_t)psz;
    const uint8_t *names = d + 16 + 24 * count, *end = d + n;
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *e = d + 16 + 24 * i;
        struct core_file *f = &ci->files[i];
        f->start = ld64(e);
        f->end = ld64(e + 8);
        uint64_t pg = ld64(e + 16);
        if (f->end <= f->start || f->start % psz || f->end % psz)
            return bad(ci, w, "entry %llu: 0x%llx-0x%llx is not a page-aligned range", (unsigned long long)i,
                       (unsigned long long)f->start, (unsigned long long)f->end);
        if (pg > UINT64_MAX / psz)
            return bad(ci, w, "entry %llu: file offset %llu pages is past any file", (unsigned long long)i,
                       (unsigned long long)pg);
        f->offset = pg * psz;
        const uint8_t *nul = names < end ? memchr(names, 0, (size_t)(end - names)) : NULL;
        if (!nul)
            return bad(ci, w, "entry %llu (0x%llx-0x%llx): its path runs past the end of the note",
                       (unsigned long long)i, (unsigned long long)f->start, (unsigned long long)f->end);
        if (!(f->path = cr_strndup(ci, (const char *)names, (size_t)(nul - names))))
            return bad(ci, w, "out of memory");
        names = nul + 1;
        ci->nfiles++;
    }
    return 0;
}

static int one_note(struct core_in *ci, const struct where *w, const char *name, uint32_t namesz,
                    const uint8_t *d, size_t n)
{
    int core = namesz == 5 && !memcmp(name, "CORE", 5);
    int linux_ = namesz == 6 && !memcmp(name, "LINUX", 6);
    if (core) {
        switch (w->type) {
        case NT_PRSTATUS: return prstatus(ci, w, d, n);
        case NT_PRPSINFO: return prpsinfo(ci, w, d, n);
        case NT_AUXV: return auxv(ci, w, d, n);
        case NT_FILE: return ntfile(ci, w, d, n);
        case NT_FPREGSET:
            if (n != FPREGSET_SIZE)
                return bad(ci, w, "%zu bytes; the x86_64 FXSAVE area has %d", n, FPREGSET_SIZE);
            if (!ci->s->nthreads)
                return bad(ci, w, "comes before any NT_PRSTATUS");
            ci->nfpregs++;
            return 0;
        }
    } else if (linux_ && w->type == NT_X86_XSTATE) {
        if (!ci->s->nthreads)
            return bad(ci, w, "comes before any NT_PRSTATUS");
        ci->nxstate++;
    }
    return 0;
}

int cr_notes(struct core_in *ci)
{
    size_t no = 0, nnotes_seg = 0;
    for (size_t i = 0; i < ci->phnum; i++) {
        const Elf64_Phdr *ph = &ci->ph[i];
        if (ph->p_type != PT_NOTE)
            continue;
        nnotes_seg++;
        if (ph->p_offset > ci->len || ci->len - ph->p_offset < ph->p_filesz)
            return cr_err(ci, "truncated at offset %zu: the PT_NOTE segment (program header %zu, offset %llu, "
                            "%llu bytes) is cut short, so the threads and mappings it lists are lost",
                            ci->len, i, (unsigned long long)ph->p_offset, (unsigned long long)ph->p_filesz);
        const uint8_t *seg = ci->buf + ph->p_offset;
        size_t len = (size_t)ph->p_filesz, off = 0;
        while (off < len) {
            struct where w = {++no, ph->p_offset + off, 0};
            if (no > CORE_MAX_NOTES)
                return cr_err(ci, "more than %u notes", CORE_MAX_NOTES);
            if (len - off < 12)
                return cr_err(ci, "note %zu at offset %llu: %zu bytes left in the PT_NOTE segment, less than "
                                "a note header", no, (unsigned long long)w.off, len - off);
            uint32_t namesz = ld32(seg + off), descsz = ld32(seg + off + 4);
            w.type = ld32(seg + off + 8);
            uint64_t name_at = off + 12;
            uint64_t desc_at = name_at + (((uint64_t)namesz + 3) & ~3ull);
            uint64_t next = desc_at + (((uint64_t)descsz + 3) & ~3ull);
            if (desc_at > len || descsz > len - desc_at)
                return bad(ci, &w, "its %u-byte name and %u-byte descriptor run past the end of the PT_NOTE "
                           "segment (%zu bytes)", namesz, descsz, len);
            if (one_note(ci, &w, (const char *)seg + name_at, namesz, seg + desc_at, descsz) < 0)
                return -1;
            off = next > len ? len : (size_t)next;
        }
    }
    if (!nnotes_seg)
        return cr_err(ci, "no PT_NOTE segment: a core without notes has no threads or mappings to read");
    if (!ci->s->nthreads)
        return cr_err(ci, "no NT_PRSTATUS note: the core records no thread");
    if (!ci->page_size)
        ci->page_size = ci->s->process.page_size;
    if (ci->page_size < 4096 || ci->page_size > (1u << 16) || (ci->page_size & (ci->page_size - 1)))
        ci->page_size = 4096;
    ci->s->process.page_size = ci->page_size;
    return 0;
}
