/*
 * QIOChannel core: reference counting, names, and the checks every call
 * shares before it goes to the implementation (see io/channel-impl.h).
 */
#include "io/channel-impl.h"

#include <limits.h>

#include "util/atomic.h"

void qio_channel_init(QIOChannel *ioc, const QIOChannelClass *klass,
                      const char *name)
{
    ioc->klass = klass;
    ioc->refcount = 1;
    ioc->name = g_strdup(name ? name : klass->kind);
    ioc->closed = false;
}

QIOChannel *qio_channel_ref(QIOChannel *ioc)
{
    qatomic_inc(&ioc->refcount);
    return ioc;
}

void qio_channel_unref(QIOChannel *ioc)
{
    if (!ioc || qatomic_dec_fetch(&ioc->refcount) != 0) {
        return;
    }
    /* Whoever wanted the close error closed explicitly. */
    qio_channel_close(ioc, NULL);
    if (ioc->klass->finalize) {
        ioc->klass->finalize(ioc);
    }
    g_free(ioc->name);
    g_free(ioc);
}

const char *qio_channel_get_name(const QIOChannel *ioc)
{
    return ioc->name;
}

void qio_channel_set_name(QIOChannel *ioc, const char *name)
{
    g_free(ioc->name);
    ioc->name = g_strdup(name);
}

const char *qio_channel_get_kind(const QIOChannel *ioc)
{
    return ioc->klass->kind;
}

static bool check_open(QIOChannel *ioc, Error **errp)
{
    if (ioc->closed) {
        error_setg(errp, "Channel '%s' is closed", ioc->name);
        return false;
    }
    return true;
}

static bool iov_is_empty(const struct iovec *iov, size_t niov)
{
    for (size_t i = 0; i < niov; i++) {
        if (iov[i].iov_len) {
            return false;
        }
    }
    return true;
}

ssize_t qio_channel_readv(QIOChannel *ioc, const struct iovec *iov,
                          size_t niov, Error **errp)
{
    if (!check_open(ioc, errp)) {
        return -1;
    }
    /* 0 would read as end of stream: an empty request is not one. */
    if (iov_is_empty(iov, niov)) {
        return 0;
    }
    return ioc->klass->readv(ioc, iov, MIN(niov, (size_t)IOV_MAX), errp);
}

ssize_t qio_channel_writev(QIOChannel *ioc, const struct iovec *iov,
                           size_t niov, Error **errp)
{
    if (!check_open(ioc, errp)) {
        return -1;
    }
    if (iov_is_empty(iov, niov)) {
        return 0;
    }
    return ioc->klass->writev(ioc, iov, MIN(niov, (size_t)IOV_MAX), errp);
}

bool qio_channel_enable_zero_copy(QIOChannel *ioc, Error **errp)
{
    if (!check_open(ioc, errp)) {
        return false;
    }
    if (ioc->zero_copy) {
        return true;
    }
    if (!ioc->klass->enable_zero_copy) {
        error_setg(errp, "Channel '%s' does not support zero-copy send "
                   "(a %s channel)", ioc->name, ioc->klass->kind);
        return false;
    }
    ioc->zero_copy = ioc->klass->enable_zero_copy(ioc, errp);
    return ioc->zero_copy;
}

bool qio_channel_zero_copy_enabled(const QIOChannel *ioc)
{
    return ioc->zero_copy;
}

static bool check_zero_copy(QIOChannel *ioc, Error **errp)
{
    if (!check_open(ioc, errp)) {
        return false;
    }
    if (!ioc->zero_copy) {
        error_setg(errp, "Zero-copy send is not enabled on '%s'",
                   ioc->name);
        return false;
    }
    return true;
}

ssize_t qio_channel_writev_zero_copy(QIOChannel *ioc,
                                     const struct iovec *iov, size_t niov,
                                     Error **errp)
{
    ssize_t n;

    if (!check_zero_copy(ioc, errp)) {
        return -1;
    }
    if (iov_is_empty(iov, niov)) {
        return 0;
    }
    n = ioc->klass->writev_zero_copy(ioc, iov, MIN(niov, (size_t)IOV_MAX),
                                     errp);
    /* The kernel numbers every call that sent something, and only
     * those: one that failed gives its number back. */
    if (n > 0) {
        qatomic_inc(&ioc->zc.sent);
    }
    return n;
}

void qio_channel_zero_copy_completed(QIOChannel *ioc, uint64_t n,
                                     bool copied)
{
    qatomic_add(&ioc->zc.completed, n);
    if (copied) {
        qatomic_add(&ioc->zc.copied, n);
    }
}

void qio_channel_zero_copy_stats(QIOChannel *ioc,
                                 QIOChannelZeroCopyStats *stats)
{
    stats->sent = qatomic_read(&ioc->zc.sent);
    stats->completed = qatomic_read(&ioc->zc.completed);
    stats->copied = qatomic_read(&ioc->zc.copied);
}

static bool zero_copy_done(QIOChannel *ioc)
{
    QIOChannelZeroCopyStats st;

    qio_channel_zero_copy_stats(ioc, &st);
    return st.completed >= st.sent;
}

int qio_channel_zero_copy_reap(QIOChannel *ioc, Error **errp)
{
    if (!check_zero_copy(ioc, errp)) {
        return -1;
    }
    /* Nothing outstanding, nothing to read: no system call. */
    if (zero_copy_done(ioc)) {
        return 1;
    }
    if (!ioc->klass->zero_copy_reap(ioc, errp)) {
        return -1;
    }
    return zero_copy_done(ioc) ? 1 : 0;
}

ssize_t qio_channel_read(QIOChannel *ioc, void *buf, size_t len,
                         Error **errp)
{
    struct iovec iov = { .iov_base = buf, .iov_len = len };

    return qio_channel_readv(ioc, &iov, 1, errp);
}

ssize_t qio_channel_write(QIOChannel *ioc, const void *buf, size_t len,
                          Error **errp)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

    return qio_channel_writev(ioc, &iov, 1, errp);
}

bool qio_channel_set_blocking(QIOChannel *ioc, bool blocking, Error **errp)
{
    return check_open(ioc, errp) &&
           ioc->klass->set_blocking(ioc, blocking, errp);
}

bool qio_channel_has_shutdown(const QIOChannel *ioc)
{
    return ioc->klass->shutdown != NULL;
}

bool qio_channel_shutdown(QIOChannel *ioc, QIOChannelShutdown how,
                          Error **errp)
{
    if (!check_open(ioc, errp)) {
        return false;
    }
    if (!ioc->klass->shutdown) {
        error_setg(errp, "Channel '%s' does not support shutdown",
                   ioc->name);
        return false;
    }
    return ioc->klass->shutdown(ioc, how, errp);
}

bool qio_channel_close(QIOChannel *ioc, Error **errp)
{
    if (ioc->closed) {
        return true;
    }
    ioc->closed = true;
    return ioc->klass->close(ioc, errp);
}

bool qio_channel_is_closed(const QIOChannel *ioc)
{
    return ioc->closed;
}

int qio_channel_get_fd(QIOChannel *ioc)
{
    return ioc->closed ? -1 : ioc->klass->get_fd(ioc);
}
