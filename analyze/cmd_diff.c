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
#include "base/clock.h"
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

/* Open file's database (indexing a snapshot first), cheaply: every file
 * is opened before any graph is loaded, so that a bad one is said at once. */
static int side_open_db(struct side *d, const char *file, const struct args *a)
{
    if (session_open_db(&d->s, file, a))
        return -1;
    d->open = 1;
    return 0;
}

/* Load d's graph (session_load's flags) and the first words of its objects. */
static int side_load(struct side *d, const char *file, unsigned flags)
{
    char err[A_ERRLEN];
    d->s.t_open = clock_wall_s(); /* HEAPSNAP_TIMING's "load": this load, not the wait since opening */
    d->s.c_open = clock_cpu_s();
    if (session_load(&d->s, file, flags))
        return -1;
    if (dwords_load(&d->w, &d->s.h, NULL, err, sizeof err)) {
        cli_error("%s", err);
        return -1;
    }
    if (!d->w.available && d->w.why[0])
        cli_warn("%s: the snapshot could not be read (%s): objects are matched by address, size and type only",
                 file, d->w.why);
    else if (!d->w.available)
        cli_warn("%s: the snapshot is not at hand: objects are matched by address, size and type only", file);
    return 0;
}

/* After its dominators: what diff needs of a newer side is the tree (idom,
 * for the retainers), not its references or retained sizes. */
static void side_keep_dominators(struct side *d)
{
    graph_free(&d->s.h.g);
    free(d->s.r.retained_size);
    free(d->s.r.retained_count);
    d->s.r.retained_size = NULL;
    d->s.r.retained_count = NULL;
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

static void print_growth(FILE *f, const char *title, const struct diff_growth *g, size_t n, const struct side *d,
                         const struct args *a, struct json *j, const char *key)
{
    const struct hgraph *h = &d->s.h;
    char name[600], gn[128];
    if (a->json) {
        json_key(j, key);
        json_begin_array(j);
    } else {
        fprintf(f, "\n%s\n", title);
        if (!n)
            fprintf(f, "  none\n");
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
            fprintf(f, "  %12" PRIu64 " bytes  %s -> %" PRIu64 " x %s  (e.g. 0x%" PRIx64 ")\n", g[k].bytes, name, g[k].count,
                   gn, h->addr[g[k].example]);
        }
    }
    if (a->json)
        json_end_array(j);
    else if (n > (size_t)a->limit)
        fprintf(f, "  ... %zu more (--limit)\n", n - (size_t)a->limit);
}

static void print_types(FILE *f, const struct diff_group *g, size_t n, const struct args *a, struct json *j)
{
    char gn[128];
    if (a->json) {
        json_key(j, "types");
        json_begin_array(j);
    } else {
        fprintf(f, "\n  %9s  %9s  %9s  %12s  %12s  %12s  %s\n", "# New", "# Deleted", "# Delta", "Alloc. Size",
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
            fprintf(f, "  %9" PRIu64 "  %9" PRIu64 "  %+9" PRId64 "  %12" PRIu64 "  %12" PRIu64 "  %+12" PRId64 "  %s\n",
                   g[k].nnew, g[k].ndel, dc, g[k].alloc, g[k].freed, ds, gn);
        }
    }
    if (a->json)
        json_end_array(j);
    else if (n > (size_t)a->limit)
        fprintf(f, "  ... %zu more types (--limit)\n", n - (size_t)a->limit);
}

/* ------------------------------------------------------------ the command */

/* The rows -o keeps of one newer side d (snapshot letter snap): its
 * objects marked, with status and retainer, and its growth rows of kind. */
static int out_side(struct diff_out *o, const char *snap, const char *status, const char *kind, const struct side *d,
                    const uint8_t *mark, const uint32_t *ret, const struct diff_growth *g, size_t n, struct names *nm)
{
    const struct hgraph *h = &d->s.h;
    char gn[128], name[600];
    for (uint32_t i = 0; i < h->nobjs; i++)
        if (mark[i] && hg_program(h, i) &&
            diff_out_object(o, snap, h, i, status, ret[i] == GRAPH_NONE ? NULL : name_of(nm, h, &d->s.r, ret[i])))
            return -1;
    for (size_t k = 0; k < n; k++)
        if (diff_out_growth(o, kind, diff_retainer_name(h, &d->s.r, g[k].retainer, name, sizeof name),
                            hg_group_name(h, g[k].key, gn, sizeof gn), g[k].count, g[k].bytes, h->addr[g[k].example]))
            return -1;
    return 0;
}

/* The rows -o keeps of A and B: the files, the types, A's deleted objects,
 * B's new ones with their retainers, B's growth.  0, or -1 (the database's
 * error is in o->db). */
static int out_ab(struct diff_out *o, const struct args *a, const struct diff_group *groups, size_t ng,
                  const struct hgraph *A, const uint32_t *ab, const struct side *b, const uint8_t *new_b,
                  const uint32_t *ret_b, const struct diff_growth *growth, size_t ngrowth, struct names *nb)
{
    char gn[128];
    for (int k = 0; k < a->npos; k++)
        if (diff_out_file(o, (char[]){(char)('A' + k), 0}, a->pos[k]))
            return -1;
    for (size_t k = 0; k < ng; k++)
        if (diff_out_type(o, hg_group_name(groups[k].from, groups[k].own, gn, sizeof gn), (int64_t)groups[k].nnew,
                          (int64_t)groups[k].ndel, (int64_t)groups[k].alloc, (int64_t)groups[k].freed))
            return -1;
    for (uint32_t i = 0; i < A->nobjs; i++)
        if (hg_program(A, i) && ab[i] == GRAPH_NONE && diff_out_object(o, "A", A, i, "deleted", NULL))
            return -1;
    return out_side(o, "B", "new", "growth", b, new_b, ret_b, growth, ngrowth, nb);
}

/*
 * The order of the work is the memory bound of a diff.  B's graph is
 * loaded and its dominators computed while nothing else is held; then
 * only its dominator tree is kept, and A's objects (no references) are
 * loaded beside it.  A and B are compared, and everything said of them is
 * said then: the report's first part (into memory when C follows) and
 * -o's rows of A and B.  With C, A is then closed and B cut down to what
 * an object's identity needs; C's objects are loaded and matched against
 * B's; B is closed; and only then are C's references loaded and its
 * dominators computed.  So one graph is whole at a time, beside nothing of
 * another side but its dominator tree, never three.  (C's objects and
 * references are read one after the other, not on two threads as a single
 * load does: some seconds more, for not holding B beside C's references.)
 * Nothing reaches stdout until every file could be read.
 */
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
    struct json j = {0};
    FILE *mem = NULL;
    char *membuf = NULL;
    size_t memlen = 0;
    int three = a.npos == 3, created = 0;
    rc = EXIT_FAIL;
    if (a.output && !diff_out_may_write(a.output)) {
        cli_error("%s: exists and is not a diff output of heapsnap; heapsnap will not replace it "
                  "(choose another with -o FILE, or move it away)", a.output);
        goto out;
    }
    /* B's dominators first, while nothing else is held; then A's objects */
    for (int k = 0; k < a.npos; k++)
        if (side_open_db(&d[k], a.pos[k], &a))
            goto out;
    if (side_load(&d[1], a.pos[1], SESSION_RESULTS | SESSION_REFS_FOR_RESULTS))
        goto out;
    side_keep_dominators(&d[1]);
    if (side_load(&d[0], a.pos[0], SESSION_NO_REFS))
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
    if (diff_growth(B, &d[1].s.r, old_b, new_b, &growth, &ngrowth, &ret_b))
        goto oom;

    FILE *f = stdout;
    if (three && !(f = mem = open_memstream(&membuf, &memlen)))
        goto oom;
    out_begin(&j, &a);
    j.out = f;
    char b1[32], b2[32];
    if (a.json) {
        json_begin_object(&j);
        json_key(&j, "files");
        json_begin_array(&j);
        for (int k = 0; k < a.npos; k++)
            json_string(&j, a.pos[k]);
        json_end_array(&j);
        json_kv_uint(&j, "new_count", dc.nnew);
        json_kv_uint(&j, "new_bytes", dc.bnew);
        json_kv_uint(&j, "deleted_count", dc.ndel);
        json_kv_uint(&j, "deleted_bytes", dc.bdel);
        json_kv_bool(&j, "first_words_compared", d[0].w.available && d[1].w.available);
    } else {
        fprintf(f, "%s -> %s: %" PRIu64 " new objects (%s), %" PRIu64 " deleted (%s), net %+" PRId64 " objects, %+" PRId64
                " bytes\n",
                a.pos[0], a.pos[1], dc.nnew, units_bytes(b1, sizeof b1, dc.bnew), dc.ndel,
                units_bytes(b2, sizeof b2, dc.bdel), (int64_t)dc.nnew - (int64_t)dc.ndel,
                (int64_t)dc.bnew - (int64_t)dc.bdel);
    }
    print_types(f, groups, ng, &a, &j);
    print_growth(f, "Retained growth: new objects of B that are reachable, by what holds them:", growth, ngrowth,
                 &d[1], &a, &j, "growth");
    if (a.output) {
        created = access(a.output, F_OK) != 0;
        if (diff_out_open(&o, a.output, err, sizeof err)) {
            cli_error("%s", err);
            goto out;
        }
        if (out_ab(&o, &a, groups, ng, A, ab, &d[1], new_b, ret_b, growth, ngrowth, &nb))
            goto out_failed;
    }

    if (three) {
        /* A is done with, and of B only its objects' identity is needed */
        side_close(&d[0]);
        names_free(&nb);
        memset(&nb, 0, sizeof nb);
        free(groups), free(growth), free(ab), free(ret_b), free(old_b), free(new_b);
        groups = NULL, growth = NULL, ab = NULL, ret_b = NULL, old_b = new_b = NULL;
        hresults_free(&d[1].s.r);
        d[1].s.have_results = 0;
        hgraph_trim_to_identity(&d[1].s.h);
        if (side_load(&d[2], a.pos[2], SESSION_NO_REFS))
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
        dtypes_free(&tbc);
        dwords_free(&d[2].w); /* matched: C's first words are not needed again */
        free(bc), free(cb), free(ba);
        bc = cb = ba = NULL;
        side_close(&d[1]);
        B = NULL;
        /* read back if C's are stored, else its references are read first */
        if (session_results(&d[2].s, a.pos[2], SESSION_REFS_FOR_RESULTS))
            goto out;
        side_keep_dominators(&d[2]);
        if (diff_growth(C, &d[2].s.r, old_c, surv_c, &surv, &nsurv, &ret_c))
            goto oom;
        /* the first part, then the rest straight to stdout */
        mem = NULL;
        if (fclose(f) != 0)
            goto oom;
        f = stdout;
        j.out = f;
        if (fwrite(membuf, 1, memlen, f) != memlen) {
            cli_error("stdout: write error");
            goto out;
        }
        print_growth(f, "Survivors: new in B and still alive in C (the strongest leak candidates), held in C by:",
                     surv, nsurv, &d[2], &a, &j, "survivors");
        if (a.output && out_side(&o, "C", "survivor", "survivor", &d[2], surv_c, ret_c, surv, nsurv, &nc))
            goto out_failed;
    }
    if (a.json)
        json_end_object(&j);
    rc = out_finish(&j, &a);
    if (a.output && rc == EXIT_OK) {
        rc = EXIT_FAIL;
        if (diff_out_commit(&o, a.output, err, sizeof err)) {
            cli_error("%s", err);
            goto out;
        }
        created = 0;
        rc = EXIT_OK;
    }
    goto out;
out_failed:
    cli_error("%s: %s", a.output, sqlite3_errmsg(o.db));
    rc = EXIT_FAIL;
    goto out;
oom:
    cli_error("out of memory comparing the snapshots");
    rc = EXIT_FAIL;
out:
    diff_out_close(&o);
    if (created && rc != EXIT_OK)
        unlink(a.output); /* made by this run, and left unfinished */
    if (mem)
        fclose(mem);
    free(membuf);
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
