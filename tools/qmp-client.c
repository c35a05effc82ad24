/*
 * Blocking QMP client (see qmp-client.h).  Input goes through the same
 * JSON streamer the server uses, so message boundaries never depend on
 * how the bytes arrive.
 */
#include "qmp-client.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "qapi/json-streamer.h"
#include "qapi/qapi-types.h"
#include "util/sockets.h"

struct QmpClient {
    int fd;
    JsonStreamer *parser;
    GQueue messages;            /* complete messages not yet consumed */
    Error *parse_error;         /* first malformed message, if any */
    json_t *greeting;
    QmpEventFunc *event_fn;
    void *event_opaque;
    unsigned next_id;
};

static void qmp_client_emit(void *opaque, json_t *value, Error *err)
{
    QmpClient *c = opaque;

    if (err) {
        /* vmig only sends valid JSON; keep the first complaint. */
        if (!c->parse_error) {
            c->parse_error = err;
        } else {
            error_free(err);
        }
        return;
    }
    g_queue_push_tail(&c->messages, value);
}

int qmp_client_fd(QmpClient *c)
{
    return c->fd;
}

json_t *qmp_client_greeting(QmpClient *c)
{
    return c->greeting;
}

void qmp_client_set_event_handler(QmpClient *c, QmpEventFunc *fn,
                                  void *opaque)
{
    c->event_fn = fn;
    c->event_opaque = opaque;
}

json_t *qmp_client_recv(QmpClient *c, int timeout_ms, bool *timed_out,
                        Error **errp)
{
    gint64 deadline = timeout_ms < 0 ? -1 :
        g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    if (timed_out) {
        *timed_out = false;
    }
    while (g_queue_is_empty(&c->messages)) {
        if (c->parse_error) {
            error_propagate(errp, g_steal_pointer(&c->parse_error));
            error_prepend(errp, "invalid message from vmig: ");
            return NULL;
        }

        int wait_ms = -1;
        if (deadline >= 0) {
            gint64 left = deadline - g_get_monotonic_time();
            wait_ms = left > 0 ? (int)((left + 999) / 1000) : 0;
        }
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
        int r = poll(&pfd, 1, wait_ms);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            error_setg_errno(errp, errno, "waiting for vmig");
            return NULL;
        }
        if (r == 0) {
            if (timed_out) {
                *timed_out = true;
            }
            return NULL;
        }

        char buf[65536];
        ssize_t n = read(c->fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            error_setg_errno(errp, errno, "reading from vmig");
            return NULL;
        }
        if (n == 0) {
            error_setg(errp, "vmig closed the connection");
            return NULL;
        }
        json_streamer_feed(c->parser, buf, n);
    }
    return g_queue_pop_head(&c->messages);
}

static bool qmp_client_send(QmpClient *c, json_t *msg, Error **errp)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    g_autofree char *line = g_strconcat(text, "\n", NULL);
    size_t len = strlen(line), done = 0;

    free(text);
    while (done < len) {
        ssize_t n = send(c->fd, line + done, len - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            error_setg_errno(errp, errno, "sending to vmig");
            return false;
        }
        done += n;
    }
    return true;
}

static void qmp_client_dispatch_event(QmpClient *c, json_t *msg)
{
    if (c->event_fn) {
        c->event_fn(msg, c->event_opaque);
    }
}

json_t *qmp_client_execute(QmpClient *c, const char *command, json_t *args,
                           Error **errp)
{
    g_autofree char *id = g_strdup_printf("vmig-ctl-%u", ++c->next_id);
    json_t *req = json_pack("{s:s, s:s}", "execute", command, "id", id);

    if (args) {
        json_object_set(req, "arguments", args);
    }
    bool sent = qmp_client_send(c, req, errp);
    json_decref(req);
    if (!sent) {
        return NULL;
    }

    for (;;) {
        json_t *msg = qmp_client_recv(c, -1, NULL, errp);
        if (!msg) {
            return NULL;
        }
        if (json_object_get(msg, "event")) {
            qmp_client_dispatch_event(c, msg);
            json_decref(msg);
            continue;
        }
        const char *rid = json_string_value(json_object_get(msg, "id"));
        if (rid && !strcmp(rid, id)) {
            return msg;
        }
        /* A reply without our id: vmig could not parse a request, which
         * means our request was broken.  Hand it back as the answer. */
        if (!rid && json_object_get(msg, "error")) {
            return msg;
        }
        json_decref(msg);
    }
}

bool qmp_client_poll_events(QmpClient *c, Error **errp)
{
    for (;;) {
        bool timed_out;
        json_t *msg = qmp_client_recv(c, 0, &timed_out, errp);
        if (!msg) {
            return timed_out;
        }
        if (json_object_get(msg, "event")) {
            qmp_client_dispatch_event(c, msg);
        }
        json_decref(msg);
    }
}

static int connect_address(const char *address, Error **errp)
{
    g_autofree char *full = NULL;

    /* A bare path is the common case ("vmig-ctl /run/vm.qmp ..."). */
    if (!g_str_has_prefix(address, "unix:") &&
        !g_str_has_prefix(address, "tcp:") &&
        !g_str_has_prefix(address, "fd:")) {
        full = g_strconcat("unix:", address, NULL);
        address = full;
    }
    g_autoptr(SocketAddress) addr = socket_parse(address, errp);
    if (!addr) {
        return -1;
    }
    return socket_connect(addr, errp);
}

QmpClient *qmp_client_connect(const char *address, bool negotiate,
                              Error **errp)
{
    g_autoptr(QmpClient) c = g_new0(QmpClient, 1);

    c->parser = json_streamer_new(qmp_client_emit, c);
    g_queue_init(&c->messages);
    c->fd = connect_address(address, errp);
    if (c->fd < 0) {
        return NULL;
    }

    c->greeting = qmp_client_recv(c, -1, NULL, errp);
    if (!c->greeting) {
        error_prepend(errp, "no QMP greeting from %s: ", address);
        return NULL;
    }
    if (!json_is_object(json_object_get(c->greeting, "QMP"))) {
        error_setg(errp, "%s is not a QMP monitor (no greeting)", address);
        return NULL;
    }
    if (negotiate) {
        json_t *rsp = qmp_client_execute(c, "qmp_capabilities", NULL, errp);
        if (!rsp) {
            return NULL;
        }
        json_t *error = json_object_get(rsp, "error");
        if (error) {
            error_setg(errp, "capabilities negotiation failed: %s",
                       json_string_value(json_object_get(error, "desc")));
            json_decref(rsp);
            return NULL;
        }
        json_decref(rsp);
    }
    return g_steal_pointer(&c);
}

void qmp_client_free(QmpClient *c)
{
    if (!c) {
        return;
    }
    if (c->fd >= 0) {
        close(c->fd);
    }
    json_streamer_free(c->parser);
    g_queue_clear_full(&c->messages, (GDestroyNotify)json_decref);
    error_free(c->parse_error);
    json_decref(c->greeting);
    g_free(c);
}
