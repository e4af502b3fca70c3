/*
 * linked.c — a process whose heap holds a known reference graph, written
 * down so that tests/t5000-index.sh and t5010-sql.sh can compare the
 * indexer's roots and refs tables with the truth.
 *
 *   linked REPORT
 *
 * The graph: a list of nodes linked by 'next' and 'prev' from the global
 * g_list_head, each node also pointing *inside* its successor (at its
 * 'payload' member: an interior pointer) and at a heap string; the global
 * g_interior pointing inside a block; a block reachable only from a
 * thread's stack; one only from a TLS variable of the main thread.
 * Every block is calloc'd, so no stray word in it looks like a pointer.
 *
 * REPORT gets, in this order:
 *   pid N
 *   link 0xSRC OFFSET 0xDST INTERIOR     each pointer stored in one of our blocks
 *   block 0xADDR SIZE                     each of our blocks (requested size)
 *   root NAME 0xDST INTERIOR              a global pointing into the heap
 *   stack TID 0xDST                       a block held only by that thread's stack
 *   tls TID 0xDST                         a block a TLS variable of that thread points to
 *   string 0xADDR TEXT                    a NUL-terminated string in the heap
 *   word 0xADDR VALUE                     a 64-bit word (decimal) in the heap
 *   global NAME 0xADDR                    the address of a global
 *   ready
 * and then it blocks until killed.  Nothing allocates after the report
 * starts (the lines are formatted into a static buffer and written with
 * write(2)), so the capture sees the heap the report describes.
 */
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "report.h"

#define NNODES 8

struct node {
    uint64_t value;
    struct node *next;
    struct node *prev;
    char *label;
    uint64_t payload[4];  /* the next node's 'inner' points here */
    uint64_t *inner;      /* -> next->payload: an interior pointer */
};

struct node *g_list_head;
char *g_interior;
__thread void *volatile t_tls_ptr; /* volatile: a store never read back would be optimised away */

static int report_fd;

static sem_t thread_ready;
static void *volatile thread_block;
static volatile pid_t thread_tid;

static void *worker(void *arg)
{
    (void)arg;
    /* held only here: a volatile local lives in this frame on the stack */
    void *volatile mine = calloc(1, 48);
    thread_block = mine;
    thread_tid = (pid_t)syscall(SYS_gettid);
    sem_post(&thread_ready);
    for (;;)
        pause();
    return (void *)mine;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: linked REPORT\n");
        return 2;
    }
    report_fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (report_fd < 0) {
        perror(argv[1]);
        return 1;
    }
    sem_init(&thread_ready, 0, 0);
    pthread_t th;
    if (pthread_create(&th, NULL, worker, NULL))
        return 1;
    sem_wait(&thread_ready);

    struct node *n[NNODES];
    char *labels[NNODES];
    for (int i = 0; i < NNODES; i++) {
        n[i] = calloc(1, sizeof *n[i]);
        labels[i] = calloc(1, 32);
        snprintf(labels[i], 32, "node-%d", i);
        n[i]->value = 1000 + (uint64_t)i;
        n[i]->label = labels[i];
    }
    for (int i = 0; i < NNODES; i++) {
        n[i]->next = i + 1 < NNODES ? n[i + 1] : NULL;
        n[i]->prev = i > 0 ? n[i - 1] : NULL;
        n[i]->inner = i + 1 < NNODES ? &n[i + 1]->payload[0] : NULL;
    }
    g_list_head = n[0];
    char *block = calloc(1, 64);
    strcpy(block, "interior target");
    g_interior = block + 16;
    void *tls_block = calloc(1, 40);
    t_tls_ptr = tls_block;

    report_line("pid %d\n", (int)getpid());
    for (int i = 0; i < NNODES; i++) {
        if (n[i]->next)
            report_line("link %p %zu %p 0\n", (void *)n[i], offsetof(struct node, next), (void *)n[i]->next);
        if (n[i]->prev)
            report_line("link %p %zu %p 0\n", (void *)n[i], offsetof(struct node, prev), (void *)n[i]->prev);
        report_line("link %p %zu %p 0\n", (void *)n[i], offsetof(struct node, label), (void *)labels[i]);
        if (n[i]->inner)
            report_line("link %p %zu %p 1\n", (void *)n[i], offsetof(struct node, inner), (void *)n[i + 1]);
    }
    for (int i = 0; i < NNODES; i++) {
        report_line("block %p %zu\n", (void *)n[i], sizeof *n[i]);
        report_line("block %p 32\n", (void *)labels[i]);
    }
    report_line("block %p 64\nblock %p 40\nblock %p 48\n", (void *)block, tls_block, thread_block);
    report_line("root g_list_head %p 0\n", (void *)g_list_head);
    report_line("root g_interior %p 1\n", (void *)block);
    report_line("stack %d %p\n", (int)thread_tid, thread_block);
    report_line("tls %d %p\n", (int)getpid(), tls_block);
    report_line("string %p %s\n", (void *)labels[3], labels[3]);
    report_line("word %p %llu\n", (void *)&n[2]->value, (unsigned long long)n[2]->value);
    report_line("global g_list_head %p\n", (void *)&g_list_head);
    report_line("global g_interior %p\n", (void *)&g_interior);
    report_line("ready\n");
    if (report_flush(report_fd))
        exit(1);
    for (;;)
        pause();
}
