/*
 * query-qmp-schema ('gen': false in qapi/introspect.json): the schema
 * description the generator wrote as JSON text, parsed on first use and
 * then shared by every call.
 */
#include "qapi/qapi-commands.h"
#include "qapi/qapi-introspect.h"
#include "qapi/qapi-visit.h"
#include "qapi/visitor.h"

static json_t *introspect_schema(void)
{
    static gsize initialized;
    static json_t *schema;

    if (g_once_init_enter(&initialized)) {
        json_error_t err;

        schema = json_loads(qapi_introspect_json, 0, &err);
        if (!schema) {
            /* The generator wrote it with json.dumps(): a bug if so. */
            g_error("generated schema description is not JSON: %s "
                    "(position %d)", err.text, err.position);
        }
        g_once_init_leave(&initialized, 1);
    }
    return schema;
}

/* The result is shared (jansson reference counts are atomic): callers
 * must not modify it. */
void qmp_marshal_query_qmp_schema(json_t *args, json_t **ret, Error **errp)
{
    g_autoptr(Visitor) v = json_input_visitor_new(args);
    q_empty *arg = NULL;

    /* No arguments; the visitor names any that are there. */
    if (!visit_type_q_empty(v, NULL, &arg, errp)) {
        return;
    }
    qapi_free_q_empty(arg);
    *ret = json_incref(introspect_schema());
}
