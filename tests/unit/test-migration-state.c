/*
 * Unit tests for what the engine's sides share (migration/
 * engine/state.c): status changes and migration_is_running(), the
 * query-migrate reply built from them, the runtime options, calls into
 * the main thread, and the engine's refusals.
 */
#include <check.h>
#include "tests/check-run.h"
#include <stdlib.h>
#include <string.h>

#include "migration/config.h"
#include "migration/engine/engine.h"
#include "migration/migration.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-visit.h"
#include "util/sockets.h"

START_TEST(test_status_and_query)
{
    g_autoptr(MigrationInfo) none = qmp_query_migrate(&error_abort);
    g_autoptr(MigrationInfo) mid = NULL;
    g_autoptr(MigrationInfo) end = NULL;
    MigRamStats ram = { .transferred = 42, .total = 4096, .page_size = 4096,
                        .iteration = 3 };

    /* Nothing before the first migration. */
    ck_assert(!none->has_status);
    ck_assert(!none->has_total_time);
    ck_assert_ptr_null(none->ram);
    ck_assert(!migration_is_running());

    mig_info_start(MIG_DIR_OUTGOING, false, false);
    ck_assert_int_eq(mig_status(), MIGRATION_STATUS_SETUP);
    ck_assert(migration_is_running());
    /* Only from the state it is in. */
    ck_assert(!mig_status_change(MIGRATION_STATUS_ACTIVE,
                                 MIGRATION_STATUS_DEVICE));
    ck_assert(mig_status_change(MIGRATION_STATUS_SETUP,
                                MIGRATION_STATUS_ACTIVE));
    mig_info_set_ram(&ram);
    mig_info_set_expected_downtime(120);
    mig_info_set_error("not yet: only shown once failed");
    mid = qmp_query_migrate(&error_abort);
    ck_assert_int_eq(mid->status, MIGRATION_STATUS_ACTIVE);
    ck_assert(mid->has_setup_time && mid->has_total_time);
    ck_assert(mid->has_expected_downtime);
    ck_assert_int_eq(mid->expected_downtime, 120);
    ck_assert_ptr_nonnull(mid->ram);
    ck_assert_int_eq(mid->ram->transferred, 42);
    ck_assert_int_eq(mid->ram->iteration, 3);
    ck_assert_ptr_null(mid->error_desc);
    ck_assert(!mid->has_downtime);
    ck_assert(!mid->has_dry_run);

    /* The first reason wins. */
    mig_info_set_error("second");
    mig_info_set_downtime(7);
    mig_info_end();
    ck_assert(mig_status_change(MIGRATION_STATUS_ACTIVE,
                                MIGRATION_STATUS_FAILED));
    ck_assert(!migration_is_running());
    end = qmp_query_migrate(&error_abort);
    ck_assert_int_eq(end->status, MIGRATION_STATUS_FAILED);
    ck_assert_str_eq(end->error_desc, "not yet: only shown once failed");
    ck_assert(!end->has_expected_downtime);
    ck_assert(end->has_downtime);
    ck_assert_int_eq(end->downtime, 7);

    /* A new migration starts afresh. */
    mig_info_start(MIG_DIR_INCOMING, false, true);
    qapi_free_MigrationInfo(end);
    end = qmp_query_migrate(&error_abort);
    ck_assert_int_eq(end->status, MIGRATION_STATUS_SETUP);
    ck_assert_ptr_null(end->ram);
    ck_assert_ptr_null(end->error_desc);
    ck_assert(end->has_dry_run && end->dry_run);
}
END_TEST

/* The prediction switchover went by stays beside the measured downtime. */
START_TEST(test_expected_downtime_kept)
{
    g_autoptr(MigrationInfo) mid = NULL;
    g_autoptr(MigrationInfo) end = NULL;

    mig_info_start(MIG_DIR_OUTGOING, false, false);
    ck_assert(mig_status_change(MIGRATION_STATUS_SETUP,
                                MIGRATION_STATUS_ACTIVE));
    mig_info_set_expected_downtime(900);
    mig_info_switchover_decided(240);
    ck_assert(mig_status_change(MIGRATION_STATUS_ACTIVE,
                                MIGRATION_STATUS_DEVICE));
    mid = qmp_query_migrate(&error_abort);
    ck_assert(mid->has_expected_downtime);
    ck_assert_int_eq(mid->expected_downtime, 240);

    mig_info_set_downtime(260);
    mig_info_end();
    ck_assert(mig_status_change(MIGRATION_STATUS_DEVICE,
                                MIGRATION_STATUS_COMPLETED));
    end = qmp_query_migrate(&error_abort);
    ck_assert(end->has_expected_downtime);
    ck_assert_int_eq(end->expected_downtime, 240);
    ck_assert(end->has_downtime);
    ck_assert_int_eq(end->downtime, 260);
}
END_TEST

START_TEST(test_running_states)
{
    static const MigrationStatus running[] = {
        MIGRATION_STATUS_SETUP, MIGRATION_STATUS_CANCELLING,
        MIGRATION_STATUS_ACTIVE, MIGRATION_STATUS_PRE_SWITCHOVER,
        MIGRATION_STATUS_DEVICE, MIGRATION_STATUS_POSTCOPY_ACTIVE,
    };
    static const MigrationStatus done[] = {
        MIGRATION_STATUS_NONE, MIGRATION_STATUS_COMPLETED,
        MIGRATION_STATUS_FAILED, MIGRATION_STATUS_CANCELLED,
    };

    for (size_t i = 0; i < G_N_ELEMENTS(running); i++) {
        ck_assert(mig_status_is_running(running[i]));
    }
    for (size_t i = 0; i < G_N_ELEMENTS(done); i++) {
        ck_assert(!mig_status_is_running(done[i]));
    }
}
END_TEST

START_TEST(test_listen_address)
{
    g_autoptr(SocketAddress) addr = socket_parse("tcp:127.0.0.1:4444",
                                                 &error_abort);
    g_autoptr(MigrationInfo) mi = NULL;

    mig_info_set_listen_address(addr);
    mi = qmp_query_migrate(&error_abort);
    ck_assert_ptr_nonnull(mi->socket_address);
    ck_assert_int_eq(mi->socket_address->value->type,
                     SOCKET_ADDRESS_TYPE_INET);
    ck_assert_str_eq(mi->socket_address->value->u.inet.port, "4444");
    ck_assert_ptr_null(mi->socket_address->next);
    mig_info_set_listen_address(NULL);
    qapi_free_MigrationInfo(mi);
    mi = qmp_query_migrate(&error_abort);
    ck_assert_ptr_null(mi->socket_address);
}
END_TEST

START_TEST(test_params)
{
    g_autoptr(MigrationConfig) cfg = migration_config_new_default();
    MigParams p;

    /* Every runtime option the engine reads, at a value of its own. */
    cfg->max_bandwidth = 123;
    cfg->downtime_limit = 45;
    cfg->avail_switchover_bandwidth = 67;
    cfg->cpu_throttle_initial = 30;
    cfg->cpu_throttle_increment = 11;
    cfg->throttle_trigger_threshold = 40;
    cfg->max_cpu_throttle = 90;
    cfg->cpu_throttle_tailslow = true;
    mig_params_update(cfg);
    mig_params_get(&p);
    ck_assert_uint_eq(p.max_bandwidth, 123);
    ck_assert_uint_eq(p.downtime_limit, 45);
    ck_assert_uint_eq(p.avail_switchover_bandwidth, 67);
    ck_assert_uint_eq(p.throttle.initial, 30);
    ck_assert_uint_eq(p.throttle.increment, 11);
    ck_assert_uint_eq(p.throttle.trigger_threshold, 40);
    ck_assert_uint_eq(p.throttle.max, 90);
    ck_assert(p.throttle.tailslow);
    /* Every change of the configuration in effect reaches them. */
    cfg->downtime_limit = 46;
    migration_config_replace(cfg);
    mig_params_get(&p);
    ck_assert_uint_eq(p.downtime_limit, 46);
}
END_TEST

static void note_thread(void *opaque)
{
    *(bool *)opaque = mig_in_main_thread();
}

static gpointer call_from_thread(gpointer opaque)
{
    mig_call_in_main(note_thread, opaque);
    return NULL;
}

START_TEST(test_call_in_main)
{
    bool in_main = false;
    GThread *t;

    /* From the main thread: directly. */
    ck_assert(mig_in_main_thread());
    mig_call_in_main(note_thread, &in_main);
    ck_assert(in_main);
    /* From another: run by the main loop, which the caller waits for. */
    in_main = false;
    t = g_thread_new("caller", call_from_thread, &in_main);
    while (!in_main) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_thread_join(t);
}
END_TEST

START_TEST(test_handshake_timeout)
{
    unsetenv("VMIG_TEST_HANDSHAKE_TIMEOUT_MS");
    ck_assert_uint_eq(mig_handshake_timeout_ms(), 30000);
    setenv("VMIG_TEST_HANDSHAKE_TIMEOUT_MS", "250", 1);
    ck_assert_uint_eq(mig_handshake_timeout_ms(), 250);
    /* Nonsense falls back to the protocol's value. */
    setenv("VMIG_TEST_HANDSHAKE_TIMEOUT_MS", "soon", 1);
    ck_assert_uint_eq(mig_handshake_timeout_ms(), 30000);
    setenv("VMIG_TEST_HANDSHAKE_TIMEOUT_MS", "0", 1);
    ck_assert_uint_eq(mig_handshake_timeout_ms(), 30000);
    unsetenv("VMIG_TEST_HANDSHAKE_TIMEOUT_MS");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("migration-state");
    TCase *tc = tcase_create("migration-state");
    SRunner *sr;

    tcase_add_test(tc, test_status_and_query);
    tcase_add_test(tc, test_expected_downtime_kept);
    tcase_add_test(tc, test_running_states);
    tcase_add_test(tc, test_listen_address);
    tcase_add_test(tc, test_params);
    tcase_add_test(tc, test_call_in_main);
    tcase_add_test(tc, test_handshake_timeout);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
