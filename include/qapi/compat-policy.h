/*
 * Compatibility policy for input carrying the 'deprecated' feature
 * (the -compat deprecated-input=accept|reject of QEMU).
 *
 * The default is to accept.  With "reject", input visitors refuse
 * deprecated members and enum values, and qmp_dispatch() refuses
 * deprecated commands, so management software can check that it no longer
 * depends on anything scheduled for removal.
 *
 * The policy is process-wide; set it once at startup, before any monitor
 * or configuration parsing runs.
 */
#ifndef VMIG_QAPI_COMPAT_POLICY_H
#define VMIG_QAPI_COMPAT_POLICY_H

#include <stdbool.h>

void qapi_set_deprecated_input_policy(bool reject);
bool qapi_deprecated_input_rejected(void);

#endif
