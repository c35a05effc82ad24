/*
 * The visit_* front-end: checks the call protocol, then dispatches to the
 * visitor implementation (include/qapi/visitor-impl.h).
 *
 * Work that is the same for every visitor lives here rather than in each
 * implementation: range checks of the narrow integer types (implementations
 * only know 64-bit ones), enums (strings on the wire), and the deprecation
 * policy.
 */
#include "qapi/visitor-impl.h"

#include <inttypes.h>

#include "qapi/compat-policy.h"
#include "util/atomic.h"

/* Set once at startup (see compat-policy.h); atomic only so that a late
 * change can never tear. */
static gint deprecated_input_reject;

void qapi_set_deprecated_input_policy(bool reject)
{
    qatomic_mb_set(&deprecated_input_reject, reject);
}

bool qapi_deprecated_input_rejected(void)
{
    return qatomic_mb_read(&deprecated_input_reject);
}

VisitorType visit_get_type(Visitor *v)
{
    return v->type;
}

bool visit_is_input(Visitor *v)
{
    return v->type == VISITOR_INPUT;
}

bool visit_is_dealloc(Visitor *v)
{
    return v->type == VISITOR_DEALLOC;
}

/* Full path of @name for an error message; input visitors only. */
static char *full_name(Visitor *v, const char *name)
{
    if (v->full_name) {
        return v->full_name(v, name);
    }
    return g_strdup(name ? name : "<anonymous>");
}

/* ---- Containers ---- */

bool visit_start_struct(Visitor *v, const char *name, void **obj,
                        size_t size, Error **errp)
{
    /* Input visitors allocate; an input failure must leave *obj NULL so
     * generated code does not free garbage. */
    if (obj && v->type == VISITOR_INPUT) {
        g_assert(size);
        *obj = NULL;
    }
    bool ok = v->start_struct(v, name, obj, size, errp);
    g_assert(ok || v->type == VISITOR_INPUT);
    g_assert(!ok || !obj || v->type != VISITOR_INPUT || *obj);
    return ok;
}

bool visit_check_struct(Visitor *v, Error **errp)
{
    return v->check_struct ? v->check_struct(v, errp) : true;
}

void visit_end_struct(Visitor *v, void **obj)
{
    v->end_struct(v, obj);
}

bool visit_start_list(Visitor *v, const char *name, GenericList **list,
                      size_t size, Error **errp)
{
    g_assert(!list || size >= sizeof(GenericList));
    if (list && v->type == VISITOR_INPUT) {
        *list = NULL;
    }
    bool ok = v->start_list(v, name, list, size, errp);
    g_assert(ok || v->type == VISITOR_INPUT);
    return ok;
}

GenericList *visit_next_list(Visitor *v, GenericList *tail, size_t size)
{
    g_assert(tail && size >= sizeof(GenericList));
    return v->next_list(v, tail, size);
}

bool visit_check_list(Visitor *v, Error **errp)
{
    return v->check_list ? v->check_list(v, errp) : true;
}

void visit_end_list(Visitor *v, void **list)
{
    v->end_list(v, list);
}

bool visit_start_alternate(Visitor *v, const char *name,
                           GenericAlternate **obj, size_t size, Error **errp)
{
    g_assert(obj && size >= sizeof(GenericAlternate));
    if (v->type == VISITOR_INPUT) {
        *obj = NULL;
    }
    if (!v->start_alternate) {
        return true;
    }
    bool ok = v->start_alternate(v, name, obj, size, errp);
    g_assert(ok || v->type == VISITOR_INPUT);
    return ok;
}

void visit_end_alternate(Visitor *v, void **obj)
{
    if (v->end_alternate) {
        v->end_alternate(v, obj);
    }
}

bool visit_optional(Visitor *v, const char *name, bool *present)
{
    if (v->optional) {
        v->optional(v, name, present);
    }
    return *present;
}

bool visit_deprecated_accept(Visitor *v, const char *name, Error **errp)
{
    if (v->type != VISITOR_INPUT || v->ignore_compat_policy ||
        !qapi_deprecated_input_rejected()) {
        return true;
    }
    g_autofree char *path = full_name(v, name);
    error_setg(errp, "Deprecated parameter '%s' disabled by policy", path);
    return false;
}

/* ---- Integers ---- */

bool visit_type_int(Visitor *v, const char *name, int64_t *obj, Error **errp)
{
    return v->type_int64(v, name, obj, errp);
}

bool visit_type_int64(Visitor *v, const char *name, int64_t *obj,
                      Error **errp)
{
    return v->type_int64(v, name, obj, errp);
}

bool visit_type_uint64(Visitor *v, const char *name, uint64_t *obj,
                       Error **errp)
{
    return v->type_uint64(v, name, obj, errp);
}

bool visit_type_size(Visitor *v, const char *name, uint64_t *obj,
                     Error **errp)
{
    return v->type_size(v, name, obj, errp);
}

/*
 * Narrow types are visited as 64-bit values.  Output and dealloc visitors
 * start from a value that already fits, so only input needs the check.
 */
static bool visit_type_intN(Visitor *v, const char *name, int64_t *value,
                            int64_t min, int64_t max, const char *type,
                            Error **errp)
{
    if (!v->type_int64(v, name, value, errp)) {
        return false;
    }
    if (*value < min || *value > max) {
        g_autofree char *path = full_name(v, name);
        error_setg(errp, "Parameter '%s' expects %s (%" PRId64 "..%" PRId64
                   "), got %" PRId64, path, type, min, max, *value);
        return false;
    }
    return true;
}

static bool visit_type_uintN(Visitor *v, const char *name, uint64_t *value,
                             uint64_t max, const char *type, Error **errp)
{
    if (!v->type_uint64(v, name, value, errp)) {
        return false;
    }
    if (*value > max) {
        g_autofree char *path = full_name(v, name);
        error_setg(errp, "Parameter '%s' expects %s (0..%" PRIu64 "), got %"
                   PRIu64, path, type, max, *value);
        return false;
    }
    return true;
}

/* One definition per width, so the type name and its limits come from the
 * C type itself and cannot drift apart. */
#define DEFINE_VISIT_INT(type, ctype, min, max)                              \
    bool visit_type_##type(Visitor *v, const char *name, ctype *obj,         \
                           Error **errp)                                     \
    {                                                                        \
        int64_t value = *obj;                                                \
        if (!visit_type_intN(v, name, &value, min, max, #type, errp)) {      \
            return false;                                                    \
        }                                                                    \
        *obj = value;                                                        \
        return true;                                                         \
    }

#define DEFINE_VISIT_UINT(type, ctype, max)                                  \
    bool visit_type_##type(Visitor *v, const char *name, ctype *obj,         \
                           Error **errp)                                     \
    {                                                                        \
        uint64_t value = *obj;                                               \
        if (!visit_type_uintN(v, name, &value, max, #type, errp)) {          \
            return false;                                                    \
        }                                                                    \
        *obj = value;                                                        \
        return true;                                                         \
    }

DEFINE_VISIT_INT(int8, int8_t, INT8_MIN, INT8_MAX)
DEFINE_VISIT_INT(int16, int16_t, INT16_MIN, INT16_MAX)
DEFINE_VISIT_INT(int32, int32_t, INT32_MIN, INT32_MAX)
DEFINE_VISIT_UINT(uint8, uint8_t, UINT8_MAX)
DEFINE_VISIT_UINT(uint16, uint16_t, UINT16_MAX)
DEFINE_VISIT_UINT(uint32, uint32_t, UINT32_MAX)

/* ---- Other scalars ---- */

bool visit_type_bool(Visitor *v, const char *name, bool *obj, Error **errp)
{
    return v->type_bool(v, name, obj, errp);
}

bool visit_type_str(Visitor *v, const char *name, char **obj, Error **errp)
{
    if (v->type == VISITOR_INPUT) {
        *obj = NULL;
    }
    bool ok = v->type_str(v, name, obj, errp);
    g_assert(!ok || v->type != VISITOR_INPUT || *obj);
    return ok;
}

bool visit_type_number(Visitor *v, const char *name, double *obj,
                       Error **errp)
{
    return v->type_number(v, name, obj, errp);
}

bool visit_type_any(Visitor *v, const char *name, json_t **obj, Error **errp)
{
    if (v->type == VISITOR_INPUT) {
        *obj = NULL;
    }
    return v->type_any(v, name, obj, errp);
}

bool visit_type_null(Visitor *v, const char *name, Error **errp)
{
    return v->type_null(v, name, errp);
}

/* ---- Enums: strings on the wire ---- */

static bool input_type_enum(Visitor *v, const char *name, int *obj,
                            const QEnumLookup *lookup, Error **errp)
{
    g_autofree char *str = NULL;

    if (!v->type_str(v, name, &str, errp)) {
        return false;
    }
    int value = qapi_enum_parse(lookup, str, -1, NULL);
    if (value < 0) {
        g_autofree char *path = full_name(v, name);
        g_autofree char *valid = qapi_enum_list_values(lookup);
        error_setg(errp, "Invalid value '%s' for '%s', valid values: %s",
                   str, path, valid);
        return false;
    }
    if (lookup->features &&
        (lookup->features[value] & QAPI_FEATURE_DEPRECATED) &&
        !v->ignore_compat_policy && qapi_deprecated_input_rejected()) {
        g_autofree char *path = full_name(v, name);
        error_setg(errp, "Deprecated value '%s' of parameter '%s' disabled "
                   "by policy", str, path);
        return false;
    }
    *obj = value;
    return true;
}

static bool output_type_enum(Visitor *v, const char *name, int *obj,
                             const QEnumLookup *lookup, Error **errp)
{
    /* An out-of-range value here is a bug in the caller, but reporting it
     * beats emitting garbage or crashing a long-running process. */
    if (*obj < 0 || *obj >= lookup->size) {
        error_setg(errp, "Invalid enum value %d for '%s'", *obj,
                   name ? name : "<anonymous>");
        return false;
    }
    char *str = (char *)lookup->array[*obj];
    return v->type_str(v, name, &str, errp);
}

bool visit_type_enum(Visitor *v, const char *name, int *obj,
                     const QEnumLookup *lookup, Error **errp)
{
    g_assert(obj && lookup);
    switch (v->type) {
    case VISITOR_INPUT:
        return input_type_enum(v, name, obj, lookup, errp);
    case VISITOR_OUTPUT:
        return output_type_enum(v, name, obj, lookup, errp);
    case VISITOR_DEALLOC:
        return true;            /* nothing allocated */
    }
    g_assert_not_reached();
}

/* ---- Life cycle ---- */

void visit_complete(Visitor *v, void *opaque)
{
    g_assert(v->type == VISITOR_OUTPUT && v->complete);
    v->complete(v, opaque);
}

void visit_free(Visitor *v)
{
    if (v) {
        v->free(v);
    }
}
