/*
 * main.c — heapsnap-capture: snapshot a running process into a .hsnap file.
 *
 *   heapsnap-capture [options] PID -o FILE
 *
 * This file owns the command line, the output file, and the wording of
 * errors: every failure is one line that names the cause and the fix, the
 * exit status is non-zero, and no file is left under the final name.  The
 * capture itself is capture.c; see capture.h for its phases.
 *
 * Exit status: 0 success, 1 the capture failed, 2 the command line is wrong
 * (the same convention as bin/heapsnap).
 */
#include "capture.h"
#include "outfile.h"
#include "procfs.h"
#include "stop.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* zstd level 1, measured on bin/samples/bigheap (256 MiB of small objects):
 * level 3 made the file 1.4% smaller and took twice as long (1.7-2.1 s
 * against 0.75-1.1 s).  The target is running by then, but the user waits. */
#define DEFAULT_LEVEL   1
#define DEFAULT_TIMEOUT 10.0

static const char usage[] =
    "usage: heapsnap-capture [options] PID -o FILE\n"
    "\n"
    "Snapshot the memory of running process PID into FILE (\"-\" for standard\n"
    "output).  The target is stopped only briefly; compression and writing\n"
    "happen after it runs again.\n"
    "\n"
    "      --mode=MODE        how (default auto: the shortest pause that fits):\n"
    "                         cow: the stopped target forks a frozen copy of\n"
    "                         itself, which is read after it resumes (pause: the\n"
    "                         fork; memory: the pages it writes meanwhile);\n"
    "                         buffer: copy into a buffer here, then resume;\n"
    "                         stop: copy and LZ4-compress while stopped (for\n"
    "                         when neither fits).  A cow that cannot be made\n"
    "                         safely falls back, and says why\n"
    "  -o, --output=FILE      where to write the snapshot (created mode 0600)\n"
    "      --mappings=WHICH   writable (default): private writable mappings -\n"
    "                         heap, anonymous memory, .data/.bss, stacks, TLS;\n"
    "                         all: every readable mapping\n"
    "      --max-buffer=BYTES largest copy buffer (K, M, G suffixes; default\n"
    "                         half of MemAvailable); a bigger target is written\n"
    "                         while stopped, with a longer pause\n"
    "      --timeout=SECONDS  give up if a thread does not stop in time (10)\n"
    "      --level=N          zstd level 1..19 (default 1)\n"
    "      --redact           keep only words that point into captured\n"
    "                         anonymous memory; zero everything else\n"
    "      --with-binaries    also carry the executable (through /proc/PID/exe)\n"
    "                         and the host's debug files for its modules\n"
    "                         (/usr/lib/debug/.build-id), compressed, so that the\n"
    "                         snapshot indexes anywhere; read after the target\n"
    "                         runs again\n"
    "  -q, --quiet            no summary line\n"
    "  -v, --verbose          the time each phase took, on stderr\n"
    "  -h, --help             this text\n"
    "\n"
    "The environment is never captured: the process section leaves it out and\n"
    "the environment strings on the main stack are zeroed in the copy.\n";

static void die(pid_t pid, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die(pid_t pid, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (pid > 0)
        fprintf(stderr, "heapsnap-capture: cannot capture process %d: ", (int)pid);
    else
        fprintf(stderr, "heapsnap-capture: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "heapsnap-capture: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'heapsnap-capture --help'.\n");
    return 2;
}

/* "512M", "2G", "1GiB", "4096": bytes, with binary multiples. */
static int parse_bytes(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    int shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    }
    if (shift) {
        end++;
        if (*end == 'i')
            end++;
    }
    if (*end == 'B')
        end++;
    if (*end || v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

/* Why a PTRACE_SEIZE or a read of /proc/PID/smaps was refused, and what to
 * do about it.  The kernel says only EPERM/EACCES; the causes are found by
 * looking at what the kernel would have checked. */
static void explain_denied(pid_t pid, pid_t tid, char *buf, size_t len)
{
    /* The thread that was refused has the tracer: when it is not the main
     * thread, the main thread's TracerPid is ourselves (we seized it). */
    long tracer = tid > 0 ? procfs_task_status_field(pid, tid, "TracerPid") : procfs_status_field(pid, "TracerPid");
    if (tracer == (long)getpid())
        tracer = 0;
    long uid = procfs_status_field(pid, "Uid");
    long seccomp = procfs_status_field(getpid(), "Seccomp");
    uid_t me = geteuid();
    if (tracer > 0) {
        char comm[64] = "?", path[64];
        snprintf(path, sizeof path, "/proc/%ld/comm", tracer);
        FILE *f = fopen(path, "re");
        if (f) {
            if (fgets(comm, sizeof comm, f))
                comm[strcspn(comm, "\n")] = '\0';
            fclose(f);
        }
        char who[48] = "it is";
        if (tid > 0 && tid != pid)
            snprintf(who, sizeof who, "its thread %d is", (int)tid);
        snprintf(buf, len,
                 "%s already traced by process %ld (%s), and a thread can have only one tracer; "
                 "detach that debugger or tracer and retry", who, tracer, comm);
        return;
    }
    FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
    int scope = 0;
    if (f) {
        if (fscanf(f, "%d", &scope) != 1)
            scope = 0;
        fclose(f);
    }
    if (me != 0 && uid >= 0 && (uid_t)uid != me) {
        snprintf(buf, len,
                 "permission denied: it belongs to uid %ld and this runs as uid %d; run heapsnap-capture "
                 "as that user, or as root (CAP_SYS_PTRACE)", uid, (int)me);
        return;
    }
    if (scope > 0 && me != 0) {
        snprintf(buf, len,
                 "permission denied by Yama (kernel.yama.ptrace_scope = %d%s); run as root, give the binary "
                 "CAP_SYS_PTRACE (setcap cap_sys_ptrace+ep), or set kernel.yama.ptrace_scope=0",
                 scope, scope == 1 ? ": only ancestors may trace" : "");
        return;
    }
    if (seccomp == 2) {
        snprintf(buf, len,
                 "permission denied: heapsnap-capture runs under a seccomp filter (a container?) that "
                 "forbids ptrace; allow ptrace and process_vm_readv (e.g. docker --cap-add=SYS_PTRACE)");
        return;
    }
    snprintf(buf, len,
             "permission denied: the target may be non-dumpable (setuid, or prctl PR_SET_DUMPABLE 0) or "
             "in another user namespace; run as root with CAP_SYS_PTRACE");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"mappings", required_argument, NULL, 'm'},
        {"mode", required_argument, NULL, 'M'},
        {"max-buffer", required_argument, NULL, 'b'},
        {"timeout", required_argument, NULL, 't'},
        {"level", required_argument, NULL, 'l'},
        {"redact", no_argument, NULL, 'r'},
        {"with-binaries", no_argument, NULL, 'B'},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct capture_opts o;
    memset(&o, 0, sizeof o);
    o.timeout_s = DEFAULT_TIMEOUT;
    o.policy = HS_POLICY_WRITABLE;
    const char *out = NULL;
    int level = DEFAULT_LEVEL, c;
    while ((c = getopt_long(argc, argv, "o:qvh", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'o': out = optarg; break;
        case 'm':
            if (strcmp(optarg, "writable") == 0)
                o.policy = HS_POLICY_WRITABLE;
            else if (strcmp(optarg, "all") == 0)
                o.policy = HS_POLICY_ALL;
            else
                return usage_error("--mappings must be 'writable' or 'all', not '%s'", optarg);
            break;
        case 'M':
            if (strcmp(optarg, "auto") == 0)
                o.mode = CAPTURE_AUTO;
            else if (strcmp(optarg, "cow") == 0)
                o.mode = CAPTURE_COW;
            else if (strcmp(optarg, "buffer") == 0)
                o.mode = CAPTURE_BUFFER;
            else if (strcmp(optarg, "stop") == 0)
                o.mode = CAPTURE_STOP;
            else
                return usage_error("--mode must be 'auto', 'cow', 'buffer' or 'stop', not '%s'", optarg);
            break;
        case 'b':
            if (parse_bytes(optarg, &o.max_buffer) < 0 || o.max_buffer == 0)
                return usage_error("--max-buffer wants a size such as 512M or 2G, not '%s'", optarg);
            break;
        case 't':
            o.timeout_s = strtod(optarg, &end);
            if (*end || end == optarg || !(o.timeout_s > 0) || o.timeout_s > 86400)
                return usage_error("--timeout wants seconds, such as 10 or 0.5, not '%s'", optarg);
            break;
        case 'l':
            level = (int)strtol(optarg, &end, 10);
            if (*end || end == optarg || level < 1 || level > 19)
                return usage_error("--level wants a zstd level from 1 to 19, not '%s'", optarg);
            break;
        case 'r': o.redact = 1; break;
        case 'B': o.with_binaries = 1; break;
        case 'q': o.quiet = 1; break;
        case 'v': o.verbose = 1; break;
        case 'h': fputs(usage, stdout); return 0;
        default: return usage_error("%s", "unknown option");
        }
    }
    if (optind != argc - 1)
        return usage_error("%s", optind >= argc ? "which process? give its PID" : "one PID only");
    char *end;
    long pid = strtol(argv[optind], &end, 10);
    if (*end || pid <= 0 || pid > 0x3fffffff)
        return usage_error("'%s' is not a process id", argv[optind]);
    o.pid = (pid_t)pid;
    if (!out)
        return usage_error("%s", "where to? give -o FILE (or -o - for standard output)");
    if (o.pid == getpid())
        return usage_error("%s", "heapsnap-capture cannot capture itself");
    if (strcmp(out, "-") == 0 && isatty(STDOUT_FILENO))
        return usage_error("%s", "refusing to write a binary snapshot to a terminal; redirect it or use -o FILE");

    char path[64];
    struct stat sb;
    snprintf(path, sizeof path, "/proc/%d", o.pid);
    if (stat(path, &sb) < 0)
        die(o.pid, "no such process (check the PID with ps or pgrep)");
    /* A thread id names its whole process; capture that, and say so. */
    long tgid = procfs_status_field(o.pid, "Tgid");
    if (tgid > 0 && tgid != o.pid) {
        if (!o.quiet)
            fprintf(stderr, "heapsnap-capture: %d is a thread of process %ld; capturing the process\n", (int)o.pid,
                    tgid);
        o.pid = (pid_t)tgid;
        snprintf(path, sizeof path, "/proc/%d", o.pid);
    }
    if (o.max_buffer == 0) {
        o.max_buffer = procfs_mem_available() / 2;
        if (o.max_buffer < (64u << 20))
            o.max_buffer = 64u << 20;
    }

    char err[768];
    struct outfile of;
    if (outfile_open(&of, out, err, sizeof err) < 0)
        die(0, "%s", err);
    stop_install_handlers(outfile_tmp_name(&of));
    struct hs_error herr;
    struct hs_writer *w = hs_writer_open(of.fd, out, level, &herr);
    if (!w) {
        outfile_abort(&of);
        die(0, "%s", herr.msg);
    }
    struct capture_result res;
    memset(&res, 0, sizeof res);
    if (capture_run(&o, w, &res, err, sizeof err) < 0) {
        int e = errno;
        hs_writer_abort(w);
        outfile_abort(&of);
        stop_forget_tmp();
        if (e == EPERM || e == EACCES) {
            char why[512];
            explain_denied(o.pid, res.denied_tid, why, sizeof why);
            die(o.pid, "%s (%s)", why, err);
        }
        if (e == ESRCH && stat(path, &sb) < 0)
            die(o.pid, "it exited during the capture; nothing written");
        die(o.pid, "%s", err);
    }
    if (hs_writer_finish(w, &herr) < 0) {
        outfile_abort(&of);
        stop_forget_tmp();
        die(o.pid, "writing %s: %s", out, herr.msg);
    }
    /* The handlers must not remove the temporary name that the commit
     * creates from under the rename; past this point we only finish. */
    stop_forget_tmp();
    if (outfile_commit(&of, err, sizeof err) < 0) {
        die(o.pid, "%s", err);
    }
    stop_forget_tmp();
    if (!o.quiet)
        fprintf(stderr, "captured %d (%u threads, %.1f MiB read, %s) in %.2f s; target paused %.1f ms\n",
                (int)o.pid, res.threads, (double)res.bytes_read / (1 << 20),
                res.mode == HS_MODE_STREAMED ? "streamed while stopped" : hs_mode_name(res.mode),
                (double)res.total_ns / 1e9, (double)res.pause_ns / 1e6);
    if (!o.quiet && o.with_binaries)
        fprintf(stderr, "carried %u files (%.1f MiB, %.1f MiB in the snapshot)\n", res.files,
                (double)res.file_bytes / (1 << 20), (double)res.file_stored / (1 << 20));
    return 0;
}
