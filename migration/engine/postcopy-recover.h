/*
 * Postcopy recovery, the source's pieces that need no connection
 * (protocol section 6.12): the destination's RECEIVED_BITMAP turned
 * into pages to send again, and release-ram deferred until the
 * destination has confirmed the pages it frees.
 *
 * Why the deferral: a page written to a link that then breaks may never
 * have arrived.  Released at once, the source would hold zeroes for it
 * and the recovery would send those.  The destination answers each PING
 * after every record written before it (one reader, in order), so a
 * PONG for PING n confirms every page whose record was whole before
 * PING n was written: only those are given back.
 */
#ifndef VMIG_MIGRATION_ENGINE_POSTCOPY_RECOVER_H
#define VMIG_MIGRATION_ENGINE_POSTCOPY_RECOVER_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "migration/ram/dirty-bitmap.h"
#include "migration/ram/ram.h"
#include "migration/wire/wire.h"
#include "qapi/error.h"

/*
 * One RECEIVED_BITMAP @rb against the blocks @blocks (RAMBlock *, HELLO
 * order; NULL: not sent): the block must be sent, the page size the
 * guest's, the range within the block.  Every page whose bit is clear
 * becomes dirty in @bitmap again; *@covered gets the bits of @rb.
 * Returns the pages made dirty, or -1 with @errp set.
 */
int64_t postcopy_apply_received(DirtyBitmap *bitmap, GPtrArray *blocks,
                                const WireReceivedBitmap *rb,
                                Error **errp);

/* release-ram's pages sent but not confirmed yet (migration thread). */
typedef struct PostcopyRelease PostcopyRelease;

PostcopyRelease *postcopy_release_new(void);
void postcopy_release_free(PostcopyRelease *r);
/* @batch went out whole before PING @ping was written. */
void postcopy_release_sent(PostcopyRelease *r, const RamPageBatch *batch,
                           uint64_t ping);
/* PONG @pong arrived: gives back the pages it confirms; returns how
 * many. */
uint64_t postcopy_release_confirmed(PostcopyRelease *r, uint64_t pong);
/* After a resume: the pages the destination reported received (not
 * dirty in @bitmap) are given back, the others forgotten (they are
 * dirty, so they go again).  Returns the pages given back. */
uint64_t postcopy_release_resumed(PostcopyRelease *r, DirtyBitmap *bitmap);
/* Pages waiting for a confirmation. */
uint64_t postcopy_release_waiting(const PostcopyRelease *r);

#endif
