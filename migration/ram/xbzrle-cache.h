/*
 * The source's XBZRLE page cache: for each page it holds a copy of what
 * was last sent, so the next send of that page can be a delta against it
 * (migration/xbzrle.h).
 *
 * Direct-mapped, as QEMU's: the cache has a power-of-two number of slots
 * of one page each, and page number N can only live in slot
 * N mod slots.  Pages are numbered by their guest offset divided by the
 * page size, so guest RAM no larger than the cache never has two pages
 * competing for a slot.  Storing a page evicts whichever page held its
 * slot; the evicted page's next send is whole.
 *
 * The cache knows nothing of migration: the caller keeps it equal to
 * what the destination holds (every page sent, whole or as a delta, is
 * stored; a page sent as zero is zeroed or left out).  Resizing is
 * replacing the cache by a new, empty one, as QEMU does.  One thread
 * uses a cache at a time.
 */
#ifndef VMIG_MIGRATION_XBZRLE_CACHE_H
#define VMIG_MIGRATION_XBZRLE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qapi/error.h"

typedef struct XbzrleCache XbzrleCache;

/*
 * A cache of @size bytes for pages of @page_size bytes: @size /
 * @page_size slots, rounded down to a power of two, and no more than
 * @max_pages rounded up to one (0: no such cap; a cache larger than
 * guest RAM would never be full).  Fails if @size is less than one page
 * or the memory cannot be had; the memory is not touched until used.
 */
XbzrleCache *xbzrle_cache_new(uint64_t size, size_t page_size,
                              uint64_t max_pages, Error **errp);
void xbzrle_cache_free(XbzrleCache *c);

uint64_t xbzrle_cache_slots(const XbzrleCache *c);
size_t xbzrle_cache_page_size(const XbzrleCache *c);

/* The copy of page @page, or NULL if it is not cached.  The copy may be
 * changed in place (to what was sent since). */
uint8_t *xbzrle_cache_lookup(XbzrleCache *c, uint64_t page);

/*
 * Stores @data (page_size bytes) as page @page's copy, evicting the page
 * that held its slot, if any; returns the copy.
 */
uint8_t *xbzrle_cache_insert(XbzrleCache *c, uint64_t page,
                             const uint8_t *data);

/* Pages evicted by another page so far. */
uint64_t xbzrle_cache_evictions(const XbzrleCache *c);

#endif
