/*
 * Run state, vm_start/vm_stop, shutdown requests, and the QMP commands
 * query-status, stop, cont and quit.  See include/system/runstate.h.
 */
#include "system/runstate.h"

#include <glib.h>
#include <stdlib.h>

#include "qapi/qapi-commands.h"
#include "qapi/qapi-events.h"
#include "system/cpus.h"
#include "util/atomic.h"
#include "util/main-thread.h"

typedef struct RunStateTransition {
    RunState from;
    RunState to;
} RunStateTransition;

/* The legal run-state changes (QEMU's), grouped by the state left. */
static const RunStateTransition transitions[] = {
    { RUN_STATE_DEBUG, RUN_STATE_RUNNING },
    { RUN_STATE_DEBUG, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_DEBUG, RUN_STATE_PRELAUNCH },
    { RUN_STATE_DEBUG, RUN_STATE_SUSPENDED },

    { RUN_STATE_INMIGRATE, RUN_STATE_INTERNAL_ERROR },
    { RUN_STATE_INMIGRATE, RUN_STATE_IO_ERROR },
    { RUN_STATE_INMIGRATE, RUN_STATE_PAUSED },
    { RUN_STATE_INMIGRATE, RUN_STATE_RUNNING },
    { RUN_STATE_INMIGRATE, RUN_STATE_SHUTDOWN },
    { RUN_STATE_INMIGRATE, RUN_STATE_SUSPENDED },
    { RUN_STATE_INMIGRATE, RUN_STATE_WATCHDOG },
    { RUN_STATE_INMIGRATE, RUN_STATE_GUEST_PANICKED },
    { RUN_STATE_INMIGRATE, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_INMIGRATE, RUN_STATE_PRELAUNCH },
    { RUN_STATE_INMIGRATE, RUN_STATE_POSTMIGRATE },
    { RUN_STATE_INMIGRATE, RUN_STATE_COLO },

    { RUN_STATE_INTERNAL_ERROR, RUN_STATE_PAUSED },
    { RUN_STATE_INTERNAL_ERROR, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_INTERNAL_ERROR, RUN_STATE_PRELAUNCH },

    { RUN_STATE_IO_ERROR, RUN_STATE_RUNNING },
    { RUN_STATE_IO_ERROR, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_IO_ERROR, RUN_STATE_PRELAUNCH },

    { RUN_STATE_PAUSED, RUN_STATE_RUNNING },
    { RUN_STATE_PAUSED, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_PAUSED, RUN_STATE_POSTMIGRATE },
    { RUN_STATE_PAUSED, RUN_STATE_PRELAUNCH },
    { RUN_STATE_PAUSED, RUN_STATE_COLO },

    { RUN_STATE_POSTMIGRATE, RUN_STATE_RUNNING },
    { RUN_STATE_POSTMIGRATE, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_POSTMIGRATE, RUN_STATE_PRELAUNCH },

    { RUN_STATE_PRELAUNCH, RUN_STATE_RUNNING },
    { RUN_STATE_PRELAUNCH, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_PRELAUNCH, RUN_STATE_INMIGRATE },

    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_RUNNING },
    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_PAUSED },
    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_POSTMIGRATE },
    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_PRELAUNCH },
    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_COLO },
    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_INTERNAL_ERROR },
    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_IO_ERROR },
    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_SHUTDOWN },
    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_SUSPENDED },
    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_WATCHDOG },
    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_GUEST_PANICKED },

    { RUN_STATE_RESTORE_VM, RUN_STATE_RUNNING },
    { RUN_STATE_RESTORE_VM, RUN_STATE_PRELAUNCH },

    { RUN_STATE_COLO, RUN_STATE_RUNNING },
    { RUN_STATE_COLO, RUN_STATE_PRELAUNCH },
    { RUN_STATE_COLO, RUN_STATE_SHUTDOWN },

    { RUN_STATE_RUNNING, RUN_STATE_DEBUG },
    { RUN_STATE_RUNNING, RUN_STATE_INTERNAL_ERROR },
    { RUN_STATE_RUNNING, RUN_STATE_IO_ERROR },
    { RUN_STATE_RUNNING, RUN_STATE_PAUSED },
    { RUN_STATE_RUNNING, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_RUNNING, RUN_STATE_RESTORE_VM },
    { RUN_STATE_RUNNING, RUN_STATE_SAVE_VM },
    { RUN_STATE_RUNNING, RUN_STATE_SHUTDOWN },
    { RUN_STATE_RUNNING, RUN_STATE_WATCHDOG },
    { RUN_STATE_RUNNING, RUN_STATE_GUEST_PANICKED },
    { RUN_STATE_RUNNING, RUN_STATE_COLO },
    { RUN_STATE_RUNNING, RUN_STATE_SUSPENDED },

    { RUN_STATE_SAVE_VM, RUN_STATE_RUNNING },

    { RUN_STATE_SHUTDOWN, RUN_STATE_PAUSED },
    { RUN_STATE_SHUTDOWN, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_SHUTDOWN, RUN_STATE_PRELAUNCH },
    { RUN_STATE_SHUTDOWN, RUN_STATE_COLO },

    { RUN_STATE_SUSPENDED, RUN_STATE_RUNNING },
    { RUN_STATE_SUSPENDED, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_SUSPENDED, RUN_STATE_PRELAUNCH },
    { RUN_STATE_SUSPENDED, RUN_STATE_COLO },

    { RUN_STATE_WATCHDOG, RUN_STATE_RUNNING },
    { RUN_STATE_WATCHDOG, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_WATCHDOG, RUN_STATE_PRELAUNCH },
    { RUN_STATE_WATCHDOG, RUN_STATE_COLO },

    { RUN_STATE_GUEST_PANICKED, RUN_STATE_RUNNING },
    { RUN_STATE_GUEST_PANICKED, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_GUEST_PANICKED, RUN_STATE_PRELAUNCH },
    { RUN_STATE_GUEST_PANICKED, RUN_STATE_DEBUG },
};

/* Written by the main thread only; read from any (hence atomics). */
static gint current_run_state = RUN_STATE_PRELAUNCH;
static gint pending_shutdown = SHUTDOWN_CAUSE_NONE;
static bool autostart = true;

struct VMChangeStateEntry {
    VMChangeStateHandler *cb;
    void *opaque;
};

/* In registration order. */
static GPtrArray *vm_change_state_handlers;

RunState runstate_get(void)
{
    return qatomic_mb_read(&current_run_state);
}

bool runstate_check(RunState state)
{
    return runstate_get() == state;
}

bool runstate_is_running(void)
{
    return runstate_check(RUN_STATE_RUNNING);
}

bool runstate_needs_reset(void)
{
    return runstate_check(RUN_STATE_INTERNAL_ERROR) ||
           runstate_check(RUN_STATE_SHUTDOWN) ||
           runstate_check(RUN_STATE_GUEST_PANICKED);
}

bool runstate_is_legal(RunState from, RunState to)
{
    g_assert(from >= 0 && from < RUN_STATE__MAX);
    g_assert(to >= 0 && to < RUN_STATE__MAX);
    if (from == to) {
        return true;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(transitions); i++) {
        if (transitions[i].from == from && transitions[i].to == to) {
            return true;
        }
    }
    return false;
}

void runstate_set(RunState new_state)
{
    RunState old_state = runstate_get();

    assert_main_thread();
    if (!runstate_is_legal(old_state, new_state)) {
        error_report("invalid run state transition: '%s' -> '%s'",
                     RunState_str(old_state), RunState_str(new_state));
        abort();
    }
    qatomic_mb_set(&current_run_state, new_state);
}

bool runstate_get_autostart(void)
{
    return autostart;
}

void runstate_set_autostart(bool value)
{
    assert_main_thread();
    autostart = value;
}

VMChangeStateEntry *vm_change_state_handler_add(VMChangeStateHandler *cb,
                                                void *opaque)
{
    VMChangeStateEntry *e = g_new0(VMChangeStateEntry, 1);

    assert_main_thread();
    e->cb = cb;
    e->opaque = opaque;
    if (!vm_change_state_handlers) {
        vm_change_state_handlers = g_ptr_array_new_with_free_func(g_free);
    }
    g_ptr_array_add(vm_change_state_handlers, e);
    return e;
}

void vm_change_state_handler_del(VMChangeStateEntry *entry)
{
    bool found = vm_change_state_handlers &&
                 g_ptr_array_remove(vm_change_state_handlers, entry);

    assert_main_thread();
    g_assert(found);
    if (vm_change_state_handlers->len == 0) {
        g_ptr_array_free(vm_change_state_handlers, TRUE);
        vm_change_state_handlers = NULL;
    }
}

static void vm_state_notify(bool running, RunState state)
{
    guint n = vm_change_state_handlers ? vm_change_state_handlers->len : 0;

    for (guint i = 0; i < n; i++) {
        guint idx = running ? i : n - 1 - i;
        VMChangeStateEntry *e = g_ptr_array_index(vm_change_state_handlers,
                                                  idx);
        e->cb(e->opaque, running, state);
    }
}

void vm_start(void)
{
    assert_main_thread();
    if (runstate_is_running()) {
        return;
    }
    qapi_event_send_resume();
    runstate_set(RUN_STATE_RUNNING);
    vm_state_notify(true, RUN_STATE_RUNNING);
    resume_all_vcpus();
}

/* Stops the vCPUs and enters @state if running; true if it did. */
static bool do_vm_stop(RunState state, bool send_stop)
{
    assert_main_thread();
    if (!runstate_is_running()) {
        return false;
    }
    pause_all_vcpus();
    runstate_set(state);
    vm_state_notify(false, state);
    if (send_stop) {
        qapi_event_send_stop();
    }
    return true;
}

void vm_stop(RunState state)
{
    do_vm_stop(state, true);
}

void vm_stop_force_state(RunState state)
{
    if (!do_vm_stop(state, true)) {
        runstate_set(state);
    }
}

void vm_shutdown(void)
{
    do_vm_stop(RUN_STATE_SHUTDOWN, false);
}

void shutdown_request(ShutdownCause cause)
{
    g_assert(cause != SHUTDOWN_CAUSE_NONE);
    qatomic_cmpxchg(&pending_shutdown, SHUTDOWN_CAUSE_NONE, cause);
    /* The main loop checks for requests each time it wakes up. */
    g_main_context_wakeup(NULL);
}

ShutdownCause shutdown_requested(void)
{
    return qatomic_mb_read(&pending_shutdown);
}

/* QMP */

StatusInfo *qmp_query_status(Error **errp)
{
    StatusInfo *info = g_new0(StatusInfo, 1);

    info->status = runstate_get();
    info->running = info->status == RUN_STATE_RUNNING;
    return info;
}

void qmp_stop(Error **errp)
{
    /* While migrating in, there are no vCPUs to stop yet: stopping means
     * "do not start when the migration completes". */
    if (runstate_check(RUN_STATE_INMIGRATE)) {
        runstate_set_autostart(false);
        return;
    }
    vm_stop(RUN_STATE_PAUSED);
}

void qmp_cont(Error **errp)
{
    if (runstate_needs_reset()) {
        error_setg(errp, "the machine is in state '%s' and needs a reset, "
                   "which vmig does not support",
                   RunState_str(runstate_get()));
        return;
    }
    if (runstate_check(RUN_STATE_FINISH_MIGRATE)) {
        error_setg(errp, "migration is not finished yet");
        return;
    }
    if (runstate_check(RUN_STATE_SUSPENDED)) {
        /* Only the guest wakes itself up (QEMU's behaviour). */
        return;
    }
    if (runstate_check(RUN_STATE_INMIGRATE)) {
        runstate_set_autostart(true);
        return;
    }
    vm_start();
}

void qmp_quit(Error **errp)
{
    shutdown_request(SHUTDOWN_CAUSE_HOST_QMP_QUIT);
}
