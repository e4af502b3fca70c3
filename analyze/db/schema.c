/*
 * schema.c — the CREATE statements of a heapsnap database (documented for
 * users in docs/schema.md; keep the two in step) and its version mark.
 *
 * The two big tables need no index built after the load: refs is
 * clustered by the key people look it up by, and objects_addr is created
 * with objects, because objects arrive in address order, so keeping it as
 * they go is an append too (measured: a quarter of what CREATE INDEX
 * costs afterwards, whose sorter sorts them again).  db_finish_tables()
 * adds, after the load, the symbols' indexes (symbols arrive in no useful
 * order) and the objects' generated columns (see generated_sql()).
 */
#include "db/db.h"
#include "heap/allocator.h"
#include "types/store.h"
#include "types/types.h"

#include <stdio.h>
#include <string.h>

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
    "CREATE TABLE roots(id INTEGER PRIMARY KEY, kind TEXT NOT NULL, name TEXT,\n"
    "  thread INTEGER, addr INTEGER, size INTEGER, module INTEGER, type_id INTEGER);\n"
    /* refs are clustered by their target: the loader sorts them by (dst,
     * src, offset) in memory (index/refsort.h) and appends them in key
     * order, so "who points to X" is served by the primary key and no
     * CREATE INDEX runs after the load.  "What X points to" (src alone)
     * is a scan; the analyses read every ref once anyway. */
    "CREATE TABLE refs(src INTEGER NOT NULL, dst INTEGER NOT NULL,\n"
    "  offset INTEGER NOT NULL, interior INTEGER NOT NULL,\n"
    "  PRIMARY KEY(dst, src, offset)) WITHOUT ROWID;\n"
    "CREATE TABLE warnings(id INTEGER PRIMARY KEY, addr INTEGER, source TEXT, message TEXT);\n";

static const char indexes_sql[] =
    "CREATE INDEX symbols_addr ON symbols(addr);\n"
    "CREATE INDEX symbols_name ON symbols(name);\n";


_Static_assert(HEAP_WHERE_MAX <= DB_BITS_WHERE_NONE, "objects.bits has 5 bits for where");

int db_object_bits(int used, unsigned where)
{
    int a = heap_allocator_index(heap_where_heap(where));
    unsigned w = heap_where_name(where) ? where : DB_BITS_WHERE_NONE;
    unsigned h = a >= 0 && a < (int)DB_BITS_HEAP_NONE ? (unsigned)a : DB_BITS_HEAP_NONE;
    return (int)(w | h << 5 | (used ? 0 : DB_BITS_FREE));
}

/*
 * objects: what the docs promise as text (state, heap, where,
 * type_source) and what follows from other columns (chunk, chunk_size)
 * are VIRTUAL generated columns, computed when read and never stored, so
 * a row holds only numbers, most of them one byte or none (SQLite stores
 * 0 and 1 in the record header alone).  The stored ones are bits (see
 * db.h), chunk_off (addr - chunk), chunk_extra (chunk_size - size) and
 * tsrc (enum ty_source).  Generated columns need SQLite 3.31 (2020) in
 * whatever client reads the file.  The CASE lists come from the very
 * tables the loader encodes with, so they cannot drift apart.
 */
static const char objects_sql[] =
    "CREATE TABLE objects(id INTEGER PRIMARY KEY, addr INTEGER NOT NULL,\n"
    "  size INTEGER NOT NULL, type_id INTEGER, arena INTEGER, type_count INTEGER,\n"
    "  bits INTEGER NOT NULL, chunk_off INTEGER NOT NULL, chunk_extra INTEGER NOT NULL,\n"
    "  tsrc INTEGER);\n";

/*
 * The generated columns, added by ALTER TABLE once the rows are in.  SQLite
 * computes every generated column of each row it inserts, VIRTUAL ones
 * too, although it stores none of them: the CASE over some twenty where
 * names ran for every object, and the six columns together were 30% of
 * the objects' load (10M objects: 9.9 s with them declared, 6.9 s
 * without).  Adding a VIRTUAL column changes only the schema text, so
 * this costs nothing however many rows there are; the price is that they
 * come after the stored columns in SELECT *.
 */
static char *generated_sql(void)
{
    sqlite3_str *b = sqlite3_str_new(NULL);
    sqlite3_str_appendall(b,
        "ALTER TABLE objects ADD COLUMN state TEXT GENERATED ALWAYS AS\n"
        "  (CASE WHEN bits & 256 THEN 'free' ELSE 'used' END) VIRTUAL;\n"
        "ALTER TABLE objects ADD COLUMN chunk INTEGER GENERATED ALWAYS AS (addr - chunk_off) VIRTUAL;\n"
        "ALTER TABLE objects ADD COLUMN chunk_size INTEGER GENERATED ALWAYS AS (size + chunk_extra) VIRTUAL;\n"
        "ALTER TABLE objects ADD COLUMN heap TEXT GENERATED ALWAYS AS (CASE (bits >> 5) & 7");
    for (unsigned i = 0; allocators[i] && i < DB_BITS_HEAP_NONE; i++)
        sqlite3_str_appendf(b, " WHEN %u THEN %Q", i, allocators[i]->name);
    sqlite3_str_appendall(b, " END) VIRTUAL;\n"
                             "ALTER TABLE objects ADD COLUMN \"where\" TEXT GENERATED ALWAYS AS (CASE bits & 31");
    for (unsigned w = 0; w < heap_where_count(); w++)
        if (heap_where_name(w))
            sqlite3_str_appendf(b, " WHEN %u THEN %Q", w, heap_where_name(w));
    sqlite3_str_appendall(b, " END) VIRTUAL;\n"
                             "ALTER TABLE objects ADD COLUMN type_source TEXT GENERATED ALWAYS AS (CASE tsrc");
    for (unsigned k = 1; ty_source_name(k); k++)
        sqlite3_str_appendf(b, " WHEN %u THEN %Q", k, ty_source_name(k));
    sqlite3_str_appendall(b, " END) VIRTUAL;\n");
    return sqlite3_str_finish(b);
}

int db_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sql && sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    snprintf(err, errlen, "%s", msg ? msg : sql ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_free(msg);
    return -1;
}

int db_create_tables(sqlite3 *db, char *err, size_t errlen)
{
    char sql[128];
    if (heap_where_count() > HEAP_WHERE_MAX) { /* a build with more kinds than objects.bits holds */
        snprintf(err, errlen, "the allocators name %u where kinds, more than the %u objects.bits can hold",
                 heap_where_count(), HEAP_WHERE_MAX);
        return -1;
    }
    if (db_exec(db, tables_sql, err, errlen))
        return -1;
    if (db_exec(db, objects_sql, err, errlen) || db_exec(db, "CREATE INDEX objects_addr ON objects(addr)", err, errlen))
        return -1;
    if (ty_db_create(db, err, errlen)) /* types, fields, enumerators and their views: types/store.c */
        return -1;
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d; PRAGMA application_id = %d", DB_USER_VERSION,
             DB_APPLICATION_ID);
    return db_exec(db, sql, err, errlen);
}

int db_finish_tables(sqlite3 *db, char *err, size_t errlen)
{
    char *generated = generated_sql();
    int rc = db_exec(db, generated, err, errlen);
    sqlite3_free(generated);
    return rc || db_exec(db, indexes_sql, err, errlen) ? -1 : 0;
}
