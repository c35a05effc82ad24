/*
 * The validator's view of the objects TLS options name (stage 6 of
 * include/migration/config-validate.h): whether tls-creds and
 * tls-authz exist, and what the credentials are for.
 */
#ifndef VMIG_MIGRATION_TLS_OBJECTS_H
#define VMIG_MIGRATION_TLS_OBJECTS_H

#include "migration/config-validate.h"

/* Main thread (the object registry's). */
extern const MigrationConfigObjects mig_tls_config_objects;

#endif
