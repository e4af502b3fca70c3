/*
 * ptrace-hold.c — "another tracer" for tests/t1040-capture-safety.sh: it
 * PTRACE_SEIZEs one thread (without stopping it), says "ready" on stdout
 * and waits until killed, when the kernel detaches it.  Seizing one thread
 * of a process, not the main one, is what a debugger attached to a single
 * thread (strace -p TID, gdb on a TID) leaves behind.
 *
 *   ptrace-hold TID
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: ptrace-hold TID\n");
        return 2;
    }
    pid_t tid = (pid_t)atoi(argv[1]);
    if (ptrace(PTRACE_SEIZE, tid, 0, 0) < 0) {
        perror("ptrace-hold: PTRACE_SEIZE");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    for (;;)
        pause();
}
