/*
 * Unit tests for migration/address.c: every URI form, every malformed
 * one, the canonical string form, the uri/channels arguments, and the
 * use-time checks.
 */
#include <check.h>
#include "tests/check-error.h"
#include "tests/check-run.h"
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "migration/transport/address.h"
#include "qapi/qapi-types.h"

/* Parses @uri, checks its canonical form is @canonical and that the
 * canonical form parses to the same. */
static MigrationAddress *parse_ok(const char *uri, const char *canonical)
{
    Error *err = NULL;
    MigrationAddress *addr = migration_address_parse(uri, &err);
    g_autoptr(MigrationAddress) again = NULL;
    g_autofree char *str = NULL;
    g_autofree char *str2 = NULL;

    ck_assert_msg(addr, "'%s' refused: %s", uri,
                  err ? error_get_pretty(err) : "?");
    str = migration_address_to_string(addr);
    ck_assert_str_eq(str, canonical);
    again = migration_address_parse(str, &error_abort);
    str2 = migration_address_to_string(again);
    ck_assert_str_eq(str2, canonical);
    ck_assert_int_eq(again->transport, addr->transport);
    return addr;
}

static void parse_fails(const char *uri, const char *expect)
{
    Error *err = NULL;

    ck_assert_msg(!migration_address_parse(uri, &err), "'%s' accepted",
                  uri);
    check_error(&err, expect);
}

START_TEST(test_tcp)
{
    g_autoptr(MigrationAddress) a = NULL;
    const InetSocketAddress *in;

    a = parse_ok("tcp:127.0.0.1:4444", "tcp:127.0.0.1:4444");
    ck_assert_int_eq(a->transport, MIGRATION_ADDRESS_TYPE_SOCKET);
    ck_assert_int_eq(a->u.socket.type, SOCKET_ADDRESS_TYPE_INET);
    in = &a->u.socket.u.inet;
    ck_assert_str_eq(in->host, "127.0.0.1");
    ck_assert_str_eq(in->port, "4444");
    ck_assert(!in->has_numeric && !in->has_to && !in->has_ipv4 &&
              !in->has_ipv6 && !in->has_keep_alive && !in->has_mptcp);
    qapi_free_MigrationAddress(a);

    /* Empty host: every address (listening) or the local host. */
    a = parse_ok("tcp::4444", "tcp::4444");
    ck_assert_str_eq(a->u.socket.u.inet.host, "");
    qapi_free_MigrationAddress(a);

    a = parse_ok("tcp:0:4444", "tcp:0:4444");
    ck_assert_str_eq(a->u.socket.u.inet.host, "0");
    qapi_free_MigrationAddress(a);

    a = parse_ok("tcp:[::1]:4444", "tcp:[::1]:4444");
    ck_assert_str_eq(a->u.socket.u.inet.host, "::1");
    qapi_free_MigrationAddress(a);

    a = parse_ok("tcp:localhost:0", "tcp:localhost:0");
    ck_assert_str_eq(a->u.socket.u.inet.port, "0");
    qapi_free_MigrationAddress(a);

    /* Every option, in schema order in the canonical form. */
    a = parse_ok("tcp:host:4444,mptcp=off,keep-alive=on,ipv6=off,ipv4=on,"
                 "to=4450,numeric=on",
                 "tcp:host:4444,numeric=on,to=4450,ipv4=on,ipv6=off,"
                 "keep-alive=on,mptcp=off");
    in = &a->u.socket.u.inet;
    ck_assert(in->has_numeric && in->numeric);
    ck_assert(in->has_to && in->to == 4450);
    ck_assert(in->has_ipv4 && in->ipv4);
    ck_assert(in->has_ipv6 && !in->ipv6);
    ck_assert(in->has_keep_alive && in->keep_alive);
    ck_assert(in->has_mptcp && !in->mptcp);
    qapi_free_MigrationAddress(a);

    a = parse_ok("tcp:[::1]:4444,ipv6", "tcp:[::1]:4444,ipv6=on");
    ck_assert(a->u.socket.u.inet.has_ipv6 && a->u.socket.u.inet.ipv6);
}
END_TEST

START_TEST(test_tcp_errors)
{
    parse_fails("tcp:127.0.0.1", "Expected 'HOST:PORT' in 'tcp:127.0.0.1'");
    parse_fails("tcp:", "Expected 'HOST:PORT'");
    parse_fails("tcp:127.0.0.1:", "Missing port in 'tcp:127.0.0.1:'");
    parse_fails("tcp:h:99999", "Invalid port '99999' in 'tcp:h:99999'");
    parse_fails("tcp:h:-1", "Invalid port '-1'");
    parse_fails("tcp:h:12x", "Invalid port '12x'");
    parse_fails("tcp:::1:4444", "an IPv6 address needs brackets");
    parse_fails("tcp:[::1:4444", "Expected '[IPV6-ADDRESS]:PORT'");
    parse_fails("tcp:h:1,multifd=on",
                "Unknown option 'multifd' in migration URI "
                "'tcp:h:1,multifd=on' (valid options: numeric, to, ipv4, "
                "ipv6, keep-alive, mptcp)");
    parse_fails("tcp:[::1]:1,ipv4,bogus", "Unknown option 'bogus'");
    /* host and port are not options. */
    parse_fails("tcp:h:1,port=2", "Unknown option 'port'");
    parse_fails("tcp:h:1,ipv4=maybe", "ipv4");
    parse_fails("tcp:h:1,to=x", "to");
    parse_fails("tcp:h:1,,ipv4", "Empty option");
    parse_fails("tcp:h:1,", "Empty option");
    parse_fails("tcp:h:1,ipv4,ipv4=off", "given twice");
    parse_fails("tcp:h:10,to=5", "below the port");
}
END_TEST

START_TEST(test_unix_fd)
{
    g_autoptr(MigrationAddress) a = NULL;

    a = parse_ok("unix:/run/mig.sock", "unix:/run/mig.sock");
    ck_assert_int_eq(a->transport, MIGRATION_ADDRESS_TYPE_SOCKET);
    ck_assert_int_eq(a->u.socket.type, SOCKET_ADDRESS_TYPE_UNIX);
    ck_assert_str_eq(a->u.socket.u.q_unix.path, "/run/mig.sock");
    qapi_free_MigrationAddress(a);

    /* The rest is the path, commas and all. */
    a = parse_ok("unix:rel/a,b=c", "unix:rel/a,b=c");
    ck_assert_str_eq(a->u.socket.u.q_unix.path, "rel/a,b=c");
    qapi_free_MigrationAddress(a);

    a = parse_ok("fd:migfd", "fd:migfd");
    ck_assert_int_eq(a->u.socket.type, SOCKET_ADDRESS_TYPE_FD);
    ck_assert_str_eq(a->u.socket.u.fd.str, "migfd");
    qapi_free_MigrationAddress(a);

    a = parse_ok("fd:7", "fd:7");
    ck_assert_str_eq(a->u.socket.u.fd.str, "7");

    parse_fails("unix:", "Missing path in socket address 'unix:'");
    parse_fails("fd:", "Missing descriptor name");
    parse_fails("vsock:3:1234", "vsock addresses are not supported");
}
END_TEST

START_TEST(test_exec)
{
    g_autoptr(MigrationAddress) a = NULL;
    const strList *args;

    a = parse_ok("exec:gzip -c > /tmp/vm.gz", "exec:gzip -c > /tmp/vm.gz");
    ck_assert_int_eq(a->transport, MIGRATION_ADDRESS_TYPE_EXEC);
    args = a->u.exec.args;
    ck_assert_str_eq(args->value, "/bin/sh");
    ck_assert_str_eq(args->next->value, "-c");
    ck_assert_str_eq(args->next->next->value, "gzip -c > /tmp/vm.gz");
    ck_assert_ptr_null(args->next->next->next);

    parse_fails("exec:", "Missing command in migration URI 'exec:'");
}
END_TEST

static strList *str_list(const char *const *strv)
{
    strList *head = NULL, **tail = &head;

    for (; *strv; strv++) {
        *tail = g_new0(strList, 1);
        (*tail)->value = g_strdup(*strv);
        tail = &(*tail)->next;
    }
    return head;
}

static char *exec_string(const char *const *argv)
{
    MigrationAddress a = { .transport = MIGRATION_ADDRESS_TYPE_EXEC };
    char *str;

    a.u.exec.args = str_list(argv);
    str = migration_address_to_string(&a);
    qapi_free_strList(a.u.exec.args);
    return str;
}

/* Structured argument lists have a URI too, quoted for the shell. */
START_TEST(test_exec_argv_string)
{
    const char *cat[] = { "cat", NULL };
    const char *sh[] = { "/bin/sh", "-c", "a | b", NULL };
    const char *quoted[] = { "ssh", "host", "cat > 'my file'", "", NULL };
    const char *sh4[] = { "/bin/sh", "-c", "x", "y", NULL };
    g_autofree char *s1 = exec_string(cat);
    g_autofree char *s2 = exec_string(sh);
    g_autofree char *s3 = exec_string(quoted);
    g_autofree char *s4 = exec_string(sh4);
    g_autoptr(MigrationAddress) back = NULL;
    gint argc;
    g_auto(GStrv) argv = NULL;

    ck_assert_str_eq(s1, "exec:cat");
    ck_assert_str_eq(s2, "exec:a | b");
    ck_assert_str_eq(s4, "exec:/bin/sh -c x y");
    /* The quoting gives the same arguments back. */
    back = migration_address_parse(s3, &error_abort);
    ck_assert(g_shell_parse_argv(back->u.exec.args->next->next->value,
                                 &argc, &argv, NULL));
    ck_assert_int_eq(argc, 4);
    ck_assert_str_eq(argv[0], "ssh");
    ck_assert_str_eq(argv[1], "host");
    ck_assert_str_eq(argv[2], "cat > 'my file'");
    ck_assert_str_eq(argv[3], "");
}
END_TEST

START_TEST(test_file)
{
    g_autoptr(MigrationAddress) a = NULL;

    a = parse_ok("file:/tmp/vm.state", "file:/tmp/vm.state");
    ck_assert_int_eq(a->transport, MIGRATION_ADDRESS_TYPE_FILE);
    ck_assert_str_eq(a->u.file.filename, "/tmp/vm.state");
    ck_assert_uint_eq(a->u.file.offset, 0);
    qapi_free_MigrationAddress(a);

    a = parse_ok("file:/tmp/vm.state,offset=4096",
                 "file:/tmp/vm.state,offset=4096");
    ck_assert_str_eq(a->u.file.filename, "/tmp/vm.state");
    ck_assert_uint_eq(a->u.file.offset, 4096);
    qapi_free_MigrationAddress(a);

    a = parse_ok("file:/x,offset=0x1000", "file:/x,offset=4096");
    ck_assert_uint_eq(a->u.file.offset, 0x1000);
    qapi_free_MigrationAddress(a);

    a = parse_ok("file:/x,offset=1M", "file:/x,offset=1048576");
    ck_assert_uint_eq(a->u.file.offset, 1024 * 1024);
    qapi_free_MigrationAddress(a);

    a = parse_ok("file:/x,offset=0", "file:/x");
    ck_assert_uint_eq(a->u.file.offset, 0);
    qapi_free_MigrationAddress(a);

    /* Only the last ",offset=" is the option. */
    a = parse_ok("file:/a,b,offset=1,c,offset=2",
                 "file:/a,b,offset=1,c,offset=2");
    ck_assert_str_eq(a->u.file.filename, "/a,b,offset=1,c");
    ck_assert_uint_eq(a->u.file.offset, 2);
    qapi_free_MigrationAddress(a);

    a = parse_ok("file:relative", "file:relative");
    ck_assert_str_eq(a->u.file.filename, "relative");
}
END_TEST

START_TEST(test_file_errors)
{
    parse_fails("file:", "Missing file name in migration URI 'file:'");
    parse_fails("file:,offset=5", "Missing file name");
    parse_fails("file:/x,offset=abc",
                "Invalid offset in migration URI 'file:/x,offset=abc': "
                "Invalid size 'abc'");
    parse_fails("file:/x,offset=", "Invalid offset");
    parse_fails("file:/x,offset=-1", "Invalid offset");
    parse_fails("file:/x,offset=12,other=1", "Invalid offset");
    parse_fails("file:/x,offset=99999999999999999999", "Invalid offset");
}
END_TEST

START_TEST(test_rdma)
{
    g_autoptr(MigrationAddress) a = NULL;
    Error *err = NULL;

    a = parse_ok("rdma:192.168.0.1:4444", "rdma:192.168.0.1:4444");
    ck_assert_int_eq(a->transport, MIGRATION_ADDRESS_TYPE_RDMA);
    ck_assert_str_eq(a->u.rdma.host, "192.168.0.1");
    ck_assert_str_eq(a->u.rdma.port, "4444");
    /* It parses, but is refused where it would be used. */
    ck_assert(!migration_address_check(a, &err));
    check_error(&err, "Migration transport 'rdma' is not implemented "
                "(address 'rdma:192.168.0.1:4444')");
    qapi_free_MigrationAddress(a);

    a = parse_ok("rdma:[fe80::1]:4444", "rdma:[fe80::1]:4444");
    ck_assert_str_eq(a->u.rdma.host, "fe80::1");

    parse_fails("rdma:host", "Invalid migration URI 'rdma:host'");
    parse_fails("rdma:", "Invalid migration URI 'rdma:'");
    parse_fails("rdma:unix:/x", "expected rdma:HOST:PORT");
    parse_fails("rdma:tcp:h:1", "expected rdma:HOST:PORT");
    parse_fails("rdma:h:1,foo", "Unknown option 'foo'");
}
END_TEST

START_TEST(test_unknown)
{
    parse_fails("", "Empty migration URI");
    parse_fails("foo:bar", "Unknown transport in migration URI 'foo:bar' "
                "(expected tcp:, unix:, fd:, exec:, file: or rdma:)");
    parse_fails("/tmp/file", "Unknown transport");
    /* Unlike socket_parse(), "tcp:" is not optional here. */
    parse_fails("127.0.0.1:4444", "Unknown transport");
    parse_fails("TCP:h:1", "Unknown transport");
}
END_TEST

START_TEST(test_tcp_options)
{
    const char *const *opts = migration_address_tcp_options();
    g_autofree char *joined = g_strjoinv(",", (char **)opts);

    ck_assert_str_eq(joined, "numeric,to,ipv4,ipv6,keep-alive,mptcp");
    ck_assert_ptr_eq(migration_address_tcp_options(), opts);
    ck_assert(migration_address_is_tcp_option("ipv4"));
    ck_assert(migration_address_is_tcp_option("keep-alive"));
    ck_assert(!migration_address_is_tcp_option("multifd"));
    ck_assert(!migration_address_is_tcp_option("host"));
    ck_assert(!migration_address_is_tcp_option("port"));
    ck_assert(!migration_address_is_tcp_option(""));
}
END_TEST

static MigrationChannelList *channels_of(MigrationChannelList *list,
                                         MigrationChannelType type,
                                         const char *uri)
{
    MigrationChannelList *item = g_new0(MigrationChannelList, 1);

    item->value = g_new0(MigrationChannel, 1);
    item->value->channel_type = type;
    item->value->addr = migration_address_parse(uri, &error_abort);
    item->next = list;
    return item;
}

START_TEST(test_from_args)
{
    g_autoptr(MigrationChannelList) one = NULL;
    g_autoptr(MigrationChannelList) two = NULL;
    g_autoptr(MigrationChannelList) cpr = NULL;
    g_autoptr(MigrationChannelList) only_cpr = NULL;
    g_autoptr(MigrationAddress) a = NULL;
    g_autofree char *str = NULL;
    Error *err = NULL;

    a = migration_address_from_args("unix:/x", NULL, &error_abort);
    str = migration_address_to_string(a);
    ck_assert_str_eq(str, "unix:/x");
    qapi_free_MigrationAddress(a);
    g_free(str);

    one = channels_of(NULL, MIGRATION_CHANNEL_TYPE_MAIN, "tcp:h:1");
    a = migration_address_from_args(NULL, one, &error_abort);
    str = migration_address_to_string(a);
    ck_assert_str_eq(str, "tcp:h:1");
    /* A copy: the command's arguments are freed separately. */
    ck_assert_ptr_ne(a, one->value->addr);

    ck_assert_ptr_null(migration_address_from_args(NULL, NULL, &err));
    check_error(&err, "Need either 'uri' or 'channels'");
    ck_assert_ptr_null(migration_address_from_args("tcp:h:1", one, &err));
    check_error(&err, "'uri' and 'channels' are mutually exclusive");
    /* The URI's own errors come through. */
    ck_assert_ptr_null(migration_address_from_args("tcp:h", NULL, &err));
    check_error(&err, "Expected 'HOST:PORT'");

    two = channels_of(NULL, MIGRATION_CHANNEL_TYPE_MAIN, "tcp:h:1");
    two = channels_of(two, MIGRATION_CHANNEL_TYPE_MAIN, "tcp:h:2");
    ck_assert_ptr_null(migration_address_from_args(NULL, two, &err));
    check_error(&err, "'channels' must contain exactly one channel of type "
                "'main', not 2");

    cpr = channels_of(NULL, MIGRATION_CHANNEL_TYPE_MAIN, "tcp:h:1");
    cpr = channels_of(cpr, MIGRATION_CHANNEL_TYPE_CPR, "unix:/cpr");
    ck_assert_ptr_null(migration_address_from_args(NULL, cpr, &err));
    check_error(&err, "Migration channel type 'cpr' is not implemented");
    /* Also when it is the only one. */
    only_cpr = channels_of(NULL, MIGRATION_CHANNEL_TYPE_CPR, "unix:/cpr");
    ck_assert_ptr_null(migration_address_from_args(NULL, only_cpr, &err));
    check_error(&err, "Migration channel type 'cpr' is not implemented");
}
END_TEST

START_TEST(test_check)
{
    MigrationAddress exec = { .transport = MIGRATION_ADDRESS_TYPE_EXEC };
    MigrationAddress file = { .transport = MIGRATION_ADDRESS_TYPE_FILE };
    const char *empty[] = { "", NULL };
    g_autoptr(MigrationAddress) ok = NULL;
    Error *err = NULL;

    /* The structured form can say what the URI form cannot. */
    ck_assert(!migration_address_check(&exec, &err));
    check_error(&err, "The exec migration command is empty");
    exec.u.exec.args = str_list(empty);
    ck_assert(!migration_address_check(&exec, &err));
    check_error(&err, "The exec migration command is empty");
    qapi_free_strList(exec.u.exec.args);

    file.u.file.filename = (char *)"";
    ck_assert(!migration_address_check(&file, &err));
    check_error(&err, "The migration file name is empty");

    ok = migration_address_parse("exec:cat", &error_abort);
    ck_assert(migration_address_check(ok, &error_abort));
    qapi_free_MigrationAddress(ok);
    ok = migration_address_parse("file:/x,offset=3", &error_abort);
    ck_assert(migration_address_check(ok, &error_abort));
    qapi_free_MigrationAddress(ok);
    ok = migration_address_parse("tcp::0", &error_abort);
    ck_assert(migration_address_check(ok, &error_abort));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("migration-address");
    TCase *tc = tcase_create("migration-address");
    SRunner *sr;

    tcase_add_test(tc, test_tcp);
    tcase_add_test(tc, test_tcp_errors);
    tcase_add_test(tc, test_unix_fd);
    tcase_add_test(tc, test_exec);
    tcase_add_test(tc, test_exec_argv_string);
    tcase_add_test(tc, test_file);
    tcase_add_test(tc, test_file_errors);
    tcase_add_test(tc, test_rdma);
    tcase_add_test(tc, test_unknown);
    tcase_add_test(tc, test_tcp_options);
    tcase_add_test(tc, test_from_args);
    tcase_add_test(tc, test_check);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
