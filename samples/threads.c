/*
 * threads.c — a sample target with many threads and constant thread churn,
 * for checking that a capture stops (and records) every thread.
 *
 *   bin/samples/threads REPORT [N]
 *
 * N (default 16) long-lived threads block on a pipe; one more thread keeps
 * creating short-lived threads that exit at once, so threads appear and
 * vanish while heapsnap-capture scans /proc/PID/task.  REPORT receives:
 *
 *   pid N
 *   threads COUNT        the long-lived threads, main and churner included
 *   thread TID           one per long-lived thread
 *   ready
 *
 * Runs until killed.
 */
#define _GNU_SOURCE /* gettid() */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int never[2];

static void *sleeper(void *arg)
{
    pid_t *tid = arg;
    char c;
    *tid = gettid();
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    for (;;)
        if (read(never[0], &c, 1) <= 0)
            pause();
    return NULL;
}

static void *brief(void *arg)
{
    return arg;
}

static void *churner(void *arg)
{
    pid_t *tid = arg;
    *tid = gettid();
    for (;;) {
        pthread_t t;
        if (pthread_create(&t, NULL, brief, NULL) == 0)
            pthread_join(t, NULL);
        usleep(200);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s REPORT [N]\n", argv[0]);
        return 2;
    }
    int n = argc > 2 ? atoi(argv[2]) : 16;
    if (n < 1 || n > 4096 || pipe(never) < 0)
        return 2;
    pid_t *tids = calloc((size_t)n + 1, sizeof *tids);
    pthread_t t;
    for (int i = 0; i < n; i++)
        if (pthread_create(&t, NULL, sleeper, &tids[i]) != 0)
            return 1;
    if (pthread_create(&t, NULL, churner, &tids[n]) != 0)
        return 1;
    for (int i = 0; i <= n; i++)
        while (__atomic_load_n(&tids[i], __ATOMIC_SEQ_CST) == 0)
            usleep(1000);
    FILE *f = fopen(argv[1], "w");
    if (!f)
        return 1;
    fprintf(f, "pid %d\nthreads %d\n", (int)getpid(), n + 2);
    fprintf(f, "thread %d\n", (int)gettid());
    for (int i = 0; i <= n; i++)
        fprintf(f, "thread %d\n", (int)tids[i]);
    fprintf(f, "ready\n");
    fclose(f);
    for (;;)
        pause();
}
