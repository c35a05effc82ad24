/*
 * Unit tests for dirty page tracking (migration/dirty-tracker*.c).
 *
 * Most tests run once per backend (a loop test: _i is the backend); the
 * kernel one is reported skipped (TAP "# SKIP", saying why) where the
 * kernel refuses it, e.g. without PAGEMAP_SCAN or UFFD_FEATURE_WP_ASYNC.
 * Guest RAM is several blocks of every kind (anonymous
 * private and shared, memfd shared and private, a file), some not a
 * multiple of 64 pages so the software log's word edges are crossed.
 */
#include <check.h>
#include "tests/check-run.h"
#include <fcntl.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migration/dirty-tracker.h"
#include "system/ram.h"
#include "system/workload.h"
#include "util/atomic.h"
#include "util/tsan.h"

#define KiB 1024
#define MiB (1024 * 1024)

enum { BACKEND_KERNEL, BACKEND_SOFT, N_BACKENDS };

static const DirtyTrackerMode backend_modes[N_BACKENDS] = {
    DIRTY_TRACKER_KERNEL, DIRTY_TRACKER_SOFT,
};
static const char *const backend_names[N_BACKENDS] = {
    DIRTY_TRACKER_UFFD_NAME, DIRTY_TRACKER_SOFT_NAME,
};

#define N_BLOCKS 5
static RAMBlock *blocks[N_BLOCKS];
static char *tmpdir;
static uint64_t total_pages;

static void setup(void)
{
    tmpdir = g_dir_make_tmp("test-dirty-tracker-XXXXXX", NULL);
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
    unsetenv("VMIG_DIRTY_TRACKER");
}

static void teardown(void)
{
    for (int i = N_BLOCKS - 1; i >= 0; i--) {
        ram_block_unregister(blocks[i]);
        ram_block_free(blocks[i]);
    }
    g_rmdir(tmpdir);
    g_free(tmpdir);
}

static uint64_t block_pages(const RAMBlock *b)
{
    return b->size / GUEST_PAGE_SIZE;
}

/* Starts backend @backend; the test ends as skipped if the kernel
 * refuses the kernel backend. */
static DirtyTracker *start(int backend)
{
    Error *err = NULL;
    DirtyTracker *t = dirty_tracker_start_mode(backend_modes[backend], &err);

    if (!t) {
        ck_assert_int_eq(backend, BACKEND_KERNEL);
        /* No teardown after a skip: the directory goes now (its file
         * was unlinked when mapped). */
        g_rmdir(tmpdir);
        vmig_skip("%s: %s", backend_names[backend], error_get_pretty(err));
    }
    ck_assert_str_eq(dirty_tracker_backend(t), backend_names[backend]);
    ck_assert_ptr_null(dirty_tracker_fallback_reason(t));
    ck_assert_ptr_eq(dirty_tracker_active(), t);
    ck_assert_uint_eq(dirty_tracker_dirty_pages(t), 0);
    return t;
}

/* A write as the workload makes it: the stores, then the hook. */
static void write_page(RAMBlock *b, uint64_t page, uint8_t val)
{
    /* Guest stores, which TSan does not check (system/workload.c). */
    tsan_ignore_begin();
    memset(b->host + page * GUEST_PAGE_SIZE, val, GUEST_PAGE_SIZE);
    tsan_ignore_end();
    dirty_tracker_note_write(b->offset + page * GUEST_PAGE_SIZE,
                             GUEST_PAGE_SIZE);
}

/* Pages are named by guest page number: block offset / page + index. */
static uint64_t gpn(const RAMBlock *b, uint64_t page)
{
    return b->offset / GUEST_PAGE_SIZE + page;
}

static RAMBlock *block_of(uint64_t guest_page, uint64_t *page)
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

/*
 * Every dirty page, by walking each block with next_dirty() and clearing
 * it with test_and_clear(), as precopy does; checks the counts on the way.
 * Returns a sorted array of guest page numbers.
 */
static GArray *take_dirty(DirtyTracker *t)
{
    GArray *got = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    uint64_t total = dirty_tracker_dirty_pages(t);

    for (int i = 0; i < N_BLOCKS; i++) {
        RAMBlock *b = blocks[i];
        uint64_t n = dirty_tracker_block_dirty_pages(t, b), seen = 0;

        for (uint64_t p = dirty_tracker_next_dirty(t, b, 0);
             p < block_pages(b); p = dirty_tracker_next_dirty(t, b, p + 1)) {
            uint64_t g = gpn(b, p);

            /* Not ck_assert() per page: far too slow in the loop test. */
            if (!dirty_tracker_is_dirty(t, b, p) ||
                !dirty_tracker_test_and_clear(t, b, p) ||
                dirty_tracker_is_dirty(t, b, p) ||
                dirty_tracker_test_and_clear(t, b, p)) {
                ck_abort_msg("block '%s' page %" PRIu64 ": next_dirty, "
                             "is_dirty and test_and_clear disagree",
                             b->idstr, p);
            }
            g_array_append_val(got, g);
            seen++;
        }
        ck_assert_uint_eq(seen, n);
        ck_assert_uint_eq(dirty_tracker_block_dirty_pages(t, b), 0);
        ck_assert_uint_eq(dirty_tracker_next_dirty(t, b, 0), block_pages(b));
    }
    ck_assert_uint_eq(got->len, total);
    ck_assert_uint_eq(dirty_tracker_dirty_pages(t), 0);
    return got;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorted, without duplicates. */
static GArray *page_set(const uint64_t *pages, size_t n)
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

static void assert_same_pages(GArray *got, GArray *want)
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

/* Syncs and checks that exactly @want (guest pages, any order) are
 * reported, then clears them. */
static void sync_expect(DirtyTracker *t, const uint64_t *want, size_t n)
{
    g_autoptr(GArray) w = page_set(want, n);
    g_autoptr(GArray) got = NULL;
    uint64_t syncs = dirty_tracker_sync_count(t);

    ck_assert(dirty_tracker_sync(t, &error_abort));
    ck_assert_uint_eq(dirty_tracker_sync_count(t), syncs + 1);
    ck_assert_uint_eq(dirty_tracker_last_sync_pages(t), w->len);
    got = take_dirty(t);
    assert_same_pages(got, w);
}

/* The other thread of test_reported_pages. */
typedef struct Writer {
    const uint64_t *pages;
    size_t n;
} Writer;

static gpointer write_pages_thread(gpointer opaque)
{
    Writer *w = opaque;

    for (size_t i = 0; i < w->n; i++) {
        uint64_t page;
        RAMBlock *b = block_of(w->pages[i], &page);
        write_page(b, page, 0x5a);
    }
    return NULL;
}

START_TEST(test_reported_pages)
{
    DirtyTracker *t = start(_i);
    uint64_t mine[] = {
        gpn(blocks[0], 0), gpn(blocks[0], 1), gpn(blocks[0], 63),
        gpn(blocks[0], 64), gpn(blocks[0], 1023),
        gpn(blocks[1], 0), gpn(blocks[1], 99),
        gpn(blocks[2], 0), gpn(blocks[2], 7), gpn(blocks[2], 511),
        gpn(blocks[3], 259), gpn(blocks[4], 128),
    };
    uint64_t theirs[] = {
        gpn(blocks[0], 500), gpn(blocks[0], 1), gpn(blocks[1], 50),
        gpn(blocks[2], 300), gpn(blocks[3], 0), gpn(blocks[3], 130),
        gpn(blocks[4], 0), gpn(blocks[4], 255),
    };
    uint64_t all[G_N_ELEMENTS(mine) + G_N_ELEMENTS(theirs)];
    Writer w = { theirs, G_N_ELEMENTS(theirs) };
    GThread *th;

    /* Nothing written since start. */
    sync_expect(t, NULL, 0);

    /* The test thread and another one at the same time. */
    th = g_thread_new("writer", write_pages_thread, &w);
    for (size_t i = 0; i < G_N_ELEMENTS(mine); i++) {
        uint64_t page;
        RAMBlock *b = block_of(mine[i], &page);
        write_page(b, page, 0xa5);
    }
    g_thread_join(th);
    memcpy(all, mine, sizeof(mine));
    memcpy(all + G_N_ELEMENTS(mine), theirs, sizeof(theirs));
    sync_expect(t, all, G_N_ELEMENTS(all));

    /* Re-armed: no writes, nothing reported. */
    sync_expect(t, NULL, 0);

    /* Again, one page per block, each written twice. */
    for (int i = 0; i < N_BLOCKS; i++) {
        write_page(blocks[i], 3, 1);
        write_page(blocks[i], 3, 2);
        all[i] = gpn(blocks[i], 3);
    }
    sync_expect(t, all, N_BLOCKS);
    sync_expect(t, NULL, 0);
    dirty_tracker_stop(t);
    ck_assert_ptr_null(dirty_tracker_active());
}
END_TEST

/*
 * Anonymous private RAM is backed by transparent huge pages where the
 * host has them (system/ram.c): memory written before tracking starts
 * is then mapped 2 MiB at a time, and protected so.  A write still
 * dirties just its guest page, in either half, before and after another
 * write split a huge page.
 */
START_TEST(test_huge_pages)
{
    RAMBlock *b = blocks[0];
    DirtyTracker *t;
    uint64_t want[3];

    /* Every page populated, huge where possible, before the start. */
    memset(b->host, 0x11, b->size);
    t = start(_i);
    sync_expect(t, NULL, 0);

    write_page(b, 700, 1);
    want[0] = gpn(b, 700);
    sync_expect(t, want, 1);
    sync_expect(t, NULL, 0);

    /* The first huge page for the first time, the second one again
     * (split by the write to page 700, or never huge), and the page
     * next to the one reported before. */
    write_page(b, 0, 2);
    write_page(b, 513, 3);
    write_page(b, 701, 4);
    want[0] = gpn(b, 0);
    want[1] = gpn(b, 513);
    want[2] = gpn(b, 701);
    sync_expect(t, want, 3);
    sync_expect(t, NULL, 0);
    dirty_tracker_stop(t);
}
END_TEST

/* Bits already set survive a sync; a page written again while its bit is
 * set is counted once. */
START_TEST(test_bits_accumulate)
{
    DirtyTracker *t = start(_i);
    uint64_t want[2];
    g_autoptr(GArray) got = NULL;
    g_autoptr(GArray) w = NULL;

    write_page(blocks[2], 10, 1);
    ck_assert(dirty_tracker_sync(t, &error_abort));
    ck_assert_uint_eq(dirty_tracker_last_sync_pages(t), 1);
    ck_assert_uint_eq(dirty_tracker_dirty_pages(t), 1);

    write_page(blocks[2], 10, 2);
    write_page(blocks[1], 5, 2);
    ck_assert(dirty_tracker_sync(t, &error_abort));
    ck_assert_uint_eq(dirty_tracker_last_sync_pages(t), 2);
    ck_assert_uint_eq(dirty_tracker_block_dirty_pages(t, blocks[2]), 1);
    ck_assert_uint_eq(dirty_tracker_block_dirty_pages(t, blocks[1]), 1);
    ck_assert_uint_eq(dirty_tracker_dirty_pages(t), 2);

    want[0] = gpn(blocks[2], 10);
    want[1] = gpn(blocks[1], 5);
    w = page_set(want, 2);
    got = take_dirty(t);
    assert_same_pages(got, w);
    sync_expect(t, NULL, 0);
    dirty_tracker_stop(t);
}
END_TEST

/* The workload's own write path reaches the tracker (the hook in
 * workload.c): the pages it says it wrote are exactly the dirty ones. */
START_TEST(test_workload_writes)
{
    DirtyTracker *t = start(_i);
    WorkloadConfig cfg;
    WorkloadGen g;
    uint64_t written[300];

    workload_config_init(&cfg, ram_guest_size());
    cfg.pattern = WORKLOAD_PATTERN_RANDOM;
    cfg.content = WORKLOAD_CONTENT_RANDOM;
    cfg.seed = 42;
    workload_gen_init(&g, &cfg, 0, 1);
    for (size_t i = 0; i < G_N_ELEMENTS(written); i++) {
        written[i] = workload_gen_step(&g) / GUEST_PAGE_SIZE;
    }
    sync_expect(t, written, G_N_ELEMENTS(written));
    sync_expect(t, NULL, 0);
    dirty_tracker_stop(t);
}
END_TEST

/* The kernel sees writes that bypass the hook, including ones the kernel
 * itself makes for a syscall. */
START_TEST(test_kernel_sees_raw_writes)
{
    DirtyTracker *t = start(BACKEND_KERNEL);
    g_autofree char *path = g_build_filename(tmpdir, "data", NULL);
    uint8_t buf[GUEST_PAGE_SIZE];
    uint64_t want[3];
    int fd;

    memset(buf, 0x77, sizeof(buf));
    ck_assert(g_file_set_contents(path, (char *)buf, sizeof(buf), NULL));
    fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);

    blocks[0]->host[17 * GUEST_PAGE_SIZE + 5] = 1;              /* one byte */
    blocks[2]->host[2 * MiB - 1] = 1;                           /* last */
    ck_assert_int_eq(pread(fd, blocks[4]->host + 9 * GUEST_PAGE_SIZE,
                           GUEST_PAGE_SIZE, 0), GUEST_PAGE_SIZE);
    close(fd);
    unlink(path);
    want[0] = gpn(blocks[0], 17);
    want[1] = gpn(blocks[2], 511);
    want[2] = gpn(blocks[4], 9);
    sync_expect(t, want, 3);

    /* Reads do not dirty. */
    for (int i = 0; i < N_BLOCKS; i++) {
        volatile uint8_t *p = blocks[i]->host;
        for (uint64_t off = 0; off < blocks[i]->size;
             off += GUEST_PAGE_SIZE) {
            (void)p[off];
        }
    }
    sync_expect(t, NULL, 0);
    dirty_tracker_stop(t);
}
END_TEST

/*
 * Writers run while the test syncs in a loop.  Each write is recorded
 * with the number of syncs finished when it began; once it is done (its
 * index below the writer's done count read before a sync starts), that
 * sync or one after its beginning must have reported its page.  And every
 * reported page must have been written by a write begun before the sync
 * ended.
 */
#define LOOP_WRITERS 2
#define LOOP_WRITES 60000

typedef struct WriteRecord {
    uint64_t page;          /* guest page */
    uint64_t syncs_before;  /* syncs finished when the write began */
} WriteRecord;

typedef struct LoopWriter {
    GThread *thread;
    unsigned index;
    WriteRecord *rec;
    uint64_t started;       /* atomic: records filled in */
    uint64_t done;          /* atomic: writes finished */
    uint64_t checked;       /* test thread: writes verified */
    uint64_t seen;          /* test thread: records read into written */
} LoopWriter;

static uint64_t syncs_done;     /* atomic */
static bool loop_stop;          /* atomic */

static gpointer loop_writer_fn(gpointer opaque)
{
    LoopWriter *w = opaque;
    uint64_t rng = 0x9e3779b97f4a7c15ull * (w->index + 1);

    for (uint64_t i = 0; i < LOOP_WRITES && !qatomic_read(&loop_stop);
         i++) {
        uint64_t page, in_block;
        RAMBlock *b;

        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        page = rng % total_pages;
        b = block_of(page, &in_block);
        w->rec[i].page = page;
        w->rec[i].syncs_before = qatomic_load_acquire(&syncs_done);
        qatomic_store_release(&w->started, i + 1);
        write_page(b, in_block, (uint8_t)i);
        qatomic_store_release(&w->done, i + 1);
        if (i % 32 == 0) {
            g_usleep(20);   /* let many syncs interleave */
        }
    }
    return NULL;
}

START_TEST(test_concurrent_writes)
{
    DirtyTracker *t = start(_i);
    LoopWriter writers[LOOP_WRITERS] = { 0 };
    g_autofree uint64_t *last_reported = g_new0(uint64_t, total_pages);
    g_autofree bool *written = g_new0(bool, total_pages);
    uint64_t k = 0, reported = 0;
    bool finished = false;

    qatomic_set(&syncs_done, 0);
    for (unsigned i = 0; i < LOOP_WRITERS; i++) {
        writers[i].index = i;
        writers[i].rec = g_new0(WriteRecord, LOOP_WRITES);
        writers[i].thread = g_thread_new("loop-writer", loop_writer_fn,
                                         &writers[i]);
    }

    while (!finished) {
        uint64_t done_before[LOOP_WRITERS];
        g_autoptr(GArray) got = NULL;

        /* After the writers are joined, one last sync must catch up. */
        finished = true;
        for (unsigned i = 0; i < LOOP_WRITERS; i++) {
            if (qatomic_load_acquire(&writers[i].done) < LOOP_WRITES) {
                finished = false;
            }
        }
        if (finished) {
            for (unsigned i = 0; i < LOOP_WRITERS; i++) {
                g_thread_join(writers[i].thread);
            }
        }
        for (unsigned i = 0; i < LOOP_WRITERS; i++) {
            done_before[i] = qatomic_load_acquire(&writers[i].done);
        }

        k++;
        ck_assert(dirty_tracker_sync(t, &error_abort));
        got = take_dirty(t);

        for (unsigned i = 0; i < LOOP_WRITERS; i++) {
            LoopWriter *w = &writers[i];
            uint64_t started = qatomic_load_acquire(&w->started);
            for (; w->seen < started; w->seen++) {
                written[w->rec[w->seen].page] = true;
            }
        }
        for (guint j = 0; j < got->len; j++) {
            uint64_t page = g_array_index(got, uint64_t, j);
            if (!written[page]) {
                ck_abort_msg("sync %" PRIu64 " reported guest page %"
                             PRIu64 ", which no write touched", k, page);
            }
            last_reported[page] = k;
        }
        reported += got->len;
        qatomic_store_release(&syncs_done, k);

        for (unsigned i = 0; i < LOOP_WRITERS; i++) {
            LoopWriter *w = &writers[i];
            for (; w->checked < done_before[i]; w->checked++) {
                const WriteRecord *r = &w->rec[w->checked];
                if (last_reported[r->page] <= r->syncs_before) {
                    ck_abort_msg("writer %u write %" PRIu64 " to guest "
                                 "page %" PRIu64 " (begun after sync %"
                                 PRIu64 ", done before sync %" PRIu64 ") "
                                 "was never reported (last: sync %" PRIu64
                                 ")", i, w->checked, r->page,
                                 r->syncs_before, k,
                                 last_reported[r->page]);
                }
            }
        }
        if (!finished) {
            g_usleep(200);
        }
    }
    for (unsigned i = 0; i < LOOP_WRITERS; i++) {
        ck_assert_uint_eq(writers[i].checked, LOOP_WRITES);
        g_free(writers[i].rec);
    }
    /* The loop really interleaved syncs with writes. */
    printf("# %s: %" PRIu64 " syncs, %" PRIu64 " pages reported\n",
           backend_names[_i], k, reported);
    fflush(stdout);
    ck_assert_uint_gt(k, 20);
    ck_assert_uint_gt(reported, 0);
    sync_expect(t, NULL, 0);
    dirty_tracker_stop(t);
}
END_TEST

/* set_all() for the first pass; stop/start starts clean. */
START_TEST(test_set_all_and_restart)
{
    DirtyTracker *t = start(_i);
    uint64_t want[2];

    dirty_tracker_set_all(t);
    ck_assert_uint_eq(dirty_tracker_dirty_pages(t), total_pages);
    for (int i = 0; i < N_BLOCKS; i++) {
        ck_assert_uint_eq(dirty_tracker_block_dirty_pages(t, blocks[i]),
                          block_pages(blocks[i]));
        ck_assert_uint_eq(dirty_tracker_next_dirty(t, blocks[i],
                                                   block_pages(blocks[i]) - 1),
                          block_pages(blocks[i]) - 1);
    }
    {
        g_autoptr(GArray) got = take_dirty(t);
        ck_assert_uint_eq(got->len, total_pages);
    }
    /* A bit the caller sets stays until taken; sync adds nothing. */
    dirty_tracker_set_dirty(t, blocks[1], 42);
    ck_assert(dirty_tracker_is_dirty(t, blocks[1], 42));
    ck_assert_uint_eq(dirty_tracker_dirty_pages(t), 1);
    ck_assert(dirty_tracker_sync(t, &error_abort));
    ck_assert_uint_eq(dirty_tracker_last_sync_pages(t), 0);
    {
        g_autoptr(GArray) got = take_dirty(t);
        ck_assert_uint_eq(got->len, 1);
        ck_assert_uint_eq(g_array_index(got, uint64_t, 0),
                          gpn(blocks[1], 42));
    }

    write_page(blocks[0], 8, 1);
    dirty_tracker_stop(t);

    /* Written while no tracker runs: not the new tracker's business. */
    write_page(blocks[2], 9, 1);
    t = start(_i);
    sync_expect(t, NULL, 0);
    write_page(blocks[3], 1, 1);
    write_page(blocks[4], 2, 1);
    want[0] = gpn(blocks[3], 1);
    want[1] = gpn(blocks[4], 2);
    sync_expect(t, want, 2);
    dirty_tracker_stop(t);
}
END_TEST

/* The first pass's tracker: every page dirty, protection as pages are
 * taken; what is written after a page was taken is reported, whichever
 * backend runs. */
START_TEST(test_start_all_dirty)
{
    DirtyTracker *t = dirty_tracker_start_all_dirty(&error_abort);
    uint64_t want[3];

    ck_assert_uint_eq(dirty_tracker_dirty_pages(t), total_pages);
    /* Written before it was taken: dirty already, and a sync changes
     * nothing. */
    write_page(blocks[0], 900, 3);
    ck_assert(dirty_tracker_sync(t, &error_abort));
    ck_assert_uint_eq(dirty_tracker_dirty_pages(t), total_pages);
    {
        g_autoptr(GArray) got = take_dirty(t);
        ck_assert_uint_eq(got->len, total_pages);
    }
    sync_expect(t, NULL, 0);
    /* Taken (so protected), then written: reported, in every block. */
    write_page(blocks[0], 900, 4);
    write_page(blocks[1], 99, 4);
    blocks[2]->host[5 * GUEST_PAGE_SIZE] = 9;
    dirty_tracker_note_write(blocks[2]->offset + 5 * GUEST_PAGE_SIZE, 1);
    want[0] = gpn(blocks[0], 900);
    want[1] = gpn(blocks[1], 99);
    want[2] = gpn(blocks[2], 5);
    sync_expect(t, want, 3);
    dirty_tracker_stop(t);
}
END_TEST

START_TEST(test_start_errors)
{
    Error *err = NULL;
    DirtyTracker *t = dirty_tracker_start_mode(DIRTY_TRACKER_SOFT,
                                               &error_abort);

    ck_assert_ptr_null(dirty_tracker_start_mode(DIRTY_TRACKER_SOFT, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_str_eq(error_get_pretty(err),
                     "dirty page tracking is already active");
    error_free(err);
    err = NULL;
    dirty_tracker_stop(t);
    dirty_tracker_stop(NULL);

    setenv("VMIG_DIRTY_TRACKER", "magic", 1);
    ck_assert_ptr_null(dirty_tracker_start(&err));
    ck_assert_ptr_nonnull(err);
    ck_assert_str_eq(error_get_pretty(err), "VMIG_DIRTY_TRACKER: invalid "
                     "value 'magic' (expected auto, kernel or soft)");
    error_free(err);
    ck_assert_ptr_null(dirty_tracker_active());
}
END_TEST

/* VMIG_DIRTY_TRACKER=soft forces the software log; otherwise the kernel
 * backend is the default where it works, and a fallback says why. */
START_TEST(test_env_selects_backend)
{
    Error *err = NULL;
    DirtyTracker *t;
    bool kernel_ok;

    t = dirty_tracker_start_mode(DIRTY_TRACKER_KERNEL, &err);
    kernel_ok = t != NULL;
    if (!kernel_ok) {
        printf("# kernel backend unavailable: %s\n", error_get_pretty(err));
        fflush(stdout);
        error_free(err);
        err = NULL;
    }
    dirty_tracker_stop(t);

    setenv("VMIG_DIRTY_TRACKER", "soft", 1);
    t = dirty_tracker_start(&error_abort);
    ck_assert_str_eq(dirty_tracker_backend(t), DIRTY_TRACKER_SOFT_NAME);
    ck_assert_ptr_null(dirty_tracker_fallback_reason(t));
    dirty_tracker_stop(t);

    unsetenv("VMIG_DIRTY_TRACKER");
    t = dirty_tracker_start(&error_abort);
    if (kernel_ok) {
        ck_assert_str_eq(dirty_tracker_backend(t), DIRTY_TRACKER_UFFD_NAME);
        ck_assert_ptr_null(dirty_tracker_fallback_reason(t));
    } else {
        ck_assert_str_eq(dirty_tracker_backend(t), DIRTY_TRACKER_SOFT_NAME);
        ck_assert_ptr_nonnull(dirty_tracker_fallback_reason(t));
    }
    dirty_tracker_stop(t);

    setenv("VMIG_DIRTY_TRACKER", "kernel", 1);
    t = dirty_tracker_start(kernel_ok ? &error_abort : &err);
    ck_assert(!t == !kernel_ok);
    if (t) {
        ck_assert_str_eq(dirty_tracker_backend(t), DIRTY_TRACKER_UFFD_NAME);
    } else {
        error_free(err);
    }
    dirty_tracker_stop(t);
}
END_TEST

/* No guest RAM at all is not an error. */
START_TEST(test_no_ram)
{
    DirtyTracker *t;

    for (int i = N_BLOCKS - 1; i >= 0; i--) {
        ram_block_unregister(blocks[i]);
    }
    t = start(_i);
    dirty_tracker_set_all(t);
    ck_assert(dirty_tracker_sync(t, &error_abort));
    ck_assert_uint_eq(dirty_tracker_dirty_pages(t), 0);
    dirty_tracker_stop(t);
    for (int i = 0; i < N_BLOCKS; i++) {
        ck_assert(ram_block_register(blocks[i], &error_abort));
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dirty-tracker");
    TCase *tc = tcase_create("tracker");
    SRunner *sr;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_reported_pages, 0, N_BACKENDS);
    tcase_add_loop_test(tc, test_bits_accumulate, 0, N_BACKENDS);
    tcase_add_loop_test(tc, test_huge_pages, 0, N_BACKENDS);
    tcase_add_loop_test(tc, test_workload_writes, 0, N_BACKENDS);
    tcase_add_test(tc, test_kernel_sees_raw_writes);
    tcase_add_loop_test(tc, test_concurrent_writes, 0, N_BACKENDS);
    tcase_add_loop_test(tc, test_set_all_and_restart, 0, N_BACKENDS);
    tcase_add_test(tc, test_start_all_dirty);
    tcase_add_test(tc, test_start_errors);
    tcase_add_test(tc, test_env_selects_backend);
    tcase_add_loop_test(tc, test_no_ram, 0, N_BACKENDS);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    /* Every test starts from a fresh process: guest RAM is global. */
    srunner_set_fork_status(sr, CK_FORK);
    return vmig_check_run(sr);
}
