/*
 * cmd_info.c — `heapsnap info [--json] FILE`: everything a snapshot says
 * about the process apart from its memory contents: the process, its
 * mappings (with the smaps figures), modules, threads and the capture
 * statistics.
 *
 * It opens the file with HS_OPEN_METADATA_ONLY, so it is fast on any size
 * of snapshot and works on a file whose memory blocks are damaged.  A
 * truncated file is shown as far as it goes, then a warning on stderr names
 * the cut and the exit status is 1, so that a script notices that what it
 * read is incomplete.
 *
 * Every string shown comes from the snapshot and may hold anything; in text
 * mode non-printable bytes are shown as \xNN so a hostile file cannot send
 * escape sequences to the terminal.  JSON output escapes them per json.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/hscore.h"
#include "cli.h"
#include "options.h"
#include "base/units.h"
#include "commands.h"
#include "hsnap.h"
#include "base/json.h"

static const char info_help[] =
    "usage: heapsnap info [--json] FILE\n"
    "\n"
    "Print what a snapshot records about the process: pid, executable, command\n"
    "line, capture time, kernel, page size, capture policy; each mapping with\n"
    "its permissions, offset, path and smaps figures (kB); each module with its\n"
    "load bias and build-id; each thread with its state, rip, rsp and stack;\n"
    "and the capture statistics (pause, bytes read/zero/absent/swapped/\n"
    "unreadable, failures).  Memory contents are not read.\n"
    "\n"
    "FILE may be - for standard input.\n"
    "\n"
    "options:\n"
    "  --json      one JSON document on stdout (addresses as \"0x...\" strings)\n"
    "  -h, --help  this help\n"
    "\n"
    "exit status: 0 ok; 1 the file is unreadable or truncated (what it holds\n"
    "is still printed, and a warning names the cut); 2 usage error.\n";

/* ------------------------------------------------------------ formatting */

/* Print s, with bytes that are not printable ASCII (and the backslash)
 * shown as \xNN.  Returns the number of columns printed. */
static int put_safe(FILE *f, const char *s)
{
    int cols = 0;
    if (!s)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
            fputc(*p, f);
            cols++;
        } else {
            fprintf(f, "\\x%02x", *p);
            cols += 4;
        }
    }
    return cols;
}

static void perms(const struct hs_mapping *m, char out[5])
{
    out[0] = (m->flags & HS_MAP_R) ? 'r' : '-';
    out[1] = (m->flags & HS_MAP_W) ? 'w' : '-';
    out[2] = (m->flags & HS_MAP_X) ? 'x' : '-';
    out[3] = (m->flags & HS_MAP_SHARED) ? 's' : 'p';
    out[4] = '\0';
}

/* "2026-11-22T05:02:03.123Z", the capture time in UTC. */
static void iso_time(char *buf, size_t n, uint64_t ns)
{
    time_t t = (time_t)(ns / 1000000000u);
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, n, "(invalid time %" PRIu64 " ns)", ns);
        return;
    }
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, n, "%s.%03uZ", date, (unsigned)(ns % 1000000000u / 1000000u));
}

static const char *policy_name(unsigned p)
{
    switch (p) {
    case HS_POLICY_WRITABLE: return "writable";
    case HS_POLICY_ALL: return "all";
    default: return "unknown";
    }
}

static const char *reg_names[HS_NREGS] = {
    "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8",
    "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags",
    "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs",
};

static void build_id_hex(const struct hs_module *m, char *buf /* >= 129 */)
{
    uint32_t n = m->build_id_len <= sizeof m->build_id ? m->build_id_len : sizeof m->build_id;
    for (uint32_t i = 0; i < n; i++)
        sprintf(buf + 2 * i, "%02x", m->build_id[i]);
    buf[2 * n] = '\0';
}

/* A thread's state letter, or '?' if the file holds something unprintable. */
static char state_char(char c) { return (c > 0x20 && c < 0x7f) ? c : '?'; }

/* The comm name, bounded even if the file left it unterminated. */
static void thread_name(const struct hs_thread *t, char out[17])
{
    memcpy(out, t->name, 16);
    out[16] = '\0';
}

/* ------------------------------------------------------------ text output */

static void text_process(FILE *f, const struct hs_snapshot *s)
{
    const struct hs_process *p = hs_get_process(s);
    char when[64];
    iso_time(when, sizeof when, p->capture_time_ns);

    fprintf(f, "snapshot   ");
    put_safe(f, hs_snapshot_path(s));
    fprintf(f, " (format %d.%u)\n", HS_VERSION_MAJOR, hs_snapshot_version_minor(s));
    fprintf(f, "pid        %" PRId32 "\n", p->pid);
    fprintf(f, "exe        ");
    put_safe(f, p->exe);
    fprintf(f, "\nargv      ");
    for (uint32_t i = 0; i < p->argc; i++) {
        fputc(' ', f);
        put_safe(f, p->argv[i]);
    }
    fprintf(f, "\ncaptured   %s on ", when);
    put_safe(f, p->hostname);
    fprintf(f, "\nkernel     ");
    put_safe(f, p->kernel_release);
    fprintf(f, "\nmachine    %s\n", p->machine == 62 /* EM_X86_64 */ ? "x86_64" : "unknown");
    fprintf(f, "page size  %" PRIu32 "\n", p->page_size);
    fprintf(f, "policy     %s\n", policy_name(p->policy));
    fprintf(f, "redacted   %s\n", (p->flags & HS_PROC_REDACTED) ? "yes" : "no");
}

static void text_mappings(FILE *f, const struct hs_snapshot *s)
{
    size_t n;
    const struct hs_mapping *m = hs_get_mappings(s, &n);
    fprintf(f, "\nmappings (%zu; sizes in kB; C = contents captured)\n", n);
    if (!n)
        return;
    fprintf(f, "  %-33s %-4s %-8s %8s %8s %8s %8s %8s %8s %8s %8s %8s C path\n", "range", "perm",
            "offset", "size", "rss", "pss", "pclean", "pdirty", "sclean", "sdirty", "swap", "anon");
    for (size_t i = 0; i < n; i++) {
        char pm[5];
        perms(&m[i], pm);
        fprintf(f, "  %016" PRIx64 "-%016" PRIx64 " %-4s %08" PRIx64, m[i].start, m[i].end, pm,
                m[i].offset);
        uint64_t v[] = {m[i].end - m[i].start, m[i].rss, m[i].pss, m[i].private_clean,
                        m[i].private_dirty, m[i].shared_clean, m[i].shared_dirty, m[i].swap,
                        m[i].anonymous};
        for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
            fprintf(f, " %8" PRIu64, v[k] / 1024);
        fprintf(f, " %c ", (m[i].flags & HS_MAP_CAPTURED) ? 'C' : '-');
        put_safe(f, m[i].path);
        fputc('\n', f);
    }
}

static void text_modules(FILE *f, const struct hs_snapshot *s)
{
    size_t n;
    const struct hs_module *m = hs_get_modules(s, &n);
    fprintf(f, "\nmodules (%zu)\n", n);
    if (!n)
        return;
    fprintf(f, "  %-18s %-18s %-40s %s\n", "base", "lowest", "build-id", "path");
    for (size_t i = 0; i < n; i++) {
        char id[2 * sizeof m[i].build_id + 1];
        build_id_hex(&m[i], id);
        fprintf(f, "  0x%016" PRIx64 " 0x%016" PRIx64 " %-40s ", m[i].base, m[i].lowest,
                id[0] ? id : "(none)");
        put_safe(f, m[i].path);
        fputc('\n', f);
    }
}

/* The files the snapshot carries (capture --with-binaries), and what they cost. */
static void text_files(FILE *f, const struct hs_snapshot *s)
{
    size_t n;
    const struct hs_file *c = hs_get_files(s, &n);
    if (!n)
        return;
    fprintf(f, "\ncarried files (%zu)\n", n);
    fprintf(f, "  %-10s %-6s %12s %12s %s\n", "kind", "module", "bytes", "stored", "path");
    for (size_t i = 0; i < n; i++) {
        char mod[16] = "-";
        if (c[i].module != UINT32_MAX)
            snprintf(mod, sizeof mod, "%u", c[i].module);
        fprintf(f, "  %-10s %-6s %12" PRIu64 " %12" PRIu64 " ", c[i].kind == HS_FILE_EXECUTABLE ? "executable" : "debug",
                mod, c[i].size, c[i].stored);
        put_safe(f, c[i].path);
        fputc('\n', f);
    }
}

static void text_threads(FILE *f, const struct hs_snapshot *s)
{
    size_t n;
    const struct hs_thread *t = hs_get_threads(s, &n);
    fprintf(f, "\nthreads (%zu)\n", n);
    if (!n)
        return;
    fprintf(f, "  %-8s %-16s %-5s %-18s %-18s %s\n", "tid", "name", "state", "rip", "rsp", "stack");
    for (size_t i = 0; i < n; i++) {
        char name[17];
        thread_name(&t[i], name);
        fprintf(f, "  %-8" PRId32 " ", t[i].tid);
        int w = put_safe(f, name);
        fprintf(f, "%*s %-5c 0x%016" PRIx64 " 0x%016" PRIx64, w < 16 ? 16 - w : 0, "",
                state_char(t[i].state), t[i].regs[HS_RIP], t[i].regs[HS_RSP]);
        if (t[i].regs_error[0]) {
            fputs(" registers not captured: ", f);
            put_safe(f, t[i].regs_error);
            fputc('\n', f);
        } else if (t[i].stack_start || t[i].stack_end)
            fprintf(f, " %016" PRIx64 "-%016" PRIx64 "\n", t[i].stack_start, t[i].stack_end);
        else
            fprintf(f, " (rsp is in no mapping)\n");
    }
}

static void text_stats(FILE *f, const struct hs_snapshot *s)
{
    const struct hs_stats *st = hs_get_stats(s);
    fprintf(f, "\ncapture\n");
    if (!st) {
        fprintf(f, "  (no statistics section: the capture did not finish writing)\n");
        return;
    }
    char b[32];
    fprintf(f, "  pause        %.3f ms\n", (double)st->pause_ns / 1e6);
    fprintf(f, "  total        %.3f ms\n", (double)st->total_ns / 1e6);
    fprintf(f, "  mode         %s\n", hs_mode_name(st->mode));
    if (st->mode_reason) {
        fprintf(f, "  why          ");
        put_safe(f, st->mode_reason);
        fputc('\n', f);
    }
    fprintf(f, "  threads      %" PRIu32 "\n", st->threads);
    fprintf(f, "  read         %s\n", units_bytes(b, sizeof b, st->bytes_read));
    fprintf(f, "  zero         %s\n", units_bytes(b, sizeof b, st->bytes_zero));
    fprintf(f, "  absent       %s\n", units_bytes(b, sizeof b, st->bytes_absent));
    fprintf(f, "  swapped      %s\n", units_bytes(b, sizeof b, st->bytes_swapped));
    fprintf(f, "  unreadable   %s\n", units_bytes(b, sizeof b, st->bytes_unreadable));
    fprintf(f, "  failures     %" PRIu32 "\n", st->nfailures);
    for (uint32_t i = 0; i < st->nfailures; i++) {
        const struct hs_failure *x = &st->failures[i];
        fprintf(f, "    %016" PRIx64 "-%016" PRIx64 " errno %" PRId32 ": ", x->start, x->end, x->err);
        put_safe(f, x->reason);
        fputc('\n', f);
    }
}

/* ------------------------------------------------------------ JSON output */

static void json_process(struct json *j, const struct hs_snapshot *s)
{
    const struct hs_process *p = hs_get_process(s);
    char when[64];
    iso_time(when, sizeof when, p->capture_time_ns);
    json_key(j, "process");
    json_begin_object(j);
    json_kv_int(j, "pid", p->pid);
    json_kv_string(j, "exe", p->exe);
    json_key(j, "argv");
    json_begin_array(j);
    for (uint32_t i = 0; i < p->argc; i++)
        json_string(j, p->argv[i]);
    json_end_array(j);
    json_kv_uint(j, "capture_time_ns", p->capture_time_ns);
    json_kv_string(j, "capture_time", when);
    json_kv_string(j, "hostname", p->hostname);
    json_kv_string(j, "kernel_release", p->kernel_release);
    json_kv_uint(j, "machine", p->machine);
    json_kv_uint(j, "page_size", p->page_size);
    json_kv_string(j, "policy", policy_name(p->policy));
    json_kv_bool(j, "redacted", !!(p->flags & HS_PROC_REDACTED));
    json_key(j, "auxv");
    json_begin_array(j);
    for (uint32_t i = 0; i < p->auxv_count; i++) {
        json_begin_object(j);
        json_kv_uint(j, "type", p->auxv[2 * i]);
        json_kv_hex(j, "value", p->auxv[2 * i + 1]);
        json_end_object(j);
    }
    json_end_array(j);
    json_end_object(j);
}

static void json_mappings(struct json *j, const struct hs_snapshot *s)
{
    size_t n;
    const struct hs_mapping *m = hs_get_mappings(s, &n);
    json_key(j, "mappings");
    json_begin_array(j);
    for (size_t i = 0; i < n; i++) {
        char pm[5];
        perms(&m[i], pm);
        json_begin_object(j);
        json_kv_hex(j, "start", m[i].start);
        json_kv_hex(j, "end", m[i].end);
        json_kv_string(j, "perms", pm);
        json_kv_hex(j, "offset", m[i].offset);
        json_kv_string(j, "path", m[i].path);
        json_kv_uint(j, "inode", m[i].inode);
        char dev[32];
        snprintf(dev, sizeof dev, "%02" PRIx32 ":%02" PRIx32, m[i].dev_major, m[i].dev_minor);
        json_kv_string(j, "dev", dev);
        json_kv_bool(j, "captured", !!(m[i].flags & HS_MAP_CAPTURED));
        json_kv_bool(j, "anonymous", !!(m[i].flags & HS_MAP_ANON));
        json_kv_uint(j, "rss", m[i].rss);
        json_kv_uint(j, "pss", m[i].pss);
        json_kv_uint(j, "private_clean", m[i].private_clean);
        json_kv_uint(j, "private_dirty", m[i].private_dirty);
        json_kv_uint(j, "shared_clean", m[i].shared_clean);
        json_kv_uint(j, "shared_dirty", m[i].shared_dirty);
        json_kv_uint(j, "swap", m[i].swap);
        json_kv_uint(j, "anon", m[i].anonymous);
        json_kv_uint(j, "anon_huge", m[i].anon_huge);
        if (m[i].has_lazyfree) /* format 1.2 */
            json_kv_uint(j, "lazyfree", m[i].lazyfree);
        else
            json_kv_null(j, "lazyfree");
        json_kv_string(j, "vmflags", m[i].vmflags);
        json_end_object(j);
    }
    json_end_array(j);
}

static void json_modules(struct json *j, const struct hs_snapshot *s)
{
    size_t n;
    const struct hs_module *m = hs_get_modules(s, &n);
    json_key(j, "modules");
    json_begin_array(j);
    for (size_t i = 0; i < n; i++) {
        char id[2 * sizeof m[i].build_id + 1];
        build_id_hex(&m[i], id);
        json_begin_object(j);
        json_kv_string(j, "path", m[i].path);
        json_kv_hex(j, "base", m[i].base);
        json_kv_hex(j, "lowest", m[i].lowest);
        if (id[0])
            json_kv_string(j, "build_id", id);
        else
            json_kv_null(j, "build_id");
        json_end_object(j);
    }
    json_end_array(j);
}

static void json_files(struct json *j, const struct hs_snapshot *s)
{
    size_t n;
    const struct hs_file *c = hs_get_files(s, &n);
    json_key(j, "files");
    json_begin_array(j);
    for (size_t i = 0; i < n; i++) {
        json_begin_object(j);
        json_kv_string(j, "kind", c[i].kind == HS_FILE_EXECUTABLE ? "executable" : "debug");
        if (c[i].module != UINT32_MAX)
            json_kv_uint(j, "module", c[i].module);
        else
            json_kv_null(j, "module");
        json_kv_string(j, "path", c[i].path);
        json_kv_uint(j, "size", c[i].size);
        json_kv_uint(j, "stored", c[i].stored);
        json_end_object(j);
    }
    json_end_array(j);
}

static void json_threads(struct json *j, const struct hs_snapshot *s)
{
    size_t n;
    const struct hs_thread *t = hs_get_threads(s, &n);
    json_key(j, "threads");
    json_begin_array(j);
    for (size_t i = 0; i < n; i++) {
        char name[17], st[2] = {state_char(t[i].state), 0};
        thread_name(&t[i], name);
        json_begin_object(j);
        json_kv_int(j, "tid", t[i].tid);
        json_kv_string(j, "name", name);
        json_kv_string(j, "state", st);
        json_kv_hex(j, "rip", t[i].regs[HS_RIP]);
        json_kv_hex(j, "rsp", t[i].regs[HS_RSP]);
        json_kv_hex(j, "stack_start", t[i].stack_start);
        json_kv_hex(j, "stack_end", t[i].stack_end);
        json_kv_string(j, "registers_error", t[i].regs_error[0] ? t[i].regs_error : NULL);
        json_key(j, "registers");
        json_begin_object(j);
        for (int r = 0; r < HS_NREGS; r++)
            json_kv_hex(j, reg_names[r], t[i].regs[r]);
        json_end_object(j);
        json_end_object(j);
    }
    json_end_array(j);
}

static void json_stats(struct json *j, const struct hs_snapshot *s)
{
    const struct hs_stats *st = hs_get_stats(s);
    json_key(j, "capture");
    if (!st) {
        json_null(j);
        return;
    }
    json_begin_object(j);
    json_kv_uint(j, "pause_ns", st->pause_ns);
    json_kv_uint(j, "total_ns", st->total_ns);
    json_kv_string(j, "mode", hs_mode_name(st->mode));
    if (st->mode_reason)
        json_kv_string(j, "mode_reason", st->mode_reason);
    else
        json_kv_null(j, "mode_reason");
    json_kv_uint(j, "threads", st->threads);
    json_kv_uint(j, "bytes_read", st->bytes_read);
    json_kv_uint(j, "bytes_zero", st->bytes_zero);
    json_kv_uint(j, "bytes_absent", st->bytes_absent);
    json_kv_uint(j, "bytes_swapped", st->bytes_swapped);
    json_kv_uint(j, "bytes_unreadable", st->bytes_unreadable);
    json_key(j, "failures");
    json_begin_array(j);
    for (uint32_t i = 0; i < st->nfailures; i++) {
        const struct hs_failure *x = &st->failures[i];
        json_begin_object(j);
        json_kv_hex(j, "start", x->start);
        json_kv_hex(j, "end", x->end);
        json_kv_int(j, "errno", x->err);
        json_kv_string(j, "reason", x->reason);
        json_end_object(j);
    }
    json_end_array(j);
    json_end_object(j);
}

/* ------------------------------------------------------------ command */

static int on_info_option(void *u, int id, const char *v)
{
    (void)id; /* --json, info's one option */
    (void)v;
    *(int *)u = 1;
    return -1;
}

int cmd_info(int argc, char **argv)
{
    static const struct option_spec opts[] = {{"--json", NULL, NULL, 1}, {0}};
    int as_json = 0;
    const char *path;
    int rc = options_parse_file(argc, argv, info_help, opts, on_info_option, &as_json, "snapshot", "FILE", &path);
    if (rc >= 0)
        return rc;

    struct hs_error err;
    struct hs_snapshot *s = hs_open_any(path, HS_OPEN_METADATA_ONLY, &err);
    if (!s) {
        cli_error("%s", err.msg);
        return EXIT_FAIL;
    }

    const char *warning = hs_snapshot_warning(s);
    int truncated = hs_snapshot_truncated(s);
    if (as_json) {
        struct json j;
        json_init(&j, stdout, JSON_PRETTY);
        json_begin_object(&j);
        json_kv_string(&j, "file", hs_snapshot_path(s));
        char ver[16];
        snprintf(ver, sizeof ver, "%d.%u", HS_VERSION_MAJOR, hs_snapshot_version_minor(s));
        json_kv_string(&j, "format_version", ver);
        json_kv_bool(&j, "truncated", truncated);
        json_kv_string(&j, "warning", warning);
        json_process(&j, s);
        json_mappings(&j, s);
        json_modules(&j, s);
        json_files(&j, s);
        json_threads(&j, s);
        json_stats(&j, s);
        json_end_object(&j);
        if (json_finish(&j) != 0) {
            cli_error("stdout: write error");
            hs_close(s);
            return EXIT_FAIL;
        }
    } else {
        text_process(stdout, s);
        text_mappings(stdout, s);
        text_modules(stdout, s);
        text_files(stdout, s);
        text_threads(stdout, s);
        text_stats(stdout, s);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            cli_error("stdout: write error");
            hs_close(s);
            return EXIT_FAIL;
        }
    }
    /* After the output, so the warning is the last thing a person sees. */
    if (warning)
        cli_warn("%s", warning);
    if (truncated && !warning)
        cli_warn("%s: the file is truncated", hs_snapshot_path(s));
    hs_close(s);
    return truncated ? EXIT_FAIL : EXIT_OK;
}
