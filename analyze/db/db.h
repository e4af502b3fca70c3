/*
 * db.h — heapsnap's SQLite database: what the indexer writes and every
 * analysis command reads.  docs/schema.md documents the tables for users;
 * this header is the C side.
 *
 *   schema.c     CREATE statements; the schema version in PRAGMA user_version
 *   load.c       bulk loading, in one transaction, rows in key order
 *   functions.c  hex() sym() mem() u64() cstr() obj() for SQL
 *   fn_field.c   field() and field_name() for SQL
 *   feed.c       the virtual tables the bulk load selects from
 *   bulk.c       the big tables' b-trees, written by us in SQLite's file
 *                format and spliced in after SQLite has closed the file
 *   open.c       which database is whose: a snapshot's content id, what
 *                lies at a database path for it, the indexing lock, and
 *                opening one of ours (analyze/open.c, above the indexer,
 *                decides whether to reuse, build or refuse)
 */
#ifndef HEAPSNAP_DB_DB_H
#define HEAPSNAP_DB_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "debuginfo/debuginfo.h"
#include "hsnap.h"
#include "model/objects.h"
#include "model/roots.h"

/* PRAGMA user_version: "HS" in the high half marks our databases, the low
 * half is the schema version.  Bump it for any incompatible change; open.c
 * then re-indexes instead of misreading an old file.  PRAGMA application_id
 * ("HSDB", the SQLite header's own field for this) says the file is
 * heapsnap's; open.c replaces nothing that lacks both marks.  Version 3:
 * the application id, and content ids over every section checksum.
 * Version 4: refs clustered by (dst, src, offset) with no index on dst;
 * objects' text columns generated from small integers (schema.c).
 * Version 5: each allocator's where kinds numbered end to end.  Version 6:
 * objects' generated columns after its stored ones (added after the load). */
#define DB_SCHEMA_VERSION 6
#define DB_USER_VERSION   (0x48530000 | DB_SCHEMA_VERSION)
#define DB_APPLICATION_ID 0x48534442

/* ------------------------------------------------------------ schema.c */

/* Run sql (several statements); 0, or -1 with SQLite's message in err
 * (sql NULL, from a failed sqlite3_mprintf, is "out of memory"). */
int db_exec(sqlite3 *db, const char *sql, char *err, size_t errlen);
/* The tables, as the load fills them: objects without its generated columns,
 * and no secondary index but objects_addr.  db_finish_tables(), after the
 * rows are in and before the commit, adds the rest (schema.c says why):
 * until then, read objects by its stored columns only. */
int db_create_tables(sqlite3 *db, char *err, size_t errlen);
int db_finish_tables(sqlite3 *db, char *err, size_t errlen);

/* objects.bits, from which the state, where and heap columns are generated:
 * bits 0-4 the where (heap_where_base's numbering, allocator.h;
 * DB_BITS_WHERE_NONE: none), bits 5-7 the heap (the where's allocator's
 * place in allocators[]; DB_BITS_HEAP_NONE: none), bit 8 (DB_BITS_FREE)
 * set for a free object.  A readers' own query
 * may test them directly: bits & 256 = 0 is state = 'used'. */
#define DB_BITS_WHERE_NONE 31u
#define DB_BITS_HEAP_NONE  7u
#define DB_BITS_FREE       256u
int db_object_bits(int used, unsigned where);

/* ------------------------------------------------------------ open.c */

/* What identifies a snapshot file's contents, stored in the snapshot table. */
struct db_snapid {
    char path[4096];      /* absolute path when indexed */
    int64_t size;
    int64_t mtime_ns;     /* kept for people; not part of the match */
    char content_id[32];  /* 24 hex digits: see db_snapshot_id() */
};

/*
 * Fill id from the file at path; -1 with err ("FILE: why") on failure.
 * The content id hashes (FNV-1a 64 and CRC32C) the file's size, its first
 * 64 KiB, its footer, its trailing index and every section header — each
 * of which holds the CRC32C of its payload — so that any change to any
 * byte of a valid snapshot changes the id, while only a few bytes per
 * section are read.  (A payload changed without its checksum is not a
 * valid snapshot: the reader refuses it.)  A file without a sound footer
 * and index (a truncated capture) is hashed whole.
 */
int db_snapshot_id(const char *path, struct db_snapid *id, char *err, size_t errlen);

/* What lies at a database path, for a given snapshot. */
enum db_state {
    DB_ABSENT,  /* nothing: free to create */
    DB_CURRENT, /* heapsnap's database of exactly this snapshot */
    DB_STALE,   /* heapsnap's, for this snapshot's path, but outdated */
    DB_OTHER,   /* heapsnap's database of another snapshot (its path in other) */
    DB_FOREIGN, /* not heapsnap's, or not a regular file */
};
enum db_state db_classify(const char *dbpath, const struct db_snapid *id, char *other, size_t otherlen);
/* The refusal of what db_classify() found at dbpath (DB_OTHER, DB_FOREIGN)
 * for file: "FILE: DBPATH is ...; choose another database with --db FILE". */
void db_refusal(enum db_state st, const char *file, const char *dbpath, const char *other, char *err,
                size_t errlen);

/*
 * A heapsnap database given directly: opened (read-only if asked, or if
 * the file allows no more), once the snapshot it names is checked to be the
 * one it was built from (a replaced snapshot is refused: its memory would
 * not be the database's; a missing one is not, the tables alone still
 * answer).  The SQL functions are registered on the connection.  NULL with
 * err ("FILE: why") on failure.
 */
sqlite3 *db_open_database(const char *file, int readonly, char *err, size_t errlen);
/* Our database at dbpath, that db_classify() found DB_CURRENT for snapshot
 * (or that was just built from it), with the SQL functions reading
 * snapshot.  NULL with err. */
sqlite3 *db_open_index(const char *dbpath, const char *snapshot, int readonly, char *err, size_t errlen);

/* Take the indexing lock of a snapshot (an flock on it): an fd to pass to
 * db_unlock_snapshot(); DB_LOCK_BUSY if another process holds it and wait
 * is 0 (then call again with wait 1, after saying so); -1 with err. */
#define DB_LOCK_BUSY (-2)
int db_lock_snapshot(const char *snapshot, int wait, char *err, size_t errlen);
void db_unlock_snapshot(int fd);

/* 1 if path is worth indexing: a .hsnap file or an ELF core (either one,
 * compressed or not, as format/core reads them). */
int db_is_snapshot(const char *path);

/* Whether the index of snapshot may be written to dbpath, the default
 * place: 0 if nothing is there or heapsnap's database of this snapshot (up
 * to date or stale), -1 with err for anything else (db_refusal()'s). */
int db_may_index_into(const char *snapshot, const char *dbpath, char *err, size_t errlen);

/* Whether path may be replaced by a new database: 0 if it does not exist
 * or is a heapsnap database (PRAGMA application_id and user_version), -1
 * with err ("PATH: why, and what to do") for anything else. */
int db_may_replace(const char *path, char *err, size_t errlen);

/* The default database path of a snapshot: FILE.db for FILE.hsnap, else
 * FILE.db appended to the whole name. */
void db_path_for(const char *snapshot, char *out, size_t outlen);

/* 1 if the file begins with SQLite's magic header. */
int db_is_database(const char *path);

/* ------------------------------------------------------------ functions.c */

/* Register hex sym mem u64 cstr obj on db.  They read 'snapshot', or, if
 * that is NULL, the file the snapshot table names; it is opened on first use
 * (a query that never reads memory never pays for it).  0 or -1. */
int db_register_functions(sqlite3 *db, const char *snapshot);
/* field(obj_id, 'path') and field_name(src, offset) (fn_field.c), registered
 * by db_register_functions. */
int db_register_field(sqlite3 *db);

/* ------------------------------------------------------------ load.c */

struct db_load;

/* Start the bulk load: fast pragmas, the tables, one transaction, every
 * insert statement prepared.  NULL with err on failure. */
struct db_load *db_load_begin(sqlite3 *db, char *err, size_t errlen);

/* The snapshot's own metadata: mappings, modules (with the debug files
 * found for them), threads and symbols. */
int db_load_metadata(struct db_load *l, const struct hs_snapshot *s, struct dbg *d);
int db_load_root(struct db_load *l, int64_t id, const struct root *r);

/* The bulk paths (bulk.c): all objects of a finished table, ids i + 1,
 * with objects_addr; and all refs, as pull() hands them over (1 a row, 0
 * the end, -1 failure), in the table's key order (dst, src, offset):
 * index/refsort.h sorts them.  Their rows reach the file only at
 * db_load_splice(). */
int db_load_objects(struct db_load *l, const struct objtab *t,
                    void (*progress)(void *u, uint64_t done, uint64_t total), void *user);
struct db_ref {
    int64_t src, dst;
    uint64_t offset;
    int interior;
};
int db_load_refs(struct db_load *l, int (*pull)(void *u, struct db_ref *r), void *user);
int db_load_warning(struct db_load *l, uint64_t addr, const char *source, const char *message);
int db_load_fact(struct db_load *l, const char *key, const char *value);
int db_load_region(struct db_load *l, const struct heap_region *r, const char *heap);

/*
 * Bulk insert from C callbacks, in one INSERT ... SELECT through a virtual
 * table (feed.c): far cheaper per row than stepping a prepared INSERT.
 * 'insert' is the statement's head, e.g. "INSERT INTO refs(src, dst, offset,
 * interior)"; decl declares the feed's columns in the same order, e.g.
 * "CREATE TABLE x(src, dst, offset, interior)".  next() moves to the next
 * row: 1 there is one, 0 the end, -1 failure; column() sets column col of
 * the current row with sqlite3_result_*().  0, or -1 with err.
 */
struct db_feed {
    const char *decl;
    void *user;
    int (*next)(void *user);
    void (*column)(void *user, sqlite3_context *ctx, int col);
};
int db_feed_insert(sqlite3 *db, const char *insert, struct db_feed *f, char *err, size_t errlen);

/* The typing of objects and roots (types/infer.c), written into their rows
 * as they are loaded; set before db_load_objects.  nroots turns a root id
 * back into an index. */
struct tytab;
struct ty_result;
void db_load_set_typing(struct db_load *l, const struct tytab *t, const struct ty_result *r,
                        size_t nroots);

/* Figures for the snapshot row that only the pipeline knows. */
struct db_summary {
    const struct db_snapid *id;
    const char *allocator;  /* "glibc", or NULL if none was found */
    uint64_t objects, used, free, roots, refs;
    uint64_t typed_objects, typed_bytes, type_conflicts; /* types/infer.c */
    double index_seconds;
};

/* Write the snapshot row, build the indexes, commit.  0 or -1. */
int db_load_finish(struct db_load *l, const struct hs_snapshot *s, const struct db_summary *sum);
/* After db_load_finish() and sqlite3_close(): put the bulk tables' rows
 * into the database at path (db_bulk_splice).  0 or -1. */
int db_load_splice(struct db_load *l, const char *path);
/* The bulk writer of the load, for db_analysis_write(). */
struct db_bulk *db_load_bulk(struct db_load *l);
/* Warning rows written so far. */
uint64_t db_load_warnings(const struct db_load *l);
/* The last error, "what failed: sqlite's message". */
const char *db_load_error(const struct db_load *l);
/* Fail the load with msg (a failure outside SQLite): db_load_error() says it.  -1. */
int db_load_fail(struct db_load *l, const char *msg);
/* Free the statements (rolling back if db_load_finish was not reached). */
void db_load_free(struct db_load *l);

/* ------------------------------------------------------------ bulk.c */

/*
 * B-trees in SQLite's file format, built outside SQLite from rows given in
 * key order, for tables (and indexes) that SQLite created empty in the
 * database: their leaves go to a scratch file beside it, and
 * db_bulk_splice() appends them to the database, once SQLite has closed
 * it, with the interior pages above them in the place of each empty root.
 * Every column is an integer or NULL.  bulk.c says why and how.
 */
struct db_bulk;
struct db_bulk_tree;
/* A writer for the database db has open (a file, pages of 4 KiB or more).
 * NULL with err. */
struct db_bulk *db_bulk_new(sqlite3 *db, char *err, size_t errlen);
/* The tree of the table or index called name, which must be empty and stay
 * so in SQLite's hands: index 0 for a rowid table, 1 for an index or a
 * WITHOUT ROWID table.  NULL with db_bulk_error(). */
struct db_bulk_tree *db_bulk_tree(struct db_bulk *b, const char *name, int index);
/* A rowid table's row: its rowid (rising) and its record's n columns, those
 * in nulls' bits NULL (an INTEGER PRIMARY KEY column is NULL in the
 * record).  0, or -1 with db_bulk_error(). */
int db_bulk_row(struct db_bulk_tree *t, int64_t rowid, const int64_t *v, uint32_t nulls, int n);
/* An index tree's entry of n integer columns, each entry above the last. */
int db_bulk_entry(struct db_bulk_tree *t, const int64_t *v, int n);
/* Splice every tree into the closed database at path.  0 or -1. */
int db_bulk_splice(struct db_bulk *b, const char *path);
const char *db_bulk_error(const struct db_bulk *b);
void db_bulk_free(struct db_bulk *b);
/* What the splice did, for tests: pages written (leaves; interior pages
 * besides the roots), the most levels a tree had, how often the end of an
 * index tree took its divider back from the last full leaf, how often an
 * interior page closed a child early not to leave one alone on the next,
 * whether the lock-byte page fell among the new pages, and whether the
 * scratch file became the database (bulk.c's adopt()) or its leaves were
 * copied. */
struct db_bulk_stats {
    uint64_t leaves, interior, retakes, backoffs;
    unsigned levels;
    int skipped_lock_page, adopted;
};
void db_bulk_stats(const struct db_bulk *b, struct db_bulk_stats *st);
/* For tests: the byte whose page is the lock-byte page (SQLite's
 * SQLITE_TESTCTRL_PENDING_BYTE; 1 GiB unless moved). */
void db_bulk_set_pending_byte(uint64_t at);

/* ------------------------------------------------------------ analysis.c */

/*
 * The analysis table (docs/schema.md), from a dominator tree worked out on
 * the heap graph of graph.h: node 0 the super-root, nodes 1..nroots the
 * roots (ids -nroots..-1), then the objects (ids 1..nobjs).  Every root
 * and every used object gets a row; a free chunk none.
 */
struct db_analysis {
    uint32_t nroots, nobjs;
    const uint8_t *used;              /* [nobjs] */
    const uint32_t *idom;             /* [n], GRAPH_NONE if unreachable */
    const uint64_t *retained_size;    /* [n] */
    const uint32_t *retained_count;   /* [n] */
    const char *progress;             /* the phase to say it as, or NULL */
};
/* (Re)create the table and its view, and fill it; inside the caller's
 * transaction; through bulk (the rows reach the file at its splice) if
 * that is not NULL.  0, or -1 with err. */
int db_analysis_write(sqlite3 *db, struct db_bulk *bulk, const struct db_analysis *a, char *err,
                      size_t errlen);
/* The step that the analysis table is: analysis_done's row for it says the
 * table holds the answer (and answers made from it are current). */
#define DB_STEP_DOMINATORS "dominators"
/* 1 if step is recorded in analysis_done, 0 if not (or no such table). */
int db_step_done(sqlite3 *db, const char *step);
/* Record step as done (INSERT OR REPLACE), with the seconds it took. */
int db_step_mark(sqlite3 *db, const char *step, double seconds);

#endif
