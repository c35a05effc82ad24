/*
 * Stream sockets described by a SocketAddress (qapi/sockets.json).
 *
 * String form, as QEMU's migration URIs and -incoming use it:
 *   unix:PATH                       the rest of the string is the path
 *   fd:NAME                         a descriptor, see "fd: addresses"
 *   tcp:HOST:PORT[,OPTION...]       "tcp:" may be left out
 *     HOST is a name, an IPv4 address, [an IPv6 address] in brackets,
 *     or empty (every local address when listening, the local host
 *     when connecting).  PORT is a number or a service name.
 *     OPTIONs are the optional members of InetSocketAddress as NAME=VALUE
 *     (to=4450, keep-alive=on); a boolean alone means on (ipv4).
 *
 * Every descriptor returned is close-on-exec and blocking; the caller
 * owns it.  Errors name the address.
 *
 * fd: addresses.  A decimal NAME is that descriptor number, inherited by
 * vmig.  Any other NAME was passed to the monitor (getfd) and is looked
 * up with the resolver the monitor installs; without one, only numbers
 * work.  socket_connect() and socket_listen() take ownership of the
 * descriptor they get that way.
 */
#ifndef VMIG_UTIL_SOCKETS_H
#define VMIG_UTIL_SOCKETS_H

#include <errno.h>
#include <stdbool.h>

#include "qapi/error.h"
#include "qapi/qapi-types.h"

/* Parses the string form.  Returns NULL with errp set on a syntax
 * error; nothing is resolved yet. */
SocketAddress *socket_parse(const char *str, Error **errp);

/* The string form of @addr, which socket_parse() reads back (except for
 * abstract Unix sockets, shown as "unix:@NAME" as ss(8) does). */
char *socket_address_to_string(const SocketAddress *addr);

/*
 * A listening socket.  Unix: a socket file left behind by a process
 * that is gone is replaced (one that still accepts connections is not).
 * Inet: the first address of the host that works is used; with "to",
 * the first free port from PORT to "to".  An IPv6 socket also accepts
 * IPv4 unless ipv4 or ipv6 restricts the families (as in QEMU).
 */
int socket_listen(const SocketAddress *addr, int backlog, Error **errp);

/* A connected socket; blocks until connected or refused. */
int socket_connect(const SocketAddress *addr, Error **errp);
/* The same, giving up after @timeout_ms (ETIMEDOUT; < 0: never) on a
 * TCP peer that does not answer: dropped SYNs would otherwise hold the
 * caller for the kernel's retries, about two minutes.  (A Unix socket
 * connects or fails at once.) */
int socket_connect_within(const SocketAddress *addr, int timeout_ms,
                          Error **errp);

/* accept(), retried on EINTR.  On failure errno is kept, so that a
 * caller with a non-blocking @listen_fd can tell EAGAIN apart. */
int socket_accept(int listen_fd, Error **errp);

/* The address @fd is bound to, numeric: tells the port picked for port
 * 0, for example. */
SocketAddress *socket_local_address(int fd, Error **errp);

/* Sets or clears O_NONBLOCK; false (with errno set) on failure. */
bool socket_set_nonblock(int fd, bool on);

/* Allows MSG_ZEROCOPY sends on @fd (SO_ZEROCOPY); false (with errno set)
 * where the kernel or the socket's family refuses it: EOPNOTSUPP for a
 * Unix socket, ENOPROTOOPT for a kernel without it. */
bool socket_set_zero_copy(int fd);

/*
 * Makes a TCP connection give up on a peer that has been silent, or
 * has left data unacknowledged, for about @seconds (>= 1): keepalive
 * probes start after a third of it and declare the peer dead after
 * about two thirds, TCP_USER_TIMEOUT ends the connection after all of
 * it.  A descriptor that is not a TCP socket (a Unix socket, a pipe, a
 * file) is left alone.  False, with errno set, if a setting is refused.
 */
bool socket_set_liveness(int fd, unsigned seconds);

/*
 * Looks up the descriptor stored under @name and hands it over to the
 * caller.  Returns -1 with errp set (naming @name) if there is none.
 */
typedef int SocketFdResolver(const char *name, Error **errp);

/* Installed once by the monitor; NULL removes it. */
void socket_set_fd_resolver(SocketFdResolver *resolver);

/* The descriptor of an fd: address NAME (a getfd name, or a number:
 * then never one of vmig's own, see socket_fd_set_private()), checked
 * to be a socket and made close-on-exec; the caller owns it. */
int socket_get_fd(const char *name, Error **errp);

/*
 * vmig's own sockets (monitor connections, listening sockets): marked
 * while open, so that a descriptor number given by a client ("fd:5")
 * never hands one of them to a migration.  Any thread.  Unmark before
 * closing, since the number may be reused at once.
 */
void socket_fd_set_private(int fd, bool private_fd);

/*
 * A listener whose accept() fails for want of descriptors (EMFILE,
 * ENFILE) stops watching its socket for this long, instead of being
 * woken again at once by the same pending client: a spin.
 */
#define SOCKET_ACCEPT_BACKOFF_MS 100
/* Whether accept()'s @err_no means "no descriptor left" (back off). */
static inline bool socket_accept_out_of_fds(int err_no)
{
    return err_no == EMFILE || err_no == ENFILE;
}

#endif
