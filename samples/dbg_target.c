/*
 * dbg_target.c — the sample program behind the debuginfo tests
 * (tests/t2000-debuginfo.sh).
 *
 * It holds a global struct with the shapes struct layouts come in (nested
 * structs, anonymous unions and structs, bit-fields, arrays, a flexible
 * array member, a typedef), a static array, an enum, and a function with a
 * name no library has.  Since the compiler is the best oracle for its own
 * layouts, the program writes what it knows into its report (the file
 * named by argv[1]): offsetof and sizeof of every field, the addresses and
 * sizes of its globals, and the address of its function; then "ready",
 * and it waits to be captured.
 *
 *   report lines:  field NAME OFFSET SIZE | struct NAME SIZE |
 *                  var NAME ADDRESS SIZE  | func NAME ADDRESS | ready
 *
 * Built with -DDBG_TARGET_OTHER_BUILD it is the same program with another
 * build-id (the tests use that to check a replaced binary is refused).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct dbg_inner {
    int a;
    char b[3];
};

struct dbg_target_state {
    uint64_t magic;
    struct dbg_inner inner;
    union {
        uint32_t u32;
        float f;
    };
    struct {
        uint16_t lo, hi;
    };
    unsigned flag : 1;
    unsigned kind : 7;
    struct dbg_inner many[5];
    long grid[3][4];
    void *ptr;
    char tail[];
};

typedef struct dbg_target_state dbg_target_t;

enum dbg_colour { DBG_RED = 1, DBG_GREEN = 2, DBG_BLUE = -3 };

dbg_target_t dbg_target_global = {.magic = 0x5eed5eedcafef00dull};
static long dbg_target_counter[17];
volatile enum dbg_colour dbg_target_colour = DBG_BLUE;

#ifdef DBG_TARGET_OTHER_BUILD
const char dbg_target_build[] = "other";
#else
const char dbg_target_build[] = "first";
#endif

/* noinline: its address must be its own, not folded into main. */
__attribute__((noinline)) long dbg_target_work(long n)
{
    for (long i = 0; i < n; i++)
        dbg_target_counter[i % 17] += i ^ dbg_target_colour;
    return dbg_target_counter[n % 17];
}

#define FIELD(f) \
    fprintf(r, "field %s %zu %zu\n", #f, offsetof(struct dbg_target_state, f), \
            sizeof(((struct dbg_target_state *)0)->f))

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: dbg_target REPORT\n");
        return 2;
    }
    FILE *r = fopen(argv[1], "w");
    if (!r) {
        perror(argv[1]);
        return 1;
    }
    dbg_target_global.ptr = malloc(100);
    dbg_target_global.kind = (unsigned)dbg_target_work(1000) & 0x7f;
    fprintf(r, "struct dbg_target_state %zu\n", sizeof(struct dbg_target_state));
    FIELD(magic);
    FIELD(inner);
    FIELD(inner.a);
    FIELD(inner.b);
    FIELD(u32);
    FIELD(f);
    FIELD(lo);
    FIELD(hi);
    FIELD(many);
    FIELD(grid);
    FIELD(ptr);
    fprintf(r, "field tail %zu 0\n", offsetof(struct dbg_target_state, tail));
    fprintf(r, "var dbg_target_global %p %zu\n", (void *)&dbg_target_global,
            sizeof dbg_target_global);
    fprintf(r, "var dbg_target_counter %p %zu\n", (void *)dbg_target_counter,
            sizeof dbg_target_counter);
    fprintf(r, "var dbg_target_build %p %zu\n", (void *)dbg_target_build, sizeof dbg_target_build);
    fprintf(r, "func dbg_target_work %p\n", (void *)dbg_target_work);
    fprintf(r, "build %s\n", dbg_target_build);
    fprintf(r, "ready\n");
    fclose(r);
    for (;;)
        pause();
}
