/*
 * objtab.c — the indexer's object table (analyze/model/objects.h) on
 * objects made up here, for tests/t5000-index.sh: what the table keeps of
 * each chunk must be what the walker said, including the chunks whose
 * offset or slack do not fit the 16 bits a struct obj holds them in (kept
 * in the table's side list), which no real heap in the suite has.
 *
 *   objtab          prints one line per check that fails, then "N checks, M failed"
 *
 * Exit 0 when every check held, 1 otherwise.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/objects.h"

static int checks, failed;

static void check(int ok, const char *what, uint64_t addr, uint64_t got, uint64_t want)
{
    checks++;
    if (!ok) {
        failed++;
        printf("0x%" PRIx64 ": %s is %" PRIu64 ", not %" PRIu64 "\n", addr, what, got, want);
    }
}

int main(void)
{
    /* Out of address order, as walkers report arena by arena; a wide one
     * reported twice (the second is dropped, the first keeps its pair). */
    const struct heap_object in[] = {
        {.addr = 0x700000, .size = 100, .chunk = 0x700000 - 16, .chunk_size = 124},       /* glibc-like */
        {.addr = 0x100000, .size = 4096, .chunk = 0x100000, .chunk_size = 4096 + 65535},  /* slack: 2^16 - 1 */
        {.addr = 0x200000, .size = 4096, .chunk = 0x200000 - 65535, .chunk_size = 70000}, /* offset: 2^16 - 1 */
        {.addr = 0x300000, .size = 64, .chunk = 0x300000 - 65534, .chunk_size = 64 + 65534},     /* the most that fits */
        {.addr = 0x400000, .size = 5000, .chunk = 0x400000, .chunk_size = 4000},          /* a chunk too small */
        {.addr = 0x500000, .size = 8, .chunk = 0x500000 + 8, .chunk_size = 8},            /* header above: 0 */
        {.addr = 0x600000, .size = 1 << 20, .chunk = 0x600000 - 4096, .chunk_size = (1u << 20) + (3u << 20)},
        {.addr = 0x200000, .size = 4096, .chunk = 0x200000 - 70000, .chunk_size = 90000}, /* twice */
    };
    const uint64_t want_off[] = {16, 0, 65535, 65534, 0, 0, 4096};
    const uint64_t want_extra[] = {24, 65535, 70000 - 4096, 65534, (uint64_t)4000 - 5000, 0, 3u << 20};
    struct objtab t = {0};
    for (size_t i = 0; i < sizeof in / sizeof *in; i++)
        if (objtab_add(&t, &in[i])) {
            printf("objtab_add failed\n");
            return 1;
        }
    if (objtab_finish(&t, NULL, NULL)) {
        printf("objtab_finish failed\n");
        return 1;
    }
    int dropped = (int)(sizeof in / sizeof *in) - (int)t.n;
    check(dropped == 1, "the number dropped", 0, (uint64_t)dropped, 1);
    for (size_t i = 0; i + 1 < sizeof in / sizeof *in; i++) {
        int64_t k = objtab_find(&t, in[i].addr);
        check(k >= 0, "found", in[i].addr, k >= 0, 1);
        if (k < 0)
            continue;
        const struct obj *o = &t.v[k];
        uint64_t off, extra;
        objtab_chunk(&t, o, &off, &extra);
        check(o->addr == in[i].addr && o->size == in[i].size, "the object", in[i].addr, o->size, in[i].size);
        check(off == want_off[i], "chunk_off", in[i].addr, off, want_off[i]);
        check(extra == want_extra[i], "chunk_extra", in[i].addr, extra, want_extra[i]);
    }
    for (size_t k = 1; k < t.n; k++)
        check(t.v[k - 1].addr < t.v[k].addr, "in address order", t.v[k].addr, 0, 1);
    objtab_free(&t);
    printf("%d checks, %d failed\n", checks, failed);
    return failed ? 1 : 0;
}
