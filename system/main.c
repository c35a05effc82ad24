/*
 * vmig: a tiny QEMU-like machine, the thing that gets migrated.
 *
 * main() only sequences start-up and tear-down; the parts live in
 * system/cmdline.c (options), system/machine.c (objects, RAM, devices,
 * vCPUs), system/runstate.c and system/main-loop.c.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "migration/migration.h"
#include "monitor/monitor.h"
#include "qapi/error.h"
#include "system/cmdline.h"
#include "system/machine.h"
#include "system/main-loop.h"
#include "system/runstate.h"
#include "util/cutils.h"

static bool start_monitors(const MachineConfig *cfg, Error **errp)
{
    for (guint i = 0; i < cfg->qmp->len; i++) {
        const char *spec = g_ptr_array_index(cfg->qmp, i);
        if (!monitor_init_qmp(spec, errp)) {
            error_prepend(errp, "-qmp %s: ", spec);
            return false;
        }
    }
    for (guint i = 0; i < cfg->hmp->len; i++) {
        const char *spec = g_ptr_array_index(cfg->hmp, i);
        if (!monitor_init_hmp(spec, errp)) {
            error_prepend(errp, "-monitor %s: ", spec);
            return false;
        }
    }
    return true;
}

/* Applies "-global migration.KEY=VALUE" @arg; errors name @arg. */
static bool set_migration_global(const char *arg, Error **errp)
{
    const char *key = arg + strlen("migration.");
    const char *eq = strchr(key, '=');
    g_autofree char *shown = str_abbrev(arg);
    g_autofree char *name = NULL;

    if (!eq) {
        error_setg(errp, "-global %s: expected migration.KEY=VALUE", shown);
        return false;
    }
    name = g_strndup(key, eq - key);
    if (!migration_global_set(name, eq + 1, errp)) {
        error_prepend(errp, "-global %s: ", shown);
        return false;
    }
    return true;
}

/*
 * Every -global migration.KEY=VALUE; other drivers' are accepted and
 * ignored, as vmig has no device properties.  Each one is validated
 * against the configuration so far, so an option that needs another
 * (postcopy-preempt needs postcopy-ram) would depend on the order they
 * are given in: the refused ones are retried after the others until a
 * pass makes no progress, and then the first still refused is reported.
 * The last one applied has checked the resulting configuration whole.
 */
static bool set_migration_globals(const MachineConfig *cfg, Error **errp)
{
    g_autoptr(GPtrArray) pending = g_ptr_array_new();

    for (guint i = 0; i < cfg->globals->len; i++) {
        const char *arg = g_ptr_array_index(cfg->globals, i);

        if (g_str_has_prefix(arg, "migration.")) {
            g_ptr_array_add(pending, (char *)arg);
        }
    }
    while (pending->len) {
        Error *first = NULL;
        guint kept = 0;

        for (guint i = 0; i < pending->len; i++) {
            const char *arg = g_ptr_array_index(pending, i);
            Error *err = NULL;

            if (set_migration_global(arg, &err)) {
                continue;
            }
            if (first) {
                error_free(err);
            } else {
                first = err;
            }
            g_ptr_array_index(pending, kept++) = (char *)arg;
        }
        if (kept == pending->len) {
            error_propagate(errp, first);
            return false;
        }
        error_free(first);
        g_ptr_array_set_size(pending, kept);
    }
    return true;
}

/*
 * The globals come first: they make the start-up configuration, which
 * the options given on -incoming are completed with.
 */
static bool start_migration(const MachineConfig *cfg, Error **errp)
{
    if (!set_migration_globals(cfg, errp)) {
        return false;
    }
    if (!cfg->incoming) {
        return true;
    }
    /*
     * As in QEMU: the state comes from the source, so the vCPUs must not
     * run before it has arrived, whatever form -incoming takes.
     */
    runstate_set(RUN_STATE_INMIGRATE);
    if (!migration_incoming_cmdline(cfg->incoming, errp)) {
        g_autofree char *shown = str_abbrev(cfg->incoming);

        error_prepend(errp, "-incoming %s: ", shown);
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    g_autoptr(MachineConfig) cfg = NULL;
    Error *err = NULL;
    ShutdownCause cause;
    bool exit_now;

    error_set_progname("vmig");
    /* A monitor client that goes away must not kill us: writes to it
     * fail with EPIPE instead. */
    signal(SIGPIPE, SIG_IGN);
    monitor_init_globals();

    cfg = cmdline_parse(argc, argv, &exit_now, &err);
    if (!cfg) {
        if (exit_now) {
            return EXIT_SUCCESS;
        }
        error_report_err(err);
        return EXIT_FAILURE;
    }
    if (!machine_init(cfg, &err)) {
        error_report_err(err);
        return EXIT_FAILURE;
    }
    if (!start_monitors(cfg, &err)) {
        error_report_err(err);
        monitor_cleanup();
        machine_cleanup();
        return EXIT_FAILURE;
    }

    /*
     * Autostart follows -S with -incoming too: the incoming side starts
     * the VM when the migration completes, if it is set.
     */
    runstate_set_autostart(!cfg->start_paused);
    if (!start_migration(cfg, &err)) {
        error_report_err(err);
        monitor_cleanup();
        machine_cleanup();
        return EXIT_FAILURE;
    }

    main_loop_init();
    if (!cfg->incoming && runstate_get_autostart()) {
        vm_start();
    }
    cause = main_loop_run();

    /* Before the vCPUs go: a migration may have to restart them. */
    migration_shutdown();
    vm_shutdown();
    monitor_cleanup();
    machine_cleanup();
    main_loop_cleanup();
    /* host-error: e.g. an incoming migration failed (exit-on-error). */
    return cause == SHUTDOWN_CAUSE_HOST_ERROR ? EXIT_FAILURE : EXIT_SUCCESS;
}
