/*
 * The object registry and the object-add / object-del commands.
 * See include/system/object.h.
 */
#include "system/object.h"

#include <string.h>

#include "qapi/qapi-commands.h"
#include "system/memory-backend.h"
#include "system/object-types.h"
#include "util/main-thread.h"

/* The one list of implemented object types. */
static const ObjectTypeInfo *const object_types[OBJECT_TYPE__MAX] = {
    [OBJECT_TYPE_AUTHZ_LIST] = &authz_list_info,
    [OBJECT_TYPE_AUTHZ_SIMPLE] = &authz_simple_info,
    [OBJECT_TYPE_MEMORY_BACKEND_FILE] = &memory_backend_file_info,
    [OBJECT_TYPE_MEMORY_BACKEND_MEMFD] = &memory_backend_memfd_info,
    [OBJECT_TYPE_MEMORY_BACKEND_RAM] = &memory_backend_ram_info,
    [OBJECT_TYPE_SECRET] = &secret_info,
    [OBJECT_TYPE_TLS_CREDS_ANON] = &tls_creds_anon_info,
    [OBJECT_TYPE_TLS_CREDS_PSK] = &tls_creds_psk_info,
    [OBJECT_TYPE_TLS_CREDS_X509] = &tls_creds_x509_info,
};

typedef struct UserObject {
    char *id;
    ObjectType type;
    void *impl;
} UserObject;

/* In creation order, which is also the order -object options were given
 * in, so that later objects may refer to earlier ones. */
static GPtrArray *objects;

const ObjectTypeInfo *object_type_info(ObjectType type)
{
    g_assert(type >= 0 && type < OBJECT_TYPE__MAX);
    return object_types[type];
}

bool id_wellformed(const char *id)
{
    if (!g_ascii_isalpha(id[0])) {
        return false;
    }
    for (const char *p = id + 1; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("-._", *p)) {
            return false;
        }
    }
    return true;
}

static UserObject *lookup(const char *id, guint *index)
{
    for (guint i = 0; objects && i < objects->len; i++) {
        UserObject *obj = g_ptr_array_index(objects, i);
        if (strcmp(obj->id, id) == 0) {
            if (index) {
                *index = i;
            }
            return obj;
        }
    }
    return NULL;
}

bool object_add(const ObjectOptions *opts, Error **errp)
{
    const ObjectTypeInfo *info = object_type_info(opts->qom_type);
    const char *type_name = ObjectType_str(opts->qom_type);
    Error *local_err = NULL;
    void *impl;

    assert_main_thread();
    if (!id_wellformed(opts->id)) {
        error_setg(errp, "invalid object id '%s': it must start with a "
                   "letter and contain only letters, digits, '-', '.' and "
                   "'_'", opts->id);
        return false;
    }
    if (lookup(opts->id, NULL)) {
        error_setg(errp, "an object with id '%s' already exists", opts->id);
        return false;
    }
    if (!info) {
        error_setg(errp, "object type '%s' is not supported", type_name);
        return false;
    }

    impl = info->create(opts, &local_err);
    if (!impl) {
        error_propagate(errp, local_err);
        error_prepend(errp, "%s '%s': ", type_name, opts->id);
        return false;
    }

    UserObject *obj = g_new0(UserObject, 1);
    obj->id = g_strdup(opts->id);
    obj->type = opts->qom_type;
    obj->impl = impl;
    if (!objects) {
        objects = g_ptr_array_new();
    }
    g_ptr_array_add(objects, obj);
    return true;
}

static void object_destroy(guint index)
{
    UserObject *obj = g_ptr_array_steal_index(objects, index);

    object_type_info(obj->type)->destroy(obj->impl);
    g_free(obj->id);
    g_free(obj);
    if (objects->len == 0) {
        g_ptr_array_free(objects, TRUE);
        objects = NULL;
    }
}

bool object_del(const char *id, Error **errp)
{
    guint index;
    UserObject *obj = lookup(id, &index);
    const ObjectTypeInfo *info;

    assert_main_thread();
    if (!obj) {
        error_setg(errp, "object '%s' not found", id);
        return false;
    }
    info = object_type_info(obj->type);
    if (info->in_use && info->in_use(obj->impl)) {
        error_setg(errp, "object '%s' is in use and cannot be deleted%s%s",
                   id, info->in_use_reason ? ": " : "",
                   info->in_use_reason ? info->in_use_reason : "");
        return false;
    }
    object_destroy(index);
    return true;
}

void object_del_all(void)
{
    assert_main_thread();
    /* Newest first: an object may depend on older ones, never on newer. */
    while (objects) {
        object_destroy(objects->len - 1);
    }
}

void *object_find(const char *id, ObjectType type)
{
    UserObject *obj = lookup(id, NULL);

    assert_main_thread();
    return obj && obj->type == type ? obj->impl : NULL;
}

bool object_find_type(const char *id, ObjectType *type)
{
    UserObject *obj = lookup(id, NULL);

    assert_main_thread();
    if (obj) {
        *type = obj->type;
    }
    return obj != NULL;
}

void object_foreach(ObjectIterFunc *fn, void *opaque)
{
    assert_main_thread();
    for (guint i = 0; objects && i < objects->len; i++) {
        UserObject *obj = g_ptr_array_index(objects, i);
        fn(obj->id, obj->type, obj->impl, opaque);
    }
}

void qmp_object_add(ObjectOptions *arg, Error **errp)
{
    object_add(arg, errp);
}

void qmp_object_del(const char *id, Error **errp)
{
    object_del(id, errp);
}
