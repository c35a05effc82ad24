/*
 * QIOChannel over a connected stream socket: see io/channel-socket.h.
 */
#include "io/channel-socket.h"

#include <errno.h>
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
    g_autofree char *name = socket_address_to_string(addr);
    int fd = socket_connect(addr, errp);

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
