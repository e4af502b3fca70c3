/*
 * synthdb.c — writes a synthetic heapsnap database of a given size, for
 * bench/analyze: the analyses (leaks, top, diff) read only the database, so
 * a heap of 10 M objects can be timed without a 10 M-object process.
 *
 *   synthdb OUT.db NOBJECTS [--refs-per-object R] [--seed S] [--variant] [--reach]
 *
 * The shape is heap-like rather than uniform: objects of a few sizes laid
 * out by address; 1000 data roots and a few stacks pointing into them; most
 * objects pointing at R others nearby (structures are local), a quarter of
 * them strung into long linked lists, 40% leaves (strings, buffers: no
 * pointers, owned by the object before them), and 2% that nothing points
 * to (the leaks).  --variant writes the "later snapshot" of the same heap: every
 * 20th object freed and 5% more allocated at higher addresses, for diff.
 * The tables and indexes are the indexer's own (analyze/db/schema.c).
 *
 * --reach also works out, here and by itself (a breadth-first walk of the
 * edges it wrote, from every root), which used objects nothing reaches,
 * and prints "unreachable N BYTES": the ground truth tests/t6000-leaks.sh
 * holds `heapsnap leaks` to on a graph no program made.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"

#define NROOTS 1000
#define NSTACK 4

static uint64_t rng = 88172645463325252ULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void die(sqlite3 *db, const char *what)
{
    fprintf(stderr, "synthdb: %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
    exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "synthdb: %s: %s\n", sql, msg);
        exit(1);
    }
}

static void step(sqlite3 *db, sqlite3_stmt *s, const char *what)
{
    if (sqlite3_step(s) != SQLITE_DONE)
        die(db, what);
    sqlite3_reset(s);
}

/* --reach: the edges as written (src < 0: a root), kept to be walked */
struct edges {
    int64_t *src;
    uint64_t *dst;
    size_t n, cap;
};

static void keep_edge(struct edges *e, int64_t src, uint64_t dst)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 1024;
        e->src = realloc(e->src, e->cap * sizeof *e->src);
        e->dst = realloc(e->dst, e->cap * sizeof *e->dst);
        if (!e->src || !e->dst)
            exit(1);
    }
    e->src[e->n] = src;
    e->dst[e->n++] = dst;
}

/* Print how many used objects (and their bytes) no root reaches. */
static void print_unreachable(const struct edges *e, uint64_t n, const uint8_t *used, const uint64_t *size)
{
    size_t *first = calloc(n + 1, sizeof *first), *adj = malloc((e->n + 1) * sizeof *adj);
    uint64_t *queue = malloc((n + 1) * sizeof *queue);
    uint8_t *seen = calloc(n + 1, 1);
    if (!first || !adj || !queue || !seen)
        exit(1);
    for (size_t k = 0; k < e->n; k++) /* objects' out-edges, as a CSR */
        if (e->src[k] > 0)
            first[e->src[k] - 1 + 1]++;
    for (uint64_t i = 0; i < n; i++)
        first[i + 1] += first[i];
    size_t *fill = calloc(n + 1, sizeof *fill);
    if (!fill)
        exit(1);
    for (size_t k = 0; k < e->n; k++)
        if (e->src[k] > 0) {
            uint64_t s = (uint64_t)e->src[k] - 1;
            adj[first[s] + fill[s]++] = e->dst[k];
        }
    size_t qn = 0;
    for (size_t k = 0; k < e->n; k++)
        if (e->src[k] < 0 && !seen[e->dst[k]])
            seen[e->dst[k]] = 1, queue[qn++] = e->dst[k];
    for (size_t q = 0; q < qn; q++)
        for (size_t j = first[queue[q]]; j < first[queue[q] + 1]; j++)
            if (!seen[adj[j]])
                seen[adj[j]] = 1, queue[qn++] = adj[j];
    uint64_t count = 0, bytes = 0;
    for (uint64_t i = 0; i < n; i++)
        if (used[i] && !seen[i])
            count++, bytes += size[i];
    printf("unreachable %llu %llu\n", (unsigned long long)count, (unsigned long long)bytes);
    free(first);
    free(fill);
    free(adj);
    free(queue);
    free(seen);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: synthdb OUT.db NOBJECTS [--refs-per-object R] [--seed S] [--variant]\n");
        return 2;
    }
    const char *out = argv[1];
    uint64_t n0 = strtoull(argv[2], NULL, 10);
    unsigned per = 5;
    int variant = 0, reach = 0;
    struct edges kept = {0};
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--refs-per-object") && i + 1 < argc)
            per = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            rng ^= strtoull(argv[++i], NULL, 10) * 0x9e3779b97f4a7c15ULL;
        else if (!strcmp(argv[i], "--variant"))
            variant = 1;
        else if (!strcmp(argv[i], "--reach"))
            reach = 1;
    }
    uint64_t n = variant ? n0 + n0 / 20 : n0;
    uint64_t *addr = malloc(n * sizeof *addr), *size = malloc(n * sizeof *size);
    uint8_t *used = malloc(n), *target = malloc(n), *pickable = malloc(n);
    if (!addr || !size || !used || !target || !pickable)
        return 1;
    static const uint64_t sizes[] = {24, 40, 40, 56, 72, 72, 104, 200};
    uint64_t a = 0x555555560000ULL;
    uint64_t save = rng;
    for (uint64_t i = 0; i < n; i++) {
        if (i == n0)
            rng = save ^ 0x1234567; /* the variant's new objects differ from the base's */
        size[i] = sizes[next() % 8];
        addr[i] = a + 16;
        a += size[i] + 8 + (size[i] + 8) % 16;
        used[i] = next() % 100 >= 3;             /* 3% free chunks */
        target[i] = used[i] && next() % 100 >= 2; /* 2% of used ones: nothing points to them */
    }
    rng = save;
    if (variant)
        for (uint64_t i = 0; i < n0; i += 20)
            used[i] = target[i] = 0;
    /* leaves: i % 5 == 1 or 3, each owned by the object just before it */
#define LEAF(i) ((i) % 5 == 1 || (i) % 5 == 3)
    for (uint64_t i = 0; i < n; i++)
        pickable[i] = target[i] && !LEAF(i);

    remove(out);
    sqlite3 *db;
    if (sqlite3_open(out, &db) != SQLITE_OK)
        die(db, out);
    exec(db, "PRAGMA page_size = 65536; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
             "PRAGMA locking_mode = EXCLUSIVE; PRAGMA cache_size = -262144; BEGIN");
    char msg[256];
    if (db_create_tables(db, msg, sizeof msg))
        die(db, msg);
    sqlite3_stmt *so, *sr, *sf;
    if (sqlite3_prepare_v2(db, "INSERT INTO objects(id, addr, size, bits, chunk_off, chunk_extra, arena)"
                           " VALUES(?,?,?,?,16,8,0)", -1, &so, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO roots(id, kind, name, thread, addr, size) VALUES(?,?,?,?,?,?)", -1, &sr,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO refs(src, dst, offset, interior) VALUES(?,?,?,0)", -1, &sf, NULL) !=
            SQLITE_OK)
        die(db, "prepare");
    for (uint64_t i = 0; i < n; i++) {
        sqlite3_bind_int64(so, 1, (int64_t)i + 1);
        sqlite3_bind_int64(so, 2, (int64_t)addr[i]);
        sqlite3_bind_int64(so, 3, (int64_t)size[i]);
        /* state, where and heap are generated from bits (db.h) */
        sqlite3_bind_int(so, 4, db_object_bits(used[i], (unsigned)heap_where_find("glibc", used[i] ? "inuse" : "unsorted")));
        step(db, so, "object");
    }
    int nroots = NROOTS + NSTACK;
    for (int r = 0; r < nroots; r++) {
        char name[32];
        snprintf(name, sizeof name, "g_var%d", r);
        sqlite3_bind_int64(sr, 1, r - nroots);
        sqlite3_bind_text(sr, 2, r < NROOTS ? "data" : "stack", -1, SQLITE_STATIC);
        if (r < NROOTS)
            sqlite3_bind_text(sr, 3, name, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(sr, 3);
        sqlite3_bind_int(sr, 4, r < NROOTS ? 0 : 1000 + r);
        sqlite3_bind_int64(sr, 5, 0x555555000000LL + 64 * r);
        sqlite3_bind_int64(sr, 6, r < NROOTS ? 8 : 65536);
        step(db, sr, "root");
    }
    uint64_t nrefs = 0;
    /* a pick among used targets near x (structures are local), or anywhere */
    #define PICK(x) ({ uint64_t _t; int _k = 0; do { _t = next() % 8 ? ((x) + n - 5000 + next() % 10000) % n \
                                                                 : next() % n; } while (!pickable[_t] && ++_k < 16); \
                       pickable[_t] ? _t : UINT64_MAX; })
    for (int r = 0; r < nroots && n; r++) {
        int k = r < NROOTS ? 1 : 64;
        for (int e = 0; e < k; e++) {
            uint64_t t = PICK(next() % n);
            if (t == UINT64_MAX)
                continue;
            sqlite3_bind_int64(sf, 1, r - nroots);
            sqlite3_bind_int64(sf, 2, (int64_t)t + 1);
            if (reach)
                keep_edge(&kept, r - nroots, t);
            sqlite3_bind_int64(sf, 3, 8 * e);
            step(db, sf, "ref");
            nrefs++;
        }
    }
    for (uint64_t i = 0; i < n; i++) {
        if (!used[i] || LEAF(i))
            continue;
        unsigned k = 0, deg = per ? (unsigned)(next() % (2 * per)) + 1 : 0;
        uint64_t first = UINT64_MAX;
        if (i + 1 < n && LEAF(i + 1) && target[i + 1])
            first = i + 1; /* the leaf it owns */
        else if (i % 4 == 0 && i + 1 < n && pickable[i + 1])
            first = i + 1; /* a quarter are list nodes: first word to the next object */
        if (first != UINT64_MAX) {
            sqlite3_bind_int64(sf, 1, (int64_t)i + 1);
            sqlite3_bind_int64(sf, 2, (int64_t)first + 1);
            if (reach)
                keep_edge(&kept, (int64_t)i + 1, first);
            sqlite3_bind_int64(sf, 3, 0);
            step(db, sf, "ref");
            nrefs++;
            k = 1;
        }
        for (; k < deg && 8 * k < size[i]; k++) {
            uint64_t t = PICK(i);
            if (t == UINT64_MAX)
                continue;
            sqlite3_bind_int64(sf, 1, (int64_t)i + 1);
            sqlite3_bind_int64(sf, 2, (int64_t)t + 1);
            if (reach)
                keep_edge(&kept, (int64_t)i + 1, t);
            sqlite3_bind_int64(sf, 3, 8 * k);
            step(db, sf, "ref");
            nrefs++;
        }
        if ((i & 0xfffff) == 0)
            fprintf(stderr, "\rsynthdb: %llu/%llu objects", (unsigned long long)i, (unsigned long long)n);
    }
    fprintf(stderr, "\r\033[K");
    uint64_t nused = 0;
    for (uint64_t i = 0; i < n; i++)
        nused += used[i];
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO snapshot(path, size, content_id, page_size, allocator, objects, used, free, roots, refs,"
             " schema_version)"
             " VALUES('/nonexistent/synthetic.hsnap', 0, 'synthetic', 4096, 'glibc', %llu, %llu, %llu, %d, %llu, %d)",
             (unsigned long long)n, (unsigned long long)nused, (unsigned long long)(n - nused), nroots,
             (unsigned long long)nrefs, DB_SCHEMA_VERSION);
    exec(db, sql);
    sqlite3_finalize(so);
    sqlite3_finalize(sr);
    sqlite3_finalize(sf);
    if (db_finish_tables(db, msg, sizeof msg))
        die(db, msg);
    exec(db, "COMMIT");
    sqlite3_close(db);
    printf("%s: %llu objects, %d roots, %llu refs\n", out, (unsigned long long)n, nroots, (unsigned long long)nrefs);
    if (reach)
        print_unreachable(&kept, n, used, size);
    free(kept.src);
    free(kept.dst);
    free(addr);
    free(size);
    free(used);
    free(target);
    free(pickable);
    return 0;
}
