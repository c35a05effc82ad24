/*
 * mig_channel_wait(): what ends a receiver's wait for its channels, and
 * what it says.  No case depends on timing: a deadline is either past
 * already or far off, with what it waits for set by another thread.
 */
#include <check.h>
#include "tests/check-error.h"
#include "tests/check-run.h"

#include <glib.h>

#include "migration/transport/channel-wait.h"

typedef struct Receiver {
    GMutex lock;
    GCond cond;
    bool done;
    Error *error;
    const char *stop;
} Receiver;

static bool is_done(void *opaque)
{
    Receiver *r = opaque;

    return r->done;
}

static const Error *failure(void *opaque)
{
    Receiver *r = opaque;

    return r->error;
}

static const char *stopped(void *opaque)
{
    Receiver *r = opaque;

    return r->stop;
}

/* Makes @r's lock and condition (futexes on Linux: nothing to clear). */
static MigChannelWait waiter(Receiver *r)
{
    MigChannelWait w = {
        .lock = &r->lock,
        .cond = &r->cond,
        .done = is_done,
        .failure = failure,
        .stopped = stopped,
        .opaque = r,
    };

    g_mutex_init(&r->lock);
    g_cond_init(&r->cond);
    return w;
}

static gint64 far(void)
{
    return g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
}

START_TEST(test_done)
{
    Receiver r = { .done = true };
    MigChannelWait w = waiter(&r);

    ck_assert(mig_channel_wait(&w, far(), "late", &error_abort));
    /* Done, then stopped: still done. */
    r.stop = "stopped";
    ck_assert(mig_channel_wait(&w, far(), "late", &error_abort));
}
END_TEST

START_TEST(test_failure_wins)
{
    Receiver r = { .done = true, .stop = "stopped" };
    MigChannelWait w = waiter(&r);
    Error *err = NULL;

    error_setg(&r.error, "channel 2 broke");
    ck_assert(!mig_channel_wait(&w, far(), "late", &err));
    check_error(&err, "channel 2 broke");
    /* A copy: the receiver's stays. */
    ck_assert_ptr_nonnull(r.error);
    error_free(r.error);
}
END_TEST

START_TEST(test_stopped)
{
    Receiver r = { .stop = "The channels were stopped" };
    MigChannelWait w = waiter(&r);
    Error *err = NULL;

    ck_assert(!mig_channel_wait(&w, far(), "late", &err));
    check_error(&err, "The channels were stopped");
    /* Without a stop function, only the deadline ends it. */
    w.stopped = NULL;
    ck_assert(!mig_channel_wait(&w, g_get_monotonic_time() - 1,
                                "not within 5000 ms", &err));
    check_error(&err, "not within 5000 ms");
}
END_TEST

static gpointer finish(gpointer opaque)
{
    Receiver *r = opaque;

    g_mutex_lock(&r->lock);
    r->done = true;
    g_cond_broadcast(&r->cond);
    g_mutex_unlock(&r->lock);
    return NULL;
}

START_TEST(test_woken_by_change)
{
    Receiver r = { 0 };
    MigChannelWait w = waiter(&r);
    GThread *t;

    t = g_thread_new("finish", finish, &r);
    ck_assert(mig_channel_wait(&w, far(), "late", &error_abort));
    g_thread_join(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("migration-channel-wait");
    TCase *tc = tcase_create("migration-channel-wait");
    SRunner *sr;

    tcase_add_test(tc, test_done);
    tcase_add_test(tc, test_failure_wins);
    tcase_add_test(tc, test_stopped);
    tcase_add_test(tc, test_woken_by_change);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
