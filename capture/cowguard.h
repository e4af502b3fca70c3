/*
 * cowguard.h — the guard: a small process of our own that holds the one
 * thread of the target that forks the copy, so that the fork is all or
 * nothing even if heapsnap-capture is SIGKILLed in the middle of it.
 *
 * Why.  While a thread runs the injected clone its registers are not its
 * own.  If its tracer died then, the kernel would let it go as it was: it
 * would return from "clone" into the code it was interrupted in, with a
 * child pid for a result (and the copy, not yet under PTRACE_O_EXITKILL,
 * would run too).  SIGKILL cannot be blocked, and the capture is the
 * process an operator or the OOM killer kills; so the thread is traced by
 * the guard instead, which the capture forks before the stop and which
 * does nothing but this.  The guard seizes and stops that thread first
 * (heapsnap-capture's stop_all_but() then stops all the others), runs the
 * fork when asked (cow.c), and detaches when asked.  When the capture dies,
 * its end of the socket closes; the guard finishes the step it is in —
 * registers restored — detaches, and exits, which kills the copy (it is
 * the copy's tracer, with EXITKILL).  The guard ignores SIGINT, SIGTERM
 * and SIGHUP: the capture's handlers detach their threads and exit, and
 * the guard follows by the closed socket.
 */
#ifndef HEAPSNAP_CAPTURE_COWGUARD_H
#define HEAPSNAP_CAPTURE_COWGUARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cow.h"
#include "hsnap.h"

struct cow_guard {
    pid_t pid;          /* the guard process, or 0 */
    int fd;             /* our end of its socket */
    pid_t tid;          /* the thread it holds */
    char state;         /* that thread's state before the stop */
    char name[16];
    uint64_t regs[HS_NREGS]; /* its registers at the stop */
    pid_t child;        /* the copy, once forked */
    uint64_t interrupt_ns; /* CLOCK_MONOTONIC when it stopped its thread */
    uint64_t fork_t[COW_NT]; /* the steps of the fork (cow.h), for -v */
};

/* Start the guard and have it stop one thread of pid (the main thread, or
 * the first that is not a zombie) within timeout_s.  0, or -1 with err and
 * errno (EPERM, ESRCH, ETIMEDOUT, ...). */
int guard_start(struct cow_guard *g, pid_t pid, double timeout_s, char *err, size_t errlen);

/* While every thread is stopped: fork the copy from the guard's thread.
 * 0 with g->child; -1 with why (errno ESRCH: the target died; otherwise
 * the target is as it was). */
int guard_fork(struct cow_guard *g, char *why, size_t len);

/* Once the target runs again: the guard holds the copy for good (cow_hold).
 * 0, or -1 with why (the copy is gone). */
int guard_hold(struct cow_guard *g, char *why, size_t len);

/* Let the guard's thread go.  Idempotent. */
void guard_detach(struct cow_guard *g);

/* Kill the copy, end the guard and reap it.  Idempotent. */
void guard_end(struct cow_guard *g);

#endif /* HEAPSNAP_CAPTURE_COWGUARD_H */
