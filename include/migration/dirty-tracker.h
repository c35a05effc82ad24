/*
 * Dirty page tracking for precopy migration: which guest pages were
 * written since the last sync.
 *
 * A DirtyTracker covers every RAM block registered when it starts (guest
 * RAM does not change while vCPUs run, see system/ram.h) and keeps one
 * bitmap per block, one bit per GUEST_PAGE_SIZE page.  Bits are set by
 * dirty_tracker_sync() and cleared by the caller as it sends pages.
 *
 * Backends, chosen by dirty_tracker_start() and reported by name:
 *
 *   "uffd-wp-async": the kernel tracks writes.  Every block is registered
 *     with a userfaultfd in asynchronous write-protect mode
 *     (UFFD_FEATURE_WP_ASYNC), so a write to a protected page is resolved
 *     by the kernel itself, with no message and no thread of ours, and
 *     leaves the page "written".  A sync is one PAGEMAP_SCAN ioctl per
 *     block on /proc/self/pagemap that returns the written pages and
 *     write-protects them again, atomically per page.  Sees every write,
 *     whoever makes it (vCPU threads, syscalls, devices), and nothing
 *     else: exactly the pages written, at the backing page size (a huge
 *     page written anywhere reports all its guest pages).
 *
 *   "soft-dirty-log": a software log, one bit per guest page, that the
 *     workload sets with dirty_tracker_note_write() after each page it
 *     writes.  Sees only writes made through that hook.  Used when the
 *     kernel refuses (no userfaultfd access, an old kernel, a block type
 *     that cannot be registered: then for every block), or when forced.
 *
 * VMIG_DIRTY_TRACKER=soft in the environment forces the software log,
 * =kernel forces the kernel backend (start fails if it cannot be used),
 * =auto (or unset) picks the kernel backend if it works.
 *
 * The first pass: dirty_tracker_start() begins tracking with every bitmap
 * clear, so the first sync reports only pages written after start.  A
 * precopy caller must send every page once anyway (the destination has
 * nothing yet): call dirty_tracker_set_all() after start, or keep its own
 * bitmap for the first pass.  Start guarantees that every write, including
 * those racing with start itself, is either visible to reads of guest RAM
 * made after start returns or reported by a later sync.
 *
 * What a sync sees.  Let sync S start at time T.
 *   - Every write that completed before T is reported by S, unless an
 *     earlier sync already reported it (the caller owns that bit then).
 *   - A write that overlaps S, or completes after T, and is not reported
 *     by S is reported by the next sync.
 * Hence the precopy loop is correct: sync, then for each reported page
 * clear its bit and read the page (in that order); a write that races
 * with the read is reported again by the next sync.  For the software log
 * a "write" is the stores to the page and the dirty_tracker_note_write()
 * after them.
 *
 * Threads: the tracker functions are for one thread at a time (the
 * migration thread) and the bitmaps are not locked; only the writes of
 * guest RAM (the vCPU threads and their hook) run concurrently with them.
 * One tracker can be active at a time.
 */
#ifndef VMIG_MIGRATION_DIRTY_TRACKER_H
#define VMIG_MIGRATION_DIRTY_TRACKER_H

#include <stdbool.h>
#include <stdint.h>

#include "qapi/error.h"
#include "system/ram.h"
#include "util/atomic.h"

#define DIRTY_TRACKER_UFFD_NAME "uffd-wp-async"
#define DIRTY_TRACKER_SOFT_NAME "soft-dirty-log"

typedef enum DirtyTrackerMode {
    DIRTY_TRACKER_AUTO,     /* VMIG_DIRTY_TRACKER decides; default kernel
                             * if it works, else the software log */
    DIRTY_TRACKER_KERNEL,   /* uffd-wp-async or fail */
    DIRTY_TRACKER_SOFT,     /* soft-dirty-log */
} DirtyTrackerMode;

typedef struct DirtyTracker DirtyTracker;

/* Starts tracking all guest RAM with DIRTY_TRACKER_AUTO. */
DirtyTracker *dirty_tracker_start(Error **errp);
/*
 * For a first pass that sends everything: dirty_tracker_start() and
 * dirty_tracker_set_all() in one, without write-protecting all guest RAM
 * up front.  The kernel backend protects a page only when
 * dirty_tracker_test_and_clear() first clears it (with the next few MiB
 * of the block), so the cost of protection is spread over the first pass
 * (and overlaps the sending of pages already read).  A page not
 * protected yet is dirty anyway, so nothing written to it can be lost:
 * it is read only after its clear protected it.  Syncs scan only the
 * protected part of each block.
 */
DirtyTracker *dirty_tracker_start_all_dirty(Error **errp);
/* Starts tracking with the backend @mode asks for.  Fails if another
 * tracker is active, or if @mode (or VMIG_DIRTY_TRACKER for AUTO) asks for
 * the kernel backend and the kernel refuses. */
DirtyTracker *dirty_tracker_start_mode(DirtyTrackerMode mode, Error **errp);
/* Ends tracking and frees @t; NULL is ignored. */
void dirty_tracker_stop(DirtyTracker *t);
/* The active tracker, or NULL. */
DirtyTracker *dirty_tracker_active(void);

/* DIRTY_TRACKER_UFFD_NAME or DIRTY_TRACKER_SOFT_NAME. */
const char *dirty_tracker_backend(const DirtyTracker *t);
/* Why the kernel backend is not used (for reports), or NULL if it is or
 * the software log was asked for. */
const char *dirty_tracker_fallback_reason(const DirtyTracker *t);

/* Collects the pages written since the previous sync (or start) into the
 * bitmaps and re-arms tracking for them.  Bits already set stay set.  On
 * failure the bitmaps may hold part of the result; the tracker should be
 * stopped (every page must then be treated as dirty). */
bool dirty_tracker_sync(DirtyTracker *t, Error **errp);

/* Counts. */
uint64_t dirty_tracker_dirty_pages(const DirtyTracker *t);  /* bits set */
uint64_t dirty_tracker_block_dirty_pages(const DirtyTracker *t,
                                         const RAMBlock *block);
uint64_t dirty_tracker_sync_count(const DirtyTracker *t);
/* Pages the last sync found written (set or not before). */
uint64_t dirty_tracker_last_sync_pages(const DirtyTracker *t);

/*
 * One block's bitmap.  @block must be one the tracker covers; @page is a
 * page index in it, 0 to block->size / GUEST_PAGE_SIZE - 1.
 */
/* The first dirty page at or after @page, or the block's page count. */
uint64_t dirty_tracker_next_dirty(const DirtyTracker *t,
                                  const RAMBlock *block, uint64_t page);
bool dirty_tracker_is_dirty(const DirtyTracker *t, const RAMBlock *block,
                            uint64_t page);
/* Clears the bit; returns whether it was set. */
bool dirty_tracker_test_and_clear(DirtyTracker *t, const RAMBlock *block,
                                  uint64_t page);
void dirty_tracker_set_dirty(DirtyTracker *t, const RAMBlock *block,
                             uint64_t page);
/* Sets every bit of every block (the first precopy pass). */
void dirty_tracker_set_all(DirtyTracker *t);

/*
 * The write hook of the software log, called by whoever writes guest RAM
 * (the workload, system/workload.c) after its stores to guest bytes
 * [@guest_offset, @guest_offset + @len).  While no software log is active
 * it is a compiler barrier, a load and a branch.
 */
typedef struct DirtySoftLog DirtySoftLog;
extern DirtySoftLog *dirty_soft_log;   /* the active log, or NULL */
/* Set before main() if the kernel lacks membarrier(2): then the hook
 * orders its own stores (see dirty-tracker.c). */
extern bool dirty_soft_log_fence;
void dirty_soft_log_mark(DirtySoftLog *log, uint64_t guest_offset,
                         uint64_t len);

static inline void dirty_tracker_note_write(uint64_t guest_offset,
                                            uint64_t len)
{
    DirtySoftLog *log;

    /* The page stores must be visible before a log published after this
     * load is used: a compiler barrier here, the CPU barrier is a
     * membarrier(2) in dirty_tracker_start(), or a fence without it. */
    if (__builtin_expect(dirty_soft_log_fence, 0)) {
        smp_mb();
    } else {
        barrier();
    }
    /* Acquire: the log's contents were written before it was published
     * (free on x86, where loads are acquires anyway). */
    log = qatomic_load_acquire(&dirty_soft_log);
    if (__builtin_expect(log != NULL, 0)) {
        dirty_soft_log_mark(log, guest_offset, len);
    }
}

/*
 * Internal: the kernel backend (migration/dirty-tracker-uffd.c), for
 * migration/dirty-tracker.c only.
 */
typedef struct DirtyUffd DirtyUffd;
/* Bytes [@offset, @offset + @len) of a block were written. */
typedef void DirtyRangeFunc(void *opaque, uint64_t offset, uint64_t len);
/* Registers @blocks and, with @protect, write-protects them; on
 * failure @errp says why the kernel cannot track them and nothing is
 * left registered. */
DirtyUffd *dirty_uffd_open(RAMBlock *const *blocks, unsigned nblocks,
                           bool protect, Error **errp);
/* Write-protects bytes [@offset, @offset + @len) of block @index. */
bool dirty_uffd_arm(DirtyUffd *u, unsigned index, uint64_t offset,
                    uint64_t len, Error **errp);
/* Reports the written ranges in the first @len bytes of block @index
 * and re-protects them. */
bool dirty_uffd_collect(DirtyUffd *u, unsigned index, uint64_t len,
                        DirtyRangeFunc *fn, void *opaque, Error **errp);
void dirty_uffd_close(DirtyUffd *u);

#endif
