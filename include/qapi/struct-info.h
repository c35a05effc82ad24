/*
 * Struct reflection: a generated table per QAPI struct describing its
 * members, so code can handle every member of a big struct (e.g. all the
 * migration parameters) without naming each one.
 *
 * For every struct Foo (and every union, describing its base members) the
 * generator emits, in qapi-types.h / qapi-types.c:
 *
 *     extern const QAPIStructInfo Foo_info;
 *
 * Members are listed in C layout order: inherited base members first.
 * Members are addressed by offset; qapi_member_ptr() turns an offset into a
 * pointer to the value.  Values are changed and copied through the member's
 * visit function, so ownership rules (deep copies, frees) are exactly those
 * of the generated visitors.
 *
 * Intended use, e.g. applying every member the user set in @src to @dst:
 *
 *     for (size_t i = 0; i < MigrationConfig_info.n_members; i++) {
 *         const QAPIMemberInfo *m = &MigrationConfig_info.members[i];
 *
 *         if (m->features & QAPI_FEATURE_DEPRECATED) {
 *             warn_report("'%s' is deprecated", m->name);
 *         }
 *         if (qapi_member_is_present(m, src)) {
 *             qapi_member_copy(m, dst, src);
 *         }
 *     }
 *
 * (qapi_struct_merge() is exactly that loop without the warning.)  Reading
 * one member by name:
 *
 *     const QAPIMemberInfo *m =
 *         qapi_struct_find_member(&MigrationConfig_info, "max-bandwidth");
 *     uint64_t bw = qapi_member_get_uint(m, cfg);
 */
#ifndef VMIG_QAPI_STRUCT_INFO_H
#define VMIG_QAPI_STRUCT_INFO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qapi/error.h"
#include "qapi/util.h"

typedef struct Visitor Visitor;

/* What C type a member's value has. */
typedef enum QAPIMemberKind {
    QAPI_MEMBER_KIND_INT,       /* int8_t..int64_t, see size */
    QAPI_MEMBER_KIND_UINT,      /* uint8_t..uint64_t, see size */
    QAPI_MEMBER_KIND_SIZE,      /* uint64_t byte count ('size') */
    QAPI_MEMBER_KIND_BOOL,      /* bool */
    QAPI_MEMBER_KIND_NUMBER,    /* double */
    QAPI_MEMBER_KIND_STR,       /* char *, NULL when absent */
    QAPI_MEMBER_KIND_ENUM,      /* a generated enum, see enum_lookup */
    QAPI_MEMBER_KIND_STRUCT,    /* pointer to struct, see struct_info */
    QAPI_MEMBER_KIND_LIST,      /* pointer to FooList */
    QAPI_MEMBER_KIND_ANY,       /* json_t * */
    QAPI_MEMBER_KIND_ALTERNATE, /* pointer to an alternate */
} QAPIMemberKind;

/* visit_type_T() for a member's type; @value points at the member. */
typedef bool QAPIMemberVisitFunc(Visitor *v, const char *name, void *value,
                                 Error **errp);
/* visit_type_T() of a whole struct; @obj is a T **. */
typedef bool QAPIStructVisitFunc(Visitor *v, const char *name, void **obj,
                                 Error **errp);

typedef struct QAPIStructInfo QAPIStructInfo;

typedef struct QAPIMemberInfo {
    const char *name;           /* schema name, e.g. "max-bandwidth" */
    const char *type_name;      /* schema type, e.g. "uint64", "[str]" */
    QAPIMemberKind kind;
    size_t offset;              /* offsetof() the value */
    ptrdiff_t has_offset;       /* offsetof() "bool has_NAME", or -1 */
    size_t size;                /* sizeof() the value's C type */
    bool is_signed;             /* INT kind */
    bool optional;
    unsigned features;          /* QAPI_FEATURE_* mask */
    const QEnumLookup *enum_lookup;         /* ENUM kind, else NULL */
    const QAPIStructInfo *struct_info;      /* STRUCT kind, else NULL */
    QAPIMemberVisitFunc *visit;
} QAPIMemberInfo;

struct QAPIStructInfo {
    const char *name;           /* schema name of the struct */
    size_t size;                /* sizeof() the struct */
    const QAPIMemberInfo *members;
    size_t n_members;
    QAPIStructVisitFunc *visit;
};

static inline void *qapi_member_ptr(const QAPIMemberInfo *m, void *obj)
{
    return (char *)obj + m->offset;
}

static inline const void *qapi_member_cptr(const QAPIMemberInfo *m,
                                           const void *obj)
{
    return (const char *)obj + m->offset;
}

/* NULL when @info has no member called @name. */
const QAPIMemberInfo *qapi_struct_find_member(const QAPIStructInfo *info,
                                              const char *name);

/* Mandatory members are always present; optional ones when their has_
 * flag is set or their pointer is non-NULL. */
bool qapi_member_is_present(const QAPIMemberInfo *m, const void *obj);

/* Integer-like values widened to 64 bits.  get_int: INT kind; get_uint:
 * UINT, SIZE kinds; get_enum: ENUM kind; get_bool: BOOL kind.  Calling one
 * on a member of another kind is a programming error (abort). */
int64_t qapi_member_get_int(const QAPIMemberInfo *m, const void *obj);
uint64_t qapi_member_get_uint(const QAPIMemberInfo *m, const void *obj);
int qapi_member_get_enum(const QAPIMemberInfo *m, const void *obj);
bool qapi_member_get_bool(const QAPIMemberInfo *m, const void *obj);

/*
 * The setters matching the getters (set_number: NUMBER kind, set_str: STR
 * kind, a copy of @v): store @v and mark the member present.  set_int and
 * set_uint return false, leaving @obj unchanged, when @v does not fit the
 * member's width.  A member of another kind is a programming error
 * (abort).  No visitor is involved, so neither is the deprecation policy:
 * these are for values the program chose itself, such as defaults.
 */
bool qapi_member_set_int(const QAPIMemberInfo *m, void *obj, int64_t v);
bool qapi_member_set_uint(const QAPIMemberInfo *m, void *obj, uint64_t v);
void qapi_member_set_enum(const QAPIMemberInfo *m, void *obj, int v);
void qapi_member_set_bool(const QAPIMemberInfo *m, void *obj, bool v);
void qapi_member_set_number(const QAPIMemberInfo *m, void *obj, double v);
void qapi_member_set_str(const QAPIMemberInfo *m, void *obj, const char *v);

/* Whether the member's value is a pointer (string, struct, list, any,
 * alternate): what it owns is freed with it, and NULL is absent. */
bool qapi_member_is_pointer(const QAPIMemberInfo *m);

/* The member's value as JSON (new reference), or NULL when absent. */
json_t *qapi_member_to_json(const QAPIMemberInfo *m, const void *obj);

/*
 * Sets the member from JSON (borrowed), with the input visitor's checks
 * (type, range, enum values); @keyval: @value comes from keyval_parse() so
 * scalars are strings to parse.  The old value is freed and the member
 * marked present.  On failure @obj is unchanged.
 */
bool qapi_member_from_json(const QAPIMemberInfo *m, void *obj,
                           json_t *value, bool keyval, Error **errp);

/* Frees the member's value and marks it absent (optional members only). */
void qapi_member_clear(const QAPIMemberInfo *m, void *obj);

/*
 * Deep-copies the member from @src to @dst (freeing what @dst had); an
 * absent member in @src clears it in @dst.  Like QAPI_CLONE(), this does
 * not apply the deprecation policy: @src was accepted already.
 */
void qapi_member_copy(const QAPIMemberInfo *m, void *dst, const void *src);

/* Copies every member present in @src into @dst. */
void qapi_struct_merge(const QAPIStructInfo *info, void *dst,
                       const void *src);

/* A deep copy of the struct @obj (NULL for NULL), like QAPI_CLONE();
 * free it with qapi_struct_free() or the type's qapi_free_FOO(). */
void *qapi_struct_clone(const QAPIStructInfo *info, const void *obj);
void qapi_struct_free(const QAPIStructInfo *info, void *obj);

#endif
