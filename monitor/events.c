/*
 * QMP events: monitor_event_emit() is the emitter the generated
 * qapi_event_send_*() functions reach through qapi_event_emit()
 * (include/qapi/event-hook.h).  It stamps the event and sends it to
 * every QMP client that has completed capabilities negotiation.
 *
 * Any thread may emit (the migration thread will).  Monitors belong to the
 * main thread, so an event from elsewhere is queued and the main loop is
 * woken to send it.  Order is kept: the queue is FIFO, and an event the
 * main thread emits first flushes the queue, whose events were emitted
 * earlier.
 */
#include "monitor-internal.h"

#include "qapi/event-hook.h"
#include "qapi/qapi-events.h"
#include "util/main-thread.h"

static GMutex queue_lock;
static GQueue queue;            /* json_t * messages, oldest first */
static guint drain_source;      /* idle source that will send them, or 0 */
static bool shut_down;          /* after monitor_cleanup(): drop events */

/* @data is borrowed (the generated senders free it). */
static json_t *event_message(QAPIEvent event, json_t *data)
{
    gint64 now = g_get_real_time();     /* microseconds since the epoch */
    json_t *msg = json_object();

    json_object_set_new(msg, "event", json_string(QAPIEvent_str(event)));
    if (data) {
        /* Events without members carry no "data" at all, as in QEMU. */
        json_object_set(msg, "data", data);
    }
    json_object_set_new(msg, "timestamp",
                        json_pack("{s:I, s:I}",
                                  "seconds", (json_int_t)(now / G_USEC_PER_SEC),
                                  "microseconds",
                                  (json_int_t)(now % G_USEC_PER_SEC)));
    return msg;
}

static void send_if_negotiated(Monitor *mon, void *opaque)
{
    if (mon->is_qmp && monitor_qmp_negotiated(mon)) {
        monitor_qmp_send(mon, opaque);
    }
}

static void broadcast(json_t *msg)
{
    monitor_for_each(send_if_negotiated, msg);
    json_decref(msg);
}

/* Sends everything other threads queued.  Main thread only. */
static void drain_queue(void)
{
    GQueue batch = G_QUEUE_INIT;

    assert_main_thread();
    g_mutex_lock(&queue_lock);
    batch = queue;
    g_queue_init(&queue);
    g_mutex_unlock(&queue_lock);

    json_t *msg;
    while ((msg = g_queue_pop_head(&batch))) {
        broadcast(msg);
    }
}

static gboolean drain_queue_cb(gpointer opaque)
{
    g_mutex_lock(&queue_lock);
    drain_source = 0;
    g_mutex_unlock(&queue_lock);
    drain_queue();
    return G_SOURCE_REMOVE;
}

static void monitor_event_emit(QAPIEvent event, json_t *data)
{
    json_t *msg, *copy;

    if (in_main_thread()) {
        msg = event_message(event, data);
        drain_queue();
        broadcast(msg);
        return;
    }

    /*
     * The caller drops its reference to @data when we return, while the
     * main thread may already be sending and freeing the message: jansson
     * does not order the two ends of a shared count (TSan saw the free
     * race the caller's decref).  A copy is the message's alone.
     */
    copy = data ? json_deep_copy(data) : NULL;
    msg = event_message(event, copy);
    json_decref(copy);

    g_mutex_lock(&queue_lock);
    if (shut_down) {
        g_mutex_unlock(&queue_lock);
        json_decref(msg);
        return;
    }
    g_queue_push_tail(&queue, msg);
    if (!drain_source) {
        /* g_idle_add() is thread-safe and wakes the main context. */
        drain_source = g_idle_add_full(G_PRIORITY_DEFAULT, drain_queue_cb,
                                       NULL, NULL);
    }
    g_mutex_unlock(&queue_lock);
}

void monitor_events_init(void)
{
    /* Events from other threads are queued for this one. */
    assert_main_thread();
    qapi_event_set_emitter(monitor_event_emit);
}

void monitor_events_cleanup(void)
{
    /* Deliver what is queued while the clients are still there, then
     * refuse more: nothing would ever send it. */
    drain_queue();

    qapi_event_set_emitter(NULL);
    g_mutex_lock(&queue_lock);
    shut_down = true;
    if (drain_source) {
        g_source_remove(drain_source);
        drain_source = 0;
    }
    g_mutex_unlock(&queue_lock);
    drain_queue();
}
