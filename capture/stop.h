/*
 * stop.h — stopping every thread of a process with ptrace, and letting it go.
 *
 * heapsnap-capture stops the target only for as long as it takes to copy its
 * memory.  The rules this module keeps, because the target is somebody's
 * running program:
 *  - PTRACE_SEIZE with no options (never PTRACE_O_EXITKILL): if we die, the
 *    kernel detaches and the target runs on.
 *  - PTRACE_INTERRUPT on every thread; /proc/PID/task is rescanned until a
 *    scan made while all known threads are stopped finds no new one.
 *  - A signal that arrives during the stop (a signal-delivery-stop) is kept
 *    and re-injected on detach; a group-stop (SIGSTOP from someone else) is
 *    left in force.
 *  - The stop is bounded by a timeout: a thread that will not stop (state D)
 *    makes stop_all() fail after detaching what it had stopped.
 *  - SIGINT, SIGTERM and SIGHUP detach every thread from the signal handler
 *    (async-signal-safe), remove the temporary output file and exit.
 */
#ifndef HEAPSNAP_CAPTURE_STOP_H
#define HEAPSNAP_CAPTURE_STOP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct stop_thread {
    pid_t tid;
    char state;    /* from /proc before we seized it */
    char name[16];
    int stopped;   /* in a ptrace-stop, so its registers and memory are still */
    int sig;       /* a signal to re-inject on detach, or 0 */
    int gone;      /* exited while we held it */
};

struct stop_set {
    pid_t pid;
    struct stop_thread *t;
    size_t n, cap;
    uint64_t interrupt_ns; /* CLOCK_MONOTONIC of the first PTRACE_INTERRUPT */
    pid_t denied;          /* the thread PTRACE_SEIZE failed for, or 0 */
};

/* Install the SIGINT/SIGTERM/SIGHUP handlers.  tmp_path (may be NULL) is
 * unlinked by them; it must stay valid until stop_forget_tmp(). */
void stop_install_handlers(const char *tmp_path);
/* Block those three signals in this thread (old: the mask to restore). */
void stop_block_fatal(sigset_t *old);
void stop_forget_tmp(void);

/*
 * Seize and stop every thread of pid within timeout_s seconds.  Returns 0
 * with every live thread of s stopped, or -1 with a one-line message in err
 * (and everything already detached).  errno is kept from the failure: EPERM
 * for a refused PTRACE_SEIZE, ESRCH if the process exited, ETIMEDOUT.
 */
int stop_all(struct stop_set *s, pid_t pid, double timeout_s, char *err, size_t errlen);

/* The same, leaving thread skip alone (another tracer holds it: cowguard.h). */
int stop_all_but(struct stop_set *s, pid_t pid, pid_t skip, double timeout_s, char *err, size_t errlen);

/* Detach every stopped thread, re-injecting kept signals.  Idempotent. */
void stop_detach_all(struct stop_set *s);

/* Registers of a stopped thread, in struct user_regs_struct order (27 words). */
int stop_get_regs(pid_t tid, uint64_t *regs);

void stop_free(struct stop_set *s);

uint64_t stop_now_ns(void); /* CLOCK_MONOTONIC in ns */

#endif /* HEAPSNAP_CAPTURE_STOP_H */
