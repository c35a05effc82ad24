/*
 * Where the generated qapi_event_send_*() functions deliver events.
 *
 * Events are raised in every layer (run-state changes in system/,
 * migration progress in migration/), but only the monitor, the top
 * layer, can send them.  So the lowest layer owns this hook and the
 * monitor installs itself into it: no layer calls upward.  Until an
 * emitter is installed (or after it is removed) events are dropped,
 * which is right: nobody could have received them.
 */
#ifndef VMIG_QAPI_EVENT_HOOK_H
#define VMIG_QAPI_EVENT_HOOK_H

#include <jansson.h>

#include "qapi/qapi-types.h"

/* Sends @event; @data is borrowed (may be NULL). Any thread may call. */
typedef void QAPIEventEmitter(QAPIEvent event, json_t *data);

/* Installs @fn (NULL removes it). */
void qapi_event_set_emitter(QAPIEventEmitter *fn);

#endif
