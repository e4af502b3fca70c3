/*
 * schema.c — the CREATE statements of a heapsnap database (documented for
 * users in docs/schema.md; keep the two in step) and its version mark.
 *
 * Tables are created bare; db_create_indexes() adds the secondary indexes
 * after the bulk load, because building an index once from sorted data is
 * far cheaper than maintaining it row by row.
 */
#include "db/db.h"
#include "types/store.h"

#include <stdio.h>

static const char tables_sql[] =
    "CREATE TABLE snapshot(\n"
    "  path TEXT, size INTEGER, mtime_ns INTEGER, content_id TEXT,\n"
    "  pid INTEGER, exe TEXT, argv TEXT, hostname TEXT, kernel TEXT,\n"
    "  page_size INTEGER, policy TEXT, redacted INTEGER,\n"
    "  truncated INTEGER, truncation TEXT,\n"
    "  capture_time_ns INTEGER, capture_time TEXT,\n"
    "  pause_ns INTEGER, capture_ns INTEGER, bytes_read INTEGER, bytes_zero INTEGER,\n"
    "  bytes_absent INTEGER, bytes_swapped INTEGER, bytes_unreadable INTEGER,\n"
    "  capture_mode TEXT, capture_failures INTEGER,\n"
    "  allocator TEXT, objects INTEGER, used INTEGER, free INTEGER,\n"
    "  roots INTEGER, refs INTEGER, warnings INTEGER,\n"
    "  indexed_at TEXT, index_seconds REAL, schema_version INTEGER,\n"
    "  typed_objects INTEGER, typed_bytes INTEGER, type_conflicts INTEGER);\n"
    "CREATE TABLE facts(key TEXT PRIMARY KEY, value TEXT);\n"
    "CREATE TABLE mappings(id INTEGER PRIMARY KEY, start INTEGER, end INTEGER,\n"
    "  perms TEXT, offset INTEGER, dev TEXT, inode INTEGER, path TEXT,\n"
    "  captured INTEGER, rss INTEGER, pss INTEGER, private_clean INTEGER,\n"
    "  private_dirty INTEGER, shared_clean INTEGER, shared_dirty INTEGER,\n"
    "  swap INTEGER, anonymous INTEGER, anon_huge INTEGER, vmflags TEXT, lazyfree INTEGER);\n"
    "CREATE TABLE modules(id INTEGER PRIMARY KEY, path TEXT, base INTEGER,\n"
    "  lowest INTEGER, build_id TEXT, elf_path TEXT, debug_path TEXT,\n"
    "  has_symtab INTEGER, has_dwarf INTEGER, problem TEXT);\n"
    "CREATE TABLE threads(tid INTEGER PRIMARY KEY, name TEXT, state TEXT,\n"
    "  pc INTEGER, sp INTEGER, fp INTEGER, fs_base INTEGER,\n"
    "  stack_start INTEGER, stack_end INTEGER, registers BLOB);\n"
    "CREATE TABLE symbols(id INTEGER PRIMARY KEY, addr INTEGER, size INTEGER,\n"
    "  name TEXT, type TEXT, bind TEXT, module INTEGER);\n"
    "CREATE TABLE regions(id INTEGER PRIMARY KEY, start INTEGER, end INTEGER,\n"
    "  kind TEXT, arena INTEGER, heap TEXT);\n"
    "CREATE TABLE objects(id INTEGER PRIMARY KEY, addr INTEGER NOT NULL,\n"
    "  size INTEGER NOT NULL, state TEXT NOT NULL, type_id INTEGER,\n"
    "  chunk INTEGER, chunk_size INTEGER, heap TEXT, \"where\" TEXT, arena INTEGER,\n"
    "  type_source TEXT, type_count INTEGER);\n"
    "CREATE TABLE roots(id INTEGER PRIMARY KEY, kind TEXT NOT NULL, name TEXT,\n"
    "  thread INTEGER, addr INTEGER, size INTEGER, module INTEGER, type_id INTEGER);\n"
    /* refs arrive sorted by (src, offset), which is unique: as the primary
     * key of a WITHOUT ROWID table it costs nothing and serves "what does X
     * point to" without a second index. */
    "CREATE TABLE refs(src INTEGER NOT NULL, dst INTEGER NOT NULL,\n"
    "  offset INTEGER NOT NULL, interior INTEGER NOT NULL,\n"
    "  PRIMARY KEY(src, offset)) WITHOUT ROWID;\n"
    "CREATE TABLE warnings(id INTEGER PRIMARY KEY, addr INTEGER, source TEXT, message TEXT);\n";

static const char indexes_sql[] =
    "CREATE INDEX objects_addr ON objects(addr);\n"
    "CREATE INDEX refs_dst ON refs(dst);\n"
    "CREATE INDEX symbols_addr ON symbols(addr);\n"
    "CREATE INDEX symbols_name ON symbols(name);\n";

int db_create_tables(sqlite3 *db, char **errmsg)
{
    char sql[128];
    if (sqlite3_exec(db, tables_sql, NULL, NULL, errmsg) != SQLITE_OK)
        return -1;
    if (ty_db_create(db, errmsg)) /* types, fields, enumerators and their views: types/store.c */
        return -1;
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d; PRAGMA application_id = %d", DB_USER_VERSION,
             DB_APPLICATION_ID);
    return sqlite3_exec(db, sql, NULL, NULL, errmsg) == SQLITE_OK ? 0 : -1;
}

int db_create_indexes(sqlite3 *db, char **errmsg)
{
    return sqlite3_exec(db, indexes_sql, NULL, NULL, errmsg) == SQLITE_OK ? 0 : -1;
}
