/*
 * stale_stdout.c — a lost two-node cycle whose only "reference" is a stale
 * word in stdout's buffer, for tests/t5200-bytes-not-pointers.sh.
 *
 *   stale_stdout REPORT        (stdout must be a regular file: fully buffered)
 *
 * A chunk the size of stdout's buffer (st_blksize) is allocated, a pointer
 * to node A is written near its end, and it is freed; A and B point at each
 * other and at nothing else is left pointing at them.  Then the first
 * printf() makes glibc allocate stdout's buffer, which takes that very chunk
 * back, and writes a line of text at its start: the stale word stays behind
 * the text.  A conservative scan of the buffer would find it and keep the
 * cycle alive; the cycle is lost.
 *
 * REPORT: "buffer 0xADDR" (stdout's _IO_buf_base), "reused 1" when it is the
 * freed chunk, "stale 0xADDR" (where the stale word is), "a 0xADDR",
 * "b 0xADDR", then "ready"; then the process blocks until killed.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"

struct node {
    struct node *peer;
    char pad[40];
};

/* the addresses, kept masked so that no word of this process holds them */
#define MASK ((uintptr_t)0x5a5a5a5a5a5a5a5a)
static volatile uintptr_t masked_a, masked_b, masked_x;
static size_t bufsize;

__attribute__((noinline)) static void make_cycle(void)
{
    struct stat st;
    if (fstat(1, &st) || !S_ISREG(st.st_mode))
        abort();
    bufsize = (size_t)st.st_blksize;
    char *x = malloc(bufsize);
    struct node *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    if (!x || !a || !b)
        abort();
    memset(a, 0, sizeof *a);
    memset(b, 0, sizeof *b);
    a->peer = b;
    b->peer = a;
    memset(x, 0, bufsize);
    memcpy(x + bufsize - 64, &a, sizeof a); /* the stale word */
    masked_a = (uintptr_t)a ^ MASK;
    masked_b = (uintptr_t)b ^ MASK;
    masked_x = (uintptr_t)x ^ MASK;
    free(x);
    a = b = NULL;
    x = NULL;
}

__attribute__((noinline)) static void clobber(void)
{
    volatile char junk[4096];
    memset((char *)junk, 0, sizeof junk); /* the stack below us, where make_cycle's locals were */
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    make_cycle();
    clobber();
    printf("hello from stdout, the buffer holds this text and then old bytes\n");
    uintptr_t buf = (uintptr_t)stdout->_IO_buf_base;
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return 1;
    report_line("pid %d\n", (int)getpid());
    report_line("buffer 0x%lx\nreused %d\n", (unsigned long)buf, buf == (masked_x ^ MASK));
    report_line("stale 0x%lx\n", (unsigned long)(buf + bufsize - 64));
    report_line("a 0x%lx\nb 0x%lx\nready\n", (unsigned long)(masked_a ^ MASK),
                (unsigned long)(masked_b ^ MASK));
    if (report_flush(fd))
        return 1;
    close(fd);
    buf = 0;
    for (;;)
        pause();
}
