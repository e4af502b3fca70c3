/*
 * sqlite_raw.c — the physical limit bench/index compares heapsnap index
 * with: how fast this machine's SQLite takes rows shaped like heapsnap's
 * objects and refs, with the same schema and the same bulk-load pragmas,
 * when nothing else (no snapshot, no heap walk, no scan) costs anything.
 *
 *   sqlite_raw DB N [REFS_PER_OBJECT]
 *
 * The refs are shaped like samples/bench_heap's (a chain plus random
 * pointers), and handed over as heapsnap does, in the refs table's key order
 * (dst, src, offset): sorted here before the clock starts, since the
 * limit measured is SQLite's, not the sort's.  The tables are heapsnap's
 * (db/schema.c): objects with its stored columns, objects_addr kept as rows
 * are appended and the generated columns added before the commit, refs
 * clustered by target.
 * Two ways, each into a fresh database:
 *   step  a prepared INSERT, bound, stepped and reset per row (the
 *         textbook bulk load)
 *   feed  one INSERT ... SELECT per table from the virtual-table feed of
 *         analyze/db/feed.c, as heapsnap index did before bulk.c, and as
 *         a first analysis still writes the analysis table
 *   bulk  the same rows as b-tree pages by analyze/db/bulk.c, spliced in
 *         after SQLite's commit, as heapsnap index does now ("commit"
 *         then covers the splice: the copy of the leaves into the file)
 * and for each the rates of objects, refs, the commit and the total in
 * objects per second.  The feed also writes the analysis table (the
 * dominator tree, one row per object), as heapsnap index does, and its
 * total includes it ("commit" then covers the analysis rows too; the
 * analysis line gives them alone).
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "db/db.h"

/* CPU seconds: on a busy machine the steadier figure (bench/index prints
 * heapsnap's beside its wall time); the wall time is in the total line. */
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double wall(void)
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
 * object i at offset 8 k (targets: make_refs()). */
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
    switch (col) { /* id, addr, size, bits (used, inuse, glibc), chunk_off, chunk_extra, arena */
    case 0: sqlite3_result_int64(c, g->i); break;
    case 1: sqlite3_result_int64(c, (sqlite3_int64)addr); break;
    case 2: sqlite3_result_int64(c, 56); break;
    case 3: sqlite3_result_int(c, 96); break;
    case 4: sqlite3_result_int(c, 16); break;
    case 5: sqlite3_result_int(c, 8); break;
    default: sqlite3_result_int(c, 0);
    }
}

/* The refs, shaped like samples/bench_heap's: the first pointer of each
 * object to the next object (a chain), the others to random objects; then
 * put in (dst, src, offset) order by a stable counting sort on dst. */
struct rref {
    int64_t src, dst, offset;
};

static struct rref *make_refs(long n, long per)
{
    size_t m = (size_t)n * (size_t)per;
    struct rref *v = malloc(m * sizeof *v), *out = malloc(m * sizeof *out);
    size_t *start = calloc((size_t)n + 2, sizeof *start);
    if (!v || !out || !start) {
        fprintf(stderr, "sqlite_raw: out of memory\n");
        exit(1);
    }
    uint64_t x = 88172645463325252u;
    size_t k = 0;
    for (long i = 1; i <= n; i++)
        for (long j = 0; j < per; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            int64_t dst = j == 0 ? (i < n ? i + 1 : 1) : (int64_t)(x % (uint64_t)n) + 1;
            v[k++] = (struct rref){i, dst, 8 * j};
            start[dst + 1]++;
        }
    for (long d = 1; d <= n + 1; d++)
        start[d] += start[d - 1];
    for (size_t i = 0; i < m; i++)
        out[start[v[i].dst]++] = v[i];
    free(v);
    free(start);
    return out;
}

struct rgen {
    const struct rref *v;
    size_t m, i;
    int started;
};

static int gen_next_ref(void *u)
{
    struct rgen *g = u;
    if (g->started)
        g->i++;
    g->started = 1;
    return g->i < g->m;
}

static void ref_col(void *u, sqlite3_context *c, int col)
{
    struct rgen *g = u;
    const struct rref *r = &g->v[g->i];
    switch (col) {
    case 0: sqlite3_result_int64(c, r->src); break;
    case 1: sqlite3_result_int64(c, r->dst); break;
    case 2: sqlite3_result_int64(c, r->offset); break;
    default: sqlite3_result_int(c, 0);
    }
}

/* The analysis table's rows (db/analysis.c), one per object, shaped like
 * bench_heap's dominator tree: the chain, each node under the one before
 * it, retaining the rest of the chain. */
struct agen {
    long n, i;
};

static int gen_next_an(void *u)
{
    struct agen *a = u;
    return ++a->i <= a->n;
}

static void an_col(void *u, sqlite3_context *c, int col)
{
    const struct agen *a = u;
    switch (col) {
    case 0: sqlite3_result_int64(c, a->i); break;
    case 1: sqlite3_result_int(c, 1); break;
    case 2:
        if (a->i > 1)
            sqlite3_result_int64(c, a->i - 1);
        else
            sqlite3_result_null(c);
        break;
    case 3: sqlite3_result_int64(c, 56 * (a->n - a->i + 1)); break;
    default: sqlite3_result_int64(c, a->n - a->i + 1);
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
                      "  size INTEGER NOT NULL, type_id INTEGER, arena INTEGER, type_count INTEGER,"
                      "  bits INTEGER NOT NULL, chunk_off INTEGER NOT NULL, chunk_extra INTEGER NOT NULL,"
                      "  tsrc INTEGER);"
                      "CREATE TABLE refs(src INTEGER NOT NULL, dst INTEGER NOT NULL,"
                      "  offset INTEGER NOT NULL, interior INTEGER NOT NULL,"
                      "  PRIMARY KEY(dst, src, offset)) WITHOUT ROWID;"
                      "CREATE INDEX objects_addr ON objects(addr);",
                      NULL, NULL, NULL), db, "schema");
    return db;
}

static void report(const char *how, long n, long per, double t0, double t1, double t2, double t3, double w)
{
    printf("%s objects %ld rows CPU %.2f s %.0f rows/s\n", how, n, t1 - t0, n / (t1 - t0));
    printf("%s refs %ld rows CPU %.2f s %.0f rows/s\n", how, n * per, t2 - t1, n * per / (t2 - t1));
    printf("%s commit CPU %.2f s\n", how, t3 - t2);
    printf("%s total CPU %.2f s %.0f objects/s (wall %.2f s)\n", how, t3 - t0, n / (t3 - t0), w);
}

static double finish(sqlite3 *db)
{
    /* the generated columns, added after the rows as db/schema.c adds them
     * (SQLite would compute them for every row inserted) */
    must(sqlite3_exec(db,
                      "ALTER TABLE objects ADD COLUMN state TEXT GENERATED ALWAYS AS"
                      "  (CASE WHEN bits & 256 THEN 'free' ELSE 'used' END) VIRTUAL;"
                      "ALTER TABLE objects ADD COLUMN chunk INTEGER GENERATED ALWAYS AS (addr - chunk_off) VIRTUAL;"
                      "ALTER TABLE objects ADD COLUMN chunk_size INTEGER GENERATED ALWAYS AS (size + chunk_extra) VIRTUAL;"
                      "ALTER TABLE objects ADD COLUMN heap TEXT GENERATED ALWAYS AS"
                      "  (CASE (bits >> 5) & 7 WHEN 3 THEN 'glibc' END) VIRTUAL;"
                      "ALTER TABLE objects ADD COLUMN \"where\" TEXT GENERATED ALWAYS AS"
                      "  (CASE bits & 31 WHEN 0 THEN 'inuse' END) VIRTUAL;"
                      "ALTER TABLE objects ADD COLUMN type_source TEXT GENERATED ALWAYS AS"
                      "  (CASE tsrc WHEN 1 THEN 'dwarf-field' END) VIRTUAL;"
                      "COMMIT",
                      NULL, NULL, NULL), db, "commit");
    double t = now();
    sqlite3_close(db);
    return t;
}

static void by_step(const char *path, long n, long per, const struct rref *refs)
{
    sqlite3 *db = create(path);
    sqlite3_stmt *o, *r;
    must(sqlite3_prepare_v2(db, "INSERT INTO objects(id, addr, size, bits, chunk_off, chunk_extra, arena)"
                                " VALUES(?,?,?,?,?,?,?)", -1, &o, NULL), db, "prepare");
    must(sqlite3_prepare_v2(db, "INSERT INTO refs(src, dst, offset, interior) VALUES(?,?,?,?)", -1, &r, NULL),
         db, "prepare");
    struct gen g;
    double w0 = wall(), t0 = now();
    for (gen_init(&g, n, per); gen_next_obj(&g);) {
        sqlite3_bind_int64(o, 1, g.i);
        sqlite3_bind_int64(o, 2, (sqlite3_int64)(BASE + 64 * (uint64_t)(g.i - 1)));
        sqlite3_bind_int64(o, 3, 56);
        sqlite3_bind_int(o, 4, 96);
        sqlite3_bind_int(o, 5, 16);
        sqlite3_bind_int(o, 6, 8);
        sqlite3_bind_int(o, 7, 0);
        must(sqlite3_step(o), db, "insert object");
        sqlite3_reset(o);
    }
    double t1 = now();
    for (size_t k = 0; k < (size_t)n * (size_t)per; k++) {
        sqlite3_bind_int64(r, 1, refs[k].src);
        sqlite3_bind_int64(r, 2, refs[k].dst);
        sqlite3_bind_int64(r, 3, refs[k].offset);
        sqlite3_bind_int(r, 4, 0);
        must(sqlite3_step(r), db, "insert ref");
        sqlite3_reset(r);
    }
    double t2 = now();
    sqlite3_finalize(o);
    sqlite3_finalize(r);
    double t3 = finish(db);
    report("step", n, per, t0, t1, t2, t3, wall() - w0);
}

static void by_feed(const char *path, long n, long per, const struct rref *refs)
{
    sqlite3 *db = create(path);
    char err[512];
    struct gen g;
    double w0 = wall(), t0 = now();
    gen_init(&g, n, per);
    struct db_feed fo = {"CREATE TABLE x(id, addr, size, bits, chunk_off, chunk_extra, arena)", &g,
                         gen_next_obj, obj_col};
    if (db_feed_insert(db, "INSERT INTO objects(id, addr, size, bits, chunk_off, chunk_extra, arena)",
                       &fo, err, sizeof err)) {
        fprintf(stderr, "sqlite_raw: %s\n", err);
        exit(1);
    }
    double t1 = now();
    struct rgen rg = {.v = refs, .m = (size_t)n * (size_t)per};
    struct db_feed fr = {"CREATE TABLE x(src, dst, offset, interior)", &rg, gen_next_ref, ref_col};
    if (db_feed_insert(db, "INSERT INTO refs(src, dst, offset, interior)", &fr, err, sizeof err)) {
        fprintf(stderr, "sqlite_raw: %s\n", err);
        exit(1);
    }
    double t2 = now();
    /* the index writes the dominator tree in the same transaction */
    struct agen ag = {.n = n};
    struct db_feed fa = {"CREATE TABLE x(id, reachable, idom, retained_size, retained_count)", &ag, gen_next_an,
                         an_col};
    must(sqlite3_exec(db,
                      "CREATE TABLE analysis(id INTEGER PRIMARY KEY, reachable INTEGER NOT NULL,"
                      " idom INTEGER, retained_size INTEGER NOT NULL, retained_count INTEGER NOT NULL)",
                      NULL, NULL, NULL), db, "schema");
    if (db_feed_insert(db, "INSERT INTO analysis(id, reachable, idom, retained_size, retained_count)", &fa, err,
                       sizeof err)) {
        fprintf(stderr, "sqlite_raw: %s\n", err);
        exit(1);
    }
    double t2a = now();
    printf("feed analysis %ld rows CPU %.2f s %.0f rows/s\n", n, t2a - t2, n / (t2a - t2));
    double t3 = finish(db);
    report("feed", n, per, t0, t1, t2, t3, wall() - w0);
}

static void bulk_fail(struct db_bulk *b, const char *err)
{
    fprintf(stderr, "sqlite_raw: %s\n", b ? db_bulk_error(b) : err);
    exit(1);
}

static void by_bulk(const char *path, long n, long per, const struct rref *refs)
{
    sqlite3 *db = create(path);
    char err[512];
    must(sqlite3_exec(db,
                      "CREATE TABLE analysis(id INTEGER PRIMARY KEY, reachable INTEGER NOT NULL,"
                      " idom INTEGER, retained_size INTEGER NOT NULL, retained_count INTEGER NOT NULL)",
                      NULL, NULL, NULL), db, "schema");
    double w0 = wall(), t0 = now();
    struct db_bulk *b = db_bulk_new(db, err, sizeof err);
    struct db_bulk_tree *o = b ? db_bulk_tree(b, "objects", 0) : NULL;
    struct db_bulk_tree *oa = o ? db_bulk_tree(b, "objects_addr", 1) : NULL;
    struct db_bulk_tree *r = oa ? db_bulk_tree(b, "refs", 1) : NULL;
    struct db_bulk_tree *a = r ? db_bulk_tree(b, "analysis", 0) : NULL;
    if (!a)
        bulk_fail(b, err);
    for (long i = 1; i <= n; i++) { /* obj_col's values; type_id, type_count, tsrc NULL */
        int64_t addr = (int64_t)(BASE + 64 * (uint64_t)(i - 1));
        int64_t v[10] = {0, addr, 56, 0, 0, 0, 96, 16, 8, 0}, key[2] = {addr, i};
        if (db_bulk_row(o, i, v, 1u | 1u << 3 | 1u << 5 | 1u << 9, 10) || db_bulk_entry(oa, key, 2))
            bulk_fail(b, err);
    }
    double t1 = now();
    for (size_t k = 0; k < (size_t)n * (size_t)per; k++) {
        int64_t v[4] = {refs[k].dst, refs[k].src, refs[k].offset, 0};
        if (db_bulk_entry(r, v, 4))
            bulk_fail(b, err);
    }
    double t2 = now();
    for (long i = 1; i <= n; i++) { /* an_col's values */
        int64_t v[5] = {0, 1, i - 1, 56 * (n - i + 1), n - i + 1};
        if (db_bulk_row(a, i, v, 1u | (i > 1 ? 0 : 1u << 2), 5))
            bulk_fail(b, err);
    }
    double t2a = now();
    printf("bulk analysis %ld rows CPU %.2f s %.0f rows/s\n", n, t2a - t2, n / (t2a - t2));
    finish(db);
    if (db_bulk_splice(b, path))
        bulk_fail(b, err);
    db_bulk_free(b);
    double t3 = now();
    report("bulk", n, per, t0, t1, t2, t3, wall() - w0);
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
    struct rref *refs = make_refs(n, per);
    by_step(argv[1], n, per, refs);
    by_feed(argv[1], n, per, refs);
    by_bulk(argv[1], n, per, refs);
    free(refs);
    unlink(argv[1]);
    return 0;
}
