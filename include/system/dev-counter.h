/*
 * The "counter" device: one 64-bit write counter per vCPU plus their
 * total, bumped by the workload threads.
 *
 * State (version 1, little endian):
 *     u32 ncpus; u64 count[ncpus]; u64 total
 * Loading checks that ncpus matches this machine and that total is the
 * sum of the counts.  The saved state is consistent when the vCPUs are
 * stopped, which is when migration saves it.
 */
#ifndef VMIG_SYSTEM_DEV_COUNTER_H
#define VMIG_SYSTEM_DEV_COUNTER_H

#include <stdint.h>

#include "system/vmstate.h"

#define COUNTER_DEVICE_ID "counter"

typedef struct CounterDevice CounterDevice;

CounterDevice *counter_device_new(unsigned ncpus);
void counter_device_free(CounterDevice *dev);

/* Counts one write of vCPU @cpu; returns the vCPU's new count.  Any
 * thread. */
uint64_t counter_device_bump(CounterDevice *dev, unsigned cpu);
/* Counts @n writes at once (a vCPU's batch: two atomic operations per
 * batch, not per page, which cost as much as a page's stores). */
uint64_t counter_device_add(CounterDevice *dev, unsigned cpu, uint64_t n);
uint64_t counter_device_get(CounterDevice *dev, unsigned cpu);
uint64_t counter_device_total(CounterDevice *dev);
unsigned counter_device_ncpus(CounterDevice *dev);

/* For device_state_register(). */
const DeviceStateOps *counter_device_state(CounterDevice *dev);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(CounterDevice, counter_device_free)

#endif
