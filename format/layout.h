/*
 * layout.h — the on-disk constants of .hsnap version 1, shared by the
 * writer, the reader and the verifier (internal to format/).
 *
 * docs/format.md is the prose version of this file; when one changes the
 * other must too.  Everything here is a byte count or offset in the file,
 * little-endian.
 */
#ifndef HEAPSNAP_FORMAT_LAYOUT_H
#define HEAPSNAP_FORMAT_LAYOUT_H

#include <stdint.h>

/* File header: magic[8] major:u16 minor:u16 header_len:u32 flags:u32 crc:u32.
 * magic, major and minor stay at these offsets in every version, so that any
 * reader can say which version a file is before trusting anything else. */
#define HSL_FILE_HDR_LEN   24u
#define HSL_FILE_HDR_MAX   4096u /* a newer minor may grow the header, up to this */

/* Section header: magic:u32 type:u32 flags:u32 plain_len:u32
 * stored_len:u64 raw_len:u64 payload_crc:u32 header_crc:u32. */
#define HSL_SEC_HDR_LEN    40u
#define HSL_SEC_MAGIC      0x43455348u /* "HSEC" */
#define HSL_SF_ZSTD        0x1u        /* the payload after plain_len bytes is one zstd frame */
#define HSL_SF_KNOWN       HSL_SF_ZSTD

/* Footer: index_offset:u64 reserved:u32 crc:u32 end_magic[8]. */
#define HSL_FOOTER_LEN     24u
#define HSL_END_MAGIC      "HSNAPEND"

/* Index payload: count:u32 reserved:u32, then count entries of
 * type:u32 flags:u32 offset:u64 stored_len:u64 raw_len:u64. */
#define HSL_INDEX_HDR_LEN  8u
#define HSL_INDEX_ENT_LEN  32u

/* Memory block prefix (the plain part of a MEMORY payload):
 * addr:u64 page_size:u32 npages:u32 flags:u32 ndata:u32 range_seq:u32
 * block_no:u32, then npages state bytes. */
#define HSL_MEM_HDR_LEN    32u
#define HSL_MEM_FLAGS_KNOWN 0x1u /* HS_MEM_ANON */
#define HSL_PAGE_MIN       512u
#define HSL_PAGE_MAX       (1u << 16) /* 64 KiB, the largest base page of any Linux port;
                                         huge pages are captured as base pages */
#define HSL_MEM_TOTAL_MAX  (1ull << 47) /* all ranges together: the x86_64 user address space */

/* Metadata payloads: count:u32 reserved:u32, then count records, each
 * len:u32 followed by len bytes.  A record may be longer than the fields
 * this version knows (a newer minor appended some): the rest is skipped. */
#define HSL_META_HDR_LEN   8u
#define HSL_META_MAX       (256u << 20) /* cap on a metadata section's raw length */
#define HSL_STR_MAX        (16u << 20)

/* File section (type 8, 1.1): the plain part is kind:u32 module:u32
 * size:u64 build_id_len:u32 path_len:u32, the build-id, the path; the body
 * is the file's bytes (zstd, or stored when that is not smaller). */
#define HSL_FILE_HDR_LEN   24u
#define HSL_FILE_PATH_MAX  4096u
#define HSL_FILE_MAX       (4ull << 30) /* 4 GiB: far beyond any executable or debug file */

/* hs_process.machine: ELF e_machine EM_X86_64, the only one 1.x describes
 * (thread records hold x86_64 registers). */
#define HSL_MACHINE        62u

/* Fixed part of a thread record before the registers. */
#define HSL_THREAD_NAME    16u

#endif /* HEAPSNAP_FORMAT_LAYOUT_H */
