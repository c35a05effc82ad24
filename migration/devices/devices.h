/*
 * Device state on the migration stream (DEVICE_STATE records, protocol
 * section 6.6).
 *
 * The source saves every registered device, in registration order, while
 * the vCPUs are stopped; state larger than one record is split into
 * pieces flagged MORE.  The destination checks each record against
 * HELLO's device list (each device once, in that order, saved as the
 * version HELLO announced), joins the pieces, and loads all devices with
 * device_state_load() only once END has arrived, so a stream that breaks
 * off never leaves some devices loaded and others fresh.
 *
 * Saving, creating the load set and applying need the main thread (the
 * device registry); collecting does not.
 */
#ifndef VMIG_MIGRATION_DEVICE_TRANSFER_H
#define VMIG_MIGRATION_DEVICE_TRANSFER_H

#include <glib.h>
#include <stdbool.h>

#include "migration/wire/wire.h"
#include "qapi/error.h"

/* The most state one record carries; more goes into MORE pieces. */
#define DEVICE_STATE_CHUNK (8u << 20)

/* Appends the DEVICE_STATE records of every device to @out. */
bool device_save_all(GByteArray *out, Error **errp);
/* The most bytes device_save_all() can append: the devices' declared
 * max_size and their records' headers and padding.  Main thread. */
uint64_t device_save_max_bytes(void);

typedef struct DeviceLoadSet DeviceLoadSet;

/* Expects the devices of @hello, in its order, and holds no more state
 * for each than its registration here declares (max_size): the sum of
 * those bounds what a peer can make the destination buffer.  Main
 * thread (the device registry). */
DeviceLoadSet *device_load_set_new(const WireHello *hello);
void device_load_set_free(DeviceLoadSet *set);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DeviceLoadSet, device_load_set_free)

/* Checks and keeps the DEVICE_STATE record @body. */
bool device_load_set_add(DeviceLoadSet *set, const uint8_t *body,
                         size_t len, Error **errp);
/* Whether a DEVICE_STATE record has arrived (RAM may not follow one). */
bool device_load_set_started(const DeviceLoadSet *set);
/* END arrived: fails unless every device's state is complete. */
bool device_load_set_complete(const DeviceLoadSet *set, Error **errp);
/* Loads every device's state, in stream order.  Main thread. */
bool device_load_set_apply(DeviceLoadSet *set, Error **errp);

#endif
