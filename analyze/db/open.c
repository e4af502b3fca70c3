/*
 * open.c — which database belongs to which snapshot, and opening one of
 * ours (see db.h).  The command line's "a snapshot or its database"
 * (analyze/open.c) is built on these; this file never indexes.
 *
 * A database remembers which snapshot it was built from: the snapshot's
 * path, size and a content id that changes with any byte of it (see
 * db_snapshot_id() in db.h).  Three rules keep the user's data whole:
 *
 *  - Only a file that carries heapsnap's marks (PRAGMA application_id and
 *    the "HS" half of user_version) and names this very snapshot (same
 *    content, or same path for a stale one) is ever reused or replaced.
 *    Anything else at FILE.db is refused with the way out (--db).
 *  - A database whose snapshot has changed since is refused by every
 *    command, not just when memory happens to be read: its objects and
 *    the memory in the file would disagree silently.
 *  - Indexing takes an flock on the snapshot (db_lock_snapshot): a second
 *    command wanting the same index waits for the first and reuses what it
 *    built.
 */
#include "db/db.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/hscore.h"
#include "layout.h"

#define ID_CHUNK (64 * 1024)

/* ---------------------------------------------------------- content id */

struct idhash {
    uint64_t fnv;
    uint32_t crc;
};

static void id_add(struct idhash *h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h->fnv = (h->fnv ^ b[i]) * 0x100000001b3ull;
    h->crc = hs_crc32c(h->crc, p, n);
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int pread_full(int fd, void *buf, size_t n, off_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (uint8_t *)buf + got, n - got, off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* Hash the footer, the index and every section header it lists.  0, or
 * -1 if the file has no sound trailing index (then it is hashed whole). */
static int hash_index(int fd, uint64_t size, struct idhash *h)
{
    uint8_t foot[HSL_FOOTER_LEN], sh[HSL_SEC_HDR_LEN];
    if (size < HSL_FILE_HDR_LEN + HSL_SEC_HDR_LEN + HSL_FOOTER_LEN ||
        pread_full(fd, foot, sizeof foot, (off_t)(size - HSL_FOOTER_LEN)) ||
        memcmp(foot + 16, HSL_END_MAGIC, 8))
        return -1;
    uint64_t ix = le64(foot);
    if (ix > size - HSL_FOOTER_LEN - HSL_SEC_HDR_LEN || pread_full(fd, sh, sizeof sh, (off_t)ix) ||
        le32(sh) != HSL_SEC_MAGIC || le32(sh + 4) != HS_SEC_INDEX)
        return -1;
    uint64_t len = le64(sh + 16);
    if (len < HSL_INDEX_HDR_LEN || len != size - HSL_FOOTER_LEN - HSL_SEC_HDR_LEN - ix || len > HSL_META_MAX)
        return -1;
    uint8_t *idx = malloc(len);
    if (!idx)
        return -1;
    int rc = -1;
    if (pread_full(fd, idx, len, (off_t)(ix + HSL_SEC_HDR_LEN)))
        goto out;
    uint32_t count = le32(idx);
    if (count > (len - HSL_INDEX_HDR_LEN) / HSL_INDEX_ENT_LEN)
        goto out;
    id_add(h, foot, sizeof foot);
    id_add(h, sh, sizeof sh);
    id_add(h, idx, len);
    for (uint32_t i = 0; i < count; i++) {
        uint64_t off = le64(idx + HSL_INDEX_HDR_LEN + (size_t)i * HSL_INDEX_ENT_LEN + 8);
        if (off > ix - HSL_SEC_HDR_LEN || pread_full(fd, sh, sizeof sh, (off_t)off) || le32(sh) != HSL_SEC_MAGIC)
            goto out;
        id_add(h, sh, sizeof sh); /* its payload CRC with it */
    }
    rc = 0;
out:
    free(idx);
    return rc;
}

int db_snapshot_id(const char *path, struct db_snapid *id, char *err, size_t errlen)
{
    memset(id, 0, sizeof *id);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    id->size = st.st_size;
    id->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (!realpath(path, id->path))
        snprintf(id->path, sizeof id->path, "%s", path);
    uint8_t *buf = malloc(ID_CHUNK);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        close(fd);
        return -1;
    }
    uint64_t size = (uint64_t)st.st_size;
    struct idhash h = {0xcbf29ce484222325ull, 0};
    id_add(&h, &size, sizeof size);
    ssize_t n = pread(fd, buf, ID_CHUNK, 0);
    if (n >= 0) {
        id_add(&h, buf, (size_t)n);
        if (hash_index(fd, size, &h)) {
            /* no index to trust: every byte counts */
            h = (struct idhash){0xcbf29ce484222325ull, 0};
            id_add(&h, &size, sizeof size);
            for (off_t off = 0; (n = pread(fd, buf, ID_CHUNK, off)) > 0; off += n)
                id_add(&h, buf, (size_t)n);
        }
    }
    int e = errno;
    free(buf);
    close(fd);
    if (n < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -1;
    }
    snprintf(id->content_id, sizeof id->content_id, "%016llx%08x", (unsigned long long)h.fnv, h.crc);
    return 0;
}

/* ---------------------------------------------------------- what is there */

void db_path_for(const char *snapshot, char *out, size_t outlen)
{
    size_t n = strlen(snapshot);
    if (n > 6 && !strcmp(snapshot + n - 6, ".hsnap"))
        snprintf(out, outlen, "%.*s.db", (int)(n - 6), snapshot);
    else
        snprintf(out, outlen, "%s.db", snapshot);
}

/* 1 if the file begins with the .hsnap magic. */
static int has_snapshot_magic(const char *path)
{
    char magic[HS_MAGIC_LEN];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, magic, sizeof magic);
    close(fd);
    return n == (ssize_t)sizeof magic && !memcmp(magic, HS_MAGIC, HS_MAGIC_LEN);
}

int db_is_snapshot(const char *path)
{
    return has_snapshot_magic(path) || hs_core_probe(path);
}

int db_is_database(const char *path)
{
    char magic[16];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, magic, sizeof magic);
    close(fd);
    return n == (ssize_t)sizeof magic && !memcmp(magic, "SQLite format 3", 16);
}

static int pragma_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    int v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* heapsnap's marks on an open database: 1 current, 2 an older schema of
 * ours (before the application id), 0 not ours. */
static int our_marks(sqlite3 *db)
{
    int v = pragma_int(db, "PRAGMA user_version");
    if ((v & 0xffff0000) != 0x48530000)
        return 0;
    if (pragma_int(db, "PRAGMA application_id") == DB_APPLICATION_ID)
        return v == DB_USER_VERSION ? 1 : 2;
    return (v & 0xffff) < 3 ? 2 : 0;
}

enum db_state db_classify(const char *dbpath, const struct db_snapid *id, char *other, size_t otherlen)
{
    struct stat st;
    other[0] = 0;
    if (lstat(dbpath, &st) != 0)
        return errno == ENOENT ? DB_ABSENT : DB_FOREIGN;
    if (!S_ISREG(st.st_mode) || !db_is_database(dbpath))
        return DB_FOREIGN;
    sqlite3 *db = NULL;
    enum db_state r = DB_FOREIGN;
    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        goto out;
    int marks = our_marks(db);
    if (!marks)
        goto out;
    r = DB_OTHER;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT path, size, content_id FROM snapshot", -1, &s, NULL) != SQLITE_OK)
        goto out;
    if (sqlite3_step(s) == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(s, 0), *cid = (const char *)sqlite3_column_text(s, 2);
        snprintf(other, otherlen, "%s", p ? p : "");
        int same = sqlite3_column_int64(s, 1) == id->size && cid && !strcmp(cid, id->content_id);
        if (same && marks == 1)
            r = DB_CURRENT;
        else if (same || (p && !strcmp(p, id->path)))
            r = DB_STALE;
    }
    sqlite3_finalize(s);
out:
    sqlite3_close(db);
    return r;
}

int db_may_replace(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    int ours = 0;
    if (S_ISREG(st.st_mode) && db_is_database(path)) {
        sqlite3 *db = NULL;
        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK)
            ours = our_marks(db) != 0;
        sqlite3_close(db);
    }
    if (ours)
        return 0;
    snprintf(err, errlen, "%s: exists and is not a heapsnap database; heapsnap will not replace it "
             "(choose another output with -o FILE, or move it away)", path);
    return -1;
}

/* ---------------------------------------------------------- the lock */

int db_lock_snapshot(const char *snapshot, int wait, char *err, size_t errlen)
{
    int fd = open(snapshot, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", snapshot, strerror(errno));
        return -1;
    }
    int r;
    while ((r = flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB)) != 0 && errno == EINTR)
        ;
    if (r == 0)
        return fd;
    if (errno == EWOULDBLOCK) {
        close(fd);
        return DB_LOCK_BUSY;
    }
    /* a file system without locks: index unlocked, as before */
    if (errno == ENOLCK || errno == EOPNOTSUPP)
        return fd;
    snprintf(err, errlen, "%s: cannot lock it for indexing: %s", snapshot, strerror(errno));
    close(fd);
    return -1;
}

void db_unlock_snapshot(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

/* ---------------------------------------------------------- opening */

/* Open a heapsnap database file; NULL with err if it is not one of ours. */
static sqlite3 *open_db(const char *path, int readonly, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    int rc = SQLITE_CANTOPEN;
    /* NOMUTEX: a connection of ours is only ever used by the thread that
     * opened it (a second thread reads through its own: analysis/load.c),
     * and SQLite's per-call mutex was 4.5% of a first leaks on 10 M
     * objects, taken by every sqlite3_column_* of the load */
    if (!readonly)
        rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        /* a database on read-only media is still worth reading */
        sqlite3_close(db);
        db = NULL;
        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
            snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
            sqlite3_close(db);
            return NULL;
        }
    }
    int v = pragma_int(db, "PRAGMA user_version");
    if (our_marks(db) != 1) {
        if ((v & 0xffff0000) == 0x48530000)
            snprintf(err, errlen, "%s: database schema version %d, this heapsnap reads %d; "
                     "index the snapshot again", path, v & 0xffff, DB_SCHEMA_VERSION);
        else
            snprintf(err, errlen, "%s: not a heapsnap database", path);
        sqlite3_close(db);
        return NULL;
    }
    /* Two commands may store their analysis tables at once: the second
     * waits for the first's transaction rather than failing. */
    sqlite3_busy_timeout(db, 600000);
    return db;
}

/* The snapshot table's path and content id. */
static int snapshot_row(sqlite3 *db, char *path, size_t pathlen, char *cid, size_t cidlen, int64_t *size)
{
    sqlite3_stmt *s;
    int ok = 0;
    path[0] = cid[0] = 0;
    if (sqlite3_prepare_v2(db, "SELECT path, content_id, size FROM snapshot", -1, &s, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) && sqlite3_column_text(s, 1)) {
        snprintf(path, pathlen, "%s", (const char *)sqlite3_column_text(s, 0));
        snprintf(cid, cidlen, "%s", (const char *)sqlite3_column_text(s, 1));
        *size = sqlite3_column_int64(s, 2);
        ok = 1;
    }
    sqlite3_finalize(s);
    return ok ? 0 : -1;
}

/* A database given directly: find the snapshot it names and check it is
 * still that snapshot.  0 with snap set (or "" if it is gone), -1 with err. */
static int check_snapshot_of(sqlite3 *db, const char *file, char *snap, size_t snaplen, char *err,
                             size_t errlen)
{
    char cid[64];
    int64_t size = 0;
    if (snapshot_row(db, snap, snaplen, cid, sizeof cid, &size)) {
        snprintf(err, errlen, "%s: the database names no snapshot (an interrupted index?); index the "
                 "snapshot again", file);
        return -1;
    }
    /* moved together: the snapshot beside the database is as good */
    if (access(snap, F_OK) != 0) {
        char guess[PATH_MAX];
        size_t n = strlen(file);
        if (n > 3 && !strcmp(file + n - 3, ".db")) {
            snprintf(guess, sizeof guess, "%.*s.hsnap", (int)(n - 3), file);
            if (access(guess, F_OK) == 0)
                snprintf(snap, snaplen, "%s", guess);
        }
    }
    struct db_snapid *id = malloc(sizeof *id);
    if (!id) {
        snprintf(err, errlen, "%s: out of memory", file);
        return -1;
    }
    int rc = 0;
    if (access(snap, F_OK) != 0) {
        /* a database carried off alone: its tables still answer, and what
         * needs memory says the snapshot is not at hand (rss, mem(), ...) */
        snap[0] = 0;
    } else if (db_snapshot_id(snap, id, err, errlen)) {
        rc = -1;
    } else if (id->size != size || strcmp(id->content_id, cid)) {
        snprintf(err, errlen, "%s: %s is not the snapshot this database was built from (it was replaced "
                 "since); index it again: heapsnap index %s", file, snap, snap);
        rc = -1;
    }
    free(id);
    return rc;
}

static sqlite3 *with_functions(sqlite3 *db, const char *snapshot, const char *dbpath, char *err, size_t errlen)
{
    if (db && db_register_functions(db, snapshot && snapshot[0] ? snapshot : NULL)) {
        snprintf(err, errlen, "%s: cannot register SQL functions: %s", dbpath, sqlite3_errmsg(db));
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

void db_refusal(enum db_state st, const char *file, const char *dbpath, const char *other, char *err,
                size_t errlen)
{
    if (st == DB_OTHER)
        snprintf(err, errlen, "%s: %s is heapsnap's database of another snapshot (%s); heapsnap will not "
                 "replace it: choose another database with --db FILE", file, dbpath, other[0] ? other : "?");
    else
        snprintf(err, errlen, "%s: %s exists and is not a heapsnap database; heapsnap will not replace it: "
                 "choose another database with --db FILE (or move it away)", file, dbpath);
}

int db_may_index_into(const char *snapshot, const char *dbpath, char *err, size_t errlen)
{
    struct db_snapid *id = malloc(sizeof *id);
    char other[PATH_MAX];
    int rc = -1;
    if (!id) {
        snprintf(err, errlen, "%s: out of memory", snapshot);
    } else if (!db_snapshot_id(snapshot, id, err, errlen)) {
        enum db_state st = db_classify(dbpath, id, other, sizeof other);
        if (st == DB_OTHER || st == DB_FOREIGN)
            db_refusal(st, snapshot, dbpath, other, err, errlen);
        else
            rc = 0;
    }
    free(id);
    return rc;
}

sqlite3 *db_open_database(const char *file, int readonly, char *err, size_t errlen)
{
    char snap[PATH_MAX];
    sqlite3 *db = open_db(file, readonly, err, errlen);
    if (db && check_snapshot_of(db, file, snap, sizeof snap, err, errlen)) {
        sqlite3_close(db);
        return NULL;
    }
    return db ? with_functions(db, snap, file, err, errlen) : NULL;
}

sqlite3 *db_open_index(const char *dbpath, const char *snapshot, int readonly, char *err, size_t errlen)
{
    return with_functions(open_db(dbpath, readonly, err, errlen), snapshot, dbpath, err, errlen);
}
