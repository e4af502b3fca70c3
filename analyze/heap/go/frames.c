/*
 * go/frames.c — the goroutines' stacks in source terms, for the go_frames
 * table and `heapsnap goroutines`: each frame go/stacks.c unwound, as the
 * function, file and line the runtime's own traceback prints
 * (runtime.CallersFrames; pprof's goroutine profile), inlined calls
 * expanded into frames of their own (go/pclntab.c: go_pc_frames).
 *
 * Leaked goroutines share their stacks, so a frame's source lines are
 * remembered by pc in a small direct-mapped cache; a pc that reads no
 * function is a frame named "?".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap/go/internal.h"

#define CACHE   1024  /* pcs remembered */
#define INLINED 8     /* source frames kept per pc (deeper inlining is cut) */

struct src {
    char func[128], file[192];
    int32_t line;
};

struct slot {
    uint64_t pc;
    int n;                    /* 0: empty */
    struct src f[INLINED];
};

static void take(void *u, const char *func, const char *file, int32_t line)
{
    struct slot *s = u;
    if (s->n >= INLINED)
        return;
    struct src *f = &s->f[s->n++];
    snprintf(f->func, sizeof f->func, "%s", func);
    snprintf(f->file, sizeof f->file, "%s", file);
    f->line = line;
}

int go_frames_table(struct go_walk *w, struct heap_ctx *c)
{
    static const struct heap_column cols[] = {
        {"goid", "INTEGER"}, {"depth", "INTEGER"}, {"pc", "INTEGER"},
        {"func", "TEXT"},    {"file", "TEXT"},     {"line", "INTEGER"},
    };
    const size_t nc = sizeof cols / sizeof cols[0];
    if (c->table(c, "go_frames", cols, nc))
        return -1;
    if (!w->gpc_off)
        return 0;
    struct slot *cache = calloc(CACHE, sizeof *cache);
    if (!cache)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < w->ngs && !rc; i++) {
        int64_t depth = 0;
        for (uint32_t k = 0; k < w->gpc_n[i] && !rc; k++) {
            uint64_t pc = w->gpc[w->gpc_off[i] + k];
            struct slot *s = &cache[(pc ^ pc >> 10) % CACHE];
            if (!s->n || s->pc != pc) {
                s->n = 0;
                s->pc = pc;
                if (go_pc_frames(w, pc, INLINED, take, s) <= 0)
                    take(s, "?", "", 0);
            }
            for (int f = 0; f < s->n && !rc; f++) {
                const struct src *x = &s->f[f];
                struct heap_value v[] = {
                    {HV_INT, (int64_t)w->gs[i].goid, 0, NULL}, {HV_INT, depth++, 0, NULL},
                    {HV_INT, (int64_t)pc, 0, NULL},           {HV_TEXT, 0, 0, x->func},
                    {x->file[0] ? HV_TEXT : HV_NULL, 0, 0, x->file},
                    {x->line > 0 ? HV_INT : HV_NULL, x->line, 0, NULL},
                };
                rc = c->row(c, "go_frames", v, nc);
            }
        }
    }
    free(cache);
    return rc;
}
