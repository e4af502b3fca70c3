/*
 * seccomp.h — would the target's seccomp filters let one system call
 * through?  cow.c asks before it makes a stopped thread run clone: a filter
 * that kills, traps or fails the call must never see it.
 *
 * The filters of a thread are classic BPF programs; PTRACE_SECCOMP_GET_FILTER
 * (CAP_SYS_ADMIN, a stopped tracee) hands them over one by one, and they are
 * run here exactly as the kernel would run them on the call's seccomp_data.
 */
#ifndef HEAPSNAP_CAPTURE_SECCOMP_H
#define HEAPSNAP_CAPTURE_SECCOMP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * tid: a stopped tracee.  Returns 0 if its seccomp mode is 0, or every
 * filter returns ALLOW or LOG for system call nr (x86_64) made from ip with
 * args; otherwise -1 with why saying what the filter would do, or why the
 * filters cannot be read.
 */
int seccomp_allows(pid_t tid, int nr, uint64_t ip, const uint64_t args[6], char *why, size_t len);

#endif /* HEAPSNAP_CAPTURE_SECCOMP_H */
