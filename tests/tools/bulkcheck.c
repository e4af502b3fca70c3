/*
 * bulkcheck.c — the bulk b-tree writer (analyze/db/bulk.c) against SQLite
 * itself, for tests/t5020-bulk-btree.sh.
 *
 * Usage: bulkcheck DIR
 *
 * Writes the same rows twice, into DIR/sqlite.db by SQLite's own INSERTs
 * and into DIR/bulk.db by the bulk writer, then asks SQLite of the second:
 * PRAGMA integrity_check must say ok, every table must read back row for
 * row as the first does, and lookups through each index must find what
 * they find there.  The trees are chosen to reach every edge of the
 * writer: no rows, one, every count across the first leaves' boundaries,
 * an index whose last entry would have divided two leaves, interior levels
 * whose last page would have had one child, a third level, negative and
 * nine-byte rowids, NULLs, 0 and 1 (no bytes), every integer width; and a
 * lock-byte page moved (SQLite's test control) into the middle of the
 * spliced pages.  It does so twice: once as the index does, and once
 * with a file of someone else's where the writer's scratch file would
 * go, which must be left alone (the writer then copies its leaves in
 * rather than making the scratch file the database).  It prints what the
 * writer did ("DB: leaves 123 ...") and exits 0 only if all agreed.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"

#define PAGE 4096
/* a lock-byte page among the bulk ones: past SQLite's own pages (two for
 * each of some 500 tables) and well before the end of the leaves */
#define LOCK_AT (3000 * PAGE)

enum shape { ROWID, INDEXED, WITHOUT };

struct tree {
    char name[32];
    enum shape shape;
    long n;
    int wide; /* values of every width, NULLs and negative rowids */
};

static struct tree trees[1024];
static int ntrees;

static void add(enum shape s, long n, int wide)
{
    if (ntrees == (int)(sizeof trees / sizeof trees[0])) {
        fprintf(stderr, "bulkcheck: too many trees\n");
        exit(2);
    }
    struct tree *t = &trees[ntrees];
    snprintf(t->name, sizeof t->name, "t%d", ntrees);
    t->shape = s;
    t->n = n;
    t->wide = wide;
    ntrees++;
}

/* Row i's values: rowid, then three columns (NULL where *nulls says). */
static void row(const struct tree *t, long i, int64_t *rowid, int64_t v[3], uint32_t *nulls)
{
    *nulls = 0;
    if (!t->wide) { /* fixed widths: leaves of a known number of cells */
        *rowid = i + 1;
        v[0] = 0x1000000 + i;
        v[1] = 0x2000000 + 7 * i;
        v[2] = 0x3000000 + (i % 5);
        return;
    }
    static const int64_t widths[] = {0, 1, -1, 127, -128, 300, -30000, 0x7fffff, -0x800000, 0x7fffffff,
                                     (int64_t)0x7fffffffffff, -(int64_t)0x800000000000, INT64_MAX, INT64_MIN};
    *rowid = i - t->n / 3; /* a third of them negative: nine-byte varints */
    v[0] = (int64_t)i * 1000003; /* rising: the index key */
    v[1] = widths[i % (long)(sizeof widths / sizeof widths[0])];
    v[2] = (i % 7) - 3;
    if (i % 11 == 3)
        *nulls |= 1u << 2;
    if (i % 13 == 5)
        *nulls |= 1u << 1;
}

static int exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "bulkcheck: %s: %s\n", sql, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* The same schema in both: a rowid table with an index on a, or a
 * WITHOUT ROWID table keyed on (a, b). */
static int create(sqlite3 *db)
{
    if (exec(db, "PRAGMA page_size = 4096; PRAGMA journal_mode = OFF; BEGIN"))
        return -1;
    for (int k = 0; k < ntrees; k++) {
        char sql[256];
        const struct tree *t = &trees[k];
        if (t->shape == WITHOUT)
            snprintf(sql, sizeof sql, "CREATE TABLE %s(b INTEGER, a INTEGER, c INTEGER, PRIMARY KEY(a, b)) "
                                      "WITHOUT ROWID", t->name);
        else
            snprintf(sql, sizeof sql, "CREATE TABLE %s(id INTEGER PRIMARY KEY, a INTEGER, b INTEGER, c INTEGER);"
                                      "CREATE INDEX %s_a ON %s(a)", t->name, t->name, t->name);
        if (exec(db, sql))
            return -1;
    }
    return 0;
}

static int fill_sqlite(const char *path)
{
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK || create(db))
        return -1;
    for (int k = 0; k < ntrees; k++) {
        const struct tree *t = &trees[k];
        char sql[128];
        sqlite3_stmt *s;
        if (t->shape == WITHOUT)
            snprintf(sql, sizeof sql, "INSERT INTO %s(a, b, c) VALUES(?, ?, ?)", t->name);
        else
            snprintf(sql, sizeof sql, "INSERT INTO %s(id, a, b, c) VALUES(?, ?, ?, ?)", t->name);
        if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
            return fprintf(stderr, "bulkcheck: %s\n", sqlite3_errmsg(db)), -1;
        for (long i = 0; i < t->n; i++) {
            int64_t rowid, v[3];
            uint32_t nulls;
            row(t, i, &rowid, v, &nulls);
            int c = 1;
            if (t->shape != WITHOUT)
                sqlite3_bind_int64(s, c++, rowid);
            for (int j = 0; j < 3; j++, c++)
                if (nulls >> j & 1)
                    sqlite3_bind_null(s, c);
                else
                    sqlite3_bind_int64(s, c, v[j]);
            if (sqlite3_step(s) != SQLITE_DONE)
                return fprintf(stderr, "bulkcheck: %s: %s\n", t->name, sqlite3_errmsg(db)), -1;
            sqlite3_reset(s);
        }
        sqlite3_finalize(s);
    }
    int rc = exec(db, "CREATE TABLE after(x); INSERT INTO after VALUES(zeroblob(20000)); COMMIT");
    sqlite3_close(db);
    return rc;
}

static int fill_bulk(const char *path)
{
    sqlite3 *db;
    char err[512];
    if (sqlite3_open(path, &db) != SQLITE_OK || create(db))
        return -1;
    /* a few pages of SQLite's own, written after the bulk trees began,
     * must stay where SQLite put them */
    struct db_bulk *b = db_bulk_new(db, err, sizeof err);
    if (!b)
        return fprintf(stderr, "bulkcheck: %s\n", err), -1;
    for (int k = 0; k < ntrees; k++) {
        const struct tree *t = &trees[k];
        char iname[40];
        snprintf(iname, sizeof iname, "%s_a", t->name);
        struct db_bulk_tree *rows = db_bulk_tree(b, t->name, t->shape == WITHOUT);
        struct db_bulk_tree *ix = rows && t->shape != WITHOUT ? db_bulk_tree(b, iname, 1) : NULL;
        if (!rows || (t->shape != WITHOUT && !ix))
            return fprintf(stderr, "bulkcheck: %s\n", db_bulk_error(b)), -1;
        for (long i = 0; i < t->n; i++) {
            int64_t rowid, v[3];
            uint32_t nulls;
            row(t, i, &rowid, v, &nulls);
            int rc;
            if (t->shape == WITHOUT) { /* stored as (a, b, c): the key first; never NULL */
                rc = db_bulk_entry(rows, v, 3);
            } else {
                int64_t rec[4] = {0, v[0], v[1], v[2]};
                int64_t key[2] = {v[0], rowid};
                rc = db_bulk_row(rows, rowid, rec, 1u | nulls << 1, 4) || db_bulk_entry(ix, key, 2);
            }
            if (rc)
                return fprintf(stderr, "bulkcheck: %s\n", db_bulk_error(b)), -1;
        }
    }
    if (exec(db, "CREATE TABLE after(x); INSERT INTO after VALUES(zeroblob(20000)); COMMIT"))
        return -1;
    sqlite3_close(db);
    int rc = db_bulk_splice(b, path);
    if (rc)
        fprintf(stderr, "bulkcheck: %s\n", db_bulk_error(b));
    struct db_bulk_stats st;
    db_bulk_stats(b, &st);
    printf("%s: leaves %llu interior %llu levels %u tail-retakes %llu interior-backoffs %llu lock-page-skipped %d "
           "adopted %d\n", path, (unsigned long long)st.leaves, (unsigned long long)st.interior, st.levels,
           (unsigned long long)st.retakes, (unsigned long long)st.backoffs, st.skipped_lock_page, st.adopted);
    db_bulk_free(b);
    /* the edges this run is for were reached */
    if (!rc && (!st.retakes || !st.backoffs || st.levels < 3 || !st.skipped_lock_page)) {
        fprintf(stderr, "bulkcheck: the trees did not reach every edge of the writer\n");
        rc = -1;
    }
    return rc;
}

/* Every row of both, in key order, and every value's type, the same. */
static int compare(sqlite3 *a, sqlite3 *b, const char *sql)
{
    sqlite3_stmt *sa, *sb;
    if (sqlite3_prepare_v2(a, sql, -1, &sa, NULL) != SQLITE_OK || sqlite3_prepare_v2(b, sql, -1, &sb, NULL) != SQLITE_OK)
        return fprintf(stderr, "bulkcheck: %s: %s\n", sql, sqlite3_errmsg(b)), -1;
    long rows = 0;
    int rc = 0;
    for (;;) {
        int ra = sqlite3_step(sa), rb = sqlite3_step(sb);
        if (ra != rb) {
            fprintf(stderr, "bulkcheck: %s: row %ld: %s in one, %s in the other\n", sql, rows,
                    ra == SQLITE_ROW ? "a row" : "the end", rb == SQLITE_ROW ? "a row" : "the end");
            rc = -1;
            break;
        }
        if (ra != SQLITE_ROW) {
            if (ra != SQLITE_DONE) {
                fprintf(stderr, "bulkcheck: %s: %s\n", sql, sqlite3_errmsg(a));
                rc = -1;
            }
            break;
        }
        for (int c = 0; c < sqlite3_column_count(sa); c++)
            if (sqlite3_column_type(sa, c) != sqlite3_column_type(sb, c) ||
                sqlite3_column_int64(sa, c) != sqlite3_column_int64(sb, c)) {
                fprintf(stderr, "bulkcheck: %s: row %ld column %d: %lld against %lld\n", sql, rows, c,
                        (long long)sqlite3_column_int64(sa, c), (long long)sqlite3_column_int64(sb, c));
                rc = -1;
            }
        if (rc)
            break;
        rows++;
    }
    sqlite3_finalize(sa);
    sqlite3_finalize(sb);
    return rc;
}

static int check(const char *pa, const char *pb)
{
    sqlite3 *a, *b;
    if (sqlite3_open_v2(pa, &a, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_open_v2(pb, &b, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return -1;
    sqlite3_stmt *s;
    int rc = 0;
    if (sqlite3_prepare_v2(b, "PRAGMA integrity_check(100)", -1, &s, NULL) != SQLITE_OK)
        return -1;
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *m = (const char *)sqlite3_column_text(s, 0);
        if (!m || strcmp(m, "ok")) {
            fprintf(stderr, "bulkcheck: integrity_check: %s\n", m ? m : "(null)");
            rc = -1;
        }
    }
    sqlite3_finalize(s);
    for (int k = 0; k < ntrees && !rc; k++) {
        const struct tree *t = &trees[k];
        char sql[256];
        if (t->shape == WITHOUT) {
            snprintf(sql, sizeof sql, "SELECT a, b, c FROM %s ORDER BY a, b", t->name);
            rc = compare(a, b, sql);
            /* a lookup by the key, through the tree's interior pages */
            snprintf(sql, sizeof sql, "SELECT a, b, c FROM %s WHERE a IN (SELECT a FROM %s WHERE a %% 97 = 1)",
                     t->name, t->name);
            rc = rc || compare(a, b, sql);
        } else {
            snprintf(sql, sizeof sql, "SELECT id, a, b, c FROM %s ORDER BY id", t->name);
            rc = compare(a, b, sql);
            snprintf(sql, sizeof sql, "SELECT id FROM %s INDEXED BY %s_a WHERE a > 0 ORDER BY a", t->name,
                     t->name);
            rc = rc || compare(a, b, sql);
            snprintf(sql, sizeof sql, "SELECT id, c FROM %s WHERE id IN (SELECT id FROM %s WHERE id %% 89 = 2)",
                     t->name, t->name);
            rc = rc || compare(a, b, sql);
        }
        if (rc)
            fprintf(stderr, "bulkcheck: table %s (%ld rows) differs\n", t->name, t->n);
    }
    rc = rc || compare(a, b, "SELECT length(x) FROM after");
    sqlite3_close(a);
    sqlite3_close(b);
    return rc;
}

/* A tree SQLite wrote into after the bulk load began is refused at the
 * splice, by name, and the file is left as SQLite made it. */
static int refuses_a_tree_written_behind_its_back(const char *dir)
{
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/behind.db", dir);
    unlink(path);
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        exec(db, "PRAGMA page_size = 4096; PRAGMA journal_mode = OFF; BEGIN; CREATE TABLE t(id INTEGER PRIMARY KEY, a)"))
        return -1;
    struct db_bulk *b = db_bulk_new(db, err, sizeof err);
    struct db_bulk_tree *t = b ? db_bulk_tree(b, "t", 0) : NULL;
    int64_t v[2] = {0, 5};
    if (!t || db_bulk_row(t, 1, v, 1, 2) || exec(db, "INSERT INTO t VALUES(7, 7); COMMIT"))
        return fprintf(stderr, "bulkcheck: %s\n", b ? db_bulk_error(b) : err), -1;
    sqlite3_close(db);
    int rc = db_bulk_splice(b, path);
    const char *want = "the b-tree of t is not the empty one the bulk load began with";
    int ok = rc && strstr(db_bulk_error(b), want);
    if (!ok)
        fprintf(stderr, "bulkcheck: a tree written behind the writer's back: %s\n",
                rc ? db_bulk_error(b) : "spliced anyway");
    db_bulk_free(b);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bulkcheck DIR\n");
        return 2;
    }
    /* both sides must agree on where the lock-byte page is */
    if (sqlite3_test_control(SQLITE_TESTCTRL_PENDING_BYTE, (unsigned)LOCK_AT) < 0)
        return fprintf(stderr, "bulkcheck: this SQLite cannot move its lock-byte page\n"), 1;
    db_bulk_set_pending_byte(LOCK_AT);
    /* 4 KiB pages and fixed widths: a WITHOUT ROWID entry is a 17-byte
     * cell (3 columns of 4 bytes), so a leaf holds lc of them and an
     * interior page ic cells, and the shapes below are exact. */
    const long cell = 17, lc = (PAGE - 8) / (cell + 2), ic = (PAGE - 12) / (4 + cell + 2);
    for (long n = 0; n <= 2 * lc + 30; n++) /* 0, 1, and across the first leaves' ends */
        add(n % 2 ? WITHOUT : ROWID, n, 0);
    /* k full leaves and one entry more: that entry would divide the last
     * leaf from an empty one */
    add(WITHOUT, 3 * (lc + 1), 0);
    /* ic + 2 leaves: a first interior page of ic cells would leave the
     * last leaf alone on the second; and ic + 2 children need a third
     * level */
    for (long l = ic + 1; l <= ic + 3; l++)
        add(WITHOUT, l * (lc + 1) - 1, 0);
    add(ROWID, 100000, 0);
    add(ROWID, 300000, 1);
    char pa[4096], pb[4096], pc[4096], block[4096 + 8];
    snprintf(pa, sizeof pa, "%s/sqlite.db", argv[1]);
    snprintf(pb, sizeof pb, "%s/bulk.db", argv[1]);
    snprintf(pc, sizeof pc, "%s/copied.db", argv[1]);
    snprintf(block, sizeof block, "%s.bulk", pc);
    unlink(pa);
    unlink(pb);
    unlink(pc);
    FILE *f = fopen(block, "w");
    if (!f || fputs("not the writer's\n", f) < 0 || fclose(f))
        return fprintf(stderr, "bulkcheck: cannot write %s\n", block), 1;
    if (fill_sqlite(pa) || fill_bulk(pb) || check(pa, pb) || fill_bulk(pc) || check(pa, pc) ||
        refuses_a_tree_written_behind_its_back(argv[1]))
        return 1;
    char line[64] = "";
    f = fopen(block, "r");
    if (!f || !fgets(line, sizeof line, f) || strcmp(line, "not the writer's\n"))
        return fprintf(stderr, "bulkcheck: %s was changed\n", block), 1;
    fclose(f);
    printf("ok: %d trees agree\n", ntrees);
    return 0;
}
