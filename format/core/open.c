/*
 * open.c — the entry points of hscore.h: tell a core from a snapshot, and
 * run the steps of internal.h over one.
 *
 * A core opens like a snapshot: everything the result holds lives until
 * hs_close(), and nothing points into the file, which is unmapped (or the
 * decompressed copy freed) before hs_open_core() returns.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"

static const char *exe_override;

void hs_core_set_exe(const char *path) { exe_override = path; }

/* 1 for an ELF core or a compressed stream; 0 otherwise. */
static int probe_bytes(const uint8_t *b, size_t n)
{
    if (cr_compression(b, n))
        return 1;
    return n >= 18 && !memcmp(b, ELFMAG, SELFMAG) && b[EI_DATA] == ELFDATA2LSB && b[16] == ET_CORE && b[17] == 0;
}

int hs_core_probe(const char *path)
{
    uint8_t b[18];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, b, sizeof b);
    close(fd);
    if (n < 4)
        return 0;
    /* A big-endian or 32-bit core is a core too: hs_open_core() says why
     * it cannot read it, which is better than "not a snapshot". */
    if (n >= 18 && !memcmp(b, ELFMAG, SELFMAG) && (b[16] == ET_CORE || b[17] == ET_CORE))
        return 1;
    return probe_bytes(b, (size_t)n);
}

static struct hs_snapshot *parse(const uint8_t *buf, size_t len, const char *name, unsigned flags,
                                 int64_t mtime_ns, struct hs_error *err)
{
    struct hs_snapshot *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(name))) {
        hs_set_err(err, "%s: out of memory", name);
        free(s);
        return NULL;
    }
    struct core_in ci = {.name = name, .buf = buf, .len = len, .flags = flags, .err = err, .s = s,
                         .exe_override = exe_override, .mtime_ns = mtime_ns};
    int r = cr_elf(&ci);
    if (!r)
        r = cr_notes(&ci);
    if (!r)
        r = cr_memory(&ci);
    if (!r)
        r = cr_modules(&ci);
    s->have_process = r == 0;
    if (!r && ci.trunc[0]) {
        /* The cut first: it is what hs_snapshot_warning() is read for. */
        size_t a = strlen(ci.trunc), b = s->warning ? strlen(s->warning) : 0;
        char *w = malloc(a + b + 2);
        if (w) {
            memcpy(w, ci.trunc, a);
            if (b) {
                w[a] = '\n';
                memcpy(w + a + 1, s->warning, b + 1);
            } else {
                w[a] = 0;
            }
            free(s->warning);
            s->warning = w;
        }
    }
    free(ci.ph);
    free(ci.files);
    if (r) {
        hs_close(s);
        return NULL;
    }
    return s;
}

struct hs_snapshot *hs_open_core_memory(const void *buf, size_t len, const char *name, unsigned flags,
                                        struct hs_error *err)
{
    const uint8_t *core;
    size_t n, mapped;
    name = name ? name : "(memory)";
    if (cr_unpack_memory(buf, len, name, &core, &n, &mapped, err) < 0)
        return NULL;
    struct hs_snapshot *s = parse(core, n, name, flags, 0, err);
    if (mapped)
        munmap((void *)core, mapped);
    return s;
}

struct hs_snapshot *hs_open_core(const char *path, unsigned flags, struct hs_error *err)
{
    const uint8_t *core;
    size_t n, mapped;
    int compressed;
    struct stat st;
    int64_t mtime = stat(path, &st) == 0 ? (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec : 0;
    if (cr_unpack(path, &core, &n, &mapped, &compressed, err) < 0)
        return NULL;
    struct hs_snapshot *s = parse(core, n, path, flags, mtime, err);
    munmap((void *)core, mapped);
    return s;
}

struct hs_snapshot *hs_open_any(const char *path, unsigned flags, struct hs_error *err)
{
    if (strcmp(path, "-") && hs_core_probe(path))
        return hs_open_core(path, flags, err);
    return hs_open(path, flags, err);
}

int hs_gather_u64_any(const char *path, const uint64_t *addr, size_t n, uint64_t *out, uint8_t *ok,
                      struct hs_error *err)
{
    if (!strcmp(path, "-") || !hs_core_probe(path))
        return hs_gather_u64(path, addr, n, out, ok, err);
    struct hs_snapshot *s = hs_open_core(path, 0, err);
    if (!s)
        return -1;
    for (size_t i = 0; i < n; i++) {
        ok[i] = hs_read_u64(s, addr[i], &out[i]) == 0;
        if (!ok[i])
            out[i] = 0;
    }
    hs_close(s);
    return 0;
}
