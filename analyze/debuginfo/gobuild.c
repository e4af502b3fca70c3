/*
 * gobuild.c — Go executables without symbols: what the file itself says
 * it is, and whether an unstripped build is the same program.
 *
 * `go build -ldflags='-s -w'` drops .symtab and DWARF but keeps three
 * anchors the linker always writes:
 *   .go.buildinfo      "\xff Go buildinf:", pointer size, flags, then (Go
 *                      1.18+, flag 2) the version string ("go1.26.8") and
 *                      the module info, each a uvarint length and bytes;
 *   .note.go.buildid   an ELF note (name "Go", type 4) holding the Go build
 *                      ID: for an executable four hashes, link action /
 *                      main package action / main package content / link
 *                      content;
 *   .gopclntab         the function table, whose first word names its
 *                      format: 0xfffffff0 (1.18-1.19), 0xfffffff1 (1.20+).
 *
 * The unstripped build of the same sources is not the same file.  The
 * linker lays .rodata out differently when it writes DWARF (it keeps type
 * descriptors for it), and the ldflags land in the build info, so the data
 * sections sit at other addresses and the link hashes of the build ID
 * differ.  What is identical is the code: the main package's content hash
 * (the third element of the build ID) and the pclntab byte for byte (every
 * function, at the same offset from the same text start).  So a candidate
 * is accepted when its version, main content hash and pclntab equal the
 * stripped binary's, and its symbols and DWARF are then moved section by
 * section: every allocated section present in both under one name and of
 * one size maps to the stripped binary's address of that section.  A
 * section whose size differs (.rodata, .go.buildinfo) is not mapped, and
 * what lies in it (type descriptors, string data) is dropped rather than
 * guessed; the runtime's variables all live in .data, .bss, .noptrdata and
 * .noptrbss (and 1.26's .go.module), which must map or the match fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "debuginfo/internal.h"

#define MAX_SECTIONS 4096 /* bounds a hostile section table */

static const char buildinfo_magic[14] = "\xff Go buildinf:";

/* A section's contents (NULL if absent or empty). */
static const uint8_t *section_bytes(const struct elffile *ef, const char *name, size_t *len, GElf_Shdr *sh)
{
    GElf_Shdr tmp;
    if (!sh)
        sh = &tmp;
    Elf_Scn *scn = elffile_section(ef, name, sh);
    if (!scn || sh->sh_type == SHT_NOBITS)
        return NULL;
    Elf_Data *d = elf_getdata(scn, NULL);
    if (!d || !d->d_buf || d->d_size == 0)
        return NULL;
    *len = d->d_size;
    return d->d_buf;
}

/* A uvarint at *p (bounded by end); 0 or -1. */
static int uvarint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
    }
    return -1;
}

int dbg_go_buildinfo_version(const uint8_t *buf, size_t len, char *ver, size_t vlen)
{
    if (len < 32 || memcmp(buf, buildinfo_magic, sizeof buildinfo_magic) || vlen == 0)
        return -1;
    if (!(buf[15] & 2)) /* before Go 1.18: two pointers to strings elsewhere */
        return snprintf(ver, vlen, "go1.17 or older"), 0;
    const uint8_t *p = buf + 32, *end = buf + len;
    uint64_t n;
    if (uvarint(&p, end, &n) || n == 0 || n >= vlen || n > (uint64_t)(end - p))
        return -1;
    for (uint64_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] > 0x7e)
            return -1;
    memcpy(ver, p, n);
    ver[n] = 0;
    return 0;
}

const char *dbg_go_pclntab_format(uint32_t magic)
{
    switch (magic) {
    case 0xfffffffbu: return "Go 1.2-1.15";
    case 0xfffffffau: return "Go 1.16-1.17";
    case 0xfffffff0u: return "Go 1.18-1.19";
    case 0xfffffff1u: return "Go 1.20 or later";
    default: return NULL;
    }
}

/* The desc of the "Go" note of type 4 in .note.go.buildid, as a string. */
static int read_build_id(const struct elffile *ef, char *out, size_t outlen)
{
    size_t len;
    const uint8_t *b = section_bytes(ef, ".note.go.buildid", &len, NULL);
    if (!b || len < 16)
        return -1;
    uint32_t namesz, descsz, type;
    memcpy(&namesz, b, 4);
    memcpy(&descsz, b + 4, 4);
    memcpy(&type, b + 8, 4);
    size_t desc = 12 + (((size_t)namesz + 3) & ~(size_t)3);
    /* the linker writes the name "Go" padded with NULs: namesz 4 */
    if (type != 4 || (namesz != 3 && namesz != 4) || memcmp(b + 12, "Go\0", 3) || descsz == 0 || descsz >= outlen ||
        desc > len || descsz > len - desc)
        return -1;
    memcpy(out, b + desc, descsz);
    out[descsz] = 0;
    for (size_t i = 0; i < descsz; i++)
        if (out[i] < 0x20 || out[i] > 0x7e)
            return -1;
    return 0;
}

int dbg_go_probe(const struct elffile *ef, struct dbg_go *g)
{
    memset(g, 0, sizeof *g);
    size_t len;
    const uint8_t *b = section_bytes(ef, ".go.buildinfo", &len, NULL);
    if (b && dbg_go_buildinfo_version(b, len, g->version, sizeof g->version) == 0)
        g->is_go = 1;
    if (read_build_id(ef, g->build_id, sizeof g->build_id) == 0)
        g->is_go = 1;
    if ((b = section_bytes(ef, ".gopclntab", &len, NULL)) && len >= 8) {
        memcpy(&g->pclntab_magic, b, 4);
        if (dbg_go_pclntab_format(g->pclntab_magic))
            g->is_go = 1;
    }
    return g->is_go ? 0 : -1;
}

/* Element i (0-based) of a '/'-separated build ID into out; 0 or -1. */
static int build_id_part(const char *id, int i, char *out, size_t n)
{
    for (; i > 0; i--) {
        id = strchr(id, '/');
        if (!id)
            return -1;
        id++;
    }
    size_t l = strcspn(id, "/");
    if (l == 0 || l >= n)
        return -1;
    memcpy(out, id, l);
    out[l] = 0;
    return 0;
}

/* 1 if both build IDs name one main package: equal, or four elements each
 * with the same third one (the main package's content hash). */
static int same_main_package(const char *a, const char *b)
{
    char pa[128], pb[128];
    if (!strcmp(a, b))
        return 1;
    return build_id_part(a, 3, pa, sizeof pa) == 0 && build_id_part(b, 3, pb, sizeof pb) == 0 &&
           build_id_part(a, 2, pa, sizeof pa) == 0 && build_id_part(b, 2, pb, sizeof pb) == 0 &&
           !strcmp(pa, pb);
}

/* The allocated section of ef named name, or 0. */
static int find_alloc(const struct elffile *ef, const char *name, GElf_Shdr *out)
{
    return elffile_section(ef, name, out) && (out->sh_flags & SHF_ALLOC) && out->sh_size;
}

int dbg_go_match(const struct elffile *bin, const struct dbg_go *bg, const struct elffile *cand,
                 struct dbg_remap **map, size_t *nmap, char *why, size_t whylen)
{
    struct dbg_go cg;
    *map = NULL;
    *nmap = 0;
    if (!cand->has_symtab && !cand->has_dwarf)
        return snprintf(why, whylen, "%s has no symbols and no DWARF either", cand->path), -1;
    if (dbg_go_probe(cand, &cg))
        return snprintf(why, whylen, "%s is not a Go executable", cand->path), -1;
    if (strcmp(cg.version, bg->version))
        return snprintf(why, whylen, "%s was built by %s, the snapshot's executable by %s", cand->path,
                        cg.version[0] ? cg.version : "an unknown Go", bg->version[0] ? bg->version : "an unknown Go"), -1;
    if (!bg->build_id[0] || !cg.build_id[0] || !same_main_package(bg->build_id, cg.build_id))
        return snprintf(why, whylen, "%s has Go build ID %s: another main package than %s", cand->path,
                        cg.build_id[0] ? cg.build_id : "(none)", bg->build_id[0] ? bg->build_id : "(none)"), -1;
    size_t la, lb;
    const uint8_t *pa = section_bytes(bin, ".gopclntab", &la, NULL);
    const uint8_t *pb = section_bytes(cand, ".gopclntab", &lb, NULL);
    if (!pa || !pb || la != lb || memcmp(pa, pb, la))
        return snprintf(why, whylen, "%s: its pclntab differs from the executable's (other code)", cand->path), -1;

    /* every allocated section of the candidate that the binary has, at the same size */
    size_t cap = 0;
    struct dbg_remap *v = NULL;
    size_t nscn = 0;
    for (Elf_Scn *scn = NULL; (scn = elf_nextscn(cand->elf, scn)) && nscn < MAX_SECTIONS; nscn++) {
        GElf_Shdr sh, bh;
        size_t shstrndx;
        if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) || sh.sh_size == 0 ||
            elf_getshdrstrndx(cand->elf, &shstrndx))
            continue;
        const char *name = elf_strptr(cand->elf, shstrndx, sh.sh_name);
        if (!name || !find_alloc(bin, name, &bh) || bh.sh_size != sh.sh_size)
            continue;
        if (*nmap == cap) {
            cap = cap ? 2 * cap : 16;
            struct dbg_remap *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                free(v);
                return snprintf(why, whylen, "out of memory"), -1;
            }
            v = nv;
        }
        v[(*nmap)++] = (struct dbg_remap){.from = sh.sh_addr, .size = sh.sh_size, .to = bh.sh_addr};
    }
    static const char *const needed[] = {".text", ".noptrdata", ".data", ".bss", ".noptrbss"};
    for (size_t k = 0; k < sizeof needed / sizeof *needed; k++) {
        GElf_Shdr sh;
        int have = !find_alloc(cand, needed[k], &sh);
        for (size_t i = 0; i < *nmap && !have; i++)
            have = v[i].from == sh.sh_addr;
        if (!have) {
            free(v);
            *nmap = 0;
            return snprintf(why, whylen, "%s: its %s is not the executable's (another size)", cand->path,
                            needed[k]), -1;
        }
    }
    *map = v;
    return 0;
}

/* a through the map: debug-file vaddr to binary vaddr, or back (inverse). */
static int remap(const struct dbg_mod *m, uint64_t a, int inverse, uint64_t *out)
{
    if (!m->remap) {
        *out = a;
        return 0;
    }
    for (size_t i = 0; i < m->nremap; i++) {
        uint64_t from = inverse ? m->remap[i].to : m->remap[i].from;
        uint64_t to = inverse ? m->remap[i].from : m->remap[i].to;
        if (a >= from && a - from < m->remap[i].size) {
            *out = a - from + to;
            return 0;
        }
    }
    return -1;
}

int dbg_mod_addr(const struct dbg_mod *m, uint64_t vaddr, uint64_t *addr)
{
    if (remap(m, vaddr, 0, addr))
        return -1;
    *addr += m->info.module->base;
    return 0;
}

int dbg_module_addr(const struct dbg *d, size_t module, uint64_t vaddr, uint64_t *addr)
{
    return module < d->nmods ? dbg_mod_addr(&d->mods[module], vaddr, addr) : -1;
}

int dbg_module_vaddr(const struct dbg *d, size_t module, uint64_t addr, uint64_t *vaddr)
{
    if (module >= d->nmods)
        return -1;
    const struct dbg_mod *m = &d->mods[module];
    return remap(m, addr - m->info.module->base, 1, vaddr);
}

/* Try one candidate path for mod's unstripped build. */
static int try_go_candidate(struct dbg_mod *mod, const char *path, char *why, size_t whylen)
{
    const char *reason = NULL;
    struct elffile *ef = elffile_open(path, &reason);
    if (!ef)
        return snprintf(why, whylen, "%s: %s", path, reason ? reason : "cannot be opened"), -1;
    struct dbg_remap *map;
    size_t n;
    if (dbg_go_match(mod->elf, &mod->go, ef, &map, &n, why, whylen)) {
        elffile_close(ef);
        return -1;
    }
    if (mod->debug && mod->debug != mod->elf)
        elffile_close(mod->debug);
    mod->debug = ef;
    mod->remap = map;
    mod->nremap = n;
    return 0;
}

void dbg_go_find_debug(const struct dbg *d, struct dbg_mod *mod)
{
    if (!mod->elf || dbg_go_probe(mod->elf, &mod->go))
        return;
    mod->info.go = &mod->go;
    if (mod->elf->has_symtab || (mod->debug && mod->debug->has_dwarf))
        return; /* not stripped: nothing to find */
    char path[4200], why[1024] = "";
    const char *base = mod->info.module->path ? strrchr(mod->info.module->path, '/') : NULL;
    base = base ? base + 1 : mod->info.module->path;
    int found = d->opt.go_binary && try_go_candidate(mod, d->opt.go_binary, why, sizeof why) == 0;
    for (size_t i = 0; !found && base && i < d->opt.ndebug_dirs; i++) {
        static const char *const suffix[] = {"", ".debug", ".unstripped"};
        for (size_t k = 0; !found && k < sizeof suffix / sizeof *suffix; k++) {
            char w[1024];
            if (snprintf(path, sizeof path, "%s/%s%s", d->opt.debug_dirs[i], base, suffix[k]) >= (int)sizeof path ||
                strcmp(path, mod->elf->path) == 0)
                continue;
            found = try_go_candidate(mod, path, w, sizeof w) == 0;
            if (!found && !why[0] && access(path, F_OK) == 0)
                snprintf(why, sizeof why, "%s", w);
        }
    }
    free(mod->problem);
    mod->problem = NULL;
    char pc[64] = "";
    if (mod->go.pclntab_magic)
        snprintf(pc, sizeof pc, ", pclntab 0x%08x", mod->go.pclntab_magic);
    int r;
    if (found)
        r = asprintf(&mod->problem, "%s: a stripped Go executable (%s); symbols and DWARF from %s, "
                     "matched by Go build ID and pclntab", mod->elf->path,
                     mod->go.version[0] ? mod->go.version : "unknown version", mod->debug->path);
    else
        r = asprintf(&mod->problem, "%s: a Go executable (%s, Go build ID %s%s) stripped of its symbols and "
                     "DWARF (-ldflags='-s -w'); pass the unstripped build of the same program with "
                     "--go-binary PATH or put it in a --debug-dir%s%s",
                     mod->elf->path, mod->go.version[0] ? mod->go.version : "unknown version",
                     mod->go.build_id[0] ? mod->go.build_id : "none", pc, why[0] ? "; " : "", why);
    if (r < 0)
        mod->problem = NULL;
}
