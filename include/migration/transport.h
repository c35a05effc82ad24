/*
 * Starting the two ends of a migration on a resolved address, once the
 * configuration has been validated (migration/qmp-migrate.c).  The
 * engine behind these entry points is built by the live-migration stage;
 * until then they say plainly that the transport is not available.
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

/* Whether migration_incoming_start() has succeeded already. */
bool migration_incoming_started(void);

#endif
