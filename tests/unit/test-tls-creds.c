/*
 * Unit tests for the secret, authz and TLS credentials objects
 * (system/secret.c, system/authz.c, system/tls-creds*.c): objects made
 * as -object makes them, sessions of a client and a server object
 * handshaking over a socketpair (one thread each), and what
 * tls_creds_check_peer() and authz_is_allowed() decide.
 *
 * The certificates come from the shared fixture tests/tls/tlscerts.py,
 * run once into a temporary folder before the tests fork; without
 * certtool every test that needs them is skipped.
 */
#include <check.h>
#include "tests/check-error.h"
#include "tests/check-run.h"

#include <errno.h>
#include <gnutls/x509.h>
#include <stdarg.h>
#include <sys/socket.h>

#include "qapi/keyval.h"
#include "qapi/qapi-visit.h"
#include "qapi/visitor.h"
#include "system/authz.h"
#include "system/object.h"
#include "system/secret.h"
#include "system/tls-creds.h"

/* The fixture's folder, or NULL with why_no_fixture set. */
static char *fixture;
static char *why_no_fixture;
/* The temporary folder of this run, and in it the folder of the
 * running test, where it assembles credentials from fixture files. */
static char *root;
static char *work;

static void setup_work(void)
{
    work = g_build_filename(root, "test-XXXXXX", NULL);
    ck_assert_ptr_nonnull(g_mkdtemp(work));
}

/*
 * What the fixture makes, in one place: folders in the layout
 * tls-creds-x509 reads (see tests/tls/tlscerts.py's FOLDERS), and the
 * names and password in them.
 */
#define SERVER_NAME     "localhost"
#define SERVER_IP       "127.0.0.1"
#define SERVER_IP6      "::1"
#define NONAME_NAME     "other.example.org"     /* server-noname's */
#define KEY_PASSWORD    "vmig-key-password"     /* client-encrypted's */

static void need_fixture(void)
{
    if (!fixture) {
        vmig_skip("%s", why_no_fixture);
    }
}

static char *fixture_file(const char *name)
{
    return g_build_filename(fixture, name, NULL);
}

/*
 * A new folder WORK/@name holding links NAME -> fixture file
 * ("FOLDER/FILE"), given as pairs (NULL-terminated); returns its path.
 */
static char *creds_dir(const char *name, ...)
{
    char *dir = g_build_filename(work, name, NULL);
    const char *link;
    va_list ap;

    ck_assert_int_eq(g_mkdir_with_parents(dir, 0700), 0);
    va_start(ap, name);
    while ((link = va_arg(ap, const char *))) {
        g_autofree char *target = fixture_file(va_arg(ap, const char *));
        g_autofree char *path = g_build_filename(dir, link, NULL);

        ck_assert_msg(symlink(target, path) == 0, "symlink %s: %s", path,
                      g_strerror(errno));
    }
    va_end(ap);
    return dir;
}

/* Adds an object from an -object string (printf-style). */
static bool G_GNUC_PRINTF(2, 3) add(Error **errp, const char *fmt, ...)
{
    g_autofree char *str = NULL;
    g_autoptr(ObjectOptions) opts = NULL;
    json_t *tree;
    Visitor *v;
    va_list ap;

    va_start(ap, fmt);
    str = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    tree = keyval_parse(str, "qom-type", NULL, errp);
    if (!tree) {
        return false;
    }
    v = json_input_visitor_new_keyval(tree);
    visit_type_ObjectOptions(v, NULL, &opts, errp);
    visit_free(v);
    json_decref(tree);
    return opts && object_add(opts, errp);
}

static TlsCreds *find(const char *id)
{
    return tls_creds_find(id, &error_abort);
}

/* Fixture folder @name. */
static char *fixture_dir(const char *name)
{
    return fixture_file(name);
}

/* The DN of a fixture certificate, as gnutls writes it, to compare the
 * identity a handshake proved with. */
static char *file_dn(const char *name)
{
    g_autofree char *path = fixture_file(name);
    g_autofree char *pem = NULL;
    gsize len;
    gnutls_datum_t datum, dn;
    gnutls_x509_crt_t crt;
    char *copy;

    ck_assert(g_file_get_contents(path, &pem, &len, NULL));
    datum.data = (unsigned char *)pem;
    datum.size = len;
    ck_assert_int_ge(gnutls_x509_crt_init(&crt), 0);
    ck_assert_int_ge(gnutls_x509_crt_import(crt, &datum,
                                            GNUTLS_X509_FMT_PEM), 0);
    ck_assert_int_ge(gnutls_x509_crt_get_dn3(crt, &dn, 0), 0);
    copy = g_strndup((char *)dn.data, dn.size);
    gnutls_free(dn.data);
    gnutls_x509_crt_deinit(crt);
    return copy;
}

/* One end of a test connection. */
typedef struct End {
    TlsCreds *creds;
    const char *hostname;
    int fd;
    gnutls_session_t session;
    int handshake;              /* gnutls_handshake()'s result */
    bool checked;               /* tls_creds_check_peer()'s result */
    char *identity;
    Error *err;
    gnutls_protocol_t protocol;
} End;

static gpointer end_run(gpointer opaque)
{
    End *e = opaque;

    e->session = tls_creds_new_session(e->creds, e->hostname, &error_abort);
    gnutls_transport_set_int(e->session, e->fd);
    /* A bound in case a bug leaves one end waiting: far above any real
     * handshake, never reached by a passing test. */
    gnutls_handshake_set_timeout(e->session, 60 * 1000);
    do {
        e->handshake = gnutls_handshake(e->session);
    } while (e->handshake < 0 && !gnutls_error_is_fatal(e->handshake));
    if (e->handshake < 0) {
        /* Wake the other end if it still waits for us. */
        shutdown(e->fd, SHUT_RDWR);
        return NULL;
    }
    e->protocol = gnutls_protocol_get_version(e->session);
    e->checked = tls_creds_check_peer(e->creds, e->session, e->hostname,
                                      &e->identity, &e->err);
    return NULL;
}

static void end_clear(End *e)
{
    if (e->session) {
        gnutls_deinit(e->session);
    }
    close(e->fd);
    g_free(e->identity);
    if (e->err) {
        error_free(e->err);
    }
    tls_creds_release(e->creds);
}

/*
 * A handshake between objects @client_id (sending @hostname) and
 * @server_id, then each end's check of the other.  With both
 * handshakes done, a message crosses each way.
 */
static void connect_ends(const char *client_id, const char *hostname,
                         const char *server_id, End *client, End *server)
{
    int sv[2];
    GThread *t;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                     0);
    *client = (End) { .creds = find(client_id), .hostname = hostname,
                      .fd = sv[0] };
    *server = (End) { .creds = find(server_id), .fd = sv[1] };
    tls_creds_hold(client->creds);
    tls_creds_hold(server->creds);
    t = g_thread_new("tls-server", end_run, server);
    end_run(client);
    g_thread_join(t);

    if (client->handshake >= 0 && server->handshake >= 0) {
        char buf[8] = "";

        ck_assert_int_eq(gnutls_record_send(client->session, "ping", 5), 5);
        ck_assert_int_eq(gnutls_record_recv(server->session, buf,
                                            sizeof(buf)), 5);
        ck_assert_str_eq(buf, "ping");
        ck_assert_int_eq(gnutls_record_send(server->session, "pong", 5), 5);
        ck_assert_int_eq(gnutls_record_recv(client->session, buf,
                                            sizeof(buf)), 5);
        ck_assert_str_eq(buf, "pong");
    }
}

/* Both handshakes and both checks succeeded. */
static void check_ok(End *client, End *server)
{
    ck_assert_msg(client->handshake >= 0 && server->handshake >= 0,
                  "handshake failed: client %s, server %s",
                  gnutls_strerror(client->handshake),
                  gnutls_strerror(server->handshake));
    ck_assert_msg(client->checked, "client check: %s",
                  client->err ? error_get_pretty(client->err) : "?");
    ck_assert_msg(server->checked, "server check: %s",
                  server->err ? error_get_pretty(server->err) : "?");
}

/* The handshake succeeded but @e's check refused the peer with an
 * error containing @needle and, if not NULL, @needle2. */
static void check_refused(End *e, const char *needle, const char *needle2)
{
    ck_assert_msg(e->handshake >= 0, "handshake failed: %s",
                  gnutls_strerror(e->handshake));
    ck_assert_msg(!e->checked, "the check accepted the peer");
    ck_assert_ptr_null(e->identity);
    if (needle2) {
        ck_assert_ptr_nonnull(e->err);
        ck_assert_msg(strstr(error_get_pretty(e->err), needle2),
                      "error '%s' does not contain '%s'",
                      error_get_pretty(e->err), needle2);
    }
    check_error(&e->err, needle);
}

/* Server object "srv" and client object "cli" from fixture folders,
 * with extra -object arguments. */
static void add_x509_pair(const char *server, const char *server_extra,
                          const char *client, const char *client_extra)
{
    g_autofree char *sdir = fixture_dir(server);
    g_autofree char *cdir = fixture_dir(client);

    ck_assert(add(&error_abort, "tls-creds-x509,id=srv,endpoint=server,"
                  "dir=%s%s", sdir, server_extra));
    ck_assert(add(&error_abort, "tls-creds-x509,id=cli,endpoint=client,"
                  "dir=%s%s", cdir, client_extra));
}

START_TEST(test_x509_ok)
{
    g_autofree char *client_dn = NULL;
    g_autofree char *server_dn = NULL;
    g_autofree char *hostile_dn = NULL;
    g_autofree char *hostile = NULL;
    const char *hosts[] = { SERVER_NAME, SERVER_IP, SERVER_IP6 };
    Error *err = NULL;
    End c, s;

    need_fixture();
    client_dn = file_dn("client/client-cert.pem");
    server_dn = file_dn("server/server-cert.pem");
    hostile_dn = file_dn("client-hostile/client-cert.pem");
    add_x509_pair("server", "", "client", "");
    ck_assert_str_eq(tls_creds_kind(find("srv")), "x509");
    ck_assert_str_eq(tls_creds_id(find("srv")), "srv");
    ck_assert_int_eq(tls_creds_endpoint(find("srv")),
                     QCRYPTO_TLS_CREDS_ENDPOINT_SERVER);
    ck_assert_int_eq(tls_creds_endpoint(find("cli")),
                     QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT);
    ck_assert(tls_creds_verifies_peer(find("srv")));
    {
        /* In -object syntax a comma in a value is written twice. */
        g_auto(GStrv) parts = g_strsplit(client_dn, ",", -1);
        g_autofree char *escaped = g_strjoinv(",,", parts);

        ck_assert(add(&error_abort, "authz-simple,id=auth,identity=%s",
                      escaped));
    }

    /* The certificate names the server's addresses too. */
    for (size_t i = 0; i < G_N_ELEMENTS(hosts); i++) {
        connect_ends("cli", hosts[i], "srv", &c, &s);
        check_ok(&c, &s);
        ck_assert_str_eq(s.identity, client_dn);
        ck_assert_str_eq(c.identity, server_dn);
        ck_assert(authz_is_allowed(authz_find("auth", &error_abort),
                                   s.identity, &error_abort));
        end_clear(&c);
        end_clear(&s);
    }

    /* A certificate from the same CA with another name: TLS accepts
     * it, the identity tells it apart for tls-authz. */
    hostile = fixture_dir("client-hostile");
    ck_assert(add(&error_abort, "tls-creds-x509,id=eve,dir=%s", hostile));
    connect_ends("eve", SERVER_NAME, "srv", &c, &s);
    check_ok(&c, &s);
    ck_assert_str_eq(s.identity, hostile_dn);
    ck_assert_str_ne(s.identity, client_dn);
    ck_assert(!authz_is_allowed(authz_find("auth", &error_abort), s.identity,
                                &err));
    check_error(&err, "authorization 'auth' denies");
    end_clear(&c);
    end_clear(&s);
}
END_TEST

START_TEST(test_x509_hostname)
{
    g_autofree char *noname = NULL;
    End c, s;

    need_fixture();
    add_x509_pair("server", "", "client", "");
    connect_ends("cli", "other.example.org", "srv", &c, &s);
    check_refused(&c, "the server's certificate is for '" SERVER_NAME,
                  "not 'other.example.org'");
    ck_assert(s.checked);
    end_clear(&c);
    end_clear(&s);

    connect_ends("cli", NULL, "srv", &c, &s);
    check_refused(&c, "set tls-hostname", NULL);
    end_clear(&c);
    end_clear(&s);

    noname = fixture_dir("server-noname");
    ck_assert(add(&error_abort, "tls-creds-x509,id=noname,endpoint=server,"
                  "dir=%s", noname));
    connect_ends("cli", SERVER_NAME, "noname", &c, &s);
    check_refused(&c, "the server's certificate is for '" NONAME_NAME
                  "', not '" SERVER_NAME "'", NULL);
    end_clear(&c);
    end_clear(&s);
    connect_ends("cli", NONAME_NAME, "noname", &c, &s);
    check_ok(&c, &s);
    end_clear(&c);
    end_clear(&s);
}
END_TEST

/*
 * Fixture folder @bad (a server's if @server_bad, else a client's,
 * with sanity-check off to get it past creation) against the standard
 * other end (with the CRL if @crl): the good end's check refuses the
 * bad end's certificate with @needle; the bad end's check passes.
 */
static void check_bad_cert(bool server_bad, const char *bad, bool crl,
                           const char *needle)
{
    End c, s;

    if (server_bad) {
        add_x509_pair(bad, ",sanity-check=off", "client", "");
    } else {
        add_x509_pair(crl ? "server-crl" : "server", "", bad,
                      ",sanity-check=off");
    }
    connect_ends("cli", SERVER_NAME, "srv", &c, &s);
    if (server_bad) {
        check_refused(&c, "the server's certificate", needle);
        ck_assert(s.checked);
    } else {
        check_refused(&s, "the client's certificate", needle);
        ck_assert(c.checked);
    }
    end_clear(&c);
    end_clear(&s);
}

START_TEST(test_x509_expired)
{
    need_fixture();
    check_bad_cert(true, "server-expired", false, "has expired (notAfter ");
}
END_TEST

START_TEST(test_x509_expired_client)
{
    need_fixture();
    check_bad_cert(false, "client-expired", false, "has expired (notAfter ");
}
END_TEST

START_TEST(test_x509_not_yet_valid)
{
    need_fixture();
    check_bad_cert(true, "server-notyet", false,
                   "is not valid yet (notBefore ");
}
END_TEST

START_TEST(test_x509_not_yet_valid_client)
{
    need_fixture();
    check_bad_cert(false, "client-notyet", false,
                   "is not valid yet (notBefore ");
}
END_TEST

START_TEST(test_x509_other_ca)
{
    need_fixture();
    check_bad_cert(true, "server-otherca", false, "signer not found");
}
END_TEST

START_TEST(test_x509_other_ca_client)
{
    need_fixture();
    check_bad_cert(false, "client-otherca", false, "signer not found");
}
END_TEST

START_TEST(test_x509_revoked)
{
    End c, s;

    need_fixture();
    check_bad_cert(false, "client-revoked", true, "has been revoked");

    /* Without the CRL the same client passes: the test sees the CRL. */
    object_del_all();
    add_x509_pair("server", "", "client-revoked", "");
    connect_ends("cli", SERVER_NAME, "srv", &c, &s);
    check_ok(&c, &s);
    end_clear(&c);
    end_clear(&s);
}
END_TEST

START_TEST(test_x509_no_client_cert)
{
    g_autofree char *sdir = NULL;
    End c, s;

    need_fixture();
    /* A client needs no certificate of its own, and still checks the
     * server (as in QEMU). */
    add_x509_pair("server", "", "client-nocert", "");
    sdir = fixture_dir("server");
    ck_assert(add(&error_abort, "tls-creds-x509,id=quiet,endpoint=server,"
                  "dir=%s,verify-peer=off", sdir));

    /* The handshake completes, so the refusal can be told in TLS. */
    connect_ends("cli", SERVER_NAME, "srv", &c, &s);
    ck_assert(c.checked);
    check_refused(&s, "the client presented no certificate", NULL);
    end_clear(&c);
    end_clear(&s);

    connect_ends("cli", SERVER_NAME, "quiet", &c, &s);
    check_ok(&c, &s);
    ck_assert_ptr_null(s.identity);
    /* The client checked the server's certificate all the same. */
    ck_assert_ptr_nonnull(c.identity);
    ck_assert_msg(strstr(c.identity, "CN=localhost"), "%s", c.identity);
    end_clear(&c);
    end_clear(&s);
}
END_TEST

START_TEST(test_x509_verify_off)
{
    End c, s;

    need_fixture();
    /* Neither end checks: certificates another CA signed pass, and
     * prove no identity. */
    add_x509_pair("server-otherca", ",sanity-check=off,verify-peer=off",
                  "client-otherca", ",sanity-check=off,verify-peer=off");
    ck_assert(!tls_creds_verifies_peer(find("srv")));
    connect_ends("cli", "wrong.name", "srv", &c, &s);
    check_ok(&c, &s);
    ck_assert_ptr_null(s.identity);
    ck_assert_ptr_null(c.identity);
    end_clear(&c);
    end_clear(&s);
}
END_TEST

static void add_psk(const char *id, const char *dir_name, const char *psk,
                    const char *extra)
{
    g_autofree char *dir = g_build_filename(work, dir_name, NULL);
    g_autofree char *path = g_build_filename(dir, "keys.psk", NULL);

    ck_assert_int_eq(g_mkdir_with_parents(dir, 0700), 0);
    ck_assert(g_file_set_contents(path, psk, -1, NULL));
    ck_assert(add(&error_abort, "tls-creds-psk,id=%s,dir=%s%s", id, dir,
                  extra));
}

#define KEY_A "0123456789abcdef0123456789abcdef"
#define KEY_B "fedcba9876543210fedcba9876543210"

START_TEST(test_psk)
{
    End c, s;

    add_psk("srv", "psk-server", "qemu:" KEY_A "\nmig:" KEY_B "\n",
            ",endpoint=server");
    add_psk("cli", "psk-client", "qemu:" KEY_A "\n", "");
    add_psk("cli2", "psk-client2", "mig:" KEY_B "\n", ",username=mig");
    add_psk("wrong", "psk-wrong", "qemu:" KEY_B "\n", "");
    add_psk("nobody", "psk-nobody", "eve:" KEY_A "\n", ",username=eve");
    ck_assert_str_eq(tls_creds_kind(find("srv")), "psk");

    connect_ends("cli", NULL, "srv", &c, &s);
    check_ok(&c, &s);
    ck_assert_str_eq(s.identity, "qemu");
    end_clear(&c);
    end_clear(&s);

    connect_ends("cli2", NULL, "srv", &c, &s);
    check_ok(&c, &s);
    ck_assert_str_eq(s.identity, "mig");
    end_clear(&c);
    end_clear(&s);

    /* A wrong key or an unknown username fails the handshake itself,
     * on both ends. */
    for (int i = 0; i < 2; i++) {
        connect_ends(i ? "nobody" : "wrong", NULL, "srv", &c, &s);
        ck_assert_int_lt(c.handshake, 0);
        ck_assert_int_lt(s.handshake, 0);
        end_clear(&c);
        end_clear(&s);
    }
}
END_TEST

START_TEST(test_anon)
{
    g_autofree char *sdir = NULL;
    End c, s;

    ck_assert(add(&error_abort, "tls-creds-anon,id=srv,endpoint=server"));
    ck_assert(add(&error_abort, "tls-creds-anon,id=cli"));
    ck_assert_str_eq(tls_creds_kind(find("cli")), "anon");
    ck_assert(!tls_creds_verifies_peer(find("srv")));
    connect_ends("cli", NULL, "srv", &c, &s);
    check_ok(&c, &s);
    ck_assert_ptr_null(s.identity);
    ck_assert_ptr_null(c.identity);
    /* TLS 1.3 has no anonymous key exchange. */
    ck_assert_int_eq(c.protocol, GNUTLS_TLS1_2);
    end_clear(&c);
    end_clear(&s);

    /* An anonymous client cannot meet a certificate server. */
    need_fixture();
    sdir = fixture_dir("server");
    ck_assert(add(&error_abort, "tls-creds-x509,id=x509,endpoint=server,"
                  "dir=%s", sdir));
    connect_ends("cli", NULL, "x509", &c, &s);
    ck_assert_int_lt(c.handshake, 0);
    ck_assert_int_lt(s.handshake, 0);
    end_clear(&c);
    end_clear(&s);
}
END_TEST

/* object-add of @str fails with an error containing @needle. */
static void G_GNUC_PRINTF(2, 3) refused(const char *needle,
                                        const char *fmt, ...)
{
    g_autofree char *str = NULL;
    Error *err = NULL;
    va_list ap;

    va_start(ap, fmt);
    str = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    ck_assert_msg(!add(&err, "%s", str), "'%s' was accepted", str);
    check_error(&err, needle);
}

START_TEST(test_x509_errors)
{
    g_autofree char *sdir = NULL;
    g_autofree char *cdir = NULL;
    g_autofree char *nokey = NULL;
    g_autofree char *dirkey = NULL;
    g_autofree char *mixed = NULL;
    g_autofree char *enc = NULL;
    g_autofree char *expired = NULL;
    g_autofree char *otherca = NULL;
    g_autofree char *dirkey_path = NULL;
    g_autofree char *msg = NULL;

    need_fixture();
    sdir = fixture_dir("server");
    cdir = fixture_dir("client");
    enc = fixture_dir("client-encrypted");
    expired = fixture_dir("server-expired");
    otherca = fixture_dir("server-otherca");
    nokey = creds_dir("nokey", "ca-cert.pem", "server/ca-cert.pem",
                      "server-cert.pem", "server/server-cert.pem", NULL);
    dirkey = creds_dir("dirkey", "ca-cert.pem", "server/ca-cert.pem",
                       "server-cert.pem", "server/server-cert.pem", NULL);
    dirkey_path = g_build_filename(dirkey, "server-key.pem", NULL);
    ck_assert_int_eq(g_mkdir(dirkey_path, 0700), 0);
    /* A server certificate where a client's belongs. */
    mixed = creds_dir("mixed", "ca-cert.pem", "server/ca-cert.pem",
                      "client-cert.pem", "server/server-cert.pem",
                      "client-key.pem", "server/server-key.pem", NULL);

    msg = g_strdup_printf("tls-creds-x509 'c': cannot read %s/server-key.pem"
                          ": No such file or directory", nokey);
    refused(msg, "tls-creds-x509,id=c,endpoint=server,dir=%s", nokey);
    refused("server-key.pem: Is a directory",
            "tls-creds-x509,id=c,endpoint=server,dir=%s", dirkey);
    /* The client's files are not a server's, nor the reverse. */
    refused("server-cert.pem: No such file", "tls-creds-x509,id=c,"
            "endpoint=server,dir=%s", cdir);
    refused("holds server-cert.pem but no client-cert.pem: these are a "
            "server's credentials (endpoint=server)",
            "tls-creds-x509,id=c,dir=%s", sdir);
    refused("client-cert.pem is not for a TLS client",
            "tls-creds-x509,id=c,dir=%s", mixed);
    refused("server-cert.pem has expired (notAfter ",
            "tls-creds-x509,id=c,endpoint=server,dir=%s", expired);
    refused("server-cert.pem is not signed by a CA of ca-cert.pem",
            "tls-creds-x509,id=c,endpoint=server,dir=%s", otherca);
    refused("'dir' is required", "tls-creds-x509,id=c");
    refused("'priority': invalid GnuTLS priority string 'BOGUS'",
            "tls-creds-x509,id=c,endpoint=server,dir=%s,priority=BOGUS",
            sdir);
    refused("Parameter 'bogus'", "tls-creds-x509,id=c,dir=%s,bogus=1", sdir);

    /* An encrypted key needs the right password, from a secret. */
    refused("client-key.pem is encrypted: give its password with "
            "'passwordid'", "tls-creds-x509,id=c,dir=%s", enc);
    refused("'passwordid': secret 'pw' does not exist",
            "tls-creds-x509,id=c,dir=%s,passwordid=pw", enc);
    ck_assert(add(&error_abort, "secret,id=bad,data=wrong"));
    refused("wrong password for ", "tls-creds-x509,id=c,dir=%s,"
            "passwordid=bad", enc);
    ck_assert(add(&error_abort, "secret,id=pw,data=" KEY_PASSWORD));
    ck_assert(add(&error_abort, "tls-creds-x509,id=c,dir=%s,passwordid=pw",
                  enc));
    /* Off, the sanity check lets an expired certificate through. */
    ck_assert(add(&error_abort, "tls-creds-x509,id=e,endpoint=server,dir=%s,"
                  "sanity-check=off", expired));
}
END_TEST

/* The encrypted key works in a handshake. */
START_TEST(test_x509_encrypted_key)
{
    g_autofree char *enc = NULL;
    g_autofree char *sdir = NULL;
    End c, s;

    need_fixture();
    enc = fixture_dir("client-encrypted");
    sdir = fixture_dir("server");
    ck_assert(add(&error_abort, "secret,id=pw,data=" KEY_PASSWORD));
    ck_assert(add(&error_abort, "tls-creds-x509,id=cli,dir=%s,passwordid=pw",
                  enc));
    ck_assert(add(&error_abort, "tls-creds-x509,id=srv,endpoint=server,"
                  "dir=%s", sdir));
    /* The key was read at creation: the secret may go. */
    ck_assert(object_del("pw", &error_abort));
    connect_ends("cli", SERVER_NAME, "srv", &c, &s);
    check_ok(&c, &s);
    end_clear(&c);
    end_clear(&s);
}
END_TEST

START_TEST(test_psk_anon_errors)
{
    g_autofree char *empty = g_build_filename(work, "empty", NULL);
    g_autofree char *bad = g_build_filename(work, "badpsk", NULL);
    g_autofree char *bad_file = g_build_filename(bad, "keys.psk", NULL);

    ck_assert_int_eq(g_mkdir_with_parents(empty, 0700), 0);
    ck_assert_int_eq(g_mkdir_with_parents(bad, 0700), 0);
    refused("keys.psk: No such file or directory",
            "tls-creds-psk,id=p,dir=%s", empty);

    static const struct {
        const char *text, *error;
    } files[] = {
        { "qemu:" KEY_A "\nqemu " KEY_B "\n", "keys.psk line 2: no ':'" },
        { "qemu:" KEY_A "\n\n:" KEY_B "\n", "keys.psk line 3: empty user" },
        { "qemu:0123x\n", "keys.psk line 1: the key has an odd number" },
        { "qemu:zz\n", "keys.psk line 1: the key is not hexadecimal" },
        { "qemu:\n", "keys.psk line 1: empty key" },
        { "qemu:" KEY_A "\nqemu:" KEY_B "\n", "line 2: the username "
          "appears on an earlier line" },
        { "mig:" KEY_A "\n", "has no line for username 'qemu'" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        ck_assert(g_file_set_contents(bad_file, files[i].text, -1, NULL));
        refused(files[i].error, "tls-creds-psk,id=p,dir=%s", bad);
    }
    ck_assert(g_file_set_contents(bad_file, "qemu:" KEY_A "\n", -1, NULL));
    refused("'username' is for clients", "tls-creds-psk,id=p,dir=%s,"
            "endpoint=server,username=qemu", bad);
    refused("'dir' is required", "tls-creds-psk,id=p");

    refused("'verify-peer' must be off", "tls-creds-anon,id=a,"
            "verify-peer=on");
    refused("'dir' is not used", "tls-creds-anon,id=a,dir=%s", empty);
    ck_assert(add(&error_abort, "tls-creds-anon,id=a,verify-peer=off"));
}
END_TEST

START_TEST(test_find_and_del)
{
    Error *err = NULL;
    TlsCreds *c;
    Authz *a;

    ck_assert(add(&error_abort, "tls-creds-anon,id=t"));
    ck_assert(add(&error_abort, "authz-simple,id=z,identity=x"));
    ck_assert(add(&error_abort, "secret,id=s,data=x"));
    ck_assert_ptr_null(tls_creds_find("nope", &err));
    check_error(&err, "TLS credentials 'nope' do not exist");
    ck_assert_ptr_null(tls_creds_find("s", &err));
    check_error(&err, "object 's' is a secret, not TLS credentials");
    ck_assert_ptr_null(authz_find("nope", &err));
    check_error(&err, "authorization 'nope' does not exist");
    ck_assert_ptr_null(authz_find("t", &err));
    check_error(&err, "object 't' is a tls-creds-anon, not an "
                "authorization");
    ck_assert_ptr_null(secret_lookup("z", &(size_t){ 0 }, &err));
    check_error(&err, "object 'z' is a authz-simple, not a secret");

    c = find("t");
    a = authz_find("z", &error_abort);
    tls_creds_hold(c);
    tls_creds_hold(c);
    authz_hold(a);
    ck_assert(!object_del("t", &err));
    check_error(&err, "object 't' is in use and cannot be deleted: a "
                "migration uses it");
    ck_assert(!object_del("z", &err));
    check_error(&err, "object 'z' is in use and cannot be deleted: a "
                "migration uses it");
    tls_creds_release(c);
    ck_assert(!object_del("t", &err));
    check_error(&err, "in use");
    tls_creds_release(c);
    authz_release(a);
    ck_assert(object_del("t", &error_abort));
    ck_assert(object_del("z", &error_abort));
    ck_assert(object_del("s", &error_abort));
    ck_assert_ptr_null(tls_creds_find("t", &err));
    error_free_or_abort(&err);
}
END_TEST

/* Whether authz @id allows @identity; when it denies, the message must
 * contain @needle. */
static void check_authz(const char *id, const char *identity, bool allowed,
                        const char *needle)
{
    Error *err = NULL;
    Authz *a = authz_find(id, &error_abort);

    ck_assert_msg(authz_is_allowed(a, identity, &err) == allowed,
                  "%s: '%s' should be %s", id, identity,
                  allowed ? "allowed" : "denied");
    if (!allowed) {
        check_error(&err, needle);
    }
}

START_TEST(test_authz)
{
    ck_assert(add(&error_abort, "authz-simple,id=one,"
                  "identity=CN=src,,O=Example"));
    check_authz("one", "CN=src,O=Example", true, NULL);
    check_authz("one", "CN=src,O=Example2", false,
                "authorization 'one' denies 'CN=src,O=Example2' (it allows "
                "only 'CN=src,O=Example')");
    check_authz("one", NULL, false, "denies a peer that proved no identity");

    /* The first matching rule decides; then the default. */
    ck_assert(add(&error_abort, "authz-list,id=l,policy=deny,"
                  "rules.0.match=CN=eve*,rules.0.policy=deny,"
                  "rules.0.format=glob,"
                  "rules.1.match=CN=*.example.org,rules.1.policy=allow,"
                  "rules.1.format=glob,"
                  "rules.2.match=CN=admin,rules.2.policy=allow"));
    check_authz("l", "CN=src.example.org", true, NULL);
    check_authz("l", "CN=admin", true, NULL);
    check_authz("l", "CN=eve.example.org", false,
                "denies 'CN=eve.example.org' (rule 0, glob 'CN=eve*')");
    check_authz("l", "CN=admin2", false,
                "(no rule matches; default policy deny)");
    /* exact is exact: no pattern. */
    check_authz("l", "CN=admi?", false, "no rule matches");
    check_authz("l", NULL, false, "proved no identity");

    ck_assert(add(&error_abort, "authz-list,id=open,policy=allow,"
                  "rules.0.match=mallory,rules.0.policy=deny"));
    check_authz("open", "anyone", true, NULL);
    check_authz("open", "mallory", false, "(rule 0, exact 'mallory')");

    /* Default: deny, with no rules. */
    ck_assert(add(&error_abort, "authz-list,id=empty"));
    check_authz("empty", "anyone", false, "default policy deny");
}
END_TEST

START_TEST(test_secret)
{
    g_autofree char *path = g_build_filename(work, "pw", NULL);
    g_autofree uint8_t *bytes = NULL;
    Error *err = NULL;
    size_t len;

    ck_assert(add(&error_abort, "secret,id=raw,data=p4ss"));
    bytes = secret_lookup("raw", &len, &error_abort);
    ck_assert_uint_eq(len, 4);
    ck_assert_str_eq((char *)bytes, "p4ss");
    g_clear_pointer(&bytes, g_free);

    /* "a\0b\xff" */
    ck_assert(add(&error_abort, "secret,id=b64,data=YQBi/w==,format=base64"));
    bytes = secret_lookup("b64", &len, &error_abort);
    ck_assert_uint_eq(len, 4);
    ck_assert_mem_eq(bytes, "a\0b\xff", 4);
    g_clear_pointer(&bytes, g_free);

    /* A file's trailing newline is part of the secret. */
    ck_assert(g_file_set_contents(path, "line\n", -1, NULL));
    ck_assert(add(&error_abort, "secret,id=file,file=%s", path));
    bytes = secret_lookup("file", &len, &error_abort);
    ck_assert_uint_eq(len, 5);
    ck_assert_str_eq((char *)bytes, "line\n");
    g_clear_pointer(&bytes, g_free);
    /* Read once, at creation. */
    ck_assert(g_file_set_contents(path, "changed", -1, NULL));
    bytes = secret_lookup("file", &len, &error_abort);
    ck_assert_str_eq((char *)bytes, "line\n");

    /* Files longer than a read go whole; too long ones not at all. */
    {
        g_autofree char *big = g_malloc(20000);

        for (size_t i = 0; i < 20000; i++) {
            big[i] = 'a' + i % 26;
        }
        ck_assert(g_file_set_contents(path, big, 20000, NULL));
        ck_assert(add(&error_abort, "secret,id=big,file=%s", path));
        g_clear_pointer(&bytes, g_free);
        bytes = secret_lookup("big", &len, &error_abort);
        ck_assert_uint_eq(len, 20000);
        ck_assert_mem_eq(bytes, big, 20000);

        big = g_realloc(big, 64 * 1024 + 1);
        memset(big, 'x', 64 * 1024 + 1);
        ck_assert(g_file_set_contents(path, big, 64 * 1024 + 1, NULL));
        refused("is larger than 65536 bytes", "secret,id=x,file=%s", path);
        ck_assert(g_file_set_contents(path, big, 64 * 1024, NULL));
        ck_assert(add(&error_abort, "secret,id=max,file=%s", path));
    }

    refused("secret 'x': 'data': invalid base64: unexpected character at "
            "offset 2", "secret,id=x,data=YQ*i,format=base64");
    refused("invalid base64: length 3 is not a multiple of 4",
            "secret,id=x,data=YQB,format=base64");
    refused("invalid base64: unexpected character at offset 1",
            "secret,id=x,data=Y=Bi,format=base64");
    refused("exactly one of 'data' and 'file'", "secret,id=x");
    refused("exactly one of 'data' and 'file'", "secret,id=x,data=a,file=%s",
            path);
    refused("cannot read /nonexistent/pw: No such file or directory",
            "secret,id=x,file=/nonexistent/pw");
    ck_assert_ptr_null(secret_lookup("nope", &len, &err));
    check_error(&err, "secret 'nope' does not exist");
}
END_TEST

/* Runs the fixture into a new temporary folder; NULL (why_no_fixture
 * set) if the host cannot. */
static char *make_fixture(void)
{
    g_autoptr(GError) gerr = NULL;
    g_autofree char *out = NULL;
    g_autofree char *errout = NULL;
    g_autofree char *certtool = g_find_program_in_path("certtool");
    char *dir;
    int status;

    if (!certtool) {
        why_no_fixture = g_strdup("certtool (gnutls-bin) is not installed");
        return NULL;
    }
    dir = g_build_filename(root, "fixture", NULL);
    const char *argv[] = { "python3", TLSCERTS_PY, dir, NULL };
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
                      NULL, &out, &errout, &status, &gerr) ||
        !g_spawn_check_wait_status(status, &gerr)) {
        /* The host has certtool: a fixture that fails is a bug. */
        fprintf(stderr, "%s failed: %s\n%s", TLSCERTS_PY, gerr->message,
                errout ? errout : "");
        exit(EXIT_FAILURE);
    }
    return dir;
}

int main(void)
{
    Suite *s = suite_create("tls-creds");
    TCase *objects = tcase_create("objects");
    TCase *sessions = tcase_create("sessions");
    g_autoptr(GError) gerr = NULL;
    int ret;

    root = g_dir_make_tmp("vmig-tls-creds-XXXXXX", &gerr);
    g_assert_no_error(gerr);
    fixture = getenv("VMIG_TLS_FIXTURE") ? g_strdup(getenv("VMIG_TLS_FIXTURE"))
                                         : make_fixture();

    tcase_add_test(objects, test_secret);
    tcase_add_test(objects, test_authz);
    tcase_add_test(objects, test_find_and_del);
    tcase_add_test(objects, test_x509_errors);
    tcase_add_test(objects, test_psk_anon_errors);
    tcase_add_test(sessions, test_x509_ok);
    tcase_add_test(sessions, test_x509_hostname);
    tcase_add_test(sessions, test_x509_expired);
    tcase_add_test(sessions, test_x509_expired_client);
    tcase_add_test(sessions, test_x509_not_yet_valid);
    tcase_add_test(sessions, test_x509_not_yet_valid_client);
    tcase_add_test(sessions, test_x509_other_ca);
    tcase_add_test(sessions, test_x509_other_ca_client);
    tcase_add_test(sessions, test_x509_revoked);
    tcase_add_test(sessions, test_x509_no_client_cert);
    tcase_add_test(sessions, test_x509_verify_off);
    tcase_add_test(sessions, test_x509_encrypted_key);
    tcase_add_test(sessions, test_psk);
    tcase_add_test(sessions, test_anon);
    tcase_add_checked_fixture(objects, setup_work, NULL);
    tcase_add_checked_fixture(sessions, setup_work, NULL);
    suite_add_tcase(s, objects);
    suite_add_tcase(s, sessions);

    ret = vmig_check_run(srunner_create(s));
    {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", root);

        /* The folder is ours and its name has no quote. */
        if (system(cmd) != 0) {
            fprintf(stderr, "could not remove %s\n", root);
        }
    }
    g_free(fixture);
    g_free(root);
    return ret;
}
