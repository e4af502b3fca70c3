/*
 * waiters.c — a sample target whose threads block, with no signal handler
 * involved, in the calls that a stop and resume by a tracer interrupts with
 * EINTR (signal(7)): epoll_wait, semop and sigtimedwait.  It checks what
 * docs/capture.md says users will notice after a capture
 * (tests/t1040-capture-safety.sh).
 *
 *   bin/samples/waiters REPORT
 *
 * Each waiter counts the EINTR returns of its call and rewrites
 * REPORT.eintr with "epoll_wait N semop N sigtimedwait N" after each one.
 * REPORT receives "pid N" and "ready".  SIGTERM removes the semaphore set
 * and exits.  Blocks, so it costs no CPU.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sem.h>
#include <time.h>
#include <unistd.h>

static char eintr_path[4096];
static volatile int counts[3];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int semid = -1;

static void bump(int k)
{
    pthread_mutex_lock(&lock);
    counts[k]++;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.new", eintr_path);
    FILE *f = fopen(tmp, "w");
    if (f) {
        fprintf(f, "epoll_wait %d semop %d sigtimedwait %d\n", counts[0], counts[1], counts[2]);
        fclose(f);
        rename(tmp, eintr_path);
    }
    pthread_mutex_unlock(&lock);
}

static void *epoller(void *arg)
{
    (void)arg;
    int ep = epoll_create1(0);
    struct epoll_event ev;
    for (;;)
        if (epoll_wait(ep, &ev, 1, -1) < 0 && errno == EINTR)
            bump(0);
    return NULL;
}

static void *semwaiter(void *arg)
{
    (void)arg;
    struct sembuf op = {0, -1, 0}; /* the value stays 0: waits for ever */
    for (;;)
        if (semop(semid, &op, 1) < 0 && errno == EINTR)
            bump(1);
    return NULL;
}

static void *sigwaiter(void *arg)
{
    (void)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    struct timespec ts = {100000, 0};
    for (;;)
        if (sigtimedwait(&set, NULL, &ts) < 0 && errno == EINTR)
            bump(2);
    return NULL;
}

static void on_term(int sig)
{
    (void)sig;
    semctl(semid, 0, IPC_RMID);
    _exit(0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s REPORT\n", argv[0]);
        return 2;
    }
    snprintf(eintr_path, sizeof eintr_path, "%s.eintr", argv[1]);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* every thread inherits it */
    if ((semid = semget(IPC_PRIVATE, 1, 0600)) < 0)
        return 1;
    signal(SIGTERM, on_term);
    pthread_t t[3];
    if (pthread_create(&t[0], NULL, epoller, NULL) || pthread_create(&t[1], NULL, semwaiter, NULL) ||
        pthread_create(&t[2], NULL, sigwaiter, NULL)) {
        semctl(semid, 0, IPC_RMID);
        return 1;
    }
    FILE *f = fopen(argv[1], "w");
    if (!f)
        return 1;
    fprintf(f, "pid %d\nready\n", (int)getpid());
    fclose(f);
    for (;;)
        pause();
}
