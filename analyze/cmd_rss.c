/*
 * cmd_rss.c — `heapsnap rss FILE`: where the resident memory goes.  RSS by
 * kind of mapping (adding up to the smaps figures the capture recorded),
 * then inside the allocator: used bytes, chunk overhead, free chunks by
 * where they sit and how much of them is still resident, fragmentation per
 * arena; then a plain-language conclusion and the allocator's levers
 * (analysis/rss.h; each allocator's advisor in its folder, heap/NAME/advice.c).  Also stored as tables
 * rss_kinds and rss_arenas.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "analysis/rss.h"
#include "session.h"
#include "cli.h"
#include "base/units.h"
#include "commands.h"

static const char help[] =
    "usage: heapsnap rss [options] FILE.hsnap|FILE.db\n"
    "\n"
    "Explain the process's resident memory (RSS): how much each kind of mapping\n"
    "holds (heap arenas, mmapped allocations, thread stacks, binaries and\n"
    "libraries, other anonymous memory, shared memory; these add up to the\n"
    "smaps figures at capture time), and within the allocator's memory the\n"
    "bytes in used objects, the allocator's overhead (chunk headers and padding,\n"
    "and malloc's own chunks such as each thread's tcache), the free chunks by\n"
    "where they sit (tcache, fastbins, unsorted, small and large bins, top chunk),\n"
    "how much of the free memory is still resident, and the largest free block\n"
    "per arena.  Ends with a conclusion and the allocator settings that would\n"
    "help, chosen from the numbers.\n"
    "\n"
    "A Go heap is told in the runtime's own terms instead: the /memory/classes\n"
    "tree with what is resident in each class, the resident memory by what holds\n"
    "it, the GC state and the scavenger's goals at the capture, and GOGC,\n"
    "GOMEMLIMIT, debug.FreeOSMemory() and GODEBUG=madvdontneed with the figure\n"
    "each would give back (docs/go.md).\n"
    "\n"
    "Resident free memory counts the whole pages inside free chunks, as\n"
    "malloc_trim() finds them (docs/analyses.md); the snapshot file is needed\n"
    "for the page states.  Tables rss_kinds and rss_arenas keep the figures.\n"
    "\n"
    "options:\n"
    ARGS_HELP_COMMON
    "\n"
    "exit status: 0 success, 1 the file could not be analysed, 2 usage\n";


static double pct(uint64_t a, uint64_t b)
{
    return b ? 100.0 * (double)a / (double)b : 0;
}

struct sayer {
    struct json *j;
    int json;
};

static void say(void *u, const char *lever, const char *text)
{
    struct sayer *s = u;
    if (s->json) {
        json_begin_object(s->j);
        json_kv_string(s->j, "lever", lever);
        json_kv_string(s->j, "text", text);
        json_end_object(s->j);
    } else {
        printf("  - %s%s%s\n", lever ? lever : "", lever ? ": " : "", text);
    }
}

/* A snapshot read from a core: what a core cannot tell, and what it can. */
static void text_no_smaps(const struct rss_figures *f, const char *file)
{
    char a[32], b[32], c[32], d[32];
    printf("%s: RSS unknown: the snapshot has no smaps figures.  It was read from an ELF core, which\n"
           "records each mapping and the contents the dumper chose to write, not which pages were\n"
           "resident, shared or swapped; so RSS, PSS and swap, and what is free yet resident, cannot\n"
           "be told from it.  Capture the live process with heapsnap-capture for those.\n",
           file);
    printf("\nMappings by kind (virtual size; RSS unknown):\n");
    for (int k = 0; k < RSS_NKINDS; k++)
        printf("  %-24s %12s  (%" PRIu64 " mappings)\n", rss_kind_name((enum rss_kind)k),
               units_bytes(a, sizeof a, f->kind_size[k]), f->kind_count[k]);
    for (size_t i = 0; i < f->narenas; i++) {
        const struct rss_arena *r = &f->arenas[i];
        uint64_t fr = rss_arena_free(r);
        printf("\nArena %d (%s): %s in its regions\n", r->arena, f->allocator[0] ? f->allocator : "heap",
               units_bytes(a, sizeof a, r->size));
        printf("  used %s in %" PRIu64 " objects, %s of allocator overhead, %s free in %" PRIu64
               " chunks, top chunk %s\n",
               units_bytes(a, sizeof a, r->used), r->used_count, units_bytes(b, sizeof b, r->overhead),
               units_bytes(c, sizeof c, fr), r->free_count, units_bytes(d, sizeof d, r->top));
    }
    printf("\nMmapped allocations: %" PRIu64 " (%s)\n", f->mmapped_count,
           units_bytes(a, sizeof a, f->mmapped_bytes));
    printf("\nConclusion:\n  the heap holds %s in objects the program uses, %s of allocator overhead, %s free in\n"
           "  chunks and %s in top chunks; how much of it was resident the core does not say, so\n"
           "  there is no advice (levers are judged against RSS).\n",
           units_bytes(a, sizeof a, f->used), units_bytes(b, sizeof b, f->overhead), units_bytes(c, sizeof c, f->free),
           units_bytes(d, sizeof d, f->top));
}

/* 1 if arena r is the snapshot's own heap and its advisor describes it in its own terms */
static int described(const struct rss_figures *f, const struct heap_advisor *adv, const struct rss_arena *r)
{
    return adv && adv->describe && r->heap == 0 && f->nheaps && !strcmp(f->heaps[0].name, f->allocator);
}

static void text(const struct rss_figures *f, const char *file, const struct heap_advisor *adv)
{
    if (!f->smaps_known) {
        text_no_smaps(f, file);
        return;
    }
    char a[32], b[32], c[32];
    printf("%s: RSS %s", file, units_bytes(a, sizeof a, f->total_rss));
    if (f->total_swap)
        printf(", swap %s", units_bytes(b, sizeof b, f->total_swap));
    printf("\n\nRSS by kind of mapping:\n");
    for (int k = 0; k < RSS_NKINDS; k++)
        printf("  %-24s %12" PRIu64 " bytes  %5.1f%%  (%" PRIu64 " mappings)\n", rss_kind_name((enum rss_kind)k),
               f->kind_rss[k], pct(f->kind_rss[k], f->total_rss), f->kind_count[k]);
    printf("  %-24s %12" PRIu64 " bytes\n", "total", f->total_rss);
    if (f->nheaps > 1) {
        /* more than one heap (cgo: Go's and glibc's): each one's share */
        printf("\nRSS by heap:\n");
        for (size_t i = 0; i < f->nheaps; i++) {
            const struct rss_heap *h = &f->heaps[i];
            printf("  %-8s %12" PRIu64 " bytes  %5.1f%%  (used %s in %" PRIu64 " objects, free %s)\n", h->name,
                   h->rss, pct(h->rss, f->total_rss), units_bytes(a, sizeof a, h->used), h->used_count,
                   units_bytes(b, sizeof b, h->free));
        }
    }
    for (size_t i = 0; i < f->narenas; i++) {
        const struct rss_arena *r = &f->arenas[i];
        if (described(f, adv, r))
            continue; /* said below, in the allocator's terms */
        const char *hn = r->heap < (int)f->nheaps && f->heaps[r->heap].name[0] ? f->heaps[r->heap].name : "heap";
        printf("\nArena %d (%s): %s in its regions, RSS %s\n", r->arena, hn,
               units_bytes(a, sizeof a, r->size), units_bytes(b, sizeof b, r->rss));
        printf("  used        %12" PRIu64 " bytes in %" PRIu64 " objects, plus %" PRIu64 " bytes of allocator overhead",
               r->used, r->used_count, r->overhead);
        if (r->internal)
            printf(" (%" PRIu64 " in malloc's own chunks)", r->internal);
        putchar('\n');
        uint64_t fr = rss_arena_free(r);
        printf("  free        %12" PRIu64 " bytes in %" PRIu64 " chunks:", fr, r->free_count);
        int first = 1;
        for (unsigned w = 0; w <= HEAP_WHERE_MAX; w++) {
            const char *label = rss_free_label(w);
            uint64_t n = label ? rss_free_labelled(r, label) : 0;
            if (n) {
                printf("%s %s %" PRIu64, first ? "" : ",", label, n);
                first = 0;
            }
        }
        printf("%s\n", first ? " none" : "");
        if (f->pages_known)
            printf("  free, resident %9" PRIu64 " bytes (whole pages inside free chunks)\n", r->free_resident);
        printf("  top chunk   %12" PRIu64 " bytes", r->top);
        if (f->pages_known)
            printf(", %" PRIu64 " resident", r->top_resident);
        printf("\n  largest free block %s of %s free", units_bytes(a, sizeof a, r->largest_free),
               units_bytes(b, sizeof b, fr));
        if (fr)
            printf(" (%.0f%% fragmented)", 100.0 - pct(r->largest_free, fr));
        putchar('\n');
    }
    if (adv && adv->describe) {
        /* the allocator's own account (Go: /memory/classes), and malloc's
         * chunks only where a C heap sits beside it (cgo) */
        if (f->mmapped_count)
            printf("\nC mmapped allocations: %" PRIu64 " (%s), RSS %s\n", f->mmapped_count,
                   units_bytes(a, sizeof a, f->mmapped_bytes), units_bytes(b, sizeof b, f->mmapped_rss));
        adv->describe(f, stdout);
        printf("\nConclusion:\n");
        return;
    }
    printf("\nMmapped allocations: %" PRIu64 " (%s), RSS %s\n", f->mmapped_count,
           units_bytes(a, sizeof a, f->mmapped_bytes), units_bytes(b, sizeof b, f->mmapped_rss));
    uint64_t heap = f->kind_rss[RSS_HEAP];
    printf("\nConclusion:\n  %s of RSS, %s (%.0f%%) is heap arenas", units_bytes(a, sizeof a, f->total_rss),
           units_bytes(b, sizeof b, heap), pct(heap, f->total_rss));
    printf(": %s in objects the program uses, %s of allocator overhead", units_bytes(a, sizeof a, f->used),
           units_bytes(c, sizeof c, f->overhead));
    if (f->internal)
        printf(" (of which %s in malloc's own per-thread caches)", units_bytes(b, sizeof b, f->internal));
    if (f->pages_known)
        printf(", and %s free yet resident (%s inside free chunks, %s in the top chunk)",
               units_bytes(b, sizeof b, f->free_resident + f->top_resident), units_bytes(a, sizeof a, f->free_resident),
               units_bytes(c, sizeof c, f->top_resident));
    printf(".\n");
    if (!f->pages_known)
        printf("  (The snapshot is not at hand: which free pages are resident is unknown.)\n");
}

static void json(struct json *j, const struct rss_figures *f, const char *file)
{
    json_kv_string(j, "file", file);
    json_kv_string(j, "allocator", f->allocator);
    json_kv_uint(j, "rss", f->total_rss);
    json_kv_uint(j, "swap", f->total_swap);
    json_kv_bool(j, "pages_known", f->pages_known);
    json_kv_bool(j, "smaps_known", f->smaps_known);
    rss_json_kinds(j, f);
    json_key(j, "heaps");
    json_begin_array(j);
    for (size_t i = 0; i < f->nheaps; i++) {
        json_begin_object(j);
        json_kv_string(j, "heap", f->heaps[i].name);
        json_kv_uint(j, "rss", f->heaps[i].rss);
        json_kv_uint(j, "used", f->heaps[i].used);
        json_kv_uint(j, "used_count", f->heaps[i].used_count);
        json_kv_uint(j, "free", f->heaps[i].free);
        json_end_object(j);
    }
    json_end_array(j);
    json_key(j, "arenas");
    json_begin_array(j);
    for (size_t i = 0; i < f->narenas; i++) {
        const struct rss_arena *r = &f->arenas[i];
        json_begin_object(j);
        json_kv_int(j, "arena", r->arena);
        json_kv_uint(j, "size", r->size);
        json_kv_uint(j, "rss", r->rss);
        json_kv_uint(j, "used", r->used);
        json_kv_uint(j, "used_count", r->used_count);
        json_kv_uint(j, "overhead", r->overhead);
        json_kv_uint(j, "internal", r->internal);
        json_key(j, "free");
        json_begin_object(j);
        for (unsigned w = 0; w <= HEAP_WHERE_MAX; w++)
            if (rss_free_label(w) && (w != RSS_FREE_UNNAMED || r->free[w]))
                json_kv_uint(j, rss_free_label(w), rss_free_labelled(r, rss_free_label(w)));
        json_end_object(j);
        json_kv_uint(j, "free_count", r->free_count);
        json_kv_uint(j, "free_resident", r->free_resident);
        json_kv_uint(j, "largest_free", r->largest_free);
        json_kv_uint(j, "top", r->top);
        json_kv_uint(j, "top_resident", r->top_resident);
        json_end_object(j);
    }
    json_end_array(j);
    json_kv_uint(j, "mmapped_count", f->mmapped_count);
    json_kv_uint(j, "mmapped_bytes", f->mmapped_bytes);
    json_kv_uint(j, "mmapped_rss", f->mmapped_rss);
    json_kv_uint(j, "used", f->used);
    json_kv_uint(j, "overhead", f->overhead);
    json_kv_uint(j, "internal", f->internal);
    json_kv_uint(j, "free", f->free);
    json_kv_uint(j, "free_resident", f->free_resident);
    json_kv_uint(j, "top", f->top);
    json_kv_uint(j, "top_resident", f->top_resident);
}

int cmd_rss(int argc, char **argv)
{
    struct args a;
    int rc = args_parse(&a, argc, argv, help, 0, 1, 1);
    if (rc >= 0)
        return rc;
    static struct rss_figures f;
    char err[A_ERRLEN];
    struct json j;
    rc = EXIT_FAIL;
    sqlite3 *db = open_snapshot_db(a.pos[0], &a.dopt, err, sizeof err);
    if (!db) {
        cli_error("%s", err);
        goto out;
    }
    if (session_check_heap(db, a.pos[0]))
        goto out;
    /* a snapshot named on the command line is the one to read pages from */
    if (rss_compute(&f, db, a.pos[0], db_is_database(a.pos[0]) ? NULL : a.pos[0], err, sizeof err)) {
        cli_error("%s", err);
        goto out;
    }
    {
        char err[A_ERRLEN];
        if (rss_store(db, &f, a.pos[0], err, sizeof err))
            cli_warn("%s", err); /* the figures are printed all the same */
    }
    const struct heap_advisor *adv = rss_advisor_for(f.allocator);
    struct sayer s = {&j, a.json};
    out_begin(&j, &a);
    if (a.json) {
        json_begin_object(&j);
        json(&j, &f, a.pos[0]);
        if (adv && adv->describe_json)
            adv->describe_json(&f, &j);
        json_key(&j, "levers");
        json_begin_array(&j);
        if (adv && f.smaps_known)
            adv->advise(&f, say, &s);
        json_end_array(&j);
        json_key(&j, "reconcile");
        json_begin_array(&j);
        if (adv && adv->reconcile)
            adv->reconcile(&f, say, &s);
        json_end_array(&j);
        json_end_object(&j);
    } else {
        text(&f, a.pos[0], adv);
        if (!f.smaps_known)
            ;
        else if (adv)
            adv->advise(&f, say, &s);
        else
            printf("  (No advice for allocator '%s'.)\n", f.allocator[0] ? f.allocator : "unknown");
        if (adv && adv->reconcile) {
            printf("\nAgainst %s's own statistics:\n", f.allocator);
            adv->reconcile(&f, say, &s);
        }
    }
    rc = out_finish(&j, &a);
out:
    if (db)
        sqlite3_close(db);
    args_free(&a);
    return rc;
}
