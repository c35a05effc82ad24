/*
 * Unit tests for the QIOChannel core (io/channel*.c): partial and
 * complete reads and writes, vectors, end of stream, non-blocking mode,
 * watches, shutdown and close, over a socket pair.
 */
#include <check.h>
#include "tests/check-error.h"
#include "tests/check-run.h"
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "io/channel-file.h"
#include "io/channel-socket.h"

/* Two connected socket channels named "a" and "b". */
static void channel_pair(QIOChannel **a, QIOChannel **b)
{
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                     0);
    *a = qio_channel_socket_new_fd(sv[0], "a", &error_abort);
    *b = qio_channel_socket_new_fd(sv[1], "b", &error_abort);
}

/* A recognisable pattern, so misplaced bytes show. */
static void fill(uint8_t *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(i * 31 + seed + (i >> 8));
    }
}

START_TEST(test_names)
{
    g_autoptr(QIOChannel) a = NULL;
    g_autoptr(QIOChannel) b = NULL;

    channel_pair(&a, &b);
    ck_assert_str_eq(qio_channel_get_name(a), "a");
    ck_assert_str_eq(qio_channel_get_kind(a), "socket");
    ck_assert(qio_channel_is_socket(a));
    qio_channel_set_name(a, "renamed");
    ck_assert_str_eq(qio_channel_get_name(a), "renamed");
    ck_assert_int_ge(qio_channel_get_fd(a), 0);
    ck_assert(qio_channel_has_shutdown(a));
}
END_TEST

START_TEST(test_partial_read)
{
    g_autoptr(QIOChannel) a = NULL;
    g_autoptr(QIOChannel) b = NULL;
    char buf[16] = "";
    ssize_t n;

    channel_pair(&a, &b);
    ck_assert(qio_channel_write_all(a, "0123456789", 10, &error_abort));

    /* A partial read stops at the buffer size... */
    n = qio_channel_read(b, buf, 4, &error_abort);
    ck_assert_int_eq(n, 4);
    ck_assert_int_eq(memcmp(buf, "0123", 4), 0);
    /* ...and at what is there, never waiting for more. */
    n = qio_channel_read(b, buf, sizeof(buf), &error_abort);
    ck_assert_int_eq(n, 6);
    ck_assert_int_eq(memcmp(buf, "456789", 6), 0);

    /* An empty request is not end of stream, and does not block. */
    ck_assert_int_eq(qio_channel_read(b, buf, 0, &error_abort), 0);
}
END_TEST

START_TEST(test_vectors)
{
    g_autoptr(QIOChannel) a = NULL;
    g_autoptr(QIOChannel) b = NULL;
    char h[3] = "hdr", p[5] = "paylo", t[2] = "ad";
    struct iovec out[] = {
        { h, sizeof(h) }, { NULL, 0 }, { p, sizeof(p) }, { t, sizeof(t) },
    };
    char r1[1], r2[6], r3[3];
    struct iovec in[] = {
        { r1, sizeof(r1) }, { r2, sizeof(r2) }, { NULL, 0 },
        { r3, sizeof(r3) },
    };

    channel_pair(&a, &b);
    ck_assert(qio_channel_writev_all(a, out, G_N_ELEMENTS(out),
                                     &error_abort));
    ck_assert(qio_channel_readv_all(b, in, G_N_ELEMENTS(in), &error_abort));
    ck_assert_int_eq(memcmp(r1, "h", 1), 0);
    ck_assert_int_eq(memcmp(r2, "drpayl", 6), 0);
    ck_assert_int_eq(memcmp(r3, "oad", 3), 0);

    /* The partial forms move what fits. */
    ck_assert_int_eq(qio_channel_writev(a, out, G_N_ELEMENTS(out),
                                        &error_abort), 10);
    memset(r2, 0, sizeof(r2));
    ck_assert_int_eq(qio_channel_readv(b, &in[1], 1, &error_abort), 6);
    ck_assert_int_eq(memcmp(r2, "hdrpay", 6), 0);
    ck_assert_int_eq(qio_channel_readv(b, &in[3], 1, &error_abort), 3);
    ck_assert_int_eq(memcmp(r3, "loa", 3), 0);
    ck_assert_int_eq(qio_channel_readv(b, &in[0], 1, &error_abort), 1);
    ck_assert_int_eq(memcmp(r1, "d", 1), 0);
}
END_TEST

typedef struct Writer {
    QIOChannel *ioc;
    const uint8_t *buf;
    size_t len;
    size_t chunk;           /* 0: one writev_all of three parts */
    gulong delay_us;
} Writer;

static gpointer writer_thread(gpointer opaque)
{
    Writer *w = opaque;

    g_usleep(w->delay_us);
    if (!w->chunk) {
        struct iovec iov[] = {
            { (void *)w->buf, 1 },
            { (void *)(w->buf + 1), w->len / 2 },
            { (void *)(w->buf + 1 + w->len / 2), w->len - 1 - w->len / 2 },
        };
        return GINT_TO_POINTER(qio_channel_writev_all(w->ioc, iov, 3,
                                                      &error_abort));
    }
    for (size_t off = 0; off < w->len; off += w->chunk) {
        if (!qio_channel_write_all(w->ioc, w->buf + off,
                                   MIN(w->chunk, w->len - off),
                                   &error_abort)) {
            return GINT_TO_POINTER(FALSE);
        }
    }
    return GINT_TO_POINTER(TRUE);
}

typedef struct Reader {
    QIOChannel *ioc;
    uint8_t *buf;
    size_t len;
    gulong delay_us;
} Reader;

static gpointer reader_thread(gpointer opaque)
{
    Reader *r = opaque;

    g_usleep(r->delay_us);
    return GINT_TO_POINTER(qio_channel_read_all(r->ioc, r->buf, r->len,
                                                &error_abort));
}

/* More than a socket buffer holds: writes and reads are partial, and
 * the _all loops must put the pieces together in order. */
START_TEST(test_large_transfer)
{
    g_autoptr(QIOChannel) a = NULL;
    g_autoptr(QIOChannel) b = NULL;
    size_t len = 4 * 1024 * 1024 + 7;
    g_autofree uint8_t *out = g_malloc(len);
    g_autofree uint8_t *in = g_malloc0(len);
    Writer w = { .len = len, .buf = out };
    GThread *t;

    channel_pair(&a, &b);
    fill(out, len, 5);
    w.ioc = a;
    t = g_thread_new("writer", writer_thread, &w);
    ck_assert(qio_channel_read_all(b, in, len, &error_abort));
    ck_assert(g_thread_join(t));
    ck_assert_int_eq(memcmp(in, out, len), 0);
}
END_TEST

START_TEST(test_eof)
{
    g_autoptr(QIOChannel) a = NULL;
    g_autoptr(QIOChannel) b = NULL;
    Error *err = NULL;
    char buf[8];

    channel_pair(&a, &b);
    ck_assert(qio_channel_write_all(a, "abcdefgh", 8, &error_abort));
    ck_assert(qio_channel_write_all(a, "xyz", 3, &error_abort));
    ck_assert(qio_channel_shutdown(a, QIO_CHANNEL_SHUTDOWN_WRITE,
                                   &error_abort));

    /* A whole record, then the end in the middle of the next one. */
    ck_assert_int_eq(qio_channel_read_all_eof(b, buf, 8, &error_abort), 1);
    ck_assert_int_eq(memcmp(buf, "abcdefgh", 8), 0);
    ck_assert_int_eq(qio_channel_read_all_eof(b, buf, 8, &err), -1);
    check_error(&err, "Unexpected end of stream on 'b' after 3 of 8 bytes");
    /* Between records the end is clean... */
    ck_assert_int_eq(qio_channel_read_all_eof(b, buf, 8, &error_abort), 0);
    /* ...except for a caller that needs the record. */
    ck_assert(!qio_channel_read_all(b, buf, 8, &err));
    check_error(&err, "Unexpected end of stream on 'b' after 0 of 8 bytes");
    ck_assert_int_eq(qio_channel_read(b, buf, 8, &error_abort), 0);
}
END_TEST

START_TEST(test_nonblocking)
{
    g_autoptr(QIOChannel) a = NULL;
    g_autoptr(QIOChannel) b = NULL;
    size_t len = 1024 * 1024;
    g_autofree uint8_t *out = g_malloc(len);
    g_autofree uint8_t *in = g_malloc0(len);
    Writer w = { .len = len, .buf = out, .chunk = 4096,
                 .delay_us = 20000 };
    GThread *t;
    char c;

    channel_pair(&a, &b);
    fill(out, len, 9);
    ck_assert(qio_channel_set_blocking(b, false, &error_abort));
    ck_assert_int_eq(qio_channel_read(b, &c, 1, &error_abort),
                     QIO_CHANNEL_ERR_BLOCK);

    /* read_all waits for the data in non-blocking mode too. */
    w.ioc = a;
    t = g_thread_new("writer", writer_thread, &w);
    ck_assert(qio_channel_read_all(b, in, len, &error_abort));
    ck_assert(g_thread_join(t));
    ck_assert_int_eq(memcmp(in, out, len), 0);

    /* Partial writes stop when the socket buffer is full... */
    ck_assert(qio_channel_set_blocking(a, false, &error_abort));
    {
        Reader r = { .ioc = b, .buf = in, .len = len, .delay_us = 20000 };
        size_t sent = 0;
        ssize_t n;

        memset(in, 0, len);
        while ((n = qio_channel_write(a, out + sent, len - sent,
                                      &error_abort)) > 0) {
            sent += n;
        }
        ck_assert_int_eq(n, QIO_CHANNEL_ERR_BLOCK);
        ck_assert_uint_lt(sent, len);
        /* ...and write_all waits for room. */
        t = g_thread_new("reader", reader_thread, &r);
        ck_assert(qio_channel_write_all(a, out + sent, len - sent,
                                        &error_abort));
        ck_assert(g_thread_join(t));
        ck_assert_int_eq(memcmp(in, out, len), 0);
    }
}
END_TEST

static gboolean watch_fired(QIOChannel *ioc, GIOCondition cond,
                            gpointer opaque)
{
    *(GIOCondition *)opaque |= cond;
    return G_SOURCE_REMOVE;
}

START_TEST(test_watch)
{
    g_autoptr(QIOChannel) a = NULL;
    g_autoptr(QIOChannel) b = NULL;
    GIOCondition got = 0;
    guint id;
    char c;

    channel_pair(&a, &b);
    id = qio_channel_add_watch(b, G_IO_IN, watch_fired, &got, NULL);
    ck_assert_uint_ne(id, 0);
    /* Nothing to read: the watch must not fire. */
    while (g_main_context_iteration(NULL, FALSE)) {
    }
    ck_assert_int_eq(got, 0);

    ck_assert(qio_channel_write_all(a, "!", 1, &error_abort));
    while (!got) {
        g_main_context_iteration(NULL, TRUE);
    }
    ck_assert(got & G_IO_IN);
    ck_assert(qio_channel_read_all(b, &c, 1, &error_abort));
    ck_assert_int_eq(c, '!');

    /* Writable at once. */
    got = 0;
    qio_channel_add_watch(a, G_IO_OUT, watch_fired, &got, NULL);
    while (!got) {
        g_main_context_iteration(NULL, TRUE);
    }
    ck_assert(got & G_IO_OUT);

    /* A hang-up wakes a reader too. */
    got = 0;
    qio_channel_add_watch(b, G_IO_IN, watch_fired, &got, NULL);
    ck_assert(qio_channel_close(a, &error_abort));
    while (!got) {
        g_main_context_iteration(NULL, TRUE);
    }
    ck_assert_int_eq(qio_channel_read(b, &c, 1, &error_abort), 0);

    /* A closed channel has nothing to watch. */
    ck_assert_uint_eq(qio_channel_add_watch(a, G_IO_IN, watch_fired, &got,
                                            NULL), 0);
    ck_assert_ptr_null(qio_channel_create_watch(a, G_IO_IN));
}
END_TEST

/* A watch keeps its channel alive after the owner let go. */
START_TEST(test_watch_ref)
{
    QIOChannel *a, *b;
    GIOCondition got = 0;

    channel_pair(&a, &b);
    qio_channel_add_watch(b, G_IO_IN, watch_fired, &got, NULL);
    qio_channel_unref(b);
    ck_assert(qio_channel_write_all(a, "x", 1, &error_abort));
    while (!got) {
        g_main_context_iteration(NULL, TRUE);
    }
    ck_assert(got & G_IO_IN);
    qio_channel_unref(a);
}
END_TEST

START_TEST(test_shutdown)
{
    g_autoptr(QIOChannel) a = NULL;
    g_autoptr(QIOChannel) b = NULL;
    Error *err = NULL;
    char buf[4];

    channel_pair(&a, &b);
    /* Half-close: a can still read what b sends. */
    ck_assert(qio_channel_shutdown(a, QIO_CHANNEL_SHUTDOWN_WRITE,
                                   &error_abort));
    ck_assert_int_eq(qio_channel_read(b, buf, sizeof(buf), &error_abort), 0);
    ck_assert(qio_channel_write_all(b, "back", 4, &error_abort));
    ck_assert(qio_channel_read_all(a, buf, 4, &error_abort));
    ck_assert_int_eq(memcmp(buf, "back", 4), 0);
    ck_assert_int_lt(qio_channel_write(a, "x", 1, &err), 0);
    check_error(&err, "Failed to write to 'a': Broken pipe");

    ck_assert(qio_channel_shutdown(b, QIO_CHANNEL_SHUTDOWN_BOTH,
                                   &error_abort));
    ck_assert_int_eq(qio_channel_read(a, buf, sizeof(buf), &error_abort), 0);
}
END_TEST

START_TEST(test_close)
{
    g_autoptr(QIOChannel) a = NULL;
    g_autoptr(QIOChannel) b = NULL;
    Error *err = NULL;
    char c;

    channel_pair(&a, &b);
    ck_assert(!qio_channel_is_closed(a));
    ck_assert(qio_channel_close(a, &error_abort));
    ck_assert(qio_channel_is_closed(a));
    /* Idempotent. */
    ck_assert(qio_channel_close(a, &error_abort));
    ck_assert_int_eq(qio_channel_get_fd(a), -1);

    ck_assert_int_eq(qio_channel_read(a, &c, 1, &err), -1);
    check_error(&err, "Channel 'a' is closed");
    ck_assert(!qio_channel_write_all(a, "x", 1, &err));
    check_error(&err, "Channel 'a' is closed");
    ck_assert(!qio_channel_shutdown(a, QIO_CHANNEL_SHUTDOWN_BOTH, &err));
    check_error(&err, "Channel 'a' is closed");
    ck_assert(!qio_channel_set_blocking(a, false, &err));
    check_error(&err, "Channel 'a' is closed");

    /* The peer sees the end of the stream. */
    ck_assert_int_eq(qio_channel_read(b, &c, 1, &error_abort), 0);
}
END_TEST

START_TEST(test_refcount)
{
    QIOChannel *a, *b;
    char c;

    channel_pair(&a, &b);
    ck_assert_ptr_eq(qio_channel_ref(a), a);
    qio_channel_unref(a);
    /* Still open: one reference is left. */
    ck_assert(qio_channel_write_all(a, "y", 1, &error_abort));
    ck_assert(qio_channel_read_all(b, &c, 1, &error_abort));
    ck_assert_int_eq(c, 'y');
    /* The last one closes. */
    qio_channel_unref(a);
    ck_assert_int_eq(qio_channel_read(b, &c, 1, &error_abort), 0);
    qio_channel_unref(b);
    qio_channel_unref(NULL);
}
END_TEST

START_TEST(test_not_a_socket)
{
    Error *err = NULL;
    int p[2];

    ck_assert_int_eq(pipe(p), 0);
    ck_assert_ptr_null(qio_channel_socket_new_fd(p[0], "pipe", &err));
    check_error(&err, "'pipe' is not a socket");
    /* The descriptor was taken over, so it is closed now. */
    ck_assert_int_lt(close(p[0]), 0);
    close(p[1]);
}
END_TEST

/* Files cannot be shut down; asking is an error, not a crash. */
START_TEST(test_no_shutdown)
{
    g_autoptr(QIOChannel) f = qio_channel_file_new_fd(dup(STDERR_FILENO),
                                                      "stderr");
    Error *err = NULL;

    ck_assert(!qio_channel_has_shutdown(f));
    ck_assert(!qio_channel_shutdown(f, QIO_CHANNEL_SHUTDOWN_BOTH, &err));
    check_error(&err, "Channel 'stderr' does not support shutdown");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("io-channel");
    TCase *tc = tcase_create("io-channel");
    SRunner *sr;

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_partial_read);
    tcase_add_test(tc, test_vectors);
    tcase_add_test(tc, test_large_transfer);
    tcase_add_test(tc, test_eof);
    tcase_add_test(tc, test_nonblocking);
    tcase_add_test(tc, test_watch);
    tcase_add_test(tc, test_watch_ref);
    tcase_add_test(tc, test_shutdown);
    tcase_add_test(tc, test_close);
    tcase_add_test(tc, test_refcount);
    tcase_add_test(tc, test_not_a_socket);
    tcase_add_test(tc, test_no_shutdown);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
