/*
 * noclone.c — a sample target under a seccomp filter that forbids clone,
 * for the cow capture's fallback (tests/t1030-capture-cow.sh).
 *
 *   bin/samples/noclone REPORT errno|kill
 *
 * Fills a 256 KiB anonymous region with byte i = (i * 7 + 34) & 0xff, then
 * installs a filter on its only thread: clone and clone3 fail with EPERM
 * ("errno") or kill the process ("kill", so that a capture that ran the
 * fork anyway would be seen to kill it); everything else is allowed.  Then
 * it blocks in read() on a pipe nobody writes.  REPORT receives:
 *
 *   pid N
 *   region mmap 0xADDR LEN SEED
 *   ready
 */
#define _GNU_SOURCE
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LEN (256 * 1024)

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[2], "errno") && strcmp(argv[2], "kill"))) {
        fprintf(stderr, "usage: noclone REPORT errno|kill\n");
        return 2;
    }
    uint8_t *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int never[2];
    if (p == MAP_FAILED || pipe(never) < 0)
        return 1;
    for (size_t i = 0; i < LEN; i++)
        p[i] = (uint8_t)((i * 7 + 34) & 0xff);
    uint32_t deny = strcmp(argv[2], "kill") == 0 ? SECCOMP_RET_KILL_PROCESS : SECCOMP_RET_ERRNO | 1; /* EPERM */
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, deny),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
        perror("seccomp");
        return 1;
    }
    FILE *r = fopen(argv[1], "w");
    if (!r)
        return 1;
    fprintf(r, "pid %d\nregion mmap %p %d 34\nready\n", (int)getpid(), (void *)p, LEN);
    fclose(r);
    char c;
    for (;;)
        if (read(never[0], &c, 1) == 0)
            pause();
}
