/*
 * copy.h — copying the resident pages of a stopped target into our memory.
 *
 * The copy is the bulk of the target's pause, so it is done with
 * process_vm_readv() in large batches (up to IOV_MAX runs of contiguous
 * pages per call, straight into one pre-faulted buffer).  A page that
 * process_vm_readv cannot read is retried through /proc/PID/mem (which can
 * read some mappings that it cannot); if both fail the page is marked
 * HS_PAGE_UNREADABLE and the failure is recorded for hs_stats, never fatal.
 */
#ifndef HEAPSNAP_CAPTURE_COPY_H
#define HEAPSNAP_CAPTURE_COPY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hsnap.h"

struct copier {
    pid_t pid;
    int memfd;        /* /proc/PID/mem, opened on first need */
    int no_vm_readv;  /* process_vm_readv refused outright (seccomp, ENOSYS) */
    struct hs_failure *fail;
    size_t nfail, capfail;
    uint64_t bytes_read, bytes_unreadable;
};

void copier_init(struct copier *c, pid_t pid);

/*
 * Copy the HS_PAGE_DATA pages of [addr, addr + npages * page_size) into dst,
 * packed one after another in address order (dst must hold them all).
 * Pages that cannot be read become HS_PAGE_UNREADABLE and are left out of
 * dst.  *ndata receives the number of pages stored.  Returns 0, or -1 with
 * errno ESRCH when the target has gone away.
 */
int copier_copy(struct copier *c, uint64_t addr, uint64_t npages, uint32_t page_size, uint8_t *state,
                uint8_t *dst, uint64_t *ndata);

void copier_free(struct copier *c);

/* Record [addr, addr + len) as unreadable for a reason found outside the
 * copy itself (err 0 when there is no errno to give). */
void copier_note(struct copier *c, uint64_t addr, uint64_t len, int err, const char *reason);

/* Add from's counts and failure records to c (from keeps its fd; free it
 * as usual). */
void copier_merge(struct copier *c, struct copier *from);

/*
 * The same for many ranges at once, spread over up to nthreads threads.
 * While the target is stopped its CPUs are idle, and one thread copying
 * with process_vm_readv is bound by page-table walks and TLB misses rather
 * than by memory bandwidth, so two or more copy nearly proportionally
 * faster.  Failures and counts are merged into c.  Returns 0, or -1 with
 * errno (ESRCH: the target has gone away).
 */
struct copy_job {
    uint64_t addr, npages;
    uint8_t *state;
    uint8_t *dst;
    uint64_t ndata; /* out */
};
int copier_copy_jobs(struct copier *c, struct copy_job *jobs, size_t njobs, uint32_t page_size, int nthreads);

/*
 * The threads of the copies above, and of lz4stop.c: run fn on n threads
 * (this one first), each on its own element of workers, size bytes apart,
 * each element starting with a struct copy_worker.  fn takes its work from
 * a queue of the caller's, so a thread that cannot be created leaves its
 * share to the others.  Each worker's copier reads c's pid; their counts
 * and failures are merged into c.  Returns 0, or -1 with the errno of the
 * first worker that set rc = -1.
 */
struct copy_worker {
    struct copier cp;
    int rc, err;
};
int copier_parallel(struct copier *c, int n, void *(*fn)(void *), void *workers, size_t size);

#endif /* HEAPSNAP_CAPTURE_COPY_H */
