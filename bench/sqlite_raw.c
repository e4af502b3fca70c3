/*
 * sqlite_raw.c — the physical limit bench/index compares heapsnap index
 * with: how fast this machine's SQLite takes rows shaped like heapsnap's
 * objects and refs, with the same schema and the same bulk-load pragmas,
 * when nothing else (no snapshot, no heap walk, no scan) costs anything.
 *
 *   sqlite_raw DB N [REFS_PER_OBJECT]
 *
 * Prints one line per phase with its rate, e.g.
 *   objects 1000000 rows 0.61 s 1639344 rows/s
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

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

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: sqlite_raw DB N [REFS_PER_OBJECT]\n");
        return 2;
    }
    long n = atol(argv[2]), per = argc > 3 ? atol(argv[3]) : 3;
    sqlite3 *db;
    unlink(argv[1]);
    must(sqlite3_open(argv[1], &db), db, "open");
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
    sqlite3_stmt *o, *r;
    must(sqlite3_prepare_v2(db, "INSERT INTO objects(id, addr, size, state, chunk, chunk_size, heap,"
                                " \"where\", arena) VALUES(?,?,?,?,?,?,?,?,?)", -1, &o, NULL), db, "prepare");
    must(sqlite3_prepare_v2(db, "INSERT INTO refs(src, dst, offset, interior) VALUES(?,?,?,?)", -1, &r, NULL),
         db, "prepare");
    double t0 = now();
    uint64_t addr = 0x555555559000;
    for (long i = 1; i <= n; i++, addr += 64) {
        sqlite3_bind_int64(o, 1, i);
        sqlite3_bind_int64(o, 2, (sqlite3_int64)addr);
        sqlite3_bind_int64(o, 3, 56);
        sqlite3_bind_text(o, 4, "used", 4, SQLITE_STATIC);
        sqlite3_bind_int64(o, 5, (sqlite3_int64)addr - 16);
        sqlite3_bind_int64(o, 6, 64);
        sqlite3_bind_text(o, 7, "glibc", 5, SQLITE_STATIC);
        sqlite3_bind_text(o, 8, "inuse", 5, SQLITE_STATIC);
        sqlite3_bind_int(o, 9, 0);
        must(sqlite3_step(o), db, "insert object");
        sqlite3_reset(o);
    }
    double t1 = now();
    uint64_t x = 88172645463325252u;
    for (long i = 1; i <= n; i++)
        for (long k = 0; k < per; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            sqlite3_bind_int64(r, 1, i);
            sqlite3_bind_int64(r, 2, (sqlite3_int64)(x % (uint64_t)n) + 1);
            sqlite3_bind_int64(r, 3, 8 * k);
            sqlite3_bind_int(r, 4, 0);
            must(sqlite3_step(r), db, "insert ref");
            sqlite3_reset(r);
        }
    double t2 = now();
    sqlite3_finalize(o);
    sqlite3_finalize(r);
    must(sqlite3_exec(db, "CREATE INDEX objects_addr ON objects(addr); CREATE INDEX refs_dst ON refs(dst); COMMIT",
                      NULL, NULL, NULL), db, "indexes");
    double t3 = now();
    sqlite3_close(db);
    printf("raw objects %ld rows %.2f s %.0f rows/s\n", n, t1 - t0, n / (t1 - t0));
    printf("raw refs %ld rows %.2f s %.0f rows/s\n", n * per, t2 - t1, n * per / (t2 - t1));
    printf("raw indexes %.2f s\n", t3 - t2);
    printf("raw total %.2f s %.0f objects/s\n", t3 - t0, n / (t3 - t0));
    return 0;
}
