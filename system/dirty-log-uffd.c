/*
 * The dirty log's kernel backend: userfaultfd write protection in
 * asynchronous mode, read and re-armed with the PAGEMAP_SCAN ioctl.
 * See include/system/dirty-log.h.
 *
 * What this relies on (the kernel's admin-guide/mm/userfaultfd.rst and
 * pagemap.rst):
 *   - with UFFD_FEATURE_WP_ASYNC, a write to a write-protected page of a
 *     range registered with UFFDIO_REGISTER_MODE_WP sends no message: the
 *     kernel lifts the protection itself, and PAGEMAP_SCAN then reports
 *     the page as PAGE_IS_WRITTEN;
 *   - used alone, async write protection works on every memory type
 *     (anonymous, shmem/memfd, files);
 *   - a page is tracked only once UFFDIO_WRITEPROTECT protected it; for
 *     anonymous memory, unpopulated pages are protected too only with
 *     UFFD_FEATURE_WP_UNPOPULATED;
 *   - PAGEMAP_SCAN with PM_SCAN_WP_MATCHING write-protects the pages it
 *     reports in the same page-table walk, under the page-table lock, so
 *     no write falls between "reported" and "protected again"; it stops
 *     early when the output vector is full and says where in walk_end.
 */
#include "system/dirty-log-uffd.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/userfaultfd.h"

/* The installed headers may predate the PAGEMAP_SCAN uAPI (Linux 6.7);
 * the values are fixed ABI. */
#ifndef PAGEMAP_SCAN
#define PAGE_IS_WRITTEN (1 << 1)
#define PM_SCAN_WP_MATCHING (1 << 0)
#define PM_SCAN_CHECK_WPASYNC (1 << 1)

struct page_region {
    __u64 start;
    __u64 end;
    __u64 categories;
};

struct pm_scan_arg {
    __u64 size;
    __u64 flags;
    __u64 start;
    __u64 end;
    __u64 walk_end;
    __u64 vec;
    __u64 vec_len;
    __u64 max_pages;
    __u64 category_inverted;
    __u64 category_mask;
    __u64 category_anyof_mask;
    __u64 return_mask;
};

#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif

/* Regions per PAGEMAP_SCAN call; a full vector just means another call. */
#define SCAN_VEC_LEN 512

struct DirtyUffd {
    int uffd;
    int pagemap_fd;
    RAMBlock **blocks;
    unsigned nblocks;
    unsigned nregistered;   /* blocks[0..nregistered) are registered */
    struct page_region *vec;
};

static bool wp_range(DirtyUffd *u, RAMBlock *block, bool protect,
                     Error **errp)
{
    struct uffdio_writeprotect wp = {
        .range = { .start = (uintptr_t)block->host, .len = block->size },
        .mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
    };

    if (ioctl(u->uffd, UFFDIO_WRITEPROTECT, &wp) < 0) {
        error_setg_errno(errp, errno, "RAM block '%s': UFFDIO_WRITEPROTECT "
                         "failed", block->idstr);
        return false;
    }
    return true;
}

static bool register_block(DirtyUffd *u, RAMBlock *block, Error **errp)
{
    struct uffdio_register reg = {
        .range = { .start = (uintptr_t)block->host, .len = block->size },
        .mode = UFFDIO_REGISTER_MODE_WP,
    };

    if (ioctl(u->uffd, UFFDIO_REGISTER, &reg) < 0) {
        error_setg_errno(errp, errno, "RAM block '%s' cannot be registered "
                         "for write protection", block->idstr);
        return false;
    }
    if (!(reg.ioctls & ((__u64)1 << _UFFDIO_WRITEPROTECT))) {
        struct uffdio_range range = reg.range;

        ioctl(u->uffd, UFFDIO_UNREGISTER, &range);
        error_setg(errp, "RAM block '%s' cannot be write-protected",
                   block->idstr);
        return false;
    }
    return true;
}

/*
 * Maps the pages of a shared block that are in the page cache: one read
 * per 64 KiB, as the kernel maps the neighbours of a faulting page
 * (fault-around) on an unregistered range; MADV_POPULATE_READ takes
 * every page one by one and cost three times as much.
 */
static void map_pages(RAMBlock *block)
{
    const volatile uint8_t *p = block->host;

    for (uint64_t off = 0; off < block->size; off += 64 * 1024) {
        (void)p[off];
    }
}

static void discard_range(void *opaque, RAMBlock *block, uint64_t offset,
                          uint64_t len)
{
}

DirtyUffd *dirty_uffd_open(RAMBlock *const *blocks, unsigned nblocks,
                           bool protect, Error **errp)
{
    DirtyUffd *u = g_new0(DirtyUffd, 1);

    u->pagemap_fd = -1;
    u->blocks = g_new(RAMBlock *, nblocks);
    if (nblocks) {
        memcpy(u->blocks, blocks, sizeof(*blocks) * nblocks);
    }
    u->nblocks = nblocks;
    u->vec = g_new(struct page_region, SCAN_VEC_LEN);
    /* No UFFD_USER_MODE_ONLY: a syscall writing guest RAM for us (a
     * read() into it) dirties it too. */
    u->uffd = userfaultfd_open(O_NONBLOCK, UFFD_FEATURE_WP_ASYNC,
                               UFFD_FEATURE_WP_UNPOPULATED |
                               UFFD_FEATURE_WP_HUGETLBFS_SHMEM, NULL, errp);
    if (u->uffd < 0) {
        goto fail;
    }
    u->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (u->pagemap_fd < 0) {
        error_setg_errno(errp, errno, "cannot open /proc/self/pagemap");
        goto fail;
    }
    for (unsigned i = 0; i < nblocks; i++) {
        /* Map the pages of a file or shared memory before logging
         * starts: once registered for write protection, every first
         * touch of a shmem page is a fault of its own (no fault-around),
         * which made the first pass three times slower. */
        if (blocks[i]->fd >= 0 || blocks[i]->shared) {
            map_pages(blocks[i]);
        }
        if (!register_block(u, blocks[i], errp)) {
            goto fail;
        }
        u->nregistered++;
    }
    for (unsigned i = 0; protect && i < nblocks; i++) {
        if (!wp_range(u, blocks[i], true, errp)) {
            goto fail;
        }
    }
    /*
     * One scan now, its result dropped: it proves PAGEMAP_SCAN works here
     * (else the caller falls back before relying on it), and it protects
     * whatever UFFDIO_WRITEPROTECT left out (unpopulated anonymous pages
     * without UFFD_FEATURE_WP_UNPOPULATED), so the first sync reports
     * only real writes.  Dropping is fine: everything written since the
     * protection began is the caller's first pass anyway.
     */
    for (unsigned i = 0; i < nblocks; i++) {
        /* Unprotected, a probe of one page is proof enough: one page of
         * the backing memory (a hugetlbfs scan stops at whole pages). */
        uint64_t len = protect ? blocks[i]->size
                               : MIN(blocks[i]->size, blocks[i]->page_size);

        if (!dirty_uffd_collect(u, i, len, discard_range, NULL, errp)) {
            goto fail;
        }
    }
    return u;

fail:
    dirty_uffd_close(u);
    return NULL;
}

bool dirty_uffd_arm(DirtyUffd *u, unsigned index, uint64_t offset,
                    uint64_t len, Error **errp)
{
    RAMBlock *block = u->blocks[index];
    struct uffdio_writeprotect wp = {
        .range = { .start = (uintptr_t)block->host + offset, .len = len },
        .mode = UFFDIO_WRITEPROTECT_MODE_WP,
    };

    g_assert(index < u->nregistered && offset + len <= block->size);
    if (ioctl(u->uffd, UFFDIO_WRITEPROTECT, &wp) < 0) {
        error_setg_errno(errp, errno, "RAM block '%s': UFFDIO_WRITEPROTECT "
                         "failed", block->idstr);
        return false;
    }
    return true;
}

bool dirty_uffd_collect(DirtyUffd *u, unsigned index, uint64_t len,
                        DirtyLogRangeFunc *fn, void *opaque, Error **errp)
{
    RAMBlock *block = u->blocks[index];
    uint64_t host = (uintptr_t)block->host;
    uint64_t pos = host, end = host + MIN(len, block->size);

    g_assert(index < u->nregistered);
    while (pos < end) {
        struct pm_scan_arg arg = {
            .size = sizeof(arg),
            .flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
            .start = pos,
            .end = end,
            .vec = (uintptr_t)u->vec,
            .vec_len = SCAN_VEC_LEN,
            .category_mask = PAGE_IS_WRITTEN,
            .return_mask = PAGE_IS_WRITTEN,
        };
        long n = ioctl(u->pagemap_fd, PAGEMAP_SCAN, &arg);

        /* No retry on error: pages the failed call protected are gone
         * from the log, so the caller has to assume everything dirty. */
        if (n < 0) {
            error_setg_errno(errp, errno, errno == ENOTTY
                             ? "RAM block '%s': PAGEMAP_SCAN is not "
                               "supported by this kernel"
                             : "RAM block '%s': PAGEMAP_SCAN failed",
                             block->idstr);
            return false;
        }
        for (long i = 0; i < n; i++) {
            fn(opaque, block, u->vec[i].start - host,
               u->vec[i].end - u->vec[i].start);
        }
        if (arg.walk_end <= pos || arg.walk_end > end) {
            error_setg(errp, "RAM block '%s': PAGEMAP_SCAN stopped at an "
                       "unexpected address", block->idstr);
            return false;
        }
        pos = arg.walk_end;
    }
    return true;
}

void dirty_uffd_close(DirtyUffd *u)
{
    if (!u) {
        return;
    }
    for (unsigned i = 0; i < u->nregistered; i++) {
        RAMBlock *block = u->blocks[i];
        struct uffdio_range range = {
            .start = (uintptr_t)block->host, .len = block->size,
        };

        /* Unprotect first so no protected pte outlives the log and
         * costs the guest a fault per page later. */
        wp_range(u, block, false, NULL);
        ioctl(u->uffd, UFFDIO_UNREGISTER, &range);
    }
    if (u->pagemap_fd >= 0) {
        close(u->pagemap_fd);
    }
    if (u->uffd >= 0) {
        close(u->uffd);
    }
    g_free(u->vec);
    g_free(u->blocks);
    g_free(u);
}
