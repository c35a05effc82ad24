/*
 * The dirty log of guest RAM: the log, its blocks and armed prefixes, and
 * the software log.  The kernel backend is in dirty-log-uffd.c.
 * See include/system/dirty-log.h.
 */
#include "system/dirty-log.h"

#include <errno.h>
#include <linux/membarrier.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "system/dirty-log-uffd.h"
#include "util/atomic.h"

#define WORD_BITS 64
/* What dirty_log_arm() arms at a time: few system calls, little ahead of
 * its caller. */
#define ARM_CHUNK_PAGES (4u << 20 >> 12)

typedef struct LoggedBlock {
    RAMBlock *block;
    uint64_t first_page;    /* guest page number of the block's page 0 */
    uint64_t pages;
    uint64_t armed;         /* pages [0, armed) are logged */
} LoggedBlock;

struct DirtyLog {
    LoggedBlock *blocks;
    unsigned nblocks;
    DirtyUffd *uffd;        /* the kernel backend, or NULL */
    DirtySoftLog *soft;     /* the software log, or NULL */
    Error *arm_error;       /* arming failed: the next sync fails */
};

static DirtyLog *active;

static uint64_t words_for(uint64_t bits)
{
    return (bits + WORD_BITS - 1) / WORD_BITS;
}

static LoggedBlock *find_block(const DirtyLog *log, const RAMBlock *block)
{
    for (unsigned i = 0; i < log->nblocks; i++) {
        if (log->blocks[i].block == block) {
            return &log->blocks[i];
        }
    }
    g_error("RAM block '%s' is not logged", block->idstr);
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

    /* A word of bits at a time: a run of pages costs one atomic per 64. */
    end = MIN(end, log->capacity);
    while (first < end) {
        unsigned bit = first % WORD_BITS;
        uint64_t n = MIN(end - first, WORD_BITS - bit);

        qatomic_or(&log->bits[first / WORD_BITS],
                   (n == WORD_BITS ? ~0ull : (1ull << n) - 1) << bit);
        first += n;
    }
}

static void soft_log_start(DirtyLog *dl)
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
        /* A late writer of the previous log may still set bits: that
         * only adds written pages, but use atomics for the race. */
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
    dl->soft = log;
}

static void soft_log_stop(DirtyLog *dl)
{
    qatomic_store_release(&dirty_soft_log, NULL);
    dl->soft = NULL;
}

/* Takes the log bits of @lb's pages and reports them, a run of adjacent
 * pages at a time. */
static void soft_log_collect(DirtyLog *dl, LoggedBlock *lb,
                             DirtyLogRangeFunc *fn, void *opaque)
{
    DirtySoftLog *log = dl->soft;
    uint64_t first = lb->first_page, end = first + lb->pages;
    uint64_t run = 0, run_len = 0;      /* pages of the block */

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
        got = qatomic_fetch_and(&log->bits[w], ~mask) &
              mask;
        while (got) {
            uint64_t page = lo + __builtin_ctzll(got) - first;

            if (run_len && page == run + run_len) {
                run_len++;
            } else {
                if (run_len) {
                    fn(opaque, lb->block, run * GUEST_PAGE_SIZE,
                       run_len * GUEST_PAGE_SIZE);
                }
                run = page;
                run_len = 1;
            }
            got &= got - 1;
        }
    }
    if (run_len) {
        fn(opaque, lb->block, run * GUEST_PAGE_SIZE,
           run_len * GUEST_PAGE_SIZE);
    }
}

/* The log */

/* -machine dirty-log, for the logs started with "auto". */
static DirtyLogBackend choice = DIRTY_LOG_BACKEND_DEFAULT;

DirtyLogBackend dirty_log_choice(void)
{
    return choice;
}

bool dirty_log_configure(DirtyLogBackend backend, Error **errp)
{
    g_assert(!active);
    if (backend == DIRTY_LOG_BACKEND_AUTO) {
        backend = DIRTY_LOG_BACKEND_DEFAULT;
    }
    if (backend == DIRTY_LOG_BACKEND_UFFD_WP) {
        /* A start and a stop on today's RAM: refused now, not when a
         * migration begins.  Unarmed, so it protects (nearly) nothing. */
        DirtyLog *probe = dirty_log_start_unarmed(backend, NULL, errp);

        if (!probe) {
            return false;
        }
        dirty_log_stop(probe);
    }
    choice = backend;
    return true;
}

typedef struct AddBlocks {
    GArray *blocks;
    const GPtrArray *skip;
} AddBlocks;

static int add_block(RAMBlock *block, void *opaque)
{
    AddBlocks *add = opaque;
    guint i;
    LoggedBlock lb = {
        .block = block,
        .first_page = block->offset / GUEST_PAGE_SIZE,
        .pages = block->size / GUEST_PAGE_SIZE,
    };

    /* g_ptr_array_find() only reads, whatever its prototype says. */
    if (add->skip && g_ptr_array_find((GPtrArray *)add->skip, block, &i)) {
        return 0;
    }
    lb.armed = lb.pages;
    g_array_append_val(add->blocks, lb);
    return 0;
}

static void log_free(DirtyLog *log)
{
    g_free(log->blocks);
    error_free(log->arm_error);
    g_free(log);
}

static DirtyLog *start(DirtyLogBackend backend, bool arm_all,
                       const GPtrArray *skip, Error **errp)
{
    AddBlocks add = { .skip = skip };
    DirtyLog *log;

    if (active) {
        error_setg(errp, "dirty page logging is already active");
        return NULL;
    }
    if (backend == DIRTY_LOG_BACKEND_AUTO) {
        backend = choice;
    }

    log = g_new0(DirtyLog, 1);
    add.blocks = g_array_new(FALSE, FALSE, sizeof(LoggedBlock));
    ram_block_foreach(add_block, &add);
    log->nblocks = add.blocks->len;
    log->blocks = (LoggedBlock *)g_array_free(add.blocks, FALSE);

    if (backend == DIRTY_LOG_BACKEND_UFFD_WP) {
        g_autofree RAMBlock **rb = g_new(RAMBlock *, log->nblocks);

        for (unsigned i = 0; i < log->nblocks; i++) {
            rb[i] = log->blocks[i].block;
        }
        log->uffd = dirty_uffd_open(rb, log->nblocks, arm_all, errp);
        if (!log->uffd) {
            /* No option name: -machine's message and the migration's
             * say what was being done. */
            error_prepend(errp, "the kernel cannot log dirty pages with "
                          "userfaultfd: ");
            log_free(log);
            return NULL;
        }
    }
    if (log->uffd) {
        for (unsigned i = 0; !arm_all && i < log->nblocks; i++) {
            log->blocks[i].armed = 0;
        }
    } else {
        /* The hook logs every page anyway: all armed. */
        soft_log_start(log);
    }
    active = log;
    return log;
}

DirtyLog *dirty_log_start(DirtyLogBackend backend, Error **errp)
{
    return start(backend, true, NULL, errp);
}

DirtyLog *dirty_log_start_unarmed(DirtyLogBackend backend,
                                  const GPtrArray *skip, Error **errp)
{
    return start(backend, false, skip, errp);
}

bool dirty_log_logs(const DirtyLog *log, const RAMBlock *block)
{
    for (unsigned i = 0; i < log->nblocks; i++) {
        if (log->blocks[i].block == block) {
            return true;
        }
    }
    return false;
}

void dirty_log_stop(DirtyLog *log)
{
    if (!log) {
        return;
    }
    g_assert(log == active);
    if (log->uffd) {
        dirty_uffd_close(log->uffd);
    } else {
        soft_log_stop(log);
    }
    active = NULL;
    log_free(log);
}

DirtyLog *dirty_log_active(void)
{
    return active;
}

DirtyLogBackend dirty_log_backend(const DirtyLog *log)
{
    return log->uffd ? DIRTY_LOG_BACKEND_UFFD_WP : DIRTY_LOG_BACKEND_SOFTWARE;
}

uint64_t dirty_log_arm(DirtyLog *log, const RAMBlock *block, uint64_t offset)
{
    LoggedBlock *lb = find_block(log, block);
    uint64_t page = offset / GUEST_PAGE_SIZE, end, per_backing;
    Error *err = NULL;

    g_assert(page < lb->pages);
    if (page < lb->armed) {
        return lb->armed * GUEST_PAGE_SIZE;
    }
    /* The prefix grows, never a hole, by whole pages of the backing
     * memory: hugetlbfs protects and scans nothing smaller. */
    end = MAX(page + 1, lb->armed + ARM_CHUNK_PAGES);
    per_backing = block->page_size / GUEST_PAGE_SIZE;
    end = MIN(lb->pages, (end + per_backing - 1) / per_backing * per_backing);
    if (!dirty_uffd_arm(log->uffd, lb - log->blocks,
                        lb->armed * GUEST_PAGE_SIZE,
                        (end - lb->armed) * GUEST_PAGE_SIZE, &err)) {
        /* Nothing past here is logged: say so at the next sync. */
        if (!log->arm_error) {
            log->arm_error = err;
        } else {
            error_free(err);
        }
    }
    lb->armed = end;
    return end * GUEST_PAGE_SIZE;
}

bool dirty_log_sync(DirtyLog *log, DirtyLogRangeFunc *fn, void *opaque,
                    Error **errp)
{
    if (log->arm_error) {
        error_propagate(errp, error_copy(log->arm_error));
        return false;
    }
    for (unsigned i = 0; i < log->nblocks; i++) {
        LoggedBlock *lb = &log->blocks[i];

        if (!log->uffd) {
            soft_log_collect(log, lb, fn, opaque);
        } else if (!dirty_uffd_collect(log->uffd, i,
                                       lb->armed * GUEST_PAGE_SIZE,
                                       fn, opaque, errp)) {
            return false;
        }
    }
    return true;
}
