/*
 * The run state of the machine (RunState, qapi/run-state.json), starting
 * and stopping the vCPUs, and shutdown requests.
 *
 * Legal run-state changes are QEMU's, kept as data in one table in
 * system/runstate.c; runstate_set() aborts on an illegal one, because
 * that is a bug in vmig, never a user error.
 *
 * Threads: everything here except shutdown_request() and the getters
 * (runstate_get(), runstate_check(), runstate_is_running()) must be called
 * from the main thread; code in other threads (migration) asks the main
 * loop to do it, e.g. with g_main_context_invoke().
 */
#ifndef VMIG_SYSTEM_RUNSTATE_H
#define VMIG_SYSTEM_RUNSTATE_H

#include <stdbool.h>

#include "qapi/qapi-types.h"

RunState runstate_get(void);
bool runstate_check(RunState state);
bool runstate_is_running(void);
/* internal-error, shutdown, guest-panicked: cannot continue without a
 * reset, which vmig does not have. */
bool runstate_needs_reset(void);

/* Whether the transition table allows @from -> @to (staying in the same
 * state is always allowed). */
bool runstate_is_legal(RunState from, RunState to);
/* Enters @new_state; aborts if the change is illegal. */
void runstate_set(RunState new_state);

/*
 * Whether the VM starts by itself once it is ready: true unless -S, and
 * cleared/set by stop/cont while an incoming migration is in progress.
 * The incoming migration code calls vm_start() at the end if it is set.
 */
bool runstate_get_autostart(void);
void runstate_set_autostart(bool autostart);

/*
 * Called on every change between running and stopped, with the new run
 * state; in registration order when starting, in reverse order when
 * stopping (so a handler registered after another sees it started first
 * and stopped last).
 */
typedef void VMChangeStateHandler(void *opaque, bool running, RunState state);
typedef struct VMChangeStateEntry VMChangeStateEntry;

VMChangeStateEntry *vm_change_state_handler_add(VMChangeStateHandler *cb,
                                                void *opaque);
void vm_change_state_handler_del(VMChangeStateEntry *entry);

/*
 * Starts the vCPUs: emits RESUME, enters "running", notifies handlers,
 * resumes the vCPU threads.  Does nothing if already running.
 */
void vm_start(void);
/*
 * If running: parks the vCPU threads (returns once none touches guest RAM
 * any more), enters @state, notifies handlers and emits STOP.  If not
 * running it does nothing.
 */
void vm_stop(RunState state);
/* Like vm_stop(), but also enters @state when already stopped (migration
 * uses it to reach finish-migrate from paused). */
void vm_stop_force_state(RunState state);
/* Parks the vCPUs for good at exit, entering "shutdown" if running.  No
 * STOP event: SHUTDOWN has already been sent. */
void vm_shutdown(void);

/* Asks the main loop to shut vmig down.  Safe from any thread; the first
 * request's cause wins. */
void shutdown_request(ShutdownCause cause);
/* The cause of the pending request, SHUTDOWN_CAUSE_NONE if none. */
ShutdownCause shutdown_requested(void);

#endif
