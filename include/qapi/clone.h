/*
 * Deep copies of QAPI objects.
 *
 *     g_autoptr(MigrationParameters) copy = QAPI_CLONE(MigrationParameters,
 *                                                      params);
 *
 * The copy shares nothing with the original ('any' members are deep
 * copied too) and is exact for every value, including uint64 above
 * INT64_MAX and non-finite numbers.  It does not apply the deprecation
 * policy: the original was already accepted.
 */
#ifndef VMIG_QAPI_CLONE_H
#define VMIG_QAPI_CLONE_H

#include "qapi/visitor.h"

typedef bool QAPIVisitFunc(Visitor *v, const char *name, void **obj,
                           Error **errp);

/* Returns a new copy of @src (NULL for NULL), built by walking it with
 * @visit_type; free it with the type's qapi_free_FOO(). */
void *qapi_clone(const void *src, QAPIVisitFunc *visit_type);

/* The generated visit_type_FOO() takes FOO **, which is ABI-compatible with
 * void ** (the same trick QEMU uses). */
#define QAPI_CLONE(type, src) \
    ((type *)qapi_clone((src), (QAPIVisitFunc *)visit_type_ ## type))

#endif
