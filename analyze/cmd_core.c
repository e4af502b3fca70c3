/*
 * cmd_core.c — `heapsnap core FILE [-o CORE]`: write a snapshot as a
 * standard ELF core file, so that gdb (and anything else that reads Linux
 * cores) can look at a captured process: `gdb EXE CORE`.
 *
 * The work is in analyze/elfcore/ (what a core holds and why: elfcore.h).  This
 * file is the command line and the output file's life: the core is written
 * to a temporary file beside the target, mode 0600 because it holds the
 * process's memory, and renamed into place only when complete, so that a
 * failure never leaves a half core that gdb would half believe.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/hscore.h"
#include "cli.h"
#include "options.h"
#include "commands.h"
#include "elfcore/elfcore.h"
#include "hsnap.h"
#include "outfile.h"

static const char core_help[] =
    "usage: heapsnap core [-o CORE] [--thread TID] FILE\n"
    "\n"
    "Write the snapshot FILE as a standard x86_64 ELF core file that gdb can\n"
    "open:  gdb EXE CORE   then e.g.  thread apply all bt,  print some_global.\n"
    "Memory that was captured is in the core; read-only file mappings that were\n"
    "not are read by gdb from the files on disk (NT_FILE), so open the core on\n"
    "the machine where it was captured or one with the same binaries.  Pages\n"
    "that were not captured (swapped, unreadable) read as zeros.  The snapshot\n"
    "has no floating-point state: gdb shows those registers as unavailable.\n"
    "\n"
    "options:\n"
    "  -o, --output CORE  where to write (default core.PID; - for stdout);\n"
    "                     created with mode 0600; an existing CORE is replaced\n"
    "                     only if it is a core file\n"
    "  --thread TID       the thread gdb selects first (default: the main thread)\n"
    "  --no-dt-debug      do not rebuild .dynamic's DT_DEBUG from the files on\n"
    "                     disk when it was not captured (gdb then lists no\n"
    "                     shared libraries)\n"
    "  -h, --help         this help\n"
    "\n"
    "A truncated snapshot gives a core of what was read before the cut, with a\n"
    "warning naming the cut, and exit status 1 (as info does).\n"
    "\n"
    "exit status: 0 ok; 1 bad or truncated snapshot, or write failure; 2 usage\n"
    "error.\n";

struct core_job {
    const struct hs_snapshot *s;
    const struct core_options *opt;
    const char *out;
};

static int fill_core(int fd, void *u, struct hs_error *err)
{
    const struct core_job *j = u;
    return core_write(j->s, j->opt, fd, j->out, err);
}

/* A file -o may replace: an ELF core (e_type ET_CORE), which is what this
 * command writes; anything else is the user's and is left alone. */
static int is_core(const unsigned char *head, size_t n)
{
    return n >= 18 && !memcmp(head, "\177ELF", 4) && head[16] == 4 && head[17] == 0;
}

enum { C_OUTPUT = 1, C_THREAD, C_NO_DT_DEBUG };

struct core_args {
    struct core_options *opt;
    const char *out;
};

static int on_core_option(void *u, int id, const char *v)
{
    struct core_args *x = u;
    long tid;
    if (id == C_OUTPUT)
        x->out = v;
    else if (id == C_NO_DT_DEBUG)
        x->opt->no_dtdebug = 1;
    else if (options_number(v, 1, INT_MAX, &tid))
        return cli_usage_error("--thread wants a thread id, not '%s'", v);
    else
        x->opt->first_tid = (int)tid;
    return -1;
}

int cmd_core(int argc, char **argv)
{
    static const struct option_spec opts[] = {
        {"--output", "-o", "a file name", C_OUTPUT},
        {"--thread", NULL, "a thread id", C_THREAD},
        {"--no-dt-debug", NULL, NULL, C_NO_DT_DEBUG},
        {0},
    };
    struct core_options opt = {0};
    struct core_args x = {&opt, NULL};
    const char *path;
    int rc = options_parse_file(argc, argv, core_help, opts, on_core_option, &x, "snapshot", "FILE", &path);
    if (rc >= 0)
        return rc;
    const char *out = x.out;
    if (out && !strcmp(out, "-") && isatty(STDOUT_FILENO))
        return cli_usage_error("not writing a core to a terminal; use -o FILE");

    struct hs_error err;
    struct hs_snapshot *s = hs_open_any(path, 0, &err);
    if (!s) {
        cli_error("%s", err.msg);
        return EXIT_FAIL;
    }
    if (hs_snapshot_truncated(s)) {
        const char *w = hs_snapshot_warning(s);
        cli_warn("%s; the core holds what was read before the cut",
                 w ? w : "the snapshot is truncated");
    }

    char defname[32];
    if (!out) {
        snprintf(defname, sizeof defname, "core.%d", (int)hs_get_process(s)->pid);
        out = defname;
    }
    if (!strcmp(out, "-")) {
        rc = core_write(s, &opt, STDOUT_FILENO, "stdout", &err) == 0 ? EXIT_OK : EXIT_FAIL;
        if (rc != EXIT_OK)
            cli_error("%s", err.msg);
    } else
        rc = outfile_write(out, is_core, fill_core, &(struct core_job){s, &opt, out}, NULL);
    /* A cut file is a bad input even though the core of its first part is
     * useful: the status says so, so that a script does not take the core
     * for the whole process. */
    if (rc == EXIT_OK && hs_snapshot_truncated(s))
        rc = EXIT_FAIL;
    hs_close(s);
    return rc;
}
