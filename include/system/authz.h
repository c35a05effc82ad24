/*
 * Authorization objects: authz-simple and authz-list (qapi/crypto.json).
 * A migration destination's tls-authz names one; it decides whether the
 * identity the source proved over TLS (certificate DN, PSK username)
 * may migrate into this vmig.
 *
 * Threads: main thread only (the object registry's).  An object a
 * migration uses is held so object-del refuses it.
 */
#ifndef VMIG_SYSTEM_AUTHZ_H
#define VMIG_SYSTEM_AUTHZ_H

#include <stdbool.h>

#include "qapi/error.h"

typedef struct Authz Authz;

/* The authz object @id, or NULL with errp ("authorization 'x' does
 * not exist", "object 'x' is a secret, not an authorization"). */
Authz *authz_find(const char *id, Error **errp);
void authz_hold(Authz *a);
void authz_release(Authz *a);

/*
 * Whether @a allows @identity (NULL: the peer proved no identity, which
 * no rule allows).  false with errp naming the object, the identity and
 * the deciding rule by its index in @rules, from 0 as in rules.N=...:
 * "authorization 'auth0' denies 'CN=eve' (rule 2, glob 'CN=*')",
 * "... (no rule matches; default policy deny)".
 */
bool authz_is_allowed(Authz *a, const char *identity, Error **errp);

#endif
