/*
 * A QIOChannel to a command: the "exec:" transport.  The command's
 * standard input and output are one end of a socket pair, the channel
 * the other, so it is bidirectional and can be half-closed
 * (qio_channel_shutdown(WRITE) gives the command end of input while its
 * output is still read).  Its standard error is vmig's.
 *
 * Closing the channel ends the command's input and reaps it; a
 * non-zero exit status or a death by signal is the close error.
 */
#ifndef VMIG_IO_CHANNEL_COMMAND_H
#define VMIG_IO_CHANNEL_COMMAND_H

#include <sys/types.h>

#include "io/channel.h"

/* How long close waits for the command to exit before killing it. */
#define QIO_CHANNEL_COMMAND_EXIT_TIMEOUT_MS 10000

/*
 * Runs @argv (NULL-terminated; argv[0] is searched in PATH) with every
 * signal at its default disposition and none blocked.  @name NULL:
 * "exec:" and the command: the arguments joined by spaces, or CMD for
 * ["/bin/sh", "-c", CMD] (also how errors show it).  Fails if the
 * program cannot be started.
 */
QIOChannel *qio_channel_command_new(const char *const *argv,
                                    const char *name, Error **errp);

/* Runs "/bin/sh -c @cmdline"; named "exec:@cmdline". */
QIOChannel *qio_channel_command_new_shell(const char *cmdline,
                                          Error **errp);

bool qio_channel_is_command(const QIOChannel *ioc);

/* The command's process id; -1 once reaped.  @ioc must be a command
 * channel. */
pid_t qio_channel_command_get_pid(QIOChannel *ioc);

/* Changes QIO_CHANNEL_COMMAND_EXIT_TIMEOUT_MS for this channel. */
void qio_channel_command_set_exit_timeout(QIOChannel *ioc,
                                          unsigned timeout_ms);

#endif
