/*
 * The migration subsystem's configuration state: the start-up and the
 * in-effect configuration (see include/migration/migration.h).
 */
#include "migration/migration.h"

#include "migration/config.h"
#include "migration/engine/engine.h"
#include "system/ram.h"

typedef struct MigrationConfigState {
    MigrationConfig *startup;
    MigrationConfig *current;
    bool incoming_expected;
} MigrationConfigState;

static MigrationConfigState *state(void)
{
    static MigrationConfigState s;

    if (!s.startup) {
        s.startup = migration_config_new_default();
        s.current = migration_config_new_default();
    }
    return &s;
}

const MigrationConfig *migration_config_current(void)
{
    return state()->current;
}

const MigrationConfig *migration_config_startup(void)
{
    return state()->startup;
}

/* migration_is_running() is the engine's (migration/engine/state.c). */

static MigrationConfigEnv set_env(void)
{
    MigrationConfigEnv env = {
        .context = migration_is_running() ? MIGRATION_CONFIG_RUNTIME
                                          : MIGRATION_CONFIG_SET,
        .page_size = GUEST_PAGE_SIZE,
    };
    return env;
}

/*
 * A destination waiting for its source has set up its listener's TLS
 * from the options migrate-incoming had: a change now would be shown
 * by query-migrate-config but not used.
 */
static bool check_incoming_tls_fixed(const MigrationConfig *change,
                                     Error **errp)
{
    static const char *const fixed[] = {
        "tls-creds", "tls-hostname", "tls-authz",
    };

    if (!migration_incoming_started()) {
        return true;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(fixed); i++) {
        const QAPIMemberInfo *m = migration_config_find_option(fixed[i]);

        if (qapi_member_is_present(m, change) &&
            !migration_config_option_equal(m, change, state()->current)) {
            error_setg(errp, "Option '%s' cannot change while this "
                       "destination waits for its source: the incoming "
                       "migration set up its TLS when it started (set it "
                       "before migrate-incoming)", fixed[i]);
            return false;
        }
    }
    return true;
}

bool migration_set_config(const MigrationConfig *change, Error **errp)
{
    MigrationConfigEnv env = set_env();

    if (!check_incoming_tls_fixed(change, errp) ||
        !migration_config_apply(state()->current, change, &env, errp)) {
        return false;
    }
    /* A running migration re-reads max-bandwidth, downtime-limit... */
    migration_engine_config_changed(state()->current);
    return true;
}

bool migration_global_set(const char *key, const char *value, Error **errp)
{
    const QAPIMemberInfo *m = migration_config_find_option(key);
    g_autoptr(MigrationConfig) change = g_new0(MigrationConfig, 1);
    MigrationConfigEnv env;
    json_t *json;
    bool ok;

    if (!m) {
        error_setg(errp, "Migration has no option '%s'", key);
        return false;
    }
    json = json_string(value);
    ok = qapi_member_from_json(m, change, json, true, errp);
    json_decref(json);
    if (!ok) {
        return false;
    }
    /*
     * -global is read at start-up, before any monitor can change the
     * configuration in effect, so both start equal and stay equal here.
     */
    env = set_env();
    if (!migration_config_apply(state()->startup, change, &env, errp)) {
        return false;
    }
    migration_config_replace(state()->startup);
    return true;
}

MigrationConfig *migration_config_for_migration(const MigrationConfig *given)
{
    MigrationConfig *cfg;

    if (!given) {
        return migration_config_clone(state()->current);
    }
    cfg = migration_config_clone(state()->startup);
    migration_config_merge(cfg, given);
    return cfg;
}

void migration_config_replace(const MigrationConfig *cfg)
{
    MigrationConfigState *s = state();

    qapi_free_MigrationConfig(s->current);
    s->current = migration_config_clone(cfg);
    migration_engine_config_changed(s->current);
}

bool migration_incoming_expected(void)
{
    return state()->incoming_expected;
}

void migration_set_incoming_expected(void)
{
    state()->incoming_expected = true;
}

void migration_clear_incoming_expected(void)
{
    state()->incoming_expected = false;
}
