/*
 * vmig: a tiny QEMU-like machine, the thing that gets migrated.
 *
 * main() only sequences start-up and tear-down; the parts live in
 * system/cmdline.c (options), system/machine.c (objects, RAM, devices,
 * vCPUs), system/runstate.c and system/main-loop.c.
 */
#include <signal.h>
#include <stdlib.h>

#include "monitor/monitor.h"
#include "qapi/error.h"
#include "system/cmdline.h"
#include "system/machine.h"
#include "system/main-loop.h"
#include "system/runstate.h"

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

int main(int argc, char **argv)
{
    g_autoptr(MachineConfig) cfg = NULL;
    Error *err = NULL;
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
    if (cfg->incoming) {
        error_report("-incoming %s: migration is not implemented yet",
                     cfg->incoming);
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

    main_loop_init();
    runstate_set_autostart(!cfg->start_paused);
    if (runstate_get_autostart()) {
        vm_start();
    }
    main_loop_run();

    vm_shutdown();
    monitor_cleanup();
    machine_cleanup();
    main_loop_cleanup();
    return EXIT_SUCCESS;
}
