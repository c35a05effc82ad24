/*
 * Arithmetic modulo the CRC32C polynomial: see util/crc32c-math.h.
 */
#include "crc32c-math.h"

/* @v * x mod P. */
static uint32_t times_x(uint32_t v)
{
    return (v >> 1) ^ (CRC32C_POLY_REFLECTED & -(v & 1));
}

uint32_t crc32c_mult(uint32_t a, uint32_t b)
{
    uint32_t m = 1u << 31, p = 0;

    for (;;) {
        if (a & m) {
            p ^= b;
            if (!(a & (m - 1))) {
                return p;
            }
        }
        m >>= 1;
        b = times_x(b);
    }
}

void crc32c_shift_init(Crc32cShift *s, uint32_t factor)
{
    for (unsigned k = 0; k < 4; k++) {
        for (uint32_t b = 0; b < 256; b++) {
            s->t[k][b] = crc32c_mult(factor, b << (8 * k));
        }
    }
}

/* By squaring: every process makes its constants before main(). */
uint32_t crc32c_x_pow(uint64_t n)
{
    uint32_t v = 1u << 31;          /* x^0 */
    uint32_t sq = 1u << 30;         /* x^1, x^2, x^4...: never 0 mod P */

    for (; n; n >>= 1) {
        if (n & 1) {
            v = crc32c_mult(sq, v);
        }
        sq = crc32c_mult(sq, sq);
    }
    return v;
}
