/* Enum name tables: see include/qapi/util.h. */
#include "qapi/util.h"

#include <string.h>

const char *qapi_enum_lookup(const QEnumLookup *lookup, int val)
{
    g_assert(val >= 0 && val < lookup->size);
    return lookup->array[val];
}

int qapi_enum_parse(const QEnumLookup *lookup, const char *buf, int def,
                    Error **errp)
{
    if (!buf) {
        return def;
    }
    for (int i = 0; i < lookup->size; i++) {
        if (!strcmp(buf, lookup->array[i])) {
            return i;
        }
    }
    /* Callers that know what was being set add it with error_prepend(). */
    g_autofree char *valid = qapi_enum_list_values(lookup);
    error_setg(errp, "Invalid value '%s', valid values: %s", buf, valid);
    return -1;
}

char *qapi_enum_list_values(const QEnumLookup *lookup)
{
    GString *list = g_string_new(NULL);

    for (int i = 0; i < lookup->size; i++) {
        g_string_append_printf(list, "%s'%s'", i ? ", " : "",
                               lookup->array[i]);
    }
    return g_string_free(list, FALSE);
}
