/*
 * cow.h — the copy-on-write snapshot (--mode=cow): while every thread of the
 * target is stopped, make one of them fork a frozen copy of the whole
 * process, resume the target at once, and read the copy at leisure.
 *
 * The pause is the cost of the fork (copying page tables, not pages); the
 * target then pays one page copy for each page it writes while the copy
 * lives, and nothing else.  The rules this module keeps:
 *
 *  - The fork is a clone system call run by the stopped thread itself:
 *    registers saved, set for clone at an existing `syscall` instruction
 *    (the one the thread is blocked at, else one in the vDSO; memory is
 *    never written), run under PTRACE_SYSCALL so the thread stops again at
 *    its exit, registers restored (with the kernel's own restart of an
 *    interrupted system call done by hand, since no signal path will do it).
 *  - The copy (the "child") never runs a user instruction.  It is created
 *    traced (PTRACE_O_TRACECLONE on that one thread, for that one call), so
 *    the kernel stops it before it returns to user mode; then (cow_hold) it
 *    gets PTRACE_O_EXITKILL — the child only, never the target — so our
 *    death kills it.  cow_release() kills and reaps it.
 *  - CLONE_PARENT with no exit signal: the child is a sibling of the
 *    target, not its child, so the target never gets SIGCHLD and never has
 *    a zombie; the target's own parent reaps it (a PID 1 cannot use
 *    CLONE_PARENT, and is refused).  CLONE_FILES: the child holds no
 *    extra reference to any open file, so a file, socket or flock() the
 *    target closes is closed for real.  Its stack pointer is poisoned, so
 *    that if it were ever let go it would fault at once.
 *  - A seccomp filter of the thread is run (it is classic BPF) on the exact
 *    clone call first: anything but ALLOW/LOG, or a filter we cannot read,
 *    and there is no fork.
 * Whatever fails, the target is left as it was, and the caller falls back.
 */
#ifndef HEAPSNAP_CAPTURE_COW_H
#define HEAPSNAP_CAPTURE_COW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hsnap.h"
#include "stop.h"

/* The steps of cow_fork(), stamped (CLOCK_MONOTONIC ns) so that -v can say
 * what the pause of a cow capture is made of. */
enum {
    COW_T_BEGIN,   /* cow_fork() called */
    COW_T_CHOSEN,  /* the thread and its syscall instruction found */
    COW_T_CHECKED, /* its seccomp filters run on the clone */
    COW_T_ENTRY,   /* the thread stopped at the clone's entry */
    COW_T_CLONED,  /* the kernel's fork done (PTRACE_EVENT_CLONE) */
    COW_T_EXIT,    /* the thread stopped at the clone's exit */
    COW_T_END,     /* registers and priority restored */
    COW_NT
};

struct cow {
    pid_t child;  /* the frozen copy, stopped, our tracee; 0 when none */
    pid_t via;    /* the thread that ran the clone */
    uint64_t t[COW_NT]; /* when each step ended (0: not reached) */
};

/*
 * Before the stop: is a fork safe for pid?  pre: its smaps.  Checks PID 1 of
 * its namespace, a group stop, strict seccomp, userfaultfd, overcommit, and
 * the headroom of its memory cgroup and of the host for the copies its
 * writes will cause.  0, or -1 with the reason (a phrase) in why.
 */
int cow_preflight(pid_t pid, const struct hs_mapping *pre, size_t npre, char *why, size_t len);

/*
 * While every thread in s is stopped: fork the copy.  0 with cw->child set,
 * or -1 with the reason in why (errno ESRCH if the target died; otherwise
 * the target is unchanged and the caller may fall back).  The SIGINT/TERM/
 * HUP handlers are held off while a thread's registers are not its own.
 */
int cow_fork(struct cow *cw, struct stop_set *s, char *why, size_t len);

/*
 * After cow_fork(), once the target may run again: wait for the copy's
 * first stop (it is born traced and stops before user mode, but it must be
 * scheduled to get there, which is why this is not part of the pause) and
 * give it PTRACE_O_EXITKILL.  0, or -1 with why (the copy is gone).
 */
int cow_hold(struct cow *cw, char *why, size_t len);

/* Kill the copy and reap it.  Idempotent. */
void cow_release(struct cow *cw);

#endif /* HEAPSNAP_CAPTURE_COW_H */
