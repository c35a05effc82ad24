/*
 * Multifd: guest RAM over several channels in parallel (internal to the
 * engine; docs/devel/migration-engine.md, "Multifd").
 *
 * The source's migration thread walks the dirty bitmap and hands batches
 * of pages (their dirty bits already cleared) to the first idle channel;
 * each channel's thread looks for zero pages (zero-page-detection
 * "multifd"), compresses (multifd-compression) and writes RAM_PAGES on
 * its own connection.  Every pass ends with SYNC on every channel: the
 * destination's receivers wait at a SYNC until all of them have reached
 * it, so a page sent again in a later pass, maybe on another channel,
 * always lands after its older copy.
 *
 * The channels open after ACCEPT and introduce themselves with
 * CHANNEL_HEADER (session id, role, index): the destination binds them
 * by that, in whatever order they connect (protocol section 5.2).
 */
#ifndef VMIG_MIGRATION_MULTIFD_H
#define VMIG_MIGRATION_MULTIFD_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "io/channel.h"
#include "migration/config.h"
#include "migration/ram/ram.h"
#include "migration/transport/stream.h"
#include "migration/transport/tls.h"
#include "migration/wire/wire.h"
#include "qapi/error.h"
#include "qapi/qapi-types.h"

/* Pages per multifd packet: 1 MiB of data, big enough for few system
 * calls and a good compression ratio, small enough to keep every
 * channel busy in a short pass. */
#define MULTIFD_BATCH_PAGES 256

/* What the multifd channels carried, for query-migrate's "multifd". */
typedef struct MigMultifdStats {
    unsigned channels;
    uint64_t bytes[MIGRATION_MULTIFD_CHANNELS_MAX];     /* per channel */
    uint64_t packets;
    bool compression;
    uint64_t uncompressed_bytes;
    uint64_t compressed_bytes;
} MigMultifdStats;

/* ---- Source ---- */

typedef struct MultifdSend MultifdSend;

/*
 * Opens cfg's multifd-channels connections to @addr (blocking: from the
 * migration thread; a few at once, each in a thread of its own), each
 * with a TLS session of its own if @tls (NULL: plaintext), introduces
 * each with CHANNEL_HEADER for @session_id and starts their threads.
 * Pages are counted in @rs.
 */
MultifdSend *multifd_send_new(const MigrationAddress *addr,
                              const MigrationConfig *cfg, MigTls *tls,
                              const uint8_t *session_id, RamSaver *rs,
                              Error **errp);
/*
 * mapped-ram with multifd: cfg's multifd-channels threads writing pages
 * into @file (borrowed), no connections.
 */
typedef struct MappedRamWriter MappedRamWriter;
MultifdSend *multifd_send_new_mapped(const MigrationConfig *cfg,
                                     RamSaver *rs, MappedRamWriter *file,
                                     Error **errp);
/*
 * Hands *@batch to the next idle channel, waiting for one, and gives
 * back an empty batch in its place.  False (errp set) once a channel
 * failed or multifd_send_wake() was called.
 */
bool multifd_send_batch(MultifdSend *m, RamPageBatch **batch, Error **errp);
/* SYNC @iteration on every channel, after everything handed over. */
bool multifd_send_sync(MultifdSend *m, uint64_t iteration, Error **errp);
/* END on every channel; the channels are done. */
bool multifd_send_end(MultifdSend *m, Error **errp);
/* Any thread: every wait of the channels and for them fails now. */
void multifd_send_wake(MultifdSend *m);
/* Bytes written on all channels so far (any thread). */
uint64_t multifd_send_bytes(MultifdSend *m);
void multifd_send_stats(MultifdSend *m, MigMultifdStats *st);
/* Wakes, joins and closes everything. */
void multifd_send_free(MultifdSend *m);

/* ---- Destination ---- */

typedef struct MultifdRecv MultifdRecv;

/*
 * The receiving side of a session with @effective's channels and
 * compression, loading into @blocks (HELLO order).  A failure of any
 * channel wakes @main so that the incoming thread stops too.
 */
MultifdRecv *multifd_recv_new(const MigrationConfig *effective,
                              GPtrArray *blocks, MigStream *main);
/*
 * Any thread: channel @index (checked by the session: in range, not
 * bound yet) arrived as @stream (taken); its receiver starts.
 */
void multifd_recv_add_channel(MultifdRecv *m, uint32_t index,
                              MigStream *stream);
/* Any thread: the session fails with @err (taken): every channel and
 * the main stream stop. */
void multifd_recv_fail(MultifdRecv *m, Error *err);
/* Waits until every channel has bound (false, errp set: deadline,
 * failure or wake). */
bool multifd_recv_wait_bound(MultifdRecv *m, gint64 deadline, Error **errp);
/* Waits until every channel has read END. */
bool multifd_recv_wait_end(MultifdRecv *m, Error **errp);
/* The first channel failure, if any (a copy). */
Error *multifd_recv_error(MultifdRecv *m);
void multifd_recv_wake(MultifdRecv *m);
uint64_t multifd_recv_bytes(MultifdRecv *m);
/* Adds the pages the channels loaded so far to *@zero and *@normal. */
void multifd_recv_pages(MultifdRecv *m, uint64_t *zero, uint64_t *normal);
void multifd_recv_stats(MultifdRecv *m, MigMultifdStats *st);
/* Wakes, joins and closes everything. */
void multifd_recv_free(MultifdRecv *m);

#endif
