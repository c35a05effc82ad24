/*
 * Unit tests for socket channels and the listener (io/channel-socket.c,
 * io/net-listener.c): unix, tcp over 127.0.0.1 and ::1 with port 0,
 * fd:, refused connections, and accepting from the GLib main loop.
 */
#include <check.h>
#include "tests/check-error.h"
#include "tests/check-run.h"
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "io/channel-file.h"
#include "io/channel-socket.h"
#include "io/net-listener.h"
#include "qapi/clone.h"
#include "qapi/qapi-visit.h"
#include "util/sockets.h"

static SocketAddress *parse(const char *str)
{
    return socket_parse(str, &error_abort);
}

/* Data both ways, including a read split over several calls. */
static void check_round_trip(QIOChannel *a, QIOChannel *b)
{
    char buf[32] = "";
    struct iovec iov[] = { { buf, 2 }, { buf + 2, 9 } };
    ssize_t n;

    ck_assert(qio_channel_write_all(a, "ping from a", 11, &error_abort));
    n = qio_channel_read(b, buf, 4, &error_abort);
    ck_assert_int_gt(n, 0);
    ck_assert_int_le(n, 4);
    ck_assert(qio_channel_read_all(b, buf + n, 11 - n, &error_abort));
    ck_assert_int_eq(memcmp(buf, "ping from a", 11), 0);

    ck_assert(qio_channel_write_all(b, "pong from b", 11, &error_abort));
    memset(buf, 0, sizeof(buf));
    ck_assert(qio_channel_readv_all(a, iov, 2, &error_abort));
    ck_assert_str_eq(buf, "pong from b");
}

static char *tmp_dir(void)
{
    char *dir = g_dir_make_tmp("test-io-socket-XXXXXX", NULL);

    ck_assert_ptr_nonnull(dir);
    return dir;
}

START_TEST(test_unix)
{
    g_autofree char *dir = tmp_dir();
    g_autofree char *path = g_build_filename(dir, "mig.sock", NULL);
    g_autofree char *uri = g_strdup_printf("unix:%s", path);
    g_autofree char *accepted_name = g_strdup_printf("%s#1", uri);
    g_autoptr(SocketAddress) addr = parse(uri);
    g_autoptr(QIONetListener) l = qio_net_listener_new(addr, &error_abort);
    g_autoptr(QIOChannel) client = NULL;
    g_autoptr(QIOChannel) server = NULL;
    struct stat st;

    ck_assert_str_eq(qio_net_listener_get_name(l), uri);
    ck_assert_int_eq(qio_net_listener_get_address(l)->type,
                     SOCKET_ADDRESS_TYPE_UNIX);

    client = qio_channel_socket_connect(addr, &error_abort);
    ck_assert_str_eq(qio_channel_get_name(client), uri);
    server = qio_net_listener_accept(l, &error_abort);
    ck_assert_str_eq(qio_channel_get_name(server), accepted_name);
    ck_assert(qio_channel_is_socket(server));
    check_round_trip(client, server);

    /* Closing removes the socket file it created. */
    ck_assert_int_eq(stat(path, &st), 0);
    qio_net_listener_close(l);
    ck_assert(qio_net_listener_is_closed(l));
    ck_assert_int_lt(stat(path, &st), 0);
    ck_assert_int_eq(errno, ENOENT);
    /* Connections already accepted live on. */
    check_round_trip(server, client);
    g_rmdir(dir);
}
END_TEST

START_TEST(test_unix_refused)
{
    g_autofree char *dir = tmp_dir();
    g_autofree char *uri = g_strdup_printf("unix:%s/none.sock", dir);
    g_autofree char *expect = g_strdup_printf("Failed to connect to "
                                              "'%s/none.sock': No such "
                                              "file or directory", dir);
    g_autoptr(SocketAddress) addr = parse(uri);
    Error *err = NULL;

    ck_assert_ptr_null(qio_channel_socket_connect(addr, &err));
    check_error(&err, expect);
    g_rmdir(dir);
}
END_TEST

/* Port 0: the listener knows the port it got, and clients reach it. */
START_TEST(test_tcp_port0)
{
    g_autoptr(SocketAddress) addr = parse("tcp:127.0.0.1:0");
    g_autoptr(QIONetListener) l = qio_net_listener_new(addr, &error_abort);
    const SocketAddress *bound = qio_net_listener_get_address(l);
    g_autofree char *name = NULL;
    g_autoptr(QIOChannel) client = NULL;
    g_autoptr(QIOChannel) server = NULL;
    g_autoptr(SocketAddress) local = NULL;

    ck_assert_int_eq(bound->type, SOCKET_ADDRESS_TYPE_INET);
    ck_assert_str_eq(bound->u.inet.host, "127.0.0.1");
    ck_assert_str_ne(bound->u.inet.port, "0");
    ck_assert_int_gt(atoi(bound->u.inet.port), 0);
    name = g_strdup_printf("tcp:127.0.0.1:%s", bound->u.inet.port);
    ck_assert_str_eq(qio_net_listener_get_name(l), name);

    client = qio_channel_socket_connect(bound, &error_abort);
    ck_assert_str_eq(qio_channel_get_name(client), name);
    server = qio_net_listener_accept(l, &error_abort);
    check_round_trip(client, server);

    local = qio_channel_socket_local_address(server, &error_abort);
    ck_assert_str_eq(local->u.inet.host, "127.0.0.1");
    ck_assert_str_eq(local->u.inet.port, bound->u.inet.port);
}
END_TEST

static bool have_ipv6_loopback(void)
{
    struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
                                 .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    bool ok = fd >= 0 &&
              bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;

    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

START_TEST(test_tcp_ipv6)
{
    g_autoptr(SocketAddress) addr = NULL;
    g_autoptr(QIONetListener) l = NULL;
    g_autoptr(QIOChannel) client = NULL;
    g_autoptr(QIOChannel) server = NULL;
    const SocketAddress *bound;

    if (!have_ipv6_loopback()) {
        vmig_skip("no IPv6 loopback on this host");
    }
    addr = parse("tcp:[::1]:0");
    l = qio_net_listener_new(addr, &error_abort);
    bound = qio_net_listener_get_address(l);
    ck_assert_str_eq(bound->u.inet.host, "::1");
    ck_assert(g_str_has_prefix(qio_net_listener_get_name(l), "tcp:[::1]:"));
    ck_assert_str_ne(bound->u.inet.port, "0");

    client = qio_channel_socket_connect(bound, &error_abort);
    server = qio_net_listener_accept(l, &error_abort);
    check_round_trip(client, server);
}
END_TEST

START_TEST(test_tcp_refused)
{
    g_autoptr(SocketAddress) addr = parse("tcp:127.0.0.1:0");
    QIONetListener *l = qio_net_listener_new(addr, &error_abort);
    g_autoptr(SocketAddress) gone =
        QAPI_CLONE(SocketAddress, qio_net_listener_get_address(l));
    g_autofree char *expect = NULL;
    Error *err = NULL;

    /* A port that was just free: nobody listens there any more. */
    qio_net_listener_free(l);
    expect = g_strdup_printf("Failed to connect to '127.0.0.1:%s': "
                             "Connection refused", gone->u.inet.port);
    ck_assert_ptr_null(qio_channel_socket_connect(gone, &err));
    check_error(&err, expect);
}
END_TEST

START_TEST(test_fd_number)
{
    g_autoptr(QIOChannel) a = NULL;
    g_autoptr(QIOChannel) b = NULL;
    g_autoptr(SocketAddress) addr = NULL;
    g_autofree char *uri = NULL;
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    uri = g_strdup_printf("fd:%d", sv[0]);
    addr = parse(uri);
    a = qio_channel_socket_connect(addr, &error_abort);
    ck_assert_str_eq(qio_channel_get_name(a), uri);
    b = qio_channel_socket_new_fd(sv[1], NULL, &error_abort);
    ck_assert_str_eq(qio_channel_get_name(b), "socket");
    check_round_trip(a, b);
}
END_TEST

static int resolved_fd = -1;

/* Stands in for the monitor's getfd store. */
static int fake_resolver(const char *name, Error **errp)
{
    if (strcmp(name, "migfd")) {
        error_setg(errp, "No file descriptor named '%s'", name);
        return -1;
    }
    return resolved_fd;
}

START_TEST(test_fd_named)
{
    g_autoptr(SocketAddress) good = parse("fd:migfd");
    g_autoptr(SocketAddress) bad = parse("fd:other");
    g_autoptr(QIOChannel) a = NULL;
    g_autoptr(QIOChannel) b = NULL;
    Error *err = NULL;
    int sv[2], p[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    socket_set_fd_resolver(fake_resolver);
    resolved_fd = sv[0];
    a = qio_channel_socket_connect(good, &error_abort);
    ck_assert_str_eq(qio_channel_get_name(a), "fd:migfd");
    b = qio_channel_socket_new_fd(sv[1], "peer", &error_abort);
    check_round_trip(a, b);

    ck_assert_ptr_null(qio_channel_socket_connect(bad, &err));
    check_error(&err, "No file descriptor named 'other'");

    /* A pipe is no socket. */
    ck_assert_int_eq(pipe(p), 0);
    resolved_fd = p[0];
    ck_assert_ptr_null(qio_channel_socket_connect(good, &err));
    check_error(&err, "Descriptor 'migfd' is not a socket");
    close(p[1]);
    socket_set_fd_resolver(NULL);
}
END_TEST

/* A listening socket passed by number is listened on as it is. */
START_TEST(test_listen_fd)
{
    g_autoptr(SocketAddress) tcp = parse("tcp:127.0.0.1:0");
    int fd = socket_listen(tcp, 1, &error_abort);
    g_autofree char *uri = g_strdup_printf("fd:%d", fd);
    g_autoptr(SocketAddress) addr = parse(uri);
    g_autoptr(QIONetListener) l = qio_net_listener_new(addr, &error_abort);
    g_autoptr(QIOChannel) client = NULL;
    g_autoptr(QIOChannel) server = NULL;

    ck_assert(g_str_has_prefix(qio_net_listener_get_name(l),
                               "tcp:127.0.0.1:"));
    client = qio_channel_socket_connect(qio_net_listener_get_address(l),
                                        &error_abort);
    server = qio_net_listener_accept(l, &error_abort);
    check_round_trip(client, server);
}
END_TEST

typedef struct Accepted {
    GPtrArray *channels;
    bool free_in_handler;
    bool notified;
} Accepted;

static void on_accept(QIONetListener *l, QIOChannel *ioc, gpointer opaque)
{
    Accepted *acc = opaque;

    g_ptr_array_add(acc->channels, ioc);
    if (acc->free_in_handler) {
        qio_net_listener_free(l);
    }
}

static void on_notify(gpointer opaque)
{
    ((Accepted *)opaque)->notified = true;
}

/* Reads the one byte each client sent, to pair the channels up. */
static char first_byte(QIOChannel *ioc)
{
    char c = 0;

    ck_assert(qio_channel_read_all(ioc, &c, 1, &error_abort));
    return c;
}

START_TEST(test_listener_main_loop)
{
    g_autoptr(SocketAddress) addr = parse("tcp:127.0.0.1:0");
    g_autoptr(QIONetListener) l = qio_net_listener_new(addr, &error_abort);
    g_autoptr(GPtrArray) clients = g_ptr_array_new_with_free_func(
        (GDestroyNotify)qio_channel_unref);
    Accepted acc = {
        .channels = g_ptr_array_new_with_free_func(
            (GDestroyNotify)qio_channel_unref),
    };
    char seen[4] = "";

    /* Connections queue before there is a handler... */
    for (int i = 0; i < 3; i++) {
        QIOChannel *c = qio_channel_socket_connect(
            qio_net_listener_get_address(l), &error_abort);
        char tag = 'A' + i;

        ck_assert(qio_channel_write_all(c, &tag, 1, &error_abort));
        g_ptr_array_add(clients, c);
    }
    /* ...and are all handed over once there is one. */
    qio_net_listener_set_handler(l, on_accept, &acc, on_notify);
    while (acc.channels->len < 3) {
        g_main_context_iteration(NULL, TRUE);
    }
    for (guint i = 0; i < 3; i++) {
        QIOChannel *s = acc.channels->pdata[i];
        g_autofree char *suffix = g_strdup_printf("#%u", i + 1);

        ck_assert(g_str_has_suffix(qio_channel_get_name(s), suffix));
        seen[i] = first_byte(s);
    }
    /* Accepted in the order they connected. */
    ck_assert_str_eq(seen, "ABC");
    check_round_trip(clients->pdata[1], acc.channels->pdata[1]);

    /* Removing the handler tells its opaque, and stops accepting. */
    ck_assert(!acc.notified);
    qio_net_listener_set_handler(l, NULL, NULL, NULL);
    ck_assert(acc.notified);
    g_ptr_array_add(clients, qio_channel_socket_connect(
        qio_net_listener_get_address(l), &error_abort));
    while (g_main_context_iteration(NULL, FALSE)) {
    }
    ck_assert_uint_eq(acc.channels->len, 3);
    g_ptr_array_unref(acc.channels);
}
END_TEST

/* The handler may free the listener: later clients are not accepted. */
START_TEST(test_listener_free_in_handler)
{
    g_autoptr(SocketAddress) addr = parse("tcp:127.0.0.1:0");
    QIONetListener *l = qio_net_listener_new(addr, &error_abort);
    g_autoptr(QIOChannel) c1 = NULL;
    g_autoptr(QIOChannel) c2 = NULL;
    Accepted acc = {
        .channels = g_ptr_array_new_with_free_func(
            (GDestroyNotify)qio_channel_unref),
        .free_in_handler = true,
    };
    char c;

    c1 = qio_channel_socket_connect(qio_net_listener_get_address(l),
                                    &error_abort);
    c2 = qio_channel_socket_connect(qio_net_listener_get_address(l),
                                    &error_abort);
    qio_net_listener_set_handler(l, on_accept, &acc, on_notify);
    while (acc.channels->len < 1) {
        g_main_context_iteration(NULL, TRUE);
    }
    while (g_main_context_iteration(NULL, FALSE)) {
    }
    ck_assert_uint_eq(acc.channels->len, 1);
    ck_assert(acc.notified);
    /* The second client was never accepted: it sees the close. */
    ck_assert_int_le(qio_channel_read(c2, &c, 1, NULL), 0);
    g_ptr_array_unref(acc.channels);
}
END_TEST

START_TEST(test_listener_errors)
{
    g_autoptr(SocketAddress) addr = parse("tcp:127.0.0.1:0");
    g_autoptr(QIONetListener) l = qio_net_listener_new(addr, &error_abort);
    g_autoptr(QIONetListener) again = NULL;
    g_autoptr(SocketAddress) fd = parse("fd:nosuch");
    Error *err = NULL;

    /* The port is taken. */
    again = qio_net_listener_new(qio_net_listener_get_address(l), &err);
    ck_assert_ptr_null(again);
    check_error(&err, "Address already in use");

    ck_assert_ptr_null(qio_net_listener_new(fd, &err));
    check_error(&err, "No descriptor named 'nosuch'");

    qio_net_listener_close(l);
    qio_net_listener_close(l);
    ck_assert_ptr_null(qio_net_listener_accept(l, &err));
    check_error(&err, "is closed");
}
END_TEST

/* Zero copy where there is none: Unix sockets, files.  (The TCP case
 * is tests/unit/test-zero-copy.c, skipped on hosts without it.) */
START_TEST(test_zero_copy_refused)
{
    g_autoptr(QIOChannel) a = NULL;
    g_autoptr(QIOChannel) f = NULL;
    QIOChannelZeroCopyStats st;
    Error *err = NULL;
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    a = qio_channel_socket_new_fd(sv[0], "unix:test", &error_abort);
    ck_assert(!qio_channel_enable_zero_copy(a, &err));
    check_error(&err, "Channel 'unix:test' does not support zero-copy "
                "send: ");
    ck_assert(!qio_channel_zero_copy_enabled(a));
    /* Not enabled: the zero-copy calls say so rather than copy. */
    ck_assert_int_eq(qio_channel_writev_zero_copy(
                         a, &(struct iovec){ "x", 1 }, 1, &err), -1);
    check_error(&err, "Zero-copy send is not enabled on 'unix:test'");
    ck_assert_int_eq(qio_channel_zero_copy_reap(a, &err), -1);
    check_error(&err, "Zero-copy send is not enabled on 'unix:test'");
    qio_channel_zero_copy_stats(a, &st);
    ck_assert_uint_eq(st.sent + st.completed + st.copied, 0);
    /* The channel is as good as before. */
    ck_assert(qio_channel_write_all(a, "y", 1, &error_abort));
    close(sv[1]);

    f = qio_channel_file_open_write("/dev/null", 0, &error_abort);
    ck_assert(!qio_channel_enable_zero_copy(f, &err));
    check_error(&err, "Channel 'file:/dev/null' does not support zero-copy "
                "send (a file channel)");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("io-channel-socket");
    TCase *tc = tcase_create("io-channel-socket");
    SRunner *sr;

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_unix);
    tcase_add_test(tc, test_unix_refused);
    tcase_add_test(tc, test_tcp_port0);
    tcase_add_test(tc, test_tcp_ipv6);
    tcase_add_test(tc, test_tcp_refused);
    tcase_add_test(tc, test_fd_number);
    tcase_add_test(tc, test_fd_named);
    tcase_add_test(tc, test_listen_fd);
    tcase_add_test(tc, test_listener_main_loop);
    tcase_add_test(tc, test_listener_free_in_handler);
    tcase_add_test(tc, test_listener_errors);
    tcase_add_test(tc, test_zero_copy_refused);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
