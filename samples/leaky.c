/*
 * leaky.c — a process with known leaks and known survivors, the ground
 * truth for tests/t6000-leaks.sh and t6100-top-path.sh.
 *
 *   leaky REPORT
 *
 * Leaked (no pointer to them anywhere the program can reach):
 *   - NSINGLE single blocks of 40 bytes, each holding a string and a pointer
 *     to a reachable block (a leak may point out; that changes nothing);
 *   - a list of NLIST 64-byte nodes whose head pointer was dropped;
 *   - a ring of NRING 80-byte nodes that nothing outside points to;
 *   - a ring of 3 96-byte nodes with a tail of 2 112-byte nodes hanging off it.
 * Reachable:
 *   - a list of NLIST 64-byte nodes from the global g_keep;
 *   - a ring of 3 80-byte nodes from the global g_ring;
 *   - a 200-byte block held only by main's stack, 208 bytes only by a
 *     thread's stack;
 *   - a 56-byte block both the last g_keep node (at offset 16) and the
 *     stack's 200-byte block (at offset 0) point to: two independent paths,
 *     and no single root owns it.
 *
 * REPORT lines (sizes are malloc_usable_size, what the indexer records):
 *   pid N
 *   leak 0xADDR SIZE                  every leaked block
 *   leakhead 0xADDR COUNT BYTES       each leak head and what it holds
 *   reachable 0xADDR SIZE             every block we keep
 *   global NAME 0xADDR                the block a global points to
 *   shared 0xADDR SIZE                the block with two paths
 *   ready
 *
 * Making sure a "leaked" block really has no pointer left, since the
 * analysis is conservative:
 *   - leaks are made in a noinline function whose frame dies on return;
 *     main then calls scrub() (scrub.h), which zeroes a large stack array
 *     over the same addresses, and zeroes the caller-saved registers;
 *   - nothing more: the last block allocated (a leaked tail node) is the
 *     one the top chunk follows, so main_arena's pointer to the top
 *     chunk's header lands in its last word; the indexer does not scan
 *     main_arena, so it must still be reported (docs/schema.md);
 *   - the report is text in a static buffer, written with write(2)
 *     (report.h).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"
#include "scrub.h"

#define NSINGLE 5
#define NLIST   6
#define NRING   4

struct node {
    struct node *next;
    char text[24];
};

struct node *g_keep;
struct node *g_ring;

static struct node *alloc_node(size_t size, const char *label, int i)
{
    struct node *n = calloc(1, size);
    if (!n)
        exit(1);
    snprintf(n->text, sizeof n->text, "%s-%d", label, i);
    return n;
}

/* A chain of count nodes, each pointing to the next; returns the first. */
static struct node *chain(size_t size, int count, const char *label, struct node **last)
{
    struct node *first = NULL, *prev = NULL;
    for (int i = 0; i < count; i++) {
        struct node *n = alloc_node(size, label, i);
        if (prev)
            prev->next = n;
        else
            first = n;
        prev = n;
    }
    *last = prev;
    return first;
}

static void report_chain(const char *what, struct node *n, int count, int ring)
{
    for (int i = 0; i < count; i++, n = n->next) {
        report_line("%s %p %zu\n", what, (void *)n, malloc_usable_size(n));
        if (ring && !n->next)
            break;
    }
}

/* The lowest address in a ring of count nodes. */
static struct node *lowest(struct node *n, int count)
{
    struct node *lo = n;
    for (int i = 0; i < count; i++, n = n->next)
        if (n < lo)
            lo = n;
    return lo;
}

static size_t chain_bytes(struct node *n, int count)
{
    size_t b = 0;
    for (int i = 0; i < count; i++, n = n->next)
        b += malloc_usable_size(n);
    return b;
}

__attribute__((noinline)) static void make_leaks(void)
{
    struct node *last;
    for (int i = 0; i < NSINGLE; i++) {
        struct node *s = alloc_node(40, "leaked-single", i);
        s->next = g_keep; /* a leak pointing at a live block */
        report_line("leak %p %zu\n", (void *)s, malloc_usable_size(s));
        report_line("leakhead %p 1 %zu\n", (void *)s, malloc_usable_size(s));
    }
    struct node *list = chain(64, NLIST, "leaked-list", &last);
    report_chain("leak", list, NLIST, 0);
    report_line("leakhead %p %d %zu\n", (void *)list, NLIST, chain_bytes(list, NLIST));

    struct node *ring = chain(80, NRING, "leaked-ring", &last);
    last->next = ring;
    report_chain("leak", ring, NRING, 0);
    report_line("leakhead %p %d %zu\n", (void *)lowest(ring, NRING), NRING, chain_bytes(ring, NRING));

    /* a ring of 3 with a tail of 2: the ring's lowest member heads all 5 */
    struct node *r3 = chain(96, 3, "leaked-ring3", &last);
    struct node *tail_last;
    struct node *tail = chain(112, 2, "leaked-tail", &tail_last);
    last->next = r3;
    struct node *lo = lowest(r3, 3);
    /* the tail hangs off a member without using its 'next' */
    memcpy(lo->text + 8, &tail, sizeof tail);
    report_chain("leak", r3, 3, 0);
    report_chain("leak", tail, 2, 0);
    report_line("leakhead %p 5 %zu\n", (void *)lo, chain_bytes(r3, 3) + chain_bytes(tail, 2));
    explicit_bzero(&tail, sizeof tail);
    explicit_bzero(&lo, sizeof lo);
}

/* The kept structures, built in a frame that dies too, so that no stale
 * local in main's frame or registers points into them. */
__attribute__((noinline)) static void make_kept(void *on_stack)
{
    struct node *last;
    g_keep = chain(64, NLIST, "kept-list", &last);
    struct node *keep_last = last;
    g_ring = chain(80, 3, "kept-ring", &last);
    last->next = g_ring;
    void *shared = calloc(1, 56);
    memcpy(keep_last->text + 8, &shared, sizeof shared);
    memcpy(on_stack, &shared, sizeof shared);
    report_chain("reachable", g_keep, NLIST, 0);
    report_chain("reachable", g_ring, 3, 0);
    report_line("reachable %p %zu\n", shared, malloc_usable_size(shared));
    report_line("shared %p %zu\n", shared, malloc_usable_size(shared));
    report_line("global g_keep %p\n", (void *)g_keep);
    report_line("global g_ring %p\n", (void *)g_ring);
}

static sem_t thread_ready;
static void *volatile thread_block;

static void *worker(void *arg)
{
    (void)arg;
    void *volatile mine = calloc(1, 208);
    thread_block = mine;
    sem_post(&thread_ready);
    for (;;)
        pause();
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: leaky REPORT\n");
        return 2;
    }
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    sem_init(&thread_ready, 0, 0);
    pthread_t th;
    if (pthread_create(&th, NULL, worker, NULL))
        return 1;
    sem_wait(&thread_ready);

    void *volatile on_stack = calloc(1, 200);
    report_line("pid %d\n", (int)getpid());
    make_kept(on_stack);
    make_leaks();
    report_line("reachable %p %zu\n", on_stack, malloc_usable_size(on_stack));
    report_line("reachable %p %zu\n", thread_block, malloc_usable_size(thread_block));
    thread_block = NULL; /* from now on only the thread's stack holds it */
    report_line("ready\n");
    scrub();
    if (report_flush(fd))
        return 1;
    for (;;)
        pause();
}
