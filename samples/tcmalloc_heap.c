/*
 * tcmalloc_heap.c — a process whose malloc is Debian's tcmalloc (gperftools
 * 2.10, libtcmalloc_minimal.so.4), which writes down the truth about its
 * heap in tcmalloc's own terms.
 *
 *   tcmalloc_heap REPORT
 *
 * It allocates 4000 small blocks (8..3000 bytes: spans of many size
 * classes) and 40 large ones (20 KiB..1 MiB: spans of their own), frees
 * every third, frees 300 blocks of 64 bytes at once (the thread cache
 * overflows into the transfer cache), and has a second thread do the same
 * on a smaller scale and then wait (so that two thread caches hold freed
 * blocks).  It reports:
 *   pid N
 *   live 0xADDR REQUESTED USABLE     every live block (USABLE from tc_malloc_size)
 *   freed 0xADDR                     every block freed and not handed out again
 *   stats allocated N heap N thread N central N transfer N pagefree N unmapped N
 *                                    MallocExtension's generic.current_allocated_bytes,
 *                                    generic.heap_size, tcmalloc.thread_cache_free_bytes,
 *                                    central_cache_free_bytes, transfer_cache_free_bytes,
 *                                    pageheap_free_bytes, pageheap_unmapped_bytes
 *   ready
 * and then blocks until killed.  The report is formatted into a static
 * buffer (report.h): nothing allocates between the stats and the capture.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gperftools/malloc_extension_c.h>
#include <gperftools/tcmalloc.h>

#define REPORT_BUF_SIZE (1 << 20)
#include "report.h"

static struct report_block recs[4800];
static size_t nrecs;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int worker_done;

static size_t prop(const char *name)
{
    size_t v = 0;
    if (!MallocExtension_GetNumericProperty(name, &v))
        abort();
    return v;
}

static void allocate(size_t n_small, size_t n_large, size_t salt)
{
    size_t first = nrecs;
    for (size_t i = 0; i < n_small; i++) {
        size_t n = 8 + (i * 131 + salt) % 2993;
        void *p = malloc(n);
        if (!p)
            abort();
        memset(p, 0x6A, n);
        recs[nrecs++] = (struct report_block){p, n, 1};
    }
    for (size_t i = 0; i < n_large; i++) {
        size_t n = (20 << 10) + i * (25 << 10) + salt;
        void *p = malloc(n);
        if (!p)
            abort();
        memset(p, 0x6B, n);
        recs[nrecs++] = (struct report_block){p, n, 1};
    }
    for (size_t i = first; i < nrecs; i += 3) {
        free(recs[i].p);
        recs[i].live = 0;
    }
}

/* The second thread: its own thread cache, kept while it waits forever. */
static void *worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    allocate(300, 4, 77);
    worker_done = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    for (;;)
        pause();
    return NULL;
}

/* Many blocks of one class freed at once: the thread cache overflows, and
 * hands batches of them to the central free list's transfer cache. */
static void burst(void)
{
    size_t first = nrecs;
    for (size_t i = 0; i < 300; i++) {
        void *p = malloc(64);
        if (!p)
            abort();
        recs[nrecs++] = (struct report_block){p, 64, 1};
    }
    for (size_t i = first; i < nrecs; i++) {
        free(recs[i].p);
        recs[i].live = 0;
    }
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    allocate(4000, 40, 0);
    burst();
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL))
        return 1;
    pthread_mutex_lock(&mu);
    while (!worker_done)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);

    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return 1;
    report_line("pid %d\n", (int)getpid());
    report_blocks(recs, nrecs, tc_malloc_size);
    size_t allocated = prop("generic.current_allocated_bytes"), heap = prop("generic.heap_size");
    size_t thread = prop("tcmalloc.thread_cache_free_bytes");
    size_t central = prop("tcmalloc.central_cache_free_bytes");
    size_t transfer = prop("tcmalloc.transfer_cache_free_bytes");
    size_t pagefree = prop("tcmalloc.pageheap_free_bytes");
    size_t unmapped = prop("tcmalloc.pageheap_unmapped_bytes");
    report_line("stats allocated %zu heap %zu thread %zu central %zu transfer %zu pagefree %zu "
                "unmapped %zu\n", allocated, heap, thread, central, transfer, pagefree, unmapped);
    report_line("ready\n");
    if (report_flush(fd))
        return 1;
    close(fd);
    for (;;)
        pause();
}
