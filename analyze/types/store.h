/*
 * store.h — the type tables of a heapsnap database (docs/schema.md,
 * "Types"): how the indexer writes them and how the commands that display
 * types (show, types, the SQL function field()) read them back.
 *
 *   types(id, name, kind, size, module, target, count, flags)
 *   fields(type_id, idx, name, offset, size, field_type_id, bit_size, bit_offset, base)
 *   enumerators(type_id, name, value)
 *   stack_vars(thread, frame, func, name, addr, size, type_id)
 *   views objects_typed, type_histogram
 * plus the typing columns of objects (type_id, type_source, type_count),
 * roots (type_id) and snapshot (typed_objects, typed_bytes, type_conflicts),
 * which are part of the main schema (db/schema.c).
 */
#ifndef HEAPSNAP_TYPES_STORE_H
#define HEAPSNAP_TYPES_STORE_H

#include <sqlite3.h>
#include <stddef.h>

#include "types/types.h"

/* CREATE the type tables and views (inside the loader's transaction). */
int ty_db_create(sqlite3 *db, char *err, size_t errlen);
/* Insert every row of t.  0, or -1 with err. */
int ty_db_write(sqlite3 *db, const struct tytab *t, char *err, size_t errlen);
/* Read the tables back into t (ty_init'ed here).  A database without them
 * (an older schema) gives an empty table and 0.  -1 with err on failure. */
int ty_db_read(sqlite3 *db, struct tytab *t, char *err, size_t errlen);

#endif
