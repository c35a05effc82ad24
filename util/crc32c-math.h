/*
 * Arithmetic modulo the CRC32C polynomial, for the fast implementations
 * in util/crc32c.c and util/crc32c-clmul.c: they compute CRCs of pieces
 * in parallel and join them by multiplying by x^n (shifting a CRC over
 * n bits that follow).
 *
 * Polynomials of degree < 32 are held reflected, as the CRC itself: bit
 * 31 is x^0, bit 0 is x^31.
 */
#ifndef VMIG_UTIL_CRC32C_MATH_H
#define VMIG_UTIL_CRC32C_MATH_H

#include <stdint.h>

#define CRC32C_POLY_REFLECTED 0x82F63B78u

/* x^@n mod P. */
uint32_t crc32c_x_pow(uint64_t n);
/* @a * @b mod P, @a non-zero.  Slow: one step per bit of @a. */
uint32_t crc32c_mult(uint32_t a, uint32_t b);

/*
 * Multiplying by one constant, byte by byte from tables: a product is
 * linear in each factor, so it is the xor of the four bytes' products.
 * No branches, unlike crc32c_mult(), whose data-dependent ones cost
 * more than the crc32 instructions of a 3 KiB block.
 */
typedef struct Crc32cShift {
    uint32_t t[4][256];
} Crc32cShift;

void crc32c_shift_init(Crc32cShift *s, uint32_t factor);

static inline uint32_t crc32c_shift(const Crc32cShift *s, uint32_t v)
{
    return s->t[0][v & 0xff] ^ s->t[1][(v >> 8) & 0xff] ^
           s->t[2][(v >> 16) & 0xff] ^ s->t[3][v >> 24];
}

#endif
