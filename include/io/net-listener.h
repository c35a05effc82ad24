/*
 * A listening socket that accepts connections from the GLib main loop
 * and hands each, as a QIOChannel, to a callback: the destination side
 * of the socket transports.
 *
 *     g_autoptr(QIONetListener) l = qio_net_listener_new(addr, errp);
 *     printf("listening on %s\n", qio_net_listener_get_name(l));
 *     qio_net_listener_set_handler(l, got_client, opaque, NULL);
 *
 * The listen backlog is SOMAXCONN, so that clients opening several
 * connections at once (multifd channels) are never refused.
 */
#ifndef VMIG_IO_NET_LISTENER_H
#define VMIG_IO_NET_LISTENER_H

#include "io/channel.h"
#include "qapi/qapi-types.h"

typedef struct QIONetListener QIONetListener;

/* Called from the main loop for each accepted connection; @ioc (a
 * blocking socket channel) belongs to the callee.  The callee may close
 * or free @listener. */
typedef void QIONetListenerFunc(QIONetListener *listener, QIOChannel *ioc,
                                gpointer opaque);

/*
 * Listens on @addr now (see socket_listen(): a stale Unix socket file
 * is replaced; fd: takes over the descriptor).  Connections queue until
 * a handler is set or qio_net_listener_accept() is called.
 */
QIONetListener *qio_net_listener_new(const SocketAddress *addr,
                                     Error **errp);

/*
 * The address actually listened on, numeric: for "tcp:127.0.0.1:0" it
 * has the port picked; for the wildcard host it is "0.0.0.0" or "::".
 * Valid until the listener is freed.
 */
const SocketAddress *qio_net_listener_get_address(const QIONetListener *l);
/* Its string form, e.g. "tcp:127.0.0.1:45123". */
const char *qio_net_listener_get_name(const QIONetListener *l);

/*
 * Calls @func for every connection, from the thread-default main
 * context of the calling thread.  Replaces the previous handler (whose
 * @notify is called); @func NULL stops accepting.  @notify, if not
 * NULL, is called on @opaque when the handler is replaced or the
 * listener closed.
 */
void qio_net_listener_set_handler(QIONetListener *l,
                                  QIONetListenerFunc *func,
                                  gpointer opaque, GDestroyNotify notify);

/* Blocks until a connection comes, without a handler: for callers that
 * must wait before anything else can run. */
QIOChannel *qio_net_listener_accept(QIONetListener *l, Error **errp);

/* Stops listening and closes the socket; removes the Unix socket file
 * it created.  Idempotent. */
void qio_net_listener_close(QIONetListener *l);
bool qio_net_listener_is_closed(const QIONetListener *l);

/* Closes and frees.  Safe from inside the handler. */
void qio_net_listener_free(QIONetListener *l);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(QIONetListener, qio_net_listener_free)

#endif
