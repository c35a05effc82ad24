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

void mig_session_expect_multifd(MigSession *s, unsigned n_multifd,
                                MultifdRecv *recv)
{
    s->channels = wire_channel_set_new(s->id, n_multifd, 0);
    s->multifd_recv = recv;
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
    mig_test_trace("multifd channel %u %s", ch->index,
                   bind == WIRE_BIND_OK ? "bound" :
                   bind == WIRE_BIND_FOREIGN ? "foreign" : "refused");
    g_mutex_unlock(&s->lock);
    switch (bind) {
    case WIRE_BIND_OK:
        /* Only multifd channels are expected so far (the set says). */
        multifd_recv_add_channel(s->multifd_recv, ch->index, stream);
        break;
    case WIRE_BIND_FOREIGN:
        if (!err) {
            error_setg(&err, "extra channel of an unknown session");
        }
        error_propagate(errp, err);
        break;
    case WIRE_BIND_INVALID:
        error_prepend(&err, "Multifd connection '%s': ",
                      mig_stream_name(stream));
        multifd_recv_fail(s->multifd_recv, err);
        break;
    }
    return bind;
}
