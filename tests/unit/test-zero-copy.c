/*
 * Unit tests for zero-copy send (MSG_ZEROCOPY) over TCP loopback: the
 * channel calls of io/channel.h and the MigStream calls built on them
 * (migration/transport/stream.h).  On loopback the kernel may copy after
 * all; the sends are numbered and completed the same way, which is what
 * is checked here.
 *
 * Skipped as a whole (TAP "1..0 # SKIP") where the host lacks
 * SO_ZEROCOPY, as migration/config/host-support.c probes it.  The refusals on
 * channels without zero copy run everywhere: test-io-channel-socket.c
 * and test-migration-stream.c.
 */
#include <check.h>
#include "tests/check-error.h"
#include "tests/check-run.h"
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "io/channel-socket.h"
#include "io/net-listener.h"
#include "migration/config-validate.h"
#include "migration/transport/stream.h"
#include "util/sockets.h"

#define TOTAL (4 * 1024 * 1024 + 1000)

/* A connected TCP pair over 127.0.0.1: *@client sends, *@server reads. */
static void tcp_pair(QIOChannel **client, QIOChannel **server)
{
    g_autoptr(SocketAddress) addr = socket_parse("tcp:127.0.0.1:0",
                                                 &error_abort);
    g_autoptr(QIONetListener) l = qio_net_listener_new(addr, &error_abort);

    *client = qio_channel_socket_connect(qio_net_listener_get_address(l),
                                         &error_abort);
    *server = qio_net_listener_accept(l, &error_abort);
}

static uint8_t *pattern(size_t len)
{
    uint8_t *p = g_malloc(len);

    for (size_t i = 0; i < len; i++) {
        p[i] = (uint8_t)(i * 13 + (i >> 12));
    }
    return p;
}

typedef struct Reader {
    QIOChannel *ioc;
    size_t len;
    uint8_t *got;
} Reader;

/* Reads exactly @len bytes, then checks that nothing follows. */
static gpointer read_exactly(gpointer opaque)
{
    Reader *r = opaque;
    char extra;

    r->got = g_malloc(r->len);
    ck_assert(qio_channel_read_all(r->ioc, r->got, r->len, &error_abort));
    ck_assert_int_eq(qio_channel_read(r->ioc, &extra, 1, &error_abort), 0);
    return NULL;
}

/*
 * Reaps until every zero-copy send of @ioc has completed, waiting for
 * POLLERR in between.  Completions that stop coming mean the sends were
 * miscounted; the bound is only there to say so rather than hang.
 */
static void reap_all(QIOChannel *ioc)
{
    while (qio_channel_zero_copy_reap(ioc, &error_abort) == 0) {
        struct pollfd pfd = { .fd = qio_channel_get_fd(ioc) };
        QIOChannelZeroCopyStats st;

        qio_channel_zero_copy_stats(ioc, &st);
        ck_assert_msg(poll(&pfd, 1, 20 * 1000) > 0,
                      "no more completions after %" PRIu64 " of %" PRIu64,
                      st.completed, st.sent);
    }
}

/* Checks that the kernel completed exactly the sends counted. */
static void check_stats(QIOChannel *ioc, uint64_t calls)
{
    QIOChannelZeroCopyStats st;

    qio_channel_zero_copy_stats(ioc, &st);
    ck_assert_uint_eq(st.sent, calls);
    ck_assert_uint_eq(st.completed, calls);
    ck_assert_uint_le(st.copied, st.completed);
    printf("# %" PRIu64 " zero-copy sends, %" PRIu64 " copied by the "
           "kernel\n", st.completed, st.copied);
}

/*
 * The channel calls on a non-blocking socket: pieces of odd sizes, many
 * cut short by a full socket buffer.  Each call that sent something is
 * one send, counted here independently of the channel; the kernel's
 * completions must add up to exactly that.
 */
START_TEST(test_channel_sends)
{
    g_autofree uint8_t *data = pattern(TOTAL);
    g_autoptr(QIOChannel) client = NULL;
    g_autoptr(QIOChannel) server = NULL;
    Reader r = { .len = TOTAL };
    uint64_t calls = 0, partial = 0;
    size_t off = 0;
    GThread *t;

    tcp_pair(&client, &server);
    r.ioc = server;
    ck_assert(qio_channel_enable_zero_copy(client, &error_abort));
    ck_assert(qio_channel_enable_zero_copy(client, &error_abort));
    ck_assert(qio_channel_zero_copy_enabled(client));
    ck_assert(qio_channel_set_blocking(client, false, &error_abort));
    t = g_thread_new("reader", read_exactly, &r);
    while (off < TOTAL) {
        size_t piece = MIN(TOTAL - off, 100 * 1000 + 7);
        struct iovec iov[2] = {
            { data + off, piece / 3 },
            { data + off + piece / 3, piece - piece / 3 },
        };
        ssize_t n = qio_channel_writev_zero_copy(client, iov, 2,
                                                 &error_abort);

        if (n == QIO_CHANNEL_ERR_BLOCK || n == QIO_CHANNEL_ERR_NOBUFS) {
            struct pollfd pfd = { .fd = qio_channel_get_fd(client),
                                  .events = POLLOUT };

            ck_assert_int_ge(poll(&pfd, 1, -1), 0);
            ck_assert_int_ge(qio_channel_zero_copy_reap(client,
                                                        &error_abort), 0);
            continue;
        }
        ck_assert_int_gt(n, 0);
        calls++;
        partial += (size_t)n < piece;
        off += n;
    }
    printf("# %" PRIu64 " of the sends were cut short\n", partial);
    reap_all(client);
    check_stats(client, calls);
    /* A reap with nothing outstanding is done at once. */
    ck_assert_int_eq(qio_channel_zero_copy_reap(client, &error_abort), 1);
    ck_assert(qio_channel_close(client, &error_abort));
    g_thread_join(t);
    ck_assert_int_eq(memcmp(r.got, data, TOTAL), 0);
    g_free(r.got);
}
END_TEST

#define BODY_LEN (256 * 1024 + 12)
#define NREC 16

typedef struct RecordReader {
    MigStream *in;
    const uint8_t *data;
} RecordReader;

/* Reads the stream header and NREC NOP records of BODY_LEN bytes each,
 * record i being BODY_LEN bytes of @data from i * BODY_LEN. */
static gpointer read_records(gpointer opaque)
{
    RecordReader *r = opaque;
    WireRecord rec;

    ck_assert_int_eq(mig_stream_read_header(r->in, 0, &error_abort),
                     MIG_STREAM_OK);
    for (size_t i = 0; i < NREC; i++) {
        ck_assert_int_eq(mig_stream_read_record(r->in, &rec, 0,
                                                &error_abort),
                         MIG_STREAM_OK);
        ck_assert_uint_eq(rec.type, WIRE_REC_NOP);
        ck_assert_uint_eq(rec.len, BODY_LEN);
        ck_assert_int_eq(memcmp(rec.body, r->data + i * BODY_LEN,
                                BODY_LEN), 0);
    }
    ck_assert_int_eq(mig_stream_read_record(r->in, &rec, 0, &error_abort),
                     MIG_STREAM_EOF);
    return NULL;
}

/* The stream calls: records whose bodies go out with zero copy. */
START_TEST(test_stream_records)
{
    static const uint8_t zeros[WIRE_ALIGN];
    g_autofree uint8_t *data = pattern(BODY_LEN * NREC);
    g_autoptr(QIOChannel) client = NULL;
    g_autoptr(QIOChannel) server = NULL;
    g_autoptr(MigStream) out = NULL;
    g_autoptr(MigStream) in = NULL;
    g_autoptr(GByteArray) heads = g_byte_array_new();
    size_t pad = 0;
    QIOChannelZeroCopyStats st;
    RecordReader r = { .data = data };
    GThread *t;

    tcp_pair(&client, &server);
    out = mig_stream_new(client, &error_abort);
    in = mig_stream_new(server, &error_abort);
    r.in = in;
    ck_assert(mig_stream_enable_zerocopy(out, &error_abort));
    /* Every record header first: the buffers stay put until the flush. */
    wire_stream_header_encode(heads);
    for (size_t i = 0; i < NREC; i++) {
        size_t start = wire_record_begin(heads, WIRE_REC_NOP);

        ck_assert(wire_record_end_external(heads, start, BODY_LEN, &pad,
                                           &error_abort));
    }
    t = g_thread_new("reader", read_records, &r);
    /* The stream header goes the ordinary way, the records with zero
     * copy: a stream mixes both. */
    ck_assert_int_eq(mig_stream_write(out, heads->data,
                                      WIRE_STREAM_HEADER_SIZE, 0,
                                      &error_abort), MIG_STREAM_OK);
    for (size_t i = 0; i < NREC; i++) {
        struct iovec iov[3] = {
            { heads->data + WIRE_STREAM_HEADER_SIZE +
              i * WIRE_RECORD_HEADER_SIZE, WIRE_RECORD_HEADER_SIZE },
            { data + i * BODY_LEN, BODY_LEN },
            { (void *)zeros, pad },
        };

        ck_assert_int_eq(mig_stream_writev_zerocopy(out, iov, 3, 0,
                                                    &error_abort),
                         MIG_STREAM_OK);
    }
    ck_assert_int_eq(mig_stream_flush_zerocopy(out, 0, &error_abort),
                     MIG_STREAM_OK);
    qio_channel_zero_copy_stats(client, &st);
    ck_assert_uint_ge(st.sent, NREC);
    ck_assert_uint_eq(st.completed, st.sent);
    ck_assert_uint_eq(mig_stream_bytes_written(out),
                      WIRE_STREAM_HEADER_SIZE +
                      NREC * wire_record_size(BODY_LEN));
    /* Nothing outstanding: a flush is done at once. */
    ck_assert_int_eq(mig_stream_flush_zerocopy(out, 0, &error_abort),
                     MIG_STREAM_OK);
    ck_assert(qio_channel_shutdown(client, QIO_CHANNEL_SHUTDOWN_WRITE,
                                   &error_abort));
    g_thread_join(t);
}
END_TEST

static gpointer wake_later(gpointer opaque)
{
    g_usleep(50 * 1000);
    mig_stream_wake(opaque);
    return NULL;
}

/*
 * Nobody reads: the sends stop part-way (deadline), the data still
 * queued keeps them from completing, so the flush times out and, once
 * woken, fails as woken.  When the peer finally reads everything, every
 * send the stream made completes: partial ones were counted right.
 */
START_TEST(test_stream_flush_waits)
{
    const size_t len = 32 * 1024 * 1024;
    g_autofree uint8_t *data = pattern(len);
    g_autoptr(QIOChannel) client = NULL;
    g_autoptr(QIOChannel) server = NULL;
    g_autoptr(MigStream) out = NULL;
    QIOChannelZeroCopyStats st;
    struct iovec iov = { data, len };
    Error *err = NULL;
    Reader r;
    GThread *t;

    tcp_pair(&client, &server);
    out = mig_stream_new(client, &error_abort);
    ck_assert(mig_stream_enable_zerocopy(out, &error_abort));
    ck_assert_int_eq(mig_stream_writev_zerocopy(out, &iov, 1,
                                                mig_deadline_after_ms(200),
                                                &err),
                     MIG_STREAM_TIMEOUT);
    check_error(&err, "Timed out waiting for 'tcp:127.0.0.1:");
    ck_assert(mig_stream_is_torn(out));
    ck_assert_uint_gt(mig_stream_bytes_written(out), 0);
    ck_assert_uint_lt(mig_stream_bytes_written(out), len);

    ck_assert_int_eq(mig_stream_flush_zerocopy(out,
                                               mig_deadline_after_ms(100),
                                               &err),
                     MIG_STREAM_TIMEOUT);
    check_error(&err, "Timed out waiting for");
    t = g_thread_new("waker", wake_later, out);
    ck_assert_int_eq(mig_stream_flush_zerocopy(out, 0, &err),
                     MIG_STREAM_WOKEN);
    check_error(&err, "was interrupted");
    g_thread_join(t);
    /* For good, as every wait of a woken stream. */
    ck_assert_int_eq(mig_stream_flush_zerocopy(out, 0, &err),
                     MIG_STREAM_WOKEN);
    error_free_or_abort(&err);
    qio_channel_zero_copy_stats(client, &st);
    ck_assert_uint_lt(st.completed, st.sent);

    /* The peer reads what was sent; its sends then all complete. */
    r = (Reader){ .ioc = server, .len = mig_stream_bytes_written(out) };
    t = g_thread_new("reader", read_exactly, &r);
    reap_all(client);
    qio_channel_zero_copy_stats(client, &st);
    ck_assert_uint_eq(st.completed, st.sent);
    ck_assert(qio_channel_shutdown(client, QIO_CHANNEL_SHUTDOWN_WRITE,
                                   &error_abort));
    g_thread_join(t);
    ck_assert_int_eq(memcmp(r.got, data, r.len), 0);
    g_free(r.got);
}
END_TEST

int main(void)
{
    Suite *s;
    TCase *tc;

    if (!migration_host_support()->has[MIGRATION_HOST_ZERO_COPY]) {
        /* TAP: the whole binary is skipped, not passed. */
        printf("1..0 # SKIP this host has no SO_ZEROCOPY\n");
        return 0;
    }
    s = suite_create("zero-copy");
    tc = tcase_create("zero-copy");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_channel_sends);
    tcase_add_test(tc, test_stream_records);
    tcase_add_test(tc, test_stream_flush_waits);
    suite_add_tcase(s, tc);
    return vmig_check_run(srunner_create(s));
}
