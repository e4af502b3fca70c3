/*
 * cmd_diff.c — `heapsnap diff A B [C]`: what changed between snapshots of
 * one process.  Per type (or size): new, deleted, delta, allocated, freed
 * and size delta, the columns of Chrome DevTools' comparison view; then the
 * retained growth — new objects of B still reachable, grouped by what holds
 * them (the first old object or root up their dominator chain).  With a
 * third snapshot, the objects new in B that are still alive in C, the
 * strongest leak candidates, with their retainers in C.  analysis/diff.c
 * has the matching rule; -o keeps everything as SQL tables.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session.h"
#include "cli.h"
#include "base/units.h"
#include "commands.h"

static const char help[] =
    "usage: heapsnap diff [options] A B [C]\n"
    "\n"
    "Compare snapshots (or databases) A and B of the same process, taken in that\n"
    "order.  An object is the same in both when it has the same address, size\n"
    "and type (and, for objects starting with a vtable-like pointer, the same\n"
    "one); see docs/analyses.md for the rule and its limits.  Prints, per type\n"
    "(or size, as \"[48 bytes]\", until objects have types), the objects new in\n"
    "B, deleted since A, and the bytes, sorted by size delta; then where the\n"
    "growth is held: the new objects of B that are reachable, grouped by their\n"
    "retainer, the first object that already existed in A (or the root) up\n"
    "their dominator chain.  With C, also the objects new in B and still alive\n"
    "in C, the strongest leak candidates, with what holds them in C.\n"
    "\n"
    "options:\n"
    "  -o OUT.db          write tables diff_types, diff_objects, diff_growth to OUT.db\n"
    "  --limit N          show N rows of each table (default 20)\n"
    ARGS_HELP_COMMON
    "\n"
    "exit status: 0 success, 1 a file could not be analysed or OUT.db written, 2 usage\n";

struct side {
    struct session s;
    struct dwords w;
    int open;
};

static int side_open(struct side *d, const char *file, const struct args *a, unsigned flags)
{
    char err[A_ERRLEN];
    if (session_open(&d->s, file, a, flags))
        return -1;
    d->open = 1;
    if (dwords_load(&d->w, &d->s.h, NULL, err, sizeof err)) {
        cli_error("%s", err);
        return -1;
    }
    if (!d->w.available)
        cli_warn("%s: the snapshot is not at hand: objects are matched by address, size and type only", file);
    return 0;
}

static void side_close(struct side *d)
{
    if (d->open) {
        dwords_free(&d->w);
        session_close(&d->s);
    }
}

/* Retainer names, computed once per retainer node. */
struct names {
    struct u64map m;
    char **v;
    size_t n, cap;
};

static const char *name_of(struct names *nm, const struct hgraph *h, const struct hresults *r, uint32_t node)
{
    uint32_t *x = u64map_slot(&nm->m, node, (uint32_t)nm->n);
    if (!x)
        return NULL;
    if (*x == nm->n) {
        if (nm->n == nm->cap) {
            nm->cap = nm->cap ? 2 * nm->cap : 64;
            char **v = realloc(nm->v, nm->cap * sizeof *v);
            if (!v)
                return NULL;
            nm->v = v;
        }
        char buf[600];
        nm->v[nm->n++] = strdup(diff_retainer_name(h, r, node, buf, sizeof buf));
    }
    return nm->v[*x];
}

static void names_free(struct names *nm)
{
    for (size_t i = 0; i < nm->n; i++)
        free(nm->v[i]);
    free(nm->v);
    u64map_free(&nm->m);
}

/* ------------------------------------------------------------ printing */

static void print_growth(const char *title, const struct diff_growth *g, size_t n, const struct side *d,
                         const struct args *a, struct json *j, const char *key)
{
    const struct hgraph *h = &d->s.h;
    char name[600], gn[128];
    if (a->json) {
        json_key(j, key);
        json_begin_array(j);
    } else {
        printf("\n%s\n", title);
        if (!n)
            printf("  none\n");
    }
    for (size_t k = 0; k < n && k < (size_t)a->limit; k++) {
        diff_retainer_name(h, &d->s.r, g[k].retainer, name, sizeof name);
        hg_group_name(h, g[k].key, gn, sizeof gn);
        if (a->json) {
            json_begin_object(j);
            json_kv_string(j, "retainer", name);
            json_key(j, "retainer_node");
            show_node_json(j, h, g[k].retainer);
            json_kv_string(j, "type", gn);
            json_kv_uint(j, "count", g[k].count);
            json_kv_uint(j, "bytes", g[k].bytes);
            json_kv_hex(j, "example", h->addr[g[k].example]);
            json_end_object(j);
        } else {
            printf("  %12" PRIu64 " bytes  %s -> %" PRIu64 " x %s  (e.g. 0x%" PRIx64 ")\n", g[k].bytes, name, g[k].count,
                   gn, h->addr[g[k].example]);
        }
    }
    if (a->json)
        json_end_array(j);
    else if (n > (size_t)a->limit)
        printf("  ... %zu more (--limit)\n", n - (size_t)a->limit);
}

static void print_types(const struct diff_group *g, size_t n, const struct args *a, struct json *j)
{
    char gn[128];
    if (a->json) {
        json_key(j, "types");
        json_begin_array(j);
    } else {
        printf("\n  %9s  %9s  %9s  %12s  %12s  %12s  %s\n", "# New", "# Deleted", "# Delta", "Alloc. Size",
               "Freed Size", "Size Delta", "Type");
    }
    for (size_t k = 0; k < n && k < (size_t)a->limit; k++) {
        int64_t dc = (int64_t)g[k].nnew - (int64_t)g[k].ndel, ds = (int64_t)g[k].alloc - (int64_t)g[k].freed;
        hg_group_name(g[k].from, g[k].own, gn, sizeof gn);
        if (a->json) {
            json_begin_object(j);
            json_kv_string(j, "type", gn);
            json_kv_uint(j, "new_count", g[k].nnew);
            json_kv_uint(j, "deleted_count", g[k].ndel);
            json_kv_int(j, "delta_count", dc);
            json_kv_uint(j, "alloc_size", g[k].alloc);
            json_kv_uint(j, "freed_size", g[k].freed);
            json_kv_int(j, "size_delta", ds);
            json_end_object(j);
        } else {
            printf("  %9" PRIu64 "  %9" PRIu64 "  %+9" PRId64 "  %12" PRIu64 "  %12" PRIu64 "  %+12" PRId64 "  %s\n",
                   g[k].nnew, g[k].ndel, dc, g[k].alloc, g[k].freed, ds, gn);
        }
    }
    if (a->json)
        json_end_array(j);
    else if (n > (size_t)a->limit)
        printf("  ... %zu more types (--limit)\n", n - (size_t)a->limit);
}

/* ------------------------------------------------------------ the command */

int cmd_diff(int argc, char **argv)
{
    struct args a;
    int rc = args_parse(&a, argc, argv, help, ARG_OUTPUT, 2, 3);
    if (rc >= 0)
        return rc;
    if (a.dopt.db) {
        args_free(&a);
        return cli_usage_error("--db names one snapshot's database and diff reads several; index each "
                               "with heapsnap index -o DB and diff the databases");
    }
    if (!a.limit)
        a.limit = 20;
    struct side d[3];
    memset(d, 0, sizeof d);
    uint32_t *ab = NULL, *ba = NULL, *bc = NULL, *cb = NULL, *ret_b = NULL, *ret_c = NULL;
    uint8_t *old_b = NULL, *new_b = NULL, *old_c = NULL, *surv_c = NULL;
    struct diff_group *groups = NULL;
    struct diff_growth *growth = NULL, *surv = NULL;
    size_t ng = 0, ngrowth = 0, nsurv = 0;
    struct diff_out o = {0};
    struct dtypes tab = {0}, tbc = {0};
    char err[A_ERRLEN];
    struct names nb = {0}, nc = {0};
    struct json j;
    int three = a.npos == 3;
    rc = EXIT_FAIL;
    if (side_open(&d[0], a.pos[0], &a, SESSION_NO_REFS) || side_open(&d[1], a.pos[1], &a, SESSION_RESULTS))
        goto out;
    const struct hgraph *A = &d[0].s.h, *B = &d[1].s.h, *C = NULL;
    if (dtypes_build(&tab, A, B, err, sizeof err)) {
        cli_error("%s", err);
        goto out;
    }
    if (diff_match(A, &d[0].w, B, &d[1].w, &tab, &ab, &ba) || diff_groups(A, ab, B, ba, &tab, &groups, &ng))
        goto oom;
    if (!(old_b = calloc(B->nobjs + 1, 1)) || !(new_b = calloc(B->nobjs + 1, 1)))
        goto oom;
    struct diff_counts dc;
    diff_mark(A, ab, B, ba, old_b, new_b, &dc);
    uint64_t nnew = dc.nnew, bnew = dc.bnew, ndel = dc.ndel, bdel = dc.bdel;
    if (diff_growth(B, &d[1].s.r, old_b, new_b, &growth, &ngrowth, &ret_b))
        goto oom;
    if (three) {
        /* B's references and retained sizes have served (growth is
         * computed; its names need only the dominators): freed before C is
         * loaded, so that a three-way diff holds one whole graph, not two */
        graph_free(&d[1].s.h.g);
        free(d[1].s.r.retained_size);
        free(d[1].s.r.retained_count);
        d[1].s.r.retained_size = NULL;
        d[1].s.r.retained_count = NULL;
        if (side_open(&d[2], a.pos[2], &a, SESSION_RESULTS))
            goto out;
        C = &d[2].s.h;
        if (dtypes_build(&tbc, B, C, err, sizeof err)) {
            cli_error("%s", err);
            goto out;
        }
        if (diff_match(B, &d[1].w, C, &d[2].w, &tbc, &bc, &cb) || !(old_c = calloc(C->nobjs + 1, 1)) ||
            !(surv_c = calloc(C->nobjs + 1, 1)))
            goto oom;
        for (uint32_t k = 0; k < C->nobjs; k++) {
            old_c[k] = cb[k] != GRAPH_NONE && ba[cb[k]] != GRAPH_NONE;
            surv_c[k] = cb[k] != GRAPH_NONE && ba[cb[k]] == GRAPH_NONE;
        }
        if (diff_growth(C, &d[2].s.r, old_c, surv_c, &surv, &nsurv, &ret_c))
            goto oom;
    }

    out_begin(&j, &a);
    char b1[32], b2[32];
    if (a.json) {
        json_begin_object(&j);
        json_key(&j, "files");
        json_begin_array(&j);
        for (int k = 0; k < a.npos; k++)
            json_string(&j, a.pos[k]);
        json_end_array(&j);
        json_kv_uint(&j, "new_count", nnew);
        json_kv_uint(&j, "new_bytes", bnew);
        json_kv_uint(&j, "deleted_count", ndel);
        json_kv_uint(&j, "deleted_bytes", bdel);
        json_kv_bool(&j, "first_words_compared", d[0].w.available && d[1].w.available);
    } else {
        printf("%s -> %s: %" PRIu64 " new objects (%s), %" PRIu64 " deleted (%s), net %+" PRId64 " objects, %+" PRId64
               " bytes\n",
               a.pos[0], a.pos[1], nnew, units_bytes(b1, sizeof b1, bnew), ndel, units_bytes(b2, sizeof b2, bdel),
               (int64_t)nnew - (int64_t)ndel, (int64_t)bnew - (int64_t)bdel);
    }
    print_types(groups, ng, &a, &j);
    print_growth("Retained growth: new objects of B that are reachable, by what holds them:", growth, ngrowth, &d[1],
                 &a, &j, "growth");
    if (three)
        print_growth("Survivors: new in B and still alive in C (the strongest leak candidates), held in C by:", surv,
                     nsurv, &d[2], &a, &j, "survivors");
    if (a.json)
        json_end_object(&j);
    rc = out_finish(&j, &a);

    if (a.output && rc == EXIT_OK) {
        rc = EXIT_FAIL;
        if (!diff_out_may_write(a.output)) {
            cli_error("%s: exists and is not a diff output of heapsnap; heapsnap will not replace it "
                      "(choose another with -o FILE, or move it away)", a.output);
            goto out;
        }
        if (diff_out_open(&o, a.output, err, sizeof err)) {
            cli_error("%s", err);
            goto out;
        }
        int ok = 1;
        char gn[128];
        for (int k = 0; k < a.npos && ok; k++)
            ok = diff_out_file(&o, (char[]){(char)('A' + k), 0}, a.pos[k]) == 0;
        for (size_t k = 0; k < ng && ok; k++)
            ok = diff_out_type(&o, hg_group_name(groups[k].from, groups[k].own, gn, sizeof gn),
                               (int64_t)groups[k].nnew, (int64_t)groups[k].ndel, (int64_t)groups[k].alloc,
                               (int64_t)groups[k].freed) == 0;
        for (uint32_t i = 0; i < A->nobjs && ok; i++)
            if (hg_program(A, i) && ab[i] == GRAPH_NONE)
                ok = diff_out_object(&o, "A", A, i, "deleted", NULL) == 0;
        for (uint32_t i = 0; i < B->nobjs && ok; i++)
            if (new_b[i])
                ok = diff_out_object(&o, "B", B, i, "new",
                                     ret_b[i] == GRAPH_NONE ? NULL : name_of(&nb, B, &d[1].s.r, ret_b[i])) == 0;
        for (uint32_t k = 0; three && k < C->nobjs && ok; k++)
            if (surv_c[k] && hg_program(C, k))
                ok = diff_out_object(&o, "C", C, k, "survivor",
                                     ret_c[k] == GRAPH_NONE ? NULL : name_of(&nc, C, &d[2].s.r, ret_c[k])) == 0;
        for (int pass = 0; pass < 1 + three && ok; pass++) {
            const struct diff_growth *g = pass ? surv : growth;
            size_t n = pass ? nsurv : ngrowth;
            const struct side *sd = &d[pass ? 2 : 1];
            for (size_t k = 0; k < n && ok; k++) {
                char name[600];
                ok = diff_out_growth(&o, pass ? "survivor" : "growth",
                                     diff_retainer_name(&sd->s.h, &sd->s.r, g[k].retainer, name, sizeof name),
                                     hg_group_name(&sd->s.h, g[k].key, gn, sizeof gn), g[k].count, g[k].bytes,
                                     sd->s.h.addr[g[k].example]) == 0;
            }
        }
        if (!ok) {
            cli_error("%s: %s", a.output, sqlite3_errmsg(o.db));
            goto out;
        }
        if (diff_out_commit(&o, a.output, err, sizeof err)) {
            cli_error("%s", err);
            goto out;
        }
        rc = EXIT_OK;
    }
    goto out;
oom:
    cli_error("out of memory comparing the snapshots");
    rc = EXIT_FAIL;
out:
    diff_out_close(&o);
    dtypes_free(&tab);
    dtypes_free(&tbc);
    names_free(&nb);
    names_free(&nc);
    free(ab);
    free(ba);
    free(bc);
    free(cb);
    free(ret_b);
    free(ret_c);
    free(old_b);
    free(new_b);
    free(old_c);
    free(surv_c);
    free(groups);
    free(growth);
    free(surv);
    for (int k = 0; k < 3; k++)
        side_close(&d[k]);
    args_free(&a);
    return rc;
}
