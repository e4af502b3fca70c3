/*
 * sparse.c — a sample target with a huge, nearly empty writable reservation,
 * like a sanitizer's shadow memory or an allocator's arena reservation.
 *
 *   bin/samples/sparse REPORT [GIB]
 *
 * Reserves GIB GiB (default 64) of private writable anonymous memory
 * without backing (MAP_NORESERVE) and fills 64 KiB in the middle of it with
 * byte i = (i * 7 + seed) & 0xff, as samples/patterns does.  A capture must
 * find those pages without taking long over the empty rest.  REPORT:
 *
 *   pid N
 *   region sparse 0xADDR LEN SEED
 *   ready
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define LEN  (64 * 1024)
#define SEED 85

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s REPORT [GIB]\n", argv[0]);
        return 2;
    }
    size_t size = (size_t)(argc > 2 ? atoi(argv[2]) : 64) << 30;
    uint8_t *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED)
        return 1;
    uint8_t *p = base + size / 2 + 12345 * 4096;
    for (size_t i = 0; i < LEN; i++)
        p[i] = (uint8_t)((i * 7 + SEED) & 0xff);
    FILE *f = fopen(argv[1], "w");
    if (!f)
        return 1;
    fprintf(f, "pid %d\nregion sparse 0x%lx %d %d\nready\n", (int)getpid(), (unsigned long)(uintptr_t)p, LEN, SEED);
    fclose(f);
    for (;;)
        pause();
}
