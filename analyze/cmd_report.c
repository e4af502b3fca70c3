/*
 * cmd_report.c — `heapsnap report FILE [FILE2] -o report.html`: one HTML
 * page to open in a browser, from disk, with no network: the summary, RSS
 * by kind of mapping as a chart, a treemap of retained memory (root -> ...
 * -> type, pprof/rtree.h) that zooms on click, the top retainers, the leak
 * groups, the goroutine groups, and with FILE2 the growth since FILE by
 * what holds it.  With FILE2 the page describes FILE2 (the later state).
 *
 * The figures come from the same functions as top, leaks, rss, goroutines
 * and diff (so --json of those says the same); they are gathered here into
 * one JSON document, which --json prints instead of writing the page, and
 * report/page.c draws the page from it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/rss.h"
#include "session.h"
#include "cli.h"
#include "commands.h"
#include "outfile.h"
#include "pprof/rtree.h"
#include "report/report.h"

#define TOP_N       20     /* rows per retainer table */
#define TREE_KIDS   40     /* children shown per treemap node, the rest as one "other" */
#define TREE_DEPTH  12     /* levels; deeper paths are folded into their ancestor */
#define TREE_SHARE  2000   /* a path shown on its own holds at least 1/TREE_SHARE of the heap */

static const char help[] =
    "usage: heapsnap report [options] FILE.hsnap|FILE.db [FILE2] -o REPORT.html\n"
    "\n"
    "Write one self-contained HTML page about the heap, to open in any browser\n"
    "from disk (it loads nothing from the network): a summary, resident memory by\n"
    "kind of mapping, a treemap of retained memory from roots to types that zooms\n"
    "on click, the top retainers, the leak groups and (Go) the goroutine groups.\n"
    "With FILE2 the page describes FILE2 and adds what grew since FILE, by what\n"
    "holds it (as heapsnap diff FILE FILE2).\n"
    "\n"
    "options:\n"
    "  -o FILE            the page (default: FILE's name with .html); mode 0600,\n"
    "                     never over a file heapsnap did not write\n"
    "  --json             print the page's figures as one JSON document instead\n"
    "  --debug-dir DIR    where to look for debug files when indexing a snapshot\n"
    "  -h, --help         this help\n"
    "\n"
    "exit status: 0 success, 1 a file could not be analysed, 2 usage\n";

static void summary(struct json *j, const struct session *s, const struct leaks *l, const struct rss_figures *f,
                    int have_rss)
{
    sqlite3_stmt *q;
    json_key(j, "summary");
    json_begin_object(j);
    if (sqlite3_prepare_v2(s->db, "SELECT exe, pid, allocator, capture_time FROM snapshot", -1, &q, NULL) == SQLITE_OK) {
        if (sqlite3_step(q) == SQLITE_ROW) {
            json_kv_string(j, "exe", (const char *)sqlite3_column_text(q, 0));
            json_kv_int(j, "pid", sqlite3_column_int64(q, 1));
            json_kv_string(j, "allocator", (const char *)sqlite3_column_text(q, 2));
            json_kv_string(j, "capture_time", (const char *)sqlite3_column_text(q, 3));
        }
        sqlite3_finalize(q);
    }
    json_kv_uint(j, "used_count", s->h.used_count);
    json_kv_uint(j, "used_bytes", s->h.used_bytes);
    json_kv_uint(j, "reachable_count", s->r.reachable_count);
    json_kv_uint(j, "reachable_bytes", s->r.reachable_bytes);
    json_kv_uint(j, "leaked_count", l->count);
    json_kv_uint(j, "leaked_bytes", l->bytes);
    if (have_rss)
        json_kv_uint(j, "rss", f->total_rss);
    json_end_object(j);
}

static void rss(struct json *j, const struct rss_figures *f, int have)
{
    json_key(j, "rss");
    if (!have) {
        json_null(j);
        return;
    }
    json_begin_object(j);
    json_kv_uint(j, "rss", f->total_rss);
    rss_json_kinds(j, f);
    json_end_object(j);
}

struct kids {
    uint32_t *first, *list; /* CSR: children of node k are list[first[k] .. first[k + 1]) */
};

static const struct rtree *sort_tree;
static int by_total(const void *a, const void *b)
{
    uint64_t x = sort_tree->v[*(const uint32_t *)a].total_bytes, y = sort_tree->v[*(const uint32_t *)b].total_bytes;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void tree_node(struct json *j, const struct rtree *t, const struct kids *c, uint32_t k, uint64_t min,
                      unsigned depth)
{
    const struct rt_node *x = &t->v[k];
    json_begin_object(j);
    json_kv_string(j, "name", k ? t->frames[x->frame] : "heap");
    json_kv_uint(j, "total", x->total_bytes);
    uint32_t n = c->first[k + 1] - c->first[k];
    if (depth >= TREE_DEPTH || !n) {
        json_kv_uint(j, "self", x->total_bytes); /* the subtree folded in */
        json_end_object(j);
        return;
    }
    json_kv_uint(j, "self", x->bytes);
    json_key(j, "children");
    json_begin_array(j);
    uint64_t other = 0, nother = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t ch = c->list[c->first[k] + i];
        if (!t->v[ch].total_bytes)
            continue;
        if (i < TREE_KIDS && t->v[ch].total_bytes >= min)
            tree_node(j, t, c, ch, min, depth + 1);
        else
            other += t->v[ch].total_bytes, nother++;
    }
    if (other) {
        char name[64];
        snprintf(name, sizeof name, "%" PRIu64 " smaller paths", nother);
        json_begin_object(j);
        json_kv_string(j, "name", name);
        json_kv_uint(j, "total", other);
        json_kv_uint(j, "self", other);
        json_end_object(j);
    }
    json_end_array(j);
    json_end_object(j);
}

static int tree(struct json *j, const struct rtree *t)
{
    struct kids c = {calloc(t->n + 1, sizeof *c.first), malloc((t->n + 1) * sizeof *c.list)};
    if (!c.first || !c.list) {
        free(c.first);
        free(c.list);
        return -1;
    }
    for (size_t k = 1; k < t->n; k++)
        c.first[t->v[k].parent + 1]++;
    for (size_t k = 0; k < t->n; k++)
        c.first[k + 1] += c.first[k];
    uint32_t *fill = calloc(t->n, sizeof *fill);
    if (!fill) {
        free(c.first);
        free(c.list);
        return -1;
    }
    for (size_t k = 1; k < t->n; k++) {
        uint32_t p = t->v[k].parent;
        c.list[c.first[p] + fill[p]++] = (uint32_t)k;
    }
    sort_tree = t;
    for (size_t k = 0; k < t->n; k++)
        qsort(c.list + c.first[k], c.first[k + 1] - c.first[k], sizeof *c.list, by_total);
    json_key(j, "tree");
    tree_node(j, t, &c, 0, t->v[0].total_bytes / TREE_SHARE, 0);
    free(fill);
    free(c.first);
    free(c.list);
    return 0;
}

static void retainer_list(struct json *j, const char *key, const struct hgraph *h, const struct retainer *r, size_t n)
{
    char name[256];
    json_key(j, key);
    json_begin_array(j);
    for (size_t k = 0; k < n; k++) {
        json_begin_object(j);
        json_kv_string(j, "name", hg_node_name(h, r[k].node, name, sizeof name));
        json_kv_uint(j, "retained_size", r[k].retained_size);
        json_kv_uint(j, "retained_count", r[k].retained_count);
        json_end_object(j);
    }
    json_end_array(j);
}

static int retainers(struct json *j, const struct session *s)
{
    struct retainer *objs = NULL, *roots = NULL, *groups = NULL;
    size_t no = 0, nr = 0, ng = 0;
    char name[256];
    if (retainers_top(&s->h, &s->r, TOP_N, &objs, &no, &roots, &nr, &groups, &ng))
        return -1;
    json_key(j, "retainers");
    json_begin_object(j);
    retainer_list(j, "objects", &s->h, objs, no);
    retainer_list(j, "roots", &s->h, roots, nr);
    json_key(j, "types");
    json_begin_array(j);
    for (size_t k = 0; k < ng && k < TOP_N; k++) {
        json_begin_object(j);
        json_kv_string(j, "type", hg_group_name(&s->h, groups[k].key, name, sizeof name));
        json_kv_uint(j, "count", groups[k].count);
        json_kv_uint(j, "shallow_size", groups[k].shallow);
        json_kv_uint(j, "retained_size", groups[k].retained_size);
        json_kv_uint(j, "retained_count", groups[k].retained_count);
        json_end_object(j);
    }
    json_end_array(j);
    json_end_object(j);
    free(objs);
    free(roots);
    free(groups);
    return 0;
}

static void leak_groups(struct json *j, const struct session *s, const struct leaks *l)
{
    char name[256];
    json_key(j, "leaks");
    json_begin_object(j);
    json_kv_uint(j, "count", l->count);
    json_kv_uint(j, "bytes", l->bytes);
    json_key(j, "groups");
    json_begin_array(j);
    for (size_t k = 0; k < l->ngroups; k++) {
        json_begin_object(j);
        json_kv_string(j, "type", hg_group_name(&s->h, l->groups[k].key, name, sizeof name));
        json_kv_uint(j, "count", l->groups[k].count);
        json_kv_uint(j, "bytes", l->groups[k].bytes);
        json_end_object(j);
    }
    json_end_array(j);
    json_end_object(j);
}

/* The groups heapsnap goroutines shows, or null when the heap is not Go's. */
static void goroutines(struct json *j, sqlite3 *db)
{
    sqlite3_stmt *q;
    json_key(j, "goroutines");
    if (sqlite3_prepare_v2(db,
                           "SELECT count(*), coalesce(start_func, '?'), status, coalesce(wait_reason, ''),"
                           " coalesce(created_by, '?') FROM goroutines GROUP BY 2, 3, 4, 5 ORDER BY 1 DESC, 2, 3, 4",
                           -1, &q, NULL) != SQLITE_OK) {
        json_null(j);
        return;
    }
    json_begin_array(j);
    while (sqlite3_step(q) == SQLITE_ROW) {
        json_begin_object(j);
        json_kv_int(j, "count", sqlite3_column_int64(q, 0));
        json_kv_string(j, "start_func", (const char *)sqlite3_column_text(q, 1));
        json_kv_string(j, "status", (const char *)sqlite3_column_text(q, 2));
        json_kv_string(j, "wait_reason", (const char *)sqlite3_column_text(q, 3));
        json_kv_string(j, "created_by", (const char *)sqlite3_column_text(q, 4));
        json_end_object(j);
    }
    json_end_array(j);
    sqlite3_finalize(q);
}

/* Growth from a (older, objects only) to b, as heapsnap diff A B computes it. */
static int diff(struct json *j, const char *fa, const char *fb, struct session *b, const struct args *args)
{
    struct session a;
    struct dwords wa = {0}, wb = {0};
    struct dtypes t = {0};
    uint32_t *ab = NULL, *ba = NULL, *ret = NULL;
    uint8_t *old = NULL, *fresh = NULL;
    struct diff_growth *g = NULL;
    size_t ng = 0;
    char err[A_ERRLEN], name[600], gn[256];
    int rc = -1;
    if (session_open(&a, fa, args, SESSION_NO_REFS))
        return -1;
    if (dwords_load(&wa, &a.h, NULL, err, sizeof err) || dwords_load(&wb, &b->h, NULL, err, sizeof err) ||
        dtypes_build(&t, &a.h, &b->h, err, sizeof err)) {
        cli_error("%s", err);
        goto out;
    }
    const struct hgraph *A = &a.h, *B = &b->h;
    if (diff_match(A, &wa, B, &wb, &t, &ab, &ba) || !(old = calloc(B->nobjs + 1, 1)) ||
        !(fresh = calloc(B->nobjs + 1, 1))) {
        cli_error("%s: out of memory", fb);
        goto out;
    }
    struct diff_counts dc;
    diff_mark(A, ab, B, ba, old, fresh, &dc);
    uint64_t nnew = dc.nnew, bnew = dc.bnew, ndel = dc.ndel, bdel = dc.bdel;
    if (diff_growth(B, &b->r, old, fresh, &g, &ng, &ret)) {
        cli_error("%s: out of memory", fb);
        goto out;
    }
    json_key(j, "diff");
    json_begin_object(j);
    json_kv_string(j, "from", fa);
    json_kv_string(j, "to", fb);
    json_kv_uint(j, "new_count", nnew);
    json_kv_uint(j, "new_bytes", bnew);
    json_kv_uint(j, "deleted_count", ndel);
    json_kv_uint(j, "deleted_bytes", bdel);
    json_key(j, "growth");
    json_begin_array(j);
    for (size_t k = 0; k < ng && k < 2 * TOP_N; k++) {
        json_begin_object(j);
        json_kv_string(j, "retainer", diff_retainer_name(B, &b->r, g[k].retainer, name, sizeof name));
        json_kv_string(j, "type", hg_group_name(B, g[k].key, gn, sizeof gn));
        json_kv_uint(j, "count", g[k].count);
        json_kv_uint(j, "bytes", g[k].bytes);
        json_end_object(j);
    }
    json_end_array(j);
    json_end_object(j);
    rc = 0;
out:
    free(ab);
    free(ba);
    free(ret);
    free(old);
    free(fresh);
    free(g);
    dtypes_free(&t);
    dwords_free(&wa);
    dwords_free(&wb);
    session_close(&a);
    return rc;
}


int cmd_report(int argc, char **argv)
{
    struct args a;
    int rc = args_parse(&a, argc, argv, help, ARG_OUTPUT, 1, 2);
    if (rc >= 0)
        return rc;
    rc = EXIT_FAIL;
    const char *file = a.pos[a.npos - 1];
    struct session s;
    struct leaks l = {0};
    struct rtree t = {0};
    struct rss_figures f;
    struct outfile of = {.fd = -1};
    char err[A_ERRLEN], *buf = NULL, *out = NULL;
    size_t len = 0;
    int progress = isatty(2), have_rss = 0, have_leaks = 0;
    FILE *m = NULL;
    if (session_open(&s, file, &a, SESSION_RESULTS))
        goto done;
    if (progress)
        notify_progress("report: leaks", 0, 4);
    if (leaks_find(&l, &s.h, &s.r)) {
        cli_error("%s: out of memory finding leaks", file);
        goto done;
    }
    have_leaks = 1;
    if (progress)
        notify_progress("report: resident memory", 1, 4);
    memset(&f, 0, sizeof f);
    if (rss_compute(&f, s.db, file, db_is_database(file) ? NULL : file, err, sizeof err) == 0)
        have_rss = 1;
    else
        cli_warn("%s (the page has no RSS chart)", err);
    if (progress)
        notify_progress("report: retention paths", 2, 4);
    if (rtree_build(&t, &s.h, &s.r, RT_FIELDS, progress)) {
        cli_error("%s: out of memory", file);
        goto done;
    }
    if (!(m = open_memstream(&buf, &len))) {
        cli_error("out of memory");
        goto done;
    }
    struct json j;
    json_init(&j, m, a.json ? JSON_PRETTY : JSON_COMPACT);
    json_begin_object(&j);
    json_kv_string(&j, "file", file);
    summary(&j, &s, &l, &f, have_rss);
    rss(&j, &f, have_rss);
    if (tree(&j, &t) || retainers(&j, &s)) {
        cli_error("%s: out of memory", file);
        goto done;
    }
    leak_groups(&j, &s, &l);
    goroutines(&j, s.db);
    if (a.npos == 2) {
        if (progress)
            notify_progress("report: growth", 3, 4);
        if (diff(&j, a.pos[0], file, &s, &a))
            goto done;
    } else {
        json_kv_null(&j, "diff");
    }
    json_end_object(&j);
    if (progress)
        notify_progress_done();
    if (json_finish(&j) || fflush(m)) {
        cli_error("out of memory");
        goto done;
    }
    if (a.json) {
        fwrite(buf, 1, len, stdout);
        rc = fflush(stdout) ? (cli_error("stdout: write error"), EXIT_FAIL) : EXIT_OK;
        goto done;
    }
    if (!(out = a.output ? strdup(a.output) : outfile_name_for(file, ".html"))) {
        cli_error("out of memory");
        goto done;
    }
    if (outfile_open(&of, out, report_is_ours, err, sizeof err)) {
        cli_error("%s", err);
        goto done;
    }
    FILE *o = fdopen(of.fd, "w");
    if (!o || report_page(o, file, buf, len) || fflush(o)) {
        cli_error("%s: write error", out);
        if (o)
            fclose(o);
        of.fd = -1;
        outfile_abort(&of);
        goto done;
    }
    of.fd = dup(fileno(o));
    fclose(o);
    if (of.fd < 0 || outfile_commit(&of, err, sizeof err)) {
        cli_error("%s", of.fd < 0 ? "dup failed" : err);
        if (of.fd < 0)
            outfile_abort(&of);
        goto done;
    }
    fprintf(stderr, "heapsnap report: wrote %s\n", out);
    rc = EXIT_OK;
done:
    if (progress)
        notify_progress_done();
    if (m)
        fclose(m);
    free(buf);
    free(out);
    rtree_free(&t);
    if (have_leaks)
        leaks_free(&l);
    session_close(&s);
    args_free(&a);
    return rc;
}
