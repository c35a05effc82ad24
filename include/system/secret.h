/*
 * Secret objects (qapi/crypto.json): passwords and keys that other
 * objects name by id (tls-creds-x509's passwordid), so they need not
 * appear in those objects' properties.
 *
 * Threads: main thread only.
 */
#ifndef VMIG_SYSTEM_SECRET_H
#define VMIG_SYSTEM_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qapi/error.h"

/*
 * A copy of secret @id's bytes (decoded), NUL-terminated for
 * convenience (the secret itself may contain NULs: *@len says how many
 * bytes it has).  The caller frees it, wiping it first.  NULL with errp
 * if there is no such secret.
 */
uint8_t *secret_lookup(const char *id, size_t *len, Error **errp);

#endif
