/*
 * The "log" device: a ring of the LOG_DEVICE_CAPACITY newest text records.
 * The workload threads append one every WORKLOAD_LOG_INTERVAL writes of a
 * vCPU; x-log-append adds others.  Every record gets the next sequence
 * number.
 *
 * State, little endian, records oldest first:
 *   version 1: u32 count; count * { str text }
 *   version 2: u64 next_seq; u32 count; count * { u64 seq; str text }
 * (str: u32 length + UTF-8 bytes.)  Version 2 added the sequence numbers;
 * version 1 state loads with the records numbered 0..count-1.
 */
#ifndef VMIG_SYSTEM_DEV_LOG_H
#define VMIG_SYSTEM_DEV_LOG_H

#include <stdbool.h>

#include "system/vmstate.h"
#include "qapi/qapi-types.h"

#define LOG_DEVICE_ID "log"
#define LOG_DEVICE_CAPACITY 64
#define LOG_DEVICE_MAX_TEXT 256

typedef struct LogDevice LogDevice;

LogDevice *log_device_new(void);
void log_device_free(LogDevice *dev);

/* Appends @text (1 to LOG_DEVICE_MAX_TEXT bytes of UTF-8), dropping the
 * oldest record if full.  Any thread. */
bool log_device_append(LogDevice *dev, const char *text, Error **errp);
/* The records, oldest first. */
LogRecordList *log_device_query(LogDevice *dev);

/* For device_state_register(). */
const DeviceStateOps *log_device_state(LogDevice *dev);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(LogDevice, log_device_free)

#endif
