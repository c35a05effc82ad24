/*
 * Tells ThreadSanitizer about GLib's synchronisation (TSan builds only).
 *
 * The distribution's GLib is not instrumented: GMutex and GCond are futex
 * code TSan cannot see, and GMainContext orders a source's attach before
 * its dispatch with an internal lock.  Without this every access guarded
 * by a GMutex would be reported.  The TSan build links with
 * -Wl,--wrap=SYMBOL for each function below (meson.build), so our calls
 * reach __wrap_SYMBOL, which annotates around GLib's own implementation,
 * __real_SYMBOL: the behaviour is GLib's, only TSan learns more.  GLib's
 * calls to itself are not wrapped; the objects it locks internally are
 * its own, never ours.
 */
#include <glib.h>

#include "util/atomic.h"
#include "util/tsan.h"

/* The real functions, resolved by the linker's --wrap. */
void __real_g_mutex_init(GMutex *mutex);
void __real_g_mutex_clear(GMutex *mutex);
void __real_g_mutex_lock(GMutex *mutex);
void __real_g_mutex_unlock(GMutex *mutex);
gboolean __real_g_mutex_trylock(GMutex *mutex);
void __real_g_cond_wait(GCond *cond, GMutex *mutex);
gboolean __real_g_cond_wait_until(GCond *cond, GMutex *mutex,
                                  gint64 end_time);
gboolean __real_g_once_init_enter(volatile void *location);
void __real_g_once_init_leave(volatile void *location, gsize result);
guint __real_g_source_attach(GSource *source, GMainContext *context);

/* Our own prototypes, for -Wmissing-prototypes. */
void __wrap_g_mutex_init(GMutex *mutex);
void __wrap_g_mutex_clear(GMutex *mutex);
void __wrap_g_mutex_lock(GMutex *mutex);
void __wrap_g_mutex_unlock(GMutex *mutex);
gboolean __wrap_g_mutex_trylock(GMutex *mutex);
void __wrap_g_cond_wait(GCond *cond, GMutex *mutex);
gboolean __wrap_g_cond_wait_until(GCond *cond, GMutex *mutex,
                                  gint64 end_time);
gboolean __wrap_g_once_init_enter(volatile void *location);
void __wrap_g_once_init_leave(volatile void *location, gsize result);
guint __wrap_g_source_attach(GSource *source, GMainContext *context);
void __wrap_g_source_set_callback(GSource *source, GSourceFunc func,
                                  gpointer data, GDestroyNotify notify);
guint __wrap_g_idle_add(GSourceFunc func, gpointer data);
guint __wrap_g_idle_add_full(gint priority, GSourceFunc func, gpointer data,
                             GDestroyNotify notify);

/*
 * GLib creates the default main context (and its wake-up eventfd) on
 * first use, under a lock of its own: make that the main thread, before
 * any other thread exists.
 */
static void __attribute__((constructor)) create_default_context(void)
{
    g_main_context_default();
}

/* ---- GMutex, GCond: a TSan mutex at the GMutex's address ---- */

void __wrap_g_mutex_init(GMutex *mutex)
{
    __real_g_mutex_init(mutex);
    __tsan_mutex_create(mutex, 0);
}

void __wrap_g_mutex_clear(GMutex *mutex)
{
    /* A GMutex on the stack is not freed: forget it explicitly, or the
     * next one at that address would inherit its history. */
    __tsan_mutex_destroy(mutex, 0);
    __real_g_mutex_clear(mutex);
}

void __wrap_g_mutex_lock(GMutex *mutex)
{
    __tsan_mutex_pre_lock(mutex, 0);
    __real_g_mutex_lock(mutex);
    __tsan_mutex_post_lock(mutex, 0, 0);
}

void __wrap_g_mutex_unlock(GMutex *mutex)
{
    __tsan_mutex_pre_unlock(mutex, 0);
    __real_g_mutex_unlock(mutex);
    __tsan_mutex_post_unlock(mutex, 0);
}

gboolean __wrap_g_mutex_trylock(GMutex *mutex)
{
    gboolean ok;

    __tsan_mutex_pre_lock(mutex, TSAN_MUTEX_TRY_LOCK);
    ok = __real_g_mutex_trylock(mutex);
    __tsan_mutex_post_lock(mutex, TSAN_MUTEX_TRY_LOCK |
                           (ok ? 0 : TSAN_MUTEX_TRY_LOCK_FAILED), 0);
    return ok;
}

/* GLib's wait unlocks and relocks @mutex itself, unwrapped: say so. */
static void cond_wait_unlocks(GMutex *mutex)
{
    __tsan_mutex_pre_unlock(mutex, 0);
    __tsan_mutex_post_unlock(mutex, 0);
}

static void cond_wait_relocked(GMutex *mutex)
{
    __tsan_mutex_pre_lock(mutex, 0);
    __tsan_mutex_post_lock(mutex, 0, 0);
}

void __wrap_g_cond_wait(GCond *cond, GMutex *mutex)
{
    cond_wait_unlocks(mutex);
    __real_g_cond_wait(cond, mutex);
    cond_wait_relocked(mutex);
}

gboolean __wrap_g_cond_wait_until(GCond *cond, GMutex *mutex,
                                  gint64 end_time)
{
    gboolean signalled;

    cond_wait_unlocks(mutex);
    signalled = __real_g_cond_wait_until(cond, mutex, end_time);
    cond_wait_relocked(mutex);
    return signalled;
}

/* ---- g_once_init_*(): what leave() publishes, enter() sees ---- */

gboolean __wrap_g_once_init_enter(volatile void *location)
{
    gboolean first = __real_g_once_init_enter(location);

    if (!first) {
        /* Someone else initialised it (the inline fast path's atomic
         * load acquires the same address by itself). */
        __tsan_acquire((void *)location);
    }
    return first;
}

void __wrap_g_once_init_leave(volatile void *location, gsize result)
{
    __tsan_release((void *)location);
    __real_g_once_init_leave(location, result);
}

/*
 * ---- GMainContext: attaching a source happens before its dispatch ----
 *
 * The callback is stored indirectly, so GLib asks us for it right before
 * each dispatch (GSourceCallbackFuncs.get, in the dispatching thread):
 * that is where the dispatcher acquires what the attaching thread
 * released.
 */

typedef struct TsanCallback {
    int refs;
    GSourceFunc func;
    gpointer data;
    GDestroyNotify notify;
} TsanCallback;

static void callback_ref(gpointer opaque)
{
    TsanCallback *cb = opaque;

    /* The first use in the dispatching thread comes before get(). */
    __tsan_acquire(cb);
    qatomic_inc(&cb->refs);
}

static void callback_unref(gpointer opaque)
{
    TsanCallback *cb = opaque;

    if (qatomic_dec_fetch(&cb->refs) == 0) {
        if (cb->notify) {
            cb->notify(cb->data);
        }
        g_free(cb);
    }
}

static void callback_get(gpointer opaque, GSource *source,
                         GSourceFunc *func, gpointer *data)
{
    TsanCallback *cb = opaque;

    __tsan_acquire(source);
    *func = cb->func;
    *data = cb->data;
}

static GSourceCallbackFuncs callback_funcs = {
    .ref = callback_ref,
    .unref = callback_unref,
    .get = callback_get,
};

void __wrap_g_source_set_callback(GSource *source, GSourceFunc func,
                                  gpointer data, GDestroyNotify notify)
{
    TsanCallback *cb = g_new(TsanCallback, 1);

    *cb = (TsanCallback){ .refs = 1, .func = func, .data = data,
                          .notify = notify };
    __tsan_release(cb);
    g_source_set_callback_indirect(source, cb, &callback_funcs);
}

guint __wrap_g_source_attach(GSource *source, GMainContext *context)
{
    guint id;

    __tsan_release(source);
    /* Inside, GLib works on the context's own data under the context's
     * own lock, which TSan cannot see: not our accesses to check. */
    tsan_ignore_begin();
    id = __real_g_source_attach(source, context);
    tsan_ignore_end();
    return id;
}

/* GLib's own, but through the wrapped functions above. */
guint __wrap_g_idle_add_full(gint priority, GSourceFunc func, gpointer data,
                             GDestroyNotify notify)
{
    GSource *source = g_idle_source_new();
    guint id;

    if (priority != G_PRIORITY_DEFAULT_IDLE) {
        g_source_set_priority(source, priority);
    }
    __wrap_g_source_set_callback(source, func, data, notify);
    id = __wrap_g_source_attach(source, NULL);
    g_source_unref(source);
    return id;
}

guint __wrap_g_idle_add(GSourceFunc func, gpointer data)
{
    return __wrap_g_idle_add_full(G_PRIORITY_DEFAULT_IDLE, func, data, NULL);
}

