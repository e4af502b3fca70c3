/*
 * recognise.c — naming the allocators no walker walked (heap_recognise();
 * see allocator.h): those heapsnap has no walker for, and jemalloc and
 * tcmalloc when theirs did not detect them.
 *
 * A process whose malloc is jemalloc, tcmalloc, mimalloc or musl's still has
 * glibc's libc loaded (or no glibc at all), and the glibc walker would find
 * its arenas empty: an index with no objects, and then "0 leaked of 0 used",
 * which reads like an answer.  So before any walk, the snapshot's modules
 * and symbols are checked for allocators we know by name:
 *
 *   jemalloc   a module named libjemalloc*, or one defining mallctl or
 *              je_mallctl (jemalloc linked statically, prefixed or not)
 *   tcmalloc   libtcmalloc*, or tc_malloc / MallocExtension_GetNumericProperty
 *   mimalloc   libmimalloc*, or mi_malloc
 *   musl       ld-musl-* / libc.musl-*, or __malloc_donate (musl's malloc)
 *   pymalloc   a CPython (PyObject_Malloc): its small objects live in its
 *              own arenas, carved from mmap, not from malloc — unless the
 *              program ran with PYTHONMALLOC=malloc, which the snapshot
 *              cannot tell (the environment is never captured)
 *
 * Each is published as the fact heap.unwalked.NAME (the evidence) and a
 * warning from source NAME.  The first four replace malloc itself: the
 * warning then says the heap could not be walked, which is what makes the
 * analyses refuse to answer (session.c), naming the allocator.
 * pymalloc sits on top of malloc: what glibc holds is still walked, and the
 * warning says what is missing.
 */
#include <stdio.h>
#include <string.h>

#include <elf.h>

#include "heap/allocator.h"

struct known {
    const char *name;
    const char *what;           /* how the warning speaks of it */
    const char *const prefixes[3]; /* module basenames starting with these */
    const char *const symbols[3];  /* functions only it defines */
    int owns_malloc;
};

static const struct known known[] = {
    {"jemalloc", "jemalloc", {"libjemalloc", NULL}, {"mallctl", "je_mallctl", NULL}, 1},
    {"tcmalloc", "tcmalloc (gperftools)", {"libtcmalloc", NULL},
     {"tc_malloc", "MallocExtension_GetNumericProperty", NULL}, 1},
    {"mimalloc", "mimalloc", {"libmimalloc", NULL}, {"mi_malloc", NULL}, 1},
    {"musl", "musl's malloc", {"ld-musl-", "libc.musl-", NULL}, {"__malloc_donate", NULL}, 1},
    {"pymalloc", "CPython's pymalloc", {NULL}, {"PyObject_Malloc", NULL}, 0},
};

static const char *base_name(const char *p)
{
    const char *s = p ? strrchr(p, '/') : NULL;
    return s ? s + 1 : p ? p : "";
}

/* Evidence for allocator k in the snapshot, into ev; 1 if found. */
static int find(struct heap_ctx *c, const struct known *k, char *ev, size_t len)
{
    size_t n;
    const struct hs_module *m = hs_get_modules(c->snap, &n);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; k->prefixes[j]; j++)
            if (!strncmp(base_name(m[i].path), k->prefixes[j], strlen(k->prefixes[j]))) {
                snprintf(ev, len, "%s is loaded", base_name(m[i].path));
                return 1;
            }
    if (!c->dbg)
        return 0;
    for (size_t j = 0; k->symbols[j]; j++) {
        const struct dbg_symbol *s = dbg_symbol_by_name(c->dbg, k->symbols[j], -1);
        if (!s || s->type != STT_FUNC || !s->addr)
            continue;
        const struct dbg_module_info *mi = dbg_module(c->dbg, s->module);
        snprintf(ev, len, "%s defines %s", mi && mi->module ? base_name(mi->module->path) : "a module",
                 k->symbols[j]);
        return 1;
    }
    return 0;
}

int heap_recognise(struct heap_ctx *c, const char *walked, const char **owner)
{
    int owners = 0;
    *owner = NULL;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        const struct known *k = &known[i];
        char ev[256], key[64];
        if ((walked && !strcmp(walked, k->name)) || !find(c, k, ev, sizeof ev))
            continue;
        snprintf(key, sizeof key, "heap.unwalked.%s", k->name);
        c->fact(c, key, ev);
        if (k->owns_malloc) {
            if (!owners++)
                *owner = k->name;
            c->problem(c, 0, "%s manages this process's heap (%s), and heapsnap has no walker for "
                             "it: the heap could not be walked, so its objects are missing (mappings "
                             "and roots are indexed)",
                       k->what, ev);
        } else {
            c->problem(c, 0, "%s (%s) keeps small objects in arenas of its own, which heapsnap "
                             "does not walk: those objects are missing, and their arenas are "
                             "scanned as anonymous memory (unless the program ran with "
                             "PYTHONMALLOC=malloc)",
                       k->what, ev);
        }
    }
    return owners;
}

int heap_allocator_module(struct heap_ctx *c, const char *libprefix, const char *const *syms)
{
    if (c->dbg) {
        int m = dbg_find_module(c->dbg, libprefix);
        if (m >= 0)
            return m;
        for (size_t i = 0; syms && syms[i]; i++) {
            const struct dbg_symbol *s = dbg_symbol_by_name(c->dbg, syms[i], -1);
            if (s && s->type == STT_FUNC && s->addr)
                return s->module;
        }
        return -1;
    }
    size_t n;
    const struct hs_module *m = hs_get_modules(c->snap, &n);
    for (size_t i = 0; i < n; i++)
        if (!strncmp(base_name(m[i].path), libprefix, strlen(libprefix)))
            return (int)i;
    return -1;
}

const char *heap_module_path(struct heap_ctx *c, int module)
{
    if (module < 0)
        return NULL;
    if (c->dbg) {
        const struct dbg_module_info *mi = dbg_module(c->dbg, (size_t)module);
        return mi && mi->module ? mi->module->path : NULL;
    }
    size_t nm;
    const struct hs_module *mods = hs_get_modules(c->snap, &nm);
    return (size_t)module < nm ? mods[module].path : NULL;
}
