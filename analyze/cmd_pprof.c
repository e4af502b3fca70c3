/*
 * cmd_pprof.c — `heapsnap pprof FILE [-o FILE.pb.gz] [--by retainer|type|alloc]`:
 * a snapshot as a pprof heap profile, for `go tool pprof` and the flame
 * graphs people already read.
 *
 *   --by retainer  each sample is the objects that end on one retention path
 *                  (pprof/rtree.h): root -> ... -> type, so a flame graph
 *                  shows what holds the memory, as goref does, for glibc and
 *                  Go heaps alike
 *   --by type      one frame per type
 *   --by alloc     (Go) the runtime's own heap profile, rebuilt from the
 *                  profiling buckets in the snapshot (pprof/goalloc.c):
 *                  where the memory was allocated, as /debug/pprof/heap
 *                  would have said at the moment of the capture
 *
 * The values of retainer and type profiles are inuse_objects/count and
 * inuse_space/bytes, their totals the program's used heap (heapsnap top's
 * used_count and used_bytes).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session.h"
#include "cli.h"
#include "commands.h"
#include "outfile.h"
#include "pprof/goalloc.h"
#include "pprof/profile.h"
#include "pprof/rtree.h"

static const char help[] =
    "usage: heapsnap pprof [options] FILE.hsnap|FILE.db\n"
    "\n"
    "Write the heap as a pprof profile (gzipped profile.proto) for\n"
    "  go tool pprof -http=127.0.0.1:8080 FILE.pb.gz   (flame graph, top, ...)\n"
    "\n"
    "  --by retainer  (default) each stack is a retention path: the root that\n"
    "                 alone keeps the objects alive, the types (and fields) of\n"
    "                 the objects that dominate them, their own type last;\n"
    "                 a frame's cumulative value is what that path retains.\n"
    "                 Objects held by several roots are under 'several roots',\n"
    "                 unreachable ones under 'unreachable (leaked)'.\n"
    "  --by type      one frame per type (untyped objects by size)\n"
    "  --by alloc     Go only: the runtime's heap profile at the moment of the\n"
    "                 capture (where the live memory was allocated), rebuilt from\n"
    "                 the runtime's profiling buckets; the same as\n"
    "                 /debug/pprof/heap would have returned then.  The sampled\n"
    "                 live objects' allocation stacks are in the database, table\n"
    "                 go_alloc_objects (docs/schema.md).\n"
    "\n"
    "Values: inuse_objects (count) and inuse_space (bytes); --by alloc adds\n"
    "alloc_objects and alloc_space, as the runtime's own profile does.\n"
    "go tool pprof -diff_base OLD.pb.gz NEW.pb.gz shows the growth.\n"
    "\n"
    "options:\n"
    "  -o FILE            the profile (default: FILE's name with .pb.gz);\n"
    "                     mode 0600, never over a file heapsnap did not write\n"
    ARGS_HELP_COMMON
    "\n"
    "exit status: 0 success, 1 the file could not be analysed, 2 usage\n";

enum by { BY_RETAINER, BY_TYPE, BY_ALLOC };


/* The comment, time and mapping every profile has. */
static void describe(struct prof *p, sqlite3 *db, const char *by)
{
    sqlite3_stmt *s;
    char c[512];
    if (sqlite3_prepare_v2(db, "SELECT exe, pid, capture_time_ns, allocator FROM snapshot", -1, &s, NULL) != SQLITE_OK)
        return;
    if (sqlite3_step(s) == SQLITE_ROW) {
        const char *exe = (const char *)sqlite3_column_text(s, 0);
        snprintf(c, sizeof c, "heapsnap pprof --by %s: %s (pid %lld, %s heap)", by, exe ? exe : "?",
                 (long long)sqlite3_column_int64(s, 1),
                 sqlite3_column_text(s, 3) ? (const char *)sqlite3_column_text(s, 3) : "unknown");
        prof_comment(p, c);
        prof_time(p, sqlite3_column_int64(s, 2));
    }
    sqlite3_finalize(s);
    /* the executable's mapping: pprof names the binary from it */
    if (sqlite3_prepare_v2(db, "SELECT min(m.start), max(m.end), m.path, (SELECT build_id FROM modules"
                               " WHERE path = m.path) FROM mappings m, snapshot WHERE m.path = snapshot.exe",
                           -1, &s, NULL) != SQLITE_OK)
        return;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 2))
        prof_mapping(p, (uint64_t)sqlite3_column_int64(s, 0), (uint64_t)sqlite3_column_int64(s, 1),
                     (const char *)sqlite3_column_text(s, 2), (const char *)sqlite3_column_text(s, 3),
                     strcmp(by, "alloc") == 0);
    sqlite3_finalize(s);
}

/* A retainer or type profile from the tree. */
static int tree_profile(struct prof *p, const struct rtree *t)
{
    uint64_t *loc = calloc(t->nframes, sizeof *loc);
    uint64_t stack[RT_MAX_DEPTH + 2];
    if (!loc)
        return -1;
    int rc = 0;
    for (size_t k = 1; k < t->n && !rc; k++) {
        const struct rt_node *x = &t->v[k];
        if (!x->count)
            continue;
        size_t n = 0;
        for (uint32_t y = (uint32_t)k; y != 0 && n < sizeof stack / sizeof stack[0]; y = t->v[y].parent) {
            uint32_t f = t->v[y].frame;
            if (!loc[f]) {
                struct prof_line l = {prof_function(p, t->frames[f], NULL, 0), 0};
                if (!l.function || !(loc[f] = prof_location(p, 0, &l, 1)))
                    rc = -1;
            }
            stack[n++] = loc[f];
        }
        int64_t v[2] = {(int64_t)x->count, (int64_t)x->bytes};
        if (!rc)
            rc = prof_sample(p, stack, n, v, NULL, 0, NULL);
    }
    free(loc);
    return rc;
}

struct by_choice {
    enum by by;
    const char *name;
};

static int on_by(void *u, int id, const char *v)
{
    struct by_choice *c = u;
    (void)id; /* --by, the one option of pprof's own */
    static const char *const names[] = {[BY_RETAINER] = "retainer", [BY_TYPE] = "type", [BY_ALLOC] = "alloc"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (!strcmp(v, names[k])) {
            c->by = (enum by)k;
            c->name = names[k];
            return -1;
        }
    return cli_usage_error("--by takes retainer, type or alloc, not '%s'", v);
}

int cmd_pprof(int argc, char **argv)
{
    static const struct option_spec own[] = {{"--by", NULL, "retainer, type or alloc", ARGS_OWN}, {0}};
    struct by_choice choice = {BY_RETAINER, "retainer"};
    struct args a;
    int rc = args_parse_own(&a, argc, argv, help, ARG_OUTPUT, 1, 1, own, on_by, &choice);
    enum by by = choice.by;
    const char *by_name = choice.name;
    if (rc >= 0)
        return rc;
    rc = EXIT_FAIL;
    struct session s = {0};
    struct rtree t = {0};
    struct prof *p = NULL;
    struct outfile of = {.fd = -1};
    char err[A_ERRLEN];
    int progress = isatty(2);
    char *out = a.output ? strdup(a.output) : outfile_name_for(a.pos[0], ".pb.gz");
    if (!out || !(p = prof_new())) {
        cli_error("out of memory");
        goto done;
    }
    if (session_open(&s, a.pos[0], &a, by == BY_ALLOC ? SESSION_NO_REFS : SESSION_RESULTS))
        goto done;
    describe(p, s.db, by_name);
    if (by == BY_ALLOC) {
        if (goalloc_profile(p, s.db, a.pos[0], progress, err, sizeof err)) {
            cli_error("%s", err);
            goto done;
        }
    } else {
        prof_sample_type(p, "inuse_objects", "count");
        prof_sample_type(p, "inuse_space", "bytes");
        prof_default_type(p, "inuse_space");
        prof_period(p, "space", "bytes", 1);
        if (rtree_build(&t, &s.h, &s.r, by == BY_TYPE ? RT_TYPES : RT_FIELDS, progress) ||
            tree_profile(p, &t)) {
            cli_error("%s: out of memory", a.pos[0]);
            goto done;
        }
    }
    if (outfile_open(&of, out, prof_is_ours, err, sizeof err)) {
        cli_error("%s", err);
        goto done;
    }
    if (prof_write(p, of.fd)) {
        cli_error("%s: %s", out, strerror(errno));
        outfile_abort(&of);
        goto done;
    }
    if (outfile_commit(&of, err, sizeof err)) {
        cli_error("%s", err);
        goto done;
    }
    if (!a.json)
        fprintf(stderr, "heapsnap pprof: wrote %s (go tool pprof -http=127.0.0.1:8080 %s)\n", out, out);
    struct json j;
    out_begin(&j, &a);
    if (a.json) {
        json_begin_object(&j);
        json_kv_string(&j, "file", a.pos[0]);
        json_kv_string(&j, "profile", out);
        json_kv_string(&j, "by", by_name);
        json_end_object(&j);
    }
    rc = out_finish(&j, &a);
done:
    rtree_free(&t);
    prof_free(p);
    session_close(&s);
    free(out);
    args_free(&a);
    return rc;
}
