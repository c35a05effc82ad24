/*
 * DEVICE_STATE: one device's saved state (system/vmstate.c's bytes,
 * opaque here), or a chunk of it when it does not fit one record.
 */
#include "migration/wire/wire.h"

#include <string.h>

void wire_device_state_clear(WireDeviceState *ds)
{
    g_clear_pointer(&ds->id, g_free);
    ds->data = NULL;
    ds->len = 0;
}

bool wire_device_state_encode(GByteArray *out, const char *id,
                              uint32_t version, uint32_t flags,
                              const void *data, size_t len, Error **errp)
{
    size_t start;

    if (!id[0] || version < 1 || (flags & ~WIRE_DEVICE_STATE_KNOWN_FLAGS)) {
        error_setg(errp, "DEVICE_STATE: '%s': invalid id, version %u or "
                   "flags 0x%08x", id, version, flags);
        return false;
    }
    /* The whole body, checked before copying: the caller splits state
     * that does not fit with WIRE_DEVICE_STATE_MORE. */
    if (len > WIRE_RECORD_MAX - (2 + strlen(id) + 12)) {
        error_setg(errp, "DEVICE_STATE: '%s': %zu bytes exceed the record "
                   "size limit %u", id, len, WIRE_RECORD_MAX);
        return false;
    }
    start = wire_record_begin(out, WIRE_REC_DEVICE_STATE);
    if (!wire_put_str(out, "id", id, WIRE_ID_MAX, errp)) {
        g_byte_array_set_size(out, start);
        error_prepend(errp, "DEVICE_STATE: ");
        return false;
    }
    wire_put_u32(out, version);
    wire_put_u32(out, flags);
    wire_put_blob(out, "data", data, len, WIRE_RECORD_MAX, &error_abort);
    return wire_record_end(out, start, errp);
}

static bool decode(WireReader *r, WireDeviceState *ds, Error **errp)
{
    if (!wire_get_str(r, "id", WIRE_ID_MAX, true, &ds->id, errp) ||
        !wire_get_u32(r, "version", &ds->version, errp) ||
        !wire_get_u32(r, "flags", &ds->flags, errp)) {
        return false;
    }
    if (ds->version < 1) {
        error_setg(errp, "'%s': version 0 is invalid", ds->id);
        return false;
    }
    if (ds->flags & ~WIRE_DEVICE_STATE_KNOWN_FLAGS) {
        error_setg(errp, "'%s': unknown flags 0x%08x", ds->id,
                   ds->flags & ~WIRE_DEVICE_STATE_KNOWN_FLAGS);
        return false;
    }
    return wire_get_blob(r, "data", WIRE_RECORD_MAX, &ds->data, &ds->len,
                         errp) &&
           wire_reader_finish(r, errp);
}

bool wire_device_state_decode(const uint8_t *body, size_t len,
                              WireDeviceState *out, Error **errp)
{
    g_auto(WireDeviceState) ds = { 0 };
    WireReader r;

    wire_reader_init(&r, body, len);
    if (!decode(&r, &ds, errp)) {
        error_prepend(errp, "DEVICE_STATE: ");
        return false;
    }
    *out = ds;
    ds.id = NULL;       /* ownership moved to *out */
    return true;
}
