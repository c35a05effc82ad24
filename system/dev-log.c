/*
 * The "log" device.  See include/system/dev-log.h.
 */
#include "system/dev-log.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct LogEntry {
    uint64_t seq;
    char *text;
} LogEntry;

struct LogDevice {
    GMutex lock;        /* the vCPU threads append concurrently */
    LogEntry ring[LOG_DEVICE_CAPACITY];
    unsigned head;      /* index of the oldest record */
    unsigned count;
    uint64_t next_seq;
    DeviceStateOps ops;
};

static bool text_valid(const char *text, size_t len, Error **errp)
{
    if (len == 0 || len > LOG_DEVICE_MAX_TEXT) {
        error_setg(errp, "log record text must be 1 to %u bytes long, not "
                   "%zu", LOG_DEVICE_MAX_TEXT, len);
        return false;
    }
    if (!g_utf8_validate(text, len, NULL)) {
        error_setg(errp, "log record text is not valid UTF-8");
        return false;
    }
    return true;
}

static LogEntry *entry(LogDevice *dev, unsigned i)
{
    return &dev->ring[(dev->head + i) % LOG_DEVICE_CAPACITY];
}

/* Caller holds the lock; takes ownership of @text. */
static void push_locked(LogDevice *dev, uint64_t seq, char *text)
{
    LogEntry *e;

    if (dev->count == LOG_DEVICE_CAPACITY) {
        g_free(entry(dev, 0)->text);
        dev->head = (dev->head + 1) % LOG_DEVICE_CAPACITY;
        dev->count--;
    }
    e = entry(dev, dev->count++);
    e->seq = seq;
    e->text = text;
}

static void clear_locked(LogDevice *dev)
{
    for (unsigned i = 0; i < dev->count; i++) {
        g_clear_pointer(&entry(dev, i)->text, g_free);
    }
    dev->head = dev->count = 0;
}

bool log_device_append(LogDevice *dev, const char *text, Error **errp)
{
    if (!text_valid(text, strlen(text), errp)) {
        return false;
    }
    g_mutex_lock(&dev->lock);
    push_locked(dev, dev->next_seq++, g_strdup(text));
    g_mutex_unlock(&dev->lock);
    return true;
}

LogRecordList *log_device_query(LogDevice *dev)
{
    LogRecordList *head = NULL, **tail = &head;

    g_mutex_lock(&dev->lock);
    for (unsigned i = 0; i < dev->count; i++) {
        LogRecord *rec = g_new0(LogRecord, 1);
        rec->seq = entry(dev, i)->seq;
        rec->text = g_strdup(entry(dev, i)->text);
        *tail = g_new0(LogRecordList, 1);
        (*tail)->value = rec;
        tail = &(*tail)->next;
    }
    g_mutex_unlock(&dev->lock);
    return head;
}

static bool log_save(void *opaque, GByteArray *out, Error **errp)
{
    LogDevice *dev = opaque;
    bool v2 = dev->ops.version >= 2;

    g_mutex_lock(&dev->lock);
    if (v2) {
        vmstate_put_u64(out, dev->next_seq);
    }
    vmstate_put_u32(out, dev->count);
    for (unsigned i = 0; i < dev->count; i++) {
        if (v2) {
            vmstate_put_u64(out, entry(dev, i)->seq);
        }
        vmstate_put_str(out, entry(dev, i)->text);
    }
    g_mutex_unlock(&dev->lock);
    return true;
}

static bool log_load(void *opaque, const uint8_t *buf, size_t len,
                     uint32_t version, Error **errp)
{
    LogDevice *dev = opaque;
    const char *id = dev->ops.id;
    LogEntry loaded[LOG_DEVICE_CAPACITY] = { 0 };
    uint64_t next_seq = 0;
    uint32_t count;
    VMStateReader r;

    vmstate_reader_init(&r, id, buf, len);
    if (version >= 2 && !vmstate_get_u64(&r, "next_seq", &next_seq, errp)) {
        return false;
    }
    if (!vmstate_get_u32(&r, "count", &count, errp)) {
        return false;
    }
    if (count > LOG_DEVICE_CAPACITY) {
        error_setg(errp, "device '%s': 'count' is %u, more than the %u "
                   "records the device holds", id, count,
                   LOG_DEVICE_CAPACITY);
        return false;
    }

    for (unsigned n = 0; n < count; n++) {
        LogEntry *e = &loaded[n];
        g_autofree char *seq_field = g_strdup_printf("records[%u].seq", n);
        g_autofree char *text_field = g_strdup_printf("records[%u].text", n);

        if (version >= 2) {
            if (!vmstate_get_u64(&r, seq_field, &e->seq, errp)) {
                goto fail;
            }
            if (n > 0 && e->seq <= loaded[n - 1].seq) {
                error_setg(errp, "device '%s': '%s' is %" PRIu64 ", not "
                           "after the previous record's %" PRIu64, id,
                           seq_field, e->seq, loaded[n - 1].seq);
                goto fail;
            }
        } else {
            e->seq = n;     /* version 1 had no numbers: make them up */
        }
        if (!vmstate_get_str(&r, text_field, LOG_DEVICE_MAX_TEXT, &e->text,
                             errp)) {
            goto fail;
        }
        if (e->text[0] == '\0') {
            error_setg(errp, "device '%s': '%s' is empty", id, text_field);
            goto fail;
        }
    }
    if (!vmstate_reader_finish(&r, errp)) {
        goto fail;
    }
    if (version < 2) {
        next_seq = count;
    } else if (count > 0 && next_seq <= loaded[count - 1].seq) {
        error_setg(errp, "device '%s': 'next_seq' is %" PRIu64 ", not after "
                   "the last record's %" PRIu64, id, next_seq,
                   loaded[count - 1].seq);
        goto fail;
    }

    /* Everything checked: now replace the state. */
    g_mutex_lock(&dev->lock);
    clear_locked(dev);
    for (unsigned i = 0; i < count; i++) {
        push_locked(dev, loaded[i].seq, loaded[i].text);
    }
    dev->next_seq = next_seq;
    g_mutex_unlock(&dev->lock);
    return true;

fail:
    /* Unused entries are zeroed: freeing them all is fine. */
    for (unsigned i = 0; i < LOG_DEVICE_CAPACITY; i++) {
        g_free(loaded[i].text);
    }
    return false;
}

/*
 * For migration tests only: VMIG_TEST_LOG_DEVICE_VERSION=1 makes this a
 * version-1 device, as an older vmig has it: it saves version 1 and
 * loads only version 1, so a test can migrate between "releases".
 */
static uint32_t test_version(void)
{
    const char *env = getenv("VMIG_TEST_LOG_DEVICE_VERSION");

    return env && !strcmp(env, "1") ? 1 : 2;
}

/* The bounds log_load() checks the state against. */
static const VMStateShapeProp log_shape[] = {
    { "record capacity", LOG_DEVICE_CAPACITY },
    { "record text limit", LOG_DEVICE_MAX_TEXT },
    { NULL },
};

LogDevice *log_device_new(void)
{
    LogDevice *dev = g_new0(LogDevice, 1);

    g_mutex_init(&dev->lock);
    dev->ops = (DeviceStateOps){
        .id = LOG_DEVICE_ID,
        .version = test_version(),
        .min_version = 1,
        .shape = log_shape,
        /* Version 2 (log_save()), larger than 1: next_seq, count, and
         * each record's seq and text. */
        .max_size = VMSTATE_U64_SIZE + VMSTATE_U32_SIZE +
                    LOG_DEVICE_CAPACITY * (VMSTATE_U64_SIZE +
                    VMSTATE_BLOB_SIZE(LOG_DEVICE_MAX_TEXT)),
        .save = log_save,
        .load = log_load,
        .opaque = dev,
    };
    return dev;
}

void log_device_free(LogDevice *dev)
{
    if (dev) {
        clear_locked(dev);
        g_mutex_clear(&dev->lock);
        g_free(dev);
    }
}

const DeviceStateOps *log_device_state(LogDevice *dev)
{
    return &dev->ops;
}
