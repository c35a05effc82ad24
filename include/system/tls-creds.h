/*
 * TLS credentials objects: tls-creds-x509, tls-creds-psk, tls-creds-anon
 * (qapi/crypto.json), and the GnuTLS sessions made from them.
 *
 * An object reads its files when it is created (-object, object-add), so
 * a missing CA or an unreadable key fails there, naming the file, and
 * never in the middle of a migration.  A migration then makes one
 * session per connection from it, in any thread.
 *
 * Lifetime: whoever makes sessions from an object holds it
 * (tls_creds_hold()) until the last of those sessions is gone;
 * object-del refuses an object that is held ("in use").  gnutls keeps
 * pointers to the object's credentials in every session, so a session
 * must never outlive its object.
 *
 * Threads: tls_creds_find() on the main thread (the object registry is
 * main-thread only); everything else on any thread, for an object held.
 */
#ifndef VMIG_SYSTEM_TLS_CREDS_H
#define VMIG_SYSTEM_TLS_CREDS_H

#include <stdbool.h>

#include <gnutls/gnutls.h>

#include "qapi/error.h"
#include "qapi/qapi-types.h"

typedef struct TlsCreds TlsCreds;

/*
 * The TLS credentials object @id, of any of the three kinds, or NULL
 * with errp set ("TLS credentials 'x' do not exist", "object 'x' is a
 * secret, not TLS credentials").  Main thread.
 */
TlsCreds *tls_creds_find(const char *id, Error **errp);

const char *tls_creds_id(const TlsCreds *c);
/* "x509", "psk" or "anon". */
const char *tls_creds_kind(const TlsCreds *c);
QCryptoTLSCredsEndpoint tls_creds_endpoint(const TlsCreds *c);
/* x509 and PSK: whether the peer must prove who it is.  anon: false. */
bool tls_creds_verifies_peer(const TlsCreds *c);

/* Any thread.  Each hold needs one release. */
void tls_creds_hold(TlsCreds *c);
void tls_creds_release(TlsCreds *c);

/*
 * A new session for one connection, as the object's endpoint, with its
 * credentials and priority, not yet handshaken.  @hostname (client
 * only, may be NULL) is sent as the server name (SNI).  A server asks
 * for the client's certificate when it verifies peers, but does not
 * fail the handshake without one: tls_creds_check_peer() does, so that
 * the refusal can be told to the client inside TLS.
 */
gnutls_session_t tls_creds_new_session(TlsCreds *c, const char *hostname,
                                       Error **errp);

/*
 * After the handshake: the checks the object calls for, and the peer's
 * identity.
 *  - x509 verifying peers: a certificate was presented, it chains to the
 *    CA, is within its validity dates, is not revoked by ca-crl.pem,
 *    has the key usage and purpose of its end; a client checks the
 *    server's name against @hostname (required then: NULL is an error
 *    saying so).
 *  - PSK: nothing more (the handshake proved the key).
 * *@identity (may be NULL to skip) gets the client certificate's DN
 * (gnutls's RFC 4514 form, "CN=src,O=Example"), the PSK username, or
 * NULL (anon; x509 without a certificate when not verifying).  A
 * client gets the server's DN or NULL.
 * On failure errp says what was wrong with whose certificate ("the
 * client's certificate has expired (notAfter 2026-01-01 00:00:00 UTC)",
 * "the server's certificate is for 'dst.example.org', not 'other'",
 * "the client presented no certificate, ...").
 */
bool tls_creds_check_peer(TlsCreds *c, gnutls_session_t session,
                          const char *hostname, char **identity,
                          Error **errp);

#endif
