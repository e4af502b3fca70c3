/*
 * cmd_show.c — `heapsnap show FILE ADDR|ID`: one heap object, read through
 * its type: where it is, its size and state, its type and how that was
 * inferred, each field's value as gdb's print would show it (pointers
 * annotated with the object or symbol they point at) — or for a Go type as
 * Go's %#v does (types/gofmt.c), with a map group's entries — a hex dump of
 * what the type does not cover, and every reference into the object with
 * the field that holds it.
 *
 * Everything comes from the database (types, fields, objects, refs,
 * symbols) and the captured bytes through the SQL function mem(), so it
 * works wherever the database and its snapshot are.
 */
#include <elf.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "db/db.h"
#include "open.h"
#include "session.h"
#include "base/json.h"
#include "types/decode.h"
#include "types/store.h"

#define SHOW_MAX_BYTES (1u << 20)  /* mem()'s limit: larger objects are shown in part */
#define SHOW_HEX       512         /* bytes of hex dump for untyped parts */
#define SHOW_ELEMS     64          /* array elements listed one per line */
#define SHOW_REFS      100
#define SHOW_FILES     16          /* module files read for read-only data */
#define SHOW_PHDRS     64

static const char help[] =
    "usage: heapsnap show [options] FILE.hsnap|FILE.db ADDR|ID\n"
    "\n"
    "Show one heap object: its address, size and state, its type and how it\n"
    "was inferred (vtable, dwarf-root, dwarf-field), its fields decoded as\n"
    "gdb's print shows them (pointers annotated <obj N: TYPE> or <symbol>),\n"
    "a hex dump of the bytes no type covers, and the references into it.\n"
    "A Go value prints as Go's %#v does (a value: line, then its fields), and a\n"
    "Go map's group or bucket lists its entries as key -> value.\n"
    "ADDR is hex (0x..., the start or any address inside the object); a\n"
    "decimal number is an object id.\n"
    "\n"
    "options:\n"
    "  --json             one JSON document\n"
    "  --gdb              print only the value, on one line, as gdb's\n"
    "                     'print *(TYPE *)ADDR' does (plus <obj ...> notes)\n"
    "  --debug-dir DIR    where to look for debug files when indexing a snapshot\n"
    "  --db DB            keep the snapshot's index in DB (default: FILE.db beside it)\n"
    "  -h, --help         this help\n"
    "\n"
    "exit status: 0 shown, 1 no such object or the file could not be read, 2 usage\n";

struct show {
    sqlite3 *db;
    struct tytab t;
    sqlite3_stmt *mem, *sym, *obj;
    sqlite3_stmt *rtype, *tyname; /* Go: a type by its descriptor, by its name */
    uint64_t types_base;          /* Go: moduledata.types (the symbol runtime.types), 0 if unknown */
    /* The modules' files, for the read-only data a default capture leaves
     * out (string constants, Go's type descriptors and static itabs): the
     * indexer named a file only when its build-id matched the snapshot's */
    struct rofile {
        int fd;
        uint64_t base;
        Elf64_Phdr ph[SHOW_PHDRS];
        size_t nph;
    } files[SHOW_FILES];
    size_t nfiles;
};

/* Open the modules' files and keep their read-only PT_LOAD segments. */
static void open_files(struct show *s)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT elf_path, base FROM modules WHERE elf_path IS NOT NULL ORDER BY id", -1,
                           &q, NULL) != SQLITE_OK)
        return;
    while (s->nfiles < SHOW_FILES && sqlite3_step(q) == SQLITE_ROW) {
        struct rofile *f = &s->files[s->nfiles];
        const char *path = (const char *)sqlite3_column_text(q, 0);
        Elf64_Ehdr eh;
        f->nph = 0;
        f->base = (uint64_t)sqlite3_column_int64(q, 1);
        f->fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
        if (f->fd < 0)
            continue;
        if (pread(f->fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
            eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr)) {
            close(f->fd);
            continue;
        }
        for (unsigned k = 0; k < eh.e_phnum && f->nph < SHOW_PHDRS; k++) {
            Elf64_Phdr ph;
            if (pread(f->fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)k * sizeof ph)) != (ssize_t)sizeof ph)
                break;
            /* what no process writes: the same bytes in every process of the binary */
            if (ph.p_type == PT_LOAD && !(ph.p_flags & PF_W))
                f->ph[f->nph++] = ph;
        }
        s->nfiles++;
    }
    sqlite3_finalize(q);
}

static int file_rd(struct show *s, uint64_t addr, void *buf, size_t len)
{
    for (size_t i = 0; i < s->nfiles; i++) {
        const struct rofile *f = &s->files[i];
        if (addr < f->base || addr + len < addr)
            continue;
        uint64_t v = addr - f->base;
        for (size_t k = 0; k < f->nph; k++) {
            const Elf64_Phdr *ph = &f->ph[k];
            if (v < ph->p_vaddr || v - ph->p_vaddr >= ph->p_filesz || len > ph->p_filesz - (v - ph->p_vaddr))
                continue;
            return pread(f->fd, buf, len, (off_t)(ph->p_offset + (v - ph->p_vaddr))) == (ssize_t)len ? 0 : -1;
        }
    }
    return -1;
}

static int rd(void *u, uint64_t addr, void *buf, size_t len)
{
    struct show *s = u;
    sqlite3_stmt *q = s->mem;
    sqlite3_bind_int64(q, 1, (int64_t)addr);
    sqlite3_bind_int64(q, 2, (int64_t)len);
    int ok = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) == SQLITE_BLOB &&
             (size_t)sqlite3_column_bytes(q, 0) == len;
    if (ok)
        memcpy(buf, sqlite3_column_blob(q, 0), len);
    sqlite3_reset(q);
    return ok ? 0 : file_rd(s, addr, buf, len);
}

/* "obj 12: struct session", "obj 12+16: struct item [6]", "obj 9: [48 bytes]" */
static void obj_name(struct show *s, uint64_t p, char *buf, size_t len)
{
    sqlite3_stmt *q = s->obj;
    buf[0] = 0;
    sqlite3_bind_int64(q, 1, (int64_t)p);
    if (sqlite3_step(q) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(q, 0), a = sqlite3_column_int64(q, 1);
        const unsigned char *tn = sqlite3_column_text(q, 2);
        char off[32] = "";
        if ((uint64_t)a != p)
            snprintf(off, sizeof off, "+%" PRIu64, p - (uint64_t)a);
        snprintf(buf, len, "obj %" PRId64 "%s: %s", id, off, tn ? (const char *)tn : "?");
    }
    sqlite3_reset(q);
}

/* gdb's <symbol+offset>: the symbol whose extent holds p (decimal offset). */
static void sym_name(struct show *s, uint64_t p, char *buf, size_t len)
{
    sqlite3_stmt *q = s->sym;
    buf[0] = 0;
    sqlite3_bind_int64(q, 1, (int64_t)p);
    if (sqlite3_step(q) == SQLITE_ROW) {
        uint64_t a = (uint64_t)sqlite3_column_int64(q, 0), n = (uint64_t)sqlite3_column_int64(q, 1);
        const unsigned char *nm = sqlite3_column_text(q, 2);
        if (nm && (p == a || p - a < n)) {
            /* gdb demangles: <vtable for Square+16> */
            char cls[512], dm[600];
            const char *kind, *show = (const char *)nm;
            if (ty_demangle_class(show, &kind, cls, sizeof cls) == 0) {
                snprintf(dm, sizeof dm, "%s for %s", !strcmp(kind, "vtable") ? "vtable" : "typeinfo", cls);
                show = dm;
            }
            if (p == a)
                snprintf(buf, len, "%s", show);
            else
                snprintf(buf, len, "%s+%" PRIu64, show, p - a);
        }
    }
    sqlite3_reset(q);
}

static void names(void *u, uint64_t p, char *sym, size_t symlen, char *obj, size_t objlen)
{
    struct show *s = u;
    sym_name(s, p, sym, symlen);
    if (!sym[0])
        obj_name(s, p, obj, objlen);
    else
        obj[0] = 0;
}

/* The type id of the Go type named exactly name (a pointer *T, a named
 * type's typedef), 0 if none. */
static uint32_t type_named(struct show *s, const char *name, size_t n)
{
    sqlite3_stmt *q = s->tyname;
    uint32_t id = 0;
    if (!q || n > INT32_MAX)
        return 0;
    sqlite3_bind_text(q, 1, name, (int)n, SQLITE_TRANSIENT);
    if (sqlite3_step(q) == SQLITE_ROW)
        id = (uint32_t)sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return id < s->t.n ? id : 0;
}

/* The offset of field fname of the struct named one of tnames (Go's
 * runtime._type before 1.21, internal/abi.Type since), from the DWARF; -1. */
static int64_t rt_field(struct show *s, const char *tnames, const char *fnames)
{
    sqlite3_stmt *q;
    int64_t off = -1;
    char *sql = sqlite3_mprintf("SELECT f.offset FROM fields f JOIN types t ON t.id = f.type_id WHERE t.kind = 'struct'"
                                " AND t.name IN (%s) AND f.name IN (%s) LIMIT 1", tnames, fnames);
    if (sql && sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) == SQLITE_OK) {
        if (sqlite3_step(q) == SQLITE_ROW)
            off = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
    }
    sqlite3_free(sql);
    return off;
}

/* A type descriptor's name as the runtime spells it ("*main.Sink"), read
 * as reflect reads it: Str, a nameOff from moduledata.types, to a flags
 * byte, a varint length and the bytes; with tflagExtraStar (1 << 1 in
 * every Go from 1.9 on) the stored name has one '*' too many.  0 or -1. */
static int desc_name(struct show *s, uint64_t w, char *buf, size_t len)
{
    static const char *const T = "'internal/abi.Type', 'runtime._type'";
    int64_t tf = rt_field(s, T, "'TFlag', 'tflag'"), so = rt_field(s, T, "'Str', 'str'");
    uint8_t flag;
    int32_t off;
    uint8_t hdr[12];
    if (tf < 0 || so < 0 || !s->types_base || len < 2 || rd(s, w + (uint64_t)tf, &flag, 1) ||
        rd(s, w + (uint64_t)so, &off, 4) || off <= 0 || rd(s, s->types_base + (uint64_t)off, hdr, sizeof hdr))
        return -1;
    uint64_t n = 0;
    size_t i = 1;
    for (unsigned shift = 0; i < sizeof hdr && shift < 35; shift += 7) {
        n |= (uint64_t)(hdr[i] & 0x7f) << shift;
        if (!(hdr[i++] & 0x80))
            break;
    }
    size_t skip = (flag & 2) ? 1 : 0;
    if (n <= skip || n - skip >= len ||
        rd(s, s->types_base + (uint64_t)off + i + skip, buf, (size_t)(n - skip)))
        return -1;
    buf[n - skip] = 0;
    return memchr(buf, 0, (size_t)(n - skip)) ? -1 : 0;
}

/* ty_env.go_type: a static itab by its symbol (go:itab.T,I names T), a
 * runtime type descriptor by the DW_AT_go_runtime_type DWARF gave its type
 * (an offset from moduledata.types, or an address), an itab made at run
 * time by the descriptor in its second word (Inter, Type). */
static uint32_t go_type(void *u, uint64_t w, int *ptr_to)
{
    struct show *s = u;
    *ptr_to = 0;
    char sym[512];
    sym_name(s, w, sym, sizeof sym);
    if (!strncmp(sym, "go:itab.", 8) || !strncmp(sym, "go.itab.", 8)) {
        const char *p = sym + 8;
        int depth = 0;
        size_t n = 0;
        for (; p[n] && !(p[n] == ',' && depth == 0); n++)
            depth += (p[n] == '(' || p[n] == '[' || p[n] == '{') - (p[n] == ')' || p[n] == ']' || p[n] == '}');
        if (p[n] != ',')
            return 0;
        uint32_t id = type_named(s, p, n);
        if (!id && n > 1 && p[0] == '*' && (id = type_named(s, p + 1, n - 1)))
            *ptr_to = 1;
        return id;
    }
    for (int hop = 0; hop < 2 && s->rtype; hop++) {
        uint32_t id = 0;
        sqlite3_bind_int64(s->rtype, 1, (int64_t)w);
        sqlite3_bind_int64(s->rtype, 2, (int64_t)(s->types_base && w > s->types_base ? w - s->types_base : w));
        if (sqlite3_step(s->rtype) == SQLITE_ROW)
            id = (uint32_t)sqlite3_column_int64(s->rtype, 0);
        sqlite3_reset(s->rtype);
        if (id && id < s->t.n)
            return id;
        /* by the runtime's own name, when DWARF has the name but not the descriptor */
        char nm[512];
        if (!desc_name(s, w, nm, sizeof nm)) {
            size_t n = strlen(nm);
            if ((id = type_named(s, nm, n)))
                return id;
            if (nm[0] == '*' && (id = type_named(s, nm + 1, n - 1))) {
                *ptr_to = 1;
                return id;
            }
        }
        /* an itab (Inter, Type): its second word is the dynamic type */
        uint8_t itab[16];
        if (hop || rd(s, w, itab, sizeof itab))
            break;
        memcpy(&w, itab + 8, 8);
    }
    return 0;
}

static void hexdump(FILE *f, const uint8_t *b, size_t n, uint64_t addr, uint64_t from)
{
    for (size_t i = 0; i < n; i += 16) {
        fprintf(f, "  %#" PRIx64 " +%-5" PRIu64 " ", addr + from + i, from + i);
        for (size_t k = 0; k < 16; k++) {
            if (i + k < n)
                fprintf(f, " %02x", b[i + k]);
            else
                fprintf(f, "   ");
        }
        fprintf(f, "  ");
        for (size_t k = 0; k < 16 && i + k < n; k++)
            fputc(b[i + k] >= 0x20 && b[i + k] < 0x7f ? b[i + k] : '.', f);
        fputc('\n', f);
    }
}

static const char *source_text(const char *src)
{
    if (!src)
        return "not inferred: no typed pointer reaches its start and it has no vtable";
    if (!strcmp(src, "vtable"))
        return "its first word points into the class's vtable";
    if (!strcmp(src, "dwarf-root"))
        return "a typed global or static variable points at it";
    if (!strcmp(src, "malloc-header"))
        return "the allocator recorded the type it was allocated as (Go's malloc header or a large span's type)";
    if (!strcmp(src, "dynamic"))
        return "an interface value points at it, and its type word names the type";
    if (!strcmp(src, "dwarf-field"))
        return "a typed pointer in a typed object points at it";
    return src;
}

/* One value (of type `type` at byte off of the object) as a string: as
 * gdb prints it, or for a Go type as Go's %#v does, with what a pointer,
 * string or slice points at after it. */
static char *value_str(struct show *s, uint32_t type, unsigned bits, unsigned bitoff, const uint8_t *b,
                       size_t n, uint64_t off, uint64_t addr)
{
    struct ty_env env = {rd, names, s, go_type};
    struct tybuf out = {0};
    const uint8_t *p = off <= n ? b + off : b;
    size_t len = off <= n ? n - off : 0;
    if (!bits && ty_is_go(&s->t, type)) {
        ty_format_go(&s->t, type, p, len, &env, &out);
        uint64_t data, cnt, cap;
        char sym[512] = "", obj[512] = "";
        int k = ty_go_extent(&s->t, type, p, len, &data, &cnt, &cap);
        uint32_t r = ty_resolve(&s->t, type);
        if (k == 's')
            tybuf_printf(&out, "  (len %llu)", (unsigned long long)cnt);
        else if (k == 'l')
            tybuf_printf(&out, "  (len %llu, cap %llu)", (unsigned long long)cnt, (unsigned long long)cap);
        if (k || (r && s->t.v[r].kind == TY_POINTER && len >= 8 && (memcpy(&data, p, 8), 1))) {
            if (data)
                names(s, data, sym, sizeof sym, obj, sizeof obj);
            if (obj[0])
                tybuf_printf(&out, "%s<%s>", k ? " " : "  ", obj);
            else if (sym[0])
                tybuf_printf(&out, "%s<%s>", k ? " " : "  ", sym);
        }
    } else {
        ty_format_bits(&s->t, type, bits, bitoff, p, len, addr + off, &env, &out);
    }
    return out.s ? out.s : strdup("");
}

/* A Go map's group or bucket (types/gofmt.c, ty_go_group): its entries as
 * key → value.  1 if the type is one. */
static int go_map_entries(struct show *s, uint32_t type, const uint8_t *b, size_t n, int json, struct json *j)
{
    struct ty_go_slots sl;
    int nslots = ty_go_group(&s->t, type, b, n, &sl);
    if (!nslots)
        return 0;
    uint32_t kt = sl.key_type, vt = sl.value_type;
    const int *full = sl.full;
    const uint64_t *koff = sl.key_off, *voff = sl.value_off;
    if (json) {
        json_key(j, "entries");
        json_begin_array(j);
    } else {
        printf("entries (key → value):\n");
    }
    int shown = 0;
    for (int i = 0; i < nslots; i++) {
        if (!full[i])
            continue;
        struct ty_env env = {rd, names, s, go_type};
        struct tybuf k = {0}, v = {0};
        ty_format_go(&s->t, kt, b + koff[i], n - koff[i], &env, &k);
        ty_format_go(&s->t, vt, b + voff[i], n - voff[i], &env, &v);
        if (json) {
            json_begin_object(j);
            json_kv_uint(j, "slot", (uint64_t)i);
            json_kv_string(j, "key", k.s ? k.s : "");
            json_kv_string(j, "value", v.s ? v.s : "");
            json_end_object(j);
        } else {
            printf("  [%d] %s → %s\n", i, k.s ? k.s : "", v.s ? v.s : "");
        }
        shown++;
        tybuf_free(&k);
        tybuf_free(&v);
    }
    if (json)
        json_end_array(j);
    else if (!shown)
        printf("  (none)\n");
    return 1;
}

struct objrow {
    int64_t id;
    uint64_t addr, size;
    char state[16], where[32], source[32];
    uint32_t type;
    uint64_t count;
    int has_source;
};

static int find_object(struct show *s, const char *arg, struct objrow *o, const char *file)
{
    char *end;
    int hex = !strncmp(arg, "0x", 2) || !strncmp(arg, "0X", 2);
    unsigned long long v = strtoull(arg, &end, hex ? 16 : 10);
    sqlite3_stmt *q;
    const char *sql = hex ? "SELECT id, addr, size, state, \"where\", type_id, type_source, type_count"
                            " FROM objects WHERE id = obj(?1)"
                          : "SELECT id, addr, size, state, \"where\", type_id, type_source, type_count"
                            " FROM objects WHERE id = ?1";
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK) {
        cli_error("%s: %s", file, sqlite3_errmsg(s->db));
        return -1;
    }
    sqlite3_bind_int64(q, 1, (int64_t)v);
    int found = sqlite3_step(q) == SQLITE_ROW;
    if (found) {
        o->id = sqlite3_column_int64(q, 0);
        o->addr = (uint64_t)sqlite3_column_int64(q, 1);
        o->size = (uint64_t)sqlite3_column_int64(q, 2);
        snprintf(o->state, sizeof o->state, "%s", sqlite3_column_text(q, 3) ? (const char *)sqlite3_column_text(q, 3) : "?");
        snprintf(o->where, sizeof o->where, "%s", sqlite3_column_text(q, 4) ? (const char *)sqlite3_column_text(q, 4) : "?");
        int64_t tid = sqlite3_column_int64(q, 5);
        o->type = tid > 0 && (uint64_t)tid < s->t.n ? (uint32_t)tid : 0;
        o->has_source = sqlite3_column_type(q, 6) != SQLITE_NULL;
        snprintf(o->source, sizeof o->source, "%s", o->has_source ? (const char *)sqlite3_column_text(q, 6) : "none");
        o->count = o->type ? (uint64_t)sqlite3_column_int64(q, 7) : 0;
        if (o->type && !o->count)
            o->count = 1;
    }
    sqlite3_finalize(q);
    if (!found) {
        cli_error("%s: %s is %s", file, arg, hex ? "not inside any heap object" : "not an object id");
        return -1;
    }
    return 0;
}

static void type_label(const struct tytab *t, const struct objrow *o, char *buf, size_t len)
{
    if (!o->type) {
        snprintf(buf, len, "[%" PRIu64 " bytes]", o->size);
        return;
    }
    const char *n = ty_name(t, o->type);
    size_t l = strlen(n);
    if (o->count > 1 && (t->v[o->type].flags & TYF_GO))
        snprintf(buf, len, "[%" PRIu64 "]%s", o->count, n);
    else if (o->count > 1)
        snprintf(buf, len, "%s%s[%" PRIu64 "]", n, l && n[l - 1] == '*' ? "" : " ", o->count);
    else
        snprintf(buf, len, "%s", n);
}

/* The references into the object, with the field holding each. */
static int referrers(struct show *s, const struct objrow *o, struct json *j, int json)
{
    sqlite3_stmt *q;
    const char *sql =
        "SELECT r.src, r.offset, r.interior, o.addr, o.type_id, o.type_count,"
        "  ro.kind, ro.name, ro.addr, ro.type_id, ro.thread"
        " FROM refs r LEFT JOIN objects o ON o.id = r.src LEFT JOIN roots ro ON ro.id = r.src"
        " WHERE r.dst = ?1 ORDER BY r.src, r.offset LIMIT ?2";
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(q, 1, o->id);
    sqlite3_bind_int(q, 2, SHOW_REFS + 1);
    int n = 0;
    if (json) {
        json_key(j, "referrers");
        json_begin_array(j);
    }
    while (sqlite3_step(q) == SQLITE_ROW) {
        if (++n > SHOW_REFS) {
            if (!json)
                printf("  ... (more: heapsnap sql FILE \"SELECT * FROM refs WHERE dst = %" PRId64 "\")\n", o->id);
            break;
        }
        int64_t src = sqlite3_column_int64(q, 0);
        uint64_t off = (uint64_t)sqlite3_column_int64(q, 1);
        int interior = sqlite3_column_int(q, 2);
        struct tybuf field = {0};
        char holder[600];
        uint64_t saddr = 0;
        if (src > 0) {
            saddr = (uint64_t)sqlite3_column_int64(q, 3);
            int64_t tid = sqlite3_column_int64(q, 4);
            uint64_t cnt = (uint64_t)sqlite3_column_int64(q, 5);
            if (tid > 0 && (uint64_t)tid < s->t.n) {
                ty_field_at(&s->t, (uint32_t)tid, cnt ? cnt : 1, off, &field);
                snprintf(holder, sizeof holder, "obj %" PRId64 " (%s)", src, ty_name(&s->t, (uint32_t)tid));
            } else {
                snprintf(holder, sizeof holder, "obj %" PRId64, src);
            }
        } else {
            const unsigned char *kind = sqlite3_column_text(q, 6), *name = sqlite3_column_text(q, 7);
            saddr = (uint64_t)sqlite3_column_int64(q, 8);
            int64_t tid = sqlite3_column_int64(q, 9);
            if (tid > 0 && (uint64_t)tid < s->t.n)
                ty_field_at(&s->t, (uint32_t)tid, 1, off, &field);
            if (kind && !strcmp((const char *)kind, "data") && name)
                snprintf(holder, sizeof holder, "global %s", name);
            else
                snprintf(holder, sizeof holder, "%s root%s%s", kind ? (const char *)kind : "?",
                         name ? " " : "", name ? (const char *)name : "");
        }
        if (json) {
            json_begin_object(j);
            json_kv_int(j, "src", src);
            json_kv_string(j, "holder", holder);
            json_kv_hex(j, "addr", saddr + off);
            json_kv_uint(j, "offset", off);
            if (field.s && field.s[0])
                json_kv_string(j, "field", field.s);
            else
                json_kv_null(j, "field");
            json_kv_bool(j, "interior", interior);
            json_end_object(j);
        } else {
            printf("  %-40s +%-5" PRIu64 " %s%s\n", holder, off, field.s && field.s[0] ? field.s : "",
                   interior ? "  (points inside)" : "");
        }
        tybuf_free(&field);
    }
    if (json)
        json_end_array(j);
    else if (!n)
        printf("  (none)\n");
    sqlite3_finalize(q);
    return 0;
}

static int show_object(struct show *s, const struct objrow *o, int json, int gdb)
{
    uint64_t avail = o->size < SHOW_MAX_BYTES ? o->size : SHOW_MAX_BYTES;
    uint8_t *b = malloc(avail ? avail : 1);
    if (!b)
        return -1;
    int have = avail ? rd(s, o->addr, b, avail) == 0 : 1;
    if (!have)
        memset(b, 0, avail);
    size_t blen = have ? avail : 0;
    uint32_t r = ty_resolve(&s->t, o->type);
    uint64_t S = r ? s->t.v[r].size : 0;
    uint64_t covered = S * (o->count ? o->count : 1);
    if (covered > blen)
        covered = blen;
    char label[600];
    type_label(&s->t, o, label, sizeof label);
    struct ty_env env = {rd, names, s, go_type};
    int go = r && ty_is_go(&s->t, o->type);

    if (gdb) {
        if (!r) {
            printf("<untyped>\n");
        } else {
            struct tybuf out = {0};
            if (o->count > 1) { /* print *(T (*)[n])ADDR */
                struct tybuf tmp = {0};
                tybuf_add(&out, "{", 1);
                for (uint64_t k = 0; k < o->count && k * S < blen; k++) {
                    if (k)
                        tybuf_add(&out, ", ", 2);
                    ty_format(&s->t, o->type, b + k * S, blen - k * S, o->addr + k * S, &env, &tmp);
                    tybuf_add(&out, tmp.s ? tmp.s : "", tmp.n);
                    tmp.n = 0;
                }
                tybuf_add(&out, "}", 1);
                tybuf_free(&tmp);
            } else {
                ty_format(&s->t, o->type, b, blen, o->addr, &env, &out);
            }
            printf("%s\n", out.s ? out.s : "");
            tybuf_free(&out);
        }
        free(b);
        return 0;
    }

    struct json j;
    if (json) {
        json_init(&j, stdout, JSON_PRETTY);
        json_begin_object(&j);
        json_kv_int(&j, "id", o->id);
        json_kv_hex(&j, "addr", o->addr);
        json_kv_uint(&j, "size", o->size);
        json_kv_string(&j, "state", o->state);
        json_kv_string(&j, "where", o->where);
        json_kv_string(&j, "type", o->type ? label : NULL);
        if (o->type)
            json_kv_int(&j, "type_id", o->type);
        else
            json_kv_null(&j, "type_id");
        json_kv_string(&j, "type_source", o->has_source ? o->source : "none");
        json_kv_uint(&j, "type_count", o->count);
        json_kv_bool(&j, "captured", have);
    } else {
        printf("object %" PRId64 " at %#" PRIx64 ": %" PRIu64 " bytes, %s (%s)\n", o->id, o->addr,
               o->size, o->state, o->where);
        printf("type: %s — %s%s%s\n", label, o->has_source ? o->source : "none",
               o->has_source ? ": " : ": ", source_text(o->has_source ? o->source : NULL));
        if (!have)
            printf("(its bytes were not captured)\n");
    }
    if (go && have) {
        /* the whole value as Go's %#v prints it; N of T as [N]T{...} */
        struct tybuf v = {0}, e = {0};
        if (o->count > 1) {
            tybuf_printf(&v, "%s{", label);
            for (uint64_t k = 0; k < o->count && (k + 1) * S <= blen && k < 200; k++) {
                ty_format_go(&s->t, o->type, b + k * S, blen - k * S, &env, &e);
                tybuf_printf(&v, "%s%s", k ? ", " : "", e.s ? e.s : "");
                e.n = 0;
            }
            tybuf_add(&v, o->count > 200 ? ", ...}" : "}", o->count > 200 ? 6 : 1);
        } else {
            ty_format_go(&s->t, o->type, b, blen, &env, &v);
        }
        if (json)
            json_kv_string(&j, "go_value", v.s ? v.s : "");
        else
            printf("value: %s\n", v.s ? v.s : "");
        tybuf_free(&v);
        tybuf_free(&e);
        if (o->count <= 1)
            go_map_entries(s, o->type, b, blen, json, &j);
    }

    /* the fields: one line per member (per element for an array) */
    const struct ty *y = r ? &s->t.v[r] : NULL;
    int record = y && (y->kind == TY_STRUCT || y->kind == TY_CLASS || y->kind == TY_UNION) &&
                 !(y->flags & (TYF_DECL | TYF_VTABLE));
    if (json) {
        json_key(&j, "fields");
        json_begin_array(&j);
    } else if (r && have) {
        printf("fields:\n");
    }
    uint64_t nelem = o->count > 1 ? o->count : (r ? 1 : 0);
    for (uint64_t k = 0; have && k < nelem && k < SHOW_ELEMS; k++) {
        uint64_t base = k * S;
        if (base + S > blen)
            break;
        if (!record) {
            char *v = value_str(s, o->type, 0, 0, b, blen, base, o->addr);
            if (json) {
                json_begin_object(&j);
                json_kv_string(&j, "name", o->count > 1 ? "" : "*");
                json_kv_uint(&j, "index", k);
                json_kv_uint(&j, "offset", base);
                json_kv_string(&j, "type", ty_name(&s->t, o->type));
                json_kv_string(&j, "value", v);
                json_end_object(&j);
            } else {
                printf("  [%" PRIu64 "] = %s\n", k, v);
            }
            free(v);
            continue;
        }
        for (uint32_t i = 0; i < y->n; i++) {
            const struct ty_field *f = &s->t.f[y->first + i];
            const char *nm = ty_str(&s->t, f->name);
            char *v = value_str(s, f->type, f->bit_size, f->bit_offset, b, blen, base + f->offset, o->addr);
            char fname[600];
            if (f->flags & TYFF_BASE)
                snprintf(fname, sizeof fname, "<%s>", nm);
            else
                snprintf(fname, sizeof fname, "%s", nm[0] ? nm : "<anonymous>");
            if (json) {
                json_begin_object(&j);
                if (o->count > 1)
                    json_kv_uint(&j, "index", k);
                json_kv_string(&j, "name", fname);
                json_kv_uint(&j, "offset", base + f->offset);
                json_kv_string(&j, "type", ty_name(&s->t, f->type));
                if (f->bit_size) {
                    json_kv_uint(&j, "bit_size", f->bit_size);
                    json_kv_uint(&j, "bit_offset", f->bit_offset);
                }
                json_kv_string(&j, "value", v);
                json_end_object(&j);
            } else if (o->count > 1) {
                printf("  [%" PRIu64 "].%s = %s\n", k, fname, v);
            } else {
                printf("  %s = %s\n", fname, v);
            }
            free(v);
        }
    }
    if (json)
        json_end_array(&j);
    else if (nelem > SHOW_ELEMS)
        printf("  ... %" PRIu64 " more elements\n", nelem - SHOW_ELEMS);

    /* what the type leaves uncovered */
    uint64_t from = r ? covered : 0;
    if (have && from < blen) {
        size_t n = blen - from < SHOW_HEX ? (size_t)(blen - from) : SHOW_HEX;
        if (json) {
            json_key(&j, "untyped");
            json_begin_object(&j);
            json_kv_uint(&j, "offset", from);
            json_kv_uint(&j, "size", o->size - from);
            char *hex = malloc(2 * n + 1);
            if (hex) {
                for (size_t i = 0; i < n; i++)
                    snprintf(hex + 2 * i, 3, "%02x", b[from + i]);
                hex[2 * n] = 0;
            }
            json_kv_string(&j, "hex", hex);
            free(hex);
            json_end_object(&j);
        } else {
            printf("%s bytes %" PRIu64 "..%" PRIu64 ":\n", r ? "untyped" : "contents", from, o->size);
            hexdump(stdout, b + from, n, o->addr, from);
            if (blen - from > n)
                printf("  ... %" PRIu64 " more bytes\n", (uint64_t)(blen - from - n));
        }
    }
    if (!json)
        printf("referenced from:\n");
    referrers(s, o, &j, json);
    free(b);
    if (json) {
        json_end_object(&j);
        if (json_finish(&j)) {
            cli_error("stdout: write error");
            return -1;
        }
    }
    return 0;
}

/* 0x followed by hex digits, or decimal digits. */
static int valid_target(const char *a)
{
    int hex = !strncmp(a, "0x", 2) || !strncmp(a, "0X", 2);
    const char *d = a + (hex ? 2 : 0);
    return *d && strspn(d, hex ? "0123456789abcdefABCDEF" : "0123456789") == strlen(d);
}

/* show's own option: --gdb */
static int on_gdb(void *u, int id, const char *v)
{
    (void)id;
    (void)v;
    *(int *)u = 1;
    return -1;
}

/* Show arg (an address or an id) of pos[0], once the options are read. */
static int show_run(const char *const *pos, struct open_options *dopt, int json, int gdb)
{
    const char *arg = pos[1];
    if (!valid_target(arg))
        return cli_usage_error("'%s' is not an address (0x...) or an object id", arg);
    dopt->quiet = 1;
    char err[1024];
    struct show s = {0};
    int rc = EXIT_FAIL;
    if (!(s.db = open_snapshot_db(pos[0], dopt, err, sizeof err))) {
        cli_error("%s", err);
        return EXIT_FAIL;
    }
    if (ty_db_read(s.db, &s.t, err, sizeof err)) {
        cli_error("%s: %s", pos[0], err);
        sqlite3_close(s.db);
        return EXIT_FAIL;
    }
    if (sqlite3_prepare_v2(s.db, "SELECT mem(?1, ?2)", -1, &s.mem, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s.db, "SELECT addr, size, name FROM symbols WHERE addr <= ?1 AND type IN"
                                 " ('object', 'func', 'notype', 'tls', 'ifunc') AND name <> ''"
                                 " ORDER BY addr DESC, size DESC LIMIT 1",
                           -1, &s.sym, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s.db, "SELECT id, addr, type_name FROM objects_typed WHERE id = obj(?1)"
                                 " AND state = 'used'",
                           -1, &s.obj, NULL) != SQLITE_OK) {
        cli_error("%s: %s (a database from an older heapsnap? index it again)", pos[0], sqlite3_errmsg(s.db));
        goto out;
    }
    open_files(&s);
    /* Go: interface values' dynamic types (go_type); a database from before
     * go_rtype has none, and its interfaces print their words */
    if (sqlite3_prepare_v2(s.db, "SELECT id FROM types WHERE go_rtype IN (?1, ?2) ORDER BY kind = 'typedef' DESC"
                                 " LIMIT 1", -1, &s.rtype, NULL) != SQLITE_OK)
        s.rtype = NULL;
    if (sqlite3_prepare_v2(s.db, "SELECT id FROM types WHERE name = ?1 AND flags & 1024"
                                 " ORDER BY kind = 'typedef' DESC LIMIT 1", -1, &s.tyname, NULL) != SQLITE_OK)
        s.tyname = NULL;
    {
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(s.db, "SELECT addr FROM symbols WHERE name = 'runtime.types' LIMIT 1", -1, &q,
                               NULL) == SQLITE_OK) {
            if (sqlite3_step(q) == SQLITE_ROW)
                s.types_base = (uint64_t)sqlite3_column_int64(q, 0);
            sqlite3_finalize(q);
        }
    }
    struct objrow o;
    if (find_object(&s, arg, &o, pos[0]) == 0 && show_object(&s, &o, json, gdb) == 0)
        rc = EXIT_OK;
out:
    sqlite3_finalize(s.mem);
    sqlite3_finalize(s.sym);
    sqlite3_finalize(s.obj);
    sqlite3_finalize(s.rtype);
    sqlite3_finalize(s.tyname);
    for (size_t i = 0; i < s.nfiles; i++)
        close(s.files[i].fd);
    ty_free(&s.t);
    sqlite3_close(s.db);
    return rc;
}

int cmd_show(int argc, char **argv)
{
    static const struct option_spec own[] = {{"--gdb", NULL, NULL, ARGS_OWN}, {0}};
    struct args a;
    int gdb = 0;
    int rc = args_parse_own(&a, argc, argv, help, 0, 2, 2, own, on_gdb, &gdb);
    if (rc >= 0)
        return rc;
    rc = show_run(a.pos, &a.dopt, a.json, gdb);
    args_free(&a);
    return rc;
}
