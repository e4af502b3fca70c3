/*
 * cmd_explain.c — `heapsnap explain FILE ADDR`: why an object is still
 * alive — the shortest chain of references from a root to it, each step
 * with its address, size, type (or [size]) and the field or offset the
 * pointer sits at — or, if nothing reaches it, that it is leaked and which
 * leak head holds it.  An address inside an object means that object.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "session.h"
#include "cli.h"
#include "commands.h"

static const char help[] =
    "usage: heapsnap explain [options] FILE.hsnap|FILE.db ADDR\n"
    "\n"
    "Say why the heap object at ADDR (its start or any address inside it) is\n"
    "not leaked: the shortest chain of references from a root (a global, a\n"
    "thread's stack, registers or TLS) down to it, one step per line with the\n"
    "field or offset holding each pointer.  For a leaked object, say so and\n"
    "name the leak head it hangs under; an unreachable Go object is garbage\n"
    "the collector frees, not a leak.  ADDR is hex (0x...) or decimal.\n"
    "\n"
    "options:\n"
    ARGS_HELP_COMMON
    "\n"
    "exit status: 0 explained (reachable, leaked, garbage, free or malloc's own), 1 ADDR\n"
    "is in no heap object or the file could not be analysed, 2 usage\n";

/* The leak head of leaked object i (its index), by running the leak analysis. */
static int64_t head_of(const struct session *s, uint32_t i)
{
    struct leaks l;
    int64_t head = -1;
    if (leaks_find(&l, &s->h, &s->r) == 0 && l.head_of[i] != GRAPH_NONE)
        head = l.head_of[i];
    leaks_free(&l);
    return head;
}

int cmd_explain(int argc, char **argv)
{
    struct args a;
    uint64_t addr;
    int rc = args_parse_addr(&a, argc, argv, help, 0, &addr);
    if (rc >= 0)
        return rc;
    struct session s;
    struct graph_paths p = {0};
    struct json j;
    rc = EXIT_FAIL;
    uint32_t i;
    if (session_open_at(&s, &a, SESSION_RESULTS, addr, &i))
        goto out;
    const struct hgraph *h = &s.h;
    uint32_t v = hg_obj_node(h, i);
    const char *status = !h->used[i]            ? "free"
                         : h->internal[i]       ? "malloc-internal"
                         : hr_reachable(&s.r, v) ? "reachable"
                         : h->collected[i]      ? "garbage"
                                                 : "leaked";
    int64_t head = !strcmp(status, "leaked") ? head_of(&s, i) : -1;
    uint32_t root0 = GRAPH_SUPER_ROOT;
    if (!strcmp(status, "reachable") && graph_shortest_path(&h->g, &root0, 1, v, &p) < 0) {
        cli_error("%s: out of memory finding a path", a.pos[0]);
        goto out;
    }
    char g[128];
    out_begin(&j, &a);
    if (a.json) {
        json_begin_object(&j);
        show_query_json(&j, h, addr, v);
        json_kv_uint(&j, "offset_in_object", addr - h->addr[i]);
        json_kv_string(&j, "status", status);
        if (head >= 0)
            json_kv_hex(&j, "leak_head", h->addr[head]);
        if (p.count) {
            json_kv_uint(&j, "retained_size", s.r.retained_size[v]);
            json_kv_uint(&j, "retained_count", s.r.retained_count[v]);
            json_key(&j, "path");
            show_path_json(&j, h, p.nodes, p.start[1]);
        }
        json_end_object(&j);
    } else {
        printf("0x%" PRIx64 " %s", h->addr[i], hg_group_name(h, h->group[i], g, sizeof g));
        if (addr != h->addr[i])
            printf(" (0x%" PRIx64 " is %" PRIu64 " bytes into it)", addr, addr - h->addr[i]);
        if (!strcmp(status, "free")) {
            printf(" is a free chunk: nothing holds it, it is the allocator's.\n");
        } else if (!strcmp(status, "malloc-internal")) {
            printf(" is malloc's own bookkeeping (a thread's tcache), not the program's.\n");
        } else if (head >= 0) {
            printf(" is leaked: no root reaches it.\n");
            if ((uint32_t)head == i)
                printf("It is a leak head: no other leaked object points to it.\n");
            else
                printf("It hangs under the leak head 0x%" PRIx64 " %s.\n", h->addr[head],
                       hg_group_name(h, h->group[head], g, sizeof g));
        } else if (!strcmp(status, "garbage")) {
            printf(" is garbage: no root reaches it, and the Go collector frees it at its next cycle (not a leak).\n");
        } else if (p.count) {
            printf(" is reachable, %u references from a root; it retains %" PRIu64 " bytes in %u objects.\n",
                   p.start[1] - 2, s.r.retained_size[v], s.r.retained_count[v]);
            printf("Shortest chain from a root:\n");
            show_path(stdout, h, p.nodes, p.start[1]);
        } else {
            printf(" is leaked: no root reaches it.\n");
        }
    }
    rc = out_finish(&j, &a);
out:
    graph_paths_free(&p);
    session_close(&s);
    args_free(&a);
    return rc;
}
