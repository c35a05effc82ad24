/*
 * QMP command registry: what qapi/qmp-dispatch.h does not cover.
 *
 * The registry is filled at startup (qmp_init_marshal() plus hand-written
 * registrations) and only read afterwards, from any thread, without locks.
 * Everything here must therefore run before the monitors start.
 */
#ifndef VMIG_QAPI_QMP_REGISTRY_H
#define VMIG_QAPI_QMP_REGISTRY_H

#include "qapi/qmp-dispatch.h"

void qmp_command_list_free(QmpCommandList *cmds);

/*
 * Enables or disables command @name (which must be registered).  A
 * disabled command is refused by qmp_dispatch() with class CommandNotFound,
 * like one that does not exist, but is still listed.
 */
void qmp_command_set_enabled(QmpCommandList *cmds, const char *name,
                             bool enabled);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmpCommandList, qmp_command_list_free)

#endif
