/*
 * Unit tests for the gathering of huge pages during postcopy
 * (migration/ram/postcopy-huge.c): a huge page is handed over once,
 * when its last piece comes, in whatever order and however often the
 * pieces come, with zero pieces zero; pages gathered side by side stay
 * apart; a fault's page is the huge page's first, and its requests
 * cover the huge page in pieces a source takes.
 */
#include <check.h>
#include "tests/check-run.h"

#include <string.h>

#include "migration/ram/postcopy-huge.h"
#include "system/ram.h"

#define HUGE (2 * 1024 * 1024)
#define PIECES (HUGE / GUEST_PAGE_SIZE)

/* A piece's content: its index in every byte (0 marks a zero piece). */
static const uint8_t *piece(uint8_t *buf, uint64_t i)
{
    memset(buf, (int)(i % 255) + 1, GUEST_PAGE_SIZE);
    return buf;
}

START_TEST(test_whole_once)
{
    HugeAssembler *ha = huge_assembler_new();
    static uint8_t key[1];
    uint8_t data[GUEST_PAGE_SIZE];
    uint8_t *whole = NULL;

    /* Backwards, every third piece zero, piece 7 twice. */
    for (int64_t i = PIECES - 1; i >= 0; i--) {
        ck_assert_ptr_null(whole);
        if (i == 7) {
            ck_assert_ptr_null(huge_assembler_add(ha, key, HUGE, 7 *
                                                  GUEST_PAGE_SIZE,
                                                  piece(data, 99)));
            ck_assert_uint_eq(huge_assembler_in_flight(ha), 1);
        }
        whole = huge_assembler_add(ha, key, HUGE, i * GUEST_PAGE_SIZE,
                                   i % 3 ? piece(data, i) : NULL);
    }
    ck_assert_ptr_nonnull(whole);
    ck_assert_uint_eq(huge_assembler_in_flight(ha), 0);
    for (uint64_t i = 0; i < PIECES; i++) {
        uint8_t want = i % 3 ? (uint8_t)(i % 255 + 1) : 0;

        ck_assert_uint_eq(whole[i * GUEST_PAGE_SIZE], want);
        ck_assert_uint_eq(whole[(i + 1) * GUEST_PAGE_SIZE - 1], want);
    }
    huge_assembler_buffer_free(whole, HUGE);
    huge_assembler_free(ha);
}
END_TEST

START_TEST(test_pages_apart)
{
    HugeAssembler *ha = huge_assembler_new();
    static uint8_t keys[2];
    uint8_t data[GUEST_PAGE_SIZE];
    uint8_t *whole[2] = { NULL, NULL };

    /* Interleaved, as two channels bring them. */
    for (uint64_t i = 0; i < PIECES; i++) {
        for (int k = 0; k < 2; k++) {
            ck_assert_ptr_null(whole[k]);
            whole[k] = huge_assembler_add(ha, &keys[k], HUGE,
                                          i * GUEST_PAGE_SIZE,
                                          piece(data, i + k));
        }
        ck_assert_uint_eq(huge_assembler_in_flight(ha),
                          i + 1 < PIECES ? 2 : 0);
    }
    for (int k = 0; k < 2; k++) {
        ck_assert_uint_eq(whole[k][0], 1 + k);
        ck_assert_uint_eq(whole[k][HUGE - 1], (PIECES - 1 + k) % 255 + 1);
        huge_assembler_buffer_free(whole[k], HUGE);
    }
    huge_assembler_free(ha);
}
END_TEST

START_TEST(test_unfinished_freed)
{
    HugeAssembler *ha = huge_assembler_new();
    static uint8_t key[1];
    uint8_t data[GUEST_PAGE_SIZE];

    /* A failed migration leaves pages begun: freed with the rest
     * (ASan checks). */
    ck_assert_ptr_null(huge_assembler_add(ha, key, HUGE, 0,
                                          piece(data, 0)));
    huge_assembler_free(ha);
}
END_TEST

START_TEST(test_page_first)
{
    ck_assert_uint_eq(huge_page_first(0, HUGE), 0);
    ck_assert_uint_eq(huge_page_first(PIECES - 1, HUGE), 0);
    ck_assert_uint_eq(huge_page_first(PIECES, HUGE), PIECES);
    ck_assert_uint_eq(huge_page_first(3 * PIECES + 17, HUGE), 3 * PIECES);
    /* 1 GiB pages; 4 KiB pages are their own. */
    ck_assert_uint_eq(huge_page_first(262144 + 5, 1ull << 30), 262144);
    ck_assert_uint_eq(huge_page_first(12345, GUEST_PAGE_SIZE), 12345);
}
END_TEST

START_TEST(test_requests)
{
    const uint64_t gib = 1ull << 30, chunk = 1024 * GUEST_PAGE_SIZE;
    uint64_t off, len, i, next;

    /* A small page and a 2 MiB page: one request each, from @first. */
    ck_assert(huge_page_request(7, GUEST_PAGE_SIZE, 0, &off, &len));
    ck_assert_uint_eq(off, 7 * GUEST_PAGE_SIZE);
    ck_assert_uint_eq(len, GUEST_PAGE_SIZE);
    ck_assert(!huge_page_request(7, GUEST_PAGE_SIZE, 1, &off, &len));
    ck_assert(huge_page_request(PIECES, HUGE, 0, &off, &len));
    ck_assert_uint_eq(off, HUGE);
    ck_assert_uint_eq(len, HUGE);
    ck_assert(!huge_page_request(PIECES, HUGE, 1, &off, &len));
    /* A 1 GiB page: record-sized requests, end to end, covering it. */
    next = gib;
    for (i = 0; huge_page_request(gib / GUEST_PAGE_SIZE, gib, i, &off,
                                  &len); i++) {
        ck_assert_uint_eq(off, next);
        ck_assert_uint_eq(len, chunk);
        next += len;
    }
    ck_assert_uint_eq(i, gib / chunk);
    ck_assert_uint_eq(next, 2 * gib);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("postcopy-huge");
    TCase *tc = tcase_create("postcopy-huge");
    SRunner *sr;

    tcase_add_test(tc, test_whole_once);
    tcase_add_test(tc, test_pages_apart);
    tcase_add_test(tc, test_unfinished_freed);
    tcase_add_test(tc, test_page_first);
    tcase_add_test(tc, test_requests);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
