/*
 * The one validator of migration configurations: it interprets the
 * tables of config-rules.c (see include/migration/config-validate.h for
 * what their entries mean and the order of the checks).
 *
 * Every message is one sentence made here, naming the option(s), the
 * value(s) and the reason, so every interface reports the same text.
 */
#include "migration/config-validate.h"
#include "util/cutils.h"

#include <inttypes.h>
#include <string.h>

static const char *const context_names[MIGRATION_CONFIG__MAX] = {
    [MIGRATION_CONFIG_SET] = "set",
    [MIGRATION_CONFIG_RUNTIME] = "runtime",
    [MIGRATION_CONFIG_OUTGOING] = "outgoing",
    [MIGRATION_CONFIG_INCOMING] = "incoming",
    [MIGRATION_CONFIG_SNAPSHOT] = "snapshot",
};

const char *migration_config_context_name(MigrationConfigContext ctx)
{
    g_assert(ctx < MIGRATION_CONFIG__MAX);
    return context_names[ctx];
}

/* ---- Checking the tables themselves ---------------------------------- */

static const QAPIMemberInfo *table_option(const char *name, const char *what,
                                          Error **errp)
{
    const QAPIMemberInfo *m = migration_config_find_option(name);

    if (!m) {
        error_setg(errp, "%s names '%s', which is not a member of "
                   "MigrationConfig", what, name);
    }
    return m;
}

static bool option_is_unsigned(const QAPIMemberInfo *m)
{
    return m->kind == QAPI_MEMBER_KIND_UINT || m->kind == QAPI_MEMBER_KIND_SIZE;
}

bool migration_rules_check_tables(Error **errp)
{
    for (size_t i = 0; i < migration_n_rules; i++) {
        const MigrationRule *r = &migration_rules[i];
        const QAPIMemberInfo *a, *b;
        g_autofree char *what = g_strdup_printf("migration_rules[%zu]", i);

        if (!(a = table_option(r->a, what, errp)) ||
            !(b = table_option(r->b, what, errp))) {
            return false;
        }
        if (a == b || r->kind >= MIGRATION_RULE__MAX || !r->reason) {
            error_setg(errp, "%s is malformed", what);
            return false;
        }
        if (r->kind == MIGRATION_RULE_NOT_ABOVE &&
            (!option_is_unsigned(a) || !option_is_unsigned(b))) {
            error_setg(errp, "%s compares options that are not unsigned "
                       "numbers", what);
            return false;
        }
    }
    for (size_t i = 0; i < migration_n_limits; i++) {
        const MigrationLimit *l = &migration_limits[i];
        g_autofree char *what = g_strdup_printf("migration_limits[%zu]", i);

        if (!table_option(l->option, what, errp) ||
            (l->unless && !table_option(l->unless, what, errp))) {
            return false;
        }
        if (!l->where || !l->reason) {
            error_setg(errp, "%s is malformed", what);
            return false;
        }
    }
    for (size_t i = 0; i < migration_n_host_needs; i++) {
        const MigrationHostNeed *n = &migration_host_needs[i];
        const QAPIMemberInfo *m;
        g_autofree char *what =
            g_strdup_printf("migration_host_needs[%zu]", i);

        if (!(m = table_option(n->option, what, errp))) {
            return false;
        }
        if (n->feature >= MIGRATION_HOST__MAX || !n->contexts) {
            error_setg(errp, "%s is malformed", what);
            return false;
        }
        if (n->value && (m->kind != QAPI_MEMBER_KIND_ENUM ||
                         qapi_enum_parse(m->enum_lookup, n->value, -1,
                                         NULL) < 0)) {
            error_setg(errp, "%s: '%s' is not a value of option '%s'",
                       what, n->value, n->option);
            return false;
        }
    }
    return true;
}

static void check_tables_once(void)
{
    static gsize once;

    if (g_once_init_enter(&once)) {
        Error *err = NULL;

        if (!migration_rules_check_tables(&err)) {
            g_error("migration rule tables: %s", error_get_pretty(err));
        }
        g_once_init_leave(&once, 1);
    }
}

/* ---- Helpers for messages -------------------------------------------- */

static const QAPIMemberInfo *option(const char *name)
{
    const QAPIMemberInfo *m = migration_config_find_option(name);

    g_assert(m);        /* migration_rules_check_tables() made sure */
    return m;
}

static bool is_on(const char *name, const MigrationConfig *cfg)
{
    return migration_config_option_is_on(option(name), cfg);
}

/* "'xbzrle'" for a bool (on means enabled), "'tls-creds' (value 'x')". */

/* An option's value as the messages below quote it: a huge string is
 * shortened (util/cutils.h), not echoed whole. */
static char *shown_value(const QAPIMemberInfo *m, const MigrationConfig *cfg)
{
    g_autofree char *value = NULL;

    if (m->kind == QAPI_MEMBER_KIND_STR && qapi_member_is_present(m, cfg)) {
        value = str_abbrev(*(char *const *)qapi_member_cptr(m, cfg));
        return g_strdup_printf("'%s'", value);
    }
    value = migration_config_option_value_str(m, cfg);
    return str_abbrev(value);
}
static char *describe_on(const QAPIMemberInfo *m, const MigrationConfig *cfg)
{
    g_autofree char *value = NULL;

    if (m->kind == QAPI_MEMBER_KIND_BOOL) {
        return g_strdup_printf("'%s'", m->name);
    }
    value = shown_value(m, cfg);
    return g_strdup_printf("'%s' (value %s)", m->name, value);
}

static const char *on_word(const QAPIMemberInfo *m)
{
    return m->kind == QAPI_MEMBER_KIND_BOOL ? "enabled" : "set";
}

/* ---- The single checks ----------------------------------------------- */

bool migration_option_validate(size_t i, const MigrationConfig *cfg,
                               const MigrationConfigEnv *env, Error **errp)
{
    const QAPIMemberInfo *m = migration_config_option(i);
    const MigrationOptionInfo *opt = &migration_options[i];
    g_autofree char *value = NULL;

    if (!qapi_member_is_present(m, cfg)) {
        return true;            /* the default, which is valid */
    }
    if (opt->has_range || opt->valid) {
        uint64_t v = qapi_member_get_uint(m, cfg);
        const char *unit = opt->unit ? opt->unit : "";
        const char *sep = opt->unit ? " " : "";

        if (opt->has_range && (v < opt->min || v > opt->max)) {
            if (opt->max == UINT64_MAX) {
                error_setg(errp, "Option '%s' value %" PRIu64 " is out of "
                           "range: it must be at least %" PRIu64 "%s%s",
                           m->name, v, opt->min, sep, unit);
            } else {
                error_setg(errp, "Option '%s' value %" PRIu64 " is out of "
                           "range: it must be between %" PRIu64 " and %"
                           PRIu64 "%s%s", m->name, v, opt->min, opt->max,
                           sep, unit);
            }
            return false;
        }
        if (opt->valid && !opt->valid(v, env ? env->page_size : 0)) {
            error_setg(errp, "Option '%s' value %" PRIu64 " is invalid: it "
                       "must be %s", m->name, v, opt->valid_desc);
            return false;
        }
    }

    if (migration_option_is_refused(m) &&
        !migration_config_option_is_default(m, cfg)) {
        const char *why =
            migration_option_status(m) == MIGRATION_OPTION_NOT_YET
            ? "is not supported by this vmig yet"
            : "is not implemented by vmig";

        /* "Option 'x' is ..." says it all for a bool turned on. */
        if (m->kind == QAPI_MEMBER_KIND_BOOL && qapi_member_get_bool(m, cfg)) {
            error_setg(errp, "Option '%s' %s", m->name, why);
        } else {
            value = shown_value(m, cfg);
            error_setg(errp, "Option '%s' %s: value %s given, only its "
                       "default is accepted", m->name, why, value);
        }
        return false;
    }
    if (!migration_config_option_is_on(m, cfg)) {
        return true;            /* off is always accepted */
    }
    if (m->kind == QAPI_MEMBER_KIND_ENUM && m->enum_lookup->features) {
        int e = qapi_member_get_enum(m, cfg);

        if (m->enum_lookup->features[e] & QAPI_FEATURE_UNIMPLEMENTED) {
            error_setg(errp, "Option '%s' value '%s' is not implemented by "
                       "vmig", m->name,
                       qapi_enum_lookup(m->enum_lookup, e));
            return false;
        }
    }
    return true;
}

bool migration_rule_validate(const MigrationRule *rule,
                             const MigrationConfig *cfg, Error **errp)
{
    const QAPIMemberInfo *a = option(rule->a);
    const QAPIMemberInfo *b = option(rule->b);
    g_autofree char *da = NULL;
    g_autofree char *db = NULL;
    uint64_t va, vb;

    switch (rule->kind) {
    case MIGRATION_RULE_EXCLUDES:
        if (!migration_config_option_is_on(a, cfg) ||
            !migration_config_option_is_on(b, cfg)) {
            return true;
        }
        da = describe_on(a, cfg);
        db = describe_on(b, cfg);
        error_setg(errp, "Options %s and %s cannot be used together: %s",
                   da, db, rule->reason);
        return false;

    case MIGRATION_RULE_REQUIRES:
        if (!migration_config_option_is_on(a, cfg) ||
            migration_config_option_is_on(b, cfg)) {
            return true;
        }
        da = describe_on(a, cfg);
        error_setg(errp, "Option %s requires '%s' to be %s: %s",
                   da, b->name, on_word(b), rule->reason);
        return false;

    case MIGRATION_RULE_NOT_ABOVE:
        va = qapi_member_get_uint(a, cfg);
        vb = qapi_member_get_uint(b, cfg);
        if (va <= vb) {
            return true;
        }
        error_setg(errp, "Option '%s' value %" PRIu64 " must not exceed "
                   "option '%s' value %" PRIu64 ": %s", a->name, va, b->name,
                   vb, rule->reason);
        return false;

    default:
        g_assert_not_reached();
    }
}

/* Transport of a URI, from its scheme; 0 when the scheme is unknown (the
 * URI parser, not the validator, refuses those). */
static unsigned transport_of_uri(const char *uri)
{
    static const struct {
        const char *scheme;
        unsigned where;
    } schemes[] = {
        { "file:", MIGRATION_WHERE_FILE },
        { "tcp:", MIGRATION_WHERE_SOCKET },
        { "unix:", MIGRATION_WHERE_SOCKET },
        { "vsock:", MIGRATION_WHERE_SOCKET },
        { "fd:", MIGRATION_WHERE_STREAM },
        { "exec:", MIGRATION_WHERE_STREAM },
        { "rdma:", MIGRATION_WHERE_STREAM },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(schemes); i++) {
        if (g_str_has_prefix(uri, schemes[i].scheme)) {
            return schemes[i].where;
        }
    }
    return 0;
}

unsigned migration_config_env_where(const MigrationConfigEnv *env)
{
    unsigned where = 0;

    switch (env->context) {
    case MIGRATION_CONFIG_SNAPSHOT:
        where |= MIGRATION_WHERE_SNAPSHOT | MIGRATION_WHERE_FILE;
        /* fall through */
    case MIGRATION_CONFIG_OUTGOING:
    case MIGRATION_CONFIG_INCOMING:
        if (env->uri) {
            where |= transport_of_uri(env->uri);
        }
        return where;
    default:
        return 0;               /* no transport in use */
    }
}

bool migration_limit_validate(const MigrationLimit *limit,
                              const MigrationConfig *cfg,
                              const MigrationConfigEnv *env, Error **errp)
{
    const QAPIMemberInfo *m = option(limit->option);
    unsigned matched = limit->where & migration_config_env_where(env);
    g_autofree char *dm = NULL;
    g_autofree char *place = NULL;

    if (!matched || !migration_config_option_is_on(m, cfg) ||
        (limit->unless && is_on(limit->unless, cfg))) {
        return true;
    }
    if ((matched & ~MIGRATION_WHERE_SNAPSHOT) && env->uri) {
        place = g_strdup_printf("with URI '%s'", env->uri);
    } else {
        place = g_strdup("in a snapshot");
    }
    dm = describe_on(m, cfg);
    if (limit->unless) {
        error_setg(errp, "Option %s cannot be used %s unless '%s' is "
                   "%s too: %s", dm, place, limit->unless,
                   on_word(option(limit->unless)), limit->reason);
    } else {
        error_setg(errp, "Option %s cannot be used %s: %s", dm, place,
                   limit->reason);
    }
    return false;
}

bool migration_host_need_validate(const MigrationHostNeed *need,
                                  const MigrationConfig *cfg,
                                  const MigrationConfigEnv *env,
                                  Error **errp)
{
    const QAPIMemberInfo *m = option(need->option);
    const char *feature = migration_host_feature_names[need->feature];

    if (!env->host || !(need->contexts & MIGRATION_CONFIG_CTX_BIT(env->context))
        || env->host->has[need->feature]) {
        return true;
    }
    if (need->value) {
        int e = qapi_member_is_present(m, cfg) ?
                qapi_member_get_enum(m, cfg) : -1;

        if (e < 0 || strcmp(qapi_enum_lookup(m->enum_lookup, e),
                            need->value)) {
            return true;
        }
        error_setg(errp, "Option '%s' value '%s' cannot be used: this host "
                   "does not support %s", m->name, need->value, feature);
        return false;
    }
    if (!migration_config_option_is_on(m, cfg)) {
        return true;
    }
    if (m->kind == QAPI_MEMBER_KIND_BOOL) {
        error_setg(errp, "Option '%s' cannot be enabled: this host does not "
                   "support %s", m->name, feature);
    } else {
        g_autofree char *dm = describe_on(m, cfg);

        error_setg(errp, "Option %s cannot be used: this host does not "
                   "support %s", dm, feature);
    }
    return false;
}

/* The value of string option @name, "" when unset. */
static const char *str_option(const char *name, const MigrationConfig *cfg)
{
    const QAPIMemberInfo *m = option(name);

    return migration_config_option_is_on(m, cfg)
        ? *(char *const *)qapi_member_cptr(m, cfg) : "";
}

bool migration_local_validate(const MigrationConfig *cfg,
                              const MigrationConfigEnv *env, Error **errp)
{
    bool outgoing = env->context == MIGRATION_CONFIG_OUTGOING;
    const char *creds = str_option("tls-creds", cfg);
    const char *hostname = str_option("tls-hostname", cfg);
    const char *authz = str_option("tls-authz", cfg);
    /* As quoted in messages: a huge value shortened. */
    g_autofree char *creds_q = str_abbrev(creds);
    g_autofree char *hostname_q = str_abbrev(hostname);
    g_autofree char *authz_q = str_abbrev(authz);
    const char *side = outgoing ? "source" : "destination";
    MigrationTlsCredsFacts facts;
    QCryptoTLSCredsEndpoint want = outgoing
        ? QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT
        : QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;

    if (!env->objects || (!outgoing &&
                          env->context != MIGRATION_CONFIG_INCOMING)) {
        return true;
    }
    if (!*creds) {
        const char *orphan = *hostname ? "tls-hostname" :
                             *authz ? "tls-authz" : NULL;

        if (orphan) {
            error_setg(errp, "Option '%s' (value '%s') needs 'tls-creds': "
                       "without TLS there is no peer identity to check",
                       orphan, *hostname ? hostname_q : authz_q);
            return false;
        }
        return true;
    }
    if (!env->objects->tls_creds(creds, &facts, errp)) {
        error_prepend(errp, "Option 'tls-creds' (value '%s'): ", creds_q);
        return false;
    }
    if (facts.endpoint != want) {
        error_setg(errp, "Option 'tls-creds' (value '%s'): the credentials "
                   "are for the %s end, and a migration %s is the TLS %s "
                   "(endpoint=%s)", creds_q,
                   QCryptoTLSCredsEndpoint_str(facts.endpoint), side,
                   QCryptoTLSCredsEndpoint_str(want),
                   QCryptoTLSCredsEndpoint_str(want));
        return false;
    }
    if (outgoing && *authz) {
        error_setg(errp, "Option 'tls-authz' (value '%s') cannot be used on "
                   "a source: it checks the identity of the source, on the "
                   "destination", authz_q);
        return false;
    }
    if (!outgoing && *hostname) {
        error_setg(errp, "Option 'tls-hostname' (value '%s') cannot be used "
                   "on a destination: it is the name the source checks the "
                   "destination's certificate against", hostname_q);
        return false;
    }
    if (*authz && !env->objects->authz(authz, errp)) {
        error_prepend(errp, "Option 'tls-authz' (value '%s'): ", authz_q);
        return false;
    }
    if (!outgoing) {
        return true;
    }
    if (*hostname && !facts.checks_name) {
        error_setg(errp, "Option 'tls-hostname' (value '%s') cannot be used "
                   "with 'tls-creds' '%s': only x509 credentials that verify "
                   "the peer check the destination's name", hostname_q,
                   creds_q);
        return false;
    }
    if (facts.checks_name && !*hostname && env->uri &&
        !g_str_has_prefix(env->uri, "tcp:")) {
        error_setg(errp, "Option 'tls-creds' (value '%s') needs "
                   "'tls-hostname' with URI '%s': the destination's "
                   "certificate is checked against a host name, and only a "
                   "tcp: URI has one", creds_q, env->uri);
        return false;
    }
    return true;
}

/*
 * RUNTIME: names every option that changed although it is not 'runtime',
 * in one sentence.
 */
static bool check_runtime_changes(const MigrationConfig *cfg,
                                  const MigrationConfig *old, Error **errp)
{
    g_autoptr(GPtrArray) changed = migration_config_changed(old, cfg);
    g_autoptr(GPtrArray) fixed = g_ptr_array_new();
    g_autoptr(GString) list = g_string_new(NULL);

    for (guint i = 0; i < changed->len; i++) {
        const QAPIMemberInfo *m = changed->pdata[i];

        if (!(m->features & QAPI_FEATURE_RUNTIME)) {
            g_ptr_array_add(fixed, (gpointer)m);
        }
    }
    if (fixed->len == 0) {
        return true;
    }
    if (fixed->len == 1) {
        const QAPIMemberInfo *m = fixed->pdata[0];
        g_autofree char *from = shown_value(m, old);
        g_autofree char *to = shown_value(m, cfg);

        error_setg(errp, "Option '%s' cannot be changed from %s to %s while "
                   "migration is running", m->name, from, to);
        return false;
    }
    for (guint i = 0; i < fixed->len; i++) {
        const QAPIMemberInfo *m = fixed->pdata[i];
        g_autofree char *from = shown_value(m, old);
        g_autofree char *to = shown_value(m, cfg);

        if (i > 0) {
            g_string_append(list, i + 1 == fixed->len ? " and " : ", ");
        }
        g_string_append_printf(list, "'%s' (from %s to %s)", m->name, from,
                               to);
    }
    error_setg(errp, "Options %s cannot be changed while migration is "
               "running", list->str);
    return false;
}

/* ---- The validator --------------------------------------------------- */

static bool is_full(const MigrationConfig *cfg)
{
    const MigrationConfig *defaults = migration_config_defaults();

    for (size_t i = 0; i < migration_config_n_options(); i++) {
        const QAPIMemberInfo *m = migration_config_option(i);

        if (!qapi_member_is_present(m, cfg) &&
            qapi_member_is_present(m, defaults)) {
            return false;
        }
    }
    return true;
}

/* @cfg itself if full, else a full copy kept in *@copy. */
static const MigrationConfig *full_config(const MigrationConfig *cfg,
                                          MigrationConfig **copy)
{
    if (is_full(cfg)) {
        return cfg;
    }
    *copy = migration_config_clone(cfg);
    migration_config_fill_defaults(*copy);
    return *copy;
}

bool migration_config_validate(const MigrationConfig *cfg,
                               const MigrationConfig *old,
                               const MigrationConfigEnv *env, Error **errp)
{
    g_autoptr(MigrationConfig) cfg_copy = NULL;
    g_autoptr(MigrationConfig) old_copy = NULL;
    const MigrationConfig *full;

    check_tables_once();
    g_assert(env->context < MIGRATION_CONFIG__MAX);
    full = full_config(cfg, &cfg_copy);

    if (env->context == MIGRATION_CONFIG_RUNTIME) {
        g_assert(old);
        if (!check_runtime_changes(full, full_config(old, &old_copy),
                                   errp)) {
            return false;
        }
    }
    for (size_t i = 0; i < migration_config_n_options(); i++) {
        if (!migration_option_validate(i, full, env, errp)) {
            return false;
        }
    }
    for (size_t i = 0; i < migration_n_rules; i++) {
        if (!migration_rule_validate(&migration_rules[i], full, errp)) {
            return false;
        }
    }
    for (size_t i = 0; i < migration_n_limits; i++) {
        if (!migration_limit_validate(&migration_limits[i], full, env,
                                      errp)) {
            return false;
        }
    }
    for (size_t i = 0; i < migration_n_host_needs; i++) {
        if (!migration_host_need_validate(&migration_host_needs[i], full, env,
                                          errp)) {
            return false;
        }
    }
    return migration_local_validate(full, env, errp);
}

bool migration_config_apply(MigrationConfig *current,
                            const MigrationConfig *change,
                            const MigrationConfigEnv *env, Error **errp)
{
    g_autoptr(MigrationConfig) next = migration_config_clone(current);
    MigrationConfig tmp;

    migration_config_fill_defaults(next);
    migration_config_merge(next, change);
    if (!migration_config_validate(next, current, env, errp)) {
        return false;
    }
    /*
     * Commit by swapping the contents: nothing can fail from here on, and
     * @current's old values are freed with @next.
     */
    tmp = *current;
    *current = *next;
    *next = tmp;
    return true;
}
