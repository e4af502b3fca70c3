/*
 * cowtarget.c — a sample target for the copy-on-write capture (--mode=cow,
 * tests/t1030-capture-cow.sh): it notices every way a fork injected into
 * it could leak into its own life, and it has a region a writer thread
 * rewrites on demand, so a test can change memory while a capture reads.
 *
 *   bin/samples/cowtarget REPORT MIB [read|sleep [DIRTY_MIB]]
 *
 * The main thread blocks in read() on a pipe nobody writes (default), or
 * in nanosleep() ("sleep"): the thread a capture forks from is the first
 * one it finds blocked in a system call, the main thread, so the two cover
 * the kernel's two kinds of restart (ERESTARTSYS and RESTARTBLOCK).  Either
 * call returning at all is unexpected.
 *
 * A region of MIB MiB holds generation 1: byte i = (i * 13 + gen) & 0xff.
 * SIGUSR1 makes the writer thread rewrite it with the next generation (the
 * first DIRTY_MIB MiB only, if given: bench/capture measures what a fork's
 * copy costs for a known number of dirtied pages); it then appends
 * "rewritten GEN" to REPORT.
 *
 * It holds flock(LOCK_EX) on REPORT.lock; SIGUSR2 makes the writer close
 * that file (which releases the lock, unless another process holds a
 * descriptor of the same open file) and append "unlocked" to REPORT.
 *
 * A status thread rewrites REPORT.status every 10 ms:
 *   ticks N sigchld N unexpected N children N
 * ticks counts its rounds (so a reader knows the figures are fresh),
 * sigchld the SIGCHLD handler's runs, unexpected the calls that returned
 * when they must not, children the processes whose parent is this one
 * (from /proc, zombies included).  REPORT receives:
 *
 *   pid N
 *   region 0xADDR LEN
 *   ready
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static const char *report;
static char statusfile[4096];
static uint8_t *region;
static size_t region_len, dirty_len;
static int never[2], wake[2], lockfd = -1;
static volatile sig_atomic_t sigchld_runs;
static volatile long unexpected;

static void fill(unsigned gen, size_t len)
{
    for (size_t i = 0; i < len; i++)
        region[i] = (uint8_t)((i * 13 + gen) & 0xff);
}

static void on_sigchld(int sig)
{
    (void)sig;
    sigchld_runs++;
}

static void on_usr1(int sig)
{
    (void)sig;
    char c = 1;
    ssize_t w = write(wake[1], &c, 1);
    (void)w;
}

static void on_usr2(int sig)
{
    (void)sig;
    char c = 2;
    ssize_t w = write(wake[1], &c, 1);
    (void)w;
}

static void append(const char *line)
{
    FILE *f = fopen(report, "a");
    if (f) {
        fputs(line, f);
        fclose(f);
    }
}

/* Processes whose parent is us, zombies too. */
static int children(void)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    int n = 0;
    pid_t me = getpid();
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        ssize_t r = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (r <= 0)
            continue;
        buf[r] = '\0';
        char *p = strrchr(buf, ')');
        int ppid;
        char st;
        if (p && sscanf(p + 2, "%c %d", &st, &ppid) == 2 && ppid == me)
            n++;
    }
    closedir(d);
    return n;
}

static void *writer(void *arg)
{
    (void)arg;
    unsigned gen = 1;
    char c;
    for (;;) {
        ssize_t r = read(wake[0], &c, 1);
        if (r != 1) {
            if (r < 0 && errno == EINTR)
                continue;
            unexpected++;
            continue;
        }
        if (c == 2) {
            close(lockfd);
            append("unlocked\n");
            continue;
        }
        fill(++gen, dirty_len);
        char line[64];
        snprintf(line, sizeof line, "rewritten %u\n", gen);
        append(line);
    }
    return NULL;
}

static void *status(void *arg)
{
    (void)arg;
    /* SIGCHLD is taken on this thread only. */
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGCHLD);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    unsigned long ticks = 0;
    for (;;) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL); /* EINTR (a SIGCHLD) is counted by the handler */
        ticks++;
        char line[160], tmp[4200];
        int n = snprintf(line, sizeof line, "ticks %lu sigchld %d unexpected %ld children %d\n", ticks,
                         (int)sigchld_runs, unexpected, children());
        snprintf(tmp, sizeof tmp, "%s.tmp", statusfile);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            ssize_t w = write(fd, line, (size_t)n);
            (void)w;
            close(fd);
            rename(tmp, statusfile);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: cowtarget REPORT MIB [read|sleep [DIRTY_MIB]]\n");
        return 2;
    }
    report = argv[1];
    snprintf(statusfile, sizeof statusfile, "%s.status", report);
    region_len = (size_t)atol(argv[2]) << 20;
    int sleeper = argc > 3 && strcmp(argv[3], "sleep") == 0;
    dirty_len = argc > 4 ? (size_t)atol(argv[4]) << 20 : region_len;
    if (dirty_len > region_len)
        dirty_len = region_len;
    region = mmap(NULL, region_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED || pipe(never) < 0 || pipe(wake) < 0)
        return 1;
    fill(1, region_len);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_sigchld;
    sigaction(SIGCHLD, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_usr2;
    sigaction(SIGUSR2, &sa, NULL);
    char lockpath[4200];
    snprintf(lockpath, sizeof lockpath, "%s.lock", report);
    lockfd = open(lockpath, O_RDWR | O_CREAT, 0644);
    if (lockfd < 0 || flock(lockfd, LOCK_EX) < 0)
        return 1;
    /* Every thread but the status thread blocks SIGCHLD; the main thread
     * blocks SIGUSR1 too, so that nothing but a bug returns its call. */
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    pthread_t t;
    pthread_create(&t, NULL, status, NULL);
    pthread_create(&t, NULL, writer, NULL);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &s, NULL);

    FILE *f = fopen(report, "w");
    if (!f)
        return 1;
    fprintf(f, "pid %d\nregion %p %zu\nready\n", (int)getpid(), (void *)region, region_len);
    fclose(f);

    for (;;) {
        if (sleeper) {
            struct timespec ts = {100000, 0};
            nanosleep(&ts, NULL);
        } else {
            char c;
            ssize_t r = read(never[0], &c, 1);
            (void)r;
        }
        unexpected++;
    }
}
