/*
 * Unit tests for the TLS channel (io/channel-tls.c) over a socket pair,
 * with PSK credentials made here with GnuTLS calls: the handshake both
 * ways (step by step, and blocking with a deadline and a wake-up),
 * large transfers in both directions at once from four threads,
 * non-blocking writes cut short, decrypted data pending behind a watch,
 * and peers that do not speak TLS.
 */
#include <check.h>
#include "tests/check-error.h"
#include "tests/check-run.h"
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "io/channel-socket.h"
#include "io/channel-tls.h"

#define PRIORITY "NORMAL:+ECDHE-PSK:+PSK"

static const uint8_t good_key[16] = "0123456789abcdef";
static const uint8_t bad_key[16] = "fedcba9876543210";
/* The server's key: what the client's must equal. */
static const uint8_t *server_key = good_key;

static gnutls_psk_server_credentials_t server_creds;
static gnutls_psk_client_credentials_t client_creds_good;
static gnutls_psk_client_credentials_t client_creds_bad;
static int released;

static int server_psk(gnutls_session_t session, const char *username,
                      gnutls_datum_t *key)
{
    key->data = gnutls_malloc(sizeof(good_key));
    memcpy(key->data, server_key, sizeof(good_key));
    key->size = sizeof(good_key);
    return 0;
}

static void setup(void)
{
    gnutls_datum_t good = { (uint8_t *)good_key, sizeof(good_key) };
    gnutls_datum_t bad = { (uint8_t *)bad_key, sizeof(bad_key) };

    ck_assert_int_eq(gnutls_psk_allocate_server_credentials(&server_creds),
                     0);
    gnutls_psk_set_server_credentials_function(server_creds, server_psk);
    ck_assert_int_eq(gnutls_psk_allocate_client_credentials(
                         &client_creds_good), 0);
    ck_assert_int_eq(gnutls_psk_set_client_credentials(
                         client_creds_good, "src", &good,
                         GNUTLS_PSK_KEY_RAW), 0);
    ck_assert_int_eq(gnutls_psk_allocate_client_credentials(
                         &client_creds_bad), 0);
    ck_assert_int_eq(gnutls_psk_set_client_credentials(
                         client_creds_bad, "src", &bad,
                         GNUTLS_PSK_KEY_RAW), 0);
    server_key = good_key;
    released = 0;
}

static void teardown(void)
{
    gnutls_psk_free_server_credentials(server_creds);
    gnutls_psk_free_client_credentials(client_creds_good);
    gnutls_psk_free_client_credentials(client_creds_bad);
}

static void count_release(gpointer opaque)
{
    g_atomic_int_inc((int *)opaque);
}

/* A TLS channel over socket @fd (taken), named @name. */
static QIOChannel *wrap(int fd, bool server, bool good, const char *name)
{
    g_autoptr(QIOChannel) inner = qio_channel_socket_new_fd(fd, name,
                                                            &error_abort);
    gnutls_session_t session;

    ck_assert_int_eq(gnutls_init(&session, server ? GNUTLS_SERVER
                                                  : GNUTLS_CLIENT), 0);
    ck_assert_int_eq(gnutls_priority_set_direct(session, PRIORITY, NULL),
                     0);
    if (server) {
        gnutls_credentials_set(session, GNUTLS_CRD_PSK, server_creds);
    } else {
        gnutls_credentials_set(session, GNUTLS_CRD_PSK,
                               good ? client_creds_good : client_creds_bad);
    }
    return qio_channel_tls_new(inner, session, count_release, &released);
}

static void make_pair(int fds[2])
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
}

/* Steps both handshakes in turn until neither wants more; false with
 * the errors set if either failed. */
static bool handshake_pair(QIOChannel *c, QIOChannel *s, Error **cerr,
                           Error **serr)
{
    QIOChannelTLSStep cs = QIO_CHANNEL_TLS_WANT_WRITE;
    QIOChannelTLSStep ss = QIO_CHANNEL_TLS_WANT_READ;

    ck_assert(qio_channel_set_blocking(c, false, &error_abort));
    ck_assert(qio_channel_set_blocking(s, false, &error_abort));
    /* Each round moves at least one message; a handshake has few. */
    for (int round = 0; round < 100; round++) {
        if (cs != QIO_CHANNEL_TLS_DONE && cs != QIO_CHANNEL_TLS_FAILED) {
            cs = qio_channel_tls_handshake_step(c, cerr);
        }
        if (ss != QIO_CHANNEL_TLS_DONE && ss != QIO_CHANNEL_TLS_FAILED) {
            ss = qio_channel_tls_handshake_step(s, serr);
        }
        if (cs == QIO_CHANNEL_TLS_FAILED || ss == QIO_CHANNEL_TLS_FAILED) {
            /* Let the other end read the alert, if one was sent. */
            for (int i = 0; i < 10; i++) {
                if (cs != QIO_CHANNEL_TLS_FAILED &&
                    cs != QIO_CHANNEL_TLS_DONE) {
                    cs = qio_channel_tls_handshake_step(c, cerr);
                }
                if (ss != QIO_CHANNEL_TLS_FAILED &&
                    ss != QIO_CHANNEL_TLS_DONE) {
                    ss = qio_channel_tls_handshake_step(s, serr);
                }
            }
            return false;
        }
        if (cs == QIO_CHANNEL_TLS_DONE && ss == QIO_CHANNEL_TLS_DONE) {
            return true;
        }
    }
    ck_abort_msg("the handshake did not finish in 100 rounds");
    return false;
}

static void connected_pair(QIOChannel **c, QIOChannel **s)
{
    int fds[2];

    make_pair(fds);
    *c = wrap(fds[0], false, true, "client");
    *s = wrap(fds[1], true, false, "server");
    ck_assert(handshake_pair(*c, *s, &error_abort, &error_abort));
}

START_TEST(test_psk_round_trip)
{
    QIOChannel *c, *s;
    char buf[32] = "";

    connected_pair(&c, &s);
    ck_assert(qio_channel_tls_handshake_done(c));
    ck_assert_str_eq(qio_channel_get_kind(c), "tls");
    ck_assert_str_eq(qio_channel_get_name(c), "client");
    ck_assert_int_eq(gnutls_cipher_get(qio_channel_tls_get_session(c)),
                     gnutls_cipher_get(qio_channel_tls_get_session(s)));
    ck_assert(qio_channel_write_all(c, "hello server", 12, &error_abort));
    ck_assert(qio_channel_read_all(s, buf, 12, &error_abort));
    ck_assert_str_eq(buf, "hello server");
    ck_assert(qio_channel_write_all(s, "hello client", 12, &error_abort));
    ck_assert(qio_channel_read_all(c, buf, 12, &error_abort));
    ck_assert_str_eq(buf, "hello client");
    /* The session's maker is told once per channel, after the end. */
    qio_channel_unref(c);
    ck_assert_int_eq(released, 1);
    qio_channel_unref(s);
    ck_assert_int_eq(released, 2);
}
END_TEST

START_TEST(test_psk_mismatch)
{
    Error *cerr = NULL, *serr = NULL;
    int fds[2];
    QIOChannel *c, *s;

    make_pair(fds);
    c = wrap(fds[0], false, false, "client");
    s = wrap(fds[1], true, false, "server");
    ck_assert(!handshake_pair(c, s, &cerr, &serr));
    /* Both ends fail, each naming itself; the one that received the
     * other's alert says which. */
    ck_assert_ptr_nonnull(cerr);
    ck_assert_ptr_nonnull(serr);
    ck_assert_msg(strstr(error_get_pretty(serr), "TLS handshake on "
                         "'server' failed: "), "%s",
                  error_get_pretty(serr));
    check_error(&cerr, "TLS handshake on 'client' failed: the peer sent the "
                "TLS alert '");
    error_free(serr);
    qio_channel_unref(c);
    qio_channel_unref(s);
}
END_TEST

/* ---- Both directions at once ---- */

#define CHUNKS 300
#define PAGE 4096
#define PAGES_PER_CHUNK 24

/*
 * Chunk @k of a stream tagged @tag as a vector the way the migration
 * writes one: a small header of its own, then guest pages that are one
 * piece of memory (in @pages), then sometimes a small trailer.
 */
static size_t chunk_iov(uint8_t *pages, uint8_t hdr[16], uint8_t tail[7],
                        unsigned k, uint8_t tag, struct iovec *iov)
{
    size_t n = 0;
    unsigned npages = 1 + k % PAGES_PER_CHUNK;

    memset(hdr, tag ^ k, 16);
    memset(tail, ~(tag ^ k), 7);
    for (size_t i = 0; i < (size_t)npages * PAGE; i++) {
        pages[i] = (uint8_t)(i * 7 + k * 13 + tag);
    }
    iov[n++] = (struct iovec){ hdr, 16 };
    for (unsigned p = 0; p < npages; p++) {
        iov[n++] = (struct iovec){ pages + p * PAGE, PAGE };
    }
    if (k % 3 == 0) {
        iov[n++] = (struct iovec){ tail, 7 };
    }
    return n;
}

typedef struct Flow {
    QIOChannel *ioc;
    uint8_t tag;
    bool ok;
} Flow;

static gpointer writer_thread(gpointer data)
{
    Flow *f = data;
    g_autofree uint8_t *pages = g_malloc(PAGES_PER_CHUNK * PAGE);
    uint8_t hdr[16], tail[7];
    struct iovec iov[PAGES_PER_CHUNK + 2];

    f->ok = true;
    for (unsigned k = 0; k < CHUNKS && f->ok; k++) {
        size_t n = chunk_iov(pages, hdr, tail, k, f->tag, iov);

        f->ok = qio_channel_writev_all(f->ioc, iov, n, &error_abort);
    }
    return NULL;
}

static gpointer reader_thread(gpointer data)
{
    Flow *f = data;
    g_autofree uint8_t *pages = g_malloc(PAGES_PER_CHUNK * PAGE);
    g_autofree uint8_t *want = g_malloc(PAGES_PER_CHUNK * PAGE + 32);
    g_autofree uint8_t *got = g_malloc(PAGES_PER_CHUNK * PAGE + 32);
    uint8_t hdr[16], tail[7];
    struct iovec iov[PAGES_PER_CHUNK + 2];

    f->ok = true;
    for (unsigned k = 0; k < CHUNKS && f->ok; k++) {
        size_t n = chunk_iov(pages, hdr, tail, k, f->tag, iov), len = 0;

        for (size_t i = 0; i < n; i++) {
            memcpy(want + len, iov[i].iov_base, iov[i].iov_len);
            len += iov[i].iov_len;
        }
        f->ok = qio_channel_read_all(f->ioc, got, len, &error_abort) &&
                memcmp(got, want, len) == 0;
    }
    return NULL;
}

START_TEST(test_duplex_threads)
{
    QIOChannel *c, *s;
    Flow flows[4];
    GThread *th[4];
    char end;

    connected_pair(&c, &s);
    /* Non-blocking, as streams use them: the _all calls wait on the
     * channel's watch. */
    flows[0] = (Flow){ .ioc = c, .tag = 0x11 };
    flows[1] = (Flow){ .ioc = s, .tag = 0x11 };
    flows[2] = (Flow){ .ioc = s, .tag = 0x77 };
    flows[3] = (Flow){ .ioc = c, .tag = 0x77 };
    th[0] = g_thread_new("c-write", writer_thread, &flows[0]);
    th[1] = g_thread_new("s-read", reader_thread, &flows[1]);
    th[2] = g_thread_new("s-write", writer_thread, &flows[2]);
    th[3] = g_thread_new("c-read", reader_thread, &flows[3]);
    for (int i = 0; i < 4; i++) {
        g_thread_join(th[i]);
        ck_assert_msg(flows[i].ok, "flow %d failed", i);
    }
    /* Nothing more than was sent: the close alert reads as the end. */
    ck_assert(qio_channel_close(c, &error_abort));
    ck_assert_int_eq(qio_channel_read_all_eof(s, &end, 1, &error_abort), 0);
    qio_channel_unref(c);
    qio_channel_unref(s);
}
END_TEST

/* ---- Non-blocking writes cut short ---- */

START_TEST(test_partial_writes)
{
    const size_t total = 8 << 20;
    g_autofree uint8_t *src = g_malloc(total);
    g_autofree uint8_t *dst = g_malloc(total);
    QIOChannel *c, *s;
    size_t sent = 0, got = 0;
    unsigned blocks = 0;

    for (size_t i = 0; i < total; i++) {
        src[i] = (uint8_t)(i ^ (i >> 11));
    }
    connected_pair(&c, &s);
    while (got < total) {
        bool blocked = false;

        while (sent < total) {
            ssize_t n = qio_channel_write(c, src + sent, total - sent,
                                          &error_abort);

            if (n == QIO_CHANNEL_ERR_BLOCK) {
                blocked = true;
                break;
            }
            ck_assert_int_gt(n, 0);
            sent += n;
        }
        if (blocked) {
            ssize_t n;

            blocks++;
            /* Make room, then retry with the same bytes: the record
             * GnuTLS kept is what goes, and only its length counts. */
            n = qio_channel_read(s, dst + got, 300000, &error_abort);
            ck_assert_int_gt(n, 0);
            got += n;
            n = qio_channel_write(c, src + sent, total - sent,
                                  &error_abort);
            if (n != QIO_CHANNEL_ERR_BLOCK) {
                ck_assert_int_eq(n, QIO_CHANNEL_TLS_RECORD_SIZE);
                sent += n;
            }
            continue;
        }
        while (got < total) {
            ssize_t n = qio_channel_read(s, dst + got, total - got,
                                         &error_abort);

            if (n == QIO_CHANNEL_ERR_BLOCK) {
                break;
            }
            ck_assert_int_gt(n, 0);
            got += n;
        }
    }
    ck_assert_uint_gt(blocks, 0);
    ck_assert_uint_eq(sent, total);
    ck_assert(memcmp(src, dst, total) == 0);
    qio_channel_unref(c);
    qio_channel_unref(s);
}
END_TEST

/* ---- Decrypted bytes pending ---- */

static gboolean note_ready(QIOChannel *ioc, GIOCondition cond,
                           gpointer opaque)
{
    *(GIOCondition *)opaque = cond;
    return G_SOURCE_REMOVE;
}

START_TEST(test_pending_watch)
{
    QIOChannel *c, *s;
    char msg[1000], buf[1000];
    struct pollfd pfd;
    g_autoptr(GMainContext) ctx = g_main_context_new();
    GSource *watch;
    GIOCondition fired = 0;

    memset(msg, 'x', sizeof(msg));
    connected_pair(&c, &s);
    ck_assert(qio_channel_write_all(c, msg, sizeof(msg), &error_abort));
    /* Blocking for this read, so the record is surely there. */
    ck_assert(qio_channel_set_blocking(s, true, &error_abort));
    ck_assert_int_eq(qio_channel_read(s, buf, 10, &error_abort), 10);
    ck_assert(qio_channel_set_blocking(s, false, &error_abort));
    /* The whole record left the socket: its descriptor is not
     * readable, yet 990 bytes wait. */
    pfd = (struct pollfd){ .fd = qio_channel_get_fd(s), .events = POLLIN };
    ck_assert_int_eq(poll(&pfd, 1, 0), 0);
    watch = qio_channel_create_watch(s, G_IO_IN);
    g_source_set_callback(watch, G_SOURCE_FUNC(note_ready), &fired, NULL);
    g_source_attach(watch, ctx);
    ck_assert(g_main_context_iteration(ctx, FALSE));
    ck_assert_int_eq(fired & G_IO_IN, G_IO_IN);
    g_source_destroy(watch);
    g_source_unref(watch);
    /* They come in one read, and then the channel would block. */
    ck_assert_int_eq(qio_channel_read(s, buf + 10, sizeof(buf),
                                      &error_abort), 990);
    ck_assert(memcmp(buf, msg, sizeof(msg)) == 0);
    ck_assert_int_eq(qio_channel_read(s, buf, sizeof(buf), &error_abort),
                     QIO_CHANNEL_ERR_BLOCK);
    qio_channel_unref(c);
    qio_channel_unref(s);
}
END_TEST

/* ---- Peers without TLS ---- */

static const char vmig_magic[] = "\x89VMIG\r\n\x1a\0\0\0\2\0\0\0\0";

/* A TLS server receiving @bytes from a plaintext peer. */
static void check_plaintext_client(const char *bytes, size_t len,
                                   const char *want)
{
    Error *err = NULL;
    int fds[2];
    QIOChannel *s;

    make_pair(fds);
    s = wrap(fds[1], true, true, "server");
    ck_assert_int_eq(write(fds[0], bytes, len), (ssize_t)len);
    ck_assert(!qio_channel_tls_handshake(s, 0, -1, &err));
    check_error(&err, want);
    ck_assert(qio_channel_tls_peer_is_plaintext(s));
    close(fds[0]);
    qio_channel_unref(s);
}

START_TEST(test_plaintext_client)
{
    check_plaintext_client(vmig_magic, 16, "TLS handshake on 'server' "
                           "failed: the peer did not start TLS (it sent a "
                           "plaintext stream)");
    check_plaintext_client("GET / HTTP/1.0\r\n", 16, "the peer did not "
                           "start TLS (its first bytes 47 45 are not a TLS "
                           "record)");
    /* A record type that is TLS's, but not the version byte. */
    check_plaintext_client("\x16\x01", 2, "the peer did not start TLS "
                           "(its first bytes 16 01 are not a TLS record)");
}
END_TEST

/* A TLS client whose server is plaintext: the server sees 16 03 (what
 * migration/wire/wire.c recognises), the client the stream magic. */
START_TEST(test_plaintext_server)
{
    Error *err = NULL;
    uint8_t hello[2];
    int fds[2];
    QIOChannel *c;

    make_pair(fds);
    c = wrap(fds[0], false, true, "client");
    ck_assert(qio_channel_set_blocking(c, false, &error_abort));
    ck_assert_int_eq(qio_channel_tls_handshake_step(c, &error_abort),
                     QIO_CHANNEL_TLS_WANT_READ);
    ck_assert_int_eq(read(fds[1], hello, 2), 2);
    ck_assert_int_eq(hello[0], 0x16);
    ck_assert_int_eq(hello[1], 0x03);
    ck_assert_int_eq(write(fds[1], vmig_magic, 16), 16);
    ck_assert(!qio_channel_tls_handshake(c, 0, -1, &err));
    check_error(&err, "TLS handshake on 'client' failed: the peer did not "
                "start TLS (it sent a plaintext stream)");
    close(fds[1]);
    qio_channel_unref(c);
}
END_TEST

/* A server that closes instead of answering. */
START_TEST(test_peer_closes)
{
    Error *err = NULL;
    int fds[2];
    QIOChannel *c;

    make_pair(fds);
    c = wrap(fds[0], false, true, "client");
    close(fds[1]);
    ck_assert(!qio_channel_tls_handshake(c, 0, -1, &err));
    check_error(&err, "TLS handshake on 'client' failed: ");
    qio_channel_unref(c);
}
END_TEST

/* ---- Bounded waits ---- */

START_TEST(test_handshake_deadline_and_wake)
{
    Error *err = NULL;
    int fds[2], wake;
    QIOChannel *c;
    uint64_t one = 1;

    make_pair(fds);
    c = wrap(fds[0], false, true, "client");
    /* A silent server. */
    ck_assert(!qio_channel_tls_handshake(
                  c, g_get_monotonic_time() + 50 * 1000, -1, &err));
    check_error(&err, "TLS handshake on 'client' timed out");
    wake = eventfd(0, EFD_CLOEXEC);
    ck_assert_int_ge(wake, 0);
    ck_assert_int_eq(write(wake, &one, sizeof(one)), sizeof(one));
    ck_assert(!qio_channel_tls_handshake(c, 0, wake, &err));
    check_error(&err, "TLS handshake on 'client' was interrupted");
    close(wake);
    close(fds[1]);
    qio_channel_unref(c);
}
END_TEST

START_TEST(test_io_before_handshake)
{
    Error *err = NULL;
    int fds[2];
    QIOChannel *c;
    char b = 0;

    make_pair(fds);
    c = wrap(fds[0], false, true, "client");
    ck_assert_int_eq(qio_channel_write(c, &b, 1, &err), -1);
    check_error(&err, "TLS on 'client' has not completed its handshake");
    ck_assert_int_eq(qio_channel_read(c, &b, 1, &err), -1);
    check_error(&err, "TLS on 'client' has not completed its handshake");
    close(fds[1]);
    qio_channel_unref(c);
}
END_TEST

/* The end of the inner stream without a closing alert is the end. */
START_TEST(test_eof_without_bye)
{
    QIOChannel *c, *s;
    char b;

    connected_pair(&c, &s);
    ck_assert(qio_channel_shutdown(qio_channel_tls_get_inner(c),
                                   QIO_CHANNEL_SHUTDOWN_BOTH, &error_abort));
    ck_assert(qio_channel_set_blocking(s, true, &error_abort));
    ck_assert_int_eq(qio_channel_read(s, &b, 1, &error_abort), 0);
    qio_channel_unref(c);
    qio_channel_unref(s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("channel-tls");
    TCase *tc = tcase_create("channel-tls");
    SRunner *sr;

    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_psk_round_trip);
    tcase_add_test(tc, test_psk_mismatch);
    tcase_add_test(tc, test_duplex_threads);
    tcase_add_test(tc, test_partial_writes);
    tcase_add_test(tc, test_pending_watch);
    tcase_add_test(tc, test_plaintext_client);
    tcase_add_test(tc, test_plaintext_server);
    tcase_add_test(tc, test_peer_closes);
    tcase_add_test(tc, test_handshake_deadline_and_wake);
    tcase_add_test(tc, test_io_before_handshake);
    tcase_add_test(tc, test_eof_without_bye);
    suite_add_tcase(su, tc);

    sr = srunner_create(su);
    return vmig_check_run(sr);
}
