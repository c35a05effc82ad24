/*
 * HMP command handlers for the machine and the monitor.  Each one calls
 * the QMP command's C function and formats its result, so the two
 * monitors always agree.
 */
#include <inttypes.h>

#include "monitor/hmp.h"
#include "qapi/qapi-commands.h"

void hmp_help(Monitor *mon, const json_t *args)
{
    hmp_help_cmd(mon, hmp_arg_str(args, "name"));
}

void hmp_info_status(Monitor *mon, const json_t *args)
{
    Error *err = NULL;
    g_autoptr(StatusInfo) info = qmp_query_status(&err);

    if (hmp_handle_error(mon, err)) {
        return;
    }
    /* QEMU's wording: the reason is shown for every stop but a plain one
     * ("paused (postmigrate)", "paused (inmigrate)"). */
    monitor_printf(mon, "VM status: %s", info->running ? "running" : "paused");
    if (!info->running && info->status != RUN_STATE_PAUSED) {
        monitor_printf(mon, " (%s)", RunState_str(info->status));
    }
    monitor_printf(mon, "\n");
}

void hmp_info_version(Monitor *mon, const json_t *args)
{
    g_autoptr(VersionInfo) info = qmp_query_version(&error_abort);

    monitor_printf(mon, "%" PRId64 ".%" PRId64 ".%" PRId64 " (%s)\n",
                   info->qemu->major, info->qemu->minor, info->qemu->micro,
                   info->package);
}

void hmp_stop(Monitor *mon, const json_t *args)
{
    Error *err = NULL;

    qmp_stop(&err);
    hmp_handle_error(mon, err);
}

void hmp_cont(Monitor *mon, const json_t *args)
{
    Error *err = NULL;

    qmp_cont(&err);
    hmp_handle_error(mon, err);
}

void hmp_quit(Monitor *mon, const json_t *args)
{
    Error *err = NULL;

    qmp_quit(&err);
    hmp_handle_error(mon, err);
}
