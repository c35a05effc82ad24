/*
 * QMP commands about the monitor itself (qapi/control.json) and about
 * passing file descriptors (qapi/misc.json).
 */
#include "monitor-internal.h"

#include <unistd.h>

#include "config-host.h"
#include "qapi/qapi-commands.h"

void qmp_qmp_capabilities(QMPCapabilityList *enable, Error **errp)
{
    Monitor *mon = monitor_cur();

    /* Only the QMP dispatcher reaches here, always with a client. */
    g_assert(mon && monitor_is_qmp(mon));

    if (monitor_qmp_negotiated(mon)) {
        /* CommandNotFound, as QEMU: in command mode this command does not
         * exist in the protocol sense. */
        error_set(errp, ERROR_CLASS_COMMAND_NOT_FOUND,
                  "Capabilities negotiation is already complete, command "
                  "ignored");
        return;
    }
    if (enable) {
        /* The greeting offers nothing, so whatever is asked for was not
         * offered. */
        error_setg(errp, "QMP capability '%s' is not available: vmig "
                   "offers no capabilities (there is no out-of-band "
                   "execution)", QMPCapability_str(enable->value));
        return;
    }
    monitor_qmp_finish_negotiation(mon);
}

VersionInfo *qmp_query_version(Error **errp)
{
    VersionInfo *info = g_new0(VersionInfo, 1);

    info->qemu = g_new0(VersionTriple, 1);
    info->qemu->major = VMIG_VERSION_MAJOR;
    info->qemu->minor = VMIG_VERSION_MINOR;
    info->qemu->micro = VMIG_VERSION_MICRO;
    info->package = g_strdup("vmig " VMIG_VERSION);
    return info;
}

static void add_command_info(const QmpCommand *cmd, void *opaque)
{
    CommandInfoList ***tail = opaque;

    if (!cmd->enabled) {
        return;
    }
    CommandInfoList *elem = g_new0(CommandInfoList, 1);
    elem->value = g_new0(CommandInfo, 1);
    elem->value->name = g_strdup(cmd->name);
    **tail = elem;
    *tail = &elem->next;
}

CommandInfoList *qmp_query_commands(Error **errp)
{
    CommandInfoList *list = NULL;
    CommandInfoList **tail = &list;

    /* The command-mode table, also for a client still negotiating: it is
     * the set the client gets once it has. */
    qmp_for_each_command(qmp_commands, add_command_info, &tail);
    return list;
}

void qmp_getfd(const char *fdname, Error **errp)
{
    Monitor *mon = monitor_cur();

    g_assert(mon);
    /* Check the name first: a refused name must not eat the descriptor's
     * slot silently (it is closed after the command either way). */
    if (!fdname[0]) {
        error_setg(errp, "Parameter 'fdname' must not be empty");
        return;
    }
    if (g_ascii_isdigit(fdname[0])) {
        error_setg(errp, "Parameter 'fdname' expects a name not starting "
                   "with a digit");
        return;
    }
    int fd = monitor_take_pending_fd(mon);
    if (fd < 0) {
        error_setg(errp, "No file descriptor supplied via SCM_RIGHTS");
        return;
    }
    monitor_store_fd(mon, fdname, fd);
}

void qmp_closefd(const char *fdname, Error **errp)
{
    Monitor *mon = monitor_cur();

    g_assert(mon);
    if (!monitor_close_fd(mon, fdname)) {
        error_setg(errp, "File descriptor named '%s' not found", fdname);
    }
}
