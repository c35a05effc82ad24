/*
 * A migration session: see session.h.
 */
#include "migration/engine/session.h"

#include <string.h>

#include "migration/config.h"
#include "migration/engine/engine.h"

MigSession *mig_session_new(const uint8_t *id, const MigrationConfig *cfg)
{
    MigSession *s = g_new0(MigSession, 1);

    memcpy(s->id, id, WIRE_SESSION_ID_LEN);
    s->cfg = migration_config_clone(cfg);
    g_mutex_init(&s->lock);
    return s;
}

void mig_session_free(MigSession *s)
{
    if (!s) {
        return;
    }
    multifd_send_free(s->multifd_send);
    multifd_recv_free(s->multifd_recv);
    preempt_recv_free(s->preempt_recv);
    if (s->ram_saver_ready) {
        ram_saver_destroy(&s->ram_saver);
    }
    if (s->ram_loader_ready) {
        ram_loader_destroy(&s->ram_loader);
    }
    wire_channel_set_free(s->channels);
    qapi_free_MigrationConfig(s->cfg);
    g_mutex_clear(&s->lock);
    g_free(s);
}

void mig_session_expect_channels(MigSession *s, unsigned n_multifd,
                                 MultifdRecv *recv, PreemptRecv *preempt)
{
    s->channels = wire_channel_set_new(s->id, n_multifd, preempt ? 1 : 0);
    s->multifd_recv = recv;
    s->preempt_recv = preempt;
}

/* The session fails with @err (taken), through whichever receiver it
 * has: both wake the main stream, but after a recovery only the
 * preempt receiver knows the new one (multifd ended before postcopy). */
static void session_fail(MigSession *s, Error *err)
{
    if (s->preempt_recv) {
        preempt_recv_fail(s->preempt_recv, err);
    } else {
        multifd_recv_fail(s->multifd_recv, err);
    }
}

void mig_session_resume_channels(MigSession *s, MigStream *main,
                                 PostcopyDest *pd)
{
    if (!s->preempt_recv) {
        return;
    }
    g_mutex_lock(&s->lock);
    wire_channel_reopen(s->channels, WIRE_CHANNEL_POSTCOPY_PREEMPT, 0);
    g_mutex_unlock(&s->lock);
    preempt_recv_resume(s->preempt_recv, main, pd);
}

WireBindResult mig_session_bind_channel(void *opaque, MigStream *stream,
                                        const WireChannelHeader *ch,
                                        Error **errp)
{
    MigSession *s = opaque;
    WireBindResult bind;
    Error *err = NULL;

    g_mutex_lock(&s->lock);
    bind = s->channels ? wire_channel_bind(s->channels, ch, &err)
                       : WIRE_BIND_FOREIGN;
    /* Under the lock: the lines come in the order of binding. */
    mig_test_trace("%s channel %u %s",
                   ch->role == WIRE_CHANNEL_POSTCOPY_PREEMPT
                   ? "postcopy-preempt" : "multifd", ch->index,
                   bind == WIRE_BIND_OK ? "bound" :
                   bind == WIRE_BIND_FOREIGN ? "foreign" : "refused");
    g_mutex_unlock(&s->lock);
    switch (bind) {
    case WIRE_BIND_OK:
        /* The set expects only the roles this session has receivers
         * for. */
        if (ch->role == WIRE_CHANNEL_POSTCOPY_PREEMPT) {
            preempt_recv_add_channel(s->preempt_recv, stream);
        } else {
            multifd_recv_add_channel(s->multifd_recv, ch->index, stream);
        }
        break;
    case WIRE_BIND_FOREIGN:
        if (!err) {
            error_setg(&err, "extra channel of an unknown session");
        }
        error_propagate(errp, err);
        break;
    case WIRE_BIND_INVALID:
        error_prepend(&err, "Extra connection '%s': ",
                      mig_stream_name(stream));
        session_fail(s, err);
        break;
    }
    return bind;
}
