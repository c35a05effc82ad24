/*
 * Unit tests for record checksums (protocol section "Checksums"): the
 * wire form (a CRC32C of header and body ending the body), every bit
 * flip of a record refused, HELLO's CHECKSUM extension, and a MigStream
 * adding and checking them across writes split anywhere, reads in parts
 * included, and records bigger than the writer's copy and than one
 * read.
 */
#include <check.h>
#include "tests/check-error.h"
#include "tests/check-run.h"
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/channel-file.h"
#include "io/channel-socket.h"
#include "migration/config.h"
#include "migration/transport/stream.h"
#include "util/crc32c.h"

/* A SYNC checksummed by hand: the CRC of the grown header and body. */
START_TEST(test_wire_form)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    uint8_t want[24] = { 0, 0, 0, 0x12, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 7 };
    uint32_t crc = crc32c(0, want, 16);
    WireRecord rec;
    uint64_t it;

    for (int i = 0; i < 4; i++) {
        want[16 + i] = crc >> (24 - 8 * i);
    }
    wire_sync_encode(b, 7, &error_abort);
    wire_records_add_checksum(b, 0);
    ck_assert_uint_eq(b->len, 24);
    ck_assert_mem_eq(b->data, want, 24);
    ck_assert_int_eq(wire_record_decode_checksummed(b->data, b->len, 0, &rec,
                                                    &error_abort), WIRE_OK);
    ck_assert_uint_eq(rec.len, 8);
    ck_assert_uint_eq(rec.size, 24);
    ck_assert(wire_sync_decode(rec.body, rec.len, &it, &error_abort));
    ck_assert_uint_eq(it, 7);
}
END_TEST

/* Every single bit flipped in a checksummed record is refused; in the
 * body or the CRC it is a checksum mismatch naming record and offset. */
START_TEST(test_every_bit)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    uint8_t data[37];

    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = i * 13;
    }
    ck_assert(wire_device_state_encode(b, "dev", 1, 0, data, sizeof(data),
                                       &error_abort));
    wire_records_add_checksum(b, 0);
    for (size_t bit = 0; bit < b->len * 8; bit++) {
        Error *err = NULL;
        WireRecord rec;

        b->data[bit / 8] ^= 1u << (bit % 8);
        ck_assert_int_ne(wire_record_decode_checksummed(b->data, b->len,
                                                        4096, &rec, &err),
                         WIRE_OK);
        /* Body: id (2 + 3), version, flags, data (4 + 37), CRC. */
        if (bit / 8 >= WIRE_RECORD_HEADER_SIZE &&
            bit / 8 < WIRE_RECORD_HEADER_SIZE + 5 + 4 + 4 + 41 + 4) {
            ck_assert_ptr_nonnull(err);
            ck_assert_ptr_nonnull(strstr(error_get_pretty(err),
                                         "DEVICE_STATE at offset 4096: "
                                         "checksum mismatch (expected 0x"));
        }
        error_free(err);
        b->data[bit / 8] ^= 1u << (bit % 8);
    }
}
END_TEST

START_TEST(test_limits)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    Error *err = NULL;
    WireRecord rec;

    /* A fixed-size record may be its size plus the CRC, no more. */
    wire_put_u32(b, WIRE_REC_SYNC);
    wire_put_u32(b, 13);
    ck_assert_int_eq(wire_record_header_decode_checksummed(b->data, b->len,
                                                           96, &rec, &err),
                     WIRE_ERROR);
    check_error(&err, "at offset 96: SYNC: body length 13 exceeds 12");
    g_byte_array_set_size(b, 0);
    wire_put_u32(b, WIRE_REC_END);
    wire_put_u32(b, 3);
    ck_assert_int_eq(wire_record_header_decode_checksummed(b->data, b->len,
                                                           0, &rec, &err),
                     WIRE_ERROR);
    check_error(&err, "END: body length 3 is too short for its checksum");
}
END_TEST

static WireHello *checksummed_hello(void)
{
    WireHello *h = wire_hello_new();

    memset(h->session_id, 7, sizeof(h->session_id));
    h->config->has_checksum = true;
    h->config->checksum = MIGRATION_CHECKSUM_CRC32C;
    wire_hello_add_ram_block(h, "pc.ram", 1 << 20, 4096);
    wire_hello_add_device(h, "counter", 1, 1);
    return h;
}

START_TEST(test_hello)
{
    g_autoptr(WireHello) h = checksummed_hello();
    g_autoptr(GByteArray) b = g_byte_array_new();
    size_t body = WIRE_RECORD_HEADER_SIZE;
    WireRecord rec;
    uint32_t len;

    ck_assert(wire_hello_encode(h, b, &error_abort));
    ck_assert_int_eq(wire_record_decode(b->data, b->len, &rec, &error_abort),
                     WIRE_OK);
    len = rec.len;
    /* The last entry: CHECKSUM, 4 bytes, the CRC of what precedes. */
    ck_assert_uint_eq(wire_load_u32(rec.body + len - 12), WIRE_EXT_CHECKSUM);
    ck_assert_uint_eq(wire_load_u32(rec.body + len - 8), 4);
    ck_assert_uint_eq(wire_load_u32(rec.body + len - 4),
                      crc32c(0, rec.body, len - 12));
    /* Any flip before it: a checksum mismatch, whatever field it hit. */
    for (size_t i = 0; i < len - 12; i++) {
        g_autoptr(WireHello) back = NULL;
        Error *err = NULL;

        b->data[body + i] ^= 0x40;
        ck_assert(!wire_hello_decode(b->data + body, len, &back, NULL, &err));
        check_error(&err, "HELLO: checksum mismatch");
        b->data[body + i] ^= 0x40;
    }
    /* Its type flipped to an optional one: skipped, so missing. */
    b->data[body + len - 12] ^= 0x80;
    {
        g_autoptr(WireHello) back = NULL;
        Error *err = NULL;

        ck_assert(!wire_hello_decode(b->data + body, len, &back, NULL, &err));
        check_error(&err, "HELLO: the configuration has checksum "
                       "\"crc32c\", but the CHECKSUM extension is missing");
    }
}
END_TEST

START_TEST(test_mapped_ram_checksums)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    static const uint32_t crcs[] = { 0x12345678, 0x9abcdef0 };
    uint32_t back[2];
    Error *err = NULL;
    WireRecord rec;

    ck_assert(wire_mapped_ram_checksums_encode(b, crcs, 2, &error_abort));
    ck_assert_int_eq(wire_record_decode(b->data, b->len, &rec, &error_abort),
                     WIRE_OK);
    ck_assert_uint_eq(rec.type, WIRE_REC_MAPPED_RAM_CHECKSUMS);
    ck_assert(wire_mapped_ram_checksums_decode(rec.body, rec.len, 2, back,
                                               &error_abort));
    ck_assert_mem_eq(back, crcs, sizeof(crcs));
    ck_assert(!wire_mapped_ram_checksums_decode(rec.body, rec.len, 3, back,
                                                &err));
    check_error(&err, "MAPPED_RAM_CHECKSUMS: 2 checksums for 3 RAM "
                   "blocks");
}
END_TEST

/* ---- Through a MigStream ---- */

/* A RAM_PAGES of 3 pages (one zero) plus SYNC and END: what a source
 * writes, split at @cut into two writes (0: one writev). */
static void write_records(MigStream *s, size_t cut, const uint8_t *pages)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    WireRamPagesHeader h = { .block = 0, .count = 3, .page_size = 4096 };
    static const uint64_t offsets[] = { 0, 4096, 8192 };
    static const uint8_t kinds[] = { 1, 0, 1 };
    uint8_t all[2 * 4096];

    memcpy(all, pages, sizeof(all));
    ck_assert(wire_ram_pages_encode(b, &h, offsets, kinds, all, sizeof(all),
                                    &error_abort));
    wire_sync_encode(b, 1, &error_abort);
    wire_empty_encode(b, WIRE_REC_END, &error_abort);
    if (!cut) {
        struct iovec iov = { b->data, b->len };

        ck_assert_int_eq(mig_stream_writev(s, &iov, 1, 0, &error_abort),
                         MIG_STREAM_OK);
        return;
    }
    ck_assert_int_eq(mig_stream_write(s, b->data, cut, 0, &error_abort),
                     MIG_STREAM_OK);
    ck_assert_int_eq(mig_stream_write(s, b->data + cut, b->len - cut, 0,
                                      &error_abort), MIG_STREAM_OK);
}

START_TEST(test_stream_round_trip)
{
    uint8_t pages[2 * 4096];
    int sv[2];

    for (size_t i = 0; i < sizeof(pages); i++) {
        pages[i] = i * 31 + 1;
    }
    /* Splits inside the header, the offsets, the pages, the padding. */
    for (size_t cut = 0; cut < 8300; cut += cut < 64 ? 1 : 997) {
        g_autoptr(QIOChannel) wc = NULL, rc = NULL;
        g_autoptr(MigStream) w = NULL, r = NULL;
        uint8_t got[2 * 4096];
        struct iovec iov[2] = { { got, 4096 }, { got + 4096, 4096 } };
        WireRamPages p;
        WireRecord rec;

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        wc = qio_channel_socket_new_fd(sv[0], "w", &error_abort);
        rc = qio_channel_socket_new_fd(sv[1], "r", &error_abort);
        w = mig_stream_new(wc, &error_abort);
        r = mig_stream_new(rc, &error_abort);
        mig_stream_checksum_writes(w);
        mig_stream_checksum_reads(r);
        write_records(w, cut, pages);
        /* The pages read in parts, straight into place. */
        ck_assert_int_eq(mig_stream_read_record_header(r, &rec, 0,
                                                       &error_abort),
                         MIG_STREAM_OK);
        ck_assert_uint_eq(rec.type, WIRE_REC_RAM_PAGES);
        ck_assert_int_eq(mig_stream_read_record_prefix(r, &rec,
                                                       rec.len - 8192, 0,
                                                       &error_abort),
                         MIG_STREAM_OK);
        ck_assert(wire_ram_pages_decode_head(rec.body, rec.len - 8192,
                                             rec.len, &p, &error_abort));
        ck_assert_int_eq(mig_stream_read_record_into(r, &rec, rec.len - 8192,
                                                     iov, 2, 0,
                                                     &error_abort),
                         MIG_STREAM_OK);
        ck_assert_mem_eq(got, pages, sizeof(got));
        ck_assert_int_eq(mig_stream_read_record(r, &rec, 0, &error_abort),
                         MIG_STREAM_OK);
        ck_assert_uint_eq(rec.type, WIRE_REC_SYNC);
        ck_assert_uint_eq(rec.len, 8);
        ck_assert_int_eq(mig_stream_read_record(r, &rec, 0, &error_abort),
                         MIG_STREAM_OK);
        ck_assert_uint_eq(rec.type, WIRE_REC_END);
        ck_assert_uint_eq(rec.len, 0);
    }
}
END_TEST

/* A page changed on the way is caught after it landed, by offset. */
START_TEST(test_stream_corrupt_page)
{
    uint8_t pages[2 * 4096] = { 0 };
    uint8_t wire[1 << 15];
    uint8_t got[2 * 4096];
    struct iovec iov[2] = { { got, 4096 }, { got + 4096, 4096 } };
    g_autoptr(QIOChannel) wc = NULL, rc = NULL;
    g_autoptr(MigStream) w = NULL, r = NULL;
    int a[2], b[2];
    ssize_t n;
    WireRecord rec;
    Error *err = NULL;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
    wc = qio_channel_socket_new_fd(a[0], "w", &error_abort);
    rc = qio_channel_socket_new_fd(b[0], "r", &error_abort);
    w = mig_stream_new(wc, &error_abort);
    r = mig_stream_new(rc, &error_abort);
    mig_stream_checksum_writes(w);
    mig_stream_checksum_reads(r);
    write_records(w, 0, pages);
    n = read(a[1], wire, sizeof(wire));
    ck_assert_int_gt(n, 5000);
    wire[5000] ^= 4;                    /* in the second page */
    ck_assert_int_eq(write(b[1], wire, n), n);
    ck_assert_int_eq(mig_stream_read_record_header(r, &rec, 0, &error_abort),
                     MIG_STREAM_OK);
    ck_assert_int_eq(mig_stream_read_record_prefix(r, &rec, rec.len - 8192,
                                                   0, &error_abort),
                     MIG_STREAM_OK);
    ck_assert_int_eq(mig_stream_read_record_into(r, &rec, rec.len - 8192,
                                                 iov, 2, 0, &err),
                     MIG_STREAM_ERROR);
    check_error(&err, "RAM_PAGES at offset 0: checksum mismatch");
    close(a[1]);
    close(b[1]);
}
END_TEST

/* ---- Records far bigger than the writer's copy and than one read ---- */

#define BIG_PAGES 700               /* 2.8 MiB of pages */

/* RAM_PAGES of BIG_PAGES random pages, a DEVICE_STATE, SYNC and END, as
 * encoded (@plain) and as they must go out checksummed (@wire). */
static void big_records(GByteArray *plain, GByteArray *wire,
                        uint8_t **pages)
{
    WireRamPagesHeader h = {
        .block = 0, .count = BIG_PAGES, .page_size = 4096,
    };
    g_autofree uint64_t *offsets = g_new(uint64_t, BIG_PAGES);
    g_autofree uint8_t *kinds = g_new(uint8_t, BIG_PAGES);
    GRand *rand = g_rand_new_with_seed(5);
    uint8_t dev[333];

    *pages = g_malloc(BIG_PAGES * 4096);
    for (size_t i = 0; i < BIG_PAGES * 4096; i++) {
        (*pages)[i] = g_rand_int(rand);
    }
    for (size_t i = 0; i < sizeof(dev); i++) {
        dev[i] = g_rand_int(rand);
    }
    g_rand_free(rand);
    for (unsigned i = 0; i < BIG_PAGES; i++) {
        offsets[i] = i * 4096ull;
        kinds[i] = WIRE_PAGE_NORMAL;
    }
    ck_assert(wire_ram_pages_encode(plain, &h, offsets, kinds, *pages,
                                    BIG_PAGES * 4096, &error_abort));
    ck_assert(wire_device_state_encode(plain, "dev", 1, 0, dev, sizeof(dev),
                                       &error_abort));
    wire_sync_encode(plain, 1, &error_abort);
    wire_empty_encode(plain, WIRE_REC_END, &error_abort);
    g_byte_array_append(wire, plain->data, plain->len);
    wire_records_add_checksum(wire, 0);
}

typedef struct BigWriter {
    MigStream *s;           /* writes @data through it, in odd pieces */
    int fd;                 /* or, if @s is NULL, raw to this */
    const GByteArray *data;
} BigWriter;

static gpointer big_writer_fn(gpointer opaque)
{
    BigWriter *w = opaque;
    const size_t piece = 4093;

    if (!w->s) {
        for (size_t off = 0; off < w->data->len;) {
            ssize_t n = write(w->fd, w->data->data + off,
                              w->data->len - off);

            ck_assert_int_gt(n, 0);
            off += n;
        }
        return NULL;
    }
    /* One writev of many pieces, none aligned to anything. */
    {
        size_t niov = (w->data->len + piece - 1) / piece;
        g_autofree struct iovec *iov = g_new(struct iovec, niov);

        for (size_t i = 0; i < niov; i++) {
            iov[i].iov_base = w->data->data + i * piece;
            iov[i].iov_len = MIN(piece, w->data->len - i * piece);
        }
        ck_assert_int_eq(mig_stream_writev(w->s, iov, niov, 0,
                                           &error_abort), MIG_STREAM_OK);
    }
    return NULL;
}

/* Two socket pairs' ends: a stream writing at *@w, reading at *@r, and
 * the raw descriptors @fds: [0] reads what *@w wrote, [1] feeds *@r. */
static void big_pairs(MigStream **w, MigStream **r, int fds[2])
{
    g_autoptr(QIOChannel) wc = NULL, rc = NULL;
    int a[2], b[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
    wc = qio_channel_socket_new_fd(a[0], "w", &error_abort);
    rc = qio_channel_socket_new_fd(b[0], "r", &error_abort);
    *w = mig_stream_new(wc, &error_abort);
    *r = mig_stream_new(rc, &error_abort);
    mig_stream_checksum_writes(*w);
    mig_stream_checksum_reads(*r);
    fds[0] = a[1];
    fds[1] = b[1];
}

/* The writer copies and checksums in batches and sends each: what goes
 * out is exactly the records with their CRCs. */
START_TEST(test_stream_big_write)
{
    g_autoptr(GByteArray) plain = g_byte_array_new();
    g_autoptr(GByteArray) wire = g_byte_array_new();
    g_autofree uint8_t *pages = NULL;
    g_autofree uint8_t *got = NULL;
    g_autoptr(MigStream) w = NULL, r = NULL;
    BigWriter bw;
    GThread *t;
    int fds[2];

    big_records(plain, wire, &pages);
    big_pairs(&w, &r, fds);
    bw = (BigWriter){ .s = w, .data = plain };
    t = g_thread_new("writer", big_writer_fn, &bw);
    got = g_malloc(wire->len);
    for (size_t off = 0; off < wire->len;) {
        ssize_t n = read(fds[0], got + off, wire->len - off);

        ck_assert_int_gt(n, 0);
        off += n;
    }
    g_thread_join(t);
    ck_assert_int_eq(memcmp(got, wire->data, wire->len), 0);
    ck_assert_uint_eq(mig_stream_bytes_written(w), wire->len);
    close(fds[0]);
    close(fds[1]);
}
END_TEST

/*
 * The big RAM_PAGES read in parts, its pages straight into place over
 * many reads, each checked as it lands: with @flip (a byte offset into
 * the pages, or -1 for none) changed on the wire, refused.
 */
static void big_read_into(MigStream *r, int feed, GByteArray *wire,
                          const uint8_t *pages, long flip)
{
    g_autofree uint8_t *got = g_malloc(BIG_PAGES * 4096);
    struct iovec iov[BIG_PAGES];
    BigWriter bw = { .fd = feed, .data = wire };
    size_t head;
    WireRecord rec;
    Error *err = NULL;
    GThread *t;

    head = wire_ram_pages_head_size(NULL, 0);
    if (flip >= 0) {
        /* The pages end the body, after the header and offsets. */
        wire->data[WIRE_RECORD_HEADER_SIZE +
                   wire_ram_pages_head_size(wire->data +
                                            WIRE_RECORD_HEADER_SIZE, head) +
                   flip] ^= 0x10;
    }
    for (unsigned i = 0; i < BIG_PAGES; i++) {
        iov[i].iov_base = got + i * 4096;
        iov[i].iov_len = 4096;
    }
    t = g_thread_new("feeder", big_writer_fn, &bw);
    ck_assert_int_eq(mig_stream_read_record_header(r, &rec, 0, &error_abort),
                     MIG_STREAM_OK);
    ck_assert_int_eq(mig_stream_read_record_prefix(r, &rec, head, 0,
                                                   &error_abort),
                     MIG_STREAM_OK);
    head = wire_ram_pages_head_size(rec.body, head);
    ck_assert_uint_eq(rec.len - head, BIG_PAGES * 4096);
    ck_assert_int_eq(mig_stream_read_record_prefix(r, &rec, head, 0,
                                                   &error_abort),
                     MIG_STREAM_OK);
    if (flip >= 0) {
        ck_assert_int_eq(mig_stream_read_record_into(r, &rec, head, iov,
                                                     BIG_PAGES, 0, &err),
                         MIG_STREAM_ERROR);
        check_error(&err, "RAM_PAGES at offset 0: checksum mismatch");
    } else {
        ck_assert_int_eq(mig_stream_read_record_into(r, &rec, head, iov,
                                                     BIG_PAGES, 0,
                                                     &error_abort),
                         MIG_STREAM_OK);
        ck_assert_int_eq(memcmp(got, pages, BIG_PAGES * 4096), 0);
        for (int i = 0; i < 3; i++) {
            ck_assert_int_eq(mig_stream_read_record(r, &rec, 0,
                                                    &error_abort),
                             MIG_STREAM_OK);
        }
        ck_assert_uint_eq(rec.type, WIRE_REC_END);
    }
    g_thread_join(t);
}

START_TEST(test_stream_big_read_into)
{
    /* Near the start, in the middle, in the last page. */
    static const long flips[] = { -1, 5, BIG_PAGES * 4096 / 2,
                                  BIG_PAGES * 4096 - 1 };

    for (size_t i = 0; i < G_N_ELEMENTS(flips); i++) {
        g_autoptr(GByteArray) plain = g_byte_array_new();
        g_autoptr(GByteArray) wire = g_byte_array_new();
        g_autofree uint8_t *pages = NULL;
        g_autoptr(MigStream) w = NULL, r = NULL;
        int fds[2];

        big_records(plain, wire, &pages);
        big_pairs(&w, &r, fds);
        big_read_into(r, fds[1], wire, pages, flips[i]);
        close(fds[0]);
        close(fds[1]);
    }
}
END_TEST

/*
 * A write whose first batch went out whole and whose second sent
 * nothing (the pipe full, the deadline passed) may have cut a record:
 * the stream is torn, and no ERROR record may follow it.
 */
START_TEST(test_stream_torn_between_batches)
{
    const size_t len = 2 * MIG_STREAM_CHECKSUM_BATCH;
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autofree uint8_t *body = g_malloc0(len);
    g_autoptr(QIOChannel) wc = NULL;
    g_autoptr(MigStream) w = NULL;
    Error *err = NULL;
    int p[2];

    ck_assert_int_eq(pipe(p), 0);
    /* Room for exactly the first batch: its header and body bytes. */
    if (fcntl(p[1], F_SETPIPE_SZ, MIG_STREAM_CHECKSUM_BATCH) !=
        MIG_STREAM_CHECKSUM_BATCH) {
        close(p[0]);
        close(p[1]);
        vmig_skip("cannot make a pipe of exactly %d bytes",
                  MIG_STREAM_CHECKSUM_BATCH);
    }
    wc = qio_channel_file_new_fd(p[1], "w");
    w = mig_stream_new(wc, &error_abort);
    mig_stream_checksum_writes(w);
    wire_record_encode(b, WIRE_REC_NOP, body, len, &error_abort);
    ck_assert_int_eq(mig_stream_write(w, b->data, b->len,
                                      mig_deadline_after_ms(100), &err),
                     MIG_STREAM_TIMEOUT);
    check_error(&err, "Timed out waiting for 'w'");
    ck_assert_uint_eq(mig_stream_bytes_written(w), MIG_STREAM_CHECKSUM_BATCH);
    ck_assert(mig_stream_is_torn(w));
    g_byte_array_set_size(b, 0);
    wire_empty_encode(b, WIRE_REC_END, &error_abort);
    ck_assert_int_eq(mig_stream_write(w, b->data, b->len, 0, &err),
                     MIG_STREAM_ERROR);
    check_error(&err, "broke off in the middle of a record");
    close(p[0]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("migration-checksum");
    TCase *wire = tcase_create("wire");
    TCase *stream = tcase_create("stream");

    tcase_add_test(wire, test_wire_form);
    tcase_add_test(wire, test_every_bit);
    tcase_add_test(wire, test_limits);
    tcase_add_test(wire, test_hello);
    tcase_add_test(wire, test_mapped_ram_checksums);
    suite_add_tcase(s, wire);
    tcase_add_test(stream, test_stream_round_trip);
    tcase_add_test(stream, test_stream_corrupt_page);
    tcase_add_test(stream, test_stream_big_write);
    tcase_add_test(stream, test_stream_big_read_into);
    tcase_add_test(stream, test_stream_torn_between_batches);
    suite_add_tcase(s, stream);
    return vmig_check_run(srunner_create(s));
}
