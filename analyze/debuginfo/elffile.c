/*
 * elffile.c — open an ELF file and collect what elffile.h promises:
 * build-id (from SHT_NOTE sections, else PT_NOTE segments), the
 * .gnu_debuglink name and CRC, and which symbol/DWARF sections it has.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "debuginfo/elffile.h"

#ifndef NT_GNU_BUILD_ID
#define NT_GNU_BUILD_ID 3
#endif

/* Look for a GNU build-id note in one block of notes. */
static int scan_notes(struct elffile *ef, Elf_Data *data)
{
    size_t off = 0, noff, doff;
    GElf_Nhdr nh;
    while (data && off < data->d_size && (off = gelf_getnote(data, off, &nh, &noff, &doff)) > 0) {
        if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
            !memcmp((const char *)data->d_buf + noff, "GNU", 4) && nh.n_descsz > 0 &&
            nh.n_descsz <= sizeof ef->build_id) {
            memcpy(ef->build_id, (const char *)data->d_buf + doff, nh.n_descsz);
            ef->build_id_len = nh.n_descsz;
            return 1;
        }
    }
    return 0;
}

static void read_debuglink(struct elffile *ef, Elf_Scn *scn)
{
    Elf_Data *d = elf_getdata(scn, NULL);
    if (!d || !d->d_buf || d->d_size < 8)
        return;
    const char *p = d->d_buf;
    size_t n = strnlen(p, d->d_size);
    size_t crc_off = (n + 4) & ~(size_t)3; /* the name, its NUL, padding to 4 */
    if (n == 0 || n >= 4096 || crc_off + 4 > d->d_size || memchr(p, '/', n))
        return; /* a debuglink is a bare file name; anything else is refused */
    uint32_t crc;
    memcpy(&crc, p + crc_off, 4);
    if (elf_getident(ef->elf, NULL)[EI_DATA] == ELFDATA2MSB)
        crc = __builtin_bswap32(crc);
    if ((ef->debuglink = strndup(p, n)))
        ef->debuglink_crc = crc;
}

/*
 * Open path for reading if it is a regular file: -1 otherwise, with *why.
 * The paths come from the snapshot (a module's path, the executable's), so
 * they may name a FIFO, where a plain open() waits for a writer forever, or
 * a device: O_NONBLOCK makes the open return at once whatever the path is
 * (it changes nothing for a regular file), and the type is checked before
 * anything is read.
 */
int elffile_open_regular(const char *path, const char **why)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        *why = errno == ENOENT ? "not found" : "cannot be opened";
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        *why = "not a regular file";
        return -1;
    }
    return fd;
}

struct elffile *elffile_open(const char *path, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    elf_version(EV_CURRENT);
    int fd = elffile_open_regular(path, why);
    if (fd < 0)
        return NULL;
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (!elf || elf_kind(elf) != ELF_K_ELF || gelf_getclass(elf) == ELFCLASSNONE) {
        if (elf)
            elf_end(elf);
        close(fd);
        *why = "not an ELF file";
        return NULL;
    }
    struct elffile *ef = calloc(1, sizeof *ef);
    if (!ef || !(ef->path = strdup(path))) {
        free(ef);
        elf_end(elf);
        close(fd);
        *why = "out of memory";
        return NULL;
    }
    ef->elf = elf;
    /* A process may map hundreds of files; keep their contents (mapped), not
     * a descriptor each.  ELF_C_FDREAD makes libelf hold everything it
     * needs and let go of fd; if it cannot, fd is kept. */
    if (elf_cntl(elf, ELF_C_FDREAD) == 0) {
        close(fd);
        fd = -1;
    }
    ef->fd = fd;

    size_t shstrndx;
    int have_names = elf_getshdrstrndx(elf, &shstrndx) == 0;
    for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh))
            continue;
        if (sh.sh_type == SHT_NOTE && !ef->build_id_len)
            scan_notes(ef, elf_getdata(scn, NULL));
        if (sh.sh_type == SHT_SYMTAB && sh.sh_size >= sizeof(Elf64_Sym))
            ef->has_symtab = 1;
        if (sh.sh_type == SHT_DYNSYM && sh.sh_size >= sizeof(Elf64_Sym))
            ef->has_dynsym = 1;
        const char *name = have_names ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;
        if (!name)
            continue;
        if ((!strcmp(name, ".debug_info") || !strcmp(name, ".zdebug_info")) &&
            sh.sh_type != SHT_NOBITS && sh.sh_size > 0)
            ef->has_dwarf = 1;
        if (!strcmp(name, ".gnu_debuglink") && !ef->debuglink && sh.sh_type != SHT_NOBITS)
            read_debuglink(ef, scn);
    }
    if (!ef->build_id_len) {
        /* Sections stripped entirely: the loader's view still has PT_NOTE. */
        size_t nph = 0;
        if (elf_getphdrnum(elf, &nph) == 0) {
            for (size_t i = 0; i < nph && i < 4096 && !ef->build_id_len; i++) {
                GElf_Phdr ph;
                if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE)
                    continue;
                Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz,
                                                   ELF_T_NHDR);
                scan_notes(ef, d);
            }
        }
    }
    return ef;
}

void elffile_close(struct elffile *ef)
{
    if (!ef)
        return;
    elf_end(ef->elf);
    if (ef->fd >= 0)
        close(ef->fd);
    free(ef->debuglink);
    free(ef->path);
    free(ef);
}

int elffile_build_id_is(const struct elffile *ef, const uint8_t *id, uint32_t len)
{
    return len > 0 && ef->build_id_len == len && !memcmp(ef->build_id, id, len);
}

Elf_Scn *elffile_section(const struct elffile *ef, const char *name, GElf_Shdr *shdr)
{
    size_t shstrndx;
    if (elf_getshdrstrndx(ef->elf, &shstrndx) != 0)
        return NULL;
    for (Elf_Scn *scn = NULL; (scn = elf_nextscn(ef->elf, scn));) {
        if (!gelf_getshdr(scn, shdr))
            continue;
        const char *n = elf_strptr(ef->elf, shstrndx, shdr->sh_name);
        if (n && !strcmp(n, name))
            return scn;
    }
    return NULL;
}

/* CRC-32 as zlib computes it (reflected, polynomial 0xEDB88320), which is
 * what binutils writes into .gnu_debuglink. */
int elffile_crc32(const char *path, uint32_t *out)
{
    static uint32_t table[256];
    if (!table[1]) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    }
    const char *why;
    int fd = elffile_open_regular(path, &why);
    if (fd < 0)
        return -1;
    unsigned char buf[65536];
    uint32_t crc = 0xFFFFFFFFu;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++)
            crc = table[(crc ^ buf[i]) & 0xFF] ^ (crc >> 8);
    close(fd);
    if (n < 0)
        return -1;
    *out = crc ^ 0xFFFFFFFFu;
    return 0;
}

char *build_id_hex(char *buf, const uint8_t *id, uint32_t len)
{
    static const char hex[] = "0123456789abcdef";
    for (uint32_t i = 0; i < len; i++) {
        buf[2 * i] = hex[id[i] >> 4];
        buf[2 * i + 1] = hex[id[i] & 15];
    }
    buf[2 * len] = '\0';
    return buf;
}
