/*
 * cow.c — inject the fork that makes the frozen copy, and end the copy.
 * See cow.h for the rules; the comments here say how each is kept.
 */
#include "cow.h"
#include "procfs.h"
#include "seccomp.h"

#include <errno.h>
#include <stdarg.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

/* The kernel's internal "restart me" results, seen in rax of a thread that
 * was stopped inside an interrupted system call (include/linux/errno.h). */
#define ERESTARTSYS           512
#define ERESTARTNOINTR        513
#define ERESTARTNOHAND        514
#define ERESTART_RESTARTBLOCK 516

/* The child's stack pointer: non-canonical, so that its first push, pop or
 * return faults.  It only matters if the child were ever let go before
 * PTRACE_O_EXITKILL is on it (our SIGKILL within those microseconds). */
#define POISON_SP 0xdead000000000000ull

#define CLONE_FLAGS (CLONE_PARENT | CLONE_FILES) /* and exit signal 0 */

static int fail(char *why, size_t len, int e, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *why, size_t len, int e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    errno = e;
    return -1;
}

static int read_target(pid_t pid, uint64_t addr, void *buf, size_t n)
{
    struct iovec l = {buf, n}, r = {(void *)(uintptr_t)addr, n};
    return process_vm_readv(pid, &l, 1, &r, 1, 0) == (ssize_t)n ? 0 : -1;
}

/* A `syscall` instruction (0f 05) in the target's [vdso], or 0.  Where it
 * sits in the vDSO's code does not matter: the thread executes those two
 * bytes and is stopped at the system call's exit, before the next. */
static uint64_t vdso_syscall(pid_t pid)
{
    struct hs_mapping *m;
    size_t n;
    uint64_t at = 0;
    if (procfs_read_maps(pid, 0, &m, &n) < 0)
        return 0;
    for (size_t i = 0; i < n && !at; i++) {
        if (strcmp(m[i].path, "[vdso]") != 0 || !(m[i].flags & HS_MAP_X) || m[i].end - m[i].start > (1u << 20))
            continue;
        size_t len = m[i].end - m[i].start;
        uint8_t *b = malloc(len);
        if (b && read_target(pid, m[i].start, b, len) == 0)
            for (size_t k = 0; k + 1 < len; k++)
                if (b[k] == 0x0f && b[k + 1] == 0x05) {
                    at = m[i].start + k;
                    break;
                }
        free(b);
    }
    procfs_free_maps(m, n);
    return at;
}

/*
 * The registers to put back.  A thread stopped inside an interrupted system
 * call (orig_rax >= 0, rax a restart code) would have had the call
 * restarted by the kernel's signal path on resuming; we put it back at a
 * system-call exit, where that path does not run, so the restart is done
 * here as the kernel does it: rip back onto the syscall instruction, rax
 * the call's number again (restart_syscall for RESTARTBLOCK).
 */
static struct user_regs_struct restored(const struct user_regs_struct *r)
{
    struct user_regs_struct o = *r;
    if ((long long)r->orig_rax < 0)
        return o;
    switch (-(long long)r->rax) {
    case ERESTARTSYS:
    case ERESTARTNOINTR:
    case ERESTARTNOHAND:
        o.rax = r->orig_rax;
        o.rip = r->rip - 2;
        o.orig_rax = (unsigned long long)-1;
        break;
    case ERESTART_RESTARTBLOCK:
        o.rax = SYS_restart_syscall;
        o.rip = r->rip - 2;
        o.orig_rax = (unsigned long long)-1;
        break;
    }
    return o;
}

/* struct sched_attr (sched_setattr(2)); glibc 2.36 has no wrapper. */
struct sattr {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
    uint32_t util_min, util_max;
};
#define RESET_ON_FORK 0x01

/*
 * The clone runs in the target's thread, at the target's priority: on a
 * busy machine a thread of the default policy gets a share of a CPU, and
 * the fork (tens of milliseconds of kernel work for a GiB of small pages)
 * is stretched several times over, all of it pause.  So while it runs,
 * the thread is at SCHED_FIFO 1, like our own stop and copy, and then gets
 * back its exact attributes (policy, nice, flags; utilisation clamps are
 * left alone by both calls).  RESET_ON_FORK keeps the copy off real time.
 * Without CAP_SYS_NICE this quietly does nothing.  0 if raised.
 */
static int raise_prio(pid_t tid, struct sattr *saved)
{
    memset(saved, 0, sizeof *saved);
    if (syscall(SYS_sched_getattr, tid, saved, sizeof *saved, 0) < 0)
        return -1;
    struct sattr fifo;
    memset(&fifo, 0, sizeof fifo);
    fifo.size = sizeof fifo;
    fifo.policy = SCHED_FIFO;
    fifo.priority = 1;
    fifo.flags = RESET_ON_FORK;
    return syscall(SYS_sched_setattr, tid, &fifo, 0) < 0 ? -1 : 0;
}

static void restore_prio(pid_t tid, struct sattr *saved)
{
    saved->size = sizeof *saved;
    saved->flags &= RESET_ON_FORK; /* only what getattr reports that setattr takes back as is */
    syscall(SYS_sched_setattr, tid, saved, 0);
}

/* Wait for the next stop of tid.  Returns the raw status, or -1 if tid
 * has exited (the target was killed under us). */
static int wait_stop(pid_t tid)
{
    int st;
    for (;;) {
        pid_t r = waitpid(tid, &st, __WALL);
        if (r == tid)
            return WIFSTOPPED(st) ? st : -1;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

/* The thread to run the clone, and where: one that is stopped by our
 * interrupt (no signal of its own to give back, not group-stopped), best
 * one blocked in a system call, whose own syscall instruction is right
 * before its rip. */
static struct stop_thread *choose(struct stop_set *s, uint64_t *at, struct user_regs_struct *regs)
{
    struct stop_thread *any = NULL;
    struct user_regs_struct anyregs;
    for (size_t i = 0; i < s->n; i++) {
        struct stop_thread *t = &s->t[i];
        struct user_regs_struct r;
        if (!t->stopped || t->gone || t->sig || t->tid == 0 || t->state == 'T' || t->state == 't')
            continue;
        if (ptrace(PTRACE_GETREGS, t->tid, NULL, &r) < 0)
            continue;
        uint8_t insn[2];
        if ((long long)r.orig_rax >= 0 && r.rip >= 2 && read_target(s->pid, r.rip - 2, insn, 2) == 0 &&
            insn[0] == 0x0f && insn[1] == 0x05) {
            *at = r.rip - 2;
            *regs = r;
            return t;
        }
        if (!any) {
            any = t;
            anyregs = r;
        }
    }
    if (!any)
        return NULL;
    *at = vdso_syscall(s->pid);
    *regs = anyregs;
    return *at ? any : NULL;
}

int cow_fork(struct cow *cw, struct stop_set *s, char *why, size_t len)
{
    memset(cw, 0, sizeof *cw);
    cw->t[COW_T_BEGIN] = stop_now_ns();
    uint64_t at = 0;
    struct user_regs_struct saved, r;
    struct stop_thread *t = choose(s, &at, &saved);
    if (!t)
        return fail(why, len, EINVAL, "no stopped thread with a syscall instruction to run a fork at");
    cw->t[COW_T_CHOSEN] = stop_now_ns();
    pid_t tid = t->tid;
    uint64_t args[6] = {CLONE_FLAGS, POISON_SP, 0, 0, 0, 0};
    if (seccomp_allows(tid, SYS_clone, at + 2, args, why, len) < 0) {
        errno = EPERM;
        return -1;
    }
    cw->t[COW_T_CHECKED] = stop_now_ns();

    sigset_t old;
    stop_block_fatal(&old);
    int rc = -1, raised = 0;
    struct sattr prio;
    pid_t child = 0;
    if (ptrace(PTRACE_SETOPTIONS, tid, NULL, (void *)(long)(PTRACE_O_TRACECLONE | PTRACE_O_TRACESYSGOOD)) < 0) {
        fail(why, len, errno, "PTRACE_SETOPTIONS on thread %d: %s", (int)tid, strerror(errno));
        goto out_opts;
    }
    r = saved;
    r.rip = at;
    r.rax = SYS_clone;
    r.orig_rax = (unsigned long long)-1; /* no restart of what it was in */
    r.rdi = args[0];
    r.rsi = args[1];
    r.rdx = args[2];
    r.r10 = args[3];
    r.r8 = args[4];
    if (ptrace(PTRACE_SETREGS, tid, NULL, &r) < 0) {
        fail(why, len, errno, "PTRACE_SETREGS on thread %d: %s", (int)tid, strerror(errno));
        goto out_opts;
    }
    /* To the system call's entry.  Anything else first (a signal for this
     * thread, a group stop) and we put everything back where it was: at
     * such a stop the kernel's own restart logic still runs on resume. */
    int st;
    raised = raise_prio(tid, &prio) == 0;
    if (ptrace(PTRACE_SYSCALL, tid, NULL, NULL) < 0 || (st = wait_stop(tid)) < 0)
        goto gone;
    cw->t[COW_T_ENTRY] = stop_now_ns();
    if (WSTOPSIG(st) != (SIGTRAP | 0x80)) {
        if ((st >> 16) == 0 && WSTOPSIG(st) != SIGTRAP)
            t->sig = WSTOPSIG(st); /* given back on detach */
        ptrace(PTRACE_SETREGS, tid, NULL, &saved);
        fail(why, len, EAGAIN, "thread %d was signalled as it was about to fork", (int)tid);
        goto out_opts;
    }
    /* Entry: run the clone.  The parent stops at PTRACE_EVENT_CLONE (if a
     * child was made), then at the exit; the child is born traced and
     * stops before it reaches user mode. */
    if (ptrace(PTRACE_SYSCALL, tid, NULL, NULL) < 0 || (st = wait_stop(tid)) < 0)
        goto gone;
    cw->t[COW_T_CLONED] = stop_now_ns();
    if ((st >> 8) == (SIGTRAP | (PTRACE_EVENT_CLONE << 8))) {
        unsigned long msg = 0;
        ptrace(PTRACE_GETEVENTMSG, tid, NULL, &msg);
        child = (pid_t)msg;
        if (ptrace(PTRACE_SYSCALL, tid, NULL, NULL) < 0 || (st = wait_stop(tid)) < 0)
            goto gone;
    }
    cw->t[COW_T_EXIT] = stop_now_ns();
    /* Only the system call's exit can come after its entry and the clone
     * event (signals are handled later on the way out); a SIGKILL would have
     * made wait_stop() fail. */
    struct user_regs_struct after;
    if (WSTOPSIG(st) != (SIGTRAP | 0x80) || ptrace(PTRACE_GETREGS, tid, NULL, &after) < 0) {
        ptrace(PTRACE_SETREGS, tid, NULL, &saved);
        fail(why, len, EAGAIN, "thread %d stopped unexpectedly (status 0x%x) while forking", (int)tid, st);
        goto out_child;
    }
    r = restored(&saved);
    if (ptrace(PTRACE_SETREGS, tid, NULL, &r) < 0)
        goto gone;
    if ((long long)after.rax < 0 || child <= 0 || (pid_t)after.rax != child) {
        long long e = (long long)after.rax < 0 ? -(long long)after.rax : EAGAIN;
        fail(why, len, (int)e, "the kernel refused the fork: %s",
                 e == EINVAL ? "EINVAL (PID 1 of a namespace cannot use CLONE_PARENT)"
                 : e == ENOMEM ? "ENOMEM (overcommit refused it, or out of memory)"
                 : e == EAGAIN ? "EAGAIN (a process limit: RLIMIT_NPROC, pids.max or threads-max)"
                 : e >= 512 ? "interrupted by a signal"
                 : strerror((int)e));
        goto out_child;
    }
    cw->child = child;
    cw->via = tid;
    rc = 0;
    goto out_opts;
out_child:
    if (child > 0) {
        cw->child = child;
        cow_release(cw);
    }
out_opts:
    if (raised)
        restore_prio(tid, &prio);
    ptrace(PTRACE_SETOPTIONS, tid, NULL, NULL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    cw->t[COW_T_END] = stop_now_ns();
    return rc;
gone:
    /* The thread has exited under us: the target is being killed. */
    t->gone = 1;
    if (child > 0) {
        cw->child = child;
        cow_release(cw);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    return fail(why, len, ESRCH, "process %d died while it was forking", (int)s->pid);
}

int cow_hold(struct cow *cw, char *why, size_t len)
{
    if (cw->child <= 0)
        return fail(why, len, ESRCH, "no copy to hold");
    if (wait_stop(cw->child) < 0 ||
        ptrace(PTRACE_SETOPTIONS, cw->child, NULL, (void *)(long)PTRACE_O_EXITKILL) < 0) {
        int e = errno;
        cow_release(cw);
        return fail(why, len, ESRCH, "the forked copy could not be held: %s", strerror(e));
    }
    return 0;
}

void cow_release(struct cow *cw)
{
    if (cw->child <= 0)
        return;
    /* Killed in its ptrace-stop, it exits without running user code; we
     * see its exit as its tracer, and then its real parent (the target's
     * parent, by CLONE_PARENT) reaps it like any child. */
    kill(cw->child, SIGKILL);
    int st;
    for (;;) {
        pid_t r = waitpid(cw->child, &st, __WALL);
        if (r == cw->child && (WIFEXITED(st) || WIFSIGNALED(st)))
            break;
        if (r < 0 && errno != EINTR)
            break;
    }
    cw->child = 0;
}
