/*
 * Device state registry and the little-endian state encoding (over util's
 * byte cursor): see include/system/vmstate.h.
 */
#include "system/vmstate.h"

#include <string.h>

#include "util/main-thread.h"

/* Registration order is the migration order, hence a list, not a hash. */
static GPtrArray *registry;

const VMStateShapeProp vmstate_shape_none[] = { { NULL } };
static const VMStateShapeProp *machine_shape = vmstate_shape_none;

/* The rules of include/system/vmstate.h; @owner prefixes the error. */
static bool shape_valid(const char *owner, const VMStateShapeProp *shape,
                        Error **errp)
{
    for (unsigned i = 0; shape[i].name; i++) {
        size_t len = strlen(shape[i].name);

        if (i == VMSTATE_SHAPE_MAX) {
            error_setg(errp, "%s: more than %u shape properties", owner,
                       VMSTATE_SHAPE_MAX);
            return false;
        }
        if (!len || len > VMSTATE_SHAPE_NAME_MAX ||
            !g_utf8_validate(shape[i].name, len, NULL)) {
            error_setg(errp, "%s: shape property %u: the name must be 1 to "
                       "%u bytes of UTF-8", owner, i,
                       VMSTATE_SHAPE_NAME_MAX);
            return false;
        }
        for (unsigned j = 0; j < i; j++) {
            if (!strcmp(shape[j].name, shape[i].name)) {
                error_setg(errp, "%s: shape property '%s' is declared "
                           "twice", owner, shape[i].name);
                return false;
            }
        }
    }
    return true;
}

bool vmstate_set_machine_shape(const VMStateShapeProp *shape, Error **errp)
{
    assert_main_thread();
    if (shape && !shape_valid("machine", shape, errp)) {
        return false;
    }
    machine_shape = shape ? shape : vmstate_shape_none;
    return true;
}

const VMStateShapeProp *vmstate_machine_shape(void)
{
    assert_main_thread();
    return machine_shape;
}

bool device_state_register(const DeviceStateOps *ops, Error **errp)
{
    g_autofree char *owner = NULL;

    assert_main_thread();
    g_assert(ops->id && ops->save && ops->load && ops->shape);
    if (ops->min_version < 1 || ops->min_version > ops->version) {
        error_setg(errp, "device '%s': invalid versions: min_version %u, "
                   "version %u", ops->id, ops->min_version, ops->version);
        return false;
    }
    owner = g_strdup_printf("device '%s'", ops->id);
    if (!shape_valid(owner, ops->shape, errp)) {
        return false;
    }
    if (device_state_find(ops->id)) {
        error_setg(errp, "device '%s' is already registered", ops->id);
        return false;
    }
    if (!registry) {
        registry = g_ptr_array_new();
    }
    g_ptr_array_add(registry, (gpointer)ops);
    return true;
}

void device_state_unregister(const DeviceStateOps *ops)
{
    bool found = registry && g_ptr_array_remove(registry, (gpointer)ops);

    assert_main_thread();
    g_assert(found);
    if (registry->len == 0) {
        g_ptr_array_free(registry, TRUE);
        registry = NULL;
    }
}

const DeviceStateOps *device_state_find(const char *id)
{
    assert_main_thread();
    for (guint i = 0; registry && i < registry->len; i++) {
        const DeviceStateOps *ops = g_ptr_array_index(registry, i);
        if (strcmp(ops->id, id) == 0) {
            return ops;
        }
    }
    return NULL;
}

bool device_state_foreach(DeviceStateIterFunc *fn, void *opaque,
                          Error **errp)
{
    assert_main_thread();
    for (guint i = 0; registry && i < registry->len; i++) {
        if (!fn(g_ptr_array_index(registry, i), opaque, errp)) {
            return false;
        }
    }
    return true;
}

bool device_state_save(const DeviceStateOps *ops, GByteArray *out,
                       Error **errp)
{
    Error *local_err = NULL;
    guint start = out->len;

    if (!ops->save(ops->opaque, out, &local_err)) {
        error_propagate(errp, local_err);
        error_prepend(errp, "device '%s': ", ops->id);
        return false;
    }
    /* The destination would refuse it: say so here, where the bug is. */
    if (out->len - start > ops->max_size) {
        error_setg(errp, "device '%s': saved %u bytes of state, more than "
                   "its declared maximum of %zu bytes", ops->id,
                   out->len - start, ops->max_size);
        g_byte_array_set_size(out, start);
        return false;
    }
    return true;
}

bool device_state_load(const DeviceStateOps *ops, const uint8_t *buf,
                       size_t len, uint32_t version, Error **errp)
{
    if (version < ops->min_version || version > ops->version) {
        error_setg(errp, "device '%s': unsupported state version %u "
                   "(this vmig loads versions %u to %u)",
                   ops->id, version, ops->min_version, ops->version);
        return false;
    }
    /* load() reports errors through VMStateReader, which already names the
     * device, so no prefix here. */
    return ops->load(ops->opaque, buf, len, version, errp);
}

/* Encoding */

void vmstate_put_u8(GByteArray *out, uint8_t v)
{
    byte_put_u8(out, v);
}

void vmstate_put_u16(GByteArray *out, uint16_t v)
{
    byte_put_le16(out, v);
}

void vmstate_put_u32(GByteArray *out, uint32_t v)
{
    byte_put_le32(out, v);
}

void vmstate_put_u64(GByteArray *out, uint64_t v)
{
    byte_put_le64(out, v);
}

void vmstate_put_blob(GByteArray *out, const void *data, uint32_t len)
{
    vmstate_put_u32(out, len);
    byte_put_bytes(out, data, len);
}

void vmstate_put_str(GByteArray *out, const char *s)
{
    size_t len = strlen(s);

    g_assert(len <= UINT32_MAX);
    vmstate_put_blob(out, s, len);
}

/* Decoding */

void vmstate_reader_init(VMStateReader *r, const char *dev,
                         const uint8_t *buf, size_t len)
{
    r->dev = dev;
    byte_cursor_init(&r->cur, buf, len);
}

/* The error of every getter that found too few bytes (the cursor
 * consumed nothing). */
static bool truncated(VMStateReader *r, const char *field, size_t n,
                      Error **errp)
{
    error_setg(errp, "device '%s': truncated state: need %zu bytes for "
               "'%s', have %zu", r->dev, n, field,
               byte_cursor_remaining(&r->cur));
    return false;
}

bool vmstate_get_u8(VMStateReader *r, const char *field, uint8_t *v,
                    Error **errp)
{
    return byte_cursor_get_u8(&r->cur, v) ||
           truncated(r, field, sizeof(*v), errp);
}

bool vmstate_get_u16(VMStateReader *r, const char *field, uint16_t *v,
                     Error **errp)
{
    return byte_cursor_get_le16(&r->cur, v) ||
           truncated(r, field, sizeof(*v), errp);
}

bool vmstate_get_u32(VMStateReader *r, const char *field, uint32_t *v,
                     Error **errp)
{
    return byte_cursor_get_le32(&r->cur, v) ||
           truncated(r, field, sizeof(*v), errp);
}

bool vmstate_get_u64(VMStateReader *r, const char *field, uint64_t *v,
                     Error **errp)
{
    return byte_cursor_get_le64(&r->cur, v) ||
           truncated(r, field, sizeof(*v), errp);
}

bool vmstate_get_blob(VMStateReader *r, const char *field, uint32_t max_len,
                      const uint8_t **data, uint32_t *len, Error **errp)
{
    uint32_t n;

    if (!vmstate_get_u32(r, field, &n, errp)) {
        return false;
    }
    if (n > max_len) {
        error_setg(errp, "device '%s': '%s' is %u bytes long, the limit is "
                   "%u", r->dev, field, n, max_len);
        return false;
    }
    if (!byte_cursor_get_bytes(&r->cur, n, data)) {
        *data = NULL;
        return truncated(r, field, n, errp);
    }
    *len = n;
    return true;
}

bool vmstate_get_str(VMStateReader *r, const char *field, uint32_t max_len,
                     char **s, Error **errp)
{
    const uint8_t *data;
    uint32_t len;

    if (!vmstate_get_blob(r, field, max_len, &data, &len, errp)) {
        return false;
    }
    if (memchr(data, 0, len) ||
        !g_utf8_validate((const char *)data, len, NULL)) {
        error_setg(errp, "device '%s': '%s' is not valid UTF-8 text",
                   r->dev, field);
        return false;
    }
    *s = g_strndup((const char *)data, len);
    return true;
}

bool vmstate_reader_finish(VMStateReader *r, Error **errp)
{
    if (byte_cursor_remaining(&r->cur)) {
        error_setg(errp, "device '%s': %zu unexpected bytes after the end "
                   "of the state", r->dev, byte_cursor_remaining(&r->cur));
        return false;
    }
    return true;
}
