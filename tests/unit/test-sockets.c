/* Unit tests for util/sockets.c: addresses, listen, connect, accept. */
#include <check.h>
#include "tests/check-error.h"
#include "tests/check-run.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "util/sockets.h"

static bool is_cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFD);
    return flags >= 0 && (flags & FD_CLOEXEC);
}

/* Sends a byte each way over a connected pair. */
static void check_pair(int a, int b)
{
    char c = 0;

    ck_assert_int_eq(write(a, "x", 1), 1);
    ck_assert_int_eq(read(b, &c, 1), 1);
    ck_assert_int_eq(c, 'x');
    ck_assert_int_eq(write(b, "y", 1), 1);
    ck_assert_int_eq(read(a, &c, 1), 1);
    ck_assert_int_eq(c, 'y');
}

/* Parses @str and checks its string form is @canonical. */
static SocketAddress *parse_ok(const char *str, const char *canonical)
{
    Error *err = NULL;
    SocketAddress *addr = socket_parse(str, &err);
    g_autofree char *back = NULL;

    ck_assert_msg(addr, "'%s' refused: %s", str,
                  err ? error_get_pretty(err) : "?");
    back = socket_address_to_string(addr);
    ck_assert_str_eq(back, canonical);
    return addr;
}

START_TEST(test_parse)
{
    g_autoptr(SocketAddress) a = NULL;

    a = parse_ok("unix:/tmp/x.sock", "unix:/tmp/x.sock");
    ck_assert_int_eq(a->type, SOCKET_ADDRESS_TYPE_UNIX);
    ck_assert_str_eq(a->u.q_unix.path, "/tmp/x.sock");
    ck_assert(!a->u.q_unix.has_abstract);
    qapi_free_SocketAddress(a);

    /* The whole rest is the path, commas included. */
    a = parse_ok("unix:/tmp/a,b=c", "unix:/tmp/a,b=c");
    ck_assert_str_eq(a->u.q_unix.path, "/tmp/a,b=c");
    qapi_free_SocketAddress(a);

    a = parse_ok("fd:migfd", "fd:migfd");
    ck_assert_int_eq(a->type, SOCKET_ADDRESS_TYPE_FD);
    ck_assert_str_eq(a->u.fd.str, "migfd");
    qapi_free_SocketAddress(a);

    a = parse_ok("tcp:localhost:4444", "tcp:localhost:4444");
    ck_assert_int_eq(a->type, SOCKET_ADDRESS_TYPE_INET);
    ck_assert_str_eq(a->u.inet.host, "localhost");
    ck_assert_str_eq(a->u.inet.port, "4444");
    ck_assert(!a->u.inet.has_to && !a->u.inet.has_ipv4 &&
              !a->u.inet.has_ipv6 && !a->u.inet.has_keep_alive &&
              !a->u.inet.has_mptcp && !a->u.inet.has_numeric);
    qapi_free_SocketAddress(a);

    a = parse_ok("localhost:4444", "tcp:localhost:4444");
    qapi_free_SocketAddress(a);
    a = parse_ok("tcp::4444", "tcp::4444");
    ck_assert_str_eq(a->u.inet.host, "");
    qapi_free_SocketAddress(a);
    a = parse_ok("tcp:0:0", "tcp:0:0");
    qapi_free_SocketAddress(a);
    a = parse_ok("tcp:[::1]:4444", "tcp:[::1]:4444");
    ck_assert_str_eq(a->u.inet.host, "::1");
    qapi_free_SocketAddress(a);
    a = parse_ok("[fe80::1%eth0]:http", "tcp:[fe80::1%eth0]:http");
    ck_assert_str_eq(a->u.inet.host, "fe80::1%eth0");
    ck_assert_str_eq(a->u.inet.port, "http");
    qapi_free_SocketAddress(a);

    a = parse_ok("tcp:127.0.0.1:4444,to=4450,ipv4,ipv6=off,keep-alive=on,"
                 "mptcp=off,numeric",
                 "tcp:127.0.0.1:4444,numeric=on,to=4450,ipv4=on,ipv6=off,"
                 "keep-alive=on,mptcp=off");
    ck_assert(a->u.inet.has_to && a->u.inet.to == 4450);
    ck_assert(a->u.inet.has_ipv4 && a->u.inet.ipv4);
    ck_assert(a->u.inet.has_ipv6 && !a->u.inet.ipv6);
    ck_assert(a->u.inet.has_keep_alive && a->u.inet.keep_alive);
    ck_assert(a->u.inet.has_mptcp && !a->u.inet.mptcp);
    ck_assert(a->u.inet.has_numeric && a->u.inet.numeric);
    qapi_free_SocketAddress(a);

    /* The last one is freed by g_autoptr. */
    a = parse_ok("tcp:h:65535,to=65535", "tcp:h:65535,to=65535");
}
END_TEST

START_TEST(test_parse_errors)
{
    static const struct {
        const char *str;
        const char *error;
    } bad[] = {
        { "", "Expected 'HOST:PORT' in ''" },
        { "unix:", "Missing path in socket address 'unix:'" },
        { "fd:", "Missing descriptor name in socket address 'fd:'" },
        { "vsock:3:1234", "vsock addresses are not supported: "
                          "'vsock:3:1234'" },
        { "tcp:", "Expected 'HOST:PORT' in 'tcp:'" },
        { "tcp:host", "Expected 'HOST:PORT' in 'tcp:host'" },
        { "a,b:1", "Expected 'HOST:PORT' in 'a,b:1'" },
        { "tcp:host:", "Missing port in 'tcp:host:'" },
        { "tcp:host:,to=5", "Missing port in 'tcp:host:,to=5'" },
        { "tcp:::1:4444", "Invalid port ':1:4444' in 'tcp:::1:4444' (an "
                          "IPv6 address needs brackets: '[ADDRESS]:PORT')" },
        { "tcp:[::1:4444", "Expected '[IPV6-ADDRESS]:PORT' in "
                           "'tcp:[::1:4444'" },
        { "tcp:[::1]4444", "Expected '[IPV6-ADDRESS]:PORT' in "
                           "'tcp:[::1]4444'" },
        { "tcp:[]:4444", "Empty IPv6 address in 'tcp:[]:4444'" },
        { "tcp:h:65536", "Invalid port '65536' in 'tcp:h:65536'" },
        { "tcp:h:-1", "Invalid port '-1' in 'tcp:h:-1'" },
        { "tcp:h:0x10", "Invalid port '0x10' in 'tcp:h:0x10'" },
        { "tcp:h:1,to=0", "Option 'to' of 'tcp:h:1,to=0' is below the "
                          "port" },
        { "tcp:h:http,to=90", "Option 'to' of 'tcp:h:http,to=90' needs a "
                              "numeric port" },
        { "tcp:h:1,to", "Option 'to' of 'tcp:h:1,to' needs a value" },
        { "tcp:h:1,to=70000", "Invalid socket address 'tcp:h:1,to=70000': "
                              "Parameter 'to' expects uint16 (0..65535), "
                              "got 70000" },
        { "tcp:h:1,to=5,to=6", "Option 'to' given twice in "
                               "'tcp:h:1,to=5,to=6'" },
        { "tcp:h:1,ipv4=maybe", "Invalid socket address "
                                "'tcp:h:1,ipv4=maybe': Parameter 'ipv4': "
                                "Invalid boolean 'maybe': expected on/off, "
                                "yes/no or true/false" },
        { "tcp:h:1,host=x", "Unknown option 'host' in socket address "
                            "'tcp:h:1,host=x'" },
        { "tcp:h:1,ipv4,ipv4=off", "Option 'ipv4' given twice in "
                                   "'tcp:h:1,ipv4,ipv4=off'" },
        { "tcp:h:1,foo", "Unknown option 'foo' in socket address "
                         "'tcp:h:1,foo'" },
        { "tcp:h:1,", "Empty option in socket address 'tcp:h:1,'" },
        { "tcp:h:1,,ipv4", "Empty option in socket address "
                           "'tcp:h:1,,ipv4'" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        Error *err = NULL;
        SocketAddress *addr = socket_parse(bad[i].str, &err);

        ck_assert_msg(!addr, "'%s' accepted", bad[i].str);
        ck_assert_ptr_nonnull(err);
        ck_assert_msg(!strcmp(error_get_pretty(err), bad[i].error),
                      "'%s': error '%s', expected '%s'", bad[i].str,
                      error_get_pretty(err), bad[i].error);
        error_free(err);
    }
}
END_TEST

/* Listens on @str, connects to the address the listener reports, accepts,
 * and checks the connection works.  Returns the local address. */
static SocketAddress *listen_connect(const char *str)
{
    g_autoptr(SocketAddress) addr = socket_parse(str, &error_abort);
    SocketAddress *local;
    int lfd, cfd, afd;

    lfd = socket_listen(addr, 1, &error_abort);
    ck_assert(is_cloexec(lfd));
    local = socket_local_address(lfd, &error_abort);
    ck_assert_int_eq(local->type, addr->type);

    cfd = socket_connect(local, &error_abort);
    ck_assert(is_cloexec(cfd));
    afd = socket_accept(lfd, &error_abort);
    ck_assert(is_cloexec(afd));
    check_pair(cfd, afd);

    close(afd);
    close(cfd);
    close(lfd);
    return local;
}

START_TEST(test_unix)
{
    g_autofree char *dir = g_dir_make_tmp("vmig-sockets-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "s.sock", NULL);
    g_autofree char *str = g_strdup_printf("unix:%s", path);
    g_autoptr(SocketAddress) addr = socket_parse(str, &error_abort);
    g_autoptr(SocketAddress) local = NULL;
    Error *err = NULL;
    struct stat st;
    int lfd, lfd2;

    local = listen_connect(str);
    ck_assert_str_eq(local->u.q_unix.path, path);
    ck_assert(!local->u.q_unix.has_abstract);

    /* The socket file outlives its closed listener, and is replaced. */
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    lfd = socket_listen(addr, 1, &error_abort);

    /* A live one is not. */
    lfd2 = socket_listen(addr, 1, &err);
    ck_assert_int_eq(lfd2, -1);
    check_error(&err, "Failed to bind socket to '");
    lfd2 = socket_connect(addr, &error_abort);
    close(lfd2);
    close(lfd);

    /* Neither is a file that is not a socket. */
    ck_assert_int_eq(unlink(path), 0);
    ck_assert(g_file_set_contents(path, "data", -1, NULL));
    ck_assert_int_eq(socket_listen(addr, 1, &err), -1);
    check_error(&err, "Address already in use");
    ck_assert_int_eq(unlink(path), 0);

    /* Nobody listens: refused, naming the path. */
    ck_assert_int_eq(socket_connect(addr, &err), -1);
    g_autofree char *expect = g_strdup_printf("Failed to connect to '%s': "
                                              "No such file or directory",
                                              path);
    ck_assert_str_eq(error_get_pretty(err), expect);
    error_free_or_abort(&err);

    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_unix_path_length)
{
    g_autofree char *path = g_strnfill(200, 'p');
    g_autofree char *str = g_strdup_printf("unix:/%s", path);
    g_autoptr(SocketAddress) addr = socket_parse(str, &error_abort);
    Error *err = NULL;

    ck_assert_int_eq(socket_listen(addr, 1, &err), -1);
    check_error(&err, "is too long (201 bytes, at most 107)");
    ck_assert_int_eq(socket_connect(addr, &err), -1);
    check_error(&err, "is too long");
}
END_TEST

START_TEST(test_unix_abstract)
{
    g_autoptr(SocketAddress) addr = g_new0(SocketAddress, 1);
    g_autoptr(SocketAddress) local = NULL;
    g_autofree char *str = NULL;
    int lfd, cfd, afd;

    addr->type = SOCKET_ADDRESS_TYPE_UNIX;
    addr->u.q_unix.path = g_strdup_printf("vmig-test-%d", getpid());
    addr->u.q_unix.has_abstract = true;
    addr->u.q_unix.abstract = true;
    str = socket_address_to_string(addr);
    ck_assert_str_eq(str + strlen("unix:@"), addr->u.q_unix.path);
    ck_assert(g_str_has_prefix(str, "unix:@"));

    lfd = socket_listen(addr, 1, &error_abort);
    local = socket_local_address(lfd, &error_abort);
    ck_assert(local->u.q_unix.has_abstract && local->u.q_unix.abstract);
    /* Tight address: exactly the name, no trailing NULs. */
    ck_assert_str_eq(local->u.q_unix.path, addr->u.q_unix.path);
    cfd = socket_connect(addr, &error_abort);
    afd = socket_accept(lfd, &error_abort);
    check_pair(cfd, afd);
    close(afd);
    close(cfd);
    close(lfd);
}
END_TEST

START_TEST(test_tcp_ipv4)
{
    g_autoptr(SocketAddress) local = listen_connect("tcp:127.0.0.1:0");

    ck_assert_str_eq(local->u.inet.host, "127.0.0.1");
    ck_assert_str_ne(local->u.inet.port, "0");
}
END_TEST

/* IPv6 may be missing (containers): then there is nothing to test. */
static bool have_ipv6_loopback(void)
{
    g_autoptr(SocketAddress) addr = socket_parse("tcp:[::1]:0",
                                                 &error_abort);
    Error *err = NULL;
    int fd = socket_listen(addr, 1, &err);

    if (fd < 0) {
        fprintf(stderr, "# skipping IPv6 checks: %s\n",
                error_get_pretty(err));
        error_free(err);
        return false;
    }
    close(fd);
    return true;
}

START_TEST(test_tcp_ipv6)
{
    g_autoptr(SocketAddress) local = NULL;
    g_autofree char *str = NULL;

    if (!have_ipv6_loopback()) {
        return;
    }
    local = listen_connect("tcp:[::1]:0");
    ck_assert_str_eq(local->u.inet.host, "::1");
    str = socket_address_to_string(local);
    ck_assert(g_str_has_prefix(str, "tcp:[::1]:"));
}
END_TEST

/* The wildcard listener is reachable over IPv4 whether it ended up on a
 * dual-stack "::" or on "0.0.0.0". */
START_TEST(test_tcp_wildcard)
{
    g_autoptr(SocketAddress) addr = socket_parse("tcp::0", &error_abort);
    g_autoptr(SocketAddress) local = NULL;
    g_autoptr(SocketAddress) v4 = NULL;
    g_autofree char *v4str = NULL;
    int lfd, cfd, afd;

    lfd = socket_listen(addr, 1, &error_abort);
    local = socket_local_address(lfd, &error_abort);
    if (have_ipv6_loopback()) {
        ck_assert_str_eq(local->u.inet.host, "::");
    }
    v4str = g_strdup_printf("tcp:127.0.0.1:%s", local->u.inet.port);
    v4 = socket_parse(v4str, &error_abort);
    cfd = socket_connect(v4, &error_abort);
    afd = socket_accept(lfd, &error_abort);
    check_pair(cfd, afd);
    close(afd);
    close(cfd);
    close(lfd);

    /* ipv4=on alone: an IPv4 socket only. */
    g_autoptr(SocketAddress) only4 = socket_parse("tcp::0,ipv4=on",
                                                  &error_abort);
    g_autoptr(SocketAddress) local4 = NULL;
    lfd = socket_listen(only4, 1, &error_abort);
    local4 = socket_local_address(lfd, &error_abort);
    ck_assert_str_eq(local4->u.inet.host, "0.0.0.0");
    close(lfd);
}
END_TEST

START_TEST(test_tcp_refused)
{
    g_autoptr(SocketAddress) addr = socket_parse("tcp:127.0.0.1:0",
                                                 &error_abort);
    g_autoptr(SocketAddress) local = NULL;
    g_autofree char *expect = NULL;
    Error *err = NULL;
    int lfd;

    /* A port that was just free: nobody listens on it any more. */
    lfd = socket_listen(addr, 1, &error_abort);
    local = socket_local_address(lfd, &error_abort);
    close(lfd);

    ck_assert_int_eq(socket_connect(local, &err), -1);
    expect = g_strdup_printf("Failed to connect to '127.0.0.1:%s': "
                             "Connection refused", local->u.inet.port);
    ck_assert_str_eq(error_get_pretty(err), expect);
    error_free(err);
}
END_TEST

START_TEST(test_tcp_port_range)
{
    g_autoptr(SocketAddress) addr = socket_parse("tcp:127.0.0.1:0",
                                                 &error_abort);
    g_autoptr(SocketAddress) busy = NULL;
    g_autoptr(SocketAddress) same = NULL;
    g_autoptr(SocketAddress) range = NULL;
    g_autoptr(SocketAddress) got = NULL;
    g_autofree char *str = NULL;
    g_autofree char *expect = NULL;
    Error *err = NULL;
    int lfd, lfd2;
    unsigned port, got_port;

    lfd = socket_listen(addr, 1, &error_abort);
    busy = socket_local_address(lfd, &error_abort);
    port = atoi(busy->u.inet.port);
    if (port >= 65535 - 8) {
        close(lfd);
        return;  /* no room for a range above it */
    }

    /* The port is taken. */
    str = g_strdup_printf("tcp:127.0.0.1:%u", port);
    same = socket_parse(str, &error_abort);
    ck_assert_int_eq(socket_listen(same, 1, &err), -1);
    expect = g_strdup_printf("Failed to listen on '127.0.0.1:%u': Address "
                             "already in use", port);
    ck_assert_str_eq(error_get_pretty(err), expect);
    error_free_or_abort(&err);

    /* With a range, a later port is used. */
    g_free(str);
    str = g_strdup_printf("tcp:127.0.0.1:%u,to=%u", port, port + 8);
    range = socket_parse(str, &error_abort);
    lfd2 = socket_listen(range, 1, &error_abort);
    got = socket_local_address(lfd2, &error_abort);
    got_port = atoi(got->u.inet.port);
    ck_assert_uint_gt(got_port, port);
    ck_assert_uint_le(got_port, port + 8);
    close(lfd2);

    /* A range of busy ports only. */
    g_free(str);
    str = g_strdup_printf("tcp:127.0.0.1:%u,to=%u", port, port);
    qapi_free_SocketAddress(range);
    range = socket_parse(str, &error_abort);
    ck_assert_int_eq(socket_listen(range, 1, &err), -1);
    check_error(&err, "or any port up to");
    close(lfd);
}
END_TEST

START_TEST(test_tcp_options)
{
    g_autoptr(SocketAddress) none = socket_parse("tcp::0,ipv4=off,ipv6=off",
                                                 &error_abort);
    g_autoptr(SocketAddress) ka = socket_parse("tcp:127.0.0.1:0,keep-alive",
                                               &error_abort);
    g_autoptr(SocketAddress) local = NULL;
    g_autoptr(SocketAddress) bad = socket_parse("tcp:no-such-host.invalid:1,"
                                                "numeric", &error_abort);
    Error *err = NULL;
    int lfd, cfd, afd, on = 0;
    socklen_t len = sizeof(on);

    ck_assert_int_eq(socket_listen(none, 1, &err), -1);
    check_error(&err, "Both IPv4 and IPv6 are disabled for ':0'");

    /* keep-alive on both ends of the connection. */
    lfd = socket_listen(ka, 1, &error_abort);
    local = socket_local_address(lfd, &error_abort);
    local->u.inet.has_keep_alive = true;
    local->u.inet.keep_alive = true;
    cfd = socket_connect(local, &error_abort);
    afd = socket_accept(lfd, &error_abort);
    ck_assert_int_eq(getsockopt(cfd, SOL_SOCKET, SO_KEEPALIVE, &on, &len), 0);
    ck_assert_int_eq(on, 1);
    on = 0;
    ck_assert_int_eq(getsockopt(afd, SOL_SOCKET, SO_KEEPALIVE, &on, &len), 0);
    ck_assert_int_eq(on, 1);
    close(afd);
    close(cfd);
    close(lfd);

    /* numeric: no DNS lookup for a name. */
    ck_assert_int_eq(socket_connect(bad, &err), -1);
    check_error(&err, "Address resolution failed for "
                "'no-such-host.invalid:1': ");
}
END_TEST

static int sockopt_int(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof(v);

    ck_assert_int_eq(getsockopt(fd, level, name, &v, &len), 0);
    return v;
}

/* The liveness timeout's TCP settings, and nothing on a Unix socket. */
START_TEST(test_liveness)
{
    g_autoptr(SocketAddress) addr = socket_parse("tcp:127.0.0.1:0",
                                                 &error_abort);
    g_autoptr(SocketAddress) local = NULL;
    int lfd, cfd, sv[2];

    lfd = socket_listen(addr, 1, &error_abort);
    local = socket_local_address(lfd, &error_abort);
    cfd = socket_connect(local, &error_abort);
    ck_assert(socket_set_liveness(cfd, 30));
    ck_assert_int_eq(sockopt_int(cfd, SOL_SOCKET, SO_KEEPALIVE), 1);
    ck_assert_int_eq(sockopt_int(cfd, IPPROTO_TCP, TCP_KEEPIDLE), 10);
    ck_assert_int_eq(sockopt_int(cfd, IPPROTO_TCP, TCP_KEEPINTVL), 3);
    ck_assert_int_eq(sockopt_int(cfd, IPPROTO_TCP, TCP_KEEPCNT), 3);
    ck_assert_int_eq(sockopt_int(cfd, IPPROTO_TCP, TCP_USER_TIMEOUT), 30000);
    /* The shortest still probes at least once a second. */
    ck_assert(socket_set_liveness(cfd, 1));
    ck_assert_int_eq(sockopt_int(cfd, IPPROTO_TCP, TCP_KEEPIDLE), 1);
    ck_assert_int_eq(sockopt_int(cfd, IPPROTO_TCP, TCP_KEEPINTVL), 1);
    ck_assert_int_eq(sockopt_int(cfd, IPPROTO_TCP, TCP_USER_TIMEOUT), 1000);
    close(cfd);
    close(lfd);

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert(socket_set_liveness(sv[0], 30));
    ck_assert_int_eq(sockopt_int(sv[0], SOL_SOCKET, SO_KEEPALIVE), 0);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

static int test_resolver(const char *name, Error **errp)
{
    int sv[2];

    if (strcmp(name, "good")) {
        error_setg(errp, "No descriptor named '%s' in the test", name);
        return -1;
    }
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[1]);
    return sv[0];
}

START_TEST(test_fd)
{
    g_autoptr(SocketAddress) addr = NULL;
    g_autofree char *str = NULL;
    Error *err = NULL;
    int sv[2], pipefd[2], fd;

    /* A number is that descriptor, handed over close-on-exec. */
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert(!is_cloexec(sv[0]));
    str = g_strdup_printf("fd:%d", sv[0]);
    addr = socket_parse(str, &error_abort);
    ck_assert_int_eq(socket_connect(addr, &error_abort), sv[0]);
    ck_assert(is_cloexec(sv[0]));
    check_pair(sv[0], sv[1]);

    /* vmig's own sockets are never handed out by number. */
    socket_fd_set_private(sv[0], true);
    ck_assert_int_eq(socket_get_fd(str + 3, &err), -1);
    check_error(&err, "is one of vmig's own sockets");
    socket_fd_set_private(sv[0], false);
    ck_assert_int_eq(socket_get_fd(str + 3, &error_abort), sv[0]);
    close(sv[0]);

    /* A closed one, or not a socket. */
    ck_assert_int_eq(socket_get_fd(str + 3, &err), -1);
    check_error(&err, "is not open: Bad file descriptor");
    ck_assert_int_eq(pipe(pipefd), 0);
    g_free(str);
    str = g_strdup_printf("%d", pipefd[0]);
    ck_assert_int_eq(socket_get_fd(str, &err), -1);
    check_error(&err, "is not a socket");
    ck_assert_int_ne(fcntl(pipefd[0], F_GETFD), -1);  /* left open */
    close(pipefd[0]);
    close(pipefd[1]);
    ck_assert_int_eq(socket_get_fd("99999999999", &err), -1);
    check_error(&err, "Invalid descriptor number '99999999999'");
    ck_assert_int_eq(socket_get_fd("01", &err), -1);
    check_error(&err, "Invalid descriptor number '01'");

    /* Names need the resolver. */
    ck_assert_int_eq(socket_get_fd("good", &err), -1);
    check_error(&err, "No descriptor named 'good'");
    socket_set_fd_resolver(test_resolver);
    fd = socket_get_fd("good", &error_abort);
    ck_assert(is_cloexec(fd));
    close(fd);
    ck_assert_int_eq(socket_get_fd("bad", &err), -1);
    check_error(&err, "No descriptor named 'bad' in the test");
    socket_set_fd_resolver(NULL);

    /* socket_listen() on an fd: address listens on it. */
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    g_free(str);
    str = g_strdup_printf("fd:%d", sv[0]);
    qapi_free_SocketAddress(addr);
    addr = socket_parse(str, &error_abort);
    /* A connected socket cannot listen; the descriptor is consumed. */
    ck_assert_int_eq(socket_listen(addr, 1, &err), -1);
    check_error(&err, "Failed to listen on descriptor '");
    ck_assert_int_eq(fcntl(sv[0], F_GETFD), -1);
    close(sv[1]);
}
END_TEST

START_TEST(test_nonblock)
{
    int sv[2];
    char c;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert(socket_set_nonblock(sv[0], true));
    ck_assert(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
    ck_assert_int_eq(read(sv[0], &c, 1), -1);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert(socket_set_nonblock(sv[0], false));
    ck_assert(!(fcntl(sv[0], F_GETFL) & O_NONBLOCK));
    close(sv[0]);
    close(sv[1]);
    ck_assert(!socket_set_nonblock(sv[0], true));
    ck_assert_int_eq(errno, EBADF);
}
END_TEST

START_TEST(test_accept_nonblock)
{
    g_autoptr(SocketAddress) addr = socket_parse("tcp:127.0.0.1:0",
                                                 &error_abort);
    Error *err = NULL;
    int lfd = socket_listen(addr, 1, &error_abort);

    ck_assert(socket_set_nonblock(lfd, true));
    ck_assert_int_eq(socket_accept(lfd, &err), -1);
    ck_assert_int_eq(errno, EAGAIN);
    check_error(&err, "Failed to accept a connection on socket");
    close(lfd);
}
END_TEST

START_TEST(test_local_address_errors)
{
    Error *err = NULL;
    int pipefd[2];
    int sv[2];
    g_autoptr(SocketAddress) local = NULL;

    ck_assert_int_eq(pipe(pipefd), 0);
    ck_assert_ptr_null(socket_local_address(pipefd[0], &err));
    check_error(&err, "Failed to get the address of socket");
    close(pipefd[0]);
    close(pipefd[1]);

    /* Unnamed Unix sockets have an empty path. */
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    local = socket_local_address(sv[0], &error_abort);
    ck_assert_int_eq(local->type, SOCKET_ADDRESS_TYPE_UNIX);
    ck_assert_str_eq(local->u.q_unix.path, "");
    close(sv[0]);
    close(sv[1]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sockets");
    TCase *tc = tcase_create("sockets");
    SRunner *sr;

    tcase_add_test(tc, test_parse);
    tcase_add_test(tc, test_parse_errors);
    tcase_add_test(tc, test_unix);
    tcase_add_test(tc, test_unix_path_length);
    tcase_add_test(tc, test_unix_abstract);
    tcase_add_test(tc, test_tcp_ipv4);
    tcase_add_test(tc, test_tcp_ipv6);
    tcase_add_test(tc, test_tcp_wildcard);
    tcase_add_test(tc, test_tcp_refused);
    tcase_add_test(tc, test_tcp_port_range);
    tcase_add_test(tc, test_tcp_options);
    tcase_add_test(tc, test_liveness);
    tcase_add_test(tc, test_fd);
    tcase_add_test(tc, test_nonblock);
    tcase_add_test(tc, test_accept_nonblock);
    tcase_add_test(tc, test_local_address_errors);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
