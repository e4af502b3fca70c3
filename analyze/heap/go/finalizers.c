/*
 * go/finalizers.c — objects with a finalizer (runtime.SetFinalizer), from
 * the spans' specials lists.
 *
 * Each in-use mspan has a list of "specials" (mspan.specials: runtime.special
 * {next, offset, kind}, offset being the object's byte offset in its span),
 * kept outside the heap by the runtime's fixalloc.  A special of kind
 * _KindSpecialFinalizer is the head of a runtime.specialfinalizer, whose fn
 * is the finalizer's funcval.  Go's collector treats these as roots: it
 * marks fn, and it scans the object — marking what the object points to but
 * not the object itself, so that an unreachable object is still found
 * unreachable and queued for its finalizer while what the finalizer will
 * read stays alive.  The walker mirrors that with two roots per finalizer
 * (go/walker.c): the object's memory (its referents) and the fn word of the
 * special (the funcval, which may be a heap closure); the go_finalizers
 * table lists them.
 *
 * The lists are read from a hostile snapshot: every read is checked, each
 * list is bounded by what its span can hold, and offsets must name a slot
 * of the span.
 */
#include <stdlib.h>

#include "heap/go/internal.h"

#define GO_MAX_FINALIZERS (1u << 20)

static int add(struct go_walk *w, const struct go_fin *f, size_t *cap)
{
    if (w->nfins == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        struct go_fin *p = realloc(w->fins, nc * sizeof *p);
        if (!p)
            return -1;
        w->fins = p;
        *cap = nc;
    }
    w->fins[w->nfins++] = *f;
    return 0;
}

int go_finalizers_load(struct go_walk *w)
{
    const struct go_layout *L = &w->L;
    size_t cap = 0;
    for (size_t i = 0; i < w->nspans && w->nfins < GO_MAX_FINALIZERS; i++) {
        const struct go_span *s = &w->spans[i];
        uint64_t sp, next, off, kind, fn;
        if (s->state != 1 || !s->elemsize || go_field(w, s->mspan, L->s_specials, 8, &sp))
            continue;
        /* a few kinds of special per object at most (finalizer, profile,
         * reachable): a longer list is a loop or junk */
        uint64_t budget = 4 * (uint64_t)s->nelems + 16;
        for (; sp && budget; sp = next, budget--) {
            if (sp % 8 || go_field(w, sp, L->sp_next, 8, &next) || go_field(w, sp, L->sp_offset, (unsigned)L->sz_sp_offset, &off) ||
                go_field(w, sp, L->sp_kind, 1, &kind)) {
                w->c->problem(w->c, sp, "go: a span's specials list (span at 0x%llx) cannot be read",
                              (unsigned long long)s->start);
                break;
            }
            if (kind != (uint64_t)L->kind_special_finalizer)
                continue;
            if (off % s->elemsize || off / s->elemsize >= s->nelems) {
                w->c->problem(w->c, sp, "go: a finalizer special names offset %llu, no object of its span",
                              (unsigned long long)off);
                continue;
            }
            if (go_field(w, sp, L->sf_fn, 8, &fn))
                fn = 0;
            uint64_t pc = 0;
            if (fn)
                go_u64(w, fn, &pc);
            struct go_fin f = {.object = s->start + off, .size = s->elemsize, .special = sp, .fn = fn, .fnpc = pc};
            if (add(w, &f, &cap))
                return -1;
        }
        if (sp && !budget)
            w->c->problem(w->c, s->mspan, "go: a span's specials list does not end (a loop?)");
    }
    return 0;
}
