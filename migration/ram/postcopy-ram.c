/*
 * The destination's guest RAM during postcopy.  See postcopy-ram.h.
 */
#include "migration/ram/postcopy-ram.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "migration/ram/postcopy-huge.h"
#include "system/cpus.h"
#include "util/atomic.h"
#include "util/thread-name.h"
#include "util/userfaultfd.h"

/* Faults read in one go: as many vCPUs as can wait at once, at most. */
#define FAULTS_PER_READ 16
/* Latency samples kept for the percentiles; later faults still count
 * in count and max.  8 bytes each: 8 MiB at most. */
#define LATENCY_SAMPLES_MAX (1u << 20)

typedef struct PendingBlock {
    RAMBlock *block;            /* NULL: not sent */
    uint64_t npages;
    /* 4 KiB pages per page of the backing memory (huge pages: more than
     * one, and the bitmaps change a whole huge page at a time). */
    uint64_t per_host;
    bool zeropage;              /* UFFDIO_ZEROPAGE works here */
    /* Bit per page: dropped, not placed yet (atomic: the incoming thread
     * sets and clears, the fault thread tests). */
    gulong *pending;
    /* Bit per page: asked for already (fault thread only; a huge
     * page's first page stands for it). */
    gulong *requested;
} PendingBlock;

/* A vCPU (or another thread) waiting for a page. */
typedef struct Waiter {
    uint8_t *page;              /* the page's host address */
    int vcpu;                   /* -1: not a vCPU */
    gint64 since;
} Waiter;

struct PostcopyDest {
    RamLoader *rl;
    PendingBlock *blocks;
    guint n_blocks;
    uint64_t n_pending;         /* atomic */
    uint64_t requests;          /* atomic */
    HugeAssembler *huge;
    /* Zeroes as big as the biggest page, never written (no memory): a
     * zero page where UFFDIO_ZEROPAGE is not offered (hugetlbfs). */
    uint8_t *zeroes;
    uint64_t zeroes_size;

    int uffd;                   /* -1 until listening */
    int stop_fd;                /* eventfd: ends the fault thread */
    GThread *thread;
    /* Where requests go (under req_lock; NULL while paused): a pause
     * waits here for a request being written, a resume sends again. */
    GMutex req_lock;
    PostcopyRequestFunc *request;
    void *request_opaque;
    bool request_failed;

    /* Blocktime (under lock). */
    bool blocktime;
    GMutex lock;
    GArray *waiters;            /* Waiter */
    unsigned n_vcpus;
    unsigned *vcpu_waits;       /* faults outstanding, by vCPU */
    uint64_t *vcpu_us;          /* time waited, by vCPU */
    unsigned vcpus_waiting;     /* vCPUs with a fault outstanding */
    gint64 all_since;           /* when the last vCPU started waiting */
    uint64_t all_us;            /* time every vCPU waited at once */
    GArray *latency;            /* uint64_t µs */
    uint64_t latency_count, latency_max;
};

/* Bit @i of @map, read atomically. */
static bool test_bit_atomic(gulong *map, uint64_t i)
{
    unsigned w = 8 * sizeof(gulong);

    return (qatomic_read(&map[i / w]) >> (i % w)) & 1;
}

/* Sets (@on) or clears bit @i; returns whether it changed. */
static bool change_bit_atomic(gulong *map, uint64_t i, bool on)
{
    unsigned w = 8 * sizeof(gulong);
    gulong mask = 1ul << (i % w);
    gulong old = on ? qatomic_fetch_or(&map[i / w], mask)
                    : qatomic_fetch_and(&map[i / w], ~mask);

    return !!(old & mask) != on;
}

bool postcopy_dest_check_blocks(GPtrArray *blocks, Error **errp)
{
    for (guint i = 0; i < blocks->len; i++) {
        RAMBlock *b = g_ptr_array_index(blocks, i);
        const char *why;

        /* userfaultfd's MISSING mode needs memory whose dropped pages
         * are missing again. */
        if (b && !ram_block_drops_pages(b, &why)) {
            error_setg(errp, "RAM block '%s' is %s: postcopy cannot load "
                       "it (userfaultfd catches missing pages only of "
                       "anonymous, tmpfs, memfd and hugetlbfs memory)",
                       b->idstr, why);
            return false;
        }
    }
    return true;
}

PostcopyDest *postcopy_dest_new(RamLoader *rl, bool blocktime)
{
    PostcopyDest *pd = g_new0(PostcopyDest, 1);
    unsigned w = 8 * sizeof(gulong);

    pd->rl = rl;
    pd->zeroes_size = GUEST_PAGE_SIZE;
    pd->uffd = -1;
    pd->stop_fd = -1;
    pd->n_blocks = rl->blocks->len;
    pd->blocks = g_new0(PendingBlock, pd->n_blocks);
    for (guint i = 0; i < pd->n_blocks; i++) {
        PendingBlock *pb = &pd->blocks[i];

        pb->block = g_ptr_array_index(rl->blocks, i);
        if (!pb->block) {
            continue;
        }
        pb->npages = pb->block->size / GUEST_PAGE_SIZE;
        pb->per_host = pb->block->page_size / GUEST_PAGE_SIZE;
        pd->zeroes_size = MAX(pd->zeroes_size, pb->block->page_size);
        pb->pending = g_new0(gulong, (pb->npages + w - 1) / w);
        pb->requested = g_new0(gulong, (pb->npages + w - 1) / w);
    }
    pd->zeroes = mmap(NULL, pd->zeroes_size, PROT_READ,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (pd->zeroes == MAP_FAILED) {
        g_error("postcopy: cannot map %" PRIu64 " bytes of zeroes",
                pd->zeroes_size);
    }
    pd->huge = huge_assembler_new();
    g_mutex_init(&pd->lock);
    g_mutex_init(&pd->req_lock);
    pd->blocktime = blocktime;
    pd->waiters = g_array_new(FALSE, FALSE, sizeof(Waiter));
    pd->n_vcpus = cpus_count();
    pd->vcpu_waits = g_new0(unsigned, pd->n_vcpus);
    pd->vcpu_us = g_new0(uint64_t, pd->n_vcpus);
    pd->latency = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    return pd;
}

bool postcopy_dest_discard(PostcopyDest *pd, const uint8_t *body,
                           size_t len, Error **errp)
{
    g_autofree WireDiscardRange *r = g_new(WireDiscardRange,
                                           WIRE_DISCARD_RANGES_MAX);
    uint32_t block, n;
    PendingBlock *pb;

    g_assert(pd->uffd < 0);
    if (!wire_postcopy_discard_decode(body, len, &block, r, &n, errp)) {
        return false;
    }
    pb = block < pd->n_blocks ? &pd->blocks[block] : NULL;
    if (!pb || !pb->block) {
        error_setg(errp, "POSTCOPY_DISCARD: block %u is not migrated "
                   "(HELLO listed %u RAM blocks)", block, pd->n_blocks);
        return false;
    }
    /* Every range first: a bad record changes nothing.  Whole pages of
     * the backing memory: a huge page is dropped (and placed) whole. */
    for (uint32_t i = 0; i < n; i++) {
        uint64_t ps = pb->block->page_size;

        if (r[i].offset % ps || r[i].length % ps ||
            r[i].offset > pb->block->size ||
            pb->block->size - r[i].offset < r[i].length) {
            error_setg(errp, "POSTCOPY_DISCARD: range %u (offset 0x%" PRIx64
                       ", length 0x%" PRIx64 ") is not whole pages of RAM "
                       "block '%s' (0x%" PRIx64 " bytes, %" PRIu64 "-byte "
                       "pages)", i, r[i].offset, r[i].length,
                       pb->block->idstr, pb->block->size, ps);
            return false;
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        uint64_t first = r[i].offset / GUEST_PAGE_SIZE;

        if (!ram_block_discard_range(pb->block, r[i].offset, r[i].length,
                                     errp)) {
            error_prepend(errp, "POSTCOPY_DISCARD: ");
            return false;
        }
        for (uint64_t p = first; p < first + r[i].length / GUEST_PAGE_SIZE;
             p++) {
            if (change_bit_atomic(pb->pending, p, true)) {
                qatomic_inc(&pd->n_pending);
            }
        }
    }
    return true;
}

/* ---- Blocktime ---- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Under lock: @w starts waiting. */
static void waiter_add_locked(PostcopyDest *pd, const Waiter *w)
{
    g_array_append_val(pd->waiters, *w);
    if (w->vcpu < 0 || pd->vcpu_waits[w->vcpu]++) {
        return;
    }
    if (++pd->vcpus_waiting == pd->n_vcpus) {
        pd->all_since = w->since;
    }
}

/* Under lock: the waiters for the pages [@start, @end) are woken. */
static void waiters_done_locked(PostcopyDest *pd, uint8_t *start,
                                uint8_t *end, gint64 now)
{
    for (guint i = 0; i < pd->waiters->len;) {
        Waiter *w = &g_array_index(pd->waiters, Waiter, i);
        uint64_t us = now - w->since;

        if (w->page < start || w->page >= end) {
            i++;
            continue;
        }
        pd->latency_count++;
        pd->latency_max = MAX(pd->latency_max, us);
        if (pd->latency->len < LATENCY_SAMPLES_MAX) {
            g_array_append_val(pd->latency, us);
        }
        if (w->vcpu >= 0) {
            pd->vcpu_us[w->vcpu] += us;
            if (--pd->vcpu_waits[w->vcpu] == 0) {
                if (pd->vcpus_waiting-- == pd->n_vcpus) {
                    pd->all_us += now - pd->all_since;
                }
            }
        }
        g_array_remove_index_fast(pd->waiters, i);
    }
}

bool postcopy_dest_blocktime(PostcopyDest *pd, uint64_t *total_ms,
                             uint64List **per_vcpu,
                             PostcopyFaultLatency **latency)
{
    g_autoptr(GArray) sorted = NULL;
    PostcopyFaultLatency *l;
    uint64List **tail = per_vcpu;

    if (!pd->blocktime) {
        return false;
    }
    l = g_new0(PostcopyFaultLatency, 1);
    g_mutex_lock(&pd->lock);
    *total_ms = pd->all_us / 1000;
    *per_vcpu = NULL;
    for (unsigned i = 0; i < pd->n_vcpus; i++) {
        *tail = g_new0(uint64List, 1);
        (*tail)->value = pd->vcpu_us[i] / 1000;
        tail = &(*tail)->next;
    }
    l->count = pd->latency_count;
    l->max = pd->latency_max;
    sorted = g_array_copy(pd->latency);
    g_mutex_unlock(&pd->lock);
    if (sorted->len) {
        qsort(sorted->data, sorted->len, sizeof(uint64_t), cmp_u64);
        l->p50 = g_array_index(sorted, uint64_t, (sorted->len - 1) / 2);
        l->p99 = g_array_index(sorted, uint64_t,
                               (sorted->len - 1) * 99 / 100);
    }
    *latency = l;
    return true;
}

/* ---- Placing pages ---- */

/* UFFDIO_COPY (@src) or UFFDIO_ZEROPAGE (@src NULL) of @len bytes at
 * @host in @pb; a page already there (EEXIST) is fine: it came another
 * way. */
static bool place(PostcopyDest *pd, PendingBlock *pb, uint8_t *host,
                  const uint8_t *src, uint64_t len, Error **errp)
{
    int r;

    if (!src && !pb->zeropage) {
        src = pd->zeroes;
    }
    if (src) {
        struct uffdio_copy c = {
            .dst = (uintptr_t)host, .src = (uintptr_t)src, .len = len,
        };

        r = ioctl(pd->uffd, UFFDIO_COPY, &c);
    } else {
        struct uffdio_zeropage z = {
            .range = { .start = (uintptr_t)host, .len = len },
        };

        r = ioctl(pd->uffd, UFFDIO_ZEROPAGE, &z);
    }
    if (r < 0 && errno != EEXIST) {
        error_setg_errno(errp, errno, "Placing the %" PRIu64 "-byte page at "
                         "%p of RAM block '%s' with %s failed", len, host,
                         pb->block->idstr,
                         src ? "UFFDIO_COPY" : "UFFDIO_ZEROPAGE");
        return false;
    }
    return true;
}

/* Pages [@page, @page + @n) of @pb have been placed: no longer
 * pending; their waiters woke. */
static void placed(PostcopyDest *pd, PendingBlock *pb, uint64_t page,
                   uint64_t n)
{
    uint8_t *host = pb->block->host + page * GUEST_PAGE_SIZE;

    for (uint64_t p = page; p < page + n; p++) {
        if (change_bit_atomic(pb->pending, p, false)) {
            qatomic_dec(&pd->n_pending);
        }
    }
    if (pd->blocktime) {
        g_mutex_lock(&pd->lock);
        waiters_done_locked(pd, host, host + n * GUEST_PAGE_SIZE,
                            g_get_monotonic_time());
        g_mutex_unlock(&pd->lock);
    }
}

/* One 4 KiB piece (@data, NULL: zero) at @off of a huge page of @pb:
 * gathered, and the huge page placed once complete. */
static bool place_piece(PostcopyDest *pd, PendingBlock *pb, uint64_t off,
                        const uint8_t *data, Error **errp)
{
    uint64_t ps = pb->block->page_size;
    uint64_t first = huge_page_first(off / GUEST_PAGE_SIZE, ps);
    uint8_t *host = pb->block->host + first * GUEST_PAGE_SIZE;
    uint8_t *whole;
    bool ok;

    /* Not pending: placed already (as EEXIST for a small page).  The
     * source sends each page once (again only after a recovery, when
     * one channel carries them), so no copy of a piece can come on
     * another channel while its huge page is being placed. */
    if (!test_bit_atomic(pb->pending, off / GUEST_PAGE_SIZE)) {
        return true;
    }
    whole = huge_assembler_add(pd->huge, host, ps,
                               off - first * GUEST_PAGE_SIZE, data);
    if (!whole) {
        return true;
    }
    ok = place(pd, pb, host, whole, ps, errp);
    huge_assembler_buffer_free(whole, ps);
    if (ok) {
        placed(pd, pb, first, pb->per_host);
    }
    return ok;
}

bool postcopy_dest_load(PostcopyDest *pd, const uint8_t *body, size_t len,
                        Error **errp)
{
    return postcopy_dest_load_channel(pd, pd->rl, body, len, errp);
}

/*
 * @npages whole 4 KiB pages at @off of @pb from @src, contiguous on both
 * sides, with as few UFFDIO_COPY calls as the kernel allows: one for a
 * background record's run instead of one per page.  A page already
 * there (it came on the other channel) stops a copy part-way (EAGAIN,
 * with what it copied) or at once (EEXIST): skipped, and the rest goes
 * on.
 */
static bool place_run(PostcopyDest *pd, PendingBlock *pb, uint64_t off,
                      const uint8_t *src, uint64_t npages, Error **errp)
{
    uint8_t *host = pb->block->host + off;
    uint64_t done = 0;

    while (done < npages) {
        struct uffdio_copy c = {
            .dst = (uintptr_t)(host + done * GUEST_PAGE_SIZE),
            .src = (uintptr_t)(src + done * GUEST_PAGE_SIZE),
            .len = (npages - done) * GUEST_PAGE_SIZE,
        };

        if (ioctl(pd->uffd, UFFDIO_COPY, &c) == 0) {
            break;
        }
        if (errno == EAGAIN && c.copy > 0) {
            done += (uint64_t)c.copy / GUEST_PAGE_SIZE;
        } else if (errno == EEXIST) {
            done++;
        } else {
            error_setg_errno(errp, errno, "Placing %" PRIu64 " pages at %p "
                             "of RAM block '%s' with UFFDIO_COPY failed",
                             npages - done, host + done * GUEST_PAGE_SIZE,
                             pb->block->idstr);
            return false;
        }
    }
    placed(pd, pb, off / GUEST_PAGE_SIZE, npages);
    return true;
}

bool postcopy_dest_load_channel(PostcopyDest *pd, RamLoader *rl,
                                const uint8_t *body, size_t len,
                                Error **errp)
{
    const uint8_t *data;
    WireRamPages p;
    RAMBlock *b;
    PendingBlock *pb;

    if (!wire_ram_pages_decode(body, len, &p, errp)) {
        return false;
    }
    if (p.h.page_size != GUEST_PAGE_SIZE ||
        (p.h.flags & WIRE_RAM_PAGES_COMPRESSED)) {
        error_setg(errp, "RAM_PAGES during postcopy: %u-byte pages%s (the "
                   "source sends uncompressed %u-byte pages)",
                   p.h.page_size,
                   p.h.flags & WIRE_RAM_PAGES_COMPRESSED ? ", compressed"
                                                         : "",
                   GUEST_PAGE_SIZE);
        return false;
    }
    b = ram_loader_check_pages(rl, &p, errp);
    if (!b) {
        return false;
    }
    pb = &pd->blocks[p.h.block];
    data = p.data;
    for (uint32_t i = 0; i < p.h.count; i++) {
        uint64_t off = wire_ram_pages_offset(&p, i);
        bool normal = p.kinds[i] == WIRE_PAGE_NORMAL;
        uint32_t run = 1;

        /* Normal pages that follow each other in guest RAM (their data
         * always does, in the record): placed together. */
        while (normal && pb->per_host == 1 && i + run < p.h.count &&
               p.kinds[i + run] == WIRE_PAGE_NORMAL &&
               wire_ram_pages_offset(&p, i + run) ==
               off + run * GUEST_PAGE_SIZE) {
            run++;
        }
        if (run > 1) {
            if (!place_run(pd, pb, off, data, run, errp)) {
                return false;
            }
            data += (uint64_t)run * GUEST_PAGE_SIZE;
            qatomic_add(&rl->normal_pages, run);
            i += run - 1;
            continue;
        }
        if (pb->per_host > 1) {
            if (!place_piece(pd, pb, off, normal ? data : NULL, errp)) {
                return false;
            }
        } else {
            if (!place(pd, pb, b->host + off, normal ? data : NULL,
                       GUEST_PAGE_SIZE, errp)) {
                return false;
            }
            placed(pd, pb, off / GUEST_PAGE_SIZE, 1);
        }
        if (normal) {
            data += GUEST_PAGE_SIZE;
            qatomic_inc(&rl->normal_pages);
        } else {
            qatomic_inc(&rl->zero_pages);
        }
    }
    return true;
}

uint64_t postcopy_dest_pending(PostcopyDest *pd)
{
    return qatomic_read(&pd->n_pending);
}

uint64_t postcopy_dest_requests(PostcopyDest *pd)
{
    return qatomic_read(&pd->requests);
}

/* ---- The fault thread ---- */

/* The block holding @addr, and the page's index in it; NULL if none. */
static PendingBlock *find_page(PostcopyDest *pd, uint64_t addr,
                               uint64_t *page)
{
    for (guint i = 0; i < pd->n_blocks; i++) {
        PendingBlock *pb = &pd->blocks[i];
        uintptr_t host = pb->block ? (uintptr_t)pb->block->host : 0;

        if (pb->block && addr >= host && addr - host < pb->block->size) {
            *page = (addr - host) / GUEST_PAGE_SIZE;
            return pb;
        }
    }
    return NULL;
}

/*
 * Asks for the page of @pb from 4 KiB page @first on, the whole page of
 * its backing memory; false if a request could not be sent.  Under
 * req_lock.
 */
static bool ask_locked(PostcopyDest *pd, PendingBlock *pb, uint64_t first)
{
    uint64_t off, len;

    for (uint64_t i = 0; huge_page_request(first, pb->block->page_size, i,
                                           &off, &len); i++) {
        if (!pd->request(pd->request_opaque, pb - pd->blocks, off, len)) {
            return false;
        }
    }
    return true;
}

/* One fault: ask for a pending page (once), fill a zero page here; a
 * huge page either way whole. */
static void handle_fault(PostcopyDest *pd, const struct uffd_msg *m)
{
    uint64_t page;
    PendingBlock *pb = find_page(pd, m->arg.pagefault.address, &page);
    uint8_t *host;
    bool pending;

    if (!pb) {
        /* Registered ranges are the blocks': cannot happen. */
        g_warning("postcopy: fault at 0x%" PRIx64 " outside guest RAM",
                  (uint64_t)m->arg.pagefault.address);
        return;
    }
    page = huge_page_first(page, pb->block->page_size);
    host = pb->block->host + page * GUEST_PAGE_SIZE;
    if (pd->blocktime) {
        Waiter w = {
            .page = host,
            .vcpu = cpus_index_of_tid(m->arg.pagefault.feat.ptid),
            .since = g_get_monotonic_time(),
        };

        /* Checked under the lock placed() completes waiters under, so a
         * page placed meanwhile is seen here or completes this one. */
        g_mutex_lock(&pd->lock);
        pending = test_bit_atomic(pb->pending, page);
        if (pending) {
            waiter_add_locked(pd, &w);
        }
        g_mutex_unlock(&pd->lock);
    } else {
        pending = test_bit_atomic(pb->pending, page);
    }
    if (!pending) {
        Error *err = NULL;

        /* Zero on the source too (see postcopy-ram.h), or placed since
         * the fault: EEXIST then. */
        if (!place(pd, pb, host, NULL, pb->block->page_size, &err)) {
            g_warning("postcopy: %s", error_get_pretty(err));
            error_free(err);
        }
        return;
    }
    if (!change_bit_atomic(pb->requested, page, true)) {
        return;
    }
    qatomic_inc(&pd->requests);
    /* Paused, or the link failed: postcopy_dest_resume() asks again. */
    g_mutex_lock(&pd->req_lock);
    if (pd->request && !pd->request_failed && !ask_locked(pd, pb, page)) {
        pd->request_failed = true;
    }
    g_mutex_unlock(&pd->req_lock);
}

static gpointer fault_thread_fn(gpointer opaque)
{
    PostcopyDest *pd = opaque;

    for (;;) {
        struct pollfd fds[2] = {
            { .fd = pd->uffd, .events = POLLIN },
            { .fd = pd->stop_fd, .events = POLLIN },
        };
        struct uffd_msg msgs[FAULTS_PER_READ];
        ssize_t n;

        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            g_warning("postcopy: poll failed: %s", g_strerror(errno));
            return NULL;
        }
        if (fds[1].revents) {
            return NULL;
        }
        n = read(pd->uffd, msgs, sizeof(msgs));
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                continue;
            }
            g_warning("postcopy: reading the userfaultfd failed: %s",
                      g_strerror(errno));
            return NULL;
        }
        for (size_t i = 0; i < n / sizeof(msgs[0]); i++) {
            if (msgs[i].event == UFFD_EVENT_PAGEFAULT) {
                handle_fault(pd, &msgs[i]);
            }
        }
    }
}

bool postcopy_dest_listen(PostcopyDest *pd, PostcopyRequestFunc *fn,
                          void *opaque, Error **errp)
{
    g_autoptr(GError) gerr = NULL;

    g_assert(pd->uffd < 0);
    pd->request = fn;
    pd->request_opaque = opaque;
    /* THREAD_ID tells whose fault it is, for blocktime. */
    pd->uffd = userfaultfd_open(O_NONBLOCK, 0,
                                pd->blocktime ? UFFD_FEATURE_THREAD_ID : 0,
                                NULL, errp);
    if (pd->uffd < 0) {
        error_prepend(errp, "Postcopy cannot catch faults: ");
        return false;
    }
    for (guint i = 0; i < pd->n_blocks; i++) {
        RAMBlock *b = pd->blocks[i].block;
        struct uffdio_register reg = {
            .mode = UFFDIO_REGISTER_MODE_MISSING,
        };

        if (!b) {
            continue;
        }
        reg.range.start = (uintptr_t)b->host;
        reg.range.len = b->size;
        if (ioctl(pd->uffd, UFFDIO_REGISTER, &reg) < 0) {
            error_setg_errno(errp, errno, "Registering RAM block '%s' with "
                             "userfaultfd (MISSING) failed", b->idstr);
            return false;
        }
        if (!(reg.ioctls & (1ull << _UFFDIO_COPY))) {
            error_setg(errp, "RAM block '%s': userfaultfd cannot place "
                       "pages in it (no UFFDIO_COPY)", b->idstr);
            return false;
        }
        /* Not on hugetlbfs: zeroes are copied there. */
        pd->blocks[i].zeropage = reg.ioctls & (1ull << _UFFDIO_ZEROPAGE);
    }
    pd->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (pd->stop_fd < 0) {
        error_setg_errno(errp, errno, "Cannot start postcopy's fault "
                         "thread: eventfd");
        return false;
    }
    pd->thread = g_thread_try_new(VMIG_THREAD_NAME("mig/pc-fault"),
                                  fault_thread_fn, pd, &gerr);
    if (!pd->thread) {
        error_setg(errp, "Cannot start postcopy's fault thread: %s",
                   gerr->message);
        return false;
    }
    return true;
}

/* ---- Recovery ---- */

void postcopy_dest_pause(PostcopyDest *pd)
{
    g_mutex_lock(&pd->req_lock);
    pd->request = NULL;
    pd->request_opaque = NULL;
    g_mutex_unlock(&pd->req_lock);
}

uint32_t postcopy_dest_received_bitmaps(PostcopyDest *pd, GByteArray *out)
{
    unsigned w = 8 * sizeof(gulong);
    uint32_t n = 0;

    for (guint i = 0; i < pd->n_blocks; i++) {
        PendingBlock *pb = &pd->blocks[i];

        if (!pb->block) {
            continue;
        }
        for (uint64_t first = 0; first < pb->npages;
             first += WIRE_RECEIVED_BITMAP_PIECE_BITS) {
            uint64_t bits = MIN(pb->npages - first,
                                WIRE_RECEIVED_BITMAP_PIECE_BITS);
            g_autofree uint8_t *map = g_malloc0((bits + 7) / 8);
            WireReceivedBitmap rb = {
                .block = i, .page_size = GUEST_PAGE_SIZE,
                .first_bit = first, .n_bits = bits, .bitmap = map,
            };

            /* Received: not pending (the first pass sent it, or a
             * RAM_PAGES record placed it since). */
            for (uint64_t b = 0; b < bits; b++) {
                uint64_t p = first + b;

                if (!((qatomic_read(&pb->pending[p / w]) >> (p % w)) & 1)) {
                    map[b / 8] |= 1u << (b % 8);
                }
            }
            wire_received_bitmap_encode(&rb, out, &error_abort);
            n++;
        }
    }
    return n;
}

void postcopy_dest_resume(PostcopyDest *pd, PostcopyRequestFunc *fn,
                          void *opaque)
{
    g_mutex_lock(&pd->req_lock);
    pd->request = fn;
    pd->request_opaque = opaque;
    pd->request_failed = false;
    /* The vCPUs still waiting asked once, on the lost link: again. */
    for (guint i = 0; i < pd->n_blocks && !pd->request_failed; i++) {
        PendingBlock *pb = &pd->blocks[i];

        for (uint64_t p = 0; pb->block && p < pb->npages &&
             !pd->request_failed; p += pb->per_host) {
            if (test_bit_atomic(pb->requested, p) &&
                test_bit_atomic(pb->pending, p) && !ask_locked(pd, pb, p)) {
                pd->request_failed = true;
            }
        }
    }
    g_mutex_unlock(&pd->req_lock);
}

static void stop_thread(PostcopyDest *pd)
{
    uint64_t one = 1;

    if (pd->thread) {
        if (write(pd->stop_fd, &one, sizeof(one)) != sizeof(one)) {
            g_warning("postcopy: cannot stop the fault thread: %s",
                      g_strerror(errno));
        }
        g_thread_join(pd->thread);
        pd->thread = NULL;
    }
    if (pd->stop_fd >= 0) {
        close(pd->stop_fd);
        pd->stop_fd = -1;
    }
}

static void free_rest(PostcopyDest *pd)
{
    for (guint i = 0; i < pd->n_blocks; i++) {
        g_free(pd->blocks[i].pending);
        g_free(pd->blocks[i].requested);
    }
    g_free(pd->blocks);
    huge_assembler_free(pd->huge);
    munmap(pd->zeroes, pd->zeroes_size);
    g_array_free(pd->waiters, TRUE);
    g_array_free(pd->latency, TRUE);
    g_free(pd->vcpu_waits);
    g_free(pd->vcpu_us);
    g_mutex_clear(&pd->lock);
    g_mutex_clear(&pd->req_lock);
    g_free(pd);
}

void postcopy_dest_free(PostcopyDest *pd)
{
    if (!pd) {
        return;
    }
    stop_thread(pd);
    if (pd->uffd >= 0) {
        close(pd->uffd);
    }
    free_rest(pd);
}

void postcopy_dest_abandon(PostcopyDest *pd)
{
    if (!pd) {
        return;
    }
    stop_thread(pd);
    /* pd->uffd is left open on purpose (postcopy-ram.h). */
    free_rest(pd);
}
