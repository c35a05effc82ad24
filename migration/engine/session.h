/*
 * A migration session: what one migration is, apart from the
 * connections that carry it.
 *
 * The session is named by the 16-byte id the source draws for its HELLO
 * (protocol section 6.1).  It owns the configuration both ends settled
 * on in the handshake, the table of extra channels the destination
 * expects (bound by session id, role and index, never by arrival order),
 * the multifd channels and the RAM saver or loader.  A connection only
 * refers to its session, so that postcopy recovery (protocol section
 * 6.12) can let a new main channel find the session again by its id,
 * and its preempt channel bind again; in precopy a session ends with
 * its main channel.
 *
 *   source                               destination
 *   mig_session_new(id from HELLO)       mig_session_new(id, effective)
 *                                         └ registered with the router:
 *                                           CHANNEL_HEADER(id) ->
 *                                           mig_session_bind_channel()
 *   ...migration...                      ...migration...
 *   mig_session_free()                   router removes it; _free()
 */
#ifndef VMIG_MIGRATION_SESSION_H
#define VMIG_MIGRATION_SESSION_H

#include "migration/engine/postcopy-preempt.h"
#include "migration/multifd/multifd.h"
#include "migration/ram/ram.h"
#include "migration/wire/wire.h"

typedef struct MigSession {
    uint8_t id[WIRE_SESSION_ID_LEN];
    /* Full, and fixed for the session but for its runtime options,
     * which the engine reads through mig_params_get(). */
    MigrationConfig *cfg;

    /* Source. */
    RamSaver ram_saver;
    bool ram_saver_ready;
    MultifdSend *multifd_send;

    /* Destination. */
    RamLoader ram_loader;
    bool ram_loader_ready;
    /* The extra channels expected; bound under lock, by the router
     * (main thread). */
    GMutex lock;
    WireChannelSet *channels;
    MultifdRecv *multifd_recv;
    PreemptRecv *preempt_recv;
} MigSession;

/* A session named @id migrating with @cfg (copied). */
MigSession *mig_session_new(const uint8_t *id, const MigrationConfig *cfg);
/* Frees what the session still owns (its multifd channels included). */
void mig_session_free(MigSession *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MigSession, mig_session_free)

/*
 * Destination: expect @n_multifd multifd channels, received by @recv
 * (taken; NULL with 0), and the preempt channel if @preempt (taken;
 * NULL: none).  Call before the session is registered with the router.
 */
void mig_session_expect_channels(MigSession *s, unsigned n_multifd,
                                 MultifdRecv *recv, PreemptRecv *preempt);

/*
 * Destination, main thread: a resuming source's connection (@main)
 * took the paused session over; it may bind the preempt channel once
 * more (if the session has one), whose pages go to @pd at once.  Call
 * before the session is registered with the new router.
 */
void mig_session_resume_channels(MigSession *s, MigStream *main,
                                 PostcopyDest *pd);

/*
 * The router's bind function (MigRouterBindFunc) for a session:
 * (role, index) must be one the session expects and not bound yet, or
 * the session fails (WIRE_BIND_INVALID); a bound channel goes to its
 * role's receiver.
 */
WireBindResult mig_session_bind_channel(void *opaque, MigStream *stream,
                                        const WireChannelHeader *ch,
                                        Error **errp);

#endif
