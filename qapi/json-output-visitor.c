/*
 * Output visitor: turns a C object into a jansson tree.
 *
 * Optional members are left out when absent: generated code asks
 * visit_optional(), which here just echoes the caller's has_ flag or
 * pointer test, and skips the member.
 *
 * Things JSON (or jansson) cannot say exactly, and what we do about them:
 *   - uint64/size values above INT64_MAX: jansson integers are int64, so
 *     such values are written as JSON reals, i.e. rounded to the nearest
 *     double (a relative error below 2^-53).  Our input visitor reads
 *     them back, saturating at UINT64_MAX.  In practice this only
 *     concerns "unlimited" sentinels such as UINT64_MAX.
 *   - non-finite numbers (inf, nan) become JSON null;
 *   - strings that are not valid UTF-8 get U+FFFD for the bad bytes.
 * The clone flavour (visitor-impl.h) encodes both exactly instead, since
 * its output is only read back by our own input visitor.
 */
#include "qapi/visitor-impl.h"

#include <math.h>

typedef struct JsonOutputVisitor {
    Visitor visitor;
    bool clone;
    json_t *root;           /* owned */
    GQueue stack;           /* of json_t * (borrowed from root), innermost
                             * first */
} JsonOutputVisitor;

static JsonOutputVisitor *to_jov(Visitor *v)
{
    return (JsonOutputVisitor *)v;
}

/* Stores @value (reference stolen) as member @name of the innermost
 * container, or as the root. */
static void output_add(JsonOutputVisitor *jov, const char *name,
                       json_t *value)
{
    json_t *container = g_queue_peek_head(&jov->stack);

    g_assert(value);
    if (!container) {
        /* A visitor produces one value; reuse is a caller bug. */
        g_assert(!jov->root);
        jov->root = value;
    } else if (json_is_object(container)) {
        g_assert(name);
        json_object_set_new(container, name, value);
    } else {
        json_array_append_new(container, value);
    }
}

static bool output_start_struct(Visitor *v, const char *name, void **obj,
                                size_t size, Error **errp)
{
    JsonOutputVisitor *jov = to_jov(v);
    json_t *object = json_object();

    output_add(jov, name, object);
    g_queue_push_head(&jov->stack, object);
    return true;
}

static void output_end_container(Visitor *v, void **obj)
{
    json_t *container = g_queue_pop_head(&to_jov(v)->stack);
    g_assert(container);
}

static bool output_start_list(Visitor *v, const char *name,
                              GenericList **list, size_t size, Error **errp)
{
    JsonOutputVisitor *jov = to_jov(v);
    json_t *array = json_array();

    output_add(jov, name, array);
    g_queue_push_head(&jov->stack, array);
    return true;
}

static GenericList *output_next_list(Visitor *v, GenericList *tail,
                                     size_t size)
{
    return tail->next;
}

static bool output_type_int64(Visitor *v, const char *name, int64_t *obj,
                              Error **errp)
{
    output_add(to_jov(v), name, json_integer(*obj));
    return true;
}

static bool output_type_uint64(Visitor *v, const char *name, uint64_t *obj,
                               Error **errp)
{
    JsonOutputVisitor *jov = to_jov(v);
    json_t *value;

    if (*obj <= INT64_MAX) {
        value = json_integer((json_int_t)*obj);
    } else if (jov->clone) {
        value = json_integer((json_int_t)*obj);   /* the bit pattern */
    } else {
        value = json_real((double)*obj);
    }
    output_add(jov, name, value);
    return true;
}

static bool output_type_bool(Visitor *v, const char *name, bool *obj,
                             Error **errp)
{
    output_add(to_jov(v), name, json_boolean(*obj));
    return true;
}

static bool output_type_str(Visitor *v, const char *name, char **obj,
                            Error **errp)
{
    const char *str = *obj ? *obj : "";  /* mandatory but NULL: empty */

    /* JSON text is UTF-8, but C strings may come from anywhere (file
     * names, the command line): replace what is not, rather than fail. */
    if (!g_utf8_validate(str, -1, NULL)) {
        g_autofree char *valid = g_utf8_make_valid(str, -1);
        output_add(to_jov(v), name, json_string(valid));
    } else {
        output_add(to_jov(v), name, json_string(str));
    }
    return true;
}

static bool output_type_number(Visitor *v, const char *name, double *obj,
                               Error **errp)
{
    JsonOutputVisitor *jov = to_jov(v);
    json_t *value;

    if (isfinite(*obj)) {
        value = json_real(*obj);
    } else if (jov->clone) {
        value = json_string(isnan(*obj) ? "nan" : *obj > 0 ? "inf" : "-inf");
    } else {
        value = json_null();
    }
    output_add(jov, name, value);
    return true;
}

static bool output_type_any(Visitor *v, const char *name, json_t **obj,
                            Error **errp)
{
    output_add(to_jov(v), name, *obj ? json_incref(*obj) : json_null());
    return true;
}

static bool output_type_null(Visitor *v, const char *name, Error **errp)
{
    output_add(to_jov(v), name, json_null());
    return true;
}

static void output_complete(Visitor *v, void *opaque)
{
    JsonOutputVisitor *jov = to_jov(v);
    json_t **result = opaque;

    /* Only a finished walk has a meaningful result. */
    g_assert(jov->root && g_queue_is_empty(&jov->stack));
    *result = json_incref(jov->root);
}

static void output_free(Visitor *v)
{
    JsonOutputVisitor *jov = to_jov(v);

    g_queue_clear(&jov->stack);
    json_decref(jov->root);
    g_free(jov);
}

static Visitor *output_visitor_new(bool clone)
{
    JsonOutputVisitor *jov = g_new0(JsonOutputVisitor, 1);

    jov->clone = clone;
    g_queue_init(&jov->stack);

    Visitor *v = &jov->visitor;
    v->type = VISITOR_OUTPUT;
    v->start_struct = output_start_struct;
    v->end_struct = output_end_container;
    v->start_list = output_start_list;
    v->next_list = output_next_list;
    v->end_list = output_end_container;
    v->type_int64 = output_type_int64;
    v->type_uint64 = output_type_uint64;
    v->type_size = output_type_uint64;
    v->type_bool = output_type_bool;
    v->type_str = output_type_str;
    v->type_number = output_type_number;
    v->type_any = output_type_any;
    v->type_null = output_type_null;
    v->complete = output_complete;
    v->free = output_free;
    return v;
}

Visitor *json_output_visitor_new(void)
{
    return output_visitor_new(false);
}

Visitor *json_output_visitor_new_clone(void)
{
    return output_visitor_new(true);
}
