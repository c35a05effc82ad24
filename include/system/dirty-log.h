/*
 * The dirty log of guest RAM: which guest pages were written since the
 * last sync (QEMU: the memory API's migration dirty client).
 *
 * A DirtyLog covers every RAM block registered when it starts (guest RAM
 * does not change while vCPUs run, see system/ram.h).  It keeps no
 * bitmap for its user: dirty_log_sync() reports what was written since
 * the previous sync (or the start) to a callback, as ranges of whole
 * guest pages of one block, and re-arms logging for them.  The migration
 * keeps its own bitmap (migration/ram/dirty-bitmap.h).
 *
 * Backends (QAPI's DirtyLogBackend, reported by that name):
 *
 *   "software" (the default): a log of one bit per guest page, set by
 *     dirty_log_note_write(), the write hook below, which every writer
 *     of guest RAM calls after its stores (as QEMU's TCG marks the pages
 *     its vCPUs store to).  It costs a vCPU a load and a branch per run
 *     of pages written while no log is on, and one atomic OR per run of
 *     up to 64 adjacent pages while one is; a sync reads 1 bit per page.
 *
 *   "uffd-wp": the kernel logs writes.  Every block is registered with a
 *     userfaultfd in asynchronous write-protect mode
 *     (UFFD_FEATURE_WP_ASYNC), so a write to a protected page is resolved
 *     by the kernel itself, with no message and no thread of ours, and
 *     leaves the page "written".  A sync is one PAGEMAP_SCAN ioctl per
 *     block on /proc/self/pagemap that returns the written pages and
 *     write-protects them again, atomically per page.  Sees every write
 *     of this process, whoever makes it (vCPU threads, syscalls), at the
 *     backing page size (a huge page written anywhere reports all its
 *     guest pages; a transparent huge page is split on its first write).
 *     Each first write after a sync is a fault: 0.7 to 18 µs on the
 *     hosts measured, hundreds of times the software log's few ns, hence
 *     not the default.
 *
 * The invariant the software log relies on: every writer of guest RAM
 * on a machine whose RAM may be logged calls dirty_log_note_write()
 * after its stores.  Today the only such writer is the workload
 * (system/workload.c, the vCPUs).  The others write guest RAM only on a
 * destination, which logs nothing while it loads: RAM loading
 * (migration/ram/ram-load.c, ram-xbzrle.c, mapped-ram.c); preallocation
 * (system/ram.c) runs before any log and changes no byte.  A new writer
 * on the source (a device doing DMA, a vCPU run by KVM) must call the
 * hook, or the machine must use "uffd-wp" for it (the kernel sees
 * writes of this process only: memory another process writes through
 * a shared mapping is logged by neither backend).
 *
 * The backend is the machine's (-machine dirty-log=, applied with
 * dirty_log_configure()); DIRTY_LOG_BACKEND_AUTO as an argument below
 * means "the machine's choice", and "auto" there means the software
 * log.  A forced "uffd-wp" that the kernel refuses fails: no silent
 * fallback to a backend the user did not ask for.
 *
 * Armed pages.  dirty_log_start() logs every page from its start.
 * dirty_log_start_unarmed() promises nothing about a page until
 * dirty_log_arm() has armed it: for a user who counts every page as
 * written until then (the first precopy pass sends everything anyway),
 * so that the kernel backend write-protects guest RAM bit by bit as that
 * user reaches it, not all up front.  A write to a page not armed yet
 * may or may not be reported (the software log logs everything).  Syncs
 * scan only armed pages: scanning would protect the others early.
 *
 * What a sync sees.  Let sync S start at time T.
 *   - Every write to an armed page that completed before T is reported
 *     by S, unless an earlier sync already reported it.
 *   - A write that overlaps S, or completes after T, and is not reported
 *     by S is reported by the next sync.
 * And arming (by start or dirty_log_arm()) guarantees that every write to
 * the pages armed, including those racing with the arming itself, is
 * either visible to reads of guest RAM made after it returns or reported
 * by a later sync.  Hence a precopy loop is correct: sync, then for each
 * page reported forget that it was (clear its bit) and only then read
 * it; a write that races with the read is reported again by the next
 * sync.  For the software log a "write" is the stores to the page and
 * the dirty_log_note_write() after them.
 *
 * Threads: start, arm, sync and stop are for one thread at a time (the
 * migration thread); only the writes of guest RAM (the vCPU threads and
 * their hook) run concurrently with them.  One log can be active at a
 * time.
 */
#ifndef VMIG_SYSTEM_DIRTY_LOG_H
#define VMIG_SYSTEM_DIRTY_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "qapi/error.h"
#include "qapi/qapi-types.h"
#include "system/ram.h"
#include "util/atomic.h"

/* What "auto" is: the cheaper backend for the guest and the migration
 * (docs/benchmarks.md, "Which dirty tracker"). */
#define DIRTY_LOG_BACKEND_DEFAULT DIRTY_LOG_BACKEND_SOFTWARE

/*
 * Makes @choice the backend of the logs started with
 * DIRTY_LOG_BACKEND_AUTO (the machine's -machine dirty-log).  For
 * "uffd-wp" it checks, on the guest RAM registered now, that the kernel
 * can log it, and fails saying why not.  Main thread, no log active.
 */
bool dirty_log_configure(DirtyLogBackend choice, Error **errp);
/* The backend DIRTY_LOG_BACKEND_AUTO stands for now (never auto). */
DirtyLogBackend dirty_log_choice(void);

typedef struct DirtyLog DirtyLog;

/* Starts logging writes to all guest RAM with @backend (auto: the
 * machine's choice), every page armed.  Fails if another log is active,
 * or if the backend is "uffd-wp" and the kernel refuses it. */
DirtyLog *dirty_log_start(DirtyLogBackend backend, Error **errp);
/* The same with no page armed (see "Armed pages" above), leaving out
 * the blocks in @skip (RAMBlock *; NULL: none): their writes are not
 * logged (x-ignore-shared: blocks that are not migrated). */
DirtyLog *dirty_log_start_unarmed(DirtyLogBackend backend,
                                  const GPtrArray *skip, Error **errp);
/* Whether @log logs @block. */
bool dirty_log_logs(const DirtyLog *log, const RAMBlock *block);
/* Ends logging and frees @log; NULL is ignored. */
void dirty_log_stop(DirtyLog *log);
/* The active log, or NULL. */
DirtyLog *dirty_log_active(void);

/* The backend logging, never auto. */
DirtyLogBackend dirty_log_backend(const DirtyLog *log);

/*
 * Arms the page at byte @offset of @block (one the log covers) if it is
 * not armed yet, with the next few MiB of the block: the armed part of a
 * block is a prefix that only grows.  Returns the end of that prefix, in
 * bytes (past @offset); asking again below it costs nothing.  A failure
 * to arm makes the next sync fail.
 */
uint64_t dirty_log_arm(DirtyLog *log, const RAMBlock *block,
                       uint64_t offset);

/* Bytes [@offset, @offset + @len) of @block were written; both are
 * multiples of GUEST_PAGE_SIZE. */
typedef void DirtyLogRangeFunc(void *opaque, RAMBlock *block,
                               uint64_t offset, uint64_t len);

/*
 * Reports the armed pages written since the previous sync (or their
 * arming) to @fn, a block at a time, each page at most once, and
 * re-arms them.  On failure @fn may have had part of the result and the
 * log should be stopped (every page must then be treated as written).
 */
bool dirty_log_sync(DirtyLog *log, DirtyLogRangeFunc *fn, void *opaque,
                    Error **errp);

/*
 * The write hook of the software log, which every writer of guest RAM
 * calls after its stores to guest bytes [@guest_offset, @guest_offset +
 * @len) (the invariant above; today the workload, system/workload.c).
 * While no software log is active it is a compiler barrier, a load and
 * a branch.
 */
typedef struct DirtySoftLog DirtySoftLog;
extern DirtySoftLog *dirty_soft_log;   /* the active log, or NULL */
/* Set before main() if the kernel lacks membarrier(2): then the hook
 * orders its own stores (see dirty-log.c). */
extern bool dirty_soft_log_fence;
void dirty_soft_log_mark(DirtySoftLog *log, uint64_t guest_offset,
                         uint64_t len);

static inline void dirty_log_note_write(uint64_t guest_offset, uint64_t len)
{
    DirtySoftLog *log;

    /* The page stores must be visible before a log published after this
     * load is used: a compiler barrier here, the CPU barrier is a
     * membarrier(2) in dirty_log_start(), or a fence without it. */
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

#endif
