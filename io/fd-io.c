/*
 * Partial I/O on a descriptor: see io/fd-io.h.
 */
#include "fd-io.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/sockets.h"

static bool would_block(int err)
{
    return err == EAGAIN || err == EWOULDBLOCK;
}

ssize_t qio_fd_readv(int fd, const struct iovec *iov, size_t niov,
                     const char *name, Error **errp)
{
    ssize_t n;

    do {
        n = readv(fd, iov, niov);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (would_block(errno)) {
            return QIO_CHANNEL_ERR_BLOCK;
        }
        error_setg_errno(errp, errno, "Failed to read from '%s'", name);
        return -1;
    }
    return n;
}

/* What a write's result @n (errno @err when < 0) means for the caller. */
static ssize_t write_result(ssize_t n, int err, const char *name,
                            Error **errp)
{
    if (n >= 0) {
        return n;
    }
    if (would_block(err)) {
        return QIO_CHANNEL_ERR_BLOCK;
    }
    error_setg_errno(errp, err, "Failed to write to '%s'", name);
    return -1;
}

ssize_t qio_fd_sendmsg(int fd, const struct iovec *iov, size_t niov,
                       int flags, const char *name, Error **errp)
{
    struct msghdr msg = {
        .msg_iov = (struct iovec *)iov,
        .msg_iovlen = niov,
    };
    ssize_t n;

    do {
        n = sendmsg(fd, &msg, MSG_NOSIGNAL | flags);
    } while (n < 0 && errno == EINTR);
    /* With MSG_ZEROCOPY, ENOBUFS means the socket's option memory is
     * taken by sends not yet completed: a condition, not a failure. */
    if (n < 0 && errno == ENOBUFS && (flags & MSG_ZEROCOPY)) {
        return QIO_CHANNEL_ERR_NOBUFS;
    }
    return write_result(n, errno, name, errp);
}

ssize_t qio_fd_writev(int fd, bool is_socket, const struct iovec *iov,
                      size_t niov, const char *name, Error **errp)
{
    ssize_t n;

    if (is_socket) {
        return qio_fd_sendmsg(fd, iov, niov, 0, name, errp);
    }
    do {
        n = writev(fd, iov, niov);
    } while (n < 0 && errno == EINTR);
    return write_result(n, errno, name, errp);
}

bool qio_fd_set_blocking(int fd, bool blocking, const char *name,
                         Error **errp)
{
    if (!socket_set_nonblock(fd, !blocking)) {
        error_setg_errno(errp, errno, "Failed to make '%s' %s", name,
                         blocking ? "blocking" : "non-blocking");
        return false;
    }
    return true;
}

bool qio_fd_close(int *fd, const char *name, Error **errp)
{
    int ret;

    if (*fd < 0) {
        return true;
    }
    /* Linux frees the descriptor even when close() fails: never retry,
     * another thread may have been given the number already. */
    ret = close(*fd);
    *fd = -1;
    if (ret < 0 && errno != EINTR) {
        error_setg_errno(errp, errno, "Failed to close '%s'", name);
        return false;
    }
    return true;
}
