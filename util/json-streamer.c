/*
 * Splitting a byte stream into JSON values: see
 * include/qapi/json-streamer.h.
 *
 * A small lexer finds where each value ends; jansson then parses the
 * bytes of that one value.  The lexer only needs to know enough JSON to
 * find the end:
 *   - strings, so that brackets and quotes inside them are not counted
 *     (a backslash escapes the next byte, whatever it is);
 *   - the nesting depth of { and [ (any closer closes the innermost
 *     opener; a mismatch such as "[}" is left to jansson to report);
 *   - bare top-level scalars (numbers, true, false, null, or garbage),
 *     which have no closing character: such a token ends at the first
 *     white space or structural character ({ } [ ] "), or at
 *     json_streamer_flush().  So "123" alone stays pending until
 *     something follows it.  QMP clients only send objects anyway.
 *
 * Errors and resynchronisation:
 *   - jansson rejects a complete value: the value's bytes are consumed
 *     already, so the next value simply follows;
 *   - a '}' or ']' between values: reported, and skipped;
 *   - a value over max_bytes or nested deeper than max_depth: reported at
 *     once, and the rest of that value is skipped without being buffered
 *     (the lexer keeps tracking strings and depth to find its end);
 *   - a raw control character inside a string is invalid JSON, and the
 *     usual cause is a missing closing quote, which would otherwise
 *     swallow all the following messages: the value is reported and
 *     dropped there, and lexing restarts after that byte;
 *   - byte 0xFF (never valid in UTF-8) drops any partial value silently
 *     and restarts, as QEMU does: clients send it to resynchronise.
 *
 * The callback runs inside json_streamer_feed()/flush() and must not
 * call them (or json_streamer_free()) on the same streamer.
 *
 * Strings are parsed without JSON_ALLOW_NUL: the rest of vmig handles
 * strings as C strings, so "\u0000" is refused instead of truncating.
 * Duplicate member names are refused too (JSON_REJECT_DUPLICATES): with
 * two "execute" members, which one wins would be an accident.
 */
#include "qapi/json-streamer.h"

#include <stdarg.h>

#include <glib.h>

/* Buffers bigger than this are freed after use instead of kept. */
#define JSON_STREAMER_KEEP_BUFFER 65536

struct JsonStreamer {
    JsonEmitFunc *emit;
    void *opaque;
    size_t max_bytes;
    unsigned max_depth;

    /* Bytes of the current value that came in earlier feeds. */
    GString *buf;

    bool in_value;      /* between the first byte of a value and its end */
    bool in_string;
    bool escaped;       /* after a backslash inside a string */
    bool in_bare;       /* inside a top-level bare scalar */
    bool discarding;    /* value already reported: skip to its end */
    size_t depth;       /* open { and [ of the current value */
    size_t len;         /* bytes in the current value so far */
    /* Where the lexer is inside the current value, for messages; columns
     * count characters, as jansson's do. */
    unsigned line;
    unsigned column;
    bool after_newline;
};

JsonStreamer *json_streamer_new(JsonEmitFunc *emit, void *opaque)
{
    JsonStreamer *s = g_new0(JsonStreamer, 1);

    s->emit = emit;
    s->opaque = opaque;
    s->max_bytes = JSON_STREAMER_MAX_BYTES;
    s->max_depth = JSON_STREAMER_MAX_DEPTH;
    s->buf = g_string_new(NULL);
    return s;
}

void json_streamer_set_limits(JsonStreamer *s, size_t max_bytes,
                              unsigned max_depth)
{
    s->max_bytes = max_bytes;
    s->max_depth = max_depth;
}

void json_streamer_free(JsonStreamer *s)
{
    if (s) {
        g_string_free(s->buf, TRUE);
        g_free(s);
    }
}

/* Back to "between values", dropping whatever was buffered. */
static void json_streamer_reset(JsonStreamer *s)
{
    if (s->buf->allocated_len > JSON_STREAMER_KEEP_BUFFER) {
        g_string_free(s->buf, TRUE);
        s->buf = g_string_new(NULL);
    } else {
        g_string_truncate(s->buf, 0);
    }
    s->in_value = false;
    s->in_string = false;
    s->escaped = false;
    s->in_bare = false;
    s->discarding = false;
    s->depth = 0;
    s->len = 0;
}

static void json_streamer_error(JsonStreamer *s, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

static void json_streamer_error(JsonStreamer *s, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;
    Error *err = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_setg(&err, "%s", msg);
    s->emit(s->opaque, NULL, err);
}

/* Reports the current value as failed and skips the rest of it. */
static void json_streamer_discard(JsonStreamer *s, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

static void json_streamer_discard(JsonStreamer *s, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    json_streamer_error(s, "%s", msg);
    g_string_truncate(s->buf, 0);
    s->discarding = true;
}

/* The current value ends with @data[0..@len) (the rest of it is in
 * s->buf): parse and emit it. */
static void json_streamer_complete(JsonStreamer *s, const char *data,
                                   size_t len)
{
    const char *text = data;
    size_t text_len = len;
    json_error_t jerr;
    json_t *value;

    if (s->discarding) {
        json_streamer_reset(s);
        return;
    }
    if (s->buf->len) {
        g_string_append_len(s->buf, data, len);
        text = s->buf->str;
        text_len = s->buf->len;
    }
    value = json_loadb(text, text_len,
                       JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    /* Between values again before the callback runs: it gets the value,
     * the streamer keeps nothing of it. */
    json_streamer_reset(s);
    if (value) {
        s->emit(s->opaque, value, NULL);
    } else {
        json_streamer_error(s, "JSON parse error at line %d, column %d: %s",
                            jerr.line, jerr.column, jerr.text);
    }
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool ends_bare(unsigned char c)
{
    return is_space(c) || c == '{' || c == '}' || c == '[' || c == ']' ||
           c == '"';
}

void json_streamer_feed(JsonStreamer *s, const char *buf, size_t len)
{
    /* Start in @buf of the current value's bytes not yet in s->buf. */
    size_t start = 0;
    size_t i = 0;

    while (i < len) {
        unsigned char c = buf[i];

        if (c == 0xff) {
            json_streamer_reset(s);
            i++;
            continue;
        }

        if (!s->in_value) {
            if (is_space(c)) {
                i++;
                continue;
            }
            if (c == '}' || c == ']') {
                json_streamer_error(s, "JSON parse error: unbalanced '%c'",
                                    c);
                i++;
                continue;
            }
            s->in_value = true;
            s->line = 1;
            s->column = 0;
            s->after_newline = false;
            start = i;
        }

        if (s->in_bare && ends_bare(c)) {
            /* The delimiter is not part of the token: look at it again
             * as the first byte after the value. */
            json_streamer_complete(s, buf + start, i - start);
            continue;
        }

        if (!s->discarding && ++s->len > s->max_bytes) {
            json_streamer_discard(s, "JSON message exceeds %zu bytes",
                                  s->max_bytes);
        }
        /* The position of @c itself: a newline is the last character of
         * its line. */
        if (s->after_newline) {
            s->line++;
            s->column = 0;
            s->after_newline = false;
        }
        if ((c & 0xc0) != 0x80) {
            s->column++;
        }
        s->after_newline = c == '\n';
        i++;

        if (s->in_string) {
            if (s->escaped) {
                s->escaped = false;
            } else if (c == '\\') {
                s->escaped = true;
            } else if (c == '"') {
                s->in_string = false;
                if (s->depth == 0) {
                    json_streamer_complete(s, buf + start, i - start);
                }
            } else if (c < 0x20) {
                if (!s->discarding) {
                    json_streamer_error(s, "JSON parse error at line %u, "
                                        "column %u: control character 0x%02x "
                                        "in string", s->line, s->column, c);
                }
                json_streamer_reset(s);
            }
            continue;
        }
        if (s->in_bare) {
            continue;
        }

        switch (c) {
        case '{':
        case '[':
            if (++s->depth > s->max_depth && !s->discarding) {
                json_streamer_discard(s, "JSON message nested deeper than "
                                      "%u levels", s->max_depth);
            }
            break;
        case '}':
        case ']':
            if (--s->depth == 0) {
                json_streamer_complete(s, buf + start, i - start);
            }
            break;
        case '"':
            s->in_string = true;
            break;
        default:
            if (s->depth == 0) {
                /* Only the first byte of a value gets here at depth 0. */
                s->in_bare = true;
            }
            break;
        }
    }

    if (s->in_value && !s->discarding) {
        g_string_append_len(s->buf, buf + start, len - start);
    }
}

void json_streamer_flush(JsonStreamer *s)
{
    if (!s->in_value) {
        return;
    }
    if (s->in_bare) {
        /* End of input ends a bare scalar like any delimiter. */
        json_streamer_complete(s, "", 0);
        return;
    }
    if (!s->discarding) {
        json_streamer_error(s, "JSON parse error at line %u, column %u: "
                            "end of input inside an incomplete value",
                            s->line, s->column);
    }
    json_streamer_reset(s);
}
