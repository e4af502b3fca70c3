/*
 * bigheap.c — a sample target with a large heap of many small objects and a
 * heartbeat thread that measures how long the process was held still.
 *
 *   bin/samples/bigheap REPORT [MIB [random]]
 *
 * Allocates about MIB MiB (default 64) of malloc'd objects of 32..256
 * bytes, linked into lists like a real program's data (so the heap has
 * pointers and some redundancy); with "random" the payload is
 * pseudo-random instead, which compresses badly and makes a capture that
 * streams while the target is stopped slow (the tests need that).
 *
 * The heartbeat thread wakes every millisecond and rewrites BEATFILE
 * (REPORT.beat) with "beats N maxgap_us M": N counts beats, M is the longest
 * gap between two beats since the start or since the last SIGUSR1.  A
 * capture stops the whole process, so M after a capture is the pause the
 * program itself saw.  On a busy machine a thread also waits for a CPU now
 * and then, so every gap longer than 2 ms is appended to REPORT.gaps as
 * "gap START_US END_US" (CLOCK_MONOTONIC): bench/capture picks out the one
 * that spans the capture's own stop window.  REPORT receives:
 *
 *   pid N
 *   heap_bytes B
 *   beatfile PATH
 *   ready
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct obj {
    struct obj *next;
    uint32_t size, id;
    uint8_t payload[];
};

static volatile sig_atomic_t reset_gap;
static char beatfile[4096], gapfile[4096];
static struct obj *lists[1024];

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void on_usr1(int sig)
{
    (void)sig;
    reset_gap = 1;
}

static void *heartbeat(void *arg)
{
    (void)arg;
    int fd = open(beatfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int gfd = open(gapfile, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (fd < 0 || gfd < 0)
        return NULL;
    uint64_t beats = 0, maxgap = 0, last = now_us();
    for (;;) {
        struct timespec d = {0, 1000000};
        nanosleep(&d, NULL);
        uint64_t t = now_us();
        if (reset_gap) {
            reset_gap = 0;
            maxgap = 0;
        } else if (t - last > maxgap) {
            maxgap = t - last;
        }
        if (t - last > 2000) {
            char g[64];
            int gn = snprintf(g, sizeof g, "gap %llu %llu\n", (unsigned long long)last, (unsigned long long)t);
            if (write(gfd, g, (size_t)gn) < 0)
                break;
        }
        last = t;
        beats++;
        char line[96];
        int n = snprintf(line, sizeof line, "beats %llu maxgap_us %llu\n", (unsigned long long)beats,
                         (unsigned long long)maxgap);
        /* Pad to a fixed width so a reader never sees a stale tail. */
        memset(line + n - 1, ' ', sizeof line - (size_t)n);
        line[sizeof line - 1] = '\n';
        if (pwrite(fd, line, sizeof line, 0) < 0)
            break;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s REPORT [MIB [random]]\n", argv[0]);
        return 2;
    }
    uint64_t want = (argc > 2 ? strtoull(argv[2], NULL, 10) : 64) << 20;
    int random = argc > 3 && strcmp(argv[3], "random") == 0;
    uint64_t total = 0, x = 88172645463325252ull;
    uint32_t id = 0;
    while (total < want) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint32_t size = 32 + (uint32_t)(x % 225);
        struct obj *o = malloc(size);
        if (!o)
            return 1;
        o->size = size;
        o->id = id++;
        size_t plen = size - sizeof *o;
        for (size_t i = 0; i < plen; i++) {
            if (random) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                o->payload[i] = (uint8_t)x;
            } else {
                o->payload[i] = i < 8 ? (uint8_t)(id >> (i * 4)) : (uint8_t)"the quick brown fox "[i % 20];
            }
        }
        struct obj **l = &lists[id % 1024];
        o->next = *l;
        *l = o;
        total += size;
    }
    snprintf(beatfile, sizeof beatfile, "%s.beat", argv[1]);
    snprintf(gapfile, sizeof gapfile, "%s.gaps", argv[1]);
    signal(SIGUSR1, on_usr1);
    pthread_t t;
    if (pthread_create(&t, NULL, heartbeat, NULL) != 0)
        return 1;
    FILE *f = fopen(argv[1], "w");
    if (!f)
        return 1;
    fprintf(f, "pid %d\nheap_bytes %llu\nbeatfile %s\nready\n", (int)getpid(), (unsigned long long)total,
            beatfile);
    fclose(f);
    for (;;)
        pause();
}
