/*
 * The destination's channels: one router per incoming address.
 *
 * The router owns the listener (or, for fd:, exec: and file:, the one
 * channel there is), makes every connection a stream (with TLS wrapped
 * around it before its first byte) and sends it where it belongs.  A
 * listener's connections are strangers until their first record says
 * who they are; the router reads it from the main loop, never blocking
 * and never starting a thread for it:
 *
 *   accepted ──> pending (at most MIG_ROUTER_MAX_PENDING; a new one
 *                closes the oldest silent one, else the oldest): with
 *                TLS the handshake and the source's checks
 *                (certificate, tls-authz), then stream header + first
 *                record, all within accept-timeout
 *     HELLO ──> main handler (closed at once if it is busy)
 *     CHANNEL_HEADER, registered session id ──> the session's bind
 *     anything else (garbage, silence, an early end, another record,
 *     an unknown session, a failed TLS handshake) ──> one warning
 *     naming the peer and what was wrong, closed; no migration hears
 *     of it
 *     a source TLS refuses (its certificate, tls-authz) ──> its HELLO
 *     answered with a REJECT saying why, inside TLS; then as above
 *
 * A peer speaking the other protocol, a plaintext source to a TLS
 * destination or a TLS source to a plaintext one, gets a plaintext
 * stream header and REJECT, so both ends can say what happened.
 *
 * So only a peer that sent a HELLO reaches the migration, and a silent
 * stranger never delays a source: each connection is read as its bytes
 * arrive, the first one complete goes first.  The one channel of fd:,
 * exec: and file: is the source itself: it goes to the main handler
 * unread, and the handler reads its first record; with TLS it is
 * pending like a listener's connection, but without accept-timeout,
 * waiting for its source as a plaintext one does (file: has no TLS).
 *
 * A session registers by its id (mig_router_add_session()); the binding
 * of (role, index) is the session's (migration/engine/session.c).
 * Nothing depends on the order connections arrive in.
 *
 * Threads: main thread only, callbacks included.
 */
#ifndef VMIG_MIGRATION_ROUTER_H
#define VMIG_MIGRATION_ROUTER_H

#include "migration/transport/stream.h"
#include "migration/transport/tls.h"
#include "migration/wire/wire.h"
#include "qapi/qapi-types.h"

/* Connections of one listener waiting for their first record: a flood
 * of strangers costs this many descriptors and buffers, no more.  A
 * real source's first bytes follow its connect at once, and once they
 * have arrived only connections that sent something can push it out;
 * until then this many newer strangers may come (at a flood of 500 a
 * second, 64 ms: a loaded machine's source took more than the 16 ms
 * that 8 gave). */
#define MIG_ROUTER_MAX_PENDING 32

typedef struct MigRouter MigRouter;

/*
 * @s (taken) is a new main channel.  @first is its HELLO record (body
 * valid until the next read of @s), or NULL for the one channel of fd:,
 * exec: and file:, which the handler reads itself
 * (mig_router_read_first()).  Returns false if the handler is busy:
 * the router then closes @s with a warning.
 */
typedef bool MigRouterMainFunc(void *opaque, MigStream *s,
                               const WireRecord *first);

/*
 * @s introduced itself with @ch, naming the session registered with
 * @opaque.  On WIRE_BIND_OK the function takes @s; else the router
 * closes @s, after a warning for WIRE_BIND_FOREIGN (errp says why); for
 * WIRE_BIND_INVALID the function has failed its session.
 */
typedef WireBindResult MigRouterBindFunc(void *opaque, MigStream *s,
                                         const WireChannelHeader *ch,
                                         Error **errp);

/*
 * Listens on @addr (tcp:, unix:), giving each connection
 * @accept_timeout_ms for its first record; or opens its one channel and
 * hands it to @main before returning (with TLS: once its handshake is
 * done).  @tls (taken; NULL: plaintext) secures every connection.
 */
MigRouter *mig_router_new(const MigrationAddress *addr,
                          unsigned accept_timeout_ms, MigTls *tls,
                          MigRouterMainFunc *main, void *opaque,
                          Error **errp);
/* For connections accepted from now on. */
void mig_router_set_accept_timeout(MigRouter *r, unsigned ms);
/* The addresses listened on, or NULL. */
const SocketAddress *mig_router_listen_address(MigRouter *r);
bool mig_router_listens(MigRouter *r);
/* How many connections wait for their first record (for tests). */
unsigned mig_router_n_pending(MigRouter *r);
/* Stops listening and closes the pending connections (vmig is
 * quitting). */
void mig_router_close(MigRouter *r);
/* mig_router_close() and frees. */
void mig_router_free(MigRouter *r);

/* Extra channels naming @session_id go to @bind from now on, until
 * mig_router_remove_session(). */
void mig_router_add_session(MigRouter *r, const uint8_t *session_id,
                            MigRouterBindFunc *bind, void *opaque);
/* Once this returns, no bind function of the session runs or will. */
void mig_router_remove_session(MigRouter *r, const uint8_t *session_id);

/*
 * The first thing read from every incoming channel: the stream header,
 * then one whole record (not even a NOP may come first: protocol
 * section 3), by @deadline.
 */
MigStreamResult mig_router_read_first(MigStream *s, WireRecord *rec,
                                      gint64 deadline, Error **errp);

#endif
