/*
 * crc32c.c — CRC32C (Castagnoli), the checksum of every .hsnap header and
 * payload.
 *
 * Capture checksums every byte it writes and the reader every byte it
 * reads, so this sits on the hot path of both.  On x86_64 CPUs with SSE4.2
 * the crc32 instruction does 8 bytes per instruction; elsewhere a
 * slicing-by-8 table does 8 bytes per step.  Which one runs is decided once,
 * at load time, from CPUID.  Both give identical results (tests check the
 * standard check value, crc32c("123456789") == 0xE3069283).
 *
 * Convention: hs_crc32c(0, buf, len) is the CRC of buf, and
 * hs_crc32c(hs_crc32c(0, a, n), b, m) is the CRC of a followed by b.
 */
#include <stdint.h>
#include <string.h>

#include "encode.h"
#include "hsnap.h"

#define POLY 0x82F63B78u /* Castagnoli, bit-reflected */

static uint32_t table[8][256];
static int have_sse42;

__attribute__((constructor)) static void crc32c_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (POLY & (0u - (c & 1)));
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
#if defined(__x86_64__)
    __builtin_cpu_init();
    have_sse42 = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t crc_table(uint32_t c, const uint8_t *p, size_t len)
{
    while (len && ((uintptr_t)p & 7)) {
        c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
        len--;
    }
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8); /* little-endian host assumed, as for the whole format */
        v ^= c;
        c = table[7][v & 0xff] ^ table[6][(v >> 8) & 0xff] ^ table[5][(v >> 16) & 0xff] ^
            table[4][(v >> 24) & 0xff] ^ table[3][(v >> 32) & 0xff] ^ table[2][(v >> 40) & 0xff] ^
            table[1][(v >> 48) & 0xff] ^ table[0][v >> 56];
        p += 8;
        len -= 8;
    }
    while (len--)
        c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
    return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t c, const uint8_t *p,
                                                            size_t len)
{
    while (len && ((uintptr_t)p & 7)) {
        c = __builtin_ia32_crc32qi(c, *p++);
        len--;
    }
    uint64_t c64 = c;
    while (len >= 32) {
        uint64_t v[4];
        memcpy(v, p, 32);
        c64 = __builtin_ia32_crc32di(c64, v[0]);
        c64 = __builtin_ia32_crc32di(c64, v[1]);
        c64 = __builtin_ia32_crc32di(c64, v[2]);
        c64 = __builtin_ia32_crc32di(c64, v[3]);
        p += 32;
        len -= 32;
    }
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c64 = __builtin_ia32_crc32di(c64, v);
        p += 8;
        len -= 8;
    }
    c = (uint32_t)c64;
    while (len--)
        c = __builtin_ia32_crc32qi(c, *p++);
    return c;
}
#endif

uint32_t hs_crc32c_portable(uint32_t crc, const void *buf, size_t len)
{
    return ~crc_table(~crc, buf, len);
}

uint32_t hs_crc32c(uint32_t crc, const void *buf, size_t len)
{
    uint32_t c = ~crc;
#if defined(__x86_64__)
    if (have_sse42)
        return ~crc_sse42(c, buf, len);
#endif
    return ~crc_table(c, buf, len);
}
