/*
 * Migration URIs to MigrationAddress and back: see
 * include/migration/address.h.
 *
 * Socket URIs are parsed by socket_parse(), so tcp:, unix: and fd: mean
 * exactly what they mean elsewhere (-qmp, vmig-ctl); this file adds the
 * other transports and what is particular to migration.
 */
#include "migration/transport/address.h"

#include <inttypes.h>
#include <string.h>

#include "qapi/clone.h"
#include "qapi/qapi-visit.h"
#include "qapi/struct-info.h"
#include "util/cutils.h"
#include "util/sockets.h"

#define SCHEMES "tcp:, unix:, fd:, exec:, file: or rdma:"

/* ------------------------------------------------------------------ */
/* tcp: options */

const char *const *migration_address_tcp_options(void)
{
    static gsize once;
    static const char **names;

    /* The optional members of InetSocketAddress, as socket_parse()
     * takes them: an option added to the schema is listed at once. */
    if (g_once_init_enter(&once)) {
        GPtrArray *a = g_ptr_array_new();

        for (size_t i = 0; i < InetSocketAddress_info.n_members; i++) {
            const QAPIMemberInfo *m = &InetSocketAddress_info.members[i];

            if (m->optional) {
                g_ptr_array_add(a, (gpointer)m->name);
            }
        }
        g_ptr_array_add(a, NULL);
        names = (const char **)g_ptr_array_free(a, FALSE);
        g_once_init_leave(&once, 1);
    }
    return names;
}

bool migration_address_is_tcp_option(const char *name)
{
    return g_strv_contains(migration_address_tcp_options(), name);
}

/*
 * Refuses option names socket_parse() would not know, listing the ones
 * it does; everything else about the options (values, repeats, empty
 * ones) is left to socket_parse().  @spec is what follows "tcp:".
 */
static bool check_tcp_options(const char *spec, const char *uri,
                              Error **errp)
{
    /* An IPv6 host has colons but no commas: skip past it. */
    const char *host_end = spec[0] == '[' ? strchr(spec, ']') : spec;
    const char *comma = host_end ? strchr(host_end, ',') : NULL;
    g_auto(GStrv) opts = NULL;

    if (!comma) {
        return true;
    }
    opts = g_strsplit(comma + 1, ",", -1);
    for (char **opt = opts; *opt; opt++) {
        g_autofree char *name = g_strndup(*opt, strcspn(*opt, "="));

        if (*name && !migration_address_is_tcp_option(name)) {
            g_autofree char *valid =
                g_strjoinv(", ", (char **)migration_address_tcp_options());

            error_setg(errp, "Unknown option '%s' in migration URI '%s' "
                       "(valid options: %s)", name, uri, valid);
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* URI to address */

static bool parse_socket(MigrationAddress *addr, const char *uri,
                         Error **errp)
{
    SocketAddress *sa;

    if (g_str_has_prefix(uri, "tcp:") &&
        !check_tcp_options(uri + strlen("tcp:"), uri, errp)) {
        return false;
    }
    sa = socket_parse(uri, errp);
    if (!sa) {
        return false;
    }
    /* Move the members: the union holds the SocketAddress by value. */
    addr->transport = MIGRATION_ADDRESS_TYPE_SOCKET;
    addr->u.socket = *sa;
    g_free(sa);
    return true;
}

static strList *str_list_prepend(strList *list, const char *value)
{
    strList *item = g_new0(strList, 1);

    item->value = g_strdup(value);
    item->next = list;
    return item;
}

static bool parse_exec(MigrationAddress *addr, const char *cmd,
                       const char *uri, Error **errp)
{
    strList *args = NULL;

    if (!*cmd) {
        error_setg(errp, "Missing command in migration URI '%s'", uri);
        return false;
    }
    args = str_list_prepend(args, cmd);
    args = str_list_prepend(args, "-c");
    args = str_list_prepend(args, "/bin/sh");
    addr->transport = MIGRATION_ADDRESS_TYPE_EXEC;
    addr->u.exec.args = args;
    return true;
}

static bool parse_file(MigrationAddress *addr, const char *spec,
                       const char *uri, Error **errp)
{
    /* The last one: a path may contain commas, even ",offset=". */
    const char *opt = g_strrstr(spec, ",offset=");
    g_autofree char *path = opt ? g_strndup(spec, opt - spec)
                                : g_strdup(spec);
    uint64_t offset = 0;

    if (!*path) {
        error_setg(errp, "Missing file name in migration URI '%s'", uri);
        return false;
    }
    if (opt && !parse_size(opt + strlen(",offset="), &offset, errp)) {
        error_prepend(errp, "Invalid offset in migration URI '%s': ", uri);
        return false;
    }
    addr->transport = MIGRATION_ADDRESS_TYPE_FILE;
    addr->u.file.filename = g_steal_pointer(&path);
    addr->u.file.offset = offset;
    return true;
}

static bool parse_rdma(MigrationAddress *addr, const char *spec,
                       const char *uri, Error **errp)
{
    static const char *const not_inet[] = { "tcp:", "unix:", "fd:",
                                            "vsock:" };
    SocketAddress *sa;

    /* socket_parse() would take these, but RDMA is HOST:PORT only. */
    for (size_t i = 0; i < G_N_ELEMENTS(not_inet); i++) {
        if (g_str_has_prefix(spec, not_inet[i])) {
            error_setg(errp, "Invalid migration URI '%s': expected "
                       "rdma:HOST:PORT", uri);
            return false;
        }
    }
    if (!check_tcp_options(spec, uri, errp)) {
        return false;
    }
    sa = socket_parse(spec, errp);
    if (!sa) {
        error_prepend(errp, "Invalid migration URI '%s': ", uri);
        return false;
    }
    g_assert(sa->type == SOCKET_ADDRESS_TYPE_INET);
    addr->transport = MIGRATION_ADDRESS_TYPE_RDMA;
    addr->u.rdma = sa->u.inet;
    g_free(sa);
    return true;
}

MigrationAddress *migration_address_parse(const char *uri, Error **errp)
{
    static const char *const socket_schemes[] = { "tcp:", "unix:", "fd:",
                                                  "vsock:" };
    g_autoptr(MigrationAddress) addr = g_new0(MigrationAddress, 1);
    bool ok;

    if (!*uri) {
        error_setg(errp, "Empty migration URI (expected " SCHEMES ")");
        return NULL;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(socket_schemes); i++) {
        if (g_str_has_prefix(uri, socket_schemes[i])) {
            return parse_socket(addr, uri, errp) ? g_steal_pointer(&addr)
                                                 : NULL;
        }
    }
    if (g_str_has_prefix(uri, "exec:")) {
        ok = parse_exec(addr, uri + strlen("exec:"), uri, errp);
    } else if (g_str_has_prefix(uri, "file:")) {
        ok = parse_file(addr, uri + strlen("file:"), uri, errp);
    } else if (g_str_has_prefix(uri, "rdma:")) {
        ok = parse_rdma(addr, uri + strlen("rdma:"), uri, errp);
    } else {
        error_setg(errp, "Unknown transport in migration URI '%s' "
                   "(expected " SCHEMES ")", uri);
        ok = false;
    }
    return ok ? g_steal_pointer(&addr) : NULL;
}

/* ------------------------------------------------------------------ */
/* Address to URI */

/* Whether @arg reads as itself in a shell command. */
static bool shell_safe(const char *arg)
{
    return *arg && strspn(arg, "abcdefghijklmnopqrstuvwxyz"
                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789_-+=./:,@%") == strlen(arg);
}

static char *exec_to_string(const MigrationExecCommand *exec)
{
    const strList *a = exec->args;
    GString *str;

    /* The form "exec:CMD" parses to. */
    if (a && a->next && a->next->next && !a->next->next->next &&
        !strcmp(a->value, "/bin/sh") && !strcmp(a->next->value, "-c")) {
        return g_strdup_printf("exec:%s", a->next->next->value);
    }
    str = g_string_new("exec:");
    for (; a; a = a->next) {
        if (a != exec->args) {
            g_string_append_c(str, ' ');
        }
        if (shell_safe(a->value)) {
            g_string_append(str, a->value);
        } else {
            g_autofree char *quoted = g_shell_quote(a->value);

            g_string_append(str, quoted);
        }
    }
    return g_string_free(str, FALSE);
}

char *migration_address_to_string(const MigrationAddress *addr)
{
    switch (addr->transport) {
    case MIGRATION_ADDRESS_TYPE_SOCKET:
        return socket_address_to_string(&addr->u.socket);
    case MIGRATION_ADDRESS_TYPE_EXEC:
        return exec_to_string(&addr->u.exec);
    case MIGRATION_ADDRESS_TYPE_FILE:
        if (addr->u.file.offset) {
            return g_strdup_printf("file:%s,offset=%" PRIu64,
                                   addr->u.file.filename,
                                   addr->u.file.offset);
        }
        return g_strdup_printf("file:%s", addr->u.file.filename);
    case MIGRATION_ADDRESS_TYPE_RDMA: {
        /* A shallow view as a SocketAddress, to share its printing. */
        SocketAddress view = { .type = SOCKET_ADDRESS_TYPE_INET,
                               .u.inet = addr->u.rdma };
        g_autofree char *tcp = socket_address_to_string(&view);

        return g_strdup_printf("rdma:%s", tcp + strlen("tcp:"));
    }
    default:
        g_assert_not_reached();
    }
}

/* ------------------------------------------------------------------ */
/* Commands' arguments */

/*
 * cpr and rdma are what has feature 'unimplemented' in the schema.  The
 * generated QEnumLookup.features arrays cannot tell: they end at the
 * last value with a feature, so reading them for later values overruns.
 */

MigrationAddress *migration_address_from_args(const char *uri,
                                              const MigrationChannelList *channels,
                                              Error **errp)
{
    const MigrationChannel *main_channel = NULL;
    size_t n_main = 0;

    if (uri && channels) {
        error_setg(errp, "'uri' and 'channels' are mutually exclusive: "
                   "give only one of them");
        return NULL;
    }
    if (!uri && !channels) {
        error_setg(errp, "Need either 'uri' or 'channels' to know where "
                   "to migrate");
        return NULL;
    }
    if (uri) {
        return migration_address_parse(uri, errp);
    }

    for (const MigrationChannelList *c = channels; c; c = c->next) {
        MigrationChannelType type = c->value->channel_type;

        if (type == MIGRATION_CHANNEL_TYPE_CPR) {
            error_setg(errp, "Migration channel type '%s' is not "
                       "implemented", MigrationChannelType_str(type));
            return NULL;
        }
        if (type == MIGRATION_CHANNEL_TYPE_MAIN) {
            main_channel = c->value;
            n_main++;
        }
    }
    if (n_main != 1) {
        error_setg(errp, "'channels' must contain exactly one channel of "
                   "type 'main', not %zu", n_main);
        return NULL;
    }
    return QAPI_CLONE(MigrationAddress, main_channel->addr);
}

bool migration_address_check(const MigrationAddress *addr, Error **errp)
{
    if (addr->transport == MIGRATION_ADDRESS_TYPE_RDMA) {
        g_autofree char *uri = migration_address_to_string(addr);

        error_setg(errp, "Migration transport '%s' is not implemented "
                   "(address '%s')", MigrationAddressType_str(addr->transport),
                   uri);
        return false;
    }
    switch (addr->transport) {
    case MIGRATION_ADDRESS_TYPE_EXEC:
        if (!addr->u.exec.args || !*addr->u.exec.args->value) {
            error_setg(errp, "The exec migration command is empty");
            return false;
        }
        return true;
    case MIGRATION_ADDRESS_TYPE_FILE:
        if (!*addr->u.file.filename) {
            error_setg(errp, "The migration file name is empty");
            return false;
        }
        return true;
    default:
        return true;
    }
}
