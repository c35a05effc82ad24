/*
 * Unit tests for the source's postcopy requests (migration/engine/
 * postcopy.c): every PAGE_REQUEST checked against the layout before it
 * is queued, the queue's cap, its order and its wait; and which RAM
 * blocks the destination can serve in postcopy
 * (migration/ram/postcopy-ram.c), and POSTCOPY_DISCARD checked against
 * the layout before any page is dropped (a huge page whole, shared
 * memory given back), and the source's discards whole huge pages.
 * Recovery's pieces: the
 * destination's RECEIVED_BITMAPs (every page but the pending ones), and
 * release-ram giving back only what a PONG confirmed.  The
 * destination's preempt channel (migration/engine/postcopy-preempt.c):
 * what it may carry, and when.  Flow control of the main channel
 * (migration/ram/postcopy-flow.c): the window, and what a PONG confirms.
 */
#include <check.h>
#include "tests/check-run.h"
#include "tests/stream-pair.h"

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "migration/config.h"
#include "migration/engine/postcopy.h"
#include "migration/engine/postcopy-preempt.h"
#include "migration/engine/postcopy-recover.h"
#include "migration/ram/postcopy-flow.h"
#include "migration/ram/postcopy-ram.h"
#include "migration/wire/wire.h"
#include "system/ram.h"

#define BLOCK_SIZE (1024 * 1024)

/* The one record @b holds. */
static WireRecord decoded(const GByteArray *b)
{
    WireRecord rec;

    ck_assert(wire_record_decode(b->data, b->len, &rec, &error_abort) ==
              WIRE_OK);
    return rec;
}

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
    /* ...and a kick, at once (else this would take a minute)... */
    postcopy_requests_kick(q);
    postcopy_requests_sleep(q, g_get_monotonic_time() +
                               G_USEC_PER_SEC * 60);
    /* ...once: the next pause runs to its deadline again, and a kick
     * ends a wait with nothing queued as well. */
    postcopy_requests_sleep(q, g_get_monotonic_time() + 1000);
    postcopy_requests_kick(q);
    ck_assert(!postcopy_requests_wait(q, g_get_monotonic_time() +
                                         G_USEC_PER_SEC * 60));
    postcopy_requests_free(q);
}
END_TEST

/* @block alone (freed after) fails the check with @want, or passes
 * (NULL). */
static void served(RAMBlock *block, const char *want)
{
    g_autoptr(GPtrArray) blocks = g_ptr_array_new();
    Error *err = NULL;

    g_ptr_array_add(blocks, block);
    if (!want) {
        ck_assert(postcopy_dest_check_blocks(blocks, &error_abort));
    } else {
        ck_assert(!postcopy_dest_check_blocks(blocks, &err));
        ck_assert_msg(strstr(error_get_pretty(err), want), "%s",
                      error_get_pretty(err));
        error_free(err);
    }
    ram_block_free(block);
}

START_TEST(test_blocks_served)
{
    g_autoptr(GPtrArray) blocks = two_blocks();
    g_autofree char *dir = g_dir_make_tmp("pc-disk-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "ram", NULL);
    struct statfs fs;

    ck_assert(postcopy_dest_check_blocks(blocks, &error_abort));
    /* A block not sent (x-ignore-shared) is nothing to serve. */
    g_ptr_array_add(blocks, NULL);
    ck_assert(postcopy_dest_check_blocks(blocks, &error_abort));
    /* Memory the kernel drops pages of. */
    served(ram_block_new_anon("s", BLOCK_SIZE, true, &error_abort), NULL);
    served(ram_block_new_memfd("m", BLOCK_SIZE, true, true, &error_abort),
           NULL);
    /* A private file mapping's pages come back from the file. */
    served(ram_block_new_memfd("p", BLOCK_SIZE, false, false, &error_abort),
           "RAM block 'p' is a private mapping of a file, whose dropped "
           "pages come back from the file: postcopy cannot load it");
    /* A file on a disk: not when the temporary directory is tmpfs. */
    ck_assert_int_eq(statfs(dir, &fs), 0);
    if (fs.f_type != TMPFS_MAGIC) {
        served(ram_block_new_file("d", path, BLOCK_SIZE, true, &error_abort),
               "RAM block 'd' is a shared mapping of a file on a disk "
               "filesystem");
        unlink(path);
    }
    rmdir(dir);
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
    rec = decoded(b);
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
    rec = decoded(b);
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

/* POSTCOPY_DISCARD of @n ranges @r of block @block, applied. */
static void discard(PostcopyDest *pd, uint32_t block, WireDiscardRange *r,
                    uint32_t n)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    WireRecord rec;

    wire_postcopy_discard_encode(b, block, r, n, &error_abort);
    rec = decoded(b);
    ck_assert(postcopy_dest_discard(pd, rec.body, rec.len, &error_abort));
}

START_TEST(test_discard_shared)
{
    g_autoptr(GPtrArray) blocks = g_ptr_array_new_with_free_func(
        (GDestroyNotify)ram_block_free);
    WireDiscardRange r = { 4096, 8192 };
    RAMBlock *m = ram_block_new_memfd("m", BLOCK_SIZE, true, true,
                                      &error_abort);
    RamLoader rl;
    PostcopyDest *pd;
    struct stat before, after;

    g_ptr_array_add(blocks, m);
    ram_loader_init(&rl, blocks);
    pd = postcopy_dest_new(&rl, false);
    memset(m->host, 0xaa, BLOCK_SIZE);
    ck_assert_int_eq(fstat(m->fd, &before), 0);
    /* A hole in the memfd: its memory given back, zero again (unmapped
     * only, MADV_DONTNEED's effect here, the pages would stay). */
    discard(pd, 0, &r, 1);
    ck_assert_int_eq(fstat(m->fd, &after), 0);
    ck_assert_int_eq(after.st_blocks, before.st_blocks - 8192 / 512);
    ck_assert_uint_eq(m->host[4095], 0xaa);
    ck_assert_uint_eq(m->host[4096], 0);
    ck_assert_uint_eq(m->host[3 * 4096 - 1], 0);
    ck_assert_uint_eq(m->host[3 * 4096], 0xaa);
    ck_assert_uint_eq(postcopy_dest_pending(pd), 2);
    postcopy_dest_free(pd);
    ram_loader_destroy(&rl);
}
END_TEST

/* PostcopyRequestFunc that asks nobody: the test places every page. */
static bool ask_nobody(void *opaque, uint32_t block, uint64_t offset,
                       uint64_t length)
{
    return true;
}

/* A RAM_PAGES record of @n pages of block 0 at @pages (indexes), normal
 * ones filled with their index + @fill, loaded in postcopy. */
static void load_pages(PostcopyDest *pd, const uint64_t *pages,
                       const uint8_t *kinds, uint32_t n, uint8_t fill,
                       uint64_t packet)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autofree uint8_t *data = g_malloc0((size_t)n * 4096);
    uint64_t offsets[16];
    WireRamPagesHeader h = { .block = 0, .count = n, .page_size = 4096,
                             .packet = packet };
    size_t len = 0;
    WireRecord rec;

    for (uint32_t i = 0; i < n; i++) {
        offsets[i] = pages[i] * 4096;
        if (kinds[i] == WIRE_PAGE_NORMAL) {
            memset(data + len, (int)(pages[i] + fill), 4096);
            len += 4096;
        }
    }
    ck_assert(wire_ram_pages_encode(b, &h, offsets, kinds, data, len,
                                    &error_abort));
    rec = decoded(b);
    ck_assert(postcopy_dest_load(pd, rec.body, rec.len, &error_abort));
}

/* A record whose run of consecutive pages holds one placed already (it
 * came another way first, which ends a run's copy part-way): that page
 * keeps its content, every other page of the run is placed and counted,
 * and pages out of order or with a zero page between are placed too. */
START_TEST(test_place_runs)
{
    g_autoptr(GPtrArray) blocks = g_ptr_array_new_with_free_func(
        (GDestroyNotify)ram_block_free);
    RAMBlock *a = ram_block_new_anon("a", 16 * 4096, false, &error_abort);
    WireDiscardRange all = { 0, 16 * 4096 };
    uint64_t first[] = { 5 };
    uint64_t run[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
    uint64_t apart[] = { 13, 15, 14 };
    uint8_t normal[16], mixed[] = { WIRE_PAGE_NORMAL, WIRE_PAGE_ZERO,
                                    WIRE_PAGE_NORMAL };
    RamLoader rl;
    PostcopyDest *pd;

    memset(normal, WIRE_PAGE_NORMAL, sizeof(normal));
    g_ptr_array_add(blocks, a);
    ram_loader_init(&rl, blocks);
    pd = postcopy_dest_new(&rl, false);
    discard(pd, 0, &all, 1);
    ck_assert_uint_eq(postcopy_dest_pending(pd), 16);
    if (!postcopy_dest_listen(pd, ask_nobody, NULL, NULL)) {
        postcopy_dest_free(pd);
        ram_loader_destroy(&rl);
        vmig_skip("no userfaultfd here");
    }
    /* Page 5 first (a request on the preempt channel), then 0..12. */
    load_pages(pd, first, normal, 1, 0x40, 0);
    load_pages(pd, run, normal, G_N_ELEMENTS(run), 0, 1);
    /* Out of order and with a zero page between: no run. */
    load_pages(pd, apart, mixed, G_N_ELEMENTS(apart), 0, 2);
    ck_assert_uint_eq(postcopy_dest_pending(pd), 0);
    for (unsigned i = 0; i < 16; i++) {
        uint8_t want = i == 5 ? 5 + 0x40 : i == 15 ? 0 : i;

        ck_assert_msg(a->host[i * 4096] == want &&
                      a->host[i * 4096 + 4095] == want,
                      "page %u holds %u, not %u", i, a->host[i * 4096],
                      want);
    }
    ck_assert_uint_eq(qatomic_read(&rl.normal_pages), 1 + 13 + 2);
    ck_assert_uint_eq(qatomic_read(&rl.zero_pages), 1);
    postcopy_dest_free(pd);
    ram_loader_destroy(&rl);
}
END_TEST


#define HUGE (2 * 1024 * 1024)

START_TEST(test_discard_huge_whole)
{
    g_autoptr(GPtrArray) blocks = g_ptr_array_new_with_free_func(
        (GDestroyNotify)ram_block_free);
    WireDiscardRange r = { HUGE, HUGE };
    RAMBlock *h = ram_block_new_anon("h", 2 * HUGE, false, &error_abort);
    RamLoader rl;
    PostcopyDest *pd;

    /* Huge pages without hugetlbfs: only their size matters here. */
    h->page_size = HUGE;
    g_ptr_array_add(blocks, h);
    ram_loader_init(&rl, blocks);
    pd = postcopy_dest_new(&rl, false);
    discard_refused(pd, 0, 4096, 4096, "is not whole pages of RAM block "
                    "'h' (0x400000 bytes, 2097152-byte pages)");
    discard_refused(pd, 0, HUGE, 4096, "2097152-byte pages");
    ck_assert_uint_eq(postcopy_dest_pending(pd), 0);
    /* Every 4 KiB piece of a dropped huge page is pending. */
    discard(pd, 0, &r, 1);
    ck_assert_uint_eq(postcopy_dest_pending(pd), HUGE / 4096);
    postcopy_dest_free(pd);
    ram_loader_destroy(&rl);
}
END_TEST

START_TEST(test_discard_records_huge)
{
    RAMBlock *h = ram_block_new_anon("h", 3 * HUGE, false, &error_abort);
    g_autoptr(GPtrArray) blocks = g_ptr_array_new();
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autofree WireDiscardRange *r = g_new(WireDiscardRange,
                                           WIRE_DISCARD_RANGES_MAX);
    DirtyBitmap *t;
    WireRecord rec;
    uint32_t block, n;

    h->page_size = HUGE;
    ck_assert(ram_block_register(h, &error_abort));
    g_ptr_array_add(blocks, h);
    t = dirty_bitmap_start(DIRTY_LOG_BACKEND_SOFTWARE, &error_abort);
    /* One piece of the first huge page, the last piece of the third. */
    dirty_bitmap_set_dirty(t, h, 5);
    dirty_bitmap_set_dirty(t, h, 3 * HUGE / 4096 - 1);
    ck_assert_uint_eq(postcopy_discard_records(t, blocks, b),
                      2 * HUGE / 4096);
    /* Both whole, and every piece of them dirty: they go again. */
    ck_assert_uint_eq(dirty_bitmap_dirty_pages(t), 2 * HUGE / 4096);
    ck_assert(dirty_bitmap_is_dirty(t, h, 0));
    ck_assert(!dirty_bitmap_is_dirty(t, h, HUGE / 4096));
    ck_assert(dirty_bitmap_is_dirty(t, h, 2 * HUGE / 4096));
    rec = decoded(b);
    ck_assert(wire_postcopy_discard_decode(rec.body, rec.len, &block, r, &n,
                                           &error_abort));
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(r[0].offset, 0);
    ck_assert_uint_eq(r[0].length, HUGE);
    ck_assert_uint_eq(r[1].offset, 2 * HUGE);
    ck_assert_uint_eq(r[1].length, HUGE);
    dirty_bitmap_stop(t);
    ram_block_unregister(h);
    ram_block_free(h);
}
END_TEST

static void write_all(int fd, const GByteArray *b)
{
    ck_assert_int_eq(write(fd, b->data, b->len), (ssize_t)b->len);
}

/* A preempt receiver for @blocks, its channel bound; *@peer writes the
 * channel, *@main is the main stream a failure wakes. */
static PreemptRecv *preempt_bound(GPtrArray *blocks, int *peer,
                                  MigStream **main, int *main_peer)
{
    g_autoptr(MigrationConfig) cfg = migration_config_new_default();
    PreemptRecv *r;

    /* The records below carry no CRC (a socket's default has them). */
    cfg->checksum = MIGRATION_CHECKSUM_NONE;
    *main = stream_pair(main_peer);
    r = preempt_recv_new(cfg, blocks, *main);
    preempt_recv_add_channel(r, stream_pair(peer));
    ck_assert(preempt_recv_wait_bound(r, mig_deadline_after_ms(10000),
                                      &error_abort));
    return r;
}

/* The channel's end after @b's records and the source's close: NULL
 * @want, a good one. */
static void preempt_ends_with(GByteArray *b, const char *want,
                              bool main_woken)
{
    g_autoptr(GPtrArray) blocks = two_blocks();
    MigStream *main;
    int peer, main_peer;
    PreemptRecv *r = preempt_bound(blocks, &peer, &main, &main_peer);
    Error *err = NULL;

    write_all(peer, b);
    shutdown(peer, SHUT_WR);
    if (want) {
        ck_assert(!preempt_recv_wait_end(r, &err));
        ck_assert_msg(strstr(error_get_pretty(err), want), "%s",
                      error_get_pretty(err));
        error_free(err);
        /* The incoming thread stops too, unless the main channel
         * carries the reason (the source closed its channels). */
        ck_assert(mig_stream_is_woken(main) == main_woken);
    } else {
        ck_assert(preempt_recv_wait_end(r, &error_abort));
        ck_assert(!mig_stream_is_woken(main));
    }
    close(peer);
    preempt_recv_free(r);
    mig_stream_free(main);
    close(main_peer);
}

START_TEST(test_preempt_channel_records)
{
    g_autoptr(GPtrArray) blocks = two_blocks();
    g_autoptr(GByteArray) b = g_byte_array_new();
    struct iovec iov[3];
    RamPageBatch batch = {
        .block = g_ptr_array_index(blocks, 0), .block_index = 0,
        .count = 1, .offsets = { 0 }, .kinds = { WIRE_PAGE_ZERO },
    };
    size_t niov;

    /* END alone: a precopy that never switched. */
    wire_empty_encode(b, WIRE_REC_END, &error_abort);
    preempt_ends_with(b, NULL, false);

    /* Pages only once the destination listens (POSTCOPY_LISTEN). */
    g_byte_array_set_size(b, 0);
    niov = ram_batch_record_iov(&batch, 0, b, iov);
    ck_assert_uint_eq(niov, 1);     /* a zero page: no data, no padding */
    preempt_ends_with(b, "postcopy-preempt channel: RAM_PAGES before "
                      "POSTCOPY_LISTEN", true);

    /* Nothing but RAM_PAGES and END. */
    g_byte_array_set_size(b, 0);
    wire_sync_encode(b, 1, &error_abort);
    preempt_ends_with(b, "SYNC is not allowed on the postcopy-preempt "
                      "channel", true);

    /* Closed before END: the main channel says why. */
    g_byte_array_set_size(b, 0);
    preempt_ends_with(b, "the stream ended before END", false);
}
END_TEST

START_TEST(test_preempt_channel_after_stop)
{
    g_autoptr(GPtrArray) blocks = two_blocks();
    g_autoptr(MigrationConfig) cfg = migration_config_new_default();
    int peer, main_peer;
    MigStream *main = stream_pair(&main_peer);
    PreemptRecv *r = preempt_recv_new(cfg, blocks, main);
    Error *err = NULL;

    /* A channel bound after the session stopped is closed unread. */
    preempt_recv_stop(r);
    preempt_recv_add_channel(r, stream_pair(&peer));
    ck_assert(!preempt_recv_wait_bound(r, mig_deadline_after_ms(1), &err));
    ck_assert(strstr(error_get_pretty(err), "did not connect"));
    error_free(err);
    ck_assert_int_eq(read(peer, &err, 1), 0);   /* EOF: closed */
    close(peer);
    preempt_recv_free(r);
    mig_stream_free(main);
    close(main_peer);
}
END_TEST

START_TEST(test_received_bitmaps)
{
    g_autoptr(GPtrArray) blocks = two_blocks();
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autoptr(GByteArray) out = g_byte_array_new();
    WireDiscardRange r[] = { { 0, 8192 }, { BLOCK_SIZE - 4096, 4096 } };
    uint64_t npages[] = { BLOCK_SIZE / 4096, 2 * BLOCK_SIZE / 4096 };
    RamLoader rl;
    PostcopyDest *pd;
    WireRecord rec;
    size_t at = 0;

    ram_loader_init(&rl, blocks);
    pd = postcopy_dest_new(&rl, false);
    wire_postcopy_discard_encode(b, 0, r, 2, &error_abort);
    rec = decoded(b);
    ck_assert(postcopy_dest_discard(pd, rec.body, rec.len, &error_abort));

    /* One piece per block here, covering it; a bit is clear exactly for
     * a pending page. */
    ck_assert_uint_eq(postcopy_dest_received_bitmaps(pd, out), 2);
    for (uint32_t i = 0; i < 2; i++) {
        WireReceivedBitmap rb;

        ck_assert(wire_record_decode(out->data + at, out->len - at, &rec,
                                     &error_abort) == WIRE_OK);
        at += rec.size;
        ck_assert_uint_eq(rec.type, WIRE_REC_RECEIVED_BITMAP);
        ck_assert(wire_received_bitmap_decode(rec.body, rec.len, &rb,
                                              &error_abort));
        ck_assert_uint_eq(rb.block, i);
        ck_assert_uint_eq(rb.page_size, 4096);
        ck_assert(rb.first_bit == 0 && rb.n_bits == npages[i]);
        for (uint64_t p = 0; p < rb.n_bits; p++) {
            bool pending = i == 0 && (p < 2 || p == npages[0] - 1);

            ck_assert_msg(wire_received_bitmap_test(&rb, p) == !pending,
                          "block %u page %" G_GUINT64_FORMAT, i, p);
        }
    }
    ck_assert_uint_eq(at, out->len);
    postcopy_dest_free(pd);
    ram_loader_destroy(&rl);
}
END_TEST

/* release-ram: a page goes back to the host only once a PONG after the
 * PING that followed it arrived; until then it keeps its bytes. */
START_TEST(test_release_confirmed)
{
    g_autoptr(GPtrArray) blocks = two_blocks();
    RAMBlock *a = g_ptr_array_index(blocks, 0);
    PostcopyRelease *r = postcopy_release_new();
    RamPageBatch batch = { .block = a, .count = 2, .offsets = { 0, 4096 } };
    RamPageBatch later = { .block = a, .count = 1, .offsets = { 8192 } };

    memset(a->host, 0xaa, 3 * 4096);
    postcopy_release_sent(r, &batch, 3);
    postcopy_release_sent(r, &later, 4);
    ck_assert_uint_eq(postcopy_release_waiting(r), 3);
    /* PONG 2 confirms nothing sent before PING 3. */
    ck_assert_uint_eq(postcopy_release_confirmed(r, 2), 0);
    ck_assert_uint_eq(a->host[0], 0xaa);
    ck_assert_uint_eq(postcopy_release_confirmed(r, 3), 2);
    ck_assert_uint_eq(a->host[0], 0);
    ck_assert_uint_eq(a->host[4096 + 4095], 0);
    ck_assert_uint_eq(a->host[8192], 0xaa);
    ck_assert_uint_eq(postcopy_release_waiting(r), 1);
    ck_assert_uint_eq(postcopy_release_confirmed(r, UINT64_MAX), 1);
    ck_assert_uint_eq(a->host[8192], 0);
    ck_assert_uint_eq(postcopy_release_waiting(r), 0);
    postcopy_release_free(r);
}
END_TEST

#define FLOW_WINDOW 1024

/* Nothing unconfirmed at first; a quarter window written makes a mark
 * due, and a whole window stops the sender. */
START_TEST(test_flow_window_fills)
{
    PostcopyFlow f;

    postcopy_flow_init(&f, FLOW_WINDOW);
    ck_assert(postcopy_flow_may_send(&f));
    ck_assert(!postcopy_flow_mark_due(&f));
    postcopy_flow_sent(&f, FLOW_WINDOW / 4 - 1);
    ck_assert(!postcopy_flow_mark_due(&f));
    postcopy_flow_sent(&f, 1);
    ck_assert(postcopy_flow_mark_due(&f));
    postcopy_flow_marked(&f, 1);
    ck_assert(!postcopy_flow_mark_due(&f));
    postcopy_flow_sent(&f, FLOW_WINDOW / 2);
    ck_assert(postcopy_flow_may_send(&f));
    postcopy_flow_sent(&f, FLOW_WINDOW / 4);
    ck_assert(!postcopy_flow_may_send(&f));
}
END_TEST

/* A PONG confirms what went before the marks it answers, no more. */
START_TEST(test_flow_pong_confirms_marks)
{
    PostcopyFlow f;

    postcopy_flow_init(&f, FLOW_WINDOW);
    postcopy_flow_sent(&f, 300);
    postcopy_flow_marked(&f, 5);
    postcopy_flow_sent(&f, 300);
    postcopy_flow_marked(&f, 6);
    postcopy_flow_sent(&f, 500);
    ck_assert(!postcopy_flow_may_send(&f));
    /* A heartbeat's PONG, before the first mark, says nothing. */
    postcopy_flow_confirmed(&f, 4);
    ck_assert_uint_eq(f.confirmed, 0);
    ck_assert(!postcopy_flow_may_send(&f));
    postcopy_flow_confirmed(&f, 5);
    ck_assert_uint_eq(f.confirmed, 300);
    ck_assert(postcopy_flow_may_send(&f));
    postcopy_flow_confirmed(&f, 5);
    ck_assert_uint_eq(f.confirmed, 300);
    /* A heartbeat's PING numbered after the last mark went after it. */
    postcopy_flow_confirmed(&f, 9);
    ck_assert_uint_eq(f.confirmed, 600);
    ck_assert_uint_eq(f.count, 0);
}
END_TEST

/* The ring never overflows: once full no mark is due until a PONG. */
START_TEST(test_flow_marks_bounded)
{
    PostcopyFlow f;
    uint64_t seq = 0;

    postcopy_flow_init(&f, FLOW_WINDOW);
    for (int i = 0; i < 20; i++) {
        postcopy_flow_sent(&f, FLOW_WINDOW / 4);
        if (postcopy_flow_mark_due(&f)) {
            postcopy_flow_marked(&f, ++seq);
        }
    }
    ck_assert_uint_eq(f.count, POSTCOPY_FLOW_MARKS + 1);
    ck_assert(!postcopy_flow_mark_due(&f));
    postcopy_flow_confirmed(&f, seq);
    ck_assert_uint_eq(f.count, 0);
    ck_assert_uint_eq(f.confirmed,
                      (POSTCOPY_FLOW_MARKS + 1) * (uint64_t)FLOW_WINDOW / 4);
    /* What went after the last mark stays unconfirmed. */
    ck_assert_uint_eq(f.sent - f.confirmed,
                      (20 - POSTCOPY_FLOW_MARKS - 1) *
                      (uint64_t)FLOW_WINDOW / 4);
    ck_assert(postcopy_flow_mark_due(&f));
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
    tcase_add_test(tc, test_discard_shared);
    tcase_add_test(tc, test_discard_huge_whole);
    tcase_add_test(tc, test_discard_records_huge);
    tcase_add_test(tc, test_preempt_channel_records);
    tcase_add_test(tc, test_preempt_channel_after_stop);
    tcase_add_test(tc, test_received_bitmaps);
    tcase_add_test(tc, test_release_confirmed);
    tcase_add_test(tc, test_place_runs);
    tcase_add_test(tc, test_flow_window_fills);
    tcase_add_test(tc, test_flow_pong_confirms_marks);
    tcase_add_test(tc, test_flow_marks_bounded);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
