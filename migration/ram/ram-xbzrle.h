/*
 * Guest RAM as XBZRLE deltas on the main channel (xbzrle on): the
 * source's cache and records, the destination's loading of RAM_XBZRLE.
 *
 * The source keeps, in an XbzrleCache (migration/xbzrle-cache.h), a copy
 * of each page as the destination has it.  For every dirty page it takes
 * (RamSaver, include/migration/ram-transfer.h) it first copies the page
 * out of guest memory, so that what it compares, sends and caches is one
 * and the same snapshot, whatever the guest writes meanwhile (a page
 * written during the copy is dirty again and goes again):
 *
 *   - a zero page goes as a ZERO marker in RAM_PAGES; its copy, if
 *     cached, becomes zeros;
 *   - in the first pass every other page goes whole and fills the cache
 *     (there is nothing to compare with yet; no lookup is counted);
 *   - later, a page found in the cache is compared with its copy: equal,
 *     it is not sent at all; else its delta goes in RAM_XBZRLE when
 *     smaller than the page, the page goes whole otherwise ("overflow");
 *     the copy becomes the snapshot either way;
 *   - a page not found ("cache miss") goes whole and is cached, evicting
 *     the page that held its slot.
 * So the cache holds exactly what the destination holds for every page
 * it has, which is what a delta is applied to.
 *
 * One batch of pages becomes up to two records, RAM_PAGES (zero and
 * whole pages) then RAM_XBZRLE (deltas), numbered in the RamSaver's one
 * packet sequence.
 */
#ifndef VMIG_MIGRATION_RAM_XBZRLE_H
#define VMIG_MIGRATION_RAM_XBZRLE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "migration/ram/ram.h"
#include "migration/ram/xbzrle-cache.h"
#include "qapi/error.h"

/* Entries xbzrle_saver_next_record_iov() may fill. */
#define XBZRLE_SAVER_IOV_MAX 4

typedef struct XbzrleSaver {
    XbzrleCache *cache;
    uint64_t cache_size;        /* bytes, as configured for this cache */
    uint64_t requested_size;    /* the last size asked for */
    uint64_t max_pages;         /* guest RAM pages: the cache's cap */

    /* Totals since the start (QEMU's xbzrle counters). */
    uint64_t pages;             /* sent as deltas */
    uint64_t bytes;             /* the deltas' bytes */
    uint64_t lookups;           /* pages looked up after the first pass */
    uint64_t cache_miss;        /* ... and not found */
    uint64_t overflow;          /* found, but the delta was no smaller */
    uint64_t unchanged;         /* found, equal to the copy: not sent */
    /* Over the last period (xbzrle_saver_period()). */
    double cache_miss_rate;     /* cache_miss / lookups */
    double encoding_rate;       /* page bytes / delta bytes */
    uint64_t prev_lookups, prev_miss, prev_pages, prev_bytes;

    /* The batch being turned into records. */
    RamPageBatch batch;
    uint8_t *whole;             /* the pages sent whole, snapshots */
    uint8_t *deltas;            /* the deltas, back to back */
    uint64_t delta_offsets[WIRE_RAM_PAGES_MAX];
    uint32_t delta_lengths[WIRE_RAM_PAGES_MAX];
    uint64_t page_offsets[WIRE_RAM_PAGES_MAX];     /* RAM_PAGES' pages */
    uint8_t page_kinds[WIRE_RAM_PAGES_MAX];
} XbzrleSaver;

/*
 * A saver with a cache of @cache_size bytes for guest RAM as registered
 * now (xbzrle-cache-size; the cache never outgrows guest RAM).
 */
XbzrleSaver *xbzrle_saver_new(uint64_t cache_size, Error **errp);
void xbzrle_saver_free(XbzrleSaver *x);

/*
 * xbzrle-cache-size changed (to @size) while migrating: the cache is
 * replaced by an empty one of the new size, as in QEMU; the pages it
 * held go whole on their next send.  If the memory cannot be had, the
 * old cache stays and the error says why; asking for the same size
 * again does nothing.
 */
bool xbzrle_saver_resize(XbzrleSaver *x, uint64_t size, Error **errp);

/*
 * ram_saver_next_record_iov() with XBZRLE: takes up to @max_pages dirty
 * pages of @rs (clearing their dirty bits) and appends the starts of
 * their records to @out; @iov (XBZRLE_SAVER_IOV_MAX entries) gets the
 * records in order, pages included, *@niov their count.  That may be 0
 * although pages were taken: all of them were unchanged.  @first_pass
 * fills the cache without looking anything up.  Returns the pages
 * taken, 0 when the pass has none left.  @iov is valid until @out
 * changes or the next call.
 */
unsigned xbzrle_saver_next_record_iov(XbzrleSaver *x, RamSaver *rs,
                                      bool first_pass, GByteArray *out,
                                      struct iovec *iov, size_t *niov,
                                      unsigned max_pages);
/* The same, the records whole in @out. */
unsigned xbzrle_saver_next_record(XbzrleSaver *x, RamSaver *rs,
                                  bool first_pass, GByteArray *out,
                                  unsigned max_pages);

/* Ends a measuring period: the rates are those of the pages since the
 * last call (a period without lookups keeps the miss rate it had). */
void xbzrle_saver_period(XbzrleSaver *x);

/*
 * Applies the RAM_XBZRLE record @body to guest RAM: every page's place
 * and every delta is checked before any page changes, so a bad record
 * changes nothing.  Counts rl->xbzrle_pages.
 */
bool ram_loader_load_xbzrle(RamLoader *rl, const uint8_t *body, size_t len,
                            Error **errp);

#endif
