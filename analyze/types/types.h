/*
 * types.h — the program's types, and which heap object holds which.
 *
 * This is the contract of analyze/types/, the part of heapsnap that turns
 * DWARF (and, for C++, vtable symbols) into the types, fields and
 * enumerators tables and fills objects.type_id / type_source / type_count:
 *
 *   tytab.c     the type table: one row per distinct type, deduplicated
 *               across compilation units by a hash of a canonical
 *               description; fields, enumerators, names; the count rule
 *   dwtypes.c   a module's DWARF -> types, and its global variables
 *   demangle.c  class names from _ZTV / _ZTI symbols (libiberty)
 *   infer.c     typed roots, vtables, and propagation along typed pointers
 *   dynamic.c   type words: the dynamic type an allocator names for the
 *               object a typed word points to (Go's iface/eface), and the
 *               type a malloc header names
 *   gomaps.c    Go Swiss maps whose directory pointer is a group
 *   unwind.c    each thread's frames through the CFI, for typed locals
 *   store.c     CREATE TABLE types/fields/enumerators, the views, writing
 *               the rows, and reading a tytab back from a database
 *   decode.c    a value at an address printed as gdb's `print` would
 *
 * Type ids: 1..n-1 index tytab.v; 0 means "no type" (void, unknown).  The
 * same ids are the database's types.id.
 *
 * Everything read from a snapshot or a binary is hostile: walks are bounded
 * (TY_MAX_DEPTH, TY_MAX_FLAT), type graphs may be cyclic (typedef loops,
 * self-referential structs) and every memory read goes through hs_read.
 */
#ifndef HEAPSNAP_TYPES_TYPES_H
#define HEAPSNAP_TYPES_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "debuginfo/debuginfo.h"
#include "hsnap.h"

#define TY_MAX_DEPTH 64        /* nesting of typedefs, arrays, structs */
#define TY_MAX_FLAT  65536     /* pointer slots of one flattened type */
#define TY_MAX_SLOTS (16u << 20) /* slots of all types together (16 bytes each): hostile
                                    DWARF could make many types of 64 Ki slots each */
enum ty_kind {
    TY_NONE, TY_BASE, TY_STRUCT, TY_UNION, TY_CLASS, TY_ENUM, TY_POINTER, TY_ARRAY,
    TY_TYPEDEF, TY_FUNCPTR, TY_KIND_COUNT
};

/* ty.flags */
#define TYF_CPLUS  0x1u  /* from a C++ (or Go, Rust...) unit: no "struct " prefix in names */
#define TYF_DECL   0x2u  /* only declared (no definition was found): size unknown */
#define TYF_VTABLE 0x4u  /* a class known only from its vtable symbol (no DWARF) */
#define TYF_SIGNED 0x8u  /* base/enum: signed integer */
#define TYF_FLOAT  0x10u /* base: floating point */
#define TYF_BOOL   0x20u /* base: boolean */
#define TYF_CHAR   0x40u /* base: a character type (char, signed/unsigned char) */
#define TYF_REF    0x80u /* pointer: a C++ reference */
#define TYF_DYNAMIC 0x100u /* struct: a type word, then a pointer to a value of the type it
                            * names (a Go interface value; see dynamic.c) */
#define TYF_GOMAP 0x200u   /* struct: a Go Swiss map, whose dirPtr points at a group when
                            * dirLen is 0 (gomaps.c) */
#define TYF_GO    0x400u   /* from a Go unit: named as Go spells it (*T, [N]T, and N of T
                            * as [N]T); decode.c prints its values as Go's %#v does */

struct ty {
    uint8_t kind;          /* enum ty_kind */
    uint16_t flags;
    int32_t module;        /* the module whose DWARF described it first, or -1 */
    uint32_t name;         /* offset in tytab.str: "struct session", "int", "char *" */
    uint32_t target;       /* pointer, typedef: the type; array: element; enum: 0; funcptr: return */
    uint64_t size;         /* bytes; 0 if unknown */
    uint64_t count;        /* array: elements (0: flexible) */
    uint32_t first, n;     /* struct/union/class: fields [first, first+n); enum: enumerators */
    uint64_t go_rtype;     /* Go: DW_AT_go_runtime_type as written (the runtime's descriptor of
                              the type: an offset from moduledata.types, or before Go 1.2x an
                              address), 0 if none */
};

/* field.flags */
#define TYFF_BASE 0x1u     /* a C++ base class subobject (name is the class's) */

struct ty_field {
    uint32_t name;         /* offset in tytab.str; "" for an anonymous member */
    uint32_t type;
    uint64_t offset;       /* bytes from the start of the struct */
    uint16_t bit_size;     /* 0 unless a bit-field */
    uint16_t bit_offset;   /* bit-field: bits from offset (little-endian numbering) */
    uint16_t flags;
};

struct ty_enum {
    uint32_t name;
    int64_t value;
};

/* A global or static variable DWARF describes: where it is and its type. */
struct ty_var {
    uint64_t addr, size;   /* runtime address */
    uint32_t type;
    uint32_t name;         /* offset in tytab.str */
    int32_t module;
};

/* One frame of a thread's stack as unwind.c recovered it. */
struct ty_frame {
    int32_t thread;        /* tid */
    uint32_t index;        /* 0 = the innermost frame */
    int32_t module;
    uint64_t pc;           /* the pc to look up: a caller's return address less 1 */
    uint64_t cfa;          /* the canonical frame address (the caller's rsp before the call) */
    uint64_t sp, bp;       /* rsp and rbp in this frame (bp: as far as the CFI restores it) */
};

/* A local variable or parameter of a frame, at a stack address (dwtypes.c). */
struct ty_local {
    uint64_t addr, size;
    uint32_t type;
    uint32_t name, func;   /* offsets in tytab.str */
    int32_t thread;
    uint32_t frame;        /* ty_frame.index */
};

struct u64map; /* base/u64map.h: uint64 -> uint32 */

/* How to name a type word (dynamic.c): the allocator's hooks, set by the
 * indexer before ty_index; all NULL when the allocator has none. */
struct ty_dynamic {
    const char *const *structs; /* the TYF_DYNAMIC structs' names, NULL-terminated */
    int (*name)(const void *u, uint64_t addr, char *name, size_t len); /* 1 if named */
    /* the type word the allocator keeps for the object at addr, which
     * name() names: 1 with *word set, 0 if it keeps none (NULL: none at
     * all); *types_base is where the module's type descriptors begin, from
     * which Go's DWARF counts its DW_AT_go_runtime_type (0: unknown) */
    int (*object_word)(const void *u, uint64_t addr, uint64_t *word, uint64_t *types_base);
    const void *u;
};

struct tytab {
    struct ty *v;          /* v[0] is the "no type" entry */
    size_t n, cap;
    struct ty_field *f;
    size_t nf, capf;
    struct ty_enum *e;
    size_t ne, cape;
    char *str;             /* every name, NUL-terminated, one after the other */
    size_t nstr, capstr;
    struct ty_var *vars;   /* sorted by addr after ty_finish_vars() */
    size_t nvars, capvars;
    struct ty_frame *frames; /* every thread's frames (ty_unwind), before ty_load_dwarf */
    size_t nframes, capframes;
    struct ty_local *locals; /* the frames' locals that DWARF places on the stack */
    size_t nlocals, caplocals;
    struct u64map *dedup;   /* canonical hash -> id */
    struct u64map *byname;  /* hash of a struct/class/union's name -> id (the largest) */
    struct ty_slotcache *slots; /* per id, ty_slots()'s answer */
    size_t nslots;         /* ids the cache covers (types added later get theirs on a rebuild) */
    size_t slots_total;    /* slots cached, all types: at most TY_MAX_SLOTS */
    struct ty_dynamic dyn;
    struct u64map *byrtype; /* Go: runtime type descriptor address -> id (dwtypes.c) */
    int oom;
};

/* ------------------------------------------------------------ tytab.c */

int ty_init(struct tytab *t);
void ty_free(struct tytab *t);
static inline const char *ty_str(const struct tytab *t, uint32_t off) { return t->str + off; }
static inline const char *ty_name(const struct tytab *t, uint32_t id)
{
    return id && id < t->n ? t->str + t->v[id].name : "void";
}
uint32_t ty_intern(struct tytab *t, const char *s);       /* a string's offset; 0 on oom ("") */
/* Add a type unless one with the same canonical hash exists; its id (0 on oom). *isnew says which. */
uint32_t ty_add(struct tytab *t, uint64_t hash, const struct ty *ty, int *isnew);
uint32_t ty_add_fields(struct tytab *t, const struct ty_field *f, size_t n); /* first index */
uint32_t ty_add_enums(struct tytab *t, const struct ty_enum *e, size_t n);
const char *ty_kind_name(unsigned kind);
int ty_kind_from_name(const char *s);

/* FNV-1a over bytes, chained: the canonical-description hash. */
uint64_t ty_hash(uint64_t h, const void *p, size_t n);
#define TY_HASH0 0xcbf29ce484222325ull

/* Follow typedefs (qualifiers are never stored); 0 for void or a loop. */
uint32_t ty_resolve(const struct tytab *t, uint32_t id);
/* The struct/class/union named exactly name (the largest if several). */
uint32_t ty_by_name(const struct tytab *t, const char *name);
/* Rebuild the name index (after loading or adding types). */
int ty_index_names(struct tytab *t);

/*
 * The count rule: how many T an object of usable size `usable` holds when
 * a T * points at its start, or 0 if a T does not fit.  With S = size of T:
 *   S == 0 or S > usable             -> 0 (incompatible: no type)
 *   T a scalar (base, enum, pointer) -> usable / S (a buffer of them)
 *   otherwise usable < S + slack     -> 1 (one T; the rest is the allocator's
 *                                       rounding: slack is its type_slack,
 *                                       heap_where_type_slack of the object)
 *   otherwise                        -> usable / S (an array of T)
 */
uint64_t ty_count_for(const struct tytab *t, uint32_t type, uint64_t usable, unsigned slack);

/* Does a T hold only bytes: is T (through typedefs) a character type of
 * one byte (char, signed char, unsigned char; uint8_t, u_char...), or an
 * array of such, or an array of arrays of them?  A struct never does, even
 * one made of chars only: its type may change (docs/analyses.md, "Bytes
 * are not pointers"). */
int ty_holds_bytes(const struct tytab *t, uint32_t type);

/* Every place in a T where a typed pointer lives: offset and the (typedef-
 * resolved) pointee.  void *, function pointers, union members, pointers to
 * incomplete types and flexible arrays are left out: they assign no type. */
struct ty_slot {
    uint64_t offset;
    uint32_t pointee;     /* or TY_DYNAMIC_SLOT */
};
/* The pointee of the data word of a TYF_DYNAMIC struct: no type id, but
 * "what the type word 8 bytes before names" (ty_dynamic_type). */
#define TY_DYNAMIC_SLOT UINT32_MAX
/* The slots of type id, computed once and cached (at most TY_MAX_FLAT). */
const struct ty_slot *ty_slots(struct tytab *t, uint32_t id, size_t *n);
void ty_slots_free(struct tytab *t);

/* ------------------------------------------------------------ dwtypes.c */

/*
 * Load the types of module `module` of d into t, with its global and static
 * variables, and the locals and parameters of t->frames in this module whose
 * location is a stack slot at pc (t->locals).  `all` loads every named
 * struct/class/union/enum at the top level of each unit (and in
 * namespaces); otherwise only the types of the variables for which
 * want(u, addr, size) says yes (and what they reach).
 * Returns 0, or -1 with err on failure to read (a module without DWARF is
 * 0 with nothing added).
 */
int ty_load_dwarf(struct tytab *t, struct dbg *d, int module, int all,
                  int (*want)(void *u, uint64_t addr, uint64_t size), void *u, char *err,
                  size_t errlen);
/* Sort the variables by address (after every module is loaded). */
void ty_finish_vars(struct tytab *t);
/* The variable starting exactly at addr, or NULL. */
const struct ty_var *ty_var_at(const struct tytab *t, uint64_t addr);

/* ------------------------------------------------------------ unwind.c */

#define TY_MAX_FRAMES 256      /* frames unwound per thread */

/* Unwind every thread of s through the CFI of the modules of d into
 * t->frames.  A thread's walk ends quietly where the CFI ends.  0 or -1 (oom). */
int ty_unwind(struct tytab *t, const struct hs_snapshot *s, struct dbg *d);
/* The frames a runtime unwound itself (Go's goroutines: stack roots with a
 * frame_pc and frame_cfa, go/stacks.c), appended to t->frames as frames of
 * thread 0 (or of the thread running the goroutine), numbered after that
 * thread's frames.  0 or -1 (oom). */
struct rootset;
int ty_root_frames(struct tytab *t, struct dbg *d, const struct rootset *rs);

/* ------------------------------------------------------------ dynamic.c */

/* ------------------------------------------------------------ gomaps.c */

/* Flag Go's Swiss map structs TYF_GOMAP, by their structure. */
void ty_mark_gomaps(struct tytab *t);
/* For TYF_GOMAP struct id whose bytes are mem (avail of them): dirPtr's
 * offset and the type of what it points at (the group type of a small map,
 * the table pointers otherwise; 0 if unknown); 1, or 0 if mem is too short. */
int ty_gomap_dir(const struct tytab *t, uint32_t id, const uint8_t *mem, uint64_t avail, uint64_t *dir_off,
                 uint32_t *type);

/* Flag the structs t->dyn.structs names TYF_DYNAMIC (before any ty_slots). */
void ty_mark_dynamic(struct tytab *t);
/* The struct a type word names, a leading '*' taken off (behind a *T is a
 * T; behind a boxed T, a copy of T); 0 if unnamed or no known struct.
 * cache (word -> id, bounded) may be NULL. */
uint32_t ty_header_type(struct tytab *t, struct u64map *cache, uint64_t word, uint64_t types_base);
uint32_t ty_dynamic_type(struct tytab *t, struct u64map *cache, uint64_t word);

/* ------------------------------------------------------------ demangle.c */

/*
 * The class name in a vtable or typeinfo symbol: "_ZTV3Foo" -> "Foo",
 * "_ZTVN2ns3BarE" -> "ns::Bar", "_ZTVSt9exception" -> "std::exception",
 * spelled as c++filt spells it (libiberty's demangler).  *kind, if given,
 * becomes "vtable" or "typeinfo".  0, or -1 if sym is not such a symbol or
 * does not demangle.
 */
int ty_demangle_class(const char *sym, const char **kind, char *out, size_t outlen);

/* ------------------------------------------------------------ infer.c */

/* TS_LOCAL (a typed local variable of a stack frame) is as strong as
 * TS_ROOT: ty_source_rank() orders them. */
enum ty_source { TS_NONE, TS_FIELD, TS_ROOT, TS_VTABLE, TS_LOCAL, TS_DYNAMIC, TS_HEADER };
/* TS_DYNAMIC: an interface value's type word names it (dynamic.c) — the
 * runtime's own word: the strongest source.  TS_HEADER: the allocator
 * recorded the type the object was allocated as (Go 1.22+: the malloc
 * header, a large span's largeType); ranked above every inference and
 * below only TS_DYNAMIC, which agrees with it on a sound heap. */
const char *ty_source_name(unsigned src); /* NULL for TS_NONE */
unsigned ty_source_rank(unsigned src);    /* strength: higher wins a conflict */

struct objtab;
struct rootset;

struct ty_result {
    uint32_t *obj_type;    /* [nobjs] */
    uint8_t *obj_src;      /* [nobjs] enum ty_source */
    uint32_t *root_type;   /* [nroots] */
    /* bit i: object i holds only bytes by its type — its type holds bytes
     * (ty_holds_bytes) and no claim of a type that does not was made for
     * it — so the reference scan does not read it */
    uint8_t *obj_bytes;    /* [nobjs / 8 + 1] */
    uint64_t typed_objects, typed_bytes, conflicts, vtable_objects;
    uint64_t byte_objects, byte_bytes; /* the objects of obj_bytes, their bytes */
};

/* Type every object of objs reachable through typed pointers from the
 * typed roots, and every object whose first word is a vptr.  0 or -1 (oom). */
int ty_infer(struct tytab *t, const struct hs_snapshot *s, struct dbg *d, const struct objtab *objs,
             const struct rootset *rs, struct ty_result *r);
void ty_result_free(struct ty_result *r);

/* ------------------------------------------------------------ index glue (infer.c) */

/*
 * The whole typing phase of the indexer: load the DWARF types of every
 * module (program modules fully, separate debug files only for variables
 * that hold heap pointers), then infer.  Problems are warnings, never fatal:
 * warn(u, msg) hears them.  0 or -1 (out of memory).
 */
int ty_index(struct tytab *t, const struct hs_snapshot *s, struct dbg *d, const struct objtab *objs,
             const struct rootset *rs, struct ty_result *r,
             void (*warn)(void *u, const char *msg), void *u);

#endif
