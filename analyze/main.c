/*
 * main.c — heapsnap's entry point: dispatch `heapsnap COMMAND ...` to the
 * command's function.  Each command parses its own options (see cli.h for
 * the conventions they share).
 */
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "commands.h"

static const struct command commands[] = {
    {"info", cmd_info, "print the process, mappings, modules, threads and capture statistics"},
    {"verify", cmd_verify, "check every checksum and the structure of a snapshot"},
    {"core", cmd_core, "write a standard ELF core file that gdb can open"},
    {"import", cmd_import, "write an ELF core (gcore, the kernel's, systemd-coredump's) as a snapshot"},
    {"index", cmd_index, "build the SQLite database of a snapshot: objects, roots, references"},
    {"sql", cmd_sql, "query a snapshot's database, with heap functions (hex, sym, mem, ...)"},
    {"leaks", cmd_leaks, "allocated objects no root reaches, by type, with their leak heads"},
    {"explain", cmd_explain, "why an object is alive: its chain of references from a root"},
    {"top", cmd_top, "the largest retainers: objects, types and roots, and leak suspects"},
    {"path", cmd_path, "the shortest (or with --all, independent) paths from roots to an object"},
    {"diff", cmd_diff, "what changed between snapshots: new and deleted objects, who holds the growth"},
    {"show", cmd_show, "one heap object decoded through its type, and what points to it"},
    {"types", cmd_types, "the live heap by type: counts, bytes, and how much is typed"},
    {"rss", cmd_rss, "where resident memory goes: mappings, heap use, free memory, and what to do"},
    {"goroutines", cmd_goroutines, "a Go program's goroutines grouped by start function and wait reason"},
    {"pprof", cmd_pprof, "the heap as a pprof profile: by retainer, by type, or (Go) by allocation site"},
    {"report", cmd_report, "one self-contained HTML page: summary, RSS, treemap of retained memory, leaks, growth"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: heapsnap COMMAND [options] FILE...\n\n"
               "Analyse heap snapshots written by heapsnap-capture, or ELF core files.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'heapsnap COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv)
{
    /* Everything heapsnap writes holds the target's memory or what was
     * learnt from it (databases and their journals, cores, diff outputs,
     * VACUUM INTO from `heapsnap sql --write`): owner-only, whatever the
     * file is and whoever creates it (SQLite asks for 0644). */
    umask(077);
    /* The analyses live on arrays of megabytes, one per object field, freed
     * as a command moves on (diff frees one snapshot before it loads the
     * next).  glibc raises its mmap threshold to 32 MiB after the first
     * large free, so later arrays would come from the brk heap and their
     * pages stay in RSS once freed; a fixed threshold keeps every large
     * array in a mapping of its own, returned to the system by free().
     * A fixed threshold also fixes the trim threshold at its 128 KiB
     * default, and then the small allocations of SQLite and the typing
     * phase, growing and shrinking the heap's top, cost the indexer 230,000
     * brk calls on 10 M objects (1.4 s of 23, with the pages zeroed again
     * each time).  32 MiB of free top kept is what glibc's own dynamic
     * threshold would allow after a 16 MiB free. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    mallopt(M_TRIM_THRESHOLD, 32 << 20);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (!strcmp(argv[1], commands[i].name)) {
            cli_command = commands[i].name;
            cli_install_sink();
            return commands[i].fn(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "heapsnap: '%s' is not a command; see 'heapsnap --help'\n", argv[1]);
    return EXIT_USAGE;
}
