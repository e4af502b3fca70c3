/*
 * demangle.c — class names out of C++ vtable and typeinfo symbols.
 *
 * Inference (infer.c) names an object's dynamic class after the vtable its
 * first word points into, and `show` prints gdb's <vtable for X+16>; both
 * need the class name in a `_ZTV <type>` or `_ZTI <type>` symbol.  The
 * demangling itself is libiberty's cplus_demangle, the one c++filt uses,
 * with c++filt's flags (DMGL_VERBOSE spells std::ostream out as
 * std::basic_ostream<char, std::char_traits<char> >), so that heapsnap
 * spells every name exactly as c++filt does; this file only checks that the
 * symbol is a vtable or typeinfo and strips the "vtable for " that
 * cplus_demangle puts in front.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libiberty/demangle.h>

#include "types/types.h"

int ty_demangle_class(const char *sym, const char **kind, char *out, size_t outlen)
{
    if (!sym || strncmp(sym, "_ZT", 3) || (sym[3] != 'V' && sym[3] != 'I'))
        return -1;
    const char *prefix = sym[3] == 'V' ? "vtable for " : "typeinfo for ";
    char *full = cplus_demangle(sym, DMGL_PARAMS | DMGL_ANSI | DMGL_VERBOSE);
    if (!full)
        return -1;
    size_t plen = strlen(prefix);
    int rc = -1;
    if (!strncmp(full, prefix, plen) && full[plen]) {
        if (kind)
            *kind = sym[3] == 'V' ? "vtable" : "typeinfo";
        snprintf(out, outlen, "%s", full + plen);
        rc = 0;
    }
    free(full);
    return rc;
}
