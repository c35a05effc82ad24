/*
 * HMP commands of the migration subsystem.  Every handler turns its words
 * into the QAPI arguments of the matching QMP command and calls that
 * command's C function (or, for migrate-set-parameters, its hand-written
 * marshaller), so a value refused over QMP is refused here with the same
 * message, and both monitors see one configuration.
 *
 * Options are never named here: they are read and printed through the
 * MigrationConfig reflection table, so a new option in the schema shows
 * up in these commands by itself.
 */
#include <inttypes.h>
#include <string.h>

#include "migration/config.h"
#include "monitor/hmp.h"
#include "qapi/keyval.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-visit.h"
#include "qapi/visitor.h"
#include "util/sockets.h"

/* ---- printing a configuration ---- */

/*
 * One option's value as people read it: on/off, enum names bare, numbers
 * with their unit from the option table, strings quoted as QEMU does.
 */
static char *format_option(const QAPIMemberInfo *m, const MigrationConfig *cfg)
{
    const char *unit = migration_options[migration_config_option_index(m)].unit;
    g_autofree char *num = NULL;

    if (!qapi_member_is_present(m, cfg)) {
        return g_strdup("(not set)");
    }
    switch (m->kind) {
    case QAPI_MEMBER_KIND_BOOL:
        return g_strdup(qapi_member_get_bool(m, cfg) ? "on" : "off");
    case QAPI_MEMBER_KIND_ENUM:
        return g_strdup(qapi_enum_lookup(m->enum_lookup,
                                         qapi_member_get_enum(m, cfg)));
    case QAPI_MEMBER_KIND_INT:
        num = g_strdup_printf("%" PRId64, qapi_member_get_int(m, cfg));
        break;
    case QAPI_MEMBER_KIND_UINT:
    case QAPI_MEMBER_KIND_SIZE:
        num = g_strdup_printf("%" PRIu64, qapi_member_get_uint(m, cfg));
        break;
    default:
        /* Strings 'quoted', lists as compact JSON: the message format. */
        return migration_config_option_value_str(m, cfg);
    }
    if (!unit) {
        return g_steal_pointer(&num);
    }
    /* "50%" but "300 ms". */
    return g_strdup_printf("%s%s%s", num, unit[0] == '%' ? "" : " ", unit);
}

/* "name: value" for every option of @cfg, or only the non-capabilities. */
static void print_config(Monitor *mon, const MigrationConfig *cfg,
                         bool parameters_only)
{
    for (size_t i = 0; i < migration_config_n_options(); i++) {
        const QAPIMemberInfo *m = migration_config_option(i);
        g_autofree char *value = NULL;

        if (parameters_only && (m->features & QAPI_FEATURE_CAPABILITY)) {
            continue;
        }
        value = format_option(m, cfg);
        monitor_printf(mon, "%s: %s\n", m->name, value);
    }
}

void hmp_info_migrate_config(Monitor *mon, const json_t *args)
{
    Error *err = NULL;
    g_autoptr(MigrationConfig) cfg = qmp_query_migrate_config(&err);

    if (hmp_handle_error(mon, err)) {
        return;
    }
    print_config(mon, cfg, false);
}

void hmp_info_migrate_capabilities(Monitor *mon, const json_t *args)
{
    Error *err = NULL;
    MigrationCapabilityStatusList *caps = qmp_query_migrate_capabilities(&err);

    if (hmp_handle_error(mon, err)) {
        return;
    }
    for (MigrationCapabilityStatusList *l = caps; l; l = l->next) {
        monitor_printf(mon, "%s: %s\n", l->value->capability,
                       l->value->state ? "on" : "off");
    }
    qapi_free_MigrationCapabilityStatusList(caps);
}

void hmp_info_migrate_parameters(Monitor *mon, const json_t *args)
{
    Error *err = NULL;
    g_autoptr(MigrationConfig) params = qmp_query_migrate_parameters(&err);

    if (hmp_handle_error(mon, err)) {
        return;
    }
    print_config(mon, params, true);
}

/* ---- changing it ---- */

void hmp_migrate_set_config(Monitor *mon, const json_t *args)
{
    Error *err = NULL;
    g_autoptr(MigrationConfig) change =
        migration_config_from_keyval(hmp_arg_obj(args, "options"), &err);

    if (hmp_handle_error(mon, err)) {
        return;
    }
    qmp_migrate_set_config(change, &err);
    hmp_handle_error(mon, err);
}

void hmp_migrate_set_capability(Monitor *mon, const json_t *args)
{
    MigrationCapabilityStatus cap = {
        .capability = (char *)hmp_arg_str(args, "capability"),
        .state = hmp_arg_bool(args, "state", false),
    };
    MigrationCapabilityStatusList list = { .value = &cap };
    Error *err = NULL;

    qmp_migrate_set_capabilities(&list, &err);
    hmp_handle_error(mon, err);
}

/* @s with every ',' doubled, so keyval reads it as one value. */
static char *keyval_escape(const char *s)
{
    GString *out = g_string_new(NULL);

    for (; *s; s++) {
        if (*s == ',') {
            g_string_append_c(out, ',');
        }
        g_string_append_c(out, *s);
    }
    return g_string_free(out, false);
}

/*
 * The value is typed by the keyval visitor (so "1G" and "on" work), then
 * handed to migrate-set-parameters' own marshaller as JSON: that is where
 * capabilities are refused, and it stays the only place.
 */
void hmp_migrate_set_parameter(Monitor *mon, const json_t *args)
{
    const char *name = hmp_arg_str(args, "parameter");
    g_autofree char *value = keyval_escape(hmp_arg_str(args, "value"));
    g_autofree char *kv = g_strdup_printf("%s=%s", name, value);
    g_autoptr(MigrationConfig) change = NULL;
    json_t *tree, *qmp_args = NULL, *ret = NULL;
    Visitor *v;
    Error *err = NULL;

    if (strpbrk(name, "=,")) {
        /* keyval would cut such a name short: let the visitor refuse it. */
        tree = json_pack("{ss}", name, hmp_arg_str(args, "value"));
    } else {
        tree = keyval_parse(kv, NULL, NULL, &err);
        if (hmp_handle_error(mon, err)) {
            return;
        }
    }
    change = migration_config_from_keyval(tree, &err);
    json_decref(tree);
    if (hmp_handle_error(mon, err)) {
        return;
    }
    v = json_output_visitor_new();
    visit_type_MigrationConfig(v, NULL, &change, &error_abort);
    visit_complete(v, &qmp_args);
    visit_free(v);
    qmp_marshal_migrate_set_parameters(qmp_args, &ret, &err);
    json_decref(qmp_args);
    json_decref(ret);
    hmp_handle_error(mon, err);
}

/* ---- migrating ---- */

/*
 * migrate [-d] [-r] URI.  The argument parser has no flags, so the words
 * come as up to three strings and the leading ones that are flags are
 * picked out here.  -d is accepted for QEMU compatibility: migrate always
 * returns once the migration has started.
 */
void hmp_migrate(Monitor *mon, const json_t *args)
{
    const char *words[] = {
        hmp_arg_str(args, "uri"),
        hmp_arg_str(args, "uri2"),
        hmp_arg_str(args, "uri3"),
    };
    bool detach = false, resume = false;
    const char *uri = NULL;
    Error *err = NULL;

    for (size_t i = 0; i < G_N_ELEMENTS(words) && words[i]; i++) {
        if (uri) {
            monitor_printf(mon, "Error: too many arguments for command "
                           "'migrate' (from '%s' on)\n", words[i]);
            return;
        } else if (!strcmp(words[i], "-d")) {
            detach = true;
        } else if (!strcmp(words[i], "-r")) {
            resume = true;
        } else if (words[i][0] == '-') {
            monitor_printf(mon, "Error: unknown flag '%s' for command "
                           "'migrate' (flags: -d, -r)\n", words[i]);
            return;
        } else {
            uri = words[i];
        }
    }
    if (!uri) {
        monitor_printf(mon, "Error: missing argument 'uri' for command "
                       "'migrate'\n");
        return;
    }
    qmp_migrate(uri, NULL, NULL, true, detach, true, resume, false, false,
                &err);
    hmp_handle_error(mon, err);
}

void hmp_migrate_incoming(Monitor *mon, const json_t *args)
{
    Error *err = NULL;

    qmp_migrate_incoming(hmp_arg_str(args, "uri"), NULL, NULL, false, false,
                         &err);
    hmp_handle_error(mon, err);
}

/* QEMU's "info migrate" layout: status first, then one figure a line. */
void hmp_info_migrate(Monitor *mon, const json_t *args)
{
    Error *err = NULL;
    g_autoptr(MigrationInfo) info = qmp_query_migrate(&err);

    if (hmp_handle_error(mon, err)) {
        return;
    }
    for (SocketAddressList *l = info->socket_address; l; l = l->next) {
        g_autofree char *addr = socket_address_to_string(l->value);

        monitor_printf(mon, "Listening on: %s\n", addr);
    }
    if (!info->has_status) {
        if (!info->socket_address) {
            monitor_printf(mon, "No migration has run\n");
        }
        return;
    }
    monitor_printf(mon, "Migration status: %s%s\n",
                   MigrationStatus_str(info->status),
                   info->has_dry_run && info->dry_run ? " (dry run)" : "");
    if (info->error_desc) {
        monitor_printf(mon, "Error: %s\n", info->error_desc);
    }
    if (info->has_total_time) {
        monitor_printf(mon, "total time: %" PRId64 " ms\n", info->total_time);
    }
    if (info->has_setup_time) {
        monitor_printf(mon, "setup: %" PRId64 " ms\n", info->setup_time);
    }
    if (info->has_expected_downtime) {
        monitor_printf(mon, "expected downtime: %" PRId64 " ms\n",
                       info->expected_downtime);
    }
    if (info->has_downtime) {
        monitor_printf(mon, "downtime: %" PRId64 " ms\n", info->downtime);
    }
    if (info->has_cpu_throttle_percentage) {
        monitor_printf(mon, "cpu throttle percentage: %" PRId64 "\n",
                       info->cpu_throttle_percentage);
    }
    if (info->ram) {
        const MigrationStats *ram = info->ram;

        monitor_printf(mon, "transferred ram: %" PRId64 " kbytes\n",
                       ram->transferred >> 10);
        monitor_printf(mon, "throughput: %0.2f mbps\n", ram->mbps);
        monitor_printf(mon, "remaining ram: %" PRId64 " kbytes\n",
                       ram->remaining >> 10);
        monitor_printf(mon, "total ram: %" PRId64 " kbytes\n",
                       ram->total >> 10);
        monitor_printf(mon, "duplicate: %" PRId64 " pages\n", ram->duplicate);
        monitor_printf(mon, "normal: %" PRId64 " pages\n", ram->normal);
        monitor_printf(mon, "normal bytes: %" PRId64 " kbytes\n",
                       ram->normal_bytes >> 10);
        monitor_printf(mon, "page bytes: %" PRId64 " kbytes\n",
                       ram->page_bytes >> 10);
        monitor_printf(mon, "dirty sync count: %" PRId64 "\n",
                       ram->dirty_sync_count);
        monitor_printf(mon, "page size: %" PRId64 " kbytes\n",
                       ram->page_size >> 10);
        monitor_printf(mon, "iteration: %" PRId64 "\n", ram->iteration);
        monitor_printf(mon, "dirty pages rate: %" PRId64 " pages\n",
                       ram->dirty_pages_rate);
    }
    if (info->xbzrle_cache) {
        const XBZRLECacheStats *x = info->xbzrle_cache;

        monitor_printf(mon, "cache size: %" PRIu64 " bytes\n",
                       x->cache_size);
        monitor_printf(mon, "xbzrle transferred: %" PRId64 " kbytes\n",
                       x->bytes >> 10);
        monitor_printf(mon, "xbzrle pages: %" PRId64 " pages\n", x->pages);
        monitor_printf(mon, "xbzrle cache miss: %" PRId64 " pages\n",
                       x->cache_miss);
        monitor_printf(mon, "xbzrle cache miss rate: %0.2f\n",
                       x->cache_miss_rate);
        monitor_printf(mon, "xbzrle encoding rate: %0.2f\n",
                       x->encoding_rate);
        monitor_printf(mon, "xbzrle overflow: %" PRId64 "\n", x->overflow);
    }
}

void hmp_migrate_cancel(Monitor *mon, const json_t *args)
{
    Error *err = NULL;

    qmp_migrate_cancel(&err);
    hmp_handle_error(mon, err);
}

void hmp_migrate_start_postcopy(Monitor *mon, const json_t *args)
{
    Error *err = NULL;

    qmp_migrate_start_postcopy(&err);
    hmp_handle_error(mon, err);
}

void hmp_migrate_pause(Monitor *mon, const json_t *args)
{
    Error *err = NULL;

    qmp_migrate_pause(&err);
    hmp_handle_error(mon, err);
}

void hmp_migrate_recover(Monitor *mon, const json_t *args)
{
    Error *err = NULL;

    qmp_migrate_recover(hmp_arg_str(args, "uri"), &err);
    hmp_handle_error(mon, err);
}

void hmp_migrate_continue(Monitor *mon, const json_t *args)
{
    Error *err = NULL;
    const char *state = hmp_arg_str(args, "state");
    int value = qapi_enum_parse(&MigrationStatus_lookup, state, -1, &err);

    if (value >= 0) {
        qmp_migrate_continue(value, &err);
    }
    hmp_handle_error(mon, err);
}
