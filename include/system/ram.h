/*
 * Guest RAM: RAM blocks and the guest's list of them.
 *
 * A RAMBlock is one whole mmap() of host memory: anonymous, a file, or a
 * memfd.  Memory backend objects (memory-backend.c) and the machine's
 * default "pc.ram" allocate blocks; a block becomes guest RAM when it is
 * registered.  Registered blocks are laid out end to end in registration
 * order, giving every byte of guest RAM a "guest offset" (QEMU's
 * ram_addr_t): block->offset is where the block starts.
 *
 * Blocks keep their fd and the offset into it, and are never split, so
 * the migration code can later use userfaultfd, /proc/self/pagemap and
 * shared mappings on them as they are.
 *
 * Threads: blocks are registered and unregistered only while the machine
 * is set up or torn down, when no vCPU thread runs; the guest RAM list can
 * then be read from any thread without locking.
 *
 * Error messages of the allocation functions describe the problem but not
 * the block; callers prefix them with what they were creating.
 */
#ifndef VMIG_SYSTEM_RAM_H
#define VMIG_SYSTEM_RAM_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "qapi/error.h"

/* The guest's page: the unit in which the workload writes and in which
 * migration will track dirty memory.  Every block size is a multiple of
 * it, as host page sizes are. */
#define GUEST_PAGE_SIZE 4096u

typedef struct RAMBlock {
    char *idstr;        /* unique among registered blocks */
    uint8_t *host;      /* start of the mapping */
    uint64_t size;      /* bytes, a multiple of page_size */
    uint64_t page_size; /* page size of the backing memory */
    uint64_t offset;    /* guest offset, valid while registered */
    int fd;             /* backing file or memfd; -1 if anonymous */
    uint64_t fd_offset; /* offset of the mapping in fd */
    char *mem_path;     /* memory-backend-file's mem-path, else NULL */
    bool shared;        /* MAP_SHARED rather than MAP_PRIVATE */
    bool registered;    /* part of guest RAM */
} RAMBlock;

/* Anonymous memory; private memory is aligned to, and asks for,
 * transparent huge pages (see system/ram.c). */
RAMBlock *ram_block_new_anon(const char *idstr, uint64_t size, bool share,
                             Error **errp);
/*
 * Memory of a file at @mem_path: a directory gets a new unlinked temporary
 * file; a missing file is created; an empty file is extended to @size; a
 * non-empty one must be at least @size bytes long.
 */
RAMBlock *ram_block_new_file(const char *idstr, const char *mem_path,
                             uint64_t size, bool share, Error **errp);
/* Memory of a new memfd; @seal forbids growing/shrinking it later. */
RAMBlock *ram_block_new_memfd(const char *idstr, uint64_t size, bool share,
                              bool seal, Error **errp);
/* Unmaps and closes; the block must not be registered. */
void ram_block_free(RAMBlock *block);

/*
 * Makes the host back every page of @block now (QEMU's prealloc), so the
 * guest, or an incoming migration writing its memory, never waits for a
 * first-touch page fault.  Contents are unchanged.
 */
bool ram_block_prealloc(RAMBlock *block, Error **errp);

/*
 * Whether @block is a shared mapping of a file that another process can
 * map too, by name: memory-backend-file with share=on and a mem-path that
 * still names the mapped file (not a directory, whose file is unlinked,
 * nor a file replaced since).  Then *@dev and *@ino identify the file.
 */
bool ram_block_shared_file(const RAMBlock *block, uint64_t *dev,
                           uint64_t *ino);

/*
 * Whether the pages @block drops (ram_block_discard_range()) are gone,
 * not merely unmapped: then they read zero and userfaultfd sees them
 * missing.  True for private anonymous memory and for shared memory the
 * kernel keeps itself (shared anonymous, tmpfs, memfd, hugetlbfs);
 * false, with *@why saying why, for a private mapping of a file (its
 * pages come back from the file) and a shared mapping of a file on any
 * other filesystem (its pages come back from the disk).
 */
bool ram_block_drops_pages(const RAMBlock *block, const char **why);

/*
 * Drops @len bytes at @offset of @block, whole pages of its backing
 * memory (block->page_size): MADV_DONTNEED for private anonymous memory,
 * a hole punched in the file for shared memory (MADV_REMOVE when it has
 * no fd), so the memory goes back to the host.
 */
bool ram_block_discard_range(RAMBlock *block, uint64_t offset,
                             uint64_t len, Error **errp);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RAMBlock, ram_block_free)

/* Makes @block guest RAM, after the blocks registered before it. */
bool ram_block_register(RAMBlock *block, Error **errp);
/* Removes @block from guest RAM; blocks after it move down. */
void ram_block_unregister(RAMBlock *block);

/* The registered block called @idstr, or NULL. */
RAMBlock *ram_block_find(const char *idstr);

/* Calls @fn for each registered block in guest order until it returns
 * nonzero; returns that value (0 if every call returned 0). */
typedef int RAMBlockIterFunc(RAMBlock *block, void *opaque);
int ram_block_foreach(RAMBlockIterFunc *fn, void *opaque);

/* The registered blocks in guest order, as a new array of borrowed
 * pointers. */
GPtrArray *ram_guest_blocks(void);

/* Total size of guest RAM. */
uint64_t ram_guest_size(void);

/* The host address of guest bytes [@offset, @offset + @len), which must
 * lie within one block; NULL if they do not. */
void *ram_guest_ptr(uint64_t offset, uint64_t len);

#endif
