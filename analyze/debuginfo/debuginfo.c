/*
 * debuginfo.c — the front of debuginfo.h: dbg_open() finds every module's
 * files (find.c) and builds the symbol table (symbols.c) at once, because
 * both are cheap; DWARF is opened and indexed per module only when a
 * lookup first needs it (dwarf.c), because libc's alone is megabytes.
 * The lookups here just pick the module(s) and delegate.
 */
#include <stdlib.h>
#include <string.h>

#include "debuginfo/internal.h"

struct dbg *dbg_open_modules(const struct hs_module *mods, size_t n, const struct dbg_options *opt)
{
    struct dbg *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    if (opt)
        d->opt = *opt;
    d->opt.debug_dirs = NULL;
    d->opt.ndebug_dirs = 0;
    d->opt.go_binary = NULL;
    if (opt && opt->go_binary && !(d->opt.go_binary = strdup(opt->go_binary)))
        goto oom;
    if (opt && opt->ndebug_dirs) {
        d->opt.debug_dirs = calloc(opt->ndebug_dirs, sizeof *d->opt.debug_dirs);
        if (!d->opt.debug_dirs)
            goto oom;
        for (size_t i = 0; i < opt->ndebug_dirs; i++) {
            /* Strip trailing slashes so that DIR/.build-id/... reads cleanly. */
            char *s = strdup(opt->debug_dirs[i] ? opt->debug_dirs[i] : "");
            if (!s)
                goto oom;
            for (size_t l = strlen(s); l > 1 && s[l - 1] == '/'; l--)
                s[l - 1] = '\0';
            d->opt.debug_dirs[d->opt.ndebug_dirs++] = s;
        }
    }
    if (n && !(d->mods = calloc(n, sizeof *d->mods)))
        goto oom;
    d->nmods = n;
    for (size_t i = 0; i < n; i++) {
        struct dbg_mod *m = &d->mods[i];
        m->info.module = &mods[i];
        dbg_find_files(d, m);
        dbg_go_find_debug(d, m);
        m->info.elf_path = m->elf ? m->elf->path : NULL;
        m->info.debug_path = m->debug && m->debug->has_dwarf ? m->debug->path : NULL;
        m->info.has_dwarf = m->info.debug_path != NULL;
        m->info.problem = m->problem;
        const char *cd = d->opt.carried_dir;
        size_t cl = cd ? strlen(cd) : 0;
        m->info.elf_carried = m->info.elf_path && i < d->opt.ncarried_binaries &&
                              d->opt.carried_binaries[i] && !strcmp(m->info.elf_path, d->opt.carried_binaries[i]);
        m->info.debug_carried = m->info.debug_path &&
                                ((cd && !strncmp(m->info.debug_path, cd, cl) && m->info.debug_path[cl] == '/') ||
                                 (m->info.elf_carried && m->debug == m->elf));
    }
    if (dbg_build_symbols(d) < 0)
        goto oom;
    return d;
oom:
    dbg_close(d);
    return NULL;
}

struct dbg *dbg_open(const struct hs_snapshot *s, const struct dbg_options *opt)
{
    size_t n = 0;
    const struct hs_module *mods = hs_get_modules(s, &n);
    return dbg_open_modules(mods, mods ? n : 0, opt);
}

void dbg_close(struct dbg *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nmods; i++) {
        struct dbg_mod *m = &d->mods[i];
        dbg_dwarf_free(m->dw);
        dbg_cfi_close(m);
        if (m->debug != m->elf)
            elffile_close(m->debug);
        elffile_close(m->elf);
        free(m->problem);
        free(m->remap);
    }
    free(d->mods);
    dbg_free_symbols(d);
    for (size_t i = 0; i < d->opt.ndebug_dirs; i++)
        free((char *)d->opt.debug_dirs[i]);
    free(d->opt.debug_dirs);
    free((char *)d->opt.go_binary);
    free(d);
}

size_t dbg_nmodules(const struct dbg *d)
{
    return d->nmods;
}

const struct dbg_module_info *dbg_module(const struct dbg *d, size_t i)
{
    return i < d->nmods ? &d->mods[i].info : NULL;
}

int dbg_find_module(const struct dbg *d, const char *prefix)
{
    size_t plen = strlen(prefix);
    for (size_t i = 0; i < d->nmods; i++) {
        const char *p = d->mods[i].info.module->path;
        if (!p)
            continue;
        const char *b = strrchr(p, '/');
        b = b ? b + 1 : p;
        if (!strncmp(b, prefix, plen))
            return (int)i;
    }
    return -1;
}

/* The modules a lookup visits: one, or all in order. */
static size_t first_mod(const struct dbg *d, int module, size_t *end)
{
    if (module >= 0) {
        *end = (size_t)module < d->nmods ? (size_t)module + 1 : 0;
        return (size_t)module;
    }
    *end = d->nmods;
    return 0;
}

const struct dbg_layout *dbg_struct(struct dbg *d, const char *name, int module)
{
    size_t end;
    for (size_t i = first_mod(d, module, &end); i < end; i++) {
        struct dbg_dwarf *dw = dbg_dwarf_get(&d->mods[i]);
        const struct dbg_layout *l = dw ? dbg_dwarf_struct(dw, name) : NULL;
        if (l)
            return l;
    }
    return NULL;
}

/* dbg_variable and dbg_tls_variable: DWARF first, then the symbol table. */
static int find_variable(struct dbg *d, const char *name, int module, int want_tls, uint64_t *value,
                         uint64_t *size)
{
    size_t end;
    for (size_t i = first_mod(d, module, &end); i < end; i++) {
        struct dbg_dwarf *dw = dbg_dwarf_get(&d->mods[i]);
        const struct dbg_symbol *s = dbg_symbol_by_name(d, name, (int)i);
        int tls;
        if (dw && dbg_dwarf_variable(dw, name, &tls, value, size) == 0 && tls == want_tls &&
            (want_tls || dbg_mod_addr(&d->mods[i], *value, value) == 0)) {
            /* DWARF cannot size an array declared without bounds; the symbol can. */
            if (*size == 0 && s && s->addr == *value)
                *size = s->size;
            return 0;
        }
        if (s && (want_tls ? s->type == STT_TLS
                           : s->type != STT_TLS && s->type != STT_FUNC && s->type != STT_GNU_IFUNC)) {
            *value = s->addr;
            *size = s->size;
            return 0;
        }
    }
    return -1;
}

int dbg_variable(struct dbg *d, const char *name, int module, uint64_t *addr, uint64_t *size)
{
    return find_variable(d, name, module, 0, addr, size);
}

int dbg_tls_variable(struct dbg *d, const char *name, int module, uint64_t *offset, uint64_t *size)
{
    return find_variable(d, name, module, 1, offset, size);
}

int dbg_constant(struct dbg *d, const char *name, int module, int64_t *value)
{
    size_t end;
    for (size_t i = first_mod(d, module, &end); i < end; i++) {
        struct dbg_dwarf *dw = dbg_dwarf_get(&d->mods[i]);
        if (dw && dbg_dwarf_constant(dw, name, value) == 0)
            return 0;
    }
    return -1;
}

/* "a.b.c": the offset and size of c inside b inside a. */
static const struct dbg_field *field_path(const struct dbg_layout *l, const char *path,
                                          uint64_t *offset)
{
    const struct dbg_field *f = NULL;
    *offset = 0;
    for (int depth = 0; l && depth < 32; depth++) {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t)(dot - path) : strlen(path);
        f = NULL;
        for (size_t i = 0; i < l->nfields; i++) {
            if (strlen(l->fields[i].name) == len && !memcmp(l->fields[i].name, path, len)) {
                f = &l->fields[i];
                break;
            }
        }
        if (!f)
            return NULL;
        *offset += f->offset;
        if (!dot)
            return f;
        l = f->layout;
        path = dot + 1;
    }
    return NULL;
}

int64_t dbg_field_offset(const struct dbg_layout *l, const char *field)
{
    uint64_t off;
    return l && field_path(l, field, &off) ? (int64_t)off : -1;
}

int64_t dbg_field_size(const struct dbg_layout *l, const char *field)
{
    uint64_t off;
    const struct dbg_field *f = l ? field_path(l, field, &off) : NULL;
    return f ? (int64_t)f->size : -1;
}
