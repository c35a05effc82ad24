/*
 * What a visitor implementation provides: the Visitor vtable.
 *
 * Only the visitor implementations (qapi/json-input-visitor.c,
 * json-output-visitor.c, dealloc-visitor.c), the front-end (qapi/visitor.c)
 * and qapi/clone.c include this; everybody else uses the visit_* functions
 * of qapi/visitor.h.
 *
 * The front-end does everything that is the same for all visitors (narrow
 * integer ranges, enums as strings, the deprecation policy), so an
 * implementation only handles the JSON-shaped basics: 64-bit integers,
 * size, bool, str, number, any, null, and the containers.
 */
#ifndef VMIG_QAPI_VISITOR_IMPL_H
#define VMIG_QAPI_VISITOR_IMPL_H

#include "qapi/visitor.h"

struct Visitor {
    VisitorType type;

    /*
     * Input visitors built for qapi_clone() set this: the value they read
     * was produced by our own output visitor from an object that was
     * already accepted once, so the deprecation policy must not apply.
     */
    bool ignore_compat_policy;

    /* Containers; the contracts are those of the visit_* wrappers. */
    bool (*start_struct)(Visitor *v, const char *name, void **obj,
                         size_t size, Error **errp);
    bool (*check_struct)(Visitor *v, Error **errp);          /* optional */
    void (*end_struct)(Visitor *v, void **obj);

    bool (*start_list)(Visitor *v, const char *name, GenericList **list,
                       size_t size, Error **errp);
    GenericList *(*next_list)(Visitor *v, GenericList *tail, size_t size);
    bool (*check_list)(Visitor *v, Error **errp);            /* optional */
    void (*end_list)(Visitor *v, void **list);

    bool (*start_alternate)(Visitor *v, const char *name,
                            GenericAlternate **obj, size_t size,
                            Error **errp);                   /* optional */
    void (*end_alternate)(Visitor *v, void **obj);           /* optional */

    /* Scalars.  Narrower integers go through these after widening. */
    bool (*type_int64)(Visitor *v, const char *name, int64_t *obj,
                       Error **errp);
    bool (*type_uint64)(Visitor *v, const char *name, uint64_t *obj,
                        Error **errp);
    bool (*type_size)(Visitor *v, const char *name, uint64_t *obj,
                      Error **errp);
    bool (*type_bool)(Visitor *v, const char *name, bool *obj, Error **errp);
    bool (*type_str)(Visitor *v, const char *name, char **obj, Error **errp);
    bool (*type_number)(Visitor *v, const char *name, double *obj,
                        Error **errp);
    bool (*type_any)(Visitor *v, const char *name, json_t **obj,
                     Error **errp);
    bool (*type_null)(Visitor *v, const char *name, Error **errp);

    /* Input only: is member @name present in the current object? */
    void (*optional)(Visitor *v, const char *name, bool *present);

    /*
     * Input only: the full path of member @name of the current container
     * ("addr.port", "list[2].name"), for error messages.  Caller frees.
     */
    char *(*full_name)(Visitor *v, const char *name);

    /* Output only: hand the result to the caller. */
    void (*complete)(Visitor *v, void *opaque);

    void (*free)(Visitor *v);
};

/*
 * Private constructors for qapi_clone() (qapi/clone.c).  They agree on an
 * encoding that is exact where plain JSON is not: uint64 values above
 * INT64_MAX travel as their two's complement int64 bit pattern, and
 * non-finite numbers as the strings "inf", "-inf", "nan".  The input side
 * also deep-copies 'any' values so the clone shares nothing with the
 * original, and ignores the deprecation policy.
 */
Visitor *json_output_visitor_new_clone(void);
Visitor *json_input_visitor_new_clone(json_t *root);

#endif
