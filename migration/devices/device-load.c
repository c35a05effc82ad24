/*
 * The destination's side of device state: collect, check, then load.
 * See include/migration/device-transfer.h.
 */
#include "migration/devices/devices.h"

#include <inttypes.h>
#include <string.h>

#include "system/vmstate.h"
#include "util/main-thread.h"

typedef struct DeviceLoad {
    char *id;
    uint32_t version;           /* as HELLO announced it */
    size_t max_size;            /* as the device here declares it */
    GByteArray *state;
    bool complete;              /* the piece without MORE has arrived */
} DeviceLoad;

struct DeviceLoadSet {
    GPtrArray *devices;         /* DeviceLoad *, in HELLO's order */
    guint next;                 /* the device whose state comes now */
    bool started;
    /* The sum of the devices' max_size, which bounds the state held. */
    size_t limit;
    size_t held;
};

static void device_load_free(gpointer p)
{
    DeviceLoad *d = p;

    g_free(d->id);
    g_byte_array_unref(d->state);
    g_free(d);
}

DeviceLoadSet *device_load_set_new(const WireHello *hello)
{
    DeviceLoadSet *set = g_new0(DeviceLoadSet, 1);

    assert_main_thread();
    set->devices = g_ptr_array_new_with_free_func(device_load_free);
    for (guint i = 0; i < hello->devices->len; i++) {
        const WireDevice *wd = g_ptr_array_index(hello->devices, i);
        const DeviceStateOps *ops = device_state_find(wd->id);
        DeviceLoad *d = g_new0(DeviceLoad, 1);

        d->id = g_strdup(wd->id);
        d->version = wd->version;
        /* The handshake refused devices unknown here: one gone since
         * gets no room, and apply() names it. */
        d->max_size = ops ? ops->max_size : 0;
        set->limit += d->max_size;
        d->state = g_byte_array_new();
        g_ptr_array_add(set->devices, d);
    }
    return set;
}

void device_load_set_free(DeviceLoadSet *set)
{
    if (set) {
        g_ptr_array_unref(set->devices);
        g_free(set);
    }
}

bool device_load_set_started(const DeviceLoadSet *set)
{
    return set->started;
}

bool device_load_set_add(DeviceLoadSet *set, const uint8_t *body,
                         size_t len, Error **errp)
{
    g_auto(WireDeviceState) ds = { 0 };
    DeviceLoad *d;

    if (!wire_device_state_decode(body, len, &ds, errp)) {
        return false;
    }
    set->started = true;
    if (set->next >= set->devices->len) {
        error_setg(errp, "DEVICE_STATE: '%s': every device listed in HELLO "
                   "has its state already", ds.id);
        return false;
    }
    d = g_ptr_array_index(set->devices, set->next);
    if (strcmp(ds.id, d->id)) {
        error_setg(errp, "DEVICE_STATE: got the state of '%s', expected "
                   "that of '%s' (HELLO's order)", ds.id, d->id);
        return false;
    }
    if (ds.version != d->version) {
        error_setg(errp, "DEVICE_STATE: '%s': state version %u, but HELLO "
                   "announced version %u", ds.id, ds.version, d->version);
        return false;
    }
    /* Checked before the piece is kept: the peer spends none of it. */
    if (ds.len > d->max_size - d->state->len) {
        error_setg(errp, "DEVICE_STATE: '%s': the state would be %" PRIu64
                   " bytes, more than the %zu bytes this device declares "
                   "as its maximum", ds.id,
                   (uint64_t)d->state->len + ds.len, d->max_size);
        return false;
    }
    g_byte_array_append(d->state, ds.data, ds.len);
    set->held += ds.len;
    g_assert(set->held <= set->limit);
    if (!(ds.flags & WIRE_DEVICE_STATE_MORE)) {
        d->complete = true;
        set->next++;
    }
    return true;
}

bool device_load_set_complete(const DeviceLoadSet *set, Error **errp)
{
    if (set->next < set->devices->len) {
        const DeviceLoad *d = g_ptr_array_index(set->devices, set->next);

        error_setg(errp, "END: the state of device '%s' %s", d->id,
                   d->state->len ? "is incomplete (MORE was set)"
                                 : "never arrived");
        return false;
    }
    return true;
}

bool device_load_set_apply(DeviceLoadSet *set, Error **errp)
{
    assert_main_thread();
    for (guint i = 0; i < set->devices->len; i++) {
        DeviceLoad *d = g_ptr_array_index(set->devices, i);
        const DeviceStateOps *ops = device_state_find(d->id);

        g_assert(d->complete);
        /* The handshake checked the set; a device gone since is a bug. */
        if (!ops) {
            error_setg(errp, "device '%s' is not registered here", d->id);
            return false;
        }
        if (!device_state_load(ops, d->state->data, d->state->len,
                               d->version, errp)) {
            return false;
        }
    }
    return true;
}
