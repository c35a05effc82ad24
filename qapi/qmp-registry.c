/*
 * QMP command registry: commands by name, kept sorted (a GTree) so that
 * listings such as query-commands come out in a stable order.
 */
#include "qapi/qmp-registry.h"

#include <string.h>

struct QmpCommandList {
    GTree *by_name;         /* const char *name -> QmpCommand * (owned) */
};

QmpCommandList *qmp_commands;

static gint compare_names(gconstpointer a, gconstpointer b, gpointer unused)
{
    return strcmp(a, b);
}

static void qmp_command_free(gpointer data)
{
    QmpCommand *cmd = data;

    g_free((char *)cmd->name);
    g_free(cmd);
}

QmpCommandList *qmp_command_list_new(void)
{
    QmpCommandList *cmds = g_new0(QmpCommandList, 1);

    /* The key is the command's own name string, freed with the command. */
    cmds->by_name = g_tree_new_full(compare_names, NULL, NULL,
                                    qmp_command_free);
    return cmds;
}

void qmp_command_list_free(QmpCommandList *cmds)
{
    if (cmds) {
        g_tree_destroy(cmds->by_name);
        g_free(cmds);
    }
}

void qmp_register_command(QmpCommandList *cmds, const char *name,
                          QmpCommandFunc *fn, unsigned options,
                          unsigned features)
{
    g_assert(name && fn);
    /* Two handlers for one name is a build-time mistake, not a runtime
     * condition: fail loudly rather than let one silently win. */
    if (g_tree_lookup(cmds->by_name, name)) {
        g_error("QMP command '%s' registered twice", name);
    }

    QmpCommand *cmd = g_new0(QmpCommand, 1);
    cmd->name = g_strdup(name);
    cmd->fn = fn;
    cmd->options = options;
    cmd->features = features;
    cmd->enabled = true;
    g_tree_insert(cmds->by_name, (gpointer)cmd->name, cmd);
}

const QmpCommand *qmp_find_command(const QmpCommandList *cmds,
                                   const char *name)
{
    return g_tree_lookup(cmds->by_name, name);
}

void qmp_command_set_enabled(QmpCommandList *cmds, const char *name,
                             bool enabled)
{
    QmpCommand *cmd = g_tree_lookup(cmds->by_name, name);

    g_assert(cmd);
    cmd->enabled = enabled;
}

typedef struct ForEachData {
    void (*fn)(const QmpCommand *cmd, void *opaque);
    void *opaque;
} ForEachData;

static gboolean for_each_one(gpointer key, gpointer value, gpointer data)
{
    ForEachData *d = data;

    d->fn(value, d->opaque);
    return FALSE;           /* keep going */
}

void qmp_for_each_command(const QmpCommandList *cmds,
                          void (*fn)(const QmpCommand *cmd, void *opaque),
                          void *opaque)
{
    ForEachData d = { .fn = fn, .opaque = opaque };

    g_tree_foreach(cmds->by_name, for_each_one, &d);
}
