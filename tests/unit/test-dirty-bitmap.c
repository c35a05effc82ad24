/*
 * Unit tests for the migration's dirty bitmap (migration/ram/
 * dirty-bitmap.c): walking and clearing it as precopy does, filling it
 * from the dirty log at each sync, with both backends, the first pass's
 * bitmap with every page dirty, and the counts.  The guest RAM is
 * dirty-fixture.c's.
 */
#include <check.h>
#include "tests/check-run.h"
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dirty-fixture.h"
#include "migration/ram/dirty-bitmap.h"
#include "system/ram.h"

/* Starts backend @backend, every bit clear; NULL (and a TAP comment) if
 * the kernel refuses the kernel backend. */
static DirtyBitmap *start(int backend)
{
    Error *err = NULL;
    DirtyBitmap *t = dirty_bitmap_start(backend_modes[backend], &err);

    if (dirty_fixture_skip(backend, err)) {
        return NULL;
    }
    ck_assert_int_eq(dirty_log_backend(dirty_bitmap_log(t)),
                     backend_modes[backend]);
    ck_assert_ptr_eq(dirty_log_active(), dirty_bitmap_log(t));
    ck_assert_uint_eq(dirty_bitmap_dirty_pages(t), 0);
    return t;
}

/*
 * Every dirty page, by walking each block with next_dirty() and clearing
 * it with test_and_clear(), as precopy does; checks the counts on the way.
 * Returns a sorted array of guest page numbers.
 */
static GArray *take_dirty(DirtyBitmap *t)
{
    GArray *got = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    uint64_t total = dirty_bitmap_dirty_pages(t);

    for (int i = 0; i < N_BLOCKS; i++) {
        RAMBlock *b = blocks[i];
        uint64_t n = dirty_bitmap_block_dirty_pages(t, b), seen = 0;

        for (uint64_t p = dirty_bitmap_next_dirty(t, b, 0);
             p < block_pages(b); p = dirty_bitmap_next_dirty(t, b, p + 1)) {
            uint64_t g = gpn(b, p);

            /* Not ck_assert() per page: far too slow in the loop test. */
            if (!dirty_bitmap_is_dirty(t, b, p) ||
                !dirty_bitmap_test_and_clear(t, b, p) ||
                dirty_bitmap_is_dirty(t, b, p) ||
                dirty_bitmap_test_and_clear(t, b, p)) {
                ck_abort_msg("block '%s' page %" PRIu64 ": next_dirty, "
                             "is_dirty and test_and_clear disagree",
                             b->idstr, p);
            }
            g_array_append_val(got, g);
            seen++;
        }
        ck_assert_uint_eq(seen, n);
        ck_assert_uint_eq(dirty_bitmap_block_dirty_pages(t, b), 0);
        ck_assert_uint_eq(dirty_bitmap_next_dirty(t, b, 0), block_pages(b));
    }
    ck_assert_uint_eq(got->len, total);
    ck_assert_uint_eq(dirty_bitmap_dirty_pages(t), 0);
    return got;
}

/* Syncs and checks that exactly @want (guest pages, any order) are
 * reported, then clears them. */
static void sync_expect(DirtyBitmap *t, const uint64_t *want, size_t n)
{
    g_autoptr(GArray) w = page_set(want, n);
    g_autoptr(GArray) got = NULL;
    uint64_t syncs = dirty_bitmap_sync_count(t);

    ck_assert(dirty_bitmap_sync(t, &error_abort));
    ck_assert_uint_eq(dirty_bitmap_sync_count(t), syncs + 1);
    ck_assert_uint_eq(dirty_bitmap_last_sync_pages(t), w->len);
    got = take_dirty(t);
    assert_same_pages(got, w);
}

/* A sync sets the bits of exactly the pages written, in every block and
 * across the software log's word edges; they stay until taken. */
START_TEST(test_sync_sets_written)
{
    DirtyBitmap *t = start(_i);
    uint64_t want[] = {
        gpn(blocks[0], 0), gpn(blocks[0], 63), gpn(blocks[0], 64),
        gpn(blocks[0], 1023), gpn(blocks[1], 0), gpn(blocks[1], 99),
        gpn(blocks[2], 511), gpn(blocks[3], 0), gpn(blocks[3], 259),
        gpn(blocks[4], 128),
    };

    if (!t) {
        return;
    }
    sync_expect(t, NULL, 0);
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
        uint64_t page;
        RAMBlock *b = block_of(want[i], &page);

        write_page(b, page, 1);
        write_page(b, page, 2);
    }
    sync_expect(t, want, G_N_ELEMENTS(want));
    sync_expect(t, NULL, 0);
    dirty_bitmap_stop(t);
    ck_assert_ptr_null(dirty_log_active());
}
END_TEST

/* Bits already set survive a sync; a page written again while its bit is
 * set is counted once. */
START_TEST(test_bits_accumulate)
{
    DirtyBitmap *t = start(_i);
    uint64_t want[2];
    g_autoptr(GArray) got = NULL;
    g_autoptr(GArray) w = NULL;

    if (!t) {
        return;
    }
    write_page(blocks[2], 10, 1);
    ck_assert(dirty_bitmap_sync(t, &error_abort));
    ck_assert_uint_eq(dirty_bitmap_last_sync_pages(t), 1);
    ck_assert_uint_eq(dirty_bitmap_dirty_pages(t), 1);

    write_page(blocks[2], 10, 2);
    write_page(blocks[1], 5, 2);
    ck_assert(dirty_bitmap_sync(t, &error_abort));
    ck_assert_uint_eq(dirty_bitmap_last_sync_pages(t), 2);
    ck_assert_uint_eq(dirty_bitmap_block_dirty_pages(t, blocks[2]), 1);
    ck_assert_uint_eq(dirty_bitmap_block_dirty_pages(t, blocks[1]), 1);
    ck_assert_uint_eq(dirty_bitmap_dirty_pages(t), 2);

    want[0] = gpn(blocks[2], 10);
    want[1] = gpn(blocks[1], 5);
    w = page_set(want, 2);
    got = take_dirty(t);
    assert_same_pages(got, w);
    sync_expect(t, NULL, 0);
    dirty_bitmap_stop(t);
}
END_TEST

/* set_all() for the first pass; stop/start starts clean. */
START_TEST(test_set_all_and_restart)
{
    DirtyBitmap *t = start(_i);
    uint64_t want[2];

    if (!t) {
        return;
    }
    dirty_bitmap_set_all(t);
    ck_assert_uint_eq(dirty_bitmap_dirty_pages(t), total_pages);
    for (int i = 0; i < N_BLOCKS; i++) {
        ck_assert_uint_eq(dirty_bitmap_block_dirty_pages(t, blocks[i]),
                          block_pages(blocks[i]));
        ck_assert_uint_eq(dirty_bitmap_next_dirty(t, blocks[i],
                                                   block_pages(blocks[i]) - 1),
                          block_pages(blocks[i]) - 1);
    }
    {
        g_autoptr(GArray) got = take_dirty(t);
        ck_assert_uint_eq(got->len, total_pages);
    }
    /* A bit the caller sets stays until taken; sync adds nothing. */
    dirty_bitmap_set_dirty(t, blocks[1], 42);
    ck_assert(dirty_bitmap_is_dirty(t, blocks[1], 42));
    ck_assert_uint_eq(dirty_bitmap_dirty_pages(t), 1);
    ck_assert(dirty_bitmap_sync(t, &error_abort));
    ck_assert_uint_eq(dirty_bitmap_last_sync_pages(t), 0);
    {
        g_autoptr(GArray) got = take_dirty(t);
        ck_assert_uint_eq(got->len, 1);
        ck_assert_uint_eq(g_array_index(got, uint64_t, 0),
                          gpn(blocks[1], 42));
    }

    write_page(blocks[0], 8, 1);
    dirty_bitmap_stop(t);

    /* Written while no tracker runs: not the new tracker's business. */
    write_page(blocks[2], 9, 1);
    t = start(_i);
    sync_expect(t, NULL, 0);
    write_page(blocks[3], 1, 1);
    write_page(blocks[4], 2, 1);
    want[0] = gpn(blocks[3], 1);
    want[1] = gpn(blocks[4], 2);
    sync_expect(t, want, 2);
    dirty_bitmap_stop(t);
}
END_TEST

/* The first pass's bitmap: every page dirty, the log armed as pages are
 * taken; what is written after a page was taken is reported, whichever
 * backend runs. */
START_TEST(test_start_all_dirty)
{
    Error *err = NULL;
    DirtyBitmap *t = dirty_bitmap_start_all_dirty(backend_modes[_i], NULL,
                                                  &err);
    uint64_t want[3];

    if (dirty_fixture_skip(_i, err)) {
        return;
    }
    ck_assert_int_eq(dirty_log_backend(dirty_bitmap_log(t)),
                     backend_modes[_i]);
    ck_assert_uint_eq(dirty_bitmap_dirty_pages(t), total_pages);
    /* Written before it was taken: dirty already, and a sync changes
     * nothing. */
    write_page(blocks[0], 900, 3);
    ck_assert(dirty_bitmap_sync(t, &error_abort));
    ck_assert_uint_eq(dirty_bitmap_dirty_pages(t), total_pages);
    {
        g_autoptr(GArray) got = take_dirty(t);
        ck_assert_uint_eq(got->len, total_pages);
    }
    sync_expect(t, NULL, 0);
    /* Taken (so armed), then written: reported, in every block. */
    write_page(blocks[0], 900, 4);
    write_page(blocks[1], 99, 4);
    blocks[2]->host[5 * GUEST_PAGE_SIZE] = 9;
    dirty_log_note_write(blocks[2]->offset + 5 * GUEST_PAGE_SIZE, 1);
    want[0] = gpn(blocks[0], 900);
    want[1] = gpn(blocks[1], 99);
    want[2] = gpn(blocks[2], 5);
    sync_expect(t, want, 3);
    dirty_bitmap_stop(t);
}
END_TEST

/* No guest RAM at all is not an error. */
START_TEST(test_no_ram)
{
    DirtyBitmap *t;

    for (int i = N_BLOCKS - 1; i >= 0; i--) {
        ram_block_unregister(blocks[i]);
    }
    t = start(_i);
    if (t) {
        dirty_bitmap_set_all(t);
        ck_assert(dirty_bitmap_sync(t, &error_abort));
        ck_assert_uint_eq(dirty_bitmap_dirty_pages(t), 0);
        dirty_bitmap_stop(t);
    }
    for (int i = 0; i < N_BLOCKS; i++) {
        ck_assert(ram_block_register(blocks[i], &error_abort));
    }
}
END_TEST

/*
 * A block larger than what one arming covers: the first pass arms it a
 * part at a time as it takes pages, in order as precopy does, and each
 * write to a page already taken is reported, however far in the block.
 */
START_TEST(test_first_pass_arms_as_it_goes)
{
    RAMBlock *big = ram_block_new_anon("big", 10 * MiB, false,
                                       &error_abort);
    uint64_t pages = block_pages(big), taken = 0;
    const uint64_t stops[] = { 3, 1030, 1500, 2100, pages };
    Error *err = NULL;
    DirtyBitmap *t;

    ck_assert(ram_block_register(big, &error_abort));
    t = dirty_bitmap_start_all_dirty(backend_modes[_i], NULL, &err);
    if (dirty_fixture_skip(_i, err)) {
        goto out;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(stops); i++) {
        uint64_t want[3];
        size_t n = 0;

        for (; taken < stops[i]; taken++) {
            ck_assert(dirty_bitmap_test_and_clear(t, big, taken));
        }
        /* The last page taken, one far behind it, and one not taken yet
         * (dirty already: the sync does not count it again). */
        write_page(big, taken - 1, 1);
        want[n++] = taken - 1;
        write_page(big, taken / 2, 1);
        want[n++] = taken / 2;
        if (taken < pages) {
            write_page(big, taken + 100, 1);
        }
        ck_assert(dirty_bitmap_sync(t, &error_abort));
        for (size_t j = 0; j < n; j++) {
            ck_assert_msg(dirty_bitmap_test_and_clear(t, big, want[j]),
                          "page %" PRIu64 " written after it was taken "
                          "(pass at %" PRIu64 ") was not reported", want[j],
                          taken);
        }
        ck_assert_uint_eq(dirty_bitmap_block_dirty_pages(t, big),
                          pages - taken);
    }
    dirty_bitmap_stop(t);

    /* Taken out of order, far ahead of what is armed: armed all the
     * same. */
    t = dirty_bitmap_start_all_dirty(backend_modes[_i], NULL, &error_abort);
    ck_assert(dirty_bitmap_test_and_clear(t, big, pages - 1));
    write_page(big, pages - 1, 2);
    ck_assert(dirty_bitmap_sync(t, &error_abort));
    ck_assert(dirty_bitmap_is_dirty(t, big, pages - 1));
    ck_assert_uint_eq(dirty_bitmap_last_sync_pages(t), 1);
    dirty_bitmap_stop(t);
out:
    ram_block_unregister(big);
    ram_block_free(big);
}
END_TEST

/* A bitmap needs the dirty log to itself. */
START_TEST(test_log_busy)
{
    DirtyLog *log = dirty_log_start(DIRTY_LOG_BACKEND_SOFTWARE, &error_abort);
    Error *err = NULL;

    ck_assert_ptr_null(dirty_bitmap_start(DIRTY_LOG_BACKEND_SOFTWARE, &err));
    ck_assert_str_eq(error_get_pretty(err),
                     "dirty page logging is already active");
    error_free(err);
    err = NULL;
    ck_assert_ptr_null(dirty_bitmap_start_all_dirty(
        DIRTY_LOG_BACKEND_SOFTWARE, NULL, &err));
    ck_assert_ptr_nonnull(err);
    error_free(err);
    ck_assert_ptr_eq(dirty_log_active(), log);
    dirty_log_stop(log);
    dirty_bitmap_stop(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dirty-bitmap");
    TCase *tc = tcase_create("bitmap");
    SRunner *sr;

    tcase_add_checked_fixture(tc, dirty_fixture_setup,
                              dirty_fixture_teardown);
    tcase_add_loop_test(tc, test_sync_sets_written, 0, N_BACKENDS);
    tcase_add_loop_test(tc, test_bits_accumulate, 0, N_BACKENDS);
    tcase_add_loop_test(tc, test_set_all_and_restart, 0, N_BACKENDS);
    tcase_add_loop_test(tc, test_start_all_dirty, 0, N_BACKENDS);
    tcase_add_loop_test(tc, test_first_pass_arms_as_it_goes, 0, N_BACKENDS);
    tcase_add_test(tc, test_log_busy);
    tcase_add_loop_test(tc, test_no_ram, 0, N_BACKENDS);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    /* Every test starts from a fresh process: guest RAM is global. */
    srunner_set_fork_status(sr, CK_FORK);
    return vmig_check_run(sr);
}
