/*
 * Fuzz target: the JSON streamer (util/json-streamer.c), which splits
 * a QMP client's bytes into messages.  The first input byte picks how
 * the rest is cut into feeds (a client's bytes arrive in any pieces);
 * the limits are lowered so the oversize and depth paths are reached by
 * small inputs.  Whatever the cuts, the values emitted must be the same
 * as from one feed: the streamer may not depend on read boundaries.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "qapi/json-streamer.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_MAX_BYTES 4096
#define FUZZ_MAX_DEPTH 32

/* Each value as compact text, each error as "!". */
static void record(void *opaque, json_t *value, Error *err)
{
    GString *log = opaque;

    if (err) {
        g_string_append(log, "!\n");
        error_free(err);
        return;
    }
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY |
                                   JSON_SORT_KEYS);
    g_string_append_printf(log, "%s\n", text ? text : "?");
    free(text);
    json_decref(value);
}

static GString *run(const char *buf, size_t len, size_t cut)
{
    GString *log = g_string_new(NULL);
    g_autoptr(JsonStreamer) s = json_streamer_new(record, log);

    json_streamer_set_limits(s, FUZZ_MAX_BYTES, FUZZ_MAX_DEPTH);
    for (size_t pos = 0; pos < len; pos += cut) {
        json_streamer_feed(s, buf + pos, MIN(cut, len - pos));
    }
    json_streamer_flush(s);
    return log;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    size_t cut = data[0] % 16 + 1;
    g_autoptr(GString) whole = run(buf, len, len ? len : 1);
    g_autoptr(GString) pieces = run(buf, len, cut);

    if (strcmp(whole->str, pieces->str)) {
        abort();    /* the result depends on how the bytes were cut */
    }
    return 0;
}
