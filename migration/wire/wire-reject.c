/*
 * REJECT (the destination refuses a HELLO) and ERROR (either end aborts
 * a running migration): one body layout for both.
 */
#include "migration/wire/wire.h"

#include <stdarg.h>
#include <string.h>

/* Cuts @s to at most @max bytes without splitting a UTF-8 sequence:
 * an over-long message must not make the refusal itself fail. */
static char *utf8_truncate(char *s, size_t max)
{
    if (strlen(s) > max) {
        const char *end = s + max;

        /* Back up to the start of the character that would be split. */
        while (end > s && ((unsigned char)*end & 0xc0) == 0x80) {
            end--;
        }
        s[end - s] = '\0';
    }
    return s;
}

WireReject *wire_reject_new(const char *error_class, const char *option,
                            const char *fmt, ...)
{
    WireReject *rej = g_new0(WireReject, 1);
    va_list ap;

    rej->min_version = WIRE_VERSION_MIN;
    rej->max_version = WIRE_VERSION_MAX;
    rej->error_class = g_strdup(error_class);
    rej->option = utf8_truncate(g_strdup(option ? option : ""),
                                WIRE_OPTION_MAX);
    va_start(ap, fmt);
    rej->message = utf8_truncate(g_strdup_vprintf(fmt, ap),
                                 WIRE_MESSAGE_MAX);
    va_end(ap);
    return rej;
}

void wire_reject_free(WireReject *rej)
{
    if (rej) {
        g_free(rej->error_class);
        g_free(rej->option);
        g_free(rej->message);
        g_free(rej);
    }
}

bool wire_reject_encode(const WireReject *rej, uint32_t type,
                        GByteArray *out, Error **errp)
{
    const char *name = wire_record_type_name(type);
    size_t start;

    g_assert(type == WIRE_REC_REJECT || type == WIRE_REC_ERROR);
    start = wire_record_begin(out, type);
    wire_put_u32(out, rej->min_version);
    wire_put_u32(out, rej->max_version);
    if (!rej->error_class[0]) {
        error_setg(errp, "%s: error class is empty", name);
        goto fail;
    }
    if (!wire_put_str(out, "error class", rej->error_class, WIRE_CLASS_MAX,
                      errp) ||
        !wire_put_str(out, "option", rej->option, WIRE_OPTION_MAX, errp) ||
        !wire_put_str(out, "message", rej->message, WIRE_MESSAGE_MAX,
                      errp)) {
        error_prepend(errp, "%s: ", name);
        goto fail;
    }
    return wire_record_end(out, start, errp);

fail:
    g_byte_array_set_size(out, start);
    return false;
}

bool wire_reject_decode(uint32_t type, const uint8_t *body, size_t len,
                        WireReject **out, Error **errp)
{
    g_autoptr(WireReject) rej = g_new0(WireReject, 1);
    WireReader r;

    g_assert(type == WIRE_REC_REJECT || type == WIRE_REC_ERROR);
    wire_reader_init(&r, body, len);
    if (!wire_get_u32(&r, "min version", &rej->min_version, errp) ||
        !wire_get_u32(&r, "max version", &rej->max_version, errp) ||
        !wire_get_str(&r, "error class", WIRE_CLASS_MAX, true,
                      &rej->error_class, errp) ||
        !wire_get_str(&r, "option", WIRE_OPTION_MAX, false, &rej->option,
                      errp) ||
        !wire_get_str(&r, "message", WIRE_MESSAGE_MAX, false,
                      &rej->message, errp) ||
        !wire_extensions_decode(&r, NULL, errp)) {
        error_prepend(errp, "%s: ", wire_record_type_name(type));
        return false;
    }
    *out = g_steal_pointer(&rej);
    return true;
}
