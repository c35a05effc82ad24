/*
 * The destination's channels: see router.h.
 */
#include "migration/transport/router.h"

#include <string.h>

#include "io/net-listener.h"
#include "migration/transport/channel-open.h"

typedef struct RouterSession {
    uint8_t id[WIRE_SESSION_ID_LEN];
    MigRouterBindFunc *bind;
    void *opaque;
} RouterSession;

typedef struct Introduction {
    MigRouter *r;
    MigStream *stream;          /* NULL once handed over or closed */
    GThread *thread;
    bool done;                  /* under r->lock */
} Introduction;

struct MigRouter {
    MigRouterMainFunc *main;
    void *opaque;
    QIONetListener *listener;   /* tcp:, unix:; NULL for the others */

    /* Sessions and introductions: main thread and introduction threads. */
    GMutex lock;
    GArray *sessions;           /* RouterSession */
    GPtrArray *intros;          /* Introduction *, not joined yet */
    bool closing;
};

MigStreamResult mig_router_read_first(MigStream *s, WireRecord *rec,
                                      gint64 deadline, Error **errp)
{
    MigStreamResult r = mig_stream_read_header(s, deadline, errp);

    return r == MIG_STREAM_OK ? mig_stream_read_record(s, rec, deadline,
                                                       errp) : r;
}

static RouterSession *find_session_locked(MigRouter *r, const uint8_t *id)
{
    for (guint i = 0; i < r->sessions->len; i++) {
        RouterSession *rs = &g_array_index(r->sessions, RouterSession, i);

        if (!memcmp(rs->id, id, WIRE_SESSION_ID_LEN)) {
            return rs;
        }
    }
    return NULL;
}

/* ---- Introductions ---- */

/* Reads @in's first record and binds it; false with errp set: close it. */
static bool introduce(Introduction *in, Error **errp)
{
    MigRouter *r = in->r;
    gint64 deadline = mig_deadline_after_ms(mig_handshake_timeout_ms());
    WireChannelHeader ch;
    WireBindResult bind;
    RouterSession *rs;
    MigStreamResult res;
    WireRecord rec;

    res = mig_router_read_first(in->stream, &rec, deadline, errp);
    if (res == MIG_STREAM_EOF) {
        error_setg(errp, "it closed before introducing itself");
        return false;
    }
    if (res != MIG_STREAM_OK) {
        return false;
    }
    if (rec.type == WIRE_REC_HELLO) {
        error_setg(errp, "it sent a HELLO, but a migration is in progress "
                   "already");
        return false;
    }
    if (!wire_record_expect(&rec, WIRE_REC_CHANNEL_HEADER, errp) ||
        !wire_channel_header_decode(rec.body, rec.len, &ch, errp)) {
        return false;
    }
    g_mutex_lock(&r->lock);
    rs = find_session_locked(r, ch.session_id);
    if (!rs) {
        g_mutex_unlock(&r->lock);
        error_setg(errp, "extra channel of an unknown session");
        return false;
    }
    /* Under the lock: the session cannot go away meanwhile. */
    bind = rs->bind(rs->opaque, in->stream, &ch, errp);
    if (bind == WIRE_BIND_OK) {
        in->stream = NULL;
    }
    g_mutex_unlock(&r->lock);
    if (bind == WIRE_BIND_INVALID) {
        /* The session failed, and said why. */
        error_free(*errp);
        *errp = NULL;
        mig_stream_close(in->stream, NULL);
        return true;
    }
    return bind == WIRE_BIND_OK;
}

static gpointer introduction_thread_fn(gpointer opaque)
{
    Introduction *in = opaque;
    Error *err = NULL;

    if (!introduce(in, &err)) {
        warn_report("incoming migration: closing connection '%s': %s",
                    mig_stream_name(in->stream),
                    err ? error_get_pretty(err) : "not a channel of the "
                    "migration in progress");
        error_free(err);
        mig_stream_close(in->stream, NULL);
    }
    g_mutex_lock(&in->r->lock);
    in->done = true;
    g_mutex_unlock(&in->r->lock);
    return NULL;
}

static void introduction_free(gpointer data, gpointer unused)
{
    Introduction *in = data;

    g_thread_join(in->thread);
    mig_stream_free(in->stream);
    g_free(in);
}

/* Joins the introductions that ended (main thread). */
static void reap_introductions(MigRouter *r)
{
    g_autoptr(GPtrArray) ended = g_ptr_array_new();

    g_mutex_lock(&r->lock);
    for (guint i = 0; i < r->intros->len;) {
        Introduction *in = g_ptr_array_index(r->intros, i);

        if (in->done) {
            g_ptr_array_add(ended, in);
            g_ptr_array_remove_index_fast(r->intros, i);
        } else {
            i++;
        }
    }
    g_mutex_unlock(&r->lock);
    g_ptr_array_foreach(ended, introduction_free, NULL);
}

static void refuse(MigStream *s, const char *why)
{
    warn_report("incoming migration: closing connection '%s': %s",
                mig_stream_name(s), why);
    mig_stream_close(s, NULL);
    mig_stream_free(s);
}

/* ---- Connections ---- */

static void route(MigRouter *r, MigStream *s)
{
    Introduction *in;
    bool sessions;

    reap_introductions(r);
    g_mutex_lock(&r->lock);
    sessions = r->sessions->len > 0 && !r->closing;
    if (sessions && r->intros->len >= MIG_ROUTER_MAX_INTRODUCING) {
        g_mutex_unlock(&r->lock);
        refuse(s, "too many connections are introducing themselves");
        return;
    }
    if (!sessions) {
        g_mutex_unlock(&r->lock);
        if (!r->main(r->opaque, s)) {
            refuse(s, "a migration is in progress already");
        }
        return;
    }
    in = g_new0(Introduction, 1);
    in->r = r;
    in->stream = s;
    g_ptr_array_add(r->intros, in);
    in->thread = g_thread_new("mig/introduce", introduction_thread_fn, in);
    g_mutex_unlock(&r->lock);
}

static void accepted(QIONetListener *l, QIOChannel *ioc, gpointer opaque)
{
    MigRouter *r = opaque;
    Error *err = NULL;
    MigStream *s = mig_stream_new(ioc, &err);

    qio_channel_unref(ioc);
    if (!s) {
        warn_report("incoming migration: %s", error_get_pretty(err));
        error_free(err);
        return;
    }
    route(r, s);
}

MigRouter *mig_router_new(const MigrationAddress *addr,
                          MigRouterMainFunc *main, void *opaque,
                          Error **errp)
{
    MigRouter *r = g_new0(MigRouter, 1);
    QIOChannel *ioc;
    MigStream *s;

    r->main = main;
    r->opaque = opaque;
    g_mutex_init(&r->lock);
    r->sessions = g_array_new(FALSE, TRUE, sizeof(RouterSession));
    r->intros = g_ptr_array_new();
    if (mig_channel_listens(addr)) {
        r->listener = qio_net_listener_new(&addr->u.socket, errp);
        if (!r->listener) {
            mig_router_free(r);
            return NULL;
        }
        qio_net_listener_set_handler(r->listener, accepted, r, NULL);
        return r;
    }
    ioc = mig_channel_open_incoming(addr, errp);
    s = ioc ? mig_stream_new(ioc, errp) : NULL;
    if (ioc) {
        qio_channel_unref(ioc);
    }
    if (!s) {
        mig_router_free(r);
        return NULL;
    }
    /* Nothing else can arrive: no session to wait for. */
    if (!r->main(r->opaque, s)) {
        refuse(s, "a migration is in progress already");
    }
    return r;
}

const SocketAddress *mig_router_listen_address(MigRouter *r)
{
    return r->listener ? qio_net_listener_get_address(r->listener) : NULL;
}

bool mig_router_listens(MigRouter *r)
{
    return r->listener != NULL;
}

void mig_router_close(MigRouter *r)
{
    g_autoptr(GPtrArray) intros = NULL;

    if (r->listener) {
        qio_net_listener_close(r->listener);
    }
    g_mutex_lock(&r->lock);
    r->closing = true;
    for (guint i = 0; i < r->intros->len; i++) {
        Introduction *in = g_ptr_array_index(r->intros, i);

        if (!in->done && in->stream) {
            mig_stream_wake(in->stream);
        }
    }
    intros = g_steal_pointer(&r->intros);
    r->intros = g_ptr_array_new();
    g_mutex_unlock(&r->lock);
    /* Woken, each ends within its next wait: none outlives the router's
     * use (vmig may be about to exit). */
    g_ptr_array_foreach(intros, introduction_free, NULL);
}

void mig_router_free(MigRouter *r)
{
    if (!r) {
        return;
    }
    mig_router_close(r);
    g_ptr_array_unref(r->intros);
    g_array_unref(r->sessions);
    if (r->listener) {
        qio_net_listener_free(r->listener);
    }
    g_mutex_clear(&r->lock);
    g_free(r);
}

void mig_router_add_session(MigRouter *r, const uint8_t *session_id,
                            MigRouterBindFunc *bind, void *opaque)
{
    RouterSession rs = { .bind = bind, .opaque = opaque };

    memcpy(rs.id, session_id, WIRE_SESSION_ID_LEN);
    g_mutex_lock(&r->lock);
    g_assert(!find_session_locked(r, session_id));
    g_array_append_val(r->sessions, rs);
    g_mutex_unlock(&r->lock);
}

void mig_router_remove_session(MigRouter *r, const uint8_t *session_id)
{
    g_mutex_lock(&r->lock);
    for (guint i = 0; i < r->sessions->len; i++) {
        RouterSession *rs = &g_array_index(r->sessions, RouterSession, i);

        if (!memcmp(rs->id, session_id, WIRE_SESSION_ID_LEN)) {
            g_array_remove_index_fast(r->sessions, i);
            break;
        }
    }
    g_mutex_unlock(&r->lock);
}
