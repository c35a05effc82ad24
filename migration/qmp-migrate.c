/* TEMPORARY while the transport layer is written: see /tmp/qmp-migrate.final.c */
#include "migration/migration.h"
#include "qapi/qapi-commands.h"

void qmp_migrate(const char *uri, MigrationChannelList *channels,
                 MigrationConfig *config, bool has_detach, bool detach,
                 bool has_resume, bool resume, Error **errp)
{
    error_setg(errp, "migrate: not wired yet");
}

void qmp_migrate_incoming(const char *uri, MigrationChannelList *channels,
                          MigrationConfig *config, bool has_exit_on_error,
                          bool exit_on_error, Error **errp)
{
    error_setg(errp, "migrate-incoming: not wired yet");
}
