/*
 * allocator.h — the one small interface every allocator walker implements.
 *
 * A walker (heap/glibc/, heap/jemalloc/, heap/go/: one folder each) is handed the snapshot and its
 * debug info, decides whether its allocator is present, and reports every
 * chunk it finds — used or free — through the callbacks in heap_ctx.  The
 * indexer does everything else (roots, references, the database).  Adding
 * an allocator touches its folder and the table in heap/allocators.c,
 * nothing else: the folder holds its walker, its where kinds and their
 * names (struct allocator.wheres), and its advisor for `heapsnap rss`
 * (heap/advice.h), which reads back through an interface what the walker
 * stored, so that no allocator's code lives above heap/.
 *
 * Walkers trust nothing: every pointer is checked against the captured
 * ranges before use, every list walk is bounded and detects cycles, and a
 * corrupt structure is reported with ctx->problem() and skipped, never
 * allowed to stop the rest of the walk.
 */
#ifndef HEAPSNAP_HEAP_ALLOCATOR_H
#define HEAPSNAP_HEAP_ALLOCATOR_H

#include <stdint.h>
#include <stdio.h>

#include "debuginfo/debuginfo.h"
#include "hsnap.h"

enum obj_state { OBJ_USED = 0, OBJ_FREE = 1 };

/* Where an object sits (heap_object.where) is the allocator's own: an
 * index into its 'wheres' table (struct allocator), from 0, which its
 * folder enumerates (glibc: in use, mmapped, tcache, fastbin, ...).  The
 * pipeline makes it one number across the allocators (heap_where_base,
 * below) before anything above heap/ sees it: what is told by a where
 * from there on is told by its kind's flags (HW_*), never by its number. */
/* heap_object.arena and heap_region.arena of memory in no arena (a glibc
 * mmapped chunk): NULL in the database, never a number that looks like one. */
#define HEAP_NO_ARENA 0xffffu

struct heap_object {
    uint64_t addr;       /* what the program holds: malloc's return value */
    uint64_t size;       /* usable size, as malloc_usable_size() reports */
    uint64_t chunk;      /* the allocator's own start of the block (header) */
    uint64_t chunk_size; /* the whole block, header included */
    uint8_t state;       /* enum obj_state */
    uint8_t where;       /* the allocator's own: an index into its wheres */
    uint16_t arena;      /* index of the arena it belongs to (walker-defined) */
};

/* A region of memory the allocator owns (an arena heap, an mmapped chunk,
 * a Go arena).  Writable memory that no allocator claims becomes an
 * 'anonymous' root. */
struct heap_region {
    uint64_t start, end;
    uint16_t arena;
    const char *kind;    /* "main-arena", "arena-heap", "mmap-chunk", "go-arena", ... */
};

/* ---- Optional capabilities, for runtimes that know more than malloc does
 * (Go: precise pointer maps, goroutine stacks, its own statistics).  A
 * pipeline that offers them sets the callbacks below and keep_state; one
 * that does not leaves them NULL/0 and loses nothing but the extras. */

/* An extra root the walker knows of (a goroutine stack inside its heap). */
enum heap_root_kind {
    HEAP_ROOT_STACK = 0,  /* a stack, or a frame of one: conservatively, or by its mask */
    HEAP_ROOT_RUNTIME,    /* a word through which the runtime itself keeps an object
                           * alive (Go: a P's active tiny-allocation block, which the
                           * collector greys at each cycle's start) */
    HEAP_ROOT_FINALIZER   /* what a runtime keeps for a finalizer: an object's memory
                           * (its referents live, not the object) or the function */
};

struct heap_root {
    uint64_t addr, size;
    const char *name;    /* "goroutine 7 (main.worker)"; copied by the pipeline */
    int32_t thread;      /* the thread running it, or 0 */
    uint8_t kind;        /* enum heap_root_kind */
    /* A stack root the runtime scans precisely (a Go frame, by its stack
     * maps): bit i set if the word at addr + 8 i holds a pointer, size / 8
     * bits (addr and size multiples of 8); only those words are read.
     * NULL: every word may be one (a conservative scan).  Copied by the
     * pipeline. */
    const uint64_t *mask;
    /* A stack frame's root: the pc to look its locals up at (a return
     * address less 1: inside the CALL) and its canonical frame address
     * (the caller's SP before the call), so that the typing pass can name
     * and type the locals DWARF places in it; 0 and 0 if it is no frame. */
    uint64_t frame_pc, frame_cfa;
};

/* A column of an allocator-specific table: name and SQL declaration. */
struct heap_column {
    const char *name, *decl; /* "goid", "INTEGER" */
};

enum heap_value_kind { HV_NULL = 0, HV_INT, HV_REAL, HV_TEXT };

struct heap_value {
    uint8_t kind;        /* enum heap_value_kind */
    int64_t i;
    double d;
    const char *s;
};

struct heap_ctx {
    const struct hs_snapshot *snap;
    struct dbg *dbg;
    void *user;
    void (*object)(struct heap_ctx *c, const struct heap_object *o);
    void (*region)(struct heap_ctx *c, const struct heap_region *r);
    /* A fact for the snapshot table: key "glibc.version", "glibc.layout" ("dwarf"/"fallback"), ... */
    void (*fact)(struct heap_ctx *c, const char *key, const char *value);
    /* Corruption or doubt, at addr: kept as a warning, the walk goes on. */
    void (*problem)(struct heap_ctx *c, uint64_t addr, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* Optional (see above).  keep_state: the pipeline will call the
     * allocator's release() after its hooks, so the walker may keep what it
     * learnt in 'walker'; when 0 the walker frees everything inside walk(). */
    int keep_state;
    void *walker;
    /* An extra root (NULL: the pipeline takes none). */
    void (*root)(struct heap_ctx *c, const struct heap_root *r);
    /* Create table 'name' (dropping nothing: names are the walker's own,
     * e.g. "goroutines"), then add rows of exactly ncols values.  0 or -1. */
    int (*table)(struct heap_ctx *c, const char *name, const struct heap_column *cols, size_t ncols);
    int (*row)(struct heap_ctx *c, const char *name, const struct heap_value *v, size_t ncols);

    /* Optional (NULL: the pipeline takes none).  [start, end) is the
     * allocator's own bookkeeping lying outside its regions — glibc's
     * main_arena and mp_ in libc's .data — named 'what' ("main_arena").
     * Those words point at free chunk headers (16 bytes into the block
     * before each one), never at what the program holds, so the pipeline
     * must not scan them as a root: it cuts them out of every other root
     * and keeps each as an 'allocator' root that is never scanned.  A
     * walker reports only ranges it located itself, of a bounded size. */
    void (*internal)(struct heap_ctx *c, uint64_t start, uint64_t end, const char *what);
    /* A thread that holds no roots into this allocator's objects, by how
     * (enum heap_quiet): HEAP_QUIET_ALL, its registers and stack none at
     * all, for any heap (a Go M that runs no goroutine sleeps in the
     * scheduler on its g0 stack, which the collector never scans);
     * HEAP_QUIET_HEAP, they still reach other allocators' objects (a
     * goroutine in a system call or a cgo call: the collector scans its
     * stack from where it entered the call, never the thread's registers
     * or the C frames, while C's malloc heap may be held from them);
     * HEAP_QUIET_OWN_STACK, only the thread's own stack, while it runs on
     * another (a Go M running a goroutine: below it, on the thread's own
     * stack, lie g0's frames, which the collector never scans; C frames
     * of a cgo callback there may still hold C's heap).  May be NULL. */
    void (*quiet_thread)(struct heap_ctx *c, int tid, int how);

    /* Regions another allocator walked before this one holds (the
     * process's malloc, beside a runtime's own heap: see beside_malloc),
     * in no order; NULL/0 when there are none.  A walker that claims
     * memory wholesale (Go's off-heap) leaves these out. */
    const struct heap_region *claimed;
    size_t nclaimed;
};

enum heap_quiet { HEAP_QUIET_HEAP = 0, HEAP_QUIET_ALL = 1, HEAP_QUIET_OWN_STACK = 2 };

/* What the layers above may know of a where kind: the only way they tell
 * one kind from another (the reference scan, leaks, rss). */
enum heap_where_flag {
    HW_INTERNAL = 1,     /* in use, but by the allocator itself (glibc: a thread's
                          * tcache_perthread_struct; jemalloc: a tcache's stack
                          * array): its words point only at free blocks, so the
                          * reference scan does not read it, and it is the
                          * allocator's overhead, not the program's data; it stays
                          * OBJ_USED because to the allocator it is */
    HW_OWN_MAPPING = 2,  /* a used block with a mapping of its own (glibc's
                          * mmapped chunks): in no arena */
    HW_TOP = 4,          /* free space at the end of an arena that the allocator
                          * extends into and trims (glibc's top chunk) */
    HW_WHOLE_SLOT = 8,   /* the runtime counts a used object by its whole slot
                          * (Go's HeapAlloc), not by what the program asked for */
};

/* One of the where values an allocator reports, named: as the database
 * stores it (objects."where": "fastbin") and as rss lists free memory by
 * it ("fastbins"; NULL: not a kind of free memory rss lists). */
struct heap_where_kind {
    const char *name, *label;
    unsigned flags;      /* enum heap_where_flag */
};

struct heap_advisor; /* heap/advice.h: what an allocator offers `heapsnap rss` */

struct allocator {
    const char *name; /* "glibc", "go" */
    /* The where values it reports: heap_object.where indexes wheres,
     * nwheres of them.  Two allocators may give a kind the same names (a
     * thread cache, the allocator's own blocks): each is still its own. */
    const struct heap_where_kind *wheres;
    unsigned nwheres;
    /* The most bytes beyond a small request that the allocator hands out
     * (glibc: 24, rounding up to 16 with 8 bytes of header and a 24-byte
     * minimum): typing takes a block of usable size below S + type_slack
     * for one T of S bytes, not an array (types.h, ty_count_for). */
    unsigned type_slack;
    /* How `heapsnap rss` advises on this allocator's memory (heap/advice.h,
     * in its folder), or NULL. */
    const struct heap_advisor *advisor;
    /* 1 for a language runtime whose heap lives beside the process's
     * malloc (Go with cgo): the indexer then also walks the next allocator
     * that detects, first, and hands this one its regions as 'claimed'.
     * Each object's heap is told by its where, which is each allocator's
     * own. */
    int beside_malloc;
    /* 1 if this allocator's structures are in the snapshot. */
    int (*detect)(struct heap_ctx *c);
    /* Report every chunk; 0 on success, -1 if nothing usable was found. */
    int (*walk)(struct heap_ctx *c);

    /* Optional, NULL if absent; called only after a successful walk() with
     * keep_state set, in this order, and release() last. */
    /* Report extra roots through c->root. */
    void (*roots)(struct heap_ctx *c);
    /* Which words of the used object [addr, addr + size) — or of a data
     * root, a range of a module's globals — can hold pointers:
     * bit i of mask (maskwords 64-bit words, enough for size / 8 bits) for
     * the word at addr + 8 i.  Returns 1 when the mask is exact (the scan
     * then reads only those words), 0 to have the object scanned
     * conservatively.  Called from the scanning thread: must only read.
     * Objects come in address order, and the scan gives back the memory
     * behind it (index/refs.c): of the heap, read only from 64 bytes below
     * addr upward (a header, the bits at its span's end); what lies lower
     * is kept in the walker's own state (Go's type descriptors). */
    int (*pointer_words)(const void *walker, uint64_t addr, uint64_t size, uint64_t *mask, size_t maskwords);
    /* The name of the type whose runtime descriptor is at addr — a word a
     * typing pass found where a type word belongs, such as the first word
     * of a Go interface value: 1 with name filled, 0 if addr is none.
     * Read-only, like pointer_words. */
    int (*type_name)(const void *walker, uint64_t addr, char *name, size_t len);
    /* The DWARF names of the runtime's two-word "type word, then a pointer
     * to a value of that type" structs (Go: runtime.iface, runtime.eface),
     * NULL-terminated, or NULL.  The typing pass names the type word with
     * type_name and types the object the second word points to. */
    const char *const *interface_types;
    /* The type word the allocator keeps for the used object at addr (Go
     * 1.22+: its malloc header, or its span's largeType), which type_name
     * names as the object's own type: 1 with *word set, 0 if none;
     * *types_base: where its module's type descriptors begin (0: unknown).
     * Read-only, like pointer_words. */
    int (*object_type_word)(const void *walker, uint64_t addr, uint64_t *word, uint64_t *types_base);
    /* Create and fill allocator-specific tables through c->table / c->row. */
    int (*tables)(struct heap_ctx *c);
    /* Free c->walker. */
    void (*release)(struct heap_ctx *c);
};

extern const struct allocator glibc_allocator;
extern const struct allocator go_allocator;
extern const struct allocator jemalloc_allocator;
extern const struct allocator tcmalloc_allocator;

/*
 * Allocators recognised by their modules and symbols (heap/recognise.c),
 * for when no walker walked them: jemalloc, tcmalloc (both have walkers,
 * which may fail), mimalloc, musl, pymalloc.
 * Each found (but 'walked', the one a walker did walk, or NULL) is
 * published as a fact heap.unwalked.NAME and a problem naming it; one that
 * replaces malloc itself says "the heap could not be walked", which makes
 * the analyses refuse.  Returns how many replace malloc, the first in *owner.
 */
int heap_recognise(struct heap_ctx *c, const char *walked, const char **owner);

/*
 * The module that holds an allocator (heap/recognise.c): the one the debug
 * info names LIBPREFIX (e.g. "libjemalloc"), else the one that defines any
 * of the function symbols syms (NULL-terminated: a static link), else,
 * without debug info, a loaded module whose file name starts with
 * LIBPREFIX.  Its index, or -1.
 */
int heap_allocator_module(struct heap_ctx *c, const char *libprefix, const char *const *syms);
/* The file path of module (an index as above), or NULL. */
const char *heap_module_path(struct heap_ctx *c, int module);

/* All known allocators, NULL-terminated (heap/allocators.c). */
extern const struct allocator *const allocators[];

/* The allocator named name ("glibc"), or NULL; its place in allocators[]
 * (what the database numbers heaps by), or -1. */
const struct allocator *heap_allocator_named(const char *name);
int heap_allocator_index(const char *name);

/*
 * Where values as one number across the allocators (heap/allocators.c):
 * allocator a's where w is heap_where_base(a) + w, in allocators[] order,
 * fewer than HEAP_WHERE_MAX in all (the database keeps 5 bits, and 31
 * says "none").  The tables are const, so these are pure and may be
 * called from any thread.
 */
#define HEAP_WHERE_MAX 31u
unsigned heap_where_base(const struct allocator *a);
unsigned heap_where_count(void);
/* The kind of where, or NULL if there is none of that number. */
const struct heap_where_kind *heap_where_kind(unsigned where);
/* The database's name of where, its rss label, or NULL; its flags or 0;
 * the name of the allocator it belongs to, or NULL. */
const char *heap_where_name(unsigned where);
const char *heap_where_label(unsigned where);
unsigned heap_where_flags(unsigned where);
const char *heap_where_heap(unsigned where);
/* The type_slack of where's allocator; HEAP_TYPE_SLACK for a where of
 * none (glibc's, the widest). */
#define HEAP_TYPE_SLACK 24u
unsigned heap_where_type_slack(unsigned where);
/* The where of allocator heap named name, or -1. */
int heap_where_find(const char *heap, const char *name);

/* A number as a fact (ctx->fact takes text): decimal, or 0x-hex. */
static inline void heap_fact_u64(struct heap_ctx *c, const char *key, uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%llu", (unsigned long long)v);
    c->fact(c, key, b);
}

static inline void heap_fact_hex(struct heap_ctx *c, const char *key, uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
    c->fact(c, key, b);
}

#endif
