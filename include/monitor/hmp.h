/*
 * The human monitor (HMP): command tables and argument helpers.
 *
 * Every HMP command is one row of a table (monitor/hmp-commands.c); "help"
 * is generated from the same rows, so a command cannot be undocumented.
 * Handlers call the QMP command's C function (qmp_stop(), ...) and format
 * its result, so HMP and QMP cannot disagree.
 *
 * Adding a command: write "void hmp_foo(Monitor *mon, const json_t *args)"
 * (in the file of the subsystem it belongs to), declare it below, add a
 * row to hmp_cmds[] (or hmp_info_cmds[] for "info foo").
 *
 * Argument specs (HMPCommand.args_type) are comma-separated NAME:TYPE
 * items, in the order the words appear on the line; a trailing '?' makes
 * the item optional (all later ones must be optional too).  TYPE is:
 *     s   one word (a "double-quoted" word may contain spaces; \" \\ \n)
 *     S   the rest of the line, as is (trimmed)
 *     i   an integer (decimal, or hex with 0x)
 *     o   a byte size with optional suffix: 64M, 1.5G (stored as integer)
 *     b   a boolean: on|off (also yes|no, true|false)
 *     O   key=value,... (keyval syntax, see qapi/keyval.h), stored as a
 *         JSON object of strings; visit it with
 *         json_input_visitor_new_keyval() to get typed QAPI values
 * The handler gets a JSON object with one member per argument present:
 * strings, integers, booleans or objects as above.
 */
#ifndef VMIG_MONITOR_HMP_H
#define VMIG_MONITOR_HMP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "monitor/monitor.h"
#include "qapi/error.h"

typedef void HMPCommandFunc(Monitor *mon, const json_t *args);

typedef struct HMPCommand {
    const char *name;       /* "cont|c": the name, then '|'-separated aliases */
    const char *args_type;  /* see above; NULL or "" for no arguments */
    const char *params;     /* synopsis for help, e.g. "[cmd]" */
    const char *help;       /* one line, no final period */
    HMPCommandFunc *cmd;    /* NULL only for a pure sub-table like "info" */
    /* A command that takes a subcommand word ("info status").  Without
     * that word, @cmd runs if set, else the sub-table is listed. */
    const struct HMPCommand *sub_table;
} HMPCommand;

/* The tables, each ended by an all-NULL row (monitor/hmp-commands.c). */
extern const HMPCommand hmp_cmds[];
extern const HMPCommand hmp_info_cmds[];

/* Argument access.  Absent arguments give the default / NULL. */
bool hmp_arg_has(const json_t *args, const char *name);
const char *hmp_arg_str(const json_t *args, const char *name);
int64_t hmp_arg_int(const json_t *args, const char *name, int64_t def);
bool hmp_arg_bool(const json_t *args, const char *name, bool def);
/* Borrowed reference, or NULL. */
json_t *hmp_arg_obj(const json_t *args, const char *name);

/*
 * Parses @line (the words after the command name) according to
 * @args_type; returns a new JSON object as handlers get it, or NULL with
 * errp set.  @cmdname is for messages.  (The dispatcher calls this; it is
 * public for tests.)
 */
json_t *hmp_parse_args(const char *args_type, const char *cmdname,
                       const char *line, Error **errp);

/*
 * Prints "Error: <message>" for @err and frees it.  Returns true if there
 * was an error, so handlers can write
 *     if (hmp_handle_error(mon, err)) { return; }
 */
bool hmp_handle_error(Monitor *mon, Error *err);

/* Prints help for @cmdline ("info status", "stop") or, if it is NULL or
 * empty, for every command. */
void hmp_help_cmd(Monitor *mon, const char *cmdline);

/* Handlers (monitor/hmp-cmds.c) */
void hmp_help(Monitor *mon, const json_t *args);
void hmp_info_status(Monitor *mon, const json_t *args);
void hmp_info_version(Monitor *mon, const json_t *args);
void hmp_stop(Monitor *mon, const json_t *args);
void hmp_cont(Monitor *mon, const json_t *args);
void hmp_quit(Monitor *mon, const json_t *args);

/* Handlers (monitor/hmp-cmds-migration.c) */
void hmp_info_migrate_config(Monitor *mon, const json_t *args);
void hmp_info_migrate_capabilities(Monitor *mon, const json_t *args);
void hmp_info_migrate_parameters(Monitor *mon, const json_t *args);
void hmp_migrate_set_config(Monitor *mon, const json_t *args);
void hmp_migrate_set_capability(Monitor *mon, const json_t *args);
void hmp_migrate_set_parameter(Monitor *mon, const json_t *args);
void hmp_migrate(Monitor *mon, const json_t *args);
void hmp_migrate_incoming(Monitor *mon, const json_t *args);
void hmp_info_migrate(Monitor *mon, const json_t *args);
void hmp_migrate_cancel(Monitor *mon, const json_t *args);
void hmp_migrate_continue(Monitor *mon, const json_t *args);
void hmp_migrate_start_postcopy(Monitor *mon, const json_t *args);
void hmp_migrate_pause(Monitor *mon, const json_t *args);
void hmp_migrate_recover(Monitor *mon, const json_t *args);

#endif
