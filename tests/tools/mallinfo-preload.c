/*
 * mallinfo-preload.c — glibc malloc's own account of a process that
 * heapsnap did not write (nginx, ...), for the tests that compare a walk
 * with it (tests/t3130-glibc-fork.sh).  Built as build/tools/mallinfo-preload.so
 * and loaded with LD_PRELOAD; MALLINFO_DIR names a directory (read when the
 * library loads, so children that lose their environment keep it).
 *
 * On SIGRTMIN+7 the process writes MALLINFO_DIR/mallinfo.PID:
 *   mallinfo arena N ordblks N smblks N hblks N hblkhd N uordblks N fordblks N fsmblks N
 *   brk lo 0xA hi 0xB chunks N inuse N
 *   ready
 * mallinfo2() is glibc's own sum over its arenas.  The brk line walks the
 * main arena's heap the plain way — from brk's end less the arena's size
 * (valid only with one arena, which the line is written for alone), chunk by
 * chunk to the top chunk — counting chunks whose successor's PREV_INUSE is
 * set (in use, or in a tcache or fastbin: those keep the bit) and all of them.
 *
 * It runs in a signal handler, so it must be called only while the
 * process is outside malloc: the tests signal a server that is idle in
 * epoll_wait, and signal twice around the capture to see nothing changed.
 * Formatting is snprintf into a stack buffer (no allocation), output write(2).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 1 if the word at a lies in mapped memory.  With several arenas (a
 * threaded server: memcached), mallinfo2's 'arena' is their sum, and
 * brk - arena may lie below the heap, in a gap: the walk then stops there
 * instead of faulting (mincore is a system call, safe in a handler). */
static int mapped(uintptr_t a)
{
    unsigned char v;
    return mincore((void *)(a & ~(uintptr_t)4095), 1, &v) == 0;
}

/* Read at load time: nginx empties its workers' environment. */
static char dir[256];

static void report(int sig)
{
    (void)sig;
    if (!dir[0])
        return;
    struct mallinfo2 mi = mallinfo2();
    char path[512], tmp[520], buf[1024];
    snprintf(path, sizeof path, "%s/mallinfo.%d", dir, (int)getpid());
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int n = snprintf(buf, sizeof buf,
                     "mallinfo arena %zu ordblks %zu smblks %zu hblks %zu hblkhd %zu uordblks %zu "
                     "fordblks %zu fsmblks %zu\n",
                     mi.arena, mi.ordblks, mi.smblks, mi.hblks, mi.hblkhd, mi.uordblks, mi.fordblks,
                     mi.fsmblks);
    /* The main heap: [brk - arena, brk) if all of 'arena' is the main
     * arena's, i.e. the top chunk found by walking ends exactly at brk. */
    uintptr_t hi = (uintptr_t)sbrk(0), lo = hi - mi.arena, p = lo;
    size_t chunks = 0, inuse = 0;
    int ok = mi.arena && mi.arena <= hi;
    while (ok && p + 16 <= hi) {
        if (!mapped(p + 8)) {
            ok = 0;
            break;
        }
        size_t sz = *(size_t *)(p + 8) & ~(size_t)7;
        if (sz < 32 || sz % 16 || sz > hi - p) {
            ok = 0;
            break;
        }
        if (p + sz == hi) /* the top chunk: not counted */
            break;
        chunks++;
        if (!mapped(p + sz + 8)) {
            ok = 0;
            break;
        }
        if (*(size_t *)(p + sz + 8) & 1)
            inuse++;
        p += sz;
    }
    if (ok)
        n += snprintf(buf + n, sizeof buf - n, "brk lo %#lx hi %#lx chunks %zu inuse %zu\n",
                      (unsigned long)lo, (unsigned long)hi, chunks, inuse);
    n += snprintf(buf + n, sizeof buf - n, "ready\n");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return;
    ssize_t w = write(fd, buf, (size_t)n);
    close(fd);
    if (w == n)
        rename(tmp, path);
}

__attribute__((constructor)) static void install(void)
{
    const char *d = getenv("MALLINFO_DIR");
    if (!d || strlen(d) >= sizeof dir)
        return;
    strcpy(dir, d);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = report;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGRTMIN + 7, &sa, NULL);
}
