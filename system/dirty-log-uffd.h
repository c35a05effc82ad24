/*
 * The dirty log's kernel backend (dirty-log-uffd.c), for dirty-log.c
 * only: userfaultfd write protection in asynchronous mode, read and
 * re-armed with PAGEMAP_SCAN.  See include/system/dirty-log.h.
 */
#ifndef VMIG_SYSTEM_DIRTY_LOG_UFFD_H
#define VMIG_SYSTEM_DIRTY_LOG_UFFD_H

#include "system/dirty-log.h"

typedef struct DirtyUffd DirtyUffd;

/* Registers @blocks and, with @protect, write-protects them; on
 * failure @errp says why the kernel cannot log them and nothing is
 * left registered. */
DirtyUffd *dirty_uffd_open(RAMBlock *const *blocks, unsigned nblocks,
                           bool protect, Error **errp);
/* Write-protects bytes [@offset, @offset + @len) of block @index. */
bool dirty_uffd_arm(DirtyUffd *u, unsigned index, uint64_t offset,
                    uint64_t len, Error **errp);
/* Reports the written ranges in the first @len bytes of block @index
 * to @fn and re-protects them. */
bool dirty_uffd_collect(DirtyUffd *u, unsigned index, uint64_t len,
                        DirtyLogRangeFunc *fn, void *opaque, Error **errp);
void dirty_uffd_close(DirtyUffd *u);

#endif
