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
