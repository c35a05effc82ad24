/*
 * QIOChannel running TLS over another QIOChannel: see io/channel-tls.h.
 */
#include "io/channel-tls.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

#include "io/channel-impl.h"
#include "util/atomic.h"

/* A writev sends at most this much before returning, so a caller's
 * deadline and wake-up are looked at between large writes. */
#define TLS_WRITEV_MAX (256 * 1024)

typedef struct QIOChannelTLS {
    QIOChannel parent;
    QIOChannel *inner;
    gnutls_session_t session;
    GDestroyNotify release;
    gpointer release_opaque;
    bool handshaken;                /* atomic: read by the watch */
    char *peer_identity;

    /* The first two bytes the peer sent, to tell TLS from plaintext. */
    uint8_t first[2];
    size_t n_first;
    bool plaintext_peer;

    /* Writer's: bytes of a record GnuTLS has but could not send yet. */
    size_t send_pending;
    uint8_t *staging;               /* QIO_CHANNEL_TLS_RECORD_SIZE */

    /* Reader's: an error met after bytes already read, for next time. */
    Error *read_err;

    /* The inner channel's errors seen by the transport functions, which
     * may run in the reader's or the writer's thread. */
    GMutex err_lock;
    Error *pull_err;
    Error *push_err;
} QIOChannelTLS;

static QIOChannelTLS *to_tls(QIOChannel *ioc)
{
    return (QIOChannelTLS *)ioc;
}

static void keep_error(QIOChannelTLS *t, Error **slot, Error *err)
{
    g_mutex_lock(&t->err_lock);
    if (*slot) {
        error_free(err);
    } else {
        *slot = err;
    }
    g_mutex_unlock(&t->err_lock);
}

static Error *take_error(QIOChannelTLS *t, Error **slot)
{
    Error *err;

    g_mutex_lock(&t->err_lock);
    err = *slot;
    *slot = NULL;
    g_mutex_unlock(&t->err_lock);
    return err;
}

/* ---- The transport: GnuTLS's bytes through the inner channel ---- */

/* The peer's first bytes must be a TLS record's: handshake (0x16) or,
 * from a server refusing us at once, alert (0x15), then version 3. */
static bool check_first_bytes(QIOChannelTLS *t, const uint8_t *buf,
                              size_t n)
{
    while (t->n_first < sizeof(t->first) && n) {
        t->first[t->n_first++] = *buf++;
        n--;
    }
    if (t->first[0] != 0x16 && t->first[0] != 0x15) {
        t->plaintext_peer = true;
    } else if (t->n_first >= 2 && t->first[1] != 0x03) {
        t->plaintext_peer = true;
    }
    return !t->plaintext_peer;
}

static ssize_t tls_pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
    QIOChannelTLS *t = ptr;
    Error *err = NULL;
    ssize_t n = qio_channel_read(t->inner, buf, len, &err);

    if (n == QIO_CHANNEL_ERR_BLOCK) {
        gnutls_transport_set_errno(t->session, EAGAIN);
        return -1;
    }
    if (n < 0) {
        keep_error(t, &t->pull_err, err);
        gnutls_transport_set_errno(t->session, EIO);
        return -1;
    }
    if (n > 0 && t->n_first < sizeof(t->first) &&
        !check_first_bytes(t, buf, n)) {
        gnutls_transport_set_errno(t->session, EPROTO);
        return -1;
    }
    return n;
}

static ssize_t tls_vec_push(gnutls_transport_ptr_t ptr, const giovec_t *iov,
                            int niov)
{
    QIOChannelTLS *t = ptr;
    Error *err = NULL;
    /* giovec_t is struct iovec on every POSIX system. */
    ssize_t n = qio_channel_writev(t->inner, (const struct iovec *)iov,
                                   niov, &err);

    if (n == QIO_CHANNEL_ERR_BLOCK) {
        gnutls_transport_set_errno(t->session, EAGAIN);
        return -1;
    }
    if (n < 0) {
        keep_error(t, &t->push_err, err);
        gnutls_transport_set_errno(t->session, EIO);
        return -1;
    }
    return n;
}

/* GnuTLS asks whether data arrives within @ms (TLS 1.3 may, during the
 * handshake): the inner descriptor tells. */
static int tls_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
    QIOChannelTLS *t = ptr;
    struct pollfd pfd = {
        .fd = qio_channel_get_fd(t->inner),
        .events = POLLIN,
    };
    int n;

    if (pfd.fd < 0) {
        return 1;       /* nothing to poll: let the read say */
    }
    do {
        n = poll(&pfd, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
    } while (n < 0 && errno == EINTR);
    return n;
}

/* ---- Errors ---- */

/*
 * Sets errp for GnuTLS's @rc: the inner channel's own error when the
 * transport failed (it names the channel), the peer's alert decoded, a
 * plaintext peer, or GnuTLS's text; @what says what was going on
 * ("TLS handshake on", "TLS read from", "TLS write to").
 */
static void error_tls(QIOChannelTLS *t, int rc, Error **slot,
                      const char *what, Error **errp)
{
    const char *name = t->parent.name;
    Error *io_err = slot ? take_error(t, slot) : NULL;

    if (t->plaintext_peer) {
        error_free(io_err);
        if (t->first[0] == 0x89) {
            error_setg(errp, "%s '%s' failed: the peer did not start TLS "
                       "(it sent a plaintext stream)", what, name);
        } else {
            error_setg(errp, "%s '%s' failed: the peer did not start TLS "
                       "(its first bytes %02x %02x are not a TLS record)",
                       what, name, t->first[0],
                       t->n_first > 1 ? t->first[1] : 0);
        }
    } else if (io_err) {
        error_propagate(errp, io_err);
        error_prepend(errp, "%s '%s' failed: ", what, name);
    } else if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED ||
               rc == GNUTLS_E_WARNING_ALERT_RECEIVED) {
        const char *alert = gnutls_alert_get_name(gnutls_alert_get(
                                                      t->session));

        error_setg(errp, "%s '%s' failed: the peer sent the TLS alert "
                   "'%s'", what, name, alert ? alert : "unknown");
    } else if (rc == GNUTLS_E_PREMATURE_TERMINATION ||
               rc == GNUTLS_E_PULL_ERROR || rc == GNUTLS_E_PUSH_ERROR) {
        error_setg(errp, "%s '%s' failed: the peer closed the connection "
                   "(%s)", what, name, gnutls_strerror(rc));
    } else {
        error_setg(errp, "%s '%s' failed: %s", what, name,
                   gnutls_strerror(rc));
    }
}

static bool check_handshaken(QIOChannelTLS *t, Error **errp)
{
    if (!qatomic_read(&t->handshaken)) {
        error_setg(errp, "TLS on '%s' has not completed its handshake",
                   t->parent.name);
        return false;
    }
    return true;
}

/* ---- The handshake ---- */

QIOChannelTLSStep qio_channel_tls_handshake_step(QIOChannel *ioc,
                                                 Error **errp)
{
    QIOChannelTLS *t = to_tls(ioc);
    int rc;

    if (qatomic_read(&t->handshaken)) {
        return QIO_CHANNEL_TLS_DONE;
    }
    rc = gnutls_handshake(t->session);
    if (rc == GNUTLS_E_SUCCESS) {
        qatomic_set(&t->handshaken, true);
        return QIO_CHANNEL_TLS_DONE;
    }
    if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
        return gnutls_record_get_direction(t->session)
               ? QIO_CHANNEL_TLS_WANT_WRITE : QIO_CHANNEL_TLS_WANT_READ;
    }
    /* Both transport directions: the handshake reads and writes.  The
     * inner channel's failure, if one, is the reason. */
    {
        Error *push = take_error(t, &t->push_err);

        if (push && !t->pull_err) {
            keep_error(t, &t->pull_err, push);
        } else {
            error_free(push);
        }
    }
    /* Tell the peer why, so its error is more than a closed
     * connection; best effort (its own failure is no reason), and
     * pointless for a plaintext peer. */
    if (!t->plaintext_peer) {
        gnutls_alert_send_appropriate(t->session, rc);
        error_free(take_error(t, &t->push_err));
    }
    error_tls(t, rc, &t->pull_err, "TLS handshake on", errp);
    return QIO_CHANNEL_TLS_FAILED;
}

static int poll_ms_until(gint64 deadline)
{
    gint64 left;

    if (!deadline) {
        return -1;
    }
    left = deadline - g_get_monotonic_time();
    return left <= 0 ? 0 : (int)MIN((left + 999) / 1000, G_MAXINT);
}

bool qio_channel_tls_handshake(QIOChannel *ioc, gint64 deadline,
                               int wake_fd, Error **errp)
{
    /* A blocking read could not keep the deadline. */
    if (!qio_channel_set_blocking(ioc, false, errp)) {
        return false;
    }
    for (;;) {
        QIOChannelTLSStep step = qio_channel_tls_handshake_step(ioc, errp);
        struct pollfd pfd[2] = {
            { .fd = qio_channel_get_fd(ioc) },
            { .fd = wake_fd, .events = POLLIN },
        };
        int n;

        if (step == QIO_CHANNEL_TLS_DONE) {
            return true;
        }
        if (step == QIO_CHANNEL_TLS_FAILED) {
            return false;
        }
        pfd[0].events = step == QIO_CHANNEL_TLS_WANT_READ ? POLLIN
                                                           : POLLOUT;
        if (pfd[0].fd < 0) {
            error_setg(errp, "TLS handshake on '%s': the channel has no "
                       "descriptor to wait for", ioc->name);
            return false;
        }
        do {
            n = poll(pfd, wake_fd >= 0 ? 2 : 1, poll_ms_until(deadline));
        } while (n < 0 && errno == EINTR);
        if (n < 0) {
            error_setg_errno(errp, errno, "Failed to wait for '%s'",
                             ioc->name);
            return false;
        }
        if (n == 0) {
            error_setg(errp, "TLS handshake on '%s' timed out",
                       ioc->name);
            return false;
        }
        if (wake_fd >= 0 && pfd[1].revents) {
            error_setg(errp, "TLS handshake on '%s' was interrupted",
                       ioc->name);
            return false;
        }
    }
}

bool qio_channel_tls_handshake_done(QIOChannel *ioc)
{
    return qatomic_read(&to_tls(ioc)->handshaken);
}

bool qio_channel_tls_peer_spoke(QIOChannel *ioc)
{
    return to_tls(ioc)->n_first > 0;
}

bool qio_channel_tls_peer_is_plaintext(QIOChannel *ioc)
{
    return to_tls(ioc)->plaintext_peer;
}

/* ---- Reading ---- */

static ssize_t tls_readv(QIOChannel *ioc, const struct iovec *iov,
                         size_t niov, Error **errp)
{
    QIOChannelTLS *t = to_tls(ioc);
    ssize_t total = 0;

    if (!check_handshaken(t, errp)) {
        return -1;
    }
    if (t->read_err) {
        error_propagate(errp, g_steal_pointer(&t->read_err));
        return -1;
    }
    for (size_t i = 0; i < niov; i++) {
        size_t got = 0;

        while (got < iov[i].iov_len) {
            ssize_t rc = gnutls_record_recv(t->session,
                                            (char *)iov[i].iov_base + got,
                                            iov[i].iov_len - got);
            Error *err = NULL;

            if (rc > 0) {
                got += rc;
                total += rc;
                /* Another call would only find the descriptor empty. */
                if (got < iov[i].iov_len &&
                    !gnutls_record_check_pending(t->session)) {
                    return total;
                }
                continue;
            }
            if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
                return total ? total : QIO_CHANNEL_ERR_BLOCK;
            }
            /* The peer's closing alert, or the inner stream's end
             * without it (header comment: the records tell). */
            if (rc == 0 || rc == GNUTLS_E_PREMATURE_TERMINATION) {
                error_free(take_error(t, &t->pull_err));
                return total;
            }
            error_tls(t, rc, &t->pull_err, "TLS read from", &err);
            if (total) {
                t->read_err = err;
                return total;
            }
            error_propagate(errp, err);
            return -1;
        }
    }
    return total;
}

/* ---- Writing ---- */

/* The bytes from element @i, offset @off on that are one piece of
 * memory (later elements continuing where the previous one ends). */
static size_t contiguous_run(const struct iovec *iov, size_t niov, size_t i,
                             size_t off, size_t cap)
{
    const uint8_t *end = (const uint8_t *)iov[i].iov_base + iov[i].iov_len;
    size_t run = iov[i].iov_len - off;

    for (i++; i < niov && run < cap; i++) {
        if (!iov[i].iov_len) {
            continue;
        }
        if (iov[i].iov_base != end) {
            break;
        }
        run += iov[i].iov_len;
        end += iov[i].iov_len;
    }
    return MIN(run, cap);
}

/* Copies up to @cap bytes from element @i, offset @off on into @dst. */
static size_t gather(uint8_t *dst, size_t cap, const struct iovec *iov,
                     size_t niov, size_t i, size_t off)
{
    size_t n = 0;

    for (; i < niov && n < cap; i++, off = 0) {
        size_t k = MIN(iov[i].iov_len - off, cap - n);

        memcpy(dst + n, (const uint8_t *)iov[i].iov_base + off, k);
        n += k;
    }
    return n;
}

static void advance(const struct iovec *iov, size_t niov, size_t *i,
                    size_t *off, size_t n)
{
    while (*i < niov && n >= iov[*i].iov_len - *off) {
        n -= iov[*i].iov_len - *off;
        (*i)++;
        *off = 0;
    }
    *off += n;
}

static ssize_t tls_writev(QIOChannel *ioc, const struct iovec *iov,
                          size_t niov, Error **errp)
{
    QIOChannelTLS *t = to_tls(ioc);
    size_t i = 0, off = 0, total = 0, left = 0;

    if (!check_handshaken(t, errp)) {
        return -1;
    }
    if (t->send_pending) {
        /* GnuTLS holds the record made of the caller's next bytes:
         * finishing it is what this call may send. */
        ssize_t rc = gnutls_record_send(t->session, NULL, 0);

        if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
            return QIO_CHANNEL_ERR_BLOCK;
        }
        if (rc < 0) {
            error_tls(t, rc, &t->push_err, "TLS write to", errp);
            return -1;
        }
        rc = t->send_pending;
        t->send_pending = 0;
        return rc;
    }
    for (size_t k = 0; k < niov; k++) {
        left += iov[k].iov_len;
    }
    while (left && total < TLS_WRITEV_MAX) {
        const uint8_t *p;
        size_t len;
        ssize_t rc;

        while (!iov[i].iov_len) {
            i++;
        }
        len = contiguous_run(iov, niov, i, off, QIO_CHANNEL_TLS_RECORD_SIZE);
        if (len < QIO_CHANNEL_TLS_RECORD_SIZE && len < left) {
            /* A short piece with more behind it: one full record of
             * copies rather than a short record. */
            if (!t->staging) {
                t->staging = g_malloc(QIO_CHANNEL_TLS_RECORD_SIZE);
            }
            len = gather(t->staging, QIO_CHANNEL_TLS_RECORD_SIZE, iov,
                         niov, i, off);
            p = t->staging;
        } else {
            p = (const uint8_t *)iov[i].iov_base + off;
        }
        rc = gnutls_record_send(t->session, p, len);
        if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
            /* Encrypted and kept by GnuTLS: the next call finishes it. */
            t->send_pending = len;
            break;
        }
        if (rc < 0) {
            if (total) {
                /* The next call meets the failure again, and reports
                 * it with the inner channel's error kept for it. */
                break;
            }
            error_tls(t, rc, &t->push_err, "TLS write to", errp);
            return -1;
        }
        total += rc;
        left -= rc;
        advance(iov, niov, &i, &off, rc);
    }
    return total ? (ssize_t)total : QIO_CHANNEL_ERR_BLOCK;
}

/* ---- The rest of the channel ---- */

static bool tls_set_blocking(QIOChannel *ioc, bool blocking, Error **errp)
{
    return qio_channel_set_blocking(to_tls(ioc)->inner, blocking, errp);
}

static bool tls_shutdown(QIOChannel *ioc, QIOChannelShutdown how,
                         Error **errp)
{
    return qio_channel_shutdown(to_tls(ioc)->inner, how, errp);
}

static bool tls_close(QIOChannel *ioc, Error **errp)
{
    QIOChannelTLS *t = to_tls(ioc);

    /* The closing alert tells the peer the stream ended on purpose;
     * best effort, and never a wait for a peer that does not read. */
    if (qatomic_read(&t->handshaken) &&
        qio_channel_set_blocking(t->inner, false, NULL)) {
        gnutls_bye(t->session, GNUTLS_SHUT_WR);
    }
    return qio_channel_close(t->inner, errp);
}

static int tls_get_fd(QIOChannel *ioc)
{
    return qio_channel_get_fd(to_tls(ioc)->inner);
}

static void tls_finalize(QIOChannel *ioc)
{
    QIOChannelTLS *t = to_tls(ioc);

    gnutls_deinit(t->session);
    if (t->release) {
        t->release(t->release_opaque);
    }
    qio_channel_unref(t->inner);
    g_free(t->staging);
    g_free(t->peer_identity);
    error_free(t->read_err);
    error_free(t->pull_err);
    error_free(t->push_err);
    g_mutex_clear(&t->err_lock);
}

/* ---- Watches: readable while GnuTLS holds decrypted bytes ---- */

typedef struct TLSWatch {
    GSource source;
    QIOChannel *ioc;
    gpointer tag;
    GIOCondition cond;
} TLSWatch;

static bool watch_has_pending(TLSWatch *w)
{
    QIOChannelTLS *t = to_tls(w->ioc);

    return (w->cond & G_IO_IN) && !w->ioc->closed &&
           qatomic_read(&t->handshaken) &&
           gnutls_record_check_pending(t->session) > 0;
}

static gboolean tls_watch_prepare(GSource *source, gint *timeout)
{
    *timeout = -1;
    return watch_has_pending((TLSWatch *)source);
}

static gboolean tls_watch_check(GSource *source)
{
    TLSWatch *w = (TLSWatch *)source;

    return watch_has_pending(w) ||
           (g_source_query_unix_fd(source, w->tag) &
            (w->cond | G_IO_HUP | G_IO_ERR | G_IO_NVAL));
}

static gboolean tls_watch_dispatch(GSource *source, GSourceFunc callback,
                                   gpointer user_data)
{
    TLSWatch *w = (TLSWatch *)source;
    QIOChannelFunc *func = (QIOChannelFunc *)(void (*)(void))callback;
    GIOCondition got = g_source_query_unix_fd(source, w->tag) &
                       (w->cond | G_IO_HUP | G_IO_ERR | G_IO_NVAL);

    if (watch_has_pending(w)) {
        got |= G_IO_IN;
    }
    if (!func) {
        g_warning("watch on channel '%s' has no callback", w->ioc->name);
        return G_SOURCE_REMOVE;
    }
    return func(w->ioc, got, user_data);
}

static void tls_watch_finalize(GSource *source)
{
    qio_channel_unref(((TLSWatch *)source)->ioc);
}

static GSourceFuncs tls_watch_funcs = {
    .prepare = tls_watch_prepare,
    .check = tls_watch_check,
    .dispatch = tls_watch_dispatch,
    .finalize = tls_watch_finalize,
};

static GSource *tls_create_watch(QIOChannel *ioc, GIOCondition cond)
{
    int fd = tls_get_fd(ioc);
    GSource *source;
    TLSWatch *w;

    if (fd < 0) {
        return NULL;
    }
    source = g_source_new(&tls_watch_funcs, sizeof(TLSWatch));
    w = (TLSWatch *)source;
    w->ioc = qio_channel_ref(ioc);
    w->cond = cond;
    w->tag = g_source_add_unix_fd(source, fd, cond);
    g_source_set_name(source, "QIOChannel TLS watch");
    return source;
}

static const QIOChannelClass tls_class = {
    .kind = "tls",
    .readv = tls_readv,
    .writev = tls_writev,
    .set_blocking = tls_set_blocking,
    .shutdown = tls_shutdown,
    .close = tls_close,
    .get_fd = tls_get_fd,
    .create_watch = tls_create_watch,
    .finalize = tls_finalize,
};

QIOChannel *qio_channel_tls_new(QIOChannel *inner, gnutls_session_t session,
                                GDestroyNotify release, gpointer opaque)
{
    QIOChannelTLS *t = g_new0(QIOChannelTLS, 1);

    qio_channel_init(&t->parent, &tls_class, qio_channel_get_name(inner));
    t->inner = qio_channel_ref(inner);
    t->session = session;
    t->release = release;
    t->release_opaque = opaque;
    g_mutex_init(&t->err_lock);
    gnutls_transport_set_ptr(session, t);
    gnutls_transport_set_pull_function(session, tls_pull);
    gnutls_transport_set_vec_push_function(session, tls_vec_push);
    gnutls_transport_set_pull_timeout_function(session, tls_pull_timeout);
    return &t->parent;
}

bool qio_channel_is_tls(const QIOChannel *ioc)
{
    return ioc->klass == &tls_class;
}

QIOChannel *qio_channel_tls_get_inner(QIOChannel *ioc)
{
    g_assert(qio_channel_is_tls(ioc));
    return to_tls(ioc)->inner;
}

gnutls_session_t qio_channel_tls_get_session(QIOChannel *ioc)
{
    g_assert(qio_channel_is_tls(ioc));
    return to_tls(ioc)->session;
}

void qio_channel_tls_set_peer_identity(QIOChannel *ioc, const char *id)
{
    QIOChannelTLS *t = to_tls(ioc);

    g_free(t->peer_identity);
    t->peer_identity = g_strdup(id);
}

const char *qio_channel_tls_get_peer_identity(QIOChannel *ioc)
{
    return to_tls(ioc)->peer_identity;
}
