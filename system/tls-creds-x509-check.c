/*
 * The certificate checks of tls-creds-x509: at creation (sanity-check)
 * and of the peer after a handshake.  Both describe gnutls's
 * verification status in words, naming the certificate.
 */
#include "system/tls-creds-x509.h"

#include <arpa/inet.h>
#include <string.h>
#include <time.h>

/* The most certificates read from one PEM file. */
#define X509_MAX_CHAIN 64

static char *format_time(time_t t)
{
    struct tm tm;
    char buf[64];

    if (t == (time_t)-1 || !gmtime_r(&t, &tm) ||
        !strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm)) {
        return g_strdup("an unreadable date");
    }
    return g_strdup(buf);
}

/*
 * The problems @status reports about the certificate (chain) whose
 * first certificate is @leaf, named @subject ("the client's
 * certificate", "DIR/server-cert.pem"): one sentence per problem.
 */
static char *status_text(unsigned status, gnutls_x509_crt_t leaf,
                         const char *subject)
{
    static const struct {
        unsigned bit;
        const char *text;
    } texts[] = {
        { GNUTLS_CERT_REVOKED, "has been revoked (ca-crl.pem)" },
        { GNUTLS_CERT_SIGNER_NOT_FOUND,
          "is not signed by a CA of ca-cert.pem (signer not found: another "
          "CA?)" },
        { GNUTLS_CERT_SIGNER_NOT_CA, "is signed by a certificate that is "
          "not a CA" },
        { GNUTLS_CERT_INSECURE_ALGORITHM, "is signed with an insecure "
          "algorithm" },
        { GNUTLS_CERT_SIGNATURE_FAILURE, "has a signature that does not "
          "verify" },
        { GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE, "breaks its signer's "
          "constraints" },
        { GNUTLS_CERT_PURPOSE_MISMATCH, "is not for this use (its key "
          "purpose)" },
        { GNUTLS_CERT_UNEXPECTED_OWNER, "is not for the expected host" },
        { GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED, "was checked against an "
          "outdated ca-crl.pem" },
        { GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE, "was checked "
          "against a ca-crl.pem dated in the future" },
        { GNUTLS_CERT_UNKNOWN_CRIT_EXTENSIONS, "has an unknown critical "
          "extension" },
        { GNUTLS_CERT_MISMATCH, "is not the certificate expected" },
    };
    time_t now = time(NULL);
    time_t not_after = gnutls_x509_crt_get_expiration_time(leaf);
    time_t not_before = gnutls_x509_crt_get_activation_time(leaf);
    g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *joined = NULL;

    if (status & GNUTLS_CERT_EXPIRED) {
        g_autofree char *when = format_time(not_after);

        g_ptr_array_add(parts, now > not_after
            ? g_strdup_printf("has expired (notAfter %s)", when)
            : g_strdup("has an expired CA certificate in its chain"));
    }
    if (status & GNUTLS_CERT_NOT_ACTIVATED) {
        g_autofree char *when = format_time(not_before);

        g_ptr_array_add(parts, now < not_before
            ? g_strdup_printf("is not valid yet (notBefore %s)", when)
            : g_strdup("has a CA certificate in its chain that is not "
                       "valid yet"));
    }
    for (size_t i = 0; i < G_N_ELEMENTS(texts); i++) {
        if (status & texts[i].bit) {
            g_ptr_array_add(parts, g_strdup(texts[i].text));
        }
    }
    if (parts->len == 0) {
        g_ptr_array_add(parts, g_strdup_printf("is not valid (gnutls "
                                               "status 0x%x)", status));
    }
    g_ptr_array_add(parts, NULL);
    joined = g_strjoinv("; it ", (char **)parts->pdata);
    return g_strdup_printf("%s %s", subject, joined);
}

/* What the certificate is for ("dst.example.org, 192.0.2.1"): its
 * subject alternative names, else its common name. */
static char *cert_names(gnutls_x509_crt_t crt)
{
    g_autoptr(GString) names = g_string_new("");
    char buf[256];

    for (unsigned i = 0;; i++) {
        size_t size = sizeof(buf);
        int type = gnutls_x509_crt_get_subject_alt_name(crt, i, buf, &size,
                                                        NULL);

        if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
            break;
        }
        if (type == GNUTLS_SAN_DNSNAME) {
            g_string_append_printf(names, "%s%s", names->len ? ", " : "",
                                   buf);
        } else if (type == GNUTLS_SAN_IPADDRESS && (size == 4 || size == 16)) {
            char ip[INET6_ADDRSTRLEN];

            if (!inet_ntop(size == 4 ? AF_INET : AF_INET6, buf, ip,
                           sizeof(ip))) {
                continue;
            }
            g_string_append_printf(names, "%s%s", names->len ? ", " : "", ip);
        }
    }
    if (names->len == 0) {
        size_t size = sizeof(buf);

        if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                          0, buf, &size) >= 0) {
            g_string_append(names, buf);
        } else {
            g_string_append(names, "no name");
        }
    }
    return g_string_free(g_steal_pointer(&names), FALSE);
}

/* @crt's DN, RFC 4514 as gnutls writes it. */
static char *cert_dn(gnutls_x509_crt_t crt)
{
    gnutls_datum_t dn = { 0 };
    char *copy;

    if (gnutls_x509_crt_get_dn3(crt, &dn, 0) < 0) {
        return NULL;
    }
    copy = g_strndup((char *)dn.data, dn.size);
    gnutls_free(dn.data);
    return copy;
}

/* Whether @crt's key usage and purpose fit @endpoint's certificate. */
static bool check_usage(gnutls_x509_crt_t crt,
                        QCryptoTLSCredsEndpoint endpoint, const char *subject,
                        Error **errp)
{
    bool server = endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;
    const char *want = server ? GNUTLS_KP_TLS_WWW_SERVER
                              : GNUTLS_KP_TLS_WWW_CLIENT;
    unsigned usage = 0, ca = 0;
    bool any_purpose = false, found = false;
    int ret;

    if (gnutls_x509_crt_get_basic_constraints(crt, NULL, &ca, NULL) >= 0 &&
        ca) {
        error_setg(errp, "%s is a CA certificate, not a TLS %s's", subject,
                   server ? "server" : "client");
        return false;
    }
    ret = gnutls_x509_crt_get_key_usage(crt, &usage, NULL);
    if (ret >= 0 && !(usage & (GNUTLS_KEY_DIGITAL_SIGNATURE |
                               GNUTLS_KEY_KEY_ENCIPHERMENT))) {
        error_setg(errp, "%s has neither the digitalSignature nor the "
                   "keyEncipherment key usage a TLS %s needs", subject,
                   server ? "server" : "client");
        return false;
    }
    for (unsigned i = 0;; i++) {
        char oid[128];
        size_t size = sizeof(oid);

        ret = gnutls_x509_crt_get_key_purpose_oid(crt, i, oid, &size, NULL);
        if (ret < 0) {
            break;
        }
        any_purpose = true;
        found |= strcmp(oid, want) == 0 || strcmp(oid, GNUTLS_KP_ANY) == 0;
    }
    if (any_purpose && !found) {
        error_setg(errp, "%s is not for a TLS %s: its extended key usage "
                   "lacks TLS WWW %s", subject,
                   server ? "server" : "client", server ? "server" : "client");
        return false;
    }
    return true;
}

typedef struct CrtList {
    gnutls_x509_crt_t *crts;
    unsigned n;
} CrtList;

static void crt_list_clear(CrtList *l)
{
    for (unsigned i = 0; i < l->n; i++) {
        gnutls_x509_crt_deinit(l->crts[i]);
    }
    gnutls_free(l->crts);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CrtList, crt_list_clear)

static bool crt_list_import(const X509File *f, CrtList *l, Error **errp)
{
    int ret = gnutls_x509_crt_list_import2(&l->crts, &l->n, &f->pem,
                                           GNUTLS_X509_FMT_PEM, 0);

    if (ret < 0) {
        l->crts = NULL;
        l->n = 0;
        tls_creds_error(errp, ret, "%s holds no readable certificate",
                        f->path);
        return false;
    }
    if (l->n > X509_MAX_CHAIN) {
        error_setg(errp, "%s holds %u certificates, more than %d", f->path,
                   l->n, X509_MAX_CHAIN);
        return false;
    }
    return true;
}

/* The current validity of one certificate of a file. */
static bool check_dates(gnutls_x509_crt_t crt, const char *subject,
                        Error **errp)
{
    unsigned status = 0;
    time_t now = time(NULL);

    if (gnutls_x509_crt_get_expiration_time(crt) < now) {
        status |= GNUTLS_CERT_EXPIRED;
    }
    if (gnutls_x509_crt_get_activation_time(crt) > now) {
        status |= GNUTLS_CERT_NOT_ACTIVATED;
    }
    if (status) {
        g_autofree char *text = status_text(status, crt, subject);

        error_setg(errp, "%s", text);
        return false;
    }
    return true;
}

bool x509_sanity_check(const X509File *ca, const X509File *crl,
                       const X509File *cert, QCryptoTLSCredsEndpoint endpoint,
                       Error **errp)
{
    g_auto(CrtList) cas = { 0 };
    g_auto(CrtList) chain = { 0 };
    gnutls_x509_crl_t *crls = NULL;
    unsigned ncrls = 0, status = 0;
    int ret;

    if (!crt_list_import(ca, &cas, errp)) {
        return false;
    }
    for (unsigned i = 0; i < cas.n; i++) {
        unsigned is_ca = 0;

        if (!check_dates(cas.crts[i], ca->path, errp)) {
            return false;
        }
        if (gnutls_x509_crt_get_basic_constraints(cas.crts[i], NULL, &is_ca,
                                                  NULL) < 0 || !is_ca) {
            error_setg(errp, "%s: certificate %u is not a CA (its basic "
                       "constraints do not say CA:TRUE)", ca->path, i + 1);
            return false;
        }
    }
    if (!cert->pem.data) {
        return true;
    }
    if (!crt_list_import(cert, &chain, errp) ||
        !check_dates(chain.crts[0], cert->path, errp) ||
        !check_usage(chain.crts[0], endpoint, cert->path, errp)) {
        return false;
    }
    if (crl->pem.data) {
        ret = gnutls_x509_crl_list_import2(&crls, &ncrls, &crl->pem,
                                           GNUTLS_X509_FMT_PEM, 0);
        if (ret < 0) {
            tls_creds_error(errp, ret, "cannot read %s", crl->path);
            return false;
        }
    }
    ret = gnutls_x509_crt_list_verify(chain.crts, chain.n, cas.crts, cas.n,
                                      crls, ncrls, 0, &status);
    for (unsigned i = 0; i < ncrls; i++) {
        gnutls_x509_crl_deinit(crls[i]);
    }
    gnutls_free(crls);
    if (ret < 0) {
        tls_creds_error(errp, ret, "cannot verify %s", cert->path);
        return false;
    }
    if (status) {
        g_autofree char *text = status_text(status, chain.crts[0],
                                            cert->path);

        error_setg(errp, "%s", text);
        return false;
    }
    return true;
}

bool x509_check_peer(TlsCreds *c, gnutls_session_t session,
                     const char *hostname, char **identity, Error **errp)
{
    bool server = c->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;
    const char *peer = server ? "client" : "server";
    g_autofree char *subject = g_strdup_printf("the %s's certificate", peer);
    gnutls_typed_vdata_st purpose = {
        .type = GNUTLS_DT_KEY_PURPOSE_OID,
        .data = (unsigned char *)(server ? GNUTLS_KP_TLS_WWW_CLIENT
                                         : GNUTLS_KP_TLS_WWW_SERVER),
    };
    const gnutls_datum_t *certs;
    unsigned ncerts = 0, status = 0;
    gnutls_x509_crt_t leaf = NULL;
    bool ok = false;
    int ret;

    /* An unverified certificate proves nothing: no identity either. */
    if (!c->verify_peer) {
        return true;
    }
    if (gnutls_certificate_type_get(session) != GNUTLS_CRT_X509 ||
        !(certs = gnutls_certificate_get_peers(session, &ncerts)) ||
        ncerts == 0) {
        error_setg(errp, "the %s presented no certificate, and credentials "
                   "'%s' verify peers", peer, c->id);
        return false;
    }
    ret = gnutls_certificate_verify_peers(session, &purpose, 1, &status);
    if (ret < 0) {
        tls_creds_error(errp, ret, "cannot verify %s", subject);
        return false;
    }
    if (gnutls_x509_crt_init(&leaf) < 0 ||
        gnutls_x509_crt_import(leaf, &certs[0], GNUTLS_X509_FMT_DER) < 0) {
        error_setg(errp, "%s cannot be read", subject);
        goto out;
    }
    if (status) {
        g_autofree char *text = status_text(status, leaf, subject);

        error_setg(errp, "%s", text);
        goto out;
    }
    if (!server) {
        g_autofree char *names = NULL;

        if (!hostname || !*hostname) {
            error_setg(errp, "no host name to check %s against (set "
                       "tls-hostname)", subject);
            goto out;
        }
        if (!gnutls_x509_crt_check_hostname2(leaf, hostname, 0)) {
            names = cert_names(leaf);
            error_setg(errp, "%s is for '%s', not '%s'", subject, names,
                       hostname);
            goto out;
        }
    }
    *identity = cert_dn(leaf);
    ok = true;
out:
    if (leaf) {
        gnutls_x509_crt_deinit(leaf);
    }
    return ok;
}
