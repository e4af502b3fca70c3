/*
 * analysis.h — the analyses behind `heapsnap leaks`, `explain`, `top`,
 * `path`, `diff` and `rss`: the heap graph read from a database, the
 * reachability and dominator results computed from it once and kept in the
 * database, and the pieces each command builds on.
 *
 *   load.c       a database's objects, roots and refs -> struct hgraph
 *   results.c    reachability + dominators: computed on first need, stored
 *                in the `analysis` table, read back by later commands
 *   leaks.c      the leaked set, its heads (one per source SCC), what each
 *                head holds; tables leaks and leak_heads
 *   retainers.c  the largest retainers: objects, types (MAT's rule), roots
 *   answers.c    what leaks and top print, stored, read back without the graph
 *   diff.c       matching objects across snapshots; tables diff_types,
 *                diff_objects
 *   show.c       shared printing: names of roots and groups, object bytes,
 *                the field/offset of one reference
 *   session.c    (session.h) the options and opening every command shares
 *   rss.c        (rss.h) where RSS goes; the levers are each allocator's
 *                advisor's, in its folder (heap/NAME/advice.c)
 *
 * Node numbering, shared by everything here and by graph/graph.h:
 *
 *   node 0                      the super-root (not in the heap)
 *   node 1 .. nroots            roots, in id order: root id r (-nroots..-1)
 *                               is node r + nroots + 1
 *   node nroots+1 .. n-1        objects, in id order: object id k (1..nobjs)
 *                               is node nroots + k
 *
 * Roots are real nodes (the super-root points at every root, each root at
 * what its words point to) so that the dominator tree gives each object to
 * the one root that holds it alone, as Eclipse MAT does with its GC roots;
 * an object held by two roots is dominated by the super-root.  Free objects
 * are nodes too (so ids map by arithmetic) but have no edges: the indexer
 * never scans free chunks, and load.c drops any ref from a free object.
 * Their size counts as 0 so they never add to a retained size.
 *
 * The allocator's own chunks (objects.where = 'malloc-internal': glibc's
 * per-thread tcache_perthread_struct) are used to malloc but are not the
 * program's: they keep their edges in (a thread's TLS points at its tcache)
 * but count 0 bytes, are never leaked, never a retainer, never in a type
 * group or a diff, and are left out of used_bytes/used_count.  hg_program()
 * is the test for "a used object of the program's".
 *
 * Errors: functions returning int give 0 or -1 with a message in err
 * ("FILE: what failed"), for the caller to print with cli_error().
 */
#ifndef HEAPSNAP_ANALYSIS_ANALYSIS_H
#define HEAPSNAP_ANALYSIS_ANALYSIS_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/u64map.h"
#include "graph/graph.h"
#include "base/json.h"

#define A_ERRLEN 1024

/* ------------------------------------------------------------ load.c */

struct hroot {
    char kind[10];      /* data stack register tls anon allocator finalizer runtime */
    int32_t thread;     /* 0 if none */
    uint64_t addr, size;
    char *name;         /* NULL if unnamed */
};

struct hgraph {
    sqlite3 *db;
    const char *file;       /* what the user named (for messages) */
    uint32_t nroots, nobjs;
    uint32_t n;             /* 1 + nroots + nobjs */
    struct hroot *roots;    /* [nroots], roots[i] is node i + 1 */
    uint64_t *addr;         /* [nobjs] objects in id order (= address order) */
    uint64_t *osize;        /* [nobjs] usable size */
    uint8_t *used;          /* [nobjs] 1 if state = 'used' */
    uint8_t *internal;      /* [nobjs] 1 if where = 'malloc-internal' (also used) */
    uint8_t *collected;     /* [nobjs] 1 if in a garbage-collected heap (heap = 'go'): an
                             * unreachable object there is garbage the next GC frees, never
                             * a leak (a cgo program's leak is in its C heap) */
    uint64_t *group;        /* [nobjs] group key, see hgraph_group_key() */
    uint64_t used_bytes, used_count;   /* the program's used objects (hg_program) */
    int typed;              /* the database has a types table with names */
    sqlite3_stmt *type_name;   /* SELECT name FROM types WHERE id = ?, when typed */
    struct graph g;         /* forward edges only; results.c adds the reverse */
    int refs_loaded;        /* g holds the references (not HG_NO_REFS, or hgraph_load_refs) */
    struct hresults_ahead *ahead;  /* stored results being read beside the load (HG_READ_RESULTS) */
    int refs_among;         /* g holds only the references among some objects (hgraph_load_refs_among) */
};

/* Load the whole graph from db (opened by open_snapshot_db on file). */
int hgraph_load(struct hgraph *h, sqlite3 *db, const char *file, char *err, size_t errlen);
/* The same with flags: HG_NO_REFS loads objects and roots but no refs (the
 * graph then has only the super-root's edges), for a diff's older side. */
#define HG_NO_REFS 0x1u
/* HG_READ_RESULTS: results are stored (hresults_stored): read them back on
 * a connection and thread of their own while the graph loads, for
 * hresults_get to take. */
#define HG_READ_RESULTS 0x2u
int hgraph_load_flags(struct hgraph *h, sqlite3 *db, const char *file, unsigned flags, char *err,
                      size_t errlen);
void hgraph_free(struct hgraph *h);
/* After a load with HG_NO_REFS: read the references and build the graph,
 * on h's own connection, as hgraph_load would have (a diff loads its
 * newest side's objects, matches them, frees the older side, and only
 * then the references).  0, or -1 with err. */
int hgraph_load_refs(struct hgraph *h, char *err, size_t errlen);
/* After a load with HG_NO_REFS: only the references from and to the
 * objects keep[] ([nobjs]) marks, looked up by target, for a question
 * about a few objects (leaks_load_refs).  0, or -1 with err. */
int hgraph_load_refs_among(struct hgraph *h, const uint8_t *keep, char *err, size_t errlen);
/* A second, read-only connection to the database at path, for a thread
 * that reads beside the main one (the refs, the stored results): patient
 * with another writer, with a small cache and no memory map.  NULL if it
 * cannot be opened (path NULL or empty: a database in memory). */
sqlite3 *hgraph_reader_open(const char *path);
/* Keep only what an object's identity needs (diff_match, dtypes_build):
 * addr, osize, used, group, the database and its type names.  Frees the
 * roots, the references and the other per-object arrays; h is then fit
 * for nothing else but hgraph_free(). */
void hgraph_trim_to_identity(struct hgraph *h);

static inline uint32_t hg_obj_node(const struct hgraph *h, uint32_t obj_index)
{
    return h->nroots + 1 + obj_index;
}
static inline int hg_is_obj(const struct hgraph *h, uint32_t v)
{
    return v > h->nroots && v < h->n;
}
static inline int hg_is_root(const struct hgraph *h, uint32_t v)
{
    return v >= 1 && v <= h->nroots;
}
/* Object index (0-based, id - 1) of node v; only for hg_is_obj(v). */
static inline uint32_t hg_obj_index(const struct hgraph *h, uint32_t v)
{
    return v - h->nroots - 1;
}
/* The database id of node v: > 0 object, < 0 root, 0 the super-root. */
static inline int64_t hg_node_id(const struct hgraph *h, uint32_t v)
{
    if (v == 0)
        return 0;
    if (hg_is_root(h, v))
        return (int64_t)v - (int64_t)h->nroots - 1;
    return (int64_t)hg_obj_index(h, v) + 1;
}
/* 1 if object i is in use by the program: used, and not the allocator's own. */
static inline int hg_program(const struct hgraph *h, uint32_t i)
{
    return h->used[i] && !h->internal[i];
}
/* Bytes of node v for retained sizes: osize for the program's objects, 0
 * for roots, the super-root and malloc's own chunks (which retain nothing
 * for the program).  Computed, not stored: 8 bytes a node, at 10M objects
 * 80 MB, for two loads and a compare. */
static inline uint64_t hg_nsize(const struct hgraph *h, uint32_t v)
{
    return hg_is_obj(h, v) && hg_program(h, hg_obj_index(h, v)) ? h->osize[hg_obj_index(h, v)] : 0;
}
/* Node of a database id, or GRAPH_NONE if out of range. */
uint32_t hg_id_node(const struct hgraph *h, int64_t id);

/* The object (index) whose bytes hold addr (an object of size 0 holds its
 * own address), used or free, or -1.  Binary search over addr[]. */
int64_t hgraph_find(const struct hgraph *h, uint64_t addr);

/*
 * Group keys: what "by type" means.  A typed object (objects.type_id set
 * and a types table present) has key hg_type_key(type_id, type_count),
 * shown as the type's name, or "T[n]" for an array of n (type_count > 1,
 * as the objects_typed view names it); an untyped one its usable size,
 * shown "[48 bytes]".
 */
#define HG_TYPED ((uint64_t)1 << 63)
#define HG_COUNT_MAX 0x3fffffffu   /* type_count kept in bits 32..61 */
static inline uint64_t hg_type_key(uint32_t type_id, uint64_t count)
{
    /* 1 and "unknown" (0) are the same: a single object of the type */
    uint64_t c = count > HG_COUNT_MAX ? HG_COUNT_MAX : count > 1 ? count : 0;
    return HG_TYPED | c << 32 | type_id;
}
static inline uint32_t hg_key_type(uint64_t key)
{
    return (uint32_t)key;
}
static inline uint32_t hg_key_count(uint64_t key)
{
    return (uint32_t)(key >> 32) & HG_COUNT_MAX;
}
/* The one group of the allocator's own chunks, named "malloc tcache". */
#define HG_INTERNAL ((uint64_t)1 << 62)

/* ------------------------------------------------------------ results.c */

/*
 * The results every analysis shares, per node: idom (graph node numbers;
 * GRAPH_NONE = unreachable, 0 = the super-root, idom[0] = 0), retained size
 * and count (dominator subtree, the node included; used objects' bytes).
 */
struct hresults {
    uint32_t *idom;             /* [n] */
    uint64_t *retained_size;    /* [n] */
    uint32_t *retained_count;   /* [n] objects in the subtree (roots not counted) */
    uint64_t reachable_count, reachable_bytes;  /* used objects only */
    int from_db;                /* read back from the analysis table */
    double seconds;             /* to compute (or read) */
    double store_seconds;       /* to write the analysis table */
};

static inline int hr_reachable(const struct hresults *r, uint32_t v)
{
    return r->idom[v] != GRAPH_NONE;
}

/* Read the results from the database if an earlier command stored them,
 * else compute them and store them (if the database is writable; a
 * read-only one only gets a note on stderr).  progress: a progress line. */
int hresults_get(struct hresults *r, struct hgraph *h, int progress, unsigned flags, char *err, size_t errlen);
/* 1 if an earlier command stored results in db (hresults_get may then
 * read them back: a graph loaded without references will do, and is
 * given them only if the stored rows turn out unusable). */
int hresults_stored(sqlite3 *db);
/* hresults_get's flags: the caller needs no references after the results,
 * so h->g is freed as soon as the computation is done with it (before the
 * dominator tree, the largest step, when peeling builds its own graph). */
#define HR_REFS_NOT_AFTER 0x1u
void hresults_free(struct hresults *r);
/* HG_READ_RESULTS's reader (NULL if no connection or thread could be had:
 * hresults_get then reads them itself), and its end, if hresults_get never
 * took it. */
struct hresults_ahead *hresults_ahead_start(const char *path, uint32_t nroots, uint32_t nobjs);
void hresults_ahead_free(struct hresults_ahead *a);

/* Which steps a database holds: db_step_done() and db_step_mark() (db.h). */
/* Run sql (DDL, several statements) with errors into err. */
int analysis_exec(sqlite3 *db, const char *file, const char *sql, char *err, size_t errlen);
/* BEGIN IMMEDIATE (waiting out another command's write, see open.c's busy
 * timeout), then sql; on any failure the transaction is rolled back, so
 * that the connection is never left inside a failed one.  0 or -1. */
int analysis_begin(sqlite3 *db, const char *file, const char *sql, char *err, size_t errlen);

/* ------------------------------------------------------------ leaks.c */

struct leak_group {
    uint64_t key;
    uint64_t count, bytes;
    uint32_t examples[4];      /* object indexes, lowest addresses first */
    uint32_t nexamples;
};

struct leak_head {
    uint32_t obj;              /* object index of the representative */
    uint32_t scc_size;         /* objects in its strongly connected component */
    uint64_t held_count, held_bytes;  /* reachable from it within the leaked set */
};

struct leaks {
    uint64_t count, bytes;     /* leaked used objects */
    uint64_t garbage_count, garbage_bytes; /* unreachable objects of a collected heap: not leaks */
    int held_partial;          /* heads past the work budget got a lower bound */
    uint32_t *head_of;         /* [nobjs] object index of the head it was first
                                  found under, GRAPH_NONE if not leaked */
    struct leak_group *groups; /* sorted by bytes, largest first */
    size_t ngroups;
    struct leak_head *heads;   /* sorted by held_bytes, largest first */
    size_t nheads;
};

/* The references leaks_find() needs, after a load without them (the
 * results being stored): only those among the leaked objects, if they
 * are few, else all of them.  Nothing if they are loaded.  0, or -1 with
 * err. */
int leaks_load_refs(struct hgraph *h, const struct hresults *r, char *err, size_t errlen);
/* Find the leaks from r (unreachable used objects), their heads and groups. */
int leaks_find(struct leaks *l, const struct hgraph *h, const struct hresults *r);
struct leaks_answer;
/* (Re)write the leaks and leak_heads tables (not on a read-only database),
 * and answer a (if not NULL) in the same transaction. */
int leaks_store(const struct leaks *l, const struct hgraph *h, const struct leaks_answer *a, char *err,
                size_t errlen);
void leaks_free(struct leaks *l);

/* ------------------------------------------------------------ goleaks.c */

/* Goroutines blocked in one place, as a group (goleaks.c has the rules). */
struct go_blocked {
    char status[16], wait_reason[64], func[160], start_func[160], created_by[160];
    uint64_t count;
    int64_t first_goid;
    int64_t longest_ns, shortest_ns; /* waited (capture - g.waitsince): the oldest and newest */
};

struct go_leaks {
    int go;                    /* the database has a Go heap's MemStats */
    uint64_t heap_alloc, heap_marked, num_gc;
    int64_t since_gc_ns;       /* capture time - the last GC's end; -1 unknown */
    struct go_blocked *groups; /* largest first */
    size_t ngroups;
    uint64_t blocked;          /* the program's goroutines a GC saw blocked */
    uint64_t runtime_blocked;  /* the runtime's own, left out of the groups */
    uint64_t unreadable;       /* goroutines whose g was not captured */
    char problem[160];         /* why the blocked goroutines are unknown, or "" */
};

/* Fill g from db: nothing (g->go 0) unless it has a Go heap; -1 only on
 * out-of-memory. */
int go_leaks_find(struct go_leaks *g, sqlite3 *db);
void go_leaks_free(struct go_leaks *g);

/* ------------------------------------------------------------ retainers.c */

struct retainer {
    uint32_t node;             /* an object or root node; for types, GRAPH_NONE */
    uint64_t key;              /* group key (types) */
    uint64_t count;            /* types: reachable objects of the type; else 1 */
    uint64_t shallow;          /* types: their own bytes; objects: the size */
    uint64_t retained_size;
    uint64_t retained_count;
};

/* The k largest objects and roots by retained size, and every group's
 * retained size summed over its objects not dominated by an object of the
 * same group (Eclipse MAT's rule), largest first.  Arrays are malloc'd. */
int retainers_top(const struct hgraph *h, const struct hresults *r, size_t k,
                  struct retainer **objs, size_t *nobjs, struct retainer **roots, size_t *nroots,
                  struct retainer **groups, size_t *ngroups);

/* ------------------------------------------------------------ diff.c */

/*
 * Matching objects across two snapshots (docs/analyses.md has the rule and
 * its limits): used objects match when they have the same address, usable
 * size and type (struct dtypes), and, if the first word of the older one
 * points into a read-only mapping of a module (a vtable or type
 * descriptor), the same first word.
 */
struct dwords {
    uint64_t *word;            /* [nobjs] first 8 bytes of each used object */
    uint8_t *known;            /* [nobjs] 1 if word was captured */
    uint64_t (*ro)[2];         /* read-only module mappings [start, end) */
    size_t nro;
    int available;             /* 0 if the snapshot could not be read */
    char why[512];             /* then why not: the reader's message ("" if none named) */
};

/* Read the first word of every used object of h from its snapshot (the
 * file the snapshot table names, or 'snapshot' if not NULL), a block at a
 * time (hs_gather_u64_any).  A snapshot that cannot be read is not an
 * error: available = 0, why says what the reader said, and only address,
 * size and type are compared. */
int dwords_load(struct dwords *w, const struct hgraph *h, const char *snapshot, char *err, size_t errlen);
void dwords_free(struct dwords *w);

/*
 * Types compared across two databases.  types.id is local to each (the set
 * of types read, and so their numbering, differs between snapshots), so a
 * typed group key of a or b is compared in a numbering common to both:
 * types are the same when name, kind and size are (and the module path,
 * when that tells rows apart); docs/analyses.md has the rule.
 */
struct dtypes {
    struct u64map a, b;        /* type id (as in a key) of a, of b -> common number */
};
int dtypes_build(struct dtypes *t, const struct hgraph *a, const struct hgraph *b, char *err, size_t errlen);
void dtypes_free(struct dtypes *t);
/* A group key of one side (m: &t->a or &t->b) in the common numbering;
 * untyped keys are returned as they are. */
uint64_t dtypes_key(const struct u64map *m, uint64_t key);

/* ab[i] = the object of b matching object i of a (GRAPH_NONE if none), and
 * ba the other way; both are malloc'd.  Free objects never match. */
int diff_match(const struct hgraph *a, const struct dwords *wa, const struct hgraph *b, const struct dwords *wb,
               const struct dtypes *t, uint32_t **ab, uint32_t **ba);

struct diff_group {
    uint64_t key;              /* in the common numbering (struct dtypes) */
    const struct hgraph *from; /* the snapshot whose objects first made the group */
    uint64_t own;              /* its key there: hg_group_name(from, own) names it */
    uint64_t nnew, ndel;       /* objects */
    uint64_t alloc, freed;     /* their bytes */
};

/* Per group: new objects of b (ba[i] == NONE), deleted of a (ab[i] ==
 * NONE); sorted by size delta, largest growth first. */
int diff_groups(const struct hgraph *a, const uint32_t *ab, const struct hgraph *b, const uint32_t *ba,
                const struct dtypes *t, struct diff_group **out, size_t *n);

struct diff_growth {
    uint32_t retainer;         /* node in the graph: a root, an old object, or 0 */
    uint64_t key;              /* group of the new objects */
    uint64_t count, bytes;
    uint32_t example;          /* object index of one of them */
};

/*
 * Retained growth in graph h: for every object i with consider[i] set and
 * reachable, walk its dominator chain up to the first node that is a root,
 * the super-root, or an object with old[i] set (it existed before), and
 * group by (that retainer, the object's group).  retainer_of (may be NULL)
 * gets each considered object's retainer node.  Sorted by bytes.
 */
/* From a match (diff_match): old[i] = B's object i was in A, fresh[i] = it
 * is a program object new in B (both [B->nobjs], filled); *c the counts and
 * bytes of new objects in B and of A's program objects that B lacks. */
struct diff_counts {
    uint64_t nnew, bnew, ndel, bdel;
};
void diff_mark(const struct hgraph *A, const uint32_t *ab, const struct hgraph *B, const uint32_t *ba, uint8_t *old,
               uint8_t *fresh, struct diff_counts *c);

int diff_growth(const struct hgraph *h, const struct hresults *r, const uint8_t *old, const uint8_t *consider,
                struct diff_growth **out, size_t *n, uint32_t **retainer_of);

/* "global cache → 0x55.. [4096 bytes]": a retainer with the root that
 * dominates it when it is an object (named by hg_holder_name, with its
 * local). */
const char *diff_retainer_name(const struct hgraph *h, const struct hresults *r, uint32_t v, char *buf,
                               size_t len);

/* ------------------------------------------------------------ diffout.c */

/* The database `diff -o FILE` writes (docs/schema.md: diff_files,
 * diff_types, diff_objects, diff_growth), in one transaction. */
struct diff_out {
    sqlite3 *db;
    sqlite3_stmt *file, *type, *obj, *grow;
};

/* 1 if path may be written: absent, or a diff output heapsnap made. */
int diff_out_may_write(const char *path);
/* Create or replace the tables; 0, or -1 with err (diff_out_close still). */
int diff_out_open(struct diff_out *o, const char *path, char *err, size_t errlen);
/* One row of each table; 0 or -1 (sqlite3_errmsg(o->db) says why). */
int diff_out_file(struct diff_out *o, const char *snapshot, const char *file);
int diff_out_type(struct diff_out *o, const char *type, int64_t nnew, int64_t ndel, int64_t alloc, int64_t freed);
int diff_out_object(struct diff_out *o, const char *snapshot, const struct hgraph *h, uint32_t i, const char *status,
                    const char *retainer);
int diff_out_growth(struct diff_out *o, const char *kind, const char *retainer, const char *type, uint64_t count,
                    uint64_t bytes, uint64_t example);
int diff_out_commit(struct diff_out *o, const char *path, char *err, size_t errlen);
/* Close; what was not committed is rolled back. */
void diff_out_close(struct diff_out *o);

/* ------------------------------------------------------------ show.c */

/* An object's first bytes as show_bytes prints them, read once so that an
 * answer can be stored and printed again the same (answers.c). */
#define ABYTES_HEX 32
struct abytes {
    int present;               /* 0: not captured (or the snapshot is gone): nothing shown */
    int n;                     /* bytes in b (<= ABYTES_HEX) */
    uint8_t b[ABYTES_HEX];
    int nstrings;
    char *strings[4];          /* the strings found in the first 256 bytes */
    int oom;
};
/* Fill ab for object i; 0, or -1 on out-of-memory. */
int show_bytes_read(const struct hgraph *h, uint32_t i, struct abytes *ab);
void abytes_print(FILE *f, const struct abytes *ab, const char *indent);
void abytes_json(struct json *j, const struct abytes *ab);
void abytes_free(struct abytes *ab);

/* A node as show_node_json describes it, and hg_node_name's text, held
 * apart from the graph so that an answer can be stored and printed again. */
enum { ANODE_SUPER, ANODE_ROOT, ANODE_OBJECT };
struct anode {
    int64_t id;
    int kind;                  /* ANODE_* */
    char *root_kind, *name, *label; /* roots; name may be NULL */
    int32_t thread;            /* roots, 0 if none */
    uint64_t addr, size;       /* size: objects */
    char *type;                /* objects: hg_group_name */
    char *text;                /* hg_node_name */
};
int anode_fill(struct anode *a, const struct hgraph *h, uint32_t v);
void anode_json(struct json *j, const struct anode *a);
void anode_free(struct anode *a);

/* "[48 bytes]", the type's name, or "malloc tcache" (HG_INTERNAL), into buf. */
const char *hg_group_name(const struct hgraph *h, uint64_t key, char *buf, size_t len);
/* A root for people: "data g_cache (libfoo.so)", "stack of thread 1234 (worker)", ... */
const char *hg_root_name(const struct hgraph *h, uint32_t node, char *buf, size_t len);
/* A node for people: a root's name, "0x55..0 [48 bytes]", or "super-root". */
const char *hg_node_name(const struct hgraph *h, uint32_t node, char *buf, size_t len);
/* The root that holds object first (a reference from root to first) for
 * people, as top and diff name what holds a suspect or a growth: the
 * root's name, and the local of its frame that holds first where the stack
 * has one ("goroutine 21 (main.holdLocal) local e", "stack of thread 1234
 * (app) local p in make_points"). */
const char *hg_holder_name(const struct hgraph *h, uint32_t root, uint32_t first, char *buf, size_t len);
/* Print the first up to 32 bytes of object i as hex + printable, and the
 * strings in its first 256 bytes (>= 6 printable bytes, none of them in
 * an 8-byte word that points into the heap or a captured mapping),
 * indented. */
void show_bytes(FILE *f, const struct hgraph *h, uint32_t i, const char *indent);
/* The same, as JSON members "bytes" (hex) and "strings" (array). */
void show_bytes_json(struct json *j, const struct hgraph *h, uint32_t i);
/* The offset and interior flag of the reference src -> dst (nodes) a step
 * shows: one to dst's start first, then the lowest offset; -1 if none is in
 * the refs table (the super-root's edges). */
int64_t show_ref_offset(const struct hgraph *h, uint32_t src, uint32_t dst, int *interior);
/* Print a root-to-target path (nodes[0..len-1]) as numbered steps. */
void show_path(FILE *f, const struct hgraph *h, const uint32_t *nodes, uint32_t len);
void show_path_json(struct json *j, const struct hgraph *h, const uint32_t *nodes, uint32_t len);
/* Parse "0x..." or decimal; 0 or -1. */
int parse_addr(const char *s, uint64_t *out);
/* An item of a JSON array describing node v (id, kind, addr, size, group...). */
void show_node_json(struct json *j, const struct hgraph *h, uint32_t v);
/* The members an answer about one address starts with (explain, path):
 * "file", "query" (addr as asked) and "object" (node v, which holds it). */
void show_query_json(struct json *j, const struct hgraph *h, uint64_t addr, uint32_t v);

/* ------------------------------------------------------------ answers.c */

/*
 * Stored answers.  What `leaks` and `top` print is kept in the database
 * (docs/schema.md: answer_leaks, answer_leak_groups, answer_leak_heads,
 * answer_top, answer_top_nodes, answer_top_types) when it is computed, so
 * that the same command on the same database prints it again without
 * loading the graph.  An answer holds `rows` rows of each list (the
 * --limit it was made for) and serves any --limit up to that; it counts
 * only while analysis_done says 'dominators' and its own step ('leaks
 * answer', 'top answer'), and results.c drops every answer when it stores
 * new dominators.  The commands print a fresh answer from these same
 * structures, so a stored one prints the same bytes.
 */
struct leaks_answer_group {
    char *type;
    uint64_t count, bytes;
    uint32_t nexamples;
    uint64_t examples[4];      /* addresses */
    struct abytes ex;          /* the first example's bytes */
};
struct leaks_answer_head {
    uint64_t addr, size;
    char *type;
    uint64_t held_count, held_bytes;
    uint32_t scc_size;
};
struct leaks_answer {
    int64_t rows;              /* rows kept of each list */
    uint64_t used_count, used_bytes;
    uint64_t count, bytes, garbage_count, garbage_bytes;
    uint64_t ngroups, nheads;  /* in all, beyond the rows kept */
    int held_partial;
    struct leaks_answer_group *groups;
    size_t groups_len;
    struct leaks_answer_head *heads;
    size_t heads_len;
};
/* The answer of l for --limit rows; 0 or -1 (out of memory). */
int leaks_answer_build(struct leaks_answer *a, const struct leaks *l, const struct hgraph *h, int64_t rows);
/* 1 if db holds a current answer of at least rows rows (read into a), 0 if
 * not (a is then empty), -1 on out-of-memory. */
int leaks_answer_read(struct leaks_answer *a, sqlite3 *db, int64_t rows);
/* Write a into db inside the caller's transaction (leaks_store's); 0 or -1
 * (sqlite3_errmsg says why). */
int leaks_answer_write(const struct leaks_answer *a, sqlite3 *db);
/* Every leaked object as the leaks table has it, by id: addr, size, head's
 * addr; 0, or -1 if the table cannot be read.  fn NULL: only whether it can. */
int leaks_answer_objects(sqlite3 *db, void (*fn)(void *u, uint64_t addr, uint64_t size, uint64_t head), void *u);
void leaks_answer_free(struct leaks_answer *a);

struct top_answer_row {
    struct anode node;
    uint64_t retained_size, retained_count;
    char *held_by;             /* suspects: hg_holder_name */
};
struct top_answer_type {
    char *type;
    uint64_t count, shallow, retained_size, retained_count;
};
struct top_answer {
    int64_t rows;
    uint64_t used_count, used_bytes, reachable_count, reachable_bytes;
    int shared;                /* the "shared by several roots" line, of shared_bytes */
    uint64_t shared_bytes;
    struct top_answer_row *objs, *roots, *sus;
    size_t nobjs, nroots, nsus;
    struct top_answer_type *types;
    size_t ntypes;
};
/* Store a (not on a read-only database); 0, or -1 with err. */
int top_answer_store(const struct top_answer *a, sqlite3 *db, const char *file, char *err, size_t errlen);
int top_answer_read(struct top_answer *a, sqlite3 *db, int64_t rows);
void top_answer_free(struct top_answer *a);

/* The answer tables, dropped when the dominators they come from are stored anew. */
#define ANSWER_TABLES "answer_leaks", "answer_leak_groups", "answer_leak_heads", "answer_top", \
                      "answer_top_nodes", "answer_top_types"
int answers_drop(sqlite3 *db);

#endif
