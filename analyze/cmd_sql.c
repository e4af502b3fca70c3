/*
 * cmd_sql.c — `heapsnap sql`: run SQL against a heapsnap database (or a
 * snapshot, indexed on first use through open_snapshot_db()), with the heap
 * functions of db/functions.c available.  With no query it is a small
 * interactive shell: statements end with ';', a few dot-commands, and on
 * a terminal line editing and history (lineedit.h, libedit).
 *
 * Output: aligned columns for people (widths taken from the first
 * TEXT_SAMPLE rows, the rest streamed), --csv (RFC 4180) and --json (one
 * array of row objects for everything the query returns) for scripts.
 *
 * Read-only unless --write: the connection is opened SQLITE_OPEN_READONLY,
 * and since that alone still lets VACUUM INTO create files and ATTACH
 * open others, a statement that is not read-only (sqlite3_stmt_readonly)
 * and ATTACH (the authorizer) are refused before they run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "options.h"
#include "commands.h"
#include "db/db.h"
#include "open.h"
#include "base/json.h"
#include "lineedit.h"

#define TEXT_SAMPLE 1000
#define TEXT_MAXW   60

enum mode { MODE_TEXT, MODE_CSV, MODE_JSON };

static const char help[] =
    "usage: heapsnap sql [options] DB|FILE.hsnap [QUERY]\n"
    "\n"
    "Run QUERY (one or more ';'-separated statements) against a heapsnap\n"
    "database; a snapshot is indexed first if it has no up-to-date FILE.db.\n"
    "Without QUERY, read statements from standard input (a prompt when it is a\n"
    "terminal); .tables, .schema [TABLE], .mode text|csv|json, .help, .quit.\n"
    "\n"
    "Besides SQLite's own, these functions read the heap (docs/schema.md):\n"
    "  hex(n)       '0x...' form of an address\n"
    "  sym(addr)    'symbol+0xoff'\n"
    "  mem(a, n)    n captured bytes at a, as a blob (NULL if not captured)\n"
    "  u64(a)       the 64-bit word at a\n"
    "  cstr(a)      the NUL-terminated string at a\n"
    "  obj(a)       id of the object holding a\n"
    "\n"
    "options:\n"
    "  --csv                  comma-separated values, with a header line\n"
    "  --json                 one JSON array of row objects\n"
    "  --write                allow statements that change the database, ATTACH\n"
    "                         and VACUUM INTO (files are created mode 0600)\n"
    "  --db DB                keep a snapshot's index in DB (default FILE.db)\n"
    "  --debug-dir DIR        for indexing a snapshot: look for debug files in DIR\n"
    "  -h, --help             this help\n"
    "\n"
    "example: heapsnap sql app.hsnap \"SELECT hex(addr), size FROM objects\n"
    "         WHERE state = 'used' ORDER BY size DESC LIMIT 10\"\n"
    "exit status: 0 success, 1 a statement or the database failed, 2 usage\n";

/* ---------------------------------------------------------------- output */

struct out {
    enum mode mode;
    struct json j;
    int json_open;
};

static void csv_field(const char *s, int n)
{
    int quote = 0;
    for (int i = 0; i < n; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
            quote = 1;
    if (!quote) {
        fwrite(s, 1, (size_t)n, stdout);
        return;
    }
    putchar('"');
    for (int i = 0; i < n; i++) {
        if (s[i] == '"')
            putchar('"');
        putchar(s[i]);
    }
    putchar('"');
}

/* A cell as text for the text and CSV modes; blobs become hex. */
static char *cell_text(sqlite3_stmt *s, int c, int null_word)
{
    switch (sqlite3_column_type(s, c)) {
    case SQLITE_NULL:
        return sqlite3_mprintf("%s", null_word ? "NULL" : "");
    case SQLITE_BLOB: {
        const unsigned char *b = sqlite3_column_blob(s, c);
        int n = sqlite3_column_bytes(s, c);
        sqlite3_str *x = sqlite3_str_new(NULL);
        sqlite3_str_appendall(x, "x'");
        for (int i = 0; i < n; i++)
            sqlite3_str_appendf(x, "%02x", b[i]);
        sqlite3_str_appendall(x, "'");
        return sqlite3_str_finish(x);
    }
    default: {
        const char *t = (const char *)sqlite3_column_text(s, c);
        return sqlite3_mprintf("%.*s", sqlite3_column_bytes(s, c), t ? t : "");
    }
    }
}

static void json_row(struct json *j, sqlite3_stmt *s)
{
    int nc = sqlite3_column_count(s);
    json_begin_object(j);
    for (int c = 0; c < nc; c++) {
        json_key(j, sqlite3_column_name(s, c));
        switch (sqlite3_column_type(s, c)) {
        case SQLITE_NULL: json_null(j); break;
        case SQLITE_INTEGER: json_int(j, sqlite3_column_int64(s, c)); break;
        case SQLITE_FLOAT: json_double(j, sqlite3_column_double(s, c)); break;
        case SQLITE_BLOB: {
            char *t = cell_text(s, c, 0);
            size_t n = strlen(t);
            /* x'..' → the bare hex digits */
            json_string_n(j, t + 2, n >= 3 ? n - 3 : 0);
            sqlite3_free(t);
            break;
        }
        default:
            json_string_n(j, (const char *)sqlite3_column_text(s, c), (size_t)sqlite3_column_bytes(s, c));
        }
    }
    json_end_object(j);
}

/* Terminal output must not be able to rewrite the screen. */
static void print_safe(const char *t, int width)
{
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)t; *p; p++, n++)
        putchar(*p < 0x20 || *p == 0x7f ? '?' : *p);
    for (; n < width; n++)
        putchar(' ');
}

/* Print the text-mode rows: the first TEXT_SAMPLE set the widths. */
static int run_text(sqlite3_stmt *s, int *rc)
{
    int nc = sqlite3_column_count(s);
    int *w = calloc((size_t)nc, sizeof *w);
    char **rows = calloc((size_t)TEXT_SAMPLE * (size_t)nc, sizeof *rows);
    if (!w || !rows) {
        free(w);
        free(rows);
        return -1;
    }
    for (int c = 0; c < nc; c++)
        w[c] = (int)strlen(sqlite3_column_name(s, c));
    int n = 0;
    while (n < TEXT_SAMPLE && (*rc = sqlite3_step(s)) == SQLITE_ROW) {
        for (int c = 0; c < nc; c++) {
            char *t = rows[n * nc + c] = cell_text(s, c, 1);
            int l = t ? (int)strlen(t) : 0;
            if (l > w[c])
                w[c] = l > TEXT_MAXW ? TEXT_MAXW : l;
        }
        n++;
    }
    for (int c = 0; c < nc; c++) {
        print_safe(sqlite3_column_name(s, c), c + 1 < nc ? w[c] : 0);
        fputs(c + 1 < nc ? "  " : "\n", stdout);
    }
    for (int c = 0; c < nc; c++) {
        for (int k = 0; k < w[c]; k++)
            putchar('-');
        fputs(c + 1 < nc ? "  " : "\n", stdout);
    }
    for (int r = 0; r < n; r++)
        for (int c = 0; c < nc; c++) {
            print_safe(rows[r * nc + c] ? rows[r * nc + c] : "", c + 1 < nc ? w[c] : 0);
            fputs(c + 1 < nc ? "  " : "\n", stdout);
            sqlite3_free(rows[r * nc + c]);
        }
    while (n == TEXT_SAMPLE && (*rc = sqlite3_step(s)) == SQLITE_ROW)
        for (int c = 0; c < nc; c++) {
            char *t = cell_text(s, c, 1);
            print_safe(t ? t : "", c + 1 < nc ? w[c] : 0);
            fputs(c + 1 < nc ? "  " : "\n", stdout);
            sqlite3_free(t);
        }
    free(w);
    free(rows);
    return 0;
}

/* Run one prepared statement and print its rows.  0, or -1 on error. */
static int run_stmt(sqlite3 *db, sqlite3_stmt *s, struct out *o, const char *dbname)
{
    int nc = sqlite3_column_count(s), rc;
    if (nc == 0 || o->mode == MODE_JSON) {
        while ((rc = sqlite3_step(s)) == SQLITE_ROW)
            if (nc && o->mode == MODE_JSON)
                json_row(&o->j, s);
    } else if (o->mode == MODE_CSV) {
        for (int c = 0; c < nc; c++) {
            const char *name = sqlite3_column_name(s, c);
            csv_field(name, (int)strlen(name));
            putchar(c + 1 < nc ? ',' : '\n');
        }
        while ((rc = sqlite3_step(s)) == SQLITE_ROW)
            for (int c = 0; c < nc; c++) {
                char *t = cell_text(s, c, 0);
                csv_field(t ? t : "", t ? (int)strlen(t) : 0);
                sqlite3_free(t);
                putchar(c + 1 < nc ? ',' : '\n');
            }
    } else if (run_text(s, &rc)) {
        cli_error("out of memory");
        return -1;
    }
    if (rc != SQLITE_DONE) {
        cli_error("%s: %s", dbname, sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

static int writable; /* --write */

/* Without --write, no ATTACH: it would open (and create) any file. */
static int authorize(void *u, int action, const char *a, const char *b, const char *c, const char *d)
{
    (void)u, (void)a, (void)b, (void)c, (void)d;
    return action == SQLITE_ATTACH && !writable ? SQLITE_DENY : SQLITE_OK;
}

/* Run every statement of sql.  0, or -1 if one failed (the rest are skipped). */
static int run_sql(sqlite3 *db, const char *sql, struct out *o, const char *dbname)
{
    const char *tail = sql;
    while (tail && *tail) {
        sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(db, tail, -1, &s, &tail) != SQLITE_OK) {
            cli_error("%s: %s%s", dbname, sqlite3_errmsg(db),
                      !writable && sqlite3_errcode(db) == SQLITE_AUTH ? " (ATTACH needs --write)" : "");
            return -1;
        }
        if (!s) /* whitespace or a comment */
            continue;
        if (!writable && !sqlite3_stmt_readonly(s)) {
            cli_error("%s: the database is open read-only and this statement would write (%.40s%s); "
                      "--write allows it", dbname, sqlite3_sql(s), strlen(sqlite3_sql(s)) > 40 ? "..." : "");
            sqlite3_finalize(s);
            return -1;
        }
        int rc = run_stmt(db, s, o, dbname);
        sqlite3_finalize(s);
        fflush(stdout);
        if (rc)
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- shell */

static int dot_command(sqlite3 *db, char *line, struct out *o, const char *dbname, int *quit)
{
    char *cmd = strtok(line, " \t\r\n"), *arg = strtok(NULL, " \t\r\n");
    if (!strcmp(cmd, ".quit") || !strcmp(cmd, ".exit")) {
        *quit = 1;
        return 0;
    }
    if (!strcmp(cmd, ".tables"))
        return run_sql(db, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name", o, dbname);
    if (!strcmp(cmd, ".schema")) {
        char *q = arg ? sqlite3_mprintf("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL"
                                        " AND tbl_name = %Q", arg)
                      : sqlite3_mprintf("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL");
        int rc = q ? run_sql(db, q, o, dbname) : -1;
        sqlite3_free(q);
        return rc;
    }
    if (!strcmp(cmd, ".mode") && arg) {
        if (!strcmp(arg, "text"))
            o->mode = MODE_TEXT;
        else if (!strcmp(arg, "csv"))
            o->mode = MODE_CSV;
        else {
            cli_error(".mode: text or csv (--json is for whole runs)");
            return -1;
        }
        return 0;
    }
    if (!strcmp(cmd, ".help")) {
        puts(".tables            list the tables\n"
             ".schema [TABLE]    CREATE statements\n"
             ".mode text|csv     output format\n"
             ".quit              leave (so does end of input)\n"
             "SQL statements end with ';'.  docs/schema.md describes the tables.");
        return 0;
    }
    cli_error("unknown command '%s'; try .help", cmd);
    return -1;
}

static int shell(sqlite3 *db, struct out *o, const char *dbname)
{
    int tty = isatty(STDIN_FILENO), failed = 0, quit = 0;
    sqlite3_str *buf = sqlite3_str_new(db);
    char *line = NULL;
    size_t cap = 0;
    if (tty) {
        fprintf(stderr, "heapsnap sql: %s; statements end with ';', .help for help\n", dbname);
        lineedit_begin();
    }
    while (!quit) {
        const char *prompt = sqlite3_str_length(buf) ? "   ...> " : "heapsnap> ";
        ssize_t n = tty ? lineedit_read(prompt, &line, &cap) : getline(&line, &cap, stdin);
        if (n < 0)
            break;
        if (sqlite3_str_length(buf) == 0) {
            char *p = line;
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p == '.') {
                failed |= dot_command(db, p, o, dbname, &quit) != 0;
                continue;
            }
        }
        sqlite3_str_append(buf, line, (int)n);
        char *sql = sqlite3_str_value(buf);
        if (sql && sqlite3_complete(sql)) {
            failed |= run_sql(db, sql, o, dbname) != 0;
            sqlite3_str_reset(buf);
        }
    }
    char *rest = sqlite3_str_finish(buf);
    if (rest) {
        for (char *p = rest; *p; p++)
            if (*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r') {
                /* a last statement without its ';' still runs */
                failed |= run_sql(db, rest, o, dbname) != 0;
                break;
            }
        sqlite3_free(rest);
    }
    free(line);
    if (tty) {
        lineedit_end();
        fputc('\n', stderr);
    }
    return failed ? -1 : 0;
}

enum { S_CSV = 1, S_JSON, S_WRITE, S_DB, S_DEBUG_DIR };
static const struct option_spec sql_options[] = {
    {"--csv", NULL, NULL, S_CSV},
    {"--json", NULL, NULL, S_JSON},
    {"--write", NULL, NULL, S_WRITE},
    {"--db", NULL, "a file name", S_DB},
    {"--debug-dir", NULL, "a directory", S_DEBUG_DIR},
    {0},
};

struct sql_args {
    struct out *o;
    struct open_options *dopt;
    const char **dirs;
};

static int on_sql_option(void *u, int id, const char *v)
{
    struct sql_args *x = u;
    switch (id) {
    case S_CSV: x->o->mode = MODE_CSV; break;
    case S_JSON: x->o->mode = MODE_JSON; break;
    case S_WRITE: writable = 1; break;
    case S_DB: x->dopt->db = v; break;
    case S_DEBUG_DIR: x->dirs[x->dopt->dbg.ndebug_dirs++] = v; break;
    }
    return -1;
}

int cmd_sql(int argc, char **argv)
{
    struct out o = {.mode = MODE_TEXT};
    struct open_options dopt = {0};
    const char **dirs = calloc((size_t)argc + 1, sizeof *dirs);
    if (!dirs) {
        cli_error("out of memory");
        return EXIT_FAIL;
    }
    struct sql_args x = {&o, &dopt, dirs};
    const char *pos[3];
    int npos;
    /* after "--", DB and QUERY may start with '-' */
    int rc = options_parse(argc, argv, help, sql_options, NULL, on_sql_option, &x, pos, 3, &npos);
    if (rc < 0 && npos > 2)
        rc = cli_usage_error("one query argument (separate statements with ';')");
    else if (rc < 0 && !npos)
        rc = cli_usage_error("which database or snapshot?");
    if (rc >= 0)
        goto out;
    const char *file = pos[0], *query = npos > 1 ? pos[1] : NULL;
    dopt.dbg.debug_dirs = dirs;
    dopt.readonly = !writable;
    char err[1024];
    sqlite3 *db = open_snapshot_db(file, &dopt, err, sizeof err);
    if (!db) {
        cli_error("%s", err);
        rc = EXIT_FAIL;
        goto out;
    }
    sqlite3_set_authorizer(db, authorize, NULL);
    if (o.mode == MODE_JSON) {
        json_init(&o.j, stdout, JSON_PRETTY);
        json_begin_array(&o.j);
    }
    int failed = query ? run_sql(db, query, &o, file) : shell(db, &o, file);
    if (o.mode == MODE_JSON) {
        json_end_array(&o.j);
        if (json_finish(&o.j)) {
            cli_error("stdout: write error");
            failed = 1;
        }
    }
    if (fflush(stdout) != 0) {
        cli_error("stdout: write error");
        failed = 1;
    }
    sqlite3_close(db);
    rc = failed ? EXIT_FAIL : EXIT_OK;
out:
    free(dirs);
    return rc;
}
