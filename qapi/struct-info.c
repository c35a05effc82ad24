/*
 * Generic access to QAPI struct members through the generated
 * QAPIStructInfo tables (include/qapi/struct-info.h).
 *
 * Scalars are read and copied directly (their size is in the table);
 * anything owning memory goes through the member's visit function with
 * the dealloc visitor (free) or the clone visitors (deep copy), so the
 * ownership rules are the generated visitors' own.
 */
#include "qapi/struct-info.h"

#include <assert.h>
#include <string.h>

#include "qapi/clone.h"
#include "qapi/visitor.h"
#include "qapi/visitor-impl.h"

const QAPIMemberInfo *qapi_struct_find_member(const QAPIStructInfo *info,
                                              const char *name)
{
    for (size_t i = 0; i < info->n_members; i++) {
        if (!strcmp(info->members[i].name, name)) {
            return &info->members[i];
        }
    }
    return NULL;
}

bool qapi_member_is_pointer(const QAPIMemberInfo *m)
{
    switch (m->kind) {
    case QAPI_MEMBER_KIND_STR:
    case QAPI_MEMBER_KIND_STRUCT:
    case QAPI_MEMBER_KIND_LIST:
    case QAPI_MEMBER_KIND_ANY:
    case QAPI_MEMBER_KIND_ALTERNATE:
        return true;
    default:
        return false;
    }
}

static void set_present(const QAPIMemberInfo *m, void *obj, bool present)
{
    if (m->has_offset >= 0) {
        *(bool *)((char *)obj + m->has_offset) = present;
    }
}

bool qapi_member_is_present(const QAPIMemberInfo *m, const void *obj)
{
    if (!m->optional) {
        return true;
    }
    if (m->has_offset >= 0) {
        return *(const bool *)((const char *)obj + m->has_offset);
    }
    return *(void *const *)qapi_member_cptr(m, obj) != NULL;
}

/* The kind checks of the getters and setters: a mismatch is a bug. */
static void check_kind(const QAPIMemberInfo *m, bool ok, const char *what)
{
    if (!ok) {
        g_error("QAPI member '%s' is not %s", m->name, what);
    }
}

static void check_int(const QAPIMemberInfo *m)
{
    check_kind(m, m->kind == QAPI_MEMBER_KIND_INT, "a signed integer");
}

static void check_uint(const QAPIMemberInfo *m)
{
    check_kind(m, m->kind == QAPI_MEMBER_KIND_UINT ||
               m->kind == QAPI_MEMBER_KIND_SIZE, "an unsigned integer");
}

static void check_enum(const QAPIMemberInfo *m)
{
    check_kind(m, m->kind == QAPI_MEMBER_KIND_ENUM && m->size == sizeof(int),
               "an enum");
}

static void check_bool(const QAPIMemberInfo *m)
{
    check_kind(m, m->kind == QAPI_MEMBER_KIND_BOOL, "a bool");
}

int64_t qapi_member_get_int(const QAPIMemberInfo *m, const void *obj)
{
    const void *p = qapi_member_cptr(m, obj);

    check_int(m);
    switch (m->size) {
    case 1:
        return *(const int8_t *)p;
    case 2:
        return *(const int16_t *)p;
    case 4:
        return *(const int32_t *)p;
    default:
        return *(const int64_t *)p;
    }
}

uint64_t qapi_member_get_uint(const QAPIMemberInfo *m, const void *obj)
{
    const void *p = qapi_member_cptr(m, obj);

    check_uint(m);
    switch (m->size) {
    case 1:
        return *(const uint8_t *)p;
    case 2:
        return *(const uint16_t *)p;
    case 4:
        return *(const uint32_t *)p;
    default:
        return *(const uint64_t *)p;
    }
}

int qapi_member_get_enum(const QAPIMemberInfo *m, const void *obj)
{
    check_enum(m);
    return *(const int *)qapi_member_cptr(m, obj);
}

bool qapi_member_get_bool(const QAPIMemberInfo *m, const void *obj)
{
    check_bool(m);
    return *(const bool *)qapi_member_cptr(m, obj);
}

/* Stores @v, which fits, in the member's width; marks it present.  A
 * signed member gets the two's complement bits of its value. */
static void store_integer(const QAPIMemberInfo *m, void *obj, uint64_t v)
{
    void *p = qapi_member_ptr(m, obj);

    switch (m->size) {
    case 1:
        *(uint8_t *)p = v;
        break;
    case 2:
        *(uint16_t *)p = v;
        break;
    case 4:
        *(uint32_t *)p = v;
        break;
    default:
        *(uint64_t *)p = v;
        break;
    }
    set_present(m, obj, true);
}

bool qapi_member_set_int(const QAPIMemberInfo *m, void *obj, int64_t v)
{
    check_int(m);
    if (m->size < sizeof(v)) {
        int64_t max = (INT64_C(1) << (8 * m->size - 1)) - 1;

        if (v < -max - 1 || v > max) {
            return false;
        }
    }
    store_integer(m, obj, (uint64_t)v);
    return true;
}

bool qapi_member_set_uint(const QAPIMemberInfo *m, void *obj, uint64_t v)
{
    check_uint(m);
    if (m->size < sizeof(v) && v >> (8 * m->size)) {
        return false;
    }
    store_integer(m, obj, v);
    return true;
}

void qapi_member_set_enum(const QAPIMemberInfo *m, void *obj, int v)
{
    check_enum(m);
    *(int *)qapi_member_ptr(m, obj) = v;
    set_present(m, obj, true);
}

void qapi_member_set_bool(const QAPIMemberInfo *m, void *obj, bool v)
{
    check_bool(m);
    *(bool *)qapi_member_ptr(m, obj) = v;
    set_present(m, obj, true);
}

void qapi_member_set_number(const QAPIMemberInfo *m, void *obj, double v)
{
    check_kind(m, m->kind == QAPI_MEMBER_KIND_NUMBER, "a number");
    *(double *)qapi_member_ptr(m, obj) = v;
    set_present(m, obj, true);
}

json_t *qapi_member_to_json(const QAPIMemberInfo *m, const void *obj)
{
    g_autoptr(Visitor) v = NULL;
    json_t *result = NULL;

    if (!qapi_member_is_present(m, obj)) {
        return NULL;
    }
    v = json_output_visitor_new();
    /* The output walk only reads the value. */
    m->visit(v, m->name, (void *)qapi_member_cptr(m, obj), &error_abort);
    visit_complete(v, &result);
    return result;
}

/* Frees what the member owns, leaving it zeroed (has_ flag untouched). */
static void member_free_value(const QAPIMemberInfo *m, void *obj)
{
    void *p = qapi_member_ptr(m, obj);

    if (qapi_member_is_pointer(m) && *(void **)p) {
        g_autoptr(Visitor) v = qapi_dealloc_visitor_new();

        m->visit(v, m->name, p, NULL);
    }
    memset(p, 0, m->size);
}

/* Room for any member value: the largest is a uint64_t or double. */
typedef union MemberValue {
    int64_t i;
    uint64_t u;
    double d;
    void *p;
    char bytes[sizeof(max_align_t)];
} MemberValue;

bool qapi_member_from_json(const QAPIMemberInfo *m, void *obj,
                           json_t *value, bool keyval, Error **errp)
{
    g_autoptr(Visitor) v = keyval ? json_input_visitor_new_keyval(value)
                                  : json_input_visitor_new(value);
    MemberValue tmp = { 0 };

    assert(m->size <= sizeof(tmp));
    /* The visit of the whole struct would check this before the value. */
    if ((m->features & QAPI_FEATURE_DEPRECATED) &&
        !visit_deprecated_accept(v, m->name, errp)) {
        return false;
    }
    if (!m->visit(v, m->name, &tmp, errp)) {
        return false;       /* the visitor freed what it had built */
    }
    member_free_value(m, obj);
    memcpy(qapi_member_ptr(m, obj), &tmp, m->size);
    set_present(m, obj, true);
    return true;
}

void qapi_member_clear(const QAPIMemberInfo *m, void *obj)
{
    assert(m->optional);
    member_free_value(m, obj);
    set_present(m, obj, false);
}

void qapi_member_set_str(const QAPIMemberInfo *m, void *obj, const char *v)
{
    check_kind(m, m->kind == QAPI_MEMBER_KIND_STR, "a string");
    member_free_value(m, obj);
    *(char **)qapi_member_ptr(m, obj) = g_strdup(v);
    set_present(m, obj, true);
}

void qapi_member_copy(const QAPIMemberInfo *m, void *dst, const void *src)
{
    const void *sp = qapi_member_cptr(m, src);
    void *dp = qapi_member_ptr(m, dst);

    if (dst == src) {
        return;
    }
    member_free_value(m, dst);
    if (!qapi_member_is_present(m, src)) {
        set_present(m, dst, false);
        return;
    }
    if (qapi_member_is_pointer(m) && *(void *const *)sp) {
        g_autoptr(Visitor) out = json_output_visitor_new_clone();
        g_autoptr(Visitor) in = NULL;
        void *value = *(void *const *)sp;
        json_t *tree = NULL;

        m->visit(out, m->name, &value, &error_abort);
        visit_complete(out, &tree);
        in = json_input_visitor_new_clone(tree);
        m->visit(in, m->name, dp, &error_abort);
        json_decref(tree);
    } else {
        memcpy(dp, sp, m->size);
    }
    set_present(m, dst, true);
}

void qapi_struct_merge(const QAPIStructInfo *info, void *dst,
                       const void *src)
{
    for (size_t i = 0; i < info->n_members; i++) {
        const QAPIMemberInfo *m = &info->members[i];

        if (qapi_member_is_present(m, src)) {
            qapi_member_copy(m, dst, src);
        }
    }
}

void *qapi_struct_clone(const QAPIStructInfo *info, const void *obj)
{
    return qapi_clone(obj, info->visit);
}

void qapi_struct_free(const QAPIStructInfo *info, void *obj)
{
    g_autoptr(Visitor) v = NULL;

    if (!obj) {
        return;
    }
    v = qapi_dealloc_visitor_new();
    info->visit(v, NULL, &obj, NULL);
}
