/*
 * vmig-config-doc: prints the configuration chapter of the documentation
 * (Markdown, on stdout) from the schema's reflection table and the tables
 * of config-rules.c, so the chapter can never disagree with what the
 * validator does.  What each option means is in the QMP reference
 * (MigrationConfig), generated from the schema's doc comments.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "migration/config-validate.h"
#include "util/cutils.h"

static const char *const rule_verbs[MIGRATION_RULE__MAX] = {
    [MIGRATION_RULE_EXCLUDES] = "cannot be used together with",
    [MIGRATION_RULE_REQUIRES] = "requires",
    [MIGRATION_RULE_NOT_ABOVE] = "must not exceed",
};

static void print_default(GString *out, size_t i)
{
    const QAPIMemberInfo *m = migration_config_option(i);
    const char *def = migration_options[i].def;
    uint64_t bytes;

    if (!def) {
        g_string_append(out, "absent");
    } else if (m->kind == QAPI_MEMBER_KIND_STR) {
        g_string_append_printf(out, "`\"%s\"`", def);
    } else if (m->kind == QAPI_MEMBER_KIND_SIZE &&
               strspn(def, "0123456789") != strlen(def) &&
               parse_size(def, &bytes, NULL)) {
        g_string_append_printf(out, "`%s` (%" PRIu64 ")", def, bytes);
    } else {
        g_string_append_printf(out, "`%s`", def);
    }
}

static void print_valid(GString *out, size_t i)
{
    const QAPIMemberInfo *m = migration_config_option(i);
    const MigrationOptionInfo *opt = &migration_options[i];
    const char *sep = "";

    switch (m->kind) {
    case QAPI_MEMBER_KIND_BOOL:
        g_string_append(out, "on, off");
        break;
    case QAPI_MEMBER_KIND_STR:
        g_string_append(out, "a string");
        break;
    case QAPI_MEMBER_KIND_ENUM:
        for (int e = 0; e < m->enum_lookup->size; e++) {
            bool unimpl = m->enum_lookup->features &&
                (m->enum_lookup->features[e] & QAPI_FEATURE_UNIMPLEMENTED);

            g_string_append_printf(out, "%s`%s`%s", sep,
                                   m->enum_lookup->array[e],
                                   unimpl ? " (not implemented)" : "");
            sep = ", ";
        }
        break;
    case QAPI_MEMBER_KIND_UINT:
    case QAPI_MEMBER_KIND_SIZE:
        if (opt->has_range && opt->max == UINT64_MAX) {
            g_string_append_printf(out, "at least %" PRIu64, opt->min);
        } else if (opt->has_range) {
            g_string_append_printf(out, "%" PRIu64 " to %" PRIu64,
                                   opt->min, opt->max);
        } else if (!opt->valid_desc) {
            g_string_append_printf(out, "any %s", m->type_name);
        }
        if (opt->valid_desc) {
            g_string_append_printf(out, "%s%s", opt->has_range ? ", " : "",
                                   opt->valid_desc);
        }
        break;
    default:
        g_string_append_printf(out, "`%s`", m->type_name);
        break;
    }
    if (opt->unit) {
        g_string_append_printf(out, " (%s)", opt->unit);
    }
}

static void print_notes(GString *out, const QAPIMemberInfo *m)
{
    static const struct {
        unsigned feature;
        const char *text;
    } notes[] = {
        { QAPI_FEATURE_CAPABILITY, "former capability" },
        { QAPI_FEATURE_DEPRECATED, "**deprecated**" },
        { QAPI_FEATURE_UNSTABLE, "unstable" },
        { QAPI_FEATURE_UNIMPLEMENTED, "**not implemented** (only off)" },
    };
    const char *sep = "";

    for (size_t i = 0; i < G_N_ELEMENTS(notes); i++) {
        if (m->features & notes[i].feature) {
            g_string_append_printf(out, "%s%s", sep, notes[i].text);
            sep = "; ";
        }
    }
}

/* "file: URIs, snapshots" for MIGRATION_WHERE_FILE | _SNAPSHOT. */
static void print_where(GString *out, unsigned where)
{
    static const struct {
        unsigned bit;
        const char *text;
    } names[] = {
        { MIGRATION_WHERE_FILE, "file: URIs" },
        { MIGRATION_WHERE_SOCKET, "tcp:/unix:/vsock: URIs" },
        { MIGRATION_WHERE_STREAM, "fd:/exec:/rdma: URIs" },
        { MIGRATION_WHERE_SNAPSHOT, "snapshots" },
    };
    const char *sep = "";

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        if (where & names[i].bit) {
            g_string_append_printf(out, "%s%s", sep, names[i].text);
            sep = ", ";
        }
    }
}

/* The rules, limits and host needs option @name takes part in. */
static void print_rules_of(GString *out, const char *name)
{
    /* How a rule reads from its first option, and from its second. */
    static const char *const as_a[MIGRATION_RULE__MAX] = {
        [MIGRATION_RULE_EXCLUDES] = "excludes",
        [MIGRATION_RULE_REQUIRES] = "requires",
        [MIGRATION_RULE_NOT_ABOVE] = "at most",
    };
    static const char *const as_b[MIGRATION_RULE__MAX] = {
        [MIGRATION_RULE_EXCLUDES] = "excludes",
        [MIGRATION_RULE_REQUIRES] = "required by",
        [MIGRATION_RULE_NOT_ABOVE] = "at least",
    };
    const char *sep = "";

    for (size_t i = 0; i < migration_n_rules; i++) {
        const MigrationRule *r = &migration_rules[i];

        if (!strcmp(r->a, name)) {
            g_string_append_printf(out, "%s%s `%s`", sep, as_a[r->kind],
                                   r->b);
        } else if (!strcmp(r->b, name)) {
            g_string_append_printf(out, "%s%s `%s`", sep, as_b[r->kind],
                                   r->a);
        } else {
            continue;
        }
        sep = "; ";
    }
    for (size_t i = 0; i < migration_n_limits; i++) {
        const MigrationLimit *l = &migration_limits[i];

        if (strcmp(l->option, name)) {
            continue;
        }
        g_string_append_printf(out, "%snot with ", sep);
        print_where(out, l->where);
        if (l->unless) {
            g_string_append_printf(out, " unless `%s`", l->unless);
        }
        sep = "; ";
    }
    for (size_t i = 0; i < migration_n_host_needs; i++) {
        const MigrationHostNeed *n = &migration_host_needs[i];

        if (strcmp(n->option, name)) {
            continue;
        }
        g_string_append(out, sep);
        if (n->value) {
            g_string_append_printf(out, "`%s` ", n->value);
        }
        g_string_append_printf(out, "needs %s",
                               migration_host_feature_names[n->feature]);
        sep = "; ";
    }
}

static void print_contexts(GString *out, unsigned contexts)
{
    const char *sep = "";

    for (int c = 0; c < MIGRATION_CONFIG__MAX; c++) {
        if (contexts & MIGRATION_CONFIG_CTX_BIT(c)) {
            g_string_append_printf(out, "%s%s", sep,
                                   migration_config_context_name(c));
            sep = ", ";
        }
    }
}

int main(void)
{
    g_autoptr(GString) out = g_string_new(NULL);
    Error *err = NULL;

    if (!migration_options_check(&err) ||
        !migration_rules_check_tables(&err)) {
        error_report_err(err);
        return 1;
    }

    g_string_append(out,
        "# Migration configuration\n\n"
        "*Generated by vmig-config-doc from qapi/migration.json and "
        "migration/config-rules.c; do not edit.*\n\n"
        "Every migration option is a member of `MigrationConfig` (see the "
        "QMP reference for what each one does).  Former QEMU capabilities "
        "and parameters keep their names.  One validator checks every "
        "configuration as a whole, whichever interface it comes from:\n\n"
        "- **set**: no migration is running; ranges, rules between "
        "options, options vmig does not implement;\n"
        "- **runtime**: a migration is running; in addition, only options "
        "marked *yes* under \"While migrating\" may change;\n"
        "- **outgoing**, **incoming**: a migration starts; in addition, "
        "the limits of the URI's transport and what this host supports;\n"
        "- **snapshot**: the VM's state is saved to a file and the VM "
        "stays on this host; in addition, the limits of files and "
        "snapshots.\n\n"
        "An option is *on* when it is a bool that is true, a string that "
        "is not empty, a list that is not empty, or an enum or number "
        "that differs from its default.\n\n"
        "## Options\n\n"
        "| Option | Type | Default | Valid values | While migrating | "
        "Rules | Notes |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n");
    for (size_t i = 0; i < migration_config_n_options(); i++) {
        const QAPIMemberInfo *m = migration_config_option(i);

        g_string_append_printf(out, "| `%s` | `%s` | ", m->name,
                               m->type_name);
        print_default(out, i);
        g_string_append(out, " | ");
        print_valid(out, i);
        g_string_append_printf(out, " | %s | ",
                               m->features & QAPI_FEATURE_RUNTIME ? "yes"
                                                                  : "no");
        print_rules_of(out, m->name);
        g_string_append(out, " | ");
        print_notes(out, m);
        g_string_append(out, " |\n");
    }

    g_string_append(out,
        "\n## Rules between options\n\n"
        "Checked on the whole resulting configuration, so they hold "
        "whatever order options are changed in.\n\n"
        "| Rule | Why |\n| --- | --- |\n");
    for (size_t i = 0; i < migration_n_rules; i++) {
        const MigrationRule *r = &migration_rules[i];

        g_string_append_printf(out, "| `%s` %s `%s` | %s |\n", r->a,
                               rule_verbs[r->kind], r->b, r->reason);
    }

    g_string_append(out,
        "\n## Limits of transports and snapshots\n\n"
        "Checked when a migration or snapshot starts, and on the "
        "destination.\n\n"
        "| Option | Refused with | Why |\n| --- | --- | --- |\n");
    for (size_t i = 0; i < migration_n_limits; i++) {
        const MigrationLimit *l = &migration_limits[i];

        g_string_append_printf(out, "| `%s` | ", l->option);
        print_where(out, l->where);
        if (l->unless) {
            g_string_append_printf(out, ", unless `%s` is on", l->unless);
        }
        g_string_append_printf(out, " | %s |\n", l->reason);
    }

    g_string_append(out,
        "\n## What the host must support\n\n"
        "| Option | Needs | Checked when |\n| --- | --- | --- |\n");
    for (size_t i = 0; i < migration_n_host_needs; i++) {
        const MigrationHostNeed *n = &migration_host_needs[i];

        g_string_append_printf(out, "| `%s`", n->option);
        if (n->value) {
            g_string_append_printf(out, " = `%s`", n->value);
        }
        g_string_append_printf(out, " | %s | ",
                               migration_host_feature_names[n->feature]);
        print_contexts(out, n->contexts);
        g_string_append(out, " |\n");
    }

    fputs(out->str, stdout);
    return fflush(stdout) == 0 ? 0 : 1;
}
