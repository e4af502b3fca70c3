/*
 * bulk.c — the index's big tables (objects, objects_addr, refs, analysis)
 * written as SQLite b-tree pages by heapsnap itself, in key order, and
 * spliced into the database file once SQLite has committed and closed it.
 *
 * Why: even fed through one INSERT ... SELECT (feed.c), SQLite spends
 * about 300 ns on each row of refs and 600 on each of objects (with
 * objects_addr): record building in the VDBE, a cursor seek and a
 * balance for every append.  On bench/index's 10 M objects and 30 M refs
 * that was 15 s of the index's 23, above SQLite's own ceiling for these
 * rows (bench/sqlite_raw).  The rows come to us already in key order, so
 * the b-trees can be laid out directly, leaf after leaf, at the speed of
 * writing a file: a leaf is filled with cells and written, and the few
 * interior pages above the leaves are made at the end.  The file stays an
 * ordinary SQLite database (fileformat2: "Database File Format"), which
 * any client reads and `PRAGMA integrity_check` checks (tests/t5020, t5000).
 *
 * How it fits: db_load_begin() has SQLite create every table, these four
 * too, so each has a root page (an empty leaf) and its sqlite_schema row.
 * While the pipeline runs, SQLite keeps writing the small tables; the big
 * ones' leaves go to a scratch file beside the database (DB.bulk, 0600).
 * After the commit and sqlite3_close(), db_bulk_splice() puts the leaves
 * after SQLite's pages (inserting SQLite's pages in front of them in the
 * scratch file, which then replaces SQLite's: adopt(); or else copying
 * them in), builds the interior pages above them, writes each tree's top
 * page over its empty root, and sets the header's page count.  Nothing
 * else in the file changes, so SQLite's own pages and schema stay exactly
 * as SQLite wrote them.
 *
 * The format's rules kept here, each checked where it matters:
 *  - Records: a header of serial types, then big-endian integers of the
 *    smallest of 1, 2, 3, 4, 6 or 8 bytes; 0 and 1 take no bytes (serial
 *    types 8 and 9, schema format 4, checked); NULL is type 0.  A rowid
 *    table's INTEGER PRIMARY KEY column is NULL in the record.
 *  - Table b-trees (rowid): leaf cells are (payload size, rowid, record);
 *    an interior cell (left child, key) has every rowid of the child at or
 *    below key.  Index b-trees (indexes and WITHOUT ROWID tables): leaf
 *    cells are (size, record), and an interior cell holds an entry of its
 *    own, which no leaf repeats.
 *  - No page is empty but a root, and no interior page is without a cell:
 *    the last leaf of an index tree is never left empty (see finish_tree),
 *    and an interior page never ends with a lone child (build_level).
 *  - The page holding the byte at 1 GiB (the lock-byte page) is never
 *    used.
 *  - Cells are small: each must fit a page with room to spare (the
 *    format's largest local payload), so no overflow pages are needed.
 */
#include "db/db.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fdio.h"
#include "base/grow.h"

/* The format's lock-byte page starts at this byte; tests may move it (as
 * SQLite's test control does), so it is a variable. */
static uint64_t pending_byte = 0x40000000;

void db_bulk_set_pending_byte(uint64_t at)
{
    pending_byte = at;
}

/* Page flags (fileformat2, "B-tree Pages"). */
#define LEAF_TABLE     13
#define INTERIOR_TABLE 5
#define LEAF_INDEX     10
#define INTERIOR_INDEX 2

#define MAX_COLS 16
/* The largest cell written: far below the format's largest local payload
 * for the pages used (db_bulk_new() takes 4096 bytes or more), so no cell
 * ever needs an overflow page. */
#define MAX_CELL 512
#define WRITEBACK_STEP (8u << 20)

/* One page being filled: cells grow down from the end, their pointers up
 * from the header. */
struct page {
    uint8_t *buf;
    uint32_t ncell;
    uint32_t top;      /* start of the cell content area */
    uint32_t hdr;      /* 8 for a leaf, 12 for an interior page */
    uint32_t last;     /* the size of the last cell added */
};

/* Dividers: for each boundary between two neighbouring pages, the bytes
 * an interior cell holds after its child pointer (a table tree's key as a
 * varint; an index tree's entry as size and record). */
struct divs {
    uint8_t *bytes;
    size_t len, cap;
    size_t *off;       /* off[i] .. off[i + 1] is divider i */
    size_t n, ncap;
};

struct db_bulk_tree {
    struct db_bulk *b;
    struct db_bulk_tree *next;
    char name[64];
    int index;                 /* an index b-tree */
    uint32_t root;             /* its root page in the database */
    struct page cur, held;     /* held: the last full leaf, not yet written */
    int has_held;
    int64_t cur_max;           /* table trees: the largest rowid in cur */
    uint64_t *leaf;            /* the scratch page of each written leaf */
    size_t nleaf, capleaf;
    struct divs d;             /* d.n == leaves so far - 1 */
    int64_t prev[MAX_COLS];    /* the last key, for the order check */
    int nprev;                 /* its columns; 0 before the first row */
};

struct db_bulk {
    sqlite3 *db;               /* until the splice: for the root pages */
    uint32_t pagesize;
    int fd;                    /* the scratch file */
    char scratch[4096 + 8];    /* its name, or "" (none, or gone) */
    char dir[4096];
    uint64_t nscratch;         /* pages written to it */
    uint64_t synced;           /* bytes of it handed to writeback */
    struct db_bulk_tree *trees;
    struct db_bulk_stats st;
    char err[4096 + 512];      /* room for a path and the reason */
};

__attribute__((format(printf, 2, 3))) static int bfail(struct db_bulk *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->err, sizeof b->err, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- varints and records */

static size_t put_varint(uint8_t *p, uint64_t v)
{
    if (v & 0xff00000000000000ull) { /* nine bytes: the last one holds eight bits */
        p[8] = (uint8_t)v;
        v >>= 8;
        for (int i = 7; i >= 0; i--) {
            p[i] = (uint8_t)((v & 0x7f) | 0x80);
            v >>= 7;
        }
        return 9;
    }
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (uint8_t)((v & 0x7f) | 0x80);
        v >>= 7;
    } while (v);
    tmp[0] &= 0x7f;
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

/* The serial type of integer v and its size in bytes. */
static unsigned int_type(int64_t v, unsigned *len)
{
    if (v == 0 || v == 1) {
        *len = 0;
        return 8 + (unsigned)v;
    }
    static const unsigned lens[] = {1, 2, 3, 4, 6, 8};
    for (unsigned t = 0; t < 5; t++) {
        int64_t lim = (int64_t)1 << (8 * lens[t] - 1);
        if (v >= -lim && v < lim) {
            *len = lens[t];
            return t + 1;
        }
    }
    *len = 8;
    return 6;
}

/* A record of n integer columns, those in nulls' bits NULL.  Its size. */
static size_t put_record(uint8_t *out, const int64_t *v, uint32_t nulls, int n)
{
    unsigned types[MAX_COLS], lens[MAX_COLS];
    for (int i = 0; i < n; i++)
        types[i] = nulls >> i & 1 ? (lens[i] = 0, 0) : int_type(v[i], &lens[i]);
    uint8_t *p = out;
    *p++ = (uint8_t)(1 + n); /* the header's size, then a byte per type: all below 128 */
    for (int i = 0; i < n; i++)
        *p++ = (uint8_t)types[i];
    for (int i = 0; i < n; i++) {
        uint64_t u = (uint64_t)v[i];
        for (unsigned k = lens[i]; k-- > 0;)
            *p++ = (uint8_t)(u >> (8 * k));
    }
    return (size_t)(p - out);
}

/* ---- pages */

static void page_reset(struct page *pg, uint32_t pagesize, uint32_t hdr)
{
    pg->ncell = 0;
    pg->top = pagesize;
    pg->hdr = hdr;
    pg->last = 0;
}

static int page_fits(const struct page *pg, size_t len)
{
    return pg->hdr + 2 * (size_t)(pg->ncell + 1) + len <= pg->top;
}

static void page_add(struct page *pg, const uint8_t *cell, size_t len)
{
    pg->top -= (uint32_t)len;
    memcpy(pg->buf + pg->top, cell, len);
    uint8_t *ptr = pg->buf + pg->hdr + 2 * pg->ncell++;
    ptr[0] = (uint8_t)(pg->top >> 8);
    ptr[1] = (uint8_t)pg->top;
    pg->last = (uint32_t)len;
}

/* Take back the last cell added (its bytes stay where they were until
 * overwritten: the caller copies them first). */
static void page_pop(struct page *pg)
{
    pg->top += pg->last;
    pg->ncell--;
    pg->last = 0;
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The page header, once the cells are in; right is the right-most child
 * of an interior page.  The free space between the pointers and the cells
 * is zeroed, so that no stale bytes of an earlier page go into the file. */
static void page_seal(struct page *pg, uint8_t flag, uint32_t right)
{
    uint8_t *h = pg->buf;
    h[0] = flag;
    put16(h + 1, 0);
    put16(h + 3, pg->ncell);
    put16(h + 5, pg->top == 65536 ? 0 : pg->top);
    h[7] = 0;
    if (pg->hdr == 12)
        put32(h + 8, right);
    uint32_t gap = pg->hdr + 2 * pg->ncell;
    memset(pg->buf + gap, 0, pg->top - gap);
}

/* ---- the dividers */

static int divs_push(struct divs *d, const uint8_t *p, size_t len)
{
    size_t *no = grow_for_one(d->off, d->n + 1, &d->ncap, sizeof *no, 64); /* off[n + 1] */
    if (!no)
        return -1;
    d->off = no;
    uint8_t *nb = grow_bytes(d->bytes, d->len + len, &d->cap, 4096);
    if (!nb)
        return -1;
    d->bytes = nb;
    if (!d->n)
        d->off[0] = 0;
    memcpy(d->bytes + d->len, p, len);
    d->len += len;
    d->off[++d->n] = d->len;
    return 0;
}

/* Take back the last divider. */
static void divs_pop(struct divs *d)
{
    d->n--;
    d->len = d->off[d->n];
}

static void divs_free(struct divs *d)
{
    free(d->bytes);
    free(d->off);
    memset(d, 0, sizeof *d);
}

/* ---- building the leaves */

struct db_bulk *db_bulk_new(sqlite3 *db, char *err, size_t errlen)
{
    struct db_bulk *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    b->db = db;
    b->fd = -1;
    const char *file = sqlite3_db_filename(db, "main");
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        b->pagesize = (uint32_t)sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (!file || !*file || b->pagesize < 4096 || b->pagesize > 65536 || (b->pagesize & (b->pagesize - 1))) {
        snprintf(err, errlen, "the bulk load needs a database file with a known page size");
        free(b);
        return NULL;
    }
    char tmp[sizeof b->dir];
    snprintf(tmp, sizeof tmp, "%s", file);
    snprintf(b->dir, sizeof b->dir, "%s", dirname(tmp));
    /* Beside the database, named after it, so that at the splice it can
     * become the database itself (adopt()); made here (O_EXCL), 0600: the
     * leaves hold the target's pointers.  Failing that, a file with no
     * name, whose leaves the splice copies. */
    snprintf(b->scratch, sizeof b->scratch, "%s.bulk", file);
    b->fd = open(b->scratch, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (b->fd < 0) {
        b->scratch[0] = 0;
        b->fd = open(b->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    }
    if (b->fd < 0) {
        snprintf(err, errlen, "%s: cannot create a scratch file: %s", b->dir, strerror(errno));
        free(b);
        return NULL;
    }
    return b;
}

struct db_bulk_tree *db_bulk_tree(struct db_bulk *b, const char *name, int index)
{
    sqlite3_stmt *s = NULL;
    int64_t root = 0;
    if (sqlite3_prepare_v2(b->db, "SELECT rootpage FROM sqlite_schema WHERE name = ?", -1, &s, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW)
            root = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    if (root < 2 || root > UINT32_MAX) {
        bfail(b, "the bulk load: no b-tree named %s", name);
        return NULL;
    }
    struct db_bulk_tree *t = calloc(1, sizeof *t);
    if (!t || !(t->cur.buf = malloc(b->pagesize)) || !(t->held.buf = malloc(b->pagesize))) {
        if (t)
            free(t->cur.buf);
        free(t);
        bfail(b, "the bulk load of %s: out of memory", name);
        return NULL;
    }
    t->b = b;
    snprintf(t->name, sizeof t->name, "%s", name);
    t->index = index;
    t->root = (uint32_t)root;
    page_reset(&t->cur, b->pagesize, 8);
    t->next = b->trees;
    b->trees = t;
    return t;
}

static uint8_t leaf_flag(const struct db_bulk_tree *t)
{
    return t->index ? LEAF_INDEX : LEAF_TABLE;
}

/* Write the held leaf to the scratch file. */
static int flush_held(struct db_bulk_tree *t)
{
    struct db_bulk *b = t->b;
    if (!t->has_held)
        return 0;
    page_seal(&t->held, leaf_flag(t), 0);
    uint64_t *nl = grow_for_one(t->leaf, t->nleaf, &t->capleaf, sizeof *nl, 256);
    if (!nl)
        return bfail(b, "the bulk load of %s: out of memory", t->name);
    t->leaf = nl;
    if (fd_write_all(b->fd, t->held.buf, b->pagesize, (int64_t)b->nscratch * b->pagesize))
        return bfail(b, "writing the scratch file %s: %s", b->scratch[0] ? b->scratch : b->dir,
                     strerror(errno ? errno : EIO));
    t->leaf[t->nleaf++] = b->nscratch++;
    b->st.leaves++;
    t->has_held = 0;
    /* A scratch file that may become the database is written back as it
     * grows, a few MiB at a time, in the background: inserting a range
     * (adopt()) first waits for every dirty page of the file, which for
     * 2 GB written at the end was 1.2 s of waiting. */
    uint64_t bytes = b->nscratch * b->pagesize;
    if (b->scratch[0] && bytes - b->synced >= WRITEBACK_STEP) {
        sync_file_range(b->fd, (off_t)b->synced, (off_t)(bytes - b->synced), SYNC_FILE_RANGE_WRITE);
        b->synced = bytes;
    }
    return 0;
}

/* The current leaf becomes the held one (the one held before is written),
 * and an empty leaf is begun. */
static int hold_cur(struct db_bulk_tree *t)
{
    if (flush_held(t))
        return -1;
    struct page tmp = t->held;
    t->held = t->cur;
    t->cur = tmp;
    t->has_held = 1;
    page_reset(&t->cur, t->b->pagesize, 8);
    return 0;
}

/* The current leaf is full.  A table tree's divider, the full leaf's
 * largest rowid, is known now; an index tree's is the entry that did not
 * fit, which the caller pushes. */
static int next_leaf(struct db_bulk_tree *t)
{
    if (hold_cur(t))
        return -1;
    if (!t->index) {
        uint8_t key[9];
        if (divs_push(&t->d, key, put_varint(key, (uint64_t)t->cur_max)))
            return bfail(t->b, "the bulk load of %s: out of memory", t->name);
    }
    return 0;
}

/* Keys must rise strictly: a b-tree in any other order is corrupt. */
static int in_order(struct db_bulk_tree *t, const int64_t *k, int n)
{
    if (t->nprev) {
        int c = 0;
        for (int i = 0; i < n && i < t->nprev && !c; i++)
            c = k[i] < t->prev[i] ? -1 : k[i] > t->prev[i];
        if (c < 0 || (c == 0 && n <= t->nprev))
            return bfail(t->b, "the bulk load of %s: rows out of key order", t->name), 0;
    }
    memcpy(t->prev, k, (size_t)n * sizeof *k);
    t->nprev = n;
    return 1;
}

int db_bulk_row(struct db_bulk_tree *t, int64_t rowid, const int64_t *v, uint32_t nulls, int n)
{
    if (n > MAX_COLS)
        return bfail(t->b, "the bulk load of %s: too many columns", t->name);
    if (!in_order(t, &rowid, 1))
        return -1;
    uint8_t rec[1 + MAX_COLS * 9], cell[sizeof rec + 18];
    size_t rlen = put_record(rec, v, nulls, n);
    size_t len = put_varint(cell, rlen);
    len += put_varint(cell + len, (uint64_t)rowid);
    memcpy(cell + len, rec, rlen);
    len += rlen;
    if (!page_fits(&t->cur, len) && next_leaf(t))
        return -1;
    page_add(&t->cur, cell, len);
    t->cur_max = rowid;
    return 0;
}

int db_bulk_entry(struct db_bulk_tree *t, const int64_t *v, int n)
{
    if (n > MAX_COLS)
        return bfail(t->b, "the bulk load of %s: too many columns", t->name);
    if (!in_order(t, v, n))
        return -1;
    uint8_t cell[9 + 1 + MAX_COLS * 9];
    uint8_t rec[1 + MAX_COLS * 9];
    size_t rlen = put_record(rec, v, 0, n);
    size_t len = put_varint(cell, rlen);
    memcpy(cell + len, rec, rlen);
    len += rlen;
    if (len > MAX_CELL)
        return bfail(t->b, "the bulk load of %s: an entry too large for a page", t->name);
    if (page_fits(&t->cur, len)) {
        page_add(&t->cur, cell, len);
        return 0;
    }
    /* the entry that does not fit divides the full leaf from the next */
    if (next_leaf(t))
        return -1;
    if (divs_push(&t->d, cell, len))
        return bfail(t->b, "the bulk load of %s: out of memory", t->name);
    return 0;
}

/* The end of a tree's rows.  An index tree whose last entry became a
 * divider would end on an empty leaf: the held leaf's last entry becomes
 * the divider instead, and the last entry goes into the final leaf. */
static int finish_tree(struct db_bulk_tree *t)
{
    if (!t->has_held)
        return 0; /* one leaf (or none): it is the root, written at the splice */
    if (t->index && t->cur.ncell == 0) {
        struct divs *d = &t->d;
        if (t->held.ncell < 2)
            return bfail(t->b, "the bulk load of %s: cannot end the tree", t->name);
        page_add(&t->cur, d->bytes + d->off[d->n - 1], d->off[d->n] - d->off[d->n - 1]);
        /* the held leaf's last cell: its bytes stay in the page once popped */
        const uint8_t *last = t->held.buf + t->held.top;
        size_t len = t->held.last;
        page_pop(&t->held);
        divs_pop(d);
        t->b->st.retakes++;
        if (divs_push(d, last, len))
            return bfail(t->b, "the bulk load of %s: out of memory", t->name);
    }
    return hold_cur(t) || flush_held(t) ? -1 : 0;
}

/* ---- the splice */

struct splice {
    struct db_bulk *b;
    int fd;                 /* the database */
    const char *path;
    uint64_t base;          /* the database's page count before */
    uint64_t lockpg;        /* the lock-byte page */
    uint64_t next;          /* the next sequence number to give */
    uint8_t *buf;           /* one page */
};

/* The database page of sequence number i (0 is the first page after the
 * database's own), stepping over the lock-byte page. */
static uint64_t seq_page(const struct splice *sp, uint64_t i)
{
    uint64_t pg = sp->base + 1 + i;
    return sp->base < sp->lockpg && pg >= sp->lockpg ? pg + 1 : pg;
}

static int write_page(struct splice *sp, uint64_t pg, const uint8_t *buf)
{
    if (fd_write_all(sp->fd, buf, sp->b->pagesize, (int64_t)(pg - 1) * sp->b->pagesize))
        return bfail(sp->b, "%s: writing: %s", sp->path, strerror(errno ? errno : EIO));
    return 0;
}

/* Copy len bytes from in at inoff to out at outoff. */
static int copy_bytes(struct splice *sp, int in, uint64_t inoff, int out, uint64_t outoff, uint64_t len)
{
    struct db_bulk *b = sp->b;
    loff_t i = (loff_t)inoff, o = (loff_t)outoff;
    while (len) {
        ssize_t n = copy_file_range(in, &i, out, &o, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len -= (uint64_t)n;
    }
    /* where the kernel cannot copy between these files, read and write */
    while (len) {
        size_t chunk = len < b->pagesize ? (size_t)len : b->pagesize;
        ssize_t n = pread(in, sp->buf, chunk, i);
        if (n != (ssize_t)chunk || fd_write_all(out, sp->buf, chunk, (int64_t)o))
            return bfail(b, "%s: copying the bulk pages in: %s", sp->path, strerror(errno ? errno : EIO));
        i += n;
        o += n;
        len -= chunk;
    }
    return 0;
}

/* Copy scratch pages [from, to) to the database, starting at page pg. */
static int copy_pages(struct splice *sp, uint64_t from, uint64_t to, uint64_t pg)
{
    uint64_t ps = sp->b->pagesize;
    return copy_bytes(sp, sp->b->fd, from * ps, sp->fd, (pg - 1) * ps, (to - from) * ps);
}

/*
 * The leaves are most of the file: rather than copy them after SQLite's
 * pages (a second write of every byte: 2 s and 3 s of system time for a
 * gigabyte here), make room for SQLite's pages in front of them in the
 * scratch file (FALLOC_FL_INSERT_RANGE moves extents, not bytes), copy
 * those in, and let the scratch file become the database.  A hole of one
 * page goes where the lock-byte page falls among the leaves.  0 done
 * (sp->fd is then the scratch file), 1 not possible here (nothing
 * changed: copy instead), -1 failed.
 */
static int adopt(struct splice *sp, int dbfd)
{
    struct db_bulk *b = sp->b;
    uint64_t ps = b->pagesize;
    if (!b->scratch[0] || !b->nscratch ||
        fallocate(b->fd, FALLOC_FL_INSERT_RANGE, 0, (off_t)(sp->base * ps)))
        return 1;
    if (sp->base < sp->lockpg && sp->lockpg <= sp->base + b->nscratch &&
        fallocate(b->fd, FALLOC_FL_INSERT_RANGE, (off_t)((sp->lockpg - 1) * ps), (off_t)ps))
        return bfail(b, "%s: making room for the lock-byte page: %s", b->scratch, strerror(errno));
    if (copy_bytes(sp, dbfd, 0, b->fd, 0, sp->base * ps))
        return -1;
    sp->fd = b->fd;
    return 0;
}

/*
 * One interior level above children[0..n) (database pages), divided by
 * d's n - 1 dividers: pages of cells (child i, divider i), each closed by
 * a right-most child whose divider goes up to the next level with the
 * page.  The level's pages go in *up (children) and *dup (dividers); a
 * level of one page is the root, written over the tree's root page.
 */
static int build_level(struct splice *sp, struct db_bulk_tree *t, const uint64_t *child, size_t n,
                       const struct divs *d, uint64_t **up, size_t *nup, struct divs *dup)
{
    struct db_bulk *b = sp->b;
    uint8_t flag = t->index ? INTERIOR_INDEX : INTERIOR_TABLE;
    struct page pg = {.buf = sp->buf};
    uint64_t *out = malloc(((n + 1) / 2 + 1) * sizeof *out);
    size_t nout = 0;
    if (!out)
        return bfail(b, "the bulk load of %s: out of memory", t->name);
    for (size_t i = 0; i < n;) {
        page_reset(&pg, b->pagesize, 12);
        size_t first = i;
        for (; i + 1 < n; i++) {
            size_t dl = d->off[i + 1] - d->off[i];
            uint8_t cell[4 + MAX_CELL];
            if (dl > sizeof cell - 4 || !page_fits(&pg, 4 + dl))
                break;
            put32(cell, (uint32_t)child[i]);
            memcpy(cell + 4, d->bytes + d->off[i], dl);
            page_add(&pg, cell, 4 + dl);
        }
        if (i + 2 == n && pg.ncell >= 2) {
            /* only the last child would be left for the next page, which
             * would then have no cell: close this one a child earlier */
            page_pop(&pg);
            i--;
            b->st.backoffs++;
        }
        if (i + 1 < n && (pg.ncell == 0 || i + 2 == n))
            return free(out), bfail(b, "the bulk load of %s: keys too large for an interior page", t->name);
        page_seal(&pg, flag, (uint32_t)child[i]);
        int root = first == 0 && i + 1 == n;
        uint64_t at = root ? t->root : seq_page(sp, sp->next++);
        if (write_page(sp, at, pg.buf))
            return free(out), -1;
        out[nout++] = at;
        b->st.interior += !root;
        if (i + 1 < n && divs_push(dup, d->bytes + d->off[i], d->off[i + 1] - d->off[i]))
            return free(out), bfail(b, "the bulk load of %s: out of memory", t->name);
        i++;
    }
    *up = out;
    *nup = nout;
    return 0;
}

static int splice_tree(struct splice *sp, struct db_bulk_tree *t)
{
    struct db_bulk *b = sp->b;
    /* the root must still be the empty leaf SQLite made */
    uint8_t h[8];
    if (pread(sp->fd, h, sizeof h, (off_t)((t->root - 1) * (uint64_t)b->pagesize)) != (ssize_t)sizeof h ||
        h[0] != leaf_flag(t) || h[3] || h[4])
        return bfail(b, "%s: the b-tree of %s is not the empty one the bulk load began with", sp->path, t->name);
    if (!t->nleaf) {
        if (!t->cur.ncell)
            return 0;
        page_seal(&t->cur, leaf_flag(t), 0);
        return write_page(sp, t->root, t->cur.buf);
    }
    size_t n = t->nleaf;
    uint64_t *child = malloc(n * sizeof *child);
    if (!child)
        return bfail(b, "the bulk load of %s: out of memory", t->name);
    for (size_t i = 0; i < n; i++)
        child[i] = seq_page(sp, t->leaf[i]);
    struct divs d = t->d;
    int own = 0; /* whether d is a level's, to free (t->d is the tree's) */
    int rc = 0;
    for (unsigned level = 2; n > 1; level++) {
        if (level > b->st.levels)
            b->st.levels = level;
        uint64_t *up = NULL;
        size_t nup = 0;
        struct divs dup = {0};
        rc = build_level(sp, t, child, n, &d, &up, &nup, &dup);
        free(child);
        if (own)
            divs_free(&d);
        child = up;
        n = nup;
        d = dup;
        own = 1;
        if (rc)
            break;
    }
    free(child);
    if (own)
        divs_free(&d);
    return rc;
}

int db_bulk_splice(struct db_bulk *b, const char *path)
{
    b->db = NULL; /* closed by now */
    for (struct db_bulk_tree *t = b->trees; t; t = t->next)
        if (finish_tree(t))
            return -1;
    struct splice sp = {.b = b, .path = path};
    uint8_t hdr[100];
    struct stat st;
    sp.fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (sp.fd < 0)
        return bfail(b, "%s: %s", path, strerror(errno));
    if (pread(sp.fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr || fstat(sp.fd, &st)) {
        close(sp.fd);
        return bfail(b, "%s: cannot read the database header", path);
    }
    uint32_t psize = (uint32_t)hdr[16] << 8 | hdr[17];
    if (psize == 1)
        psize = 65536;
    uint32_t change = get32(hdr + 24);
    sp.base = get32(hdr + 28);
    const char *bad = memcmp(hdr, "SQLite format 3", 16) ? "not an SQLite database"
                      : psize != b->pagesize                ? "another page size"
                      : hdr[20]                            ? "reserved bytes in its pages"
                      : get32(hdr + 92) != change           ? "a page count that is not current"
                      : get32(hdr + 44) != 4                ? "a schema format before 4"
                      : get32(hdr + 52)                     ? "auto-vacuum"
                      : (uint64_t)st.st_size != sp.base * psize ? "a size other than its page count"
                                                             : NULL;
    if (bad) {
        close(sp.fd);
        return bfail(b, "%s: the bulk load cannot splice into a database with %s", path, bad);
    }
    sp.lockpg = pending_byte / psize + 1;
    sp.next = b->nscratch;
    if (!(sp.buf = malloc(psize))) {
        close(sp.fd);
        return bfail(b, "the bulk load: out of memory");
    }
    int dbfd = sp.fd, rc = adopt(&sp, dbfd), adopted = rc == 0;
    if (rc > 0) {
        /* the leaves, in scratch order, after SQLite's pages and around
         * the lock-byte page */
        uint64_t before = sp.base < sp.lockpg ? sp.lockpg - 1 - sp.base : b->nscratch;
        if (before > b->nscratch)
            before = b->nscratch;
        rc = copy_pages(&sp, 0, before, sp.base + 1) ||
             (before < b->nscratch && copy_pages(&sp, before, b->nscratch, seq_page(&sp, before)));
    }
    for (struct db_bulk_tree *t = b->trees; t && !rc; t = t->next)
        rc = splice_tree(&sp, t);
    b->st.skipped_lock_page = sp.base < sp.lockpg && sp.next && seq_page(&sp, sp.next - 1) > sp.lockpg;
    b->st.adopted = adopted;
    if (!rc) {
        uint64_t pages = sp.next ? seq_page(&sp, sp.next - 1) : sp.base;
        if (pages > UINT32_MAX - 1) {
            rc = bfail(b, "%s: the database would exceed SQLite's page count", path);
        } else {
            uint8_t f[4];
            put32(f, change + 1);
            rc = fd_write_all(sp.fd, f, 4, 24) || fd_write_all(sp.fd, f, 4, 92);
            put32(f, (uint32_t)pages);
            rc = rc || fd_write_all(sp.fd, f, 4, 28) || ftruncate(sp.fd, (off_t)(pages * psize));
            if (rc)
                bfail(b, "%s: writing the header: %s", path, strerror(errno ? errno : EIO));
        }
    }
    /* the scratch file, now the whole database, takes SQLite's file's place */
    if (!rc && adopted) {
        if (rename(b->scratch, path))
            rc = bfail(b, "%s: %s", path, strerror(errno));
        else
            b->scratch[0] = 0;
    }
    free(sp.buf);
    if (close(dbfd) && !rc)
        rc = bfail(b, "%s: %s", path, strerror(errno));
    return rc ? -1 : 0;
}

void db_bulk_stats(const struct db_bulk *b, struct db_bulk_stats *st)
{
    *st = b->st;
}

const char *db_bulk_error(const struct db_bulk *b)
{
    return b->err;
}

void db_bulk_free(struct db_bulk *b)
{
    if (!b)
        return;
    while (b->trees) {
        struct db_bulk_tree *t = b->trees;
        b->trees = t->next;
        free(t->cur.buf);
        free(t->held.buf);
        free(t->leaf);
        divs_free(&t->d);
        free(t);
    }
    if (b->fd >= 0)
        close(b->fd);
    if (b->scratch[0])
        unlink(b->scratch);
    free(b);
}
