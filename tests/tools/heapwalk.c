/*
 * heapwalk.c — the allocator walkers (analyze/heap/) on their own, without
 * the indexer: a debugging aid, and the driver of the walker's robustness
 * test (tests/t3110-glibc-mutate.sh).
 *
 *   heapwalk [--no-separate-debug] SNAPSHOT.hsnap
 *       print what the walker reports, one line each:
 *         object ADDR SIZE CHUNK CHUNK_SIZE used|free WHERE ARENA
 *         region START END KIND ARENA
 *         fact KEY VALUE
 *         problem ADDR MESSAGE
 *
 *   heapwalk --mutate ROUNDS [--seed N] [--no-separate-debug] SNAPSHOT.hsnap
 *       walk the snapshot once, then ROUNDS times again, each time with a
 *       few words of the heap overwritten at random — chunk sizes, list
 *       links, arena fields, plain data — the way a buggy program or a
 *       hostile file would.  Each round's snapshot is written anew with the
 *       writer library and read back from memory, so the walker sees it
 *       exactly as it would a file.  A round that takes longer than 20 s
 *       is a hang and kills the tool; a sanitizer report fails it.  Prints
 *       "rounds N objects N problems N" at the end.
 *
 * Exit: 0, 1 if the snapshot cannot be read, 2 for a bad command line.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "heap/allocator.h"
#include "hsnap.h"
#include "mutated.h"

/* What a walk reported; in --mutate mode, only counted. */
struct tally {
    int print;        /* print every report */
    int collect;      /* keep chunk addresses and regions (the clean walk) */
    const struct allocator *walking; /* whose wheres the objects' are */
    uint64_t objects, problems;
    uint64_t *chunks; /* chunk header addresses of the clean walk */
    size_t nchunks, capchunks;
    uint64_t *regions; /* start, end pairs */
    size_t nregions, capregions;
};

static void push(uint64_t **v, size_t *n, size_t *cap, uint64_t x)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 1024;
        uint64_t *p = realloc(*v, c * sizeof *p);
        if (!p)
            abort();
        *v = p;
        *cap = c;
    }
    (*v)[(*n)++] = x;
}

static void on_object(struct heap_ctx *c, const struct heap_object *o)
{
    struct tally *t = c->user;
    t->objects++;
    if (t->print)
        printf("object 0x%llx %llu 0x%llx %llu %s %s %u\n", (unsigned long long)o->addr,
               (unsigned long long)o->size, (unsigned long long)o->chunk,
               (unsigned long long)o->chunk_size, o->state == OBJ_USED ? "used" : "free",
               t->walking && o->where < t->walking->nwheres ? t->walking->wheres[o->where].name : "?", o->arena);
    if (t->collect)
        push(&t->chunks, &t->nchunks, &t->capchunks, o->chunk);
}

static void on_region(struct heap_ctx *c, const struct heap_region *r)
{
    struct tally *t = c->user;
    if (t->print)
        printf("region 0x%llx 0x%llx %s %u\n", (unsigned long long)r->start,
               (unsigned long long)r->end, r->kind, r->arena);
    if (t->collect) {
        push(&t->regions, &t->nregions, &t->capregions, r->start);
        push(&t->regions, &t->nregions, &t->capregions, r->end);
    }
}

static void on_fact(struct heap_ctx *c, const char *key, const char *value)
{
    struct tally *t = c->user;
    if (t->print)
        printf("fact %s %s\n", key, value);
}

static void on_problem(struct heap_ctx *c, uint64_t addr, const char *fmt, ...)
{
    struct tally *t = c->user;
    t->problems++;
    if (!t->print)
        return;
    va_list ap;
    va_start(ap, fmt);
    printf("problem 0x%llx ", (unsigned long long)addr);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

/* Run the first allocator that recognises the snapshot. */
static void walk(const struct hs_snapshot *s, struct dbg *d, struct tally *t)
{
    struct heap_ctx c = {.snap = s, .dbg = d, .user = t, .object = on_object,
                         .region = on_region, .fact = on_fact, .problem = on_problem};
    for (size_t i = 0; allocators[i]; i++)
        if (allocators[i]->detect(&c)) {
            t->walking = allocators[i];
            if (allocators[i]->walk(&c) && t->print)
                printf("walk failed (%s)\n", allocators[i]->name);
            return;
        }
    if (t->print)
        printf("no allocator recognised\n");
}

/* ------------------------------------------------------------ mutation */

static uint64_t rng_state;
static uint64_t rnd(void) /* xorshift64*: reproducible from --seed */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

/* A value a corruption might leave: zero, a small size, another chunk's
 * address (or its user pointer), one flipped bit, a fill pattern, noise. */
static uint64_t bad_value(const struct hs_snapshot *s, const struct tally *t, uint64_t addr)
{
    uint64_t old = 0;
    hs_read_u64(s, addr, &old);
    switch (rnd() % 6) {
    case 0: return 0;
    case 1: return rnd() % 4096;
    case 2: return t->nchunks ? t->chunks[rnd() % t->nchunks] + 16 * (rnd() % 2) : 0;
    case 3: return old ^ (1ull << (rnd() % 64));
    case 4: return 0x4141414141414141ull;
    default: return rnd();
    }
}

static int mutate(const struct hs_snapshot *s, struct dbg *d, unsigned rounds)
{
    struct tally clean = {.collect = 1};
    walk(s, d, &clean);
    if (!clean.nregions) {
        fprintf(stderr, "heapwalk: the clean walk found no heap to mutate\n");
        free(clean.chunks);
        return 1;
    }
    uint64_t objects = 0, problems = 0;
    for (unsigned round = 0; round < rounds; round++) {
        struct mutation m[16];
        size_t nm = 1 + rnd() % 8;
        for (size_t k = 0; k < nm; k++) {
            uint64_t a;
            if (rnd() % 2 && clean.nchunks) { /* a chunk's size, fd or bk */
                a = clean.chunks[rnd() % clean.nchunks] + 8 * (1 + rnd() % 3);
            } else { /* anywhere in a region the walker claimed */
                size_t ri = 2 * (rnd() % (clean.nregions / 2));
                uint64_t lo = clean.regions[ri], hi = clean.regions[ri + 1];
                a = (lo + rnd() % (hi - lo)) & ~7ull;
            }
            m[k] = (struct mutation){a, bad_value(s, &clean, a)};
        }
        char name[64];
        snprintf(name, sizeof name, "mutated round %u", round);
        struct hs_snapshot *ms = mutated_snapshot(s, m, nm, MUTATE_ABSENT_ANON, "heapwalk", name);
        if (!ms) {
            fprintf(stderr, "heapwalk: round %u: could not rewrite the snapshot\n", round);
            free(clean.chunks);
            free(clean.regions);
            return 1;
        }
        struct tally t = {0};
        alarm(20); /* a round that hangs is a failure */
        walk(ms, d, &t);
        alarm(0);
        objects += t.objects;
        problems += t.problems;
        hs_close(ms);
    }
    printf("rounds %u objects %llu problems %llu\n", rounds, (unsigned long long)objects,
           (unsigned long long)problems);
    free(clean.chunks);
    free(clean.regions);
    return 0;
}

int main(int argc, char **argv)
{
    struct dbg_options opt = {0};
    const char *path = NULL;
    long rounds = -1;
    rng_state = 0x9E3779B97F4A7C15ull;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--no-separate-debug"))
            opt.no_separate_debug = 1;
        else if (!strcmp(argv[i], "--mutate") && i + 1 < argc)
            rounds = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            rng_state ^= strtoull(argv[++i], NULL, 0) * 0xBF58476D1CE4E5B9ull;
        else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "usage: heapwalk [--no-separate-debug] [--mutate ROUNDS [--seed N]] "
                            "SNAPSHOT\n");
            return 2;
        } else
            path = argv[i];
    }
    if (!path || rng_state == 0) {
        fprintf(stderr, "heapwalk: which snapshot?\n");
        return 2;
    }
    struct hs_error err;
    struct hs_snapshot *s = hs_open(path, 0, &err);
    if (!s) {
        fprintf(stderr, "heapwalk: %s\n", err.msg);
        return 1;
    }
    struct dbg *d = dbg_open(s, &opt);
    int rc = 0;
    if (rounds >= 0) {
        rc = mutate(s, d, (unsigned)rounds);
    } else {
        struct tally t = {.print = 1};
        walk(s, d, &t);
    }
    dbg_close(d);
    hs_close(s);
    return rc;
}
