/*
 * Opening the channel a MigrationAddress describes: what the source
 * connects to, and what a destination reads from when there is nothing
 * to listen on.  Channels are named by the address's canonical URI
 * (migration_address_to_string()).
 *
 *                 outgoing (source)        incoming (destination)
 *   socket inet   connect                  qio_net_listener_new()
 *   socket unix   connect                  qio_net_listener_new()
 *   socket fd     the connected socket     the connected socket
 *   exec          run, write to stdin      run, read its stdout
 *   file          create/write at offset   read from offset
 *   rdma          refused: not implemented
 *
 * fd: is a connected stream on both sides, as in QEMU.
 */
#ifndef VMIG_IO_CHANNEL_ADDRESS_H
#define VMIG_IO_CHANNEL_ADDRESS_H

#include "io/channel.h"
#include "qapi/qapi-types.h"

/* Blocks until connected (or the command started, the file opened). */
QIOChannel *qio_channel_open_outgoing(const MigrationAddress *addr,
                                      Error **errp);

/* Whether the destination side of @addr listens (inet and unix
 * sockets) rather than opening one channel directly. */
bool qio_channel_address_listens(const MigrationAddress *addr);

/* The destination side for addresses that do not listen; refuses the
 * others (use io/net-listener.h). */
QIOChannel *qio_channel_open_incoming(const MigrationAddress *addr,
                                      Error **errp);

/* Gets the result of qio_channel_open_outgoing_async(): exactly one of
 * @ioc and @err is set, and the callee owns it. */
typedef void QIOChannelOpenFunc(QIOChannel *ioc, Error *err,
                                gpointer opaque);

/*
 * qio_channel_open_outgoing() that does not block the main loop: inet
 * and unix sockets connect in a thread of their own (an unreachable
 * host takes minutes to fail); the others open at once, fd: names are
 * looked up in the calling thread's monitor.  @func runs later, never
 * from within this call, in the thread-default main context of the
 * calling thread; then @notify, if not NULL, on @opaque.  @addr is
 * copied.
 */
void qio_channel_open_outgoing_async(const MigrationAddress *addr,
                                     QIOChannelOpenFunc *func,
                                     gpointer opaque,
                                     GDestroyNotify notify);

#endif
