/*
 * cache_grow.c — a process whose global cache grows by a known set of
 * objects between snapshots, the ground truth for tests/t6200-diff.sh.
 *
 *   cache_grow REPORT [K [J]]
 *
 * g_cache_table is a global pointer to an open-addressing hash table (an
 * array of NSLOTS pointers, allocated once) of 40-byte entries; g_temp is a
 * global list of 40-byte temporaries.  At start NINIT entries are cached.
 * Each SIGUSR1 runs the next round:
 *
 *   round 1: churn (allocate and free NCHURN blocks), cache K new entries,
 *            put NTEMP temporaries on g_temp, drop J of the initial entries;
 *   round 2: cache K more entries, then free every temporary.
 *
 * So from a snapshot before round 1 (A), one after (B) and one after round
 * 2 (C): B has K + NTEMP new objects and J deleted; the K are held by the
 * table (an object A already had), the temporaries by g_temp; and the
 * objects new in B and still alive in C are exactly round 1's K entries.
 * The order inside each round keeps addresses honest: new entries are
 * allocated before anything is freed in that round, so they never land at
 * an address the previous snapshot had in use with the same size.
 *
 * REPORT lines:
 *   pid N, table 0xADDR SIZE, ready              at start
 *   added 0xADDR SIZE, temp 0xADDR SIZE,
 *   removed 0xADDR SIZE, ready2                  after round 1
 *   added2 0xADDR SIZE, freed_temp 0xADDR, ready3  after round 2
 * Rounds run in a frame that dies and is scrubbed, so no stale stack word
 * makes a second owner of an entry.  (main_arena's pointers to free chunk
 * headers, which land in the block before each free chunk, are no owner:
 * the indexer never scans main_arena, see tests/t3120-glibc-internal.sh.)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REPORT_BUF_SIZE (1 << 17)
#include "report.h"
#include "scrub.h"

#define NSLOTS 4096
#define NINIT  300
#define NCHURN 50
#define NTEMP  20

struct entry {
    uint64_t key;
    char value[32];
};

struct temp {
    struct temp *next;
    char pad[32];
};

struct entry **g_cache_table;
struct temp *g_temp;
static uint64_t next_key = 1;
static int report_fd;

/* Each round's lines reach the file before the test reads them. */
static void flush(void)
{
    if (report_flush(report_fd))
        exit(1);
}

static struct entry *cache_add(void)
{
    struct entry *e = calloc(1, sizeof *e);
    if (!e)
        exit(1);
    e->key = next_key++;
    snprintf(e->value, sizeof e->value, "value-%llu", (unsigned long long)e->key);
    size_t h = (size_t)(e->key * 2654435761u) % NSLOTS;
    while (g_cache_table[h])
        h = (h + 1) % NSLOTS;
    g_cache_table[h] = e;
    return e;
}

__attribute__((noinline)) static void round1(int k, int j)
{
    void *churn[NCHURN];
    for (int i = 0; i < NCHURN; i++)
        churn[i] = malloc(40);
    for (int i = 0; i < NCHURN; i++)
        free(churn[i]);
    explicit_bzero(churn, sizeof churn);
    for (int i = 0; i < k; i++) {
        struct entry *e = cache_add();
        report_line("added %p %zu\n", (void *)e, malloc_usable_size(e));
    }
    for (int i = 0; i < NTEMP; i++) {
        struct temp *t = calloc(1, sizeof *t);
        t->next = g_temp;
        g_temp = t;
        report_line("temp %p %zu\n", (void *)t, malloc_usable_size(t));
    }
    /* drop j of the initial entries (keys 1..NINIT) */
    int dropped = 0;
    for (size_t h = 0; h < NSLOTS && dropped < j; h++) {
        struct entry *e = g_cache_table[h];
        if (e && e->key <= NINIT) {
            report_line("removed %p %zu\n", (void *)e, malloc_usable_size(e));
            /* a tombstone keeps the probe chains; no pointer stays behind */
            g_cache_table[h] = (struct entry *)(uintptr_t)1;
            free(e);
            dropped++;
        }
    }
    report_line("ready2\n");
}

__attribute__((noinline)) static void round2(int k)
{
    for (int i = 0; i < k; i++) {
        struct entry *e = cache_add();
        report_line("added2 %p %zu\n", (void *)e, malloc_usable_size(e));
    }
    while (g_temp) {
        struct temp *t = g_temp;
        g_temp = t->next;
        report_line("freed_temp %p\n", (void *)t);
        free(t);
    }
    report_line("ready3\n");
}

__attribute__((noinline)) static void setup(void)
{
    g_cache_table = calloc(NSLOTS, sizeof *g_cache_table);
    if (!g_cache_table)
        exit(1);
    for (int i = 0; i < NINIT; i++)
        cache_add();
    report_line("pid %d\n", (int)getpid());
    report_line("table %p %zu\n", (void *)g_cache_table, malloc_usable_size(g_cache_table));
    report_line("ready\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: cache_grow REPORT [K [J]]\n");
        return 2;
    }
    int k = argc > 2 ? atoi(argv[2]) : 100, j = argc > 3 ? atoi(argv[3]) : 30;
    if (k < 0 || j < 0 || j > NINIT || NINIT + 2 * k >= NSLOTS) {
        fprintf(stderr, "cache_grow: K must be 0..%d and J 0..%d\n", (NSLOTS - NINIT) / 2 - 1, NINIT);
        return 2;
    }
    if ((report_fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
        perror(argv[1]);
        return 1;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    setup();
    scrub();
    flush();
    for (int round = 1;; round++) {
        int sig;
        if (sigwait(&set, &sig) != 0)
            return 1;
        if (round == 1)
            round1(k, j);
        else if (round == 2)
            round2(k);
        else
            report_line("ready%d\n", round + 1);
        scrub();
        flush();
    }
}
