/*
 * The kernel backend of the dirty tracker: userfaultfd write protection in
 * asynchronous mode, read and re-armed with the PAGEMAP_SCAN ioctl.
 * See include/migration/dirty-tracker.h.
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
#include "system/dirty-log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The installed headers may predate the async-WP and PAGEMAP_SCAN uAPI
 * (Linux 6.7); the values are fixed ABI. */
#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1 << 12)
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif

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

/* A userfaultfd that also sees writes made by the kernel on our behalf
 * (no UFFD_USER_MODE_ONLY): a syscall writing guest RAM dirties it too. */
static int uffd_new(Error **errp)
{
    int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    int sys_errno, dev;

    if (fd >= 0) {
        return fd;
    }
    /* Refused by vm.unprivileged_userfaultfd, seccomp...: the device is
     * governed by its file permissions instead. */
    sys_errno = errno;
    dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
    if (dev >= 0) {
        fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) {
            error_setg_errno(errp, errno, "/dev/userfaultfd refused a new "
                             "userfaultfd");
        }
        close(dev);
        return fd;
    }
    error_setg(errp, "userfaultfd() failed: %s; /dev/userfaultfd: %s",
               g_strerror(sys_errno), g_strerror(errno));
    return -1;
}

/* A userfaultfd in async write-protect mode.  UFFDIO_API works once per
 * fd and fails on any unknown feature, so ask a throwaway fd first. */
static int uffd_open_async_wp(Error **errp)
{
    struct uffdio_api api = { .api = UFFD_API };
    uint64_t want;
    int fd = uffd_new(errp);

    if (fd < 0) {
        return -1;
    }
    if (ioctl(fd, UFFDIO_API, &api) < 0) {
        error_setg_errno(errp, errno, "UFFDIO_API failed");
        close(fd);
        return -1;
    }
    close(fd);
    if (!(api.features & UFFD_FEATURE_WP_ASYNC)) {
        error_setg(errp, "the kernel lacks UFFD_FEATURE_WP_ASYNC");
        return -1;
    }
    want = api.features & (UFFD_FEATURE_WP_ASYNC |
                           UFFD_FEATURE_WP_UNPOPULATED |
                           UFFD_FEATURE_WP_HUGETLBFS_SHMEM);

    fd = uffd_new(errp);
    if (fd < 0) {
        return -1;
    }
    api = (struct uffdio_api){ .api = UFFD_API, .features = want };
    if (ioctl(fd, UFFDIO_API, &api) < 0) {
        error_setg_errno(errp, errno, "UFFDIO_API with async write "
                         "protection failed");
        close(fd);
        return -1;
    }
    return fd;
}

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

static void discard_range(void *opaque, uint64_t offset, uint64_t len)
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
    u->uffd = uffd_open_async_wp(errp);
    if (u->uffd < 0) {
        goto fail;
    }
    u->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (u->pagemap_fd < 0) {
        error_setg_errno(errp, errno, "cannot open /proc/self/pagemap");
        goto fail;
    }
    for (unsigned i = 0; i < nblocks; i++) {
        /* Map the pages of a file or shared memory before tracking
         * starts: once registered for write protection, every first
         * touch of a shmem page is a fault of its own (no fault-around),
         * which made the first pass three times slower.  Advisory: a
         * kernel without MADV_POPULATE_READ just takes the faults. */
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
        /* Unprotected, a probe of one page is proof enough. */
        uint64_t len = protect ? blocks[i]->size
                               : MIN(blocks[i]->size, GUEST_PAGE_SIZE);

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
                        DirtyRangeFunc *fn, void *opaque, Error **errp)
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
            fn(opaque, u->vec[i].start - host,
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

        /* Unprotect first so no protected pte outlives the tracker and
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
