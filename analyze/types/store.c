/*
 * store.c — the type tables in SQLite (see store.h): their CREATE
 * statements and views, the bulk insert the indexer does once, and the
 * read-back that show, types and field() use (they work from the database,
 * not the DWARF: a database copied to another machine still knows its
 * types).
 */
#include "types/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char create_sql[] =
    "CREATE TABLE types(id INTEGER PRIMARY KEY, name TEXT, kind TEXT, size INTEGER,\n"
    "  module INTEGER, target INTEGER, count INTEGER, flags INTEGER, go_rtype INTEGER);\n"
    "CREATE TABLE fields(type_id INTEGER NOT NULL, idx INTEGER NOT NULL, name TEXT,\n"
    "  offset INTEGER, size INTEGER, field_type_id INTEGER, bit_size INTEGER,\n"
    "  bit_offset INTEGER, base INTEGER, PRIMARY KEY(type_id, idx)) WITHOUT ROWID;\n"
    "CREATE TABLE enumerators(type_id INTEGER NOT NULL, idx INTEGER NOT NULL, name TEXT,\n"
    "  value INTEGER, PRIMARY KEY(type_id, idx)) WITHOUT ROWID;\n"
    /* the typed locals of each thread's unwound frames (frame 0 innermost),
     * so that path and explain can say which local holds a stack ref */
    "CREATE TABLE stack_vars(thread INTEGER, frame INTEGER, func TEXT, name TEXT,\n"
    "  addr INTEGER, size INTEGER, type_id INTEGER);\n"
    /* an object's type as people say it: the type's name, "T [n]" for an
     * array of n ("[n]T" for a Go type: flags 1024 is TYF_GO), "[48 bytes]"
     * when untyped */
    "CREATE VIEW objects_typed AS\n"
    "  SELECT o.id, o.addr, o.size, o.state, o.type_id, t.name AS type, t.kind AS kind,\n"
    "    ifnull(o.type_source, 'none') AS type_source, o.type_count,\n"
    "    CASE WHEN t.id IS NULL THEN '[' || o.size || ' bytes]'\n"
    "         WHEN o.type_count > 1 AND t.flags & 1024 THEN '[' || o.type_count || ']' || t.name\n"
    "         WHEN o.type_count > 1 THEN t.name ||\n"
    "           CASE WHEN substr(t.name, -1) = '*' THEN '' ELSE ' ' END || '[' || o.type_count || ']'\n"
    "         ELSE t.name END AS type_name\n"
    "  FROM objects o LEFT JOIN types t ON t.id = o.type_id;\n"
    /* used objects by type (arrays counted under their element type); a
     * used object as docs/schema.md defines it: the allocator's own apart */
    "CREATE VIEW type_histogram AS\n"
    "  SELECT ifnull(t.name, '[' || o.size || ' bytes]') AS type, o.type_id AS type_id,\n"
    "    count(*) AS count, sum(o.size) AS bytes, sum(ifnull(o.type_count, 0)) AS elements,\n"
    "    round(100.0 * sum(o.size) / (SELECT sum(size) FROM objects WHERE state = 'used'\n"
    "                                  AND \"where\" IS NOT 'malloc-internal'), 2) AS percent\n"
    "  FROM objects o LEFT JOIN types t ON t.id = o.type_id\n"
    "  WHERE o.state = 'used' AND o.\"where\" IS NOT 'malloc-internal'\n"
    "  GROUP BY o.type_id, CASE WHEN o.type_id IS NULL THEN o.size END\n"
    "  ORDER BY bytes DESC;\n";

int ty_db_create(sqlite3 *db, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, create_sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    snprintf(err, errlen, "creating the type tables: %s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return -1;
}

static int fail(sqlite3 *db, char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s: %s", what, sqlite3_errmsg(db));
    return -1;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_text(s, i, "", 0, SQLITE_STATIC);
}

int ty_db_write(sqlite3 *db, const struct tytab *t, char *err, size_t errlen)
{
    sqlite3_stmt *st[4] = {NULL, NULL, NULL, NULL};
    static const char *const sql[4] = {
        "INSERT INTO types(id, name, kind, size, module, target, count, flags, go_rtype) VALUES(?,?,?,?,?,?,?,?,?)",
        "INSERT INTO fields(type_id, idx, name, offset, size, field_type_id, bit_size, bit_offset,"
        " base) VALUES(?,?,?,?,?,?,?,?,?)",
        "INSERT INTO enumerators(type_id, idx, name, value) VALUES(?,?,?,?)",
        "INSERT INTO stack_vars(thread, frame, func, name, addr, size, type_id) VALUES(?,?,?,?,?,?,?)",
    };
    int rc = -1;
    for (int k = 0; k < 4; k++)
        if (sqlite3_prepare_v2(db, sql[k], -1, &st[k], NULL) != SQLITE_OK) {
            fail(db, err, errlen, "preparing the type inserts");
            goto out;
        }
    for (uint32_t id = 1; id < t->n; id++) {
        const struct ty *y = &t->v[id];
        sqlite3_stmt *s = st[0];
        sqlite3_bind_int64(s, 1, id);
        bind_text(s, 2, ty_str(t, y->name));
        sqlite3_bind_text(s, 3, ty_kind_name(y->kind), -1, SQLITE_STATIC);
        if (y->size || !(y->flags & (TYF_DECL | TYF_VTABLE)))
            sqlite3_bind_int64(s, 4, (int64_t)y->size);
        else
            sqlite3_bind_null(s, 4);
        if (y->module >= 0)
            sqlite3_bind_int(s, 5, y->module);
        else
            sqlite3_bind_null(s, 5);
        if (y->target)
            sqlite3_bind_int64(s, 6, y->target);
        else
            sqlite3_bind_null(s, 6);
        if (y->kind == TY_ARRAY)
            sqlite3_bind_int64(s, 7, (int64_t)y->count);
        else
            sqlite3_bind_null(s, 7);
        sqlite3_bind_int(s, 8, y->flags);
        if (y->go_rtype)
            sqlite3_bind_int64(s, 9, (int64_t)y->go_rtype);
        else
            sqlite3_bind_null(s, 9);
        int r = sqlite3_step(s);
        sqlite3_reset(s);
        if (r != SQLITE_DONE) {
            fail(db, err, errlen, "inserting a type");
            goto out;
        }
        int record = y->kind == TY_STRUCT || y->kind == TY_CLASS || y->kind == TY_UNION;
        for (uint32_t i = 0; record && i < y->n; i++) {
            const struct ty_field *f = &t->f[y->first + i];
            uint32_t fr = ty_resolve(t, f->type);
            s = st[1];
            sqlite3_bind_int64(s, 1, id);
            sqlite3_bind_int(s, 2, (int)i);
            bind_text(s, 3, ty_str(t, f->name));
            sqlite3_bind_int64(s, 4, (int64_t)f->offset);
            sqlite3_bind_int64(s, 5, fr ? (int64_t)t->v[fr].size : 0);
            if (f->type)
                sqlite3_bind_int64(s, 6, f->type);
            else
                sqlite3_bind_null(s, 6);
            sqlite3_bind_int(s, 7, f->bit_size);
            sqlite3_bind_int(s, 8, f->bit_offset);
            sqlite3_bind_int(s, 9, !!(f->flags & TYFF_BASE));
            r = sqlite3_step(s);
            sqlite3_reset(s);
            if (r != SQLITE_DONE) {
                fail(db, err, errlen, "inserting a field");
                goto out;
            }
        }
        for (uint32_t i = 0; y->kind == TY_ENUM && i < y->n; i++) {
            const struct ty_enum *e = &t->e[y->first + i];
            s = st[2];
            sqlite3_bind_int64(s, 1, id);
            sqlite3_bind_int(s, 2, (int)i);
            bind_text(s, 3, ty_str(t, e->name));
            sqlite3_bind_int64(s, 4, e->value);
            r = sqlite3_step(s);
            sqlite3_reset(s);
            if (r != SQLITE_DONE) {
                fail(db, err, errlen, "inserting an enumerator");
                goto out;
            }
        }
    }
    for (size_t i = 0; i < t->nlocals; i++) {
        const struct ty_local *v = &t->locals[i];
        sqlite3_stmt *s = st[3];
        sqlite3_bind_int(s, 1, v->thread);
        sqlite3_bind_int64(s, 2, v->frame);
        bind_text(s, 3, ty_str(t, v->func));
        bind_text(s, 4, ty_str(t, v->name));
        sqlite3_bind_int64(s, 5, (int64_t)v->addr);
        sqlite3_bind_int64(s, 6, (int64_t)v->size);
        sqlite3_bind_int64(s, 7, v->type);
        int r = sqlite3_step(s);
        sqlite3_reset(s);
        if (r != SQLITE_DONE) {
            fail(db, err, errlen, "inserting a stack variable");
            goto out;
        }
    }
    rc = 0;
out:
    for (int k = 0; k < 4; k++)
        sqlite3_finalize(st[k]);
    return rc;
}

static const char *col_text(sqlite3_stmt *s, int i)
{
    const unsigned char *p = sqlite3_column_text(s, i);
    return p ? (const char *)p : "";
}

int ty_db_read(sqlite3 *db, struct tytab *t, char *err, size_t errlen)
{
    if (ty_init(t)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, "SELECT id, name, kind, ifnull(size, 0), ifnull(module, -1),"
                               " ifnull(target, 0), ifnull(count, 0), flags FROM types ORDER BY id",
                           -1, &s, NULL) != SQLITE_OK)
        return 0; /* no types table: a database without types */
    int r;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0);
        if (id < 1 || id > 50000000 || (uint64_t)id < t->n)
            continue; /* out of order or absurd: not a database we wrote */
        while (t->n < (uint64_t)id) { /* gaps: "no type" entries */
            struct ty none = {.module = -1};
            int isnew;
            if (!ty_add(t, TY_HASH0 ^ t->n, &none, &isnew))
                break;
        }
        struct ty y = {.kind = (uint8_t)ty_kind_from_name(col_text(s, 2)),
                       .size = (uint64_t)sqlite3_column_int64(s, 3),
                       .module = (int32_t)sqlite3_column_int64(s, 4),
                       .target = (uint32_t)sqlite3_column_int64(s, 5),
                       .count = (uint64_t)sqlite3_column_int64(s, 6),
                       .flags = (uint16_t)sqlite3_column_int(s, 7)};
        y.name = ty_intern(t, col_text(s, 1));
        int isnew;
        if (!ty_add(t, (uint64_t)id * 0x9e3779b97f4a7c15ull, &y, &isnew))
            break;
    }
    sqlite3_finalize(s);
    if (t->oom || r != SQLITE_DONE) {
        snprintf(err, errlen, "reading the types table: %s", t->oom ? "out of memory" : sqlite3_errmsg(db));
        ty_free(t);
        return -1;
    }
    /* targets must name types that exist */
    for (size_t i = 1; i < t->n; i++)
        if (t->v[i].target >= t->n)
            t->v[i].target = 0;
    /* fields, in (type_id, idx) order: each type's run is contiguous */
    if (sqlite3_prepare_v2(db, "SELECT type_id, name, offset, ifnull(field_type_id, 0), bit_size,"
                               " bit_offset, base FROM fields ORDER BY type_id, idx",
                           -1, &s, NULL) == SQLITE_OK) {
        while (sqlite3_step(s) == SQLITE_ROW && !t->oom) {
            int64_t id = sqlite3_column_int64(s, 0);
            if (id < 1 || (uint64_t)id >= t->n)
                continue;
            struct ty_field f = {.name = ty_intern(t, col_text(s, 1)),
                                 .offset = (uint64_t)sqlite3_column_int64(s, 2),
                                 .type = (uint32_t)sqlite3_column_int64(s, 3),
                                 .bit_size = (uint16_t)sqlite3_column_int(s, 4),
                                 .bit_offset = (uint16_t)sqlite3_column_int(s, 5),
                                 .flags = sqlite3_column_int(s, 6) ? TYFF_BASE : 0};
            if (f.type >= t->n)
                f.type = 0;
            struct ty *y = &t->v[id];
            uint32_t at = ty_add_fields(t, &f, 1);
            if (!y->n || y->first + y->n != at) { /* the first field of this type */
                y->first = at;
                y->n = 0;
            }
            y->n++;
        }
        sqlite3_finalize(s);
    }
    if (sqlite3_prepare_v2(db, "SELECT type_id, name, value FROM enumerators ORDER BY type_id, idx",
                           -1, &s, NULL) == SQLITE_OK) {
        while (sqlite3_step(s) == SQLITE_ROW && !t->oom) {
            int64_t id = sqlite3_column_int64(s, 0);
            if (id < 1 || (uint64_t)id >= t->n || t->v[id].kind != TY_ENUM)
                continue;
            struct ty_enum e = {.name = ty_intern(t, col_text(s, 1)), .value = sqlite3_column_int64(s, 2)};
            struct ty *y = &t->v[id];
            uint32_t at = ty_add_enums(t, &e, 1);
            if (!y->n || y->first + y->n != at) {
                y->first = at;
                y->n = 0;
            }
            y->n++;
        }
        sqlite3_finalize(s);
    }
    if (t->oom) {
        snprintf(err, errlen, "reading the type tables: out of memory");
        ty_free(t);
        return -1;
    }
    if (ty_index_names(t)) {
        snprintf(err, errlen, "out of memory");
        ty_free(t);
        return -1;
    }
    return 0;
}
