/*
 * tls-creds-x509: certificates (qapi/crypto.json).  This file reads
 * them into gnutls credentials; tls-creds-x509-check.c checks them.
 */
#include "system/tls-creds-x509.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "system/object-types.h"
#include "system/secret.h"
#include "util/small-file.h"

/* PEM certificate chains, CRLs and keys are a few KiB; a CA bundle can
 * be a few hundred. */
#define X509_FILE_MAX (4 * 1024 * 1024)

static void x509_file_clear(X509File *f)
{
    if (f->pem.data) {
        explicit_bzero(f->pem.data, f->pem.size);
        g_free(f->pem.data);
    }
    g_free(f->path);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(X509File, x509_file_clear)

/* Reads DIR/@name into @f; an absent file is an error only if
 * @required. */
static bool x509_file_read(TlsCreds *c, const char *name, bool required,
                           X509File *f, Error **errp)
{
    char *text;
    size_t len;

    f->path = tls_creds_path(c, name);
    if (!required && access(f->path, F_OK) < 0 && errno == ENOENT) {
        return true;
    }
    if (!small_file_read(f->path, X509_FILE_MAX, &text, &len, errp)) {
        return false;
    }
    f->pem.data = (unsigned char *)text;
    f->pem.size = len;
    return true;
}

/* The password of the key, from secret @id. */
static char *key_password(const char *id, Error **errp)
{
    size_t len;
    g_autofree uint8_t *pw = secret_lookup(id, &len, errp);

    if (!pw) {
        error_prepend(errp, "'passwordid': ");
        return NULL;
    }
    if (memchr(pw, '\0', len)) {
        explicit_bzero(pw, len);
        error_setg(errp, "'passwordid': secret '%s' contains a NUL byte, "
                   "which a key password cannot", id);
        return NULL;
    }
    return (char *)g_steal_pointer(&pw);
}

static bool load_key(gnutls_certificate_credentials_t cred,
                     const X509File *cert, const X509File *key,
                     const char *passwordid, Error **errp)
{
    g_autofree char *password = NULL;
    int ret;

    if (passwordid && !(password = key_password(passwordid, errp))) {
        return false;
    }
    ret = gnutls_certificate_set_x509_key_mem2(cred, &cert->pem, &key->pem,
                                               GNUTLS_X509_FMT_PEM, password,
                                               0);
    if (password) {
        explicit_bzero(password, strlen(password));
    }
    if (ret >= 0) {
        return true;
    }
    switch (ret) {
    case GNUTLS_E_DECRYPTION_FAILED:
        if (passwordid) {
            error_setg(errp, "wrong password for %s (secret '%s')", key->path,
                       passwordid);
        } else {
            error_setg(errp, "%s is encrypted: give its password with "
                       "'passwordid'", key->path);
        }
        break;
    case GNUTLS_E_CERTIFICATE_KEY_MISMATCH:
        error_setg(errp, "%s is not the key of %s", key->path, cert->path);
        break;
    default:
        tls_creds_error(errp, ret, "cannot load %s with %s", cert->path,
                        key->path);
    }
    return false;
}

/* The files of @c's end: "server" or "client" certificate and key. */
static bool load_own(TlsCreds *c, gnutls_certificate_credentials_t cred,
                     const char *passwordid, X509File *cert, Error **errp)
{
    bool server = c->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;
    const char *end = server ? "server" : "client";
    /* As QEMU: a client may go without a certificate (a server that
     * verifies peers then refuses it, saying so). */
    bool required = server;
    g_autofree char *cert_name = g_strdup_printf("%s-cert.pem", end);
    g_autofree char *key_name = g_strdup_printf("%s-key.pem", end);
    g_auto(X509File) key = { 0 };

    if (!x509_file_read(c, cert_name, required, cert, errp) ||
        !x509_file_read(c, key_name, required, &key, errp)) {
        return false;
    }
    if (!server && !cert->pem.data && !key.pem.data) {
        g_autofree char *theirs = tls_creds_path(c, "server-cert.pem");

        /* A server's folder given to a client: the wrong endpoint, not
         * a client without a certificate. */
        if (access(theirs, F_OK) == 0) {
            error_setg(errp, "%s holds server-cert.pem but no "
                       "client-cert.pem: these are a server's credentials "
                       "(endpoint=server)", c->dir);
            return false;
        }
    }
    if (!cert->pem.data != !key.pem.data) {
        error_setg(errp, "%s has no %s beside it",
                   cert->pem.data ? cert->path : key.path,
                   cert->pem.data ? key_name : cert_name);
        return false;
    }
    if (!cert->pem.data) {
        if (passwordid) {
            error_setg(errp, "'passwordid' is given but there is no %s",
                       key.path);
            return false;
        }
        return true;
    }
    return load_key(cred, cert, &key, passwordid, errp);
}

static bool x509_load(TlsCreds *c, const ObjectOptions *opts, Error **errp)
{
    const TlsCredsX509Properties *p = &opts->u.tls_creds_x509;
    g_auto(X509File) ca = { 0 };
    g_auto(X509File) crl = { 0 };
    g_auto(X509File) cert = { 0 };
    gnutls_certificate_credentials_t cred;
    int ret;

    if (!c->dir) {
        error_setg(errp, "'dir' is required: the directory of ca-cert.pem "
                   "and the certificates");
        return false;
    }
    ret = gnutls_certificate_allocate_credentials(&cred);
    if (ret < 0) {
        tls_creds_error(errp, ret, "cannot set up certificate credentials");
        return false;
    }
    c->impl = cred;

    if (!x509_file_read(c, "ca-cert.pem", true, &ca, errp)) {
        return false;
    }
    ret = gnutls_certificate_set_x509_trust_mem(cred, &ca.pem,
                                                GNUTLS_X509_FMT_PEM);
    if (ret == 0) {
        error_setg(errp, "%s holds no certificate", ca.path);
        return false;
    }
    if (ret < 0) {
        tls_creds_error(errp, ret, "cannot load %s", ca.path);
        return false;
    }

    if (!x509_file_read(c, "ca-crl.pem", false, &crl, errp)) {
        return false;
    }
    if (crl.pem.data) {
        ret = gnutls_certificate_set_x509_crl_mem(cred, &crl.pem,
                                                  GNUTLS_X509_FMT_PEM);
        if (ret < 0) {
            tls_creds_error(errp, ret, "cannot load %s", crl.path);
            return false;
        }
    }

    if (!load_own(c, cred, p->passwordid, &cert, errp)) {
        return false;
    }
    if ((!p->has_sanity_check || p->sanity_check) &&
        !x509_sanity_check(&ca, &crl, &cert, c->endpoint, errp)) {
        return false;
    }
    if (c->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER) {
        /* For a DHE exchange with a client that names no group. */
        ret = gnutls_certificate_set_known_dh_params(cred,
                                                     GNUTLS_SEC_PARAM_MEDIUM);
        if (ret < 0) {
            tls_creds_error(errp, ret, "cannot set DH parameters");
            return false;
        }
    }
    return true;
}

static void x509_free(TlsCreds *c)
{
    gnutls_certificate_free_credentials(c->impl);
}

static bool x509_set_credentials(TlsCreds *c, gnutls_session_t session,
                                 Error **errp)
{
    int ret = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE,
                                     c->impl);

    if (ret < 0) {
        tls_creds_error(errp, ret, "cannot use credentials '%s'", c->id);
        return false;
    }
    /* REQUEST, not REQUIRE: a client without a certificate completes the
     * handshake, and x509_check_peer() refuses it in words the client
     * can be sent inside TLS. */
    if (c->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER) {
        gnutls_certificate_server_set_request(
            session,
            c->verify_peer ? GNUTLS_CERT_REQUEST : GNUTLS_CERT_IGNORE);
        /* Without the list of our CAs, a client sends its certificate
         * even if another CA signed it, and hears that, rather than
         * "no certificate". */
        gnutls_certificate_send_x509_rdn_sequence(session, 1);
    }
    return true;
}

static const TlsCredsOps x509_ops = {
    .kind = "x509",
    .load = x509_load,
    .free = x509_free,
    .set_credentials = x509_set_credentials,
    .check_peer = x509_check_peer,
};

static void *x509_create(const ObjectOptions *opts, Error **errp)
{
    return tls_creds_create(&x509_ops, opts,
                            (const TlsCredsProperties *)
                            &opts->u.tls_creds_x509, errp);
}

const ObjectTypeInfo tls_creds_x509_info = {
    .create = x509_create,
    .destroy = tls_creds_destroy,
    .in_use = tls_creds_in_use,
    .in_use_reason = OBJECT_IN_USE_BY_MIGRATION,
};
