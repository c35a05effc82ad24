/*
 * The QMP protocol on one connection: greeting, capabilities negotiation,
 * a stream of JSON requests, one reply per request, events.
 *
 * Wire format: every message we send is one JSON object on one line,
 * terminated by "\r\n" (libvirt and most clients read line by line).
 * Input needs no line structure; the JSON streamer finds the messages.
 */
#include "monitor-internal.h"

#include <stdlib.h>
#include <string.h>

#include "qapi/qapi-commands.h"
#include "qapi/qapi-init-commands.h"
#include "qapi/qapi-visit.h"
#include "qapi/visitor.h"

typedef struct MonitorQMP {
    Monitor common;             /* first: a Monitor * is a MonitorQMP * */
    JsonStreamer *parser;
    /* qmp_cap_negotiation_commands until qmp_capabilities succeeds, then
     * qmp_commands.  The table *is* the negotiation state. */
    const QmpCommandList *commands;
} MonitorQMP;

QmpCommandList *qmp_cap_negotiation_commands;

static MonitorQMP *to_qmp(const Monitor *mon)
{
    g_assert(mon->is_qmp);
    return (MonitorQMP *)mon;
}

void monitor_qmp_init_commands(void)
{
    qmp_commands = qmp_command_list_new();
    qmp_init_marshal(qmp_commands);

    /* Before negotiation only qmp_capabilities runs.  Take its entry from
     * the generated table rather than naming its marshaller here. */
    const QmpCommand *caps = qmp_find_command(qmp_commands,
                                              "qmp_capabilities");
    g_assert(caps);
    qmp_cap_negotiation_commands = qmp_command_list_new();
    qmp_register_command(qmp_cap_negotiation_commands, caps->name, caps->fn,
                         caps->options, caps->features);
}

bool monitor_qmp_negotiated(const Monitor *mon)
{
    return to_qmp(mon)->commands == qmp_commands;
}

void monitor_qmp_finish_negotiation(Monitor *mon)
{
    to_qmp(mon)->commands = qmp_commands;
}

void monitor_qmp_send(Monitor *mon, json_t *msg)
{
    /* Without JSON_INDENT jansson never emits a newline (string contents
     * are escaped), so the message is exactly one line.  No JSON_COMPACT:
     * keep QEMU's ", " and ": " separators, which some tests and humans
     * grep for. */
    char *text = json_dumps(msg, JSON_PRESERVE_ORDER);
    if (!text) {
        /* Only possible for values that are not valid JSON (e.g. invalid
         * UTF-8 slipped in with a _nocheck constructor): a bug. */
        error_report("QMP: cannot serialise a message for client %s; "
                     "dropped", mon->name);
        return;
    }
    size_t len = strlen(text);
    g_assert(!memchr(text, '\n', len));

    /* One write call: a failed write may free @mon. */
    g_autofree char *line = g_malloc(len + 2);
    memcpy(line, text, len);
    memcpy(line + len, "\r\n", 2);
    free(text);
    monitor_write(mon, line, len + 2);
}

static json_t *qmp_greeting(void)
{
    g_autoptr(VersionInfo) info = qmp_query_version(&error_abort);
    json_t *version = NULL;
    Visitor *v = json_output_visitor_new();

    visit_type_VersionInfo(v, NULL, &info, &error_abort);
    visit_complete(v, &version);
    visit_free(v);
    /* No capabilities are offered: vmig has no out-of-band execution. */
    return json_pack("{s:{s:o, s:[]}}", "QMP", "version", version,
                     "capabilities");
}

/* Called by the JSON streamer once per complete (or broken) message. */
static void qmp_handle_message(void *opaque, json_t *req, Error *err)
{
    MonitorQMP *mon = opaque;
    json_t *rsp;

    if (mon->common.dead) {
        /* The connection failed while earlier messages of the same read
         * were handled; there is nobody to answer. */
        json_decref(req);
        error_free(err);
        return;
    }

    if (err) {
        rsp = qmp_error_response(err, NULL);
    } else {
        bool negotiating = mon->commands == qmp_cap_negotiation_commands;
        Monitor *old = monitor_set_cur(&mon->common);
        rsp = qmp_dispatch(mon->commands, req);
        monitor_set_cur(old);
        json_decref(req);

        /* A command that exists but is refused because negotiation is
         * still pending deserves a hint, as QEMU gives. */
        json_t *error = json_object_get(rsp, "error");
        const char *cls = json_string_value(json_object_get(error, "class"));
        if (negotiating && cls &&
            !strcmp(cls, error_class_name(ERROR_CLASS_COMMAND_NOT_FOUND))) {
            json_object_set_new(error, "desc", json_string(
                "Expecting capabilities negotiation with "
                "'qmp_capabilities'"));
        }
    }

    if (rsp) {
        monitor_qmp_send(&mon->common, rsp);
        json_decref(rsp);
    }
    /* Descriptors the command did not claim would otherwise leak. */
    monitor_close_pending_fds(&mon->common);
}

void monitor_qmp_receive(Monitor *mon, const char *buf, size_t len)
{
    json_streamer_feed(to_qmp(mon)->parser, buf, len);
}

void monitor_qmp_new(int in_fd, int out_fd, bool owns_fds, const char *name)
{
    MonitorQMP *mon = g_new0(MonitorQMP, 1);

    mon->commands = qmp_cap_negotiation_commands;
    mon->parser = json_streamer_new(qmp_handle_message, mon);
    monitor_common_init(&mon->common, true, in_fd, out_fd, owns_fds, name);

    json_t *greeting = qmp_greeting();
    monitor_qmp_send(&mon->common, greeting);
    json_decref(greeting);
}

void monitor_qmp_free(Monitor *mon)
{
    MonitorQMP *qmp = to_qmp(mon);

    json_streamer_free(qmp->parser);
    g_free(qmp);
}
