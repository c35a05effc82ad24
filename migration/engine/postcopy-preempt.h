/*
 * The postcopy preempt channel (protocol sections 2, 5.2 and 6.9): with
 * postcopy-preempt, the pages the destination asks for travel on an
 * extra connection of their own, so that a fault never waits behind
 * background records queued on the main channel.
 *
 *   source                                  destination
 *   preempt_send_open() after ACCEPT        preempt_recv_new() before
 *     (CHANNEL_HEADER role POSTCOPY_PREEMPT)  ACCEPT; the router binds the
 *                                             channel: _add_channel()
 *   switch: preempt_send_start(): a thread  LISTEN: preempt_recv_listen():
 *     serving the PAGE_REQUEST queue, its     its thread places pages
 *     pages taken from the RAM saver under    (postcopy_dest_load_channel)
 *     the lock the migration thread takes
 *   every page sent: _stop(), _end(): END   END on main: _wait_end()
 *   paused: _free(); resume: _open(),       paused: _detach(); resume's
 *     _start() again                          ACCEPT: _resume(), a new
 *                                             channel binds
 *
 * The channel is opened whenever the option is on, and ended with END
 * at the end of a precopy too: whether postcopy starts is decided later.
 */
#ifndef VMIG_MIGRATION_ENGINE_POSTCOPY_PREEMPT_H
#define VMIG_MIGRATION_ENGINE_POSTCOPY_PREEMPT_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "migration/config.h"
#include "migration/engine/postcopy.h"
#include "migration/ram/postcopy-ram.h"
#include "migration/ram/ram.h"
#include "migration/transport/stream.h"
#include "migration/transport/tls.h"
#include "qapi/error.h"

/* ---- Source ---- */

typedef struct PreemptSend PreemptSend;

/*
 * Opens the preempt channel of session @session_id to @addr (blocking:
 * the migration thread), with a TLS session of its own if @tls, and
 * @cfg's liveness and checksums.
 */
PreemptSend *preempt_send_open(const MigrationAddress *addr,
                               const MigrationConfig *cfg, MigTls *tls,
                               const uint8_t *session_id, Error **errp);
/* Called by the preempt thread with each batch it has sent (for
 * release-ram). */
typedef void PreemptSentFunc(void *opaque, const RamPageBatch *batch);

/*
 * Postcopy has started: a thread takes each request of @q, the pages
 * of it still dirty in @rs (under @pages_lock, which whoever else takes
 * pages from @rs holds too), sends them on the channel and tells
 * @sent(@opaque).  Its failure kicks @q and wakes @main, so the
 * migration thread stops.
 */
bool preempt_send_start(PreemptSend *p, PostcopyRequests *q, RamSaver *rs,
                        GMutex *pages_lock, PreemptSentFunc *sent,
                        void *opaque, MigStream *main, Error **errp);
/* Ends the thread (after the page it is sending); false with @errp set
 * if it failed.  Then END on the channel: nothing more comes on it. */
bool preempt_send_finish(PreemptSend *p, Error **errp);
/* Any thread: every wait of the channel fails now. */
void preempt_send_wake(PreemptSend *p);
/* Any thread: the thread's failure, if any (a copy). */
Error *preempt_send_error(PreemptSend *p);
/* Any thread: pages and bytes sent on the channel. */
uint64_t preempt_send_pages(PreemptSend *p);
uint64_t preempt_send_bytes(PreemptSend *p);
/* Wakes and joins the thread, closes the channel; NULL is ignored. */
void preempt_send_free(PreemptSend *p);

/* ---- Destination ---- */

typedef struct PreemptRecv PreemptRecv;

/*
 * The receiving side of a session with @effective's liveness and
 * checksums, placing into @blocks (HELLO order).  A failure wakes
 * @main so that the incoming thread stops too.
 */
PreemptRecv *preempt_recv_new(const MigrationConfig *effective,
                              GPtrArray *blocks, MigStream *main);
/* Main thread: the channel bound (by the session) as @stream (taken);
 * its thread starts. */
void preempt_recv_add_channel(PreemptRecv *r, MigStream *stream);
/* Any thread: the session fails with @err (taken). */
void preempt_recv_fail(PreemptRecv *r, Error *err);
/* Waits until the channel has bound (false, @errp set: @deadline,
 * failure). */
bool preempt_recv_wait_bound(PreemptRecv *r, gint64 deadline,
                             Error **errp);
/*
 * POSTCOPY_LISTEN: _begin() as it is read, before the fault thread can
 * ask for a page; from preempt_recv_listen() on, pages are placed
 * through @pd (borrowed until preempt_recv_stop()).  A page arriving in
 * between waits for it; one arriving before _begin() is refused.
 */
void preempt_recv_listen_begin(PreemptRecv *r);
void preempt_recv_listen(PreemptRecv *r, PostcopyDest *pd);
/* END on main: waits until the channel has read END (within
 * liveness-timeout). */
bool preempt_recv_wait_end(PreemptRecv *r, Error **errp);
/* The channel's failure, if any (a copy). */
Error *preempt_recv_error(PreemptRecv *r);
/* Ends and joins the thread: @pd is no longer used; a channel bound
 * later is closed at once. */
void preempt_recv_stop(PreemptRecv *r);
/*
 * The postcopy paused (protocol section 6.12): the thread ended, the
 * channel closed, @main forgotten (a failure wakes nothing).  Call
 * after the last use of the PostcopyDest, as _stop().
 */
void preempt_recv_detach(PreemptRecv *r);
/*
 * Main thread, a resuming source accepted: a new channel may bind (its
 * packet numbers from 0), its pages placed through @pd at once; a
 * failure wakes @main, the new connection's main channel.
 */
void preempt_recv_resume(PreemptRecv *r, MigStream *main, PostcopyDest *pd);
/* Pages placed from the channel (zero and normal added), its bytes
 * (those of the channels before a pause included). */
void preempt_recv_pages(PreemptRecv *r, uint64_t *zero, uint64_t *normal);
uint64_t preempt_recv_bytes(PreemptRecv *r);
/* Stops and frees; NULL is ignored. */
void preempt_recv_free(PreemptRecv *r);

#endif
