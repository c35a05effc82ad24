/*
 * CRC32C (Castagnoli: polynomial 0x1EDC6F41, reflected 0x82F63B78,
 * initial value and final xor 0xFFFFFFFF), the checksum of migration
 * records and files (docs/devel/migration-protocol.md, "Checksums").
 *
 * crc32c() uses the SSE4.2 crc32 instruction where the CPU has it
 * (checked once at run time, so the build needs no -msse4.2) and a
 * table-driven slicing-by-8 loop elsewhere.  Both give the same value;
 * the two are exported for the unit test and the benchmark to compare.
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

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);
/* Whether crc32c_hw() may be called: the CPU has SSE4.2. */
bool crc32c_hw_available(void);
uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len);

#endif
