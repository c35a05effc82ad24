/*
 * MigrationConfig on the wire: the JSON object HELLO and ACCEPT carry,
 * made and read with the QAPI JSON visitors, plus the two rules the
 * schema alone cannot give: local options are never sent, and members
 * unknown to the reader are tolerated only while off.
 */
#include "migration/wire/wire.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "migration/config.h"
#include "qapi/qapi-visit.h"
#include "qapi/struct-info.h"
#include "qapi/visitor.h"

/* Meaningless on the peer (its own credentials, a host command line,
 * how long its listener waits for strangers) and possibly sensitive, so
 * they stay on the host they were set on. */
static const char *const local_options[] = {
    "tls-creds", "tls-hostname", "tls-authz", "cpr-exec-command",
    "accept-timeout",
};

bool wire_config_option_is_local(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(local_options); i++) {
        if (strcmp(local_options[i], name) == 0) {
            return true;
        }
    }
    return false;
}

char *wire_config_to_json(const MigrationConfig *cfg, size_t *len)
{
    g_autoptr(Visitor) v = json_output_visitor_new();
    MigrationConfig *obj = (MigrationConfig *)cfg; /* output only reads */
    json_t *root = NULL;
    char *text, *copy;

    visit_type_MigrationConfig(v, NULL, &obj, &error_abort);
    visit_complete(v, &root);
    for (size_t i = 0; i < MigrationConfig_info.n_members; i++) {
        const QAPIMemberInfo *m = &MigrationConfig_info.members[i];

        /*
         * A deprecated option at its default says nothing the peer does
         * not assume anyway, and leaving it out lets a destination run
         * with deprecated-input=reject.
         */
        if (wire_config_option_is_local(m->name) ||
            ((m->features & QAPI_FEATURE_DEPRECATED) &&
             migration_config_option_equal(m, cfg,
                                           migration_config_defaults()))) {
            json_object_del(root, m->name);
        }
    }
    text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    g_assert(text);
    /* jansson allocates with malloc(); callers free with g_free(). */
    copy = g_strdup(text);
    free(text);
    *len = strlen(copy);
    return copy;
}

/* The "on" test for a member whose type we do not know. */
static bool unknown_member_is_on(json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_NULL:
    case JSON_FALSE:
        return false;
    case JSON_INTEGER:
        return json_integer_value(value) != 0;
    case JSON_REAL:
        return json_real_value(value) != 0;
    case JSON_STRING:
        return json_string_length(value) != 0;
    case JSON_ARRAY:
        return json_array_size(value) != 0;
    case JSON_OBJECT:
        return json_object_size(value) != 0;
    default:
        return true;
    }
}

/* Member by member, so a refusal can name the option in REJECT. */
static bool config_from_object(json_t *root, MigrationConfig *cfg,
                               GPtrArray *ignored, char **bad_option,
                               Error **errp)
{
    const char *key;
    json_t *value;

    json_object_foreach(root, key, value) {
        const QAPIMemberInfo *m =
            qapi_struct_find_member(&MigrationConfig_info, key);

        if (!m && !unknown_member_is_on(value)) {
            if (ignored) {
                g_ptr_array_add(ignored, g_strdup(key));
            }
            continue;
        }
        *bad_option = g_strdup(key);
        if (!m) {
            error_setg(errp, "option '%s' is on, but this vmig does not "
                       "know it", key);
            return false;
        }
        if (wire_config_option_is_local(key)) {
            error_setg(errp, "option '%s' is local to each end and must "
                       "not be sent", key);
            return false;
        }
        if (!qapi_member_from_json(m, cfg, value, false, errp)) {
            return false;
        }
        g_clear_pointer(bad_option, g_free);
    }
    return true;
}

bool wire_config_from_json(const uint8_t *json, size_t len,
                           MigrationConfig **cfg, GPtrArray *ignored,
                           char **bad_option, Error **errp)
{
    g_autoptr(MigrationConfig) result = NULL;
    g_autofree char *bad = NULL;
    json_error_t jerr;
    json_t *root;
    bool ok;

    if (bad_option) {
        *bad_option = NULL;
    }
    if (len > WIRE_CONFIG_MAX) {
        error_setg(errp, "config length %zu exceeds %u", len,
                   WIRE_CONFIG_MAX);
        return false;
    }
    root = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES,
                      &jerr);
    if (!root) {
        error_setg(errp, "config is not valid JSON: %s (at byte %d)",
                   jerr.text, jerr.position);
        return false;
    }
    if (!json_is_object(root)) {
        error_setg(errp, "config is not a JSON object");
        json_decref(root);
        return false;
    }
    result = g_new0(MigrationConfig, 1);
    ok = config_from_object(root, result, ignored, &bad, errp);
    json_decref(root);
    if (!ok) {
        error_prepend(errp, "config: ");
        if (bad_option) {
            *bad_option = g_steal_pointer(&bad);
        }
        return false;
    }
    *cfg = g_steal_pointer(&result);
    return true;
}
