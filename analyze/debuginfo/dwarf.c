/*
 * dwarf.c — struct layouts, global variables and constants from a module's
 * DWARF, read with libdwarf.
 *
 * Nothing is read until a lookup asks.  The first lookup in a module opens
 * its debug file and walks only the top-level DIEs of every compilation
 * unit (and of C++ namespaces), recording in hash tables the DIE offset of
 * each named struct/union, typedef and variable, and the value of each
 * constant and enumerator.  That is one fast pass even over libc's DWARF;
 * a struct's members are read only when that struct is asked for, and the
 * layout is then cached for the life of the dbg.
 *
 * libdwarf reads DWARF 4 and 5 and decompresses SHF_COMPRESSED and .zdebug
 * sections itself (Debian's libdwarf is built with zlib), so this file
 * needs no section access layer of its own.
 *
 * The DWARF may be hostile: every walk is bounded in depth and count, and
 * a DIE we cannot read is skipped rather than trusted.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dwarf.h>
#include <libdwarf.h>

#include "debuginfo/dwhelp.h"
#include "debuginfo/internal.h"

#define MAX_DEPTH       32        /* typedef chains, nested structs, namespaces */
#define MAX_MEMBERS     100000    /* members of one struct */
#define MAX_TOP_DIES    50000000u /* top-level DIEs of one module, all CUs */
#define MAX_FIELDS      65536     /* fields of one layout, anonymous members lifted: a
                                     hostile nest of anonymous members could double
                                     them at every level */

/* A layout we built, with the storage its pointers point into. */
struct owned_layout {
    struct dbg_layout l;
    struct owned_layout *next;
    char **names;  /* field names we own (lifted names are shared) */
    size_t nnames;
};

struct dbg_dwarf {
    int fd;
    Dwarf_Debug dbg;         /* the module's one handle on its debug file (dbg_module_dwarf) */
    int indexed;             /* 0: not yet, 1: done, -1: failed (out of memory) */
    struct strmap structs;   /* name -> DIE offset of a complete definition */
    struct strmap typedefs;  /* name -> DIE offset */
    struct strmap vars;      /* name -> DIE offset of a variable with a location */
    struct strmap consts;    /* name -> value (int64_t bits) */
    struct strmap by_name;   /* name -> struct owned_layout * (0: looked up, absent) */
    struct strmap by_off;    /* "@offset" -> struct owned_layout * (0: being built / failed) */
    struct owned_layout *layouts;
};

/* ------------------------------------------------------------ attribute helpers */

static const char *decl_name(struct dbg_dwarf *dw, Dwarf_Die die)
{
    const char *n = dwh_name(dw->dbg, die);
    Dwarf_Off spec;
    if (n || dwh_ref(dw->dbg, die, DW_AT_specification, &spec) < 0)
        return n;
    Dwarf_Die d2 = dwh_die_at(dw->dbg, spec);
    if (!d2)
        return NULL;
    n = dwh_name(dw->dbg, d2);
    dwarf_dealloc_die(d2);
    return n;
}

static int index_die(struct dbg_dwarf *dw, Dwarf_Die die, int depth, uint64_t *budget);

/* Walk the children of parent (a CU, a namespace, an enum), indexing each. */
static int index_children(struct dbg_dwarf *dw, Dwarf_Die parent, int depth, uint64_t *budget)
{
    for (Dwarf_Die c = dwh_first_child(dw->dbg, parent); c; c = dwh_next_sibling(dw->dbg, c)) {
        if (!*budget || index_die(dw, c, depth, budget) < 0) {
            dwarf_dealloc_die(c);
            return -1;
        }
        (*budget)--;
    }
    return 0;
}

static int index_die(struct dbg_dwarf *dw, Dwarf_Die die, int depth, uint64_t *budget)
{
    int tag = dwh_tag(dw->dbg, die);
    const char *name;
    int64_t v;
    switch (tag) {
    case DW_TAG_structure_type:
    case DW_TAG_union_type:
    case DW_TAG_class_type:
        if ((name = dwh_name(dw->dbg, die)) && !dwh_has(dw->dbg, die, DW_AT_declaration) &&
            strmap_add(&dw->structs, name, dwh_offset(dw->dbg, die)) < 0)
            return -1;
        break;
    case DW_TAG_typedef:
        if ((name = dwh_name(dw->dbg, die)) && strmap_add(&dw->typedefs, name, dwh_offset(dw->dbg, die)) < 0)
            return -1;
        break;
    case DW_TAG_variable:
    case DW_TAG_constant:
        if (!(name = decl_name(dw, die)))
            break;
        if (dwh_sdata(dw->dbg, die, DW_AT_const_value, &v) == 0) {
            if (strmap_add(&dw->consts, name, (uint64_t)v) < 0)
                return -1;
        } else if (tag == DW_TAG_variable && dwh_has(dw->dbg, die, DW_AT_location) &&
                   strmap_add(&dw->vars, name, dwh_offset(dw->dbg, die)) < 0) {
            return -1;
        }
        break;
    case DW_TAG_enumerator:
        if ((name = dwh_name(dw->dbg, die)) && dwh_sdata(dw->dbg, die, DW_AT_const_value, &v) == 0 &&
            strmap_add(&dw->consts, name, (uint64_t)v) < 0)
            return -1;
        break;
    case DW_TAG_enumeration_type:
        if (depth < MAX_DEPTH)
            return index_children(dw, die, depth + 1, budget);
        break;
    case DW_TAG_namespace:
        if (depth < MAX_DEPTH)
            return index_children(dw, die, depth + 1, budget);
        break;
    default:
        break;
    }
    return 0;
}

static int index_module(struct dbg_dwarf *dw)
{
    uint64_t budget = MAX_TOP_DIES;
    /* the handle is shared (dbg_module_dwarf): a walk that stops before the
     * last unit rewinds the cursor for the next reader */
    for (;;) {
        Dwarf_Unsigned hdr_len, abbrev_off, next_off, typeoff;
        Dwarf_Half version, addr_size, off_size, ext_size, hdr_type;
        Dwarf_Sig8 sig;
        Dwarf_Error err = NULL;
        int r = dwarf_next_cu_header_d(dw->dbg, 1, &hdr_len, &version, &abbrev_off, &addr_size,
                                       &off_size, &ext_size, &sig, &typeoff, &next_off, &hdr_type,
                                       &err);
        if (r != DW_DLV_OK) {
            /* NO_ENTRY: the end.  ERROR: a damaged unit; nothing after it can be found. */
            dwh_drop(dw->dbg, &err);
            return 0;
        }
        Dwarf_Die cu = NULL;
        if (dwarf_siblingof_b(dw->dbg, NULL, 1, &cu, &err) != DW_DLV_OK) {
            dwh_drop(dw->dbg, &err);
            continue;
        }
        r = index_children(dw, cu, 0, &budget);
        dwarf_dealloc_die(cu);
        if (r < 0) {
            dwh_cu_rewind(dw->dbg);
            return budget ? -1 : 0; /* out of memory, or a hostile file's budget spent */
        }
    }
}

void dbg_dwarf_free(struct dbg_dwarf *dw)
{
    if (!dw)
        return;
    for (struct owned_layout *o = dw->layouts, *next; o; o = next) {
        next = o->next;
        for (size_t i = 0; i < o->nnames; i++)
            free(o->names[i]);
        free(o->names);
        free((void *)o->l.fields);
        free((char *)o->l.name);
        free(o);
    }
    strmap_free(&dw->structs);
    strmap_free(&dw->typedefs);
    strmap_free(&dw->vars);
    strmap_free(&dw->consts);
    strmap_free(&dw->by_name);
    strmap_free(&dw->by_off);
    if (dw->dbg) {
        Dwarf_Error err = NULL;
        if (dwarf_finish(dw->dbg, &err) != DW_DLV_OK)
            dwh_drop(NULL, &err);
    }
    if (dw->fd >= 0)
        close(dw->fd);
    free(dw);
}

/* Open mod's debug file with libdwarf, once; NULL if it has no readable DWARF. */
static struct dbg_dwarf *dwarf_open(struct dbg_mod *mod)
{
    if (mod->dwarf_tried)
        return mod->dw;
    mod->dwarf_tried = 1;
    if (!mod->debug || !mod->debug->has_dwarf)
        return NULL;
    struct dbg_dwarf *dw = calloc(1, sizeof *dw);
    if (!dw)
        return NULL;
    /* libdwarf reads through its own descriptor: it seeks, libelf's does not expect that. */
    dw->fd = open(mod->debug->path, O_RDONLY | O_CLOEXEC);
    Dwarf_Error err = NULL;
    if (dw->fd < 0 ||
        dwarf_init_b(dw->fd, DW_DLC_READ, DW_GROUPNUMBER_ANY, NULL, NULL, &dw->dbg, &err) !=
            DW_DLV_OK) {
        dwh_drop(NULL, &err);
        dw->dbg = NULL;
        dbg_dwarf_free(dw);
        return NULL;
    }
    return mod->dw = dw;
}

struct dbg_dwarf *dbg_dwarf_get(struct dbg_mod *mod)
{
    struct dbg_dwarf *dw = dwarf_open(mod);
    if (dw && !dw->indexed)
        dw->indexed = index_module(dw) < 0 ? -1 : 1;
    return dw && dw->indexed > 0 ? dw : NULL;
}

Dwarf_Debug dbg_module_dwarf(struct dbg *d, size_t m)
{
    struct dbg_dwarf *dw = m < d->nmods ? dwarf_open(&d->mods[m]) : NULL;
    return dw ? dw->dbg : NULL;
}

Dwarf_Debug dbg_module_cfi(struct dbg *d, size_t m)
{
    if (m >= d->nmods)
        return NULL;
    struct dbg_mod *mod = &d->mods[m];
    const char *path = mod->info.elf_path ? mod->info.elf_path : mod->info.debug_path;
    if (path && mod->info.debug_path && !strcmp(path, mod->info.debug_path) && dbg_module_dwarf(d, m))
        return mod->dw->dbg; /* the binary is its own debug file: one handle */
    if (mod->cfi_tried)
        return mod->cfi_dbg;
    mod->cfi_tried = 1;
    Dwarf_Error err = NULL;
    if (!path || (mod->cfi_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return NULL;
    if (dwarf_init_b(mod->cfi_fd, DW_DLC_READ, DW_GROUPNUMBER_ANY, NULL, NULL, &mod->cfi_dbg, &err) != DW_DLV_OK) {
        dwh_drop(NULL, &err);
        close(mod->cfi_fd);
        mod->cfi_fd = -1;
        mod->cfi_dbg = NULL;
    }
    return mod->cfi_dbg;
}

void dbg_cfi_close(struct dbg_mod *mod)
{
    if (mod->cfi_dbg) {
        Dwarf_Error err = NULL;
        if (dwarf_finish(mod->cfi_dbg, &err) != DW_DLV_OK)
            dwh_drop(NULL, &err);
        close(mod->cfi_fd);
    }
    mod->cfi_dbg = NULL;
}

/* ------------------------------------------------------------ types */

static int is_qualifier(int tag)
{
    return tag == DW_TAG_typedef || tag == DW_TAG_const_type || tag == DW_TAG_volatile_type ||
           tag == DW_TAG_restrict_type || tag == DW_TAG_atomic_type;
}

/* Follow typedefs and qualifiers from the type at off; the offset of the
 * underlying type, or 0 for void / unreadable. */
static Dwarf_Off strip_type(struct dbg_dwarf *dw, Dwarf_Off off)
{
    for (int i = 0; off && i < MAX_DEPTH; i++) {
        Dwarf_Die t = dwh_die_at(dw->dbg, off);
        if (!t)
            return 0;
        int tag = dwh_tag(dw->dbg, t);
        Dwarf_Off next = 0;
        if (is_qualifier(tag) && dwh_ref(dw->dbg, t, DW_AT_type, &next) < 0)
            next = 0;
        dwarf_dealloc_die(t);
        if (!is_qualifier(tag))
            return off;
        off = next;
    }
    return 0;
}

/* Bytes taken by the type at off (0 if unknown or void); *count gets the
 * number of array elements over all dimensions, 0 if not an array. */
static uint64_t type_size(struct dbg_dwarf *dw, Dwarf_Off off, uint64_t *count, int depth)
{
    *count = 0;
    off = strip_type(dw, off);
    if (!off || depth > MAX_DEPTH)
        return 0;
    Dwarf_Die t = dwh_die_at(dw->dbg, off);
    if (!t)
        return 0;
    int tag = dwh_tag(dw->dbg, t);
    uint64_t size = 0, elems = 1, sub;
    if (tag != DW_TAG_array_type) {
        if (dwh_udata(dw->dbg, t, DW_AT_byte_size, &size) < 0 &&
            (tag == DW_TAG_pointer_type || tag == DW_TAG_reference_type ||
             tag == DW_TAG_rvalue_reference_type))
            size = 8; /* x86_64 only; no byte_size means the CU's address size */
        dwarf_dealloc_die(t);
        return size;
    }
    /* An array: element size times every dimension's length. */
    Dwarf_Off elem;
    uint64_t elem_size = 0;
    if (dwh_ref(dw->dbg, t, DW_AT_type, &elem) == 0)
        elem_size = type_size(dw, elem, &sub, depth + 1);
    int dims = 0, n = 0;
    Dwarf_Die c = dwh_first_child(dw->dbg, t);
    for (; c && dims < 64 && n++ < MAX_MEMBERS; c = dwh_next_sibling(dw->dbg, c)) {
        if (dwh_tag(dw->dbg, c) == DW_TAG_subrange_type) {
            uint64_t n = 0, ub, lb = 0;
            int64_t sub_count;
            if (dwh_sdata(dw->dbg, c, DW_AT_count, &sub_count) == 0 && sub_count >= 0)
                n = (uint64_t)sub_count;
            else if (dwh_udata(dw->dbg, c, DW_AT_upper_bound, &ub) == 0) {
                dwh_udata(dw->dbg, c, DW_AT_lower_bound, &lb);
                n = ub >= lb ? ub - lb + 1 : 0;
            }
            /* else: a flexible array member, no elements */
            elems = n && elems > UINT64_MAX / n ? 0 : elems * n;
            dims++;
        }
    }
    if (c)
        dwarf_dealloc_die(c);
    if (dwh_udata(dw->dbg, t, DW_AT_byte_size, &size) < 0)
        size = elem_size && elems > UINT64_MAX / elem_size ? 0 : elem_size * elems;
    dwarf_dealloc_die(t);
    *count = elems;
    return size;
}

/* ------------------------------------------------------------ layouts */

/* The byte offset of a member: DW_AT_data_member_location as a constant or
 * a simple expression (DW_OP_plus_uconst / constu / litN), else
 * DW_AT_data_bit_offset; a union member has none and sits at 0. */
static uint64_t member_offset(struct dbg_dwarf *dw, Dwarf_Die m)
{
    uint64_t v;
    if (dwh_udata(dw->dbg, m, DW_AT_data_member_location, &v) == 0)
        return v;
    uint8_t expr[32];
    long len = dwh_expr(dw->dbg, m, DW_AT_data_member_location, expr, sizeof expr);
    if (len > 0) {
        size_t pos = 1;
        if ((expr[0] == DW_OP_plus_uconst || expr[0] == DW_OP_constu) &&
            dwh_uleb(expr, (size_t)len, &pos, &v) == 0)
            return v;
        if (expr[0] >= DW_OP_lit0 && expr[0] <= DW_OP_lit31)
            return expr[0] - DW_OP_lit0;
    }
    if (dwh_udata(dw->dbg, m, DW_AT_data_bit_offset, &v) == 0)
        return v / 8;
    return 0;
}

struct fields {
    struct dbg_field *v;
    size_t n, cap;
    struct owned_layout *owner;
};

static int push_field(struct fields *f, const struct dbg_field *x)
{
    if (f->n >= MAX_FIELDS)
        return 0; /* a hostile struct: the rest is dropped */
    if (f->n == f->cap) {
        size_t nc = f->cap ? f->cap * 2 : 16;
        void *p = realloc(f->v, nc * sizeof *f->v);
        if (!p)
            return -1;
        f->v = p;
        f->cap = nc;
    }
    f->v[f->n++] = *x;
    return 0;
}

static const char *own_name(struct owned_layout *o, const char *name)
{
    char *s = strdup(name);
    if (!s)
        return NULL;
    char **p = realloc(o->names, (o->nnames + 1) * sizeof *p);
    if (!p) {
        free(s);
        return NULL;
    }
    o->names = p;
    o->names[o->nnames++] = s;
    return s;
}

static const struct dbg_layout *build_layout(struct dbg_dwarf *dw, Dwarf_Off off, const char *name,
                                             int depth);

static int add_member(struct dbg_dwarf *dw, struct fields *f, Dwarf_Die m, int depth)
{
    const char *name = dwh_tag(dw->dbg, m) == DW_TAG_inheritance ? NULL : dwh_name(dw->dbg, m);
    struct dbg_field x = {.offset = member_offset(dw, m)};
    Dwarf_Off type = 0, st;
    if (dwh_ref(dw->dbg, m, DW_AT_type, &type) == 0) {
        x.size = type_size(dw, type, &x.count, 0);
        if (!x.count && (st = strip_type(dw, type))) {
            Dwarf_Die t = dwh_die_at(dw->dbg, st);
            int tag = t ? dwh_tag(dw->dbg, t) : -1;
            if (t)
                dwarf_dealloc_die(t);
            if (tag == DW_TAG_structure_type || tag == DW_TAG_union_type ||
                tag == DW_TAG_class_type)
                x.layout = build_layout(dw, st, NULL, depth + 1);
        }
    }
    if (!(x.name = own_name(f->owner, name ? name : "")))
        return -1;
    if (push_field(f, &x) < 0)
        return -1;
    if (name || !x.layout)
        return 0;
    /* An anonymous struct or union, or a base class: its members are
     * reachable by name from here. */
    for (size_t i = 0; i < x.layout->nfields; i++) {
        struct dbg_field y = x.layout->fields[i];
        if (!y.name[0])
            continue;
        y.offset += x.offset;
        if (push_field(f, &y) < 0)
            return -1;
    }
    return 0;
}

/* The layout of the struct/union DIE at off, built once per offset. */
static const struct dbg_layout *build_layout(struct dbg_dwarf *dw, Dwarf_Off off, const char *name,
                                             int depth)
{
    char key[32];
    snprintf(key, sizeof key, "@%" PRIx64, (uint64_t)off);
    uint64_t v;
    if (strmap_get(&dw->by_off, key, &v) == 0)
        return (const struct dbg_layout *)(uintptr_t)v; /* 0 while being built: a cycle */
    if (depth > MAX_DEPTH || strmap_set(&dw->by_off, key, 0) < 0)
        return NULL;
    Dwarf_Die die = dwh_die_at(dw->dbg, off);
    if (!die)
        return NULL;
    struct owned_layout *o = calloc(1, sizeof *o);
    if (!o) {
        dwarf_dealloc_die(die);
        return NULL;
    }
    o->next = dw->layouts;
    dw->layouts = o;
    const char *own = name ? name : dwh_name(dw->dbg, die);
    o->l.name = strdup(own ? own : "");
    dwh_udata(dw->dbg, die, DW_AT_byte_size, &o->l.size);

    struct fields f = {.owner = o};
    int n = 0, ok = o->l.name != NULL;
    Dwarf_Die c = dwh_first_child(dw->dbg, die);
    for (; ok && c && n++ < MAX_MEMBERS; c = dwh_next_sibling(dw->dbg, c)) {
        int tag = dwh_tag(dw->dbg, c);
        /* A C++ static member (DWARF 4 DW_TAG_member with DW_AT_declaration)
         * takes no room in the object; a base class is an anonymous member. */
        if (((tag == DW_TAG_member && !dwh_has(dw->dbg, c, DW_AT_declaration)) ||
             tag == DW_TAG_inheritance) &&
            add_member(dw, &f, c, depth) < 0)
            ok = 0;
    }
    if (c)
        dwarf_dealloc_die(c);
    dwarf_dealloc_die(die);
    o->l.fields = f.v;
    o->l.nfields = f.n;
    if (!ok)
        return NULL; /* freed with the rest of the module's layouts */
    strmap_set(&dw->by_off, key, (uint64_t)(uintptr_t)&o->l);
    return &o->l;
}

/* The struct/union a typedef name stands for: the offset of a complete definition, or 0. */
static Dwarf_Off typedef_target(struct dbg_dwarf *dw, Dwarf_Off tdoff)
{
    Dwarf_Off next;
    Dwarf_Die td = dwh_die_at(dw->dbg, tdoff);
    if (!td)
        return 0;
    int r = dwh_ref(dw->dbg, td, DW_AT_type, &next);
    dwarf_dealloc_die(td);
    Dwarf_Off st = r == 0 ? strip_type(dw, next) : 0;
    Dwarf_Die t = st ? dwh_die_at(dw->dbg, st) : NULL;
    if (!t)
        return 0;
    int tag = dwh_tag(dw->dbg, t);
    int decl = dwh_has(dw->dbg, t, DW_AT_declaration);
    const char *name = dwh_name(dw->dbg, t);
    uint64_t full = 0;
    if (decl && name && strmap_get(&dw->structs, name, &full) < 0)
        full = 0;
    dwarf_dealloc_die(t);
    if (tag != DW_TAG_structure_type && tag != DW_TAG_union_type && tag != DW_TAG_class_type)
        return 0;
    return decl ? (Dwarf_Off)full : st;
}

const struct dbg_layout *dbg_dwarf_struct(struct dbg_dwarf *dw, const char *name)
{
    uint64_t v;
    if (strmap_get(&dw->by_name, name, &v) == 0)
        return (const struct dbg_layout *)(uintptr_t)v;
    Dwarf_Off off = 0;
    if (strmap_get(&dw->structs, name, &v) == 0)
        off = (Dwarf_Off)v;
    else if (strmap_get(&dw->typedefs, name, &v) == 0)
        off = typedef_target(dw, (Dwarf_Off)v);
    const struct dbg_layout *l = off ? build_layout(dw, off, NULL, 0) : NULL;
    strmap_set(&dw->by_name, name, (uint64_t)(uintptr_t)l); /* a miss is remembered too */
    return l;
}

/* Decode a variable's DW_AT_location when it is one of the two simple
 * forms a global takes: DW_OP_addr/DW_OP_addrx (a static address), or a
 * constant followed by DW_OP_form_tls_address / DW_OP_GNU_push_tls_address
 * (an offset in the module's TLS block).  0, or -1 for anything else
 * (a register, a location list, an optimised-out variable). */
static int var_location(struct dbg_dwarf *dw, Dwarf_Die die, int *tls, uint64_t *value)
{
    uint8_t expr[32];
    long len = dwh_expr(dw->dbg, die, DW_AT_location, expr, sizeof expr);
    if (len < 2)
        return -1;
    size_t n = (size_t)len, pos = 1;
    uint64_t v = 0;
    switch (expr[0]) {
    case DW_OP_addr:
    case DW_OP_const8u:
        if (n < 9)
            return -1;
        memcpy(&v, expr + 1, 8); /* little-endian host and target (x86_64) */
        pos = 9;
        break;
    case DW_OP_const4u: {
        uint32_t v32;
        if (n < 5)
            return -1;
        memcpy(&v32, expr + 1, 4);
        v = v32;
        pos = 5;
        break;
    }
    case DW_OP_constu:
        if (dwh_uleb(expr, n, &pos, &v) < 0)
            return -1;
        break;
    case DW_OP_addrx: {
        uint64_t idx;
        Dwarf_Addr da;
        Dwarf_Error err = NULL;
        int r = dwh_uleb(expr, n, &pos, &idx) == 0 &&
                dwarf_debug_addr_index_to_addr(die, idx, &da, &err) == DW_DLV_OK;
        dwh_drop(dw->dbg, &err);
        if (!r)
            return -1;
        v = da;
        break;
    }
    default:
        return -1;
    }
    if (pos == n && (expr[0] == DW_OP_addr || expr[0] == DW_OP_addrx)) {
        *tls = 0;
    } else if (pos + 1 == n &&
               (expr[pos] == DW_OP_form_tls_address || expr[pos] == DW_OP_GNU_push_tls_address)) {
        *tls = 1;
    } else {
        return -1;
    }
    *value = v;
    return 0;
}

int dbg_dwarf_variable(struct dbg_dwarf *dw, const char *name, int *tls, uint64_t *value,
                       uint64_t *size)
{
    uint64_t v;
    if (strmap_get(&dw->vars, name, &v) < 0)
        return -1;
    Dwarf_Die die = dwh_die_at(dw->dbg, (Dwarf_Off)v);
    if (!die)
        return -1;
    int ok = var_location(dw, die, tls, value);
    if (ok == 0) {
        /* The type may sit on the declaration rather than the definition. */
        Dwarf_Off type, spec;
        uint64_t count;
        *size = 0;
        if (dwh_ref(dw->dbg, die, DW_AT_type, &type) == 0)
            *size = type_size(dw, type, &count, 0);
        else if (dwh_ref(dw->dbg, die, DW_AT_specification, &spec) == 0) {
            Dwarf_Die decl = dwh_die_at(dw->dbg, spec);
            if (decl && dwh_ref(dw->dbg, decl, DW_AT_type, &type) == 0)
                *size = type_size(dw, type, &count, 0);
            if (decl)
                dwarf_dealloc_die(decl);
        }
    }
    dwarf_dealloc_die(die);
    return ok;
}

int dbg_dwarf_constant(struct dbg_dwarf *dw, const char *name, int64_t *value)
{
    uint64_t v;
    if (strmap_get(&dw->consts, name, &v) < 0)
        return -1;
    *value = (int64_t)v;
    return 0;
}
