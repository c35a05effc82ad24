/*
 * The part of TLS credentials objects common to x509, PSK and anon:
 * see include/system/tls-creds.h and system/tls-creds-impl.h.
 */
#include "system/tls-creds-impl.h"

#include <stdarg.h>

#include "system/object-types.h"
#include "system/object.h"
#include "util/atomic.h"
#include "util/main-thread.h"

void tls_creds_error(Error **errp, int ret, const char *fmt, ...)
{
    g_autofree char *what = NULL;
    va_list ap;

    va_start(ap, fmt);
    what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_setg(errp, "%s: %s", what, gnutls_strerror(ret));
}

char *tls_creds_path(const TlsCreds *c, const char *name)
{
    return g_build_filename(c->dir, name, NULL);
}

static bool set_priority(TlsCreds *c, const char *base, Error **errp)
{
    g_autofree char *prio = g_strconcat(base, c->ops->priority_extra, NULL);
    const char *where = NULL;
    int ret = gnutls_priority_init(&c->priority, prio, &where);

    if (ret < 0) {
        c->priority = NULL;
        /* @where points into @prio, at what gnutls could not parse. */
        error_setg(errp, "'priority': invalid GnuTLS priority string "
                   "'%s'%s%s%s: %s", base,
                   where ? " at '" : "", where ? where : "",
                   where ? "'" : "", gnutls_strerror(ret));
        return false;
    }
    return true;
}

void *tls_creds_create(const TlsCredsOps *ops, const ObjectOptions *opts,
                       const TlsCredsProperties *base, Error **errp)
{
    TlsCreds *c = g_new0(TlsCreds, 1);

    c->ops = ops;
    c->id = g_strdup(opts->id);
    c->dir = g_strdup(base->dir);
    c->endpoint = base->has_endpoint ? base->endpoint
                                     : QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT;
    c->verify_peer = base->has_verify_peer ? base->verify_peer : true;
    if (!set_priority(c, base->priority ? base->priority : "NORMAL", errp) ||
        !ops->load(c, opts, errp)) {
        tls_creds_destroy(c);
        return NULL;
    }
    return c;
}

void tls_creds_destroy(void *impl)
{
    TlsCreds *c = impl;

    g_assert(qatomic_read(&c->holds) == 0);
    if (c->impl) {
        c->ops->free(c);
    }
    if (c->priority) {
        gnutls_priority_deinit(c->priority);
    }
    g_free(c->dir);
    g_free(c->id);
    g_free(c);
}

bool tls_creds_in_use(void *impl)
{
    return qatomic_read(&((TlsCreds *)impl)->holds) > 0;
}

TlsCreds *tls_creds_find(const char *id, Error **errp)
{
    ObjectType type;

    assert_main_thread();
    if (!object_find_type(id, &type)) {
        error_setg(errp, "TLS credentials '%s' do not exist", id);
        return NULL;
    }
    if (type != OBJECT_TYPE_TLS_CREDS_X509 &&
        type != OBJECT_TYPE_TLS_CREDS_PSK &&
        type != OBJECT_TYPE_TLS_CREDS_ANON) {
        error_setg(errp, "object '%s' is a %s, not TLS credentials", id,
                   ObjectType_str(type));
        return NULL;
    }
    return object_find(id, type);
}

const char *tls_creds_id(const TlsCreds *c)
{
    return c->id;
}

const char *tls_creds_kind(const TlsCreds *c)
{
    return c->ops->kind;
}

QCryptoTLSCredsEndpoint tls_creds_endpoint(const TlsCreds *c)
{
    return c->endpoint;
}

bool tls_creds_verifies_peer(const TlsCreds *c)
{
    return c->verify_peer;
}

void tls_creds_hold(TlsCreds *c)
{
    qatomic_inc(&c->holds);
}

void tls_creds_release(TlsCreds *c)
{
    int before = qatomic_fetch_dec(&c->holds);

    g_assert(before > 0);
}

gnutls_session_t tls_creds_new_session(TlsCreds *c, const char *hostname,
                                       Error **errp)
{
    bool server = c->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;
    gnutls_session_t s = NULL;
    int ret;

    ret = gnutls_init(&s, server ? GNUTLS_SERVER : GNUTLS_CLIENT);
    if (ret < 0) {
        tls_creds_error(errp, ret, "cannot start a TLS session with "
                        "credentials '%s'", c->id);
        return NULL;
    }
    ret = gnutls_priority_set(s, c->priority);
    if (ret < 0) {
        tls_creds_error(errp, ret, "cannot set the priority of credentials "
                        "'%s'", c->id);
        goto fail;
    }
    if (!c->ops->set_credentials(c, s, errp)) {
        goto fail;
    }
    /* Server Name Indication carries DNS names only (RFC 6066). */
    if (!server && hostname && *hostname &&
        !g_hostname_is_ip_address(hostname)) {
        ret = gnutls_server_name_set(s, GNUTLS_NAME_DNS, hostname,
                                     strlen(hostname));
        if (ret < 0) {
            tls_creds_error(errp, ret, "cannot send server name '%s'",
                            hostname);
            goto fail;
        }
    }
    return s;

fail:
    gnutls_deinit(s);
    return NULL;
}

bool tls_creds_check_peer(TlsCreds *c, gnutls_session_t session,
                          const char *hostname, char **identity,
                          Error **errp)
{
    g_autofree char *id = NULL;

    if (c->ops->check_peer &&
        !c->ops->check_peer(c, session, hostname, &id, errp)) {
        return false;
    }
    if (identity) {
        *identity = g_steal_pointer(&id);
    }
    return true;
}
