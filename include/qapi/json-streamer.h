/*
 * Splits a byte stream into complete JSON values (QMP messages).
 *
 * Feed it whatever read() returned: partial messages are kept until
 * complete; several messages in one chunk are emitted one by one, in order.
 * A message that is malformed, too large or too deeply nested is reported
 * to the callback with @value NULL and @err set, and the streamer then
 * resynchronises so later messages still work.
 */
#ifndef VMIG_QAPI_JSON_STREAMER_H
#define VMIG_QAPI_JSON_STREAMER_H

#include <jansson.h>
#include <stddef.h>
#include "qapi/error.h"

#define JSON_STREAMER_MAX_BYTES (64u * 1024 * 1024)
#define JSON_STREAMER_MAX_DEPTH 1024

/* Exactly one of @value (new reference, callee owns) or @err (callee owns)
 * is non-NULL. */
typedef void JsonEmitFunc(void *opaque, json_t *value, Error *err);

typedef struct JsonStreamer JsonStreamer;

JsonStreamer *json_streamer_new(JsonEmitFunc *emit, void *opaque);
/* Overrides the default limits (used by tests and by QMP). */
void json_streamer_set_limits(JsonStreamer *s, size_t max_bytes,
                              unsigned max_depth);
void json_streamer_feed(JsonStreamer *s, const char *buf, size_t len);
/* End of input: an incomplete value still buffered is reported as error. */
void json_streamer_flush(JsonStreamer *s);
void json_streamer_free(JsonStreamer *s);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(JsonStreamer, json_streamer_free)

#endif
