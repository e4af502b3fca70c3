/*
 * bench_heap.c — a target for bench/index: N small heap objects, each
 * holding three pointers (one to the next object in a chain that starts at
 * a global, two to random objects), about the shape of a pointer-heavy
 * program's heap at scale.
 *
 *   bench_heap REPORT N
 *
 * REPORT gets "pid P", "objects N" and "ready"; then the process blocks
 * until killed.  The temporary array used to pick random targets is freed
 * before "ready", so the heap holds only the N objects (and libc's own).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

struct bobj {
    struct bobj *next, *a, *b;
    uint64_t v[3]; /* small integers: never mistaken for pointers */
};

struct bobj *g_chain;

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_heap REPORT N\n");
        return 2;
    }
    size_t n = strtoull(argv[2], NULL, 0);
    if (n == 0)
        return 2;
    struct bobj **all = malloc(n * sizeof *all);
    if (!all)
        return 1;
    for (size_t i = 0; i < n; i++) {
        all[i] = malloc(sizeof **all);
        if (!all[i])
            return 1;
        all[i]->v[0] = i;
        all[i]->v[1] = i * 3;
        all[i]->v[2] = 7;
    }
    for (size_t i = 0; i < n; i++) {
        all[i]->next = i + 1 < n ? all[i + 1] : NULL;
        all[i]->a = all[next_rand() % n];
        all[i]->b = all[next_rand() % n];
    }
    g_chain = all[0];
    free(all);
    report_line("pid %d\nobjects %zu\nready\n", (int)getpid(), n);
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || report_flush(fd))
        return 1;
    close(fd);
    for (;;)
        pause();
}
