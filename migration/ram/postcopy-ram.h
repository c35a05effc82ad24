/*
 * The destination's guest RAM during postcopy (protocol section 6.9):
 * dropping the pages the source still had dirty, catching the vCPUs'
 * faults on them with userfaultfd (MISSING), asking the source for each
 * through a callback, and placing the pages that come atomically
 * (UFFDIO_COPY, UFFDIO_ZEROPAGE), which wakes whoever waits for them.
 *
 * Which pages are missing: the source sends every page in its first
 * pass, so when postcopy starts the destination holds every page but
 * those POSTCOPY_DISCARD names.  Those are "pending" until a RAM_PAGES
 * record brings them.  A fault on a page that is not pending is on a
 * zero page the precopy loader left unallocated (it never writes a zero
 * page over untouched memory), and is served here with UFFDIO_ZEROPAGE
 * without asking anyone.
 *
 * Threads: the incoming thread discards, listens and places pages; the
 * fault thread (started by postcopy_dest_listen()) reads faults and
 * calls the request callback; query-migrate reads the figures from the
 * main thread.  Nothing here writes guest memory directly once
 * listening: a write by the incoming thread to a missing page would
 * wait for itself.
 *
 * Memory: anonymous private RAM (the machine's default), dropped with
 * MADV_DONTNEED, and shared memory (shared anonymous, memfd, a file on
 * tmpfs or hugetlbfs, share=on), dropped by punching a hole in its file
 * (the pages are then missing, not just unmapped); zeroes are copied
 * where UFFDIO_ZEROPAGE is not offered.  postcopy_dest_check_blocks()
 * says why another block cannot be.
 *
 * Huge pages are dropped, asked for and placed whole: POSTCOPY_DISCARD
 * must name whole huge pages, a fault asks for its whole huge page, and
 * the 4 KiB pages RAM_PAGES brings are gathered (postcopy-huge.h) until
 * the huge page is complete.  The pending bits of a huge page's 4 KiB
 * pages change together.
 */
#ifndef VMIG_MIGRATION_RAM_POSTCOPY_RAM_H
#define VMIG_MIGRATION_RAM_POSTCOPY_RAM_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "migration/ram/ram.h"
#include "qapi/error.h"
#include "qapi/qapi-types.h"

typedef struct PostcopyDest PostcopyDest;

/*
 * Asks the source for @length bytes at @offset of block @block (HELLO's
 * index); called by the fault thread, once per pending page.  False:
 * the request could not be sent (the migration is failing; the fault
 * thread stops asking).
 */
typedef bool PostcopyRequestFunc(void *opaque, uint32_t block,
                                 uint64_t offset, uint64_t length);

/* Whether every block of @blocks (HELLO order; NULL entries are not
 * sent) can be loaded in postcopy; else @errp names the first that
 * cannot and why. */
bool postcopy_dest_check_blocks(GPtrArray *blocks, Error **errp);

/*
 * For @blocks (borrowed, as the RAM loader's), counting the pages it
 * places in @rl's figures and checking records with it.  @blocktime:
 * measure the vCPUs' waits (postcopy-blocktime).
 */
PostcopyDest *postcopy_dest_new(RamLoader *rl, bool blocktime);

/* POSTCOPY_DISCARD @body: checked against the layout, then its pages
 * dropped and made pending. */
bool postcopy_dest_discard(PostcopyDest *pd, const uint8_t *body,
                           size_t len, Error **errp);

/* POSTCOPY_LISTEN: opens the userfaultfd, registers every block and
 * starts the fault thread, which asks through @fn(@opaque, ...). */
bool postcopy_dest_listen(PostcopyDest *pd, PostcopyRequestFunc *fn,
                          void *opaque, Error **errp);

/* A RAM_PAGES record during postcopy: checked (as the RAM loader
 * checks), then every page placed atomically. */
bool postcopy_dest_load(PostcopyDest *pd, const uint8_t *body, size_t len,
                        Error **errp);
/*
 * The same for a record of another channel (the preempt channel),
 * whose packet numbers and page counts are @rl's; any thread, while
 * listening (placing is atomic, so two channels may place at once).
 */
bool postcopy_dest_load_channel(PostcopyDest *pd, RamLoader *rl,
                                const uint8_t *body, size_t len,
                                Error **errp);

/* Pages still pending (0 once the source has sent everything). */
uint64_t postcopy_dest_pending(PostcopyDest *pd);
/* Pages asked for so far (any thread). */
uint64_t postcopy_dest_requests(PostcopyDest *pd);

/*
 * With blocktime: the time all vCPUs were waiting at once (ms), each
 * vCPU's (a new list, by vCPU index) and the faults' latency; false
 * without blocktime (any thread).
 */
bool postcopy_dest_blocktime(PostcopyDest *pd, uint64_t *total_ms,
                             uint64List **per_vcpu,
                             PostcopyFaultLatency **latency);

/*
 * Recovery (protocol section 6.12).  postcopy_dest_pause(): the link to
 * the source is gone; the fault thread goes on catching faults and
 * noting which pages were asked for, but sends nothing (it waits for a
 * request being sent to end first: wake the stream before).  The vCPUs
 * that touch a pending page wait meanwhile.
 * postcopy_dest_received_bitmaps(): appends to @out the RECEIVED_BITMAP
 * records of every block sent (a page is received unless pending);
 * returns how many.  postcopy_dest_resume(): requests go through
 * @fn(@opaque) again, starting with every page asked for and still
 * pending.
 */
void postcopy_dest_pause(PostcopyDest *pd);
uint32_t postcopy_dest_received_bitmaps(PostcopyDest *pd, GByteArray *out);
void postcopy_dest_resume(PostcopyDest *pd, PostcopyRequestFunc *fn,
                          void *opaque);

/*
 * Ends the fault thread and closes the userfaultfd.  With pages still
 * pending (a failed migration) a vCPU waiting for one would then read
 * zeroes: the caller must have stopped the guest for good first, or not
 * call this (postcopy_dest_abandon()).
 */
void postcopy_dest_free(PostcopyDest *pd);

/*
 * A failed postcopy: the fault thread ends, but the userfaultfd stays
 * open for the rest of the process, so the vCPUs waiting for pages
 * that will never come keep waiting rather than run on zeroes.
 */
void postcopy_dest_abandon(PostcopyDest *pd);

#endif
