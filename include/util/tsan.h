/*
 * ThreadSanitizer annotations; empty unless built with -fsanitize=thread.
 * The declarations are the runtime's (compiler-rt tsan_interface.h and
 * dynamic_annotations), written here so no sanitizer headers are needed.
 */
#ifndef VMIG_UTIL_TSAN_H
#define VMIG_UTIL_TSAN_H

#ifdef __SANITIZE_THREAD__

void __tsan_acquire(void *addr);
void __tsan_release(void *addr);

void __tsan_mutex_create(void *addr, unsigned flags);
void __tsan_mutex_destroy(void *addr, unsigned flags);
void __tsan_mutex_pre_lock(void *addr, unsigned flags);
void __tsan_mutex_post_lock(void *addr, unsigned flags, int recursion);
int __tsan_mutex_pre_unlock(void *addr, unsigned flags);
void __tsan_mutex_post_unlock(void *addr, unsigned flags);
#define TSAN_MUTEX_TRY_LOCK         (1u << 4)
#define TSAN_MUTEX_TRY_LOCK_FAILED  (1u << 5)

void AnnotateIgnoreWritesBegin(const char *file, int line);
void AnnotateIgnoreWritesEnd(const char *file, int line);

/* The accesses of this thread between begin and end are not checked (nor
 * recorded for later checks).  Sync operations still count. */
#define tsan_ignore_begin() AnnotateIgnoreWritesBegin(__FILE__, __LINE__)
#define tsan_ignore_end()   AnnotateIgnoreWritesEnd(__FILE__, __LINE__)

#else

#define tsan_ignore_begin() do { } while (0)
#define tsan_ignore_end()   do { } while (0)

#endif

#endif
