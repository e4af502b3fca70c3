/*
 * cmd_verify.c — `heapsnap verify [-v] FILE...`: check every checksum and
 * the structure of snapshots, the thing to run after moving a file from a
 * production host to a laptop.
 *
 * The checking itself is hs_verify() in the format library, which trusts
 * nothing in the file; this command only reports.  hs_verify writes one
 * line per section to its log: we keep that log in memory, count its
 * section lines for the summary, and show it with -v.  For a sound file the summary also
 * says how much the file holds (via a metadata-only open), so that "ok" on
 * an empty-looking capture is noticed.
 *
 *   FILE: ok (N sections, M mappings, T threads, S bytes)     exit 0
 *   heapsnap verify: FILE: section 3 (threads) at offset ...   exit 1
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "options.h"
#include "base/units.h"
#include "commands.h"
#include "core/hscore.h"
#include "hsnap.h"

static const char verify_help[] =
    "usage: heapsnap verify [-v] FILE...\n"
    "\n"
    "Check the structure and every checksum of each snapshot FILE without\n"
    "trusting anything in it (an ELF core, which has no checksums: its\n"
    "headers, notes and segments).  A sound file prints\n"
    "  FILE: ok (N sections, M mappings, T threads, SIZE)\n"
    "A damaged one prints the section, the offset and what is wrong.\n"
    "\n"
    "options:\n"
    "  -v, --verbose  also print one line per section as it is checked\n"
    "  -h, --help     this help\n"
    "\n"
    "exit status: 0 every FILE is sound; 1 at least one is not; 2 usage error.\n";

/* The number of sections checked: the log has one line per section, each
 * beginning "section " (besides lines for the file header and footer). */
static size_t count_sections(const char *log, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n;) {
        if (n - i >= 8 && !memcmp(log + i, "section ", 8))
            count++;
        const char *nl = memchr(log + i, '\n', n - i);
        i = nl ? (size_t)(nl - log) + 1 : n;
    }
    return count;
}

/* An ELF core has no checksums: what can be checked is its structure,
 * which the core reader checks as it opens it (every header and note
 * bounded, the notes of the right sizes, the segments in the file).  A cut
 * core is reported as such; it opens, but it is not sound. */
static int verify_core(const char *path, int verbose)
{
    struct hs_error err;
    struct hs_snapshot *s = hs_open_core(path, HS_OPEN_METADATA_ONLY, &err);
    if (!s) {
        cli_error("%s", err.msg);
        return -1;
    }
    size_t nmaps, nthreads, nranges, nmods;
    hs_get_mappings(s, &nmaps);
    hs_get_threads(s, &nthreads);
    hs_get_ranges(s, &nranges);
    hs_get_modules(s, &nmods);
    const char *w = hs_snapshot_warning(s);
    int rc = 0;
    if (hs_snapshot_truncated(s)) {
        cli_error("%s", w ? w : "truncated");
        rc = -1;
    } else {
        if (verbose && w)
            printf("%s\n", w);
        char size[32] = "";
        struct stat st;
        if (stat(path, &st) == 0)
            units_bytes(size, sizeof size, (uint64_t)st.st_size);
        printf("%s: ok (ELF core, %zu mapping%s, %zu with memory, %zu thread%s, %zu module%s%s%s)\n", path, nmaps,
               nmaps == 1 ? "" : "s", nranges, nthreads, nthreads == 1 ? "" : "s", nmods, nmods == 1 ? "" : "s",
               size[0] ? ", " : "", size);
    }
    hs_close(s);
    return rc;
}

/* Verify one file; 0 if sound. */
static int verify_one(const char *path, int verbose)
{
    if (strcmp(path, "-") && hs_core_probe(path))
        return verify_core(path, verbose);
    char *log = NULL;
    size_t loglen = 0;
    FILE *logf = open_memstream(&log, &loglen);
    if (!logf) {
        cli_error("%s: out of memory", path);
        return -1;
    }
    struct hs_error err;
    int rc = hs_verify(path, logf, &err);
    fclose(logf);

    if (verbose && loglen) {
        fwrite(log, 1, loglen, stdout);
        if (log[loglen - 1] != '\n')
            fputc('\n', stdout);
    }
    size_t sections = count_sections(log, loglen);
    free(log);
    if (rc != 0) {
        fflush(stdout);
        cli_error("%s", err.msg);
        return -1;
    }

    /* Sound: say what it holds.  Standard input can be read only once, so
     * "-" gets the short summary. */
    char size[32] = "";
    size_t nmaps = 0, nthreads = 0;
    int have_counts = 0;
    struct stat st;
    if (strcmp(path, "-") != 0) {
        if (stat(path, &st) == 0)
            units_bytes(size, sizeof size, (uint64_t)st.st_size);
        struct hs_snapshot *s = hs_open(path, HS_OPEN_METADATA_ONLY, &err);
        if (!s) {
            /* hs_verify passed but the reader refuses: report, as a failure. */
            cli_error("%s", err.msg);
            return -1;
        }
        hs_get_mappings(s, &nmaps);
        hs_get_threads(s, &nthreads);
        have_counts = 1;
        hs_close(s);
    }
    printf("%s: ok (%zu section%s", path, sections, sections == 1 ? "" : "s");
    if (have_counts)
        printf(", %zu mapping%s, %zu thread%s", nmaps, nmaps == 1 ? "" : "s", nthreads,
               nthreads == 1 ? "" : "s");
    if (size[0])
        printf(", %s", size);
    printf(")\n");
    return 0;
}

static int on_verify_option(void *u, int id, const char *v)
{
    (void)id; /* -v, --verbose: verify's one option */
    (void)v;
    *(int *)u = 1;
    return -1;
}

int cmd_verify(int argc, char **argv)
{
    static const struct option_spec opts[] = {{"--verbose", "-v", NULL, 1}, {0}};
    int verbose = 0, npos;
    const char **pos = calloc((size_t)argc + 1, sizeof *pos);
    if (!pos) {
        cli_error("out of memory");
        return EXIT_FAIL;
    }
    int rc = options_parse(argc, argv, verify_help, opts, NULL, on_verify_option, &verbose, pos, argc, &npos);
    if (rc < 0 && !npos)
        rc = cli_usage_error("which snapshot? (FILE is missing)");
    int failed = 0;
    for (int i = 0; rc < 0 && i < npos; i++)
        if (verify_one(pos[i], verbose) != 0)
            failed = 1;
    free(pos);
    if (rc >= 0)
        return rc;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("stdout: write error");
        return EXIT_FAIL;
    }
    return failed ? EXIT_FAIL : EXIT_OK;
}
