/*
 * fn_field.c — the SQL function field(obj_id, 'path.to.field'): a field of
 * a typed heap object, read from the captured memory and decoded by its
 * type (types/decode.h), registered next to hex() sym() mem() ... by
 * db_register_functions().
 *
 *   field(1234, 'pos.x')        -> 4            integers, enums' values, bools
 *   field(1234, 'weight')       -> 2.25         floating point
 *   field(1234, 'next')         -> 94558...     pointers as integers
 *   field(1234, 'user')         -> 'user4'      char arrays as text (to the first NUL)
 *   field(1234, 'color')        -> 'GREEN'      an enum value an enumerator names
 *   field(1234, 'pos')          -> '{x = 4, y = -4}'  anything else as gdb prints it
 *   field(77, '[2].qty')        -> an element of an object typed as an array
 * NULL when the object is untyped, unknown, or its bytes were not
 * captured; an error when the path names no field of the object's type.
 *
 * And the other way round, for a reference:
 *   field_name(src, offset)     -> 'items[2].next'   the field of a typed
 *                                  object (src > 0) or typed root (src < 0)
 *                                  holding byte offset; NULL if untyped
 *   SELECT src, offset, field_name(src, offset) FROM refs WHERE dst = 1234;
 *
 * The type tables are read on the first call and kept for the connection's
 * life; the memory comes through the SQL function mem() of the same
 * connection.  The statements are prepared per call and finalized before
 * it returns: a statement left open would keep sqlite3_close() from closing
 * the connection, and so from ever freeing this state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "types/decode.h"
#include "types/store.h"

#define FIELD_MAX (1u << 20)

struct fieldfn {
    sqlite3 *db;
    int loaded;
    struct tytab t;
    sqlite3_stmt *obj, *mem; /* during one call only */
};

static void destroy(void *p)
{
    struct fieldfn *f = p;
    if (f->loaded)
        ty_free(&f->t);
    free(f);
}

static int rd(void *u, uint64_t addr, void *buf, size_t len)
{
    struct fieldfn *f = u;
    sqlite3_bind_int64(f->mem, 1, (int64_t)addr);
    sqlite3_bind_int64(f->mem, 2, (int64_t)len);
    int ok = sqlite3_step(f->mem) == SQLITE_ROW && sqlite3_column_type(f->mem, 0) == SQLITE_BLOB &&
             (size_t)sqlite3_column_bytes(f->mem, 0) == len;
    if (ok)
        memcpy(buf, sqlite3_column_blob(f->mem, 0), len);
    sqlite3_reset(f->mem);
    return ok ? 0 : -1;
}

static int load(sqlite3_context *ctx, struct fieldfn *f)
{
    if (f->loaded)
        return 0;
    char err[512];
    if (ty_db_read(f->db, &f->t, err, sizeof err)) {
        sqlite3_result_error(ctx, err, -1);
        return -1;
    }
    f->loaded = 1;
    return 0;
}

static int prepare(sqlite3_context *ctx, struct fieldfn *f)
{
    if (sqlite3_prepare_v2(f->db, "SELECT addr, size, type_id, ifnull(type_count, 1) FROM objects WHERE id = ?1",
                           -1, &f->obj, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(f->db, "SELECT mem(?1, ?2)", -1, &f->mem, NULL) != SQLITE_OK) {
        sqlite3_result_error(ctx, "field(): this database has no typed objects (index it again)", -1);
        return -1;
    }
    return 0;
}

static int char_array(const struct tytab *t, const struct ty *y)
{
    uint32_t e = y->kind == TY_ARRAY ? ty_resolve(t, y->target) : 0;
    return e && t->v[e].kind == TY_BASE && (t->v[e].flags & TYF_CHAR) && t->v[e].size == 1;
}

static void field_value(sqlite3_context *ctx, struct fieldfn *f, sqlite3_value **argv);

static void field_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct fieldfn *f = sqlite3_user_data(ctx);
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL || load(ctx, f))
        return;
    if (prepare(ctx, f) == 0)
        field_value(ctx, f, argv);
    sqlite3_finalize(f->obj);
    sqlite3_finalize(f->mem);
    f->obj = f->mem = NULL;
}

static void field_value(sqlite3_context *ctx, struct fieldfn *f, sqlite3_value **argv)
{
    const char *path = (const char *)sqlite3_value_text(argv[1]);
    if (!path)
        path = "";
    sqlite3_bind_int64(f->obj, 1, sqlite3_value_int64(argv[0]));
    if (sqlite3_step(f->obj) != SQLITE_ROW || sqlite3_column_type(f->obj, 2) == SQLITE_NULL) {
        sqlite3_reset(f->obj);
        return; /* no such object, or untyped: NULL */
    }
    uint64_t addr = (uint64_t)sqlite3_column_int64(f->obj, 0), size = (uint64_t)sqlite3_column_int64(f->obj, 1);
    int64_t tid = sqlite3_column_int64(f->obj, 2), count = sqlite3_column_int64(f->obj, 3);
    sqlite3_reset(f->obj);
    if (tid <= 0 || (uint64_t)tid >= f->t.n)
        return;
    uint32_t type = (uint32_t)tid, r = ty_resolve(&f->t, type);
    uint64_t S = r ? f->t.v[r].size : 0, off = 0;
    if (path[0] == '[' && count > 1 && S) { /* an element of an array object */
        char *end;
        unsigned long long k = strtoull(path + 1, &end, 10);
        if (end == path + 1 || *end != ']' || k >= (unsigned long long)count) {
            sqlite3_result_error(ctx, "field(): bad element index for this object", -1);
            return;
        }
        off = k * S;
        path = end + 1;
    }
    uint64_t foff;
    uint32_t ftype;
    unsigned bs, bo;
    char err[600];
    if (ty_path(&f->t, type, path, &foff, &ftype, &bs, &bo, err, sizeof err)) {
        char msg[700];
        snprintf(msg, sizeof msg, "field(): %s", err);
        sqlite3_result_error(ctx, msg, -1);
        return;
    }
    off += foff;
    uint32_t fr = ty_resolve(&f->t, ftype);
    uint64_t fsize = fr ? f->t.v[fr].size : 0;
    if (!fr || !fsize || off > size || fsize > size - off || fsize > FIELD_MAX)
        return;
    uint8_t *b = malloc(fsize);
    if (!b) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if (rd(f, addr + off, b, fsize)) {
        free(b);
        return; /* not captured */
    }
    const struct ty *y = &f->t.v[fr];
    int64_t iv;
    double dv;
    int k = ty_scalar(&f->t, fr, b, fsize, bs, bo, &iv, &dv);
    if (k == 'd') {
        sqlite3_result_double(ctx, dv);
    } else if (k && y->kind == TY_ENUM) {
        const char *name = NULL;
        for (uint32_t i = 0; i < y->n; i++)
            if (f->t.e[y->first + i].value == iv)
                name = ty_str(&f->t, f->t.e[y->first + i].name);
        if (name)
            sqlite3_result_text(ctx, name, -1, SQLITE_TRANSIENT);
        else
            sqlite3_result_int64(ctx, iv);
    } else if (k) {
        sqlite3_result_int64(ctx, iv);
    } else if (char_array(&f->t, y)) {
        sqlite3_result_text(ctx, (const char *)b, (int)strnlen((const char *)b, fsize), SQLITE_TRANSIENT);
    } else {
        struct ty_env env = {rd, NULL, f};
        struct tybuf out = {0};
        ty_format_bits(&f->t, ftype, bs, bo, b, fsize, addr + off, &env, &out);
        if (out.oom)
            sqlite3_result_error_nomem(ctx);
        else
            sqlite3_result_text(ctx, out.s ? out.s : "", -1, SQLITE_TRANSIENT);
        tybuf_free(&out);
    }
    free(b);
}

static void field_name_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct fieldfn *f = sqlite3_user_data(ctx);
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL || load(ctx, f))
        return;
    int64_t src = sqlite3_value_int64(argv[0]), off = sqlite3_value_int64(argv[1]);
    sqlite3_stmt *q;
    const char *sql = src > 0 ? "SELECT type_id, ifnull(type_count, 1) FROM objects WHERE id = ?1"
                              : "SELECT type_id, 1 FROM roots WHERE id = ?1";
    if (off < 0 || sqlite3_prepare_v2(f->db, sql, -1, &q, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(q, 1, src);
    if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
        int64_t tid = sqlite3_column_int64(q, 0), count = sqlite3_column_int64(q, 1);
        if (tid > 0 && (uint64_t)tid < f->t.n) {
            struct tybuf b = {0};
            ty_field_at(&f->t, (uint32_t)tid, count > 0 ? (uint64_t)count : 1, (uint64_t)off, &b);
            if (b.oom)
                sqlite3_result_error_nomem(ctx);
            else if (b.s && b.s[0])
                sqlite3_result_text(ctx, b.s, -1, SQLITE_TRANSIENT);
            tybuf_free(&b);
        }
    }
    sqlite3_finalize(q);
}

int db_register_field(sqlite3 *db)
{
    struct fieldfn *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->db = db;
    /* the first owns the state: SQLite frees it when the connection closes
     * (or right away if registering fails) */
    if (sqlite3_create_function_v2(db, "field", 2, SQLITE_UTF8, f, field_fn, NULL, NULL, destroy) !=
        SQLITE_OK)
        return -1;
    return sqlite3_create_function_v2(db, "field_name", 2, SQLITE_UTF8, f, field_name_fn, NULL, NULL,
                                      NULL) == SQLITE_OK
               ? 0
               : -1;
}
