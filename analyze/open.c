/*
 * open.c — a snapshot or its database, opened for a command (see open.h):
 * the decision db/open.c's checks feed, and the indexer run on the way.
 */
#include "open.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/notify.h"
#include "db/db.h"
#include "index/index.h"

int open_lock_snapshot(const char *snapshot, char *err, size_t errlen)
{
    int fd = db_lock_snapshot(snapshot, 0, err, errlen);
    if (fd == DB_LOCK_BUSY) {
        notify_note("waiting for another heapsnap that is indexing %s", snapshot);
        fd = db_lock_snapshot(snapshot, 1, err, errlen);
    }
    return fd;
}

sqlite3 *open_snapshot_db(const char *file, const struct open_options *opt, char *err, size_t errlen)
{
    if (access(file, R_OK) != 0) {
        snprintf(err, errlen, "%s: %s", file, strerror(errno));
        return NULL;
    }
    if (db_is_database(file))
        return db_open_database(file, opt->readonly, err, errlen);
    if (!db_is_snapshot(file)) {
        snprintf(err, errlen, "%s: neither a heapsnap snapshot nor a heapsnap database", file);
        return NULL;
    }
    char dbpath[PATH_MAX + 8], other[PATH_MAX];
    if (opt->db)
        snprintf(dbpath, sizeof dbpath, "%s", opt->db);
    else
        db_path_for(file, dbpath, sizeof dbpath);
    struct db_snapid *id = malloc(sizeof *id);
    if (!id) {
        snprintf(err, errlen, "%s: out of memory", file);
        return NULL;
    }
    sqlite3 *db = NULL;
    int lock = -1;
    if (db_snapshot_id(file, id, err, errlen))
        goto out;
    enum db_state st = db_classify(dbpath, id, other, sizeof other);
    if (st == DB_ABSENT || st == DB_STALE) {
        /* build it under the lock, unless the holder just did */
        if ((lock = open_lock_snapshot(file, err, errlen)) < 0)
            goto out;
        st = db_classify(dbpath, id, other, sizeof other);
        if (st == DB_ABSENT || st == DB_STALE) {
            struct index_options io = {.snapshot = file, .output = dbpath, .dbg = opt->dbg, .progress = 1};
            struct index_stats is;
            if (!opt->quiet)
                notify_note("indexing %s into %s", file, dbpath);
            if (index_snapshot(&io, &is, err, errlen))
                goto out;
            st = DB_CURRENT;
        }
    }
    if (st != DB_CURRENT) {
        db_refusal(st, file, dbpath, other, err, errlen);
        goto out;
    }
    db = db_open_index(dbpath, file, opt->readonly, err, errlen);
out:
    db_unlock_snapshot(lock);
    free(id);
    return db;
}
