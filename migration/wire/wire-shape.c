/*
 * HELLO's extension SHAPE: the properties of the machine that its device
 * state depends on (the vCPU count...), the machine's own and each
 * device's, so that a destination of another shape refuses before any
 * state moves (docs/devel/migration-protocol.md, 6.1).
 */
#include "migration/wire/wire.h"

#include <string.h>

/* The smallest encodings: a property with a one-byte name; a shape with
 * no property. */
#define PROP_MIN_SIZE (2 + 1 + 8)
#define SHAPE_MIN_SIZE 4

static void prop_free(gpointer p)
{
    WireShapeProp *prop = p;

    g_free(prop->name);
    g_free(prop);
}

GPtrArray *wire_shape_new(void)
{
    return g_ptr_array_new_with_free_func(prop_free);
}

void wire_shape_add(GPtrArray *shape, const char *name, uint64_t value)
{
    WireShapeProp *prop = g_new0(WireShapeProp, 1);

    prop->name = g_strdup(name);
    prop->value = value;
    g_ptr_array_add(shape, prop);
}

const WireShapeProp *wire_shape_find(const GPtrArray *shape,
                                     const char *name)
{
    for (guint i = 0; shape && i < shape->len; i++) {
        const WireShapeProp *prop = g_ptr_array_index(shape, i);

        if (!strcmp(prop->name, name)) {
            return prop;
        }
    }
    return NULL;
}

/* ---- Encoding ---- */

/* u32 count, then (str name, u64 value) each; NULL is empty. */
static bool encode_shape(const GPtrArray *shape, GByteArray *out,
                         Error **errp)
{
    guint n = shape ? shape->len : 0;

    if (n > WIRE_SHAPE_PROPS_MAX) {
        error_setg(errp, "%u shape properties exceed %u", n,
                   WIRE_SHAPE_PROPS_MAX);
        return false;
    }
    wire_put_u32(out, n);
    for (guint i = 0; i < n; i++) {
        const WireShapeProp *prop = g_ptr_array_index(shape, i);

        if (!wire_put_str(out, "name", prop->name, WIRE_SHAPE_NAME_MAX,
                          errp)) {
            error_prepend(errp, "shape property %u: ", i);
            return false;
        }
        wire_put_u64(out, prop->value);
    }
    return true;
}

bool wire_hello_shape_encode(const WireHello *h, GByteArray *out,
                             Error **errp)
{
    g_autoptr(GByteArray) data = g_byte_array_new();

    if (!h->machine_shape) {
        return true;            /* shapes not described: no extension */
    }
    if (!encode_shape(h->machine_shape, data, errp)) {
        error_prepend(errp, "machine: ");
        return false;
    }
    wire_put_u32(data, h->devices->len);
    for (guint i = 0; i < h->devices->len; i++) {
        const WireDevice *d = g_ptr_array_index(h->devices, i);

        if (!encode_shape(d->shape, data, errp)) {
            error_prepend(errp, "device '%s': ", d->id);
            return false;
        }
    }
    wire_put_extension(out, WIRE_EXT_SHAPE, data);
    return true;
}

/* ---- Decoding ---- */

static bool decode_shape(WireReader *r, GPtrArray **out, Error **errp)
{
    g_autoptr(GPtrArray) shape = wire_shape_new();
    uint32_t n;

    if (!wire_get_u32(r, "shape property count", &n, errp) ||
        !wire_check_count(r, "shape property", n, WIRE_SHAPE_PROPS_MAX,
                          PROP_MIN_SIZE, errp)) {
        return false;
    }
    for (uint32_t i = 0; i < n; i++) {
        g_autofree char *name = NULL;
        uint64_t value;

        if (!wire_get_str(r, "name", WIRE_SHAPE_NAME_MAX, true, &name,
                          errp) ||
            !wire_get_u64(r, "value", &value, errp)) {
            error_prepend(errp, "shape property %u: ", i);
            return false;
        }
        /* Compared by name: a second value would make the answer depend
         * on which one a reader looks at. */
        if (wire_shape_find(shape, name)) {
            error_setg(errp, "shape property %u: '%s' is listed twice", i,
                       name);
            return false;
        }
        wire_shape_add(shape, name, value);
    }
    *out = g_steal_pointer(&shape);
    return true;
}

/* SHAPE: the machine's shape, u32 device count, each device's shape. */
bool wire_hello_shape_decode(WireReader *r, WireHello *h, Error **errp)
{
    g_autoptr(GPtrArray) machine = NULL;
    uint32_t n;

    if (h->machine_shape) {
        error_setg(errp, "SHAPE appears twice");
        return false;
    }
    if (!decode_shape(r, &machine, errp)) {
        error_prepend(errp, "machine: ");
        return false;
    }
    if (!wire_get_u32(r, "device shape count", &n, errp) ||
        !wire_check_count(r, "device shape", n, WIRE_DEVICES_MAX,
                          SHAPE_MIN_SIZE, errp)) {
        return false;
    }
    if (n != h->devices->len) {
        error_setg(errp, "SHAPE describes %u devices, HELLO lists %u", n,
                   h->devices->len);
        return false;
    }
    for (uint32_t i = 0; i < n; i++) {
        WireDevice *d = g_ptr_array_index(h->devices, i);

        g_assert(!d->shape);
        if (!decode_shape(r, &d->shape, errp)) {
            error_prepend(errp, "device '%s': ", d->id);
            return false;
        }
    }
    h->machine_shape = g_steal_pointer(&machine);
    return true;
}
