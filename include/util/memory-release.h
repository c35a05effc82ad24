/*
 * Giving freed memory back to the system.
 *
 * free() does not always lower the process's RSS: glibc keeps freed heap
 * memory for reuse (it trims only the top of the heap, and not even that
 * below a threshold that grows with the allocations seen), and
 * AddressSanitizer holds up to 256 MiB of freed blocks in its quarantine.
 * After letting go of a large amount that a peer made us allocate (a QMP
 * client's output), call memory_release() so that the memory is the
 * system's again, not merely free inside vmig.
 */
#ifndef VMIG_UTIL_MEMORY_RELEASE_H
#define VMIG_UTIL_MEMORY_RELEASE_H

#include <stddef.h>

/* Freeing at least this much in one go is worth a memory_release(). */
#define MEMORY_RELEASE_MIN ((size_t)1 << 20)

/* Returns the free memory of the allocator (and of ASan's quarantine)
 * to the system.  Costs a walk of the heap: not for every free(). */
void memory_release(void);

#endif
