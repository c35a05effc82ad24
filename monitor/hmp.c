/*
 * The human monitor protocol: lines in, text out, a prompt after every
 * command.  Commands, their arguments and their help all come from the
 * tables in hmp-commands.c (see include/monitor/hmp.h).
 *
 * There is no line editing or history: on a terminal the kernel's
 * canonical mode provides basic editing, and sockets are used by programs.
 */
#include "monitor-internal.h"

#include <string.h>

#include "config-host.h"
#include "monitor/hmp.h"
#include "qapi/keyval.h"
#include "util/cutils.h"

#define HMP_PROMPT "(vmig) "

/* Longer input lines are refused; real commands are far shorter. */
#define HMP_LINE_MAX 65536

typedef struct MonitorHMP {
    Monitor common;             /* first: a Monitor * is a MonitorHMP * */
    GString *line;              /* the incomplete line received so far */
    bool overlong;              /* the current line exceeded HMP_LINE_MAX */
} MonitorHMP;

static MonitorHMP *to_hmp(Monitor *mon)
{
    g_assert(!mon->is_qmp);
    return (MonitorHMP *)mon;
}

/* ---- arguments ---- */

bool hmp_arg_has(const json_t *args, const char *name)
{
    return json_object_get(args, name) != NULL;
}

const char *hmp_arg_str(const json_t *args, const char *name)
{
    return json_string_value(json_object_get(args, name));
}

int64_t hmp_arg_int(const json_t *args, const char *name, int64_t def)
{
    json_t *val = json_object_get(args, name);
    return json_is_integer(val) ? json_integer_value(val) : def;
}

bool hmp_arg_bool(const json_t *args, const char *name, bool def)
{
    json_t *val = json_object_get(args, name);
    return json_is_boolean(val) ? json_is_true(val) : def;
}

json_t *hmp_arg_obj(const json_t *args, const char *name)
{
    json_t *val = json_object_get(args, name);
    return json_is_object(val) ? val : NULL;
}

bool hmp_handle_error(Monitor *mon, Error *err)
{
    if (!err) {
        return false;
    }
    monitor_printf(mon, "Error: %s\n", error_get_pretty(err));
    error_free(err);
    return true;
}

/*
 * Returns the next word of *@pp (caller frees) and advances *@pp past it,
 * or NULL at the end of the line (errp unset) or on bad quoting (errp set).
 */
static char *hmp_next_word(const char **pp, Error **errp)
{
    const char *p = *pp;

    while (g_ascii_isspace(*p)) {
        p++;
    }
    if (!*p) {
        *pp = p;
        return NULL;
    }

    g_autoptr(GString) word = g_string_new(NULL);
    if (*p != '"') {
        while (*p && !g_ascii_isspace(*p)) {
            g_string_append_c(word, *p++);
        }
        *pp = p;
        return g_string_free(g_steal_pointer(&word), false);
    }

    for (p++; *p != '"'; p++) {
        if (!*p) {
            error_setg(errp, "unterminated quoted string: missing '\"'");
            return NULL;
        }
        if (*p != '\\') {
            g_string_append_c(word, *p);
            continue;
        }
        p++;
        switch (*p) {
        case '\\':
        case '"':
            g_string_append_c(word, *p);
            break;
        case 'n':
            g_string_append_c(word, '\n');
            break;
        case '\0':
            error_setg(errp, "unterminated quoted string: missing '\"'");
            return NULL;
        default:
            error_setg(errp, "invalid escape '\\%c' in quoted string "
                       "(use \\\\, \\\" or \\n)", *p);
            return NULL;
        }
    }
    p++;
    if (*p && !g_ascii_isspace(*p)) {
        error_setg(errp, "a space must follow the closing '\"' of a quoted "
                   "string");
        return NULL;
    }
    *pp = p;
    return g_string_free(g_steal_pointer(&word), false);
}

/* One typed value of an argument; NULL with errp set if it is invalid. */
static json_t *hmp_parse_value(char type, const char *name, const char *word,
                               Error **errp)
{
    int64_t i64;
    uint64_t u64;
    bool b;
    json_t *obj;

    switch (type) {
    case 's':
    case 'S':
        obj = json_string(word);
        if (!obj) {
            error_setg(errp, "argument '%s' is not valid UTF-8", name);
        }
        return obj;
    case 'i':
        return parse_int64(word, &i64, errp) ? json_integer(i64) : NULL;
    case 'o':
        if (!parse_size(word, &u64, errp)) {
            return NULL;
        }
        if (u64 > INT64_MAX) {
            error_setg(errp, "size '%s' is too large", word);
            return NULL;
        }
        return json_integer((json_int_t)u64);
    case 'b':
        return parse_bool(word, &b, errp) ? json_boolean(b) : NULL;
    case 'O':
        return keyval_parse(word, NULL, NULL, errp);
    default:
        g_assert_not_reached();
    }
}

json_t *hmp_parse_args(const char *args_type, const char *cmdname,
                       const char *line, Error **errp)
{
    const char **pp = &line;
    json_t *args = json_object();
    g_auto(GStrv) items = g_strsplit(args_type ? args_type : "", ",", -1);
    g_autofree char *extra = NULL;
    Error *err = NULL;

    for (char **item = items; *item; item++) {
        if (!**item) {
            continue;
        }
        const char *colon = strchr(*item, ':');
        /* A malformed spec is a bug in the table, not a user error. */
        g_assert(colon && strchr("sSiobO", colon[1]) && colon[1]);
        g_autofree char *name = g_strndup(*item, colon - *item);
        char type = colon[1];
        bool optional = colon[2] == '?';
        g_autofree char *word = NULL;

        if (type == 'S') {
            word = g_strstrip(g_strdup(*pp));
            *pp += strlen(*pp);
            if (!*word) {
                g_clear_pointer(&word, g_free);
            }
        } else {
            word = hmp_next_word(pp, &err);
            if (err) {
                goto fail;
            }
        }
        if (!word) {
            if (optional) {
                continue;
            }
            error_setg(&err, "missing argument '%s' for command '%s'",
                       name, cmdname);
            goto fail;
        }
        json_t *value = hmp_parse_value(type, name, word, &err);
        if (!value) {
            error_prepend(&err, "argument '%s' of '%s': ", name, cmdname);
            goto fail;
        }
        json_object_set_new(args, name, value);
    }

    extra = hmp_next_word(pp, &err);
    if (err) {
        goto fail;
    }
    if (extra) {
        error_setg(&err, "too many arguments for command '%s' (from '%s' "
                   "on)", cmdname, extra);
        goto fail;
    }
    return args;

fail:
    json_decref(args);
    error_propagate(errp, err);
    return NULL;
}

/* ---- command tables ---- */

/* Does @word equal one of the '|'-separated names in @names? */
static bool hmp_name_matches(const char *names, const char *word)
{
    size_t len = strlen(word);

    for (const char *p = names;;) {
        const char *end = strchrnul(p, '|');
        if ((size_t)(end - p) == len && !strncmp(p, word, len)) {
            return true;
        }
        if (!*end) {
            return false;
        }
        p = end + 1;
    }
}

static const HMPCommand *hmp_find(const HMPCommand *table, const char *word)
{
    for (const HMPCommand *cmd = table; cmd->name; cmd++) {
        if (hmp_name_matches(cmd->name, word)) {
            return cmd;
        }
    }
    return NULL;
}

/*
 * Reads command words from *@pp, descending into sub-tables, and returns
 * the command they name (one that has a sub-table if the words ran out
 * before a subcommand).  @path receives the words ("info status").
 * Returns NULL for an empty line, after printing "unknown command" for an
 * unknown word, or with errp set for a quoting error.
 */
static const HMPCommand *hmp_resolve(Monitor *mon, const char **pp,
                                     GString *path, Error **errp)
{
    const HMPCommand *table = hmp_cmds;
    const HMPCommand *cmd = NULL;
    Error *err = NULL;

    for (;;) {
        g_autofree char *word = hmp_next_word(pp, &err);
        if (err) {
            error_propagate(errp, err);
            return NULL;
        }
        if (!word) {
            return cmd;
        }
        const HMPCommand *found = hmp_find(table, word);
        if (path->len) {
            g_string_append_c(path, ' ');
        }
        g_string_append(path, word);
        if (!found) {
            monitor_printf(mon, "unknown command: '%s'\n", path->str);
            return NULL;
        }
        cmd = found;
        if (!cmd->sub_table) {
            return cmd;
        }
        table = cmd->sub_table;
    }
}

static void hmp_print_help_line(Monitor *mon, const char *prefix,
                                const HMPCommand *cmd)
{
    bool has_params = cmd->params && cmd->params[0];

    monitor_printf(mon, "%s%s%s%s -- %s\n", prefix, cmd->name,
                   has_params ? " " : "", has_params ? cmd->params : "",
                   cmd->help);
}

static void hmp_print_table(Monitor *mon, const char *prefix,
                            const HMPCommand *table)
{
    for (const HMPCommand *cmd = table; cmd->name; cmd++) {
        hmp_print_help_line(mon, prefix, cmd);
    }
}

void hmp_help_cmd(Monitor *mon, const char *cmdline)
{
    g_autoptr(GString) path = g_string_new(NULL);
    const char *p = cmdline ? cmdline : "";
    Error *err = NULL;

    const HMPCommand *cmd = hmp_resolve(mon, &p, path, &err);
    if (hmp_handle_error(mon, err)) {
        return;
    }
    if (!cmd) {
        if (!path->len) {
            hmp_print_table(mon, "", hmp_cmds);
        }
        return;
    }
    if (cmd->sub_table) {
        /* "help info" lists the subcommands, as "info" alone does. */
        g_autofree char *prefix = g_strconcat(path->str, " ", NULL);
        hmp_print_table(mon, prefix, cmd->sub_table);
        return;
    }
    /* Print the line with the words the user typed before the name. */
    const char *last = strrchr(path->str, ' ');
    g_autofree char *prefix = last ? g_strndup(path->str,
                                               last + 1 - path->str)
                                   : g_strdup("");
    hmp_print_help_line(mon, prefix, cmd);
}

static void hmp_handle_line(Monitor *mon, const char *line)
{
    g_autoptr(GString) path = g_string_new(NULL);
    const char *p = line;
    Error *err = NULL;

    const HMPCommand *cmd = hmp_resolve(mon, &p, path, &err);
    if (hmp_handle_error(mon, err) || !cmd) {
        return;
    }
    if (cmd->sub_table && !cmd->cmd) {
        /* "info" alone: say what it can show. */
        g_autofree char *prefix = g_strconcat(path->str, " ", NULL);
        hmp_print_table(mon, prefix, cmd->sub_table);
        return;
    }

    json_t *args = hmp_parse_args(cmd->args_type, path->str, p, &err);
    if (hmp_handle_error(mon, err)) {
        return;
    }
    cmd->cmd(mon, args);
    json_decref(args);
}

/* ---- the connection ---- */

static void hmp_run_line(MonitorHMP *hmp)
{
    Monitor *mon = &hmp->common;

    if (hmp->overlong) {
        monitor_printf(mon, "Error: line too long (more than %d bytes); "
                       "ignored\n", HMP_LINE_MAX);
        hmp->overlong = false;
    } else {
        if (hmp->line->len && hmp->line->str[hmp->line->len - 1] == '\r') {
            g_string_truncate(hmp->line, hmp->line->len - 1);
        }
        Monitor *old = monitor_set_cur(mon);
        hmp_handle_line(mon, hmp->line->str);
        monitor_set_cur(old);
    }
    g_string_truncate(hmp->line, 0);
    /* Descriptors not claimed by this command would otherwise leak. */
    monitor_close_pending_fds(mon);
    monitor_printf(mon, HMP_PROMPT);
}

void monitor_hmp_receive(Monitor *mon, const char *buf, size_t len)
{
    MonitorHMP *hmp = to_hmp(mon);
    const char *end = buf + len;

    while (buf < end && !mon->dead) {
        const char *nl = memchr(buf, '\n', end - buf);
        size_t chunk = (nl ? nl : end) - buf;

        if (hmp->line->len + chunk > HMP_LINE_MAX) {
            hmp->overlong = true;
        } else if (!hmp->overlong) {
            g_string_append_len(hmp->line, buf, chunk);
        }
        if (!nl) {
            break;
        }
        buf = nl + 1;
        hmp_run_line(hmp);
    }
}

void monitor_hmp_new(int in_fd, int out_fd, bool owns_fds, const char *name)
{
    MonitorHMP *hmp = g_new0(MonitorHMP, 1);

    hmp->line = g_string_new(NULL);
    monitor_common_init(&hmp->common, false, in_fd, out_fd, owns_fds, name);
    /* Not busy here, so a failed write could free the monitor: one
     * printf only. */
    monitor_printf(&hmp->common, "vmig %s monitor - type 'help' for more "
                   "information\n" HMP_PROMPT, VMIG_VERSION);
}

void monitor_hmp_free(Monitor *mon)
{
    MonitorHMP *hmp = to_hmp(mon);

    g_string_free(hmp->line, true);
    g_free(hmp);
}
