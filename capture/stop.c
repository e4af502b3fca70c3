/*
 * stop.c — seize, interrupt, wait for and detach the threads of the target.
 * See stop.h for the rules; the comments here say why the code is shaped
 * the way it is.
 */
#include "stop.h"
#include "procfs.h"

#include <elf.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What the fatal-signal handler needs.  The set is only grown with the
 * fatal signals blocked, so the handler never sees a half-moved array. */
static struct stop_set *volatile g_set;
static const char *volatile g_tmp;

uint64_t stop_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long raw_ptrace(long req, pid_t tid, long addr, long data)
{
    /* The raw system call: glibc's wrapper is not on the async-signal-safe
     * list, and it treats PEEK requests specially, which we never use. */
    return syscall(SYS_ptrace, req, (long)tid, addr, data);
}

/* Learn the stop (and any signal to re-inject) of threads whose stop we
 * have not yet collected, without blocking.  Safe in a signal handler. */
static void drain_waits(struct stop_set *s)
{
    int st;
    pid_t r;
    while ((r = waitpid(-1, &st, __WALL | WNOHANG)) > 0) {
        for (size_t i = 0; i < s->n; i++) {
            struct stop_thread *t = &s->t[i];
            if (t->tid != r)
                continue;
            if (WIFSTOPPED(st)) {
                t->stopped = 1;
                if ((st >> 16) == 0) /* signal-delivery-stop: see wait_all() */
                    t->sig = WSTOPSIG(st);
            } else {
                t->gone = 1;
            }
        }
    }
}

static void detach_set(struct stop_set *s)
{
    drain_waits(s);
    for (size_t i = 0; i < s->n; i++) {
        struct stop_thread *t = &s->t[i];
        if (t->gone || t->tid == 0)
            continue;
        /* A thread that never stopped cannot be detached (ESRCH); the
         * kernel detaches it when we exit, which callers do promptly. */
        if (raw_ptrace(PTRACE_DETACH, t->tid, 0, t->sig) == 0)
            t->tid = 0, t->stopped = 0;
    }
}

static void on_fatal(int sig)
{
    int saved = errno;
    struct stop_set *s = g_set;
    if (s)
        detach_set(s);
    const char *tmp = g_tmp;
    if (tmp)
        unlink(tmp);
    static const char msg[] = "heapsnap-capture: interrupted; target detached and running, no file written\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    errno = saved;
    _exit(128 + sig);
}

static void on_alarm(int sig)
{
    (void)sig; /* only here to make waitpid() return EINTR */
}

void stop_install_handlers(const char *tmp_path)
{
    g_tmp = tmp_path;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal;
    sigfillset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* A reader that goes away must give us EPIPE, not kill us while the
     * target is stopped. */
    signal(SIGPIPE, SIG_IGN);
}

void stop_forget_tmp(void)
{
    g_tmp = NULL;
}

void stop_block_fatal(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

static struct stop_thread *find(struct stop_set *s, pid_t tid)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->t[i].tid == tid)
            return &s->t[i];
    return NULL;
}

static int add_thread(struct stop_set *s, pid_t tid, char state, const char *name)
{
    sigset_t old;
    stop_block_fatal(&old);
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        struct stop_thread *nt = malloc(nc * sizeof *nt);
        if (!nt) {
            sigprocmask(SIG_SETMASK, &old, NULL);
            return -1;
        }
        if (s->n)
            memcpy(nt, s->t, s->n * sizeof *nt);
        struct stop_thread *ot = s->t;
        s->t = nt;
        s->cap = nc;
        free(ot);
    }
    struct stop_thread *t = &s->t[s->n];
    memset(t, 0, sizeof *t);
    t->tid = tid;
    t->state = state;
    snprintf(t->name, sizeof t->name, "%s", name);
    s->n++;
    sigprocmask(SIG_SETMASK, &old, NULL);
    return 0;
}

static void alarm_ticks(int on)
{
    struct itimerval it;
    memset(&it, 0, sizeof it);
    if (on) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_alarm; /* no SA_RESTART: waitpid must return */
        sigaction(SIGALRM, &sa, NULL);
        it.it_interval.tv_usec = 20000;
        it.it_value.tv_usec = 20000;
        setitimer(ITIMER_REAL, &it, NULL);
    } else {
        setitimer(ITIMER_REAL, &it, NULL);
        signal(SIGALRM, SIG_IGN); /* discards a tick already pending */
    }
}


static const char *state_words(char st)
{
    switch (st) {
    case 'D': return "uninterruptible sleep in the kernel (I/O, a hung filesystem, vfork)";
    case 'R': return "running";
    case 'S': return "sleeping";
    case 'T': return "stopped";
    case 't': return "traced";
    case 'Z': return "zombie";
    default: return "unknown state";
    }
}

/* Wait until every known thread is stopped or gone.  0, or -1 with errno
 * ETIMEDOUT (err says which thread) or ESRCH (the process exited). */
static int wait_all(struct stop_set *s, uint64_t deadline, double timeout_s, char *err, size_t errlen)
{
    for (;;) {
        size_t pending = 0;
        for (size_t i = 0; i < s->n; i++)
            if (!s->t[i].stopped && !s->t[i].gone)
                pending++;
        if (pending == 0)
            return 0;
        int st;
        pid_t r = waitpid(-1, &st, __WALL);
        if (r > 0) {
            struct stop_thread *t = find(s, r);
            if (!t)
                continue;
            if (WIFSTOPPED(st)) {
                t->stopped = 1;
                /* event 0 = signal-delivery-stop: the signal was taken off
                 * the queue and is ours to give back.  PTRACE_EVENT_STOP is
                 * our interrupt (SIGTRAP) or a group-stop, which the kernel
                 * keeps in force by itself. */
                if ((st >> 16) == 0)
                    t->sig = WSTOPSIG(st);
            } else {
                t->gone = 1;
            }
            continue;
        }
        if (errno == ECHILD) {
            /* Nothing left to wait for: every tracee has exited. */
            for (size_t i = 0; i < s->n; i++)
                if (!s->t[i].stopped)
                    s->t[i].gone = 1;
            continue;
        }
        if (errno != EINTR)
            return -1;
        if (procfs_process_exited(s->pid)) {
            snprintf(err, errlen, "process %d exited while it was being stopped", (int)s->pid);
            errno = ESRCH;
            return -1;
        }
        for (size_t i = 0; i < s->n; i++) {
            struct stop_thread *t = &s->t[i];
            char state, name[16];
            if (t->stopped || t->gone)
                continue;
            if (procfs_task_state(s->pid, t->tid, &state, name) < 0)
                t->gone = 1;
            else if (stop_now_ns() > deadline) {
                snprintf(err, errlen,
                         "thread %d (%s) did not stop within %g s: it is in state %c, %s; "
                         "nothing captured, the target runs on (retry later or raise --timeout)",
                         (int)t->tid, name, timeout_s, state, state_words(state));
                errno = ETIMEDOUT;
                return -1;
            }
        }
    }
}

int stop_all(struct stop_set *s, pid_t pid, double timeout_s, char *err, size_t errlen)
{
    return stop_all_but(s, pid, 0, timeout_s, err, errlen);
}

int stop_all_but(struct stop_set *s, pid_t pid, pid_t skip, double timeout_s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->pid = pid;
    g_set = s;
    uint64_t deadline = stop_now_ns() + (uint64_t)(timeout_s * 1e9);
    alarm_ticks(1);
    int rc = -1, e = 0;
    for (;;) {
        pid_t *tids;
        size_t nt, added = 0;
        if (procfs_list_tasks(pid, &tids, &nt) < 0) {
            e = errno == ENOENT ? ESRCH : errno;
            snprintf(err, errlen, "cannot list the threads of %d: %s", (int)pid, strerror(e));
            goto out;
        }
        for (size_t i = 0; i < nt; i++) {
            char state, name[16];
            if (find(s, tids[i]) || tids[i] == skip)
                continue;
            if (procfs_task_state(pid, tids[i], &state, name) < 0)
                continue; /* exited since the listing */
            if (raw_ptrace(PTRACE_SEIZE, tids[i], 0, 0) < 0) {
                if (errno == ESRCH || (errno == EPERM && state == 'Z'))
                    continue; /* exited, or an exited leader of live threads */
                e = errno;
                s->denied = tids[i];
                snprintf(err, errlen, "PTRACE_SEIZE of thread %d: %s", (int)tids[i], strerror(e));
                free(tids);
                goto out;
            }
            if (add_thread(s, tids[i], state, name) < 0) {
                raw_ptrace(PTRACE_DETACH, tids[i], 0, 0);
                e = ENOMEM;
                snprintf(err, errlen, "out of memory");
                free(tids);
                goto out;
            }
            if (!s->interrupt_ns)
                s->interrupt_ns = stop_now_ns();
            if (raw_ptrace(PTRACE_INTERRUPT, tids[i], 0, 0) < 0)
                s->t[s->n - 1].gone = 1; /* exited between seize and interrupt */
            added++;
        }
        free(tids);
        if (wait_all(s, deadline, timeout_s, err, errlen) < 0) {
            e = errno;
            goto out;
        }
        /* Every known thread is stopped, so none of them can be creating a
         * thread: a scan that finds nothing new is final. */
        if (added == 0)
            break;
    }
    if (procfs_process_exited(pid)) {
        e = ESRCH;
        snprintf(err, errlen, "process %d exited while it was being stopped", (int)pid);
        goto out;
    }
    rc = 0;
out:
    alarm_ticks(0);
    if (rc < 0) {
        stop_detach_all(s);
        errno = e;
    }
    return rc;
}

void stop_detach_all(struct stop_set *s)
{
    sigset_t old;
    stop_block_fatal(&old);
    detach_set(s);
    sigprocmask(SIG_SETMASK, &old, NULL);
}

int stop_get_regs(pid_t tid, uint64_t *regs)
{
    struct user_regs_struct u;
    struct iovec iov = {&u, sizeof u};
    if (ptrace(PTRACE_GETREGSET, tid, (void *)(long)NT_PRSTATUS, &iov) < 0)
        return -1;
    _Static_assert(sizeof u == 27 * 8, "user_regs_struct is 27 words on x86_64");
    memcpy(regs, &u, sizeof u);
    return 0;
}

void stop_free(struct stop_set *s)
{
    if (g_set == s)
        g_set = NULL;
    free(s->t);
    s->t = NULL;
    s->n = s->cap = 0;
}
