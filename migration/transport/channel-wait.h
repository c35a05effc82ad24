/*
 * The destination's receivers of extra channels (multifd, the postcopy
 * preempt channel) wait for their channels to bind, or to end, each
 * under its own lock and condition: one loop serves them all, so that a
 * deadline, the receiver's failure and a stop end every such wait alike
 * and say why.
 */
#ifndef VMIG_MIGRATION_CHANNEL_WAIT_H
#define VMIG_MIGRATION_CHANNEL_WAIT_H

#include <glib.h>
#include <stdbool.h>

#include "qapi/error.h"

typedef struct MigChannelWait {
    GMutex *lock;
    GCond *cond;                /* broadcast on every change below */
    /* Each called under @lock with @opaque. */
    bool (*done)(void *opaque);             /* what is waited for */
    const Error *(*failure)(void *opaque);  /* the receiver's, or NULL */
    const char *(*stopped)(void *opaque);   /* NULL, or why it stopped
                                             * (the field may be NULL) */
    void *opaque;
} MigChannelWait;

/*
 * Waits until @w is done, failed or stopped, or @deadline (monotonic;
 * 0: none) has passed.  False with @errp set to the failure (a copy),
 * the reason it stopped, or @what (the deadline), in that order.
 */
bool mig_channel_wait(const MigChannelWait *w, gint64 deadline,
                      const char *what, Error **errp);

#endif
