/*
 * -qmp / -monitor specs: parse them, listen, and create one Monitor per
 * accepted client.  See include/monitor/monitor.h for the spec syntax.
 */
#include "monitor-internal.h"

#include <errno.h>
#include <glib-unix.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "qapi/keyval.h"
#include "qapi/qapi-types.h"
#include "util/cutils.h"
#include "util/sockets.h"

#define MONITOR_LISTEN_BACKLOG 16

typedef struct MonitorListener {
    bool is_qmp;
    char *address;          /* as given, e.g. "unix:/run/vm.qmp" */
    SocketAddress *addr;
    int fd;
    guint watch;
    guint backoff;          /* out of descriptors: the watch resumes */
    unsigned clients;       /* accepted so far, to name them in logs */
} MonitorListener;

static GList *listeners;
static bool stdio_used;

static void monitor_new(bool is_qmp, int in_fd, int out_fd, bool owns_fds,
                        const char *name)
{
    if (is_qmp) {
        monitor_qmp_new(in_fd, out_fd, owns_fds, name);
    } else {
        monitor_hmp_new(in_fd, out_fd, owns_fds, name);
    }
}

/* Returns false with errp set, or with errp unset if there was nobody to
 * accept after all (the client gave up in the meantime). */
static bool listener_accept(MonitorListener *l, Error **errp)
{
    Error *err = NULL;
    int fd = socket_accept(l->fd, &err);
    if (fd < 0) {
        int err_no = errno;

        if (err_no == EAGAIN || err_no == EWOULDBLOCK) {
            error_free(err);
            return false;
        }
        error_prepend(&err, "%s monitor %s: ", l->is_qmp ? "QMP" : "HMP",
                      l->address);
        error_propagate(errp, err);
        errno = err_no;     /* for the caller's back-off */
        return false;
    }

    g_autofree char *name = g_strdup_printf("%s#%u", l->address,
                                            ++l->clients);
    monitor_new(l->is_qmp, fd, fd, true, name);
    return true;
}

static gboolean listener_can_accept(gint fd, GIOCondition cond,
                                    gpointer opaque);

static gboolean listener_resume(gpointer opaque)
{
    MonitorListener *l = opaque;

    l->backoff = 0;
    l->watch = g_unix_fd_add(l->fd, G_IO_IN, listener_can_accept, l);
    return G_SOURCE_REMOVE;
}

static gboolean listener_can_accept(gint fd, GIOCondition cond,
                                    gpointer opaque)
{
    MonitorListener *l = opaque;
    Error *err = NULL;
    int err_no;

    if (listener_accept(l, &err) || !err) {
        return G_SOURCE_CONTINUE;
    }
    err_no = errno;
    if (socket_accept_out_of_fds(err_no)) {
        /* The client stays queued and would wake us again at once. */
        warn_report("%s; retrying in %d ms", error_get_pretty(err),
                    SOCKET_ACCEPT_BACKOFF_MS);
        error_free(err);
        l->watch = 0;
        l->backoff = g_timeout_add(SOCKET_ACCEPT_BACKOFF_MS,
                                   listener_resume, l);
        return G_SOURCE_REMOVE;
    }
    /* Keep listening: the next client may well succeed. */
    warn_report("%s", error_get_pretty(err));
    error_free(err);
    return G_SOURCE_CONTINUE;
}

static void listener_free(MonitorListener *l)
{
    if (l->watch) {
        g_source_remove(l->watch);
    }
    if (l->backoff) {
        g_source_remove(l->backoff);
    }
    if (l->fd >= 0) {
        socket_fd_set_private(l->fd, false);
        close(l->fd);
        /* We created the socket file, so we remove it (as QEMU does). */
        if (l->addr->type == SOCKET_ADDRESS_TYPE_UNIX &&
            !l->addr->u.q_unix.abstract) {
            unlink(l->addr->u.q_unix.path);
        }
    }
    qapi_free_SocketAddress(l->addr);
    g_free(l->address);
    g_free(l);
}

/* Blocks until a first client connects (wait=on). */
static bool listener_wait_for_client(MonitorListener *l, Error **errp)
{
    struct pollfd pfd = { .fd = l->fd, .events = POLLIN };

    fprintf(stderr, "vmig: %s monitor: waiting for a connection on %s\n",
            l->is_qmp ? "QMP" : "HMP", l->address);
    while (poll(&pfd, 1, -1) < 0) {
        if (errno != EINTR) {
            error_setg_errno(errp, errno, "waiting for a connection on %s",
                             l->address);
            return false;
        }
    }
    Error *err = NULL;
    if (!listener_accept(l, &err)) {
        if (!err) {
            error_setg(&err, "the client that connected to %s went away",
                       l->address);
        }
        error_propagate(errp, err);
        return false;
    }
    return true;
}

static bool monitor_listen(const char *address, bool is_qmp, bool wait,
                           Error **errp)
{
    MonitorListener *l = g_new0(MonitorListener, 1);

    l->is_qmp = is_qmp;
    l->address = g_strdup(address);
    l->fd = -1;
    l->addr = socket_parse(address, errp);
    if (!l->addr) {
        goto fail;
    }
    l->fd = socket_listen(l->addr, MONITOR_LISTEN_BACKLOG, errp);
    if (l->fd < 0) {
        goto fail;
    }
    if (wait && !listener_wait_for_client(l, errp)) {
        goto fail;
    }
    /* Non-blocking: a client that vanishes between poll and accept must
     * not hang the main loop. */
    g_unix_set_fd_nonblocking(l->fd, true, NULL);
    socket_fd_set_private(l->fd, true);
    l->watch = g_unix_fd_add(l->fd, G_IO_IN, listener_can_accept, l);
    listeners = g_list_append(listeners, l);
    return true;

fail:
    listener_free(l);
    return false;
}

/* Reads an on/off option of the spec into *@val. */
static bool spec_bool(json_t *opts, const char *key, bool *present,
                      bool *val, Error **errp)
{
    json_t *v = json_object_get(opts, key);

    *present = v != NULL;
    if (!v) {
        return true;
    }
    if (!json_is_string(v)) {
        error_setg(errp, "option '%s' must be on or off", key);
        return false;
    }
    if (!parse_bool(json_string_value(v), val, errp)) {
        error_prepend(errp, "option '%s': ", key);
        return false;
    }
    return true;
}

static bool monitor_init_spec(const char *spec, bool is_qmp, Error **errp)
{
    static const char *const known[] = { "path", "server", "wait", NULL };
    bool has_server, server = true, has_wait, wait = false;
    bool ok = false;

    json_t *opts = keyval_parse(spec, "path", NULL, errp);
    if (!opts) {
        goto out;
    }

    const char *key;
    json_t *value;
    json_object_foreach(opts, key, value) {
        if (!g_strv_contains(known, key)) {
            error_setg(errp, "unknown option '%s' (expected server=on, "
                       "wait=on|off)", key);
            goto out;
        }
    }
    const char *path = json_string_value(json_object_get(opts, "path"));
    if (!path) {
        error_setg(errp, "no address given (unix:PATH, tcp:HOST:PORT or "
                   "stdio)");
        goto out;
    }
    if (!spec_bool(opts, "server", &has_server, &server, errp) ||
        !spec_bool(opts, "wait", &has_wait, &wait, errp)) {
        goto out;
    }

    if (!strcmp(path, "stdio")) {
        if (has_server || has_wait) {
            error_setg(errp, "server and wait do not apply to stdio");
            goto out;
        }
        if (stdio_used) {
            error_setg(errp, "stdio is already used by another monitor");
            goto out;
        }
        stdio_used = true;
        monitor_new(is_qmp, STDIN_FILENO, STDOUT_FILENO, false, "stdio");
        ok = true;
        goto out;
    }

    if (!server) {
        error_setg(errp, "server=off is not supported: monitors listen for "
                   "connections");
        goto out;
    }
    ok = monitor_listen(path, is_qmp, wait, errp);

out:
    json_decref(opts);
    return ok;
}

bool monitor_init_qmp(const char *spec, Error **errp)
{
    return monitor_init_spec(spec, true, errp);
}

bool monitor_init_hmp(const char *spec, Error **errp)
{
    return monitor_init_spec(spec, false, errp);
}

void monitor_listeners_cleanup(void)
{
    g_list_free_full(g_steal_pointer(&listeners),
                     (GDestroyNotify)listener_free);
    stdio_used = false;
}
