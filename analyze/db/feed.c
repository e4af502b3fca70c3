/*
 * feed.c — bulk insert through a virtual table: `INSERT INTO t SELECT *
 * FROM feed` where 'feed' is an eponymous virtual table whose rows come from
 * C callbacks (see db_feed_insert() in db.h).
 *
 * Why: with a prepared INSERT, every row pays for sqlite3_step() entering
 * and leaving the VDBE, the binds and sqlite3_reset(); measured here that is
 * most of the cost of a small row.  One INSERT ... SELECT runs the whole
 * load inside a single VDBE loop, and only the record building and the
 * b-tree append remain (bench/index shows the rates).
 */
#include "db/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct feed_vtab {
    sqlite3_vtab base;
    struct db_feed *f;
};

struct feed_cursor {
    sqlite3_vtab_cursor base;
    struct db_feed *f;
    sqlite3_int64 row;
    int eof;
};

static int x_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
                     char **err)
{
    (void)argc;
    (void)argv;
    (void)err;
    struct db_feed *f = aux;
    int rc = sqlite3_declare_vtab(db, f->decl);
    if (rc != SQLITE_OK)
        return rc;
    struct feed_vtab *v = sqlite3_malloc(sizeof *v);
    if (!v)
        return SQLITE_NOMEM;
    memset(v, 0, sizeof *v);
    v->f = f;
    *out = &v->base;
    return SQLITE_OK;
}

static int x_disconnect(sqlite3_vtab *v)
{
    sqlite3_free(v);
    return SQLITE_OK;
}

static int x_best_index(sqlite3_vtab *v, sqlite3_index_info *info)
{
    (void)v;
    info->estimatedCost = 1e9; /* one full pass, no constraints used */
    return SQLITE_OK;
}

static int x_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out)
{
    struct feed_cursor *c = sqlite3_malloc(sizeof *c);
    if (!c)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof *c);
    c->f = ((struct feed_vtab *)v)->f;
    *out = &c->base;
    return SQLITE_OK;
}

static int x_close(sqlite3_vtab_cursor *c)
{
    sqlite3_free(c);
    return SQLITE_OK;
}

static int advance(struct feed_cursor *c)
{
    int r = c->f->next(c->f->user);
    if (r < 0) {
        c->eof = 1;
        sqlite3_free(c->base.pVtab->zErrMsg);
        c->base.pVtab->zErrMsg = sqlite3_mprintf("the row source failed");
        return SQLITE_ERROR;
    }
    c->eof = r == 0;
    c->row++;
    return SQLITE_OK;
}

static int x_filter(sqlite3_vtab_cursor *cur, int idx, const char *idxstr, int argc, sqlite3_value **argv)
{
    (void)idx;
    (void)idxstr;
    (void)argc;
    (void)argv;
    struct feed_cursor *c = (struct feed_cursor *)cur;
    c->row = 0;
    return advance(c);
}

static int x_next(sqlite3_vtab_cursor *cur)
{
    return advance((struct feed_cursor *)cur);
}

static int x_eof(sqlite3_vtab_cursor *cur)
{
    return ((struct feed_cursor *)cur)->eof;
}

static int x_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
    struct feed_cursor *c = (struct feed_cursor *)cur;
    c->f->column(c->f->user, ctx, col);
    return SQLITE_OK;
}

static int x_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
    *rowid = ((struct feed_cursor *)cur)->row;
    return SQLITE_OK;
}

/* Eponymous-only (xCreate NULL): usable by name, never stored in the schema. */
static const sqlite3_module feed_module = {
    .iVersion = 0,
    .xCreate = NULL,
    .xConnect = x_connect,
    .xBestIndex = x_best_index,
    .xDisconnect = x_disconnect,
    .xDestroy = x_disconnect,
    .xOpen = x_open,
    .xClose = x_close,
    .xFilter = x_filter,
    .xNext = x_next,
    .xEof = x_eof,
    .xColumn = x_column,
    .xRowid = x_rowid,
};

int db_feed_insert(sqlite3 *db, const char *insert, struct db_feed *f, char *err, size_t errlen)
{
    if (sqlite3_create_module_v2(db, "heapsnap_feed", &feed_module, f, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "registering the row feed: %s", sqlite3_errmsg(db));
        return -1;
    }
    char *sql = sqlite3_mprintf("%s SELECT * FROM heapsnap_feed", insert);
    char *msg = NULL;
    int rc = sql ? sqlite3_exec(db, sql, NULL, NULL, &msg) : SQLITE_NOMEM;
    if (rc != SQLITE_OK)
        snprintf(err, errlen, "%s: %s", insert, msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    sqlite3_free(sql);
    /* unregister, so that the next feed (another declaration) connects anew */
    sqlite3_create_module_v2(db, "heapsnap_feed", NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : -1;
}
