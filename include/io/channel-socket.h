/*
 * A QIOChannel over a connected stream socket (TCP, Unix, or a passed
 * descriptor).  Listening is io/net-listener.h.
 *
 * Names: a connected channel is named after the address it connected
 * to in its string form ("tcp:127.0.0.1:4444", "unix:/run/x.sock",
 * "fd:migfd"), which is also how connection errors name it.
 */
#ifndef VMIG_IO_CHANNEL_SOCKET_H
#define VMIG_IO_CHANNEL_SOCKET_H

#include "io/channel.h"
#include "qapi/qapi-types.h"

/*
 * Connects to @addr, blocking until connected or refused.  fd: takes
 * the descriptor (by number, or by name from the monitor's getfd) as an
 * already connected socket; the channel owns it from then on.
 */
QIOChannel *qio_channel_socket_connect(const SocketAddress *addr,
                                       Error **errp);
/* The same within @timeout_ms (< 0: no limit): socket_connect_within(). */
QIOChannel *qio_channel_socket_connect_within(const SocketAddress *addr,
                                              int timeout_ms, Error **errp);

/* Wraps the connected socket @fd, which the channel then owns (also on
 * failure: it is closed).  @name NULL: "socket". */
QIOChannel *qio_channel_socket_new_fd(int fd, const char *name,
                                      Error **errp);

bool qio_channel_is_socket(const QIOChannel *ioc);

/* The local address of a socket channel, numeric (see
 * socket_local_address()). */
SocketAddress *qio_channel_socket_local_address(QIOChannel *ioc,
                                                Error **errp);

#endif
