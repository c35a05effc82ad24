/*
 * User-creatable objects (-object, object-add, object-del).
 *
 * An object is an id, a type (ObjectType, qapi/qom.json) and whatever the
 * type's implementation allocated for it.  The registry knows nothing
 * about particular types: each type supplies an ObjectTypeInfo, listed in
 * the table in system/object.c.  A new type (the TLS credentials, later)
 * means a value in ObjectType, a branch in ObjectOptions, an
 * ObjectTypeInfo and one row of that table.
 *
 * The registry is used from the main thread only.
 */
#ifndef VMIG_SYSTEM_OBJECT_H
#define VMIG_SYSTEM_OBJECT_H

#include <stdbool.h>

#include "qapi/error.h"
#include "qapi/qapi-types.h"

typedef struct ObjectTypeInfo {
    /* Creates an object from @opts (whose type is this one); returns its
     * implementation, or NULL with errp set.  Errors need not name the
     * object: the registry prefixes "TYPE 'ID': ". */
    void *(*create)(const ObjectOptions *opts, Error **errp);
    void (*destroy)(void *impl);
    /* Optional: true while something depends on the object, which cannot
     * be deleted then. */
    bool (*in_use)(void *impl);
    /* With in_use: why, for object-del's refusal ("a migration uses
     * it"); NULL says only "in use". */
    const char *in_use_reason;
} ObjectTypeInfo;

/* The in_use_reason of objects a migration holds (credentials,
 * authorizations). */
#define OBJECT_IN_USE_BY_MIGRATION "a migration uses it"

/* Creates an object; its id must be well-formed and unused. */
bool object_add(const ObjectOptions *opts, Error **errp);
/* Deletes object @id unless it is in use. */
bool object_del(const char *id, Error **errp);
/* Deletes every object, newest first (machine tear-down). */
void object_del_all(void);

/* The implementation of object @id if it has type @type; NULL otherwise.
 * object_find_type() tells what type @id has (false: no such object). */
void *object_find(const char *id, ObjectType type);
bool object_find_type(const char *id, ObjectType *type);

/* How type @type is implemented (NULL if it is not). */
const ObjectTypeInfo *object_type_info(ObjectType type);

/* Calls @fn for every object, in creation order. */
typedef void ObjectIterFunc(const char *id, ObjectType type, void *impl,
                            void *opaque);
void object_foreach(ObjectIterFunc *fn, void *opaque);

/* QEMU's rule for ids: a letter, then letters, digits, '-', '.', '_'. */
bool id_wellformed(const char *id);

#endif
