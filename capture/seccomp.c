/*
 * seccomp.c — fetch a thread's seccomp filters and run them on one call.
 * See seccomp.h.  The interpreter accepts exactly the instructions the
 * kernel's seccomp_check_filter() accepts; anything else means "cannot
 * tell", which the caller treats as "no".
 */
#include "seccomp.h"
#include "procfs.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif
#ifndef SECCOMP_RET_ACTION_FULL
#define SECCOMP_RET_ACTION_FULL 0xffff0000U
#endif
#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif
#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif
#ifndef SECCOMP_RET_LOG
#define SECCOMP_RET_LOG 0x7ffc0000U
#endif

#define MAX_FILTERS 512   /* the kernel's limit is 32768 instructions in all */
#define MAX_INSNS   4096  /* BPF_MAXINSNS */

/* struct seccomp_data as the filter sees it: nr, arch, ip, args[6]. */
static uint32_t data_word(const struct seccomp_data *d, uint32_t off)
{
    uint32_t w;
    memcpy(&w, (const char *)d + off, 4);
    return w;
}

/* Run one filter.  0 with *ret, or -1 (a program the kernel would not
 * have accepted). */
static int run(const struct sock_filter *f, size_t n, const struct seccomp_data *d, uint32_t *ret)
{
    uint32_t A = 0, X = 0, M[BPF_MEMWORDS] = {0};
    /* Jumps only go forward, so pc grows every step: n steps at most. */
    for (size_t pc = 0; pc < n; pc++) {
        const struct sock_filter *i = &f[pc];
        uint32_t k = i->k;
        switch (i->code) {
        case BPF_LD | BPF_W | BPF_ABS:
            if (k >= sizeof *d || k % 4)
                return -1;
            A = data_word(d, k);
            break;
        case BPF_LD | BPF_W | BPF_LEN: A = sizeof *d; break;
        case BPF_LDX | BPF_W | BPF_LEN: X = sizeof *d; break;
        case BPF_LD | BPF_IMM: A = k; break;
        case BPF_LDX | BPF_IMM: X = k; break;
        case BPF_LD | BPF_MEM:
        case BPF_LDX | BPF_MEM:
            if (k >= BPF_MEMWORDS)
                return -1;
            if (BPF_CLASS(i->code) == BPF_LD)
                A = M[k];
            else
                X = M[k];
            break;
        case BPF_ST:
        case BPF_STX:
            if (k >= BPF_MEMWORDS)
                return -1;
            M[k] = BPF_CLASS(i->code) == BPF_ST ? A : X;
            break;
        case BPF_MISC | BPF_TAX: X = A; break;
        case BPF_MISC | BPF_TXA: A = X; break;
        case BPF_RET | BPF_K: *ret = k; return 0;
        case BPF_RET | BPF_A: *ret = A; return 0;
        case BPF_ALU | BPF_NEG: A = -A; break;
        case BPF_JMP | BPF_JA:
            if (k >= n - pc - 1)
                return -1;
            pc += k;
            break;
        default:
            if (BPF_CLASS(i->code) == BPF_ALU) {
                uint32_t v = BPF_SRC(i->code) == BPF_X ? X : k;
                switch (BPF_OP(i->code)) {
                case BPF_ADD: A += v; break;
                case BPF_SUB: A -= v; break;
                case BPF_MUL: A *= v; break;
                case BPF_DIV: if (!v) { *ret = 0; return 0; } A /= v; break; /* the kernel returns 0 */
                case BPF_MOD: if (!v) { *ret = 0; return 0; } A %= v; break;
                case BPF_AND: A &= v; break;
                case BPF_OR: A |= v; break;
                case BPF_XOR: A ^= v; break;
                case BPF_LSH: A = v < 32 ? A << v : 0; break;
                case BPF_RSH: A = v < 32 ? A >> v : 0; break;
                default: return -1;
                }
                break;
            }
            if (BPF_CLASS(i->code) == BPF_JMP) {
                uint32_t v = BPF_SRC(i->code) == BPF_X ? X : k;
                int t;
                switch (BPF_OP(i->code)) {
                case BPF_JEQ: t = A == v; break;
                case BPF_JGT: t = A > v; break;
                case BPF_JGE: t = A >= v; break;
                case BPF_JSET: t = (A & v) != 0; break;
                default: return -1;
                }
                size_t off = t ? i->jt : i->jf;
                if (off >= n - pc - 1 && off)
                    return -1;
                pc += off;
                break;
            }
            return -1;
        }
    }
    return -1; /* fell off the end: the kernel refuses such a program */
}

static const char *action_words(uint32_t action, uint32_t data, char *buf, size_t len)
{
    switch (action) {
    case SECCOMP_RET_KILL_PROCESS: return "kill the process";
    case SECCOMP_RET_KILL_THREAD: return "kill the thread";
    case SECCOMP_RET_TRAP: return "send it SIGSYS";
    case SECCOMP_RET_ERRNO:
        snprintf(buf, len, "fail it with %s", strerror((int)data));
        return buf;
    case SECCOMP_RET_TRACE: return "hand it to a seccomp tracer";
    case SECCOMP_RET_USER_NOTIF: return "hand it to a user-space supervisor";
    default: return "do something this capture does not know";
    }
}

int seccomp_allows(pid_t tid, int nr, uint64_t ip, const uint64_t args[6], char *why, size_t len)
{
    long mode = procfs_status_field(tid, "Seccomp");
    if (mode == 0)
        return 0;
    if (mode == 1) {
        snprintf(why, len, "thread %d runs in strict seccomp mode, which forbids clone", (int)tid);
        return -1;
    }
    if (mode != 2) {
        snprintf(why, len, "cannot read the seccomp mode of thread %d", (int)tid);
        return -1;
    }
    struct seccomp_data d;
    memset(&d, 0, sizeof d);
    d.nr = nr;
    d.arch = AUDIT_ARCH_X86_64;
    d.instruction_pointer = ip;
    memcpy(d.args, args, sizeof d.args);
    struct sock_filter *prog = malloc(MAX_INSNS * sizeof *prog);
    if (!prog) {
        snprintf(why, len, "out of memory");
        return -1;
    }
    int rc = 0;
    unsigned long idx;
    for (idx = 0; idx < MAX_FILTERS; idx++) {
        long n = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)idx, NULL);
        if (n < 0 && errno == ENOENT)
            break; /* past the last filter */
        if (n < 0 || n > MAX_INSNS || ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)idx, prog) != n) {
            snprintf(why, len, "thread %d has a seccomp filter that cannot be inspected (%s)", (int)tid,
                     n < 0 && errno == EACCES ? "PTRACE_SECCOMP_GET_FILTER needs CAP_SYS_ADMIN"
                     : n < 0 && errno == EMEDIUMTYPE ? "it is an eBPF program"
                     : n < 0 ? strerror(errno) : "too long");
            rc = -1;
            break;
        }
        uint32_t ret;
        if (run(prog, (size_t)n, &d, &ret) < 0) {
            snprintf(why, len, "thread %d has a seccomp filter this capture cannot evaluate", (int)tid);
            rc = -1;
            break;
        }
        uint32_t action = ret & SECCOMP_RET_ACTION_FULL;
        if (action != SECCOMP_RET_ALLOW && action != SECCOMP_RET_LOG) {
            char buf[96];
            snprintf(why, len, "the seccomp filter of thread %d forbids clone (it would %s)", (int)tid,
                     action_words(action, ret & SECCOMP_RET_DATA, buf, sizeof buf));
            rc = -1;
            break;
        }
    }
    if (rc == 0 && idx == MAX_FILTERS) {
        snprintf(why, len, "thread %d has more than %d seccomp filters", (int)tid, MAX_FILTERS);
        rc = -1;
    }
    free(prog);
    return rc;
}
