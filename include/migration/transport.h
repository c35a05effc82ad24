/*
 * Starting the two ends of a migration on a resolved address, once the
 * configuration has been validated (migration/qmp-migrate.c), and the
 * hooks the rest of vmig calls the engine through.  The engine itself
 * is described in migration/engine.h.
 */
#ifndef VMIG_MIGRATION_TRANSPORT_H
#define VMIG_MIGRATION_TRANSPORT_H

#include <stdbool.h>

#include "qapi/error.h"
#include "qapi/qapi-types.h"

/*
 * Source: connects to @addr and starts migrating (@dry_run: the
 * handshake only).
 */
bool migration_outgoing_start(const MigrationAddress *addr, bool resume,
                              bool dry_run, Error **errp);

/* Destination: starts listening on (or reading from) @addr. */
bool migration_incoming_start(const MigrationAddress *addr,
                              bool exit_on_error, Error **errp);

/* Whether migration_incoming_start() has succeeded already (and the
 * destination is still waiting or migrating). */
bool migration_incoming_started(void);

/* The configuration in effect changed: a running migration picks up
 * its runtime options (migration/migration.c calls this). */
void migration_engine_config_changed(void);

/*
 * vmig is exiting (system/main.c, after the main loop): cancels what
 * runs, waits for the engine's threads while running the main loop,
 * and puts a VM the migration stopped back in its state.
 */
void migration_shutdown(void);

#endif
