/*
 * patterns.c — a sample target whose memory holds known bytes, so tests can
 * check that a capture copied the right bytes from the right addresses.
 *
 *   bin/samples/patterns REPORT
 *
 * Four regions are filled with byte i = (i * 7 + seed) & 0xff, each with
 * its own seed: a malloc'd heap block, an anonymous mmap, a .bss array, and
 * an array on a second thread's stack.  REPORT receives, in this order:
 *
 *   pid N
 *   region NAME 0xADDR LEN SEED      (NAME: heap, mmap, bss, stack; LEN and
 *                                     SEED in decimal)
 *   thread TID                       (one per thread, the main thread first)
 *   ready
 *
 * Then every thread blocks in read() on a pipe that is never written, so
 * registers and memory stay still until the process is killed.  Other tests
 * (heapsnap core + gdb) depend on this format: keep it.
 */
#define _GNU_SOURCE /* gettid() */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HEAP_LEN  (64 * 1024)
#define MMAP_LEN  (256 * 1024)
#define BSS_LEN   (32 * 1024)
#define STACK_LEN (16 * 1024)

enum { SEED_HEAP = 17, SEED_MMAP = 34, SEED_BSS = 51, SEED_STACK = 68 };

static uint8_t bss_region[BSS_LEN];
static int never[2];          /* a pipe nobody writes: read() blocks forever */
static int started[2];        /* the stack thread says where its array is */

static void fill(uint8_t *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)((i * 7 + seed) & 0xff);
}

static void block_forever(void)
{
    char c;
    for (;;)
        if (read(never[0], &c, 1) == 0)
            pause();
}

struct stack_info {
    uintptr_t addr;
    pid_t tid;
};

static void *stack_thread(void *arg)
{
    (void)arg;
    uint8_t buf[STACK_LEN];
    fill(buf, sizeof buf, SEED_STACK);
    /* The array must really be in memory, not optimised away. */
    __asm__ volatile("" : : "r"(buf) : "memory");
    struct stack_info si = {(uintptr_t)buf, gettid()};
    if (write(started[1], &si, sizeof si) != sizeof si)
        abort();
    block_forever();
    __asm__ volatile("" : : "r"(buf) : "memory");
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s REPORT\n", argv[0]);
        return 2;
    }
    if (pipe(never) < 0 || pipe(started) < 0)
        return 1;
    uint8_t *heap = malloc(HEAP_LEN);
    uint8_t *map = mmap(NULL, MMAP_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!heap || map == MAP_FAILED)
        return 1;
    fill(heap, HEAP_LEN, SEED_HEAP);
    fill(map, MMAP_LEN, SEED_MMAP);
    fill(bss_region, BSS_LEN, SEED_BSS);

    pthread_t t;
    struct stack_info si;
    if (pthread_create(&t, NULL, stack_thread, NULL) != 0 || read(started[0], &si, sizeof si) != sizeof si)
        return 1;

    FILE *f = fopen(argv[1], "w");
    if (!f)
        return 1;
    fprintf(f, "pid %d\n", (int)getpid());
    fprintf(f, "region heap 0x%lx %d %d\n", (unsigned long)(uintptr_t)heap, HEAP_LEN, SEED_HEAP);
    fprintf(f, "region mmap 0x%lx %d %d\n", (unsigned long)(uintptr_t)map, MMAP_LEN, SEED_MMAP);
    fprintf(f, "region bss 0x%lx %d %d\n", (unsigned long)(uintptr_t)bss_region, BSS_LEN, SEED_BSS);
    fprintf(f, "region stack 0x%lx %d %d\n", (unsigned long)si.addr, STACK_LEN, SEED_STACK);
    fprintf(f, "thread %d\n", (int)gettid());
    fprintf(f, "thread %d\n", (int)si.tid);
    fprintf(f, "ready\n");
    fclose(f);
    block_forever();
    return 0;
}
