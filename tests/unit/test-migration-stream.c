/*
 * Unit tests for record I/O on migration channels (migration/transport/stream.c):
 * records split across reads, the stream header failing at the first bad
 * byte, end of stream between and inside records, deadlines, and the
 * wake-up interrupting blocked reads and writes from another thread.
 */
#include <check.h>
#include "tests/check-error.h"
#include "tests/check-run.h"
#include "tests/stream-pair.h"
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "io/channel-file.h"
#include "io/channel-socket.h"
#include "migration/transport/stream.h"

static GByteArray *some_records(void)
{
    GByteArray *b = g_byte_array_new();
    uint8_t body[100];

    memset(body, 0xab, sizeof(body));
    wire_stream_header_encode(b);
    wire_sync_encode(b, 7, &error_abort);
    wire_record_encode(b, WIRE_REC_NOP, body, sizeof(body), &error_abort);
    wire_empty_encode(b, WIRE_REC_END, &error_abort);
    return b;
}

static void read_some_records(MigStream *s)
{
    WireRecord rec;
    uint64_t it;

    ck_assert_int_eq(mig_stream_read_header(s, 0, &error_abort),
                     MIG_STREAM_OK);
    ck_assert_int_eq(mig_stream_read_record(s, &rec, 0, &error_abort),
                     MIG_STREAM_OK);
    ck_assert_uint_eq(rec.type, WIRE_REC_SYNC);
    ck_assert(wire_sync_decode(rec.body, rec.len, &it, &error_abort));
    ck_assert_uint_eq(it, 7);
    ck_assert_int_eq(mig_stream_read_record(s, &rec, 0, &error_abort),
                     MIG_STREAM_OK);
    ck_assert_uint_eq(rec.type, WIRE_REC_NOP);
    ck_assert_uint_eq(rec.len, 100);
    ck_assert_uint_eq(rec.body[99], 0xab);
    ck_assert_int_eq(mig_stream_read_record(s, &rec, 0, &error_abort),
                     MIG_STREAM_OK);
    ck_assert_uint_eq(rec.type, WIRE_REC_END);
}

START_TEST(test_records)
{
    g_autoptr(GByteArray) b = some_records();
    WireRecord rec;
    int peer;
    g_autoptr(MigStream) s = stream_pair(&peer);

    ck_assert_int_eq(write(peer, b->data, b->len), (ssize_t)b->len);
    shutdown(peer, SHUT_WR);
    read_some_records(s);
    ck_assert_int_eq(mig_stream_read_record(s, &rec, 0, &error_abort),
                     MIG_STREAM_EOF);
    ck_assert_uint_eq(mig_stream_bytes_read(s), b->len);
    close(peer);
}
END_TEST

typedef struct Dribble {
    int fd;
    const GByteArray *data;
} Dribble;

/* Writes one byte at a time, so every record arrives in pieces. */
static gpointer dribble(gpointer opaque)
{
    Dribble *d = opaque;

    for (guint i = 0; i < d->data->len; i++) {
        ck_assert_int_eq(write(d->fd, d->data->data + i, 1), 1);
        if (i % 16 == 0) {
            g_usleep(100);
        }
    }
    return NULL;
}

START_TEST(test_records_in_pieces)
{
    g_autoptr(GByteArray) b = some_records();
    int peer;
    g_autoptr(MigStream) s = stream_pair(&peer);
    Dribble d = { .fd = peer, .data = b };
    GThread *t = g_thread_new("dribble", dribble, &d);

    read_some_records(s);
    g_thread_join(t);
    close(peer);
}
END_TEST

typedef struct Writer {
    MigStream *s;
    const GByteArray *data;
} Writer;

static gpointer write_all(gpointer opaque)
{
    Writer *w = opaque;

    ck_assert_int_eq(mig_stream_write(w->s, w->data->data, w->data->len, 0,
                                      &error_abort), MIG_STREAM_OK);
    return NULL;
}

START_TEST(test_big_record)
{
    /* Far bigger than the socket's buffer and than one read: many
     * partial writes and reads on non-blocking ends. */
    const size_t len = 3 * 1024 * 1024 + 5;
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autofree uint8_t *body = g_malloc(len);
    int peer;
    g_autoptr(MigStream) s = stream_pair(&peer);
    g_autoptr(QIOChannel) other = qio_channel_socket_new_fd(peer, "other",
                                                            &error_abort);
    g_autoptr(MigStream) o = mig_stream_new(other, &error_abort);
    Writer w = { .s = o, .data = b };
    WireRecord rec;
    GThread *t;

    for (size_t i = 0; i < len; i++) {
        body[i] = (uint8_t)(i * 7);
    }
    wire_stream_header_encode(b);
    wire_record_encode(b, WIRE_REC_NOP, body, len, &error_abort);
    wire_empty_encode(b, WIRE_REC_END, &error_abort);
    t = g_thread_new("writer", write_all, &w);
    ck_assert_int_eq(mig_stream_read_header(s, 0, &error_abort),
                     MIG_STREAM_OK);
    ck_assert_int_eq(mig_stream_read_record(s, &rec, 0, &error_abort),
                     MIG_STREAM_OK);
    ck_assert_uint_eq(rec.type, WIRE_REC_NOP);
    ck_assert_uint_eq(rec.len, len);
    ck_assert_int_eq(memcmp(rec.body, body, len), 0);
    ck_assert_int_eq(mig_stream_read_record(s, &rec, 0, &error_abort),
                     MIG_STREAM_OK);
    ck_assert_uint_eq(rec.type, WIRE_REC_END);
    g_thread_join(t);
    ck_assert_uint_eq(mig_stream_bytes_written(o), b->len);
    ck_assert_uint_eq(mig_stream_bytes_read(s), b->len);
}
END_TEST

/* A record read in parts: prefix buffered, the rest into place. */
static void read_in_parts(MigStream *s, const uint8_t *body, size_t len)
{
    WireRecord rec;
    g_autofree uint8_t *dst = g_malloc0(len + 1);
    struct iovec iov[2] = {
        { .iov_base = dst + 5, .iov_len = 7 },
        { .iov_base = dst + 12, .iov_len = len - 12 },
    };

    ck_assert_int_eq(mig_stream_read_record_header(s, &rec, 0,
                                                   &error_abort),
                     MIG_STREAM_OK);
    ck_assert_uint_eq(rec.type, WIRE_REC_NOP);
    ck_assert_uint_eq(rec.len, len);
    ck_assert_ptr_null(rec.body);
    ck_assert_int_eq(mig_stream_read_record_prefix(s, &rec, 5, 0,
                                                   &error_abort),
                     MIG_STREAM_OK);
    memcpy(dst, rec.body, 5);
    ck_assert_int_eq(mig_stream_read_record_into(s, &rec, 5, iov, 2, 0,
                                                 &error_abort),
                     MIG_STREAM_OK);
    ck_assert_int_eq(memcmp(dst, body, len), 0);
}

START_TEST(test_writev_and_read_into)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autoptr(GByteArray) got = g_byte_array_new();
    uint8_t body[5000];
    struct iovec iov[4];
    WireRecord rec;
    Error *err = NULL;
    int peer;
    g_autoptr(MigStream) s = stream_pair(&peer);
    g_autoptr(MigStream) w = NULL;
    g_autoptr(QIOChannel) wc = NULL;
    int sv[2];

    for (size_t i = 0; i < sizeof(body); i++) {
        body[i] = (uint8_t)(i * 7 + 1);
    }
    /* writev: header, body in two pieces, padding. */
    wire_stream_header_encode(b);
    wire_record_encode(b, WIRE_REC_NOP, body, 4995, &error_abort);
    wire_record_encode(b, WIRE_REC_NOP, body, 4995, &error_abort);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    wc = qio_channel_socket_new_fd(sv[0], "test:w", &error_abort);
    w = mig_stream_new(wc, &error_abort);
    iov[0] = (struct iovec){ b->data, 16 + 8 };
    iov[1] = (struct iovec){ body, 1000 };
    iov[2] = (struct iovec){ body + 1000, 3995 };
    iov[3] = (struct iovec){ b->data + 16 + 8 + 4995,
                             b->len - 16 - 8 - 4995 };
    ck_assert_int_eq(mig_stream_writev(w, iov, 4, 0, &error_abort),
                     MIG_STREAM_OK);
    ck_assert_uint_eq(mig_stream_bytes_written(w), b->len);
    g_byte_array_set_size(got, b->len);
    ck_assert_int_eq(read(sv[1], got->data, got->len), (ssize_t)got->len);
    ck_assert_int_eq(memcmp(got->data, b->data, b->len), 0);
    close(sv[1]);

    /* Read in parts, one byte arriving at a time, then whole. */
    {
        Dribble d = { .fd = peer, .data = b };
        GThread *t = g_thread_new("dribble", dribble, &d);

        ck_assert_int_eq(mig_stream_read_header(s, 0, &error_abort),
                         MIG_STREAM_OK);
        read_in_parts(s, body, 4995);
        ck_assert_int_eq(mig_stream_read_record(s, &rec, 0, &error_abort),
                         MIG_STREAM_OK);
        ck_assert_uint_eq(rec.len, 4995);
        ck_assert_int_eq(memcmp(rec.body, body, 4995), 0);
        g_thread_join(t);
    }

    /* Buffered already (written at once), then bad padding. */
    g_byte_array_set_size(b, 0);
    wire_record_encode(b, WIRE_REC_NOP, body, 4995, &error_abort);
    wire_record_encode(b, WIRE_REC_NOP, body, 4995, &error_abort);
    b->data[b->len - 1] = 1;
    ck_assert_int_eq(write(peer, b->data, b->len), (ssize_t)b->len);
    shutdown(peer, SHUT_WR);
    read_in_parts(s, body, 4995);
    ck_assert_int_eq(mig_stream_read_record_header(s, &rec, 0,
                                                   &error_abort),
                     MIG_STREAM_OK);
    ck_assert_int_eq(mig_stream_read_record_prefix(s, &rec, 0, 0,
                                                   &error_abort),
                     MIG_STREAM_OK);
    iov[0] = (struct iovec){ got->data, 4995 };
    ck_assert_int_eq(mig_stream_read_record_into(s, &rec, 0, iov, 1, 0,
                                                 &err), MIG_STREAM_ERROR);
    check_error(&err, "NOP: non-zero padding");
    close(peer);
}
END_TEST

START_TEST(test_bad_header_fails_fast)
{
    static const struct {
        const char *bytes;
        size_t len;
        const char *error;
    } cases[] = {
        { "G", 1, "bad magic 47" },
        { "\x16\x03", 2,
          "the peer started TLS but this end has no TLS configured" },
        { "QEVM", 4, "QEMU (v1) migration stream" },
        { "\x89VMIG\r\n\x1a\0\0\0\3\0\0\0\0", 16,
          "unsupported stream format 3" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        Error *err = NULL;
        int peer;
        g_autoptr(MigStream) s = stream_pair(&peer);

        /* The peer keeps the connection open: no EOF, no waiting. */
        ck_assert_int_eq(write(peer, cases[i].bytes, cases[i].len),
                         (ssize_t)cases[i].len);
        ck_assert_int_eq(mig_stream_read_header(s, mig_deadline_after_ms(
                                                    5000), &err),
                         MIG_STREAM_ERROR);
        check_error(&err, cases[i].error);
        close(peer);
    }
}
END_TEST

START_TEST(test_eof)
{
    g_autoptr(GByteArray) b = some_records();
    Error *err = NULL;
    WireRecord rec;
    /* (cut, what read fails with) */
    static const struct {
        size_t cut;
        const char *error;
    } cases[] = {
        { 5, "EOF after 5 of 16 bytes of the stream header" },
        { 16 + 3, "EOF after 3 of 8 bytes of a record header" },
        { 16 + 12, "EOF after 12 of 16 bytes of a SYNC record" },
        { 16 + 16 + 50, "EOF after 50 of 112 bytes of a NOP record" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        int peer;
        g_autoptr(MigStream) s = stream_pair(&peer);
        MigStreamResult r;

        ck_assert_int_eq(write(peer, b->data, cases[i].cut),
                         (ssize_t)cases[i].cut);
        close(peer);
        r = mig_stream_read_header(s, 0, &err);
        while (r == MIG_STREAM_OK) {
            r = mig_stream_read_record(s, &rec, 0, &err);
        }
        ck_assert_int_eq(r, MIG_STREAM_ERROR);
        check_error(&err, cases[i].error);
    }

    /* Nothing at all, and nothing after a record: clean ends. */
    {
        int peer;
        g_autoptr(MigStream) s = stream_pair(&peer);

        close(peer);
        ck_assert_int_eq(mig_stream_read_header(s, 0, &error_abort),
                         MIG_STREAM_EOF);
    }
}
END_TEST

START_TEST(test_deadline)
{
    Error *err = NULL;
    WireRecord rec;
    int peer;
    g_autoptr(MigStream) s = stream_pair(&peer);
    gint64 start = g_get_monotonic_time();

    ck_assert_int_eq(mig_stream_read_record(s, &rec,
                                            mig_deadline_after_ms(100), &err),
                     MIG_STREAM_TIMEOUT);
    check_error(&err, "Timed out waiting for 'test:pair'");
    ck_assert_int_ge(g_get_monotonic_time() - start, 100 * 1000);
    close(peer);
}
END_TEST

/*
 * Wakes @s from another thread on an event, not after a delay: once the
 * test thread has said it is going to wait (arm()), and, with @peer, once
 * data has reached @peer, i.e. a write is under way.  Whether the wake-up
 * then comes before the wait blocks or while it does, the wait must end
 * MIG_STREAM_WOKEN.  Every wait has a bound: a test that hangs fails.
 */
typedef struct Waker {
    MigStream *s;
    int peer;                   /* or -1 */
    GMutex lock;
    GCond cond;
    bool armed;
    GThread *thread;
} Waker;

#define WAKER_BOUND_S 30

static gpointer waker_fn(gpointer opaque)
{
    Waker *w = opaque;
    gint64 deadline = g_get_monotonic_time() +
                      WAKER_BOUND_S * G_USEC_PER_SEC;

    g_mutex_lock(&w->lock);
    while (!w->armed && g_cond_wait_until(&w->cond, &w->lock, deadline)) {
    }
    g_mutex_unlock(&w->lock);
    if (w->peer >= 0) {
        struct pollfd pfd = { .fd = w->peer, .events = POLLIN };

        ck_assert_int_eq(poll(&pfd, 1, WAKER_BOUND_S * 1000), 1);
    }
    mig_stream_wake(w->s);
    return NULL;
}

static void waker_start(Waker *w, MigStream *s, int peer)
{
    *w = (Waker){ .s = s, .peer = peer };
    g_mutex_init(&w->lock);
    g_cond_init(&w->cond);
    w->thread = g_thread_new("waker", waker_fn, w);
}

static void waker_arm(Waker *w)
{
    g_mutex_lock(&w->lock);
    w->armed = true;
    g_cond_signal(&w->cond);
    g_mutex_unlock(&w->lock);
}

static void waker_join(Waker *w)
{
    g_thread_join(w->thread);
    g_mutex_clear(&w->lock);
    g_cond_clear(&w->cond);
}

START_TEST(test_wake_read)
{
    Error *err = NULL;
    WireRecord rec;
    int peer;
    g_autoptr(MigStream) s = stream_pair(&peer);
    Waker w;

    waker_start(&w, s, -1);
    waker_arm(&w);
    ck_assert_int_eq(mig_stream_read_record(s, &rec, 0, &err),
                     MIG_STREAM_WOKEN);
    check_error(&err, "I/O on 'test:pair' was interrupted");
    waker_join(&w);
    /* For good: later waits fail at once. */
    ck_assert(mig_stream_is_woken(s));
    ck_assert_int_eq(mig_stream_read_header(s, 0, &err), MIG_STREAM_WOKEN);
    error_free_or_abort(&err);
    ck_assert(!mig_stream_sleep_until(s, g_get_monotonic_time() + 1000000));
    close(peer);
}
END_TEST

START_TEST(test_wake_write)
{
    g_autofree uint8_t *big = g_malloc0(8 * 1024 * 1024);
    g_autoptr(GByteArray) last = g_byte_array_new();
    Error *err = NULL;
    int peer;
    g_autoptr(MigStream) s = stream_pair(&peer);
    Waker w;
    char buf[64];

    /* Nobody reads: the write blocks until woken, part-way (the waker
     * waits until the first bytes have arrived), then tries to finish
     * its record and cannot within the bound. */
    waker_start(&w, s, peer);
    waker_arm(&w);
    ck_assert_int_eq(mig_stream_write(s, big, 8 * 1024 * 1024, 0, &err),
                     MIG_STREAM_TIMEOUT);
    check_error(&err, "Timed out waiting for 'test:pair'");
    waker_join(&w);
    ck_assert(mig_stream_is_torn(s));
    ck_assert_uint_gt(mig_stream_bytes_written(s), 0);
    /* A torn stream takes nothing more, not even a last word. */
    wire_empty_encode(last, WIRE_REC_END, &error_abort);
    ck_assert_int_eq(mig_stream_write_last(s, last->data, last->len, 0,
                                           &err), MIG_STREAM_ERROR);
    check_error(&err, "broke off in the middle of a record");
    ck_assert_int_eq(mig_stream_write(s, last->data, last->len, 0, &err),
                     MIG_STREAM_ERROR);
    error_free_or_abort(&err);
    ck_assert_int_gt(read(peer, buf, sizeof(buf)), 0);
    close(peer);
}
END_TEST

/* Wakes the stream once the first bytes of a write have arrived, then
 * reads the stream header and one record, as a peer that was only slow. */
typedef struct SlowPeer {
    MigStream *s;
    int peer;
    WireRecordType type;
    size_t len;
} SlowPeer;

static gpointer slow_peer_fn(gpointer opaque)
{
    SlowPeer *p = opaque;
    struct pollfd pfd = { .fd = p->peer, .events = POLLIN };
    g_autoptr(QIOChannel) ioc = NULL;
    g_autoptr(MigStream) in = NULL;
    WireRecord rec;

    ck_assert_int_eq(poll(&pfd, 1, WAKER_BOUND_S * 1000), 1);
    mig_stream_wake(p->s);
    ioc = qio_channel_socket_new_fd(p->peer, "test:peer", &error_abort);
    in = mig_stream_new(ioc, &error_abort);
    ck_assert_int_eq(mig_stream_read_header(in, 0, &error_abort),
                     MIG_STREAM_OK);
    ck_assert_int_eq(mig_stream_read_record(in, &rec, 0, &error_abort),
                     MIG_STREAM_OK);
    p->type = rec.type;
    p->len = rec.len;
    ck_assert_int_eq(mig_stream_read_record(in, &rec, 0, &error_abort),
                     MIG_STREAM_OK);
    ck_assert_uint_eq(rec.type, WIRE_REC_END);
    return NULL;
}

/* A write woken part-way (migrate_cancel) finishes the record it began
 * when the peer reads, so the stream stays whole: nothing after it goes
 * but a last word, which the peer gets. */
START_TEST(test_wake_write_finishes_record)
{
    g_autofree uint8_t *body = g_malloc0(8 * 1024 * 1024);
    g_autoptr(GByteArray) rec = g_byte_array_new();
    g_autoptr(GByteArray) last = g_byte_array_new();
    Error *err = NULL;
    int peer;
    g_autoptr(MigStream) s = stream_pair(&peer);
    SlowPeer p = { .s = s, .peer = peer };
    GThread *t;
    guint64 sent;

    wire_stream_header_encode(rec);
    wire_record_encode(rec, WIRE_REC_NOP, body, 8 * 1024 * 1024,
                       &error_abort);
    t = g_thread_new("slow-peer", slow_peer_fn, &p);
    ck_assert_int_eq(mig_stream_write(s, rec->data, rec->len, 0,
                                      &error_abort), MIG_STREAM_OK);
    ck_assert(mig_stream_is_woken(s));
    ck_assert(!mig_stream_is_torn(s));
    sent = mig_stream_bytes_written(s);
    ck_assert_uint_eq(sent, rec->len);
    /* The next write stops before its first byte. */
    ck_assert_int_eq(mig_stream_write(s, rec->data, rec->len, 0, &err),
                     MIG_STREAM_WOKEN);
    error_free_or_abort(&err);
    ck_assert_uint_eq(mig_stream_bytes_written(s), sent);
    wire_empty_encode(last, WIRE_REC_END, &error_abort);
    ck_assert_int_eq(mig_stream_write_last(s, last->data, last->len,
                                           mig_deadline_after_ms(10000),
                                           &error_abort), MIG_STREAM_OK);
    g_thread_join(t);
    ck_assert_uint_eq(p.type, WIRE_REC_NOP);
    ck_assert_uint_eq(p.len, 8 * 1024 * 1024);
}
END_TEST

static void expect_ping(MigStream *in, uint64_t want)
{
    WireRecord rec;
    uint64_t seq;

    ck_assert_int_eq(mig_stream_read_record(in, &rec, 0, &error_abort),
                     MIG_STREAM_OK);
    ck_assert(wire_heartbeat_decode(rec.type, rec.body, rec.len, &seq,
                                    &error_abort));
    ck_assert_uint_eq(rec.type, WIRE_REC_PING);
    ck_assert(seq == want);
}

/* A heartbeat from another thread never blocks behind a write in
 * progress, nor lands inside its record: it follows it. */
START_TEST(test_write_between)
{
    g_autofree uint8_t *body = g_malloc0(4 * 1024 * 1024);
    g_autoptr(GByteArray) big = g_byte_array_new();
    g_autoptr(GByteArray) ping = g_byte_array_new();
    g_autoptr(GByteArray) head = g_byte_array_new();
    g_autoptr(QIOChannel) ioc = NULL;
    g_autoptr(MigStream) in = NULL;
    Writer w;
    GThread *t;
    WireRecord rec;
    int peer;
    g_autoptr(MigStream) s = stream_pair(&peer);

    wire_stream_header_encode(head);
    ck_assert_int_eq(mig_stream_write(s, head->data, head->len, 0,
                                      &error_abort), MIG_STREAM_OK);
    wire_record_encode(big, WIRE_REC_NOP, body, 4 * 1024 * 1024,
                       &error_abort);
    w = (Writer){ s, big };
    /* Nobody reads yet: the big write blocks part-way, holding the
     * stream. */
    t = g_thread_new("big-write", write_all, &w);
    while (mig_stream_bytes_written(s) <= head->len) {
        g_usleep(1000);
    }
    wire_heartbeat_encode(ping, WIRE_REC_PING, 1, &error_abort);
    ck_assert_int_eq(mig_stream_write_between(s, ping->data, ping->len, 0,
                                              &error_abort), MIG_STREAM_OK);

    ioc = qio_channel_socket_new_fd(peer, "test:peer", &error_abort);
    in = mig_stream_new(ioc, &error_abort);
    ck_assert_int_eq(mig_stream_read_header(in, 0, &error_abort),
                     MIG_STREAM_OK);
    ck_assert_int_eq(mig_stream_read_record(in, &rec, 0, &error_abort),
                     MIG_STREAM_OK);
    ck_assert_uint_eq(rec.type, WIRE_REC_NOP);
    ck_assert_uint_eq(rec.len, 4 * 1024 * 1024);
    expect_ping(in, 1);
    g_thread_join(t);

    /* Nobody writing: it goes at once. */
    g_byte_array_set_size(ping, 0);
    wire_heartbeat_encode(ping, WIRE_REC_PING, 2, &error_abort);
    ck_assert_int_eq(mig_stream_write_between(s, ping->data, ping->len, 0,
                                              &error_abort), MIG_STREAM_OK);
    expect_ping(in, 2);
}
END_TEST

START_TEST(test_write_last_after_wake)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    Error *err = NULL;
    WireRecord rec;
    int peer;
    g_autoptr(MigStream) s = stream_pair(&peer);
    g_autoptr(QIOChannel) other = qio_channel_socket_new_fd(peer, "peer",
                                                            &error_abort);
    g_autoptr(MigStream) o = mig_stream_new(other, &error_abort);

    wire_stream_header_encode(b);
    wire_empty_encode(b, WIRE_REC_END, &error_abort);
    mig_stream_wake(s);
    ck_assert_int_eq(mig_stream_write(s, b->data, b->len, 0, &err),
                     MIG_STREAM_WOKEN);
    error_free_or_abort(&err);
    ck_assert(!mig_stream_is_torn(s));
    ck_assert_int_eq(mig_stream_write_last(s, b->data, b->len,
                                           mig_deadline_after_ms(1000),
                                           &error_abort), MIG_STREAM_OK);
    ck_assert_int_eq(mig_stream_read_header(o, 0, &error_abort),
                     MIG_STREAM_OK);
    ck_assert_int_eq(mig_stream_read_record(o, &rec, 0, &error_abort),
                     MIG_STREAM_OK);
    ck_assert_uint_eq(rec.type, WIRE_REC_END);
}
END_TEST

START_TEST(test_file)
{
    g_autofree char *dir = g_dir_make_tmp("test-mig-stream-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "stream", NULL);
    g_autoptr(GByteArray) b = some_records();
    g_autoptr(QIOChannel) w = qio_channel_file_open_write(path, 0,
                                                          &error_abort);
    g_autoptr(MigStream) ws = mig_stream_new(w, &error_abort);
    g_autoptr(QIOChannel) r = NULL;
    g_autoptr(MigStream) rs = NULL;
    WireRecord rec;

    ck_assert_int_eq(mig_stream_write(ws, b->data, b->len, 0, &error_abort),
                     MIG_STREAM_OK);
    ck_assert(mig_stream_close(ws, &error_abort));
    r = qio_channel_file_open_read(path, 0, &error_abort);
    rs = mig_stream_new(r, &error_abort);
    read_some_records(rs);
    ck_assert_int_eq(mig_stream_read_record(rs, &rec, 0, &error_abort),
                     MIG_STREAM_EOF);
    g_unlink(path);
    g_rmdir(dir);
}
END_TEST

/* Zero copy on a channel without it: every call names the channel. */
START_TEST(test_zero_copy_unsupported)
{
    Error *err = NULL;
    int peer;
    g_autoptr(MigStream) s = stream_pair(&peer);
    struct iovec iov = { .iov_base = "data", .iov_len = 4 };

    ck_assert(!mig_stream_enable_zerocopy(s, &err));
    check_error(&err, "Channel 'test:pair' does not support zero-copy "
                "send");
    ck_assert_int_eq(mig_stream_writev_zerocopy(s, &iov, 1, 0, &err),
                     MIG_STREAM_ERROR);
    check_error(&err, "Zero-copy send is not enabled on 'test:pair'");
    ck_assert(!mig_stream_is_torn(s));
    ck_assert_int_eq(mig_stream_flush_zerocopy(s, 0, &err),
                     MIG_STREAM_ERROR);
    check_error(&err, "Zero-copy send is not enabled on 'test:pair'");
    ck_assert_uint_eq(mig_stream_bytes_written(s), 0);
    close(peer);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("migration-stream");
    TCase *tc = tcase_create("migration-stream");
    SRunner *sr;

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_records);
    tcase_add_test(tc, test_records_in_pieces);
    tcase_add_test(tc, test_big_record);
    tcase_add_test(tc, test_writev_and_read_into);
    tcase_add_test(tc, test_bad_header_fails_fast);
    tcase_add_test(tc, test_eof);
    tcase_add_test(tc, test_deadline);
    tcase_add_test(tc, test_wake_read);
    tcase_add_test(tc, test_wake_write);
    tcase_add_test(tc, test_wake_write_finishes_record);
    tcase_add_test(tc, test_write_last_after_wake);
    tcase_add_test(tc, test_write_between);
    tcase_add_test(tc, test_file);
    tcase_add_test(tc, test_zero_copy_unsupported);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
