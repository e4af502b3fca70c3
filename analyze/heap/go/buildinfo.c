/*
 * go/buildinfo.c — knowing a Go program without its symbols.
 *
 * The walker needs the runtime's symbols and DWARF; a binary built with
 * -ldflags='-s -w' has neither, and without this file the indexer would
 * say "no known allocator found" and let the Go arenas pass for anonymous
 * memory.  A Go executable still says what it is:
 *   - in the snapshot itself: .go.buildinfo opens the first writable
 *     PT_LOAD segment (the linker puts it there), so a default capture,
 *     which copies writable memory, holds "\xff Go buildinf:" and the
 *     version string at that segment's start;
 *   - in its file, when debuginfo found it: .go.buildinfo, the Go build ID
 *     note and the pclntab magic (debuginfo/gobuild.c, dbg_module_info.go).
 * go_recognise() reports what either says.  The walker then refuses
 * with the module's message, which names the version and build ID and
 * says what to pass (--go-binary, --debug-dir) — unless debuginfo matched
 * the unstripped build, whose symbols then make the walk an ordinary one.
 */
#include <elf.h>
#include <stdio.h>
#include <string.h>

#include "heap/go/internal.h"

#define BUILDINFO_READ 512 /* header (32 bytes) + version string, with room */

/* The version from the .go.buildinfo that opens module m's first
 * writable segment, as captured; 0 or -1. */
static int snapshot_version(const struct hs_snapshot *s, const struct hs_module *m, char *ver, size_t vlen)
{
    if (!m->phdrs || m->phdrs_len % sizeof(Elf64_Phdr))
        return -1;
    for (size_t k = 0; k < m->phdrs_len / sizeof(Elf64_Phdr) && k < 4096; k++) {
        Elf64_Phdr ph;
        memcpy(&ph, m->phdrs + k * sizeof ph, sizeof ph);
        if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_W))
            continue;
        uint8_t buf[BUILDINFO_READ];
        size_t n = ph.p_filesz < sizeof buf ? (size_t)ph.p_filesz : sizeof buf;
        if (n < 32 || hs_read(s, ph.p_vaddr + m->base, buf, n))
            return -1;
        return dbg_go_buildinfo_version(buf, n, ver, vlen);
    }
    return -1;
}

int go_recognise(const struct heap_ctx *c, struct go_ident *id)
{
    memset(id, 0, sizeof *id);
    if (!c->dbg)
        return -1;
    for (size_t i = 0; i < dbg_nmodules(c->dbg); i++) {
        const struct dbg_module_info *mi = dbg_module(c->dbg, i);
        char ver[32] = "";
        int from_file = mi->go && mi->go->is_go;
        if (!from_file && snapshot_version(c->snap, mi->module, ver, sizeof ver))
            continue;
        id->module = (int)i;
        id->info = mi;
        snprintf(id->version, sizeof id->version, "%s", from_file ? mi->go->version : ver);
        if (!id->version[0] && snapshot_version(c->snap, mi->module, ver, sizeof ver) == 0)
            snprintf(id->version, sizeof id->version, "%s", ver);
        return 0;
    }
    return -1;
}

void go_refuse_stripped(struct heap_ctx *c, const struct go_ident *id)
{
    const struct dbg_module_info *mi = id->info;
    const struct dbg_go *g = mi->go;
    if (id->version[0])
        c->fact(c, "go.version", id->version);
    if (g && g->build_id[0])
        c->fact(c, "go.build_id", g->build_id);
    if (g && g->pclntab_magic) {
        char b[96];
        const char *f = dbg_go_pclntab_format(g->pclntab_magic);
        snprintf(b, sizeof b, "0x%08x (%s)", g->pclntab_magic, f ? f : "unknown format");
        c->fact(c, "go.pclntab", b);
    }
    c->fact(c, "go.stripped", "1");
    if (mi->problem && g) {
        c->problem(c, 0, "go: %s", mi->problem);
        return;
    }
    /* the file was not found: only the snapshot's build info speaks */
    const char *path = mi->module->path ? mi->module->path : "the executable";
    c->problem(c, 0, "go: %s is a Go program (%s) whose symbols and DWARF are not at hand (the file is "
               "missing or stripped with -ldflags='-s -w'): put the executable where it was, or pass the "
               "unstripped build of the same program with --go-binary PATH or a --debug-dir",
               path, id->version[0] ? id->version : "unknown version");
}
