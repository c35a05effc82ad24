/*
 * Waiting for a receiver's extra channels: see channel-wait.h.
 */
#include "migration/transport/channel-wait.h"

static const char *stopped(const MigChannelWait *w)
{
    return w->stopped ? w->stopped(w->opaque) : NULL;
}

bool mig_channel_wait(const MigChannelWait *w, gint64 deadline,
                      const char *what, Error **errp)
{
    const Error *failure;
    const char *why;
    bool ok;

    g_mutex_lock(w->lock);
    while (!w->done(w->opaque) && !w->failure(w->opaque) && !stopped(w)) {
        if (!deadline) {
            g_cond_wait(w->cond, w->lock);
        } else if (!g_cond_wait_until(w->cond, w->lock, deadline)) {
            /* g_cond_wait_until() takes the monotonic clock, as
             * deadlines are. */
            break;
        }
    }
    failure = w->failure(w->opaque);
    why = stopped(w);
    ok = w->done(w->opaque) && !failure;
    if (ok) {
        /* Done: a stop since is not this wait's concern. */
    } else if (failure) {
        error_propagate(errp, error_copy(failure));
    } else if (why) {
        error_setg(errp, "%s", why);
    } else {
        error_setg(errp, "%s", what);
    }
    g_mutex_unlock(w->lock);
    return ok;
}
