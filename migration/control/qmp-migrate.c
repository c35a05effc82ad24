/*
 * QMP migrate and migrate-incoming: where the migration goes, and with
 * which configuration.  Both resolve their address (uri or channels),
 * choose the configuration with the documented precedence, validate it
 * for this use (transport limits, this host's support) and only then
 * make it the configuration in effect and start the transport.
 */
#include "migration/transport/address.h"
#include "migration/transport/tls-objects.h"
#include "migration/config.h"
#include "migration/engine/engine.h"
#include "migration/migration.h"
#include "qapi/qapi-commands.h"
#include "system/ram.h"
#include "system/runstate.h"

/* The destination's engine reports back here. */
static const MigIncomingHooks incoming_hooks = {
    .config_adopted = migration_config_replace,
    .completed = migration_clear_incoming_expected,
};

/*
 * The configuration this migration will use, validated in @context for
 * @addr; NULL with errp set.
 */
static MigrationConfig *config_for(MigrationConfig *given,
                                   MigrationConfigContext context,
                                   const MigrationAddress *addr, Error **errp)
{
    g_autoptr(MigrationConfig) cfg = migration_config_for_migration(given);
    g_autofree char *uri = migration_address_to_string(addr);
    MigrationConfigEnv env = {
        .context = context,
        .uri = uri,
        .host = migration_host_support(),
        .page_size = GUEST_PAGE_SIZE,
        .objects = &mig_tls_config_objects,
    };

    if (!migration_config_validate(cfg, NULL, &env, errp)) {
        return NULL;
    }
    return g_steal_pointer(&cfg);
}

void qmp_migrate(const char *uri, MigrationChannelList *channels,
                 MigrationConfig *config, bool has_detach, bool detach,
                 bool has_resume, bool resume, bool has_dry_run,
                 bool dry_run, Error **errp)
{
    g_autoptr(MigrationAddress) addr = NULL;
    g_autoptr(MigrationConfig) cfg = NULL;
    g_autoptr(MigrationConfig) old = NULL;

    if (has_resume && resume) {
        /* The paused migration's own configuration goes on. */
        if (config) {
            error_setg(errp, "A resumed postcopy keeps its configuration: "
                       "'config' cannot be given with 'resume'");
            return;
        }
        if (has_dry_run && dry_run) {
            error_setg(errp, "'dry-run' cannot be given with 'resume'");
            return;
        }
        addr = migration_address_from_args(uri, channels, errp);
        if (addr && migration_address_check(addr, errp)) {
            migration_outgoing_resume(addr, errp);
        }
        return;
    }
    if (migration_is_running()) {
        error_setg(errp, "A migration is in progress already");
        return;
    }
    if (migration_incoming_expected()) {
        error_setg(errp, "This VM is waiting for an incoming migration "
                   "(-incoming); it cannot migrate out");
        return;
    }
    addr = migration_address_from_args(uri, channels, errp);
    if (!addr || !migration_address_check(addr, errp)) {
        return;
    }
    cfg = config_for(config, MIGRATION_CONFIG_OUTGOING, addr, errp);
    if (!cfg) {
        return;
    }
    /* The engine starts from the configuration in effect; a migration
     * it refuses leaves the old one. */
    old = migration_config_clone(migration_config_current());
    migration_config_replace(cfg);
    if (!migration_outgoing_start(addr, has_dry_run && dry_run,
                                  migration_config_current(), errp)) {
        migration_config_replace(old);
    }
}

void qmp_migrate_incoming(const char *uri, MigrationChannelList *channels,
                          MigrationConfig *config, bool has_exit_on_error,
                          bool exit_on_error, Error **errp)
{
    g_autoptr(MigrationAddress) addr = NULL;
    g_autoptr(MigrationConfig) cfg = NULL;
    g_autoptr(MigrationConfig) old = NULL;

    if (!migration_incoming_expected()) {
        error_setg(errp, "'-incoming' was not specified on the command "
                   "line");
        return;
    }
    if (migration_incoming_started()) {
        error_setg(errp, "The incoming migration has already been "
                   "started");
        return;
    }
    addr = migration_address_from_args(uri, channels, errp);
    if (!addr || !migration_address_check(addr, errp)) {
        return;
    }
    cfg = config_for(config, MIGRATION_CONFIG_INCOMING, addr, errp);
    if (!cfg) {
        return;
    }
    /* In effect before the engine starts: it may serve at once. */
    old = migration_config_clone(migration_config_current());
    migration_config_replace(cfg);
    if (!migration_incoming_start(addr, !has_exit_on_error || exit_on_error,
                                  migration_config_current(),
                                  &incoming_hooks, errp)) {
        migration_config_replace(old);
    }
}

void qmp_migrate_pause(Error **errp)
{
    if (!mig_outgoing_pause(errp) && !mig_incoming_pause(errp)) {
        error_setg(errp, "No postcopy migration is in progress to pause");
    }
}

void qmp_migrate_recover(const char *uri, Error **errp)
{
    g_autoptr(MigrationAddress) addr = migration_address_from_args(
        uri, NULL, errp);

    if (addr && migration_address_check(addr, errp)) {
        migration_incoming_recover(addr, errp);
    }
}
