/*
 * TLS for a migration's channels: see tls.h.
 */
#include "migration/transport/tls.h"

#include <string.h>

#include "io/channel-tls.h"
#include "system/authz.h"
#include "system/tls-creds.h"
#include "util/main-thread.h"

struct MigTls {
    TlsCreds *creds;            /* held */
    Authz *authz;               /* destination, held; NULL: none */
    char *hostname;             /* source: the name to check, or NULL */
};

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

bool mig_tls_new(const MigrationConfig *cfg, const MigrationAddress *addr,
                 bool source, MigTls **out, Error **errp)
{
    QCryptoTLSCredsEndpoint want = source ? QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT
                                          : QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;
    g_autoptr(MigTls) t = NULL;
    TlsCreds *creds;

    assert_main_thread();
    *out = NULL;
    if (!nonempty(cfg->tls_creds)) {
        return true;
    }
    creds = tls_creds_find(cfg->tls_creds, errp);
    if (!creds) {
        error_prepend(errp, "tls-creds: ");
        return false;
    }
    if (tls_creds_endpoint(creds) != want) {
        error_setg(errp, "tls-creds: TLS credentials '%s' are for the %s "
                   "end, and this is the %s", cfg->tls_creds,
                   source ? "server" : "client",
                   source ? "source (client)" : "destination (server)");
        return false;
    }
    t = g_new0(MigTls, 1);
    tls_creds_hold(creds);
    t->creds = creds;
    if (!source && nonempty(cfg->tls_authz)) {
        t->authz = authz_find(cfg->tls_authz, errp);
        if (!t->authz) {
            error_prepend(errp, "tls-authz: ");
            return false;
        }
        authz_hold(t->authz);
    }
    if (source) {
        if (nonempty(cfg->tls_hostname)) {
            t->hostname = g_strdup(cfg->tls_hostname);
        } else if (addr->transport == MIGRATION_ADDRESS_TYPE_SOCKET &&
                   addr->u.socket.type == SOCKET_ADDRESS_TYPE_INET) {
            t->hostname = g_strdup(addr->u.socket.u.inet.host);
        }
    }
    *out = g_steal_pointer(&t);
    return true;
}

void mig_tls_free(MigTls *t)
{
    if (!t) {
        return;
    }
    if (t->authz) {
        assert_main_thread();
        authz_release(t->authz);
    }
    if (t->creds) {
        tls_creds_release(t->creds);
    }
    g_free(t->hostname);
    g_free(t);
}

/* Each session holds its credentials until the channel frees it. */
static void release_creds(gpointer opaque)
{
    tls_creds_release(opaque);
}

static QIOChannel *wrap(MigTls *t, QIOChannel *ioc, Error **errp)
{
    g_autoptr(QIOChannel) inner = ioc;
    gnutls_session_t session = tls_creds_new_session(t->creds, t->hostname,
                                                     errp);

    if (!session) {
        error_prepend(errp, "TLS for '%s': ", qio_channel_get_name(inner));
        return NULL;
    }
    tls_creds_hold(t->creds);
    return qio_channel_tls_new(inner, session, release_creds, t->creds);
}

QIOChannel *mig_tls_client(MigTls *t, QIOChannel *ioc, gint64 deadline,
                           Error **errp)
{
    g_autoptr(QIOChannel) tls = wrap(t, ioc, errp);
    g_autofree char *identity = NULL;
    Error *err = NULL;

    if (!tls) {
        return NULL;
    }
    if (!qio_channel_tls_handshake(tls, deadline, -1, &err)) {
        /* gnutls cannot tell a wrong key from other refusals; with PSK
         * it is by far the likeliest, so say it. */
        if (!strcmp(tls_creds_kind(t->creds), "psk") &&
            strstr(error_get_pretty(err), "TLS alert")) {
            error_setg(errp, "%s (with PSK credentials: the destination "
                       "has another key for this username, or none)",
                       error_get_pretty(err));
            error_free(err);
        } else {
            error_propagate(errp, err);
        }
        return NULL;
    }
    if (!tls_creds_check_peer(t->creds, qio_channel_tls_get_session(tls),
                              t->hostname, &identity, errp)) {
        /* So the destination's warning says why we hung up. */
        gnutls_alert_send(qio_channel_tls_get_session(tls), GNUTLS_AL_FATAL,
                          GNUTLS_A_BAD_CERTIFICATE);
        error_prepend(errp, "TLS with the destination '%s': ",
                      qio_channel_get_name(tls));
        return NULL;
    }
    qio_channel_tls_set_peer_identity(tls, identity);
    return g_steal_pointer(&tls);
}

QIOChannel *mig_tls_server(MigTls *t, QIOChannel *ioc, Error **errp)
{
    return wrap(t, ioc, errp);
}

bool mig_tls_check_client(MigTls *t, QIOChannel *tls, Error **errp)
{
    g_autofree char *identity = NULL;

    assert_main_thread();
    if (!tls_creds_check_peer(t->creds, qio_channel_tls_get_session(tls),
                              NULL, &identity, errp)) {
        return false;
    }
    qio_channel_tls_set_peer_identity(tls, identity);
    return !t->authz || authz_is_allowed(t->authz, identity, errp);
}

static const char *kind_name(gnutls_credentials_type_t type)
{
    switch (type) {
    case GNUTLS_CRD_CERTIFICATE:
        return "x509";
    case GNUTLS_CRD_PSK:
        return "psk";
    case GNUTLS_CRD_ANON:
        return "anon";
    default:
        return "unknown";
    }
}

MigrationTlsInfo *mig_tls_channel_info(QIOChannel *ioc)
{
    MigrationTlsInfo *info;
    gnutls_session_t session;
    const char *id;

    if (!qio_channel_is_tls(ioc) || !qio_channel_tls_handshake_done(ioc)) {
        return NULL;
    }
    session = qio_channel_tls_get_session(ioc);
    id = qio_channel_tls_get_peer_identity(ioc);
    info = g_new0(MigrationTlsInfo, 1);
    info->kind = g_strdup(kind_name(gnutls_auth_get_type(session)));
    info->protocol = g_strdup(gnutls_protocol_get_name(
                                  gnutls_protocol_get_version(session)));
    info->cipher = g_strdup(gnutls_cipher_get_name(
                                gnutls_cipher_get(session)));
    info->peer_identity = g_strdup(id);
    return info;
}
