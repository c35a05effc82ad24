/*
 * RAM blocks: allocation of host memory and the guest RAM list.
 * See include/system/ram.h.
 */
#include "system/ram.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "util/cutils.h"

/* Registered blocks in guest order. */
static GPtrArray *guest_blocks;

static uint64_t host_page_size(void)
{
    return (uint64_t)sysconf(_SC_PAGESIZE);
}

/* hugetlbfs files are made of huge pages; everything else of host pages. */
static uint64_t fd_page_size(int fd)
{
    struct statfs fs;

    if (fstatfs(fd, &fs) == 0 && fs.f_type == HUGETLBFS_MAGIC) {
        return fs.f_bsize;
    }
    return host_page_size();
}

static bool check_size(uint64_t size, uint64_t page_size, Error **errp)
{
    if (size == 0) {
        error_setg(errp, "size must not be zero");
        return false;
    }
    if (size % page_size) {
        error_setg(errp, "size %" PRIu64 " is not a multiple of the page "
                   "size %" PRIu64, size, page_size);
        return false;
    }
    if (size > SIZE_MAX) {
        error_setg(errp, "size %" PRIu64 " is too large for this host",
                   size);
        return false;
    }
    return true;
}

/* The size of a transparent huge page (a PMD), or 0 if THP is absent. */
static uint64_t thp_size(void)
{
    g_autofree char *text = NULL;

    if (!g_file_get_contents("/sys/kernel/mm/transparent_hugepage/"
                             "hpage_pmd_size", &text, NULL, NULL)) {
        return 0;
    }
    return g_ascii_strtoull(text, NULL, 10);
}

/*
 * Private anonymous memory, aligned to a huge page and marked for
 * transparent huge pages (as QEMU does): most hosts enable THP only on
 * madvise().  Huge pages make the page tables 512 times smaller, which
 * is what migration walks to write-protect guest RAM for dirty tracking,
 * and save TLB misses when it copies the RAM to and from the socket.  A
 * guest write to a write-protected huge page splits it, so dirty pages
 * are still tracked one guest page at a time.
 */
static void *map_anon_private(uint64_t size)
{
    uint64_t huge = thp_size();
    uint8_t *raw, *host;
    uint64_t head;

    if (!huge || (huge & (huge - 1)) || size < huge) {
        return mmap(NULL, size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    }
    /* Over-allocate by a huge page, then trim both ends to alignment. */
    raw = mmap(NULL, size + huge, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED) {
        return MAP_FAILED;
    }
    host = (uint8_t *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
    head = host - raw;
    if (head) {
        munmap(raw, head);
    }
    munmap(host + size, huge - head);
    /* Only a hint: without THP the memory works the same. */
    madvise(host, size, MADV_HUGEPAGE);
    return host;
}

/* Maps @fd (or anonymous memory if -1) and wraps it in a block, which takes
 * ownership of @fd; on failure @fd is left to the caller. */
static RAMBlock *block_new(const char *idstr, int fd, uint64_t size,
                           uint64_t page_size, bool share, Error **errp)
{
    int flags = (share ? MAP_SHARED : MAP_PRIVATE) | MAP_NORESERVE;
    void *host;

    if (fd < 0) {
        flags |= MAP_ANONYMOUS;
    }
    host = fd < 0 && !share
           ? map_anon_private(size)
           : mmap(NULL, size, PROT_READ | PROT_WRITE, flags, fd, 0);
    if (host == MAP_FAILED) {
        g_autofree char *sz = size_to_str(size);
        error_setg_errno(errp, errno, "cannot map %s of memory", sz);
        return NULL;
    }

    RAMBlock *block = g_new0(RAMBlock, 1);
    block->idstr = g_strdup(idstr);
    block->host = host;
    block->size = size;
    block->page_size = page_size;
    block->fd = fd;
    block->fd_offset = 0;
    block->shared = share;
    return block;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

bool ram_block_prealloc(RAMBlock *block, Error **errp)
{
    if (madvise(block->host, block->size, MADV_POPULATE_WRITE) == 0) {
        return true;
    }
    if (errno != EINVAL) {
        error_setg_errno(errp, errno, "cannot preallocate %" PRIu64
                         " bytes of RAM block '%s'", block->size,
                         block->idstr);
        return false;
    }
    /*
     * Kernels before 5.14 lack MADV_POPULATE_WRITE: write each page's
     * first byte back to itself.  Nothing else runs on the block yet.
     */
    for (uint64_t off = 0; off < block->size; off += block->page_size) {
        volatile uint8_t *p = block->host + off;

        *p = *p;
    }
    return true;
}

RAMBlock *ram_block_new_anon(const char *idstr, uint64_t size, bool share,
                             Error **errp)
{
    if (!check_size(size, host_page_size(), errp)) {
        return NULL;
    }
    return block_new(idstr, -1, size, host_page_size(), share, errp);
}

/*
 * Opens (or creates) the file a memory-backend-file maps.  Sets *created
 * when a new file was made at @mem_path, so a failure can remove it again.
 */
static int open_mem_path(const char *mem_path, bool *created, Error **errp)
{
    struct stat st;
    int fd;

    *created = false;
    if (stat(mem_path, &st) == 0 && S_ISDIR(st.st_mode)) {
        g_autofree char *tmpl = g_build_filename(mem_path, "vmig-ram-XXXXXX",
                                                 NULL);
        fd = g_mkstemp_full(tmpl, O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0) {
            error_setg_errno(errp, errno, "cannot create a file in "
                             "mem-path '%s'", mem_path);
            return -1;
        }
        /* Only the mapping keeps it alive: nothing to clean up later. */
        unlink(tmpl);
        return fd;
    }

    fd = open(mem_path, O_RDWR | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        fd = open(mem_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        *created = fd >= 0;
    }
    if (fd < 0) {
        error_setg_errno(errp, errno, "cannot open mem-path '%s'", mem_path);
    }
    return fd;
}

RAMBlock *ram_block_new_file(const char *idstr, const char *mem_path,
                             uint64_t size, bool share, Error **errp)
{
    bool created;
    struct stat st;
    RAMBlock *block = NULL;
    int fd = open_mem_path(mem_path, &created, errp);

    if (fd < 0) {
        return NULL;
    }
    if (fstat(fd, &st) < 0) {
        error_setg_errno(errp, errno, "cannot stat mem-path '%s'", mem_path);
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        error_setg(errp, "mem-path '%s' is neither a regular file nor a "
                   "directory", mem_path);
        goto fail;
    }

    uint64_t page_size = fd_page_size(fd);
    if (!check_size(size, page_size, errp)) {
        goto fail;
    }
    if (st.st_size == 0) {
        if (ftruncate(fd, size) < 0) {
            error_setg_errno(errp, errno, "cannot extend mem-path '%s' to "
                             "%" PRIu64 " bytes", mem_path, size);
            goto fail;
        }
    } else if ((uint64_t)st.st_size < size) {
        error_setg(errp, "mem-path '%s' is %" PRIu64 " bytes long, less "
                   "than size %" PRIu64, mem_path, (uint64_t)st.st_size,
                   size);
        goto fail;
    }

    block = block_new(idstr, fd, size, page_size, share, errp);
    if (!block) {
        goto fail;
    }
    block->mem_path = g_strdup(mem_path);
    return block;

fail:
    if (created) {
        unlink(mem_path);
    }
    close(fd);
    return NULL;
}

RAMBlock *ram_block_new_memfd(const char *idstr, uint64_t size, bool share,
                              bool seal, Error **errp)
{
    const unsigned seals = F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL;
    RAMBlock *block;
    int fd;

    if (!check_size(size, host_page_size(), errp)) {
        return NULL;
    }
    fd = memfd_create(idstr, MFD_CLOEXEC | (seal ? MFD_ALLOW_SEALING : 0));
    if (fd < 0) {
        error_setg_errno(errp, errno, "cannot create a memfd");
        return NULL;
    }
    if (ftruncate(fd, size) < 0) {
        error_setg_errno(errp, errno, "cannot resize the memfd to %" PRIu64
                         " bytes", size);
        goto fail;
    }
    if (seal && fcntl(fd, F_ADD_SEALS, seals) < 0) {
        error_setg_errno(errp, errno, "cannot seal the memfd");
        goto fail;
    }
    block = block_new(idstr, fd, size, host_page_size(), share, errp);
    if (!block) {
        goto fail;
    }
    return block;

fail:
    close(fd);
    return NULL;
}

bool ram_block_drops_pages(const RAMBlock *block, const char **why)
{
    struct statfs fs;

    if (block->fd < 0) {
        return true;
    }
    if (!block->shared) {
        *why = "a private mapping of a file, whose dropped pages come "
               "back from the file";
        return false;
    }
    if (fstatfs(block->fd, &fs) < 0 ||
        (fs.f_type != TMPFS_MAGIC && fs.f_type != HUGETLBFS_MAGIC)) {
        *why = "a shared mapping of a file on a disk filesystem, whose "
               "dropped pages come back from the disk (tmpfs, memfd and "
               "hugetlbfs memory can be dropped)";
        return false;
    }
    return true;
}

bool ram_block_discard_range(RAMBlock *block, uint64_t offset,
                             uint64_t len, Error **errp)
{
    int r;

    if (offset % block->page_size || len % block->page_size ||
        offset > block->size || block->size - offset < len) {
        error_setg(errp, "cannot drop %" PRIu64 " bytes at 0x%" PRIx64
                   " of RAM block '%s': not whole %" PRIu64 "-byte pages "
                   "of its %" PRIu64 " bytes", len, offset, block->idstr,
                   block->page_size, block->size);
        return false;
    }
    if (!block->shared) {
        r = madvise(block->host + offset, len, MADV_DONTNEED);
    } else if (block->fd >= 0) {
        r = fallocate(block->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      block->fd_offset + offset, len);
    } else {
        r = madvise(block->host + offset, len, MADV_REMOVE);
    }
    if (r < 0) {
        error_setg_errno(errp, errno, "cannot drop %" PRIu64 " bytes at "
                         "0x%" PRIx64 " of RAM block '%s'", len, offset,
                         block->idstr);
        return false;
    }
    return true;
}

bool ram_block_shared_file(const RAMBlock *block, uint64_t *dev,
                           uint64_t *ino)
{
    struct stat mapped, named;

    if (!block->shared || block->fd < 0 || !block->mem_path ||
        fstat(block->fd, &mapped) < 0 || stat(block->mem_path, &named) < 0 ||
        mapped.st_dev != named.st_dev || mapped.st_ino != named.st_ino) {
        return false;
    }
    *dev = mapped.st_dev;
    *ino = mapped.st_ino;
    return true;
}

void ram_block_free(RAMBlock *block)
{
    if (!block) {
        return;
    }
    g_assert(!block->registered);
    munmap(block->host, block->size);
    if (block->fd >= 0) {
        close(block->fd);
    }
    g_free(block->idstr);
    g_free(block->mem_path);
    g_free(block);
}

/* Guest RAM list */

static void update_offsets(void)
{
    uint64_t offset = 0;

    for (guint i = 0; guest_blocks && i < guest_blocks->len; i++) {
        RAMBlock *block = g_ptr_array_index(guest_blocks, i);
        block->offset = offset;
        offset += block->size;
    }
}

bool ram_block_register(RAMBlock *block, Error **errp)
{
    if (block->registered) {
        error_setg(errp, "RAM block '%s' is already guest RAM", block->idstr);
        return false;
    }
    if (ram_block_find(block->idstr)) {
        error_setg(errp, "a RAM block named '%s' already exists",
                   block->idstr);
        return false;
    }
    if (!guest_blocks) {
        guest_blocks = g_ptr_array_new();
    }
    g_ptr_array_add(guest_blocks, block);
    block->registered = true;
    update_offsets();
    return true;
}

void ram_block_unregister(RAMBlock *block)
{
    g_assert(block->registered);
    g_ptr_array_remove(guest_blocks, block);
    block->registered = false;
    block->offset = 0;
    if (guest_blocks->len == 0) {
        g_ptr_array_free(guest_blocks, TRUE);
        guest_blocks = NULL;
    }
    update_offsets();
}

RAMBlock *ram_block_find(const char *idstr)
{
    for (guint i = 0; guest_blocks && i < guest_blocks->len; i++) {
        RAMBlock *block = g_ptr_array_index(guest_blocks, i);
        if (strcmp(block->idstr, idstr) == 0) {
            return block;
        }
    }
    return NULL;
}

int ram_block_foreach(RAMBlockIterFunc *fn, void *opaque)
{
    for (guint i = 0; guest_blocks && i < guest_blocks->len; i++) {
        int ret = fn(g_ptr_array_index(guest_blocks, i), opaque);
        if (ret) {
            return ret;
        }
    }
    return 0;
}

GPtrArray *ram_guest_blocks(void)
{
    GPtrArray *blocks = g_ptr_array_new();

    for (guint i = 0; guest_blocks && i < guest_blocks->len; i++) {
        g_ptr_array_add(blocks, g_ptr_array_index(guest_blocks, i));
    }
    return blocks;
}

uint64_t ram_guest_size(void)
{
    RAMBlock *last;

    if (!guest_blocks) {
        return 0;
    }
    last = g_ptr_array_index(guest_blocks, guest_blocks->len - 1);
    return last->offset + last->size;
}

void *ram_guest_ptr(uint64_t offset, uint64_t len)
{
    /* A handful of blocks at most: a linear search is fine. */
    for (guint i = 0; guest_blocks && i < guest_blocks->len; i++) {
        RAMBlock *block = g_ptr_array_index(guest_blocks, i);
        if (offset >= block->offset &&
            offset - block->offset < block->size) {
            uint64_t in_block = offset - block->offset;
            return len <= block->size - in_block ? block->host + in_block
                                                 : NULL;
        }
    }
    return NULL;
}
