/*
 * sqlite_raw.c — the physical limit bench/index compares heapsnap index
 * with: how fast this machine's SQLite takes rows shaped like heapsnap's
 * objects and refs, with the same schema and the same bulk-load pragmas,
 * when nothing else (no snapshot, no heap walk, no scan) costs anything.
 *
 *   sqlite_raw DB N [REFS_PER_OBJECT]
 *
 * The refs are shaped like samples/bench_heap's (a chain plus random
 * pointers), since how random the targets are decides what CREATE INDEX on
 * refs(dst) costs.  Two ways, each into a fresh database:
 *   step  a prepared INSERT, bound, stepped and reset per row (the
 *         textbook bulk load)
 *   feed  one INSERT ... SELECT per table from the virtual-table feed of
 *         analyze/db/feed.c, as heapsnap index does
 * and for each the rates of objects, refs, the secondary indexes and the
 * total in objects per second.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "db/db.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void must(int rc, sqlite3 *db, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE) {
        fprintf(stderr, "sqlite_raw: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

#define BASE 0x555555559000ull

/* The synthetic rows: object i (1-based) at BASE + 64 (i - 1); ref k of
 * object i at offset 8 k (targets: ref_dst()). */
struct gen {
    long n, per, i, k;
    uint64_t x;
    int started;
};

static void gen_init(struct gen *g, long n, long per)
{
    *g = (struct gen){.n = n, .per = per, .i = 1, .x = 88172645463325252u};
}

static int gen_next_obj(void *u)
{
    struct gen *g = u;
    if (g->started)
        g->i++;
    g->started = 1;
    return g->i <= g->n;
}

static void obj_col(void *u, sqlite3_context *c, int col)
{
    struct gen *g = u;
    uint64_t addr = BASE + 64 * (uint64_t)(g->i - 1);
    switch (col) {
    case 0: sqlite3_result_int64(c, g->i); break;
    case 1: sqlite3_result_int64(c, (sqlite3_int64)addr); break;
    case 2: sqlite3_result_int64(c, 56); break;
    case 3: sqlite3_result_text(c, "used", 4, SQLITE_STATIC); break;
    case 4: sqlite3_result_int64(c, (sqlite3_int64)addr - 16); break;
    case 5: sqlite3_result_int64(c, 64); break;
    case 6: sqlite3_result_text(c, "glibc", 5, SQLITE_STATIC); break;
    case 7: sqlite3_result_text(c, "inuse", 5, SQLITE_STATIC); break;
    default: sqlite3_result_int(c, 0);
    }
}

static int gen_next_ref(void *u)
{
    struct gen *g = u;
    if (g->started && ++g->k == g->per) {
        g->k = 0;
        g->i++;
    }
    g->started = 1;
    g->x ^= g->x << 13, g->x ^= g->x >> 7, g->x ^= g->x << 17;
    return g->i <= g->n;
}

/* Shaped like samples/bench_heap: the first pointer of each object to the
 * next object (a chain), the others to random objects. */
static sqlite3_int64 ref_dst(const struct gen *g)
{
    if (g->k == 0)
        return g->i < g->n ? g->i + 1 : 1;
    return (sqlite3_int64)(g->x % (uint64_t)g->n) + 1;
}

static void ref_col(void *u, sqlite3_context *c, int col)
{
    struct gen *g = u;
    switch (col) {
    case 0: sqlite3_result_int64(c, g->i); break;
    case 1: sqlite3_result_int64(c, ref_dst(g)); break;
    case 2: sqlite3_result_int64(c, 8 * g->k); break;
    default: sqlite3_result_int(c, 0);
    }
}

static sqlite3 *create(const char *path)
{
    sqlite3 *db;
    unlink(path);
    must(sqlite3_open(path, &db), db, "open");
    must(sqlite3_exec(db,
                      "PRAGMA page_size = 65536; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
                      "PRAGMA locking_mode = EXCLUSIVE; PRAGMA cache_size = -8192; PRAGMA threads = 2;"
                      "BEGIN;"
                      "CREATE TABLE objects(id INTEGER PRIMARY KEY, addr INTEGER NOT NULL,"
                      "  size INTEGER NOT NULL, state TEXT NOT NULL, type_id INTEGER,"
                      "  chunk INTEGER, chunk_size INTEGER, heap TEXT, \"where\" TEXT, arena INTEGER);"
                      "CREATE TABLE refs(src INTEGER NOT NULL, dst INTEGER NOT NULL,"
                      "  offset INTEGER NOT NULL, interior INTEGER NOT NULL,"
                      "  PRIMARY KEY(src, offset)) WITHOUT ROWID;",
                      NULL, NULL, NULL), db, "schema");
    return db;
}

static void report(const char *how, long n, long per, double t0, double t1, double t2, double t3)
{
    printf("%s objects %ld rows %.2f s %.0f rows/s\n", how, n, t1 - t0, n / (t1 - t0));
    printf("%s refs %ld rows %.2f s %.0f rows/s\n", how, n * per, t2 - t1, n * per / (t2 - t1));
    printf("%s indexes %.2f s\n", how, t3 - t2);
    printf("%s total %.2f s %.0f objects/s\n", how, t3 - t0, n / (t3 - t0));
}

static double finish(sqlite3 *db)
{
    must(sqlite3_exec(db, "CREATE INDEX objects_addr ON objects(addr); CREATE INDEX refs_dst ON refs(dst); COMMIT",
                      NULL, NULL, NULL), db, "indexes");
    double t = now();
    sqlite3_close(db);
    return t;
}

static void by_step(const char *path, long n, long per)
{
    sqlite3 *db = create(path);
    sqlite3_stmt *o, *r;
    must(sqlite3_prepare_v2(db, "INSERT INTO objects(id, addr, size, state, chunk, chunk_size, heap,"
                                " \"where\", arena) VALUES(?,?,?,?,?,?,?,?,?)", -1, &o, NULL), db, "prepare");
    must(sqlite3_prepare_v2(db, "INSERT INTO refs(src, dst, offset, interior) VALUES(?,?,?,?)", -1, &r, NULL),
         db, "prepare");
    struct gen g;
    double t0 = now();
    for (gen_init(&g, n, per); gen_next_obj(&g);) {
        sqlite3_bind_int64(o, 1, g.i);
        sqlite3_bind_int64(o, 2, (sqlite3_int64)(BASE + 64 * (uint64_t)(g.i - 1)));
        sqlite3_bind_int64(o, 3, 56);
        sqlite3_bind_text(o, 4, "used", 4, SQLITE_STATIC);
        sqlite3_bind_int64(o, 5, (sqlite3_int64)(BASE + 64 * (uint64_t)(g.i - 1)) - 16);
        sqlite3_bind_int64(o, 6, 64);
        sqlite3_bind_text(o, 7, "glibc", 5, SQLITE_STATIC);
        sqlite3_bind_text(o, 8, "inuse", 5, SQLITE_STATIC);
        sqlite3_bind_int(o, 9, 0);
        must(sqlite3_step(o), db, "insert object");
        sqlite3_reset(o);
    }
    double t1 = now();
    for (gen_init(&g, n, per); gen_next_ref(&g);) {
        sqlite3_bind_int64(r, 1, g.i);
        sqlite3_bind_int64(r, 2, ref_dst(&g));
        sqlite3_bind_int64(r, 3, 8 * g.k);
        sqlite3_bind_int(r, 4, 0);
        must(sqlite3_step(r), db, "insert ref");
        sqlite3_reset(r);
    }
    double t2 = now();
    sqlite3_finalize(o);
    sqlite3_finalize(r);
    report("step", n, per, t0, t1, t2, finish(db));
}

static void by_feed(const char *path, long n, long per)
{
    sqlite3 *db = create(path);
    char err[512];
    struct gen g;
    double t0 = now();
    gen_init(&g, n, per);
    struct db_feed fo = {"CREATE TABLE x(id, addr, size, state, chunk, chunk_size, heap, w, arena)", &g,
                         gen_next_obj, obj_col};
    if (db_feed_insert(db, "INSERT INTO objects(id, addr, size, state, chunk, chunk_size, heap, \"where\", arena)",
                       &fo, err, sizeof err)) {
        fprintf(stderr, "sqlite_raw: %s\n", err);
        exit(1);
    }
    double t1 = now();
    gen_init(&g, n, per);
    struct db_feed fr = {"CREATE TABLE x(src, dst, offset, interior)", &g, gen_next_ref, ref_col};
    if (db_feed_insert(db, "INSERT INTO refs(src, dst, offset, interior)", &fr, err, sizeof err)) {
        fprintf(stderr, "sqlite_raw: %s\n", err);
        exit(1);
    }
    double t2 = now();
    report("feed", n, per, t0, t1, t2, finish(db));
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: sqlite_raw DB N [REFS_PER_OBJECT]\n");
        return 2;
    }
    long n = atol(argv[2]), per = argc > 3 ? atol(argv[3]) : 3;
    if (n <= 0 || per <= 0)
        return 2;
    by_step(argv[1], n, per);
    by_feed(argv[1], n, per);
    unlink(argv[1]);
    return 0;
}
