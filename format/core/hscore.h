/*
 * hscore.h — the contract of the core reader: open a Linux x86_64 ELF core
 * file (the kernel's, gdb's gcore, systemd-coredump's compressed store, Go's
 * GOTRACEBACK=crash) as the same struct hs_snapshot that hs_open() gives, so
 * that nothing after the opener knows, or needs to know, where the
 * snapshot came from.
 *
 * What comes from where:
 *   PT_LOAD       the mappings, and the memory of those the core holds
 *   NT_FILE       which mappings are files (path, offset), and the modules
 *   NT_PRSTATUS   one thread each: tid and the general registers
 *   NT_FPREGSET, NT_X86_XSTATE   checked and counted; the snapshot model
 *                 has no floating-point registers, so they are not kept
 *   NT_PRPSINFO   pid, the command name and the first 80 bytes of the
 *                 command line (all a core records of argv)
 *   NT_AUXV       the auxiliary vector (and, through AT_PHDR, the executable)
 *   module ELF headers and build-ids: from the first page of each file
 *                 mapping where the core holds it (the kernel's
 *                 coredump_filter bit 4, on by default; gcore writes it too),
 *                 else from the file on this machine, said so in a warning.
 *
 * What a core does not say is not made up:
 *  - no smaps: every mapping's rss/pss/swap/... figures are 0 and its
 *    vmflags ""; `heapsnap rss` says what that leaves unknown.
 *  - no hostname, kernel release or thread names other than the main
 *    thread's command name; capture_time_ns is the core file's mtime.
 *  - memory the core left out (p_filesz short of p_memsz, for an anonymous
 *    mapping) is in no range, with a failure record "not in the core": a
 *    read of it fails, it never reads as zeros.  File-backed memory the
 *    core left out is simply not captured, as in a snapshot.
 *  - a core cut short (ulimit -c, a full disk) opens as truncated:
 *    hs_snapshot_truncated() is nonzero, the warning names the segment
 *    where it was cut, and the cut pages have failure records "truncated".
 * Other things worth knowing (files named by NT_FILE that are missing on
 * this machine, headers taken from disk) are lines of hs_snapshot_warning().
 *
 * Compressed cores (zstd, lz4 frame, xz: systemd-coredump's .zst/.lz4/.xz)
 * are recognised by their magic and decompressed into memory, never to disk.
 */
#ifndef HEAPSNAP_FORMAT_CORE_HSCORE_H
#define HEAPSNAP_FORMAT_CORE_HSCORE_H

#include <stddef.h>

#include "hsnap.h"

/* 1 if the file at path is an ELF core, or a zstd/lz4/xz stream (which
 * hs_open_any() then takes for a compressed core); 0 otherwise. */
int hs_core_probe(const char *path);

/* Open an ELF core (compressed or not) as a snapshot.  flags: HS_OPEN_*.
 * NULL with err ("FILE: note 3 (NT_FILE) at offset 1234: ...") on failure. */
struct hs_snapshot *hs_open_core(const char *path, unsigned flags, struct hs_error *err);
/* The same from a buffer (the fuzzer); the buffer is not kept. */
struct hs_snapshot *hs_open_core_memory(const void *buf, size_t len, const char *name,
                                        unsigned flags, struct hs_error *err);

/* hs_open() for a snapshot, hs_open_core() for a core: what every command
 * of the analyzer calls. */
struct hs_snapshot *hs_open_any(const char *path, unsigned flags, struct hs_error *err);
/* hs_gather_u64() for either.  A core is opened whole and read word by
 * word: its memory is copied out of the file, as hs_open_any() does. */
int hs_gather_u64_any(const char *path, const uint64_t *addr, size_t n, uint64_t *out, uint8_t *ok,
                      struct hs_error *err);

/* The executable to use for cores opened from now on, instead of the one
 * NT_FILE names (`--exe PATH`: the core came from another machine, or the
 * binary has moved).  Its mappings, module and hs_process.exe take this
 * path; the file's ELF headers must match the core's.  NULL: none. */
void hs_core_set_exe(const char *path);

#endif
