/*
 * QMP commands that read and change the migration configuration: the
 * new pair (query-migrate-config, migrate-set-config) and QEMU's legacy
 * four, which are mappings onto the same configuration and validator.
 *
 * The legacy commands split the options by the member feature
 * 'capability' of MigrationConfig: there is no second list of
 * capabilities or parameters anywhere.
 */
#include <string.h>

#include "migration/config.h"
#include "migration/migration.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-visit.h"
#include "qapi/visitor.h"

static bool is_capability(const QAPIMemberInfo *m)
{
    return m->features & QAPI_FEATURE_CAPABILITY;
}

MigrationConfig *qmp_query_migrate_config(Error **errp)
{
    return migration_config_clone(migration_config_current());
}

void qmp_migrate_set_config(MigrationConfig *arg, Error **errp)
{
    migration_set_config(arg, errp);
}

/* "'a', 'b', ..." of every capability, for error messages. */
static char *capability_names(void)
{
    GString *names = g_string_new(NULL);

    for (size_t i = 0; i < migration_config_n_options(); i++) {
        const QAPIMemberInfo *m = migration_config_option(i);

        if (is_capability(m)) {
            g_string_append_printf(names, "%s'%s'",
                                   names->len ? ", " : "", m->name);
        }
    }
    return g_string_free(names, false);
}

void qmp_migrate_set_capabilities(MigrationCapabilityStatusList *capabilities,
                                  Error **errp)
{
    g_autoptr(MigrationConfig) change = g_new0(MigrationConfig, 1);

    for (MigrationCapabilityStatusList *l = capabilities; l; l = l->next) {
        const char *name = l->value->capability;
        const QAPIMemberInfo *m = migration_config_find_option(name);
        json_t *state;
        bool ok;

        if (!m || !is_capability(m)) {
            g_autofree char *valid = capability_names();

            error_setg(errp, "'%s' is not a migration capability; the "
                       "capabilities are %s", name, valid);
            return;
        }
        /* As in QEMU, a capability listed twice takes its last state. */
        state = json_boolean(l->value->state);
        ok = qapi_member_from_json(m, change, state, false, errp);
        json_decref(state);
        if (!ok) {
            return;
        }
    }
    migration_set_config(change, errp);
}

MigrationCapabilityStatusList *qmp_query_migrate_capabilities(Error **errp)
{
    const MigrationConfig *cfg = migration_config_current();
    MigrationCapabilityStatusList *head = NULL, **tail = &head;

    for (size_t i = 0; i < migration_config_n_options(); i++) {
        const QAPIMemberInfo *m = migration_config_option(i);
        MigrationCapabilityStatus *cap;

        if (!is_capability(m)) {
            continue;
        }
        cap = g_new0(MigrationCapabilityStatus, 1);
        cap->capability = g_strdup(m->name);
        cap->state = qapi_member_get_bool(m, cfg);
        *tail = g_new0(MigrationCapabilityStatusList, 1);
        (*tail)->value = cap;
        tail = &(*tail)->next;
    }
    return head;
}

/*
 * Hand-written ('gen': false) because QEMU's migrate-set-parameters
 * takes null for the TLS strings, meaning "": that is turned into "" here,
 * at the edge, so MigrationConfig itself keeps plain strings.
 */
void qmp_marshal_migrate_set_parameters(json_t *args, json_t **ret,
                                        Error **errp)
{
    static const char *const nullable[] = {
        "tls-creds", "tls-hostname", "tls-authz",
    };
    g_autoptr(MigrationConfig) change = NULL;
    json_t *normalized = json_deep_copy(args);
    Visitor *v;
    bool ok;

    for (size_t i = 0; i < G_N_ELEMENTS(nullable); i++) {
        if (json_is_null(json_object_get(normalized, nullable[i]))) {
            json_object_set_new(normalized, nullable[i], json_string(""));
        }
    }
    v = json_input_visitor_new(normalized);
    ok = visit_type_MigrationConfig(v, NULL, &change, errp);
    visit_free(v);
    json_decref(normalized);
    if (!ok) {
        return;
    }
    for (size_t i = 0; i < migration_config_n_options(); i++) {
        const QAPIMemberInfo *m = migration_config_option(i);

        if (is_capability(m) && qapi_member_is_present(m, change)) {
            error_setg(errp, "'%s' is a capability, not a parameter: set "
                       "it with migrate-set-capabilities or "
                       "migrate-set-config", m->name);
            return;
        }
    }
    if (migration_set_config(change, errp)) {
        *ret = json_object();
    }
}

MigrationConfig *qmp_query_migrate_parameters(Error **errp)
{
    MigrationConfig *params = migration_config_clone(migration_config_current());

    for (size_t i = 0; i < migration_config_n_options(); i++) {
        const QAPIMemberInfo *m = migration_config_option(i);

        if (is_capability(m)) {
            qapi_member_clear(m, params);
        }
    }
    return params;
}
