/*
 * What the three kinds of TLS credentials (tls-creds-x509.c,
 * tls-creds-psk.c, tls-creds-anon.c) share with tls-creds.c, which
 * holds the common part: the object's base properties, its priority,
 * holds, sessions and the object type glue.
 */
#ifndef VMIG_SYSTEM_TLS_CREDS_IMPL_H
#define VMIG_SYSTEM_TLS_CREDS_IMPL_H

#include "system/tls-creds.h"

/* What each kind does. */
typedef struct TlsCredsOps {
    const char *kind;               /* tls_creds_kind() */
    /* Appended to the priority string: the key exchanges the kind needs
     * that "NORMAL" lacks (NULL: none). */
    const char *priority_extra;
    /* Reads the kind's files and sets c->impl; errp names the file. */
    bool (*load)(TlsCreds *c, const ObjectOptions *opts, Error **errp);
    void (*free)(TlsCreds *c);
    /* Gives @session the credentials. */
    bool (*set_credentials)(TlsCreds *c, gnutls_session_t session,
                            Error **errp);
    /* NULL: the handshake proved all there is (anon) and there is no
     * identity. */
    bool (*check_peer)(TlsCreds *c, gnutls_session_t session,
                       const char *hostname, char **identity, Error **errp);
} TlsCredsOps;

struct TlsCreds {
    const TlsCredsOps *ops;
    char *id;
    char *dir;                      /* NULL if not given */
    QCryptoTLSCredsEndpoint endpoint;
    bool verify_peer;
    gnutls_priority_t priority;     /* shared, read-only, by every session */
    int holds;                      /* atomic */
    void *impl;                     /* the kind's own */
};

/*
 * The object type functions of a kind: create builds the common part
 * from @base (the kind's properties start with TlsCredsProperties'
 * members), then calls ops->load.
 */
void *tls_creds_create(const TlsCredsOps *ops, const ObjectOptions *opts,
                       const TlsCredsProperties *base, Error **errp);
void tls_creds_destroy(void *impl);
bool tls_creds_in_use(void *impl);

/* "DIR/NAME", for the kinds' files. */
char *tls_creds_path(const TlsCreds *c, const char *name);

/* A gnutls error as a message: "@what: gnutls's text". */
void tls_creds_error(Error **errp, int ret, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

#endif
