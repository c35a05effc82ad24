/*
 * -incoming ARG (see migration_incoming_cmdline() in
 * include/migration/migration.h).
 *
 * ARG is one keyval string holding three kinds of options: the URI (the
 * implied key), options of the URI's address, and migration options.
 * They are told apart by the schema only: a MigrationConfig member is a
 * migration option; a member of the structured form of the address that
 * the URI text does not already spell (InetSocketAddress minus host and
 * port, FileMigrationArgs minus filename) is an address option.  keyval
 * splits "tcp:0:4444,ipv4=on" at the comma, so address options are put
 * back onto the URI, where the transport's own parser reads them.  The
 * whole thing then goes to qmp_migrate_incoming(), exactly as a
 * migrate-incoming command with `config` would.
 */
#include <string.h>

#include "migration/config.h"
#include "migration/migration.h"
#include "qapi/keyval.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-visit.h"
#include "qapi/visitor.h"

/* The address options a URI scheme takes after its address. */
typedef struct UriScheme {
    const char *prefix;             /* "tcp:" */
    const QAPIStructInfo *address;  /* the structured form of the address */
    const char *const *in_uri;      /* its members the URI text spells */
} UriScheme;

static const char *const inet_in_uri[] = { "host", "port", NULL };
static const char *const file_in_uri[] = { "filename", NULL };

static const UriScheme schemes[] = {
    { "tcp:", &InetSocketAddress_info, inet_in_uri },
    { "file:", &FileMigrationArgs_info, file_in_uri },
};

static const UriScheme *find_scheme(const char *uri)
{
    for (size_t i = 0; i < G_N_ELEMENTS(schemes); i++) {
        if (g_str_has_prefix(uri, schemes[i].prefix)) {
            return &schemes[i];
        }
    }
    return NULL;
}

static bool is_address_option(const UriScheme *scheme, const char *key)
{
    if (!scheme || !qapi_struct_find_member(scheme->address, key)) {
        return false;
    }
    return !g_strv_contains(scheme->in_uri, key);
}

/* "the address options a, b (for tcp: URIs) and ", or "", for errors. */
static char *address_options_text(const UriScheme *scheme)
{
    GString *text = g_string_new(NULL);
    size_t n = 0;

    for (size_t i = 0; scheme && i < scheme->address->n_members; i++) {
        const char *name = scheme->address->members[i].name;

        if (is_address_option(scheme, name)) {
            g_string_append_printf(text, "%s%s", n ? ", " : "", name);
            n++;
        }
    }
    if (n) {
        g_string_prepend(text, n > 1 ? "the address options "
                                     : "the address option ");
        g_string_append_printf(text, " (for %s URIs) and ", scheme->prefix);
    }
    return g_string_free(text, false);
}

/*
 * Moves the MigrationConfig members of @tree into a MigrationConfig
 * (*@config, NULL if there are none).  What is left in @tree is the
 * caller's to interpret.
 */
static bool take_config(json_t *tree, MigrationConfig **config, Error **errp)
{
    json_t *options = json_object();
    const char *key;
    json_t *value;
    void *tmp;

    json_object_foreach_safe(tree, tmp, key, value) {
        if (migration_config_find_option(key)) {
            json_object_set(options, key, value);
            json_object_del(tree, key);
        }
    }
    bool any = json_object_size(options) > 0;

    *config = any ? migration_config_from_keyval(options, errp) : NULL;
    json_decref(options);
    return !any || *config;
}

/* The valid options, for the message about an invalid one. */
static void error_invalid_option(const char *key, const char *address_text,
                                 Error **errp)
{
    error_setg(errp, "invalid option '%s': valid options are %sthe "
               "migration options (see query-migrate-config)", key,
               address_text);
}

/* QEMU's "main,addr.transport=socket,...": a one-element channel list. */
static bool incoming_channel(const char *arg, Error **errp)
{
    json_t *tree = keyval_parse(arg, "channel-type", NULL, errp);
    g_autoptr(MigrationConfig) config = NULL;
    g_autoptr(MigrationChannel) channel = NULL;
    MigrationChannelList list = { 0 };
    Error *err = NULL;
    const char *key;
    json_t *value;
    Visitor *v;

    if (!tree) {
        return false;
    }
    if (!take_config(tree, &config, errp)) {
        json_decref(tree);
        return false;
    }
    json_object_foreach(tree, key, value) {
        if (strcmp(key, "channel-type") && strcmp(key, "addr")) {
            error_invalid_option(key, "addr.* (the channel's address) and ",
                                 errp);
            json_decref(tree);
            return false;
        }
    }
    v = json_input_visitor_new_keyval(tree);
    visit_type_MigrationChannel(v, NULL, &channel, errp);
    visit_free(v);
    json_decref(tree);
    if (!channel) {
        return false;
    }
    list.value = channel;
    qmp_migrate_incoming(NULL, &list, config, false, false, &err);
    if (err) {
        error_propagate(errp, err);
        return false;
    }
    return true;
}

/*
 * Whether @tree (parsed with implied key "uri") is the channel form: it
 * has addr.* keys and its first element names a channel type.
 */
static bool is_channel_form(json_t *tree)
{
    const char *first = json_string_value(json_object_get(tree, "uri"));

    if (!json_is_object(json_object_get(tree, "addr"))) {
        return false;
    }
    return json_object_get(tree, "channel-type") ||
           (first && qapi_enum_parse(&MigrationChannelType_lookup, first, -1,
                                     NULL) >= 0);
}

/* "URI[,OPTION=VALUE...]". */
static bool incoming_uri(json_t *tree, Error **errp)
{
    g_autoptr(MigrationConfig) config = NULL;
    g_autoptr(GString) uri = NULL;
    g_autofree char *address_text = NULL;
    const UriScheme *scheme;
    Error *err = NULL;
    const char *key;
    json_t *value;

    if (!json_is_string(json_object_get(tree, "uri"))) {
        error_setg(errp, "a URI is needed: -incoming "
                   "URI[,OPTION=VALUE...] or -incoming defer");
        return false;
    }
    uri = g_string_new(json_string_value(json_object_get(tree, "uri")));
    json_object_del(tree, "uri");
    if (!take_config(tree, &config, errp)) {
        return false;
    }
    scheme = find_scheme(uri->str);
    address_text = address_options_text(scheme);
    json_object_foreach(tree, key, value) {
        if (!is_address_option(scheme, key)) {
            error_invalid_option(key, address_text, errp);
            return false;
        }
        if (!json_is_string(value)) {
            error_setg(errp, "address option '%s' takes a value, not "
                       "'%s.*' keys", key, key);
            return false;
        }
        g_string_append_printf(uri, ",%s=%s", key, json_string_value(value));
    }
    qmp_migrate_incoming(uri->str, NULL, config, false, false, &err);
    if (err) {
        error_propagate(errp, err);
        return false;
    }
    return true;
}

bool migration_incoming_cmdline(const char *arg, Error **errp)
{
    json_t *tree;
    bool ok;

    /* Even "defer" means: this VM's state comes from a migration. */
    migration_set_incoming_expected();
    if (!strcmp(arg, "defer")) {
        return true;
    }
    tree = keyval_parse(arg, "uri", NULL, errp);
    if (!tree) {
        return false;
    }
    if (is_channel_form(tree)) {
        json_decref(tree);
        return incoming_channel(arg, errp);
    }
    ok = incoming_uri(tree, errp);
    json_decref(tree);
    return ok;
}
