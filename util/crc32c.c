/*
 * CRC32C: see include/util/crc32c.h.
 */
#include "util/crc32c.h"

#include <glib.h>
#include <string.h>

#include "crc32c-math.h"

/* table[k][b]: the CRC of byte b followed by k zero bytes, so eight
 * bytes are folded with eight independent lookups (slicing-by-8). */
static uint32_t table[8][256];

/* Before main(), so no thread ever sees them half made (GLib's GOnce
 * would order it too, but ThreadSanitizer does not see inside GLib). */
static void __attribute__((constructor)) table_init(void)
{
    for (unsigned b = 0; b < 256; b++) {
        uint32_t c = b;

        for (int i = 0; i < 8; i++) {
            c = (c >> 1) ^ (CRC32C_POLY_REFLECTED & -(c & 1));
        }
        table[0][b] = c;
    }
    for (unsigned b = 0; b < 256; b++) {
        for (int k = 1; k < 8; k++) {
            table[k][b] = (table[k - 1][b] >> 8) ^
                          table[0][table[k - 1][b] & 0xff];
        }
    }
}

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    crc = ~crc;
    while (len >= 8) {
        uint64_t v;

        memcpy(&v, p, 8);
        v = GUINT64_FROM_LE(v) ^ crc;
        crc = table[7][v & 0xff] ^ table[6][(v >> 8) & 0xff] ^
              table[5][(v >> 16) & 0xff] ^ table[4][(v >> 24) & 0xff] ^
              table[3][(v >> 32) & 0xff] ^ table[2][(v >> 40) & 0xff] ^
              table[1][(v >> 48) & 0xff] ^ table[0][v >> 56];
        p += 8;
        len -= 8;
    }
    while (len--) {
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    }
    return ~crc;
}

#if defined(__x86_64__)

bool crc32c_hw_available(void)
{
    return __builtin_cpu_supports("sse4.2");
}

/*
 * The crc32 instruction takes three cycles but can start one per cycle:
 * three independent streams keep it busy.  Each block of 3 x LANE bytes
 * is three CRCs, joined by shifting the first two over the bytes that
 * follow them (crc32c_shift()).
 */
#define LANE 1024

static Crc32cShift shift_lane1, shift_lane2;   /* LANE, 2 x LANE bytes */

static void __attribute__((constructor)) shifts_init(void)
{
    crc32c_shift_init(&shift_lane1, crc32c_x_pow(8 * LANE));
    crc32c_shift_init(&shift_lane2, crc32c_x_pow(8 * 2 * LANE));
}

__attribute__((target("sse4.2")))
static uint64_t crc_words(uint64_t c, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v;

        memcpy(&v, p + i, 8);
        c = __builtin_ia32_crc32di(c, v);
    }
    return c;
}

__attribute__((target("sse4.2")))
uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint64_t c = ~crc;

    while (len && ((uintptr_t)p & 7)) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        len--;
    }
    while (len >= 3 * LANE) {
        uint64_t c1 = 0, c2 = 0;

        for (size_t i = 0; i < LANE; i += 8) {
            uint64_t a, b, d;

            memcpy(&a, p + i, 8);
            memcpy(&b, p + LANE + i, 8);
            memcpy(&d, p + 2 * LANE + i, 8);
            c = __builtin_ia32_crc32di(c, a);
            c1 = __builtin_ia32_crc32di(c1, b);
            c2 = __builtin_ia32_crc32di(c2, d);
        }
        c = crc32c_shift(&shift_lane2, (uint32_t)c) ^
            crc32c_shift(&shift_lane1, (uint32_t)c1) ^ (uint32_t)c2;
        p += 3 * LANE;
        len -= 3 * LANE;
    }
    c = crc_words(c, p, len & ~(size_t)7);
    p += len & ~(size_t)7;
    len &= 7;
    while (len--) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    }
    return ~(uint32_t)c;
}

#else

bool crc32c_hw_available(void)
{
    return false;
}

uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
    return crc32c_sw(crc, buf, len);
}

#endif

typedef uint32_t Crc32cFunc(uint32_t crc, const void *buf, size_t len);
typedef uint32_t Crc32cCopyFunc(uint32_t crc, void *dst, const void *src,
                                size_t len);

/* Copies and checksums a piece at a time, each CRC taken while the copy
 * is in the cache. */
static uint32_t copy_then_crc(uint32_t crc, void *dst, const void *src,
                              size_t len)
{
    enum { PIECE = 64 * 1024 };
    uint8_t *d = dst;
    const uint8_t *s = src;

    while (len) {
        size_t k = MIN(len, PIECE);

        memcpy(d, s, k);
        crc = crc32c(crc, d, k);
        d += k;
        s += k;
        len -= k;
    }
    return crc;
}

/* The fastest this CPU has: folding, the crc32 instruction, tables. */
static Crc32cFunc *impl;
static Crc32cCopyFunc *copy_impl;

static void __attribute__((constructor)) impl_init(void)
{
    bool clmul;

#if defined(__x86_64__)
    __builtin_cpu_init();   /* constructors may run before libgcc's */
#endif
    clmul = crc32c_clmul_available();

    impl = clmul ? crc32c_clmul
         : crc32c_hw_available() ? crc32c_hw : crc32c_sw;
    copy_impl = clmul ? crc32c_clmul_copy : copy_then_crc;
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
    return impl(crc, buf, len);
}

uint32_t crc32c_copy(uint32_t crc, void *dst, const void *src, size_t len)
{
    return copy_impl(crc, dst, src, len);
}
