/*
 * Unit tests for migration/transport/router.c: where the destination's
 * connections go.  A real unix listener; the main handler and a
 * session's bind function record what reached them.
 */
#include <check.h>
#include "tests/check-error.h"
#include "tests/check-run.h"
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "migration/transport/address.h"
#include "migration/transport/router.h"

/* What the router's two callbacks saw. */
typedef struct Seen {
    GMutex lock;
    GCond cond;
    bool main_busy;             /* the main handler refuses */
    unsigned mains;             /* streams the main handler took */
    unsigned binds;             /* channels the session bound */
    uint32_t last_index;
    WireBindResult bind_result; /* what the bind function answers */
    GPtrArray *streams;         /* taken streams, freed at the end */
} Seen;

static bool on_main(void *opaque, MigStream *s)
{
    Seen *seen = opaque;

    if (seen->main_busy) {
        return false;
    }
    g_mutex_lock(&seen->lock);
    seen->mains++;
    g_ptr_array_add(seen->streams, s);
    g_cond_broadcast(&seen->cond);
    g_mutex_unlock(&seen->lock);
    return true;
}

static WireBindResult on_bind(void *opaque, MigStream *s,
                              const WireChannelHeader *ch, Error **errp)
{
    Seen *seen = opaque;

    g_mutex_lock(&seen->lock);
    if (seen->bind_result == WIRE_BIND_OK) {
        seen->binds++;
        seen->last_index = ch->index;
        g_ptr_array_add(seen->streams, s);
    } else {
        error_setg(errp, "refused by the test");
    }
    g_cond_broadcast(&seen->cond);
    g_mutex_unlock(&seen->lock);
    return seen->bind_result;
}

typedef struct Fixture {
    char *dir;
    char *path;
    MigRouter *router;
    Seen seen;
} Fixture;

static void fixture_init(Fixture *f)
{
    g_autofree char *uri = NULL;
    g_autoptr(MigrationAddress) addr = NULL;

    memset(f, 0, sizeof(*f));
    f->dir = g_dir_make_tmp("test-router-XXXXXX", NULL);
    ck_assert_ptr_nonnull(f->dir);
    f->path = g_strdup_printf("%s/sock", f->dir);
    uri = g_strdup_printf("unix:%s", f->path);
    addr = migration_address_parse(uri, &error_abort);
    g_mutex_init(&f->seen.lock);
    g_cond_init(&f->seen.cond);
    f->seen.streams = g_ptr_array_new_with_free_func(
        (GDestroyNotify)mig_stream_free);
    f->router = mig_router_new(addr, on_main, &f->seen, &error_abort);
    ck_assert(mig_router_listens(f->router));
    ck_assert_ptr_nonnull(mig_router_listen_address(f->router));
}

static void fixture_destroy(Fixture *f)
{
    mig_router_free(f->router);
    g_ptr_array_unref(f->seen.streams);
    g_mutex_clear(&f->seen.lock);
    g_cond_clear(&f->seen.cond);
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

/* Runs the main loop (the listener's accepts) until @done or 10 s. */
static bool run_until(Fixture *f, bool (*done)(Seen *seen))
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    bool ok;

    for (;;) {
        while (g_main_context_iteration(NULL, FALSE)) {
        }
        g_mutex_lock(&f->seen.lock);
        ok = done(&f->seen);
        if (!ok) {
            g_cond_wait_until(&f->seen.cond, &f->seen.lock,
                              g_get_monotonic_time() + 10 * 1000);
        }
        g_mutex_unlock(&f->seen.lock);
        if (ok || g_get_monotonic_time() > deadline) {
            return ok;
        }
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

static bool one_main(Seen *s) { return s->mains == 1; }
static bool one_bind(Seen *s) { return s->binds == 1; }

static const uint8_t session_a[WIRE_SESSION_ID_LEN] = { 0xa1, 0xa2 };
static const uint8_t session_b[WIRE_SESSION_ID_LEN] = { 0xb1, 0xb2 };

/* Without a session every connection is the main handler's, unread. */
START_TEST(test_main_without_session)
{
    Fixture f;
    int fd;

    fixture_init(&f);
    fd = connect_to(&f);
    ck_assert(run_until(&f, one_main));
    ck_assert_uint_eq(f.seen.binds, 0);
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
    ck_assert(closed_by_router(&f, fd));
    ck_assert_uint_eq(f.seen.mains, 0);
    close(fd);
    fixture_destroy(&f);
}
END_TEST

/* A CHANNEL_HEADER naming the registered session reaches its bind. */
START_TEST(test_bind_by_session_id)
{
    Fixture f;
    int fd;

    fixture_init(&f);
    mig_router_add_session(f.router, session_a, on_bind, &f.seen);
    fd = connect_to(&f);
    send_channel_header(fd, session_a, 3);
    ck_assert(run_until(&f, one_bind));
    ck_assert_uint_eq(f.seen.last_index, 3);
    ck_assert_uint_eq(f.seen.mains, 0);
    close(fd);
    fixture_destroy(&f);
}
END_TEST

/* Strangers while a session runs: closed, nobody hears of them. */
START_TEST(test_strangers_closed)
{
    static const char garbage[] = "GET / HTTP/1.0\r\n\r\n";
    g_autoptr(GByteArray) hello = g_byte_array_new();
    Fixture f;
    int fd;

    fixture_init(&f);
    mig_router_add_session(f.router, session_a, on_bind, &f.seen);
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
    /* A second main channel: a stream header and a HELLO-typed record. */
    wire_stream_header_encode(hello);
    g_byte_array_append(hello, (const guint8 *)"\0\0\0\1\0\0\0\0", 8);
    fd = connect_to(&f);
    send_bytes(fd, hello->data, hello->len);
    ck_assert(closed_by_router(&f, fd));
    close(fd);
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

/* Once the session is removed, connections go to main again. */
START_TEST(test_remove_session)
{
    Fixture f;
    int fd;

    fixture_init(&f);
    mig_router_add_session(f.router, session_a, on_bind, &f.seen);
    mig_router_remove_session(f.router, session_a);
    fd = connect_to(&f);
    ck_assert(run_until(&f, one_main));
    ck_assert_uint_eq(f.seen.binds, 0);
    close(fd);
    fixture_destroy(&f);
}
END_TEST

/*
 * A silent connection holds an introduction until the router closes:
 * freeing the router wakes it.  With a handshake timeout of ten minutes,
 * a router that waited it out would fail this test by its time limit.
 */
START_TEST(test_free_wakes_introductions)
{
    Fixture f;
    int fd;

    g_setenv("VMIG_TEST_HANDSHAKE_TIMEOUT_MS", "600000", TRUE);
    fixture_init(&f);
    mig_router_add_session(f.router, session_a, on_bind, &f.seen);
    fd = connect_to(&f);
    send_bytes(fd, "\x00", 1);
    /* The connect completed, so the accept is ready: dispatch it. */
    g_main_context_iteration(NULL, TRUE);
    fixture_destroy(&f);
    ck_assert_uint_eq(f.seen.binds, 0);
    close(fd);
    g_unsetenv("VMIG_TEST_HANDSHAKE_TIMEOUT_MS");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("migration-router");
    TCase *tc = tcase_create("migration-router");
    SRunner *sr;

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_main_without_session);
    tcase_add_test(tc, test_busy_closes);
    tcase_add_test(tc, test_bind_by_session_id);
    tcase_add_test(tc, test_strangers_closed);
    tcase_add_test(tc, test_refused_bind_closes);
    tcase_add_test(tc, test_remove_session);
    tcase_add_test(tc, test_free_wakes_introductions);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
