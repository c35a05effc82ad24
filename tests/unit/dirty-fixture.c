/*
 * Guest RAM for the dirty log and dirty bitmap tests.
 * See dirty-fixture.h.
 */
#include "dirty-fixture.h"

#include <check.h>
#include "tests/check-run.h"
#include "util/tsan.h"
#include <glib/gstdio.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const DirtyLogBackend backend_modes[N_BACKENDS] = {
    DIRTY_LOG_BACKEND_UFFD_WP, DIRTY_LOG_BACKEND_SOFTWARE,
};

RAMBlock *blocks[N_BLOCKS];
char *tmpdir;
uint64_t total_pages;

void dirty_fixture_setup(void)
{
    tmpdir = g_dir_make_tmp("test-dirty-XXXXXX", NULL);
    ck_assert_ptr_nonnull(tmpdir);
    /* 100 pages: the next block starts in the middle of a log word. */
    blocks[0] = ram_block_new_anon("anon", 4 * MiB, false, &error_abort);
    blocks[1] = ram_block_new_anon("odd", 100 * 4 * KiB, false,
                                   &error_abort);
    blocks[2] = ram_block_new_memfd("memfd", 2 * MiB, true, false,
                                    &error_abort);
    blocks[3] = ram_block_new_anon("anon-shared", 260 * 4 * KiB, true,
                                   &error_abort);
    blocks[4] = ram_block_new_file("file", tmpdir, 1 * MiB, true,
                                   &error_abort);
    total_pages = 0;
    for (int i = 0; i < N_BLOCKS; i++) {
        ck_assert(ram_block_register(blocks[i], &error_abort));
        total_pages += blocks[i]->size / GUEST_PAGE_SIZE;
    }
}

void dirty_fixture_teardown(void)
{
    for (int i = N_BLOCKS - 1; i >= 0; i--) {
        ram_block_unregister(blocks[i]);
        ram_block_free(blocks[i]);
    }
    g_rmdir(tmpdir);
    g_free(tmpdir);
}

bool dirty_fixture_skip(int backend, Error *err)
{
    if (!err) {
        return false;
    }
    ck_assert_int_eq(backend, BACKEND_KERNEL);
    /* No teardown after a skip: the directory goes now (its file was
     * unlinked when mapped). */
    g_rmdir(tmpdir);
    vmig_skip("%s: %s", DirtyLogBackend_str(backend_modes[backend]),
              error_get_pretty(err));
    return true;
}

uint64_t block_pages(const RAMBlock *b)
{
    return b->size / GUEST_PAGE_SIZE;
}

uint64_t gpn(const RAMBlock *b, uint64_t page)
{
    return b->offset / GUEST_PAGE_SIZE + page;
}

RAMBlock *block_of(uint64_t guest_page, uint64_t *page)
{
    for (int i = 0; i < N_BLOCKS; i++) {
        uint64_t first = gpn(blocks[i], 0);
        if (guest_page >= first &&
            guest_page < first + block_pages(blocks[i])) {
            *page = guest_page - first;
            return blocks[i];
        }
    }
    ck_abort_msg("guest page %" PRIu64 " is in no block", guest_page);
    return NULL;
}

void write_page(RAMBlock *b, uint64_t page, uint8_t val)
{
    /* A guest store, which TSan does not check (system/workload.c). */
    tsan_ignore_begin();
    memset(b->host + page * GUEST_PAGE_SIZE, val, GUEST_PAGE_SIZE);
    tsan_ignore_end();
    dirty_log_note_write(b->offset + page * GUEST_PAGE_SIZE,
                         GUEST_PAGE_SIZE);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

GArray *page_set(const uint64_t *pages, size_t n)
{
    GArray *a = g_array_new(FALSE, FALSE, sizeof(uint64_t));

    g_array_append_vals(a, pages, n);
    g_array_sort(a, cmp_u64);
    for (guint i = 1; i < a->len; i++) {
        if (g_array_index(a, uint64_t, i) ==
            g_array_index(a, uint64_t, i - 1)) {
            g_array_remove_index(a, i--);
        }
    }
    return a;
}

void assert_same_pages(GArray *got, GArray *want)
{
    for (guint i = 0; i < MIN(got->len, want->len); i++) {
        ck_assert_msg(g_array_index(got, uint64_t, i) ==
                      g_array_index(want, uint64_t, i),
                      "dirty page #%u: got guest page %" PRIu64 ", expected "
                      "%" PRIu64, i, g_array_index(got, uint64_t, i),
                      g_array_index(want, uint64_t, i));
    }
    ck_assert_uint_eq(got->len, want->len);
}
