/*
 * The monitors of vmig: QMP (JSON, for management software such as libvirt)
 * and HMP (line-based, for humans).
 *
 * Everything here runs in the main thread on the default GLib main context
 * (no monitor threads), except event emission (qapi_event_send_*()),
 * which any thread may do.
 *
 * Start-up order, as system/main.c does it:
 *
 *     monitor_init_globals();          // command table, event queue
 *     ... create the machine ...
 *     monitor_init_qmp(spec, &err);    // once per -qmp
 *     monitor_init_hmp(spec, &err);    // once per -monitor
 *     ... run the main loop until shutdown is requested ...
 *     monitor_cleanup();
 *
 * A monitor "spec" is a QEMU character-device string:
 *     unix:PATH[,server=on][,wait=on|off]
 *     tcp:HOST:PORT[,server=on][,wait=on|off]
 *     stdio
 * Monitors always listen (server=off is refused), so server=on may be left
 * out; wait defaults to off (QEMU's default is on).  With wait=on the call
 * blocks until the first client has connected.  Every listening socket
 * serves any number of clients at the same time; each connected client is
 * a Monitor of its own with its own state (capability negotiation, named
 * file descriptors, which are closed when that client disconnects).
 *
 * With stdio, end of input stops reading but keeps the machine running;
 * standard output is written with blocking writes.
 */
#ifndef VMIG_MONITOR_MONITOR_H
#define VMIG_MONITOR_MONITOR_H

#include <stdarg.h>
#include <stdbool.h>

#include "qapi/error.h"

/* One connected client of a QMP or HMP monitor. */
typedef struct Monitor Monitor;

/*
 * Creates the global QMP command table (qmp_commands, with every generated
 * command registered) and the event machinery, and makes "fd:NAME" socket
 * addresses resolve NAME with monitor_get_fd() on the current monitor.
 * Call once, first thing in main(), from the main thread (the thread that
 * calls it is where events are sent from).
 */
void monitor_init_globals(void);

/* Starts a QMP monitor as described by @spec (see above).  Errors do not
 * repeat @spec: the caller says which option it came from. */
bool monitor_init_qmp(const char *spec, Error **errp);

/* Starts an HMP monitor as described by @spec (see above). */
bool monitor_init_hmp(const char *spec, Error **errp);

/*
 * Closes every monitor, listening socket and client, after a last attempt
 * to send what is still queued (e.g. the reply to "quit").  Removes the
 * unix socket files the monitors created.
 */
void monitor_cleanup(void);

/* The monitor whose command is being executed in this thread, or NULL. */
Monitor *monitor_cur(void);

bool monitor_is_qmp(const Monitor *mon);

/*
 * Takes the file descriptor that was stored under @fdname by "getfd" out
 * of @mon's store and returns it (the caller now owns it).  As in QEMU, a
 * plain decimal number is accepted too and returned as is (it names an fd
 * the process already has).  Returns -1 with @errp set if there is no such
 * descriptor.
 */
int monitor_get_fd(Monitor *mon, const char *fdname, Error **errp);

/*
 * Prints to the human monitor @mon.  Output to a QMP monitor is dropped
 * (QMP has no free-form text), as is output with @mon NULL.  Returns the
 * number of bytes queued, or -1 if nothing was printed.
 */
int monitor_printf(Monitor *mon, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
int monitor_vprintf(Monitor *mon, const char *fmt, va_list ap)
    G_GNUC_PRINTF(2, 0);

#endif
