/*
 * diffout.c — the database `heapsnap diff -o FILE` writes: the result
 * tables of a comparison (docs/schema.md: diff_files, diff_types,
 * diff_objects, diff_growth), made here beside the diff itself (diff.c),
 * so that the command only decides what goes in and what to say.
 *
 * The file is a database of its own, not a snapshot's, marked with
 * heapsnap's application_id: it may be replaced only when it is one that
 * heapsnap wrote (diff_out_may_write), and everything goes in one
 * transaction, committed at the end.
 */
#include "analysis/analysis.h"

#include <stdio.h>
#include <unistd.h>

#include "db/db.h"

int diff_out_may_write(const char *path)
{
    if (access(path, F_OK) != 0)
        return 1;
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int ours = db_is_database(path) && sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
               sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_application_id WHERE application_id = ?"
                                  " AND EXISTS (SELECT 1 FROM sqlite_schema WHERE name = 'diff_files')",
                                  -1, &s, NULL) == SQLITE_OK &&
               sqlite3_bind_int(s, 1, DB_APPLICATION_ID) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW;
    sqlite3_finalize(s);
    sqlite3_close(db);
    return ours;
}

_Static_assert(DB_APPLICATION_ID == 1213416514, "diff_out_open's PRAGMA application_id");

int diff_out_open(struct diff_out *o, const char *path, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_open_v2(path, &o->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK ||
        sqlite3_exec(o->db,
                     "PRAGMA synchronous = OFF; PRAGMA application_id = 1213416514; BEGIN;"
                     "DROP TABLE IF EXISTS diff_types; DROP TABLE IF EXISTS diff_objects;"
                     "DROP TABLE IF EXISTS diff_growth; DROP TABLE IF EXISTS diff_files;"
                     "CREATE TABLE diff_files(snapshot TEXT PRIMARY KEY, file TEXT);"
                     "CREATE TABLE diff_types(type TEXT, new_count INTEGER, deleted_count INTEGER,"
                     " delta_count INTEGER, alloc_size INTEGER, freed_size INTEGER, size_delta INTEGER);"
                     "CREATE TABLE diff_objects(snapshot TEXT, addr INTEGER, size INTEGER, type TEXT,"
                     " status TEXT, retainer TEXT);"
                     "CREATE TABLE diff_growth(kind TEXT, retainer TEXT, type TEXT, count INTEGER,"
                     " bytes INTEGER, example INTEGER);",
                     NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_prepare_v2(o->db, "INSERT INTO diff_files VALUES(?,?)", -1, &o->file, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(o->db, "INSERT INTO diff_types VALUES(?,?,?,?,?,?,?)", -1, &o->type, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(o->db, "INSERT INTO diff_objects VALUES(?,?,?,?,?,?)", -1, &o->obj, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(o->db, "INSERT INTO diff_growth VALUES(?,?,?,?,?,?)", -1, &o->grow, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, msg ? msg : o->db ? sqlite3_errmsg(o->db) : "out of memory");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* Run s, bound already, once; 0 or -1. */
static int step(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(s);
    return rc;
}

int diff_out_file(struct diff_out *o, const char *snapshot, const char *file)
{
    sqlite3_bind_text(o->file, 1, snapshot, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(o->file, 2, file, -1, SQLITE_TRANSIENT);
    return step(o->file);
}

int diff_out_type(struct diff_out *o, const char *type, int64_t nnew, int64_t ndel, int64_t alloc, int64_t freed)
{
    sqlite3_bind_text(o->type, 1, type, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(o->type, 2, nnew);
    sqlite3_bind_int64(o->type, 3, ndel);
    sqlite3_bind_int64(o->type, 4, nnew - ndel);
    sqlite3_bind_int64(o->type, 5, alloc);
    sqlite3_bind_int64(o->type, 6, freed);
    sqlite3_bind_int64(o->type, 7, alloc - freed);
    return step(o->type);
}

int diff_out_object(struct diff_out *o, const char *snapshot, const struct hgraph *h, uint32_t i, const char *status,
                    const char *retainer)
{
    char g[128];
    sqlite3_bind_text(o->obj, 1, snapshot, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(o->obj, 2, (int64_t)h->addr[i]);
    sqlite3_bind_int64(o->obj, 3, (int64_t)h->osize[i]);
    sqlite3_bind_text(o->obj, 4, hg_group_name(h, h->group[i], g, sizeof g), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(o->obj, 5, status, -1, SQLITE_TRANSIENT);
    if (retainer)
        sqlite3_bind_text(o->obj, 6, retainer, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(o->obj, 6);
    return step(o->obj);
}

int diff_out_growth(struct diff_out *o, const char *kind, const char *retainer, const char *type, uint64_t count,
                    uint64_t bytes, uint64_t example)
{
    sqlite3_bind_text(o->grow, 1, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(o->grow, 2, retainer, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(o->grow, 3, type, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(o->grow, 4, (int64_t)count);
    sqlite3_bind_int64(o->grow, 5, (int64_t)bytes);
    sqlite3_bind_int64(o->grow, 6, (int64_t)example);
    return step(o->grow);
}

int diff_out_commit(struct diff_out *o, const char *path, char *err, size_t errlen)
{
    if (sqlite3_exec(o->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(o->db));
    return -1;
}

void diff_out_close(struct diff_out *o)
{
    if (!o->db)
        return;
    sqlite3_finalize(o->file);
    sqlite3_finalize(o->type);
    sqlite3_finalize(o->obj);
    sqlite3_finalize(o->grow);
    sqlite3_close(o->db); /* an uncommitted transaction is rolled back */
    o->db = NULL;
}
