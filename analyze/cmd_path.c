/*
 * cmd_path.c — `heapsnap path FILE ADDR [--all]`: the shortest chain of
 * references from a root to the object at ADDR, or with --all several
 * chains that share no object (graph_disjoint_paths: the different ways
 * the object is kept alive; cut them all and it is free).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "session.h"
#include "cli.h"
#include "commands.h"

static const char help[] =
    "usage: heapsnap path [options] FILE.hsnap|FILE.db ADDR\n"
    "\n"
    "Print the shortest chain of references from a root (a global, a thread's\n"
    "stack, registers or TLS) to the heap object holding ADDR: each step is an\n"
    "object with its size or type and the field or offset of the pointer to the\n"
    "next.  With --all, print up to --limit chains (default 5) that share no\n"
    "object on the way (found greedily, shortest first).\n"
    "\n"
    "options:\n"
    "  --all              several independent chains\n"
    "  --limit N          at most N chains with --all\n"
    ARGS_HELP_COMMON
    "\n"
    "exit status: 0 a path was found, 1 none (leaked, garbage or free), ADDR is in no\n"
    "object, or the file could not be analysed; 2 usage\n";

int cmd_path(int argc, char **argv)
{
    struct args a;
    uint64_t addr;
    int rc = args_parse_addr(&a, argc, argv, help, ARG_ALL, &addr);
    if (rc >= 0)
        return rc;
    if (!a.limit)
        a.limit = 5;
    struct session s;
    struct graph_paths p = {0};
    uint32_t *roots = NULL;
    struct json j;
    char g[128];
    rc = EXIT_FAIL;
    uint32_t i;
    if (session_open_at(&s, &a, 0, addr, &i))
        goto out;
    const struct hgraph *h = &s.h;
    uint32_t v = hg_obj_node(h, i);
    if (!(roots = malloc(((size_t)h->nroots + 1) * sizeof *roots))) {
        cli_error("out of memory");
        goto out;
    }
    /* the real roots, so that several paths may start at the same root */
    for (uint32_t r = 0; r < h->nroots; r++)
        roots[r] = r + 1;
    int np = a.all ? graph_disjoint_paths(&h->g, roots, h->nroots, v, (uint32_t)a.limit, &p)
                   : graph_shortest_path(&h->g, roots, h->nroots, v, &p);
    if (np < 0) {
        cli_error("%s: out of memory finding paths", a.pos[0]);
        goto out;
    }
    out_begin(&j, &a);
    if (a.json) {
        json_begin_object(&j);
        show_query_json(&j, h, addr, v);
        json_kv_string(&j, "status", !h->used[i]      ? "free"
                                     : h->internal[i] ? "malloc-internal"
                                     : p.count        ? "reachable"
                                     : h->collected[i] ? "garbage"
                                                      : "leaked");
        json_key(&j, "paths");
        json_begin_array(&j);
        for (uint32_t k = 0; k < p.count; k++)
            show_path_json(&j, h, p.nodes + p.start[k], p.start[k + 1] - p.start[k]);
        json_end_array(&j);
        json_end_object(&j);
    } else if (!p.count) {
        printf("0x%" PRIx64 " %s: no root reaches it (%s)\n", h->addr[i], hg_group_name(h, h->group[i], g, sizeof g),
               !h->used[i]      ? "a free chunk"
               : h->collected[i] ? "garbage: the collector frees it at its next cycle, not a leak"
                                 : "leaked; see heapsnap leaks");
    } else {
        for (uint32_t k = 0; k < p.count; k++) {
            uint32_t len = p.start[k + 1] - p.start[k];
            printf("%sPath %u of %u, %u references:\n", k ? "\n" : "", k + 1, p.count, len - 1);
            show_path(stdout, h, p.nodes + p.start[k], len);
        }
    }
    rc = out_finish(&j, &a);
    if (rc == EXIT_OK && !p.count)
        rc = EXIT_FAIL;
out:
    free(roots);
    graph_paths_free(&p);
    session_close(&s);
    args_free(&a);
    return rc;
}
