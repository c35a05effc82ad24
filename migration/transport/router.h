/*
 * The destination's channels: one router per incoming address.
 *
 * The router owns the listener (or, for fd:, exec: and file:, the one
 * channel there is), makes every connection a stream (TLS will wrap it
 * here, before its first byte) and sends it where it belongs:
 *
 *   connection ─┬─ no session takes extra channels ──> main handler
 *               │       (it reads the HELLO itself, with
 *               │        mig_router_read_first(); if it is busy the
 *               │        connection is closed at once)
 *               │
 *               └─ a session takes extra channels ──> introduction thread:
 *                       stream header + first record, within the
 *                       handshake timeout
 *                         CHANNEL_HEADER, known session id ──> its bind
 *                         anything else (unknown session, garbage, a
 *                         HELLO) ──> warning, closed; the migration goes on
 *
 * A session registers by its id (mig_router_add_session()); the binding
 * of (role, index) is the session's (migration/engine/session.c).
 * Nothing depends on the order connections arrive in.
 *
 * Threads: everything but the bind function runs in the main thread;
 * bind functions run in introduction threads, one at a time per router.
 */
#ifndef VMIG_MIGRATION_ROUTER_H
#define VMIG_MIGRATION_ROUTER_H

#include "migration/transport/stream.h"
#include "migration/wire/wire.h"
#include "qapi/qapi-types.h"

/* At most this many connections may be introducing themselves at once;
 * more are closed at once (a peer must not make us start threads
 * without bound). */
#define MIG_ROUTER_MAX_INTRODUCING 32

typedef struct MigRouter MigRouter;

/*
 * Main thread: @s (taken) is a new main channel.  Returns false if the
 * handler is busy: the router then closes it with a warning.
 */
typedef bool MigRouterMainFunc(void *opaque, MigStream *s);

/*
 * Introduction thread: @s introduced itself with @ch, naming the session
 * registered with @opaque.  On WIRE_BIND_OK the function takes @s; else
 * the router closes @s, after a warning for WIRE_BIND_FOREIGN (errp says
 * why); for WIRE_BIND_INVALID the function has failed its session.
 */
typedef WireBindResult MigRouterBindFunc(void *opaque, MigStream *s,
                                         const WireChannelHeader *ch,
                                         Error **errp);

/*
 * Main thread: listens on @addr (tcp:, unix:), or opens its one channel
 * and hands it to @main before returning.
 */
MigRouter *mig_router_new(const MigrationAddress *addr,
                          MigRouterMainFunc *main, void *opaque,
                          Error **errp);
/* The addresses listened on, or NULL. */
const SocketAddress *mig_router_listen_address(MigRouter *r);
bool mig_router_listens(MigRouter *r);
/* Stops listening and wakes every introduction (vmig is quitting). */
void mig_router_close(MigRouter *r);
/* mig_router_close(), joins the introduction threads and frees. */
void mig_router_free(MigRouter *r);

/* Main thread: extra channels naming @session_id go to @bind from now
 * on, until mig_router_remove_session(). */
void mig_router_add_session(MigRouter *r, const uint8_t *session_id,
                            MigRouterBindFunc *bind, void *opaque);
/* Main thread: once this returns, no bind function of the session runs
 * or will run. */
void mig_router_remove_session(MigRouter *r, const uint8_t *session_id);

/*
 * The first thing read from every incoming channel: the stream header,
 * then one whole record (not even a NOP may come first: protocol
 * section 3), by @deadline.
 */
MigStreamResult mig_router_read_first(MigStream *s, WireRecord *rec,
                                      gint64 deadline, Error **errp);

#endif
