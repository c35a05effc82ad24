/*
 * A QIOChannel that runs TLS over another QIOChannel (socket, command,
 * any kind): what is written to it goes out encrypted through the inner
 * channel, what the inner channel brings in is decrypted.
 *
 * io knows nothing of credentials: the caller makes the GnuTLS session
 * (system/tls-creds.h makes one from an object) and hands it over with
 * a function to call once the session is freed, which is how the maker
 * lets go of the credentials the session points into.
 *
 * The handshake comes first, before any readv/writev:
 *  - qio_channel_tls_handshake_step() never blocks (the destination's
 *    router drives it from its main loop, one step per readiness);
 *  - qio_channel_tls_handshake() blocks until done, failed, or
 *    @deadline (the source's threads).
 * Its errors name the channel and the TLS reason, the peer's alert
 * decoded ("TLS handshake on 'tcp:h:p' failed: the peer sent the TLS
 * alert 'Bad certificate'").  A peer that starts with anything but a
 * TLS record fails the handshake with "the peer did not start TLS (it
 * sent a plaintext stream)" (qio_channel_tls_peer_is_plaintext()).
 *
 * Afterwards it is an ordinary channel, blocking or not (the mode is
 * the inner channel's):
 *  - writes fill whole TLS records (16 KiB): elements of the vector
 *    adjacent in memory go to GnuTLS as one piece without a copy; only
 *    pieces that would make short records are gathered into a buffer;
 *  - a non-blocking write GnuTLS could not finish returns
 *    QIO_CHANNEL_ERR_BLOCK with the record kept; the caller retries
 *    with the same bytes, as it would for any channel, and the call
 *    that finishes sending the record returns the record's length;
 *  - a read returns QIO_CHANNEL_ERR_BLOCK only when GnuTLS holds no
 *    decrypted byte, and the channel's watch fires while it holds one,
 *    so readers that read until QIO_CHANNEL_ERR_BLOCK, then poll the
 *    descriptor or a watch, never strand data;
 *  - the end of the inner stream without TLS's closing alert reads as
 *    end of stream: the migration's records say themselves whether a
 *    stream was complete;
 *  - shutdown goes to the inner channel; close sends TLS's closing
 *    alert if it can without waiting, then closes the inner channel.
 *
 * Threads: one reader and one writer at once (GnuTLS allows a session
 * to receive in one thread while it sends in another).
 */
#ifndef VMIG_IO_CHANNEL_TLS_H
#define VMIG_IO_CHANNEL_TLS_H

#include <gnutls/gnutls.h>

#include "io/channel.h"

/* The most plaintext one TLS record carries. */
#define QIO_CHANNEL_TLS_RECORD_SIZE 16384

/*
 * Wraps @inner (a reference is taken) with @session (taken: it is
 * deinitialised when the channel is freed, and then @release is called
 * on @opaque, if not NULL).  The channel has @inner's name.  The
 * session's transport is set here; nothing else of it is changed.
 */
QIOChannel *qio_channel_tls_new(QIOChannel *inner, gnutls_session_t session,
                                GDestroyNotify release, gpointer opaque);

bool qio_channel_is_tls(const QIOChannel *ioc);
/* The wrapped channel (borrowed).  @ioc must be a TLS channel. */
QIOChannel *qio_channel_tls_get_inner(QIOChannel *ioc);
/* The session (borrowed): the protocol, cipher and certificates of the
 * peer once the handshake is done. */
gnutls_session_t qio_channel_tls_get_session(QIOChannel *ioc);

/*
 * What the peer proved it is (a certificate's DN, a PSK username), as
 * whoever checked it says; NULL: nothing.  Set once, after the
 * handshake, before the channel is shared between threads.
 */
void qio_channel_tls_set_peer_identity(QIOChannel *ioc, const char *id);
const char *qio_channel_tls_get_peer_identity(QIOChannel *ioc);

typedef enum QIOChannelTLSStep {
    QIO_CHANNEL_TLS_DONE,
    QIO_CHANNEL_TLS_WANT_READ,      /* call again when readable */
    QIO_CHANNEL_TLS_WANT_WRITE,     /* call again when writable */
    QIO_CHANNEL_TLS_FAILED,         /* errp set */
} QIOChannelTLSStep;

/* One step of the handshake; the inner channel must be non-blocking.
 * A failed handshake sends the peer the alert that says why. */
QIOChannelTLSStep qio_channel_tls_handshake_step(QIOChannel *ioc,
                                                 Error **errp);

/*
 * The whole handshake, waiting for the inner channel's descriptor as
 * needed, by @deadline (g_get_monotonic_time() microseconds, 0: none),
 * or until @wake_fd (-1: none) is readable ("interrupted").  Leaves the
 * channel non-blocking.
 */
bool qio_channel_tls_handshake(QIOChannel *ioc, gint64 deadline,
                               int wake_fd, Error **errp);

bool qio_channel_tls_handshake_done(QIOChannel *ioc);

/* Whether anything at all has come from the peer (a handshake in
 * progress has, before any decrypted byte). */
bool qio_channel_tls_peer_spoke(QIOChannel *ioc);

/* Whether the handshake failed because the peer sent something other
 * than TLS (most likely a plaintext migration stream). */
bool qio_channel_tls_peer_is_plaintext(QIOChannel *ioc);

#endif
