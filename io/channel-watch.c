/*
 * Waiting for a QIOChannel to become readable or writable: a GSource on
 * its descriptor, so the GLib main loop can wait for it, and a private
 * loop for callers that must block (qio_channel_wait()).
 */
#include "io/channel-impl.h"

typedef struct QIOChannelFdWatch {
    GSource source;
    QIOChannel *ioc;
    gpointer tag;
    GIOCondition cond;
} QIOChannelFdWatch;

/* No prepare or check: GLib dispatches a source whose unix fd has
 * events on its own. */
static gboolean fd_watch_dispatch(GSource *source, GSourceFunc callback,
                                  gpointer user_data)
{
    QIOChannelFdWatch *w = (QIOChannelFdWatch *)source;
    /* Set through G_SOURCE_FUNC() from a QIOChannelFunc. */
    QIOChannelFunc *func = (QIOChannelFunc *)(void (*)(void))callback;
    GIOCondition got = g_source_query_unix_fd(source, w->tag);

    if (!func) {
        g_warning("watch on channel '%s' has no callback", w->ioc->name);
        return G_SOURCE_REMOVE;
    }
    return func(w->ioc, got & (w->cond | G_IO_HUP | G_IO_ERR | G_IO_NVAL),
                user_data);
}

static void fd_watch_finalize(GSource *source)
{
    QIOChannelFdWatch *w = (QIOChannelFdWatch *)source;

    qio_channel_unref(w->ioc);
}

static GSourceFuncs fd_watch_funcs = {
    .dispatch = fd_watch_dispatch,
    .finalize = fd_watch_finalize,
};

GSource *qio_channel_fd_watch_new(QIOChannel *ioc, int fd,
                                  GIOCondition cond)
{
    GSource *source = g_source_new(&fd_watch_funcs,
                                   sizeof(QIOChannelFdWatch));
    QIOChannelFdWatch *w = (QIOChannelFdWatch *)source;
    g_autofree char *name = g_strdup_printf("QIOChannel watch '%s'",
                                            ioc->name);

    w->ioc = qio_channel_ref(ioc);
    w->cond = cond;
    w->tag = g_source_add_unix_fd(source, fd, cond);
    g_source_set_name(source, name);
    return source;
}

GSource *qio_channel_create_watch(QIOChannel *ioc, GIOCondition cond)
{
    int fd;

    if (ioc->closed) {
        return NULL;
    }
    if (ioc->klass->create_watch) {
        return ioc->klass->create_watch(ioc, cond);
    }
    fd = ioc->klass->get_fd(ioc);
    return fd < 0 ? NULL : qio_channel_fd_watch_new(ioc, fd, cond);
}

guint qio_channel_add_watch(QIOChannel *ioc, GIOCondition cond,
                            QIOChannelFunc *func, gpointer opaque,
                            GDestroyNotify notify)
{
    GSource *source = qio_channel_create_watch(ioc, cond);
    guint id;

    if (!source) {
        return 0;
    }
    g_source_set_callback(source, G_SOURCE_FUNC(func), opaque, notify);
    id = g_source_attach(source, g_main_context_get_thread_default());
    g_source_unref(source);
    return id;
}

static gboolean wait_done(QIOChannel *ioc, GIOCondition cond,
                          gpointer opaque)
{
    *(bool *)opaque = true;
    return G_SOURCE_REMOVE;
}

void qio_channel_wait(QIOChannel *ioc, GIOCondition cond)
{
    /* A context of our own: waiting must not dispatch the caller's other
     * sources, which may not expect to run re-entrantly. */
    g_autoptr(GMainContext) ctx = g_main_context_new();
    GSource *source = qio_channel_create_watch(ioc, cond);
    bool ready = false;

    if (!source) {
        return;
    }
    g_source_set_callback(source, G_SOURCE_FUNC(wait_done), &ready, NULL);
    g_source_attach(source, ctx);
    while (!ready) {
        g_main_context_iteration(ctx, TRUE);
    }
    g_source_destroy(source);
    g_source_unref(source);
}
