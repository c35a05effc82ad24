/*
 * The main loop: the default GLib main context, run in the main thread
 * until a shutdown is requested (system/runstate.h).  Monitors and all
 * command handlers run here.
 */
#ifndef VMIG_SYSTEM_MAIN_LOOP_H
#define VMIG_SYSTEM_MAIN_LOOP_H

#include "qapi/qapi-types.h"

/* Turns SIGINT and SIGTERM into shutdown requests (cause host-signal). */
void main_loop_init(void);
/* Runs until shutdown is requested, emits SHUTDOWN, returns the cause. */
ShutdownCause main_loop_run(void);
void main_loop_cleanup(void);

#endif
