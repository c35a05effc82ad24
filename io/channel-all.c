/*
 * The _all calls of QIOChannel: repeat partial reads or writes until
 * every byte is through, waiting when a non-blocking channel is not
 * ready.
 */
#include "io/channel-impl.h"

#include <string.h>

static size_t iov_size(const struct iovec *iov, size_t niov)
{
    size_t total = 0;

    for (size_t i = 0; i < niov; i++) {
        total += iov[i].iov_len;
    }
    return total;
}

/* Drops the first @n bytes of the vector *@iov of *@niov elements, and
 * the elements left empty, so the next call starts where this one
 * stopped. */
static void iov_advance(struct iovec **iov, size_t *niov, size_t n)
{
    while (*niov && n >= (*iov)->iov_len) {
        n -= (*iov)->iov_len;
        (*iov)++;
        (*niov)--;
    }
    if (*niov) {
        (*iov)->iov_base = (char *)(*iov)->iov_base + n;
        (*iov)->iov_len -= n;
    }
}

/* Returns 1 when all was transferred, 0 at end of stream before the
 * first byte if @eof_ok, else -1 with errp set. */
static int transfer_all(QIOChannel *ioc, const struct iovec *iov,
                        size_t niov, bool reading, bool eof_ok,
                        Error **errp)
{
    size_t total = iov_size(iov, niov), done = 0;
    /* A copy, as advancing changes the elements. */
    g_autofree struct iovec *copy = g_new(struct iovec, niov ? niov : 1);
    struct iovec *cur = copy;
    size_t left = niov;

    if (niov) {
        memcpy(copy, iov, niov * sizeof(*iov));
    }
    iov_advance(&cur, &left, 0);
    while (done < total) {
        ssize_t n = reading ? qio_channel_readv(ioc, cur, left, errp)
                            : qio_channel_writev(ioc, cur, left, errp);

        if (n == QIO_CHANNEL_ERR_BLOCK) {
            qio_channel_wait(ioc, reading ? G_IO_IN : G_IO_OUT);
            continue;
        }
        if (n < 0) {
            return -1;
        }
        if (n == 0) {
            if (eof_ok && done == 0) {
                return 0;
            }
            /* A write never returns 0 for a non-empty request; should an
             * implementation do it, failing beats spinning. */
            error_setg(errp, reading ? "Unexpected end of stream on '%s' "
                                       "after %zu of %zu bytes"
                                     : "Write to '%s' made no progress "
                                       "after %zu of %zu bytes",
                       ioc->name, done, total);
            return -1;
        }
        done += n;
        iov_advance(&cur, &left, n);
    }
    return 1;
}

bool qio_channel_readv_all(QIOChannel *ioc, const struct iovec *iov,
                           size_t niov, Error **errp)
{
    return transfer_all(ioc, iov, niov, true, false, errp) > 0;
}

int qio_channel_readv_all_eof(QIOChannel *ioc, const struct iovec *iov,
                              size_t niov, Error **errp)
{
    return transfer_all(ioc, iov, niov, true, true, errp);
}

bool qio_channel_writev_all(QIOChannel *ioc, const struct iovec *iov,
                            size_t niov, Error **errp)
{
    return transfer_all(ioc, iov, niov, false, false, errp) > 0;
}

bool qio_channel_read_all(QIOChannel *ioc, void *buf, size_t len,
                          Error **errp)
{
    struct iovec iov = { .iov_base = buf, .iov_len = len };

    return qio_channel_readv_all(ioc, &iov, 1, errp);
}

int qio_channel_read_all_eof(QIOChannel *ioc, void *buf, size_t len,
                             Error **errp)
{
    struct iovec iov = { .iov_base = buf, .iov_len = len };

    return qio_channel_readv_all_eof(ioc, &iov, 1, errp);
}

bool qio_channel_write_all(QIOChannel *ioc, const void *buf, size_t len,
                           Error **errp)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

    return qio_channel_writev_all(ioc, &iov, 1, errp);
}
