/*
 * tls-creds-psk: a key shared by both ends (qapi/crypto.json).
 *
 * keys.psk is read once, when the object is created.  A client keeps
 * its username's key; a server keeps every line and finds the one for
 * the username a client sends.  gnutls's server callback carries no
 * pointer of ours, only the session, so a small registry maps the
 * session's credentials back to their object.
 */
#include "system/object-types.h"
#include "system/tls-creds-impl.h"

#include <string.h>

#include "util/small-file.h"

#define PSK_FILE "keys.psk"
/* Generous for a list of usernames and keys, small enough to hold. */
#define PSK_FILE_MAX (1024 * 1024)
#define PSK_DEFAULT_USERNAME "qemu"

typedef struct PskCreds {
    gnutls_psk_client_credentials_t client;
    gnutls_psk_server_credentials_t server;
    GHashTable *keys;           /* server: username -> GBytes key */
} PskCreds;

static GMutex registry_lock;
static GHashTable *registry;    /* server credentials -> PskCreds */

static void registry_set(PskCreds *p, bool add)
{
    g_mutex_lock(&registry_lock);
    if (!registry) {
        registry = g_hash_table_new(NULL, NULL);
    }
    if (add) {
        g_hash_table_insert(registry, p->server, p);
    } else {
        g_hash_table_remove(registry, p->server);
    }
    g_mutex_unlock(&registry_lock);
}

static void wipe_bytes(gpointer b)
{
    gsize len;
    uint8_t *data = g_bytes_unref_to_data(b, &len);

    explicit_bzero(data, len);
    g_free(data);
}

static int psk_server_key(gnutls_session_t session, const char *username,
                          gnutls_datum_t *key);

/* @hex as bytes, or NULL with *@why set. */
static GBytes *parse_hex_key(const char *hex, const char **why)
{
    size_t len = strlen(hex);
    uint8_t *key;

    if (len == 0) {
        *why = "empty key";
        return NULL;
    }
    if (len % 2) {
        *why = "the key has an odd number of hex digits";
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        if (!g_ascii_isxdigit(hex[i])) {
            *why = "the key is not hexadecimal";
            return NULL;
        }
    }
    key = g_malloc(len / 2);
    for (size_t i = 0; i < len / 2; i++) {
        key[i] = g_ascii_xdigit_value(hex[2 * i]) << 4 |
                 g_ascii_xdigit_value(hex[2 * i + 1]);
    }
    return g_bytes_new_take(key, len / 2);
}

/* Every "username:hexkey" line of @text into @keys. */
static bool parse_keys(const char *path, char *text, GHashTable *keys,
                       Error **errp)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

    for (guint n = 0; lines[n]; n++) {
        char *line = lines[n];
        size_t len = strlen(line);
        const char *why = NULL;
        char *colon;
        GBytes *key;

        if (len && line[len - 1] == '\r') {
            line[--len] = '\0';
        }
        if (len == 0) {
            continue;
        }
        colon = strchr(line, ':');
        if (!colon) {
            why = "no ':' between username and key";
        } else if (colon == line) {
            why = "empty username";
        } else {
            *colon = '\0';
            if (g_hash_table_contains(keys, line)) {
                why = "the username appears on an earlier line";
            }
        }
        key = why ? NULL : parse_hex_key(colon + 1, &why);
        explicit_bzero(line + (colon ? colon - line : 0),
                       len - (colon ? colon - line : 0));
        if (!key) {
            error_setg(errp, "%s line %u: %s (expected USERNAME:HEXKEY)",
                       path, n + 1, why);
            for (guint i = n + 1; lines[i]; i++) {
                explicit_bzero(lines[i], strlen(lines[i]));
            }
            return false;
        }
        g_hash_table_insert(keys, g_strdup(line), key);
    }
    return true;
}

static bool psk_load(TlsCreds *c, const ObjectOptions *opts, Error **errp)
{
    const TlsCredsPskProperties *p = &opts->u.tls_creds_psk;
    bool server = c->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;
    const char *username = p->username ? p->username : PSK_DEFAULT_USERNAME;
    g_autofree char *path = NULL;
    g_autofree char *text = NULL;
    size_t len;
    PskCreds *psk;
    bool ok;
    int ret;

    if (!c->dir) {
        error_setg(errp, "'dir' is required: the directory of %s", PSK_FILE);
        return false;
    }
    if (server && p->username) {
        error_setg(errp, "'username' is for clients: a server accepts every "
                   "username in %s", PSK_FILE);
        return false;
    }
    path = tls_creds_path(c, PSK_FILE);
    if (!small_file_read(path, PSK_FILE_MAX, &text, &len, errp)) {
        return false;
    }
    psk = c->impl = g_new0(PskCreds, 1);
    psk->keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                      wipe_bytes);
    ok = parse_keys(path, text, psk->keys, errp);
    explicit_bzero(text, len);
    if (!ok) {
        return false;
    }

    if (server) {
        ret = gnutls_psk_allocate_server_credentials(&psk->server);
        if (ret >= 0) {
            gnutls_psk_set_server_credentials_function(psk->server,
                                                       psk_server_key);
            ret = gnutls_psk_set_server_known_dh_params(
                psk->server, GNUTLS_SEC_PARAM_MEDIUM);
        }
        if (ret < 0) {
            tls_creds_error(errp, ret, "cannot set up PSK credentials");
            return false;
        }
        registry_set(psk, true);
        return true;
    }

    GBytes *key = g_hash_table_lookup(psk->keys, username);
    gnutls_datum_t datum;

    if (!key) {
        error_setg(errp, "%s has no line for username '%s'", path, username);
        return false;
    }
    datum.data = (unsigned char *)g_bytes_get_data(key, NULL);
    datum.size = g_bytes_get_size(key);
    ret = gnutls_psk_allocate_client_credentials(&psk->client);
    if (ret >= 0) {
        ret = gnutls_psk_set_client_credentials(psk->client, username, &datum,
                                                GNUTLS_PSK_KEY_RAW);
    }
    if (ret < 0) {
        tls_creds_error(errp, ret, "cannot set up PSK credentials for '%s'",
                        username);
        return false;
    }
    /* The client's key now lives in gnutls's credentials only. */
    g_hash_table_remove_all(psk->keys);
    return true;
}

static void psk_free(TlsCreds *c)
{
    PskCreds *psk = c->impl;

    if (psk->server) {
        registry_set(psk, false);
        gnutls_psk_free_server_credentials(psk->server);
    }
    if (psk->client) {
        gnutls_psk_free_client_credentials(psk->client);
    }
    g_hash_table_unref(psk->keys);
    g_free(psk);
}

/* gnutls asks a server for the key of the username a client sent. */
static int psk_server_key(gnutls_session_t session, const char *username,
                          gnutls_datum_t *key)
{
    gnutls_psk_server_credentials_t cred = NULL;
    PskCreds *psk;
    GBytes *bytes = NULL;

    if (gnutls_credentials_get(session, GNUTLS_CRD_PSK, (void **)&cred) < 0) {
        return -1;
    }
    g_mutex_lock(&registry_lock);
    psk = registry ? g_hash_table_lookup(registry, cred) : NULL;
    if (psk) {
        /* The table is only read once created, and the object is held
         * while it has sessions. */
        bytes = g_hash_table_lookup(psk->keys, username);
    }
    g_mutex_unlock(&registry_lock);
    if (!bytes) {
        return -1;
    }
    key->size = g_bytes_get_size(bytes);
    key->data = gnutls_malloc(key->size);
    if (!key->data) {
        return -1;
    }
    memcpy(key->data, g_bytes_get_data(bytes, NULL), key->size);
    return 0;
}

static bool psk_set_credentials(TlsCreds *c, gnutls_session_t session,
                                Error **errp)
{
    PskCreds *psk = c->impl;
    int ret;

    ret = gnutls_credentials_set(session, GNUTLS_CRD_PSK,
                                 psk->server ? (void *)psk->server
                                             : (void *)psk->client);
    if (ret < 0) {
        tls_creds_error(errp, ret, "cannot use credentials '%s'", c->id);
        return false;
    }
    return true;
}

static bool psk_check_peer(TlsCreds *c, gnutls_session_t session,
                           const char *hostname, char **identity,
                           Error **errp)
{
    const char *username;

    /* A client knows only that the server has the key. */
    if (c->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT) {
        return true;
    }
    username = gnutls_psk_server_get_username(session);
    if (!username) {
        error_setg(errp, "the client proved no PSK username");
        return false;
    }
    *identity = g_strdup(username);
    return true;
}

static const TlsCredsOps psk_ops = {
    .kind = "psk",
    .priority_extra = ":+ECDHE-PSK:+DHE-PSK:+PSK",
    .load = psk_load,
    .free = psk_free,
    .set_credentials = psk_set_credentials,
    .check_peer = psk_check_peer,
};

static void *psk_create(const ObjectOptions *opts, Error **errp)
{
    return tls_creds_create(&psk_ops, opts,
                            (const TlsCredsProperties *)
                            &opts->u.tls_creds_psk, errp);
}

const ObjectTypeInfo tls_creds_psk_info = {
    .create = psk_create,
    .destroy = tls_creds_destroy,
    .in_use = tls_creds_in_use,
    .in_use_reason = OBJECT_IN_USE_BY_MIGRATION,
};
