/*
 * The migration subsystem's state as the rest of vmig sees it: the
 * configuration in effect, the start-up configuration, and whether a
 * migration is running.  Every change of configuration, from any
 * interface, goes through migration_set_config() or one of the entry
 * points below, and so through the one validator
 * (migration/config-validate.h).
 *
 * Two configurations are kept, both full (every option present):
 *   - the start-up configuration: the defaults, changed by
 *     -global migration.KEY=VALUE; it is what a `config` argument of
 *     migrate / migrate-incoming is completed with, so stale settings
 *     from earlier commands never leak into a migration given its own
 *     configuration;
 *   - the configuration in effect: what query-migrate-config returns and
 *     migrate-set-config changes; a migration started without `config`
 *     uses it.
 *
 * Main thread only, like the monitors that call it.
 */
#ifndef VMIG_MIGRATION_MIGRATION_H
#define VMIG_MIGRATION_MIGRATION_H

#include <stdbool.h>

#include "migration/config-validate.h"
#include "qapi/error.h"
#include "qapi/qapi-types.h"

/* The configuration in effect (full; owned by the subsystem). */
const MigrationConfig *migration_config_current(void);

/* The start-up configuration (full; owned by the subsystem). */
const MigrationConfig *migration_config_startup(void);

/*
 * -global migration.KEY=VALUE: sets @key in both the start-up
 * configuration and the one in effect, with the validator's checks
 * (context "set").  @key is a MigrationConfig member name; @value is in
 * keyval syntax (on/off, sizes with suffixes, enum names).
 */
bool migration_global_set(const char *key, const char *value, Error **errp);

/*
 * Applies the options present in @change to the configuration in
 * effect, atomically, checked in context "set" or, while a migration
 * runs, "runtime".
 */
bool migration_set_config(const MigrationConfig *change, Error **errp);

/*
 * The configuration a migration would use: with @given (a `config`
 * argument), the start-up configuration changed by @given; without it,
 * a copy of the configuration in effect.  Not validated.
 */
MigrationConfig *migration_config_for_migration(const MigrationConfig *given);

/*
 * Replaces the configuration in effect with @cfg (full, validated by the
 * caller for the migration it starts).
 */
void migration_config_replace(const MigrationConfig *cfg);

/* The value of "-incoming" is handled by the incoming side: */

/*
 * -incoming ARG.  "defer": wait for migrate-incoming.  Otherwise ARG is
 * keyval: "URI[,KEY=VALUE...]" where KEY is a MigrationConfig member or,
 * for tcp: URIs, an address option (to=, ipv4=, ipv6=, numeric=,
 * keep-alive=, mptcp=); or QEMU's channel form
 * "main,addr.transport=socket,addr.type=inet,...".  Starts listening
 * (with the configuration the options give, as migrate-incoming with
 * `config` would).
 */
bool migration_incoming_cmdline(const char *arg, Error **errp);

/* Whether vmig was started with -incoming (any form, "defer" too). */
bool migration_incoming_expected(void);
void migration_set_incoming_expected(void);
/* The incoming migration completed: this VM now runs its own state and
 * may migrate out (called by the engine). */
void migration_clear_incoming_expected(void);

/* ---- Exit ---- */

/*
 * vmig is exiting (system/main.c, after the main loop): cancels what
 * runs, waits for the engine's threads while running the main loop,
 * and puts a VM the migration stopped back in its state.
 */
void migration_shutdown(void);

#endif
