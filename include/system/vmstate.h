/*
 * Device state for migration: how a device describes, saves and loads
 * its state.
 *
 * Every device with state registers one DeviceStateOps under a unique id.
 * The migration code walks the registry in registration order, asks each
 * device to save() its state into a byte buffer and sends that buffer
 * together with the id and ops->version; the destination finds the device
 * by id and calls device_state_load(), which checks the version before the
 * device's load() sees the bytes.
 *
 * State format rules (so both ends agree without sharing memory layouts):
 *   - every field is encoded explicitly with the vmstate_put_*() helpers
 *     below: integers little endian, fixed width; strings and blobs as a
 *     u32 length followed by the bytes.  Never write a C struct as is.
 *   - load() reads with a VMStateReader, which reports a short buffer as
 *     "device 'ID': truncated state: need N bytes for 'FIELD', have M",
 *     and finishes with vmstate_reader_finish(), which rejects leftover
 *     bytes.  load() validates every value (counts, lengths, invariants)
 *     and changes the device only once everything has been read and
 *     checked, so a failed load leaves the device as it was.
 *   - a new field means a new version: bump ops->version, keep loading
 *     every version from ops->min_version on (load() gets the version the
 *     data was saved with).
 *   - every value of this machine that load() checks the state against
 *     (a count of vCPUs, queues, registers; a capacity) is declared in
 *     ops->shape, so that the handshake refuses a machine of another
 *     shape before any state moves; load() still checks it.
 *   - ops->max_size bounds the state of every version loaded, computed
 *     from the fields with the VMSTATE_*_SIZE() macros below: the
 *     destination buffers no more than that for the device, so a peer
 *     cannot make it hold more state than the devices can have, and
 *     device_state_save() refuses a save() that outgrows it.
 *
 * Registration and the registry are for the main thread (machine set-up
 * and tear-down, migration).  save() and load() are called with the vCPUs
 * stopped, but devices should still lock against their own users.
 */
#ifndef VMIG_MIGRATION_VMSTATE_H
#define VMIG_MIGRATION_VMSTATE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qapi/error.h"
#include "util/byte-cursor.h"

/*
 * One property of the machine that state depends on, e.g. "vCPU count"
 * = 2.  A shape is an array of them ended by { NULL }: names unique,
 * 1..VMSTATE_SHAPE_NAME_MAX bytes, at most VMSTATE_SHAPE_MAX of them.
 * Both ends of a migration must have equal shapes; the name is what a
 * refusal quotes.
 */
typedef struct VMStateShapeProp {
    const char *name;
    uint64_t value;
} VMStateShapeProp;

#define VMSTATE_SHAPE_MAX 16
#define VMSTATE_SHAPE_NAME_MAX 64

/* The machine's vCPU count: in its shape, and in that of every device
 * that keeps state per vCPU. */
#define VMSTATE_SHAPE_VCPUS "vCPU count"

/* The shape of a device whose state depends on nothing of the machine. */
extern const VMStateShapeProp vmstate_shape_none[];

typedef struct DeviceStateOps {
    /* Unique name, also the name on the migration stream. */
    const char *id;
    /* Version save() writes; load() accepts min_version..version. */
    uint32_t version;
    uint32_t min_version;
    /* What the state's layout depends on (see the format rules above).
     * Required, so that no device forgets it: vmstate_shape_none if
     * nothing. */
    const VMStateShapeProp *shape;
    /* The largest state, in bytes, of any version min_version..version. */
    size_t max_size;
    /* Appends the state to @out. */
    bool (*save)(void *opaque, GByteArray *out, Error **errp);
    /* Replaces the state with @buf (@len bytes, saved as @version). */
    bool (*load)(void *opaque, const uint8_t *buf, size_t len,
                 uint32_t version, Error **errp);
    void *opaque;
} DeviceStateOps;

/*
 * Adds @ops (borrowed: it must stay valid until unregistered) to the
 * registry.  Fails if the id is taken, the versions make no sense
 * (min_version must be 1..version) or the shape breaks its rules.
 */
bool device_state_register(const DeviceStateOps *ops, Error **errp);
void device_state_unregister(const DeviceStateOps *ops);
const DeviceStateOps *device_state_find(const char *id);

/*
 * The machine's own shape: what state depends on beyond any one device
 * (the vCPU count).  @shape is borrowed until replaced; NULL clears it.
 * vmstate_machine_shape() is vmstate_shape_none until one is set.
 */
bool vmstate_set_machine_shape(const VMStateShapeProp *shape, Error **errp);
const VMStateShapeProp *vmstate_machine_shape(void);

/* Calls @fn for every device in registration order; stops at the first
 * call that returns false (which must set errp) and returns false. */
typedef bool DeviceStateIterFunc(const DeviceStateOps *ops, void *opaque,
                                 Error **errp);
bool device_state_foreach(DeviceStateIterFunc *fn, void *opaque,
                          Error **errp);

/* ops->save(), errors prefixed with the device; fails if the state is
 * larger than ops->max_size (the device's declaration is wrong). */
bool device_state_save(const DeviceStateOps *ops, GByteArray *out,
                       Error **errp);
/* Checks @version against ops->min_version..ops->version, then calls
 * ops->load(). */
bool device_state_load(const DeviceStateOps *ops, const uint8_t *buf,
                       size_t len, uint32_t version, Error **errp);

/* Encoded sizes of the fields below, for DeviceStateOps.max_size. */
#define VMSTATE_U8_SIZE  sizeof(uint8_t)
#define VMSTATE_U16_SIZE sizeof(uint16_t)
#define VMSTATE_U32_SIZE sizeof(uint32_t)
#define VMSTATE_U64_SIZE sizeof(uint64_t)
/* A blob or string of at most @max_len bytes: its u32 length, then it. */
#define VMSTATE_BLOB_SIZE(max_len) (VMSTATE_U32_SIZE + (size_t)(max_len))

/* Encoding: append little-endian fields to @out. */
void vmstate_put_u8(GByteArray *out, uint8_t v);
void vmstate_put_u16(GByteArray *out, uint16_t v);
void vmstate_put_u32(GByteArray *out, uint32_t v);
void vmstate_put_u64(GByteArray *out, uint64_t v);
/* u32 length, then the bytes. */
void vmstate_put_blob(GByteArray *out, const void *data, uint32_t len);
void vmstate_put_str(GByteArray *out, const char *s);

/* Decoding: a cursor over one device's state. */
typedef struct VMStateReader {
    const char *dev;    /* device id, for messages */
    ByteCursor cur;
} VMStateReader;

void vmstate_reader_init(VMStateReader *r, const char *dev,
                         const uint8_t *buf, size_t len);
/* Each getter names @field in its error message. */
bool vmstate_get_u8(VMStateReader *r, const char *field, uint8_t *v,
                    Error **errp);
bool vmstate_get_u16(VMStateReader *r, const char *field, uint16_t *v,
                     Error **errp);
bool vmstate_get_u32(VMStateReader *r, const char *field, uint32_t *v,
                     Error **errp);
bool vmstate_get_u64(VMStateReader *r, const char *field, uint64_t *v,
                     Error **errp);
/* A blob of at most @max_len bytes; *data points into the buffer. */
bool vmstate_get_blob(VMStateReader *r, const char *field, uint32_t max_len,
                      const uint8_t **data, uint32_t *len, Error **errp);
/* A string of at most @max_len bytes, valid UTF-8 without NUL bytes;
 * *s is newly allocated. */
bool vmstate_get_str(VMStateReader *r, const char *field, uint32_t max_len,
                     char **s, Error **errp);
/* Fails if bytes are left over (the state is longer than this version's
 * format). */
bool vmstate_reader_finish(VMStateReader *r, Error **errp);

#endif
