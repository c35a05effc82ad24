/*
 * Unit tests for migration/transport/router.c: where the destination's
 * connections go.  A real unix listener; the main handler and a
 * session's bind function record what reached them.
 */
#include <check.h>
#include "tests/check-error.h"
#include "tests/check-run.h"
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "migration/transport/address.h"
#include "migration/transport/router.h"

/* What the router's two callbacks saw (main thread). */
typedef struct Seen {
    bool main_busy;             /* the main handler refuses */
    unsigned mains;             /* streams the main handler took */
    uint32_t first_type;        /* the first record it was given */
    unsigned binds;             /* channels the session bound */
    uint32_t last_index;
    WireBindResult bind_result; /* what the bind function answers */
    GPtrArray *streams;         /* taken streams, freed at the end */
} Seen;

static bool on_main(void *opaque, MigStream *s, const WireRecord *first)
{
    Seen *seen = opaque;

    if (seen->main_busy) {
        return false;
    }
    ck_assert_ptr_nonnull(first);
    seen->mains++;
    seen->first_type = first->type;
    g_ptr_array_add(seen->streams, s);
    return true;
}

static WireBindResult on_bind(void *opaque, MigStream *s,
                              const WireChannelHeader *ch, Error **errp)
{
    Seen *seen = opaque;

    if (seen->bind_result == WIRE_BIND_OK) {
        seen->binds++;
        seen->last_index = ch->index;
        g_ptr_array_add(seen->streams, s);
    } else {
        error_setg(errp, "refused by the test");
    }
    return seen->bind_result;
}

typedef struct Fixture {
    char *dir;
    char *path;
    MigRouter *router;
    Seen seen;
} Fixture;

static void fixture_init_timeout(Fixture *f, unsigned accept_timeout_ms)
{
    g_autofree char *uri = NULL;
    g_autoptr(MigrationAddress) addr = NULL;

    memset(f, 0, sizeof(*f));
    f->dir = g_dir_make_tmp("test-router-XXXXXX", NULL);
    ck_assert_ptr_nonnull(f->dir);
    f->path = g_strdup_printf("%s/sock", f->dir);
    uri = g_strdup_printf("unix:%s", f->path);
    addr = migration_address_parse(uri, &error_abort);
    f->seen.streams = g_ptr_array_new_with_free_func(
        (GDestroyNotify)mig_stream_free);
    f->router = mig_router_new(addr, accept_timeout_ms, NULL, on_main,
                               &f->seen, &error_abort);
    ck_assert(mig_router_listens(f->router));
    ck_assert_ptr_nonnull(mig_router_listen_address(f->router));
}

/* Strangers get ten minutes: a test that waited it out would fail by
 * its time limit. */
static void fixture_init(Fixture *f)
{
    fixture_init_timeout(f, 600000);
}

static void fixture_destroy(Fixture *f)
{
    mig_router_free(f->router);
    g_ptr_array_unref(f->seen.streams);
    g_unlink(f->path);
    g_rmdir(f->dir);
    g_free(f->path);
    g_free(f->dir);
}

static int connect_to(Fixture *f)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    g_strlcpy(sa.sun_path, f->path, sizeof(sa.sun_path));
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static void send_bytes(int fd, const void *data, size_t len)
{
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
}

static void send_channel_header(int fd, const uint8_t *session_id,
                                uint32_t index)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    WireChannelHeader ch = { .role = WIRE_CHANNEL_MULTIFD, .index = index };

    memcpy(ch.session_id, session_id, WIRE_SESSION_ID_LEN);
    wire_stream_header_encode(b);
    wire_channel_header_encode(&ch, b, &error_abort);
    send_bytes(fd, b->data, b->len);
}

/* Runs the main loop until @done or 10 s. */
static bool run_until(Fixture *f, bool (*done)(Fixture *f))
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    for (;;) {
        while (g_main_context_iteration(NULL, FALSE)) {
        }
        if (done(f)) {
            return true;
        }
        if (g_get_monotonic_time() > deadline) {
            return false;
        }
        g_usleep(1000);
    }
}

/* Whether the router closed @fd: reading sees the end (10 s at most). */
static bool closed_by_router(Fixture *f, int fd)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    char c;

    while (g_get_monotonic_time() < deadline) {
        ssize_t n;

        while (g_main_context_iteration(NULL, FALSE)) {
        }
        n = recv(fd, &c, 1, MSG_DONTWAIT);
        if (n == 0) {
            return true;
        }
        if (n > 0) {
            return false;
        }
        g_usleep(1000);
    }
    return false;
}

/* Whether @fd is still open on the router's side, after the main loop
 * had its chance to act on everything that arrived. */
static bool still_open(int fd)
{
    char c;

    for (int i = 0; i < 50; i++) {
        while (g_main_context_iteration(NULL, FALSE)) {
        }
        g_usleep(1000);
    }
    return recv(fd, &c, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

static bool one_main(Fixture *f) { return f->seen.mains == 1; }
static bool none_pending(Fixture *f)
{
    return mig_router_n_pending(f->router) == 0;
}

/* Runs the main loop until @n connections are pending. */
static void run_until_pending(Fixture *f, unsigned n)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    while (mig_router_n_pending(f->router) != n) {
        ck_assert(g_get_monotonic_time() < deadline);
        g_main_context_iteration(NULL, FALSE);
    }
}
static bool one_bind(Fixture *f) { return f->seen.binds == 1; }

static const uint8_t session_a[WIRE_SESSION_ID_LEN] = { 0xa1, 0xa2 };
static const uint8_t session_b[WIRE_SESSION_ID_LEN] = { 0xb1, 0xb2 };

/* A stream header and a HELLO-typed record (the router does not look
 * inside: that is the handshake's job). */
static void send_hello(int fd)
{
    g_autoptr(GByteArray) b = g_byte_array_new();

    wire_stream_header_encode(b);
    g_byte_array_append(b, (const guint8 *)"\0\0\0\1\0\0\0\0", 8);
    send_bytes(fd, b->data, b->len);
}

/* A HELLO goes to the main handler, with the record. */
START_TEST(test_hello_to_main)
{
    Fixture f;
    int fd;

    fixture_init(&f);
    fd = connect_to(&f);
    send_hello(fd);
    ck_assert(run_until(&f, one_main));
    ck_assert_uint_eq(f.seen.first_type, WIRE_REC_HELLO);
    ck_assert_uint_eq(f.seen.binds, 0);
    ck_assert_uint_eq(mig_router_n_pending(f.router), 0);
    close(fd);
    fixture_destroy(&f);
}
END_TEST

/* A busy main handler: the connection is closed at once. */
START_TEST(test_busy_closes)
{
    Fixture f;
    int fd;

    fixture_init(&f);
    f.seen.main_busy = true;
    fd = connect_to(&f);
    send_hello(fd);
    ck_assert(closed_by_router(&f, fd));
    ck_assert_uint_eq(f.seen.mains, 0);
    close(fd);
    fixture_destroy(&f);
}
END_TEST

/* A CHANNEL_HEADER naming the registered session reaches its bind, even
 * in pieces. */
START_TEST(test_bind_by_session_id)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    WireChannelHeader ch = { .role = WIRE_CHANNEL_MULTIFD, .index = 3 };
    Fixture f;
    int fd;

    fixture_init(&f);
    mig_router_add_session(f.router, session_a, on_bind, &f.seen);
    memcpy(ch.session_id, session_a, WIRE_SESSION_ID_LEN);
    wire_stream_header_encode(b);
    wire_channel_header_encode(&ch, b, &error_abort);
    fd = connect_to(&f);
    /* Part of the header, the rest of it and part of the record, the
     * rest: each read from the main loop as it comes. */
    send_bytes(fd, b->data, 5);
    ck_assert(still_open(fd));
    send_bytes(fd, b->data + 5, 20);
    ck_assert(still_open(fd));
    ck_assert_uint_eq(mig_router_n_pending(f.router), 1);
    send_bytes(fd, b->data + 25, b->len - 25);
    ck_assert(run_until(&f, one_bind));
    ck_assert_uint_eq(f.seen.last_index, 3);
    ck_assert_uint_eq(f.seen.mains, 0);
    ck_assert_uint_eq(mig_router_n_pending(f.router), 0);
    close(fd);
    fixture_destroy(&f);
}
END_TEST

/* Strangers, with or without a session: closed, nobody hears of them. */
START_TEST(test_strangers_closed)
{
    static const char garbage[] = "GET / HTTP/1.0\r\n\r\n";
    g_autoptr(GByteArray) nop = g_byte_array_new();
    Fixture f;
    int fd;

    wire_stream_header_encode(nop);
    g_byte_array_append(nop, (const guint8 *)"\x80\0\0\1\0\0\0\0", 8);
    fixture_init(&f);
    for (int with_session = 0; with_session < 2; with_session++) {
        if (with_session) {
            mig_router_add_session(f.router, session_a, on_bind, &f.seen);
        }
        /* Another session's channel. */
        fd = connect_to(&f);
        send_channel_header(fd, session_b, 0);
        ck_assert(closed_by_router(&f, fd));
        close(fd);
        /* Not the protocol. */
        fd = connect_to(&f);
        send_bytes(fd, garbage, strlen(garbage));
        ck_assert(closed_by_router(&f, fd));
        close(fd);
        /* The protocol, but a first record no connection begins with. */
        fd = connect_to(&f);
        send_bytes(fd, nop->data, nop->len);
        ck_assert(closed_by_router(&f, fd));
        close(fd);
        /* A port scan: connect, close. */
        fd = connect_to(&f);
        close(fd);
    }
    ck_assert(run_until(&f, none_pending));
    ck_assert_uint_eq(f.seen.binds, 0);
    ck_assert_uint_eq(f.seen.mains, 0);
    fixture_destroy(&f);
}
END_TEST

/* A channel the session refuses is closed by the router. */
START_TEST(test_refused_bind_closes)
{
    Fixture f;
    int fd;

    fixture_init(&f);
    f.seen.bind_result = WIRE_BIND_INVALID;
    mig_router_add_session(f.router, session_a, on_bind, &f.seen);
    fd = connect_to(&f);
    send_channel_header(fd, session_a, 9);
    ck_assert(closed_by_router(&f, fd));
    ck_assert_uint_eq(f.seen.binds, 0);
    close(fd);
    fixture_destroy(&f);
}
END_TEST

/* Once the session is removed, its channels are strangers. */
START_TEST(test_remove_session)
{
    Fixture f;
    int fd;

    fixture_init(&f);
    mig_router_add_session(f.router, session_a, on_bind, &f.seen);
    mig_router_remove_session(f.router, session_a);
    fd = connect_to(&f);
    send_channel_header(fd, session_a, 0);
    ck_assert(closed_by_router(&f, fd));
    ck_assert_uint_eq(f.seen.binds, 0);
    ck_assert_uint_eq(f.seen.mains, 0);
    close(fd);
    fixture_destroy(&f);
}
END_TEST

/* Silence, or a stream header that stops, for accept-timeout: closed. */
START_TEST(test_deadline_drops_silent)
{
    Fixture f;
    int silent, partial;

    fixture_init_timeout(&f, 100);
    silent = connect_to(&f);
    partial = connect_to(&f);
    send_bytes(partial, WIRE_MAGIC, 3);
    ck_assert(closed_by_router(&f, silent));
    ck_assert(closed_by_router(&f, partial));
    ck_assert_uint_eq(mig_router_n_pending(f.router), 0);
    ck_assert_uint_eq(f.seen.mains, 0);
    close(silent);
    close(partial);
    fixture_destroy(&f);
}
END_TEST

/*
 * One silent connection more than the cap: the oldest is closed, the
 * others wait on.  A source arriving meanwhile is served at once.
 */
START_TEST(test_cap_evicts_oldest)
{
    int fds[MIG_ROUTER_MAX_PENDING + 1];
    Fixture f;
    int fd;

    fixture_init(&f);
    for (unsigned i = 0; i < G_N_ELEMENTS(fds); i++) {
        fds[i] = connect_to(&f);
        /* Accepted one by one, so that "oldest" is well defined. */
        run_until_pending(&f, MIN(i + 1, MIG_ROUTER_MAX_PENDING));
    }
    ck_assert(closed_by_router(&f, fds[0]));
    ck_assert_uint_eq(mig_router_n_pending(f.router),
                      MIG_ROUTER_MAX_PENDING);
    for (size_t i = 1; i < G_N_ELEMENTS(fds); i++) {
        ck_assert_msg(still_open(fds[i]), "connection %zu was closed", i);
    }
    fd = connect_to(&f);
    send_hello(fd);
    ck_assert(run_until(&f, one_main));
    ck_assert_uint_eq(mig_router_n_pending(f.router),
                      MIG_ROUTER_MAX_PENDING);
    ck_assert(still_open(fds[1]));
    close(fd);
    for (size_t i = 0; i < G_N_ELEMENTS(fds); i++) {
        close(fds[i]);
    }
    fixture_destroy(&f);
}
END_TEST

/*
 * The cap closes silence first: a connection whose first bytes arrived
 * (a slow source) outlives newer silent ones, however many come.
 */
START_TEST(test_cap_evicts_silent_first)
{
    int fds[MIG_ROUTER_MAX_PENDING + 3];
    g_autoptr(GByteArray) b = g_byte_array_new();
    Fixture f;

    fixture_init(&f);
    wire_stream_header_encode(b);
    fds[0] = connect_to(&f);
    /* Half a stream header: it spoke, but no record yet. */
    send_bytes(fds[0], b->data, b->len / 2);
    run_until_pending(&f, 1);
    for (unsigned i = 1; i < G_N_ELEMENTS(fds); i++) {
        fds[i] = connect_to(&f);
        run_until_pending(&f, MIN(i + 1, MIG_ROUTER_MAX_PENDING));
    }
    ck_assert(still_open(fds[0]));
    /* The three oldest silent ones made room, in order. */
    for (unsigned i = 1; i <= 3; i++) {
        ck_assert_msg(closed_by_router(&f, fds[i]), "silent %u kept", i);
    }
    for (size_t i = 4; i < G_N_ELEMENTS(fds); i++) {
        ck_assert_msg(still_open(fds[i]), "connection %zu was closed", i);
    }
    /* The one that spoke finishes its record and is served. */
    send_bytes(fds[0], b->data + b->len / 2, b->len - b->len / 2);
    send_bytes(fds[0], "\0\0\0\1\0\0\0\0", 8);
    ck_assert(run_until(&f, one_main));
    for (size_t i = 0; i < G_N_ELEMENTS(fds); i++) {
        close(fds[i]);
    }
    fixture_destroy(&f);
}
END_TEST

/* Freeing the router closes the connections still pending. */
START_TEST(test_free_closes_pending)
{
    Fixture f;
    char c;
    int fd;

    fixture_init(&f);
    fd = connect_to(&f);
    send_bytes(fd, WIRE_MAGIC, 1);
    run_until_pending(&f, 1);
    fixture_destroy(&f);
    ck_assert_int_eq(recv(fd, &c, 1, 0), 0);
    ck_assert_uint_eq(f.seen.binds, 0);
    close(fd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("migration-router");
    TCase *tc = tcase_create("migration-router");
    SRunner *sr;

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_hello_to_main);
    tcase_add_test(tc, test_busy_closes);
    tcase_add_test(tc, test_bind_by_session_id);
    tcase_add_test(tc, test_strangers_closed);
    tcase_add_test(tc, test_refused_bind_closes);
    tcase_add_test(tc, test_remove_session);
    tcase_add_test(tc, test_deadline_drops_silent);
    tcase_add_test(tc, test_cap_evicts_oldest);
    tcase_add_test(tc, test_cap_evicts_silent_first);
    tcase_add_test(tc, test_free_closes_pending);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
