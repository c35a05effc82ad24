/*
 * Opening the channels of a migration.  The source opens every channel
 * it uses, main, multifd and (later) postcopy preempt, through
 * mig_channel_open() or mig_channel_open_async(): the one place where a
 * source's channel comes to be, so that whatever must wrap a channel
 * before its first byte (TLS) is done once, here.  The destination's
 * side is migration/transport/router.c.
 *
 * Underneath, what a MigrationAddress means: what the source connects
 * to, and what a destination reads from when there is nothing to listen
 * on.  Channels are named by the address's canonical URI
 * (migration_address_to_string()), plus their role for extra channels.
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
#ifndef VMIG_MIGRATION_CHANNEL_OPEN_H
#define VMIG_MIGRATION_CHANNEL_OPEN_H

#include "io/channel.h"
#include "migration/transport/stream.h"
#include "migration/transport/tls.h"
#include "migration/wire/wire.h"
#include "qapi/qapi-types.h"

/* ---- The source's channels ---- */

/* Which channel of a session: the main one, or an extra one. */
typedef struct MigChannelSpec {
    /* 0 for the main channel, else a WireChannelRole. */
    uint32_t role;
    /* Extra channels: the session they belong to and their index. */
    uint8_t session_id[WIRE_SESSION_ID_LEN];
    uint32_t index;
    /* Send with MSG_ZEROCOPY (tcp only; the caller validated it). */
    bool zero_copy;
    /* TLS from the first byte, or NULL (borrowed: must outlive the
     * opening, not the channel). */
    MigTls *tls;
} MigChannelSpec;

#define MIG_CHANNEL_MAIN 0

/*
 * Opens the channel @spec describes to @addr, blocking: connects, names
 * it after its role ("tcp:h:p (multifd 2)"), completes TLS if
 * @spec->tls, makes it a stream and sends the stream header, followed
 * on an extra channel by its CHANNEL_HEADER, within the handshake
 * timeout.  The main channel's first record is the handshake's
 * (migration/engine/handshake.c).
 */
MigStream *mig_channel_open(const MigrationAddress *addr,
                            const MigChannelSpec *spec, Error **errp);

/* mig_channel_open() in two steps: mig_channel_connect(), then this
 * on @ioc (taken), in any thread (with TLS, the handshake's). */
MigStream *mig_channel_setup(QIOChannel *ioc, const MigChannelSpec *spec,
                             Error **errp);

/* Gets the result of mig_channel_open_async(): exactly one of @s and
 * @err is set, and the callee owns it. */
typedef void MigChannelOpenFunc(MigStream *s, Error *err, gpointer opaque);

/*
 * mig_channel_open() for the main thread: @func runs later, never from
 * within this call, in the calling thread's main context (see
 * mig_channel_connect_async()).  The TLS handshake, when there is one,
 * runs in a thread of its own.
 */
void mig_channel_open_async(const MigrationAddress *addr,
                            const MigChannelSpec *spec,
                            MigChannelOpenFunc *func, gpointer opaque);

/* ---- What an address means ---- */

/* Blocks until connected (or the command started, the file opened);
 * a bare channel (mig_channel_open() is what a migration uses). */
QIOChannel *mig_channel_connect(const MigrationAddress *addr,
                                Error **errp);

/* Whether the destination side of @addr listens (inet and unix
 * sockets) rather than opening one channel directly. */
bool mig_channel_listens(const MigrationAddress *addr);

/* The destination side for addresses that do not listen; refuses the
 * others (use io/net-listener.h). */
QIOChannel *mig_channel_open_incoming(const MigrationAddress *addr,
                                      Error **errp);

/* Gets the result of mig_channel_connect_async(): exactly one of
 * @ioc and @err is set, and the callee owns it. */
typedef void MigChannelConnectFunc(QIOChannel *ioc, Error *err,
                                   gpointer opaque);

/*
 * mig_channel_connect() that does not block the main loop: inet
 * and unix sockets connect in a thread of their own (an unreachable
 * host takes minutes to fail); the others open at once, fd: names are
 * looked up in the calling thread's monitor.  @func runs later, never
 * from within this call, in the thread-default main context of the
 * calling thread; then @notify, if not NULL, on @opaque.  @addr is
 * copied.
 */
void mig_channel_connect_async(const MigrationAddress *addr,
                               MigChannelConnectFunc *func, gpointer opaque,
                               GDestroyNotify notify);

#endif
