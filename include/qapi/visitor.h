/*
 * The QAPI visitor: one generated walk (visit_type_FOO) per schema type,
 * driven by different visitor implementations:
 *   - input  (JSON value -> C object; optionally "keyval" mode where every
 *             scalar arrives as a string and is parsed according to its type)
 *   - output (C object -> JSON value)
 *   - dealloc (frees a C object; behind every qapi_free_FOO)
 *
 * Conventions for generated C (same shape as QEMU's QAPI):
 *   - struct FOO has members named with '-' mapped to '_'; an optional member
 *     of scalar type (int, bool, enum, number...) has a "bool has_NAME"
 *     flag; an optional member of pointer type (str, struct, list, any) has
 *     no flag: NULL means absent.
 *   - list of FOO is "FOOList { FOOList *next; FOO value; }" (FOO * for
 *     pointer types).
 *   - alternate FOO is "{ QType type; union { ... } u; }".
 *
 * Call protocol for the walk (what generated code does):
 *   visit_start_struct() ... members ... visit_check_struct() (input only
 *   fails here on unknown members) ... visit_end_struct(); lists use
 *   visit_start_list / visit_next_list / visit_check_list / visit_end_list.
 *   On input failure the partially built object is freed by the generated
 *   code with the dealloc visitor, so the caller never sees half an object.
 */
#ifndef VMIG_QAPI_VISITOR_H
#define VMIG_QAPI_VISITOR_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "qapi/error.h"
#include "qapi/util.h"

typedef struct Visitor Visitor;

typedef enum VisitorType {
    VISITOR_INPUT = 1,
    VISITOR_OUTPUT = 2,
    VISITOR_DEALLOC = 8,
} VisitorType;

/* Kinds of JSON value, used to pick an alternate's branch. */
typedef enum QType {
    QTYPE_NONE,
    QTYPE_QNULL,
    QTYPE_QNUM,
    QTYPE_QSTRING,
    QTYPE_QDICT,
    QTYPE_QLIST,
    QTYPE_QBOOL,
    QTYPE__MAX,
} QType;

typedef struct GenericList {
    struct GenericList *next;
    char padding[];
} GenericList;

typedef struct GenericAlternate {
    QType type;
    char padding[];
} GenericAlternate;

/* Structs */
bool visit_start_struct(Visitor *v, const char *name, void **obj,
                        size_t size, Error **errp);
bool visit_check_struct(Visitor *v, Error **errp);
void visit_end_struct(Visitor *v, void **obj);

/* Lists: @list may be NULL to walk an input list without building one. */
bool visit_start_list(Visitor *v, const char *name, GenericList **list,
                      size_t size, Error **errp);
GenericList *visit_next_list(Visitor *v, GenericList *tail, size_t size);
bool visit_check_list(Visitor *v, Error **errp);
void visit_end_list(Visitor *v, void **list);

/* Alternates: input visitors set (*obj)->type from the value's JSON kind
 * (keyval input sets QTYPE_QSTRING for any scalar, as it cannot tell). */
bool visit_start_alternate(Visitor *v, const char *name,
                           GenericAlternate **obj, size_t size, Error **errp);
void visit_end_alternate(Visitor *v, void **obj);

/* Optional members: returns (and stores in *present) whether @name is
 * there.  Output/dealloc visitors return the caller's *present unchanged. */
bool visit_optional(Visitor *v, const char *name, bool *present);

/* Policy hooks for members/values carrying the 'deprecated' feature.
 * Returns false (with errp set) when the input must be refused. */
bool visit_deprecated_accept(Visitor *v, const char *name, Error **errp);

/* Scalars. Narrow integer types are range-checked against their C type. */
bool visit_type_int(Visitor *v, const char *name, int64_t *obj, Error **errp);
bool visit_type_int8(Visitor *v, const char *name, int8_t *obj, Error **errp);
bool visit_type_int16(Visitor *v, const char *name, int16_t *obj,
                      Error **errp);
bool visit_type_int32(Visitor *v, const char *name, int32_t *obj,
                      Error **errp);
bool visit_type_int64(Visitor *v, const char *name, int64_t *obj,
                      Error **errp);
bool visit_type_uint8(Visitor *v, const char *name, uint8_t *obj,
                      Error **errp);
bool visit_type_uint16(Visitor *v, const char *name, uint16_t *obj,
                       Error **errp);
bool visit_type_uint32(Visitor *v, const char *name, uint32_t *obj,
                       Error **errp);
bool visit_type_uint64(Visitor *v, const char *name, uint64_t *obj,
                       Error **errp);
/* 'size': a byte count; keyval input accepts suffixes k/M/G/T (binary). */
bool visit_type_size(Visitor *v, const char *name, uint64_t *obj,
                     Error **errp);
bool visit_type_bool(Visitor *v, const char *name, bool *obj, Error **errp);
bool visit_type_str(Visitor *v, const char *name, char **obj, Error **errp);
bool visit_type_number(Visitor *v, const char *name, double *obj,
                       Error **errp);
/* 'any': the raw JSON value (a new reference on input). */
bool visit_type_any(Visitor *v, const char *name, json_t **obj, Error **errp);
bool visit_type_null(Visitor *v, const char *name, Error **errp);
bool visit_type_enum(Visitor *v, const char *name, int *obj,
                     const QEnumLookup *lookup, Error **errp);

VisitorType visit_get_type(Visitor *v);
bool visit_is_input(Visitor *v);
bool visit_is_dealloc(Visitor *v);

/* Output visitors: store the result where the constructor said. */
void visit_complete(Visitor *v, void *opaque);
void visit_free(Visitor *v);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Visitor, visit_free)

/* Constructors (qapi/json-input-visitor.c, json-output-visitor.c,
 * dealloc-visitor.c). The input visitor borrows @root (no reference taken). */
Visitor *json_input_visitor_new(json_t *root);
/* For trees from keyval_parse(): scalars are strings parsed per type. */
Visitor *json_input_visitor_new_keyval(json_t *root);
/* visit_complete(v, &result) stores a new json_t reference in result. */
Visitor *json_output_visitor_new(void);
Visitor *qapi_dealloc_visitor_new(void);

#endif
