/*
 * infer.c — which heap object holds which type (see types.h): the typing
 * phase of the indexer.
 *
 * Evidence, strongest first (enum ty_source):
 *   vtable      the object's first word points into a `_ZTV<class>` symbol
 *               (a C++ object with virtual functions: the vptr is at offset
 *               0 and points 16 bytes into its class's primary vtable, past
 *               offset-to-top and the typeinfo pointer).  The class is the
 *               dynamic one, whatever pointer the object was reached by, and
 *               needs no DWARF: a class DWARF does not describe gets a type
 *               row of its own, size 0, flagged as known from its vtable.
 *   dwarf-root  a typed global or static variable holds a T * (at any depth
 *               of its struct/array layout) pointing exactly at the object.
 *   dwarf-local a typed local variable or parameter of a stack frame
 *               (unwound through the CFI, located by DWARF: see unwind.c
 *               and dwtypes.c) holds such a pointer; as strong as
 *               dwarf-root.
 *   dwarf-field a typed object holds such a pointer.
 *   dynamic     an interface value (a TYF_DYNAMIC struct, at any depth of a
 *               typed variable or object) points at the object, and its
 *               type word names the type (dynamic.c); the strongest source.
 * A claim is accepted only if the type fits (ty_count_for: the pointee fits
 * the usable size; a struct is one T unless the block holds more than
 * its allocator's type_slack bytes beyond it, then an array of usable/S), and only at the
 * object's start: interior pointers, void *, unions and function pointers
 * claim nothing.  Accepted claims propagate from the object in turn
 * (a sweep in address order plus a stack for what lies behind it, to a
 * fixpoint; see ty_infer).
 *
 * Bytes: an object typed as bytes (ty_holds_bytes: char [n], uint8_t [n],
 * char [n][m]) for which no claim of any other type was made, accepted or
 * not, is marked in obj_bytes, and the reference scan leaves it unread
 * (docs/analyses.md, "Bytes are not pointers").
 *
 * Conflicts: when a second, different type is claimed for a typed object,
 * the stronger source wins; between equal sources the larger type (by
 * size) wins, and the first claim wins a tie.  Every object that received
 * two different claims counts once in `conflicts`.  Since a change needs a
 * strictly stronger claim, every object changes type a bounded number of
 * times and the worklist ends.  What an overridden type had already
 * propagated is kept (it was claimed by a typed pointer all the same).
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "model/objects.h"
#include "model/roots.h"
#include "base/u64map.h"
#include "types/types.h"

#define MAX_ROOT_SCAN (1u << 20) /* bytes of one variable looked at for heap pointers */

static const char *const source_names[] = {NULL,          "dwarf-field", "dwarf-root",   "vtable",
                                           "dwarf-local", "dynamic",     "malloc-header"};

const char *ty_source_name(unsigned src)
{
    return src < sizeof source_names / sizeof source_names[0] ? source_names[src] : NULL;
}

/* A local variable is as good evidence as a global: both are declared
 * pointers the compiler placed, read where DWARF says they live. */
unsigned ty_source_rank(unsigned src)
{
    static const unsigned rank[] = {0, 1, 2, 3, 2, 5, 4};
    return src < sizeof rank / sizeof rank[0] ? rank[src] : 0;
}

struct vtab {
    uint64_t lo, hi;   /* the vtable symbol's extent */
    const struct dbg_symbol *sym;
    uint32_t type;     /* its class, found on first use (0: not yet) */
    int failed;        /* its name does not demangle */
};

struct infer {
    struct tytab *t;
    const struct hs_snapshot *s;
    const struct objtab *o;
    struct ty_result *r;
    uint8_t *queued, *conflicted; /* bitsets over objects */
    uint8_t *notbytes;            /* ... claimed for a type that does not hold only bytes */
    uint32_t *stack;
    size_t nstack, capstack;
    int64_t pos;                  /* the sweep's position (see process_all) */
    struct u64map *dyncache;       /* type word -> type (ty_dynamic_type) */
    int oom;
};

static int bit(const uint8_t *b, size_t i)
{
    return b[i >> 3] >> (i & 7) & 1;
}

static void setbit(uint8_t *b, size_t i)
{
    b[i >> 3] |= (uint8_t)(1u << (i & 7));
}

/* Object i must be (re)read with its type: ahead of the sweep, it is
 * marked and the sweep will come to it; behind, it goes on the stack. */
static void enqueue(struct infer *in, size_t i)
{
    if (bit(in->queued, i))
        return;
    if ((int64_t)i > in->pos) {
        setbit(in->queued, i);
        return;
    }
    if (in->nstack == in->capstack) {
        size_t nc = in->capstack ? in->capstack * 2 : 4096;
        uint32_t *p = realloc(in->stack, nc * sizeof *p);
        if (!p) {
            in->oom = 1;
            return;
        }
        in->stack = p;
        in->capstack = nc;
    }
    setbit(in->queued, i);
    in->stack[in->nstack++] = (uint32_t)i;
}

static uint64_t rsize(const struct tytab *t, uint32_t type)
{
    uint32_t r = ty_resolve(t, type);
    return r ? t->v[r].size : 0;
}

/* Is base a (direct or indirect) base class of cls?  Then a base-class
 * pointer to a derived object is no conflict. */
static int base_of(const struct tytab *t, uint32_t base, uint32_t cls, int depth, unsigned *budget)
{
    cls = ty_resolve(t, cls);
    if (!cls || depth > TY_MAX_DEPTH || !*budget)
        return 0;
    --*budget; /* a hostile lattice of base classes must not explode */
    const struct ty *y = &t->v[cls];
    if (y->kind != TY_STRUCT && y->kind != TY_CLASS)
        return 0;
    for (uint32_t i = 0; i < y->n; i++) {
        const struct ty_field *f = &t->f[y->first + i];
        if (!(f->flags & TYFF_BASE))
            continue;
        if (ty_resolve(t, f->type) == base || base_of(t, base, f->type, depth + 1, budget))
            return 1;
    }
    return 0;
}

static int is_base_of(const struct tytab *t, uint32_t base, uint32_t cls)
{
    unsigned budget = 4096;
    return base_of(t, base, cls, 0, &budget);
}

/* Claim object i for type (by src); see the rules above. */
static void claim(struct infer *in, int64_t i, uint32_t type, unsigned src)
{
    if (i < 0 || !type || in->r->obj_type[i] == type)
        return; /* the same type again: it fitted, and notbytes was set, when first taken */
    const struct obj *ob = &in->o->v[i];
    if (ob->state != OBJ_USED)
        return;
    if (src != TS_VTABLE && !ty_count_for(in->t, type, ob->size, heap_where_type_slack(ob->where)))
        return;
    /* one claim that fits, of a type that may hold pointers, won or lost,
     * and the object is scanned whatever it is finally typed */
    if (!bit(in->notbytes, (size_t)i) && !ty_holds_bytes(in->t, type))
        setbit(in->notbytes, (size_t)i);
    uint32_t cur = in->r->obj_type[i];
    if (cur) {
        if (is_base_of(in->t, ty_resolve(in->t, type), cur))
            return; /* a Base * to a Derived: agreement, not conflict */
        if (!bit(in->conflicted, (size_t)i)) {
            setbit(in->conflicted, (size_t)i);
            in->r->conflicts++;
        }
        unsigned cs = ty_source_rank(in->r->obj_src[i]), ns = ty_source_rank(src);
        if (ns < cs || (ns == cs && rsize(in->t, type) <= rsize(in->t, cur)))
            return;
    }
    in->r->obj_type[i] = type;
    in->r->obj_src[i] = (uint8_t)src;
    /* (re)read the object with its new layout; if it is still waiting, it
     * will be read with the new type when its turn comes */
    enqueue(in, (size_t)i);
}

/* The data word at off of [addr...) points at object i: its type is what
 * the type word just before it names. */
static void dynamic_claim(struct infer *in, uint64_t addr, const uint8_t *base, uint64_t off, int64_t i)
{
    uint64_t tw;
    if (off < 8)
        return;
    if (base)
        memcpy(&tw, base + off - 8, 8);
    else if (hs_read_u64(in->s, addr + off - 8, &tw))
        return;
    if (!in->dyncache && !(in->dyncache = u64map_new())) {
        in->oom = 1;
        return;
    }
    claim(in, i, ty_dynamic_type(in->t, in->dyncache, tw), TS_DYNAMIC);
}

/* Claims from the typed pointers of `count` T laid out from addr. */
static void from_memory(struct infer *in, uint64_t addr, uint64_t avail, uint32_t type,
                        uint64_t count, unsigned src)
{
    size_t n;
    const struct ty_slot *sl = ty_slots(in->t, type, &n);
    uint64_t S = rsize(in->t, type);
    if (!n || !S)
        return;
    if (avail < 8)
        return;
    const uint8_t *base = hs_ptr(in->s, addr, avail);
    const struct objtab *o = in->o;
    uint32_t r = ty_resolve(in->t, type);
    int gomap = r && (in->t->v[r].flags & TYF_GOMAP) && base;
    /* at most a few reads per word of the block, whatever the DWARF says */
    uint64_t budget = avail / 2 + 64;
    for (uint64_t k = 0; k < count && budget; k++) {
        uint64_t dir_off = UINT64_MAX;
        uint32_t dir_type = 0;
        if (gomap && k * S < avail &&
            ty_gomap_dir(in->t, r, base + k * S, avail - k * S, &dir_off, &dir_type)) {
            uint64_t w;
            memcpy(&w, base + k * S + dir_off, 8);
            int64_t i = w - o->lo < o->hi - o->lo ? objtab_find(o, w) : -1;
            if (i >= 0 && o->v[i].addr == w)
                claim(in, i, dir_type, src);
        }
        for (size_t j = 0; j < n && budget; j++, budget--) {
            uint64_t off = k * S + sl[j].offset, w;
            if (sl[j].offset >= S || off > avail - 8 || sl[j].offset == dir_off)
                continue;
            if (base)
                memcpy(&w, base + off, 8);
            else if (hs_read_u64(in->s, addr + off, &w))
                continue;
            if (w - o->lo >= o->hi - o->lo)
                continue;
            int64_t i = objtab_find(o, w);
            if (i < 0 || o->v[i].addr != w)
                continue;
            if (sl[j].pointee == TY_DYNAMIC_SLOT)
                dynamic_claim(in, addr, base, off, i);
            else
                claim(in, i, sl[j].pointee, src);
        }
    }
}

/*
 * The sweep's prefetch.  An object's pointers send objtab_find to random
 * places of the object table, and at ten million objects every lookup is a
 * cache miss or two: most of the time of typing.  Touching those places a
 * few objects ahead of the sweep lets the memory system fetch them in
 * parallel.  Stage 1, far ahead, fetches the lookup buckets of the first
 * words of every used object, typed or not: an object is often typed only
 * just before the sweep reaches it (by its predecessor in a list linked
 * forwards), too late for its slots to be known that far ahead.  Stage 2,
 * nearer, fetches the object entries and type slots that the buckets of a
 * queued object's typed pointers name.  A hint only: nothing is decided.
 * On bench/index's 10 M objects, typing took 4.9-5.2 s with stage 1 for
 * typed objects only (16 and 8 ahead), 2.8-3.2 s so.
 */
#define PREFETCH_FAR   24
#define PREFETCH_NEAR  6
#define PREFETCH_WORDS 4 /* stage 1: words looked at per object */

static void prefetch(struct infer *in, size_t i, int stage)
{
    const struct objtab *o = in->o;
    if (i >= o->n)
        return;
    const struct obj *ob = &o->v[i];
    size_t n = 0;
    const struct ty_slot *sl = NULL;
    if (stage == 2 && bit(in->queued, i))
        sl = ty_slots(in->t, in->r->obj_type[i], &n);
    else if (stage == 1 && ob->state == OBJ_USED)
        n = ob->size / 8 < PREFETCH_WORDS ? ob->size / 8 : PREFETCH_WORDS;
    const uint8_t *base = n ? hs_ptr(in->s, ob->addr, ob->size) : NULL;
    if (!base)
        return;
    for (size_t j = 0; j < n && j < 8; j++) {
        uint64_t w, off = sl ? sl[j].offset : 8 * j;
        const uint32_t *bk;
        if (off > ob->size || ob->size - off < 8)
            continue;
        memcpy(&w, base + off, 8);
        if (w - o->lo >= o->hi - o->lo || !objtab_bucket_of(o, w, &bk))
            continue;
        if (stage == 1) {
            __builtin_prefetch(bk);
        } else if (*bk < o->n) {
            __builtin_prefetch(&o->v[*bk]);
            __builtin_prefetch(&in->r->obj_type[*bk]);
        }
    }
}

static int vt_cmp(const void *a, const void *b)
{
    const struct vtab *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The class a vtable symbol names: DWARF's if any, else a row of its own. */
static uint32_t vtable_class(struct tytab *t, const char *cls, int module)
{
    uint32_t id = ty_by_name(t, cls);
    if (id)
        return id;
    uint64_t h = ty_hash(ty_hash(TY_HASH0, "V", 1), cls, strlen(cls));
    struct ty y = {.kind = TY_CLASS, .flags = TYF_VTABLE | TYF_CPLUS, .module = module};
    int isnew;
    id = ty_add(t, h, &y, &isnew);
    if (id && isnew)
        t->v[id].name = ty_intern(t, cls);
    return id;
}

/* Every object whose first word is a vptr gets its dynamic class. */
static int vtables(struct infer *in, struct dbg *d)
{
    size_t nsym;
    const struct dbg_symbol *sym = d ? dbg_symbols(d, &nsym) : NULL;
    struct vtab *vt = NULL;
    size_t nvt = 0, cap = 0;
    for (size_t i = 0; sym && i < nsym; i++) {
        if (sym[i].size < 24 || strncmp(sym[i].name, "_ZTV", 4))
            continue;
        if (nvt == cap) {
            cap = cap ? cap * 2 : 64;
            struct vtab *p = realloc(vt, cap * sizeof *p);
            if (!p) {
                free(vt);
                return -1;
            }
            vt = p;
        }
        /* named (and given a types row) only when an object uses it */
        vt[nvt++] = (struct vtab){sym[i].addr, sym[i].addr + sym[i].size, &sym[i], 0, 0};
    }
    if (!nvt)
        return 0;
    qsort(vt, nvt, sizeof *vt, vt_cmp);
    uint64_t lo = vt[0].lo, hi = vt[nvt - 1].hi;
    for (size_t i = 0; i < nvt; i++)
        if (vt[i].hi > hi)
            hi = vt[i].hi;
    const struct objtab *o = in->o;
    for (size_t i = 0; i < o->n; i++) {
        const struct obj *ob = &o->v[i];
        uint64_t w, top;
        if (ob->state != OBJ_USED || ob->size < 8 || hs_read_u64(in->s, ob->addr, &w) ||
            w < lo || w >= hi || (w & 7))
            continue;
        size_t a = 0, b = nvt;
        while (b - a > 1) {
            size_t m = (a + b) / 2;
            if (vt[m].lo <= w)
                a = m;
            else
                b = m;
        }
        if (w < vt[a].lo + 16 || w >= vt[a].hi)
            continue;
        /* the primary vtable's offset-to-top is 0; check it when captured */
        if (hs_read_u64(in->s, w - 16, &top) == 0 && top != 0)
            continue;
        if (!vt[a].type && !vt[a].failed) {
            char cls[1024];
            if (ty_demangle_class(vt[a].sym->name, NULL, cls, sizeof cls))
                vt[a].failed = 1;
            else if (!(vt[a].type = vtable_class(in->t, cls, vt[a].sym->module))) {
                free(vt);
                return -1;
            }
        }
        if (!vt[a].type)
            continue;
        claim(in, (int64_t)i, vt[a].type, TS_VTABLE);
        in->r->vtable_objects++;
    }
    free(vt);
    return 0;
}

/* Every object whose allocator recorded its type (types/types.h TS_HEADER). */
static int headers(struct infer *in)
{
    const struct ty_dynamic *dy = &in->t->dyn;
    if (!dy->object_word || !dy->name)
        return 0;
    struct u64map *cache = u64map_new();
    if (!cache)
        return -1;
    for (size_t i = 0; i < in->o->n && !in->t->oom; i++) {
        const struct obj *ob = &in->o->v[i];
        uint64_t w, base = 0;
        if (ob->state == OBJ_USED && dy->object_word(dy->u, ob->addr, &w, &base) == 1)
            claim(in, (int64_t)i, ty_header_type(in->t, cache, w, base), TS_HEADER);
    }
    u64map_destroy(cache);
    return 0;
}

/* Claims from the typed pointers of typed object i. */
static void read_object(struct infer *in, size_t i)
{
    const struct obj *ob = &in->o->v[i];
    uint32_t type = in->r->obj_type[i];
    uint64_t count = ty_count_for(in->t, type, ob->size, heap_where_type_slack(ob->where));
    if (!count && in->r->obj_src[i] == TS_VTABLE)
        count = rsize(in->t, type) ? 1 : 0; /* a derived object bigger than the block? trust the vptr */
    from_memory(in, ob->addr, ob->size, type, count, TS_FIELD);
}

void ty_result_free(struct ty_result *r)
{
    free(r->obj_type);
    free(r->obj_src);
    free(r->root_type);
    free(r->obj_bytes);
    memset(r, 0, sizeof *r);
}

/*
 * The bytes of a char-typed object, checked before the type is believed: a
 * char * proves little (it may view any memory, and a stale one in a
 * global outlives the block it pointed to: in redis, one typed a live
 * dictEntry char [32], and its key and value were called leaked).  Text
 * and binary payloads do not begin with an address, while a struct mostly
 * begins with a pointer: an object whose first word points into a used
 * object is read, whatever char type was claimed for it.
 */
static int begins_with_pointer(const struct hs_snapshot *s, const struct objtab *objs, const struct obj *ob)
{
    uint64_t w;
    const uint8_t *b = ob->size >= 8 ? hs_ptr(s, ob->addr, 8) : NULL;
    if (!b)
        return 0;
    memcpy(&w, b, 8);
    int64_t j = objtab_find(objs, w);
    return j >= 0 && objs->v[j].state == OBJ_USED;
}

int ty_infer(struct tytab *t, const struct hs_snapshot *s, struct dbg *d, const struct objtab *objs,
             const struct rootset *rs, struct ty_result *r)
{
    memset(r, 0, sizeof *r);
    size_t n = objs->n;
    struct infer in = {.t = t, .s = s, .o = objs, .r = r, .pos = -1};
    r->obj_type = calloc(n ? n : 1, sizeof *r->obj_type);
    r->obj_src = calloc(n ? n : 1, 1);
    r->root_type = calloc(rs->n ? rs->n : 1, sizeof *r->root_type);
    in.queued = calloc(n / 8 + 1, 1);
    in.conflicted = calloc(n / 8 + 1, 1);
    in.notbytes = calloc(n / 8 + 1, 1);
    r->obj_bytes = calloc(n / 8 + 1, 1);
    if (!r->obj_type || !r->obj_src || !r->root_type || !in.queued || !in.conflicted || !in.notbytes ||
        !r->obj_bytes)
        goto oom;
    if (vtables(&in, d) || headers(&in))
        goto oom;
    /* typed roots: a variable starting where a data root starts */
    for (size_t i = 0; i < rs->n; i++) {
        const struct root *ro = &rs->v[i];
        const struct ty_var *v;
        if (ro->kind == ROOT_DATA && (v = ty_var_at(t, ro->addr)) && v->size <= ro->size)
            r->root_type[i] = v->type;
    }
    /* every typed variable's pointers, whether or not a root starts there */
    for (size_t i = 0; i < t->nvars && !in.oom; i++) {
        const struct ty_var *v = &t->vars[i];
        uint64_t size = v->size < MAX_ROOT_SCAN ? v->size : MAX_ROOT_SCAN;
        from_memory(&in, v->addr, size, v->type, 1, TS_ROOT);
    }
    /* and every typed local of every unwound frame */
    for (size_t i = 0; i < t->nlocals && !in.oom; i++) {
        const struct ty_local *v = &t->locals[i];
        uint64_t size = v->size < MAX_ROOT_SCAN ? v->size : MAX_ROOT_SCAN;
        from_memory(&in, v->addr, size, v->type, 1, TS_LOCAL);
    }
    /* One sweep in address order reads the typed objects ahead of it (the
     * memory is read in order, and a list linked forwards is typed in one
     * go); what a read claims behind the sweep is read at once from the
     * stack (a list linked backwards).  Every claim is thus read once the
     * sweep ends. */
    for (in.pos = 0; (size_t)in.pos < n && !in.oom && !t->oom; in.pos++) {
        size_t i = (size_t)in.pos;
        prefetch(&in, i + PREFETCH_FAR, 1);
        prefetch(&in, i + PREFETCH_NEAR, 2);
        if (!bit(in.queued, i))
            continue;
        in.queued[i >> 3] &= (uint8_t)~(1u << (i & 7));
        read_object(&in, i);
        while (in.nstack && !in.oom && !t->oom) {
            size_t j = in.stack[--in.nstack];
            in.queued[j >> 3] &= (uint8_t)~(1u << (j & 7));
            read_object(&in, j);
        }
    }
    if (in.oom || t->oom)
        goto oom;
    for (size_t i = 0; i < n; i++)
        if (r->obj_type[i]) {
            r->typed_objects++;
            r->typed_bytes += objs->v[i].size;
            if (!bit(in.notbytes, i) && ty_holds_bytes(t, r->obj_type[i]) &&
                !begins_with_pointer(s, objs, &objs->v[i])) {
                setbit(r->obj_bytes, i);
                r->byte_objects++;
                r->byte_bytes += objs->v[i].size;
            }
        }
    free(in.queued);
    free(in.conflicted);
    free(in.notbytes);
    free(in.stack);
    u64map_destroy(in.dyncache);
    return 0;
oom:
    free(in.queued);
    free(in.conflicted);
    free(in.notbytes);
    free(in.stack);
    u64map_destroy(in.dyncache);
    ty_result_free(r);
    return -1;
}

/* ------------------------------------------------------------ the indexer's typing phase */

struct want_ctx {
    const struct hs_snapshot *s;
    const struct objtab *o;
};

/* Does [addr, addr+size) hold a pointer to the start of a live object? */
static int holds_heap_pointer(void *u, uint64_t addr, uint64_t size)
{
    const struct want_ctx *c = u;
    if (size > MAX_ROOT_SCAN)
        size = MAX_ROOT_SCAN;
    const struct objtab *o = c->o;
    for (uint64_t a = (addr + 7) & ~7ull; a + 8 <= addr + size; a += 8) {
        uint64_t w;
        if (hs_read_u64(c->s, a, &w) || w - o->lo >= o->hi - o->lo)
            continue;
        int64_t i = objtab_find(o, w);
        if (i >= 0 && o->v[i].addr == w && o->v[i].state == OBJ_USED)
            return 1;
    }
    return 0;
}

/* A system library's DWARF (libc6-dbg and the like) is big and mostly about
 * the library's internals: only the variables that hold heap pointers are
 * typed from it.  The program's own modules are loaded in full. */
static int is_system(const struct dbg_module_info *mi)
{
    const char *dp = mi->debug_path, *ep = mi->elf_path ? mi->elf_path : mi->module->path;
    if (dp && !strncmp(dp, "/usr/lib/debug/", 15))
        return 1;
    return ep && (!strncmp(ep, "/lib/", 5) || !strncmp(ep, "/lib64/", 7) || !strncmp(ep, "/usr/lib/", 9) ||
                  !strncmp(ep, "/usr/lib64/", 11));
}

/* Does any data symbol of module m hold a heap pointer?  If not, a system
 * library's DWARF has nothing to type and is not read at all. */
static int module_holds_heap_pointer(struct dbg *d, size_t m, struct want_ctx *wc)
{
    size_t n;
    const struct dbg_symbol *sym = dbg_symbols(d, &n);
    for (size_t i = 0; i < n; i++)
        if (sym[i].module == m && sym[i].type == STT_OBJECT && sym[i].size &&
            holds_heap_pointer(wc, sym[i].addr, sym[i].size))
            return 1;
    return 0;
}

int ty_index(struct tytab *t, const struct hs_snapshot *s, struct dbg *d, const struct objtab *objs,
             const struct rootset *rs, struct ty_result *r, void (*warn)(void *u, const char *msg),
             void *u)
{
    struct want_ctx wc = {s, objs};
    size_t nm = d ? dbg_nmodules(d) : 0;
    if (ty_unwind(t, s, d) || ty_root_frames(t, d, rs))
        return -1;
    for (size_t m = 0; m < nm; m++) {
        const struct dbg_module_info *mi = dbg_module(d, m);
        int system = is_system(mi);
        if (!mi->has_dwarf || (system && !module_holds_heap_pointer(d, m, &wc)))
            continue;
        char err[512];
        if (ty_load_dwarf(t, d, (int)m, !system, holds_heap_pointer, &wc, err, sizeof err)) {
            if (t->oom)
                return -1;
            warn(u, err);
        }
    }
    ty_finish_vars(t);
    if (ty_index_names(t))
        return -1;
    ty_mark_dynamic(t);
    ty_mark_gomaps(t);
    return ty_infer(t, s, d, objs, rs, r);
}
