/*
 * A MigStream over one end of a socket pair, for the check-based tests
 * that drive a stream against a peer they read or write by hand.
 */
#ifndef VMIG_TESTS_STREAM_PAIR_H
#define VMIG_TESTS_STREAM_PAIR_H

#include <check.h>
#include <sys/socket.h>

#include "io/channel-socket.h"
#include "migration/transport/stream.h"
#include "qapi/error.h"

/* The stream is named "test:pair"; *@peer is the other end's fd. */
static inline MigStream *stream_pair(int *peer)
{
    int sv[2];
    g_autoptr(QIOChannel) ioc = NULL;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ioc = qio_channel_socket_new_fd(sv[0], "test:pair", &error_abort);
    *peer = sv[1];
    return mig_stream_new(ioc, &error_abort);
}

#endif
