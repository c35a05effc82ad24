/*
 * Field encoding of the v2 stream: big-endian integers, length-prefixed
 * strings and blobs, and the field-naming getters every decoder uses, all
 * over util's byte cursor.  See wire.h.
 */
#include "migration/wire/wire.h"

#include <string.h>

/* ---- Encoding ---- */

void wire_put_u8(GByteArray *out, uint8_t v)
{
    byte_put_u8(out, v);
}

void wire_put_u16(GByteArray *out, uint16_t v)
{
    byte_put_be16(out, v);
}

void wire_put_u32(GByteArray *out, uint32_t v)
{
    byte_put_be32(out, v);
}

void wire_put_u64(GByteArray *out, uint64_t v)
{
    byte_put_be64(out, v);
}

void wire_put_bytes(GByteArray *out, const void *data, size_t len)
{
    byte_put_bytes(out, data, len);
}

bool wire_put_str(GByteArray *out, const char *field, const char *s,
                  size_t max, Error **errp)
{
    size_t len = strlen(s);

    g_assert(max <= G_MAXUINT16);
    if (len > max) {
        error_setg(errp, "%s length %zu exceeds %zu", field, len, max);
        return false;
    }
    if (!g_utf8_validate(s, len, NULL)) {
        error_setg(errp, "%s is not valid UTF-8", field);
        return false;
    }
    wire_put_u16(out, len);
    wire_put_bytes(out, s, len);
    return true;
}

bool wire_put_blob(GByteArray *out, const char *field, const void *data,
                   size_t len, size_t max, Error **errp)
{
    g_assert(max <= G_MAXUINT32);
    if (len > max) {
        error_setg(errp, "%s length %zu exceeds %zu", field, len, max);
        return false;
    }
    wire_put_u32(out, len);
    wire_put_bytes(out, data, len);
    return true;
}

uint32_t wire_load_u32(const uint8_t *p)
{
    return byte_load_be32(p);
}

uint64_t wire_load_u64(const uint8_t *p)
{
    return byte_load_be64(p);
}

/* ---- Decoding ---- */

/*
 * The error of every getter that found too few bytes (the cursor
 * consumed nothing).  @suffix completes the field's name ("id" " length")
 * without formatting it on the success path.
 */
static bool truncated(WireReader *r, const char *field, const char *suffix,
                      size_t n, Error **errp)
{
    error_setg(errp, "truncated: need %zu bytes for %s%s, %zu left",
               n, field, suffix, wire_reader_left(r));
    return false;
}

bool wire_get_u8(WireReader *r, const char *field, uint8_t *v, Error **errp)
{
    return byte_cursor_get_u8(r, v) ||
           truncated(r, field, "", sizeof(*v), errp);
}

bool wire_get_u16(WireReader *r, const char *field, uint16_t *v,
                  Error **errp)
{
    return byte_cursor_get_be16(r, v) ||
           truncated(r, field, "", sizeof(*v), errp);
}

bool wire_get_u32(WireReader *r, const char *field, uint32_t *v,
                  Error **errp)
{
    return byte_cursor_get_be32(r, v) ||
           truncated(r, field, "", sizeof(*v), errp);
}

bool wire_get_u64(WireReader *r, const char *field, uint64_t *v,
                  Error **errp)
{
    return byte_cursor_get_be64(r, v) ||
           truncated(r, field, "", sizeof(*v), errp);
}

bool wire_get_bytes(WireReader *r, const char *field, size_t n,
                    const uint8_t **p, Error **errp)
{
    if (!byte_cursor_get_bytes(r, n, p)) {
        *p = NULL;
        return truncated(r, field, "", n, errp);
    }
    return true;
}

bool wire_get_str(WireReader *r, const char *field, size_t max,
                  bool nonempty, char **s, Error **errp)
{
    const uint8_t *p;
    uint16_t len;

    if (!byte_cursor_get_be16(r, &len)) {
        return truncated(r, field, " length", sizeof(len), errp);
    }
    /* The limit before the bytes: a lying length is named as such. */
    if (len > max) {
        error_setg(errp, "%s length %u exceeds %zu", field, len, max);
        return false;
    }
    if (nonempty && len == 0) {
        error_setg(errp, "%s is empty", field);
        return false;
    }
    if (!wire_get_bytes(r, field, len, &p, errp)) {
        return false;
    }
    if (memchr(p, 0, len) || !g_utf8_validate((const char *)p, len, NULL)) {
        error_setg(errp, "%s is not valid UTF-8 without NUL bytes", field);
        return false;
    }
    *s = g_strndup((const char *)p, len);
    return true;
}

bool wire_get_blob(WireReader *r, const char *field, size_t max,
                   const uint8_t **p, uint32_t *len, Error **errp)
{
    if (!byte_cursor_get_be32(r, len)) {
        return truncated(r, field, " length", sizeof(*len), errp);
    }
    if (*len > max) {
        error_setg(errp, "%s length %u exceeds %zu", field, *len, max);
        return false;
    }
    return wire_get_bytes(r, field, *len, p, errp);
}

bool wire_reader_finish(WireReader *r, Error **errp)
{
    if (wire_reader_left(r)) {
        error_setg(errp, "%zu unexpected bytes after the last field",
                   wire_reader_left(r));
        return false;
    }
    return true;
}

bool wire_check_count(WireReader *r, const char *what, uint32_t n,
                      uint32_t max, size_t min_size, Error **errp)
{
    if (n > max) {
        error_setg(errp, "%s count %u exceeds %u", what, n, max);
        return false;
    }
    if ((uint64_t)n * min_size > wire_reader_left(r)) {
        error_setg(errp, "%s count %u does not fit in the %zu bytes left",
                   what, n, wire_reader_left(r));
        return false;
    }
    return true;
}

bool wire_extensions_decode_with(WireReader *r, WireExtensionFunc *fn,
                                 void *opaque, bool *unsupported,
                                 Error **errp)
{
    for (unsigned i = 0; wire_reader_left(r); i++) {
        g_autofree char *what = g_strdup_printf("extension %u", i);
        g_autofree char *tfield = g_strdup_printf("%s type", what);
        g_autofree char *dfield = g_strdup_printf("%s data", what);
        uint32_t type, len;
        const uint8_t *data;
        bool handled = false;

        /* The body's own end is the only limit on an extension. */
        if (!wire_get_u32(r, tfield, &type, errp) ||
            !wire_get_blob(r, dfield, G_MAXUINT32, &data, &len, errp)) {
            return false;
        }
        if (fn) {
            WireReader d;

            wire_reader_init(&d, data, len);
            if (!fn(opaque, type, &d, &handled, errp) ||
                (handled && !wire_reader_finish(&d, errp))) {
                error_prepend(errp, "%s (0x%08x): ", what, type);
                return false;
            }
        }
        if (!handled && !wire_record_type_is_optional(type)) {
            error_setg(errp, "unknown mandatory extension 0x%08x", type);
            if (unsupported) {
                *unsupported = true;
            }
            return false;
        }
    }
    return true;
}

bool wire_extensions_decode(WireReader *r, bool *unsupported, Error **errp)
{
    return wire_extensions_decode_with(r, NULL, NULL, unsupported, errp);
}

void wire_put_extension(GByteArray *out, uint32_t type,
                        const GByteArray *data)
{
    wire_put_u32(out, type);
    wire_put_u32(out, data->len);
    wire_put_bytes(out, data->data, data->len);
}
