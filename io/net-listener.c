/*
 * Listening socket feeding accepted connections to a callback: see
 * io/net-listener.h.
 */
#include "io/net-listener.h"

#include <errno.h>
#include <glib-unix.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/channel-socket.h"
#include "qapi/clone.h"
#include "qapi/qapi-visit.h"
#include "util/atomic.h"
#include "util/sockets.h"

struct QIONetListener {
    /* The owner's reference, plus one while the handler runs, so that
     * the handler may free the listener. */
    gint refs;
    SocketAddress *requested;
    SocketAddress *bound;
    char *name;
    int fd;
    unsigned accepted;          /* so far, to name the channels */
    GSource *source;
    guint backoff;              /* out of descriptors: the watch resumes */
    QIONetListenerFunc *func;
    gpointer opaque;
    GDestroyNotify notify;
};

static void listener_unref(QIONetListener *l)
{
    if (qatomic_dec_fetch(&l->refs) != 0) {
        return;
    }
    qapi_free_SocketAddress(l->requested);
    qapi_free_SocketAddress(l->bound);
    g_free(l->name);
    g_free(l);
}

QIONetListener *qio_net_listener_new(const SocketAddress *addr,
                                     Error **errp)
{
    QIONetListener *l;
    SocketAddress *bound;
    int fd = socket_listen(addr, SOMAXCONN, errp);

    if (fd < 0) {
        return NULL;
    }
    bound = socket_local_address(fd, errp);
    if (!bound) {
        close(fd);
        return NULL;
    }
    /* A client that gives up between poll() and accept() must not block
     * the main loop. */
    if (!socket_set_nonblock(fd, true)) {
        g_autofree char *name = socket_address_to_string(bound);

        error_setg_errno(errp, errno, "Failed to make '%s' non-blocking",
                         name);
        qapi_free_SocketAddress(bound);
        close(fd);
        return NULL;
    }

    socket_fd_set_private(fd, true);
    l = g_new0(QIONetListener, 1);
    l->refs = 1;
    l->requested = QAPI_CLONE(SocketAddress, addr);
    l->bound = bound;
    l->name = socket_address_to_string(bound);
    l->fd = fd;
    return l;
}

const SocketAddress *qio_net_listener_get_address(const QIONetListener *l)
{
    return l->bound;
}

const char *qio_net_listener_get_name(const QIONetListener *l)
{
    return l->name;
}

bool qio_net_listener_is_closed(const QIONetListener *l)
{
    return l->fd < 0;
}

/* One connection, or NULL: with errp set on failure, without when there
 * was nobody after all (EAGAIN, or the client already gave up). */
static QIOChannel *accept_one(QIONetListener *l, Error **errp)
{
    g_autofree char *name = NULL;
    Error *err = NULL;
    int fd = socket_accept(l->fd, &err);

    if (fd < 0) {
        int err_no = errno;

        if (err_no == EAGAIN || err_no == EWOULDBLOCK ||
            err_no == ECONNABORTED) {
            error_free(err);
            return NULL;
        }
        error_prepend(&err, "Listener '%s': ", l->name);
        error_propagate(errp, err);
        errno = err_no;     /* for the caller's back-off */
        return NULL;
    }
    name = g_strdup_printf("%s#%u", l->name, ++l->accepted);
    return qio_channel_socket_new_fd(fd, name, errp);
}

static void watch_socket(QIONetListener *l);

static gboolean listener_resume(gpointer opaque)
{
    QIONetListener *l = opaque;

    l->backoff = 0;
    watch_socket(l);
    return G_SOURCE_REMOVE;
}

static gboolean listener_readable(gint fd, GIOCondition cond,
                                  gpointer opaque)
{
    QIONetListener *l = opaque;
    gboolean keep = G_SOURCE_CONTINUE;

    qatomic_inc(&l->refs);
    /* Everything queued, as one wake-up may stand for several clients;
     * the handler may close the listener or change the handler. */
    while (l->fd >= 0 && l->func) {
        Error *err = NULL;
        QIOChannel *ioc = accept_one(l, &err);

        if (!ioc) {
            if (err && socket_accept_out_of_fds(errno) &&
                l->source == g_main_current_source()) {
                /* The client stays queued and would wake us again at
                 * once: stop watching for a while. */
                warn_report("%s; retrying in %d ms", error_get_pretty(err),
                            SOCKET_ACCEPT_BACKOFF_MS);
                g_source_unref(l->source);
                l->source = NULL;
                l->backoff = g_timeout_add(SOCKET_ACCEPT_BACKOFF_MS,
                                           listener_resume, l);
                keep = G_SOURCE_REMOVE;
            } else if (err) {
                /* Keep listening: the next client may well succeed. */
                warn_report("%s", error_get_pretty(err));
            }
            error_free(err);
            break;
        }
        l->func(l, ioc, l->opaque);
    }
    listener_unref(l);
    return keep;
}

/* Removes the watch and the handler, telling the old one's opaque. */
static void drop_handler(QIONetListener *l)
{
    GDestroyNotify notify = l->notify;
    gpointer opaque = l->opaque;

    if (l->source) {
        g_source_destroy(l->source);
        g_source_unref(l->source);
        l->source = NULL;
    }
    if (l->backoff) {
        g_source_remove(l->backoff);
        l->backoff = 0;
    }
    l->func = NULL;
    l->opaque = NULL;
    l->notify = NULL;
    if (notify) {
        notify(opaque);
    }
}

void qio_net_listener_set_handler(QIONetListener *l,
                                  QIONetListenerFunc *func,
                                  gpointer opaque, GDestroyNotify notify)
{
    drop_handler(l);
    l->func = func;
    l->opaque = opaque;
    l->notify = notify;
    watch_socket(l);
}

static void watch_socket(QIONetListener *l)
{
    if (!l->func || l->fd < 0) {
        return;
    }
    l->source = g_unix_fd_source_new(l->fd, G_IO_IN);
    g_source_set_callback(l->source, G_SOURCE_FUNC(listener_readable), l,
                          NULL);
    g_source_set_name(l->source, "QIONetListener");
    g_source_attach(l->source, g_main_context_get_thread_default());
}

QIOChannel *qio_net_listener_accept(QIONetListener *l, Error **errp)
{
    for (;;) {
        struct pollfd pfd = { .fd = l->fd, .events = POLLIN };
        Error *err = NULL;
        QIOChannel *ioc;

        if (l->fd < 0) {
            error_setg(errp, "Listener '%s' is closed", l->name);
            return NULL;
        }
        if (poll(&pfd, 1, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            error_setg_errno(errp, errno, "Failed to wait for a connection "
                             "on '%s'", l->name);
            return NULL;
        }
        ioc = accept_one(l, &err);
        if (ioc || err) {
            error_propagate(errp, err);
            return ioc;
        }
    }
}

void qio_net_listener_close(QIONetListener *l)
{
    const SocketAddress *req = l->requested;

    drop_handler(l);
    if (l->fd < 0) {
        return;
    }
    socket_fd_set_private(l->fd, false);
    close(l->fd);
    l->fd = -1;
    /* The file is ours only if socket_listen() created it. */
    if (req->type == SOCKET_ADDRESS_TYPE_UNIX &&
        !(req->u.q_unix.has_abstract && req->u.q_unix.abstract)) {
        unlink(req->u.q_unix.path);
    }
}

void qio_net_listener_free(QIONetListener *l)
{
    if (!l) {
        return;
    }
    qio_net_listener_close(l);
    listener_unref(l);
}
