/*
 * answers.c — what `leaks` and `top` print, kept in the database when it is
 * computed and read back by the next run of the same command, so that the
 * second run answers in milliseconds instead of loading the whole graph
 * and its per-object results (analysis.h, "Stored answers"; the tables are
 * in docs/schema.md).
 *
 * An answer is current while analysis_done has the 'dominators' row (the
 * results it was derived from; results.c drops the answers whenever it
 * stores new ones) and its own step row, written in the same transaction
 * as its tables.  The snapshot and its index never change under a
 * database (a changed snapshot is indexed into a new one), so nothing else
 * can make an answer stale.  A stored answer is read defensively: any
 * table, row or value that is not as written makes it "not there", and the
 * command computes again.
 */
#include "analysis/analysis.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"

#define LEAKS_STEP "leaks answer"
#define TOP_STEP "top answer"
#define SUSPECTS_MAX 64 /* as cmd_top.c keeps */

/* A text column as a malloc'd string: *out NULL for NULL; -1 on out-of-memory. */
static int col_str(sqlite3_stmt *s, int c, char **out)
{
    *out = NULL;
    if (sqlite3_column_type(s, c) == SQLITE_NULL)
        return 0;
    const char *t = (const char *)sqlite3_column_text(s, c);
    if (!t || !(*out = strdup(t)))
        return -1;
    return 0;
}

static uint64_t col_u(sqlite3_stmt *s, int c)
{
    return (uint64_t)sqlite3_column_int64(s, c);
}

static int all_int(sqlite3_stmt *s, int from, int to)
{
    for (int c = from; c <= to; c++)
        if (sqlite3_column_type(s, c) != SQLITE_INTEGER)
            return 0;
    return 1;
}

int answers_drop(sqlite3 *db)
{
    static const char *const tables[] = {ANSWER_TABLES};
    char sql[96];
    for (size_t k = 0; k < sizeof tables / sizeof tables[0]; k++) {
        snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS %s", tables[k]);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
            return -1;
    }
    /* no such table yet is fine: nothing was marked */
    sqlite3_exec(db, "DELETE FROM analysis_done WHERE step IN ('" LEAKS_STEP "', '" TOP_STEP "')", NULL, NULL, NULL);
    return 0;
}

/* 1 if the answer of step may be used: results and answer both recorded. */
static int current(sqlite3 *db, const char *step)
{
    return db_step_done(db, DB_STEP_DOMINATORS) && db_step_done(db, step);
}

/* Bytes and strings of an example, as stored: bytes BLOB (NULL: not
 * captured), strings TEXT, one per line (they are printable ASCII). */
static int bind_bytes(sqlite3_stmt *s, int c, const struct abytes *ab, char **joined)
{
    *joined = NULL;
    if (!ab->present) {
        sqlite3_bind_null(s, c);
        sqlite3_bind_null(s, c + 1);
        return 0;
    }
    if (ab->n)
        sqlite3_bind_blob(s, c, ab->b, ab->n, SQLITE_TRANSIENT);
    else
        sqlite3_bind_zeroblob(s, c, 0);
    size_t len = 1;
    for (int k = 0; k < ab->nstrings; k++)
        len += strlen(ab->strings[k]) + 1;
    if (!(*joined = malloc(len)))
        return -1;
    char *p = *joined;
    for (int k = 0; k < ab->nstrings; k++) {
        size_t n = strlen(ab->strings[k]);
        memcpy(p, ab->strings[k], n);
        p += n;
        *p++ = '\n';
    }
    *p = 0;
    sqlite3_bind_text(s, c + 1, *joined, -1, SQLITE_TRANSIENT);
    return 0;
}

/* 0, or -1: unsound (the caller drops the answer) or out of memory (*oom). */
static int read_bytes(sqlite3_stmt *s, int c, struct abytes *ab, int *oom)
{
    memset(ab, 0, sizeof *ab);
    if (sqlite3_column_type(s, c) == SQLITE_NULL)
        return 0;
    if (sqlite3_column_type(s, c) != SQLITE_BLOB || sqlite3_column_type(s, c + 1) != SQLITE_TEXT)
        return -1;
    int n = sqlite3_column_bytes(s, c);
    if (n > ABYTES_HEX)
        return -1;
    ab->present = 1;
    ab->n = n;
    if (n)
        memcpy(ab->b, sqlite3_column_blob(s, c), (size_t)n);
    const char *t = (const char *)sqlite3_column_text(s, c + 1);
    while (t && *t) {
        const char *e = strchr(t, '\n');
        if (!e || ab->nstrings == (int)(sizeof ab->strings / sizeof ab->strings[0]))
            return -1;
        if (!(ab->strings[ab->nstrings] = strndup(t, (size_t)(e - t)))) {
            *oom = 1;
            return -1;
        }
        ab->nstrings++;
        t = e + 1;
    }
    return 0;
}

/* ------------------------------------------------------------ leaks */

void leaks_answer_free(struct leaks_answer *a)
{
    for (size_t k = 0; k < a->groups_len; k++) {
        free(a->groups[k].type);
        abytes_free(&a->groups[k].ex);
    }
    for (size_t k = 0; k < a->heads_len; k++)
        free(a->heads[k].type);
    free(a->groups);
    free(a->heads);
    memset(a, 0, sizeof *a);
}

int leaks_answer_build(struct leaks_answer *a, const struct leaks *l, const struct hgraph *h, int64_t rows)
{
    char g[128];
    memset(a, 0, sizeof *a);
    a->rows = rows;
    a->used_count = h->used_count;
    a->used_bytes = h->used_bytes;
    a->count = l->count;
    a->bytes = l->bytes;
    a->garbage_count = l->garbage_count;
    a->garbage_bytes = l->garbage_bytes;
    a->ngroups = l->ngroups;
    a->nheads = l->nheads;
    a->held_partial = l->held_partial;
    size_t ng = l->ngroups < (size_t)rows ? l->ngroups : (size_t)rows;
    size_t nh = l->nheads < (size_t)rows ? l->nheads : (size_t)rows;
    a->groups = calloc(ng ? ng : 1, sizeof *a->groups);
    a->heads = calloc(nh ? nh : 1, sizeof *a->heads);
    if (!a->groups || !a->heads)
        goto oom;
    for (size_t k = 0; k < ng; k++) {
        const struct leak_group *lg = &l->groups[k];
        struct leaks_answer_group *ag = &a->groups[a->groups_len++];
        ag->count = lg->count;
        ag->bytes = lg->bytes;
        ag->nexamples = lg->nexamples;
        for (uint32_t e = 0; e < lg->nexamples; e++)
            ag->examples[e] = h->addr[lg->examples[e]];
        if (!(ag->type = strdup(hg_group_name(h, lg->key, g, sizeof g))) ||
            show_bytes_read(h, lg->examples[0], &ag->ex))
            goto oom;
    }
    for (size_t k = 0; k < nh; k++) {
        const struct leak_head *hd = &l->heads[k];
        struct leaks_answer_head *ah = &a->heads[a->heads_len++];
        ah->addr = h->addr[hd->obj];
        ah->size = h->osize[hd->obj];
        ah->held_count = hd->held_count;
        ah->held_bytes = hd->held_bytes;
        ah->scc_size = hd->scc_size;
        if (!(ah->type = strdup(hg_group_name(h, h->group[hd->obj], g, sizeof g))))
            goto oom;
    }
    return 0;
oom:
    leaks_answer_free(a);
    return -1;
}

int leaks_answer_write(const struct leaks_answer *a, sqlite3 *db)
{
    if (sqlite3_exec(db,
                     "DROP TABLE IF EXISTS answer_leaks; DROP TABLE IF EXISTS answer_leak_groups;"
                     "DROP TABLE IF EXISTS answer_leak_heads;"
                     "CREATE TABLE answer_leaks(rows INTEGER NOT NULL, used_count INTEGER NOT NULL,"
                     " used_bytes INTEGER NOT NULL, leaked_count INTEGER NOT NULL, leaked_bytes INTEGER NOT NULL,"
                     " garbage_count INTEGER NOT NULL, garbage_bytes INTEGER NOT NULL,"
                     " groups_count INTEGER NOT NULL, heads_count INTEGER NOT NULL, held_partial INTEGER NOT NULL);"
                     "CREATE TABLE answer_leak_groups(rank INTEGER PRIMARY KEY, type TEXT NOT NULL,"
                     " count INTEGER NOT NULL, bytes INTEGER NOT NULL, examples TEXT NOT NULL,"
                     " first_bytes BLOB, strings TEXT);"
                     "CREATE TABLE answer_leak_heads(rank INTEGER PRIMARY KEY, addr INTEGER NOT NULL,"
                     " size INTEGER NOT NULL, type TEXT NOT NULL, held_count INTEGER NOT NULL,"
                     " held_bytes INTEGER NOT NULL, scc_size INTEGER NOT NULL);",
                     NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    sqlite3_stmt *s = NULL, *g = NULL, *hd = NULL;
    int ok = sqlite3_prepare_v2(db, "INSERT INTO answer_leaks VALUES(?,?,?,?,?,?,?,?,?,?)", -1, &s, NULL) ==
                 SQLITE_OK &&
             sqlite3_prepare_v2(db, "INSERT INTO answer_leak_groups VALUES(?,?,?,?,?,?,?)", -1, &g, NULL) ==
                 SQLITE_OK &&
             sqlite3_prepare_v2(db, "INSERT INTO answer_leak_heads VALUES(?,?,?,?,?,?,?)", -1, &hd, NULL) ==
                 SQLITE_OK;
    if (ok) {
        int64_t v[] = {a->rows, (int64_t)a->used_count, (int64_t)a->used_bytes, (int64_t)a->count,
                       (int64_t)a->bytes, (int64_t)a->garbage_count, (int64_t)a->garbage_bytes,
                       (int64_t)a->ngroups, (int64_t)a->nheads, a->held_partial};
        for (int c = 0; c < 10; c++)
            sqlite3_bind_int64(s, c + 1, v[c]);
        ok = sqlite3_step(s) == SQLITE_DONE;
    }
    for (size_t k = 0; ok && k < a->groups_len; k++) {
        const struct leaks_answer_group *ag = &a->groups[k];
        char ex[4 * 20 + 1] = "", *joined = NULL;
        for (uint32_t e = 0; e < ag->nexamples; e++)
            snprintf(ex + strlen(ex), sizeof ex - strlen(ex), "%s0x%" PRIx64, e ? " " : "", ag->examples[e]);
        sqlite3_bind_int64(g, 1, (int64_t)k);
        sqlite3_bind_text(g, 2, ag->type, -1, SQLITE_STATIC);
        sqlite3_bind_int64(g, 3, (int64_t)ag->count);
        sqlite3_bind_int64(g, 4, (int64_t)ag->bytes);
        sqlite3_bind_text(g, 5, ex, -1, SQLITE_TRANSIENT);
        ok = bind_bytes(g, 6, &ag->ex, &joined) == 0 && sqlite3_step(g) == SQLITE_DONE;
        free(joined);
        sqlite3_reset(g);
    }
    for (size_t k = 0; ok && k < a->heads_len; k++) {
        const struct leaks_answer_head *ah = &a->heads[k];
        sqlite3_bind_int64(hd, 1, (int64_t)k);
        sqlite3_bind_int64(hd, 2, (int64_t)ah->addr);
        sqlite3_bind_int64(hd, 3, (int64_t)ah->size);
        sqlite3_bind_text(hd, 4, ah->type, -1, SQLITE_STATIC);
        sqlite3_bind_int64(hd, 5, (int64_t)ah->held_count);
        sqlite3_bind_int64(hd, 6, (int64_t)ah->held_bytes);
        sqlite3_bind_int64(hd, 7, ah->scc_size);
        ok = sqlite3_step(hd) == SQLITE_DONE;
        sqlite3_reset(hd);
    }
    sqlite3_finalize(s);
    sqlite3_finalize(g);
    sqlite3_finalize(hd);
    return ok && db_step_mark(db, LEAKS_STEP, 0) == 0 ? 0 : -1;
}

static int read_leaks(struct leaks_answer *a, sqlite3 *db, int64_t rows, int *oom)
{
    sqlite3_stmt *s;
    int ok = 0;
    if (sqlite3_prepare_v2(db, "SELECT * FROM answer_leaks", -1, &s, NULL) != SQLITE_OK)
        return 0;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_count(s) == 10 && all_int(s, 0, 9)) {
        a->rows = sqlite3_column_int64(s, 0);
        a->used_count = col_u(s, 1);
        a->used_bytes = col_u(s, 2);
        a->count = col_u(s, 3);
        a->bytes = col_u(s, 4);
        a->garbage_count = col_u(s, 5);
        a->garbage_bytes = col_u(s, 6);
        a->ngroups = col_u(s, 7);
        a->nheads = col_u(s, 8);
        a->held_partial = sqlite3_column_int(s, 9) != 0;
        ok = a->rows >= rows && a->rows > 0 && sqlite3_step(s) == SQLITE_DONE;
    }
    sqlite3_finalize(s);
    if (!ok)
        return 0;
    /* as many rows as were kept: min(rows, in all) */
    size_t ng = a->ngroups < (uint64_t)a->rows ? (size_t)a->ngroups : (size_t)a->rows;
    size_t nh = a->nheads < (uint64_t)a->rows ? (size_t)a->nheads : (size_t)a->rows;
    if (ng > 1000000 || nh > 1000000)
        return 0; /* not what heapsnap writes for any --limit a person reads */
    a->groups = calloc(ng ? ng : 1, sizeof *a->groups);
    a->heads = calloc(nh ? nh : 1, sizeof *a->heads);
    if (!a->groups || !a->heads)
        return *oom = 1, 0;
    if (sqlite3_prepare_v2(db, "SELECT rank, type, count, bytes, examples, first_bytes, strings"
                           " FROM answer_leak_groups ORDER BY rank", -1, &s, NULL) != SQLITE_OK)
        return 0;
    while (ok && sqlite3_step(s) == SQLITE_ROW) {
        struct leaks_answer_group *ag = &a->groups[a->groups_len];
        ok = a->groups_len < ng && all_int(s, 0, 0) && all_int(s, 2, 3) &&
             sqlite3_column_int64(s, 0) == (int64_t)a->groups_len &&
             sqlite3_column_type(s, 1) == SQLITE_TEXT && sqlite3_column_type(s, 4) == SQLITE_TEXT;
        if (!ok)
            break;
        a->groups_len++;
        ag->count = col_u(s, 2);
        ag->bytes = col_u(s, 3);
        if (col_str(s, 1, &ag->type)) {
            *oom = 1;
            ok = 0;
            break;
        }
        const char *ex = (const char *)sqlite3_column_text(s, 4);
        while (ok && ex && *ex) {
            char *end;
            if (ag->nexamples == 4 || strncmp(ex, "0x", 2)) {
                ok = 0;
                break;
            }
            ag->examples[ag->nexamples++] = strtoull(ex, &end, 16);
            ok = end != ex + 2 && (*end == ' ' || *end == 0);
            ex = *end ? end + 1 : end;
        }
        ok = ok && ag->nexamples > 0 && read_bytes(s, 5, &ag->ex, oom) == 0;
    }
    sqlite3_finalize(s);
    if (!ok || a->groups_len != ng)
        return 0;
    if (sqlite3_prepare_v2(db, "SELECT rank, addr, size, type, held_count, held_bytes, scc_size"
                           " FROM answer_leak_heads ORDER BY rank", -1, &s, NULL) != SQLITE_OK)
        return 0;
    while (ok && sqlite3_step(s) == SQLITE_ROW) {
        struct leaks_answer_head *ah = &a->heads[a->heads_len];
        ok = a->heads_len < nh && all_int(s, 0, 2) && all_int(s, 4, 6) &&
             sqlite3_column_int64(s, 0) == (int64_t)a->heads_len && sqlite3_column_type(s, 3) == SQLITE_TEXT;
        if (!ok)
            break;
        a->heads_len++;
        ah->addr = col_u(s, 1);
        ah->size = col_u(s, 2);
        ah->held_count = col_u(s, 4);
        ah->held_bytes = col_u(s, 5);
        ah->scc_size = (uint32_t)sqlite3_column_int64(s, 6);
        if (col_str(s, 3, &ah->type)) {
            *oom = 1;
            ok = 0;
        }
    }
    sqlite3_finalize(s);
    return ok && a->heads_len == nh;
}

int leaks_answer_read(struct leaks_answer *a, sqlite3 *db, int64_t rows)
{
    memset(a, 0, sizeof *a);
    if (!current(db, LEAKS_STEP))
        return 0;
    int oom = 0;
    /* one read transaction: a second heapsnap storing its answer meanwhile
     * is seen whole or not at all */
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return 0;
    int got = current(db, LEAKS_STEP) && read_leaks(a, db, rows, &oom);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (!got)
        leaks_answer_free(a);
    return oom ? -1 : got;
}

int leaks_answer_objects(sqlite3 *db, void (*fn)(void *u, uint64_t addr, uint64_t size, uint64_t head), void *u)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT o.addr, o.size, hd.addr FROM leaks l JOIN objects o ON o.id = l.object"
                           " JOIN objects hd ON hd.id = l.head ORDER BY l.object", -1, &s, NULL) != SQLITE_OK)
        return -1;
    if (!fn) {
        sqlite3_finalize(s);
        return 0;
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        fn(u, col_u(s, 0), col_u(s, 1), col_u(s, 2));
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ------------------------------------------------------------ top */

void top_answer_free(struct top_answer *a)
{
    struct top_answer_row *lists[3] = {a->objs, a->roots, a->sus};
    size_t lens[3] = {a->nobjs, a->nroots, a->nsus};
    for (int L = 0; L < 3; L++) {
        for (size_t k = 0; k < lens[L]; k++) {
            anode_free(&lists[L][k].node);
            free(lists[L][k].held_by);
        }
        free(lists[L]);
    }
    for (size_t k = 0; k < a->ntypes; k++)
        free(a->types[k].type);
    free(a->types);
    memset(a, 0, sizeof *a);
}

static const char *const list_names[3] = {"object", "root", "suspect"};

int top_answer_store(const struct top_answer *a, sqlite3 *db, const char *file, char *err, size_t errlen)
{
    if (sqlite3_db_readonly(db, "main") == 1)
        return 0;
    if (analysis_begin(db, file,
                       "DROP TABLE IF EXISTS answer_top; DROP TABLE IF EXISTS answer_top_nodes;"
                       "DROP TABLE IF EXISTS answer_top_types;"
                       "CREATE TABLE answer_top(rows INTEGER NOT NULL, used_count INTEGER NOT NULL,"
                       " used_bytes INTEGER NOT NULL, reachable_count INTEGER NOT NULL,"
                       " reachable_bytes INTEGER NOT NULL, shared_bytes INTEGER);"
                       "CREATE TABLE answer_top_nodes(list TEXT NOT NULL, rank INTEGER NOT NULL, id INTEGER NOT NULL,"
                       " kind TEXT NOT NULL, root_kind TEXT, name TEXT, thread INTEGER NOT NULL,"
                       " addr INTEGER NOT NULL, size INTEGER NOT NULL, type TEXT, label TEXT, text TEXT NOT NULL,"
                       " retained_size INTEGER NOT NULL, retained_count INTEGER NOT NULL, held_by TEXT,"
                       " PRIMARY KEY(list, rank)) WITHOUT ROWID;"
                       "CREATE TABLE answer_top_types(rank INTEGER PRIMARY KEY, type TEXT NOT NULL,"
                       " count INTEGER NOT NULL, shallow_size INTEGER NOT NULL, retained_size INTEGER NOT NULL,"
                       " retained_count INTEGER NOT NULL);",
                       err, errlen))
        return -1;
    sqlite3_stmt *s = NULL, *n = NULL, *t = NULL;
    int ok = sqlite3_prepare_v2(db, "INSERT INTO answer_top VALUES(?,?,?,?,?,?)", -1, &s, NULL) == SQLITE_OK &&
             sqlite3_prepare_v2(db, "INSERT INTO answer_top_nodes VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", -1, &n,
                                NULL) == SQLITE_OK &&
             sqlite3_prepare_v2(db, "INSERT INTO answer_top_types VALUES(?,?,?,?,?,?)", -1, &t, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_int64(s, 1, a->rows);
        sqlite3_bind_int64(s, 2, (int64_t)a->used_count);
        sqlite3_bind_int64(s, 3, (int64_t)a->used_bytes);
        sqlite3_bind_int64(s, 4, (int64_t)a->reachable_count);
        sqlite3_bind_int64(s, 5, (int64_t)a->reachable_bytes);
        if (a->shared)
            sqlite3_bind_int64(s, 6, (int64_t)a->shared_bytes);
        else
            sqlite3_bind_null(s, 6);
        ok = sqlite3_step(s) == SQLITE_DONE;
    }
    const struct top_answer_row *lists[3] = {a->objs, a->roots, a->sus};
    size_t lens[3] = {a->nobjs, a->nroots, a->nsus};
    static const char *const kinds[3] = {"super-root", "root", "object"};
    for (int L = 0; ok && L < 3; L++)
        for (size_t k = 0; ok && k < lens[L]; k++) {
            const struct top_answer_row *r = &lists[L][k];
            const struct anode *d = &r->node;
            sqlite3_bind_text(n, 1, list_names[L], -1, SQLITE_STATIC);
            sqlite3_bind_int64(n, 2, (int64_t)k);
            sqlite3_bind_int64(n, 3, d->id);
            sqlite3_bind_text(n, 4, kinds[d->kind], -1, SQLITE_STATIC);
            sqlite3_bind_text(n, 5, d->root_kind, -1, SQLITE_STATIC);
            sqlite3_bind_text(n, 6, d->name, -1, SQLITE_STATIC);
            sqlite3_bind_int64(n, 7, d->thread);
            sqlite3_bind_int64(n, 8, (int64_t)d->addr);
            sqlite3_bind_int64(n, 9, (int64_t)d->size);
            sqlite3_bind_text(n, 10, d->type, -1, SQLITE_STATIC);
            sqlite3_bind_text(n, 11, d->label, -1, SQLITE_STATIC);
            sqlite3_bind_text(n, 12, d->text ? d->text : "", -1, SQLITE_STATIC);
            sqlite3_bind_int64(n, 13, (int64_t)r->retained_size);
            sqlite3_bind_int64(n, 14, (int64_t)r->retained_count);
            sqlite3_bind_text(n, 15, r->held_by, -1, SQLITE_STATIC);
            ok = sqlite3_step(n) == SQLITE_DONE;
            sqlite3_reset(n);
        }
    for (size_t k = 0; ok && k < a->ntypes; k++) {
        const struct top_answer_type *y = &a->types[k];
        sqlite3_bind_int64(t, 1, (int64_t)k);
        sqlite3_bind_text(t, 2, y->type, -1, SQLITE_STATIC);
        sqlite3_bind_int64(t, 3, (int64_t)y->count);
        sqlite3_bind_int64(t, 4, (int64_t)y->shallow);
        sqlite3_bind_int64(t, 5, (int64_t)y->retained_size);
        sqlite3_bind_int64(t, 6, (int64_t)y->retained_count);
        ok = sqlite3_step(t) == SQLITE_DONE;
        sqlite3_reset(t);
    }
    sqlite3_finalize(s);
    sqlite3_finalize(n);
    sqlite3_finalize(t);
    if (!ok || db_step_mark(db, TOP_STEP, 0) || analysis_exec(db, file, "COMMIT", err, errlen)) {
        snprintf(err, errlen, "%s: storing the answer of top: %s", file, sqlite3_errmsg(db));
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

static int read_node(sqlite3_stmt *s, struct top_answer_row *r, int *oom)
{
    /* columns: list rank id kind root_kind name thread addr size type label text retained_size retained_count held_by */
    const char *kind = (const char *)sqlite3_column_text(s, 3);
    struct anode *d = &r->node;
    if (!kind || !all_int(s, 6, 8) || !all_int(s, 12, 13) || sqlite3_column_type(s, 11) != SQLITE_TEXT)
        return -1;
    if (!strcmp(kind, "super-root"))
        d->kind = ANODE_SUPER;
    else if (!strcmp(kind, "root"))
        d->kind = ANODE_ROOT;
    else if (!strcmp(kind, "object"))
        d->kind = ANODE_OBJECT;
    else
        return -1;
    d->id = sqlite3_column_int64(s, 2);
    d->thread = sqlite3_column_int(s, 6);
    d->addr = col_u(s, 7);
    d->size = col_u(s, 8);
    r->retained_size = col_u(s, 12);
    r->retained_count = col_u(s, 13);
    if (col_str(s, 4, &d->root_kind) || col_str(s, 5, &d->name) || col_str(s, 9, &d->type) ||
        col_str(s, 10, &d->label) || col_str(s, 11, &d->text) || col_str(s, 14, &r->held_by)) {
        *oom = 1;
        return -1;
    }
    /* what the printers need of each kind is there */
    if ((d->kind == ANODE_ROOT && (!d->root_kind || !d->label)) || (d->kind == ANODE_OBJECT && !d->type))
        return -1;
    return 0;
}

static int read_top(struct top_answer *a, sqlite3 *db, int64_t rows, int *oom)
{
    sqlite3_stmt *s;
    int ok = 0;
    if (sqlite3_prepare_v2(db, "SELECT * FROM answer_top", -1, &s, NULL) != SQLITE_OK)
        return 0;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_count(s) == 6 && all_int(s, 0, 4)) {
        a->rows = sqlite3_column_int64(s, 0);
        a->used_count = col_u(s, 1);
        a->used_bytes = col_u(s, 2);
        a->reachable_count = col_u(s, 3);
        a->reachable_bytes = col_u(s, 4);
        a->shared = sqlite3_column_type(s, 5) == SQLITE_INTEGER;
        a->shared_bytes = col_u(s, 5);
        ok = a->rows >= rows && a->rows > 0 && a->rows <= 1000000 &&
             (a->shared || sqlite3_column_type(s, 5) == SQLITE_NULL) && sqlite3_step(s) == SQLITE_DONE;
    }
    sqlite3_finalize(s);
    if (!ok)
        return 0;
    size_t caps[3] = {(size_t)a->rows, (size_t)a->rows, SUSPECTS_MAX};
    struct top_answer_row **lists[3] = {&a->objs, &a->roots, &a->sus};
    size_t *lens[3] = {&a->nobjs, &a->nroots, &a->nsus};
    if (sqlite3_prepare_v2(db, "SELECT * FROM answer_top_nodes WHERE list = ? ORDER BY rank", -1, &s, NULL) !=
        SQLITE_OK)
        return 0;
    for (int L = 0; ok && L < 3; L++) {
        sqlite3_bind_text(s, 1, list_names[L], -1, SQLITE_STATIC);
        while (ok && sqlite3_step(s) == SQLITE_ROW) {
            if (sqlite3_column_count(s) != 15 || *lens[L] >= caps[L] || !all_int(s, 1, 1) ||
                sqlite3_column_int64(s, 1) != (int64_t)*lens[L]) {
                ok = 0;
                break;
            }
            struct top_answer_row *v = realloc(*lists[L], (*lens[L] + 1) * sizeof *v);
            if (!v) {
                *oom = 1;
                ok = 0;
                break;
            }
            *lists[L] = v;
            memset(&v[*lens[L]], 0, sizeof *v);
            ok = read_node(s, &v[(*lens[L])++], oom) == 0;
        }
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    if (!ok)
        return 0;
    if (sqlite3_prepare_v2(db, "SELECT rank, type, count, shallow_size, retained_size, retained_count"
                           " FROM answer_top_types ORDER BY rank", -1, &s, NULL) != SQLITE_OK)
        return 0;
    while (ok && sqlite3_step(s) == SQLITE_ROW) {
        if (a->ntypes >= (size_t)a->rows || !all_int(s, 0, 0) || !all_int(s, 2, 5) ||
            sqlite3_column_int64(s, 0) != (int64_t)a->ntypes || sqlite3_column_type(s, 1) != SQLITE_TEXT) {
            ok = 0;
            break;
        }
        struct top_answer_type *v = realloc(a->types, (a->ntypes + 1) * sizeof *v);
        if (!v) {
            *oom = 1;
            ok = 0;
            break;
        }
        a->types = v;
        struct top_answer_type *y = &v[a->ntypes++];
        memset(y, 0, sizeof *y);
        y->count = col_u(s, 2);
        y->shallow = col_u(s, 3);
        y->retained_size = col_u(s, 4);
        y->retained_count = col_u(s, 5);
        if (col_str(s, 1, &y->type)) {
            *oom = 1;
            ok = 0;
        }
    }
    sqlite3_finalize(s);
    return ok;
}

int top_answer_read(struct top_answer *a, sqlite3 *db, int64_t rows)
{
    memset(a, 0, sizeof *a);
    if (!current(db, TOP_STEP))
        return 0;
    int oom = 0;
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return 0;
    int got = current(db, TOP_STEP) && read_top(a, db, rows, &oom);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (!got)
        top_answer_free(a);
    return oom ? -1 : got;
}
