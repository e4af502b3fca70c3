/*
 * dwtypes.c — a module's DWARF turned into rows of the type table (see
 * types.h), with the module's global and static variables and their types.
 *
 * It reads the module's debug file through a libdwarf handle of its own
 * (debuginfo/ keeps its handle private and lazily indexed for lookups by
 * name; this pass walks everything once, in a different order, and closes
 * its handle when done).
 *
 * Two passes over the compilation units:
 *   1. the top level of every unit (and of C++ namespaces, and, in full
 *      mode, the direct children of functions, where function-local statics
 *      live): the complete definition of every named struct/class/union, by
 *      qualified name, so that a pointer to a declaration-only `struct foo`
 *      finds its definition in another unit; and every variable with a
 *      static address (DW_OP_addr / DW_OP_addrx).
 *   2. materialise the types asked for: in full mode every named
 *      struct/class/union/enum found, and every variable's type; otherwise
 *      only the types of the variables `want` accepts.  Materialising a
 *      type materialises what it refers to.
 *
 * Cycles and depth.  Struct members are not read when the struct is first
 * met: its header and member names/offsets give its canonical hash (and so
 * its id, new or shared with an identical one from another unit), and its
 * members' types are resolved later from a pending list.  So a chain of
 * pointers A -> B -> C ... never recurses, and a self-referential struct
 * finds its own id.  Other types (typedefs, qualifiers, pointers, arrays)
 * recurse at most TY_MAX_DEPTH deep, and a DIE met again while still being
 * resolved (a typedef loop in hostile DWARF) resolves to "no type".
 * Qualifiers (const, volatile, restrict, _Atomic) are dropped: a `const
 * char *` field is a `char *` here.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dwarf.h>
#include <libdwarf.h>

#include "debuginfo/dwhelp.h"

#include "debuginfo/strmap.h"
#include "base/u64map.h"
#include "types/types.h"

#define IN_PROGRESS    UINT32_MAX
#define MAX_CHILDREN   200000     /* children of one DIE we look at */
#define MAX_TOP        50000000u  /* top-level DIEs of one module */
#define MAX_MEMBERS    65536      /* members kept per struct */
#define MAX_DIMS       16

struct pending {
    uint32_t id;
    Dwarf_Off off;
    int cplus;
};

struct wanted { /* pass 1 found it; pass 2 materialises it */
    Dwarf_Off off;
    int cplus;
    uint64_t addr;   /* variables */
    const char *name;
    const char *func; /* locals: the function */
    size_t frame;     /* locals: index into tytab.frames */
};

/* A frame of this module: its pc as an ELF vaddr, and its index in tytab.frames. */
struct fvpc {
    uint64_t vpc;
    size_t frame;
};

static int cmp_fvpc(const void *a, const void *b)
{
    const struct fvpc *x = a, *y = b;
    return x->vpc < y->vpc ? -1 : x->vpc > y->vpc;
}

struct dw {
    struct tytab *t;
    Dwarf_Debug dbg;
    int module;
    const struct dbg *d;       /* for the module's addresses (dbg_module_addr) */
    int cplus;                 /* the unit being read is C++ (or another language that names
                                  types alone); 2: Go (TYF_GO, Go's spelling of *T and [N]T) */
    struct u64map *done;        /* DIE offset -> type id (IN_PROGRESS while resolving) */
    struct strmap defs;        /* qualified display name -> DIE offset of the definition */
    struct u64map *qual;        /* DIE offset -> str offset of its namespace-qualified name */
    struct pending *pend;
    size_t npend, cappend;
    struct wanted *types, *vars, *locals;
    size_t ntypes, captypes, nvars, capvars, nlocals, caplocals;
    int has_frames;            /* some frame of tytab.frames runs this module's code */
    struct fvpc *fv;           /* those frames by their pc as an ELF vaddr, ascending */
    size_t nfv;
    int all;
    int oom;
};

/* ------------------------------------------------------------ libdwarf helpers */

/* A variable's static address from DW_AT_location, ELF vaddr; -1 if it has
 * none (TLS, registers, location lists, optimised out). */
static int var_addr(struct dw *w, Dwarf_Die d, uint64_t *addr)
{
    uint8_t x[32];
    long n = dwh_expr(w->dbg, d, DW_AT_location, x, sizeof x);
    if (n == 9 && x[0] == DW_OP_addr) {
        memcpy(addr, x + 1, 8);
        return 0;
    }
    if (n >= 2 && x[0] == DW_OP_addrx) {
        size_t pos = 1;
        uint64_t idx;
        Dwarf_Addr a;
        Dwarf_Error e = NULL;
        if (dwh_uleb(x, (size_t)n, &pos, &idx) == 0 && pos == (size_t)n &&
            dwarf_debug_addr_index_to_addr(d, idx, &a, &e) == DW_DLV_OK) {
            *addr = a;
            return 0;
        }
        dwh_drop(w->dbg, &e);
    }
    return -1;
}

/* Iterate the children of d: calls fn for each, at most MAX_CHILDREN. */
static int each_child(struct dw *w, Dwarf_Die d, int (*fn)(struct dw *, Dwarf_Die, void *), void *u)
{
    int n = 0;
    for (Dwarf_Die c = dwh_first_child(w->dbg, d); c; c = dwh_next_sibling(w->dbg, c)) {
        if (n++ >= MAX_CHILDREN || fn(w, c, u) < 0) {
            dwarf_dealloc_die(c);
            return n > MAX_CHILDREN ? 0 : -1;
        }
    }
    return 0;
}

/* Room for one more element in *v: doubles *cap, starting at 'first'. */
static int push_from(void **v, size_t *n, size_t *cap, size_t elem, size_t first)
{
    if (*n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : first;
    void *p = realloc(*v, nc * elem);
    if (!p)
        return -1;
    *v = p;
    *cap = nc;
    return 0;
}

static int push(void **v, size_t *n, size_t *cap, size_t elem)
{
    return push_from(v, n, cap, elem, 64);
}

/* ------------------------------------------------------------ materialising */

static uint32_t type_of(struct dw *w, Dwarf_Off off, int depth);

/* The type DW_AT_type of d names (0 for void or none). */
static uint32_t attr_type(struct dw *w, Dwarf_Die d, int depth)
{
    Dwarf_Off o;
    return dwh_ref(w->dbg, d, DW_AT_type, &o) == 0 ? type_of(w, o, depth + 1) : 0;
}

static uint32_t add(struct dw *w, uint64_t h, struct ty *y, int *isnew)
{
    int dummy;
    if (w->cplus == 2)
        y->flags |= TYF_GO;
    uint32_t id = ty_add(w->t, h, y, isnew ? isnew : &dummy);
    if (!id)
        w->oom = 1;
    return id;
}

static uint64_t hstr(uint64_t h, const char *s)
{
    return ty_hash(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

static uint64_t hnum(uint64_t h, uint64_t v)
{
    return ty_hash(h, &v, sizeof v);
}

static uint32_t base_type(struct dw *w, Dwarf_Die d)
{
    const char *name = dwh_name(w->dbg, d);
    uint64_t size = 0, enc = 0;
    dwh_udata(w->dbg, d, DW_AT_byte_size, &size);
    dwh_udata(w->dbg, d, DW_AT_encoding, &enc);
    struct ty y = {.kind = TY_BASE, .module = w->module, .size = size};
    switch (enc) {
    case DW_ATE_signed:
        y.flags |= TYF_SIGNED;
        break;
    case DW_ATE_signed_char:
        y.flags |= TYF_SIGNED | TYF_CHAR;
        break;
    case DW_ATE_unsigned_char:
        y.flags |= TYF_CHAR;
        break;
    case DW_ATE_UTF:
        y.flags |= TYF_CHAR;
        break;
    case DW_ATE_boolean:
        y.flags |= TYF_BOOL;
        break;
    case DW_ATE_float:
        y.flags |= TYF_FLOAT;
        break;
    default:
        break;
    }
    uint64_t h = hnum(hstr(hnum(TY_HASH0, 'B'), name), size);
    h = hnum(h, enc);
    y.name = ty_intern(w->t, name ? name : "?");
    return add(w, h, &y, NULL);
}

/* "T *", or "T*" after another star: gdb's spelling; Go's is "*T". */
static uint32_t pointer_name(struct tytab *t, uint32_t target, int refkind, int go)
{
    const char *tn = ty_name(t, target);
    size_t len = strlen(tn);
    char *buf = malloc(len + 4);
    if (!buf)
        return 0;
    if (go)
        snprintf(buf, len + 4, "*%s", target ? tn : "unsafe.Pointer");
    else
        snprintf(buf, len + 4, "%s%s%s", tn, len && tn[len - 1] == '*' ? "" : " ", refkind ? "&" : "*");
    uint32_t off = ty_intern(t, buf);
    free(buf);
    return off;
}

static uint32_t func_type(struct dw *w, Dwarf_Die sub, int pointer, int depth)
{
    uint32_t ret = attr_type(w, sub, depth);
    const char *rn = ret ? ty_name(w->t, ret) : "void";
    char buf[512];
    snprintf(buf, sizeof buf, "%s (%s)()", rn, pointer ? "*" : "");
    if (!pointer) /* "int ()" */
        snprintf(buf, sizeof buf, "%s ()", rn);
    struct ty y = {.kind = TY_FUNCPTR, .module = w->module, .target = ret, .size = pointer ? 8 : 0};
    y.name = ty_intern(w->t, buf);
    uint64_t h = hnum(hnum(hnum(TY_HASH0, 'F'), ret), pointer);
    return add(w, h, &y, NULL);
}

static uint32_t pointer_type(struct dw *w, Dwarf_Die d, int tag, int depth)
{
    Dwarf_Off to;
    uint32_t target = 0;
    if (dwh_ref(w->dbg, d, DW_AT_type, &to) == 0) {
        Dwarf_Die td = dwh_die_at(w->dbg, to);
        if (td && dwh_tag(w->dbg, td) == DW_TAG_subroutine_type) {
            uint32_t id = func_type(w, td, 1, depth);
            dwarf_dealloc_die(td);
            return id;
        }
        if (td)
            dwarf_dealloc_die(td);
        target = type_of(w, to, depth + 1);
    }
    int refkind = tag != DW_TAG_pointer_type;
    struct ty y = {.kind = TY_POINTER, .module = w->module, .target = target, .size = 8,
                   .flags = refkind ? TYF_REF : 0};
    /* a Go pointer is spelled apart (*T): it must not share a C pointer's id */
    uint64_t h = hnum(hnum(hnum(hnum(TY_HASH0, 'P'), target), refkind), w->cplus == 2);
    uint32_t id;
    if (u64map_get(w->t->dedup, h, &id))
        return id;
    y.name = pointer_name(w->t, target, refkind, w->cplus == 2);
    return add(w, h, &y, NULL);
}

static uint32_t typedef_type(struct dw *w, Dwarf_Die d, Dwarf_Off off, int depth)
{
    uint32_t target = attr_type(w, d, depth);
    const char *name = dwh_name(w->dbg, d);
    uint32_t q;
    const char *qn = u64map_get(w->qual, off, &q) ? ty_str(w->t, q) : name;
    uint32_t r = ty_resolve(w->t, target);
    struct ty y = {.kind = TY_TYPEDEF, .module = w->module, .target = target,
                   .size = r ? w->t->v[r].size : 0};
    uint64_t h = hnum(hstr(hnum(TY_HASH0, 'T'), qn), target);
    uint32_t id;
    if (u64map_get(w->t->dedup, h, &id))
        return id;
    y.name = ty_intern(w->t, qn ? qn : "?");
    return add(w, h, &y, NULL);
}

struct dims {
    uint64_t c[MAX_DIMS];
    int n;
};

static int dim_child(struct dw *w, Dwarf_Die c, void *u)
{
    struct dims *dm = u;
    if (dwh_tag(w->dbg, c) != DW_TAG_subrange_type || dm->n >= MAX_DIMS)
        return 0;
    uint64_t n = 0, ub, lb = 0;
    int64_t cnt;
    if (dwh_sdata(w->dbg, c, DW_AT_count, &cnt) == 0 && cnt >= 0)
        n = (uint64_t)cnt;
    else if (dwh_udata(w->dbg, c, DW_AT_upper_bound, &ub) == 0) {
        dwh_udata(w->dbg, c, DW_AT_lower_bound, &lb);
        n = ub >= lb && ub - lb < UINT64_MAX ? ub - lb + 1 : 0;
    }
    dm->c[dm->n++] = n;
    return 0;
}

static uint32_t array_type(struct dw *w, Dwarf_Die d, int depth)
{
    uint32_t elem = attr_type(w, d, depth);
    struct dims dm = {.n = 0};
    if (each_child(w, d, dim_child, &dm) < 0)
        return 0;
    if (!dm.n)
        dm.c[dm.n++] = 0;
    /* innermost dimension first: int a[3][4] is 3 x (4 x int) */
    uint32_t r = ty_resolve(w->t, elem);
    const char *en = ty_name(w->t, elem);
    uint32_t id = elem;
    uint64_t esize = r ? w->t->v[r].size : 0;
    for (int i = dm.n - 1; i >= 0; i--) {
        char name[1024];
        size_t el = strlen(en); /* gdb: "char [4]", "char *[4]"; Go: "[4]uint8" */
        int len = 0;
        if (w->cplus == 2) {
            for (int j = i; j < dm.n && len >= 0 && (size_t)len < sizeof name; j++)
                len += snprintf(name + len, sizeof name - (size_t)len, "[%llu]", (unsigned long long)dm.c[j]);
            if (len >= 0 && (size_t)len < sizeof name)
                snprintf(name + len, sizeof name - (size_t)len, "%s", en);
        } else {
            len = snprintf(name, sizeof name, "%s%s", en, el && en[el - 1] == '*' ? "" : " ");
            for (int j = i; j < dm.n && len > 0 && (size_t)len < sizeof name; j++)
                len += snprintf(name + len, sizeof name - (size_t)len, "[%llu]",
                                (unsigned long long)dm.c[j]);
        }
        uint64_t size = dm.c[i] && esize > UINT64_MAX / dm.c[i] ? 0 : esize * dm.c[i];
        struct ty y = {.kind = TY_ARRAY, .module = w->module, .target = id, .count = dm.c[i],
                       .size = size};
        uint64_t h = hnum(hnum(hnum(hnum(TY_HASH0, 'A'), id), dm.c[i]), w->cplus == 2);
        uint32_t nid;
        if (!u64map_get(w->t->dedup, h, &nid)) {
            y.name = ty_intern(w->t, name);
            nid = add(w, h, &y, NULL);
        }
        id = nid;
        esize = size;
    }
    return id;
}

struct enumbuf {
    struct ty_enum *v;
    size_t n, cap;
    uint64_t h;
    int neg;
};

static int enum_child(struct dw *w, Dwarf_Die c, void *u)
{
    struct enumbuf *b = u;
    if (dwh_tag(w->dbg, c) != DW_TAG_enumerator || b->n >= MAX_MEMBERS)
        return 0;
    const char *name = dwh_name(w->dbg, c);
    int64_t v = 0;
    dwh_sdata(w->dbg, c, DW_AT_const_value, &v);
    if (push((void **)&b->v, &b->n, &b->cap, sizeof *b->v))
        return -1;
    b->v[b->n].name = ty_intern(w->t, name);
    b->v[b->n++].value = v;
    b->h = hnum(hstr(b->h, name), (uint64_t)v);
    b->neg |= v < 0;
    return 0;
}

static const char *display_name(struct dw *w, Dwarf_Off off, const char *name, const char *prefix,
                                char *buf, size_t len)
{
    uint32_t q;
    const char *qn = u64map_get(w->qual, off, &q) ? ty_str(w->t, q) : name;
    if (!qn)
        snprintf(buf, len, "%s{...}", w->cplus ? "" : prefix);
    else
        snprintf(buf, len, "%s%s", w->cplus ? "" : prefix, qn);
    return buf;
}

static uint32_t enum_type(struct dw *w, Dwarf_Die d, Dwarf_Off off, int depth)
{
    char buf[1024];
    display_name(w, off, dwh_name(w->dbg, d), "enum ", buf, sizeof buf);
    uint64_t size = 0;
    dwh_udata(w->dbg, d, DW_AT_byte_size, &size);
    struct enumbuf b = {.h = hnum(hstr(hnum(TY_HASH0, 'E'), buf), size)};
    if (each_child(w, d, enum_child, &b) < 0) {
        free(b.v);
        w->oom = 1;
        return 0;
    }
    uint32_t under = attr_type(w, d, depth), ur = ty_resolve(w->t, under);
    struct ty y = {.kind = TY_ENUM, .module = w->module, .size = size};
    if ((ur && (w->t->v[ur].flags & TYF_SIGNED)) || (!ur && b.neg))
        y.flags |= TYF_SIGNED;
    int isnew;
    uint32_t id = add(w, b.h, &y, &isnew);
    if (id && isnew) {
        w->t->v[id].name = ty_intern(w->t, buf);
        w->t->v[id].first = ty_add_enums(w->t, b.v, b.n);
        w->t->v[id].n = (uint32_t)b.n;
    }
    free(b.v);
    return id;
}

/* One member as pass 1 of a struct sees it: no type resolved yet. */
struct member {
    const char *name;
    uint64_t offset;
    uint16_t bit_size, bit_offset, flags;
    Dwarf_Off type;
    int has_type;
};

struct members {
    struct member *v;
    size_t n, cap;
};

static uint64_t member_offset(struct dw *w, Dwarf_Die m, uint64_t *bitpos)
{
    uint64_t v;
    *bitpos = UINT64_MAX;
    if (dwh_udata(w->dbg, m, DW_AT_data_member_location, &v) == 0)
        return v;
    uint8_t x[32];
    long len = dwh_expr(w->dbg, m, DW_AT_data_member_location, x, sizeof x);
    if (len > 0) {
        size_t pos = 1;
        if ((x[0] == DW_OP_plus_uconst || x[0] == DW_OP_constu) && dwh_uleb(x, (size_t)len, &pos, &v) == 0)
            return v;
        if (x[0] >= DW_OP_lit0 && x[0] <= DW_OP_lit31)
            return x[0] - DW_OP_lit0;
    }
    if (dwh_udata(w->dbg, m, DW_AT_data_bit_offset, &v) == 0) {
        *bitpos = v;
        return v / 8;
    }
    return 0;
}

static int member_child(struct dw *w, Dwarf_Die c, void *u)
{
    struct members *ms = u;
    int tag = dwh_tag(w->dbg, c);
    /* a C++ static member (DWARF 4: a member with DW_AT_declaration) takes no room */
    if (!((tag == DW_TAG_member && !dwh_has(w->dbg, c, DW_AT_declaration)) || tag == DW_TAG_inheritance))
        return 0;
    if (ms->n >= MAX_MEMBERS)
        return 0;
    if (push((void **)&ms->v, &ms->n, &ms->cap, sizeof *ms->v))
        return -1;
    struct member *m = &ms->v[ms->n++];
    memset(m, 0, sizeof *m);
    m->name = tag == DW_TAG_inheritance ? NULL : dwh_name(w->dbg, c);
    m->flags = tag == DW_TAG_inheritance ? TYFF_BASE : 0;
    uint64_t bitpos, bs = 0;
    m->offset = member_offset(w, c, &bitpos);
    if (dwh_udata(w->dbg, c, DW_AT_bit_size, &bs) == 0 && bs > 0 && bs < 65536) {
        m->bit_size = (uint16_t)bs;
        if (bitpos != UINT64_MAX) {
            m->offset = bitpos / 8;
            m->bit_offset = (uint16_t)(bitpos % 8);
        } else {
            /* DWARF 2/3 DW_AT_bit_offset: from the storage unit's most significant bit */
            uint64_t bo = 0, bsz = 0;
            if (dwh_udata(w->dbg, c, DW_AT_bit_offset, &bo) == 0 && dwh_udata(w->dbg, c, DW_AT_byte_size, &bsz) == 0 &&
                bsz * 8 >= bo + bs) {
                uint64_t lsb = bsz * 8 - bo - bs;
                m->offset += lsb / 8;
                m->bit_offset = (uint16_t)(lsb % 8);
            }
        }
    }
    m->has_type = dwh_ref(w->dbg, c, DW_AT_type, &m->type) == 0;
    return 0;
}

static uint32_t record_type(struct dw *w, Dwarf_Die d, Dwarf_Off off, int tag, int depth)
{
    const char *name = dwh_name(w->dbg, d);
    const char *prefix = tag == DW_TAG_union_type ? "union " : tag == DW_TAG_class_type ? "class " : "struct ";
    char buf[1024];
    display_name(w, off, name, prefix, buf, sizeof buf);
    if (dwh_has(w->dbg, d, DW_AT_declaration)) {
        /* find the definition, perhaps in another unit */
        uint64_t def;
        if (name && strmap_get(&w->defs, buf, &def) == 0 && def != off)
            return type_of(w, (Dwarf_Off)def, depth + 1);
        struct ty y = {.kind = tag == DW_TAG_union_type ? TY_UNION : tag == DW_TAG_class_type ? TY_CLASS : TY_STRUCT,
                       .module = w->module, .flags = TYF_DECL | (w->cplus ? TYF_CPLUS : 0)};
        uint64_t h = hstr(hnum(TY_HASH0, 'D'), buf);
        uint32_t id;
        if (u64map_get(w->t->dedup, h, &id))
            return id;
        y.name = ty_intern(w->t, buf);
        return add(w, h, &y, NULL);
    }
    uint64_t size = 0;
    dwh_udata(w->dbg, d, DW_AT_byte_size, &size);
    struct members ms = {0};
    if (each_child(w, d, member_child, &ms) < 0) {
        free(ms.v);
        w->oom = 1;
        return 0;
    }
    struct ty y = {.kind = tag == DW_TAG_union_type ? TY_UNION : tag == DW_TAG_class_type ? TY_CLASS : TY_STRUCT,
                   .module = w->module, .size = size, .flags = w->cplus ? TYF_CPLUS : 0};
    uint64_t h = hnum(hstr(hnum(hnum(TY_HASH0, 'S'), y.kind), buf), size);
    for (size_t i = 0; i < ms.n; i++) {
        h = hnum(hstr(h, ms.v[i].name), ms.v[i].offset);
        h = hnum(h, (uint64_t)ms.v[i].bit_size << 32 | (uint64_t)ms.v[i].bit_offset << 16 | ms.v[i].flags);
    }
    free(ms.v);
    int isnew;
    uint32_t id = add(w, h, &y, &isnew);
    if (id && isnew) {
        w->t->v[id].name = ty_intern(w->t, buf);
        if (push((void **)&w->pend, &w->npend, &w->cappend, sizeof *w->pend)) {
            w->oom = 1;
            return id;
        }
        w->pend[w->npend++] = (struct pending){id, off, w->cplus};
    }
    return id;
}

/* Go's linker gives every type DIE it writes the place of the runtime's
 * descriptor of that type (DW_AT_go_runtime_type: its offset from the
 * module's type descriptors in Go 1.26, as written, unbiased): how a type word read
 * from memory (a malloc header) finds its DWARF type exactly, whatever the
 * two spell their names (reflect says "cpu.option", DWARF
 * "internal/cpu.option").  Kept in tytab.byrtype, address -> id. */
#define DW_AT_go_runtime_type 0x2904

static void runtime_type(struct dw *w, Dwarf_Die d, uint32_t id)
{
    Dwarf_Attribute a = id ? dwh_attr(w->dbg, d, DW_AT_go_runtime_type) : NULL;
    if (!a)
        return;
    Dwarf_Addr addr = 0;
    Dwarf_Error err = NULL;
    int r = dwarf_formaddr(a, &addr, &err);
    dwh_drop(w->dbg, &err);
    dwarf_dealloc_attribute(a);
    if (r != DW_DLV_OK || !addr)
        return;
    if ((!w->t->byrtype && !(w->t->byrtype = u64map_new())) || u64map_set(w->t->byrtype, addr, id))
        w->oom = 1;
    if (!w->t->v[id].go_rtype)
        w->t->v[id].go_rtype = addr;
}

static uint32_t type_of(struct dw *w, Dwarf_Off off, int depth)
{
    uint32_t id;
    if (u64map_get(w->done, off, &id))
        return id == IN_PROGRESS ? 0 : id;
    if (depth > TY_MAX_DEPTH || w->oom)
        return 0;
    Dwarf_Die d = dwh_die_at(w->dbg, off);
    if (!d)
        return 0;
    if (u64map_set(w->done, off, IN_PROGRESS)) {
        dwarf_dealloc_die(d);
        w->oom = 1;
        return 0;
    }
    int tag = dwh_tag(w->dbg, d);
    switch (tag) {
    case DW_TAG_base_type:
        id = base_type(w, d);
        break;
    case DW_TAG_const_type:
    case DW_TAG_volatile_type:
    case DW_TAG_restrict_type:
    case DW_TAG_atomic_type:
        id = attr_type(w, d, depth); /* qualifiers are dropped */
        break;
    case DW_TAG_typedef:
        id = typedef_type(w, d, off, depth);
        break;
    case DW_TAG_pointer_type:
    case DW_TAG_reference_type:
    case DW_TAG_rvalue_reference_type:
        id = pointer_type(w, d, tag, depth);
        break;
    case DW_TAG_subroutine_type:
        id = func_type(w, d, 0, depth);
        break;
    case DW_TAG_array_type:
        id = array_type(w, d, depth);
        break;
    case DW_TAG_enumeration_type:
        id = enum_type(w, d, off, depth);
        break;
    case DW_TAG_structure_type:
    case DW_TAG_union_type:
    case DW_TAG_class_type:
        id = record_type(w, d, off, tag, depth);
        break;
    default: /* unspecified types, pointers to members, ...: no type */
        id = 0;
        break;
    }
    runtime_type(w, d, id);
    dwarf_dealloc_die(d);
    if (u64map_set(w->done, off, id))
        w->oom = 1;
    return id;
}

/* Resolve the members of the structs met so far (which may meet more). */
static void drain(struct dw *w)
{
    for (size_t k = 0; k < w->npend && !w->oom; k++) {
        struct pending p = w->pend[k];
        Dwarf_Die d = dwh_die_at(w->dbg, p.off);
        if (!d)
            continue;
        w->cplus = p.cplus;
        struct members ms = {0};
        if (each_child(w, d, member_child, &ms) < 0) {
            w->oom = 1;
            free(ms.v);
            dwarf_dealloc_die(d);
            return;
        }
        dwarf_dealloc_die(d);
        struct ty_field *f = ms.n ? calloc(ms.n, sizeof *f) : NULL;
        if (ms.n && !f) {
            w->oom = 1;
            free(ms.v);
            return;
        }
        for (size_t i = 0; i < ms.n; i++) {
            f[i].type = ms.v[i].has_type ? type_of(w, ms.v[i].type, 0) : 0;
            const char *nm = ms.v[i].name;
            if (ms.v[i].flags & TYFF_BASE) /* a base class goes by its class's name */
                nm = ty_name(w->t, f[i].type);
            f[i].name = ty_intern(w->t, nm);
            f[i].offset = ms.v[i].offset;
            f[i].bit_size = ms.v[i].bit_size;
            f[i].bit_offset = ms.v[i].bit_offset;
            f[i].flags = ms.v[i].flags;
        }
        uint32_t first = ty_add_fields(w->t, f, ms.n);
        w->t->v[p.id].first = first;
        w->t->v[p.id].n = (uint32_t)ms.n;
        free(f);
        free(ms.v);
    }
    w->npend = 0;
}

/* ------------------------------------------------------------ stack frames' locals */

#define MAX_BLOCK_DEPTH 32   /* lexical blocks nested in a function that we enter */

/* The ELF vaddr range [lo, hi) of a DIE's DW_AT_low_pc/high_pc; -1 if it has
 * none (DW_AT_ranges is not read: such a scope's locals are not typed). */
static int pc_range(struct dw *w, Dwarf_Die d, uint64_t *lo, uint64_t *hi)
{
    Dwarf_Addr l = 0, h = 0;
    Dwarf_Half form = 0;
    enum Dwarf_Form_Class cls = DW_FORM_CLASS_UNKNOWN;
    Dwarf_Error e = NULL;
    if (dwarf_lowpc(d, &l, &e) != DW_DLV_OK || dwarf_highpc_b(d, &h, &form, &cls, &e) != DW_DLV_OK) {
        dwh_drop(w->dbg, &e);
        return -1;
    }
    if (cls == DW_FORM_CLASS_CONSTANT)
        h += l;
    *lo = l;
    *hi = h;
    return h > l ? 0 : -1;
}

/* One memory operation of a location: DW_OP_fbreg N (the frame base being
 * DW_OP_call_frame_cfa), DW_OP_call_frame_cfa itself (Go: an argument at
 * the CFA), or DW_OP_breg7 (rsp) / DW_OP_breg6 (rbp) N.  -1 otherwise. */
static int op_addr(Dwarf_Small atom, Dwarf_Unsigned op1, const struct ty_frame *f, int fb_cfa, uint64_t *addr)
{
    int64_t off = (int64_t)op1;
    if (atom == DW_OP_fbreg && fb_cfa)
        *addr = f->cfa + (uint64_t)off;
    else if (atom == DW_OP_call_frame_cfa)
        *addr = f->cfa;
    else if (atom == DW_OP_breg7)
        *addr = f->sp + (uint64_t)off;
    else if (atom == DW_OP_breg6 && f->bp)
        *addr = f->bp + (uint64_t)off;
    else
        return -1;
    return 0;
}

/* A location description as one stack address: a single memory operation,
 * or pieces that are each one and lie end to end (Go spells a slice held
 * on the stack that way).  -1 for a register, an empty piece, or anything
 * else. */
static int desc_addr(Dwarf_Locdesc_c ld, Dwarf_Unsigned nops, const struct ty_frame *f, int fb_cfa,
                     uint64_t *addr)
{
    uint64_t first = 0, next = 0;
    int have = 0, pending = 0;
    if (nops == 0 || nops > 64)
        return -1;
    for (Dwarf_Unsigned i = 0; i < nops; i++) {
        Dwarf_Small atom = 0;
        Dwarf_Unsigned op1 = 0, op2 = 0, op3 = 0, br = 0;
        Dwarf_Error e = NULL;
        if (dwarf_get_location_op_value_c(ld, i, &atom, &op1, &op2, &op3, &br, &e) != DW_DLV_OK)
            return -1; /* errors here belong to the head; freed with it */
        if (atom == DW_OP_piece) {
            if (!pending)
                return -1; /* a piece with no location: optimized out */
            next += op1;
            pending = 0;
            continue;
        }
        uint64_t a;
        if (pending || op_addr(atom, op1, f, fb_cfa, &a))
            return -1;
        if (!have)
            first = next = a;
        else if (a != next)
            return -1;
        have = pending = 1;
    }
    if (!have)
        return -1;
    *addr = first;
    return 0;
}

/* A local's stack address in frame f at vpc: its location expression, or
 * the entry of its location list that covers vpc (Go's optimized code
 * describes nearly every variable by a list of pc ranges).  -1 when it is
 * not in memory there. */
static int local_addr(struct dw *w, Dwarf_Die d, const struct ty_frame *f, uint64_t vpc, int fb_cfa,
                      uint64_t *addr)
{
    Dwarf_Attribute a = dwh_attr(w->dbg, d, DW_AT_location);
    if (!a)
        return -1;
    Dwarf_Loc_Head_c head = NULL;
    Dwarf_Unsigned n = 0;
    Dwarf_Error e = NULL;
    int rc = -1;
    if (dwarf_get_loclist_c(a, &head, &n, &e) == DW_DLV_OK) {
        for (Dwarf_Unsigned i = 0; i < n && i < 4096; i++) {
            Dwarf_Small lle = 0, src = 0;
            Dwarf_Unsigned rlo = 0, rhi = 0, nops = 0, eoff = 0, doff = 0;
            Dwarf_Bool unavailable = 0;
            Dwarf_Addr lo = 0, hi = 0;
            Dwarf_Locdesc_c ld = NULL;
            if (dwarf_get_locdesc_entry_d(head, i, &lle, &rlo, &rhi, &unavailable, &lo, &hi, &nops, &ld, &src,
                                          &eoff, &doff, &e) != DW_DLV_OK)
                break;
            if (nops == 0)
                continue; /* a base address or the end of the list */
            if (src != 0 && (unavailable || vpc < lo || vpc >= hi))
                continue; /* a list entry for other pcs (src 0: one expression for all) */
            rc = desc_addr(ld, nops, f, fb_cfa, addr);
            break;
        }
        dwarf_loc_head_c_dealloc(head);
    }
    dwh_drop(w->dbg, &e);
    dwarf_dealloc_attribute(a);
    return rc;
}

struct fscope {
    const char *func;
    size_t frame;
    uint64_t vpc;    /* the frame's pc as an ELF vaddr */
    int fb_cfa;      /* the function's frame base is DW_OP_call_frame_cfa */
    int depth;
};

static int local_die(struct dw *w, Dwarf_Die d, void *u)
{
    const struct fscope *sc = u;
    int tag = dwh_tag(w->dbg, d);
    if (tag == DW_TAG_lexical_block) {
        uint64_t lo, hi;
        if (sc->depth >= MAX_BLOCK_DEPTH || pc_range(w, d, &lo, &hi) || sc->vpc < lo || sc->vpc >= hi)
            return 0;
        struct fscope in = *sc;
        in.depth++;
        return each_child(w, d, local_die, &in);
    }
    if (tag != DW_TAG_variable && tag != DW_TAG_formal_parameter)
        return 0;
    uint64_t addr;
    Dwarf_Off type = 0;
    if (local_addr(w, d, &w->t->frames[sc->frame], sc->vpc, sc->fb_cfa, &addr) ||
        dwh_ref(w->dbg, d, DW_AT_type, &type))
        return 0;
    if (push((void **)&w->locals, &w->nlocals, &w->caplocals, sizeof *w->locals))
        return -1;
    const char *name = dwh_name(w->dbg, d);
    w->locals[w->nlocals++] = (struct wanted){.off = type, .cplus = w->cplus, .addr = addr,
                                              .name = name ? name : "", .func = sc->func,
                                              .frame = sc->frame};
    return 0;
}

/* A function: for each unwound frame whose pc it holds, its locals. */
static int frame_locals(struct dw *w, Dwarf_Die d)
{
    uint64_t lo, hi;
    if (pc_range(w, d, &lo, &hi))
        return 0;
    /* the frames whose pc it holds: a run of w->fv (thousands of goroutine
     * frames meet thousands of functions) */
    size_t a = 0, b = w->nfv;
    while (a < b) {
        size_t m = (a + b) / 2;
        if (w->fv[m].vpc < lo)
            a = m + 1;
        else
            b = m;
    }
    for (size_t k = a; k < w->nfv && w->fv[k].vpc < hi; k++) {
        size_t i = w->fv[k].frame;
        uint64_t vpc = w->fv[k].vpc;
        uint8_t fb[8];
        long n = dwh_expr(w->dbg, d, DW_AT_frame_base, fb, sizeof fb);
        const char *func = dwh_name(w->dbg, d);
        struct fscope sc = {func ? func : "?", i, vpc, n == 1 && fb[0] == DW_OP_call_frame_cfa, 0};
        if (each_child(w, d, local_die, &sc) < 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ pass 1 */

struct scope {
    const char *prefix; /* "ns::" or "" */
    int in_func;
    int depth;          /* namespaces deep: hostile DWARF may nest them without end */
};

static int want_type(struct dw *w, Dwarf_Off off)
{
    if (push((void **)&w->types, &w->ntypes, &w->captypes, sizeof *w->types))
        return -1;
    w->types[w->ntypes++] = (struct wanted){.off = off, .cplus = w->cplus};
    return 0;
}

static int scan_die(struct dw *w, Dwarf_Die d, void *u);

static int scan_scope(struct dw *w, Dwarf_Die d, const char *prefix, int in_func, int depth)
{
    struct scope sc = {prefix, in_func, depth};
    if (depth > TY_MAX_DEPTH)
        return 0;
    return each_child(w, d, scan_die, &sc);
}

static int scan_die(struct dw *w, Dwarf_Die d, void *u)
{
    const struct scope *sc = u;
    int tag = dwh_tag(w->dbg, d);
    const char *name;
    Dwarf_Off off = dwh_offset(w->dbg, d);
    switch (tag) {
    case DW_TAG_structure_type:
    case DW_TAG_union_type:
    case DW_TAG_class_type:
    case DW_TAG_enumeration_type:
    case DW_TAG_typedef: {
        if (sc->in_func || !(name = dwh_name(w->dbg, d)))
            return 0;
        char q[1024];
        if (*sc->prefix) {
            snprintf(q, sizeof q, "%s%s", sc->prefix, name);
            if (u64map_set(w->qual, off, ty_intern(w->t, q)))
                return -1;
            name = q;
        }
        if (tag == DW_TAG_typedef || dwh_has(w->dbg, d, DW_AT_declaration))
            return 0;
        if (tag != DW_TAG_enumeration_type) {
            char key[1100];
            const char *prefix = tag == DW_TAG_union_type ? "union " : tag == DW_TAG_class_type ? "class " : "struct ";
            snprintf(key, sizeof key, "%s%s", w->cplus ? "" : prefix, name);
            if (strmap_add(&w->defs, key, off) < 0)
                return -1;
        }
        return w->all ? want_type(w, off) : 0;
    }
    case DW_TAG_namespace: {
        if (*sc->prefix && strlen(sc->prefix) > 512)
            return 0;
        name = dwh_name(w->dbg, d);
        char p[1100];
        snprintf(p, sizeof p, "%s%s::", sc->prefix, name ? name : "(anonymous namespace)");
        return scan_scope(w, d, p, 0, sc->depth + 1);
    }
    case DW_TAG_subprogram:
        if (w->has_frames && !sc->in_func && frame_locals(w, d) < 0)
            return -1;
        /* function-local statics are direct children of the function */
        if (w->all && !sc->in_func)
            return scan_scope(w, d, sc->prefix, 1, sc->depth + 1);
        return 0;
    case DW_TAG_variable: {
        uint64_t addr;
        if (var_addr(w, d, &addr) < 0 || dbg_module_addr(w->d, (size_t)w->module, addr, &addr))
            return 0;
        Dwarf_Off type = 0, spec;
        name = dwh_name(w->dbg, d);
        if (dwh_ref(w->dbg, d, DW_AT_type, &type) < 0 && dwh_ref(w->dbg, d, DW_AT_specification, &spec) == 0) {
            Dwarf_Die decl = dwh_die_at(w->dbg, spec);
            if (decl) {
                if (dwh_ref(w->dbg, decl, DW_AT_type, &type) < 0)
                    type = 0;
                if (!name)
                    name = dwh_name(w->dbg, decl);
                dwarf_dealloc_die(decl);
            }
        }
        if (!type)
            return 0;
        if (push((void **)&w->vars, &w->nvars, &w->capvars, sizeof *w->vars))
            return -1;
        w->vars[w->nvars++] = (struct wanted){.off = type, .cplus = w->cplus, .addr = addr,
                                              .name = name};
        return 0;
    }
    default:
        return 0;
    }
}

/* Names in C say "struct x"; C++, Go, Rust and the rest name a type alone
 * (gdb's spelling in each language).  Those units count as "cplus" here. */
static int is_cplus(struct dw *w, Dwarf_Die cu)
{
    int64_t lang = 0;
    if (dwh_sdata(w->dbg, cu, DW_AT_language, &lang))
        return 0;
    if (lang == DW_LANG_Go)
        return 2;
    return !(lang == DW_LANG_C89 || lang == DW_LANG_C || lang == DW_LANG_C99 || lang == DW_LANG_C11);
}

static int scan_units(struct dw *w)
{
    /* the handle is shared (dbg_module_dwarf): a walk that stops before the
     * last unit rewinds the cursor for the next reader */
    for (unsigned units = 0; units < MAX_TOP; units++) {
        Dwarf_Unsigned hlen, abbrev, next, toff;
        Dwarf_Half ver, asz, osz, xsz, htype;
        Dwarf_Sig8 sig;
        Dwarf_Error e = NULL;
        int r = dwarf_next_cu_header_d(w->dbg, 1, &hlen, &ver, &abbrev, &asz, &osz, &xsz, &sig,
                                       &toff, &next, &htype, &e);
        if (r != DW_DLV_OK) {
            dwh_drop(w->dbg, &e);
            return 0;
        }
        Dwarf_Die cu = NULL;
        if (dwarf_siblingof_b(w->dbg, NULL, 1, &cu, &e) != DW_DLV_OK) {
            dwh_drop(w->dbg, &e);
            continue;
        }
        w->cplus = is_cplus(w, cu);
        struct scope sc = {"", 0, 0};
        r = each_child(w, cu, scan_die, &sc);
        dwarf_dealloc_die(cu);
        if (r < 0) {
            dwh_cu_rewind(w->dbg);
            return -1;
        }
    }
    dwh_cu_rewind(w->dbg); /* MAX_TOP units read: the rest are left */
    return 0;
}

/* ------------------------------------------------------------ the module */

/* The type of a variable pass 1 found, with its members; *r is it resolved through typedefs. */
static uint32_t wanted_type(struct dw *w, const struct wanted *v, uint32_t *r)
{
    w->cplus = v->cplus;
    uint32_t type = type_of(w, v->off, 0);
    drain(w);
    *r = ty_resolve(w->t, type);
    return type;
}

int ty_load_dwarf(struct tytab *t, struct dbg *d, int module, int all,
                  int (*want)(void *u, uint64_t addr, uint64_t size), void *u, char *err,
                  size_t errlen)
{
    const struct dbg_module_info *mi = dbg_module(d, (size_t)module);
    if (!mi || !mi->has_dwarf || !mi->debug_path)
        return 0;
    struct dw w = {.t = t, .module = module, .d = d, .all = all};
    int rc = -1;
    /* the module's own handle, which debuginfo/ reads too: not ours to finish */
    if (!(w.dbg = dbg_module_dwarf(d, (size_t)module))) {
        snprintf(err, errlen, "%s: libdwarf cannot read its DWARF", mi->debug_path);
        return -1;
    }
    if (t->nframes && !(w.fv = malloc(t->nframes * sizeof *w.fv))) {
        t->oom = 1;
        snprintf(err, errlen, "%s: out of memory reading types", mi->debug_path);
        return -1;
    }
    for (size_t i = 0; i < t->nframes; i++) {
        uint64_t vpc;
        if (t->frames[i].module == module && !dbg_module_vaddr(d, (size_t)module, t->frames[i].pc, &vpc))
            w.fv[w.nfv++] = (struct fvpc){vpc, i};
    }
    w.has_frames = w.nfv > 0;
    if (w.nfv)
        qsort(w.fv, w.nfv, sizeof *w.fv, cmp_fvpc);
    w.done = u64map_new();
    w.qual = u64map_new();
    if (!w.done || !w.qual || scan_units(&w) < 0) {
        snprintf(err, errlen, "%s: out of memory reading types", mi->debug_path);
        goto out;
    }
    for (size_t i = 0; i < w.ntypes && !w.oom; i++) {
        w.cplus = w.types[i].cplus;
        type_of(&w, w.types[i].off, 0);
        if (w.npend > 256)
            drain(&w);
    }
    drain(&w);
    for (size_t i = 0; i < w.nvars && !w.oom; i++) {
        const struct wanted *v = &w.vars[i];
        if (!all) {
            const struct dbg_symbol *sym = dbg_symbol_at(d, v->addr);
            if (!sym || sym->addr != v->addr || !sym->size || !want(u, v->addr, sym->size))
                continue;
        }
        uint32_t r, type = wanted_type(&w, v, &r);
        if (!type || !r)
            continue;
        if (push_from((void **)&t->vars, &t->nvars, &t->capvars, sizeof *t->vars, 256)) {
            w.oom = 1;
            break;
        }
        t->vars[t->nvars++] = (struct ty_var){.addr = v->addr, .size = t->v[r].size, .type = type,
                                              .name = ty_intern(t, v->name), .module = module};
    }
    for (size_t i = 0; i < w.nlocals && !w.oom; i++) {
        const struct wanted *v = &w.locals[i];
        uint32_t r, type = wanted_type(&w, v, &r);
        if (!type || !r || !t->v[r].size)
            continue;
        if (push((void **)&t->locals, &t->nlocals, &t->caplocals, sizeof *t->locals)) {
            w.oom = 1;
            break;
        }
        const struct ty_frame *f = &t->frames[v->frame];
        t->locals[t->nlocals++] = (struct ty_local){
            .addr = v->addr, .size = t->v[r].size, .type = type, .name = ty_intern(t, v->name),
            .func = ty_intern(t, v->func), .thread = f->thread, .frame = f->index};
    }
    if (w.oom || t->oom)
        snprintf(err, errlen, "%s: out of memory reading types", mi->debug_path);
    else
        rc = 0;
out:
    free(w.pend);
    free(w.types);
    free(w.vars);
    free(w.locals);
    free(w.fv);
    u64map_destroy(w.done);
    u64map_destroy(w.qual);
    strmap_free(&w.defs);
    return rc;
}

static int var_cmp(const void *a, const void *b)
{
    const struct ty_var *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

void ty_finish_vars(struct tytab *t)
{
    if (t->nvars)
        qsort(t->vars, t->nvars, sizeof *t->vars, var_cmp);
}

const struct ty_var *ty_var_at(const struct tytab *t, uint64_t addr)
{
    size_t lo = 0, hi = t->nvars;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (t->vars[m].addr < addr)
            lo = m + 1;
        else
            hi = m;
    }
    return lo < t->nvars && t->vars[lo].addr == addr ? &t->vars[lo] : NULL;
}
