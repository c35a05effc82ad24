/*
 * Unit tests for util/byte-cursor.c: both byte orders written and read
 * back at every width, reads past the end refused without consuming
 * anything, and a length prefix that claims more bytes than there are.
 */
#include <check.h>
#include "tests/check-run.h"
#include <string.h>

#include "util/byte-cursor.h"

START_TEST(test_byte_order)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    static const uint8_t expect[] = {
        0xab,
        0x12, 0x34,
        0x12, 0x34, 0x56, 0x78,
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
        0x34, 0x12,
        0x78, 0x56, 0x34, 0x12,
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
        'x', 'y',
    };

    byte_put_u8(b, 0xab);
    byte_put_be16(b, 0x1234);
    byte_put_be32(b, 0x12345678);
    byte_put_be64(b, 0x0102030405060708ull);
    byte_put_le16(b, 0x1234);
    byte_put_le32(b, 0x12345678);
    byte_put_le64(b, 0x0102030405060708ull);
    byte_put_bytes(b, "xy", 2);
    byte_put_bytes(b, NULL, 0);
    ck_assert_uint_eq(b->len, sizeof(expect));
    ck_assert_mem_eq(b->data, expect, sizeof(expect));

    ck_assert_uint_eq(byte_load_be32(expect + 3), 0x12345678);
    ck_assert_uint_eq(byte_load_be64(expect + 7), 0x0102030405060708ull);
}
END_TEST

START_TEST(test_round_trip)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    ByteCursor c;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    const uint8_t *p;

    byte_put_u8(b, 0xff);
    byte_put_be16(b, 0xfffe);
    byte_put_be32(b, 0xfffffffd);
    byte_put_be64(b, UINT64_MAX - 2);
    byte_put_le16(b, 0x8001);
    byte_put_le32(b, 0x80000001);
    byte_put_le64(b, 0x8000000000000001ull);
    byte_put_bytes(b, "tail", 4);

    byte_cursor_init(&c, b->data, b->len);
    ck_assert_uint_eq(byte_cursor_remaining(&c), b->len);
    ck_assert(byte_cursor_get_u8(&c, &u8));
    ck_assert_uint_eq(u8, 0xff);
    ck_assert(byte_cursor_get_be16(&c, &u16));
    ck_assert_uint_eq(u16, 0xfffe);
    ck_assert(byte_cursor_get_be32(&c, &u32));
    ck_assert_uint_eq(u32, 0xfffffffd);
    ck_assert(byte_cursor_get_be64(&c, &u64));
    ck_assert(u64 == UINT64_MAX - 2);
    ck_assert(byte_cursor_get_le16(&c, &u16));
    ck_assert_uint_eq(u16, 0x8001);
    ck_assert(byte_cursor_get_le32(&c, &u32));
    ck_assert_uint_eq(u32, 0x80000001);
    ck_assert(byte_cursor_get_le64(&c, &u64));
    ck_assert(u64 == 0x8000000000000001ull);
    ck_assert(byte_cursor_get_bytes(&c, 4, &p));
    ck_assert_ptr_eq(p, b->data + b->len - 4);   /* in place, no copy */
    ck_assert_uint_eq(byte_cursor_remaining(&c), 0);
    /* Zero bytes are always there, even at the end. */
    ck_assert(byte_cursor_get_bytes(&c, 0, &p));
}
END_TEST

/* Every getter one byte short: refused, nothing consumed, output kept. */
START_TEST(test_over_read)
{
    static const uint8_t buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    ByteCursor c;
    uint8_t u8 = 42;
    uint16_t u16 = 42;
    uint32_t u32 = 42;
    uint64_t u64 = 42;
    const uint8_t *p = buf;

    byte_cursor_init(&c, buf, 0);
    ck_assert(!byte_cursor_get_u8(&c, &u8));
    ck_assert_uint_eq(u8, 42);

    byte_cursor_init(&c, buf, 1);
    ck_assert(!byte_cursor_get_be16(&c, &u16));
    ck_assert(!byte_cursor_get_le16(&c, &u16));
    ck_assert_uint_eq(u16, 42);
    ck_assert_uint_eq(byte_cursor_remaining(&c), 1);

    byte_cursor_init(&c, buf, 3);
    ck_assert(!byte_cursor_get_be32(&c, &u32));
    ck_assert(!byte_cursor_get_le32(&c, &u32));
    ck_assert_uint_eq(u32, 42);
    ck_assert_uint_eq(byte_cursor_remaining(&c), 3);

    byte_cursor_init(&c, buf, 7);
    ck_assert(!byte_cursor_get_be64(&c, &u64));
    ck_assert(!byte_cursor_get_le64(&c, &u64));
    ck_assert(!byte_cursor_get_bytes(&c, 8, &p));
    ck_assert(!byte_cursor_get_bytes(&c, SIZE_MAX, &p));
    ck_assert_uint_eq(u64, 42);
    ck_assert_ptr_eq(p, buf);
    ck_assert_uint_eq(byte_cursor_remaining(&c), 7);

    /* What is there can still be read after a refusal. */
    ck_assert(byte_cursor_get_be32(&c, &u32));
    ck_assert_uint_eq(u32, 0x01020304);
    ck_assert(!byte_cursor_get_be32(&c, &u32));
    ck_assert_uint_eq(byte_cursor_remaining(&c), 3);
}
END_TEST

/* A length prefix is only a claim: the bytes it announces must be there. */
START_TEST(test_lying_length)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    ByteCursor c;
    uint32_t len;
    const uint8_t *p = NULL;

    byte_put_be32(b, 1000);
    byte_put_bytes(b, "abc", 3);
    byte_cursor_init(&c, b->data, b->len);
    ck_assert(byte_cursor_get_be32(&c, &len));
    ck_assert_uint_eq(len, 1000);
    ck_assert(!byte_cursor_get_bytes(&c, len, &p));
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(byte_cursor_remaining(&c), 3);

    /* A length as large as size_t itself must not wrap the bound. */
    g_byte_array_set_size(b, 0);
    byte_put_le64(b, UINT64_MAX);
    byte_cursor_init(&c, b->data, b->len);
    ck_assert(byte_cursor_get_le32(&c, &len));
    ck_assert(!byte_cursor_get_bytes(&c, (size_t)UINT64_MAX, &p));
    ck_assert(!byte_cursor_get_bytes(&c, 5, &p));
    ck_assert(byte_cursor_get_bytes(&c, 4, &p));
    ck_assert_ptr_eq(p, b->data + 4);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("byte-cursor");
    TCase *tc = tcase_create("byte-cursor");

    tcase_add_test(tc, test_byte_order);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_over_read);
    tcase_add_test(tc, test_lying_length);
    suite_add_tcase(s, tc);
    return vmig_check_run(srunner_create(s));
}
