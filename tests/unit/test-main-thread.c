/* Unit tests for util/main-thread.c: who is the main thread, and that
 * assert_main_thread() stops anyone else. */
#include <check.h>
#include "tests/check-run.h"
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "util/main-thread.h"

static gpointer ask(gpointer opaque)
{
    return GINT_TO_POINTER(in_main_thread());
}

static gpointer take_over(gpointer opaque)
{
    main_thread_register();
    return GINT_TO_POINTER(in_main_thread());
}

static gpointer assert_in_thread(gpointer opaque)
{
    assert_main_thread();
    return NULL;
}

START_TEST(test_first_thread)
{
    /* The process's first thread, from before main() on. */
    ck_assert(in_main_thread());
    ck_assert(!GPOINTER_TO_INT(g_thread_join(g_thread_new("ask", ask,
                                                          NULL))));
}
END_TEST

START_TEST(test_register)
{
    /* A test's own thread can become the main thread, and give it back. */
    ck_assert(GPOINTER_TO_INT(g_thread_join(g_thread_new("take-over",
                                                         take_over, NULL))));
    ck_assert(!in_main_thread());
    main_thread_register();
    ck_assert(in_main_thread());
}
END_TEST

START_TEST(test_assert_aborts)
{
    int null = open("/dev/null", O_WRONLY);

    assert_main_thread();
    /* GLib's failed assertion says "Bail out!" on stdout, which is the
     * TAP stream: this (forked) test process's stdout goes nowhere. */
    ck_assert_int_ge(null, 0);
    ck_assert_int_eq(dup2(null, STDOUT_FILENO), STDOUT_FILENO);
    /* Expected to abort. */
    g_thread_join(g_thread_new("assert", assert_in_thread, NULL));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("main-thread");
    TCase *tc = tcase_create("main-thread");
    SRunner *sr;

    tcase_add_test(tc, test_first_thread);
    tcase_add_test(tc, test_register);
    tcase_add_test_raise_signal(tc, test_assert_aborts, SIGABRT);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    /* The abort must end a child, not the runner. */
    srunner_set_fork_status(sr, CK_FORK);
    return vmig_check_run(sr);
}
