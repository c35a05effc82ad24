/*
 * The source's side of device state.  See
 * include/migration/device-transfer.h.
 */
#include "migration/devices/devices.h"

#include "system/vmstate.h"
#include "util/main-thread.h"

static bool save_one(const DeviceStateOps *ops, void *opaque, Error **errp)
{
    GByteArray *out = opaque;
    g_autoptr(GByteArray) state = g_byte_array_new();
    size_t done = 0;

    if (!device_state_save(ops, state, errp)) {
        return false;
    }
    /* An empty state is still one record: the destination counts them. */
    do {
        size_t n = MIN(state->len - done, DEVICE_STATE_CHUNK);
        bool more = done + n < state->len;

        if (!wire_device_state_encode(out, ops->id, ops->version,
                                      more ? WIRE_DEVICE_STATE_MORE : 0,
                                      state->data + done, n, errp)) {
            return false;
        }
        done += n;
    } while (done < state->len);
    return true;
}

bool device_save_all(GByteArray *out, Error **errp)
{
    assert_main_thread();
    return device_state_foreach(save_one, out, errp);
}

static bool add_bound(const DeviceStateOps *ops, void *opaque, Error **errp)
{
    uint64_t *bytes = opaque;
    g_autoptr(GByteArray) empty = g_byte_array_new();
    static const uint8_t none;
    uint64_t records = MAX((ops->max_size + DEVICE_STATE_CHUNK - 1) /
                           DEVICE_STATE_CHUNK, 1);

    /* A record's own bytes, measured on an empty one; its state may
     * add padding up to the next WIRE_ALIGN. */
    if (!wire_device_state_encode(empty, ops->id, ops->version, 0, &none, 0,
                                  errp)) {
        return false;
    }
    *bytes += records * (empty->len + WIRE_ALIGN - 1) + ops->max_size;
    return true;
}

uint64_t device_save_max_bytes(void)
{
    uint64_t bytes = 0;

    assert_main_thread();
    /* Registered ids encode: a failure would be a bug. */
    device_state_foreach(add_bound, &bytes, &error_abort);
    return bytes;
}
