/*
 * The source's side of postcopy (protocol sections 6.9 and 6.11): the
 * page requests the return path reads, checked and queued for the
 * migration thread, which sends them ahead of the background stream;
 * and the POSTCOPY_DISCARD records that tell the destination which
 * pages to drop at the switch.  The migration thread's phase itself
 * lives in outgoing.c with the rest of the source.
 */
#ifndef VMIG_MIGRATION_ENGINE_POSTCOPY_H
#define VMIG_MIGRATION_ENGINE_POSTCOPY_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "migration/ram/dirty-bitmap.h"
#include "migration/wire/wire.h"
#include "qapi/error.h"

/*
 * Requests waiting for the migration thread, at most.  A destination
 * has one fault in flight per waiting thread and asks once per page:
 * more than this is a peer flooding us (ProtocolError).
 */
#define POSTCOPY_REQUESTS_MAX 4096u

typedef struct PostcopyRequests PostcopyRequests;

/* For the guest's RAM blocks @blocks (RAMBlock *, HELLO order; borrowed). */
PostcopyRequests *postcopy_requests_new(GPtrArray *blocks);
void postcopy_requests_free(PostcopyRequests *q);

/*
 * The return path: checks PAGE_REQUEST @req against the layout (block,
 * range within it, whole pages, at most WIRE_RAM_PAGES_MAX of them) and
 * queues it; false with @errp set for a bad request or a full queue.
 * Counts it for postcopy-requests.  Any thread.
 */
bool postcopy_requests_push(PostcopyRequests *q, const WirePageRequest *req,
                            Error **errp);
/* The oldest queued request, if any (any thread). */
bool postcopy_requests_pop(PostcopyRequests *q, WirePageRequest *out);
/*
 * Waits until a request is queued, postcopy_requests_kick() is called,
 * or @until (monotonic µs) passes; true if a request is queued.
 */
bool postcopy_requests_wait(PostcopyRequests *q, gint64 until);
/*
 * Waits until postcopy_requests_kick() is called or @until passes,
 * whatever is queued: the migration thread's pause for
 * max-postcopy-bandwidth when the preempt channel's thread serves the
 * requests.
 */
void postcopy_requests_sleep(PostcopyRequests *q, gint64 until);
/* Ends the postcopy_requests_wait() or _sleep() in progress, or the
 * next one (cancel, failure, migrate-pause, the preempt thread's end). */
void postcopy_requests_kick(PostcopyRequests *q);
/* Requests received so far. */
uint64_t postcopy_requests_total(PostcopyRequests *q);

/*
 * Appends to @out the POSTCOPY_DISCARD records of every dirty page in
 * @bitmap, for the blocks @blocks (HELLO order), adjacent pages merged
 * into ranges.  Huge pages go whole: a dirty piece makes every piece of
 * its huge page dirty in @bitmap.  Returns the dirty pages listed.
 */
uint64_t postcopy_discard_records(DirtyBitmap *bitmap, GPtrArray *blocks,
                                  GByteArray *out);

#endif
