/*
 * stuck.c — a sample target with a thread that cannot be stopped by ptrace
 * for a while, for the --timeout test of heapsnap-capture.
 *
 *   bin/samples/stuck REPORT [SECONDS]
 *
 * A second thread calls vfork(); the child sleeps SECONDS (default 60)
 * before it exits.  Until then the vforking thread waits in the kernel in
 * an uninterruptible (killable-only) sleep, state D: PTRACE_INTERRUPT
 * cannot stop it.  The main thread stays stoppable.  When the child exits,
 * the whole process exits, so a failed test leaves nothing behind for
 * long.  REPORT receives:
 *
 *   pid N
 *   stuck TID          the thread in vfork
 *   ready
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int seconds = 60;
static int info[2];

static void *vforker(void *arg)
{
    (void)arg;
    pid_t me = gettid();
    if (write(info[1], &me, sizeof me) != sizeof me)
        abort();
    pid_t child = vfork();
    if (child == 0) {
        /* Only system calls here: the child shares the parent's memory. */
        struct timespec ts = {seconds, 0};
        syscall(SYS_nanosleep, &ts, NULL);
        _exit(0);
    }
    exit(0); /* the test is over: do not linger */
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s REPORT [SECONDS]\n", argv[0]);
        return 2;
    }
    if (argc > 2)
        seconds = atoi(argv[2]);
    if (pipe(info) < 0)
        return 1;
    pthread_t t;
    pid_t tid;
    if (pthread_create(&t, NULL, vforker, NULL) != 0 || read(info[0], &tid, sizeof tid) != sizeof tid)
        return 1;
    /* Wait until the thread sits in vfork (state D) before saying ready. */
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    for (int i = 0; i < 1000; i++) {
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        if (p && p[2] == 'D')
            break;
        usleep(10000);
    }
    FILE *f = fopen(argv[1], "w");
    if (!f)
        return 1;
    fprintf(f, "pid %d\nstuck %d\nready\n", (int)getpid(), (int)tid);
    fclose(f);
    for (;;)
        pause();
}
