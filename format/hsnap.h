/*
 * hsnap.h — the contract of the .hsnap reader/writer library.
 *
 * A .hsnap file is a snapshot of one process: its metadata (process,
 * mappings, modules, threads, capture statistics) and the contents of the
 * memory ranges that were captured.  heapsnap-capture writes it with the
 * writer half of this library; every heapsnap command reads it with the
 * reader half.  docs/format.md describes the bytes; this header describes
 * the C interface.  Both programs link the same objects, so a field added
 * here is added for both sides at once.
 *
 * Design rules that callers can rely on:
 *  - The writer never seeks.  It can write to a pipe or a socket.
 *  - The reader never trusts the file.  Every length, count, offset and
 *    string is bounded before use; a damaged file gives an hs_error that
 *    names the file, the section, the offset and what is wrong.
 *  - A file that was cut off is still read up to the cut, and the reader
 *    says so (hs_snapshot_truncated()).
 *  - All integers in the file are little-endian; all addresses are target
 *    virtual addresses (x86_64 only for now).
 *  - With two or more CPUs the writer compresses, and hs_open() decompresses,
 *    memory blocks on two threads; the bytes written and the snapshot read
 *    are the same either way.  HSNAP_WRITER_THREADS=1 and
 *    HSNAP_READER_THREADS=1 in the environment keep each to one thread.
 *  - The reader is safe to use from several threads once open (it is
 *    read-only); a writer belongs to one thread.
 */
#ifndef HEAPSNAP_FORMAT_HSNAP_H
#define HEAPSNAP_FORMAT_HSNAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HS_MAGIC         "HSNAP\0\r\n" /* 8 bytes; the CR LF catches text-mode mangling */
#define HS_MAGIC_LEN     8
#define HS_VERSION_MAJOR 1 /* a reader refuses a newer major version */
#define HS_VERSION_MINOR 2 /* a newer minor only adds section types or trailing fields
                              * (1.1: carried files, HS_SEC_FILE; a thread record's
                              * regs_error; the capture's mode_reason and modes
                              * cow and stop-lz4) */

/* Section types.  A reader skips a type it does not know (after checking its CRC). */
enum hs_section_type {
    HS_SEC_PROCESS  = 1, /* struct hs_process, exactly one */
    HS_SEC_MAPPINGS = 2, /* array of struct hs_mapping */
    HS_SEC_MODULES  = 3, /* array of struct hs_module */
    HS_SEC_THREADS  = 4, /* array of struct hs_thread */
    HS_SEC_MEMORY   = 5, /* one block of captured memory (many such sections) */
    HS_SEC_STATS    = 6, /* struct hs_stats: written after memory, when the figures are known */
    HS_SEC_INDEX    = 7, /* trailing index of every section; followed by the footer */
    HS_SEC_FILE     = 8, /* 1.1: one carried file (struct hs_file), any number; before the index */
};

/* hs_file.kind */
enum hs_file_kind {
    HS_FILE_EXECUTABLE = 1, /* the process's executable, read through /proc/PID/exe */
    HS_FILE_DEBUG      = 2, /* a module's separate debug file, found by its build-id */
};

/* A file the snapshot carries (heapsnap-capture --with-binaries). */
struct hs_file {
    uint32_t kind;          /* enum hs_file_kind */
    uint32_t module;        /* index into hs_get_modules(), or UINT32_MAX */
    uint64_t size;          /* bytes of the file */
    uint64_t stored;        /* bytes the snapshot spends on it (compressed) */
    uint32_t build_id_len;  /* the module's build-id as the capture saw it, 0 if none */
    uint8_t build_id[64];
    const char *path;       /* where the capture read it on the target's host */
    const uint8_t *data;    /* size bytes; NULL when opened HS_OPEN_METADATA_ONLY */
};

/* What is known about one page of a captured range. */
enum hs_page_state {
    HS_PAGE_DATA       = 0, /* contents stored in the file */
    HS_PAGE_ZERO       = 1, /* resident and all zero; not stored */
    HS_PAGE_ABSENT     = 2, /* not resident, not swapped: zero if the range is anonymous,
                               the file's contents otherwise (not stored) */
    HS_PAGE_SWAPPED    = 3, /* in swap; not read, so the capture never swaps in */
    HS_PAGE_UNREADABLE = 4, /* neither process_vm_readv nor /proc/PID/mem could read it */
};

/* Capture policies (hs_process.policy). */
enum hs_policy {
    HS_POLICY_WRITABLE = 0, /* every private writable mapping (the default) */
    HS_POLICY_ALL      = 1, /* everything readable (--mappings=all) */
};

/* hs_process.flags */
#define HS_PROC_REDACTED 0x1u /* words that do not point into the heap were zeroed */

/* hs_mapping.flags: the permission letters of /proc/PID/maps, plus ours. */
#define HS_MAP_R        0x01u
#define HS_MAP_W        0x02u
#define HS_MAP_X        0x04u
#define HS_MAP_SHARED   0x08u /* 's' rather than 'p' */
#define HS_MAP_CAPTURED 0x10u /* its contents are in the file (at least in part) */
#define HS_MAP_ANON     0x20u /* no backing file (path empty or a [pseudo] name) */

/* hs_mem_range.flags */
#define HS_MEM_ANON 0x1u /* anonymous memory: an ABSENT page reads as zeros */

struct hs_process {
    int32_t pid;
    uint16_t machine;       /* ELF e_machine of the target: EM_X86_64 */
    uint16_t policy;        /* enum hs_policy */
    uint32_t flags;         /* HS_PROC_* */
    uint32_t page_size;
    uint64_t capture_time_ns; /* CLOCK_REALTIME when the target was stopped */
    char *exe;              /* readlink /proc/PID/exe */
    char *kernel_release;   /* uname -r of the capturing host */
    char *hostname;
    uint32_t argc;
    char **argv;            /* the command line; the environment is never captured */
    uint32_t auxv_count;    /* number of (type, value) pairs */
    uint64_t *auxv;         /* 2 * auxv_count words */
};

struct hs_mapping {
    uint64_t start, end, offset;
    uint64_t inode;
    uint32_t dev_major, dev_minor;
    uint32_t flags; /* HS_MAP_* */
    char *path;     /* "" for anonymous, "[heap]", "[stack]", a file path, ... */
    /* smaps figures, in bytes */
    uint64_t rss, pss, private_clean, private_dirty, shared_clean, shared_dirty;
    uint64_t swap, anonymous, anon_huge;
    char *vmflags;  /* the VmFlags line, e.g. "rd wr mr mw me ac sd" */
    /* 1.2: smaps LazyFree, pages freed with MADV_FREE that the kernel has
     * not reclaimed yet (still in rss); has_lazyfree 0 in older files */
    uint64_t lazyfree;
    int has_lazyfree;
};

struct hs_module {
    char *path;
    uint64_t base;          /* load bias: runtime address = ELF vaddr + base */
    uint64_t lowest;        /* lowest mapped address of the module */
    uint32_t build_id_len;  /* 0 if the file has no NT_GNU_BUILD_ID */
    uint8_t build_id[64];
    uint32_t ehdr_len;
    uint8_t *ehdr;          /* the ELF header, as in the file */
    uint32_t phdrs_len;
    uint8_t *phdrs;         /* the program header table, as in the file */
};

/* x86_64 general-purpose registers, in the order of struct user_regs_struct. */
enum hs_reg {
    HS_R15, HS_R14, HS_R13, HS_R12, HS_RBP, HS_RBX, HS_R11, HS_R10, HS_R9, HS_R8,
    HS_RAX, HS_RCX, HS_RDX, HS_RSI, HS_RDI, HS_ORIG_RAX, HS_RIP, HS_CS, HS_EFLAGS,
    HS_RSP, HS_SS, HS_FS_BASE, HS_GS_BASE, HS_DS, HS_ES, HS_FS, HS_GS,
    HS_NREGS /* 27 */
};

struct hs_thread {
    int32_t tid;
    char state;             /* the letter from /proc/PID/task/TID/stat before the stop */
    char name[16];          /* comm, NUL-terminated */
    uint64_t regs[HS_NREGS];
    uint64_t stack_start, stack_end; /* the mapping that holds regs[HS_RSP], or 0,0 */
    /* "" if regs were read; else why not (e.g. "PTRACE_GETREGSET: No such
     * process"), and regs are all zero.  Format 1.1; "" in older files. */
    char regs_error[96];
};

struct hs_failure {
    uint64_t start, end;
    int32_t err;            /* errno */
    char *reason;           /* e.g. "process_vm_readv: EFAULT; /proc/PID/mem: EIO" */
};

enum hs_capture_mode {
    HS_MODE_BUFFERED = 0,   /* copied into a pre-faulted buffer, target resumed, then written */
    HS_MODE_STREAMED = 1,   /* buffer would exceed --max-buffer: written while stopped */
    HS_MODE_COW = 2,        /* 1.1: a forked copy-on-write copy, read after the target resumed */
    HS_MODE_STOP_LZ4 = 3,   /* 1.1: LZ4-compressed into memory while stopped, zstd after the resume */
};

struct hs_stats {
    uint64_t pause_ns;          /* first PTRACE_INTERRUPT to last resume */
    uint64_t total_ns;          /* whole capture, wall time */
    uint64_t bytes_read;        /* bytes copied from the target */
    uint64_t bytes_zero;        /* resident pages found to be all zero */
    uint64_t bytes_absent;      /* pages not resident (not read) */
    uint64_t bytes_swapped;     /* pages in swap (not read) */
    uint64_t bytes_unreadable;
    uint32_t threads;
    uint32_t mode;              /* enum hs_capture_mode */
    uint32_t nfailures;
    struct hs_failure *failures;
    char *mode_reason;          /* 1.1: why this mode, one line; NULL in a 1.0 file */
};

/* ---------------------------------------------------------------- errors */

struct hs_error {
    char msg[512]; /* "FILE: section N (memory) at offset O: what is wrong" */
};

/* ---------------------------------------------------------------- writer */

struct hs_writer;

/* Start a snapshot on fd (a file or a pipe; never seeked).  zstd_level 1..19,
 * or 0: every body stored uncompressed (a file whose size does not depend
 * on its contents; the tests use it).
 * 'name' is used in error messages only.  The caller keeps fd (the writer
 * never closes it) and decides about SIGPIPE: with it ignored, a reader
 * that goes away is an EPIPE error from the next hs_write_* call. */
struct hs_writer *hs_writer_open(int fd, const char *name, int zstd_level, struct hs_error *err);

/* Metadata.  hs_write_process() exactly once (a file without it is not a
 * snapshot), hs_write_stats() at most once; the array writers may be called
 * again, and their records then add up.  Each returns 0, or -1 with
 * hs_writer_error() saying why; after an error every call returns -1. */
int hs_write_process(struct hs_writer *w, const struct hs_process *p);
int hs_write_mappings(struct hs_writer *w, const struct hs_mapping *m, size_t n);
int hs_write_modules(struct hs_writer *w, const struct hs_module *m, size_t n);
int hs_write_threads(struct hs_writer *w, const struct hs_thread *t, size_t n);

/*
 * Write one captured range [addr, addr + npages * page_size).
 * page_state has npages entries (enum hs_page_state); data holds the pages
 * whose state is HS_PAGE_DATA, packed one after the other in address order.
 * The writer itself turns all-zero DATA pages into HS_PAGE_ZERO, and splits
 * the range into blocks of at most HS_BLOCK_PAGES pages, each compressed on
 * its own so that a reader can decompress any part independently.
 * flags: HS_MEM_*.
 */
#define HS_BLOCK_PAGES 256
int hs_write_memory(struct hs_writer *w, uint64_t addr, uint32_t page_size, uint64_t npages,
                    uint32_t flags, const uint8_t *page_state, const void *data);

int hs_write_stats(struct hs_writer *w, const struct hs_stats *s);

/* Carry one file (f->size bytes at data), compressed; f->stored and
 * f->data are ignored.  Any number, in any order before finishing. */
int hs_write_file(struct hs_writer *w, const struct hs_file *f, const void *data);

/* Write one section of any type with the given payload, compressed with
 * zstd if 'compress' (and it shrinks).  For tests and tools that need a
 * section this library has no writer for (e.g. a type from a newer minor).
 * HS_SEC_INDEX is refused: hs_writer_finish() writes the index. */
int hs_write_section(struct hs_writer *w, uint32_t type, const void *payload, size_t len,
                     int compress);

/* Write the trailing index and footer, flush, and free w.  Returns 0 or -1. */
int hs_writer_finish(struct hs_writer *w, struct hs_error *err);
/* Free w without finishing (the output is then a truncated snapshot). */
void hs_writer_abort(struct hs_writer *w);
/* Bytes the writer has emitted so far (what the file holds once flushed). */
uint64_t hs_writer_bytes(const struct hs_writer *w);
/* The first error the writer met, if any call returned -1. */
const char *hs_writer_error(const struct hs_writer *w);

/* ---------------------------------------------------------------- reader */

struct hs_snapshot;

/* A captured range, materialised: data holds (end - start) bytes, with ZERO
 * and anonymous ABSENT pages as zeros.  Pages with no data (SWAPPED,
 * UNREADABLE, file-backed ABSENT) are zeros in data too, but hs_read()
 * refuses them; check page_state when it matters. */
struct hs_mem_range {
    uint64_t start, end;
    uint32_t flags;             /* HS_MEM_* */
    uint32_t page_size;
    const uint8_t *page_state;  /* (end - start) / page_size entries */
    const uint8_t *data;
};

#define HS_OPEN_METADATA_ONLY 0x1u /* do not decompress memory (info, verify): ranges
                                      then have page_state but data == NULL, and
                                      hs_read/hs_ptr fail */
#define HS_OPEN_ON_DEMAND 0x2u     /* decompress a memory block when hs_read, hs_read_u64
                                      or hs_ptr first reaches it, not at the open (for a
                                      reader of a few words: the SQL functions).  The
                                      ranges' data stays NULL, so a reader that walks them
                                      directly sees no bytes; the file stays open until
                                      hs_close().  Ignored for ELF cores. */

/* Open a snapshot.  path "-" reads standard input.  Returns NULL and fills
 * err on failure.  A truncated file opens if its process section survived;
 * hs_snapshot_truncated() then returns nonzero and hs_snapshot_warning()
 * says where it was cut. */
struct hs_snapshot *hs_open(const char *path, unsigned flags, struct hs_error *err);
/* The same from a buffer already in memory (tests, the fuzzer).  The buffer
 * is not kept (nothing returned points into it), so the caller may free it
 * at once; name is used in messages. */
struct hs_snapshot *hs_open_memory(const void *buf, size_t len, const char *name, unsigned flags,
                                   struct hs_error *err);
void hs_close(struct hs_snapshot *s);
/* Give back the captured memory, keeping the metadata and page states:
 * afterwards every range's data is NULL and hs_read/hs_ptr fail, as if
 * opened HS_OPEN_METADATA_ONLY.  For a reader done with the bytes (the
 * indexer, once the references are scanned) that has more work to do. */
void hs_drop_memory(struct hs_snapshot *s);
/* Give back the whole pages inside [start, end) of a snapshot opened
 * whole, for a reader that will not read them again (the indexer's scan,
 * behind itself): hs_read, hs_read_u64 and hs_ptr refuse them afterwards,
 * as if not captured, and count each refusal (hs_released_reads); a
 * range's data there reads as zeros.  Nothing is done to a snapshot opened
 * on demand or metadata only.  0, or -1 out of memory (then nothing more
 * was given back). */
int hs_release(struct hs_snapshot *s, uint64_t start, uint64_t end);
/* How many reads hs_release's pages have refused: a reader that gave
 * memory back too early learns it here. */
uint64_t hs_released_reads(const struct hs_snapshot *s);

const char *hs_snapshot_path(const struct hs_snapshot *s);
unsigned hs_snapshot_version_minor(const struct hs_snapshot *s);
int hs_snapshot_truncated(const struct hs_snapshot *s);
const char *hs_snapshot_warning(const struct hs_snapshot *s); /* NULL if none */

const struct hs_process *hs_get_process(const struct hs_snapshot *s);
const struct hs_mapping *hs_get_mappings(const struct hs_snapshot *s, size_t *n);
const struct hs_module *hs_get_modules(const struct hs_snapshot *s, size_t *n);
const struct hs_thread *hs_get_threads(const struct hs_snapshot *s, size_t *n);
const struct hs_stats *hs_get_stats(const struct hs_snapshot *s); /* NULL if absent */
/* The files the snapshot carries, in file order (none before format 1.1). */
const struct hs_file *hs_get_files(const struct hs_snapshot *s, size_t *n);

/* Captured memory, sorted by address, non-overlapping. */
const struct hs_mem_range *hs_get_ranges(const struct hs_snapshot *s, size_t *n);
/* The range holding addr, or NULL.  O(log n). */
const struct hs_mem_range *hs_find_range(const struct hs_snapshot *s, uint64_t addr);
/* Copy len bytes at addr.  0 if every byte was captured, -1 otherwise. */
int hs_read(const struct hs_snapshot *s, uint64_t addr, void *buf, size_t len);
/* A pointer to len captured bytes at addr, within one range, or NULL. */
const void *hs_ptr(const struct hs_snapshot *s, uint64_t addr, size_t len);
/* Read one 64-bit little-endian word; 0 on success, -1 if not captured. */
int hs_read_u64(const struct hs_snapshot *s, uint64_t addr, uint64_t *out);
/* Opened HS_OPEN_ON_DEMAND: the first memory block a read reached and
 * could not decompress ("FILE: section N (memory) at offset O: ..."), or
 * NULL.  Reads of that block fail, as if it were not captured; this tells
 * the two apart.  Always NULL for an eager open, which fails instead. */
const char *hs_snapshot_memory_error(const struct hs_snapshot *s);

/* The 8-byte words at addr[0..n) (ascending) of the snapshot file at path,
 * without opening it into memory (gather.c): each compressed block that
 * holds one of them is decompressed once, into one block's room, so the
 * cost is the file's mapping and a block, not the heap.  ok[i] = 1 where
 * hs_read_u64() on the opened snapshot would succeed, with the same word
 * in out[i]; else ok[i] = 0 and out[i] = 0.  0, or -1 with err (a file
 * hs_open() refuses, memory, or addresses out of order).  The _memory form
 * reads a file image. */
int hs_gather_u64(const char *path, const uint64_t *addr, size_t n, uint64_t *out, uint8_t *ok,
                  struct hs_error *err);
int hs_gather_u64_memory(const void *buf, size_t len, const char *name, const uint64_t *addr, size_t n,
                         uint64_t *out, uint8_t *ok, struct hs_error *err);

/*
 * Check every checksum and the structure of the file at path, without
 * trusting anything.  Writes one line per section to 'log' if non-NULL.
 * Returns 0 if the file is sound, -1 with err naming the section, the
 * offset and the fault otherwise.
 */
int hs_verify(const char *path, FILE *log, struct hs_error *err);
/* The same for a file image already in memory (the fuzzer, tests). */
int hs_verify_memory(const void *buf, size_t len, const char *name, FILE *log,
                     struct hs_error *err);

/* The NT_GNU_BUILD_ID of one PT_NOTE segment's bytes (len of them, the
 * segment's p_align), into out (64 bytes) and *outlen; 0, or -1 if there is
 * none.  For struct hs_module.build_id, wherever the notes are read from. */
int hs_find_build_id(const uint8_t *notes, size_t len, uint64_t p_align, uint8_t *out, uint32_t *outlen);

/* Names for display. */
const char *hs_section_name(uint32_t type);
const char *hs_mode_name(uint32_t mode); /* enum hs_capture_mode: "buffered", "cow", ... */
const char *hs_page_state_name(unsigned state);

/* CRC32C (Castagnoli), as used for every section; exposed for tests. */
uint32_t hs_crc32c(uint32_t crc, const void *buf, size_t len);

#endif /* HEAPSNAP_FORMAT_HSNAP_H */
