/*
 * The migration configuration as a value: defaults, merging, comparison.
 *
 * Everything goes through MigrationConfig_info, so no option is named
 * here.  Defaults are parsed from migration_options[] (config-rules.c)
 * and written straight into the struct rather than through the input
 * visitor: the visitor would apply the deprecation policy, and a default
 * is not input.
 */
#include "migration/config.h"

#include <inttypes.h>
#include <string.h>

#include "qapi/qapi-visit.h"
#include "qapi/visitor.h"
#include "util/cutils.h"

/* The validator looks options up by name all the time: hash them once. */
const QAPIMemberInfo *migration_config_find_option(const char *name)
{
    static gsize once;
    static GHashTable *by_name;

    if (g_once_init_enter(&once)) {
        GHashTable *h = g_hash_table_new(g_str_hash, g_str_equal);

        for (size_t i = 0; i < migration_config_n_options(); i++) {
            const QAPIMemberInfo *m = migration_config_option(i);

            g_hash_table_insert(h, (gpointer)m->name, (gpointer)m);
        }
        by_name = h;
        g_once_init_leave(&once, 1);
    }
    return g_hash_table_lookup(by_name, name);
}

size_t migration_config_option_index(const QAPIMemberInfo *m)
{
    g_assert(m >= MigrationConfig_info.members &&
             m < MigrationConfig_info.members + MigrationConfig_info.n_members);
    return m - MigrationConfig_info.members;
}

/*
 * Sets option @i of @cfg, which must be absent, to its default.  Fails
 * only for a default that does not fit the option's type, which
 * migration_options_check() reports.
 */
static bool set_default(size_t i, MigrationConfig *cfg, Error **errp)
{
    const QAPIMemberInfo *m = migration_config_option(i);
    const char *def = migration_options[i].def;
    uint64_t u;
    int64_t s;
    double d;
    bool b;
    int e;

    if (!def) {
        if (!qapi_member_is_pointer(m)) {
            error_setg(errp, "option '%s' of type %s needs a default",
                       m->name, m->type_name);
            return false;
        }
        return true;            /* absent by default */
    }

    switch (m->kind) {
    case QAPI_MEMBER_KIND_BOOL:
        if (!parse_bool(def, &b, errp)) {
            return false;
        }
        qapi_member_set_bool(m, cfg, b);
        break;
    case QAPI_MEMBER_KIND_INT:
        if (!parse_int64(def, &s, errp)) {
            return false;
        }
        if (!qapi_member_set_int(m, cfg, s)) {
            goto out_of_range;
        }
        break;
    case QAPI_MEMBER_KIND_UINT:
    case QAPI_MEMBER_KIND_SIZE:
        if (!(m->kind == QAPI_MEMBER_KIND_SIZE ? parse_size(def, &u, errp)
                                               : parse_uint64(def, &u, errp))) {
            return false;
        }
        if (!qapi_member_set_uint(m, cfg, u)) {
            goto out_of_range;
        }
        break;
    case QAPI_MEMBER_KIND_NUMBER:
        if (!parse_double(def, &d, errp)) {
            return false;
        }
        qapi_member_set_number(m, cfg, d);
        break;
    case QAPI_MEMBER_KIND_STR:
        qapi_member_set_str(m, cfg, def);
        break;
    case QAPI_MEMBER_KIND_ENUM:
        e = qapi_enum_parse(m->enum_lookup, def, -1, errp);
        if (e < 0) {
            return false;
        }
        qapi_member_set_enum(m, cfg, e);
        break;
    default:
        error_setg(errp, "option '%s' of type %s cannot have a default",
                   m->name, m->type_name);
        return false;
    }
    return true;

out_of_range:
    error_setg(errp, "default '%s' of option '%s' does not fit type %s",
               def, m->name, m->type_name);
    return false;
}

static bool option_is_unsigned(const QAPIMemberInfo *m)
{
    return m->kind == QAPI_MEMBER_KIND_UINT || m->kind == QAPI_MEMBER_KIND_SIZE;
}

bool migration_options_check(Error **errp)
{
    const QAPIStructInfo *info = &MigrationConfig_info;
    g_autoptr(MigrationConfig) cfg = g_new0(MigrationConfig, 1);

    if (migration_n_options != info->n_members) {
        error_setg(errp, "migration_options[] has %zu entries, but "
                   "MigrationConfig has %zu members", migration_n_options,
                   info->n_members);
        return false;
    }
    for (size_t i = 0; i < info->n_members; i++) {
        const QAPIMemberInfo *m = &info->members[i];
        const MigrationOptionInfo *opt = &migration_options[i];

        if (strcmp(opt->name, m->name)) {
            error_setg(errp, "migration_options[%zu] is '%s', but member "
                       "%zu of MigrationConfig is '%s'", i, opt->name, i,
                       m->name);
            return false;
        }
        if (!m->optional) {
            error_setg(errp, "MigrationConfig member '%s' must be optional",
                       m->name);
            return false;
        }
        if ((opt->has_range || opt->valid) && !option_is_unsigned(m)) {
            error_setg(errp, "option '%s' has a range or value check, but "
                       "is not of an unsigned type", m->name);
            return false;
        }
        if (opt->has_range && opt->min > opt->max) {
            error_setg(errp, "option '%s' has an empty range", m->name);
            return false;
        }
        if (!!opt->valid != !!opt->valid_desc) {
            error_setg(errp, "option '%s' needs both a value check and its "
                       "description", m->name);
            return false;
        }
        if (!!(m->features & QAPI_FEATURE_NOT_YET) +
            !!(m->features & QAPI_FEATURE_UNIMPLEMENTED) +
            !!(m->features & QAPI_FEATURE_NO_EFFECT) > 1) {
            error_setg(errp, "option '%s' has more than one of the "
                       "features 'not-yet', 'unimplemented' and "
                       "'no-effect'", m->name);
            return false;
        }
        if (!set_default(i, cfg, errp)) {
            return false;
        }
        if (opt->def && option_is_unsigned(m)) {
            uint64_t v = qapi_member_get_uint(m, cfg);

            if ((opt->has_range && (v < opt->min || v > opt->max)) ||
                (opt->valid && !opt->valid(v, 0))) {
                error_setg(errp, "default of option '%s' is not valid",
                           m->name);
                return false;
            }
        }
    }
    return true;
}

MigrationOptionStatus migration_option_status(const QAPIMemberInfo *m)
{
    if (m->features & QAPI_FEATURE_NOT_YET) {
        return MIGRATION_OPTION_NOT_YET;
    }
    if (m->features & QAPI_FEATURE_UNIMPLEMENTED) {
        return MIGRATION_OPTION_UNIMPLEMENTED;
    }
    if (m->features & QAPI_FEATURE_NO_EFFECT) {
        return MIGRATION_OPTION_NO_EFFECT;
    }
    return MIGRATION_OPTION_WORKS;
}

/*
 * The defaults, built once.  Building them also checks the table against
 * the schema: a mismatch is a bug in vmig, found by the unit test long
 * before it could reach a user.
 */
const MigrationConfig *migration_config_defaults(void)
{
    static gsize once;
    static MigrationConfig *defaults;

    if (g_once_init_enter(&once)) {
        Error *err = NULL;
        MigrationConfig *cfg = g_new0(MigrationConfig, 1);

        if (!migration_options_check(&err)) {
            g_error("migration option table: %s", error_get_pretty(err));
        }
        for (size_t i = 0; i < migration_config_n_options(); i++) {
            set_default(i, cfg, &error_abort);
        }
        defaults = cfg;
        g_once_init_leave(&once, 1);
    }
    return defaults;
}

MigrationConfig *migration_config_new_default(void)
{
    return migration_config_clone(migration_config_defaults());
}

void migration_config_fill_defaults(MigrationConfig *cfg)
{
    const MigrationConfig *defaults = migration_config_defaults();

    for (size_t i = 0; i < migration_config_n_options(); i++) {
        const QAPIMemberInfo *m = migration_config_option(i);

        if (!qapi_member_is_present(m, cfg)) {
            qapi_member_copy(m, cfg, defaults);
        }
    }
}

/*
 * Member by member rather than QAPI_CLONE(): most options are scalars,
 * copied with memcpy, and the validator clones on every change.
 */
MigrationConfig *migration_config_clone(const MigrationConfig *cfg)
{
    MigrationConfig *copy;

    if (!cfg) {
        return NULL;
    }
    copy = g_new0(MigrationConfig, 1);
    for (size_t i = 0; i < migration_config_n_options(); i++) {
        const QAPIMemberInfo *m = migration_config_option(i);

        if (m->kind == QAPI_MEMBER_KIND_STR) {
            /* The common pointer case, without a visitor round trip. */
            qapi_member_set_str(m, copy,
                                *(char *const *)qapi_member_cptr(m, cfg));
        } else {
            qapi_member_copy(m, copy, cfg);
        }
    }
    return copy;
}

void migration_config_merge(MigrationConfig *dst,
                            const MigrationConfig *change)
{
    qapi_struct_merge(&MigrationConfig_info, dst, change);
}

bool migration_config_option_equal(const QAPIMemberInfo *m,
                                   const MigrationConfig *a,
                                   const MigrationConfig *b)
{
    bool pa = qapi_member_is_present(m, a);
    bool pb = qapi_member_is_present(m, b);

    if (pa != pb) {
        return false;
    }
    if (!pa) {
        return true;
    }
    if (m->kind == QAPI_MEMBER_KIND_STR) {
        return !strcmp(*(char *const *)qapi_member_cptr(m, a),
                       *(char *const *)qapi_member_cptr(m, b));
    }
    if (qapi_member_is_pointer(m)) {
        /* Lists and the like: compare what they look like on the wire. */
        json_t *ja = qapi_member_to_json(m, a);
        json_t *jb = qapi_member_to_json(m, b);
        bool equal = json_equal(ja, jb);

        json_decref(ja);
        json_decref(jb);
        return equal;
    }
    return !memcmp(qapi_member_cptr(m, a), qapi_member_cptr(m, b), m->size);
}

bool migration_config_equal(const MigrationConfig *a,
                            const MigrationConfig *b)
{
    for (size_t i = 0; i < migration_config_n_options(); i++) {
        if (!migration_config_option_equal(migration_config_option(i),
                                           a, b)) {
            return false;
        }
    }
    return true;
}

GPtrArray *migration_config_present(const MigrationConfig *cfg)
{
    GPtrArray *present = g_ptr_array_new();

    for (size_t i = 0; i < migration_config_n_options(); i++) {
        const QAPIMemberInfo *m = migration_config_option(i);

        if (qapi_member_is_present(m, cfg)) {
            g_ptr_array_add(present, (gpointer)m);
        }
    }
    return present;
}

GPtrArray *migration_config_changed(const MigrationConfig *a,
                                    const MigrationConfig *b)
{
    GPtrArray *changed = g_ptr_array_new();

    for (size_t i = 0; i < migration_config_n_options(); i++) {
        const QAPIMemberInfo *m = migration_config_option(i);

        if (!migration_config_option_equal(m, a, b)) {
            g_ptr_array_add(changed, (gpointer)m);
        }
    }
    return changed;
}

bool migration_config_option_is_on(const QAPIMemberInfo *m,
                                   const MigrationConfig *cfg)
{
    const void *p = qapi_member_cptr(m, cfg);

    if (!qapi_member_is_present(m, cfg)) {
        return false;
    }
    switch (m->kind) {
    case QAPI_MEMBER_KIND_BOOL:
        return qapi_member_get_bool(m, cfg);
    case QAPI_MEMBER_KIND_STR:
        return **(char *const *)p != '\0';
    case QAPI_MEMBER_KIND_STRUCT:
    case QAPI_MEMBER_KIND_LIST:     /* an empty list is NULL */
    case QAPI_MEMBER_KIND_ANY:
    case QAPI_MEMBER_KIND_ALTERNATE:
        return *(void *const *)p != NULL;
    default:
        return !migration_config_option_equal(m, cfg,
                                              migration_config_defaults());
    }
}

bool migration_config_option_is_default(const QAPIMemberInfo *m,
                                        const MigrationConfig *cfg)
{
    if (!qapi_member_is_present(m, cfg)) {
        return true;
    }
    /* Absent by default: an empty list is no different. */
    if (qapi_member_is_pointer(m) && m->kind != QAPI_MEMBER_KIND_STR) {
        return !migration_config_option_is_on(m, cfg);
    }
    return migration_config_option_equal(m, cfg,
                                         migration_config_defaults());
}

char *migration_config_option_value_str(const QAPIMemberInfo *m,
                                        const MigrationConfig *cfg)
{
    const void *p = qapi_member_cptr(m, cfg);
    json_t *json;
    char *text, *result;

    if (!qapi_member_is_present(m, cfg)) {
        return g_strdup("absent");
    }
    switch (m->kind) {
    case QAPI_MEMBER_KIND_BOOL:
        return g_strdup(qapi_member_get_bool(m, cfg) ? "true" : "false");
    case QAPI_MEMBER_KIND_INT:
        return g_strdup_printf("%" PRId64, qapi_member_get_int(m, cfg));
    case QAPI_MEMBER_KIND_UINT:
    case QAPI_MEMBER_KIND_SIZE:
        return g_strdup_printf("%" PRIu64, qapi_member_get_uint(m, cfg));
    case QAPI_MEMBER_KIND_NUMBER:
        return g_strdup_printf("%g", *(const double *)p);
    case QAPI_MEMBER_KIND_STR:
        return g_strdup_printf("'%s'", *(char *const *)p);
    case QAPI_MEMBER_KIND_ENUM:
        return g_strdup_printf("'%s'",
                               qapi_enum_lookup(m->enum_lookup,
                                                qapi_member_get_enum(m, cfg)));
    default:
        json = qapi_member_to_json(m, cfg);
        text = json_dumps(json, JSON_ENCODE_ANY | JSON_COMPACT);
        json_decref(json);
        result = g_strdup(text ? text : "?");
        free(text);
        return result;
    }
}

MigrationConfig *migration_config_from_keyval(json_t *tree, Error **errp)
{
    MigrationConfig *cfg = NULL;
    Visitor *v = json_input_visitor_new_keyval(tree);

    visit_type_MigrationConfig(v, NULL, &cfg, errp);
    visit_free(v);
    return cfg;
}
