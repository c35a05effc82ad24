/*
 * CRC32C (Castagnoli: polynomial 0x1EDC6F41, reflected 0x82F63B78,
 * initial value and final xor 0xFFFFFFFF), the checksum of migration
 * records and files (docs/devel/migration-protocol.md, "Checksums").
 *
 * crc32c() folds with AVX-512 carry-less multiplication where the CPU
 * has it (util/crc32c-clmul.c), else uses the SSE4.2 crc32 instruction,
 * else a table-driven slicing-by-8 loop (checked once at run time, so
 * the build needs no -m flags).  All give the same value; each is
 * exported for the unit test to compare.
 *
 * Chaining: crc32c(0, ...) is the CRC of its bytes; passing a CRC back in
 * continues it, so crc32c(crc32c(0, a, n), b, m) is the CRC of a then b.
 */
#ifndef VMIG_UTIL_CRC32C_H
#define VMIG_UTIL_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
/*
 * Copies @len bytes from @src to @dst (not overlapping) and returns the
 * CRC of what @dst received, continuing @crc, in one pass where it can:
 * for data that may change while it is read (a running guest's pages),
 * whose copy is to carry the CRC.
 */
uint32_t crc32c_copy(uint32_t crc, void *dst, const void *src, size_t len);

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);
/* Whether crc32c_hw() may be called: the CPU has SSE4.2. */
bool crc32c_hw_available(void);
uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len);
/* Whether crc32c_clmul*() may be called: AVX-512 VPCLMULQDQ and SSE4.2. */
bool crc32c_clmul_available(void);
uint32_t crc32c_clmul(uint32_t crc, const void *buf, size_t len);
uint32_t crc32c_clmul_copy(uint32_t crc, void *dst, const void *src,
                           size_t len);

#endif
