/*
 * Unit tests for the run state (system/runstate.c): the transition table,
 * vm_start/vm_stop with their handlers, the stop/cont/query-status
 * commands and shutdown requests.  No vCPU threads are started, so
 * pausing and resuming are immediate.
 */
#include <check.h>
#include "tests/check-error.h"
#include "tests/check-run.h"
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "qapi/qapi-commands.h"
#include "system/runstate.h"

START_TEST(test_table)
{
    static const struct {
        RunState from, to;
        bool legal;
    } cases[] = {
        { RUN_STATE_PRELAUNCH, RUN_STATE_RUNNING, true },
        { RUN_STATE_PRELAUNCH, RUN_STATE_INMIGRATE, true },
        { RUN_STATE_PRELAUNCH, RUN_STATE_PAUSED, false },
        { RUN_STATE_RUNNING, RUN_STATE_PAUSED, true },
        { RUN_STATE_RUNNING, RUN_STATE_FINISH_MIGRATE, true },
        { RUN_STATE_RUNNING, RUN_STATE_SHUTDOWN, true },
        { RUN_STATE_RUNNING, RUN_STATE_PRELAUNCH, false },
        { RUN_STATE_RUNNING, RUN_STATE_INMIGRATE, false },
        { RUN_STATE_PAUSED, RUN_STATE_RUNNING, true },
        { RUN_STATE_PAUSED, RUN_STATE_FINISH_MIGRATE, true },
        { RUN_STATE_PAUSED, RUN_STATE_SHUTDOWN, false },
        { RUN_STATE_FINISH_MIGRATE, RUN_STATE_POSTMIGRATE, true },
        { RUN_STATE_FINISH_MIGRATE, RUN_STATE_RUNNING, true },
        { RUN_STATE_POSTMIGRATE, RUN_STATE_RUNNING, true },
        { RUN_STATE_POSTMIGRATE, RUN_STATE_PAUSED, false },
        { RUN_STATE_INMIGRATE, RUN_STATE_RUNNING, true },
        { RUN_STATE_INMIGRATE, RUN_STATE_PAUSED, true },
        { RUN_STATE_INMIGRATE, RUN_STATE_POSTMIGRATE, true },
        { RUN_STATE_SHUTDOWN, RUN_STATE_RUNNING, false },
        { RUN_STATE_SHUTDOWN, RUN_STATE_PAUSED, true },
        { RUN_STATE_GUEST_PANICKED, RUN_STATE_DEBUG, true },
        { RUN_STATE_SAVE_VM, RUN_STATE_PAUSED, false },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        ck_assert_msg(runstate_is_legal(cases[i].from, cases[i].to) ==
                      cases[i].legal, "%s -> %s should be %s",
                      RunState_str(cases[i].from), RunState_str(cases[i].to),
                      cases[i].legal ? "legal" : "illegal");
    }
    /* Staying put is always fine; every state can be left somehow. */
    for (int s = 0; s < RUN_STATE__MAX; s++) {
        bool leaves = false;
        ck_assert(runstate_is_legal(s, s));
        for (int t = 0; t < RUN_STATE__MAX; t++) {
            leaves |= t != s && runstate_is_legal(s, t);
        }
        ck_assert_msg(leaves, "state %s is a dead end", RunState_str(s));
    }
}
END_TEST

START_TEST(test_illegal_aborts)
{
    ck_assert(runstate_check(RUN_STATE_PRELAUNCH));
    runstate_set(RUN_STATE_POSTMIGRATE);    /* prelaunch -> postmigrate */
}
END_TEST

/* Handlers append "NAME:running:state " to a string. */
typedef struct Handler {
    const char *name;
    GString *log;
} Handler;

static void record(void *opaque, bool running, RunState state)
{
    Handler *h = opaque;
    g_string_append_printf(h->log, "%s:%d:%s ", h->name, running,
                           RunState_str(state));
}

START_TEST(test_start_stop)
{
    g_autoptr(GString) log = g_string_new("");
    Handler a = { "a", log }, b = { "b", log };
    VMChangeStateEntry *ea = vm_change_state_handler_add(record, &a);
    VMChangeStateEntry *eb = vm_change_state_handler_add(record, &b);

    ck_assert(runstate_check(RUN_STATE_PRELAUNCH));
    ck_assert(!runstate_is_running());

    vm_start();
    ck_assert(runstate_is_running());
    ck_assert_str_eq(log->str, "a:1:running b:1:running ");
    vm_start();                         /* already running: no-op */
    ck_assert_str_eq(log->str, "a:1:running b:1:running ");

    g_string_truncate(log, 0);
    vm_stop(RUN_STATE_PAUSED);          /* handlers in reverse order */
    ck_assert(runstate_check(RUN_STATE_PAUSED));
    ck_assert_str_eq(log->str, "b:0:paused a:0:paused ");
    vm_stop(RUN_STATE_PAUSED);          /* already stopped: no-op */
    ck_assert_str_eq(log->str, "b:0:paused a:0:paused ");

    /* Forcing a state while stopped changes it without notification. */
    g_string_truncate(log, 0);
    vm_stop_force_state(RUN_STATE_FINISH_MIGRATE);
    ck_assert(runstate_check(RUN_STATE_FINISH_MIGRATE));
    ck_assert_str_eq(log->str, "");

    vm_change_state_handler_del(ea);
    vm_start();
    ck_assert_str_eq(log->str, "b:1:running ");
    vm_change_state_handler_del(eb);

    /* The final stop enters "shutdown", which needs a reset. */
    vm_shutdown();
    ck_assert(runstate_check(RUN_STATE_SHUTDOWN));
    ck_assert(runstate_needs_reset());
}
END_TEST

static RunState status(void)
{
    g_autoptr(StatusInfo) info = qmp_query_status(&error_abort);
    ck_assert(info->running == (info->status == RUN_STATE_RUNNING));
    return info->status;
}

START_TEST(test_qmp)
{
    Error *err = NULL;

    ck_assert_int_eq(status(), RUN_STATE_PRELAUNCH);
    qmp_stop(&error_abort);             /* not running: nothing happens */
    ck_assert_int_eq(status(), RUN_STATE_PRELAUNCH);
    qmp_cont(&error_abort);
    ck_assert_int_eq(status(), RUN_STATE_RUNNING);
    qmp_stop(&error_abort);
    ck_assert_int_eq(status(), RUN_STATE_PAUSED);
    qmp_cont(&error_abort);
    qmp_cont(&error_abort);
    ck_assert_int_eq(status(), RUN_STATE_RUNNING);

    vm_stop(RUN_STATE_FINISH_MIGRATE);
    qmp_cont(&err);
    check_error(&err, "migration is not finished yet");
    runstate_set(RUN_STATE_POSTMIGRATE);
    qmp_cont(&error_abort);             /* resuming after migration */
    ck_assert_int_eq(status(), RUN_STATE_RUNNING);

    vm_shutdown();
    qmp_cont(&err);
    check_error(&err, "the machine is in state 'shutdown' and needs a "
                "reset");
    ck_assert_int_eq(status(), RUN_STATE_SHUTDOWN);
}
END_TEST

START_TEST(test_inmigrate_autostart)
{
    runstate_set_autostart(true);
    runstate_set(RUN_STATE_INMIGRATE);
    /* stop and cont only decide whether to run after the migration. */
    qmp_stop(&error_abort);
    ck_assert(!runstate_get_autostart());
    ck_assert(runstate_check(RUN_STATE_INMIGRATE));
    qmp_cont(&error_abort);
    ck_assert(runstate_get_autostart());
    ck_assert(runstate_check(RUN_STATE_INMIGRATE));
}
END_TEST

START_TEST(test_shutdown_request)
{
    ck_assert_int_eq(shutdown_requested(), SHUTDOWN_CAUSE_NONE);
    qmp_quit(&error_abort);
    ck_assert_int_eq(shutdown_requested(), SHUTDOWN_CAUSE_HOST_QMP_QUIT);
    /* The first cause wins. */
    shutdown_request(SHUTDOWN_CAUSE_HOST_SIGNAL);
    ck_assert_int_eq(shutdown_requested(), SHUTDOWN_CAUSE_HOST_QMP_QUIT);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("runstate");
    TCase *tc = tcase_create("runstate");
    SRunner *sr;

    /* Each test runs in its own process (check's fork mode), so each
     * starts in "prelaunch". */
    tcase_add_test(tc, test_table);
    tcase_add_test_raise_signal(tc, test_illegal_aborts, SIGABRT);
    tcase_add_test(tc, test_start_stop);
    tcase_add_test(tc, test_qmp);
    tcase_add_test(tc, test_inmigrate_autostart);
    tcase_add_test(tc, test_shutdown_request);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    /* Every test starts from a fresh process: the machine is global. */
    srunner_set_fork_status(sr, CK_FORK);
    return vmig_check_run(sr);
}
