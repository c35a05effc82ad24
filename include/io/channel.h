/*
 * QIOChannel: a byte stream the migration code reads and writes without
 * knowing what carries it (a socket, a file, a command's stdin/stdout;
 * later TLS or compression wrapped around another channel).
 *
 * Ownership: a channel is reference counted.  Constructors return one
 * reference; qio_channel_unref() drops it, and the last one closes the
 * channel (dropping any close error: call qio_channel_close() first to
 * see it) and frees it.  g_autoptr(QIOChannel) unrefs at scope exit.
 *
 * Blocking: channels start blocking.  In non-blocking mode the partial
 * calls return QIO_CHANNEL_ERR_BLOCK instead of waiting, and the _all
 * calls wait for the channel to become ready (qio_channel_wait()), so
 * they are correct in both modes.
 *
 * Threads: one thread may read while another writes.  Any thread may
 * call qio_channel_shutdown() to wake a thread blocked on the channel;
 * qio_channel_close() must only be called when no other thread uses it.
 *
 * Errors name the channel: "Failed to read from 'tcp:127.0.0.1:4444':
 * Connection reset by peer".
 */
#ifndef VMIG_IO_CHANNEL_H
#define VMIG_IO_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <glib.h>

#include "qapi/error.h"

typedef struct QIOChannel QIOChannel;

/* Returned by the partial calls of a non-blocking channel that is not
 * ready; distinct from -1, which is an error with errp set. */
#define QIO_CHANNEL_ERR_BLOCK (-2)

/* Returned by qio_channel_writev_zero_copy() only: the kernel holds as
 * many uncompleted zero-copy sends as it allows (ENOBUFS).  Wait for
 * completions (qio_channel_zero_copy_reap()) and try again. */
#define QIO_CHANNEL_ERR_NOBUFS (-3)

typedef enum QIOChannelShutdown {
    QIO_CHANNEL_SHUTDOWN_READ = 1 << 0,
    QIO_CHANNEL_SHUTDOWN_WRITE = 1 << 1,
    QIO_CHANNEL_SHUTDOWN_BOTH = QIO_CHANNEL_SHUTDOWN_READ |
                                QIO_CHANNEL_SHUTDOWN_WRITE,
} QIOChannelShutdown;

/* Watch callback: @cond is what happened (G_IO_IN, G_IO_OUT, G_IO_HUP,
 * G_IO_ERR, G_IO_NVAL).  Return G_SOURCE_CONTINUE to keep watching. */
typedef gboolean QIOChannelFunc(QIOChannel *ioc, GIOCondition cond,
                                gpointer opaque);

QIOChannel *qio_channel_ref(QIOChannel *ioc);
void qio_channel_unref(QIOChannel *ioc);

/* The name used in messages, e.g. "tcp:127.0.0.1:4444" or "exec:cat". */
const char *qio_channel_get_name(const QIOChannel *ioc);
void qio_channel_set_name(QIOChannel *ioc, const char *name);

/* "socket", "file", "command": the implementation, for tests and logs. */
const char *qio_channel_get_kind(const QIOChannel *ioc);

/*
 * Partial I/O: transfers what is possible now, at least one byte unless
 * @len (or the sum of the iov lengths) is 0.  Returns the byte count, 0
 * at end of stream (reads only), QIO_CHANNEL_ERR_BLOCK, or -1 with errp
 * set.  At most IOV_MAX elements of @iov are used per call.
 */
ssize_t qio_channel_readv(QIOChannel *ioc, const struct iovec *iov,
                          size_t niov, Error **errp);
ssize_t qio_channel_writev(QIOChannel *ioc, const struct iovec *iov,
                           size_t niov, Error **errp);
ssize_t qio_channel_read(QIOChannel *ioc, void *buf, size_t len,
                         Error **errp);
ssize_t qio_channel_write(QIOChannel *ioc, const void *buf, size_t len,
                          Error **errp);

/*
 * Complete I/O: transfers everything or fails.  End of stream before
 * the last byte is an error ("Unexpected end of stream on 'NAME' after
 * 3 of 8 bytes").
 */
bool qio_channel_readv_all(QIOChannel *ioc, const struct iovec *iov,
                           size_t niov, Error **errp);
bool qio_channel_writev_all(QIOChannel *ioc, const struct iovec *iov,
                            size_t niov, Error **errp);
bool qio_channel_read_all(QIOChannel *ioc, void *buf, size_t len,
                          Error **errp);
bool qio_channel_write_all(QIOChannel *ioc, const void *buf, size_t len,
                           Error **errp);

/*
 * Like the _all reads, but end of stream before the first byte is not
 * an error: the peer finished between two records.  Returns 1 when
 * everything was read, 0 at such an end, -1 with errp set.
 */
int qio_channel_readv_all_eof(QIOChannel *ioc, const struct iovec *iov,
                              size_t niov, Error **errp);
int qio_channel_read_all_eof(QIOChannel *ioc, void *buf, size_t len,
                             Error **errp);

/*
 * Zero-copy send (Linux MSG_ZEROCOPY; TCP socket channels only).
 *
 * After qio_channel_enable_zero_copy(), qio_channel_writev_zero_copy()
 * is a partial write like qio_channel_writev() whose data the kernel
 * takes from the caller's pages instead of copying them: it may still
 * read them after the call returned.  Every call that sent at least one
 * byte is one "zero-copy send", whatever its length; the kernel reports
 * each as complete, after which it no longer reads that call's buffers.
 * Until then the caller must neither change nor reuse them: what gets
 * sent would be their contents at some later moment.  (Freeing them is
 * safe for memory, the kernel holds the pages, but not for the data.)
 *
 * Completions queue on the socket and make its descriptor poll POLLERR
 * (G_IO_ERR) while unread; qio_channel_zero_copy_reap() reads them
 * without blocking.  To wait for all of them, poll qio_channel_get_fd()
 * for POLLERR (events 0: POLLERR is always reported) and reap again, as
 * migration/transport/stream.h does with its wake-up.
 *
 * The kernel may copy after all (loopback, a device without
 * scatter-gather): the send still completes as usual and is counted in
 * QIOChannelZeroCopyStats.copied.
 *
 * Threads: writes from one thread; reaping from any (the counters are
 * atomic), so a reader of the same channel may reap too.
 */
typedef struct QIOChannelZeroCopyStats {
    uint64_t sent;          /* zero-copy sends so far */
    uint64_t completed;     /* of them, reported complete */
    uint64_t copied;        /* of those, where the kernel copied anyway */
} QIOChannelZeroCopyStats;

/* Fails where the channel cannot ("Channel 'unix:/x.sock' does not
 * support zero-copy send: Operation not supported").  Idempotent. */
bool qio_channel_enable_zero_copy(QIOChannel *ioc, Error **errp);
bool qio_channel_zero_copy_enabled(const QIOChannel *ioc);

/* Returns as qio_channel_writev(), or QIO_CHANNEL_ERR_NOBUFS.  Fails
 * unless zero copy was enabled. */
ssize_t qio_channel_writev_zero_copy(QIOChannel *ioc,
                                     const struct iovec *iov, size_t niov,
                                     Error **errp);

/*
 * Reads the completions that arrived, never blocking.  Returns 1 when
 * every zero-copy send so far has completed, 0 when some have not, -1
 * with errp set when reading them failed or the socket reported an
 * error instead (a reset connection: its sends will never complete).
 */
int qio_channel_zero_copy_reap(QIOChannel *ioc, Error **errp);

/* The counters; all 0 on a channel that never sent with zero copy. */
void qio_channel_zero_copy_stats(QIOChannel *ioc,
                                 QIOChannelZeroCopyStats *stats);

bool qio_channel_set_blocking(QIOChannel *ioc, bool blocking, Error **errp);

/* Whether qio_channel_shutdown() works on this channel (files: no). */
bool qio_channel_has_shutdown(const QIOChannel *ioc);

/* Stops reading and/or writing without closing: blocked calls return
 * (EOF or an error), later ones fail. */
bool qio_channel_shutdown(QIOChannel *ioc, QIOChannelShutdown how,
                          Error **errp);

/*
 * Releases the channel's resources and reports the last errors (a
 * command's non-zero exit status, a file's failed close).  Idempotent:
 * closing a closed channel succeeds.  Later I/O fails.
 */
bool qio_channel_close(QIOChannel *ioc, Error **errp);
bool qio_channel_is_closed(const QIOChannel *ioc);

/* The descriptor to poll for readiness, or -1 (closed, or none). */
int qio_channel_get_fd(QIOChannel *ioc);

/*
 * A GSource that fires when @cond (G_IO_IN, G_IO_OUT) is ready on the
 * channel, or it hung up or failed.  Set its callback with
 * g_source_set_callback(source, G_SOURCE_FUNC(func), ...) where func
 * is a QIOChannelFunc.  The source holds a reference to @ioc.  NULL if
 * the channel has nothing to poll (closed).  Remove a channel's watches
 * before closing it: the descriptor they poll goes away (G_IO_NVAL).
 */
GSource *qio_channel_create_watch(QIOChannel *ioc, GIOCondition cond);

/* Creates a watch calling @func on the thread-default main context and
 * returns its id (g_source_remove() stops it); 0 if it cannot. */
guint qio_channel_add_watch(QIOChannel *ioc, GIOCondition cond,
                            QIOChannelFunc *func, gpointer opaque,
                            GDestroyNotify notify);

/* Blocks until @cond is ready on @ioc (or it hung up), without running
 * any other source: used by the _all calls in non-blocking mode. */
void qio_channel_wait(QIOChannel *ioc, GIOCondition cond);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(QIOChannel, qio_channel_unref)

#endif
