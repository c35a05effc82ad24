/*
 * tls-creds-anon: encryption without authentication (qapi/crypto.json).
 */
#include "system/object-types.h"
#include "system/tls-creds-impl.h"

typedef struct AnonCreds {
    gnutls_anon_client_credentials_t client;
    gnutls_anon_server_credentials_t server;
} AnonCreds;

static bool anon_load(TlsCreds *c, const ObjectOptions *opts, Error **errp)
{
    const TlsCredsAnonProperties *p = &opts->u.tls_creds_anon;
    AnonCreds *a;
    int ret;

    if (p->has_verify_peer && p->verify_peer) {
        error_setg(errp, "'verify-peer' must be off: anonymous credentials "
                   "cannot verify the peer");
        return false;
    }
    /* Off by default here, unlike the other kinds. */
    c->verify_peer = false;
    if (c->dir) {
        error_setg(errp, "'dir' is not used by anonymous credentials");
        return false;
    }
    a = c->impl = g_new0(AnonCreds, 1);
    if (c->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER) {
        ret = gnutls_anon_allocate_server_credentials(&a->server);
        /* The DHE exchange needs a group when the client does not
         * negotiate one; a well-known one saves generating it. */
        if (ret >= 0) {
            ret = gnutls_anon_set_server_known_dh_params(
                a->server, GNUTLS_SEC_PARAM_MEDIUM);
        }
    } else {
        ret = gnutls_anon_allocate_client_credentials(&a->client);
    }
    if (ret < 0) {
        tls_creds_error(errp, ret, "cannot set up anonymous credentials");
        return false;
    }
    return true;
}

static void anon_free(TlsCreds *c)
{
    AnonCreds *a = c->impl;

    if (a->server) {
        gnutls_anon_free_server_credentials(a->server);
    }
    if (a->client) {
        gnutls_anon_free_client_credentials(a->client);
    }
    g_free(a);
}

static bool anon_set_credentials(TlsCreds *c, gnutls_session_t session,
                                 Error **errp)
{
    AnonCreds *a = c->impl;
    int ret = gnutls_credentials_set(session, GNUTLS_CRD_ANON,
                                     a->server ? (void *)a->server
                                               : (void *)a->client);

    if (ret < 0) {
        tls_creds_error(errp, ret, "cannot use credentials '%s'", c->id);
        return false;
    }
    return true;
}

static const TlsCredsOps anon_ops = {
    .kind = "anon",
    /* TLS 1.3 has no anonymous key exchange: these make gnutls settle
     * on TLS 1.2 when both ends are anonymous. */
    .priority_extra = ":+ANON-ECDH:+ANON-DH",
    .load = anon_load,
    .free = anon_free,
    .set_credentials = anon_set_credentials,
};

static void *anon_create(const ObjectOptions *opts, Error **errp)
{
    return tls_creds_create(&anon_ops, opts,
                            (const TlsCredsProperties *)
                            &opts->u.tls_creds_anon, errp);
}

const ObjectTypeInfo tls_creds_anon_info = {
    .create = anon_create,
    .destroy = tls_creds_destroy,
    .in_use = tls_creds_in_use,
    .in_use_reason = OBJECT_IN_USE_BY_MIGRATION,
};
