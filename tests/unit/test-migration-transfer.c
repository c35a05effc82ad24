/*
 * Unit tests for guest RAM and device state on the migration stream
 * (migration/ram/ram-save.c, ram-load.c, migration/devices/device-save.c,
 * device-load.c):
 * dirty pages into RAM_PAGES records and back into other memory, zero
 * pages, the loader's bounds checks, and device state collected in
 * HELLO's order, joined from pieces and loaded only when complete.
 */
#include <check.h>
#include "tests/check-error.h"
#include "tests/check-run.h"
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/channel-socket.h"
#include "migration/devices/devices.h"
#include "migration/ram/precopy-policy.h"
#include "migration/ram/ram.h"
#include "system/vmstate.h"
#include "system/ram.h"

#define MiB (1024 * 1024)
#define PAGE GUEST_PAGE_SIZE

/* Guest RAM: two registered blocks; their copies are not registered. */
static RAMBlock *src[2], *dst[2];

static void setup(void)
{
    src[0] = ram_block_new_anon("a", 1 * MiB, false, &error_abort);
    src[1] = ram_block_new_anon("b", 260 * PAGE, false, &error_abort);
    dst[0] = ram_block_new_anon("a", 1 * MiB, false, &error_abort);
    dst[1] = ram_block_new_anon("b", 260 * PAGE, false, &error_abort);
    ck_assert(ram_block_register(src[0], &error_abort));
    ck_assert(ram_block_register(src[1], &error_abort));
}

static void teardown(void)
{
    for (int i = 1; i >= 0; i--) {
        ram_block_unregister(src[i]);
        ram_block_free(src[i]);
        ram_block_free(dst[i]);
    }
}

static GPtrArray *dst_blocks(void)
{
    GPtrArray *a = g_ptr_array_new();

    g_ptr_array_add(a, dst[0]);
    g_ptr_array_add(a, dst[1]);
    return a;
}

/* Sends every dirty page into @rl; returns the record count. */
static unsigned transfer(RamSaver *rs, RamLoader *rl)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    unsigned records = 0;

    for (;;) {
        WireRecord rec;

        g_byte_array_set_size(b, 0);
        if (!ram_saver_next_record(rs, b, RAM_SAVE_BATCH_PAGES)) {
            return records;
        }
        ck_assert_int_eq(wire_record_decode(b->data, b->len, &rec,
                                            &error_abort), WIRE_OK);
        ck_assert_uint_eq(rec.size, b->len);
        ck_assert(ram_loader_load(rl, rec.body, rec.len, &error_abort));
        records++;
    }
}

START_TEST(test_ram_round_trip)
{
    g_autoptr(GPtrArray) blocks = dst_blocks();
    DirtyBitmap *t = dirty_bitmap_start(DIRTY_LOG_BACKEND_SOFTWARE,
                                        &error_abort);
    RamSaver rs;
    RamLoader rl;
    unsigned records;

    /* Some content, some zero pages, a page zero here but not there. */
    for (uint64_t p = 0; p < 256; p += 3) {
        memset(src[0]->host + p * PAGE, (int)(p % 255) + 1, PAGE);
    }
    src[1]->host[259 * PAGE + 7] = 0x5a;
    memset(dst[0]->host + 1 * PAGE, 0xee, PAGE);

    ram_saver_init(&rs, t, true);
    ram_loader_init(&rl, blocks);
    dirty_bitmap_set_all(t);
    records = transfer(&rs, &rl);
    /* Records never span blocks. */
    ck_assert_uint_eq(records, 256 / RAM_SAVE_BATCH_PAGES +
                               (260 + RAM_SAVE_BATCH_PAGES - 1) /
                               RAM_SAVE_BATCH_PAGES);
    ck_assert_uint_eq(rs.pages, 256 + 260);
    ck_assert_uint_eq(rs.normal_pages, 86 + 1);
    ck_assert_uint_eq(rs.zero_pages, 256 + 260 - 87);
    ck_assert_uint_eq(rl.normal_pages, rs.normal_pages);
    ck_assert_int_eq(memcmp(src[0]->host, dst[0]->host, 1 * MiB), 0);
    ck_assert_int_eq(memcmp(src[1]->host, dst[1]->host, 260 * PAGE), 0);
    ck_assert_uint_eq(dirty_bitmap_dirty_pages(t), 0);

    /* Nothing dirty: the next pass is empty; then only what changed. */
    ram_saver_rewind(&rs);
    ck_assert_uint_eq(transfer(&rs, &rl), 0);
    src[1]->host[3 * PAGE] = 1;
    dirty_log_note_write(src[1]->offset + 3 * PAGE, PAGE);
    ck_assert(dirty_bitmap_sync(t, &error_abort));
    ram_saver_rewind(&rs);
    ck_assert_uint_eq(transfer(&rs, &rl), 1);
    ck_assert_uint_eq(rs.pages, 256 + 260 + 1);
    ck_assert_int_eq(memcmp(src[1]->host, dst[1]->host, 260 * PAGE), 0);

    ram_saver_destroy(&rs);
    ram_loader_destroy(&rl);
    dirty_bitmap_stop(t);
}
END_TEST

START_TEST(test_ram_without_zero_detection)
{
    g_autoptr(GPtrArray) blocks = dst_blocks();
    DirtyBitmap *t = dirty_bitmap_start(DIRTY_LOG_BACKEND_SOFTWARE,
                                        &error_abort);
    RamSaver rs;
    RamLoader rl;

    ram_saver_init(&rs, t, false);
    ram_loader_init(&rl, blocks);
    dirty_bitmap_set_all(t);
    transfer(&rs, &rl);
    ck_assert_uint_eq(rs.zero_pages, 0);
    ck_assert_uint_eq(rs.normal_pages, 256 + 260);
    ram_saver_destroy(&rs);
    ram_loader_destroy(&rl);
    dirty_bitmap_stop(t);
}
END_TEST

/*
 * x-ignore-shared: a block left out of tracking is never sent, even
 * though written; a loader that does not expect it refuses its pages.
 */
START_TEST(test_ram_block_not_sent)
{
    g_autoptr(GPtrArray) skip = g_ptr_array_new();
    g_autoptr(GPtrArray) blocks = dst_blocks();
    g_autoptr(GPtrArray) all = dst_blocks();
    g_autoptr(GByteArray) b = g_byte_array_new();
    DirtyBitmap *t;
    RamSaver rs;
    RamLoader rl, strict;
    WireRecord rec;
    Error *err = NULL;

    g_ptr_array_add(skip, src[0]);
    t = dirty_bitmap_start_all_dirty(DIRTY_LOG_BACKEND_SOFTWARE, skip,
                                     &error_abort);
    ck_assert(!dirty_bitmap_tracks(t, src[0]));
    ck_assert(dirty_bitmap_tracks(t, src[1]));
    ck_assert_uint_eq(dirty_bitmap_dirty_pages(t), 260);
    memset(src[0]->host, 0x11, 1 * MiB);
    dirty_log_note_write(src[0]->offset, 1 * MiB);
    memset(src[1]->host, 0x22, PAGE);
    dirty_log_note_write(src[1]->offset, PAGE);
    ck_assert(dirty_bitmap_sync(t, &error_abort));
    ck_assert_uint_eq(dirty_bitmap_dirty_pages(t), 260);

    g_ptr_array_index(blocks, 0) = NULL;
    ram_saver_init(&rs, t, true);
    ram_loader_init(&rl, blocks);
    transfer(&rs, &rl);
    ck_assert_uint_eq(rs.pages, 260);
    ck_assert_int_eq(memcmp(src[1]->host, dst[1]->host, 260 * PAGE), 0);
    ck_assert_uint_eq(dst[0]->host[0], 0);      /* never sent */

    /* A record of block 0 anyway (from a saver tracking everything). */
    ram_saver_destroy(&rs);
    dirty_bitmap_stop(t);
    t = dirty_bitmap_start_all_dirty(DIRTY_LOG_BACKEND_SOFTWARE, NULL,
                                     &error_abort);
    ram_saver_init(&rs, t, true);
    ck_assert_uint_gt(ram_saver_next_record(&rs, b, 4), 0);
    ck_assert_int_eq(wire_record_decode(b->data, b->len, &rec,
                                        &error_abort), WIRE_OK);
    ck_assert(!ram_loader_load(&rl, rec.body, rec.len, &err));
    ck_assert_str_eq(error_get_pretty(err), "RAM_PAGES: block 0 is shared "
                     "and not sent (x-ignore-shared), but pages of it came");
    error_free(err);
    ram_loader_init(&strict, all);
    ck_assert(ram_loader_load(&strict, rec.body, rec.len, &error_abort));

    ram_saver_destroy(&rs);
    ram_loader_destroy(&rl);
    ram_loader_destroy(&strict);
    dirty_bitmap_stop(t);
}
END_TEST

START_TEST(test_ram_load_bounds)
{
    g_autoptr(GPtrArray) blocks = dst_blocks();
    g_autoptr(GByteArray) b = g_byte_array_new();
    uint8_t page[PAGE];
    uint64_t offsets[2];
    uint8_t kinds[2] = { WIRE_PAGE_NORMAL, WIRE_PAGE_ZERO };
    WireRamPagesHeader h = { .block = 1, .count = 2, .page_size = PAGE };
    Error *err = NULL;
    RamLoader rl;

    memset(page, 0x33, sizeof(page));
    ram_loader_init(&rl, blocks);

    /* The last page of the block is fine, one further is not. */
    offsets[0] = 259 * PAGE;
    offsets[1] = 0;
    h.packet = rl.next_packet;
    ck_assert(wire_ram_pages_encode(b, &h, offsets, kinds, page, PAGE,
                                    &error_abort));
    ck_assert(ram_loader_load(&rl, b->data + 8, b->len - 8, &error_abort));
    ck_assert_uint_eq(dst[1]->host[259 * PAGE + 100], 0x33);

    /* Packets count up by one: a repeat or a gap is refused. */
    for (uint64_t bad = 0; bad <= 2; bad += 2) {
        g_autofree char *expect = g_strdup_printf(
            "RAM_PAGES: packet %" G_GUINT64_FORMAT " where packet 1 was "
            "due: a batch of pages was lost or sent twice", bad);

        g_byte_array_set_size(b, 0);
        h.packet = bad;
        ck_assert(wire_ram_pages_encode(b, &h, offsets, kinds, page, PAGE,
                                        &error_abort));
        ck_assert(!ram_loader_load(&rl, b->data + 8, b->len - 8, &err));
        check_error(&err, expect);
    }

    g_byte_array_set_size(b, 0);
    offsets[1] = 260 * PAGE;
    dst[1]->host[0] = 9;
    h.packet = rl.next_packet;
    ck_assert(wire_ram_pages_encode(b, &h, offsets, kinds, page, PAGE,
                                    &error_abort));
    ck_assert(!ram_loader_load(&rl, b->data + 8, b->len - 8, &err));
    check_error(&err, "RAM_PAGES: page 1: 4096 bytes at offset 0x104000 "
                "are beyond the end of RAM block 'b' (1.01 MiB)");
    /* Nothing of a refused record is applied. */
    ck_assert_uint_eq(dst[1]->host[0], 9);

    g_byte_array_set_size(b, 0);
    offsets[1] = UINT64_MAX - PAGE + 1;
    h.packet = rl.next_packet;
    ck_assert(wire_ram_pages_encode(b, &h, offsets, kinds, page, PAGE,
                                    &error_abort));
    ck_assert(!ram_loader_load(&rl, b->data + 8, b->len - 8, &err));
    check_error(&err, "beyond the end of RAM block 'b'");

    g_byte_array_set_size(b, 0);
    h.block = 2;
    offsets[1] = 0;
    h.packet = rl.next_packet;
    ck_assert(wire_ram_pages_encode(b, &h, offsets, kinds, page, PAGE,
                                    &error_abort));
    ck_assert(!ram_loader_load(&rl, b->data + 8, b->len - 8, &err));
    check_error(&err, "RAM_PAGES: block 2 does not exist: HELLO listed 2 "
                "RAM blocks");

    g_byte_array_set_size(b, 0);
    h.block = 0;
    h.flags = WIRE_RAM_PAGES_COMPRESSED;
    h.packet = rl.next_packet;
    ck_assert(wire_ram_pages_encode(b, &h, offsets, kinds, page, 10,
                                    &error_abort));
    ck_assert(!ram_loader_load(&rl, b->data + 8, b->len - 8, &err));
    check_error(&err, "compressed");

    /* Malformed records are the decoder's to refuse. */
    ck_assert(!ram_loader_load(&rl, b->data + 8, 10, &err));
    check_error(&err, "RAM_PAGES: truncated");

    /* The zero page of the first load was written as zero. */
    ck_assert(ram_page_is_zero(dst[1]->host + PAGE));
    ram_loader_destroy(&rl);
}
END_TEST

/* ---- RAM through a socket: writev from guest memory, readv into it ---- */

/* Streams over the two ends of a socket pair. */
static void stream_pair(MigStream **w, MigStream **r)
{
    int sv[2];
    g_autoptr(QIOChannel) a = NULL;
    g_autoptr(QIOChannel) b = NULL;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    a = qio_channel_socket_new_fd(sv[0], "test:w", &error_abort);
    b = qio_channel_socket_new_fd(sv[1], "test:r", &error_abort);
    *w = mig_stream_new(a, &error_abort);
    *r = mig_stream_new(b, &error_abort);
}

typedef struct Sender {
    RamSaver *rs;
    MigStream *s;
    unsigned batch;             /* pages per record */
    unsigned records;
    uint64_t bytes;
} Sender;

/* Every dirty page with writev, then END; closes. */
static gpointer send_all(gpointer opaque)
{
    Sender *snd = opaque;
    g_autoptr(GByteArray) b = g_byte_array_new();
    struct iovec iov[RAM_SAVE_BATCH_MAX_PAGES + 2];
    size_t niov;

    for (;;) {
        g_byte_array_set_size(b, 0);
        if (!ram_saver_next_record_iov(snd->rs, b, iov, &niov,
                                       snd->batch)) {
            break;
        }
        for (size_t i = 0; i < niov; i++) {
            snd->bytes += iov[i].iov_len;
        }
        ck_assert_int_eq(mig_stream_writev(snd->s, iov, niov, 0,
                                           &error_abort), MIG_STREAM_OK);
        snd->records++;
    }
    g_byte_array_set_size(b, 0);
    wire_empty_encode(b, WIRE_REC_END, &error_abort);
    ck_assert_int_eq(mig_stream_write(snd->s, b->data, b->len, 0,
                                      &error_abort), MIG_STREAM_OK);
    ck_assert(mig_stream_close(snd->s, &error_abort));
    return NULL;
}

/* Loads RAM_PAGES records from @s until END; returns their count. */
static unsigned receive_all(RamLoader *rl, MigStream *s)
{
    unsigned records = 0;

    for (;;) {
        WireRecord rec;

        ck_assert_int_eq(mig_stream_read_record_header(s, &rec, 0,
                                                       &error_abort),
                         MIG_STREAM_OK);
        if (rec.type == WIRE_REC_END) {
            ck_assert_int_eq(mig_stream_read_record(s, &rec, 0,
                                                    &error_abort),
                             MIG_STREAM_OK);
            return records;
        }
        ck_assert_uint_eq(rec.type, WIRE_REC_RAM_PAGES);
        ck_assert_int_eq(ram_loader_load_from(rl, s, &rec, 0,
                                              &error_abort), RAM_LOAD_OK);
        records++;
    }
}

/* Every page through a socket in records of @batch pages. */
static void round_trip_stream(unsigned batch)
{
    g_autoptr(GPtrArray) blocks = dst_blocks();
    DirtyBitmap *t = dirty_bitmap_start(DIRTY_LOG_BACKEND_SOFTWARE,
                                        &error_abort);
    MigStream *w, *r;
    RamSaver rs;
    RamLoader rl;
    Sender snd = { .rs = &rs, .batch = batch };
    GThread *th;

    for (uint64_t p = 0; p < 256; p += 3) {
        memset(src[0]->host + p * PAGE, (int)(p % 255) + 1, PAGE);
    }
    /* A run of adjacent pages, across record boundaries at 64. */
    for (uint64_t p = 10; p < 110; p++) {
        memset(src[1]->host + p * PAGE, (int)p, PAGE);
    }
    src[1]->host[259 * PAGE + 7] = 0x5a;
    memset(dst[0]->host + 1 * PAGE, 0xee, PAGE);
    memset(dst[1]->host + 5 * PAGE, 0xee, PAGE);

    stream_pair(&w, &r);
    snd.s = w;
    ram_saver_init(&rs, t, true);
    ram_loader_init(&rl, blocks);
    dirty_bitmap_set_all(t);
    th = g_thread_new("send", send_all, &snd);
    ck_assert_uint_eq(receive_all(&rl, r), snd.records);
    g_thread_join(th);
    /* No record spans two blocks. */
    ck_assert_uint_eq(snd.records, (256 + batch - 1) / batch +
                                   (260 + batch - 1) / batch);
    /* Every byte counted, and the same as the records' size. */
    ck_assert_uint_eq(mig_stream_bytes_written(w), snd.bytes + 8);
    ck_assert_uint_eq(mig_stream_bytes_read(r), snd.bytes + 8);
    ck_assert_uint_eq(rl.normal_pages, rs.normal_pages);
    ck_assert_uint_eq(rl.zero_pages, rs.zero_pages);
    ck_assert_int_eq(memcmp(src[0]->host, dst[0]->host, 1 * MiB), 0);
    ck_assert_int_eq(memcmp(src[1]->host, dst[1]->host, 260 * PAGE), 0);

    ram_saver_destroy(&rs);
    ram_loader_destroy(&rl);
    dirty_bitmap_stop(t);
    mig_stream_free(w);
    mig_stream_free(r);
}

START_TEST(test_ram_round_trip_stream)
{
    round_trip_stream(RAM_SAVE_BATCH_PAGES);
}
END_TEST

START_TEST(test_ram_round_trip_stream_max_batch)
{
    round_trip_stream(RAM_SAVE_BATCH_MAX_PAGES);
}
END_TEST

/* Adjacent normal pages are one iovec entry; a zero page ends a run. */
START_TEST(test_ram_iov_runs)
{
    DirtyBitmap *t = dirty_bitmap_start(DIRTY_LOG_BACKEND_SOFTWARE,
                                        &error_abort);
    g_autoptr(GByteArray) b = g_byte_array_new();
    struct iovec iov[RAM_SAVE_BATCH_MAX_PAGES + 2];
    WireRecord rec;
    RamSaver rs;
    size_t niov, data = 0;

    memset(src[0]->host, 1, 3 * PAGE);
    memset(src[0]->host + 4 * PAGE, 2, 2 * PAGE);
    ram_saver_init(&rs, t, true);
    dirty_bitmap_set_all(t);
    ck_assert_uint_eq(ram_saver_next_record_iov(&rs, b, iov, &niov,
                                                RAM_SAVE_BATCH_MAX_PAGES),
                      256);
    ck_assert_uint_ge(niov, 3);
    ck_assert_ptr_eq(iov[1].iov_base, src[0]->host);
    ck_assert_uint_eq(iov[1].iov_len, 3 * PAGE);
    ck_assert_ptr_eq(iov[2].iov_base, src[0]->host + 4 * PAGE);
    ck_assert_uint_eq(iov[2].iov_len, 2 * PAGE);
    /* Then only the padding, outside guest memory. */
    for (size_t i = 3; i < niov; i++) {
        ck_assert((uint8_t *)iov[i].iov_base < src[0]->host ||
                  (uint8_t *)iov[i].iov_base >= src[0]->host + 1 * MiB);
        ck_assert_uint_lt(iov[i].iov_len, PAGE);
    }
    for (size_t i = 1; i < niov; i++) {
        data += iov[i].iov_len;
    }
    ck_assert_int_eq(wire_record_header_decode(b->data, b->len, &rec,
                                               &error_abort), WIRE_OK);
    ck_assert_uint_eq(b->len + data, rec.size);
    ck_assert_uint_eq(rs.normal_pages, 5);
    ck_assert_uint_eq(rs.zero_pages, 251);
    ram_saver_destroy(&rs);
    dirty_bitmap_stop(t);
}
END_TEST

/* Small records under a low limit, up to the largest without one. */
START_TEST(test_ram_batch_pages)
{
    unsigned last = 0;

    ck_assert_uint_eq(ram_save_batch_pages(0), RAM_SAVE_BATCH_MAX_PAGES);
    ck_assert_uint_eq(ram_save_batch_pages(1), RAM_SAVE_BATCH_PAGES);
    ck_assert_uint_eq(ram_save_batch_pages(8 * MiB), RAM_SAVE_BATCH_PAGES);
    ck_assert_uint_eq(ram_save_batch_pages(10ull * 1024 * MiB),
                      RAM_SAVE_BATCH_MAX_PAGES);
    for (uint64_t rate = MiB; rate <= 4096ull * MiB; rate *= 2) {
        unsigned pages = ram_save_batch_pages(rate);

        ck_assert_uint_ge(pages, last);
        ck_assert_uint_ge(pages, RAM_SAVE_BATCH_PAGES);
        ck_assert_uint_le(pages, RAM_SAVE_BATCH_MAX_PAGES);
        /* Above the minimum, a record is a small part of a window. */
        if (pages > RAM_SAVE_BATCH_PAGES) {
            ck_assert_uint_le((uint64_t)pages * PAGE,
                              rate / (G_USEC_PER_SEC / MIG_RATE_WINDOW_US) /
                              4);
        }
        last = pages;
    }
}
END_TEST

/* The same records as ram_saver_next_record() builds. */
START_TEST(test_ram_iov_matches_record)
{
    DirtyBitmap *t = dirty_bitmap_start(DIRTY_LOG_BACKEND_SOFTWARE,
                                        &error_abort);
    g_autoptr(GByteArray) a = g_byte_array_new();
    g_autoptr(GByteArray) b = g_byte_array_new();
    struct iovec iov[RAM_SAVE_BATCH_PAGES + 2];
    RamSaver rs1, rs2;
    size_t niov;

    for (uint64_t p = 0; p < 256; p += 2) {
        memset(src[0]->host + p * PAGE, (int)p + 1, PAGE);
    }
    ram_saver_init(&rs1, t, true);
    ram_saver_init(&rs2, t, true);
    for (;;) {
        unsigned n1, n2;

        dirty_bitmap_set_all(t);
        g_byte_array_set_size(a, 0);
        g_byte_array_set_size(b, 0);
        n1 = ram_saver_next_record(&rs1, a, RAM_SAVE_BATCH_PAGES);
        dirty_bitmap_set_all(t);
        n2 = ram_saver_next_record_iov(&rs2, b, iov, &niov,
                                       RAM_SAVE_BATCH_PAGES);
        ck_assert_uint_eq(n1, n2);
        if (!n1) {
            ck_assert_uint_eq(niov, 0);
            break;
        }
        ck_assert_ptr_eq(iov[0].iov_base, b->data);
        ck_assert_uint_eq(iov[0].iov_len, b->len);
        for (size_t i = 1; i < niov; i++) {
            g_byte_array_append(b, iov[i].iov_base, iov[i].iov_len);
        }
        ck_assert_uint_eq(a->len, b->len);
        ck_assert_int_eq(memcmp(a->data, b->data, a->len), 0);
    }
    ram_saver_destroy(&rs1);
    ram_saver_destroy(&rs2);
    dirty_bitmap_stop(t);
}
END_TEST

START_TEST(test_ram_load_stream_errors)
{
    g_autoptr(GPtrArray) blocks = dst_blocks();
    g_autoptr(GByteArray) b = g_byte_array_new();
    uint8_t page[2 * PAGE];
    uint64_t offsets[3] = { 0, 260 * PAGE, PAGE };
    uint8_t kinds[3] = { WIRE_PAGE_NORMAL, WIRE_PAGE_ZERO,
                         WIRE_PAGE_NORMAL };
    WireRamPagesHeader h = { .block = 1, .count = 3, .page_size = PAGE };
    Error *err = NULL;
    MigStream *w, *r;
    WireRecord rec;
    RamLoader rl;

    memset(page, 0x44, sizeof(page));
    ram_loader_init(&rl, blocks);

    /* Out of bounds: refused before anything is read into RAM. */
    stream_pair(&w, &r);
    dst[1]->host[0] = 9;
    h.packet = rl.next_packet;
    ck_assert(wire_ram_pages_encode(b, &h, offsets, kinds, page, 2 * PAGE,
                                    &error_abort));
    ck_assert_int_eq(mig_stream_write(w, b->data, b->len, 0, &error_abort),
                     MIG_STREAM_OK);
    ck_assert_int_eq(mig_stream_read_record_header(r, &rec, 0,
                                                   &error_abort),
                     MIG_STREAM_OK);
    ck_assert_int_eq(ram_loader_load_from(&rl, r, &rec, 0, &err),
                     RAM_LOAD_INVALID);
    check_error(&err, "RAM_PAGES: page 1: 4096 bytes at offset 0x104000 "
                "are beyond the end of RAM block 'b' (1.01 MiB)");
    ck_assert_uint_eq(dst[1]->host[0], 9);
    mig_stream_free(w);
    mig_stream_free(r);

    /* Cut off in the middle of the data, or of the offsets. */
    offsets[1] = 2 * PAGE;
    for (int cut = 0; cut < 2; cut++) {
        size_t len;

        g_byte_array_set_size(b, 0);
        h.packet = rl.next_packet;
        ck_assert(wire_ram_pages_encode(b, &h, offsets, kinds, page,
                                        2 * PAGE, &error_abort));
        len = cut ? 30 : b->len - 100;
        stream_pair(&w, &r);
        ck_assert_int_eq(mig_stream_write(w, b->data, len, 0,
                                          &error_abort), MIG_STREAM_OK);
        ck_assert(mig_stream_close(w, &error_abort));
        ck_assert_int_eq(mig_stream_read_record_header(r, &rec, 0,
                                                       &error_abort),
                         MIG_STREAM_OK);
        ck_assert_int_eq(ram_loader_load_from(&rl, r, &rec, 0, &err),
                         RAM_LOAD_IO_ERROR);
        {
            g_autofree char *expect = g_strdup_printf(
                "is truncated: EOF after %zu of %u bytes of a RAM_PAGES "
                "record", len, b->len);

            check_error(&err, expect);
        }
        mig_stream_free(w);
        mig_stream_free(r);
    }

    /* A whole record through the stream, page data in place. */
    g_byte_array_set_size(b, 0);
    h.packet = rl.next_packet;
    ck_assert(wire_ram_pages_encode(b, &h, offsets, kinds, page, 2 * PAGE,
                                    &error_abort));
    memset(dst[1]->host + 2 * PAGE, 0x11, PAGE);
    stream_pair(&w, &r);
    ck_assert_int_eq(mig_stream_write(w, b->data, b->len, 0, &error_abort),
                     MIG_STREAM_OK);
    ck_assert_int_eq(mig_stream_read_record_header(r, &rec, 0,
                                                   &error_abort),
                     MIG_STREAM_OK);
    ck_assert_int_eq(ram_loader_load_from(&rl, r, &rec, 0, &error_abort),
                     RAM_LOAD_OK);
    ck_assert_uint_eq(dst[1]->host[0], 0x44);
    ck_assert_uint_eq(dst[1]->host[2 * PAGE - 1], 0x44);
    ck_assert(ram_page_is_zero(dst[1]->host + 2 * PAGE));
    ck_assert_uint_eq(mig_stream_bytes_read(r), b->len);
    mig_stream_free(w);
    mig_stream_free(r);
    ram_loader_destroy(&rl);
}
END_TEST

/* ---- Devices ---- */

typedef struct TestDev {
    DeviceStateOps ops;
    GByteArray *state;      /* what save() writes, load() got */
    unsigned loads;
} TestDev;

static bool dev_save(void *opaque, GByteArray *out, Error **errp)
{
    TestDev *d = opaque;

    g_byte_array_append(out, d->state->data, d->state->len);
    return true;
}

static bool dev_load(void *opaque, const uint8_t *buf, size_t len,
                     uint32_t version, Error **errp)
{
    TestDev *d = opaque;

    g_byte_array_set_size(d->state, 0);
    g_byte_array_append(d->state, buf, len);
    d->loads++;
    return true;
}

static void dev_init(TestDev *d, const char *id, uint32_t version,
                     size_t size)
{
    d->ops = (DeviceStateOps){ .id = id, .version = version,
                               .min_version = 1, .max_size = size,
                               .shape = vmstate_shape_none,
                               .save = dev_save, .load = dev_load,
                               .opaque = d };
    d->state = g_byte_array_sized_new(size);
    g_byte_array_set_size(d->state, size);
    for (size_t i = 0; i < size; i++) {
        d->state->data[i] = (uint8_t)(i * 13 + version);
    }
    d->loads = 0;
}

/* Feeds every record of @stream (DEVICE_STATE records) to @set. */
static bool feed(DeviceLoadSet *set, const GByteArray *stream, Error **errp)
{
    size_t pos = 0;

    while (pos < stream->len) {
        WireRecord rec;

        ck_assert_int_eq(wire_record_decode(stream->data + pos,
                                            stream->len - pos, &rec,
                                            &error_abort), WIRE_OK);
        if (!device_load_set_add(set, rec.body, rec.len, errp)) {
            return false;
        }
        pos += rec.size;
    }
    return true;
}

START_TEST(test_devices)
{
    /* One state big enough to be split into pieces, one empty. */
    TestDev big, empty;
    g_autoptr(GByteArray) stream = g_byte_array_new();
    g_autoptr(GByteArray) saved = NULL;
    g_autoptr(WireHello) h = wire_hello_new();
    g_autoptr(DeviceLoadSet) set = NULL;
    size_t pieces = 0, pos = 0;

    dev_init(&big, "big", 2, DEVICE_STATE_CHUNK * 2 + 17);
    dev_init(&empty, "empty", 1, 0);
    ck_assert(device_state_register(&big.ops, &error_abort));
    ck_assert(device_state_register(&empty.ops, &error_abort));
    ck_assert(device_save_all(stream, &error_abort));
    while (pos < stream->len) {
        WireRecord rec;

        wire_record_decode(stream->data + pos, stream->len - pos, &rec,
                           &error_abort);
        pos += rec.size;
        pieces++;
    }
    ck_assert_uint_eq(pieces, 3 + 1);
    /* The switchover decision's bound holds the records, just. */
    ck_assert_uint_ge(device_save_max_bytes(), stream->len);
    ck_assert_uint_lt(device_save_max_bytes(),
                      stream->len + pieces * WIRE_ALIGN);

    wire_hello_add_device(h, "big", 2, 1);
    wire_hello_add_device(h, "empty", 1, 1);
    set = device_load_set_new(h);
    saved = g_byte_array_new();
    g_byte_array_append(saved, big.state->data, big.state->len);
    g_byte_array_set_size(big.state, 0);
    ck_assert(!device_load_set_started(set));
    ck_assert(feed(set, stream, &error_abort));
    ck_assert(device_load_set_started(set));
    ck_assert(device_load_set_complete(set, &error_abort));
    ck_assert(device_load_set_apply(set, &error_abort));
    ck_assert_uint_eq(big.loads, 1);
    ck_assert_uint_eq(empty.loads, 1);
    ck_assert_uint_eq(big.state->len, saved->len);
    ck_assert_int_eq(memcmp(big.state->data, saved->data, saved->len), 0);

    device_state_unregister(&empty.ops);
    device_state_unregister(&big.ops);
    g_byte_array_unref(big.state);
    g_byte_array_unref(empty.state);
}
END_TEST

START_TEST(test_device_order_and_versions)
{
    g_autoptr(WireHello) h = wire_hello_new();
    g_autoptr(GByteArray) b = g_byte_array_new();
    DeviceLoadSet *set;
    Error *err = NULL;
    TestDev a, bdev;

    dev_init(&a, "a", 2, 1);
    dev_init(&bdev, "b", 1, 2);
    ck_assert(device_state_register(&a.ops, &error_abort));
    ck_assert(device_state_register(&bdev.ops, &error_abort));
    wire_hello_add_device(h, "a", 2, 1);
    wire_hello_add_device(h, "b", 1, 1);

    /* Out of HELLO's order. */
    set = device_load_set_new(h);
    wire_device_state_encode(b, "b", 1, 0, "x", 1, &error_abort);
    ck_assert(!feed(set, b, &err));
    check_error(&err, "DEVICE_STATE: got the state of 'b', expected that "
                "of 'a' (HELLO's order)");
    device_load_set_free(set);

    /* Saved as another version than HELLO announced. */
    set = device_load_set_new(h);
    g_byte_array_set_size(b, 0);
    wire_device_state_encode(b, "a", 1, 0, "x", 1, &error_abort);
    ck_assert(!feed(set, b, &err));
    check_error(&err, "DEVICE_STATE: 'a': state version 1, but HELLO "
                "announced version 2");
    device_load_set_free(set);

    /* END before all devices, or inside a device's pieces. */
    set = device_load_set_new(h);
    g_byte_array_set_size(b, 0);
    wire_device_state_encode(b, "a", 2, 0, "x", 1, &error_abort);
    ck_assert(feed(set, b, &error_abort));
    ck_assert(!device_load_set_complete(set, &err));
    check_error(&err, "END: the state of device 'b' never arrived");
    g_byte_array_set_size(b, 0);
    wire_device_state_encode(b, "b", 1, WIRE_DEVICE_STATE_MORE, "x", 1,
                             &error_abort);
    ck_assert(feed(set, b, &error_abort));
    ck_assert(!device_load_set_complete(set, &err));
    check_error(&err, "END: the state of device 'b' is incomplete");
    g_byte_array_set_size(b, 0);
    wire_device_state_encode(b, "b", 1, 0, "y", 1, &error_abort);
    ck_assert(feed(set, b, &error_abort));
    ck_assert(device_load_set_complete(set, &error_abort));
    /* Once everything has arrived, nothing more may. */
    ck_assert(!feed(set, b, &err));
    check_error(&err, "every device listed in HELLO has its state already");
    /* A device gone from the registry cannot be loaded. */
    device_state_unregister(&bdev.ops);
    device_state_unregister(&a.ops);
    ck_assert(!device_load_set_apply(set, &err));
    check_error(&err, "device 'a' is not registered here");
    device_load_set_free(set);
    g_byte_array_unref(a.state);
    g_byte_array_unref(bdev.state);
}
END_TEST

/* A device's pieces may add up to its declared max_size, not a byte
 * more: the piece that would pass it is refused, not kept. */
START_TEST(test_device_state_cap)
{
    g_autoptr(WireHello) h = wire_hello_new();
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autoptr(DeviceLoadSet) set = NULL;
    uint8_t data[60] = { 0 };
    Error *err = NULL;
    TestDev dev;

    dev_init(&dev, "capped", 1, 100);
    ck_assert(device_state_register(&dev.ops, &error_abort));
    wire_hello_add_device(h, "capped", 1, 1);

    /* One piece alone larger than the maximum. */
    set = device_load_set_new(h);
    g_byte_array_set_size(dev.state, 101);
    g_byte_array_set_size(b, 0);
    wire_device_state_encode(b, "capped", 1, 0, dev.state->data, 101,
                             &error_abort);
    ck_assert(!feed(set, b, &err));
    check_error(&err, "DEVICE_STATE: 'capped': the state would be 101 "
                "bytes, more than the 100 bytes this device declares as "
                "its maximum");
    g_clear_pointer(&set, device_load_set_free);

    /* Pieces that pass it together: the second is refused. */
    set = device_load_set_new(h);
    g_byte_array_set_size(b, 0);
    wire_device_state_encode(b, "capped", 1, WIRE_DEVICE_STATE_MORE, data,
                             sizeof(data), &error_abort);
    ck_assert(feed(set, b, &error_abort));
    ck_assert(!feed(set, b, &err));
    check_error(&err, "'capped': the state would be 120 bytes, more than "
                "the 100 bytes");
    g_clear_pointer(&set, device_load_set_free);

    /* Exactly the maximum loads. */
    set = device_load_set_new(h);
    ck_assert(feed(set, b, &error_abort));
    g_byte_array_set_size(b, 0);
    wire_device_state_encode(b, "capped", 1, 0, data, 40, &error_abort);
    ck_assert(feed(set, b, &error_abort));
    ck_assert(device_load_set_complete(set, &error_abort));
    ck_assert(device_load_set_apply(set, &error_abort));
    ck_assert_uint_eq(dev.state->len, 100);

    device_state_unregister(&dev.ops);
    g_byte_array_unref(dev.state);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("migration-transfer");
    TCase *tr = tcase_create("ram");
    TCase *td = tcase_create("devices");
    SRunner *sr;

    tcase_add_checked_fixture(tr, setup, teardown);
    tcase_add_test(tr, test_ram_round_trip);
    tcase_add_test(tr, test_ram_without_zero_detection);
    tcase_add_test(tr, test_ram_block_not_sent);
    tcase_add_test(tr, test_ram_load_bounds);
    tcase_add_test(tr, test_ram_round_trip_stream);
    tcase_add_test(tr, test_ram_round_trip_stream_max_batch);
    tcase_add_test(tr, test_ram_iov_runs);
    tcase_add_test(tr, test_ram_batch_pages);
    tcase_add_test(tr, test_ram_iov_matches_record);
    tcase_add_test(tr, test_ram_load_stream_errors);
    suite_add_tcase(s, tr);
    tcase_set_timeout(td, 30);
    tcase_add_test(td, test_devices);
    tcase_add_test(td, test_device_order_and_versions);
    tcase_add_test(td, test_device_state_cap);
    suite_add_tcase(s, td);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
