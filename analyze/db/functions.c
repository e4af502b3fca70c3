/*
 * functions.c — SQL functions for reading a heap through its database:
 *
 *   hex(n)        0x-form of an integer address ('0x7f12...'); for text and
 *                 blobs it keeps SQLite's own meaning (upper-case hex of the
 *                 bytes), so overriding the built-in loses nothing
 *   sym(addr)     'symbol+0xoff' for the symbol holding addr, or NULL (a
 *                 symbol without a size reaches to the end of its mapping)
 *   mem(a, len)   the captured bytes [a, a+len) as a blob (len <= 1 MiB),
 *                 NULL if any byte was not captured
 *   u64(a)        the 64-bit little-endian word at a, NULL if not captured
 *   cstr(a)       the NUL-terminated string at a (at most CSTR_MAX bytes;
 *                 cut short where capture stops), NULL if a is not captured
 *   obj(a)        the id of the object (used or free) whose bytes hold a
 *
 * The symbols are read into memory on the first sym() call; the snapshot is
 * opened on the first mem()/u64()/cstr() call, after checking it is still
 * the file the database was built from.  obj() asks the objects table (via
 * its addr index) so that it costs no memory.  All of this state lives in
 * one struct owned by the connection and freed when it closes.
 */
#include "core/hscore.h"
#include "db/db.h"
#include "model/span_search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEM_MAX  (1u << 20)
#define CSTR_MAX 4096

struct fsym {
    uint64_t addr, size;
    char *name;
};

struct fmap {
    uint64_t start, end;
};

struct fnstate {
    sqlite3 *db;
    struct fmap *maps;          /* mappings, to bound symbols without a size */
    size_t nmaps;
    char *snap_path;            /* the caller's snapshot path, or NULL */
    struct hs_snapshot *snap;
    char *snap_err;             /* why the snapshot could not be opened */
    struct fsym *syms;
    size_t nsyms;
    int syms_loaded;
};

static void fn_destroy(void *p)
{
    struct fnstate *f = p;
    if (f->snap)
        hs_close(f->snap);
    for (size_t i = 0; i < f->nsyms; i++)
        free(f->syms[i].name);
    free(f->syms);
    free(f->maps);
    free(f->snap_path);
    sqlite3_free(f->snap_err);
    free(f);
}

/* The snapshot, opened on first use; NULL after reporting the error. */
static struct hs_snapshot *snapshot(sqlite3_context *ctx, struct fnstate *f)
{
    if (f->snap)
        return f->snap;
    if (!f->snap_err) {
        char *path = NULL;
        sqlite3_stmt *s;
        if (f->snap_path) {
            path = sqlite3_mprintf("%s", f->snap_path);
        } else if (sqlite3_prepare_v2(f->db, "SELECT path FROM snapshot", -1, &s, NULL) == SQLITE_OK) {
            if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
                path = sqlite3_mprintf("%s", sqlite3_column_text(s, 0));
            sqlite3_finalize(s);
        }
        struct db_snapid *id = malloc(sizeof *id);
        char err[600];
        struct hs_error herr;
        if (!path || !id) {
            f->snap_err = sqlite3_mprintf("the database names no snapshot");
        } else if (db_snapshot_id(path, id, err, sizeof err)) {
            f->snap_err = sqlite3_mprintf("%s", err);
        } else {
            /* memory from a different capture would be silently wrong */
            sqlite3_stmt *q;
            int same = 0;
            if (sqlite3_prepare_v2(f->db, "SELECT content_id FROM snapshot", -1, &q, NULL) == SQLITE_OK) {
                if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
                    same = !strcmp((const char *)sqlite3_column_text(q, 0), id->content_id);
                sqlite3_finalize(q);
            }
            if (!same)
                f->snap_err = sqlite3_mprintf("%s: not the snapshot this database was built from", path);
            else if (!(f->snap = hs_open_any(path, HS_OPEN_ON_DEMAND, &herr)))
                f->snap_err = sqlite3_mprintf("%s", herr.msg);
        }
        free(id);
        sqlite3_free(path);
    }
    if (!f->snap) {
        sqlite3_result_error(ctx, f->snap_err ? f->snap_err : "out of memory", -1);
        return NULL;
    }
    return f->snap;
}

/* A read of s failed: memory that was not captured is NULL, but a block
 * that does not decompress is an error, never a silent NULL. */
static void read_failed(sqlite3_context *ctx, const struct hs_snapshot *s)
{
    const char *why = hs_snapshot_memory_error(s);
    if (why)
        sqlite3_result_error(ctx, why, -1);
}

static int arg_addr(sqlite3_value *v, uint64_t *a)
{
    int t = sqlite3_value_numeric_type(v);
    if (t != SQLITE_INTEGER && t != SQLITE_FLOAT)
        return -1;
    *a = (uint64_t)sqlite3_value_int64(v);
    return 0;
}

static void fn_hex(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    sqlite3_value *v = argv[0];
    int t = sqlite3_value_type(v);
    if (t == SQLITE_NULL)
        return;
    if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) {
        char buf[24];
        snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)sqlite3_value_int64(v));
        sqlite3_result_text(ctx, buf, -1, SQLITE_TRANSIENT);
        return;
    }
    const unsigned char *b = sqlite3_value_blob(v);
    int n = sqlite3_value_bytes(v);
    char *out = sqlite3_malloc64(2 * (sqlite3_uint64)n + 1);
    if (!out) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    for (int i = 0; i < n; i++) {
        out[2 * i] = "0123456789ABCDEF"[b[i] >> 4];
        out[2 * i + 1] = "0123456789ABCDEF"[b[i] & 15];
    }
    out[2 * n] = 0;
    sqlite3_result_text(ctx, out, 2 * n, sqlite3_free);
}

static int load_syms(struct fnstate *f)
{
    sqlite3_stmt *s;
    f->syms_loaded = 1;
    /* Only symbols that name something with an extent or a location;
     * sections and files would shadow the real names. */
    if (sqlite3_prepare_v2(f->db,
                           "SELECT addr, size, name FROM symbols WHERE name <> ''"
                           " AND type NOT IN ('section', 'file', 'tls') ORDER BY addr, size DESC",
                           -1, &s, NULL) != SQLITE_OK)
        return -1;
    size_t cap = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (f->nsyms == cap) {
            cap = cap ? 2 * cap : 1024;
            struct fsym *v = realloc(f->syms, cap * sizeof *v);
            if (!v)
                break;
            f->syms = v;
        }
        struct fsym *y = &f->syms[f->nsyms];
        y->addr = (uint64_t)sqlite3_column_int64(s, 0);
        y->size = (uint64_t)sqlite3_column_int64(s, 1);
        if (!(y->name = strdup((const char *)sqlite3_column_text(s, 2))))
            break;
        f->nsyms++;
    }
    sqlite3_finalize(s);
    if (sqlite3_prepare_v2(f->db, "SELECT start, end FROM mappings ORDER BY start", -1, &s, NULL) != SQLITE_OK)
        return -1;
    cap = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (f->nmaps == cap) {
            cap = cap ? 2 * cap : 64;
            struct fmap *v = realloc(f->maps, cap * sizeof *v);
            if (!v)
                break;
            f->maps = v;
        }
        f->maps[f->nmaps].start = (uint64_t)sqlite3_column_int64(s, 0);
        f->maps[f->nmaps].end = (uint64_t)sqlite3_column_int64(s, 1);
        f->nmaps++;
    }
    sqlite3_finalize(s);
    return 0;
}

/* 1 if a and b lie in the same mapping: how far a symbol without a size
 * (_end, hand-written assembly labels) may be taken to reach. */
static int same_mapping(const struct fnstate *f, uint64_t a, uint64_t b)
{
    size_t lo = SPAN_FIRST_ENDING_ABOVE(f->maps, f->nmaps, end, a);
    return lo < f->nmaps && f->maps[lo].start <= a && a < f->maps[lo].end &&
           f->maps[lo].start <= b && b < f->maps[lo].end;
}

static void fn_sym(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct fnstate *f = sqlite3_user_data(ctx);
    uint64_t a;
    if (arg_addr(argv[0], &a))
        return;
    if (!f->syms_loaded)
        load_syms(f);
    size_t lo = 0, hi = f->nsyms;
    while (lo < hi) { /* first symbol above a */
        size_t m = (lo + hi) / 2;
        if (f->syms[m].addr <= a)
            lo = m + 1;
        else
            hi = m;
    }
    if (lo == 0)
        return;
    const struct fsym *hit = NULL;
    /* the closest symbol that contains a; a few steps back covers aliases
     * and symbols nested in bigger ones */
    for (size_t i = lo, k = 0; i > 0 && k < 16; i--, k++) {
        const struct fsym *y = &f->syms[i - 1];
        if (a - y->addr < y->size) {
            hit = y;
            break;
        }
    }
    if (!hit && f->syms[lo - 1].size == 0 && same_mapping(f, a, f->syms[lo - 1].addr))
        hit = &f->syms[lo - 1];
    if (!hit)
        return;
    char *r = a == hit->addr ? sqlite3_mprintf("%s", hit->name)
                             : sqlite3_mprintf("%s+0x%llx", hit->name, (unsigned long long)(a - hit->addr));
    sqlite3_result_text(ctx, r, -1, sqlite3_free);
}

static void fn_mem(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    uint64_t a;
    if (arg_addr(argv[0], &a) || sqlite3_value_numeric_type(argv[1]) != SQLITE_INTEGER)
        return;
    sqlite3_int64 len = sqlite3_value_int64(argv[1]);
    if (len < 0 || len > MEM_MAX) {
        sqlite3_result_error(ctx, "mem(addr, len): len must be between 0 and 1048576", -1);
        return;
    }
    struct hs_snapshot *s = snapshot(ctx, sqlite3_user_data(ctx));
    if (!s)
        return;
    void *buf = sqlite3_malloc64((sqlite3_uint64)len + 1);
    if (!buf) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if (hs_read(s, a, buf, (size_t)len) != 0) {
        sqlite3_free(buf);
        read_failed(ctx, s);
        return;
    }
    sqlite3_result_blob(ctx, buf, (int)len, sqlite3_free);
}

static void fn_u64(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    uint64_t a, w;
    if (arg_addr(argv[0], &a))
        return;
    struct hs_snapshot *s = snapshot(ctx, sqlite3_user_data(ctx));
    if (!s)
        return;
    if (hs_read_u64(s, a, &w) == 0)
        sqlite3_result_int64(ctx, (sqlite3_int64)w);
    else
        read_failed(ctx, s);
}

static void fn_cstr(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    uint64_t a;
    if (arg_addr(argv[0], &a))
        return;
    struct hs_snapshot *s = snapshot(ctx, sqlite3_user_data(ctx));
    if (!s)
        return;
    char buf[CSTR_MAX];
    size_t n = 0;
    while (n < CSTR_MAX) {
        if (hs_read(s, a + n, &buf[n], 1) != 0)
            break;
        if (buf[n] == 0)
            break;
        n++;
    }
    if (n == 0 && hs_read(s, a, buf, 1) != 0) {
        read_failed(ctx, s); /* not captured at all, or damaged */
        return;
    }
    sqlite3_result_text(ctx, buf, (int)n, SQLITE_TRANSIENT);
}

static void fn_obj(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct fnstate *f = sqlite3_user_data(ctx);
    uint64_t a;
    sqlite3_stmt *s;
    if (arg_addr(argv[0], &a))
        return;
    /* prepared per call: a statement kept across calls would stop a plain
     * sqlite3_close() of the connection from succeeding */
    if (sqlite3_prepare_v2(f->db, "SELECT id, addr, size FROM objects WHERE addr <= ?1"
                                  " ORDER BY addr DESC LIMIT 1", -1, &s, NULL) != SQLITE_OK) {
        sqlite3_result_error(ctx, sqlite3_errmsg(f->db), -1);
        return;
    }
    sqlite3_bind_int64(s, 1, (sqlite3_int64)a);
    if (sqlite3_step(s) == SQLITE_ROW) {
        uint64_t oa = (uint64_t)sqlite3_column_int64(s, 1), sz = (uint64_t)sqlite3_column_int64(s, 2);
        if (a == oa || a - oa < sz)
            sqlite3_result_int64(ctx, sqlite3_column_int64(s, 0));
    }
    sqlite3_finalize(s);
}

int db_register_functions(sqlite3 *db, const char *snapshot_path)
{
    struct fnstate *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->db = db;
    if (snapshot_path && !(f->snap_path = strdup(snapshot_path))) {
        free(f);
        return -1;
    }
    static const struct {
        const char *name;
        int nargs, flags;
        void (*fn)(sqlite3_context *, int, sqlite3_value **);
    } fns[] = {
        {"hex", 1, SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, fn_hex},
        {"sym", 1, SQLITE_DETERMINISTIC, fn_sym},
        {"mem", 2, SQLITE_DETERMINISTIC, fn_mem},
        {"u64", 1, SQLITE_DETERMINISTIC, fn_u64},
        {"cstr", 1, SQLITE_DETERMINISTIC, fn_cstr},
        {"obj", 1, 0, fn_obj},
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        /* the first function owns the state: SQLite calls fn_destroy when
         * the connection closes, or right away if registration fails */
        if (sqlite3_create_function_v2(db, fns[i].name, fns[i].nargs, SQLITE_UTF8 | fns[i].flags, f,
                                       fns[i].fn, NULL, NULL, i == 0 ? fn_destroy : NULL) != SQLITE_OK)
            return -1;
    }
    return db_register_field(db); /* field(), field_name(): fn_field.c */
}
