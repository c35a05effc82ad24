/*
 * Partial I/O on a descriptor, shared by the channels that are one
 * descriptor underneath (socket, command, file).  Private to io/.
 *
 * Returns as the partial QIOChannel calls do: bytes, 0 at end of
 * stream, QIO_CHANNEL_ERR_BLOCK when a non-blocking descriptor is not
 * ready, -1 with errp set naming @name.  EINTR is retried.
 */
#ifndef VMIG_IO_FD_IO_H
#define VMIG_IO_FD_IO_H

#include "io/channel.h"

ssize_t qio_fd_readv(int fd, const struct iovec *iov, size_t niov,
                     const char *name, Error **errp);

/* @is_socket: send with MSG_NOSIGNAL, so a vanished peer is an EPIPE
 * error here rather than a SIGPIPE for the whole process. */
ssize_t qio_fd_writev(int fd, bool is_socket, const struct iovec *iov,
                      size_t niov, const char *name, Error **errp);

/* One sendmsg(MSG_NOSIGNAL | @flags).  With MSG_ZEROCOPY in @flags,
 * ENOBUFS returns QIO_CHANNEL_ERR_NOBUFS (see io/channel.h). */
ssize_t qio_fd_sendmsg(int fd, const struct iovec *iov, size_t niov,
                       int flags, const char *name, Error **errp);

/* Sets or clears O_NONBLOCK. */
bool qio_fd_set_blocking(int fd, bool blocking, const char *name,
                         Error **errp);

/* Closes *@fd and sets it to -1; false with errp set if close failed. */
bool qio_fd_close(int *fd, const char *name, Error **errp);

#endif
