/*
 * secrets.c — a sample target that holds one secret in every place a
 * snapshot could carry it, for checking what --redact leaves
 * (tests/t1040-capture-safety.sh).
 *
 *   bin/samples/secrets REPORT SECRET
 *
 * SECRET (8 to 15 characters) is then in: argv (the command line, and its
 * strings on the main stack); the name of a second thread (prctl
 * PR_SET_NAME); a heap block (strdup) and a stack buffer of that thread;
 * and, as the 8 bytes of its first 8 characters, register r12 of that
 * thread, which waits in pause(2) with it there.  REPORT receives:
 *
 *   pid N
 *   holder TID          the thread with the name, the stack copy and r12
 *   heap ADDR           the heap copy
 *   r12 0xVALUE         the register's value
 *   ready
 *
 * Runs until killed; blocks, so it costs no CPU.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>


static const char *secret;
static char *heap_copy;
static volatile pid_t holder_tid;

static void *holder(void *arg)
{
    (void)arg;
    char onstack[64];
    snprintf(onstack, sizeof onstack, "%s", secret);
    prctl(PR_SET_NAME, secret, 0, 0, 0);
    uint64_t word;
    memcpy(&word, secret, 8);
    holder_tid = (pid_t)syscall(SYS_gettid);
    /* Wait in pause() with the word in r12 (the kernel keeps r12 across a
     * system call), again after every interruption. */
    register uint64_t r12 __asm__("r12") = word;
    for (;;) {
        long nr = SYS_pause;
        __asm__ volatile("syscall" : "+a"(nr) : "r"(r12), "r"(onstack) : "rcx", "r11", "memory");
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3 || strlen(argv[2]) < 8 || strlen(argv[2]) > 15) {
        fprintf(stderr, "usage: %s REPORT SECRET (8 to 15 characters)\n", argv[0]);
        return 2;
    }
    secret = argv[2];
    heap_copy = strdup(secret);
    pthread_t t;
    if (!heap_copy || pthread_create(&t, NULL, holder, NULL) != 0)
        return 1;
    while (!holder_tid)
        usleep(1000);
    uint64_t word;
    memcpy(&word, secret, 8);
    FILE *f = fopen(argv[1], "w");
    if (!f)
        return 1;
    fprintf(f, "pid %d\nholder %d\nheap %p\nr12 0x%llx\nready\n", (int)getpid(), (int)holder_tid,
            (void *)heap_copy, (unsigned long long)word);
    fclose(f);
    for (;;)
        pause();
}
