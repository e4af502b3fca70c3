/*
 * binned_leak.c — leaked blocks that each lie just before a free chunk
 * malloc keeps in a list (a fastbin, a small bin, the unsorted bin) or
 * before the top chunk: the ground truth for tests/t3120-glibc-internal.sh.
 *
 *   binned_leak REPORT
 *
 * Why that placement matters: glibc's arena (main_arena, in libc's .data)
 * points at free chunk *headers*, and a header's first word is the last
 * usable word of the block before it.  A conservative scan of libc's data
 * would read each such pointer as an interior reference into the leaked
 * block and call it reachable.  So every leak here has such a neighbour,
 * and the indexer must not be fooled.
 *
 * Main arena, from the main thread (sizes are requests):
 *   fastbin   leak 40, free 40 (the fastbin's head); a kept 40 before a
 *             second free 40 deeper in the same fastbin
 *   small bin leak 200, free 200, kept separator; kept 200, free 200,
 *             kept separator — both frees sorted into the small bin by
 *             the top case's malloc(300), which the unsorted bin cannot serve
 *   unsorted  leak 100, free 1200, kept separator; kept 100, free 1200,
 *             kept separator (1216-byte chunks are past the tcache's
 *             largest size, so free() puts them in the unsorted bin, and
 *             nothing allocates afterwards to sort them)
 *   top       leak 300, the last block taken from the top chunk
 * A second thread, in its own arena: a fastbin leak and a top leak the
 * same way (that arena's malloc_state lies inside its heap, not in libc).
 *
 * The tcache holds 7 chunks per size and would take these frees first, so
 * for each tcache-sized size 7 other blocks of it are freed before the
 * ones that matter.  Everything but the top leak is allocated before
 * anything is freed, so the pairs are adjacent; the separators keep free
 * chunks from merging with their neighbours.  Kept blocks are held by the global g_keep.
 *
 * REPORT lines (SIZE is malloc_usable_size):
 *   pid N
 *   leak 0xADDR SIZE KIND 0xNEXT   a leaked block; KIND (fastbin, smallbin,
 *                                  unsorted, top) is the list holding the
 *                                  free chunk whose user address is NEXT
 *   reachable 0xADDR SIZE          a block held by g_keep
 *   tcache 0xADDR                  each thread's tcache_perthread_struct
 *                                  (found as below; absent if not found)
 *   ready
 *
 * The tcache structure is the first chunk malloc carves for a thread (in
 * the main arena: at the start of the brk heap; in a new arena: just
 * before the thread's first block).  A candidate counts only if its usable
 * size is that of the 640-byte structure and it holds the address of the
 * block this thread last freed into the tcache, as its entries must.
 *
 * As in leaky.c: leaks are made in noinline functions whose frames die and
 * are scrubbed, with the scratch registers zeroed; the report is formatted
 * into a static buffer (stdio would malloc) and written with write(2), by
 * report.h, under a lock since the worker thread reports too.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REPORT_BUF_SIZE (1 << 14)
#include "report.h"
#include "scrub.h"

#define TCACHE_FILL 7       /* glibc's default tcache_count */
#define TCACHE_STRUCT 640   /* sizeof(tcache_perthread_struct), 64 bins */
#define TCACHE_CHUNK 656    /* its chunk: request2size(640) */

void *g_keep[16];
static int nkeep;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

/* report_line() under out_lock: main and the worker both report */
#define line(...)                                                                                              \
    do {                                                                                                       \
        pthread_mutex_lock(&out_lock);                                                                         \
        report_line(__VA_ARGS__);                                                                              \
        pthread_mutex_unlock(&out_lock);                                                                       \
    } while (0)

static void *get(size_t n)
{
    void *p = malloc(n);
    if (!p)
        exit(1);
    memset(p, 0x5a, n); /* no stale pointers inside */
    return p;
}

static void *keep(size_t n)
{
    void *p = get(n);
    g_keep[nkeep++] = p;
    line("reachable %p %zu\n", p, malloc_usable_size(p));
    return p;
}

/* next: the free chunk's address, taken before it was freed */
static void leak(void *p, const char *kind, uintptr_t next)
{
    line("leak %p %zu %s 0x%lx\n", p, malloc_usable_size(p), kind, (unsigned long)next);
}

/* Free n blocks of this size into the tcache, filling its bin; returns
 * the last one freed (the bin's head).  Allocated by the caller before
 * any block that matters, so they are not anyone's neighbour. */
static void *fill_tcache(void **v)
{
    for (int i = 0; i < TCACHE_FILL; i++)
        free(v[i]);
    return v[TCACHE_FILL - 1];
}

/* Report tc if it is this thread's tcache: see the header comment. */
static void report_tcache(const void *tc, const void *last_freed)
{
    if (!tc || malloc_usable_size((void *)tc) != TCACHE_CHUNK - 8)
        return;
    const void *const *w = tc;
    for (size_t i = 0; i < TCACHE_STRUCT / sizeof *w; i++)
        if (w[i] == last_freed) {
            line("tcache %p\n", tc);
            return;
        }
}

__attribute__((noinline)) static void main_arena_cases(uintptr_t brk0)
{
    void *f48[TCACHE_FILL], *f208[TCACHE_FILL];
    /* fastbin: the leak precedes the chunk freed last (the head, which the
     * arena points at); the kept block precedes the one further down */
    void *lf = get(40), *ff = get(40);
    keep(40);
    void *ff2 = get(40);
    keep(24);
    /* small bin */
    void *ls = get(200), *fs = get(200);
    keep(24);
    keep(200);
    void *fs2 = get(200);
    keep(24);
    /* unsorted */
    void *lu = get(100), *fu = get(1200);
    keep(24);
    keep(100);
    void *fu2 = get(1200);
    keep(24);
    for (int i = 0; i < TCACHE_FILL; i++) {
        f48[i] = get(40);
        f208[i] = get(200);
    }

    uintptr_t ff_a = (uintptr_t)ff, fs_a = (uintptr_t)fs, fu_a = (uintptr_t)fu;
    void *last = fill_tcache(f48);
    fill_tcache(f208);
    free(ff2);
    free(ff);
    free(fs);
    free(fs2);
    /* top: the last block the top chunk gives.  Asking for 300 bytes also
     * sorts fs and fs2 out of the unsorted bin into their small bin: no
     * tcache, fastbin or bin holds a chunk that big, so malloc walks the
     * unsorted bin, then takes it from top.  A smaller request would be
     * cut from fs instead. */
    void *lt = get(300);
    uintptr_t lt_next = (uintptr_t)lt + malloc_usable_size(lt) + 8;
    free(fu);
    free(fu2);
    /* from here on nothing may allocate: the unsorted bin stays as it is */

    leak(lf, "fastbin", ff_a);
    leak(ls, "smallbin", fs_a);
    leak(lu, "unsorted", fu_a);
    leak(lt, "top", lt_next);
    report_tcache((void *)(((brk0 + 15) & ~(uintptr_t)15) + 16), last);
}

static sem_t done;

__attribute__((noinline)) static void thread_cases(void)
{
    void *f48[TCACHE_FILL];
    void *first = keep(24); /* the first block of this thread's new arena */
    void *lf = get(40), *ff = get(40);
    keep(24);
    for (int i = 0; i < TCACHE_FILL; i++)
        f48[i] = get(40);
    void *lt = get(56);
    uintptr_t lt_next = (uintptr_t)lt + malloc_usable_size(lt) + 8, ff_a = (uintptr_t)ff;
    void *last = fill_tcache(f48);
    free(ff);
    leak(lf, "fastbin", ff_a);
    leak(lt, "top", lt_next);
    report_tcache((char *)first - TCACHE_CHUNK, last);
}

static void *worker(void *arg)
{
    (void)arg;
    thread_cases();
    scrub();
    sem_post(&done);
    for (;;)
        pause();
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: binned_leak REPORT\n");
        return 2;
    }
    uintptr_t brk0 = (uintptr_t)sbrk(0); /* before the first malloc: the tcache goes here */
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    line("pid %d\n", (int)getpid());
    sem_init(&done, 0, 0);
    pthread_t th;
    if (pthread_create(&th, NULL, worker, NULL))
        return 1;
    sem_wait(&done);
    main_arena_cases(brk0);
    line("ready\n");
    scrub();
    if (report_flush(fd))
        return 1;
    for (;;)
        pause();
}
