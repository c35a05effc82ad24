/*
 * The main loop.  See include/system/main-loop.h.
 */
#include "system/main-loop.h"

#include <glib-unix.h>
#include <signal.h>

#include "qapi/qapi-events.h"
#include "system/runstate.h"

static guint signal_sources[2];

static gboolean on_signal(gpointer opaque)
{
    shutdown_request(SHUTDOWN_CAUSE_HOST_SIGNAL);
    return G_SOURCE_CONTINUE;
}

void main_loop_init(void)
{
    /* GLib handles the signals safely and calls us from the loop. */
    signal_sources[0] = g_unix_signal_add(SIGINT, on_signal, NULL);
    signal_sources[1] = g_unix_signal_add(SIGTERM, on_signal, NULL);
}

ShutdownCause main_loop_run(void)
{
    ShutdownCause cause;

    /* shutdown_request() wakes the context, so a request made between
     * the check and the next poll is not missed. */
    while ((cause = shutdown_requested()) == SHUTDOWN_CAUSE_NONE) {
        g_main_context_iteration(NULL, TRUE);
    }
    qapi_event_send_shutdown(false, cause);
    return cause;
}

void main_loop_cleanup(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(signal_sources); i++) {
        if (signal_sources[i]) {
            g_source_remove(signal_sources[i]);
            signal_sources[i] = 0;
        }
    }
}
