/*
 * extension.c — bin/heapsnap-sqlite.so, the heap's SQL functions (hex sym
 * mem u64 cstr obj field field_name; db/functions.c, db/fn_field.c) as a
 * loadable SQLite extension, so that any SQLite client answers the queries
 * `heapsnap sql` answers:
 *
 *   sqlite3 app.db   then   .load bin/heapsnap-sqlite
 *   python3: con.enable_load_extension(True); con.load_extension("bin/heapsnap-sqlite")
 *   datasette app.db --load-extension bin/heapsnap-sqlite.so
 *
 * The functions read the snapshot the database's snapshot table names (the
 * .hsnap it was indexed from, checked to be the same file), exactly as in
 * heapsnap sql.  This file is the entry point only: the functions are the
 * very same code, compiled a second time with -include sqlext/api.h so that
 * every sqlite3_* call goes through the API table of the SQLite that loads
 * us (a Python or a shell may carry its own copy of SQLite; calling
 * another copy's functions on its connection would be wrong).
 */
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include "db/db.h"

static int init(sqlite3 *db, char **err, const sqlite3_api_routines *api)
{
    SQLITE_EXTENSION_INIT2(api);
    if (db_register_functions(db, NULL)) {
        *err = sqlite3_mprintf("heapsnap-sqlite: cannot register the heap functions: %s", sqlite3_errmsg(db));
        return SQLITE_ERROR;
    }
    return SQLITE_OK;
}

/* The entry point SQLite derives from the file name heapsnap-sqlite.so ... */
__attribute__((visibility("default"))) int sqlite3_heapsnapsqlite_init(sqlite3 *db, char **err,
                                                                        const sqlite3_api_routines *api)
{
    return init(db, err, api);
}

/* ... and the generic one, for a copy renamed to anything else. */
__attribute__((visibility("default"))) int sqlite3_extension_init(sqlite3 *db, char **err,
                                                                   const sqlite3_api_routines *api)
{
    return init(db, err, api);
}
