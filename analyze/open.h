/*
 * open.h — "accept either the snapshot or its database", for every command
 * that reads an index.  It sits above the indexer and the database layer
 * and joins them: a database is opened as it is (db_open_database()); a
 * snapshot or a core uses its database when db/ finds it current, builds it
 * first (index/) when it is absent or heapsnap's stale one, and refuses
 * anything else at that path, which it never replaces.
 */
#ifndef HEAPSNAP_OPEN_H
#define HEAPSNAP_OPEN_H

#include <sqlite3.h>
#include <stddef.h>

#include "debuginfo/debuginfo.h"

/* What to do when a snapshot must be indexed on the way. */
struct open_options {
    struct dbg_options dbg;
    int quiet;      /* no "indexing FILE into DB" note */
    const char *db; /* --db: the snapshot's database (default FILE.db) */
    int readonly;   /* open the database read-only (heapsnap sql) */
};

/*
 * A database for FILE (a .db, a .hsnap or a core): FILE.hsnap uses FILE.db
 * (FILE.db appended for other names, or opt->db) if that is heapsnap's
 * database of exactly this snapshot, and indexes FILE into it first if it
 * is absent or heapsnap's stale database of this snapshot.  Indexing holds
 * the snapshot's lock, so that a second command wanting the same index
 * waits and then reuses it.  The SQL functions are registered.  NULL with
 * err on failure.
 */
sqlite3 *open_snapshot_db(const char *file, const struct open_options *opt, char *err, size_t errlen);

/* The snapshot's indexing lock, waiting for another heapsnap (and saying
 * so) if one holds it: an fd for db_unlock_snapshot(), or -1 with err. */
int open_lock_snapshot(const char *snapshot, char *err, size_t errlen);

#endif
