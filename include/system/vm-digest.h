/*
 * Digests of the machine's state, to tell whether two machines (say the
 * source and the destination of a migration) hold the same guest RAM and
 * device state.  Backs the x-query-vm-digest command.
 *
 * Both are SHA-256, as 64 lower-case hex digits, over an encoding that
 * keeps every field's boundaries (integers little endian):
 *   RAM: for each registered RAM block in guest order,
 *        u32 id length, id, u64 size, then the block's size bytes;
 *   devices: for each registered device (migration/vmstate.h) in
 *        registration order, u32 id length, id, u32 version (the one
 *        save() writes), u64 state length, then the saved state.
 *
 * A digest is of what is there while it is computed: nothing is stopped,
 * so a running guest gives a mix of moments.  Callers that want a stable
 * value stop the machine first (vm_stop() returns with every vCPU
 * parked).  Main thread, as device saving and the RAM list require.
 */
#ifndef VMIG_MIGRATION_VM_DIGEST_H
#define VMIG_MIGRATION_VM_DIGEST_H

#include "qapi/error.h"

/* Newly allocated hex strings. */
char *vm_digest_ram(void);
/* Fails if a device fails to save its state. */
char *vm_digest_devices(Error **errp);

#endif
