/*
 * Command-line parsing.  See include/system/cmdline.h.
 */
#include "system/cmdline.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config-host.h"
#include "qapi/clone.h"
#include "qapi/keyval.h"
#include "qapi/qapi-visit.h"
#include "qapi/visitor.h"
#include "system/cpus.h"
#include "system/object.h"
#include "util/cutils.h"

typedef struct CmdlineContext {
    MachineConfig *cfg;
    bool exit_now;          /* set by -help, -version, -object help */
} CmdlineContext;

typedef bool OptionHandler(CmdlineContext *ctx, const char *arg,
                           Error **errp);

typedef struct VmigOption {
    const char *name;       /* without the leading '-' */
    const char *alias;      /* another name, or NULL */
    const char *arg_name;   /* NULL if the option takes no argument */
    const char *help;
    OptionHandler *handler;
} VmigOption;

static const VmigOption options[];

/* Parses KEY=VALUE,... @arg into a new QAPI object with @visit. */
static void *parse_keyval(const char *arg, const char *implied_key,
                          QAPIVisitFunc *visit, bool *help, Error **errp)
{
    json_t *tree = keyval_parse(arg, implied_key, help, errp);
    void *obj = NULL;
    Visitor *v;

    if (!tree || (help && *help)) {
        json_decref(tree);
        return NULL;
    }
    v = json_input_visitor_new_keyval(tree);
    visit(v, NULL, &obj, errp);
    visit_free(v);
    json_decref(tree);
    return obj;
}

static OptionArg *option_arg_new(const char *arg, void *value,
                                 void (*free_value)(void *))
{
    OptionArg *o = g_new0(OptionArg, 1);

    o->arg = g_strdup(arg);
    o->value = value;
    o->free_value = free_value;
    return o;
}

static void free_object_options(void *p)
{
    qapi_free_ObjectOptions(p);
}

static void free_numa_options(void *p)
{
    qapi_free_NumaOptions(p);
}

static void free_machine_options(void *p)
{
    qapi_free_MachineOptions(p);
}

static void free_workload_options(void *p)
{
    qapi_free_WorkloadOptions(p);
}

static bool opt_name(CmdlineContext *ctx, const char *arg, Error **errp)
{
    g_free(ctx->cfg->name);
    ctx->cfg->name = g_strdup(arg);
    return true;
}

static bool opt_m(CmdlineContext *ctx, const char *arg, Error **errp)
{
    uint64_t page_size = (uint64_t)sysconf(_SC_PAGESIZE);
    size_t len = strlen(arg);
    g_autofree char *with_unit = NULL;
    uint64_t size;

    /* As in QEMU, a number without a unit means MiB. */
    if (len && g_ascii_isdigit(arg[len - 1])) {
        with_unit = g_strconcat(arg, "M", NULL);
    }
    if (!parse_size(with_unit ? with_unit : arg, &size, errp)) {
        return false;
    }
    if (size == 0 || size % page_size) {
        error_setg(errp, "RAM size must be a nonzero multiple of the page "
                   "size (%" PRIu64 " bytes)", page_size);
        return false;
    }
    ctx->cfg->ram_size = size;
    g_free(ctx->cfg->ram_size_arg);
    ctx->cfg->ram_size_arg = g_strdup(arg);
    return true;
}

static bool opt_smp(CmdlineContext *ctx, const char *arg, Error **errp)
{
    g_autoptr(SMPConfiguration) smp =
        parse_keyval(arg, "cpus", (QAPIVisitFunc *)visit_type_SMPConfiguration,
                     NULL, errp);

    if (!smp) {
        return false;
    }
    if (smp->has_cpus) {
        if (smp->cpus < 1 || smp->cpus > VMIG_MAX_CPUS) {
            error_setg(errp, "cpus must be 1 to %d, not %" PRId64,
                       VMIG_MAX_CPUS, smp->cpus);
            return false;
        }
        ctx->cfg->smp_cpus = smp->cpus;
    }
    return true;
}

static bool opt_S(CmdlineContext *ctx, const char *arg, Error **errp)
{
    ctx->cfg->start_paused = true;
    return true;
}

static bool opt_mem_prealloc(CmdlineContext *ctx, const char *arg,
                             Error **errp)
{
    ctx->cfg->mem_prealloc = true;
    return true;
}

static bool opt_qmp(CmdlineContext *ctx, const char *arg, Error **errp)
{
    g_ptr_array_add(ctx->cfg->qmp, g_strdup(arg));
    return true;
}

static bool opt_monitor(CmdlineContext *ctx, const char *arg, Error **errp)
{
    g_ptr_array_add(ctx->cfg->hmp, g_strdup(arg));
    return true;
}

static bool opt_object(CmdlineContext *ctx, const char *arg, Error **errp)
{
    bool help = false;
    ObjectOptions *opts =
        parse_keyval(arg, "qom-type",
                     (QAPIVisitFunc *)visit_type_ObjectOptions, &help, errp);

    if (help) {
        printf("Object types:\n");
        for (int i = 0; i < OBJECT_TYPE__MAX; i++) {
            if (!object_type_info(i)) {
                continue;       /* in the schema, not built yet */
            }
            printf("  %s\n", ObjectType_str(i));
        }
        ctx->exit_now = true;
        return true;
    }
    if (!opts) {
        return false;
    }
    g_ptr_array_add(ctx->cfg->objects,
                    option_arg_new(arg, opts, free_object_options));
    return true;
}

static bool opt_numa(CmdlineContext *ctx, const char *arg, Error **errp)
{
    NumaOptions *opts =
        parse_keyval(arg, "type", (QAPIVisitFunc *)visit_type_NumaOptions,
                     NULL, errp);

    if (!opts) {
        return false;
    }
    g_ptr_array_add(ctx->cfg->numa,
                    option_arg_new(arg, opts, free_numa_options));
    return true;
}

static bool opt_machine(CmdlineContext *ctx, const char *arg, Error **errp)
{
    MachineOptions *opts =
        parse_keyval(arg, NULL, (QAPIVisitFunc *)visit_type_MachineOptions,
                     NULL, errp);

    if (!opts) {
        return false;
    }
    /* The last -machine wins. */
    if (ctx->cfg->machine) {
        ctx->cfg->machine->free_value(ctx->cfg->machine->value);
        g_free(ctx->cfg->machine->arg);
        g_free(ctx->cfg->machine);
    }
    ctx->cfg->machine = option_arg_new(arg, opts, free_machine_options);
    return true;
}

static bool opt_workload(CmdlineContext *ctx, const char *arg, Error **errp)
{
    WorkloadOptions *opts =
        parse_keyval(arg, NULL, (QAPIVisitFunc *)visit_type_WorkloadOptions,
                     NULL, errp);

    if (!opts) {
        return false;
    }
    g_ptr_array_add(ctx->cfg->workload,
                    option_arg_new(arg, opts, free_workload_options));
    return true;
}

static bool opt_incoming(CmdlineContext *ctx, const char *arg, Error **errp)
{
    g_free(ctx->cfg->incoming);
    ctx->cfg->incoming = g_strdup(arg);
    return true;
}

static bool opt_global(CmdlineContext *ctx, const char *arg, Error **errp)
{
    const char *dot = strchr(arg, '.');
    const char *eq = strchr(arg, '=');

    /* Other drivers' globals are ignored, but only well-formed ones: a
     * mistyped "-global" must not vanish.  migration.* ones are checked
     * with their option (system/main.c). */
    if (!dot || dot == arg || (eq && eq < dot) ||
        (!eq && !g_str_has_prefix(arg, "migration."))) {
        error_setg(errp, "expected DRIVER.PROPERTY=VALUE");
        return false;
    }
    g_ptr_array_add(ctx->cfg->globals, g_strdup(arg));
    return true;
}

/* The canonical 8-4-4-4-12 hex form, as QEMU's -uuid takes it. */
static bool opt_uuid(CmdlineContext *ctx, const char *arg, Error **errp)
{
    size_t n = 0;

    if (!g_uuid_string_is_valid(arg)) {
        error_setg(errp, "invalid UUID: expected the form "
                   "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (hex digits)");
        return false;
    }
    memset(ctx->cfg->uuid, 0, sizeof(ctx->cfg->uuid));
    for (const char *p = arg; *p; p++) {
        if (*p == '-') {
            continue;
        }
        ctx->cfg->uuid[n / 2] = (uint8_t)(ctx->cfg->uuid[n / 2] << 4 |
                                          g_ascii_xdigit_value(*p));
        n++;
    }
    ctx->cfg->has_uuid = true;
    return true;
}

static bool opt_version(CmdlineContext *ctx, const char *arg, Error **errp)
{
    printf("vmig version %s\n", VMIG_VERSION);
    ctx->exit_now = true;
    return true;
}

static bool opt_help(CmdlineContext *ctx, const char *arg, Error **errp)
{
    printf("Usage: vmig [options]\n\nOptions:\n");
    for (const VmigOption *o = options; o->name; o++) {
        g_autofree char *synopsis =
            g_strdup_printf("-%s%s%s%s%s", o->name,
                            o->alias ? ", -" : "", o->alias ? o->alias : "",
                            o->arg_name ? " " : "",
                            o->arg_name ? o->arg_name : "");
        /* A long synopsis gets a line of its own. */
        if (strlen(synopsis) > 28) {
            printf("  %s\n  %-28s %s\n", synopsis, "", o->help);
        } else {
            printf("  %-28s %s\n", synopsis, o->help);
        }
    }
    printf("\n\"--OPTION\" is the same as \"-OPTION\".  KEY=VALUE lists "
           "follow QEMU's syntax\n(\",,\" is a literal comma).\n");
    ctx->exit_now = true;
    return true;
}

/* The options, in the order -help lists them. */
static const VmigOption options[] = {
    { "name", NULL, "NAME", "name of the machine", opt_name },
    { "uuid", NULL, "UUID", "the machine's UUID (migration's validate-uuid "
      "compares it)", opt_uuid },
    { "m", NULL, "SIZE",
      "guest RAM size (default 128M; a plain number means MiB)", opt_m },
    { "mem-prealloc", NULL, NULL, "allocate guest RAM (pc.ram) up front, "
      "as QEMU's -mem-prealloc; backends take prealloc=on", opt_mem_prealloc },
    { "smp", NULL, "[cpus=]N", "number of vCPU threads (default 1)",
      opt_smp },
    { "S", NULL, NULL, "do not start the vCPUs: wait for 'cont'", opt_S },
    { "qmp", NULL, "SPEC",
      "QMP monitor, e.g. unix:PATH,server=on (repeatable)",
      opt_qmp },
    { "monitor", NULL, "SPEC", "human monitor (HMP), same SPEC as -qmp",
      opt_monitor },
    { "object", NULL, "TYPE,id=ID,...",
      "create an object ('-object help' lists the types)", opt_object },
    { "numa", NULL, "node,memdev=ID[,nodeid=N]",
      "a NUMA node whose RAM is memory backend ID", opt_numa },
    { "machine", NULL,
      "[memory-backend=ID][,dirty-log=auto|software|uffd-wp]",
      "take all guest RAM from memory backend ID; how writes to guest RAM "
      "are logged while migrating (default auto: software)", opt_machine },
    { "workload", NULL, "rate=SIZE[,pattern=..][,content=..][,...]",
      "guest workload (WorkloadOptions in the QMP reference)",
      opt_workload },
    { "incoming", NULL, "defer|URI[,KEY=VALUE...]",
      "wait for a migration on URI, or for migrate-incoming (defer); KEY: "
      "an address option or a migration option", opt_incoming },
    { "global", NULL, "migration.KEY=VALUE",
      "start-up value of migration option KEY (repeatable; other drivers "
      "are ignored)", opt_global },
    { "version", NULL, NULL, "print the version and exit", opt_version },
    { "h", "help", NULL, "print this help and exit", opt_help },
    { NULL },
};

static const VmigOption *find_option(const char *name)
{
    for (const VmigOption *o = options; o->name; o++) {
        if (strcmp(o->name, name) == 0 ||
            (o->alias && strcmp(o->alias, name) == 0)) {
            return o;
        }
    }
    return NULL;
}

MachineConfig *cmdline_parse(int argc, char **argv, bool *exit_now,
                             Error **errp)
{
    g_autoptr(MachineConfig) cfg = machine_config_new();
    CmdlineContext ctx = { .cfg = cfg };

    *exit_now = false;
    for (int i = 1; i < argc; i++) {
        const char *word = argv[i];
        const char *name = word + 1;
        const char *arg = NULL;
        const VmigOption *o;
        Error *local_err = NULL;

        if (word[0] != '-' || word[1] == '\0') {
            error_setg(errp, "'%s': unexpected argument (options start with "
                       "'-'; see -help)", word);
            return NULL;
        }
        if (name[0] == '-') {
            name++;
        }
        o = find_option(name);
        if (!o) {
            error_setg(errp, "%s: invalid option", word);
            return NULL;
        }
        if (o->arg_name) {
            if (i + 1 >= argc) {
                error_setg(errp, "%s: requires an argument", word);
                return NULL;
            }
            arg = argv[++i];
        }
        if (!o->handler(&ctx, arg, &local_err)) {
            g_autofree char *shown = arg ? str_abbrev(arg) : NULL;

            error_propagate(errp, local_err);
            error_prepend(errp, "%s%s%s: ", word, arg ? " " : "",
                          arg ? shown : "");
            return NULL;
        }
        if (ctx.exit_now) {
            *exit_now = true;
            return NULL;
        }
    }
    return g_steal_pointer(&cfg);
}
