/*
 * load.c — the bulk load of a heapsnap database (see db.h).
 *
 * The small tables go through SQLite with the usual bulk-load practice: no
 * journal, no fsync, an exclusive lock, large pages, one transaction,
 * prepared statements, secondary indexes built once at the end.  The big
 * ones (objects with objects_addr, refs, and analysis through analysis.c)
 * SQLite only creates: their rows, handed over in key order, are laid out
 * as b-tree pages by bulk.c and spliced in after the commit, at a small
 * part of the cost of SQLite's inserts (bench/index; bench/sqlite_raw
 * measures SQLite's own rate for the same rows).  The file being written
 * is a temporary one (index.c renames it into place only after the
 * splice), so the lack of a journal risks nothing.
 */
#include "db/db.h"

#include <elf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "types/types.h"

enum {
    ST_ROOT, ST_WARNING, ST_FACT, ST_REGION,
    ST_MAPPING, ST_MODULE, ST_THREAD, ST_SYMBOL, ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_ROOT] = "INSERT INTO roots(id, kind, name, thread, addr, size, module, type_id)"
                " VALUES(?,?,?,?,?,?,?,?)",
    [ST_WARNING] = "INSERT INTO warnings(addr, source, message) VALUES(?,?,?)",
    [ST_FACT] = "INSERT OR REPLACE INTO facts(key, value) VALUES(?,?)",
    [ST_REGION] = "INSERT INTO regions(start, end, kind, arena, heap) VALUES(?,?,?,?,?)",
    [ST_MAPPING] = "INSERT INTO mappings(id, start, end, perms, offset, dev, inode, path, captured,"
                   " rss, pss, private_clean, private_dirty, shared_clean, shared_dirty, swap,"
                   " anonymous, anon_huge, vmflags, lazyfree) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [ST_MODULE] = "INSERT INTO modules(id, path, base, lowest, build_id, elf_path, debug_path,"
                  " has_symtab, has_dwarf, problem) VALUES(?,?,?,?,?,?,?,?,?,?)",
    [ST_THREAD] = "INSERT OR IGNORE INTO threads(tid, name, state, pc, sp, fp, fs_base, stack_start,"
                  " stack_end, registers) VALUES(?,?,?,?,?,?,?,?,?,?)",
    [ST_SYMBOL] = "INSERT INTO symbols(id, addr, size, name, type, bind, module) VALUES(?,?,?,?,?,?,?)",
};

struct db_load {
    sqlite3 *db;
    struct db_bulk *bulk;            /* objects, refs and analysis (bulk.c) */
    sqlite3_stmt *st[ST_COUNT];
    int in_txn;
    uint64_t nwarnings; /* every warning row, including the loader's own */
    const struct tytab *types;       /* db_load_set_typing, or NULL */
    const struct ty_result *typing;
    size_t nroots;
    char err[512];
};

static int fail(struct db_load *l, const char *what)
{
    snprintf(l->err, sizeof l->err, "%s: %s", what, sqlite3_errmsg(l->db));
    return -1;
}

/* Step a statement whose parameters are bound, then make it reusable. */
static int run(struct db_load *l, int k, const char *what)
{
    sqlite3_stmt *s = l->st[k];
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return fail(l, what);
    return 0;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

struct db_load *db_load_begin(sqlite3 *db, char *err, size_t errlen)
{
    struct db_load *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->db = db;
    char why[256];
    /* page_size must be set before the first table exists */
    if (db_exec(db,
                "PRAGMA page_size = 65536; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
                "PRAGMA locking_mode = EXCLUSIVE;"
                /* Measured (bench/index): CREATE INDEX on refs(dst) takes less
                 * than half the CPU with a small cache and on-disk temp files
                 * than with 64 MiB and temp_store=MEMORY: the sorter's runs fit
                 * the CPU caches, and SQLite's in-memory temp files grow in
                 * small chunks.  Appends need no cache.  threads: the sorter
                 * may use the second core. */
                "PRAGMA cache_size = -8192; PRAGMA threads = 2; BEGIN",
                why, sizeof why)) {
        snprintf(err, errlen, "creating the database: %s", why);
        db_load_free(l);
        return NULL;
    }
    if ((l->in_txn = 1, db_create_tables(db, why, sizeof why))) {
        snprintf(err, errlen, "creating the database: %s", why);
        db_load_free(l);
        return NULL;
    }
    if (!(l->bulk = db_bulk_new(db, why, sizeof why))) {
        snprintf(err, errlen, "creating the database: %s", why);
        db_load_free(l);
        return NULL;
    }
    for (int k = 0; k < ST_COUNT; k++) {
        if (sqlite3_prepare_v3(db, stmt_sql[k], -1, SQLITE_PREPARE_PERSISTENT, &l->st[k], NULL) !=
            SQLITE_OK) {
            snprintf(err, errlen, "preparing an insert: %s", sqlite3_errmsg(db));
            db_load_free(l);
            return NULL;
        }
    }
    return l;
}

/* ---- the fast paths: objects and refs, through the bulk writer (bulk.c) */

/* An object's row: the stored columns in the table's order (schema.c),
 * id first as NULL (it is the rowid); the rest are generated from them. */
enum { OC_ID, OC_ADDR, OC_SIZE, OC_TYPE, OC_ARENA, OC_COUNT, OC_BITS, OC_OFF, OC_EXTRA, OC_TSRC, OC_N };

int db_load_objects(struct db_load *l, const struct objtab *t,
                    void (*progress)(void *u, uint64_t done, uint64_t total), void *user)
{
    int bits[HEAP_WHERE_MAX][2]; /* objects.bits by o->where and used (db.h) */
    for (unsigned w = 0; w < HEAP_WHERE_MAX; w++)
        for (int used = 0; used < 2; used++)
            bits[w][used] = db_object_bits(used, w);
    struct db_bulk_tree *rows = db_bulk_tree(l->bulk, "objects", 0);
    struct db_bulk_tree *byaddr = rows ? db_bulk_tree(l->bulk, "objects_addr", 1) : NULL;
    if (!byaddr)
        return db_load_fail(l, db_bulk_error(l->bulk));
    for (size_t i = 0; i < t->n; i++) {
        const struct obj *o = &t->v[i];
        int64_t v[OC_N] = {0};
        uint32_t nulls = 1u << OC_ID;
        uint64_t off, extra;
        objtab_chunk(t, o, &off, &extra);
        v[OC_ADDR] = (int64_t)o->addr;
        v[OC_SIZE] = (int64_t)o->size;
        v[OC_BITS] = o->where < HEAP_WHERE_MAX ? bits[o->where][o->state == OBJ_USED]
                                               : db_object_bits(o->state == OBJ_USED, o->where);
        v[OC_OFF] = (int64_t)off;
        v[OC_EXTRA] = (int64_t)extra;
        if (o->arena == HEAP_NO_ARENA)
            nulls |= 1u << OC_ARENA;
        else
            v[OC_ARENA] = o->arena;
        uint32_t type = l->typing ? l->typing->obj_type[i] : 0;
        if (!type) { /* type_id, tsrc, type_count: types/infer.c */
            nulls |= 1u << OC_TYPE | 1u << OC_COUNT | 1u << OC_TSRC;
        } else {
            uint64_t count = ty_count_for(l->types, type, o->size, heap_where_type_slack(o->where));
            v[OC_TYPE] = type;
            v[OC_TSRC] = l->typing->obj_src[i];
            v[OC_COUNT] = (int64_t)(count ? count : 1); /* the count resolves the type's size */
        }
        int64_t key[2] = {(int64_t)o->addr, (int64_t)i + 1};
        if (db_bulk_row(rows, (int64_t)i + 1, v, nulls, OC_N) || db_bulk_entry(byaddr, key, 2))
            return db_load_fail(l, db_bulk_error(l->bulk));
        if (progress && (i & 0xffff) == 0)
            progress(user, i, t->n);
    }
    return 0;
}

/* refs is WITHOUT ROWID: its entries are the primary key's columns (dst,
 * src, offset), then the rest (interior). */
int db_load_refs(struct db_load *l, int (*pull)(void *u, struct db_ref *r), void *user)
{
    struct db_bulk_tree *t = db_bulk_tree(l->bulk, "refs", 1);
    if (!t)
        return db_load_fail(l, db_bulk_error(l->bulk));
    struct db_ref r;
    int got;
    while ((got = pull(user, &r)) > 0) {
        int64_t v[4] = {r.dst, r.src, (int64_t)r.offset, r.interior};
        if (db_bulk_entry(t, v, 4))
            return db_load_fail(l, db_bulk_error(l->bulk));
    }
    return got < 0 ? db_load_fail(l, "the references could not be read back") : 0;
}

int db_load_root(struct db_load *l, int64_t id, const struct root *r)
{
    sqlite3_stmt *s = l->st[ST_ROOT];
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, root_kind_name(r->kind), -1, SQLITE_STATIC);
    bind_text(s, 3, r->name);
    if (r->thread)
        sqlite3_bind_int(s, 4, r->thread);
    else
        sqlite3_bind_null(s, 4);
    if (r->kind == ROOT_REGISTER)
        sqlite3_bind_null(s, 5);
    else
        sqlite3_bind_int64(s, 5, (int64_t)r->addr);
    sqlite3_bind_int64(s, 6, (int64_t)r->size);
    if (r->module >= 0)
        sqlite3_bind_int(s, 7, r->module);
    else
        sqlite3_bind_null(s, 7);
    int64_t ri = id + (int64_t)l->nroots; /* roots are -n .. -1 */
    if (l->typing && ri >= 0 && (size_t)ri < l->nroots && l->typing->root_type[ri])
        sqlite3_bind_int64(s, 8, l->typing->root_type[ri]);
    else
        sqlite3_bind_null(s, 8);
    return run(l, ST_ROOT, "inserting a root");
}

int db_load_warning(struct db_load *l, uint64_t addr, const char *source, const char *message)
{
    sqlite3_stmt *s = l->st[ST_WARNING];
    if (addr)
        sqlite3_bind_int64(s, 1, (int64_t)addr);
    else
        sqlite3_bind_null(s, 1);
    bind_text(s, 2, source);
    bind_text(s, 3, message);
    l->nwarnings++;
    return run(l, ST_WARNING, "inserting a warning");
}

int db_load_fact(struct db_load *l, const char *key, const char *value)
{
    sqlite3_stmt *s = l->st[ST_FACT];
    bind_text(s, 1, key);
    bind_text(s, 2, value);
    return run(l, ST_FACT, "inserting a fact");
}

int db_load_region(struct db_load *l, const struct heap_region *r, const char *heap)
{
    sqlite3_stmt *s = l->st[ST_REGION];
    sqlite3_bind_int64(s, 1, (int64_t)r->start);
    sqlite3_bind_int64(s, 2, (int64_t)r->end);
    bind_text(s, 3, r->kind);
    if (r->arena == HEAP_NO_ARENA)
        sqlite3_bind_null(s, 4);
    else
        sqlite3_bind_int(s, 4, r->arena);
    bind_text(s, 5, heap);
    return run(l, ST_REGION, "inserting a region");
}

static int load_mappings(struct db_load *l, const struct hs_snapshot *snap)
{
    size_t n;
    const struct hs_mapping *m = hs_get_mappings(snap, &n);
    sqlite3_stmt *s = l->st[ST_MAPPING];
    for (size_t i = 0; i < n; i++) {
        char perms[5] = {m[i].flags & HS_MAP_R ? 'r' : '-', m[i].flags & HS_MAP_W ? 'w' : '-',
                         m[i].flags & HS_MAP_X ? 'x' : '-', m[i].flags & HS_MAP_SHARED ? 's' : 'p', 0};
        char dev[32];
        snprintf(dev, sizeof dev, "%02x:%02x", m[i].dev_major, m[i].dev_minor);
        int k = 1;
        sqlite3_bind_int64(s, k++, (int64_t)i + 1);
        sqlite3_bind_int64(s, k++, (int64_t)m[i].start);
        sqlite3_bind_int64(s, k++, (int64_t)m[i].end);
        sqlite3_bind_text(s, k++, perms, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, k++, (int64_t)m[i].offset);
        sqlite3_bind_text(s, k++, dev, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, k++, (int64_t)m[i].inode);
        bind_text(s, k++, m[i].path);
        sqlite3_bind_int(s, k++, !!(m[i].flags & HS_MAP_CAPTURED));
        const uint64_t fig[] = {m[i].rss, m[i].pss, m[i].private_clean, m[i].private_dirty,
                                m[i].shared_clean, m[i].shared_dirty, m[i].swap, m[i].anonymous,
                                m[i].anon_huge};
        for (size_t f = 0; f < sizeof fig / sizeof fig[0]; f++)
            sqlite3_bind_int64(s, k++, (int64_t)fig[f]);
        bind_text(s, k++, m[i].vmflags);
        if (m[i].has_lazyfree) /* NULL: a file before 1.2, or a core */
            sqlite3_bind_int64(s, k++, (int64_t)m[i].lazyfree);
        else
            sqlite3_bind_null(s, k++);
        if (run(l, ST_MAPPING, "inserting a mapping"))
            return -1;
    }
    return 0;
}

static int load_modules(struct db_load *l, const struct hs_snapshot *snap, struct dbg *d)
{
    size_t n;
    const struct hs_module *m = hs_get_modules(snap, &n);
    sqlite3_stmt *s = l->st[ST_MODULE];
    size_t nd = d ? dbg_nmodules(d) : 0;
    for (size_t i = 0; i < n; i++) {
        char bid[2 * 64 + 1] = "";
        uint32_t len = m[i].build_id_len <= 64 ? m[i].build_id_len : 64;
        for (uint32_t b = 0; b < len; b++)
            snprintf(bid + 2 * b, 3, "%02x", m[i].build_id[b]);
        const struct dbg_module_info *mi = i < nd ? dbg_module(d, i) : NULL;
        sqlite3_bind_int64(s, 1, (int64_t)i);
        bind_text(s, 2, m[i].path);
        sqlite3_bind_int64(s, 3, (int64_t)m[i].base);
        sqlite3_bind_int64(s, 4, (int64_t)m[i].lowest);
        bind_text(s, 5, len ? bid : NULL);
        /* a file the snapshot carried was written out for the index only: say so, not its temporary name */
        bind_text(s, 6, mi && mi->elf_carried ? "(carried in the snapshot)" : mi ? mi->elf_path : NULL);
        bind_text(s, 7, mi && mi->debug_carried ? "(carried in the snapshot)" : mi ? mi->debug_path : NULL);
        sqlite3_bind_int(s, 8, mi ? mi->has_symtab : 0);
        sqlite3_bind_int(s, 9, mi ? mi->has_dwarf : 0);
        bind_text(s, 10, mi ? mi->problem : "debug info not loaded");
        if (run(l, ST_MODULE, "inserting a module"))
            return -1;
        if (mi && mi->problem && db_load_warning(l, m[i].base, "debuginfo", mi->problem))
            return -1;
    }
    return 0;
}

static int load_threads(struct db_load *l, const struct hs_snapshot *snap)
{
    size_t n;
    const struct hs_thread *t = hs_get_threads(snap, &n);
    sqlite3_stmt *s = l->st[ST_THREAD];
    for (size_t i = 0; i < n; i++) {
        char state[2] = {t[i].state, 0}, name[17];
        memcpy(name, t[i].name, 16);
        name[16] = 0;
        sqlite3_bind_int(s, 1, t[i].tid);
        sqlite3_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 3, state, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 4, (int64_t)t[i].regs[HS_RIP]);
        sqlite3_bind_int64(s, 5, (int64_t)t[i].regs[HS_RSP]);
        sqlite3_bind_int64(s, 6, (int64_t)t[i].regs[HS_RBP]);
        sqlite3_bind_int64(s, 7, (int64_t)t[i].regs[HS_FS_BASE]);
        sqlite3_bind_int64(s, 8, (int64_t)t[i].stack_start);
        sqlite3_bind_int64(s, 9, (int64_t)t[i].stack_end);
        sqlite3_bind_blob(s, 10, t[i].regs, sizeof t[i].regs, SQLITE_TRANSIENT);
        if (run(l, ST_THREAD, "inserting a thread"))
            return -1;
    }
    return 0;
}

static const char *sym_type(unsigned t)
{
    switch (t) {
    case STT_NOTYPE: return "notype";
    case STT_OBJECT: return "object";
    case STT_FUNC: return "func";
    case STT_SECTION: return "section";
    case STT_FILE: return "file";
    case STT_COMMON: return "common";
    case STT_TLS: return "tls";
    case STT_GNU_IFUNC: return "ifunc";
    default: return "other";
    }
}

static const char *sym_bind(unsigned b)
{
    switch (b) {
    case STB_LOCAL: return "local";
    case STB_GLOBAL: return "global";
    case STB_WEAK: return "weak";
    case STB_GNU_UNIQUE: return "unique";
    default: return "other";
    }
}

static int load_symbols(struct db_load *l, struct dbg *d)
{
    size_t n = 0;
    const struct dbg_symbol *sy = d ? dbg_symbols(d, &n) : NULL;
    sqlite3_stmt *s = l->st[ST_SYMBOL];
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(s, 1, (int64_t)i + 1);
        sqlite3_bind_int64(s, 2, (int64_t)sy[i].addr);
        sqlite3_bind_int64(s, 3, (int64_t)sy[i].size);
        sqlite3_bind_text(s, 4, sy[i].name ? sy[i].name : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, sym_type(sy[i].type), -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 6, sym_bind(sy[i].bind), -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 7, sy[i].module);
        if (run(l, ST_SYMBOL, "inserting a symbol"))
            return -1;
    }
    return 0;
}

int db_load_metadata(struct db_load *l, const struct hs_snapshot *s, struct dbg *d)
{
    if (load_mappings(l, s) || load_modules(l, s, d) || load_threads(l, s) || load_symbols(l, d))
        return -1;
    return 0;
}

/* argv as a JSON array of strings, for the snapshot row. */
static char *argv_json(const struct hs_process *p)
{
    sqlite3_str *b = sqlite3_str_new(NULL);
    sqlite3_str_appendchar(b, 1, '[');
    for (uint32_t i = 0; i < p->argc && p->argv; i++) {
        if (i)
            sqlite3_str_appendchar(b, 1, ',');
        sqlite3_str_appendchar(b, 1, '"');
        for (const unsigned char *c = (const unsigned char *)(p->argv[i] ? p->argv[i] : ""); *c; c++) {
            if (*c == '"' || *c == '\\')
                sqlite3_str_appendf(b, "\\%c", *c);
            else if (*c < 0x20 || *c == 0x7f)
                sqlite3_str_appendf(b, "\\u%04x", *c);
            else
                sqlite3_str_appendchar(b, 1, (char)*c);
        }
        sqlite3_str_appendchar(b, 1, '"');
    }
    sqlite3_str_appendchar(b, 1, ']');
    return sqlite3_str_finish(b);
}

static void iso_time(char *buf, size_t n, time_t t)
{
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else
        snprintf(buf, n, "?");
}

static int insert_snapshot(struct db_load *l, const struct hs_snapshot *snap, const struct db_summary *sum)
{
    static const char sql[] =
        "INSERT INTO snapshot(path, size, mtime_ns, content_id, pid, exe, argv, hostname, kernel,"
        " page_size, policy, redacted, truncated, truncation, capture_time_ns, capture_time,"
        " pause_ns, capture_ns, bytes_read, bytes_zero, bytes_absent, bytes_swapped,"
        " bytes_unreadable, capture_mode, capture_failures, allocator, objects, used, free,"
        " roots, refs, warnings, indexed_at, index_seconds, schema_version,"
        " typed_objects, typed_bytes, type_conflicts)"
        " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(l->db, sql, -1, &s, NULL) != SQLITE_OK)
        return fail(l, "preparing the snapshot row");
    const struct hs_process *p = hs_get_process(snap);
    const struct hs_stats *st = hs_get_stats(snap);
    char *argv = argv_json(p);
    char captured[32], now[32];
    iso_time(captured, sizeof captured, (time_t)(p->capture_time_ns / 1000000000u));
    iso_time(now, sizeof now, time(NULL));
    int k = 1;
    bind_text(s, k++, sum->id->path);
    sqlite3_bind_int64(s, k++, sum->id->size);
    sqlite3_bind_int64(s, k++, sum->id->mtime_ns);
    bind_text(s, k++, sum->id->content_id);
    sqlite3_bind_int(s, k++, p->pid);
    bind_text(s, k++, p->exe);
    bind_text(s, k++, argv);
    bind_text(s, k++, p->hostname);
    bind_text(s, k++, p->kernel_release);
    sqlite3_bind_int(s, k++, (int)p->page_size);
    bind_text(s, k++, p->policy == HS_POLICY_ALL ? "all" : "writable");
    sqlite3_bind_int(s, k++, !!(p->flags & HS_PROC_REDACTED));
    sqlite3_bind_int(s, k++, !!hs_snapshot_truncated(snap));
    bind_text(s, k++, hs_snapshot_warning(snap));
    sqlite3_bind_int64(s, k++, (int64_t)p->capture_time_ns);
    bind_text(s, k++, captured);
    if (st) {
        const uint64_t fig[] = {st->pause_ns, st->total_ns, st->bytes_read, st->bytes_zero,
                                st->bytes_absent, st->bytes_swapped, st->bytes_unreadable};
        for (size_t f = 0; f < sizeof fig / sizeof fig[0]; f++)
            sqlite3_bind_int64(s, k++, (int64_t)fig[f]);
        bind_text(s, k++, hs_mode_name(st->mode));
        sqlite3_bind_int(s, k++, (int)st->nfailures);
    } else {
        k += 9; /* left NULL: the capture was cut before its statistics */
    }
    bind_text(s, k++, sum->allocator);
    const uint64_t cnt[] = {sum->objects, sum->used, sum->free, sum->roots, sum->refs, l->nwarnings};
    for (size_t f = 0; f < sizeof cnt / sizeof cnt[0]; f++)
        sqlite3_bind_int64(s, k++, (int64_t)cnt[f]);
    bind_text(s, k++, now);
    sqlite3_bind_double(s, k++, sum->index_seconds);
    sqlite3_bind_int(s, k++, DB_SCHEMA_VERSION);
    sqlite3_bind_int64(s, k++, (int64_t)sum->typed_objects);
    sqlite3_bind_int64(s, k++, (int64_t)sum->typed_bytes);
    sqlite3_bind_int64(s, k++, (int64_t)sum->type_conflicts);
    int rc = sqlite3_step(s);
    sqlite3_free(argv);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : fail(l, "inserting the snapshot row");
}

int db_load_finish(struct db_load *l, const struct hs_snapshot *s, const struct db_summary *sum)
{
    char *msg = NULL;
    if (insert_snapshot(l, s, sum))
        return -1;
    for (int k = 0; k < ST_COUNT; k++) {
        sqlite3_finalize(l->st[k]);
        l->st[k] = NULL;
    }
    char why[256];
    if (db_finish_tables(l->db, why, sizeof why)) {
        snprintf(l->err, sizeof l->err, "finishing the database: %s", why);
        return -1;
    }
    if (sqlite3_exec(l->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(l->err, sizeof l->err, "finishing the database: %s", msg ? msg : sqlite3_errmsg(l->db));
        sqlite3_free(msg);
        return -1;
    }
    l->in_txn = 0;
    return 0;
}

void db_load_set_typing(struct db_load *l, const struct tytab *t, const struct ty_result *r,
                        size_t nroots)
{
    l->types = t;
    l->typing = r;
    l->nroots = nroots;
}

uint64_t db_load_warnings(const struct db_load *l)
{
    return l->nwarnings;
}

int db_load_fail(struct db_load *l, const char *msg)
{
    snprintf(l->err, sizeof l->err, "%s", msg);
    return -1;
}

const char *db_load_error(const struct db_load *l)
{
    return l->err;
}

int db_load_splice(struct db_load *l, const char *path)
{
    return db_bulk_splice(l->bulk, path) ? db_load_fail(l, db_bulk_error(l->bulk)) : 0;
}

struct db_bulk *db_load_bulk(struct db_load *l)
{
    return l->bulk;
}

void db_load_free(struct db_load *l)
{
    if (!l)
        return;
    db_bulk_free(l->bulk);
    for (int k = 0; k < ST_COUNT; k++)
        sqlite3_finalize(l->st[k]);
    if (l->in_txn)
        sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
    free(l);
}
