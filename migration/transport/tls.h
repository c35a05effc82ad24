/*
 * TLS for a migration's channels, the one place it is done
 * (docs/architecture.md): the credentials a migration uses, the
 * sessions made from them, their handshakes and the checks of the peer.
 *
 * A migration looks its objects up when it starts, on the main thread
 * (mig_tls_new()), and holds them until it is freed, so object-del
 * refuses them meanwhile; every channel then gets a session of its own
 * (which holds the credentials too, until the channel is freed, so a
 * channel may outlive the MigTls it came from):
 *
 *   source       mig_tls_client(): wrap right after connecting, the
 *                handshake and the destination's checks, by a deadline,
 *                blocking (any thread);
 *   destination  mig_tls_server() wraps an accepted connection; the
 *                router drives qio_channel_tls_handshake_step() from its
 *                main loop, then mig_tls_check_client() checks the
 *                source's certificate and asks tls-authz.
 *
 * The host name a source checks the destination's certificate against
 * is tls-hostname, else the host of a tcp: URI; fd:, exec: and unix:
 * have none (the validator requires tls-hostname there when x509 peers
 * are verified).
 *
 * Threads: mig_tls_new(), mig_tls_free() and mig_tls_check_client()
 * on the main thread; mig_tls_client() on any.
 */
#ifndef VMIG_MIGRATION_TLS_H
#define VMIG_MIGRATION_TLS_H

#include "io/channel.h"
#include "qapi/qapi-types.h"

typedef struct MigTls MigTls;

/*
 * @cfg's TLS for the @source end or the destination: *@out NULL when
 * @cfg has no tls-creds.  Fails, naming the option, when an object
 * does not exist or is not the right kind or endpoint.
 */
bool mig_tls_new(const MigrationConfig *cfg, const MigrationAddress *addr,
                 bool source, MigTls **out, Error **errp);
void mig_tls_free(MigTls *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MigTls, mig_tls_free)

/*
 * Wraps @ioc (taken) as the client, completes the handshake and checks
 * the destination, all by @deadline (monotonic microseconds).  Returns
 * the TLS channel, non-blocking, or NULL with errp naming the channel
 * and what was wrong.
 */
QIOChannel *mig_tls_client(MigTls *t, QIOChannel *ioc, gint64 deadline,
                           Error **errp);

/* Wraps @ioc (taken) as the server, not yet handshaken. */
QIOChannel *mig_tls_server(MigTls *t, QIOChannel *ioc, Error **errp);

/*
 * After the server's handshake on @tls: the source's certificate (when
 * the credentials verify peers) and tls-authz.  false with errp saying
 * why the source is refused, for its REJECT.
 */
bool mig_tls_check_client(MigTls *t, QIOChannel *tls, Error **errp);

/* What query-migrate says of the channel @ioc's TLS; NULL if @ioc is
 * not a TLS channel or not handshaken. */
MigrationTlsInfo *mig_tls_channel_info(QIOChannel *ioc);

#endif
