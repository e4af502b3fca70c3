/*
 * open.c — "accept either the snapshot or the database", shared by every
 * analysis command (see db_open_any() in db.h).
 *
 * A database remembers which snapshot it was built from: the snapshot's
 * size, modification time and a content id (CRC32C of its size, its first
 * and its last 64 KiB — the header, and the trailing index and footer that
 * change whenever anything in the file does).  Any mismatch, or a schema
 * from another heapsnap version, and the database is rebuilt.
 */
#include "db/db.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "core/hscore.h"
#include "index/index.h"

#define ID_CHUNK (64 * 1024)

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
    uint32_t crc = hs_crc32c(0, &size, sizeof size);
    off_t offs[2] = {0, st.st_size > ID_CHUNK ? st.st_size - ID_CHUNK : 0};
    for (int k = 0; k < 2; k++) {
        ssize_t n = pread(fd, buf, ID_CHUNK, offs[k]);
        if (n < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            free(buf);
            close(fd);
            return -1;
        }
        crc = hs_crc32c(crc, buf, (size_t)n);
    }
    free(buf);
    close(fd);
    snprintf(id->content_id, sizeof id->content_id, "%08x", crc);
    return 0;
}

void db_path_for(const char *snapshot, char *out, size_t outlen)
{
    size_t n = strlen(snapshot);
    if (n > 6 && !strcmp(snapshot + n - 6, ".hsnap"))
        snprintf(out, outlen, "%.*s.db", (int)(n - 6), snapshot);
    else
        snprintf(out, outlen, "%s.db", snapshot);
}

/* 1 if the file begins with the .hsnap magic: worth trying to index. */
static int is_snapshot(const char *path)
{
    char magic[HS_MAGIC_LEN];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, magic, sizeof magic);
    close(fd);
    return n == (ssize_t)sizeof magic && !memcmp(magic, HS_MAGIC, HS_MAGIC_LEN);
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

static int user_version(sqlite3 *db)
{
    sqlite3_stmt *s;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* Open an existing database file; NULL with err if it is not one of ours. */
static sqlite3 *open_db(const char *path, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        /* a database on read-only media is still worth reading */
        sqlite3_close(db);
        db = NULL;
        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
            snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
            sqlite3_close(db);
            return NULL;
        }
    }
    int v = user_version(db);
    if (v != DB_USER_VERSION) {
        if ((v & 0xffff0000) == 0x48530000)
            snprintf(err, errlen, "%s: database schema version %d, this heapsnap reads %d; "
                     "index the snapshot again", path, v & 0xffff, DB_SCHEMA_VERSION);
        else
            snprintf(err, errlen, "%s: not a heapsnap database", path);
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 2000);
    return db;
}

/* 1 if the database's snapshot row describes the file identified by id. */
static int matches(sqlite3 *db, const struct db_snapid *id)
{
    sqlite3_stmt *s;
    int ok = 0;
    if (sqlite3_prepare_v2(db, "SELECT size, mtime_ns, content_id FROM snapshot", -1, &s, NULL) != SQLITE_OK)
        return 0;
    if (sqlite3_step(s) == SQLITE_ROW) {
        const char *cid = (const char *)sqlite3_column_text(s, 2);
        ok = sqlite3_column_int64(s, 0) == id->size && sqlite3_column_int64(s, 1) == id->mtime_ns &&
             cid && !strcmp(cid, id->content_id);
    }
    sqlite3_finalize(s);
    return ok;
}

sqlite3 *db_open_any(const char *file, const struct db_open_options *opt, char *err, size_t errlen)
{
    if (access(file, R_OK) != 0) {
        snprintf(err, errlen, "%s: %s", file, strerror(errno));
        return NULL;
    }
    if (db_is_database(file)) {
        sqlite3 *db = open_db(file, err, errlen);
        if (db && db_register_functions(db, NULL)) {
            snprintf(err, errlen, "%s: cannot register SQL functions: %s", file, sqlite3_errmsg(db));
            sqlite3_close(db);
            return NULL;
        }
        return db;
    }
    if (!is_snapshot(file) && !hs_core_probe(file)) {
        snprintf(err, errlen, "%s: neither a heapsnap snapshot nor a heapsnap database", file);
        return NULL;
    }
    char dbpath[PATH_MAX + 8];
    db_path_for(file, dbpath, sizeof dbpath);
    struct db_snapid *id = malloc(sizeof *id);
    if (!id) {
        snprintf(err, errlen, "%s: out of memory", file);
        return NULL;
    }
    sqlite3 *db = NULL;
    if (db_snapshot_id(file, id, err, errlen))
        goto out;
    if (db_is_database(dbpath)) {
        char ignored[512];
        db = open_db(dbpath, ignored, sizeof ignored);
        if (db && !matches(db, id)) {
            sqlite3_close(db);
            db = NULL;
        }
    }
    if (!db) {
        struct index_options io = {.snapshot = file, .output = dbpath, .dbg = opt->dbg, .progress = 1};
        struct index_stats st;
        if (!opt->quiet)
            fprintf(stderr, "heapsnap %s: indexing %s into %s\n", cli_command, file, dbpath);
        if (index_snapshot(&io, &st, err, errlen))
            goto out;
        if (!(db = open_db(dbpath, err, errlen)))
            goto out;
    }
    if (db_register_functions(db, file)) {
        snprintf(err, errlen, "%s: cannot register SQL functions: %s", dbpath, sqlite3_errmsg(db));
        sqlite3_close(db);
        db = NULL;
    }
out:
    free(id);
    return db;
}
