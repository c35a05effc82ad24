/*
 * Dirty page tracking: the tracker, its per-block bitmaps and the software
 * dirty log.  The kernel backend is in dirty-tracker-uffd.c.
 * See include/migration/dirty-tracker.h.
 */
#include "migration/dirty-tracker.h"

#include <errno.h>
#include <linux/membarrier.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/atomic.h"

#define WORD_BITS 64
/* What dirty_tracker_test_and_clear() protects at a time in a tracker
 * started with every page dirty: few system calls, little ahead of the
 * pass. */
#define ARM_CHUNK_PAGES (4u << 20 >> 12)

typedef struct TrackedBlock {
    RAMBlock *block;
    uint64_t first_page;    /* guest page number of the block's page 0 */
    uint64_t pages;
    uint64_t *bitmap;       /* bit n: page n is dirty */
    uint64_t dirty;         /* bits set in bitmap */
    uint64_t armed;         /* pages [0, armed) are tracked (see
                             * dirty_tracker_start_all_dirty()) */
} TrackedBlock;

struct DirtyTracker {
    TrackedBlock *blocks;
    unsigned nblocks;
    DirtyUffd *uffd;        /* the kernel backend, or NULL */
    DirtySoftLog *log;      /* the software log, or NULL */
    char *fallback_reason;
    uint64_t syncs;
    uint64_t last_sync_pages;
    Error *arm_error;       /* protection failed: the next sync fails */
};

static DirtyTracker *active;

/* Bitmaps */

static uint64_t words_for(uint64_t bits)
{
    return (bits + WORD_BITS - 1) / WORD_BITS;
}

/* Sets bit @page; returns whether it was clear. */
static bool tb_set(TrackedBlock *tb, uint64_t page)
{
    uint64_t mask = 1ull << (page % WORD_BITS);
    uint64_t *w = &tb->bitmap[page / WORD_BITS];

    if (*w & mask) {
        return false;
    }
    *w |= mask;
    tb->dirty++;
    return true;
}

static TrackedBlock *find_block(const DirtyTracker *t, const RAMBlock *block)
{
    for (unsigned i = 0; i < t->nblocks; i++) {
        if (t->blocks[i].block == block) {
            return &t->blocks[i];
        }
    }
    g_error("RAM block '%s' is not tracked", block->idstr);
}

static TrackedBlock *find_page(const DirtyTracker *t, const RAMBlock *block,
                               uint64_t page)
{
    TrackedBlock *tb = find_block(t, block);

    g_assert(page < tb->pages);
    return tb;
}

/* The software log */

/*
 * One bit per guest page, indexed by guest page number (guest RAM is one
 * range of offsets, so the hook needs no block lookup).  Set by the
 * writers with a release RMW after their page stores, taken by sync with
 * an acquire RMW: whoever takes a bit sees the stores it stands for.
 */
struct DirtySoftLog {
    uint64_t capacity;      /* pages; fixed, writers read it unlocked */
    uint64_t bits[];
};

DirtySoftLog *dirty_soft_log;
bool dirty_soft_log_fence;

/*
 * Logs are never freed: a writer may have loaded the pointer just before
 * stop() and mark it a moment later.  The largest is reused by the next
 * start; smaller ones are kept here, still reachable, and cost one bit
 * per guest page.
 */
static DirtySoftLog *soft_log_storage;
static GPtrArray *soft_logs_retired;

/*
 * start() publishes the log while writers run.  A writer that still loaded
 * NULL must have its page stores visible to the caller's reads after
 * start() returns, which takes a full barrier on the writer's CPU:
 * membarrier(2) runs one on every thread of ours, so the hook can stay a
 * plain load.  Registering is allowed only before use and is cheap, so do
 * it before main(); without membarrier the hook fences itself, and it
 * reads that choice before any thread exists.
 */
static void __attribute__((constructor)) soft_log_init_barrier(void)
{
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
                0, 0) < 0) {
        dirty_soft_log_fence = true;
    }
}

void dirty_soft_log_mark(DirtySoftLog *log, uint64_t guest_offset,
                         uint64_t len)
{
    uint64_t first = guest_offset / GUEST_PAGE_SIZE;
    uint64_t end = (guest_offset + len + GUEST_PAGE_SIZE - 1) /
                   GUEST_PAGE_SIZE;

    for (uint64_t page = first; page < end && page < log->capacity;
         page++) {
        qatomic_or(&log->bits[page / WORD_BITS], 1ull << (page % WORD_BITS));
    }
}

static void soft_log_start(DirtyTracker *t)
{
    uint64_t pages = ram_guest_size() / GUEST_PAGE_SIZE;
    DirtySoftLog *log = soft_log_storage;

    if (!log || log->capacity < pages) {
        if (log) {
            if (!soft_logs_retired) {
                soft_logs_retired = g_ptr_array_new();
            }
            g_ptr_array_add(soft_logs_retired, log);
        }
        log = g_malloc0(sizeof(*log) + words_for(pages) * sizeof(uint64_t));
        log->capacity = pages;
        soft_log_storage = log;
    } else {
        /* A late writer of the previous tracker may still set bits: that
         * only adds dirty pages, but use atomics for the race. */
        for (uint64_t i = 0; i < words_for(log->capacity); i++) {
            qatomic_set(&log->bits[i], 0);
        }
    }
    qatomic_mb_set(&dirty_soft_log, log);
    if (!dirty_soft_log_fence) {
        /* Cannot fail once registered; if it did, the worst case is a
         * write racing with start missing the caller's first read. */
        syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    }
    t->log = log;
}

static void soft_log_stop(DirtyTracker *t)
{
    qatomic_store_release(&dirty_soft_log, NULL);
    t->log = NULL;
}

/* Moves the log bits of @tb's pages into its bitmap. */
static void soft_log_collect(DirtyTracker *t, TrackedBlock *tb)
{
    DirtySoftLog *log = t->log;
    uint64_t first = tb->first_page, end = first + tb->pages;

    for (uint64_t w = first / WORD_BITS; w * WORD_BITS < end; w++) {
        uint64_t lo = w * WORD_BITS, mask = ~0ull, got;

        /* Blocks need not start on a word: leave a neighbour's bits. */
        if (lo < first) {
            mask &= ~0ull << (first - lo);
        }
        if (lo + WORD_BITS > end) {
            mask &= ~0ull >> (lo + WORD_BITS - end);
        }
        if (!(qatomic_read(&log->bits[w]) & mask)) {
            continue;
        }
        got = qatomic_fetch_and(&log->bits[w], ~mask) & mask;
        while (got) {
            tb_set(tb, lo + __builtin_ctzll(got) - first);
            t->last_sync_pages++;
            got &= got - 1;
        }
    }
}

/* The kernel backend */

typedef struct UffdSyncCtx {
    DirtyTracker *t;
    TrackedBlock *tb;
} UffdSyncCtx;

static void uffd_range_dirty(void *opaque, uint64_t offset, uint64_t len)
{
    UffdSyncCtx *ctx = opaque;
    DirtyTracker *t = ctx->t;
    TrackedBlock *tb = ctx->tb;
    uint64_t end = MIN((offset + len + GUEST_PAGE_SIZE - 1) /
                       GUEST_PAGE_SIZE, tb->pages);

    for (uint64_t page = offset / GUEST_PAGE_SIZE; page < end; page++) {
        tb_set(tb, page);
        t->last_sync_pages++;
    }
}

/* The tracker */

static bool mode_from_env(DirtyTrackerMode *mode, Error **errp)
{
    const char *env = getenv("VMIG_DIRTY_TRACKER");

    if (!env || !*env || !strcmp(env, "auto")) {
        *mode = DIRTY_TRACKER_AUTO;
    } else if (!strcmp(env, "kernel")) {
        *mode = DIRTY_TRACKER_KERNEL;
    } else if (!strcmp(env, "soft")) {
        *mode = DIRTY_TRACKER_SOFT;
    } else {
        error_setg(errp, "VMIG_DIRTY_TRACKER: invalid value '%s' (expected "
                   "auto, kernel or soft)", env);
        return false;
    }
    return true;
}

static int add_block(RAMBlock *block, void *opaque)
{
    GArray *blocks = opaque;
    TrackedBlock tb = {
        .block = block,
        .first_page = block->offset / GUEST_PAGE_SIZE,
        .pages = block->size / GUEST_PAGE_SIZE,
    };

    tb.bitmap = g_new0(uint64_t, words_for(tb.pages));
    tb.armed = tb.pages;
    g_array_append_val(blocks, tb);
    return 0;
}

static void tracker_free(DirtyTracker *t)
{
    for (unsigned i = 0; i < t->nblocks; i++) {
        g_free(t->blocks[i].bitmap);
    }
    g_free(t->blocks);
    g_free(t->fallback_reason);
    error_free(t->arm_error);
    g_free(t);
}

DirtyTracker *dirty_tracker_start(Error **errp)
{
    return dirty_tracker_start_mode(DIRTY_TRACKER_AUTO, errp);
}

static DirtyTracker *start(DirtyTrackerMode mode, bool protect,
                           Error **errp);

DirtyTracker *dirty_tracker_start_mode(DirtyTrackerMode mode, Error **errp)
{
    return start(mode, true, errp);
}

DirtyTracker *dirty_tracker_start_all_dirty(Error **errp)
{
    DirtyTracker *t = start(DIRTY_TRACKER_AUTO, false, errp);

    if (t) {
        dirty_tracker_set_all(t);
        for (unsigned i = 0; t->uffd && i < t->nblocks; i++) {
            t->blocks[i].armed = 0;
        }
    }
    return t;
}

static DirtyTracker *start(DirtyTrackerMode mode, bool protect,
                           Error **errp)
{
    DirtyTracker *t;
    GArray *blocks;

    if (active) {
        error_setg(errp, "dirty page tracking is already active");
        return NULL;
    }
    if (mode == DIRTY_TRACKER_AUTO && !mode_from_env(&mode, errp)) {
        return NULL;
    }

    t = g_new0(DirtyTracker, 1);
    blocks = g_array_new(FALSE, FALSE, sizeof(TrackedBlock));
    ram_block_foreach(add_block, blocks);
    t->nblocks = blocks->len;
    t->blocks = (TrackedBlock *)g_array_free(blocks, FALSE);

    if (mode != DIRTY_TRACKER_SOFT) {
        g_autofree RAMBlock **rb = g_new(RAMBlock *, t->nblocks);
        Error *err = NULL;

        for (unsigned i = 0; i < t->nblocks; i++) {
            rb[i] = t->blocks[i].block;
        }
        t->uffd = dirty_uffd_open(rb, t->nblocks, protect, &err);
        if (!t->uffd) {
            if (mode == DIRTY_TRACKER_KERNEL) {
                error_setg(errp, "cannot track dirty pages with "
                           "userfaultfd: %s", error_get_pretty(err));
                error_free(err);
                tracker_free(t);
                return NULL;
            }
            t->fallback_reason = g_strdup(error_get_pretty(err));
            error_free(err);
        }
    }
    if (!t->uffd) {
        soft_log_start(t);
    }
    active = t;
    return t;
}

void dirty_tracker_stop(DirtyTracker *t)
{
    if (!t) {
        return;
    }
    g_assert(t == active);
    if (t->uffd) {
        dirty_uffd_close(t->uffd);
    } else {
        soft_log_stop(t);
    }
    active = NULL;
    tracker_free(t);
}

DirtyTracker *dirty_tracker_active(void)
{
    return active;
}

const char *dirty_tracker_backend(const DirtyTracker *t)
{
    return t->uffd ? DIRTY_TRACKER_UFFD_NAME : DIRTY_TRACKER_SOFT_NAME;
}

const char *dirty_tracker_fallback_reason(const DirtyTracker *t)
{
    return t->fallback_reason;
}

bool dirty_tracker_sync(DirtyTracker *t, Error **errp)
{
    t->last_sync_pages = 0;
    for (unsigned i = 0; i < t->nblocks; i++) {
        TrackedBlock *tb = &t->blocks[i];

        if (t->uffd) {
            UffdSyncCtx ctx = { t, tb };

            if (t->arm_error) {
                error_propagate(errp, error_copy(t->arm_error));
                return false;
            }
            /* Pages past @armed are dirty and unprotected: nothing to
             * learn there, and scanning would protect them early. */
            if (!dirty_uffd_collect(t->uffd, i, tb->armed * GUEST_PAGE_SIZE,
                                    uffd_range_dirty, &ctx, errp)) {
                return false;
            }
        } else {
            soft_log_collect(t, tb);
        }
    }
    t->syncs++;
    return true;
}

uint64_t dirty_tracker_dirty_pages(const DirtyTracker *t)
{
    uint64_t n = 0;

    for (unsigned i = 0; i < t->nblocks; i++) {
        n += t->blocks[i].dirty;
    }
    return n;
}

uint64_t dirty_tracker_block_dirty_pages(const DirtyTracker *t,
                                         const RAMBlock *block)
{
    return find_block(t, block)->dirty;
}

uint64_t dirty_tracker_sync_count(const DirtyTracker *t)
{
    return t->syncs;
}

uint64_t dirty_tracker_last_sync_pages(const DirtyTracker *t)
{
    return t->last_sync_pages;
}

uint64_t dirty_tracker_next_dirty(const DirtyTracker *t,
                                  const RAMBlock *block, uint64_t page)
{
    TrackedBlock *tb = find_block(t, block);
    uint64_t w, word;

    if (page >= tb->pages) {
        return tb->pages;
    }
    w = page / WORD_BITS;
    word = tb->bitmap[w] & (~0ull << (page % WORD_BITS));
    while (!word) {
        if (++w >= words_for(tb->pages)) {
            return tb->pages;
        }
        word = tb->bitmap[w];
    }
    /* Bits past the last page are never set. */
    return w * WORD_BITS + __builtin_ctzll(word);
}

bool dirty_tracker_is_dirty(const DirtyTracker *t, const RAMBlock *block,
                            uint64_t page)
{
    TrackedBlock *tb = find_page(t, block, page);

    return tb->bitmap[page / WORD_BITS] & (1ull << (page % WORD_BITS));
}

/* Protects @tb up to past @page: the prefix grows, never a hole. */
static void arm(DirtyTracker *t, TrackedBlock *tb, uint64_t page)
{
    uint64_t end = MIN(tb->pages, MAX(page + 1, tb->armed + ARM_CHUNK_PAGES));
    Error *err = NULL;

    if (!dirty_uffd_arm(t->uffd, tb - t->blocks, tb->armed * GUEST_PAGE_SIZE,
                        (end - tb->armed) * GUEST_PAGE_SIZE, &err)) {
        /* Nothing past here is tracked: say so at the next sync. */
        if (!t->arm_error) {
            t->arm_error = err;
        } else {
            error_free(err);
        }
    }
    tb->armed = end;
}

bool dirty_tracker_test_and_clear(DirtyTracker *t, const RAMBlock *block,
                                  uint64_t page)
{
    TrackedBlock *tb = find_page(t, block, page);
    uint64_t mask = 1ull << (page % WORD_BITS);
    uint64_t *w = &tb->bitmap[page / WORD_BITS];

    if (!(*w & mask)) {
        return false;
    }
    if (page >= tb->armed) {
        arm(t, tb, page);
    }
    *w &= ~mask;
    tb->dirty--;
    return true;
}

void dirty_tracker_set_dirty(DirtyTracker *t, const RAMBlock *block,
                             uint64_t page)
{
    tb_set(find_page(t, block, page), page);
}

void dirty_tracker_set_all(DirtyTracker *t)
{
    for (unsigned i = 0; i < t->nblocks; i++) {
        TrackedBlock *tb = &t->blocks[i];
        uint64_t words = words_for(tb->pages);

        if (!words) {
            continue;
        }
        memset(tb->bitmap, 0xff, words * sizeof(uint64_t));
        /* Keep bits past the last page clear: next_dirty relies on it. */
        if (tb->pages % WORD_BITS) {
            tb->bitmap[words - 1] = ~0ull >> (WORD_BITS - tb->pages %
                                              WORD_BITS);
        }
        tb->dirty = tb->pages;
    }
}
