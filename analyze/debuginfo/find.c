/*
 * find.c — which files on disk belong to a snapshot's module.
 *
 * A module is identified by its build-id; a path is only a hint.  What
 * the snapshot carries comes first (the executable, and debug files by
 * build-id; index/carried.h).  The binary is looked for at the recorded path, then in each --debug-dir
 * (DIR/<recorded path>, DIR/.build-id/xx/rest, DIR/<basename>).  When the
 * binary carries no DWARF, a separate debug file is looked for, unless
 * --no-separate-debug: DIR/.build-id/xx/rest.debug for each --debug-dir,
 * /usr/lib/debug/.build-id/xx/rest.debug, then the binary's
 * .gnu_debuglink name beside it, in .debug/ beside it, in each --debug-dir
 * and under /usr/lib/debug/<its directory> (a debuglink match is
 * CRC-checked).  Every candidate must carry the module's build-id; a file
 * with another build-id is a different build and is refused, whatever its
 * name.  What could not be found is said in mod->problem.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debuginfo/internal.h"

#define SYSTEM_DEBUG_DIR "/usr/lib/debug"

/* The recorded path without the " (deleted)" that /proc/PID/maps appends. */
static void clean_path(char *out, size_t n, const char *path)
{
    snprintf(out, n, "%s", path);
    size_t len = strlen(out);
    static const char del[] = " (deleted)";
    if (len > sizeof del - 1 && !strcmp(out + len - (sizeof del - 1), del))
        out[len - (sizeof del - 1)] = '\0';
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/*
 * A module without a build-id (a Go binary): the one check left is that
 * the file's ELF header and program header table are the bytes the capture
 * copied from the file the process had mapped.  A binary rebuilt since
 * then almost always differs there, and its symbols would send the walkers
 * to the wrong addresses.  1 if they match or nothing was recorded.
 */
static int headers_match(const struct hs_module *m, const struct elffile *ef)
{
    if (!m->ehdr || !m->ehdr_len || !m->phdrs || !m->phdrs_len)
        return 1;
    size_t size;
    const char *raw = elf_rawfile(ef->elf, &size);
    GElf_Ehdr eh;
    if (!raw || m->ehdr_len > size || memcmp(raw, m->ehdr, m->ehdr_len) ||
        !gelf_getehdr(ef->elf, &eh) || eh.e_phoff > size || m->phdrs_len > size - eh.e_phoff)
        return 0;
    return !memcmp(raw + eh.e_phoff, m->phdrs, m->phdrs_len);
}

/*
 * Open path if it is an ELF file with the module's build-id.  A module
 * without a build-id can be checked only by its headers, so the recorded
 * path is accepted if they match (and nothing else is, since any file
 * would "match").  On refusal, *why says why (for the recorded path's
 * message).
 */
static struct elffile *try_candidate(const struct hs_module *m, const char *path, int unverified_ok,
                                     char *why, size_t whylen)
{
    const char *reason = NULL;
    struct elffile *ef = elffile_open(path, &reason);
    if (!ef) {
        if (why)
            snprintf(why, whylen, "%s", reason);
        return NULL;
    }
    int same_headers = m->build_id_len || headers_match(m, ef);
    if (m->build_id_len == 0 ? unverified_ok && same_headers
                             : elffile_build_id_is(ef, m->build_id, m->build_id_len))
        return ef;
    if (why && !same_headers) {
        snprintf(why, whylen, "the file there is a different build (no build-id, and its ELF "
                              "headers differ from the snapshot's)");
    } else if (why) {
        char hex[2 * sizeof ef->build_id + 1];
        if (ef->build_id_len)
            snprintf(why, whylen, "the file there is a different build (build-id %s)",
                     build_id_hex(hex, ef->build_id, ef->build_id_len));
        else
            snprintf(why, whylen, "the file there has no build-id to check");
    }
    elffile_close(ef);
    return NULL;
}

/* DIR/.build-id/xx/rest[suffix] into buf; 0, or -1 if the module has no build-id. */
static int build_id_path(char *buf, size_t n, const char *dir, const struct hs_module *m,
                         const char *suffix)
{
    if (m->build_id_len < 2 || m->build_id_len > sizeof m->build_id)
        return -1;
    char hex[2 * sizeof m->build_id + 1];
    build_id_hex(hex, m->build_id, m->build_id_len);
    int r = snprintf(buf, n, "%s/.build-id/%.2s/%s%s", dir, hex, hex + 2, suffix);
    return r < 0 || (size_t)r >= n ? -1 : 0;
}

static struct elffile *find_binary(const struct dbg *d, const struct hs_module *m, const char *path,
                                   char *why, size_t whylen)
{
    char buf[PATH_MAX];
    /* the file the snapshot carries is the one the process ran (read
     * through /proc/PID/exe), checked like the recorded path */
    size_t idx = (size_t)(m - d->mods[0].info.module);
    const char *carried = idx < d->opt.ncarried_binaries ? d->opt.carried_binaries[idx] : NULL;
    struct elffile *ef = carried ? try_candidate(m, carried, 1, NULL, 0) : NULL;
    if (!ef && path[0])
        ef = try_candidate(m, path, 1, why, whylen);
    for (size_t i = 0; !ef && i < d->opt.ndebug_dirs; i++) {
        const char *dir = d->opt.debug_dirs[i];
        if (path[0] == '/' && snprintf(buf, sizeof buf, "%s%s", dir, path) < (int)sizeof buf)
            ef = try_candidate(m, buf, 0, NULL, 0);
        if (!ef && build_id_path(buf, sizeof buf, dir, m, "") == 0)
            ef = try_candidate(m, buf, 0, NULL, 0);
        if (!ef && path[0] &&
            snprintf(buf, sizeof buf, "%s/%s", dir, base_name(path)) < (int)sizeof buf)
            ef = try_candidate(m, buf, 0, NULL, 0);
    }
    return ef;
}

/* A separate debug file is worth having only for its DWARF or .symtab. */
static struct elffile *useful(struct elffile *ef)
{
    if (ef && !ef->has_dwarf && !ef->has_symtab) {
        elffile_close(ef);
        return NULL;
    }
    return ef;
}

/* Try one .gnu_debuglink candidate: CRC first, then the build-id if both have one. */
static struct elffile *try_debuglink(const struct hs_module *m, const struct elffile *bin,
                                     const char *path)
{
    uint32_t crc;
    if (strcmp(path, bin->path) == 0 || elffile_crc32(path, &crc) < 0 || crc != bin->debuglink_crc)
        return NULL;
    struct elffile *ef = elffile_open(path, NULL);
    if (ef && m->build_id_len && ef->build_id_len &&
        !elffile_build_id_is(ef, m->build_id, m->build_id_len)) {
        elffile_close(ef);
        return NULL;
    }
    return useful(ef);
}

static struct elffile *find_debug(const struct dbg *d, const struct hs_module *m,
                                  const struct elffile *bin)
{
    char buf[PATH_MAX];
    struct elffile *ef = NULL;
    if (d->opt.carried_dir && build_id_path(buf, sizeof buf, d->opt.carried_dir, m, ".debug") == 0)
        ef = useful(try_candidate(m, buf, 0, NULL, 0));
    for (size_t i = 0; !ef && i < d->opt.ndebug_dirs; i++)
        if (build_id_path(buf, sizeof buf, d->opt.debug_dirs[i], m, ".debug") == 0)
            ef = useful(try_candidate(m, buf, 0, NULL, 0));
    if (!ef && !d->opt.no_system_debug &&
        build_id_path(buf, sizeof buf, SYSTEM_DEBUG_DIR, m, ".debug") == 0)
        ef = useful(try_candidate(m, buf, 0, NULL, 0));
    if (ef || !bin || !bin->debuglink)
        return ef;

    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", bin->path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    const char *link = bin->debuglink;
    if (snprintf(buf, sizeof buf, "%s/%s", dir, link) < (int)sizeof buf)
        ef = try_debuglink(m, bin, buf);
    if (!ef && snprintf(buf, sizeof buf, "%s/.debug/%s", dir, link) < (int)sizeof buf)
        ef = try_debuglink(m, bin, buf);
    for (size_t i = 0; !ef && i < d->opt.ndebug_dirs; i++)
        if (snprintf(buf, sizeof buf, "%s/%s", d->opt.debug_dirs[i], link) < (int)sizeof buf)
            ef = try_debuglink(m, bin, buf);
    if (!ef && !d->opt.no_system_debug && dir[0] == '/' &&
        snprintf(buf, sizeof buf, "%s%s/%s", SYSTEM_DEBUG_DIR, dir, link) < (int)sizeof buf)
        ef = try_debuglink(m, bin, buf);
    return ef;
}

void dbg_find_files(const struct dbg *d, struct dbg_mod *mod)
{
    const struct hs_module *m = mod->info.module;
    char path[PATH_MAX], why[256] = "not found";
    int r;
    clean_path(path, sizeof path, m->path ? m->path : "");
    if (path[0] == '[')
        return; /* [vdso] and the like live only in memory; nothing to find */

    mod->elf = find_binary(d, m, path, why, sizeof why);
    if (mod->elf && mod->elf->has_dwarf)
        mod->debug = mod->elf;
    else if (!d->opt.no_separate_debug)
        mod->debug = find_debug(d, m, mod->elf);

    char hex[2 * sizeof m->build_id + 1] = "none";
    if (m->build_id_len && m->build_id_len <= sizeof m->build_id)
        build_id_hex(hex, m->build_id, m->build_id_len);

    const struct elffile *symsrc = mod->elf && mod->elf->has_symtab ? mod->elf
                                 : mod->debug && mod->debug->has_symtab ? mod->debug
                                 : mod->elf;
    const char *symmsg = !symsrc                                      ? "no symbols"
                       : symsrc->has_symtab                           ? NULL
                       : symsrc->has_dynsym                           ? "only .dynsym symbols"
                                                                      : "no symbols";
    const char *dwmsg = mod->debug && mod->debug->has_dwarf ? NULL
                      : d->opt.no_separate_debug ? "no DWARF (separate debug files ignored)"
                                                 : "no DWARF (no debug file found)";
    if (!mod->elf && !mod->debug) {
        r = asprintf(&mod->problem, "%s (build-id %s): %s; no symbols, no DWARF", path, hex, why);
    } else if (!mod->elf) {
        r = asprintf(&mod->problem, "%s (build-id %s): %s; using %s%s%s", path, hex, why,
                 mod->debug->path, dwmsg ? "; " : "", dwmsg ? dwmsg : "");
    } else if (symmsg || dwmsg) {
        r = asprintf(&mod->problem, "%s (build-id %s): %s%s%s", path, hex, dwmsg ? dwmsg : "",
                 dwmsg && symmsg ? "; " : "", symmsg ? symmsg : "");
    } else {
        return;
    }
    if (r < 0)
        mod->problem = NULL; /* out of memory: the module goes on without its message */
}
