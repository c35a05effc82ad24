/*
 * The one atomic API of vmig (QEMU's names): thin macros over the GCC/clang
 * __atomic builtins, which ThreadSanitizer understands, so every atomic
 * access of ours is visible to it.  Do not use <stdatomic.h>, g_atomic_*
 * or bare __atomic_* elsewhere.
 *
 * Orders:
 *   qatomic_read/set                   relaxed (a value, no ordering)
 *   qatomic_load_acquire/store_release acquire / release
 *   qatomic_mb_read/mb_set             sequentially consistent
 *   every read-modify-write            sequentially consistent
 */
#ifndef VMIG_UTIL_ATOMIC_H
#define VMIG_UTIL_ATOMIC_H

/* A compiler barrier: no code is moved across it, the CPU may still. */
#define barrier()   __atomic_signal_fence(__ATOMIC_SEQ_CST)

#define qatomic_read(ptr)           __atomic_load_n(ptr, __ATOMIC_RELAXED)
#define qatomic_set(ptr, val)       __atomic_store_n(ptr, val, __ATOMIC_RELAXED)
#define qatomic_load_acquire(ptr)   __atomic_load_n(ptr, __ATOMIC_ACQUIRE)
#define qatomic_store_release(ptr, val) \
    __atomic_store_n(ptr, val, __ATOMIC_RELEASE)
#define qatomic_mb_read(ptr)        __atomic_load_n(ptr, __ATOMIC_SEQ_CST)
#define qatomic_mb_set(ptr, val)    __atomic_store_n(ptr, val, __ATOMIC_SEQ_CST)

/* Return the old value. */
#define qatomic_fetch_add(ptr, n)   __atomic_fetch_add(ptr, n, __ATOMIC_SEQ_CST)
#define qatomic_fetch_sub(ptr, n)   __atomic_fetch_sub(ptr, n, __ATOMIC_SEQ_CST)
#define qatomic_fetch_and(ptr, n)   __atomic_fetch_and(ptr, n, __ATOMIC_SEQ_CST)
#define qatomic_fetch_or(ptr, n)    __atomic_fetch_or(ptr, n, __ATOMIC_SEQ_CST)
#define qatomic_fetch_inc(ptr)      qatomic_fetch_add(ptr, 1)
#define qatomic_fetch_dec(ptr)      qatomic_fetch_sub(ptr, 1)
#define qatomic_xchg(ptr, val)      __atomic_exchange_n(ptr, val, __ATOMIC_SEQ_CST)

/* Return the new value. */
#define qatomic_add_fetch(ptr, n)   __atomic_add_fetch(ptr, n, __ATOMIC_SEQ_CST)
#define qatomic_inc_fetch(ptr)      qatomic_add_fetch(ptr, 1)
#define qatomic_dec_fetch(ptr)      __atomic_sub_fetch(ptr, 1, __ATOMIC_SEQ_CST)

/* No value. */
#define qatomic_add(ptr, n)         ((void)qatomic_fetch_add(ptr, n))
#define qatomic_inc(ptr)            ((void)qatomic_fetch_add(ptr, 1))
#define qatomic_dec(ptr)            ((void)qatomic_fetch_sub(ptr, 1))
#define qatomic_and(ptr, n)         ((void)qatomic_fetch_and(ptr, n))
#define qatomic_or(ptr, n)          ((void)qatomic_fetch_or(ptr, n))

/* Stores @new if *@ptr holds @old; returns what *@ptr held (== @old on
 * success). */
#define qatomic_cmpxchg(ptr, old, new)                                  \
    ({                                                                  \
        __typeof__(*(ptr)) qatomic_old_ = (old);                        \
        (void)__atomic_compare_exchange_n(ptr, &qatomic_old_, new, 0,   \
                                          __ATOMIC_SEQ_CST,             \
                                          __ATOMIC_SEQ_CST);            \
        qatomic_old_;                                                   \
    })

/*
 * A full CPU barrier.  ThreadSanitizer does not model fences (GCC says so
 * with -Wtsan): code that relies on one for an order TSan must see has to
 * order through an atomic access instead.
 */
#ifdef __SANITIZE_THREAD__
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtsan"
#endif
static inline void smp_mb(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
#ifdef __SANITIZE_THREAD__
#pragma GCC diagnostic pop
#endif

#endif
