/*
 * show.c — how the analysis commands name things for people and for JSON
 * (not `heapsnap show`, which is cmd_show.c and types/decode.c),
 * so that `leaks`, `explain`, `top`, `path` and `diff` all say "global
 * g_cache", "stack of thread 1234 (worker)" and "[48 bytes]" the same way,
 * and print a reference path and an object's first bytes identically.
 *
 * Object bytes come through the SQL function mem() (db/functions.c), which
 * opens the snapshot the database was built from on first use; if it is
 * gone, the bytes are simply not shown.
 */
#include "analysis/analysis.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "types/types.h"

#define SHOW_HEX     ABYTES_HEX /* bytes of hex dump */
#define SHOW_SCAN    256 /* bytes searched for strings */
#define SHOW_STRMIN  6   /* shorter runs are mostly chance bytes of integers */
#define SHOW_STRINGS 4

static const char *const reg_names[] = {
    "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi",
    "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs",
};

int parse_addr(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

const char *hg_group_name(const struct hgraph *h, uint64_t key, char *buf, size_t len)
{
    if (key == HG_INTERNAL) {
        /* glibc marks only its per-thread tcache_perthread_struct so */
        snprintf(buf, len, "malloc tcache");
    } else if (key & HG_TYPED) {
        sqlite3_stmt *s = h->type_name;
        char name[112];
        int go = 0;
        snprintf(name, sizeof name, "type#%" PRIu32, hg_key_type(key));
        if (s) {
            sqlite3_bind_int64(s, 1, hg_key_type(key));
            if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0)) {
                snprintf(name, sizeof name, "%s", (const char *)sqlite3_column_text(s, 0));
                go = (sqlite3_column_int(s, 1) & TYF_GO) != 0;
            }
            sqlite3_reset(s);
        }
        /* an array as the objects_typed view says it: "struct item [3]", "char *[4]", Go's "[3]main.T" */
        size_t n = strlen(name);
        if (hg_key_count(key) > 1 && go)
            snprintf(buf, len, "[%" PRIu32 "]%s", hg_key_count(key), name);
        else if (hg_key_count(key) > 1)
            snprintf(buf, len, "%s%s[%" PRIu32 "]", name, n && name[n - 1] == '*' ? "" : " ", hg_key_count(key));
        else
            snprintf(buf, len, "%s", name);
    } else {
        snprintf(buf, len, "[%" PRIu64 " bytes]", key);
    }
    return buf;
}

static const char *thread_name(const struct hgraph *h, int32_t tid, char *buf, size_t len)
{
    sqlite3_stmt *s;
    buf[0] = 0;
    if (sqlite3_prepare_v2(h->db, "SELECT name FROM threads WHERE tid = ?", -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_int(s, 1, tid);
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
            snprintf(buf, len, " (%s)", (const char *)sqlite3_column_text(s, 0));
        sqlite3_finalize(s);
    }
    return buf;
}

/* A stack root the allocator's walker named ("goroutine 19 (main.handler)"),
 * not a thread's stack, which is named after its thread. */
static int walker_named(const struct hgraph *h, const struct hroot *r, char *tn, size_t len)
{
    if (!r->name || !r->name[0])
        return 0;
    if (!r->thread)
        return 1;
    thread_name(h, r->thread, tn, len); /* " (name)" */
    size_t n = strlen(tn);
    return !(n > 3 && strlen(r->name) == n - 3 && !strncmp(tn + 2, r->name, n - 3));
}

const char *hg_root_name(const struct hgraph *h, uint32_t node, char *buf, size_t len)
{
    const struct hroot *r = &h->roots[node - 1];
    char tn[48];
    if (!strcmp(r->kind, "data")) {
        if (r->name)
            snprintf(buf, len, "global %s", r->name);
        else
            snprintf(buf, len, "data at 0x%" PRIx64, r->addr);
    } else if (!strcmp(r->kind, "stack") && walker_named(h, r, tn, sizeof tn)) {
        /* a runtime's own stack (a goroutine's frame): named as it names it */
        if (r->thread)
            snprintf(buf, len, "%s on thread %d", r->name, r->thread);
        else
            snprintf(buf, len, "%s", r->name);
    } else if (!strcmp(r->kind, "stack")) {
        snprintf(buf, len, "stack of thread %d%s", r->thread, thread_name(h, r->thread, tn, sizeof tn));
    } else if (!strcmp(r->kind, "register")) {
        snprintf(buf, len, "registers of thread %d%s", r->thread, thread_name(h, r->thread, tn, sizeof tn));
    } else if (!strcmp(r->kind, "runtime") && r->name) {
        snprintf(buf, len, "%s", r->name);
    } else if (!strcmp(r->kind, "tls")) {
        snprintf(buf, len, "TLS of thread %d%s", r->thread, thread_name(h, r->thread, tn, sizeof tn));
    } else {
        snprintf(buf, len, "%s memory at 0x%" PRIx64, r->kind, r->addr);
    }
    return buf;
}

const char *hg_node_name(const struct hgraph *h, uint32_t node, char *buf, size_t len)
{
    if (node == 0)
        return snprintf(buf, len, "several roots"), buf;
    if (hg_is_root(h, node))
        return hg_root_name(h, node, buf, len);
    uint32_t i = hg_obj_index(h, node);
    char g[128];
    snprintf(buf, len, "0x%" PRIx64 " %s", h->addr[i], hg_group_name(h, h->group[i], g, sizeof g));
    return buf;
}

/* The first min(size, want) captured bytes of object i; NULL if none. */
static sqlite3_stmt *object_bytes(const struct hgraph *h, uint32_t i, size_t want, const uint8_t **b, int *n)
{
    sqlite3_stmt *s;
    size_t len = h->osize[i] < want ? (size_t)h->osize[i] : want;
    if (!len || sqlite3_prepare_v2(h->db, "SELECT mem(?, ?)", -1, &s, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_int64(s, 1, (int64_t)h->addr[i]);
    sqlite3_bind_int64(s, 2, (int64_t)len);
    if (sqlite3_step(s) != SQLITE_ROW || sqlite3_column_type(s, 0) != SQLITE_BLOB) {
        sqlite3_finalize(s);
        return NULL;
    }
    *b = sqlite3_column_blob(s, 0);
    *n = sqlite3_column_bytes(s, 0);
    return s;
}

/* 1 if v points into a heap object or a captured mapping: an address, whose
 * bytes are no text even when they happen to be printable ("7~>V"). */
static int is_pointer(const struct hgraph *h, sqlite3_stmt *in_mapping, uint64_t v)
{
    if (v < 4096 || hgraph_find(h, v) >= 0)
        return v >= 4096;
    if (!in_mapping)
        return 0;
    sqlite3_bind_int64(in_mapping, 1, (int64_t)v);
    int yes = sqlite3_step(in_mapping) == SQLITE_ROW;
    sqlite3_reset(in_mapping);
    return yes;
}

/* text[k] = 1 where byte k of b may be text: printable, and not in an
 * aligned 8-byte word that is a pointer (objects start 16-aligned, so the
 * object's words are the process's words). */
static void text_mask(const struct hgraph *h, const uint8_t *b, int n, uint8_t *text)
{
    sqlite3_stmt *m = NULL;
    if (sqlite3_prepare_v2(h->db, "SELECT 1 FROM mappings WHERE start <= ?1 AND ?1 < end AND captured LIMIT 1", -1,
                           &m, NULL) != SQLITE_OK)
        m = NULL;
    for (int k = 0; k < n; k++)
        text[k] = b[k] >= 0x20 && b[k] < 0x7f;
    for (int w = 0; w + 8 <= n; w += 8) {
        uint64_t v;
        memcpy(&v, b + w, 8);
        if (is_pointer(h, m, v))
            memset(text + w, 0, 8);
    }
    sqlite3_finalize(m);
}

/* Call fn for each run of >= SHOW_STRMIN text bytes (text_mask), at most SHOW_STRINGS. */
static void each_string(const uint8_t *b, const uint8_t *text, int n, void (*fn)(void *u, const uint8_t *s, int len),
                        void *u)
{
    int found = 0;
    for (int i = 0; i < n && found < SHOW_STRINGS;) {
        int j = i;
        while (j < n && text[j])
            j++;
        if (j - i >= SHOW_STRMIN) {
            fn(u, b + i, j - i);
            found++;
        }
        i = j + 1;
    }
}

static void keep_string(void *u, const uint8_t *s, int len)
{
    struct abytes *ab = u;
    char *c = malloc((size_t)len + 1);
    if (!c) {
        ab->oom = 1;
        return;
    }
    memcpy(c, s, (size_t)len);
    c[len] = 0;
    ab->strings[ab->nstrings++] = c;
}

int show_bytes_read(const struct hgraph *h, uint32_t i, struct abytes *ab)
{
    const uint8_t *b;
    int n;
    memset(ab, 0, sizeof *ab);
    sqlite3_stmt *s = object_bytes(h, i, SHOW_SCAN, &b, &n);
    if (!s)
        return 0;
    ab->present = 1;
    ab->n = n < SHOW_HEX ? n : SHOW_HEX;
    memcpy(ab->b, b, (size_t)ab->n);
    uint8_t text[SHOW_SCAN];
    text_mask(h, b, n, text);
    each_string(b, text, n, keep_string, ab);
    sqlite3_finalize(s);
    if (ab->oom) {
        abytes_free(ab);
        return -1;
    }
    return 0;
}

void abytes_free(struct abytes *ab)
{
    for (int k = 0; k < ab->nstrings; k++)
        free(ab->strings[k]);
    memset(ab, 0, sizeof *ab);
}

void abytes_print(FILE *f, const struct abytes *ab, const char *indent)
{
    if (!ab->present)
        return;
    fprintf(f, "%s", indent);
    for (int x = 0; x < ab->n; x++)
        fprintf(f, "%02x%s", ab->b[x], x % 8 == 7 ? "  " : " ");
    fputc('|', f);
    for (int x = 0; x < ab->n; x++)
        fputc(ab->b[x] >= 0x20 && ab->b[x] < 0x7f ? ab->b[x] : '.', f);
    fputs("|\n", f);
    for (int k = 0; k < ab->nstrings; k++) {
        int len = (int)strlen(ab->strings[k]);
        fprintf(f, "%sstring \"%.*s\"\n", indent, len > 80 ? 80 : len, ab->strings[k]);
    }
}

void abytes_json(struct json *j, const struct abytes *ab)
{
    if (!ab->present) {
        json_kv_null(j, "bytes");
        return;
    }
    char hex[2 * SHOW_HEX + 1];
    for (int x = 0; x < ab->n; x++)
        snprintf(hex + 2 * x, 3, "%02x", ab->b[x]);
    hex[2 * ab->n] = 0;
    json_kv_string(j, "bytes", hex);
    json_key(j, "strings");
    json_begin_array(j);
    for (int k = 0; k < ab->nstrings; k++)
        json_string_n(j, ab->strings[k], strlen(ab->strings[k]));
    json_end_array(j);
}

void show_bytes(FILE *f, const struct hgraph *h, uint32_t i, const char *indent)
{
    struct abytes ab;
    if (show_bytes_read(h, i, &ab))
        return;
    abytes_print(f, &ab, indent);
    abytes_free(&ab);
}

void show_bytes_json(struct json *j, const struct hgraph *h, uint32_t i)
{
    struct abytes ab;
    show_bytes_read(h, i, &ab);
    abytes_json(j, &ab);
    abytes_free(&ab);
}

/* The reference from src to dst that a step shows: a pointer to dst's start
 * before an interior one (a stale word into the middle of a block says less
 * than the variable that holds it), then the lowest offset. */
int64_t show_ref_offset(const struct hgraph *h, uint32_t src, uint32_t dst, int *interior)
{
    sqlite3_stmt *s;
    int64_t off = -1;
    *interior = 0;
    if (src == 0 || sqlite3_prepare_v2(h->db, "SELECT offset, interior FROM refs WHERE src = ? AND dst = ?"
                                       " ORDER BY interior, offset LIMIT 1", -1, &s, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(s, 1, hg_node_id(h, src));
    sqlite3_bind_int64(s, 2, hg_node_id(h, dst));
    if (sqlite3_step(s) == SQLITE_ROW) {
        off = sqlite3_column_int64(s, 0);
        *interior = sqlite3_column_int(s, 1);
    }
    sqlite3_finalize(s);
    return off;
}

/* The field of typed object or root src (a node) holding byte off, from
 * the SQL function field_name() (db/fn_field.c: "next", "items[2].next",
 * "[1]"), into buf; NULL when untyped or unknown. */
static const char *typed_field(const struct hgraph *h, uint32_t src, int64_t off, char *buf, size_t len)
{
    sqlite3_stmt *s;
    const char *got = NULL;
    if (!h->typed || sqlite3_prepare_v2(h->db, "SELECT field_name(?, ?)", -1, &s, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_int64(s, 1, hg_node_id(h, src));
    sqlite3_bind_int64(s, 2, off);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) && sqlite3_column_text(s, 0)[0])
        got = buf, snprintf(buf, len, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return got;
}

/* How much of a local stack_var says: all of it, only its name (the root
 * already names the frame: a goroutine's), or its name and function (the
 * root already names the thread). */
enum { VAR_FULL, VAR_NAME, VAR_IN_FUNC };

/* The typed local of thread tid's unwound frames (the indexer's stack_vars
 * table; tid 0: the frames of goroutines no thread runs) that holds addr, as
 * "local p in make_points (thread 1234)" (VAR_FULL), "local p" (VAR_NAME)
 * or "local p in make_points" (VAR_IN_FUNC); NULL when none does or the
 * database has no such table. */
static const char *stack_var(const struct hgraph *h, int32_t tid, uint64_t addr, int brief, char *buf,
                             size_t len)
{
    sqlite3_stmt *s;
    const char *got = NULL;
    if (sqlite3_prepare_v2(h->db,
                           "SELECT name, func FROM stack_vars WHERE thread = ? AND addr <= ? AND ? < addr + size"
                           " ORDER BY frame LIMIT 1",
                           -1, &s, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_int(s, 1, tid);
    sqlite3_bind_int64(s, 2, (int64_t)addr);
    sqlite3_bind_int64(s, 3, (int64_t)addr);
    const char *name = NULL, *func = NULL;
    if (sqlite3_step(s) == SQLITE_ROW) {
        name = (const char *)sqlite3_column_text(s, 0);
        func = (const char *)sqlite3_column_text(s, 1);
    }
    if (name && func && brief == VAR_NAME)
        got = buf, snprintf(buf, len, "local %s", name);
    else if (name && func && brief == VAR_IN_FUNC)
        got = buf, snprintf(buf, len, "local %s in %s", name, func);
    else if (name && func)
        got = buf, snprintf(buf, len, "local %s in %s (thread %d)", name, func, tid);
    sqlite3_finalize(s);
    return got;
}

/* Where in src the reference sits, for people: "+0x10", ".next (+0x8)",
 * "%rax", "g_table.buckets", "g_x+0x8", "local p in make_points (thread 1234)". */
static const char *field_name(const struct hgraph *h, uint32_t src, int64_t off, char *buf, size_t len)
{
    char f[96] = "";
    if (off < 0)
        return snprintf(buf, len, "?"), buf;
    int typed = typed_field(h, src, off, f, sizeof f) != NULL;
    const char *dot = f[0] == '[' ? "" : "."; /* an element: g_payloads[1], not g_payloads.[1] */
    if (hg_is_root(h, src)) {
        const struct hroot *r = &h->roots[src - 1];
        if (!strcmp(r->kind, "register") && off / 8 < (int64_t)(sizeof reg_names / sizeof reg_names[0]))
            return snprintf(buf, len, "%%%s", reg_names[off / 8]), buf;
        if (!strcmp(r->kind, "data") && r->name && typed)
            return snprintf(buf, len, "%s%s%s", r->name, dot, f), buf;
        if (!strcmp(r->kind, "data") && r->name)
            return snprintf(buf, len, "%s+0x%" PRIx64, r->name, (uint64_t)off), buf;
        char tn[48];
        if (!strcmp(r->kind, "stack") &&
            stack_var(h, r->thread, r->addr + (uint64_t)off, walker_named(h, r, tn, sizeof tn) ? VAR_NAME : VAR_FULL,
                      buf, len))
            return buf;
        return snprintf(buf, len, "0x%" PRIx64, r->addr + (uint64_t)off), buf;
    }
    if (typed)
        return snprintf(buf, len, "%s%s (+0x%" PRIx64 ")", dot, f, (uint64_t)off), buf;
    return snprintf(buf, len, "+0x%" PRIx64, (uint64_t)off), buf;
}

const char *hg_holder_name(const struct hgraph *h, uint32_t root, uint32_t first, char *buf, size_t len)
{
    hg_node_name(h, root, buf, len);
    if (!hg_is_root(h, root) || !hg_is_obj(h, first))
        return buf;
    const struct hroot *r = &h->roots[root - 1];
    int interior;
    int64_t off;
    char tn[48], var[160];
    if (strcmp(r->kind, "stack") || (off = show_ref_offset(h, root, first, &interior)) < 0 ||
        !stack_var(h, r->thread, r->addr + (uint64_t)off, walker_named(h, r, tn, sizeof tn) ? VAR_NAME : VAR_IN_FUNC,
                   var, sizeof var))
        return buf;
    size_t n = strlen(buf);
    if (n + 1 < len)
        snprintf(buf + n, len - n, " %s", var);
    return buf;
}

void show_path(FILE *f, const struct hgraph *h, const uint32_t *nodes, uint32_t len)
{
    char a[256], b[160];
    uint32_t k = 0;
    if (len && nodes[0] == 0)
        k = 1; /* the super-root is bookkeeping, not a step */
    for (; k < len; k++) {
        uint32_t v = nodes[k];
        if (hg_is_root(h, v)) {
            const struct hroot *r = &h->roots[v - 1];
            fprintf(f, "  %s  (%s root", hg_root_name(h, v, a, sizeof a), r->kind);
            if (strcmp(r->kind, "register"))
                fprintf(f, ", 0x%" PRIx64 ", %" PRIu64 " bytes", r->addr, r->size);
            fputs(")\n", f);
            continue;
        }
        int interior = 0;
        int64_t off = k ? show_ref_offset(h, nodes[k - 1], v, &interior) : -1;
        uint32_t i = hg_obj_index(h, v);
        char g[128];
        if (k && nodes[k - 1] != 0)
            fprintf(f, "    --[%s]%s--> ", field_name(h, nodes[k - 1], off, b, sizeof b),
                    interior ? " (interior)" : "");
        else
            fputs("    ", f);
        fprintf(f, "0x%" PRIx64 " %s\n", h->addr[i], hg_group_name(h, h->group[i], g, sizeof g));
    }
}

static char *dup_or_null(const char *s, int *oom)
{
    char *c = s ? strdup(s) : NULL;
    if (s && !c)
        *oom = 1;
    return c;
}

int anode_fill(struct anode *a, const struct hgraph *h, uint32_t v)
{
    char buf[256];
    int oom = 0;
    memset(a, 0, sizeof *a);
    a->id = hg_node_id(h, v);
    if (v == 0) {
        a->kind = ANODE_SUPER;
    } else if (hg_is_root(h, v)) {
        const struct hroot *r = &h->roots[v - 1];
        a->kind = ANODE_ROOT;
        a->root_kind = dup_or_null(r->kind, &oom);
        a->name = dup_or_null(r->name, &oom);
        a->thread = r->thread;
        a->addr = r->addr;
        a->label = dup_or_null(hg_root_name(h, v, buf, sizeof buf), &oom);
    } else {
        uint32_t i = hg_obj_index(h, v);
        a->kind = ANODE_OBJECT;
        a->addr = h->addr[i];
        a->size = h->osize[i];
        a->type = dup_or_null(hg_group_name(h, h->group[i], buf, sizeof buf), &oom);
    }
    a->text = dup_or_null(hg_node_name(h, v, buf, sizeof buf), &oom);
    if (oom) {
        anode_free(a);
        return -1;
    }
    return 0;
}

void anode_free(struct anode *a)
{
    free(a->root_kind);
    free(a->name);
    free(a->label);
    free(a->type);
    free(a->text);
    memset(a, 0, sizeof *a);
}

void anode_json(struct json *j, const struct anode *a)
{
    json_begin_object(j);
    json_kv_int(j, "id", a->id);
    if (a->kind == ANODE_SUPER) {
        json_kv_string(j, "kind", "super-root");
    } else if (a->kind == ANODE_ROOT) {
        json_kv_string(j, "kind", "root");
        json_kv_string(j, "root_kind", a->root_kind);
        json_kv_string(j, "name", a->name);
        if (a->thread)
            json_kv_int(j, "thread", a->thread);
        else
            json_kv_null(j, "thread");
        json_kv_hex(j, "addr", a->addr);
        json_kv_string(j, "label", a->label);
    } else {
        json_kv_string(j, "kind", "object");
        json_kv_hex(j, "addr", a->addr);
        json_kv_uint(j, "size", a->size);
        json_kv_string(j, "type", a->type);
    }
    json_end_object(j);
}

void show_node_json(struct json *j, const struct hgraph *h, uint32_t v)
{
    struct anode a;
    if (anode_fill(&a, h, v)) {
        json_null(j);
        return;
    }
    anode_json(j, &a);
    anode_free(&a);
}

void show_query_json(struct json *j, const struct hgraph *h, uint64_t addr, uint32_t v)
{
    json_kv_string(j, "file", h->file);
    json_kv_hex(j, "query", addr);
    json_key(j, "object");
    show_node_json(j, h, v);
}

void show_path_json(struct json *j, const struct hgraph *h, const uint32_t *nodes, uint32_t len)
{
    char b[160];
    json_begin_array(j);
    for (uint32_t k = nodes[0] == 0 ? 1 : 0; k < len; k++) {
        json_begin_object(j);
        json_key(j, "node");
        show_node_json(j, h, nodes[k]);
        if (k && nodes[k - 1] != 0) {
            int interior = 0;
            int64_t off = show_ref_offset(h, nodes[k - 1], nodes[k], &interior);
            json_kv_int(j, "offset", off);
            json_kv_string(j, "field", field_name(h, nodes[k - 1], off, b, sizeof b));
            json_kv_bool(j, "interior", interior);
        }
        json_end_object(j);
    }
    json_end_array(j);
}
