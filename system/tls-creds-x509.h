/*
 * The certificate checks of tls-creds-x509 (tls-creds-x509-check.c),
 * used by its loading and sessions (tls-creds-x509.c).
 */
#ifndef VMIG_SYSTEM_TLS_CREDS_X509_H
#define VMIG_SYSTEM_TLS_CREDS_X509_H

#include <gnutls/x509.h>

#include "system/tls-creds-impl.h"

/* A PEM file as read, named for messages. */
typedef struct X509File {
    char *path;
    gnutls_datum_t pem;             /* .data NULL: the file is absent */
} X509File;

/*
 * sanity-check: @ca holds CA certificates valid now; @cert (if present,
 * for @endpoint) is valid now, chains to them, is not revoked by @crl
 * (if present), is not a CA and has the key usage and purpose of its
 * end.  Errors name the file and what is wrong with it.
 */
bool x509_sanity_check(const X509File *ca, const X509File *crl,
                       const X509File *cert, QCryptoTLSCredsEndpoint endpoint,
                       Error **errp);

/* The check_peer of TlsCredsOps (see tls_creds_check_peer()). */
bool x509_check_peer(TlsCreds *c, gnutls_session_t session,
                     const char *hostname, char **identity, Error **errp);

#endif
