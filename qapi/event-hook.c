/*
 * qapi_event_emit(), the function the generated event senders call,
 * forwarding to the emitter the monitor installed (see
 * include/qapi/event-hook.h).
 */
#include "qapi/event-hook.h"

#include "qapi/qapi-events.h"
#include "util/atomic.h"

static QAPIEventEmitter *emitter;

void qapi_event_set_emitter(QAPIEventEmitter *fn)
{
    qatomic_store_release(&emitter, fn);
}

void qapi_event_emit(QAPIEvent event, json_t *data)
{
    QAPIEventEmitter *fn = qatomic_load_acquire(&emitter);

    if (fn) {
        fn(event, data);
    }
}
