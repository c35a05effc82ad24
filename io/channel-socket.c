/*
 * QIOChannel over a connected stream socket: see io/channel-socket.h.
 */
#include "io/channel-socket.h"

#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-io.h"
#include "io/channel-impl.h"
#include "util/sockets.h"

typedef struct QIOChannelSocket {
    QIOChannel parent;
    int fd;
} QIOChannelSocket;

static QIOChannelSocket *to_socket(QIOChannel *ioc)
{
    return (QIOChannelSocket *)ioc;
}

static ssize_t socket_readv(QIOChannel *ioc, const struct iovec *iov,
                            size_t niov, Error **errp)
{
    return qio_fd_readv(to_socket(ioc)->fd, iov, niov, ioc->name, errp);
}

static ssize_t socket_writev(QIOChannel *ioc, const struct iovec *iov,
                             size_t niov, Error **errp)
{
    return qio_fd_writev(to_socket(ioc)->fd, true, iov, niov, ioc->name,
                         errp);
}

static bool socket_enable_zero_copy(QIOChannel *ioc, Error **errp)
{
    if (!socket_set_zero_copy(to_socket(ioc)->fd)) {
        error_setg_errno(errp, errno, "Channel '%s' does not support "
                         "zero-copy send", ioc->name);
        return false;
    }
    return true;
}

static ssize_t socket_writev_zero_copy(QIOChannel *ioc,
                                       const struct iovec *iov,
                                       size_t niov, Error **errp)
{
    return qio_fd_sendmsg(to_socket(ioc)->fd, iov, niov, MSG_ZEROCOPY,
                          ioc->name, errp);
}

/*
 * Counts the completions in one message of the error queue; false with
 * errp set if it reports something else (a failed send).
 */
static bool count_completions(QIOChannel *ioc, struct msghdr *msg,
                              Error **errp)
{
    if (msg->msg_flags & MSG_CTRUNC) {
        error_setg(errp, "A zero-copy completion of '%s' was cut short",
                   ioc->name);
        return false;
    }
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c;
         c = CMSG_NXTHDR(msg, c)) {
        struct sock_extended_err ee;

        if (!(c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) &&
            !(c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
            continue;
        }
        memcpy(&ee, CMSG_DATA(c), sizeof(ee));
        if (ee.ee_origin != SO_EE_ORIGIN_ZEROCOPY || ee.ee_errno) {
            error_setg(errp, "'%s' reported an error instead of a "
                       "zero-copy completion: %s (origin %u)", ioc->name,
                       g_strerror(ee.ee_errno), ee.ee_origin);
            return false;
        }
        /* The sends numbered ee_info..ee_data (32 bits, wrapping). */
        qio_channel_zero_copy_completed(
            ioc, (uint64_t)(uint32_t)(ee.ee_data - ee.ee_info) + 1,
            ee.ee_code & SO_EE_CODE_ZEROCOPY_COPIED);
    }
    return true;
}

static bool socket_zero_copy_reap(QIOChannel *ioc, Error **errp)
{
    int fd = to_socket(ioc)->fd;
    bool any = false;
    int err = 0;
    socklen_t len = sizeof(err);

    for (;;) {
        /* One extended error and the address it came from. */
        union {
            char buf[CMSG_SPACE(sizeof(struct sock_extended_err) +
                                sizeof(struct sockaddr_in6))];
            struct cmsghdr align;
        } control;
        struct msghdr msg = {
            .msg_control = &control,
            .msg_controllen = sizeof(control),
        };
        ssize_t n = recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        }
        if (n < 0) {
            error_setg_errno(errp, errno, "Failed to read the zero-copy "
                             "completions of '%s'", ioc->name);
            return false;
        }
        if (!count_completions(ioc, &msg, errp)) {
            return false;
        }
        any = true;
    }
    /* POLLERR without completions is the socket's own error (a reset):
     * what was sent will never complete, so say so now. */
    if (!any && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
        err) {
        error_setg_errno(errp, err, "Zero-copy send on '%s' failed",
                         ioc->name);
        return false;
    }
    return true;
}

static bool socket_set_blocking(QIOChannel *ioc, bool blocking,
                                Error **errp)
{
    return qio_fd_set_blocking(to_socket(ioc)->fd, blocking, ioc->name,
                               errp);
}

static bool socket_shutdown(QIOChannel *ioc, QIOChannelShutdown how,
                            Error **errp)
{
    int sh = how == QIO_CHANNEL_SHUTDOWN_BOTH ? SHUT_RDWR
             : how == QIO_CHANNEL_SHUTDOWN_READ ? SHUT_RD : SHUT_WR;

    /* ENOTCONN: the peer is gone already, which is what was asked. */
    if (shutdown(to_socket(ioc)->fd, sh) < 0 && errno != ENOTCONN) {
        error_setg_errno(errp, errno, "Failed to shut down '%s'",
                         ioc->name);
        return false;
    }
    return true;
}

static bool socket_close(QIOChannel *ioc, Error **errp)
{
    return qio_fd_close(&to_socket(ioc)->fd, ioc->name, errp);
}

static int socket_get_fd_of(QIOChannel *ioc)
{
    return to_socket(ioc)->fd;
}

static const QIOChannelClass socket_class = {
    .kind = "socket",
    .readv = socket_readv,
    .writev = socket_writev,
    .set_blocking = socket_set_blocking,
    .shutdown = socket_shutdown,
    .close = socket_close,
    .get_fd = socket_get_fd_of,
    .enable_zero_copy = socket_enable_zero_copy,
    .writev_zero_copy = socket_writev_zero_copy,
    .zero_copy_reap = socket_zero_copy_reap,
};

QIOChannel *qio_channel_socket_new_fd(int fd, const char *name,
                                      Error **errp)
{
    QIOChannelSocket *sioc;
    struct stat st;

    if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
        error_setg(errp, "'%s' is not a socket", name ? name : "socket");
        if (fd >= 0) {
            close(fd);
        }
        return NULL;
    }
    sioc = g_new0(QIOChannelSocket, 1);
    qio_channel_init(&sioc->parent, &socket_class, name);
    sioc->fd = fd;
    return &sioc->parent;
}

QIOChannel *qio_channel_socket_connect(const SocketAddress *addr,
                                       Error **errp)
{
    return qio_channel_socket_connect_within(addr, -1, errp);
}

QIOChannel *qio_channel_socket_connect_within(const SocketAddress *addr,
                                              int timeout_ms, Error **errp)
{
    g_autofree char *name = socket_address_to_string(addr);
    int fd = socket_connect_within(addr, timeout_ms, errp);

    if (fd < 0) {
        return NULL;
    }
    return qio_channel_socket_new_fd(fd, name, errp);
}

bool qio_channel_is_socket(const QIOChannel *ioc)
{
    return ioc->klass == &socket_class;
}

SocketAddress *qio_channel_socket_local_address(QIOChannel *ioc,
                                                Error **errp)
{
    if (!qio_channel_is_socket(ioc) || ioc->closed) {
        error_setg(errp, "Channel '%s' is not an open socket", ioc->name);
        return NULL;
    }
    return socket_local_address(to_socket(ioc)->fd, errp);
}
