/* Enum name tables shared by generated code and visitors. */
#ifndef VMIG_QAPI_UTIL_H
#define VMIG_QAPI_UTIL_H

#include <stdbool.h>
#include "qapi/error.h"

/* Special (built-in) feature bits; the generator assigns custom features
 * bits from QAPI_FEATURE_CUSTOM_FIRST upward in qapi-features.h. */
enum {
    QAPI_FEATURE_DEPRECATED = 1u << 0,
    QAPI_FEATURE_UNSTABLE = 1u << 1,
    QAPI_FEATURE_CUSTOM_FIRST_BIT = 2,
};

typedef struct QEnumLookup {
    const char *const *array;
    const unsigned *features; /* per value feature mask, or NULL */
    int size;
} QEnumLookup;

const char *qapi_enum_lookup(const QEnumLookup *lookup, int val);
/* Returns @def for a NULL @buf; sets errp (naming the valid values) and
 * returns -1 for an unknown one. */
int qapi_enum_parse(const QEnumLookup *lookup, const char *buf, int def,
                    Error **errp);
/* "'a', 'b', 'c'" for error messages; caller frees. */
char *qapi_enum_list_values(const QEnumLookup *lookup);

#endif
