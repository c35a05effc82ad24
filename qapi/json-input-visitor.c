/*
 * Input visitor: builds C objects from a jansson tree.
 *
 * Two public flavours share this file (plus the private one qapi_clone()
 * uses, see visitor-impl.h):
 *   - JSON mode (QMP, config files): scalars must have the right JSON kind;
 *     a bool is only true/false, an integer only a JSON integer.
 *   - keyval mode (command line, HMP via keyval_parse()): every scalar is a
 *     JSON string and is parsed according to the type the schema asks for,
 *     with the parse_* helpers of util/cutils.h ("on", "64M", "0x10").
 *
 * We walk the tree with a stack of frames, one per object or array being
 * visited.  Object frames remember which keys were consumed, so that
 * visit_check_struct() can refuse members the schema does not know.  Every
 * error names the full path of the offending value ("addr.port",
 * "channels[1].type"; keyval spells list indexes "channels.1.type" like its
 * own syntax), because a bare member name is useless in a nested config.
 */
#include "qapi/visitor-impl.h"

#include <inttypes.h>
#include <math.h>

#include "util/cutils.h"

typedef struct InputFrame {
    json_t *value;          /* object or array being walked (borrowed) */
    char *name;             /* how the parent names it; for the root, the
                             * name of the walk's first visit (may be NULL) */
    GHashTable *consumed;   /* object: keys visited so far */
    size_t index;           /* array: element being visited */
    size_t taken;           /* array: elements consumed so far */
} InputFrame;

typedef enum InputMode {
    INPUT_JSON,
    INPUT_KEYVAL,
    INPUT_CLONE,            /* JSON plus the encoding of visitor-impl.h */
} InputMode;

typedef struct JsonInputVisitor {
    Visitor visitor;
    InputMode mode;
    json_t *root;           /* borrowed */
    char *root_name;        /* name the root was first visited with */
    GQueue stack;           /* of InputFrame *, innermost at the head */
} JsonInputVisitor;

static JsonInputVisitor *to_jiv(Visitor *v)
{
    return (JsonInputVisitor *)v;
}

static InputFrame *top_frame(JsonInputVisitor *jiv)
{
    return g_queue_peek_head(&jiv->stack);
}

/* ---- Naming ---- */

/*
 * Path of member @name of the innermost container, built from the root
 * outwards.  Each frame contributes the name its parent gave it; array
 * frames add the index of the element being visited.
 */
static char *input_full_name(Visitor *v, const char *name)
{
    JsonInputVisitor *jiv = to_jiv(v);
    GString *path = g_string_new(NULL);

    /* The root frame's name is the one the walk started with (often NULL
     * for QMP arguments, whose members are then named bare). */
    for (GList *l = g_queue_peek_tail_link(&jiv->stack); l; l = l->prev) {
        InputFrame *f = l->data;
        const char *child = l->prev ? ((InputFrame *)l->prev->data)->name
                                    : name;

        if (l->next == NULL && f->name) {
            g_string_append(path, f->name);
        }
        if (json_is_array(f->value)) {
            if (jiv->mode != INPUT_KEYVAL) {
                g_string_append_printf(path, "[%zu]", f->index);
            } else {
                g_string_append_printf(path, "%s%zu", path->len ? "." : "",
                                       f->index);
            }
        } else if (child) {
            if (path->len) {
                g_string_append_c(path, '.');
            }
            g_string_append(path, child);
        }
    }
    if (g_queue_is_empty(&jiv->stack) && name) {
        g_string_append(path, name);
    }
    if (!path->len) {
        g_string_append(path, "<anonymous>");
    }
    return g_string_free(path, FALSE);
}

/* Every error about a value goes through these, so that the wording is
 * uniform and always carries the path. */
static void error_missing(JsonInputVisitor *jiv, const char *name,
                          Error **errp)
{
    g_autofree char *path = input_full_name(&jiv->visitor, name);
    error_setg(errp, "Parameter '%s' is missing", path);
}

static void error_type(JsonInputVisitor *jiv, const char *name,
                       const char *expected, Error **errp)
{
    g_autofree char *path = input_full_name(&jiv->visitor, name);
    error_setg(errp, "Invalid parameter type for '%s', expected: %s",
               path, expected);
}

/*
 * keyval mode: the string did not parse as the wanted type.  The parser's
 * message quotes the input and says why ("leading zeros are not
 * allowed"); we add where it was.
 */
static void error_value(JsonInputVisitor *jiv, const char *name,
                        Error *parse_err, Error **errp)
{
    g_autofree char *path = input_full_name(&jiv->visitor, name);
    error_propagate(errp, parse_err);
    error_prepend(errp, "Parameter '%s': ", path);
}

/* ---- Finding values ---- */

/*
 * The value for @name in the innermost container (the root when the stack
 * is empty), or NULL when absent.  @consume marks it visited; optional
 * checks look without consuming.
 */
static json_t *input_get(JsonInputVisitor *jiv, const char *name,
                         bool consume)
{
    InputFrame *f = top_frame(jiv);

    if (!f) {
        if (consume && !jiv->root_name && name) {
            jiv->root_name = g_strdup(name);
        }
        return jiv->root;
    }
    if (json_is_object(f->value)) {
        g_assert(name);     /* members of an object always have a name */
        json_t *member = json_object_get(f->value, name);
        if (member && consume) {
            g_hash_table_add(f->consumed, g_strdup(name));
        }
        return member;
    }
    if (f->index >= json_array_size(f->value)) {
        return NULL;
    }
    if (consume) {
        f->taken = f->index + 1;
    }
    return json_array_get(f->value, f->index);
}

/* Like input_get() for a value that must be there. */
static json_t *input_get_required(JsonInputVisitor *jiv, const char *name,
                                  Error **errp)
{
    json_t *value = input_get(jiv, name, true);
    if (!value) {
        error_missing(jiv, name, errp);
    }
    return value;
}

/*
 * keyval mode: the string to parse for a scalar.  NULL (error set) when the
 * value is missing or is not a string: keyval_parse() only produces
 * strings, so anything else means the key was used as an object or list.
 */
static const char *keyval_get_scalar(JsonInputVisitor *jiv, const char *name,
                                     const char *expected, Error **errp)
{
    json_t *value = input_get_required(jiv, name, errp);
    if (!value) {
        return NULL;
    }
    if (!json_is_string(value)) {
        error_type(jiv, name, expected, errp);
        return NULL;
    }
    return json_string_value(value);
}

static void push_frame(JsonInputVisitor *jiv, json_t *value,
                       const char *name)
{
    InputFrame *f = g_new0(InputFrame, 1);

    f->value = value;
    /* The root frame takes its name from the walk's first visit. */
    f->name = g_strdup(g_queue_is_empty(&jiv->stack) ? jiv->root_name : name);
    if (json_is_object(value)) {
        f->consumed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                            NULL);
    }
    g_queue_push_head(&jiv->stack, f);
}

static void frame_free(InputFrame *f)
{
    if (f->consumed) {
        g_hash_table_destroy(f->consumed);
    }
    g_free(f->name);
    g_free(f);
}

static void pop_frame(JsonInputVisitor *jiv)
{
    InputFrame *f = g_queue_pop_head(&jiv->stack);
    g_assert(f);
    frame_free(f);
}

/* ---- Containers ---- */

static bool input_start_struct(Visitor *v, const char *name, void **obj,
                               size_t size, Error **errp)
{
    JsonInputVisitor *jiv = to_jiv(v);
    json_t *value = input_get_required(jiv, name, errp);

    if (!value) {
        return false;
    }
    if (!json_is_object(value)) {
        error_type(jiv, name, "object", errp);
        return false;
    }
    push_frame(jiv, value, name);
    if (obj) {
        *obj = g_malloc0(size);
    }
    return true;
}

static bool input_check_struct(Visitor *v, Error **errp)
{
    JsonInputVisitor *jiv = to_jiv(v);
    InputFrame *f = top_frame(jiv);
    const char *key;
    json_t *member;

    g_assert(f && json_is_object(f->value));
    /* Report the first unknown key in document order, not hash order, so
     * the message is stable. */
    json_object_foreach(f->value, key, member) {
        if (!g_hash_table_contains(f->consumed, key)) {
            g_autofree char *path = input_full_name(v, key);
            error_setg(errp, "Parameter '%s' is unexpected", path);
            return false;
        }
    }
    return true;
}

static void input_end_struct(Visitor *v, void **obj)
{
    JsonInputVisitor *jiv = to_jiv(v);
    g_assert(json_is_object(top_frame(jiv)->value));
    pop_frame(jiv);
}

static bool input_start_list(Visitor *v, const char *name, GenericList **list,
                             size_t size, Error **errp)
{
    JsonInputVisitor *jiv = to_jiv(v);
    json_t *value = input_get_required(jiv, name, errp);

    if (!value) {
        return false;
    }
    if (!json_is_array(value)) {
        error_type(jiv, name, "array", errp);
        return false;
    }
    push_frame(jiv, value, name);
    if (list && json_array_size(value)) {
        *list = g_malloc0(size);
    }
    return true;
}

static GenericList *input_next_list(Visitor *v, GenericList *tail,
                                    size_t size)
{
    InputFrame *f = top_frame(to_jiv(v));

    g_assert(f && json_is_array(f->value));
    f->index++;
    if (f->index >= json_array_size(f->value)) {
        return NULL;
    }
    tail->next = g_malloc0(size);
    return tail->next;
}

static bool input_check_list(Visitor *v, Error **errp)
{
    JsonInputVisitor *jiv = to_jiv(v);
    InputFrame *f = top_frame(jiv);

    g_assert(f && json_is_array(f->value));
    size_t size = json_array_size(f->value);
    if (f->taken < size) {
        /* Name the list itself, not an element of it. */
        InputFrame *saved = g_queue_pop_head(&jiv->stack);
        g_autofree char *path = input_full_name(v, saved->name);
        g_queue_push_head(&jiv->stack, saved);
        error_setg(errp, "Parameter '%s' has %zu elements, only %zu expected",
                   path, size, f->taken);
        return false;
    }
    return true;
}

static void input_end_list(Visitor *v, void **list)
{
    JsonInputVisitor *jiv = to_jiv(v);
    g_assert(json_is_array(top_frame(jiv)->value));
    pop_frame(jiv);
}

static QType json_qtype(const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT:
        return QTYPE_QDICT;
    case JSON_ARRAY:
        return QTYPE_QLIST;
    case JSON_STRING:
        return QTYPE_QSTRING;
    case JSON_INTEGER:
    case JSON_REAL:
        return QTYPE_QNUM;
    case JSON_TRUE:
    case JSON_FALSE:
        return QTYPE_QBOOL;
    case JSON_NULL:
        return QTYPE_QNULL;
    }
    g_assert_not_reached();
}

/*
 * The generated code picks the branch from (*obj)->type and visits it with
 * the same @name, which is when the value gets consumed; so only look here.
 */
static bool input_start_alternate(Visitor *v, const char *name,
                                  GenericAlternate **obj, size_t size,
                                  Error **errp)
{
    JsonInputVisitor *jiv = to_jiv(v);
    json_t *value = input_get(jiv, name, false);

    if (!value) {
        error_missing(jiv, name, errp);
        return false;
    }
    *obj = g_malloc0(size);
    (*obj)->type = json_qtype(value);
    return true;
}

static void input_optional(Visitor *v, const char *name, bool *present)
{
    *present = input_get(to_jiv(v), name, false) != NULL;
}

/* ---- Integers ---- */

static bool input_type_int64(Visitor *v, const char *name, int64_t *obj,
                             Error **errp)
{
    JsonInputVisitor *jiv = to_jiv(v);

    if (jiv->mode == INPUT_KEYVAL) {
        const char *str = keyval_get_scalar(jiv, name, "integer", errp);
        if (!str) {
            return false;
        }
        Error *err = NULL;
        if (!parse_int64(str, obj, &err)) {
            error_value(jiv, name, err, errp);
            return false;
        }
        return true;
    }

    json_t *value = input_get_required(jiv, name, errp);
    if (!value) {
        return false;
    }
    if (!json_is_integer(value)) {
        error_type(jiv, name, "integer", errp);
        return false;
    }
    *obj = json_integer_value(value);
    return true;
}

/*
 * A JSON value as uint64.  jansson integers are int64, so a negative one is
 * out of range -- except in clone mode, where it is the bit pattern of a
 * value above INT64_MAX.  A real is accepted when it is a whole number in
 * range: that is how our output visitor writes values above INT64_MAX, and
 * how a JSON parser decoding big integers as reals delivers them.  2^64
 * itself is the double nearest to the largest uint64 values, so it reads
 * back as UINT64_MAX.
 */
static bool json_to_uint64(JsonInputVisitor *jiv, const char *name,
                           json_t *value, const char *type, uint64_t *obj,
                           Error **errp)
{
    if (json_is_integer(value)) {
        json_int_t i = json_integer_value(value);
        if (i < 0 && jiv->mode != INPUT_CLONE) {
            g_autofree char *path = input_full_name(&jiv->visitor, name);
            error_setg(errp, "Parameter '%s' expects %s (0..%" PRIu64
                       "), got %" PRId64, path, type, UINT64_MAX, (int64_t)i);
            return false;
        }
        *obj = (uint64_t)i;
        return true;
    }
    if (json_is_real(value)) {
        double d = json_real_value(value);
        const double two_pow_64 = 18446744073709551616.0;
        if (d >= 0 && d <= two_pow_64 && d == floor(d)) {
            *obj = d == two_pow_64 ? UINT64_MAX : (uint64_t)d;
            return true;
        }
    }
    error_type(jiv, name, "integer", errp);
    return false;
}

static bool input_type_uint64(Visitor *v, const char *name, uint64_t *obj,
                              Error **errp)
{
    JsonInputVisitor *jiv = to_jiv(v);

    if (jiv->mode == INPUT_KEYVAL) {
        const char *str = keyval_get_scalar(jiv, name, "integer", errp);
        if (!str) {
            return false;
        }
        Error *err = NULL;
        if (!parse_uint64(str, obj, &err)) {
            error_value(jiv, name, err, errp);
            return false;
        }
        return true;
    }

    json_t *value = input_get_required(jiv, name, errp);
    return value && json_to_uint64(jiv, name, value, "uint64", obj, errp);
}

static bool input_type_size(Visitor *v, const char *name, uint64_t *obj,
                            Error **errp)
{
    JsonInputVisitor *jiv = to_jiv(v);

    if (jiv->mode == INPUT_KEYVAL) {
        const char *str = keyval_get_scalar(jiv, name, "size", errp);
        if (!str) {
            return false;
        }
        Error *err = NULL;
        if (!parse_size(str, obj, &err)) {
            error_value(jiv, name, err, errp);
            return false;
        }
        return true;
    }

    json_t *value = input_get_required(jiv, name, errp);
    return value && json_to_uint64(jiv, name, value, "size", obj, errp);
}

/* ---- Other scalars ---- */

static bool input_type_bool(Visitor *v, const char *name, bool *obj,
                            Error **errp)
{
    JsonInputVisitor *jiv = to_jiv(v);

    if (jiv->mode == INPUT_KEYVAL) {
        const char *str = keyval_get_scalar(jiv, name, "boolean", errp);
        if (!str) {
            return false;
        }
        Error *err = NULL;
        if (!parse_bool(str, obj, &err)) {
            error_value(jiv, name, err, errp);
            return false;
        }
        return true;
    }

    json_t *value = input_get_required(jiv, name, errp);
    if (!value) {
        return false;
    }
    if (!json_is_boolean(value)) {
        error_type(jiv, name, "boolean", errp);
        return false;
    }
    *obj = json_is_true(value);
    return true;
}

static bool input_type_str(Visitor *v, const char *name, char **obj,
                           Error **errp)
{
    JsonInputVisitor *jiv = to_jiv(v);
    json_t *value = input_get_required(jiv, name, errp);

    if (!value) {
        return false;
    }
    if (!json_is_string(value)) {
        error_type(jiv, name, "string", errp);
        return false;
    }
    *obj = g_strdup(json_string_value(value));
    return true;
}

/* Clone mode spells non-finite numbers as strings (JSON has no way). */
static bool clone_special_number(const char *str, double *obj)
{
    if (!strcmp(str, "inf")) {
        *obj = INFINITY;
    } else if (!strcmp(str, "-inf")) {
        *obj = -INFINITY;
    } else if (!strcmp(str, "nan")) {
        *obj = NAN;
    } else {
        return false;
    }
    return true;
}

static bool input_type_number(Visitor *v, const char *name, double *obj,
                              Error **errp)
{
    JsonInputVisitor *jiv = to_jiv(v);

    if (jiv->mode == INPUT_KEYVAL) {
        const char *str = keyval_get_scalar(jiv, name, "number", errp);
        if (!str) {
            return false;
        }
        Error *err = NULL;
        if (!parse_double(str, obj, &err)) {
            error_value(jiv, name, err, errp);
            return false;
        }
        return true;
    }

    json_t *value = input_get_required(jiv, name, errp);
    if (!value) {
        return false;
    }
    if (json_is_number(value)) {
        *obj = json_number_value(value);
        return true;
    }
    if (jiv->mode == INPUT_CLONE && json_is_string(value) &&
        clone_special_number(json_string_value(value), obj)) {
        return true;
    }
    error_type(jiv, name, "number", errp);
    return false;
}

static bool input_type_any(Visitor *v, const char *name, json_t **obj,
                           Error **errp)
{
    JsonInputVisitor *jiv = to_jiv(v);
    json_t *value = input_get_required(jiv, name, errp);

    if (!value) {
        return false;
    }
    /* A clone must not share mutable JSON with its original. */
    *obj = jiv->mode == INPUT_CLONE ? json_deep_copy(value)
                                    : json_incref(value);
    return true;
}

static bool input_type_null(Visitor *v, const char *name, Error **errp)
{
    JsonInputVisitor *jiv = to_jiv(v);
    json_t *value = input_get_required(jiv, name, errp);

    if (!value) {
        return false;
    }
    /* keyval has no null literal; an empty value stands for it. */
    if (jiv->mode == INPUT_KEYVAL && json_is_string(value) &&
        !*json_string_value(value)) {
        return true;
    }
    if (!json_is_null(value)) {
        error_type(jiv, name, "null", errp);
        return false;
    }
    return true;
}

/* ---- Life cycle ---- */

static void input_free(Visitor *v)
{
    JsonInputVisitor *jiv = to_jiv(v);

    /* Frames are left over only when a walk was abandoned half way. */
    g_queue_clear_full(&jiv->stack, (GDestroyNotify)frame_free);
    g_free(jiv->root_name);
    g_free(jiv);
}

static Visitor *input_visitor_new(json_t *root, InputMode mode)
{
    JsonInputVisitor *jiv = g_new0(JsonInputVisitor, 1);

    g_assert(root);
    jiv->mode = mode;
    jiv->root = root;
    g_queue_init(&jiv->stack);

    Visitor *v = &jiv->visitor;
    v->type = VISITOR_INPUT;
    v->ignore_compat_policy = mode == INPUT_CLONE;
    v->start_struct = input_start_struct;
    v->check_struct = input_check_struct;
    v->end_struct = input_end_struct;
    v->start_list = input_start_list;
    v->next_list = input_next_list;
    v->check_list = input_check_list;
    v->end_list = input_end_list;
    v->start_alternate = input_start_alternate;
    v->type_int64 = input_type_int64;
    v->type_uint64 = input_type_uint64;
    v->type_size = input_type_size;
    v->type_bool = input_type_bool;
    v->type_str = input_type_str;
    v->type_number = input_type_number;
    v->type_any = input_type_any;
    v->type_null = input_type_null;
    v->optional = input_optional;
    v->full_name = input_full_name;
    v->free = input_free;
    return v;
}

Visitor *json_input_visitor_new(json_t *root)
{
    return input_visitor_new(root, INPUT_JSON);
}

Visitor *json_input_visitor_new_keyval(json_t *root)
{
    return input_visitor_new(root, INPUT_KEYVAL);
}

Visitor *json_input_visitor_new_clone(json_t *root)
{
    return input_visitor_new(root, INPUT_CLONE);
}
