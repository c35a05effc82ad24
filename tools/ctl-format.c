/*
 * Output of vmig-ctl.  Results of commands listed in formatters[] are
 * printed as text; anything else as indented JSON, which is readable
 * enough and never hides a member.  A formatter that meets a shape it
 * does not expect returns false and the JSON is printed instead.
 */
#include "vmig-ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef bool CtlFormatFunc(json_t *ret);

static bool format_query_status(json_t *ret)
{
    json_t *running = json_object_get(ret, "running");
    const char *status = json_string_value(json_object_get(ret, "status"));

    if (!json_is_boolean(running) || !status) {
        return false;
    }
    /* Same wording as HMP "info status". */
    printf("VM status: %s", json_is_true(running) ? "running" : "paused");
    if (json_is_false(running) && strcmp(status, "paused")) {
        printf(" (%s)", status);
    }
    printf("\n");
    return true;
}

static bool format_query_version(json_t *ret)
{
    json_int_t major, minor, micro;
    const char *package;

    if (json_unpack(ret, "{s:{s:I, s:I, s:I}, s:s}", "qemu", "major", &major,
                    "minor", &minor, "micro", &micro,
                    "package", &package)) {
        return false;
    }
    printf("%" JSON_INTEGER_FORMAT ".%" JSON_INTEGER_FORMAT ".%"
           JSON_INTEGER_FORMAT " (%s)\n", major, minor, micro, package);
    return true;
}

static bool format_query_commands(json_t *ret)
{
    size_t i;
    json_t *cmd;

    if (!json_is_array(ret)) {
        return false;
    }
    json_array_foreach(ret, i, cmd) {
        const char *name = json_string_value(json_object_get(cmd, "name"));
        if (name) {
            printf("%s\n", name);
        }
    }
    return true;
}

static const struct {
    const char *command;
    CtlFormatFunc *format;
} formatters[] = {
    { "query-commands", format_query_commands },
    { "query-status", format_query_status },
    { "query-version", format_query_version },
};

static void print_json(json_t *val, size_t flags)
{
    char *text = json_dumps(val, flags | JSON_ENCODE_ANY |
                            JSON_PRESERVE_ORDER);
    printf("%s\n", text ? text : "(unprintable)");
    free(text);
}

void ctl_print_return(const char *command, json_t *ret, bool raw)
{
    if (raw) {
        print_json(ret, JSON_COMPACT);
        return;
    }
    /* Commands that only act return {}: success needs no words. */
    if (json_is_object(ret) && json_object_size(ret) == 0) {
        return;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(formatters); i++) {
        if (!strcmp(formatters[i].command, command) &&
            formatters[i].format(ret)) {
            return;
        }
    }
    print_json(ret, JSON_INDENT(2));
}

void ctl_print_event(json_t *event, bool raw)
{
    json_int_t secs = 0, usecs = 0;
    json_t *data = json_object_get(event, "data");

    if (raw) {
        print_json(event, JSON_COMPACT);
    } else {
        json_unpack(event, "{s:{s:I, s:I}}", "timestamp", "seconds", &secs,
                    "microseconds", &usecs);
        printf("%" JSON_INTEGER_FORMAT ".%06" JSON_INTEGER_FORMAT " %s",
               secs, usecs,
               json_string_value(json_object_get(event, "event")));
        if (data) {
            char *text = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
            printf(" %s", text ? text : "");
            free(text);
        }
        printf("\n");
    }
    fflush(stdout);
}

void ctl_print_error(json_t *error)
{
    const char *cls = json_string_value(json_object_get(error, "class"));
    const char *desc = json_string_value(json_object_get(error, "desc"));

    fprintf(stderr, "vmig-ctl: %s: %s\n", cls ? cls : "GenericError",
            desc ? desc : "(no description)");
}
