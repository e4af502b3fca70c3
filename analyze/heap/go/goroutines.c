/*
 * go/goroutines.c — every goroutine of the process, from runtime.allgs:
 * its id, status, why it waits, its stack, and where it is and where it
 * started (go/pclntab.c names those), for the goroutines table, the
 * stacks as roots and `heapsnap goroutines`.
 *
 * Where a goroutine's stack is live: a goroutine that is not running saved
 * its SP in g.sched.sp when it was switched out; one in a system call
 * saved it in g.syscallsp; one running on a thread (status _Grunning) is
 * as far as that thread's own RSP says, found through g.m.procid (the
 * thread id) in the snapshot's threads, when that RSP lies in the
 * goroutine's stack.  A thread may be elsewhere: on g0 inside mcall, which
 * saved the goroutine's SP in g.sched first; or in a signal handler on its
 * signal stack (the runtime's own preemption signal, say), where the SP the
 * goroutine had is in the ucontext the kernel pushed there (looked for
 * first: a goroutine interrupted by a signal left a stale g.sched).  Only
 * g.sched and g.syscallsp/pc are places where the runtime itself stopped
 * the goroutine at a call (go_g.saved); a thread's registers and a signal
 * context stop it anywhere, which go/stacks.c treats as the runtime treats
 * an asynchronous preemption.  When none of
 * these says where the goroutine is, its whole stack is live: scanning too
 * much keeps a stale word alive, scanning too little would call what the
 * goroutine holds garbage.  Dead goroutines (_Gdead) are kept by the
 * runtime for reuse and are skipped by the consumers.
 *
 * Status and wait reason values come from the DWARF constants (_Gwaiting,
 * ...) and the runtime's own waitReasonStrings table, so the text is the
 * runtime's ("chan receive"), whatever the release numbers them.
 */
#include <stdlib.h>
#include <string.h>

#include "heap/go/internal.h"

static const struct {
    const char *constant, *name;
} statuses[8] = {
    {"runtime._Gidle", "idle"},       {"runtime._Grunnable", "runnable"}, {"runtime._Grunning", "running"},
    {"runtime._Gsyscall", "syscall"}, {"runtime._Gwaiting", "waiting"},   {"runtime._Gdead", "dead"},
    {"runtime._Gcopystack", "copystack"}, {"runtime._Gpreempted", "preempted"},
};

const char *go_status_name(const struct go_walk *w, uint32_t status)
{
    for (size_t i = 0; i < 8; i++)
        if (w->status_value[i] == (int64_t)status)
            return statuses[i].name;
    return "unknown";
}

void go_wait_reason(const struct go_walk *w, uint8_t reason, char *buf, size_t len)
{
    uint64_t p, n;
    buf[0] = 0;
    if (len < 2 || (uint64_t)reason * 16 + 16 > w->L.wait_reason_strings_size ||
        go_u64(w, w->L.wait_reason_strings + (uint64_t)reason * 16, &p) ||
        go_u64(w, w->L.wait_reason_strings + (uint64_t)reason * 16 + 8, &n) || n == 0)
        return;
    if (n > len - 1)
        n = len - 1;
    if (go_read(w, p, buf, n))
        n = 0;
    buf[n] = 0;
}

/* The thread whose id is tid, or NULL. */
static const struct hs_thread *thread_of(const struct go_walk *w, uint64_t tid)
{
    size_t n = 0;
    const struct hs_thread *t = hs_get_threads(w->c->snap, &n);
    for (size_t i = 0; i < n && tid; i++)
        if ((uint64_t)t[i].tid == tid)
            return &t[i];
    return NULL;
}

/*
 * The Ms (runtime.allm) that run no goroutine: their threads sleep in the
 * scheduler on g0, whose stack and registers the collector never scans, so
 * what they hold is stale and no root at all (a stale register there once
 * kept a map group "held by several roots").  A thread whose goroutine is
 * in a system call or a cgo call (_Gsyscall) holds no roots into the Go
 * heap: the collector scans that goroutine's stack from g.syscallsp, and
 * never the thread's registers, which still hold whatever an earlier
 * goroutine on that M left in them (once the 8 MiB a parked goroutine had
 * dropped), nor the C frames of a cgo call on g0; C's malloc heap may still
 * be held from them.  A thread running a goroutine keeps its registers:
 * they may hold what is not yet spilled to the stack, and the collector
 * too scans them, conservatively, when it preempts it (asyncPreempt); but
 * the thread's own stack, below the goroutine's, holds g0's frames, which
 * the collector never scans (m0's is the process's main stack).
 * Bounded by the thread count, so a looped alllink ends.
 */
static void quiet_threads(struct go_walk *w)
{
    struct heap_ctx *c = w->c;
    size_t nthr;
    hs_get_threads(c->snap, &nthr);
    uint64_t m;
    if (!c->quiet_thread || go_u64(w, w->L.allm, &m))
        return;
    for (size_t k = 0; m && k <= nthr + 64; k++) {
        uint64_t tid, next;
        if (go_field(w, m, w->L.m_procid, 8, &tid) || go_field(w, m, w->L.m_alllink, 8, &next))
            return;
        const struct hs_thread *t = thread_of(w, tid);
        int busy = 0, insyscall = 0;
        for (size_t i = 0; t && i < w->ngs && !busy; i++)
            if (w->gs[i].thread == t->tid) {
                busy = 1;
                insyscall = (int64_t)w->gs[i].status == w->L.g_syscall;
            }
        if (t)
            c->quiet_thread(c, t->tid, !busy ? HEAP_QUIET_ALL : insyscall ? HEAP_QUIET_HEAP : HEAP_QUIET_OWN_STACK);
        m = next;
    }
}

/*
 * A running goroutine whose thread is in a signal handler: the kernel's
 * x86-64 rt_sigframe on the thread's signal stack holds a ucontext whose
 * uc_stack (ss_sp at +16, ss_size at +32) is that signal stack and whose
 * uc_mcontext (from +40: r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp,
 * rip) is where the thread was, rsp at +160 and rip at +168.  Looked for in
 * the SIGFRAME_SCAN bytes above the thread's RSP; found only when the
 * signal stack holds the RSP and the saved rsp lies in [lo, hi).
 */
#define SIGFRAME_SCAN (32u << 10)

static int signal_context(const struct go_walk *w, const struct hs_thread *t, uint64_t lo, uint64_t hi,
                          uint64_t *sp, uint64_t *pc)
{
    uint64_t rsp = t->regs[HS_RSP] & ~7ull;
    static const size_t n = SIGFRAME_SCAN / 8;
    uint64_t *b = malloc(SIGFRAME_SCAN);
    if (!b)
        return -1;
    size_t have = n;
    while (have && go_read(w, rsp, b, have * 8)) /* the stack may end before */
        have /= 2;
    int rc = -1;
    for (size_t i = 0; i + 22 <= have && rc; i++) {
        uint64_t ss_sp = b[i + 2], ss_size = b[i + 4], g_sp = b[i + 20], g_pc = b[i + 21];
        if (ss_size >= 2048 && ss_size <= (16u << 20) && ss_sp <= t->regs[HS_RSP] &&
            t->regs[HS_RSP] - ss_sp < ss_size && g_sp >= lo && g_sp < hi) {
            *sp = g_sp;
            *pc = g_pc;
            rc = 0;
        }
    }
    free(b);
    return rc;
}

int go_goroutines_load(struct go_walk *w)
{
    const struct go_layout *L = &w->L;
    struct heap_ctx *c = w->c;
    for (size_t i = 0; i < 8; i++)
        if (dbg_constant(c->dbg, statuses[i].constant, w->module, &w->status_value[i]))
            w->status_value[i] = -1;
    uint64_t arr, len;
    if (go_u64(w, L->allgs, &arr) || go_u64(w, L->allgs + 8, &len)) {
        c->problem(c, L->allgs, "go: runtime.allgs was not captured: no goroutines");
        return -1;
    }
    if (len > GO_MAX_GS) {
        c->problem(c, arr, "go: %llu goroutines listed; reading %u", (unsigned long long)len, GO_MAX_GS);
        len = GO_MAX_GS;
    }
    if (len == 0)
        return 0;
    uint64_t *ptrs = malloc(len * 8);
    uint8_t *gb = malloc(L->g_size);
    if (!ptrs || !gb || !(w->gs = calloc(len, sizeof *w->gs))) {
        free(ptrs);
        free(gb);
        return -1;
    }
    if (go_read(w, arr, ptrs, len * 8)) {
        c->problem(c, arr, "go: the allgs array was not captured");
        len = 0;
    }
    for (uint64_t i = 0; i < len; i++) {
        if (go_read(w, ptrs[i], gb, L->g_size)) {
            c->problem(c, ptrs[i], "go: goroutine %llu of allgs not captured", (unsigned long long)i);
            continue;
        }
        struct go_g g = {.addr = ptrs[i]};
        g.status = (uint32_t)(go_get(gb, L->g_status, 4) & ~(uint64_t)L->g_scan);
        g.goid = go_get(gb, L->g_goid, 8);
        g.waitreason = (uint8_t)go_get(gb, L->g_waitreason, 1);
        g.stack_lo = go_get(gb, L->g_stack_lo, 8);
        g.stack_hi = go_get(gb, L->g_stack_hi, 8);
        g.sp = go_get(gb, L->g_sched_sp, 8);
        g.pc = go_get(gb, L->g_sched_pc, 8);
        g.gopc = go_get(gb, L->g_gopc, 8);
        g.startpc = go_get(gb, L->g_startpc, 8);
        g.defer_rec = L->g_defer >= 0 ? go_get(gb, L->g_defer, 8) : 0;
        g.panic_rec = L->g_panic >= 0 ? go_get(gb, L->g_panic, 8) : 0;
        uint64_t m = go_get(gb, L->g_m, 8), tid = 0, sysp = go_get(gb, L->g_syscallsp, 8);
        g.saved = 1;
        if (m && !go_field(w, m, L->m_procid, 8, &tid)) {
            const struct hs_thread *t = thread_of(w, tid);
            if (t && (int64_t)g.status == L->g_running) {
                g.thread = t->tid;
                uint64_t rsp = t->regs[HS_RSP];
                if (rsp >= g.stack_lo && rsp < g.stack_hi) {
                    g.sp = rsp;
                    g.pc = t->regs[HS_RIP];
                    g.saved = 0;
                } else if (!signal_context(w, t, g.stack_lo, g.stack_hi, &g.sp, &g.pc)) {
                    g.saved = 0; /* interrupted anywhere, as by asyncPreempt */
                } else if (g.sp < g.stack_lo || g.sp >= g.stack_hi) {
                    g.sp = g.stack_lo; /* where it is is unknown: all of it */
                    g.pc = 0;
                    g.saved = 0;
                } /* else on g0, in mcall or systemstack, which saved g.sched */
            } else if (t && (int64_t)g.status == L->g_syscall) {
                g.thread = t->tid;
            }
        }
        /* entersyscall saved where its caller was; the runtime's unwinder
         * starts there (traceback.go: syscallsp, syscallpc) */
        if (sysp) {
            g.sp = sysp;
            uint64_t spc = 0;
            if (L->g_syscallpc >= 0 && (spc = go_get(gb, L->g_syscallpc, 8)))
                g.pc = spc;
            else
                g.saved = 0;
        }
        if (g.stack_hi <= g.stack_lo || g.stack_hi - g.stack_lo > (1ull << 30)) {
            if ((int64_t)g.status != L->g_dead)
                c->problem(c, g.addr, "go: goroutine %llu has a stack of [0x%llx, 0x%llx); not believable",
                           (unsigned long long)g.goid, (unsigned long long)g.stack_lo,
                           (unsigned long long)g.stack_hi);
            g.stack_lo = g.stack_hi = g.sp = 0;
        }
        w->gs[w->ngs++] = g;
    }
    free(ptrs);
    free(gb);
    quiet_threads(w);
    return 0;
}
