/*
 * capture.c — the sequence of one capture (see capture.h): estimate, stop,
 * copy, resume, write.  Everything that lengthens the target's pause is in
 * stopped_phase(); everything else is kept out of it on purpose.
 */
#include "capture.h"
#include "copy.h"
#include "binaries.h"
#include "cow.h"
#include "cowguard.h"
#include "lz4stop.h"
#include "modules.h"
#include "pagemap.h"
#include "procfs.h"
#include "scrub.h"
#include "stop.h"

#include <elf.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Mappings are cut into ranges of at most this many pages: it bounds the
 * page-state arrays of huge sparse mappings and is a multiple of
 * HS_BLOCK_PAGES, so the writer's blocks line up with ours. */
#define RANGE_PAGES (16u * 1024)
/* A mapping bigger than this is a reservation (allocator arenas, sanitizer
 * shadow): its wholly non-resident ranges are left out of the file. */
#define SPARSE_BYTES (4ull << 30)
/* In streamed mode, pages are copied and written this much at a time. */
#define STREAM_CHUNK (64ull << 20)
/* In cow mode, the copy is read this much at a time: the capture's own
 * memory stays small whatever the size of the target. */
#define COW_CHUNK (8ull << 20)

struct range {
    uint64_t addr, npages;
    uint32_t flags;   /* HS_MEM_* */
    uint8_t *state;   /* npages entries */
    uint64_t present; /* HS_PAGE_DATA pages before the copy */
    uint8_t *data;    /* buffered mode, and cow's from_parent: where its pages went */
    uint64_t ndata;
    int from_parent;  /* cow: a mapping the fork does not freeze, copied while stopped */
};

struct ctx {
    const struct capture_opts *o;
    struct hs_writer *w;
    pid_t pid;
    uint32_t psz;
    char *err;
    size_t errlen;

    struct hs_process proc;
    struct hs_mapping *maps; /* read while stopped */
    size_t nmaps;
    struct hs_mapping *pre;  /* smaps read before the stop */
    size_t npre;
    struct hs_module *mods;
    size_t nmods;
    struct range *r;
    size_t nr;
    struct hs_thread *th;
    size_t nth;
    struct stop_set stop;
    struct copier cp;
    struct scrub sc;
    struct scrub_span *spans;

    uint64_t *hint;          /* see sparse_hints() */
    size_t nhint;
    int have_hints;

    uint8_t *buf;
    size_t bufcap, bufpop;
    struct hs_stats st;
    uint64_t t0;

    uint32_t mode;           /* enum hs_capture_mode of this attempt */
    char reason[512];        /* why, for hs_stats.mode_reason */
    char cow_why[320];       /* why a fork was refused in the stop */
    struct cow_guard guard;  /* cow: holds the forking thread and the copy */
    struct copier cpc;       /* cow: reads the copy */
    struct lz4stop z;        /* stop-lz4 */
    struct lz4_piece *pc;    /* stop-lz4: the ranges cut into blocks */
    size_t npc;
    int meta_written;        /* metadata already went out while stopped */
};

static int fail(struct ctx *c, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct ctx *c, int e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
    errno = e;
    return -1;
}

/* -v: how long since the last mark, per phase. */
static void phase(struct ctx *c, const char *what)
{
    static uint64_t last;
    uint64_t t = stop_now_ns();
    if (c->o->verbose && last)
        fprintf(stderr, "heapsnap-capture: %-28s %9.1f ms\n", what, (double)(t - last) / 1e6);
    last = t;
}

/* -v, cow: what the fork step of the pause is made of (cow.h's stamps). */
static void fork_steps(struct ctx *c)
{
    static const char *const what[COW_NT] = {NULL, "find the thread", "seccomp check", "to the clone's entry",
                                             "the kernel's fork", "to its exit", "restore"};
    const uint64_t *t = c->guard.fork_t;
    if (!c->o->verbose || !t[COW_T_BEGIN])
        return;
    fprintf(stderr, "heapsnap-capture:   of which");
    uint64_t last = t[COW_T_BEGIN];
    for (int k = 1; k < COW_NT; k++)
        if (t[k]) {
            fprintf(stderr, "%s %s %.1f", k > 1 ? "," : "", what[k], (double)(t[k] - last) / 1e6);
            last = t[k];
        }
    fprintf(stderr, " ms\n");
}

static int wanted(const struct hs_mapping *m, int policy)
{
    if (!(m->flags & HS_MAP_R))
        return 0;
    /* The vDSO data page and the legacy vsyscall page cannot be read
     * through another process; device memory (VM_IO, VM_PFNMAP) must not
     * be, since reading it can have side effects. */
    if (strncmp(m->path, "[vvar", 5) == 0 || strcmp(m->path, "[vsyscall]") == 0)
        return 0;
    if (m->vmflags && (strstr(m->vmflags, "io") || strstr(m->vmflags, "pf")))
        return 0;
    if (policy == HS_POLICY_ALL)
        return 1;
    return (m->flags & HS_MAP_W) && !(m->flags & HS_MAP_SHARED);
}

/*
 * Reading smaps walks every page table of the target, which costs tens of
 * milliseconds for a large process; the cheaper maps is read while the
 * target is stopped (the truth about which mappings exist) and the smaps
 * figures and VmFlags are carried over from a read outside the pause,
 * matched by address range.  A mapping that did not exist then has zeros.
 */
static void merge_smaps(struct hs_mapping *dst, size_t n, const struct hs_mapping *src, size_t nsrc)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        while (j < nsrc && src[j].start < dst[i].start)
            j++;
        if (j == nsrc || src[j].start != dst[i].start || src[j].end != dst[i].end)
            continue;
        struct hs_mapping *d = &dst[i];
        const struct hs_mapping *s = &src[j];
        d->rss = s->rss, d->pss = s->pss;
        d->private_clean = s->private_clean, d->private_dirty = s->private_dirty;
        d->shared_clean = s->shared_clean, d->shared_dirty = s->shared_dirty;
        d->swap = s->swap, d->anonymous = s->anonymous, d->anon_huge = s->anon_huge;
        d->lazyfree = s->lazyfree;
        char *vf = strdup(s->vmflags ? s->vmflags : "");
        if (vf) {
            free(d->vmflags);
            d->vmflags = vf;
        }
    }
}

static uint64_t now_real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------- before the stop */

/* What does not change while the target runs, read now to keep it out of
 * the pause. */
static int read_process(struct ctx *c)
{
    struct hs_process *p = &c->proc;
    p->pid = c->pid;
    p->machine = EM_X86_64;
    p->policy = (uint16_t)c->o->policy;
    p->flags = c->o->redact ? HS_PROC_REDACTED : 0;
    p->page_size = c->psz;
    p->exe = procfs_read_exe(c->pid);
    struct utsname u;
    char host[256] = "";
    if (uname(&u) == 0)
        p->kernel_release = strdup(u.release);
    else
        p->kernel_release = strdup("");
    gethostname(host, sizeof host - 1);
    p->hostname = strdup(host);
    if (procfs_read_cmdline(c->pid, &p->argv, &p->argc) < 0 || procfs_read_auxv(c->pid, &p->auxv, &p->auxv_count) < 0)
        return -1;
    if (c->o->redact) {
        /* what the program was told, and where: not for a redacted file */
        for (uint32_t i = 0; i < p->argc; i++)
            free(p->argv[i]);
        p->argc = p->argv ? 1 : 0;
        if (p->argc && !(p->argv[0] = strdup(SCRUB_REDACTED)))
            p->argc = 0;
        free(p->hostname);
        p->hostname = strdup(SCRUB_REDACTED);
    }
    if (procfs_env_range(c->pid, &c->sc.env_start, &c->sc.env_end) < 0)
        c->sc.env_start = c->sc.env_end = 0;
    return 0;
}

struct populate_part {
    uint8_t *p;
    size_t len, psz;
};

static void *populate_part(void *arg)
{
    struct populate_part *pp = arg;
    if (madvise(pp->p, pp->len, MADV_POPULATE_WRITE) < 0)
        for (size_t off = 0; off < pp->len; off += pp->psz)
            ((volatile uint8_t *)pp->p)[off] = 0;
    return NULL;
}

/* Fault in [p, p + len) with one thread per CPU: on virtual machines the
 * first touch of memory is expensive and that cost parallelises. */
static void populate(uint8_t *p, size_t len, uint32_t psz)
{
    enum { MAXT = 4 };
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int n = ncpu < 1 ? 1 : ncpu > MAXT ? MAXT : (int)ncpu;
    size_t share = (len / (size_t)n + (2u << 20) - 1) & ~(size_t)((2u << 20) - 1);
    struct populate_part parts[MAXT];
    pthread_t th[MAXT];
    int started[MAXT] = {0};
    for (int i = 0; i < n; i++) {
        size_t off = (size_t)i * share;
        parts[i] = (struct populate_part){p + off, off >= len ? 0 : (len - off < share ? len - off : share), psz};
        if (i > 0 && parts[i].len)
            started[i] = pthread_create(&th[i], NULL, populate_part, &parts[i]) == 0;
        if (i > 0 && parts[i].len && !started[i])
            populate_part(&parts[i]);
    }
    populate_part(&parts[0]);
    for (int i = 1; i < n; i++)
        if (started[i])
            pthread_join(th[i], NULL);
}

/* Reserve max_buffer of address space and fault in as much as the
 * estimate says we will copy, so that the copy while the target is stopped
 * does not pay for our own page faults. */
static int make_buffer(struct ctx *c, uint64_t estimate)
{
    c->bufcap = (c->o->max_buffer + c->psz - 1) / c->psz * c->psz;
    if (c->bufcap < 64 * c->psz)
        c->bufcap = 64 * c->psz; /* a floor, so that streaming makes progress */
    c->buf = mmap(NULL, c->bufcap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (c->buf == MAP_FAILED) {
        c->buf = NULL;
        return fail(c, ENOMEM, "cannot reserve a %llu-byte copy buffer: %s (lower --max-buffer)",
                    (unsigned long long)c->bufcap, strerror(errno));
    }
    /* Headroom for what the target allocates between the estimate and the
     * stop; pages beyond it still work, they just fault during the pause. */
    uint64_t want = estimate + estimate / 16 + (4u << 20);
    c->bufpop = want < c->bufcap ? want : c->bufcap;
    c->bufpop = c->bufpop / c->psz * c->psz;
    /* No MADV_HUGEPAGE: measured on this VM, huge pages did not make the
     * copy faster (147-180 ms for 1.1 GiB either way) but made pre-faulting
     * 2-5x slower. */
    populate(c->buf, c->bufpop, c->psz);
    return 0;
}

/* ------------------------------------------------------------ while stopped */

/*
 * While the target is stopped, every millisecond we wait for a CPU is a
 * millisecond of the target's pause, and on a busy machine that wait can
 * double the pause.  So, where allowed (root or RLIMIT_RTPRIO), the stop
 * and the copy run at the lowest real-time priority; the copy threads
 * inherit it.  The window is bounded (--timeout for the stop, then a copy
 * of known size), and the kernel's RT throttling keeps 5% for others.
 * Unprivileged, this silently does nothing.
 */
static void realtime(int on)
{
    struct sched_param sp;
    memset(&sp, 0, sizeof sp);
    sp.sched_priority = on ? 1 : 0;
    sched_setscheduler(0, on ? SCHED_FIFO : SCHED_OTHER, &sp);
}

static int add_range(struct ctx *c, uint64_t addr, uint64_t npages, uint32_t flags, uint8_t *state,
                     uint64_t present)
{
    if ((c->nr & (c->nr - 1)) == 0) { /* grow at powers of two */
        struct range *nr = realloc(c->r, (c->nr ? c->nr * 2 : 16) * sizeof *nr);
        if (!nr)
            return fail(c, ENOMEM, "out of memory");
        c->r = nr;
    }
    c->r[c->nr++] = (struct range){addr, npages, flags, state, present, NULL, 0, 0};
    return 0;
}

/* One range of a mapping: its page states, added to the plan unless it is
 * part of a sparse reservation and holds nothing. */
static int plan_chunk(struct ctx *c, int fd, struct hs_mapping *m, uint64_t p, int sparse, uint64_t *total)
{
    uint64_t npages = (m->end - m->start) / c->psz;
    uint64_t n = npages - p < RANGE_PAGES ? npages - p : RANGE_PAGES;
    uint8_t *state = malloc(n);
    if (!state)
        return fail(c, ENOMEM, "out of memory");
    uint64_t addr = m->start + p * c->psz;
    int64_t present = pagemap_states(fd, addr, n, c->psz, state);
    if (present < 0) {
        int e = errno;
        free(state);
        return fail(c, e, "cannot read /proc/%d/pagemap at 0x%llx: %s", (int)c->pid, (unsigned long long)addr,
                    strerror(e));
    }
    if (sparse && present == 0 && !memchr(state, HS_PAGE_SWAPPED, n)) {
        free(state);
        return 0;
    }
    if (add_range(c, addr, n, (m->flags & HS_MAP_ANON) ? HS_MEM_ANON : 0, state, (uint64_t)present) < 0) {
        free(state);
        return -1;
    }
    m->flags |= HS_MAP_CAPTURED;
    *total += (uint64_t)present;
    return 0;
}

struct sparse_walk {
    struct ctx *c;
    struct hs_mapping *m;
    int fd;
    uint64_t next; /* the first range index not yet planned */
    uint64_t *total;
};

/* A run of resident or swapped pages in a sparse mapping: plan the ranges
 * that hold it. */
static int sparse_run(void *arg, uint64_t start, uint64_t end)
{
    struct sparse_walk *w = arg;
    uint64_t span = (uint64_t)RANGE_PAGES * w->c->psz;
    uint64_t first = (start - w->m->start) / span, last = (end - 1 - w->m->start) / span;
    for (uint64_t k = first > w->next ? first : w->next; k <= last; k++) {
        if (plan_chunk(w->c, w->fd, w->m, k * RANGE_PAGES, 1, w->total) < 0)
            return -1;
        w->next = k + 1;
    }
    return 0;
}

/*
 * Without PAGEMAP_SCAN (kernels before 6.7), pagemap yields one entry per
 * page, and walking a sanitizer's terabytes of shadow takes seconds or
 * minutes: far too long to do while the target is stopped.  So that walk
 * is done before the stop, and it notes which ranges of such sparse
 * mappings hold anything; while stopped, only those ranges are looked at.
 * A range first touched in between is left out of the file: not captured,
 * which the reader reports as such (never as zeros).
 */
static int probe_run(void *arg, uint64_t start, uint64_t end)
{
    (void)arg, (void)start, (void)end;
    return 0;
}

static void sparse_hints(struct ctx *c)
{
    int fd = pagemap_open(c->pid);
    if (fd < 0)
        return;
    if (pagemap_runs(fd, c->pre[0].start, c->pre[0].start + c->psz, probe_run, NULL) != -2) {
        close(fd);
        return; /* PAGEMAP_SCAN works: no hints needed */
    }
    uint8_t *state = malloc(RANGE_PAGES);
    size_t cap = 0;
    for (size_t i = 0; state && i < c->npre; i++) {
        const struct hs_mapping *m = &c->pre[i];
        if (!wanted(m, c->o->policy) || m->end - m->start <= SPARSE_BYTES)
            continue;
        uint64_t npages = (m->end - m->start) / c->psz;
        for (uint64_t p = 0; p < npages; p += RANGE_PAGES) {
            uint64_t n = npages - p < RANGE_PAGES ? npages - p : RANGE_PAGES;
            int64_t present = pagemap_states(fd, m->start + p * c->psz, n, c->psz, state);
            if (present == 0 && !memchr(state, HS_PAGE_SWAPPED, n))
                continue;
            if (c->nhint == cap) {
                cap = cap ? cap * 2 : 256;
                uint64_t *nh = realloc(c->hint, cap * sizeof *nh);
                if (!nh)
                    break;
                c->hint = nh;
            }
            c->hint[c->nhint++] = m->start + p * c->psz; /* ascending: maps are sorted */
        }
    }
    free(state);
    close(fd);
    c->have_hints = 1;
}

static int hinted(const struct ctx *c, uint64_t addr)
{
    size_t lo = 0, hi = c->nhint;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->hint[mid] == addr)
            return 1;
        if (c->hint[mid] < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* Private anonymous memory that a fork freezes exactly: the copy's page
 * tables are the target's, so in cow mode its plan is read from the copy's
 * pagemap after the resume, not in the pause.  (A file-backed mapping no
 * page of which was written has no page tables in the copy; shared memory
 * is not frozen; dontfork/wipeonfork memory is not in the copy.) */
static int frozen_anon(const struct hs_mapping *m)
{
    return (m->flags & (HS_MAP_ANON | HS_MAP_SHARED)) == HS_MAP_ANON && !procfs_has_vmflag(m->vmflags, "dc") &&
           !procfs_has_vmflag(m->vmflags, "wf");
}

enum { PLAN_ALL, PLAN_UNFROZEN, PLAN_FROZEN };

/* Which pages of every wanted mapping (of part) are resident, from the
 * pagemap of from (the target, or cow's copy): the plan of the copy. */
static int plan(struct ctx *c, pid_t from, int part, uint64_t *total_present)
{
    int fd = pagemap_open(from);
    if (fd < 0)
        return fail(c, errno, "cannot open /proc/%d/pagemap: %s", (int)from, strerror(errno));
    *total_present = 0;
    for (size_t i = 0; i < c->nmaps; i++) {
        struct hs_mapping *m = &c->maps[i];
        if (!wanted(m, c->o->policy) || (part == PLAN_UNFROZEN && frozen_anon(m)) ||
            (part == PLAN_FROZEN && !frozen_anon(m)))
            continue;
        uint64_t npages = (m->end - m->start) / c->psz;
        int sparse = m->end - m->start > SPARSE_BYTES;
        if (sparse) {
            /* Terabytes of reservation (sanitizer shadow, allocator
             * arenas): find the few resident runs in one walk, rather
             * than asking range by range. */
            struct sparse_walk w = {c, m, fd, 0, total_present};
            int r = pagemap_runs(fd, m->start, m->end, sparse_run, &w);
            if (r == -1) {
                close(fd);
                return *c->err ? -1
                               : fail(c, errno, "cannot read /proc/%d/pagemap: %s", (int)c->pid, strerror(errno));
            }
            if (r == 0)
                continue;
            /* r == -2: no PAGEMAP_SCAN here; go range by range. */
        }
        for (uint64_t p = 0; p < npages; p += RANGE_PAGES) {
            if (sparse && c->have_hints && !hinted(c, m->start + p * c->psz))
                continue;
            if (plan_chunk(c, fd, m, p, sparse, total_present) < 0) {
                close(fd);
                return -1;
            }
        }
    }
    close(fd);
    return 0;
}

static const struct hs_mapping *mapping_of(const struct ctx *c, uint64_t addr)
{
    for (size_t i = 0; i < c->nmaps; i++)
        if (addr >= c->maps[i].start && addr < c->maps[i].end)
            return &c->maps[i];
    return NULL;
}

/* The mapping that holds a thread's rsp is its stack. */
static void set_stack(const struct ctx *c, struct hs_thread *t)
{
    const struct hs_mapping *m = mapping_of(c, t->regs[HS_RSP]);
    if (m) {
        t->stack_start = m->start;
        t->stack_end = m->end;
    }
}

/*
 * The registers of every stopped thread.  A thread whose registers cannot
 * be read (it was SIGKILLed under us) is still recorded, with regs all
 * zero and the reason in regs_error, so that the snapshot says what it
 * lacks.  A capture in which no thread's registers could be read is no
 * snapshot of a live process: it fails (the process is exiting, as a rule).
 */
static int read_threads(struct ctx *c)
{
    c->th = calloc(c->stop.n ? c->stop.n : 1, sizeof *c->th);
    if (!c->th)
        return fail(c, ENOMEM, "out of memory");
    /* A fault hook for the tests (t1040): HEAPSNAP_FAULT_REGS=N fails the
     * register read of the first N threads as a thread that died under us
     * does; nothing else can make that happen on purpose. */
    const char *fault = getenv("HEAPSNAP_FAULT_REGS");
    size_t nfault = fault ? strtoul(fault, NULL, 10) : 0;
    size_t readable = 0;
    for (size_t i = 0; i < c->stop.n; i++) {
        const struct stop_thread *s = &c->stop.t[i];
        if (!s->stopped || s->gone)
            continue;
        struct hs_thread *t = &c->th[c->nth];
        t->tid = s->tid;
        t->state = s->state;
        memcpy(t->name, s->name, sizeof t->name);
        t->name[15] = '\0';
        int got = c->nth < nfault ? (errno = ESRCH, -1) : stop_get_regs(s->tid, t->regs);
        if (got < 0) {
            int e = errno;
            memset(t->regs, 0, sizeof t->regs);
            snprintf(t->regs_error, sizeof t->regs_error, "PTRACE_GETREGSET: %s%s", strerror(e),
                     e == ESRCH ? " (the thread exited during the capture)" : "");
        } else {
            readable++;
            set_stack(c, t);
        }
        c->nth++;
    }
    /* In cow mode the forking thread is the guard's (guard_thread() adds it,
     * its registers already read): it counts as a readable one. */
    if (readable == 0 && !c->guard.tid) {
        if (procfs_process_exited(c->pid))
            return fail(c, ESRCH, "process %d exited during the capture; nothing written", (int)c->pid);
        return fail(c, ESRCH, "no thread of process %d could be read (%s); nothing written", (int)c->pid,
                    c->nth ? c->th[0].regs_error : "none was stopped");
    }
    return 0;
}

/* cow: the thread the guard holds (cowguard.h) is not in c->stop; its
 * record, from the guard, goes first, where the main thread usually is. */
static int guard_thread(struct ctx *c)
{
    if (!c->guard.tid)
        return 0;
    struct hs_thread *nt = realloc(c->th, (c->nth + 1) * sizeof *nt);
    if (!nt)
        return fail(c, ENOMEM, "out of memory");
    c->th = nt;
    memmove(c->th + 1, c->th, c->nth * sizeof *c->th);
    struct hs_thread *t = &c->th[0];
    memset(t, 0, sizeof *t);
    t->tid = c->guard.tid;
    t->state = c->guard.state;
    memcpy(t->name, c->guard.name, sizeof t->name);
    t->name[15] = '\0';
    memcpy(t->regs, c->guard.regs, sizeof t->regs);
    set_stack(c, t);
    c->nth++;
    return 0;
}

/* Anonymous captured memory is where --redact keeps pointers to. */
static int redact_targets(struct ctx *c)
{
    c->spans = calloc(c->nmaps ? c->nmaps : 1, sizeof *c->spans);
    if (!c->spans)
        return fail(c, ENOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < c->nmaps; i++)
        if ((c->maps[i].flags & (HS_MAP_CAPTURED | HS_MAP_ANON)) == (HS_MAP_CAPTURED | HS_MAP_ANON))
            c->spans[n++] = (struct scrub_span){c->maps[i].start, c->maps[i].end};
    c->sc.targets = c->spans;
    c->sc.ntargets = n;
    c->sc.redact = c->o->redact;
    return 0;
}

/* --redact: a thread keeps a register only when it points into captured
 * anonymous memory (the rule for memory words), and no name. */
static void redact_threads(struct ctx *c)
{
    for (size_t i = 0; i < c->nth && c->o->redact; i++) {
        scrub_registers(&c->sc, c->th[i].regs, HS_NREGS);
        snprintf(c->th[i].name, sizeof c->th[i].name, "%s", SCRUB_REDACTED);
    }
}

static uint64_t zero_pages(const uint8_t *data, uint64_t npages, uint32_t psz)
{
    uint64_t z = 0;
    for (uint64_t i = 0; i < npages; i++) {
        const uint64_t *w = (const uint64_t *)(data + i * psz);
        uint64_t acc = 0;
        for (uint32_t k = 0; k < psz / 8 && !acc; k += 8)
            acc = w[k] | w[k + 1] | w[k + 2] | w[k + 3] | w[k + 4] | w[k + 5] | w[k + 6] | w[k + 7];
        z += acc == 0;
    }
    return z;
}

/* Scrub one captured piece, count it, hand it to the writer. */
static int emit(struct ctx *c, uint64_t addr, uint64_t npages, uint32_t flags, uint8_t *state, uint8_t *data,
                uint64_t ndata)
{
    scrub_range(&c->sc, addr, npages, c->psz, state, data);
    c->st.bytes_zero += zero_pages(data, ndata, c->psz) * c->psz;
    for (uint64_t i = 0; i < npages; i++) {
        if (state[i] == HS_PAGE_ABSENT)
            c->st.bytes_absent += c->psz;
        else if (state[i] == HS_PAGE_SWAPPED)
            c->st.bytes_swapped += c->psz;
        else if (state[i] == HS_PAGE_ZERO)
            c->st.bytes_zero += c->psz;
    }
    if (hs_write_memory(c->w, addr, c->psz, npages, flags, state, data) < 0)
        return fail(c, EIO, "writing the snapshot: %s", hs_writer_error(c->w));
    return 0;
}

static int copy_failed(struct ctx *c)
{
    int e = errno;
    if (c->guard.child && e == ESRCH)
        return fail(c, ESRCH, "the frozen copy %d of the process was killed during the capture; nothing written",
                    (int)c->guard.child);
    if (e == ESRCH || procfs_process_exited(c->pid))
        return fail(c, ESRCH, "process %d exited during the capture; nothing written", (int)c->pid);
    return fail(c, e, "copying the memory of %d: %s", (int)c->pid, strerror(e));
}

static int write_metadata(struct ctx *c)
{
    if (hs_write_process(c->w, &c->proc) < 0 || hs_write_mappings(c->w, c->maps, c->nmaps) < 0 ||
        hs_write_modules(c->w, c->mods, c->nmods) < 0 || hs_write_threads(c->w, c->th, c->nth) < 0)
        return fail(c, EIO, "writing the snapshot: %s", hs_writer_error(c->w));
    c->meta_written = 1;
    return 0;
}

/* Buffered: copy every resident page into the pre-faulted buffer, each
 * range at the offset its present pages would take (pages that turn out
 * unreadable leave a gap at the end of their range, never an overlap). */
static int copy_all(struct ctx *c)
{
    struct copy_job *jobs = calloc(c->nr ? c->nr : 1, sizeof *jobs);
    if (!jobs)
        return fail(c, ENOMEM, "out of memory");
    size_t nj = 0;
    uint8_t *at = c->buf;
    for (size_t i = 0; i < c->nr; i++) {
        struct range *r = &c->r[i];
        r->data = at;
        if (r->present)
            jobs[nj++] = (struct copy_job){r->addr, r->npages, r->state, at, 0};
        at += r->present * c->psz;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int rc = copier_copy_jobs(&c->cp, jobs, nj, c->psz, ncpu > 4 ? 4 : ncpu > 0 ? (int)ncpu : 1);
    nj = 0;
    for (size_t i = 0; i < c->nr; i++)
        if (c->r[i].present)
            c->r[i].ndata = jobs[nj++].ndata;
    free(jobs);
    if (rc < 0)
        return copy_failed(c);
    return 0;
}

/* Streamed, and cow's reading of the copy: copy with cp and write at most
 * STREAM_CHUNK (or the buffer) at a time; ranges with data of their own
 * (cow's from_parent) are written from it. */
static int stream_all(struct ctx *c, struct copier *cp)
{
    uint64_t chunk = (c->bufpop < STREAM_CHUNK ? c->bufpop : STREAM_CHUNK) / c->psz;
    if (chunk == 0)
        chunk = 1;
    for (size_t i = 0; i < c->nr; i++) {
        struct range *r = &c->r[i];
        if (r->data) {
            if (emit(c, r->addr, r->npages, r->flags, r->state, r->data, r->ndata) < 0)
                return -1;
            continue;
        }
        uint64_t p = 0;
        while (p < r->npages) {
            uint64_t q = p, cnt = 0;
            while (q < r->npages && (r->state[q] != HS_PAGE_DATA || cnt < chunk))
                cnt += r->state[q++] == HS_PAGE_DATA;
            uint64_t addr = r->addr + p * c->psz, nd = 0;
            if (cnt && copier_copy(cp, addr, q - p, c->psz, r->state + p, c->buf, &nd) < 0)
                return copy_failed(c);
            if (emit(c, addr, q - p, r->flags, r->state + p, c->buf, nd) < 0)
                return -1;
            p = q;
        }
    }
    if (!c->guard.child && procfs_process_exited(c->pid))
        return fail(c, ESRCH, "process %d exited during the capture; nothing written", (int)c->pid);
    return 0;
}

/* Said even with -q: the user's limit made the pause longer. */
static void say_streamed(struct ctx *c, uint64_t present)
{
    fprintf(stderr,
            "heapsnap-capture: %llu MiB resident is more than --max-buffer (%llu MiB): writing while "
            "the target is stopped, so the pause is longer\n",
            (unsigned long long)(present * c->psz >> 20), (unsigned long long)(c->o->max_buffer >> 20));
}

/* Streamed while stopped: modules now (the metadata precedes the memory
 * in the stream), and no real-time priority: compressing while stopped
 * can take minutes, which would take a whole CPU from everyone else. */
static int begin_streaming(struct ctx *c, const char *why)
{
    realtime(0);
    size_t l = strlen(c->reason);
    snprintf(c->reason + l, sizeof c->reason - l, "; streamed: %s", why);
    c->mode = HS_MODE_STREAMED;
    if (modules_collect(c->pid, c->maps, c->nmaps, c->psz, &c->mods, &c->nmods) < 0)
        return fail(c, ENOMEM, "out of memory");
    return write_metadata(c);
}

/* ---------------------------------------------------------- cow, stop-lz4 */

/* A fork does not freeze shared memory (the target writes it in place)
 * and leaves out MADV_DONTFORK and MADV_WIPEONFORK memory: those ranges
 * are copied from the target while it is stopped, like the buffered mode
 * (in the default --mappings=writable there are none but the rare
 * dontfork/wipeonfork ones). */
static int copy_unfrozen(struct ctx *c)
{
    for (size_t i = 0; i < c->nr; i++) {
        struct range *r = &c->r[i];
        const struct hs_mapping *m = mapping_of(c, r->addr);
        if (!m || !((m->flags & HS_MAP_SHARED) || procfs_has_vmflag(m->vmflags, "dc") || procfs_has_vmflag(m->vmflags, "wf")))
            continue;
        r->from_parent = 1;
        r->data = malloc(r->present ? r->present * c->psz : 1);
        if (!r->data)
            return fail(c, ENOMEM, "out of memory");
        if (r->present && copier_copy(&c->cp, r->addr, r->npages, c->psz, r->state, r->data, &r->ndata) < 0)
            return copy_failed(c);
    }
    return 0;
}

/*
 * After the resume: the copy lacks a MADV_DONTFORK mapping and holds a
 * MADV_WIPEONFORK one as zeros.  Those known before the stop were copied
 * from the target (copy_unfrozen); one made in the moment between the smaps
 * read and the stop is found here, in the copy's own smaps, and its pages
 * are recorded unreadable (never zeros).
 */
static int check_copy(struct ctx *c)
{
    struct hs_mapping *cm;
    size_t ncm;
    if (procfs_read_maps(c->guard.child, 1, &cm, &ncm) < 0)
        return fail(c, errno, "cannot read the maps of the frozen copy %d: %s", (int)c->guard.child,
                    strerror(errno));
    for (size_t i = 0; i < c->nr; i++) {
        struct range *r = &c->r[i];
        if (r->from_parent)
            continue;
        uint64_t end = r->addr + r->npages * c->psz;
        size_t j = 0;
        while (j < ncm && cm[j].end <= r->addr)
            j++;
        if (j < ncm && cm[j].start <= r->addr && cm[j].end >= end && !procfs_has_vmflag(cm[j].vmflags, "wf"))
            continue;
        /* Planned from a copy that lacks it, or holds it as zeros: nothing
         * in it is known. */
        memset(r->state, HS_PAGE_UNREADABLE, r->npages);
        r->present = 0;
        copier_note(&c->cp, r->addr, end - r->addr, 0,
                    "not in the fork's copy (MADV_DONTFORK or MADV_WIPEONFORK made during the stop)");
    }
    procfs_free_maps(cm, ncm);
    return 0;
}

/* stop-lz4, while stopped: cut the ranges into blocks, copy and compress
 * them on every CPU; what does not fit the budget is written with zstd
 * now, the target still stopped. */
static int stop_lz4(struct ctx *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nr; i++)
        n += (c->r[i].npages + HS_BLOCK_PAGES - 1) / HS_BLOCK_PAGES;
    c->pc = calloc(n ? n : 1, sizeof *c->pc);
    if (!c->pc)
        return fail(c, ENOMEM, "out of memory");
    for (size_t i = 0; i < c->nr; i++) {
        struct range *r = &c->r[i];
        for (uint64_t p = 0; p < r->npages; p += HS_BLOCK_PAGES)
            c->pc[c->npc++] = (struct lz4_piece){
                .addr = r->addr + p * c->psz,
                .npages = r->npages - p < HS_BLOCK_PAGES ? r->npages - p : HS_BLOCK_PAGES,
                .state = r->state + p,
                .flags = r->flags,
                .range = i,
            };
    }
    if (lz4stop_run(&c->z, &c->cp, c->pc, c->npc) < 0)
        return copy_failed(c);
    if (!c->z.full)
        return 0;
    uint64_t left = 0;
    for (size_t i = 0; i < c->npc; i++)
        if (!c->pc[i].done)
            for (uint64_t k = 0; k < c->pc[i].npages; k++)
                left += c->pc[i].state[k] == HS_PAGE_DATA;
    fprintf(stderr,
            "heapsnap-capture: the LZ4 copy outgrew --max-buffer (%llu MiB): writing the other %llu MiB while "
            "the target is stopped, so the pause is longer\n",
            (unsigned long long)(c->o->max_buffer >> 20), (unsigned long long)(left * c->psz >> 20));
    if (begin_streaming(c, "the LZ4 copy outgrew --max-buffer") < 0)
        return -1;
    uint8_t *scratch = lz4stop_scratch(&c->z);
    for (size_t i = 0; i < c->npc; i++) {
        struct lz4_piece *pc = &c->pc[i];
        if (pc->done)
            continue;
        uint64_t nd = 0;
        if (copier_copy(&c->cp, pc->addr, pc->npages, c->psz, pc->state, scratch, &nd) < 0)
            return copy_failed(c);
        if (emit(c, pc->addr, pc->npages, pc->flags, pc->state, scratch, nd) < 0)
            return -1;
    }
    if (procfs_process_exited(c->pid))
        return fail(c, ESRCH, "process %d exited during the capture; nothing written", (int)c->pid);
    return 0;
}

/*
 * Returns 0; -1 with the error; or -2 when the fork could not be made
 * safely (c->cow_why says why; the target is as it was): the caller lets
 * the target go and captures again in another mode.
 */
static int stopped_phase(struct ctx *c)
{
    c->proc.capture_time_ns = now_real_ns();
    if (procfs_read_maps(c->pid, 0, &c->maps, &c->nmaps) < 0) {
        if (procfs_process_exited(c->pid))
            return fail(c, ESRCH, "process %d exited during the capture; nothing written", (int)c->pid);
        return fail(c, errno, "cannot read /proc/%d/maps: %s", (int)c->pid, strerror(errno));
    }
    merge_smaps(c->maps, c->nmaps, c->pre, c->npre);
    phase(c, "stopped: read maps");
    uint64_t present = 0;
    if (plan(c, c->pid, c->mode == HS_MODE_COW ? PLAN_UNFROZEN : PLAN_ALL, &present) < 0)
        return -1;
    phase(c, "stopped: read pagemap");
    if (read_threads(c) < 0 || guard_thread(c) < 0 || (c->mode != HS_MODE_COW && redact_targets(c) < 0))
        return -1;
    if (c->mode != HS_MODE_COW)
        redact_threads(c);
    phase(c, "stopped: registers");
    if (c->mode == HS_MODE_COW) {
        if (copy_unfrozen(c) < 0)
            return -1;
        if (guard_fork(&c->guard, c->cow_why, sizeof c->cow_why) < 0) {
            if (errno == ESRCH)
                return fail(c, ESRCH, "process %d exited during the capture; nothing written", (int)c->pid);
            return -2;
        }
        phase(c, "stopped: fork the copy");
        fork_steps(c);
        return 0;
    }
    if (c->mode == HS_MODE_STOP_LZ4) {
        if (stop_lz4(c) < 0)
            return -1;
        phase(c, "stopped: copy and LZ4");
        if (c->o->verbose)
            fprintf(stderr,
                    "heapsnap-capture:   CPU time on %d threads: copy %.1f ms, LZ4 %.1f ms; %.1f MiB stored raw, "
                    "%.1f MiB LZ4-compressed to %.1f MiB\n",
                    c->z.nthreads, (double)c->z.copy_cpu_ns / 1e6, (double)c->z.lz4_cpu_ns / 1e6,
                    (double)c->z.raw_bytes / 1048576, (double)c->z.lz_in / 1048576, (double)c->z.lz_out / 1048576);
        return 0;
    }
    if (present * c->psz > c->bufcap) {
        say_streamed(c, present);
        if (begin_streaming(c, "more resident memory at the stop than --max-buffer") < 0)
            return -1;
        return stream_all(c, &c->cp);
    }
    if (copy_all(c) < 0)
        return -1;
    phase(c, "stopped: copy");
    if (procfs_process_exited(c->pid))
        return fail(c, ESRCH, "process %d exited during the capture; nothing written", (int)c->pid);
    return 0;
}

/* ------------------------------------------------------------ after resume */

/* The metadata, with fresher smaps figures than the pre-stop ones, now
 * that reading them costs the target nothing. */
static int write_metadata_resumed(struct ctx *c)
{
    if (c->meta_written)
        return 0;
    struct hs_mapping *now;
    size_t nnow;
    /* Not while a fork's copy shares the pages: PSS would be halved and
     * private pages counted as shared.  cow keeps the pre-stop figures. */
    if (!c->guard.child && procfs_read_maps(c->pid, 1, &now, &nnow) == 0) {
        merge_smaps(c->maps, c->nmaps, now, nnow);
        procfs_free_maps(now, nnow);
    }
    if (modules_collect(c->pid, c->maps, c->nmaps, c->psz, &c->mods, &c->nmods) < 0)
        return fail(c, ENOMEM, "out of memory");
    return write_metadata(c);
}

static int write_buffered(struct ctx *c)
{
    if (write_metadata_resumed(c) < 0)
        return -1;
    for (size_t i = 0; i < c->nr; i++) {
        struct range *r = &c->r[i];
        if (emit(c, r->addr, r->npages, r->flags, r->state, r->data, r->ndata) < 0)
            return -1;
    }
    return 0;
}

/* For tests/t1030: HEAPSNAP_TEST_COW_HOLD=PATH holds the copy, the target
 * running, until PATH exists (at most a minute), so that a test can make
 * the target rewrite memory between the stop and the reading, for certain. */
static void hold_for_test(struct ctx *c)
{
    const char *path = getenv("HEAPSNAP_TEST_COW_HOLD");
    if (!path || !*path)
        return;
    fprintf(stderr, "heapsnap-capture: holding the copy %d until %s exists\n", (int)c->guard.child, path);
    for (int i = 0; i < 6000 && access(path, F_OK) != 0; i++)
        usleep(10000);
}

/* cow: read the frozen copy, COW_CHUNK at a time, then end it. */
static int write_cow(struct ctx *c)
{
    char why[320];
    if (guard_hold(&c->guard, why, sizeof why) < 0)
        return fail(c, ESRCH, "%s; nothing written", why);
    uint64_t present;
    if (plan(c, c->guard.child, PLAN_FROZEN, &present) < 0 || check_copy(c) < 0 || redact_targets(c) < 0)
        return -1;
    redact_threads(c); /* the targets are known only now, from the copy's memory */
    if (write_metadata_resumed(c) < 0)
        return -1;
    c->bufcap = c->bufpop = COW_CHUNK;
    c->buf = mmap(NULL, c->bufcap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c->buf == MAP_FAILED) {
        c->buf = NULL;
        return fail(c, ENOMEM, "out of memory");
    }
    copier_init(&c->cpc, c->guard.child);
    hold_for_test(c);
    int rc = stream_all(c, &c->cpc);
    copier_merge(&c->cp, &c->cpc);
    guard_end(&c->guard);
    return rc;
}

/* stop-lz4: the blocks compressed while stopped, unpacked range by range
 * (consecutive blocks of one range written as one) and written as zstd. */
static int write_lz4(struct ctx *c)
{
    if (write_metadata_resumed(c) < 0)
        return -1;
    c->bufcap = (size_t)RANGE_PAGES * c->psz;
    c->buf = mmap(NULL, c->bufcap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (c->buf == MAP_FAILED) {
        c->buf = NULL;
        return fail(c, ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < c->npc;) {
        if (!c->pc[i].done) {
            i++;
            continue;
        }
        size_t j = i;
        uint64_t nd = 0;
        /* Only the pieces of one range go into one emit: its state array
         * and flags are the first piece's.  (Comparing the state pointers
         * with the addresses was not enough: two ranges' arrays can lie as
         * far apart in malloc's heap as the ranges do in the target, and
         * then the emit read past the first array, into malloc's own
         * header of the next: "page 72 has invalid state 33", once, with
         * both cores busy.) */
        while (j < c->npc && c->pc[j].done && c->pc[j].range == c->pc[i].range &&
               nd + c->pc[j].ndata <= RANGE_PAGES) {
            if (lz4stop_unpack(&c->z, &c->pc[j], c->buf + nd * c->psz) < 0)
                return fail(c, EIO, "an LZ4 block at 0x%llx does not unpack", (unsigned long long)c->pc[j].addr);
            nd += c->pc[j].ndata;
            j++;
        }
        uint64_t npages = (c->pc[j - 1].addr - c->pc[i].addr) / c->psz + c->pc[j - 1].npages;
        if (emit(c, c->pc[i].addr, npages, c->pc[i].flags, c->pc[i].state, c->buf, nd) < 0)
            return -1;
        i = j;
    }
    return 0;
}

/* ---------------------------------------------------------- choosing a mode */

/* What a buffered capture pre-faults for estimate bytes: make_buffer(). */
static uint64_t buffer_need(uint64_t estimate)
{
    return estimate + estimate / 16 + (4u << 20);
}

/* No fork (why): buffered if the buffer fits, else stop-lz4. */
static void fall_back(struct ctx *c, uint64_t estimate, const char *why)
{
    int fits = buffer_need(estimate) <= c->o->max_buffer;
    c->mode = fits ? HS_MODE_BUFFERED : HS_MODE_STOP_LZ4;
    if (fits)
        snprintf(c->reason, sizeof c->reason, "no copy-on-write fork: %s; the buffer fits in --max-buffer", why);
    else
        snprintf(c->reason, sizeof c->reason,
                 "no copy-on-write fork: %s; and %llu MiB resident needs more than --max-buffer (%llu MiB)", why,
                 (unsigned long long)(estimate >> 20), (unsigned long long)(c->o->max_buffer >> 20));
    if (!c->o->quiet)
        fprintf(stderr, "heapsnap-capture: no copy-on-write snapshot of %d: %s; capturing in %s mode\n",
                (int)c->pid, why, hs_mode_name(c->mode));
}

/* The mode with the shortest pause within the memory limit: cow (a fork's
 * pause, no buffer), else buffered (a copy's pause, a buffer of the target's
 * size), else stop-lz4 (copy and compress while stopped, little memory). */
static void choose_mode(struct ctx *c, uint64_t estimate)
{
    const struct capture_opts *o = c->o;
    if (o->mode == CAPTURE_STOP) {
        c->mode = HS_MODE_STOP_LZ4;
        snprintf(c->reason, sizeof c->reason, "asked for with --mode=stop");
        return;
    }
    if (o->mode == CAPTURE_BUFFER) {
        c->mode = HS_MODE_BUFFERED;
        snprintf(c->reason, sizeof c->reason, "asked for with --mode=buffer");
        return;
    }
    char why[320];
    if (cow_preflight(c->pid, c->pre, c->npre, why, sizeof why) == 0) {
        c->mode = HS_MODE_COW;
        snprintf(c->reason, sizeof c->reason, "%s: a fork is safe and pauses the target least",
                 o->mode == CAPTURE_COW ? "asked for with --mode=cow" : "the default");
        return;
    }
    fall_back(c, estimate, why);
}

/* Before the stop: what this mode needs in memory. */
static int prepare_mode(struct ctx *c, uint64_t estimate)
{
    if (c->mode == HS_MODE_BUFFERED)
        return make_buffer(c, estimate);
    if (c->mode == HS_MODE_STOP_LZ4 && lz4stop_prepare(&c->z, c->o->max_buffer, estimate, c->psz) < 0)
        return fail(c, errno, "cannot reserve %llu bytes for the LZ4 copy: %s (lower --max-buffer)",
                    (unsigned long long)c->o->max_buffer, strerror(errno));
    return 0;
}

static void release(struct ctx *c);

/* Forget one attempt (a fork refused in the stop), keeping what was read
 * before it. */
static void reset_attempt(struct ctx *c)
{
    procfs_free_maps(c->maps, c->nmaps);
    c->maps = NULL, c->nmaps = 0;
    for (size_t i = 0; i < c->nr; i++) {
        free(c->r[i].state);
        if (c->r[i].from_parent)
            free(c->r[i].data);
    }
    free(c->r);
    c->r = NULL, c->nr = 0;
    free(c->th);
    c->th = NULL, c->nth = 0;
    free(c->spans);
    c->spans = NULL;
    copier_free(&c->cp);
    copier_init(&c->cp, c->pid);
    stop_free(&c->stop);
    guard_end(&c->guard);
    uint64_t pause = c->st.pause_ns;
    memset(&c->st, 0, sizeof c->st);
    c->st.pause_ns = pause;
}

static void release(struct ctx *c)
{
    guard_end(&c->guard);
    struct hs_process *p = &c->proc;
    free(p->exe);
    free(p->kernel_release);
    free(p->hostname);
    for (uint32_t i = 0; i < p->argc; i++)
        free(p->argv[i]);
    free(p->argv);
    free(p->auxv);
    procfs_free_maps(c->pre, c->npre);
    modules_free(c->mods, c->nmods);
    free(c->hint);
    reset_attempt(c);
    copier_free(&c->cp);
    copier_free(&c->cpc);
    free(c->pc);
    lz4stop_free(&c->z);
    if (c->buf)
        munmap(c->buf, c->bufcap);
}

int capture_run(const struct capture_opts *o, struct hs_writer *w, struct capture_result *res, char *err,
                size_t errlen)
{
    struct ctx ctx, *c = &ctx;
    memset(c, 0, sizeof *c);
    c->o = o;
    c->w = w;
    c->pid = o->pid;
    c->psz = (uint32_t)sysconf(_SC_PAGESIZE);
    c->err = err;
    c->errlen = errlen;
    c->t0 = stop_now_ns();
    phase(c, "start");
    copier_init(&c->cp, o->pid);
    copier_init(&c->cpc, 0);
    int rc = -1, e;

    /* Before the stop: the estimate, the mode, its memory, the constant facts. */
    if (procfs_read_maps(o->pid, 1, &c->pre, &c->npre) < 0) {
        e = errno;
        if (e == ESRCH && !procfs_process_exited(o->pid))
            fail(c, EINVAL, "it has no user memory to capture (a kernel thread?)");
        else
            fail(c, e, "cannot read /proc/%d/smaps: %s", (int)o->pid, strerror(e));
        goto out;
    }
    uint64_t estimate = 0;
    for (size_t i = 0; i < c->npre; i++)
        if (wanted(&c->pre[i], o->policy))
            estimate += c->pre[i].rss;
    if (read_process(c) < 0) {
        fail(c, errno, "cannot read /proc/%d: %s", (int)o->pid, strerror(errno));
        goto out;
    }
    sparse_hints(c);
    choose_mode(c, estimate);
    phase(c, "read smaps, /proc facts");

    /* At most two stops: a fork that turns out to be unsafe while the
     * target is stopped (a seccomp filter, the kernel's refusal) leaves
     * it as it was, and it is captured again in the fallback mode. */
    for (int attempt = 0;; attempt++) {
        if (prepare_mode(c, estimate) < 0)
            goto out;
        phase(c, "prepare memory");
        realtime(1);
        if (c->mode == HS_MODE_COW && guard_start(&c->guard, o->pid, o->timeout_s, err, errlen) < 0) {
            realtime(0);
            goto out;
        }
        if (stop_all_but(&c->stop, o->pid, c->guard.tid, o->timeout_s, err, errlen) < 0) {
            res->denied_tid = c->stop.denied;
            realtime(0);
            goto out;
        }
        phase(c, "stop every thread");
        if (o->verbose && c->guard.interrupt_ns && c->stop.interrupt_ns)
            fprintf(stderr, "heapsnap-capture:   the guard's thread stopped first, the others %.1f ms later\n",
                    (double)(stop_now_ns() - c->guard.interrupt_ns) / 1e6);
        int r = stopped_phase(c);
        e = errno;
        guard_detach(&c->guard);
        stop_detach_all(&c->stop);
        uint64_t resumed = stop_now_ns();
        realtime(0);
        phase(c, "detach");
        uint64_t stopped = c->stop.interrupt_ns;
        if (c->guard.interrupt_ns && (!stopped || c->guard.interrupt_ns < stopped))
            stopped = c->guard.interrupt_ns; /* the guard stopped its thread first */
        c->st.pause_ns += resumed - stopped; /* both stops, if there were two */
        if (o->verbose) /* for bench/capture, to find this window in the target's own record of its gaps */
            fprintf(stderr, "heapsnap-capture: stopped from %llu to %llu us (CLOCK_MONOTONIC)\n",
                    (unsigned long long)(stopped / 1000), (unsigned long long)(resumed / 1000));
        if (r == -2 && attempt == 0) {
            reset_attempt(c);
            fall_back(c, estimate, c->cow_why);
            size_t l = strlen(c->reason);
            snprintf(c->reason + l, sizeof c->reason - l, " (found while stopped: a second stop)");
            continue;
        }
        if (r < 0) {
            if (r == -2)
                fail(c, EAGAIN, "%s", c->cow_why);
            errno = e;
            goto out;
        }
        break;
    }

    if (c->mode == HS_MODE_COW ? write_cow(c) < 0
        : c->mode == HS_MODE_STOP_LZ4 ? write_lz4(c) < 0
        : c->mode == HS_MODE_BUFFERED ? write_buffered(c) < 0
        : 0)
        goto out;
    if (c->mode == HS_MODE_STREAMED && c->pc && write_lz4(c) < 0) /* stop-lz4 that streamed its overflow */
        goto out;
    phase(c, "resumed: compress and write");
    c->st.bytes_read = c->cp.bytes_read;
    c->st.bytes_unreadable = c->cp.bytes_unreadable;
    c->st.threads = (uint32_t)c->nth;
    c->st.mode = c->mode;
    c->st.mode_reason = c->reason;
    c->st.nfailures = (uint32_t)c->cp.nfail;
    c->st.failures = c->cp.fail;
    c->st.total_ns = stop_now_ns() - c->t0;
    if (hs_write_stats(w, &c->st) < 0) {
        fail(c, EIO, "writing the snapshot: %s", hs_writer_error(w));
        goto out;
    }
    if (o->with_binaries) {
        struct binaries_result br;
        if (binaries_carry(w, c->pid, c->mods, c->nmods, o->quiet, &br) < 0) {
            fail(c, EIO, "writing the snapshot: %s", hs_writer_error(w));
            goto out;
        }
        res->files = br.files;
        res->file_bytes = br.bytes;
        res->file_stored = br.stored;
        phase(c, "carry binaries");
    }
    res->threads = c->st.threads;
    res->mode = c->st.mode;
    res->bytes_read = c->st.bytes_read;
    res->pause_ns = c->st.pause_ns;
    res->total_ns = c->st.total_ns;
    _Static_assert(sizeof res->reason == sizeof c->reason, "one size for the reason");
    memcpy(res->reason, c->reason, sizeof res->reason);
    rc = 0;
out:
    e = errno;
    release(c);
    errno = e;
    return rc;
}
