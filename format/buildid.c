/*
 * buildid.c — find NT_GNU_BUILD_ID in the bytes of one PT_NOTE segment.
 * The capture tool reads those bytes from the file on disk, the core reader
 * from the ELF header page a core holds; both then ask this one walk, which
 * trusts nothing in the notes (every size is bounded by the segment).
 */
#include <elf.h>
#include <string.h>

#include "hsnap.h"

int hs_find_build_id(const uint8_t *notes, size_t len, uint64_t p_align, uint8_t *out, uint32_t *outlen)
{
    /* 4-byte aligned on x86_64; 8 for a PT_NOTE of .note.gnu.property. */
    size_t off = 0, align = p_align == 8 ? 8 : 4;
    while (off + sizeof(Elf64_Nhdr) <= len) {
        Elf64_Nhdr nh;
        memcpy(&nh, notes + off, sizeof nh);
        size_t name_off = off + sizeof nh;
        size_t desc_off = name_off + ((nh.n_namesz + align - 1) & ~(align - 1));
        size_t next = desc_off + ((nh.n_descsz + align - 1) & ~(align - 1));
        if (desc_off > len || nh.n_descsz > len - desc_off || next <= off)
            return -1;
        if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && !memcmp(notes + name_off, "GNU", 4) &&
            nh.n_descsz > 0 && nh.n_descsz <= 64) {
            memcpy(out, notes + desc_off, nh.n_descsz);
            *outlen = nh.n_descsz;
            return 0;
        }
        off = next;
    }
    return -1;
}
