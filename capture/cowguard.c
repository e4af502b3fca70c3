/*
 * cowguard.c — the guard process and the capture's side of its socket.
 * See cowguard.h.  One request at a time, one fixed-size reply to each.
 */
#include "cowguard.h"
#include "cow.h"
#include "procfs.h"
#include "stop.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

struct reply {
    int rc, err;
    pid_t tid, child;
    char state, name[16];
    uint64_t regs[HS_NREGS];
    uint64_t interrupt_ns;
    uint64_t t[COW_NT];
    char why[320];
};

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
    (void)sig;
    timed_out = 1; /* and waitpid() returns EINTR */
}

static void send_reply(int fd, const struct reply *r)
{
    ssize_t w = send(fd, r, sizeof *r, MSG_NOSIGNAL);
    (void)w; /* the capture is gone: the loop sees it next */
}

/* Seize and stop one thread of pid: the main thread unless it is a
 * zombie (it called pthread_exit), else the first live one. */
static int stop_one(struct stop_thread *t, pid_t pid, double timeout_s, struct reply *r)
{
    pid_t *tids;
    size_t n;
    if (procfs_list_tasks(pid, &tids, &n) < 0)
        return snprintf(r->why, sizeof r->why, "cannot list the threads of %d", (int)pid), r->err = ESRCH, -1;
    memset(t, 0, sizeof *t);
    for (size_t pass = 0; pass < 2 && !t->tid; pass++)
        for (size_t i = 0; i < n && !t->tid; i++) {
            char st, name[16];
            if ((pass == 0) != (tids[i] == pid) || procfs_task_state(pid, tids[i], &st, name) < 0 || st == 'Z')
                continue;
            t->tid = tids[i];
            t->state = st;
            memcpy(t->name, name, sizeof t->name);
        }
    free(tids);
    if (!t->tid)
        return snprintf(r->why, sizeof r->why, "process %d has no live thread", (int)pid), r->err = ESRCH, -1;
    r->interrupt_ns = stop_now_ns();
    if (ptrace(PTRACE_SEIZE, t->tid, NULL, NULL) < 0 || ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL) < 0) {
        r->err = errno;
        snprintf(r->why, sizeof r->why, "PTRACE_SEIZE of thread %d: %s", (int)t->tid, strerror(errno));
        return -1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART */
    sigaction(SIGALRM, &sa, NULL);
    timed_out = 0;
    alarm((unsigned)timeout_s + 1);
    int st;
    pid_t w;
    while ((w = waitpid(t->tid, &st, __WALL)) < 0 && errno == EINTR && !timed_out)
        ;
    if (w < 0 && timed_out) {
        char s2 = '?', nm[16] = "";
        procfs_task_state(pid, t->tid, &s2, nm);
        snprintf(r->why, sizeof r->why,
                 "thread %d (%s) did not stop within %g s: it is in state %c; nothing captured, the target runs "
                 "on (retry later or raise --timeout)", (int)t->tid, nm, timeout_s, s2);
        r->err = ETIMEDOUT;
        return -1;
    }
    alarm(0);
    if (w != t->tid || !WIFSTOPPED(st)) {
        r->err = ESRCH;
        snprintf(r->why, sizeof r->why, "process %d exited while it was being stopped", (int)pid);
        return -1;
    }
    t->stopped = 1;
    if ((st >> 16) == 0)
        t->sig = WSTOPSIG(st); /* a signal-delivery-stop: given back on detach */
    return 0;
}

static void guard_run(int fd, pid_t pid, double timeout_s)
{
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    struct stop_thread t;
    struct stop_set s;
    memset(&s, 0, sizeof s);
    s.pid = pid;
    s.t = &t;
    s.n = s.cap = 1;
    struct reply r;
    memset(&r, 0, sizeof r);
    struct cow cw = {0, 0};
    int held = stop_one(&t, pid, timeout_s, &r) == 0;
    if (held) {
        struct user_regs_struct u;
        if (ptrace(PTRACE_GETREGS, t.tid, NULL, &u) == 0) {
            memcpy(r.regs, &u, sizeof r.regs);
        } else {
            r.err = errno;
            snprintf(r.why, sizeof r.why, "cannot read the registers of thread %d: %s", (int)t.tid,
                     strerror(errno));
        }
        r.tid = t.tid;
        r.state = t.state;
        memcpy(r.name, t.name, sizeof r.name);
    }
    r.rc = held && !r.err ? 0 : -1;
    send_reply(fd, &r);
    if (r.rc == 0) {
        char cmd;
        while (recv(fd, &cmd, 1, 0) == 1 && cmd != 'E') {
            memset(&r, 0, sizeof r);
            if (cmd == 'F' && !cw.child) {
                r.rc = cow_fork(&cw, &s, r.why, sizeof r.why);
                r.err = r.rc < 0 ? errno : 0;
                r.child = cw.child;
                memcpy(r.t, cw.t, sizeof r.t);
            } else if (cmd == 'H') {
                r.rc = cow_hold(&cw, r.why, sizeof r.why);
            } else if (cmd == 'D' && held) {
                ptrace(PTRACE_DETACH, t.tid, NULL, (void *)(long)t.sig);
                held = 0;
            }
            send_reply(fd, &r);
        }
    }
    /* Asked to end, or the capture has gone: let the thread go, end the
     * copy (we are its tracer; it dies with us anyway, by EXITKILL). */
    if (held && !t.gone)
        ptrace(PTRACE_DETACH, t.tid, NULL, (void *)(long)t.sig);
    cow_release(&cw);
    _exit(0);
}

static int ask(struct cow_guard *g, char cmd, struct reply *r)
{
    if (send(g->fd, &cmd, 1, MSG_NOSIGNAL) != 1 || recv(g->fd, r, sizeof *r, 0) != (ssize_t)sizeof *r) {
        memset(r, 0, sizeof *r);
        r->rc = -1;
        r->err = EIO;
        snprintf(r->why, sizeof r->why, "the guard process %d has died", (int)g->pid);
        return -1;
    }
    return r->rc;
}

int guard_start(struct cow_guard *g, pid_t pid, double timeout_s, char *err, size_t errlen)
{
    memset(g, 0, sizeof *g);
    g->fd = -1;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        snprintf(err, errlen, "socketpair: %s", strerror(errno));
        return -1;
    }
    pid_t p = fork();
    if (p < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        snprintf(err, errlen, "cannot start the guard process: %s", strerror(e));
        errno = e;
        return -1;
    }
    if (p == 0) {
        close(sv[0]);
        guard_run(sv[1], pid, timeout_s);
    }
    close(sv[1]);
    g->pid = p;
    g->fd = sv[0];
    struct reply r;
    if (recv(g->fd, &r, sizeof r, 0) != (ssize_t)sizeof r) {
        memset(&r, 0, sizeof r);
        r.rc = -1;
        r.err = EIO;
        snprintf(r.why, sizeof r.why, "the guard process %d has died", (int)p);
    }
    if (r.rc < 0) {
        snprintf(err, errlen, "%s", r.why);
        guard_end(g);
        errno = r.err ? r.err : EIO;
        return -1;
    }
    g->tid = r.tid;
    g->state = r.state;
    memcpy(g->name, r.name, sizeof g->name);
    memcpy(g->regs, r.regs, sizeof g->regs);
    g->interrupt_ns = r.interrupt_ns;
    return 0;
}

/* One request whose failure has a reason for the caller. */
static int ask_why(struct cow_guard *g, char cmd, struct reply *r, char *why, size_t len)
{
    if (ask(g, cmd, r) == 0)
        return 0;
    snprintf(why, len, "%s", r->why);
    errno = r->err;
    return -1;
}

int guard_fork(struct cow_guard *g, char *why, size_t len)
{
    struct reply r;
    int rc = ask_why(g, 'F', &r, why, len);
    memcpy(g->fork_t, r.t, sizeof g->fork_t);
    if (rc < 0)
        return -1;
    g->child = r.child;
    return 0;
}

int guard_hold(struct cow_guard *g, char *why, size_t len)
{
    struct reply r;
    if (ask_why(g, 'H', &r, why, len) == 0)
        return 0;
    g->child = 0;
    errno = ESRCH;
    return -1;
}

void guard_detach(struct cow_guard *g)
{
    struct reply r;
    if (g->pid > 0 && g->tid)
        ask(g, 'D', &r);
    g->tid = 0;
}

void guard_end(struct cow_guard *g)
{
    if (g->pid <= 0)
        return;
    char cmd = 'E';
    ssize_t w = send(g->fd, &cmd, 1, MSG_NOSIGNAL);
    (void)w;
    close(g->fd);
    int st;
    while (waitpid(g->pid, &st, 0) < 0 && errno == EINTR)
        ;
    g->pid = 0;
    g->fd = -1;
    g->child = 0;
    g->tid = 0;
    g->interrupt_ns = 0;
}
