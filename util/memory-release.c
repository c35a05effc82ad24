/*
 * See include/util/memory-release.h.
 */
#include "util/memory-release.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define VMIG_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VMIG_ASAN 1
#endif
#endif

#ifdef VMIG_ASAN
/* <sanitizer/allocator_interface.h>, which not every compiler ships. */
void __sanitizer_purge_allocator(void);
#endif

void memory_release(void)
{
#ifdef VMIG_ASAN
    /* ASan's allocator replaces glibc's: empty its quarantine. */
    __sanitizer_purge_allocator();
#elif defined(__GLIBC__)
    malloc_trim(0);
#endif
}
