/*
 * A migration channel as the engine uses it: whole records of the v2
 * stream (include/migration/wire.h) in and out of a QIOChannel, with an
 * optional deadline on every wait and a wake-up that interrupts them.
 *
 * Why not the plain QIOChannel calls: the engine's threads must never be
 * stuck in a read or write that nobody can interrupt.  A cancel, a
 * failure seen by another thread or vmig quitting calls mig_stream_wake()
 * from any thread; every wait in progress or to come then fails at once
 * with MIG_STREAM_WOKEN.  The channel is put in non-blocking mode and
 * each wait polls it together with an eventfd.
 *
 * Reading: mig_stream_read_record() returns one whole record whose body
 * points into the stream's buffer; it stays valid until the next read.
 * The stream header is checked byte by byte as it arrives, so garbage
 * fails at once.  End of stream between records is MIG_STREAM_EOF;
 * inside a record it is an error that says where it stopped ("EOF after
 * 100 of 4104 bytes of a RAM_PAGES record").
 *
 * Threads: one thread may read while another writes; wake from any.
 */
#ifndef VMIG_MIGRATION_STREAM_H
#define VMIG_MIGRATION_STREAM_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "io/channel.h"
#include "migration/wire/wire.h"
#include "qapi/error.h"

typedef struct MigStream MigStream;

typedef enum MigStreamResult {
    MIG_STREAM_OK,
    MIG_STREAM_EOF,         /* reads: clean end between records */
    MIG_STREAM_ERROR,       /* errp set */
    MIG_STREAM_TIMEOUT,     /* errp set: the deadline passed */
    MIG_STREAM_WOKEN,       /* errp set: mig_stream_wake() was called */
} MigStreamResult;

/* Takes a reference to @ioc and makes it non-blocking. */
MigStream *mig_stream_new(QIOChannel *ioc, Error **errp);
/* Drops the reference (closing the channel if it was the last one). */
void mig_stream_free(MigStream *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MigStream, mig_stream_free)

QIOChannel *mig_stream_channel(MigStream *s);
const char *mig_stream_name(MigStream *s);

/* Any thread: interrupts every wait, now and later, of this stream. */
void mig_stream_wake(MigStream *s);
bool mig_stream_is_woken(MigStream *s);

/*
 * Deadlines are g_get_monotonic_time() values (microseconds); 0 means
 * none.  MIG_DEADLINE_NOW has long passed: a read takes what has
 * arrived, and where that is not enough returns MIG_STREAM_TIMEOUT with
 * the bytes kept for the next call (the router reads strangers this way
 * from the main loop).
 */
#define MIG_DEADLINE_NOW 1
/* The handshake timeout in ms: WIRE_HANDSHAKE_TIMEOUT_MS, or for tests
 * VMIG_TEST_HANDSHAKE_TIMEOUT_MS.  A listener's strangers have
 * accept-timeout instead (router.h). */
unsigned mig_handshake_timeout_ms(void);

static inline gint64 mig_deadline_after_ms(guint64 ms)
{
    return g_get_monotonic_time() + (gint64)ms * 1000;
}

/*
 * Writes all of @buf, which must be whole records (or the stream
 * header): a write cut short leaves the stream "torn", after which
 * nothing more may be sent.
 */
MigStreamResult mig_stream_write(MigStream *s, const void *buf, size_t len,
                                 gint64 deadline, Error **errp);
/*
 * mig_stream_write() of the concatenation of @iov: the same deadline,
 * wake-up and torn semantics, and the same byte count.  The buffers are
 * read by the kernel during the call only.
 */
MigStreamResult mig_stream_writev(MigStream *s, const struct iovec *iov,
                                  size_t niov, gint64 deadline,
                                  Error **errp);
/*
 * Zero-copy send (io/channel.h explains MSG_ZEROCOPY), for the multifd
 * sender threads with zero-copy-send.
 *
 * mig_stream_enable_zerocopy() fails, naming the channel, where the
 * channel cannot (not a TCP socket, or the kernel lacks SO_ZEROCOPY:
 * migration_host_support() tells beforehand).  Once enabled, the other
 * writes and the reads work as before.
 *
 * mig_stream_writev_zerocopy() is mig_stream_writev() (deadline,
 * wake-up, torn stream, byte count) except that the kernel may still
 * read the buffers after it returned.  The caller must not change,
 * reuse or free them until a mig_stream_flush_zerocopy() that returned
 * MIG_STREAM_OK; after any other result the stream is to be abandoned,
 * and the buffers' later contents may or may not be what went out.
 * When the kernel has no room for more uncompleted sends (ENOBUFS) the
 * call waits for all earlier ones itself, within the same deadline, and
 * sends on.
 *
 * mig_stream_flush_zerocopy() waits until every zero-copy send of the
 * stream so far has completed.  Like every wait it fails with
 * MIG_STREAM_WOKEN once the stream was woken (even with nothing left
 * outstanding) and MIG_STREAM_TIMEOUT at @deadline; a reset connection,
 * whose sends never complete, is MIG_STREAM_ERROR.
 *
 * How many sends there were, and how many the kernel copied after all:
 * qio_channel_zero_copy_stats(mig_stream_channel(s), ...).
 */
bool mig_stream_enable_zerocopy(MigStream *s, Error **errp);
MigStreamResult mig_stream_writev_zerocopy(MigStream *s,
                                           const struct iovec *iov,
                                           size_t niov, gint64 deadline,
                                           Error **errp);
MigStreamResult mig_stream_flush_zerocopy(MigStream *s, gint64 deadline,
                                          Error **errp);

/*
 * For a last record (ERROR) after the stream was woken: ignores the
 * wake-up, not the deadline, and sends nothing if the stream is torn.
 */
MigStreamResult mig_stream_write_last(MigStream *s, const void *buf,
                                      size_t len, gint64 deadline,
                                      Error **errp);
bool mig_stream_is_torn(MigStream *s);

/*
 * For a heartbeat record (PING) from a thread other than the writer's:
 * writes @buf (one whole record of at most MIG_STREAM_ASIDE_MAX bytes)
 * now if no write is in progress; else the write in progress sends it
 * right after its own records (or, if that write was just finishing,
 * the next write or call does).  A record not sent yet is replaced by
 * the next one.  Every write holds a lock, so records of two threads
 * never mix.
 */
#define MIG_STREAM_ASIDE_MAX 16
MigStreamResult mig_stream_write_between(MigStream *s, const void *buf,
                                         size_t len, gint64 deadline,
                                         Error **errp);

/*
 * The TCP keepalive and user timeout of liveness-timeout @seconds
 * (socket_set_liveness()) on the channel's socket; nothing on other
 * channels.
 */
bool mig_stream_set_liveness(MigStream *s, unsigned seconds, Error **errp);

/* The peer's stream header; EOF if it sent nothing at all. */
MigStreamResult mig_stream_read_header(MigStream *s, gint64 deadline,
                                       Error **errp);
/* After mig_stream_read_header() failed: whether the peer started a
 * TLS handshake instead (reader's thread, before any other read). */
bool mig_stream_peer_started_tls(MigStream *s);
/*
 * The next whole record (padding checked).  @rec->body is valid until
 * the next read.
 */
MigStreamResult mig_stream_read_record(MigStream *s, WireRecord *rec,
                                       gint64 deadline, Error **errp);

/*
 * Reading a record in parts, so that its data can go straight to where
 * it belongs (RAM_PAGES into guest memory):
 *
 * mig_stream_read_record_header() is mig_stream_read_record() up to the
 * record's 8-byte header: @rec has the type, the length and the size,
 * body NULL.  Then either mig_stream_read_record() returns that same
 * record whole, or:
 *
 * mig_stream_read_record_prefix() buffers the first @n (<= rec->len)
 * body bytes and points rec->body at them (valid until the next call);
 * it may be called again with a larger @n.
 *
 * mig_stream_read_record_into() then reads the rest of the body after
 * its first @skip bytes (buffered by _prefix()) into @iov, whose lengths
 * must add up to rec->len - @skip, and checks the padding: the record
 * is done.  Bytes already buffered are copied, the others read there
 * directly.  End of stream anywhere in the record is an error as in
 * mig_stream_read_record(); on any failure @iov may be partly written.
 */
MigStreamResult mig_stream_read_record_header(MigStream *s, WireRecord *rec,
                                              gint64 deadline, Error **errp);
MigStreamResult mig_stream_read_record_prefix(MigStream *s, WireRecord *rec,
                                              size_t n, gint64 deadline,
                                              Error **errp);
MigStreamResult mig_stream_read_record_into(MigStream *s, WireRecord *rec,
                                            size_t skip,
                                            const struct iovec *iov,
                                            size_t niov, gint64 deadline,
                                            Error **errp);

/*
 * Record checksums (docs/devel/migration-protocol.md, "Checksums"), for
 * the records after HELLO when the configuration says "crc32c".
 *
 * mig_stream_checksum_writes(): every record written from now on goes
 * out with its CRC32C (callers write records as before), computed by
 * the writing thread over a copy of the bytes (stream-checksum.h says
 * why), so a zero-copy write is then an ordinary one.
 *
 * mig_stream_checksum_reads(): every record read from now on must carry
 * one.  The readers check it before they return the record, with the
 * CRC taken off rec->len; a record read in parts is checked by
 * mig_stream_read_record_into(), after its data went in place (the CRC
 * taken piece by piece as the reads land, while in the cache).  A
 * mismatch is an error naming the record and its offset.
 *
 * Each is called once, between records, by the thread that writes
 * (reads) the stream.
 */
void mig_stream_checksum_writes(MigStream *s);
void mig_stream_checksum_reads(MigStream *s);
/*
 * A checksummed write copies (with the CRCs) and sends this many input
 * bytes at a time: the copy is still in the CPU's cache when the kernel
 * reads it, so copying costs one read of guest memory, as sending
 * straight from it does.  A write that fails after some of its batches
 * went out leaves the stream torn.
 */
#define MIG_STREAM_CHECKSUM_BATCH (256 * 1024)

/* Sleeps until @until unless woken; false if woken. */
bool mig_stream_sleep_until(MigStream *s, gint64 until);

/* Bytes moved so far (any thread). */
uint64_t mig_stream_bytes_written(MigStream *s);
uint64_t mig_stream_bytes_read(MigStream *s);

/*
 * Reading a seekable stream (a file) out of order, as mapped-ram does:
 * mig_stream_read_offset() is where the next record starts, in bytes
 * from the start of the stream; mig_stream_seek_read() drops what is
 * buffered and goes on reading at stream offset @offset, the stream
 * starting at file offset @base.
 */
uint64_t mig_stream_read_offset(MigStream *s);
bool mig_stream_seek_read(MigStream *s, uint64_t offset, uint64_t base,
                          Error **errp);

/* Closes the channel, reporting a close error (a command's exit status,
 * a file's failed flush).  Only when no other thread uses the stream. */
bool mig_stream_close(MigStream *s, Error **errp);
/*
 * Closes @s after the failure *@err: what closing reports (an exec:
 * command's exit status, say) often explains it, so it is added to
 * *@err ("failure (what closing said)"), or becomes it if *@err is NULL.
 */
void mig_stream_close_after_failure(MigStream *s, Error **err);

#endif
