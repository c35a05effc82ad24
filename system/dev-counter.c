/*
 * The "counter" device.  See include/system/dev-counter.h.
 */
#include "system/dev-counter.h"

#include <inttypes.h>

#include "util/atomic.h"

struct CounterDevice {
    unsigned ncpus;
    guint64 *count;     /* atomics: bumped by the vCPU threads */
    guint64 total;
    VMStateShapeProp shape[2];  /* one count per vCPU */
    DeviceStateOps ops;
};

uint64_t counter_device_add(CounterDevice *dev, unsigned cpu, uint64_t n)
{
    g_assert(cpu < dev->ncpus);
    qatomic_add(&dev->total, n);
    return qatomic_add_fetch(&dev->count[cpu], n);
}

uint64_t counter_device_bump(CounterDevice *dev, unsigned cpu)
{
    return counter_device_add(dev, cpu, 1);
}

uint64_t counter_device_get(CounterDevice *dev, unsigned cpu)
{
    g_assert(cpu < dev->ncpus);
    return qatomic_read(&dev->count[cpu]);
}

uint64_t counter_device_total(CounterDevice *dev)
{
    return qatomic_read(&dev->total);
}

unsigned counter_device_ncpus(CounterDevice *dev)
{
    return dev->ncpus;
}

static bool counter_save(void *opaque, GByteArray *out, Error **errp)
{
    CounterDevice *dev = opaque;

    vmstate_put_u32(out, dev->ncpus);
    for (unsigned i = 0; i < dev->ncpus; i++) {
        vmstate_put_u64(out, counter_device_get(dev, i));
    }
    vmstate_put_u64(out, counter_device_total(dev));
    return true;
}

static bool counter_load(void *opaque, const uint8_t *buf, size_t len,
                         uint32_t version, Error **errp)
{
    CounterDevice *dev = opaque;
    VMStateReader r;
    uint32_t ncpus;
    uint64_t total, sum = 0;

    vmstate_reader_init(&r, dev->ops.id, buf, len);
    if (!vmstate_get_u32(&r, "ncpus", &ncpus, errp)) {
        return false;
    }
    if (ncpus != dev->ncpus) {
        error_setg(errp, "device '%s': state is for %u vCPUs, this machine "
                   "has %u", dev->ops.id, ncpus, dev->ncpus);
        return false;
    }

    g_autofree uint64_t *count = g_new(uint64_t, ncpus);
    for (uint32_t i = 0; i < ncpus; i++) {
        g_autofree char *field = g_strdup_printf("count[%u]", i);
        if (!vmstate_get_u64(&r, field, &count[i], errp)) {
            return false;
        }
        sum += count[i];
    }
    if (!vmstate_get_u64(&r, "total", &total, errp) ||
        !vmstate_reader_finish(&r, errp)) {
        return false;
    }
    if (total != sum) {
        error_setg(errp, "device '%s': inconsistent state: total %" PRIu64
                   " is not the sum of the vCPU counts (%" PRIu64 ")",
                   dev->ops.id, total, sum);
        return false;
    }

    for (uint32_t i = 0; i < ncpus; i++) {
        qatomic_set(&dev->count[i], count[i]);
    }
    qatomic_set(&dev->total, total);
    return true;
}

CounterDevice *counter_device_new(unsigned ncpus)
{
    CounterDevice *dev = g_new0(CounterDevice, 1);

    g_assert(ncpus > 0);
    dev->ncpus = ncpus;
    dev->count = g_new0(guint64, ncpus);
    dev->shape[0] = (VMStateShapeProp){ VMSTATE_SHAPE_VCPUS, ncpus };
    dev->ops = (DeviceStateOps){
        .id = COUNTER_DEVICE_ID,
        .version = 1,
        .min_version = 1,
        .shape = dev->shape,
        /* ncpus, one count per vCPU, total (counter_save()) */
        .max_size = VMSTATE_U32_SIZE + ncpus * VMSTATE_U64_SIZE +
                    VMSTATE_U64_SIZE,
        .save = counter_save,
        .load = counter_load,
        .opaque = dev,
    };
    return dev;
}

void counter_device_free(CounterDevice *dev)
{
    if (dev) {
        g_free(dev->count);
        g_free(dev);
    }
}

const DeviceStateOps *counter_device_state(CounterDevice *dev)
{
    return &dev->ops;
}
