/*
 * Unit tests for migration/transport/channel-open.c: opening the channels of parsed
 * migration URIs on both sides, synchronously and from the main loop.
 */
#include <check.h>
#include "tests/check-error.h"
#include "tests/check-run.h"
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "migration/transport/channel-open.h"
#include "io/net-listener.h"
#include "migration/transport/address.h"
#include "util/sockets.h"

static MigrationAddress *parse(const char *uri)
{
    return migration_address_parse(uri, &error_abort);
}

static char *tmp_dir(void)
{
    char *dir = g_dir_make_tmp("test-io-address-XXXXXX", NULL);

    ck_assert_ptr_nonnull(dir);
    return dir;
}

/* Source saves to a file; destination loads it from the same URI. */
START_TEST(test_file)
{
    g_autofree char *dir = tmp_dir();
    g_autofree char *uri = g_strdup_printf("file:%s/state,offset=3", dir);
    g_autofree char *path = g_strdup_printf("%s/state", dir);
    g_autoptr(MigrationAddress) addr = parse(uri);
    g_autoptr(QIOChannel) out = NULL;
    g_autoptr(QIOChannel) in = NULL;
    char buf[8] = "";

    ck_assert(!mig_channel_listens(addr));
    out = mig_channel_connect(addr, &error_abort);
    ck_assert_str_eq(qio_channel_get_name(out), uri);
    ck_assert(qio_channel_write_all(out, "stream", 6, &error_abort));
    ck_assert(qio_channel_close(out, &error_abort));

    in = mig_channel_open_incoming(addr, &error_abort);
    ck_assert(qio_channel_read_all(in, buf, 6, &error_abort));
    ck_assert_str_eq(buf, "stream");
    ck_assert_int_eq(qio_channel_read(in, buf, 1, &error_abort), 0);
    g_unlink(path);
    g_rmdir(dir);
}
END_TEST

/* exec: both ways, with the shell doing the redirection. */
START_TEST(test_exec)
{
    g_autofree char *dir = tmp_dir();
    g_autofree char *path = g_strdup_printf("%s/out", dir);
    g_autofree char *save = g_strdup_printf("exec:cat > %s", path);
    g_autofree char *load = g_strdup_printf("exec:cat %s", path);
    g_autoptr(MigrationAddress) out_addr = parse(save);
    g_autoptr(MigrationAddress) in_addr = parse(load);
    g_autoptr(MigrationAddress) bad = parse("exec:exit 7");
    g_autoptr(QIOChannel) out = NULL;
    g_autoptr(QIOChannel) in = NULL;
    g_autoptr(QIOChannel) fails = NULL;
    Error *err = NULL;
    char buf[8] = "";

    out = mig_channel_connect(out_addr, &error_abort);
    ck_assert_str_eq(qio_channel_get_name(out), save);
    ck_assert(qio_channel_write_all(out, "through", 7, &error_abort));
    /* Close waits for the command: the file is complete afterwards. */
    ck_assert(qio_channel_close(out, &error_abort));

    in = mig_channel_open_incoming(in_addr, &error_abort);
    ck_assert(qio_channel_read_all(in, buf, 7, &error_abort));
    ck_assert_str_eq(buf, "through");
    ck_assert_int_eq(qio_channel_read(in, buf, 1, &error_abort), 0);
    ck_assert(qio_channel_close(in, &error_abort));

    fails = mig_channel_connect(bad, &error_abort);
    ck_assert(!qio_channel_close(fails, &err));
    check_error(&err, "Command 'exit 7' exited with status 7");
    g_unlink(path);
    g_rmdir(dir);
}
END_TEST

/* A command that failed before the stream header could reach it: the
 * error is the failed write and, after it, why (its exit status). */
START_TEST(test_exec_fails_before_header)
{
    g_autoptr(MigrationAddress) bad = parse("exec:exit 7");
    MigChannelSpec spec = { .role = MIG_CHANNEL_MAIN };
    QIOChannel *ioc = mig_channel_connect(bad, &error_abort);
    struct pollfd pfd = { .fd = qio_channel_get_fd(ioc) };
    Error *err = NULL;

    signal(SIGPIPE, SIG_IGN);
    /* The command's end polls POLLERR or POLLHUP once it has gone. */
    ck_assert_int_eq(poll(&pfd, 1, 30000), 1);
    ck_assert(pfd.revents & (POLLERR | POLLHUP));
    ck_assert_ptr_null(mig_channel_setup(ioc, &spec, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(error_get_pretty(err), "Broken pipe"));
    check_error(&err, "(Command 'exit 7' exited with status 7)");
}
END_TEST

START_TEST(test_socket)
{
    g_autofree char *dir = tmp_dir();
    g_autofree char *uri = g_strdup_printf("unix:%s/s", dir);
    g_autoptr(MigrationAddress) addr = parse(uri);
    g_autoptr(QIONetListener) l = NULL;
    g_autoptr(QIOChannel) out = NULL;
    g_autoptr(QIOChannel) in = NULL;
    Error *err = NULL;
    char c = 0;

    ck_assert(mig_channel_listens(addr));
    ck_assert_ptr_null(mig_channel_open_incoming(addr, &err));
    check_error(&err, "is listened on, not opened");

    l = qio_net_listener_new(&addr->u.socket, &error_abort);
    out = mig_channel_connect(addr, &error_abort);
    ck_assert_str_eq(qio_channel_get_name(out), uri);
    in = qio_net_listener_accept(l, &error_abort);
    ck_assert(qio_channel_write_all(out, "m", 1, &error_abort));
    ck_assert(qio_channel_read_all(in, &c, 1, &error_abort));
    ck_assert_int_eq(c, 'm');
    qio_net_listener_free(g_steal_pointer(&l));
    g_rmdir(dir);
}
END_TEST

/* fd: is an already connected stream on the destination too. */
START_TEST(test_fd_incoming)
{
    g_autoptr(MigrationAddress) addr = NULL;
    g_autoptr(QIOChannel) in = NULL;
    g_autofree char *uri = NULL;
    char buf[3] = "";
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    uri = g_strdup_printf("fd:%d", sv[0]);
    addr = parse(uri);
    ck_assert(!mig_channel_listens(addr));
    in = mig_channel_open_incoming(addr, &error_abort);
    ck_assert_int_eq(write(sv[1], "abc", 3), 3);
    ck_assert(qio_channel_read_all(in, buf, 3, &error_abort));
    ck_assert_int_eq(memcmp(buf, "abc", 3), 0);
    close(sv[1]);
}
END_TEST

START_TEST(test_rdma_refused)
{
    g_autoptr(MigrationAddress) addr = parse("rdma:127.0.0.1:4444");
    Error *err = NULL;

    ck_assert_ptr_null(mig_channel_connect(addr, &err));
    check_error(&err, "Migration transport 'rdma' is not implemented");
    ck_assert_ptr_null(mig_channel_open_incoming(addr, &err));
    check_error(&err, "Migration transport 'rdma' is not implemented");
}
END_TEST

typedef struct Opened {
    bool done;
    bool notified;
    QIOChannel *ioc;
    Error *err;
} Opened;

static void on_opened(QIOChannel *ioc, Error *err, gpointer opaque)
{
    Opened *o = opaque;

    ck_assert((ioc == NULL) != (err == NULL));
    o->done = true;
    o->ioc = ioc;
    o->err = err;
}

static void on_notify(gpointer opaque)
{
    Opened *o = opaque;

    /* After the callback, never before. */
    ck_assert(o->done);
    o->notified = true;
}

static void wait_opened(Opened *o)
{
    while (!o->done) {
        g_main_context_iteration(NULL, TRUE);
    }
    ck_assert(o->notified);
}

START_TEST(test_async)
{
    g_autoptr(SocketAddress) any = socket_parse("tcp:127.0.0.1:0",
                                                &error_abort);
    g_autoptr(QIONetListener) l = qio_net_listener_new(any, &error_abort);
    g_autofree char *uri = g_strdup(qio_net_listener_get_name(l));
    g_autoptr(MigrationAddress) addr = parse(uri);
    g_autoptr(QIOChannel) in = NULL;
    Opened o = { 0 };
    char c = 0;

    mig_channel_connect_async(addr, on_opened, &o, on_notify);
    /* Never from within the call. */
    ck_assert(!o.done);
    wait_opened(&o);
    ck_assert_ptr_nonnull(o.ioc);
    ck_assert_str_eq(qio_channel_get_name(o.ioc), uri);
    in = qio_net_listener_accept(l, &error_abort);
    ck_assert(qio_channel_write_all(o.ioc, "z", 1, &error_abort));
    ck_assert(qio_channel_read_all(in, &c, 1, &error_abort));
    ck_assert_int_eq(c, 'z');
    qio_channel_unref(o.ioc);
}
END_TEST

START_TEST(test_async_errors)
{
    g_autoptr(SocketAddress) any = socket_parse("tcp:127.0.0.1:0",
                                                &error_abort);
    QIONetListener *l = qio_net_listener_new(any, &error_abort);
    g_autofree char *uri = g_strdup(qio_net_listener_get_name(l));
    g_autoptr(MigrationAddress) refused = parse(uri);
    g_autoptr(MigrationAddress) rdma = parse("rdma:h:1");
    Opened o = { 0 };

    qio_net_listener_free(l);
    mig_channel_connect_async(refused, on_opened, &o, on_notify);
    wait_opened(&o);
    check_error(&o.err, "Connection refused");

    /* Refused at once, but still reported from the main loop. */
    memset(&o, 0, sizeof(o));
    mig_channel_connect_async(rdma, on_opened, &o, on_notify);
    ck_assert(!o.done);
    wait_opened(&o);
    check_error(&o.err, "not implemented");
}
END_TEST

/* Transports that open at once take the idle path. */
START_TEST(test_async_file)
{
    g_autofree char *dir = tmp_dir();
    g_autofree char *uri = g_strdup_printf("file:%s/f", dir);
    g_autofree char *path = g_strdup_printf("%s/f", dir);
    g_autoptr(MigrationAddress) addr = parse(uri);
    g_autofree char *data = NULL;
    Opened o = { 0 };

    mig_channel_connect_async(addr, on_opened, &o, on_notify);
    ck_assert(!o.done);
    wait_opened(&o);
    ck_assert(qio_channel_write_all(o.ioc, "ok", 2, &error_abort));
    ck_assert(qio_channel_close(o.ioc, &error_abort));
    qio_channel_unref(o.ioc);
    ck_assert(g_file_get_contents(path, &data, NULL, NULL));
    ck_assert_str_eq(data, "ok");
    g_unlink(path);
    g_rmdir(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("migration-channel-open");
    TCase *tc = tcase_create("migration-channel-open");
    SRunner *sr;

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_file);
    tcase_add_test(tc, test_exec);
    tcase_add_test(tc, test_exec_fails_before_header);
    tcase_add_test(tc, test_socket);
    tcase_add_test(tc, test_fd_incoming);
    tcase_add_test(tc, test_rdma_refused);
    tcase_add_test(tc, test_async);
    tcase_add_test(tc, test_async_errors);
    tcase_add_test(tc, test_async_file);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
