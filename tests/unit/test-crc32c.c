/*
 * Unit tests for util/crc32c.c and util/crc32c-clmul.c: known vectors,
 * chaining, and the folding, SSE4.2 and table-driven implementations
 * (and crc32c_copy()) agreeing on random buffers of every length up to
 * a few hundred bytes at every alignment, and on long ones around the
 * block sizes.
 */
#include <check.h>
#include "tests/check-run.h"
#include <string.h>

#include "util/crc32c.h"

typedef uint32_t Impl(uint32_t crc, const void *buf, size_t len);

/* RFC 3720 (iSCSI) appendix B.4 and the usual check value. */
static void check_vectors(Impl *f)
{
    uint8_t buf[32];

    ck_assert_uint_eq(f(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(f(0, "", 0), 0);
    memset(buf, 0, sizeof(buf));
    ck_assert_uint_eq(f(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, sizeof(buf));
    ck_assert_uint_eq(f(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++) {
        buf[i] = i;
    }
    ck_assert_uint_eq(f(0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++) {
        buf[i] = 31 - i;
    }
    ck_assert_uint_eq(f(0, buf, 32), 0x113FDB5Cu);
}

START_TEST(test_vectors_sw)
{
    check_vectors(crc32c_sw);
}
END_TEST

START_TEST(test_vectors_hw)
{
    if (!crc32c_hw_available()) {
        vmig_skip("this CPU has no SSE4.2");
    }
    check_vectors(crc32c_hw);
}
END_TEST

START_TEST(test_vectors_clmul)
{
    if (!crc32c_clmul_available()) {
        vmig_skip("this CPU has no AVX-512 VPCLMULQDQ");
    }
    check_vectors(crc32c_clmul);
}
END_TEST

START_TEST(test_vectors_dispatch)
{
    check_vectors(crc32c);
}
END_TEST

START_TEST(test_chaining)
{
    static const char s[] = "The quick brown fox jumps over the lazy dog";
    size_t n = strlen(s);

    for (size_t cut = 0; cut <= n; cut++) {
        ck_assert_uint_eq(crc32c(crc32c(0, s, cut), s + cut, n - cut),
                          crc32c(0, s, n));
    }
}
END_TEST

START_TEST(test_agree)
{
    enum { MAXLEN = 600, BIG = 3 * 1024 * 4 + 123 };
    g_autofree uint8_t *buf = g_malloc(MAXLEN + 16);
    g_autofree uint8_t *big = NULL;
    GRand *rand = g_rand_new_with_seed(11);

    if (!crc32c_hw_available()) {
        g_rand_free(rand);
        vmig_skip("this CPU has no SSE4.2");
    }
    for (size_t i = 0; i < MAXLEN + 16; i++) {
        buf[i] = g_rand_int(rand);
    }
    for (size_t align = 0; align < 16; align++) {
        for (size_t len = 0; len <= MAXLEN; len++) {
            uint32_t seed = g_rand_int(rand);

            ck_assert_uint_eq(crc32c_hw(seed, buf + align, len),
                              crc32c_sw(seed, buf + align, len));
        }
    }
    /* Long enough for the three-lane loop, around its block size. */
    big = g_malloc(BIG + 16);
    for (size_t i = 0; i < BIG + 16; i++) {
        big[i] = g_rand_int(rand);
    }
    for (size_t len = 3 * 1024 - 20; len <= BIG; len += 509) {
        for (size_t align = 0; align < 16; align += 5) {
            ck_assert_uint_eq(crc32c_hw(len, big + align, len),
                              crc32c_sw(len, big + align, len));
        }
    }
    g_rand_free(rand);
}
END_TEST

/* Random bytes, the same for every run. */
static uint8_t *random_bytes(GRand *rand, size_t n)
{
    uint8_t *p = g_malloc(n);

    for (size_t i = 0; i < n; i++) {
        p[i] = g_rand_int(rand);
    }
    return p;
}

/* Lengths around the folding's minimum and its 256-byte blocks, and a
 * few long ones, at several alignments of source and destination. */
START_TEST(test_clmul_agree)
{
    enum { BIG = 64 * 1024 + 777 };
    GRand *rand = g_rand_new_with_seed(12);
    g_autofree uint8_t *src = random_bytes(rand, BIG + 64);
    g_autofree uint8_t *dst = g_malloc(BIG + 64);

    if (!crc32c_clmul_available()) {
        g_rand_free(rand);
        vmig_skip("this CPU has no AVX-512 VPCLMULQDQ");
    }
    for (size_t len = 0; len <= BIG; len += len < 2100 ? 1 : 4093) {
        size_t sa = len % 64, da = (len / 7) % 64;
        uint32_t seed = g_rand_int(rand);
        uint32_t want = crc32c_sw(seed, src + sa, len);

        ck_assert_uint_eq(crc32c_clmul(seed, src + sa, len), want);
        memset(dst, 0x5a, BIG + 64);
        ck_assert_uint_eq(crc32c_clmul_copy(seed, dst + da, src + sa, len),
                          want);
        ck_assert_mem_eq(dst + da, src + sa, len);
        /* Not a byte more. */
        ck_assert_uint_eq(dst[da + len], 0x5a);
        if (da) {
            ck_assert_uint_eq(dst[da - 1], 0x5a);
        }
    }
    g_rand_free(rand);
}
END_TEST

/* crc32c_copy() with whatever this CPU has, over lengths that cross
 * its pieces. */
START_TEST(test_copy)
{
    enum { BIG = 3 * 64 * 1024 + 5 };
    GRand *rand = g_rand_new_with_seed(13);
    g_autofree uint8_t *src = random_bytes(rand, BIG);
    g_autofree uint8_t *dst = g_malloc(BIG);

    for (size_t len = 0; len <= BIG; len += 1 + len * 3) {
        ck_assert_uint_eq(crc32c_copy(len, dst, src, len),
                          crc32c_sw(len, src, len));
        ck_assert_mem_eq(dst, src, len);
    }
    g_rand_free(rand);
}
END_TEST

/* One flipped bit anywhere changes the CRC (a CRC catches every
 * single-bit error). */
START_TEST(test_single_bit)
{
    uint8_t buf[256];
    uint32_t want;

    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = i * 7;
    }
    want = crc32c(0, buf, sizeof(buf));
    for (size_t bit = 0; bit < sizeof(buf) * 8; bit++) {
        buf[bit / 8] ^= 1u << (bit % 8);
        ck_assert_uint_ne(crc32c(0, buf, sizeof(buf)), want);
        buf[bit / 8] ^= 1u << (bit % 8);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crc32c");
    TCase *tc = tcase_create("crc32c");

    tcase_add_test(tc, test_vectors_sw);
    tcase_add_test(tc, test_vectors_hw);
    tcase_add_test(tc, test_vectors_clmul);
    tcase_add_test(tc, test_vectors_dispatch);
    tcase_add_test(tc, test_chaining);
    tcase_add_test(tc, test_agree);
    tcase_add_test(tc, test_clmul_agree);
    tcase_add_test(tc, test_copy);
    tcase_add_test(tc, test_single_bit);
    suite_add_tcase(s, tc);
    return vmig_check_run(srunner_create(s));
}
