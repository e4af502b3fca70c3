/*
 * typed_locals.c — heap blocks that only typed local variables of blocked
 * stack frames point at, the ground truth for tests/t4300-stack-locals.sh
 * (the typing pass's dwarf-local source).
 *
 *   typed_locals REPORT
 *
 * A worker thread calls make_points, which calls hold_shapes; each keeps
 * heap pointers in `volatile` pointer locals (so that, even at -O1, they
 * live in stack slots DWARF places with DW_OP_fbreg) and hold_shapes then
 * blocks in pause().  No global, no other block points at them.
 *
 * REPORT gets, in this order:
 *   pid N
 *   tid N                   the worker thread
 *   local 0xADDR TYPE NAME FUNC   a block only local NAME of FUNC holds,
 *                           TYPE as heapsnap names it (may hold spaces)
 *   ready
 * and then the process blocks until killed.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "report.h"

static int report_fd;

struct point {
    int x, y;
};

struct shape {
    char name[24];
    struct point *corner;   /* NULL: the corner is typed by the local alone */
    long sides;
};

/* Blocks forever with two more typed locals on its own frame. */
static __attribute__((noinline)) void hold_shapes(int n)
{
    struct shape *volatile sq = calloc(1, sizeof(struct shape));
    long *volatile counts = calloc(4, sizeof(long));
    strcpy(sq->name, "square");
    sq->sides = n;
    report_line("local %p struct shape sq hold_shapes\n", (void *)sq);
    report_line("local %p long int counts hold_shapes\n", (void *)counts);
    report_line("ready\n");
    report_flush(report_fd);
    for (;;)
        pause();
}

static __attribute__((noinline)) void make_points(void)
{
    struct point *volatile p = calloc(1, sizeof(struct point));
    struct point *volatile many = calloc(5, sizeof(struct point) * 4);
    p->x = 3;
    report_line("local %p struct point p make_points\n", (void *)p);
    report_line("local %p struct point many make_points\n", (void *)many);
    hold_shapes(4);
    __asm__ volatile("" ::: "memory"); /* keep the frame (no tail call) */
}

static void *worker(void *arg)
{
    (void)arg;
    report_line("tid %ld\n", (long)syscall(SYS_gettid));
    make_points();
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    if ((report_fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
        return 1;
    report_line("pid %d\n", (int)getpid());
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL))
        return 1;
    pthread_join(t, NULL);
    return 0;
}
