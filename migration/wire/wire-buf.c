/*
 * Field encoding of the v2 stream: big-endian integers, length-prefixed
 * strings and blobs, and the bounds-checked reader every decoder uses.
 * See include/migration/wire.h.
 */
#include "migration/wire/wire.h"

#include <string.h>

/* ---- Encoding ---- */

void wire_put_u8(GByteArray *out, uint8_t v)
{
    g_byte_array_append(out, &v, 1);
}

void wire_put_u16(GByteArray *out, uint16_t v)
{
    uint8_t b[2] = { v >> 8, v };

    g_byte_array_append(out, b, sizeof(b));
}

void wire_put_u32(GByteArray *out, uint32_t v)
{
    uint8_t b[4];

    for (int i = 0; i < 4; i++) {
        b[i] = v >> (24 - 8 * i);
    }
    g_byte_array_append(out, b, sizeof(b));
}

void wire_put_u64(GByteArray *out, uint64_t v)
{
    uint8_t b[8];

    for (int i = 0; i < 8; i++) {
        b[i] = v >> (56 - 8 * i);
    }
    g_byte_array_append(out, b, sizeof(b));
}

void wire_put_bytes(GByteArray *out, const void *data, size_t len)
{
    /* g_byte_array_append() takes a guint length. */
    g_assert(len <= G_MAXUINT);
    if (len) {
        g_byte_array_append(out, data, len);
    }
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
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

uint64_t wire_load_u64(const uint8_t *p)
{
    return (uint64_t)wire_load_u32(p) << 32 | wire_load_u32(p + 4);
}

/* ---- Decoding ---- */

void wire_reader_init(WireReader *r, const uint8_t *buf, size_t len)
{
    r->buf = buf;
    r->len = len;
    r->pos = 0;
}

/*
 * Every read goes through here: the one place bounds are checked.
 * @suffix completes the field's name ("id" " length") without
 * formatting it on the success path.
 */
static const uint8_t *take(WireReader *r, const char *field,
                           const char *suffix, size_t n, Error **errp)
{
    const uint8_t *p;

    if (n > wire_reader_left(r)) {
        error_setg(errp, "truncated: need %zu bytes for %s%s, %zu left",
                   n, field, suffix, wire_reader_left(r));
        return NULL;
    }
    p = r->buf + r->pos;
    r->pos += n;
    return p;
}

bool wire_get_u8(WireReader *r, const char *field, uint8_t *v, Error **errp)
{
    const uint8_t *p = take(r, field, "", 1, errp);

    if (p) {
        *v = p[0];
    }
    return p;
}

bool wire_get_u16(WireReader *r, const char *field, uint16_t *v,
                  Error **errp)
{
    const uint8_t *p = take(r, field, "", 2, errp);

    if (p) {
        *v = (uint16_t)(p[0] << 8 | p[1]);
    }
    return p;
}

bool wire_get_u32(WireReader *r, const char *field, uint32_t *v,
                  Error **errp)
{
    const uint8_t *p = take(r, field, "", 4, errp);

    if (p) {
        *v = wire_load_u32(p);
    }
    return p;
}

bool wire_get_u64(WireReader *r, const char *field, uint64_t *v,
                  Error **errp)
{
    const uint8_t *p = take(r, field, "", 8, errp);

    if (p) {
        *v = wire_load_u64(p);
    }
    return p;
}

bool wire_get_bytes(WireReader *r, const char *field, size_t n,
                    const uint8_t **p, Error **errp)
{
    *p = take(r, field, "", n, errp);
    return *p;
}

bool wire_get_str(WireReader *r, const char *field, size_t max,
                  bool nonempty, char **s, Error **errp)
{
    const uint8_t *p = take(r, field, " length", 2, errp);
    uint16_t len;

    if (!p) {
        return false;
    }
    len = (uint16_t)(p[0] << 8 | p[1]);
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
    const uint8_t *p4 = take(r, field, " length", 4, errp);

    if (!p4) {
        return false;
    }
    *len = wire_load_u32(p4);
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
