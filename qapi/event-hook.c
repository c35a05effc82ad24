/*
 * qapi_event_emit(), the function the generated event senders call,
 * forwarding to the emitter the monitor installed (see
 * include/qapi/event-hook.h).
 */
#include "qapi/event-hook.h"

#include "qapi/qapi-events.h"

static QAPIEventEmitter *emitter;

void qapi_event_set_emitter(QAPIEventEmitter *fn)
{
    __atomic_store_n(&emitter, fn, __ATOMIC_RELEASE);
}

void qapi_event_emit(QAPIEvent event, json_t *data)
{
    QAPIEventEmitter *fn = __atomic_load_n(&emitter, __ATOMIC_ACQUIRE);

    if (fn) {
        fn(event, data);
    }
}
