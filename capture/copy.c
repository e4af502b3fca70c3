/*
 * copy.c — process_vm_readv batches with a /proc/PID/mem fallback.
 * See copy.h.
 */
#include "copy.h"
#include "stop.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

void copier_init(struct copier *c, pid_t pid)
{
    memset(c, 0, sizeof *c);
    c->pid = pid;
    c->memfd = -1;
}

void copier_free(struct copier *c)
{
    if (c->memfd >= 0)
        close(c->memfd);
    for (size_t i = 0; i < c->nfail; i++)
        free(c->fail[i].reason);
    free(c->fail);
    c->fail = NULL;
    c->nfail = c->capfail = 0;
}

void copier_note(struct copier *c, uint64_t addr, uint64_t len, int err, const char *reason)
{
    c->bytes_unreadable += len;
    struct hs_failure *last = c->nfail ? &c->fail[c->nfail - 1] : NULL;
    if (last && last->end == addr && last->err == err && last->reason && strcmp(last->reason, reason) == 0) {
        last->end += len; /* one record per run of like failures */
        return;
    }
    if (c->nfail == c->capfail) {
        size_t nc = c->capfail ? c->capfail * 2 : 16;
        struct hs_failure *nf = realloc(c->fail, nc * sizeof *nf);
        if (!nf)
            return; /* the page is still marked unreadable; only the note is lost */
        c->fail = nf;
        c->capfail = nc;
    }
    struct hs_failure *f = &c->fail[c->nfail++];
    f->start = addr;
    f->end = addr + len;
    f->err = err;
    f->reason = strdup(reason);
}

static void record_failure(struct copier *c, uint64_t addr, uint64_t len, int vm_err, int mem_err)
{
    char reason[160];
    snprintf(reason, sizeof reason, "process_vm_readv: %s; /proc/%d/mem: %s",
             vm_err ? strerrorname_np(vm_err) : "short read", (int)c->pid,
             mem_err ? strerrorname_np(mem_err) : "short read");
    copier_note(c, addr, len, mem_err, reason);
}

/* One page through /proc/PID/mem.  0, or the errno. */
static int read_mem(struct copier *c, uint64_t addr, size_t len, void *dst)
{
    if (c->memfd < 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/mem", (int)c->pid);
        c->memfd = open(path, O_RDONLY | O_CLOEXEC);
        if (c->memfd < 0)
            return errno;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t r = pread(c->memfd, (char *)dst + done, len - done, (off_t)(addr + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? errno : EIO;
        done += (size_t)r;
    }
    return 0;
}

int copier_copy(struct copier *c, uint64_t addr, uint64_t npages, uint32_t psz, uint8_t *state,
                uint8_t *dst, uint64_t *ndata)
{
    struct iovec remote[IOV_MAX]; /* 16 KiB: fine on any thread's stack */
    uint64_t page = 0, slot = 0; /* slot: index of page among the DATA pages */
    int any_failed = 0;

    while (page < npages) {
        /* Gather up to IOV_MAX runs of present pages. */
        size_t nr = 0;
        uint64_t bytes = 0, p = page, first_slot = slot;
        while (p < npages && nr < IOV_MAX) {
            if (state[p] != HS_PAGE_DATA) {
                p++;
                continue;
            }
            uint64_t q = p;
            while (q < npages && state[q] == HS_PAGE_DATA)
                q++;
            remote[nr].iov_base = (void *)(uintptr_t)(addr + p * psz);
            remote[nr].iov_len = (q - p) * psz;
            bytes += (q - p) * psz;
            nr++;
            p = q;
        }
        if (nr == 0)
            break;
        struct iovec local = {dst + first_slot * psz, bytes};
        ssize_t r = -1;
        int vm_err = ENOSYS;
        if (!c->no_vm_readv) {
            r = process_vm_readv(c->pid, &local, 1, remote, nr, 0);
            vm_err = r < 0 ? errno : 0;
            if (r < 0 && vm_err == ESRCH) {
                errno = ESRCH;
                return -1;
            }
            if (r < 0 && (vm_err == ENOSYS || vm_err == EPERM))
                c->no_vm_readv = 1;
        }
        if ((uint64_t)r == bytes) {
            c->bytes_read += bytes;
            slot += bytes / psz;
            page = p;
            continue;
        }
        /* Short: the first r bytes (whole pages) are good; find the page
         * that stopped the transfer, and walk the pages up to it. */
        uint64_t good = r > 0 ? (uint64_t)r / psz : 0;
        c->bytes_read += good * psz;
        while (good > 0) {
            if (state[page] == HS_PAGE_DATA) {
                slot++;
                good--;
            }
            page++;
        }
        while (state[page] != HS_PAGE_DATA)
            page++;
        uint64_t a = addr + page * psz;
        int mem_err = read_mem(c, a, psz, dst + slot * psz);
        if (mem_err == 0) {
            c->bytes_read += psz;
        } else {
            if (mem_err == ESRCH) {
                errno = ESRCH;
                return -1;
            }
            state[page] = HS_PAGE_UNREADABLE;
            record_failure(c, a, psz, r < 0 ? vm_err : 0, mem_err);
            any_failed = 1;
        }
        slot++;
        page++;
    }

    /* Squeeze the unreadable pages out of dst so DATA pages stay packed. */
    uint64_t out = 0;
    if (any_failed) {
        uint64_t in = 0;
        for (uint64_t i = 0; i < npages; i++) {
            if (state[i] == HS_PAGE_DATA) {
                if (in != out)
                    memmove(dst + out * psz, dst + in * psz, psz);
                in++;
                out++;
            } else if (state[i] == HS_PAGE_UNREADABLE) {
                in++;
            }
        }
    } else {
        out = slot;
    }
    *ndata = out;
    return 0;
}

void copier_merge(struct copier *c, struct copier *from)
{
    c->bytes_read += from->bytes_read;
    c->bytes_unreadable += from->bytes_unreadable;
    for (size_t k = 0; k < from->nfail; k++) {
        struct hs_failure *f = &from->fail[k];
        if (c->nfail == c->capfail) {
            size_t nc = c->capfail ? c->capfail * 2 : 16;
            struct hs_failure *nf = realloc(c->fail, nc * sizeof *nf);
            if (!nf) {
                free(f->reason); /* out of memory: the record is lost, not leaked */
                f->reason = NULL;
                continue;
            }
            c->fail = nf;
            c->capfail = nc;
        }
        c->fail[c->nfail++] = *f;
        f->reason = NULL; /* moved */
    }
    from->bytes_read = from->bytes_unreadable = 0;
    from->nfail = 0;
}

int copier_parallel(struct copier *c, int n, void *(*fn)(void *), void *workers, size_t size)
{
    enum { MAXT = 16 };
    pthread_t th[MAXT];
    int started[MAXT] = {0};
    if (n > MAXT)
        n = MAXT;
    for (int t = 0; t < n; t++) {
        struct copy_worker *h = (struct copy_worker *)((char *)workers + (size_t)t * size);
        copier_init(&h->cp, c->pid);
        h->cp.no_vm_readv = c->no_vm_readv;
        h->rc = h->err = 0;
    }
    /* Worker 0 is this thread; a thread that cannot be created just
     * leaves its share to the others.  The workers block the fatal signals
     * so that their handler runs on this thread, the tracer: only the
     * tracing thread may PTRACE_DETACH (and so re-inject signals). */
    sigset_t old;
    stop_block_fatal(&old);
    for (int t = 1; t < n; t++)
        started[t] = pthread_create(&th[t], NULL, fn, (char *)workers + (size_t)t * size) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    fn(workers);
    int rc = 0, err = 0;
    for (int t = 0; t < n; t++) {
        struct copy_worker *h = (struct copy_worker *)((char *)workers + (size_t)t * size);
        if (t > 0 && started[t])
            pthread_join(th[t], NULL);
        if (h->rc < 0 && !rc) {
            rc = -1;
            err = h->err;
        }
        copier_merge(c, &h->cp);
        copier_free(&h->cp);
    }
    if (rc < 0)
        errno = err;
    return rc;
}

struct worker {
    struct copy_worker h;
    struct copy_job *jobs;
    size_t njobs;
    uint32_t psz;
    size_t *next; /* shared: the next job to take */
};

static void *work(void *arg)
{
    struct worker *w = arg;
    for (;;) {
        size_t i = __atomic_fetch_add(w->next, 1, __ATOMIC_RELAXED);
        if (i >= w->njobs)
            break;
        struct copy_job *j = &w->jobs[i];
        if (copier_copy(&w->h.cp, j->addr, j->npages, w->psz, j->state, j->dst, &j->ndata) < 0) {
            w->h.rc = -1;
            w->h.err = errno;
            __atomic_store_n(w->next, w->njobs, __ATOMIC_RELAXED); /* the others stop too */
            break;
        }
    }
    return NULL;
}

int copier_copy_jobs(struct copier *c, struct copy_job *jobs, size_t njobs, uint32_t psz, int nthreads)
{
    enum { MAXT = 8 };
    struct worker w[MAXT];
    size_t next = 0;
    if (nthreads < 1)
        nthreads = 1;
    if (nthreads > MAXT)
        nthreads = MAXT;
    if ((size_t)nthreads > njobs)
        nthreads = njobs ? (int)njobs : 1;
    for (int t = 0; t < nthreads; t++)
        w[t] = (struct worker){.jobs = jobs, .njobs = njobs, .psz = psz, .next = &next};
    return copier_parallel(c, nthreads, work, w, sizeof w[0]);
}
