/*
 * glibc_heap.c — a process whose glibc heap holds every case the glibc
 * walker (analyze/heap/glibc.c) must tell apart, and which writes down the
 * truth about it for tests/t3100-glibc-heap.sh to compare with.
 *
 *   glibc_heap REPORT [corrupt|grow]
 *
 * The heap it builds: live blocks of many sizes in the main arena; three
 * threads that each allocate in their own arena, free some, and then stay
 * alive, blocked, so their arenas and tcaches stay as they are; mmapped
 * blocks (1 MiB and 4 MiB, over M_MMAP_THRESHOLD, and one memalign'd);
 * a memalign'd block in the heap; frees that land in
 * tcache (5 of one size), in a fastbin (tcache filled with 7, then 3 more),
 * in small and large bins (freed, then sorted out of the unsorted bin by a
 * bigger malloc), and in the unsorted bin (the last free, left unsorted);
 * realloc'd blocks, grown and shrunk; and a list and a tree of structs
 * linked from globals.
 *
 * REPORT gets, in this order:
 *   pid N
 *   live 0xADDR REQUESTED USABLE     every live block (USABLE from malloc_usable_size)
 *   freed 0xADDR                     every block freed and not handed out again
 *   link 0xSRC OFFSET 0xDST          each pointer stored in a heap struct
 *   mallinfo uordblks N hblkhd N fordblks N arena N    (mallinfo2(), after the last malloc)
 *   corrupt-size 0xADDR / corrupt-tcache 0xADDR / corrupt-fastbin 0xADDR   (with 'corrupt')
 *   ready
 * and then the process blocks until killed.
 *
 * Nothing may allocate between mallinfo2() and the capture, or the figures
 * would be stale; stdio allocates its buffers, so the report is formatted
 * with snprintf into a static buffer and written with write(2).
 *
 * With 'grow', a fourth thread fills its arena past one 64 MiB heap.
 *
 * With 'corrupt', after mallinfo2() the process damages its own heap, the
 * way bugs do: one live block's chunk size is overwritten, and one tcache
 * bin's and one fastbin's last entry are made to point back at the first
 * (the pointers safe-linked as glibc stores them, so the lists cycle).
 */
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* a line for every block the threads allocated and freed: more than 64 KiB */
#define REPORT_BUF_SIZE (4 << 20)
#include "report.h"

/* ------------------------------------------------------------ the record */

enum rstate { R_LIVE, R_FREED, R_GONE };

struct rec {
    void *p;
    size_t req;
    enum rstate state;
};

static struct rec recs[32768];
static size_t nrecs;
static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;

struct linkrec {
    void *src;
    size_t off;
    void *dst;
};
static struct linkrec links[256];
static size_t nlinks;

/* Remember a new block.  An address handed out again stops being "freed". */
static void remember(void *p, size_t n)
{
    pthread_mutex_lock(&rec_lock);
    for (size_t i = 0; i < nrecs; i++)
        if (recs[i].p == p && recs[i].state == R_FREED)
            recs[i].state = R_GONE;
    if (nrecs < sizeof recs / sizeof recs[0])
        recs[nrecs++] = (struct rec){p, n, R_LIVE};
    else
        abort(); /* a report that silently lost blocks would be no ground truth */
    pthread_mutex_unlock(&rec_lock);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        abort();
    memset(p, 0xA5, n); /* resident, and no stray chunk-like words inside */
    remember(p, n);
    return p;
}

static void *xmemalign(size_t align, size_t n)
{
    void *p;
    if (posix_memalign(&p, align, n))
        abort();
    memset(p, 0xA5, n);
    remember(p, n);
    return p;
}

static struct rec *find_rec(void *p)
{
    for (size_t i = nrecs; i-- > 0;)
        if (recs[i].p == p && recs[i].state == R_LIVE)
            return &recs[i];
    return NULL;
}

static void xfree(void *p)
{
    pthread_mutex_lock(&rec_lock);
    struct rec *r = find_rec(p);
    if (r)
        r->state = R_FREED;
    pthread_mutex_unlock(&rec_lock);
    free(p);
}

static void *xrealloc(void *p, size_t n)
{
    /* Look p up before realloc: afterwards it may not be used at all. */
    pthread_mutex_lock(&rec_lock);
    struct rec *r = find_rec(p);
    pthread_mutex_unlock(&rec_lock);
    volatile uintptr_t old = (uintptr_t)p; /* volatile: GCC takes the cast for a use */
    void *q = realloc(p, n);
    if (!q)
        abort();
    pthread_mutex_lock(&rec_lock);
    if (r)
        r->state = (uintptr_t)q == old ? R_GONE : R_FREED;
    pthread_mutex_unlock(&rec_lock);
    remember(q, n);
    return q;
}

static void note_link(void *src, size_t off, void *dst)
{
    if (dst && nlinks < sizeof links / sizeof links[0])
        links[nlinks++] = (struct linkrec){src, off, dst};
}

/* ------------------------------------------------------------ structs */

struct node {
    struct node *next;
    char pad[40];
};

struct tree {
    struct tree *left, *right;
    int value;
};

struct node *list_head;
struct tree *tree_root;

static struct tree *build_tree(int depth, int *value)
{
    if (depth == 0)
        return NULL;
    struct tree *t = xmalloc(sizeof *t);
    t->left = build_tree(depth - 1, value);
    t->value = (*value)++;
    t->right = build_tree(depth - 1, value);
    note_link(t, offsetof(struct tree, left), t->left);
    note_link(t, offsetof(struct tree, right), t->right);
    return t;
}

/* ------------------------------------------------------------ threads */

static sem_t thread_done;

/* Each thread gets an arena of its own (there are fewer threads than the
 * arena limit), fills it, frees some into its own tcache and bins, and
 * then waits forever so that none of it is given back. */
static void *thread_main(void *arg)
{
    int id = (int)(intptr_t)arg;
    void *keep[40];
    for (int i = 0; i < 40; i++)
        keep[i] = xmalloc((size_t)(16 + 24 * i + id));
    for (int i = 0; i < 40; i += 4)
        xfree(keep[i]); /* tcache of this thread (small sizes, < 7 each) */
    void *big[3];
    for (int i = 0; i < 3; i++) {
        big[i] = xmalloc(2000 + 100 * (size_t)i);
        xmalloc(32); /* a guard, so the frees below do not coalesce */
    }
    xfree(big[0]);
    xfree(big[2]); /* unsorted bin of this arena */
    if (id == 1)
        xmalloc(1 << 20); /* an mmapped block from a thread */
    sem_post(&thread_done);
    for (;;)
        pause();
    return NULL;
}

/* With 'grow': an arena that outgrows its first 64 MiB heap, so that it
 * has two, chained by heap_info.prev, the older one ending in a fencepost.
 * Only the first bytes of each block are written: the rest stays zero
 * pages, which keeps the capture small. */
static void *grow_main(void *arg)
{
    (void)arg;
    enum { N = 20000 };
    static void *blocks[N];
    for (int i = 0; i < N; i++) {
        size_t n = 4000 + (size_t)(i % 7) * 16;
        if (!(blocks[i] = malloc(n)))
            abort();
        memset(blocks[i], 0xA5, 64);
        remember(blocks[i], n);
    }
    for (int i = 0; i < N; i += 3)
        xfree(blocks[i]);
    sem_post(&thread_done);
    for (;;)
        pause();
    return NULL;
}

/* ------------------------------------------------------------ the report */

int main(int argc, char **argv)
{
    if (argc < 2) {
        static const char usage[] = "usage: glibc_heap REPORT [corrupt|grow]\n";
        if (write(2, usage, sizeof usage - 1) < 0)
            return 2;
        return 2;
    }
    int corrupt = argc > 2 && !strcmp(argv[2], "corrupt");
    int grow = argc > 2 && !strcmp(argv[2], "grow");
    sem_init(&thread_done, 0, 0);

    /* Threads first, each with its own arena; wait until they are done.
     * First, because pthread_create itself allocates (the new thread's
     * DTV): after a free, such a hidden malloc could take a freed address
     * and this report would call it "freed" while it is in use. */
    pthread_t th[4];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, thread_main, (void *)(intptr_t)(i + 1));
    if (grow)
        pthread_create(&th[3], NULL, grow_main, NULL);
    for (int i = 0; i < 3 + grow; i++)
        sem_wait(&thread_done);

    /* Live blocks of many sizes. */
    static const size_t sizes[] = {1, 8, 24, 25, 100, 500, 1000, 1032, 4000, 20000, 100000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        xmalloc(sizes[i]);

    /* Mmapped blocks; one memalign'd, whose chunk starts past the front
     * of its mapping. */
    xmalloc(1 << 20);
    xmalloc(4 << 20);
    xmemalign(65536, 300000);
    /* memalign in the heap: the slack in front becomes a free chunk. */
    xmemalign(256, 1000);
    xmalloc(24);

    /* Small and large bins: free chunks separated by guards, then a malloc
     * that no free chunk fits exactly, which sorts the unsorted bin. */
    void *small[9], *large[5];
    for (int i = 0; i < 9; i++) {
        small[i] = xmalloc(200);
        xmalloc(24);
    }
    static const size_t lsz[5] = {1100, 1600, 2600, 3600, 6000};
    for (int i = 0; i < 5; i++) {
        large[i] = xmalloc(lsz[i]);
        xmalloc(24);
    }
    for (int i = 0; i < 9; i++)
        xfree(small[i]); /* 7 to tcache, 2 to the unsorted bin */
    for (int i = 0; i < 5; i++)
        xfree(large[i]); /* too big for tcache: unsorted */
    xmalloc(8000);        /* sorts them into small and large bins */
    /* Later small mallocs are carved out of the smallest of these (1100),
     * so that the others stay in their large bins. */

    /* Realloc: one grown (moves), one shrunk (stays, remainder freed). */
    void *g = xmalloc(100);
    xmalloc(24);
    g = xrealloc(g, 5000);
    void *s = xmalloc(3000);
    xmalloc(24);
    s = xrealloc(s, 200);
    (void)g;
    (void)s;

    /* Linked structs from globals. */
    struct node **pp = &list_head;
    struct node *prev = NULL;
    for (int i = 0; i < 6; i++) {
        struct node *n = xmalloc(sizeof *n);
        n->next = NULL;
        *pp = n;
        if (prev)
            note_link(prev, offsetof(struct node, next), n);
        prev = n;
        pp = &n->next;
    }
    int value = 0;
    tree_root = build_tree(3, &value);

    /* tcache: 5 frees of one size. */
    void *tc[5];
    for (int i = 0; i < 5; i++)
        tc[i] = xmalloc(40);
    /* Fastbin: fill the tcache bin for 64-byte chunks (7), then 3 more. */
    void *fb[10];
    for (int i = 0; i < 10; i++)
        fb[i] = xmalloc(56);
    /* Unsorted: a big block, guarded, freed last of all. */
    void *uns = xmalloc(1500);
    xmalloc(24);
    void *keepalive = xmalloc(24); /* a final live block, after everything */
    (void)keepalive;
    for (int i = 0; i < 5; i++)
        xfree(tc[i]);
    for (int i = 0; i < 10; i++)
        xfree(fb[i]); /* fb[0..6] to tcache, fb[7..9] to the fastbin */
    xfree(uns);

    /* No malloc from here on: the figures below are what a capture sees. */
    struct mallinfo2 mi = mallinfo2();

    report_line("pid %d\n", (int)getpid());
    for (size_t i = 0; i < nrecs; i++) {
        if (recs[i].state == R_LIVE)
            report_line("live %p %zu %zu\n", recs[i].p, recs[i].req, malloc_usable_size(recs[i].p));
        else if (recs[i].state == R_FREED)
            report_line("freed %p\n", recs[i].p);
    }
    for (size_t i = 0; i < nlinks; i++)
        report_line("link %p %zu %p\n", links[i].src, links[i].off, links[i].dst);
    report_line("mallinfo uordblks %zu hblkhd %zu fordblks %zu arena %zu\n", mi.uordblks, mi.hblkhd,
        mi.fordblks, mi.arena);

    if (corrupt) {
        /* A live block in the middle of the main heap: its size word. */
        unsigned char *victim = (unsigned char *)list_head->next->next;
        uint64_t bad = 0x4141414141414141ull;
        memcpy(victim - 8, &bad, sizeof bad);
        report_line("corrupt-size %p\n", (void *)victim);
        /* tcache bin of tc[]: head tc[4] -> ... -> tc[0]; make tc[0] point
         * at tc[4].  The link is stored at the user address, safe-linked. */
        uintptr_t pos = (uintptr_t)tc[0];
        uintptr_t link = (pos >> 12) ^ (uintptr_t)tc[4];
        memcpy(tc[0], &link, sizeof link);
        report_line("corrupt-tcache %p\n", tc[0]);
        /* Fastbin: head fb[9] -> fb[8] -> fb[7]; links hold chunk addresses,
         * stored at chunk + 16 = the user address. */
        pos = (uintptr_t)fb[7];
        link = (pos >> 12) ^ ((uintptr_t)fb[9] - 16);
        memcpy(fb[7], &link, sizeof link);
        report_line("corrupt-fastbin %p\n", fb[7]);
    }
    report_line("ready\n");

    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return 1;
    if (report_flush(fd))
        return 1;
    close(fd);
    for (;;)
        pause();
}
