/*
 * scrub.h — scrub(), for the sample programs whose tests count on "no
 * pointer left" (leaky, cache_grow, binned_leak).  A leak checker's scan is
 * conservative: a dead stack frame or a scratch register that still holds a
 * block's address keeps that block "reachable".  So those samples build
 * their leaks in noinline functions whose frames die on return, then call
 * scrub(), which overwrites the dead stack below the caller (a large zeroed
 * array over the same addresses) and zeroes the caller-saved registers.
 *
 * Header-only, like report.h, because the Makefile builds each sample from
 * its one source file.
 */
#ifndef HEAPSNAP_SAMPLES_SCRUB_H
#define HEAPSNAP_SAMPLES_SCRUB_H

#include <string.h>

/* Zero 64 KiB of dead stack below the caller and the scratch registers. */
__attribute__((noinline, unused)) static void scrub(void)
{
    volatile char big[64 * 1024];
    memset((char *)big, 0, sizeof big);
    __asm__ volatile("xor %%eax, %%eax\n\txor %%ecx, %%ecx\n\txor %%edx, %%edx\n\t"
                     "xor %%esi, %%esi\n\txor %%edi, %%edi\n\txor %%r8d, %%r8d\n\t"
                     "xor %%r9d, %%r9d\n\txor %%r10d, %%r10d\n\txor %%r11d, %%r11d"
                     ::: "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory");
}

#endif
