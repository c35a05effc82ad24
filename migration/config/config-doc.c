/*
 * vmig-config-doc: prints the configuration chapter of the documentation
 * (Markdown, on stdout) from the schema's reflection table and the tables
 * of config-rules.c, so the chapter can never disagree with what the
 * validator does.  It ends with how QEMU's capabilities, parameters and
 * their commands map onto the configuration, from the member feature
 * 'capability'.  What each option means is in the QMP reference
 * (MigrationConfig), generated from the schema's doc comments.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migration/config-validate.h"
#include "util/cutils.h"

/* The QMP reference is generated next to this chapter (build/docs/). */
#define QMP_REFERENCE "qmp-reference.md"

/* Free text of the tables goes into table cells, where '|' ends a cell. */
static void append_cell(GString *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '|') {
            g_string_append_c(out, '\\');
        }
        g_string_append_c(out, *p);
    }
}

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
            unsigned f = m->enum_lookup->features
                ? m->enum_lookup->features[e] : 0;

            g_string_append_printf(out, "%s`%s`%s%s", sep,
                                   m->enum_lookup->array[e],
                                   f & QAPI_FEATURE_DEPRECATED
                                   ? " (**deprecated**)" : "",
                                   f & QAPI_FEATURE_UNIMPLEMENTED
                                   ? " (not implemented)" : "");
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
            g_string_append(out, opt->has_range ? ", " : "");
            append_cell(out, opt->valid_desc);
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
    };
    const char *sep = "";

    for (size_t i = 0; i < G_N_ELEMENTS(notes); i++) {
        if (m->features & notes[i].feature) {
            g_string_append_printf(out, "%s%s", sep, notes[i].text);
            sep = "; ";
        }
    }
}

/* Every option has one of these (the docs test checks the words).
 * Split strings in parentheses: clang's -Wstring-concatenation. */
static const char *const status_text[] = {
    [MIGRATION_OPTION_WORKS] = "works",
    [MIGRATION_OPTION_NOT_YET] = ("**refused for now**: not supported by "
                                  "this vmig yet, only its default is "
                                  "accepted"),
    [MIGRATION_OPTION_UNIMPLEMENTED] = ("**not implemented**: only its "
                                        "default is accepted"),
    [MIGRATION_OPTION_NO_EFFECT] = "accepted, **no effect here**",
};

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

/* Option @m's default as JSON, for the QMP examples; "V" if it has none. */
static char *default_json(const QAPIMemberInfo *m)
{
    json_t *value = qapi_member_to_json(m, migration_config_defaults());
    char *text, *copy;

    if (!value) {
        return g_strdup("V");
    }
    text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(value);
    copy = g_strdup(text);
    free(text);                 /* jansson allocates with malloc() */
    return copy;
}

/*
 * Option number @i's default in command-line syntax, for the HMP
 * examples.  An empty string must be quoted as a separate HMP argument,
 * but is just nothing after '=' in key=value syntax.
 */
static const char *default_cmdline(size_t i, bool keyval)
{
    const char *def = migration_options[i].def;

    if (!def) {
        return "V";
    }
    return *def || keyval ? def : "\"\"";
}

/* How each former capability (or each parameter) was set, and is now. */
static void print_legacy_options(GString *out, bool capabilities)
{
    g_string_append(out,
        "| Option | QMP before | HMP before | QMP now | HMP now |\n"
        "| --- | --- | --- | --- | --- |\n");
    for (size_t i = 0; i < migration_config_n_options(); i++) {
        const QAPIMemberInfo *m = migration_config_option(i);
        bool is_capability = m->features & QAPI_FEATURE_CAPABILITY;
        g_autofree char *json = NULL;

        if (is_capability != capabilities) {
            continue;
        }
        if (capabilities) {
            g_string_append_printf(out,
                "| `%s` | `migrate-set-capabilities {\"capabilities\": "
                "[{\"capability\": \"%s\", \"state\": true}]}` | "
                "`migrate_set_capability %s on` | "
                "`migrate-set-config {\"%s\": true}` | "
                "`migrate_set_config %s=on` |\n",
                m->name, m->name, m->name, m->name, m->name);
            continue;
        }
        json = default_json(m);
        g_string_append_printf(out,
            "| `%s` | `migrate-set-parameters {\"%s\": %s}` | "
            "`migrate_set_parameter %s %s` | "
            "`migrate-set-config {\"%s\": %s}` | "
            "`migrate_set_config %s=%s` |\n",
            m->name, m->name, json, m->name, default_cmdline(i, false),
            m->name, json, m->name, default_cmdline(i, true));
    }
}

static void print_legacy(GString *out)
{
    g_string_append(out,
        "\n## From capabilities and parameters to the configuration\n\n"
        "QEMU sets migration capabilities and migration parameters with "
        "separate commands; here they are options of one configuration. "
        "The legacy commands still work and go through the same "
        "validator (see for example [`migrate-set-capabilities`]("
        QMP_REFERENCE "#command-migrate-set-capabilities) in the QMP "
        "reference).\n\n"
        "| Before | Now |\n| --- | --- |\n"
        "| `query-migrate-capabilities`, `query-migrate-parameters` | "
        "`query-migrate-config` |\n"
        "| HMP `info migrate_capabilities`, `info migrate_parameters` | "
        "HMP `info migrate_config` |\n"
        "| `-global migration.KEY=VALUE` | unchanged, for every option |\n"
        "| `-incoming defer`, then `migrate-set-capabilities` or "
        "`migrate-set-parameters` on the destination, then "
        "`migrate-incoming {\"uri\": URI}` | "
        "`-incoming URI,KEY=VALUE,...`, or `-incoming defer` then "
        "`migrate-incoming {\"uri\": URI, \"config\": {...}}` |\n"
        "\n### Which configuration a migration uses\n\n"
        "A `config` given to [`migrate`](" QMP_REFERENCE "#command-migrate) "
        "or [`migrate-incoming`](" QMP_REFERENCE
        "#command-migrate-incoming), like the KEY=VALUE list of "
        "`-incoming URI,KEY=VALUE,...`, is the whole configuration of that "
        "migration: the options it leaves out take their start-up values "
        "(the defaults above, then `-global migration.KEY=VALUE`), never "
        "values set by earlier commands.  Without `config`, the migration "
        "uses the configuration in effect: the start-up values as changed "
        "since by `migrate-set-config` and the legacy commands.  Either "
        "way, that configuration becomes the one in effect.\n"
        "\n### Former capabilities\n\n");
    print_legacy_options(out, true);
    g_string_append(out,
        "\n### Former parameters\n\n"
        "Each example sets the option to its default.  `V` stands for a "
        "value where there is none: JSON in QMP, and in key=value form "
        "a list is written `NAME.0=...,NAME.1=...` (with dotted keys for "
        "the members of an element).\n\n");
    print_legacy_options(out, false);
}

/* The title, and what "set", "runtime"... and "on" mean below. */
static void print_intro(GString *out)
{
    g_string_append(out,
        "# Migration configuration\n\n"
        "*Generated by vmig-config-doc from qapi/migration.json and "
        "migration/config/config-rules.c; do not edit.*\n\n"
        "Every migration option is a member of `MigrationConfig` (see the "
        "[QMP reference](" QMP_REFERENCE "#type-MigrationConfig) for what "
        "each one does).  Former QEMU capabilities "
        "and parameters keep their names.  One validator checks every "
        "configuration as a whole, whichever interface it comes from:\n\n"
        "- **set**: no migration is running; ranges, rules between "
        "options, options vmig does not implement (yet);\n"
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
        "Every option has a status (from the features of its member in "
        "the schema):\n\n"
        "- *works*: vmig does what the option says;\n"
        "- *refused for now*: QEMU implements it and vmig plans to; until "
        "then any value but the default is refused (\"not supported by "
        "this vmig yet\");\n"
        "- *not implemented*: vmig does not plan it (QEMU removed it, it "
        "needs hardware vmig does not drive, or it tunes such an option); "
        "any value but the default is refused;\n"
        "- *no effect here*: it acts on what a vmig machine does not have "
        "(block devices, network cards); any valid value is accepted and "
        "changes nothing.\n\n");
}

/* One row per option: type, default, valid values, rules, status,
 * notes. */
static void print_options(GString *out)
{
    g_string_append(out,
        "## Options\n\n"
        "| Option | Type | Default | Valid values | While migrating | "
        "Rules | Status | Notes |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- |\n");
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
        g_string_append_printf(out, " | %s | ",
                               status_text[migration_option_status(m)]);
        print_notes(out, m);
        g_string_append(out, " |\n");
    }
}

static void print_rules(GString *out)
{
    g_string_append(out,
        "\n## Rules between options\n\n"
        "Checked on the whole resulting configuration, so they hold "
        "whatever order options are changed in.\n\n"
        "| Rule | Why |\n| --- | --- |\n");
    for (size_t i = 0; i < migration_n_rules; i++) {
        const MigrationRule *r = &migration_rules[i];

        g_string_append_printf(out, "| `%s` %s `%s` | ", r->a,
                               rule_verbs[r->kind], r->b);
        append_cell(out, r->reason);
        g_string_append(out, " |\n");
    }
}

static void print_limits(GString *out)
{
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
        g_string_append(out, " | ");
        append_cell(out, l->reason);
        g_string_append(out, " |\n");
    }
}

static void print_host_needs(GString *out)
{
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

    print_intro(out);
    print_options(out);
    print_rules(out);
    print_limits(out);
    print_host_needs(out);
    print_legacy(out);

    fputs(out->str, stdout);
    return fflush(stdout) == 0 ? 0 : 1;
}
