/*
 * capture-peek.c — a small reader used by tests/t1000 and t1010 to look
 * inside what heapsnap-capture wrote, through the format library only (so
 * the capture tests do not depend on the analyzer being built).
 *
 *   capture-peek FILE threads            "tid TID state S name N rsp 0x.. stack 0x..-0x.."
 *   capture-peek FILE stats              "KEY value" lines from hs_stats and hs_process
 *   capture-peek FILE pattern ADDR LEN SEED
 *                                        exit 0 iff byte i at ADDR is (i*7+SEED)&0xff
 *   capture-peek FILE bytes ADDR LEN     LEN captured bytes from ADDR, to standard output
 *   capture-peek FILE dump OUT           every captured byte, range after range, to OUT
 *   capture-peek FILE redacted           exit 0 iff every nonzero word of captured
 *                                        memory points into captured anonymous memory
 *   capture-peek FILE argv               the captured command line, one per line
 */
#include "hsnap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int die(const char *msg)
{
    fprintf(stderr, "capture-peek: %s\n", msg);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return die("usage: capture-peek FILE threads|stats|pattern|bytes|dump|redacted|argv ...");
    struct hs_error err;
    struct hs_snapshot *s = hs_open(argv[1], 0, &err);
    if (!s)
        return die(err.msg);
    const char *cmd = argv[2];
    int rc = 0;
    size_t n;
    if (strcmp(cmd, "threads") == 0) {
        const struct hs_thread *t = hs_get_threads(s, &n);
        for (size_t i = 0; i < n; i++)
            printf("tid %d state %c name %s rsp 0x%llx stack 0x%llx-0x%llx\n", t[i].tid, t[i].state, t[i].name,
                   (unsigned long long)t[i].regs[HS_RSP], (unsigned long long)t[i].stack_start,
                   (unsigned long long)t[i].stack_end);
    } else if (strcmp(cmd, "stats") == 0) {
        const struct hs_stats *st = hs_get_stats(s);
        const struct hs_process *p = hs_get_process(s);
        printf("pid %d\nflags %u\npolicy %u\n", p->pid, p->flags, p->policy);
        if (st && st->mode_reason)
            printf("mode_reason %s\n", st->mode_reason);
        if (st)
            printf("pause_ns %llu\ntotal_ns %llu\nbytes_read %llu\nbytes_zero %llu\nbytes_absent %llu\n"
                   "threads %u\nmode %u\nfailures %u\n",
                   (unsigned long long)st->pause_ns, (unsigned long long)st->total_ns,
                   (unsigned long long)st->bytes_read, (unsigned long long)st->bytes_zero,
                   (unsigned long long)st->bytes_absent, st->threads, st->mode, st->nfailures);
        hs_get_ranges(s, &n);
        printf("ranges %zu\n", n);
        hs_get_modules(s, &n);
        printf("modules %zu\n", n);
    } else if (strcmp(cmd, "pattern") == 0 && argc == 6) {
        uint64_t addr = strtoull(argv[3], NULL, 0);
        size_t len = strtoull(argv[4], NULL, 0);
        unsigned seed = (unsigned)strtoul(argv[5], NULL, 0);
        unsigned char *b = malloc(len);
        if (!b || hs_read(s, addr, b, len) < 0) {
            rc = die("range not captured");
        } else {
            for (size_t i = 0; i < len && rc == 0; i++)
                if (b[i] != (unsigned char)((i * 7 + seed) & 0xff)) {
                    fprintf(stderr, "capture-peek: byte %zu at 0x%llx is 0x%02x\n", i,
                            (unsigned long long)(addr + i), b[i]);
                    rc = 1;
                }
        }
        free(b);
    } else if (strcmp(cmd, "bytes") == 0 && argc == 5) {
        uint64_t addr = strtoull(argv[3], NULL, 0);
        size_t len = strtoull(argv[4], NULL, 0);
        unsigned char *b = malloc(len ? len : 1);
        if (!b || hs_read(s, addr, b, len) < 0)
            rc = die("range not captured");
        else if (fwrite(b, 1, len, stdout) != len || fflush(stdout) != 0)
            rc = die("cannot write the bytes");
        free(b);
    } else if (strcmp(cmd, "dump") == 0 && argc == 4) {
        FILE *f = fopen(argv[3], "w");
        const struct hs_mem_range *r = hs_get_ranges(s, &n);
        for (size_t i = 0; f && i < n; i++)
            fwrite(r[i].data, 1, r[i].end - r[i].start, f);
        if (!f || fclose(f) != 0)
            rc = die("cannot write the dump");
    } else if (strcmp(cmd, "redacted") == 0) {
        size_t nm;
        const struct hs_mapping *m = hs_get_mappings(s, &nm);
        const struct hs_mem_range *r = hs_get_ranges(s, &n);
        if (!(hs_get_process(s)->flags & HS_PROC_REDACTED))
            rc = die("HS_PROC_REDACTED is not set");
        uint64_t kept = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            for (uint64_t a = r[i].start; a + 8 <= r[i].end; a += 8) {
                uint64_t v;
                memcpy(&v, r[i].data + (a - r[i].start), 8);
                if (!v)
                    continue;
                int ok = 0;
                for (size_t k = 0; k < nm && !ok; k++)
                    ok = (m[k].flags & HS_MAP_CAPTURED) && (m[k].flags & HS_MAP_ANON) && v >= m[k].start &&
                         v < m[k].end;
                if (!ok) {
                    fprintf(stderr, "capture-peek: word 0x%llx at 0x%llx survived redaction\n",
                            (unsigned long long)v, (unsigned long long)a);
                    rc = 1;
                    break;
                }
                kept++;
            }
        }
        printf("kept %llu\n", (unsigned long long)kept);
    } else if (strcmp(cmd, "argv") == 0) {
        const struct hs_process *p = hs_get_process(s);
        for (uint32_t i = 0; i < p->argc; i++)
            printf("%s\n", p->argv[i]);
    } else {
        rc = die("unknown command");
    }
    hs_close(s);
    return rc;
}
