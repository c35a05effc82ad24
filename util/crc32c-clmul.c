/*
 * CRC32C by folding with carry-less multiplication (AVX-512 VPCLMULQDQ),
 * optionally copying the bytes in the same pass: see include/util/crc32c.h.
 *
 * Why: the crc32 instruction does 8 bytes a cycle at best, so on a
 * loaded two-CPU host the record checksums took as much time as the
 * kernel's copies of the data.  Folding does 64 bytes per two
 * multiplications, four blocks at a time, and is bound by memory
 * rather than by the instruction; the copy rides on the same loads.
 *
 * The idea (the same as any CLMUL CRC): the message, as a polynomial,
 * only matters modulo P, so a 128-bit piece A that sits D bits before
 * the piece B can be replaced by A * x^D mod P added into B.  Four
 * 512-bit accumulators hold the last 256 bytes; after the last block
 * they are a 256-byte message with the same CRC as everything folded
 * (leading zeroes do not change a CRC started from 0), which the crc32
 * instruction finishes.
 */
#include "util/crc32c.h"

#include <string.h>

#include "crc32c-math.h"

#if defined(__x86_64__)

#include <immintrin.h>

/* Fold distance: four 64-byte accumulators. */
#define BLOCK 256
/* Below this the final 256-byte reduction costs more than it saves. */
#define FOLD_MIN 1024
/* Read ahead this far: guest memory is rarely in the cache, and the
 * hardware prefetcher stops at each 4 KiB page (measured: a quarter to
 * a third faster from memory, with prefetching a page ahead). */
#define PREFETCH 4096

/*
 * A 128-bit piece, loaded little-endian, holds x^127 (first bit) down to
 * x^0 (last bit): its low 64 bits H are the high degrees.  A * x^D is
 * H * x^(D+64) + L * x^D, and reduced constants keep it within 128 bits.
 * clmul of two such reflected 64-bit values gives their product times
 * x, hence one power less in each constant; a constant of degree < 32
 * sits in the top half of its 64 bits.
 */
static uint64_t fold_lo, fold_hi;

static void __attribute__((constructor)) fold_init(void)
{
    fold_lo = (uint64_t)crc32c_x_pow(8 * BLOCK + 64 - 1) << 32;
    fold_hi = (uint64_t)crc32c_x_pow(8 * BLOCK - 1) << 32;
}

bool crc32c_clmul_available(void)
{
    return __builtin_cpu_supports("sse4.2") &&
           __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("vpclmulqdq");
}

#define FOLD_TARGET __attribute__((target("avx512f,vpclmulqdq")))

FOLD_TARGET
static inline __m512i fold(__m512i acc, __m512i k, __m512i data)
{
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(acc, k, 0x00),
                                     _mm512_clmulepi64_epi128(acc, k, 0x11),
                                     data, 0x96);   /* a ^ b ^ c */
}

/*
 * The raw CRC (no inversions) @state continued over @n bytes of @src (a
 * multiple of BLOCK, at least one), which also go to @dst unless NULL.
 * Returns the CRC in crc32c()'s convention.
 */
FOLD_TARGET
static uint32_t fold_blocks(uint32_t state, uint8_t *dst, const uint8_t *src,
                            size_t n)
{
    const __m512i k = _mm512_broadcast_i32x4(_mm_set_epi64x(fold_hi,
                                                            fold_lo));
    __m512i x[4];
    uint8_t rest[BLOCK] __attribute__((aligned(64)));

    for (int j = 0; j < 4; j++) {
        x[j] = _mm512_loadu_si512(src + 64 * j);
        if (dst) {
            _mm512_storeu_si512(dst + 64 * j, x[j]);
        }
    }
    /* A CRC's running state is xored into the bytes that follow it. */
    x[0] = _mm512_xor_si512(x[0], _mm512_maskz_set1_epi32(1, state));
    for (size_t i = BLOCK; i < n; i += BLOCK) {
        for (int j = 0; j < 4; j++) {
            __m512i d = _mm512_loadu_si512(src + i + 64 * j);

            /* Past the end too: a prefetch never faults. */
            _mm_prefetch((const char *)src + i + 64 * j + PREFETCH,
                         _MM_HINT_T0);

            if (dst) {
                _mm512_storeu_si512(dst + i + 64 * j, d);
            }
            x[j] = fold(x[j], k, d);
        }
    }
    for (int j = 0; j < 4; j++) {
        _mm512_store_si512(rest + 64 * j, x[j]);
    }
    return crc32c_hw(~0u, rest, BLOCK);     /* from raw state 0 */
}

/* crc32c_clmul_copy(), or crc32c_clmul() when @dst is NULL. */
static uint32_t clmul(uint32_t crc, void *dst, const void *src, size_t len)
{
    size_t n = len >= FOLD_MIN ? len & ~(size_t)(BLOCK - 1) : 0;

    if (n) {
        crc = fold_blocks(~crc, dst, src, n);
    }
    if (!dst) {
        return crc32c_hw(crc, (const uint8_t *)src + n, len - n);
    }
    /* The CRC is of the copy: @src may be changing. */
    memcpy((uint8_t *)dst + n, (const uint8_t *)src + n, len - n);
    return crc32c_hw(crc, (uint8_t *)dst + n, len - n);
}

uint32_t crc32c_clmul_copy(uint32_t crc, void *dst, const void *src,
                           size_t len)
{
    return clmul(crc, dst, src, len);
}

uint32_t crc32c_clmul(uint32_t crc, const void *buf, size_t len)
{
    return clmul(crc, NULL, buf, len);
}

#else

bool crc32c_clmul_available(void)
{
    return false;
}

uint32_t crc32c_clmul_copy(uint32_t crc, void *dst, const void *src,
                           size_t len)
{
    memcpy(dst, src, len);
    return crc32c_sw(crc, dst, len);     /* never called: not available */
}

uint32_t crc32c_clmul(uint32_t crc, const void *buf, size_t len)
{
    return crc32c_sw(crc, buf, len);
}

#endif
