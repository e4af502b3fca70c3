/*
 * cmd_index.c — `heapsnap index`: build the SQLite database of a snapshot
 * (objects, roots, references, metadata; docs/schema.md) with the indexer
 * pipeline of index/index.h.  Other commands index on first use through
 * open_snapshot_db(); this command is for doing it explicitly, elsewhere, or
 * with particular debug-file options.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "core/hscore.h"
#include "commands.h"
#include "db/db.h"
#include "open.h"
#include "index/index.h"
#include "base/json.h"

static const char help[] =
    "usage: heapsnap index [options] FILE.hsnap|CORE\n"
    "\n"
    "Index a snapshot into an SQLite database: every heap object (used and\n"
    "free; a Go heap's free slots are counts on their spans, go_spans, not\n"
    "objects), the roots (globals, stacks, registers, TLS, unexplained memory),\n"
    "every reference between them, and the snapshot's metadata.  Query it with\n"
    "'heapsnap sql'; docs/schema.md describes the tables.  An ELF core (the\n"
    "kernel's, gcore's, systemd-coredump's .zst/.lz4/.xz) is read as a snapshot.\n"
    "\n"
    "options:\n"
    "  -o, --output DB        write DB (default: FILE.db beside the snapshot)\n"
    "  --debug-dir DIR        look for debug files under DIR too (repeatable)\n"
    "  --exe PATH             a core's executable, when it is not where the core\n"
    "                         says (its ELF headers must match the core's)\n"
    "  --no-separate-debug    ignore separate debug files\n"
    "  --go-binary PATH       the unstripped build of a Go executable built with\n"
    "                         -ldflags='-s -w' (matched by Go build ID and pclntab;\n"
    "                         a --debug-dir holding it by the executable's name\n"
    "                         does the same)\n"
    "  --partial              index a truncated snapshot as far as it goes\n"
    "  --json                 print the summary as JSON\n"
    "  -q, --quiet            print nothing on success\n"
    "  -h, --help             this help\n"
    "\n"
    "The database is written to a temporary file (DB.tmp-PID, mode 0600) and\n"
    "renamed into place, so DB is either the complete new database or left as\n"
    "it was.  DB may replace only a database heapsnap made (the default FILE.db\n"
    "only heapsnap's database of this snapshot); any other file is refused.  Indexing holds a lock on the snapshot: other heapsnap commands\n"
    "that want its index wait, then use this one.\n"
    "exit status: 0 indexed, 1 the snapshot or the database failed, 2 usage\n";

enum { I_OUTPUT = 1, I_DEBUG_DIR, I_GO_BINARY, I_EXE, I_NO_SEPARATE_DEBUG, I_PARTIAL, I_JSON, I_QUIET };
static const struct option_spec index_options_spec[] = {
    {"--output", "-o", "a file name", I_OUTPUT},
    {"--debug-dir", NULL, "a directory", I_DEBUG_DIR},
    {"--go-binary", NULL, "the Go executable's path", I_GO_BINARY},
    {"--exe", NULL, "the executable's path", I_EXE},
    {"--no-separate-debug", NULL, NULL, I_NO_SEPARATE_DEBUG},
    {"--partial", NULL, NULL, I_PARTIAL},
    {"--json", NULL, NULL, I_JSON},
    {"--quiet", "-q", NULL, I_QUIET},
    {0},
};

struct index_args {
    struct index_options *opt;
    const char **dirs;
    const char *output;
    int json, quiet;
};

static int on_index_option(void *u, int id, const char *v)
{
    struct index_args *x = u;
    switch (id) {
    case I_OUTPUT: x->output = v; break;
    case I_DEBUG_DIR: x->dirs[x->opt->dbg.ndebug_dirs++] = v; break;
    case I_GO_BINARY: x->opt->dbg.go_binary = v; break;
    case I_EXE: hs_core_set_exe(v); break;
    case I_NO_SEPARATE_DEBUG: x->opt->dbg.no_separate_debug = 1; break;
    case I_PARTIAL: x->opt->partial = 1; break;
    case I_JSON: x->json = 1; break;
    case I_QUIET: x->quiet = 1; cli_progress_off(); break;
    }
    return -1;
}

/* A Go heap's free slots are not objects (heap/go/spans.c): the walker's
 * facts go.free_slots and go.spans say how many are on how many spans.
 * 0 with both, -1 if the database has no such facts (not a Go heap). */
static int go_free_slots(const char *dbpath, unsigned long long *slots, unsigned long long *spans)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int found = 0;
    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT key, CAST(value AS INTEGER) FROM facts WHERE key IN ('go.free_slots', 'go.spans')",
                           -1, &s, NULL) == SQLITE_OK)
        while (sqlite3_step(s) == SQLITE_ROW) {
            const char *k = (const char *)sqlite3_column_text(s, 0);
            unsigned long long v = (unsigned long long)sqlite3_column_int64(s, 1);
            if (k && !strcmp(k, "go.free_slots"))
                *slots = v, found |= 1;
            else if (k)
                *spans = v, found |= 2;
        }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return found == 3 ? 0 : -1;
}

int cmd_index(int argc, char **argv)
{
    struct index_options opt = {.progress = 1};
    const char **dirs = calloc((size_t)argc + 1, sizeof *dirs);
    if (!dirs) {
        cli_error("out of memory");
        return EXIT_FAIL;
    }
    struct index_args x = {.opt = &opt, .dirs = dirs};
    int rc = options_parse_file(argc, argv, help, index_options_spec, on_index_option, &x, "snapshot", "FILE",
                                &opt.snapshot);
    if (rc >= 0)
        goto out;
    const char *output = x.output;
    int json = x.json, quiet = x.quiet;
    opt.dbg.debug_dirs = dirs;
    char dbpath[4200];
    int implicit = !output;
    if (implicit) {
        db_path_for(opt.snapshot, dbpath, sizeof dbpath);
        output = dbpath;
    }
    opt.output = output;

    struct index_stats st;
    char err[1024];
    int lock = open_lock_snapshot(opt.snapshot, err, sizeof err);
    /* FILE.db, not named by the user, must be this snapshot's (as for the
     * other commands); -o DB may replace any database heapsnap made */
    int failed = lock < 0 || (implicit && db_may_index_into(opt.snapshot, output, err, sizeof err)) ||
                 index_snapshot(&opt, &st, err, sizeof err);
    db_unlock_snapshot(lock);
    if (failed) {
        cli_error("%s", err);
        rc = EXIT_FAIL;
        goto out;
    }
    unsigned long long go_slots = 0, go_spans = 0;
    int go = (json || !quiet) && go_free_slots(output, &go_slots, &go_spans) == 0;
    if (json) {
        struct json j;
        json_init(&j, stdout, JSON_PRETTY);
        json_begin_object(&j);
        json_kv_string(&j, "snapshot", opt.snapshot);
        json_kv_string(&j, "database", output);
        json_kv_string(&j, "allocator", st.allocator[0] ? st.allocator : NULL);
        json_kv_string(&j, "unwalked", st.unwalked[0] ? st.unwalked : NULL);
        json_kv_uint(&j, "objects", st.objects);
        json_kv_uint(&j, "used", st.used);
        json_kv_uint(&j, "free", st.free);
        json_kv_uint(&j, "internal", st.internal);
        if (go) {
            json_kv_uint(&j, "go_free_slots", go_slots);
            json_kv_uint(&j, "go_spans", go_spans);
        }
        json_kv_uint(&j, "roots", st.roots);
        json_kv_uint(&j, "refs", st.refs);
        json_kv_uint(&j, "symbols", st.symbols);
        json_kv_uint(&j, "warnings", st.warnings);
        json_kv_double(&j, "seconds", st.seconds);
        json_end_object(&j);
        if (json_finish(&j)) {
            cli_error("stdout: write error");
            rc = EXIT_FAIL;
            goto out;
        }
    } else if (!quiet) {
        char own[128] = "";
        int n = 0;
        if (st.internal)
            n = snprintf(own, sizeof own, ", %llu the allocator's own", (unsigned long long)st.internal);
        if (go)
            snprintf(own + n, sizeof own - (size_t)n, "; %llu free slots on %llu Go spans", go_slots, go_spans);
        printf("%s: %llu objects (%llu used, %llu free%s), %llu roots, %llu refs, %llu warnings"
               " in %.2fs (%s)\n",
               output, (unsigned long long)st.objects, (unsigned long long)st.used,
               (unsigned long long)st.free, own, (unsigned long long)st.roots, (unsigned long long)st.refs,
               (unsigned long long)st.warnings, st.seconds,
               st.allocator[0] ? st.allocator : "no allocator found");
    }
    if (st.unwalked[0] && !quiet)
        cli_warn("%s: the heap is %s's, which heapsnap cannot walk: the database has mappings and "
                 "roots but not its objects, and the analyses will refuse it",
                 opt.snapshot, st.unwalked);
    else if (!st.allocator[0] && !quiet)
        cli_warn("%s: no known allocator found; the database has no objects", opt.snapshot);
    rc = EXIT_OK;
out:
    free(dirs);
    return rc;
}
