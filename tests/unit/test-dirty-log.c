/*
 * Unit tests for the dirty log of guest RAM (system/dirty-log*.c): what a
 * sync reports to its callback, with both backends, writers racing with
 * syncs, unarmed pages, and the choice of backend (the machine's, a
 * forced one, the kernel's refusal).  The guest RAM is
 * dirty-fixture.c's.
 */
#include <check.h>
#include <glib/gstdio.h>
#include "tests/check-run.h"
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dirty-fixture.h"
#include "refuse-uffd.h"
#include "system/dirty-log.h"
#include "system/ram.h"
#include "system/workload.h"
#include "util/atomic.h"

/* Starts backend @backend with every page armed; NULL (and a TAP
 * comment) if the kernel refuses the kernel backend. */
static DirtyLog *start(int backend)
{
    Error *err = NULL;
    DirtyLog *log = dirty_log_start(backend_modes[backend], &err);

    if (dirty_fixture_skip(backend, err)) {
        return NULL;
    }
    ck_assert_int_eq(dirty_log_backend(log), backend_modes[backend]);
    ck_assert_ptr_eq(dirty_log_active(), log);
    return log;
}

typedef struct Collected {
    GArray *pages;          /* guest page numbers, as reported */
    RAMBlock *block;        /* of the last range */
    GPtrArray *done;        /* blocks reported before that one */
} Collected;

/* The sync callback: checks each range against the contract. */
static void collect(void *opaque, RAMBlock *block, uint64_t offset,
                    uint64_t len)
{
    Collected *c = opaque;

    /* Not ck_assert() per range: far too slow in the loop test. */
    if (!len || offset % GUEST_PAGE_SIZE || len % GUEST_PAGE_SIZE ||
        offset + len > block->size) {
        ck_abort_msg("block '%s': range at %" PRIu64 " of %" PRIu64
                     " bytes is not whole pages of the block", block->idstr,
                     offset, len);
    }
    if (block != c->block) {
        if (g_ptr_array_find(c->done, block, NULL)) {
            ck_abort_msg("block '%s' reported in two pieces",
                         block->idstr);
        }
        if (c->block) {
            g_ptr_array_add(c->done, c->block);
        }
        c->block = block;
    }
    for (uint64_t p = offset / GUEST_PAGE_SIZE;
         p < (offset + len) / GUEST_PAGE_SIZE; p++) {
        uint64_t g = gpn(block, p);

        g_array_append_val(c->pages, g);
    }
}

/* Syncs; returns the guest pages reported, sorted.  None may be
 * reported twice. */
static GArray *sync_pages(DirtyLog *log)
{
    Collected c = { .pages = g_array_new(FALSE, FALSE, sizeof(uint64_t)),
                    .done = g_ptr_array_new() };
    GArray *set;

    ck_assert(dirty_log_sync(log, collect, &c, &error_abort));
    g_ptr_array_free(c.done, TRUE);
    set = page_set((const uint64_t *)c.pages->data, c.pages->len);
    ck_assert_msg(set->len == c.pages->len, "a sync reported a page twice");
    g_array_free(c.pages, TRUE);
    return set;
}

/* Syncs and checks that exactly @want (guest pages, any order) are
 * reported. */
static void sync_expect(DirtyLog *log, const uint64_t *want, size_t n)
{
    g_autoptr(GArray) w = page_set(want, n);
    g_autoptr(GArray) got = sync_pages(log);

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
    DirtyLog *log = start(_i);
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

    if (!log) {
        return;
    }
    /* Nothing written since start. */
    sync_expect(log, NULL, 0);

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
    sync_expect(log, all, G_N_ELEMENTS(all));

    /* Re-armed: no writes, nothing reported. */
    sync_expect(log, NULL, 0);

    /* Again, one page per block, each written twice. */
    for (int i = 0; i < N_BLOCKS; i++) {
        write_page(blocks[i], 3, 1);
        write_page(blocks[i], 3, 2);
        all[i] = gpn(blocks[i], 3);
    }
    sync_expect(log, all, N_BLOCKS);
    sync_expect(log, NULL, 0);
    dirty_log_stop(log);
    ck_assert_ptr_null(dirty_log_active());
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
    DirtyLog *log;
    uint64_t want[3];

    /* Every page populated, huge where possible, before the start. */
    memset(b->host, 0x11, b->size);
    log = start(_i);
    if (!log) {
        return;
    }
    sync_expect(log, NULL, 0);

    write_page(b, 700, 1);
    want[0] = gpn(b, 700);
    sync_expect(log, want, 1);
    sync_expect(log, NULL, 0);

    /* The first huge page for the first time, the second one again
     * (split by the write to page 700, or never huge), and the page
     * next to the one reported before. */
    write_page(b, 0, 2);
    write_page(b, 513, 3);
    write_page(b, 701, 4);
    want[0] = gpn(b, 0);
    want[1] = gpn(b, 513);
    want[2] = gpn(b, 701);
    sync_expect(log, want, 3);
    sync_expect(log, NULL, 0);
    dirty_log_stop(log);
}
END_TEST

/* Whether the kernel backend works here (a TAP comment if not). */
static bool kernel_backend_works(void)
{
    Error *err = NULL;
    DirtyLog *log = dirty_log_start(DIRTY_LOG_BACKEND_UFFD_WP, &err);

    if (!log) {
        printf("# kernel backend unavailable: %s\n", error_get_pretty(err));
        fflush(stdout);
        error_free(err);
        return false;
    }
    dirty_log_stop(log);
    return true;
}

/* The first hugetlbfs mount, or NULL. */
static char *hugetlbfs_mount(void)
{
    g_autofree char *mounts = NULL;
    g_auto(GStrv) lines = NULL;

    if (!g_file_get_contents("/proc/mounts", &mounts, NULL, NULL)) {
        return NULL;
    }
    lines = g_strsplit(mounts, "\n", -1);
    for (char **l = lines; *l; l++) {
        g_auto(GStrv) f = g_strsplit(*l, " ", 4);

        if (g_strv_length(f) >= 3 && !strcmp(f[2], "hugetlbfs")) {
            return g_strdup(f[1]);
        }
    }
    return NULL;
}

/* Checks that a sync reports exactly the guest pages of the huge page
 * of @huge that holds guest page @page. */
static void expect_huge_page(DirtyLog *log, RAMBlock *huge, uint64_t page)
{
    uint64_t per = huge->page_size / GUEST_PAGE_SIZE;
    g_autofree uint64_t *want = g_new(uint64_t, per);

    for (uint64_t i = 0; i < per; i++) {
        want[i] = gpn(huge, page / per * per + i);
    }
    sync_expect(log, want, per);
}

/*
 * Guest RAM on hugetlbfs: the kernel protects and scans only whole
 * 2 MiB pages, so arming a guest page arms up to the end of its huge
 * page (an arming that ended inside one failed, and so did the start's
 * one-page probe), and a write anywhere in one reports its 512 guest
 * pages.  Skipped without a hugetlbfs mount with free huge pages.
 */
START_TEST(test_hugetlbfs)
{
    g_autofree char *mnt = hugetlbfs_mount();
    Error *err = NULL;
    RAMBlock *huge;
    DirtyLog *log;
    uint64_t end;

    if (!mnt || !kernel_backend_works()) {
        g_rmdir(tmpdir);
        vmig_skip("no hugetlbfs mounted, or no kernel backend");
    }
    /* Four huge pages: more than one arming covers (dirty-log.c). */
    huge = ram_block_new_file("huge", mnt, 8 * MiB, false, &err);
    if (!huge) {
        g_rmdir(tmpdir);
        vmig_skip("%s: %s", mnt, error_get_pretty(err));
    }
    ck_assert(ram_block_register(huge, &error_abort));
    ck_assert_uint_eq(huge->page_size, 2 * MiB);
    log = dirty_log_start_unarmed(DIRTY_LOG_BACKEND_UFFD_WP, NULL, &err);
    ck_assert_msg(log, "%s", err ? error_get_pretty(err) : "");

    /* Past the first arming's reach, in the third huge page. */
    end = dirty_log_arm(log, huge, 1100 * GUEST_PAGE_SIZE);
    ck_assert_uint_eq(end, 6 * MiB);
    write_page(huge, 1100, 1);
    expect_huge_page(log, huge, 1100);
    write_page(huge, 3, 2);
    expect_huge_page(log, huge, 3);
    sync_expect(log, NULL, 0);
    /* Past the armed prefix: not logged yet. */
    write_page(huge, end / GUEST_PAGE_SIZE, 3);
    sync_expect(log, NULL, 0);
    dirty_log_stop(log);
    ram_block_unregister(huge);
    ram_block_free(huge);
}
END_TEST

/* Runs @n steps of vCPU @cpu of @ncpus one by one and checks that the
 * log reports exactly the pages they say they wrote; then, from the same
 * start, as one batch (workload_gen_steps()), which must report the same
 * pages. */
static void check_workload_writes(DirtyLog *log, const WorkloadConfig *cfg,
                                  unsigned cpu, unsigned ncpus, size_t n)
{
    g_autofree uint64_t *written = g_new(uint64_t, n);
    WorkloadGen g;

    workload_gen_init(&g, cfg, cpu, ncpus);
    for (size_t i = 0; i < n; i++) {
        written[i] = workload_gen_step(&g) / GUEST_PAGE_SIZE;
    }
    sync_expect(log, written, n);
    workload_gen_init(&g, cfg, cpu, ncpus);
    workload_gen_steps(&g, n);
    sync_expect(log, written, n);
    sync_expect(log, NULL, 0);
}

/* The workload's own write path reaches the log (the hook in
 * workload.c): the pages it says it wrote are exactly the ones reported,
 * written a page at a time or in a batch: scattered pages, each its own
 * run, and runs of adjacent pages that start and end inside a word of
 * the software log, with a wrap-around. */
START_TEST(test_workload_writes)
{
    DirtyLog *log = start(_i);
    WorkloadConfig cfg;

    if (!log) {
        return;
    }
    workload_config_init(&cfg, ram_guest_size());
    cfg.pattern = WORKLOAD_PATTERN_RANDOM;
    cfg.content = WORKLOAD_CONTENT_RANDOM;
    cfg.seed = 42;
    check_workload_writes(log, &cfg, 0, 1, 300);

    cfg.pattern = WORKLOAD_PATTERN_SWEEP;
    cfg.hotset = 100 * GUEST_PAGE_SIZE;
    /* vCPU 1 of 3 starts at page 33: pages 33-99, then 0-82. */
    check_workload_writes(log, &cfg, 1, 3, 150);
    dirty_log_stop(log);
}
END_TEST

/* The kernel sees writes that bypass the hook, including ones the kernel
 * itself makes for a syscall. */
START_TEST(test_kernel_sees_raw_writes)
{
    DirtyLog *log = start(BACKEND_KERNEL);
    g_autofree char *path = g_build_filename(tmpdir, "data", NULL);
    uint8_t buf[GUEST_PAGE_SIZE];
    uint64_t want[3];
    int fd;

    if (!log) {
        return;
    }
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
    sync_expect(log, want, 3);

    /* Reads do not dirty. */
    for (int i = 0; i < N_BLOCKS; i++) {
        volatile uint8_t *p = blocks[i]->host;
        for (uint64_t off = 0; off < blocks[i]->size;
             off += GUEST_PAGE_SIZE) {
            (void)p[off];
        }
    }
    sync_expect(log, NULL, 0);
    dirty_log_stop(log);
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

    for (uint64_t i = 0; i < LOOP_WRITES &&
         !qatomic_read(&loop_stop); i++) {
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
    DirtyLog *log = start(_i);
    LoopWriter writers[LOOP_WRITERS] = { 0 };
    g_autofree uint64_t *last_reported = g_new0(uint64_t, total_pages);
    g_autofree bool *written = g_new0(bool, total_pages);
    uint64_t k = 0, reported = 0;
    bool finished = false;

    if (!log) {
        return;
    }
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
            if (qatomic_load_acquire(&writers[i].done) <
                LOOP_WRITES) {
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
        got = sync_pages(log);

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
           DirtyLogBackend_str(backend_modes[_i]), k, reported);
    fflush(stdout);
    ck_assert_uint_gt(k, 20);
    ck_assert_uint_gt(reported, 0);
    sync_expect(log, NULL, 0);
    dirty_log_stop(log);
}
END_TEST

/* Stop and start again: the new log starts clean. */
START_TEST(test_restart)
{
    DirtyLog *log = start(_i);
    uint64_t want[2];

    if (!log) {
        return;
    }
    write_page(blocks[0], 8, 1);
    dirty_log_stop(log);
    ck_assert_ptr_null(dirty_log_active());

    /* Written while no log runs: not the new log's business. */
    write_page(blocks[2], 9, 1);
    log = start(_i);
    sync_expect(log, NULL, 0);
    write_page(blocks[3], 1, 1);
    write_page(blocks[4], 2, 1);
    want[0] = gpn(blocks[3], 1);
    want[1] = gpn(blocks[4], 2);
    sync_expect(log, want, 2);
    dirty_log_stop(log);
}
END_TEST

/*
 * A log started unarmed: the kernel logs a page only once it is armed,
 * the software log every page anyway.  Arming makes a prefix of the
 * block, past the page asked for, that only grows.
 */
START_TEST(test_unarmed)
{
    Error *err = NULL;
    DirtyLog *log = dirty_log_start_unarmed(backend_modes[_i], NULL, &err);
    bool soft = _i == BACKEND_SOFT;
    uint64_t want[3], end;

    if (dirty_fixture_skip(_i, err)) {
        return;
    }
    ck_assert_int_eq(dirty_log_backend(log), backend_modes[_i]);
    write_page(blocks[1], 7, 1);
    write_page(blocks[2], 5, 1);
    want[0] = gpn(blocks[1], 7);
    want[1] = gpn(blocks[2], 5);
    sync_expect(log, want, soft ? 2 : 0);

    end = dirty_log_arm(log, blocks[1], 7 * GUEST_PAGE_SIZE);
    ck_assert_uint_gt(end, 7 * GUEST_PAGE_SIZE);
    ck_assert_uint_le(end, blocks[1]->size);
    ck_assert_uint_eq(end % GUEST_PAGE_SIZE, 0);
    ck_assert_uint_eq(dirty_log_arm(log, blocks[1], 0), end);
    ck_assert_uint_eq(dirty_log_arm(log, blocks[1], end - GUEST_PAGE_SIZE),
                      end);
    /* Armed: the page asked for and those before it; block 2 not. */
    write_page(blocks[1], 7, 2);
    write_page(blocks[1], 0, 2);
    write_page(blocks[2], 5, 2);
    want[0] = gpn(blocks[1], 7);
    want[1] = gpn(blocks[1], 0);
    want[2] = gpn(blocks[2], 5);
    sync_expect(log, want, soft ? 3 : 2);

    /* Arming the last page arms the whole block, no hole. */
    ck_assert_uint_eq(dirty_log_arm(log, blocks[2],
                                    blocks[2]->size - GUEST_PAGE_SIZE),
                      blocks[2]->size);
    write_page(blocks[2], 5, 3);
    want[0] = gpn(blocks[2], 5);
    sync_expect(log, want, 1);
    sync_expect(log, NULL, 0);
    dirty_log_stop(log);
}
END_TEST

START_TEST(test_start_errors)
{
    Error *err = NULL;
    DirtyLog *log = dirty_log_start(DIRTY_LOG_BACKEND_SOFTWARE, &error_abort);

    ck_assert_ptr_null(dirty_log_start(DIRTY_LOG_BACKEND_SOFTWARE, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_str_eq(error_get_pretty(err),
                     "dirty page logging is already active");
    error_free(err);
    dirty_log_stop(log);
    dirty_log_stop(NULL);
    ck_assert_ptr_null(dirty_log_active());
}
END_TEST

/* Starts a log with "auto" and checks the backend it got. */
static void expect_auto_starts(DirtyLogBackend want)
{
    DirtyLog *log = dirty_log_start(DIRTY_LOG_BACKEND_AUTO, &error_abort);

    ck_assert_str_eq(DirtyLogBackend_str(dirty_log_backend(log)),
                     DirtyLogBackend_str(want));
    dirty_log_stop(log);
}

/*
 * The machine's choice (-machine dirty-log): the software log by
 * default and for "auto"; a forced backend for the logs started with
 * "auto"; a backend given to start overrides it.
 */
START_TEST(test_machine_choice)
{
    bool kernel_ok = kernel_backend_works();
    DirtyLog *log;

    ck_assert_int_eq(dirty_log_choice(), DIRTY_LOG_BACKEND_SOFTWARE);
    expect_auto_starts(DIRTY_LOG_BACKEND_SOFTWARE);

    ck_assert(dirty_log_configure(DIRTY_LOG_BACKEND_SOFTWARE, &error_abort));
    ck_assert_int_eq(dirty_log_choice(), DIRTY_LOG_BACKEND_SOFTWARE);
    expect_auto_starts(DIRTY_LOG_BACKEND_SOFTWARE);

    if (kernel_ok) {
        ck_assert(dirty_log_configure(DIRTY_LOG_BACKEND_UFFD_WP,
                                      &error_abort));
        /* The check left nothing behind. */
        ck_assert_ptr_null(dirty_log_active());
        ck_assert_int_eq(dirty_log_choice(), DIRTY_LOG_BACKEND_UFFD_WP);
        expect_auto_starts(DIRTY_LOG_BACKEND_UFFD_WP);
        log = dirty_log_start(DIRTY_LOG_BACKEND_SOFTWARE, &error_abort);
        ck_assert_int_eq(dirty_log_backend(log), DIRTY_LOG_BACKEND_SOFTWARE);
        dirty_log_stop(log);
    }

    ck_assert(dirty_log_configure(DIRTY_LOG_BACKEND_AUTO, &error_abort));
    ck_assert_int_eq(dirty_log_choice(), DIRTY_LOG_BACKEND_SOFTWARE);
    expect_auto_starts(DIRTY_LOG_BACKEND_SOFTWARE);
}
END_TEST

/*
 * Where the kernel refuses userfaultfd, forcing "uffd-wp" fails at
 * once, saying why, and changes nothing: the default still logs.
 */
START_TEST(test_kernel_refuses)
{
    Error *err = NULL;

    if (!refuse_userfaultfd(true)) {
        return;
    }
    ck_assert(!dirty_log_configure(DIRTY_LOG_BACKEND_UFFD_WP, &err));
    ck_assert_msg(g_str_has_prefix(error_get_pretty(err),
                                   "the kernel cannot log dirty pages "
                                   "with userfaultfd: userfaultfd() "
                                   "failed: Operation not permitted"),
                  "unexpected error: %s", error_get_pretty(err));
    error_free(err);
    err = NULL;
    ck_assert_ptr_null(dirty_log_active());
    ck_assert_int_eq(dirty_log_choice(), DIRTY_LOG_BACKEND_SOFTWARE);
    ck_assert_ptr_null(dirty_log_start(DIRTY_LOG_BACKEND_UFFD_WP, &err));
    ck_assert_ptr_nonnull(err);
    error_free(err);
    expect_auto_starts(DIRTY_LOG_BACKEND_SOFTWARE);
}
END_TEST

/* No guest RAM at all is not an error. */
START_TEST(test_no_ram)
{
    DirtyLog *log;

    for (int i = N_BLOCKS - 1; i >= 0; i--) {
        ram_block_unregister(blocks[i]);
    }
    log = start(_i);
    if (log) {
        sync_expect(log, NULL, 0);
        dirty_log_stop(log);
    }
    for (int i = 0; i < N_BLOCKS; i++) {
        ck_assert(ram_block_register(blocks[i], &error_abort));
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dirty-log");
    TCase *tc = tcase_create("log");
    SRunner *sr;

    tcase_add_checked_fixture(tc, dirty_fixture_setup,
                              dirty_fixture_teardown);
    tcase_add_loop_test(tc, test_reported_pages, 0, N_BACKENDS);
    tcase_add_loop_test(tc, test_huge_pages, 0, N_BACKENDS);
    tcase_add_test(tc, test_hugetlbfs);
    tcase_add_loop_test(tc, test_workload_writes, 0, N_BACKENDS);
    tcase_add_test(tc, test_kernel_sees_raw_writes);
    tcase_add_loop_test(tc, test_concurrent_writes, 0, N_BACKENDS);
    tcase_add_loop_test(tc, test_restart, 0, N_BACKENDS);
    tcase_add_loop_test(tc, test_unarmed, 0, N_BACKENDS);
    tcase_add_test(tc, test_start_errors);
    tcase_add_test(tc, test_machine_choice);
    tcase_add_test(tc, test_kernel_refuses);
    tcase_add_loop_test(tc, test_no_ram, 0, N_BACKENDS);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    /* Every test starts from a fresh process: guest RAM is global. */
    srunner_set_fork_status(sr, CK_FORK);
    return vmig_check_run(sr);
}
