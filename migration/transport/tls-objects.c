/*
 * Looks up tls-creds and tls-authz for the validator.
 * See migration/transport/tls-objects.h.
 */
#include "migration/transport/tls-objects.h"

#include <string.h>

#include "system/authz.h"
#include "system/tls-creds.h"
#include "util/cutils.h"

/* An id too long to quote whole exists nowhere: say so shortly, since
 * the registry's message would echo it (a 100 KB -incoming option). */
#define QUOTED_ID_MAX 128

static bool unquotable(const char *id, const char *what, Error **errp)
{
    g_autofree char *shown = NULL;

    if (strlen(id) <= QUOTED_ID_MAX) {
        return false;
    }
    shown = str_abbrev(id);
    error_setg(errp, "%s '%s' do not exist", what, shown);
    return true;
}

static bool lookup_tls_creds(const char *id, MigrationTlsCredsFacts *facts,
                             Error **errp)
{
    TlsCreds *c;

    if (unquotable(id, "TLS credentials", errp)) {
        return false;
    }
    c = tls_creds_find(id, errp);
    if (!c) {
        return false;
    }
    facts->endpoint = tls_creds_endpoint(c);
    facts->checks_name = !strcmp(tls_creds_kind(c), "x509") &&
                         tls_creds_verifies_peer(c);
    return true;
}

static bool lookup_authz(const char *id, Error **errp)
{
    if (unquotable(id, "authorization", errp)) {
        return false;
    }
    return authz_find(id, errp) != NULL;
}

const MigrationConfigObjects mig_tls_config_objects = {
    .tls_creds = lookup_tls_creds,
    .authz = lookup_authz,
};
