/*
 * Unit tests for the source's postcopy requests (migration/engine/
 * postcopy.c): every PAGE_REQUEST checked against the layout before it
 * is queued, the queue's cap, its order and its wait; and which RAM
 * blocks the destination can serve in postcopy
 * (migration/ram/postcopy-ram.c), and POSTCOPY_DISCARD checked against
 * the layout before any page is dropped.
 */
#include <check.h>
#include "tests/check-run.h"

#include "migration/engine/postcopy.h"
#include "migration/ram/postcopy-ram.h"
#include "migration/wire/wire.h"
#include "system/ram.h"

#define BLOCK_SIZE (1024 * 1024)

static GPtrArray *two_blocks(void)
{
    GPtrArray *blocks = g_ptr_array_new_with_free_func(
        (GDestroyNotify)ram_block_free);

    g_ptr_array_add(blocks, ram_block_new_anon("a", BLOCK_SIZE, false,
                                               &error_abort));
    g_ptr_array_add(blocks, ram_block_new_anon("b", 2 * BLOCK_SIZE, false,
                                               &error_abort));
    return blocks;
}

static void refused(PostcopyRequests *q, uint32_t block, uint64_t offset,
                    uint64_t length, const char *want)
{
    WirePageRequest req = { block, offset, length };
    Error *err = NULL;

    ck_assert(!postcopy_requests_push(q, &req, &err));
    ck_assert_msg(strstr(error_get_pretty(err), want), "%s",
                  error_get_pretty(err));
    error_free(err);
}

START_TEST(test_requests_checked)
{
    g_autoptr(GPtrArray) blocks = two_blocks();
    PostcopyRequests *q = postcopy_requests_new(blocks);
    WirePageRequest req = { 1, 2 * BLOCK_SIZE - 4096, 4096 }, out;

    ck_assert(postcopy_requests_push(q, &req, &error_abort));
    ck_assert(postcopy_requests_pop(q, &out));
    ck_assert(out.block == 1 && out.offset == req.offset &&
              out.length == 4096);
    ck_assert(!postcopy_requests_pop(q, &out));

    refused(q, 2, 0, 4096, "RAM block 2, but HELLO listed 2");
    refused(q, UINT32_MAX, 0, 4096, "HELLO listed 2");
    /* Past the end, straddling it, far beyond it (no wrap). */
    refused(q, 0, BLOCK_SIZE, 4096, "of RAM block 'a'");
    refused(q, 0, BLOCK_SIZE - 4096, 8192, "of RAM block 'a'");
    refused(q, 0, UINT64_MAX - 4095, 4096, "of RAM block 'a'");
    /* Not whole pages, too many at once. */
    refused(q, 0, 100, 4096, "whole pages");
    refused(q, 0, 0, 100, "whole pages");
    refused(q, 1, 0, (WIRE_RAM_PAGES_MAX + 1) * 4096ull, "at most 1024");
    /* Refused requests are not counted. */
    ck_assert_uint_eq(postcopy_requests_total(q), 1);
    postcopy_requests_free(q);
}
END_TEST

START_TEST(test_requests_capped)
{
    g_autoptr(GPtrArray) blocks = two_blocks();
    PostcopyRequests *q = postcopy_requests_new(blocks);
    WirePageRequest req = { 0, 0, 4096 }, out;

    for (unsigned i = 0; i < POSTCOPY_REQUESTS_MAX; i++) {
        req.offset = (i % (BLOCK_SIZE / 4096)) * 4096ull;
        ck_assert(postcopy_requests_push(q, &req, &error_abort));
    }
    refused(q, 0, 0, 4096, "more than 4096 page requests outstanding");
    /* In order, and room again once one is served. */
    ck_assert(postcopy_requests_pop(q, &out));
    ck_assert(out.offset == 0);
    ck_assert(postcopy_requests_pop(q, &out));
    ck_assert(out.offset == 4096);
    ck_assert(postcopy_requests_push(q, &req, &error_abort));
    ck_assert_uint_eq(postcopy_requests_total(q), POSTCOPY_REQUESTS_MAX + 1);
    postcopy_requests_free(q);
}
END_TEST

START_TEST(test_requests_wait)
{
    g_autoptr(GPtrArray) blocks = two_blocks();
    PostcopyRequests *q = postcopy_requests_new(blocks);
    WirePageRequest req = { 0, 0, 4096 };

    /* Bounded: nothing queued, the deadline ends it. */
    ck_assert(!postcopy_requests_wait(q, g_get_monotonic_time() + 1000));
    ck_assert(postcopy_requests_push(q, &req, &error_abort));
    ck_assert(postcopy_requests_wait(q, g_get_monotonic_time() +
                                        G_USEC_PER_SEC * 60));
    /* The migration thread's pause with a preempt channel: a queued
     * request does not end it (the channel's thread takes it), the
     * deadline does... */
    postcopy_requests_sleep(q, g_get_monotonic_time() + 1000);
    ck_assert(postcopy_requests_pop(q, &req));
    /* ...and a kick, now and for every later wait (the end, a failure),
     * else this would take a minute. */
    postcopy_requests_kick(q);
    postcopy_requests_sleep(q, g_get_monotonic_time() +
                               G_USEC_PER_SEC * 60);
    ck_assert(!postcopy_requests_wait(q, g_get_monotonic_time() +
                                         G_USEC_PER_SEC * 60));
    postcopy_requests_free(q);
}
END_TEST

START_TEST(test_blocks_served)
{
    g_autoptr(GPtrArray) blocks = two_blocks();
    RAMBlock *shared = ram_block_new_anon("s", BLOCK_SIZE, true,
                                          &error_abort);
    Error *err = NULL;

    ck_assert(postcopy_dest_check_blocks(blocks, &error_abort));
    /* A block not sent (x-ignore-shared) is nothing to serve. */
    g_ptr_array_add(blocks, NULL);
    ck_assert(postcopy_dest_check_blocks(blocks, &error_abort));
    g_ptr_array_add(blocks, shared);
    ck_assert(!postcopy_dest_check_blocks(blocks, &err));
    ck_assert_str_eq(error_get_pretty(err), "RAM block 's' is shared "
                     "memory: postcopy supports anonymous private RAM "
                     "only in this vmig");
    error_free(err);
}
END_TEST

static void discard_refused(PostcopyDest *pd, uint32_t block,
                            uint64_t offset, uint64_t length,
                            const char *want)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    WireDiscardRange r = { offset, length };
    WireRecord rec;
    Error *err = NULL;

    wire_postcopy_discard_encode(b, block, &r, 1, &error_abort);
    ck_assert(wire_record_decode(b->data, b->len, &rec, &error_abort) ==
              WIRE_OK);
    ck_assert(!postcopy_dest_discard(pd, rec.body, rec.len, &err));
    ck_assert_msg(strstr(error_get_pretty(err), want), "%s",
                  error_get_pretty(err));
    error_free(err);
}

START_TEST(test_discard_checked)
{
    g_autoptr(GPtrArray) blocks = two_blocks();
    g_autoptr(GByteArray) b = g_byte_array_new();
    WireDiscardRange r[] = { { 0, 8192 }, { BLOCK_SIZE - 4096, 4096 } };
    RAMBlock *a = g_ptr_array_index(blocks, 0);
    RamLoader rl;
    PostcopyDest *pd;
    WireRecord rec;

    ram_loader_init(&rl, blocks);
    pd = postcopy_dest_new(&rl, false);
    /* Checked against the layout before any page is dropped. */
    memset(a->host, 0xaa, BLOCK_SIZE);
    discard_refused(pd, 2, 0, 4096, "block 2 is not migrated");
    discard_refused(pd, 0, BLOCK_SIZE, 4096, "RAM block 'a'");
    discard_refused(pd, 0, BLOCK_SIZE - 4096, 8192, "RAM block 'a'");
    discard_refused(pd, 0, UINT64_MAX - 8191, 4096, "RAM block 'a'");
    discard_refused(pd, 0, 100, 4096, "is not whole pages");
    ck_assert_uint_eq(postcopy_dest_pending(pd), 0);
    ck_assert_uint_eq(a->host[0], 0xaa);

    /* Dropped (anonymous memory reads zero again) and pending. */
    wire_postcopy_discard_encode(b, 0, r, 2, &error_abort);
    ck_assert(wire_record_decode(b->data, b->len, &rec, &error_abort) ==
              WIRE_OK);
    ck_assert(postcopy_dest_discard(pd, rec.body, rec.len, &error_abort));
    ck_assert_uint_eq(postcopy_dest_pending(pd), 3);
    ck_assert_uint_eq(a->host[0], 0);
    ck_assert_uint_eq(a->host[8191], 0);
    ck_assert_uint_eq(a->host[8192], 0xaa);
    ck_assert_uint_eq(a->host[BLOCK_SIZE - 1], 0);
    /* A page discarded twice is pending once. */
    ck_assert(postcopy_dest_discard(pd, rec.body, rec.len, &error_abort));
    ck_assert_uint_eq(postcopy_dest_pending(pd), 3);
    postcopy_dest_free(pd);
    ram_loader_destroy(&rl);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("migration-postcopy");
    TCase *tc = tcase_create("migration-postcopy");
    SRunner *sr;

    tcase_add_test(tc, test_requests_checked);
    tcase_add_test(tc, test_requests_capped);
    tcase_add_test(tc, test_requests_wait);
    tcase_add_test(tc, test_blocks_served);
    tcase_add_test(tc, test_discard_checked);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
