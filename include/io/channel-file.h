/*
 * A QIOChannel over a file: the "file:PATH[,offset=N]" transport, which
 * saves the stream to a file or loads it from one, starting at a byte
 * offset (so a header written by someone else can come first).
 *
 * Named "file:PATH", with ",offset=N" when N is not 0.
 */
#ifndef VMIG_IO_CHANNEL_FILE_H
#define VMIG_IO_CHANNEL_FILE_H

#include <stdint.h>

#include "io/channel.h"

/*
 * For saving.  Creates @path if needed (mode 0600: the stream holds
 * guest memory).  Everything before @offset is kept; the stream
 * replaces the rest, so with @offset 0 the file is truncated.  A
 * non-seekable file (FIFO, character device) works only with @offset 0.
 */
QIOChannel *qio_channel_file_open_write(const char *path, uint64_t offset,
                                        Error **errp);

/* For loading, from @offset.  An offset beyond the end of a regular
 * file is an error. */
QIOChannel *qio_channel_file_open_read(const char *path, uint64_t offset,
                                       Error **errp);

/* Wraps an open descriptor (a pipe, a file), which the channel then
 * owns.  @name NULL: "file". */
QIOChannel *qio_channel_file_new_fd(int fd, const char *name);

#endif
