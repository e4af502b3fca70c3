/*
 * cmd_import.c — `heapsnap import CORE -o FILE.hsnap`: keep a core as one
 * snapshot file.  The core is read by the core reader (format/core/), the
 * same as every other command reads it, and the model it gives is written
 * back out through the .hsnap writer: what the snapshot holds is exactly
 * what an analysis of the core would see, including what the core did not
 * hold (no range, and the core reader's failure records saying why).
 *
 * The output's life is the capture tool's: written to a temporary file
 * beside the target, mode 0600 (it holds a process's memory), renamed into
 * place only when complete.  An existing target is replaced only if it is a
 * heapsnap snapshot; anything else there is refused, never overwritten.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "options.h"
#include "commands.h"
#include "core/hscore.h"
#include "hsnap.h"
#include "outfile.h"

static const char help[] =
    "usage: heapsnap import [options] CORE\n"
    "\n"
    "Write the ELF core CORE (the kernel's, gcore's, or systemd-coredump's\n"
    ".zst/.lz4/.xz, read without unpacking it to disk) as a heapsnap snapshot.\n"
    "Every command reads a core directly; import is for keeping one file (its\n"
    "memory zstd-compressed, all-zero pages not stored).\n"
    "\n"
    "What a core does not record stays unknown in the snapshot: no smaps\n"
    "figures, no hostname or kernel release; memory the core left out is not\n"
    "captured, with the reason (\"not in the core\", \"truncated\") in the\n"
    "capture statistics (heapsnap info).\n"
    "\n"
    "options:\n"
    "  -o, --output FILE  where to write (default CORE.hsnap); created 0600.  An\n"
    "                     existing FILE is replaced only if it is a snapshot\n"
    "  --exe PATH         the core's executable, when it is not where the core says\n"
    "  --level N          zstd level 1..19 (default 1)\n"
    "  -h, --help         this help\n"
    "\n"
    "exit status: 0 written; 1 bad or truncated core (a truncated one is still\n"
    "written, as far as it goes), or a write failure; 2 usage error.\n";

/* Pages per hs_write_memory call: bounds the packing buffer. */
#define CHUNK_PAGES 4096u

static int write_ranges(struct hs_writer *w, const struct hs_snapshot *s)
{
    size_t n;
    const struct hs_mem_range *r = hs_get_ranges(s, &n);
    uint8_t *buf = NULL;
    size_t cap = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint64_t ps = r[i].page_size, npages = (r[i].end - r[i].start) / ps;
        for (uint64_t p = 0; p < npages && rc == 0; p += CHUNK_PAGES) {
            uint64_t k = npages - p < CHUNK_PAGES ? npages - p : CHUNK_PAGES;
            size_t need = (size_t)(k * ps), used = 0;
            if (need > cap) {
                uint8_t *nb = realloc(buf, need);
                if (!nb) {
                    rc = -1;
                    break;
                }
                buf = nb;
                cap = need;
            }
            for (uint64_t j = 0; j < k; j++)
                if (r[i].page_state[p + j] == HS_PAGE_DATA) {
                    memcpy(buf + used, r[i].data + (p + j) * ps, (size_t)ps);
                    used += (size_t)ps;
                }
            rc = hs_write_memory(w, r[i].start + p * ps, (uint32_t)ps, k, r[i].flags, r[i].page_state + p, buf);
        }
    }
    free(buf);
    return rc;
}

/* 1 if path exists and is something heapsnap did not make. */
static int foreign(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno != ENOENT;
    char magic[HS_MAGIC_LEN];
    ssize_t got = read(fd, magic, sizeof magic);
    close(fd);
    return got != (ssize_t)sizeof magic || memcmp(magic, HS_MAGIC, HS_MAGIC_LEN) != 0;
}

static int refuse_foreign(const char *out, struct hs_error *err)
{
    if (!foreign(out))
        return 0;
    snprintf(err->msg, sizeof err->msg, "%.400s: exists and is not a heapsnap snapshot; not overwriting it", out);
    return -1;
}

struct import_job {
    const struct hs_snapshot *s;
    const char *out;
    int level;
};

static int fill_snapshot(int fd, void *u, struct hs_error *err)
{
    const struct import_job *j = u;
    const struct hs_snapshot *s = j->s;
    struct hs_writer *w = hs_writer_open(fd, j->out, j->level, err);
    if (!w)
        return -1;
    size_t nm, nmod, nt;
    const struct hs_mapping *m = hs_get_mappings(s, &nm);
    const struct hs_module *mod = hs_get_modules(s, &nmod);
    const struct hs_thread *t = hs_get_threads(s, &nt);
    const struct hs_stats *st = hs_get_stats(s);
    if (hs_write_process(w, hs_get_process(s)) || hs_write_mappings(w, m, nm) || hs_write_modules(w, mod, nmod) ||
        hs_write_threads(w, t, nt) || write_ranges(w, s) || (st && hs_write_stats(w, st))) {
        snprintf(err->msg, sizeof err->msg, "%s", hs_writer_error(w) ? hs_writer_error(w) : "out of memory");
        hs_writer_abort(w);
        return -1;
    }
    return hs_writer_finish(w, err);
}

enum { M_OUTPUT = 1, M_EXE, M_LEVEL };
static const struct option_spec import_options[] = {
    {"--output", "-o", "a file name", M_OUTPUT},
    {"--exe", NULL, "the executable's path", M_EXE},
    {"--level", NULL, "a zstd level from 1 to 19", M_LEVEL},
    {0},
};

struct import_args {
    const char *out;
    long level;
};

static int on_import_option(void *u, int id, const char *v)
{
    struct import_args *x = u;
    if (id == M_OUTPUT)
        x->out = v;
    else if (id == M_EXE)
        hs_core_set_exe(v);
    else if (options_number(v, 1, 19, &x->level))
        return cli_usage_error("--level wants a zstd level from 1 to 19, not '%s'", v);
    return -1;
}

int cmd_import(int argc, char **argv)
{
    struct import_args x = {NULL, 1};
    const char *in;
    int rc = options_parse_file(argc, argv, help, import_options, on_import_option, &x, "core", "CORE", &in);
    if (rc >= 0)
        return rc;
    const char *out = x.out;
    int level = (int)x.level;
    char defname[4200];
    if (!out) {
        snprintf(defname, sizeof defname, "%s.hsnap", in);
        out = defname;
    }
    if (!strcmp(out, "-"))
        return cli_usage_error("import writes a file; give -o FILE");
    if (foreign(out)) {
        cli_error("%s: exists and is not a heapsnap snapshot; not overwriting it", out);
        return EXIT_FAIL;
    }
    struct hs_error err;
    struct hs_snapshot *s = hs_open_any(in, 0, &err);
    if (!s) {
        cli_error("%s", err.msg);
        return EXIT_FAIL;
    }
    const char *w = hs_snapshot_warning(s);
    if (w)
        cli_warn("%s", w);
    /* Checked again just before the rename: a file that appeared meanwhile
     * is not ours to replace either. */
    rc = outfile_write(out, NULL, fill_snapshot, &(struct import_job){s, out, level}, refuse_foreign);
    if (rc == EXIT_OK && hs_snapshot_truncated(s))
        rc = EXIT_FAIL; /* written as far as it goes; the status says it is not whole */
    hs_close(s);
    return rc;
}
