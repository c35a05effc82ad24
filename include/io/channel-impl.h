/*
 * For implementers of QIOChannel (io/channel-*.c, and later TLS and
 * compression channels wrapping another one).  Users only need
 * io/channel.h.
 *
 * An implementation embeds QIOChannel as the first member of its own
 * struct, allocates the whole with g_new0(), calls qio_channel_init()
 * and returns &x->parent.  The core frees the struct after
 * klass->finalize.
 */
#ifndef VMIG_IO_CHANNEL_IMPL_H
#define VMIG_IO_CHANNEL_IMPL_H

#include "io/channel.h"

typedef struct QIOChannelClass {
    const char *kind;           /* "socket", "file", ... */

    /* Partial I/O as documented for qio_channel_readv(); the core has
     * checked that the channel is open and niov <= IOV_MAX. */
    ssize_t (*readv)(QIOChannel *ioc, const struct iovec *iov, size_t niov,
                     Error **errp);
    ssize_t (*writev)(QIOChannel *ioc, const struct iovec *iov,
                      size_t niov, Error **errp);
    bool (*set_blocking)(QIOChannel *ioc, bool blocking, Error **errp);
    /* NULL: shutdown is not supported. */
    bool (*shutdown)(QIOChannel *ioc, QIOChannelShutdown how,
                     Error **errp);
    /* Called once; the channel counts as closed whatever it returns. */
    bool (*close)(QIOChannel *ioc, Error **errp);
    /* The descriptor to poll, -1 if none. */
    int (*get_fd)(QIOChannel *ioc);
    /* NULL: a watch on get_fd() (qio_channel_fd_watch_new()).  A wrapper
     * whose readiness differs from its fd's (TLS with buffered data)
     * provides its own. */
    GSource *(*create_watch)(QIOChannel *ioc, GIOCondition cond);
    /* Zero-copy send (io/channel.h); NULL: not supported.  The core
     * checks that it was enabled and counts the sends.
     * enable_zero_copy is called once.  zero_copy_reap reads what
     * completions have arrived without blocking and reports them with
     * qio_channel_zero_copy_completed(). */
    bool (*enable_zero_copy)(QIOChannel *ioc, Error **errp);
    ssize_t (*writev_zero_copy)(QIOChannel *ioc, const struct iovec *iov,
                                size_t niov, Error **errp);
    bool (*zero_copy_reap)(QIOChannel *ioc, Error **errp);
    /* Frees the implementation's members; called after close.  May be
     * NULL. */
    void (*finalize)(QIOChannel *ioc);
} QIOChannelClass;

struct QIOChannel {
    const QIOChannelClass *klass;
    gint refcount;
    char *name;
    bool closed;
    bool zero_copy;                 /* enable_zero_copy succeeded */
    QIOChannelZeroCopyStats zc;     /* atomic: see io/channel.h */
};

/* Sets up @ioc with one reference. */
void qio_channel_init(QIOChannel *ioc, const QIOChannelClass *klass,
                      const char *name);

/* @n more zero-copy sends completed, all copied by the kernel if
 * @copied. */
void qio_channel_zero_copy_completed(QIOChannel *ioc, uint64_t n,
                                     bool copied);

/* A watch on @fd standing for @ioc (reference taken), firing on @cond,
 * hang-up and error. */
GSource *qio_channel_fd_watch_new(QIOChannel *ioc, int fd,
                                  GIOCondition cond);

#endif
