/*
 * The migration's dirty bitmap: one bit per guest page of every RAM
 * block, set while the page still has to be sent.
 *
 * A DirtyBitmap starts the dirty log of guest RAM (system/dirty-log.h)
 * and owns it until it stops.  It covers the blocks registered at its
 * start, as the log does.  dirty_bitmap_sync() syncs the log and sets
 * the bit of every page it reports; the caller clears bits as it sends
 * pages, and sets them itself for the first pass.  So the log's
 * contract becomes: sync, then for each dirty page clear its bit with
 * dirty_bitmap_test_and_clear() and only then read the page; a write
 * that races with the read sets the bit again at the next sync.
 *
 * The first pass.  dirty_bitmap_start() begins with every bit clear, so
 * the first sync reports only pages written after start: a precopy
 * caller, who must send every page once anyway, calls
 * dirty_bitmap_set_all() after it.  dirty_bitmap_start_all_dirty() is
 * both in one, and cheaper: its log starts unarmed and
 * dirty_bitmap_test_and_clear() arms a page (with the next few MiB of
 * its block) when it first clears it, so the kernel's write protection
 * is spread over the first pass and overlaps the sending of the pages
 * already read.  A page not armed yet is dirty anyway, so nothing
 * written to it can be lost: it is read only after its clear armed it.
 *
 * Threads: one thread at a time (the migration thread); the bitmaps are
 * not locked.
 */
#ifndef VMIG_MIGRATION_RAM_DIRTY_BITMAP_H
#define VMIG_MIGRATION_RAM_DIRTY_BITMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "qapi/error.h"
#include "system/dirty-log.h"
#include "system/ram.h"

typedef struct DirtyBitmap DirtyBitmap;

/* Starts the dirty log with @backend (auto: the machine's choice), every
 * bit clear; fails as dirty_log_start() does. */
DirtyBitmap *dirty_bitmap_start(DirtyLogBackend backend, Error **errp);
/* The same with every bit set, the log armed as pages are cleared, and
 * the blocks in @skip (RAMBlock *; NULL: none) left out: they are
 * neither logged nor in the bitmap (x-ignore-shared). */
DirtyBitmap *dirty_bitmap_start_all_dirty(DirtyLogBackend backend,
                                          const GPtrArray *skip,
                                          Error **errp);
/* Whether @bm has @block (it is migrated). */
bool dirty_bitmap_tracks(const DirtyBitmap *bm, const RAMBlock *block);
/* Stops the log and frees @bm; NULL is ignored. */
void dirty_bitmap_stop(DirtyBitmap *bm);
/* The log (for its backend's name). */
DirtyLog *dirty_bitmap_log(const DirtyBitmap *bm);

/* Sets the bits of the pages written since the previous sync (or
 * start).  Bits already set stay set.  On failure the bitmaps may hold
 * part of the result; the bitmap should be stopped (every page must
 * then be treated as dirty). */
bool dirty_bitmap_sync(DirtyBitmap *bm, Error **errp);

/* Counts. */
uint64_t dirty_bitmap_dirty_pages(const DirtyBitmap *bm);  /* bits set */
uint64_t dirty_bitmap_block_dirty_pages(const DirtyBitmap *bm,
                                        const RAMBlock *block);
uint64_t dirty_bitmap_sync_count(const DirtyBitmap *bm);
/* Pages the last sync found written (set or not before). */
uint64_t dirty_bitmap_last_sync_pages(const DirtyBitmap *bm);

/*
 * One block's bitmap.  @block must be one the bitmap covers; @page is a
 * page index in it, 0 to block->size / GUEST_PAGE_SIZE - 1.
 */
/* The first dirty page at or after @page, or the block's page count. */
uint64_t dirty_bitmap_next_dirty(const DirtyBitmap *bm,
                                 const RAMBlock *block, uint64_t page);
bool dirty_bitmap_is_dirty(const DirtyBitmap *bm, const RAMBlock *block,
                           uint64_t page);
/* Clears the bit; returns whether it was set. */
bool dirty_bitmap_test_and_clear(DirtyBitmap *bm, const RAMBlock *block,
                                 uint64_t page);
void dirty_bitmap_set_dirty(DirtyBitmap *bm, const RAMBlock *block,
                            uint64_t page);
/* Sets every bit of every block (the first precopy pass). */
void dirty_bitmap_set_all(DirtyBitmap *bm);

#endif
