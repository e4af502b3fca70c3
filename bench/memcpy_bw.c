/*
 * memcpy_bw.c — the physical limit bench/capture compares heapsnap-capture
 * with: how fast this machine copies memory, single-threaded and with one
 * thread per CPU (heapsnap-capture copies with one thread per CPU while the
 * target is stopped).  Both buffers are pre-faulted, as heapsnap-capture's
 * buffer is, so only the copy is timed.
 *
 *   memcpy_bw [MIB]
 *
 * Prints "memcpy_1thread_GBps X" and "memcpy_allcpus_GBps Y" (best of 5;
 * GB = 1e9 bytes).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct part {
    char *dst;
    const char *src;
    size_t len;
};

static void *copy_part(void *arg)
{
    struct part *p = arg;
    memcpy(p->dst, p->src, p->len);
    return NULL;
}

static double run(char *dst, const char *src, size_t len, int nthreads)
{
    pthread_t th[64];
    struct part parts[64];
    size_t share = len / (size_t)nthreads;
    double t0 = now();
    for (int i = 0; i < nthreads; i++) {
        parts[i] = (struct part){dst + i * share, src + i * share, share};
        if (i > 0)
            pthread_create(&th[i], NULL, copy_part, &parts[i]);
    }
    copy_part(&parts[0]);
    for (int i = 1; i < nthreads; i++)
        pthread_join(th[i], NULL);
    return (double)(share * (size_t)nthreads) / (now() - t0) / 1e9;
}

int main(int argc, char **argv)
{
    size_t len = (size_t)(argc > 1 ? atol(argv[1]) : 512) << 20;
    char *src = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    char *dst = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (src == MAP_FAILED || dst == MAP_FAILED)
        return 1;
    memset(src, 0x5a, len);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 1)
        ncpu = 1;
    if (ncpu > 64)
        ncpu = 64;
    double best1 = 0, bestn = 0;
    for (int r = 0; r < 5; r++) {
        double a = run(dst, src, len, 1), b = run(dst, src, len, (int)ncpu);
        best1 = a > best1 ? a : best1;
        bestn = b > bestn ? b : bestn;
    }
    printf("memcpy_1thread_GBps %.2f\nmemcpy_allcpus_GBps %.2f\n", best1, bestn);
    return 0;
}
