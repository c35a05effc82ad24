/* Placeholder until the migration engine lands (same session). */
#include "migration/transport.h"
#include "qapi/qapi-commands.h"

bool migration_outgoing_start(const MigrationAddress *addr, bool resume,
                              bool dry_run, Error **errp)
{
    error_setg(errp, "The migration engine is not built yet");
    return false;
}

bool migration_incoming_start(const MigrationAddress *addr,
                              bool exit_on_error, Error **errp)
{
    error_setg(errp, "The migration engine is not built yet");
    return false;
}

bool migration_incoming_started(void)
{
    return false;
}

MigrationInfo *qmp_query_migrate(Error **errp)
{
    return g_new0(MigrationInfo, 1);
}

void qmp_migrate_cancel(Error **errp)
{
}

void qmp_migrate_continue(MigrationStatus state, Error **errp)
{
    error_setg(errp, "No migration is paused");
}
