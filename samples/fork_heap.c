/*
 * fork_heap.c — a prefork server's heap in miniature: a parent grows its
 * brk heap, forks, and the child grows it further, so that the child's
 * heap is two mappings (the kernel cannot merge the part shared with the
 * parent with the part that is the child's alone).  The child then writes
 * the truth about its heap for tests/t3130-glibc-fork.sh.
 *
 *   fork_heap REPORT
 *
 * Parent, before the fork: 3000 blocks of 24..1000 bytes, every third
 * freed (small and unsorted bins, tcache, fastbins).  Child: 6000 more of
 * 200..1200 bytes (about 4 MiB, well past the parent's top, below the mmap
 * threshold), every fourth freed, and every other block of the parent's
 * that is still live freed too, so free chunks lie on both sides of the
 * split; one 1 MiB mmapped block.
 *
 * REPORT (written by the child) gets:
 *   pid N                            the child, the process to capture
 *   parent N
 *   live 0xADDR REQUESTED USABLE     every live block (USABLE from malloc_usable_size)
 *   freed 0xADDR                     every block freed and not handed out again
 *   mallinfo uordblks N hblkhd N fordblks N arena N    (mallinfo2(), after the last malloc)
 *   ready
 * and then both block until killed (the child dies with its parent).
 * Every live block stays reachable from recs[] (.bss): nothing leaks.
 */
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define REPORT_BUF_SIZE (1 << 20)
#include "report.h"

enum rstate { R_LIVE, R_FREED };

struct rec {
    void *p;
    size_t req;
    enum rstate state;
};

static struct rec recs[12000];
static size_t nrecs;

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p || nrecs == sizeof recs / sizeof recs[0])
        abort(); /* a report that lost blocks would be no ground truth */
    memset(p, 0x5A, n);
    recs[nrecs++] = (struct rec){p, n, R_LIVE};
    return p;
}

static void xfree(struct rec *r)
{
    r->state = R_FREED;
    free(r->p);
}

/* An address freed and then handed out again is live, not freed. */
static int reused(size_t i)
{
    for (size_t j = i + 1; j < nrecs; j++)
        if (recs[j].p == recs[i].p)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    for (size_t i = 0; i < 3000; i++)
        xmalloc(24 + (i * 37) % 977);
    for (size_t i = 0; i < 3000; i += 3)
        xfree(&recs[i]);
    size_t parent_n = nrecs;

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid > 0) {
        for (;;)
            pause();
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        return 1;

    for (size_t i = 0; i < 6000; i++)
        xmalloc(200 + (i * 53) % 1001);
    void *big = xmalloc(1 << 20);
    (void)big;
    for (size_t i = parent_n; i < nrecs - 1; i += 4)
        xfree(&recs[i]);
    for (size_t i = 1; i < parent_n; i += 2)
        if (recs[i].state == R_LIVE)
            xfree(&recs[i]);

    struct mallinfo2 mi = mallinfo2();
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return 1;
    report_line("pid %d\nparent %d\n", (int)getpid(), (int)parent);
    for (size_t i = 0; i < nrecs; i++) {
        if (recs[i].state == R_LIVE)
            report_line("live %p %zu %zu\n", recs[i].p, recs[i].req, malloc_usable_size(recs[i].p));
        else if (!reused(i))
            report_line("freed %p\n", recs[i].p);
    }
    report_line("mallinfo uordblks %zu hblkhd %zu fordblks %zu arena %zu\n", mi.uordblks, mi.hblkhd,
                mi.fordblks, mi.arena);
    report_line("ready\n");
    if (report_flush(fd))
        return 1;
    close(fd);
    for (;;)
        pause();
}
