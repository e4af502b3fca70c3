/*
 * roots.h — the places a program can reach heap objects from without going
 * through another object: the GC-style root set the reference graph starts
 * from.  roots.c finds them; refs.c scans them; db/load.c stores them.
 *
 * Kinds (docs/schema.md says the same to users):
 *   data      a module's writable PT_LOAD segments (.data, .bss, and .got
 *             where it stays writable): one root per STT_OBJECT symbol, named
 *             after it, plus one unnamed root per stretch between symbols.
 *   stack     each thread's live stack: from its SP minus the 128-byte
 *             red zone up to the end of the mapping holding SP (less any TLS
 *             root inside that mapping: glibc puts a thread's TLS and struct
 *             pthread at the top of its stack mapping).
 *   register  each thread's general-purpose registers, one root per thread;
 *             a ref's offset / 8 is the enum hs_reg index (HS_RAX = 10, ...).
 *   tls       each thread's static TLS block and thread control block: from
 *             fs_base minus the static TLS size (the modules' PT_TLS
 *             segments, aligned, as glibc lays them out below the TCB) up to
 *             fs_base + ROOTS_TCB_SIZE.
 *   anon      writable memory that no module, stack, TLS block or allocator
 *             region explains (anonymous mmaps, private file mappings).
 *             Kept as roots so that memory we cannot explain never makes
 *             an object look leaked.
 *   allocator the allocator's own bookkeeping outside its regions, as the
 *             walker declared it (allocator.h: internal; glibc's main_arena
 *             and mp_), named after it.  Cut out of whatever root would
 *             otherwise hold it, and never scanned: its pointers lead to
 *             free chunk headers, which lie inside the *preceding* block,
 *             and would keep that block alive.  A root still, so that the
 *             writable memory stays covered and `roots` says where it is.
 * Roots never overlap each other or an allocator region.
 *
 * Ids: root i of n has id i - n, so roots are numbered -n .. -1 in the order
 * of this array (the order they are scanned and stored), and objects keep the
 * positive ids.
 */
#ifndef HEAPSNAP_MODEL_ROOTS_H
#define HEAPSNAP_MODEL_ROOTS_H

#include <stddef.h>
#include <stdint.h>

#include "debuginfo/debuginfo.h"
#include "heap/allocator.h"
#include "hsnap.h"

/* glibc's struct pthread on x86_64 is a little over 2 KiB; TLS words of the
 * TCB (dtv, self pointers, the thread's own malloc state pointer) live there. */
#define ROOTS_TCB_SIZE 2304
#define ROOTS_RED_ZONE 128

/* ROOT_FINALIZER: what a runtime keeps alive for a pending finalizer
 * (heap_root kind HEAP_ROOT_FINALIZER), read like a data root; ROOT_RUNTIME:
 * a word of the runtime's own that keeps an object alive (HEAP_ROOT_RUNTIME,
 * Go's tiny-allocation blocks), scanned like a stack. */
enum root_kind { ROOT_DATA, ROOT_STACK, ROOT_REGISTER, ROOT_TLS, ROOT_ANON, ROOT_ALLOCATOR, ROOT_FINALIZER,
                 ROOT_RUNTIME };

struct root {
    uint8_t kind;       /* enum root_kind */
    int32_t thread;     /* tid for stack, register and tls; 0 otherwise */
    int32_t module;     /* module index for data roots; -1 otherwise */
    uint64_t addr, size; /* for a register root: addr 0, size 8 * HS_NREGS */
    char *name;         /* owned; NULL for an unnamed stretch */
    const uint64_t *regs; /* register roots: the thread's registers (in the snapshot) */
    uint64_t frame_pc, frame_cfa; /* a frame's root: heap_root.frame_pc/frame_cfa, else 0 */
    uint64_t *mask;     /* owned; a precisely scanned stack root (heap_root.mask): bit i
                         * for the word at addr + 8 i; NULL: scanned conservatively */
    /* Objects inside these regions are no targets of this root (a thread
     * its runtime quiets for its own heap only: roots_quiet); not owned,
     * sorted by start, valid while the regions given to roots_collect are. */
    const struct heap_region *unreached;
    size_t nunreached;
};

/* A thread whose registers and stack are no roots (heap_ctx.quiet_thread):
 * for any object when whole, else for the objects in regions (the quieting
 * allocator's own, sorted by start). */
struct roots_quiet {
    int tid, whole;
    /* the regions are unreached from the thread's own stack only, when it
     * runs on another (heap_ctx.quiet_thread, HEAP_QUIET_OWN_STACK) */
    int own_stack_only;
    const struct heap_region *regions;
    size_t nregions;
};

struct rootset {
    struct root *v;
    size_t n, cap;
};

/* Find every root of s.  regions are the allocator's, in any order;
 * internal are its bookkeeping ranges outside them (kind: the name), in any
 * order, which become 'allocator' roots; quiet are the threads whose
 * registers and stack are no roots, or no roots into one allocator's
 * regions (struct roots_quiet).  Returns 0, or -1 on out-of-memory. */
int roots_collect(struct rootset *rs, const struct hs_snapshot *s, struct dbg *d,
                  const struct heap_region *regions, size_t nregions,
                  const struct heap_region *internal, size_t ninternal,
                  const struct roots_quiet *quiet, size_t nquiet);
void roots_free(struct rootset *rs);

/* Append the allocator's extra roots (allocator.h: heap_root, e.g. goroutine
 * stacks inside the Go heap, or their frames) as 'stack' roots, after
 * roots_collect(), each with a copy of its mask.  They lie in the
 * allocator's own regions, which no other root covers.  0 or -1 on
 * out-of-memory. */
int roots_add_extra(struct rootset *rs, const struct heap_root *r, size_t n);

const char *root_kind_name(unsigned kind);

static inline int64_t root_id(const struct rootset *rs, size_t i)
{
    return (int64_t)i - (int64_t)rs->n;
}

#endif
