/*
 * The writing side of record checksums (docs/devel/migration-protocol.md,
 * "Checksums"), for MigStream: records go in as the encoders made them
 * and come out with their CRC32C.
 *
 * Why in the stream rather than in each encoder: every record a source
 * sends after HELLO is covered, including record types added later,
 * and the CRC is computed by whichever thread writes the channel (a
 * multifd channel's own thread).  The writer keeps its place across
 * calls, since a record may be written in several.
 *
 * Why a copy: pages go out from guest memory, which a running guest
 * may write while they are sent.  The CRC is computed over the copy that
 * is sent, so it matches what arrives (a page changed meanwhile is dirty
 * and is sent again).  Copy and CRC are one pass (crc32c_copy()), and
 * the stream sends the copy in pieces small enough to stay in the CPU's
 * cache until the kernel copies them into the socket.
 */
#ifndef VMIG_MIGRATION_STREAM_CHECKSUM_H
#define VMIG_MIGRATION_STREAM_CHECKSUM_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

typedef struct ChecksumWriter {
    uint8_t header[8];
    size_t header_have;     /* bytes of the next record's header seen */
    uint32_t body_left;     /* body bytes of the current record to come */
    uint32_t pad_left;      /* its old padding, dropped */
    uint32_t crc;           /* of the new header and the body so far */
} ChecksumWriter;

/*
 * Appends to @out what to send for the bytes of @iov, which continue
 * whole records (or stop anywhere inside one, to be continued by the
 * next call): the same records, each body grown by its CRC.
 */
void checksum_writer_feed(ChecksumWriter *w, const struct iovec *iov,
                          size_t niov, GByteArray *out);

#endif
