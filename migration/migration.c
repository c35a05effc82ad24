/*
 * vmig is exiting: the one place that stops both ends of the engine
 * (see include/migration/migration.h).
 */
#include "migration/migration.h"

#include "migration/engine/engine.h"

/* Longest wait for the engine's threads at exit. */
#define SHUTDOWN_WAIT_US (10 * G_USEC_PER_SEC)

void migration_shutdown(void)
{
    gint64 deadline = g_get_monotonic_time() + SHUTDOWN_WAIT_US;

    mig_outgoing_shutdown_begin();
    mig_incoming_shutdown_begin();
    /* The threads may need the main loop to finish (run-state changes,
     * their clean-up), so keep running it while waiting. */
    while (!(mig_outgoing_idle() && mig_incoming_idle())) {
        if (g_get_monotonic_time() > deadline) {
            warn_report("migration: giving up waiting for the migration "
                        "threads to stop");
            return;
        }
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
}
