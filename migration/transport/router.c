/*
 * The destination's channels: see router.h.
 */
#include "migration/transport/router.h"

#include <string.h>

#include "io/net-listener.h"
#include "migration/transport/channel-open.h"
#include "util/main-thread.h"

typedef struct RouterSession {
    uint8_t id[WIRE_SESSION_ID_LEN];
    MigRouterBindFunc *bind;
    void *opaque;
} RouterSession;

/* A connection whose first record has not arrived yet. */
typedef struct Pending {
    MigRouter *r;
    MigStream *stream;
    GSource *readable;
    GSource *expiry;
    unsigned timeout_ms;        /* for the expiry's warning */
    bool header_read;
} Pending;

struct MigRouter {
    MigRouterMainFunc *main;
    void *opaque;
    QIONetListener *listener;   /* tcp:, unix:; NULL for the others */
    unsigned accept_timeout_ms;
    GArray *sessions;           /* RouterSession */
    GQueue pending;             /* Pending *, oldest first */
};

MigStreamResult mig_router_read_first(MigStream *s, WireRecord *rec,
                                      gint64 deadline, Error **errp)
{
    MigStreamResult r = mig_stream_read_header(s, deadline, errp);

    return r == MIG_STREAM_OK ? mig_stream_read_record(s, rec, deadline,
                                                       errp) : r;
}

static RouterSession *find_session(MigRouter *r, const uint8_t *id)
{
    for (guint i = 0; i < r->sessions->len; i++) {
        RouterSession *rs = &g_array_index(r->sessions, RouterSession, i);

        if (!memcmp(rs->id, id, WIRE_SESSION_ID_LEN)) {
            return rs;
        }
    }
    return NULL;
}

static void refuse(MigStream *s, const char *why)
{
    warn_report("incoming migration: closing connection '%s': %s",
                mig_stream_name(s), why);
    mig_stream_close(s, NULL);
    mig_stream_free(s);
}

/* ---- Where an introduced connection goes ---- */

static void bind_channel(MigRouter *r, MigStream *s, const WireRecord *rec)
{
    Error *err = NULL;
    WireChannelHeader ch;
    RouterSession *rs;

    if (!wire_channel_header_decode(rec->body, rec->len, &ch, &err)) {
        refuse(s, error_get_pretty(err));
        error_free(err);
        return;
    }
    rs = find_session(r, ch.session_id);
    if (!rs) {
        refuse(s, "extra channel of an unknown session");
        return;
    }
    switch (rs->bind(rs->opaque, s, &ch, &err)) {
    case WIRE_BIND_OK:
        return;
    case WIRE_BIND_FOREIGN:
        refuse(s, error_get_pretty(err));
        break;
    case WIRE_BIND_INVALID:
        /* The session failed, and said why. */
        mig_stream_close(s, NULL);
        mig_stream_free(s);
        break;
    }
    error_free(err);
}

static void route(MigRouter *r, MigStream *s, const WireRecord *first)
{
    if (first->type == WIRE_REC_CHANNEL_HEADER) {
        bind_channel(r, s, first);
    } else if (!r->main(r->opaque, s, first)) {
        refuse(s, "a migration is in progress already");
    }
}

/* ---- Pending connections ---- */

/* Unlinks @p and frees it, returning its stream (not closed). */
static MigStream *pending_take(Pending *p)
{
    MigStream *s = p->stream;

    g_queue_remove(&p->r->pending, p);
    /* Before the channel closes: the watch polls its descriptor. */
    g_source_destroy(p->readable);
    g_source_unref(p->readable);
    g_source_destroy(p->expiry);
    g_source_unref(p->expiry);
    g_free(p);
    return s;
}

static void pending_drop(Pending *p, const char *why)
{
    refuse(pending_take(p), why);
}

/*
 * Reads what has arrived of @p's stream header and first record, which
 * must be one a connection may begin with.  MIG_STREAM_TIMEOUT: not
 * whole yet.
 */
static MigStreamResult read_first_now(Pending *p, WireRecord *rec,
                                      Error **errp)
{
    MigStreamResult res;

    if (!p->header_read) {
        res = mig_stream_read_header(p->stream, MIG_DEADLINE_NOW, errp);
        if (res != MIG_STREAM_OK) {
            return res;
        }
        p->header_read = true;
    }
    /* The type before the body: a stranger's record is not buffered. */
    res = mig_stream_read_record_header(p->stream, rec, MIG_DEADLINE_NOW,
                                        errp);
    if (res != MIG_STREAM_OK) {
        return res;
    }
    if (rec->type != WIRE_REC_HELLO &&
        rec->type != WIRE_REC_CHANNEL_HEADER) {
        const char *name = wire_record_type_name(rec->type);
        g_autofree char *type = name ? g_strdup(name)
                                     : g_strdup_printf("of type 0x%08x",
                                                       rec->type);

        error_setg(errp, "its first record is %s, not HELLO or "
                   "CHANNEL_HEADER", type);
        return MIG_STREAM_ERROR;
    }
    return mig_stream_read_record(p->stream, rec, MIG_DEADLINE_NOW, errp);
}

/* @msg without the "'NAME': " a stream's errors begin with: the
 * warning names the connection already. */
static const char *without_name(MigStream *s, const char *msg)
{
    const char *name = mig_stream_name(s);
    size_t n = strlen(name);

    if (msg[0] == '\'' && !strncmp(msg + 1, name, n) &&
        g_str_has_prefix(msg + 1 + n, "': ")) {
        return msg + n + 4;
    }
    return msg;
}

/* Whether @p is done with: routed, or dropped with a warning. */
static bool pending_try(Pending *p)
{
    MigRouter *r = p->r;
    Error *err = NULL;
    WireRecord rec;

    switch (read_first_now(p, &rec, &err)) {
    case MIG_STREAM_OK:
        route(r, pending_take(p), &rec);
        return true;
    case MIG_STREAM_TIMEOUT:
        error_free(err);
        return false;
    case MIG_STREAM_EOF:
        pending_drop(p, p->header_read
                     ? "it closed after the stream header"
                     : "it closed without sending anything");
        return true;
    default:
        pending_drop(p, without_name(p->stream, error_get_pretty(err)));
        error_free(err);
        return true;
    }
}

static gboolean pending_readable(QIOChannel *ioc, GIOCondition cond,
                                 gpointer opaque)
{
    /* Done with, its watch is destroyed: the return value is moot. */
    return pending_try(opaque) ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static gboolean pending_expired(gpointer opaque)
{
    Pending *p = opaque;
    uint64_t got = mig_stream_bytes_read(p->stream);
    g_autofree char *why = got
        ? g_strdup_printf("no whole %s within %u ms (%" G_GUINT64_FORMAT
                          " bytes arrived)", p->header_read ? "first record"
                          : "stream header", p->timeout_ms, got)
        : g_strdup_printf("no data within %u ms", p->timeout_ms);

    pending_drop(p, why);
    return G_SOURCE_REMOVE;
}

/*
 * The oldest connection that has sent nothing yet, else the oldest.  A
 * real source speaks at once but may be slow to (a loaded machine):
 * silence goes first, so a flood of silent strangers never pushes out
 * a source whose first bytes have arrived.
 */
static Pending *pending_to_evict(MigRouter *r)
{
    for (GList *l = r->pending.head; l; l = l->next) {
        Pending *p = l->data;

        if (mig_stream_bytes_read(p->stream) == 0) {
            return p;
        }
    }
    return g_queue_peek_head(&r->pending);
}

/* Takes @s, which has a descriptor to watch. */
static void pending_add(MigRouter *r, MigStream *s)
{
    GMainContext *ctx = g_main_context_get_thread_default();
    Pending *p = g_new0(Pending, 1);

    p->r = r;
    p->stream = s;
    p->timeout_ms = r->accept_timeout_ms;
    p->readable = qio_channel_create_watch(mig_stream_channel(s), G_IO_IN);
    g_source_set_callback(p->readable, G_SOURCE_FUNC(pending_readable), p,
                          NULL);
    g_source_attach(p->readable, ctx);
    p->expiry = g_timeout_source_new(p->timeout_ms);
    g_source_set_callback(p->expiry, pending_expired, p, NULL);
    g_source_attach(p->expiry, ctx);
    g_queue_push_tail(&r->pending, p);
    /* A source's first record is usually here already. */
    if (pending_try(p)) {
        return;
    }
    if (r->pending.length <= MIG_ROUTER_MAX_PENDING) {
        return;
    }
    /* One whose record arrived since is served, not evicted: the
     * listener accepts a whole queue before any watch runs. */
    for (GList *l = r->pending.head; l;) {
        Pending *q = l->data;

        l = l->next;
        pending_try(q);
    }
    if (r->pending.length > MIG_ROUTER_MAX_PENDING) {
        g_autofree char *why = g_strdup_printf(
            "%u newer connections are waiting for their first record, the "
            "most the destination keeps", MIG_ROUTER_MAX_PENDING);

        pending_drop(pending_to_evict(r), why);
    }
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
    pending_add(r, s);
}

MigRouter *mig_router_new(const MigrationAddress *addr,
                          unsigned accept_timeout_ms,
                          MigRouterMainFunc *main, void *opaque,
                          Error **errp)
{
    MigRouter *r = g_new0(MigRouter, 1);
    QIOChannel *ioc;
    MigStream *s;

    assert_main_thread();
    r->main = main;
    r->opaque = opaque;
    r->accept_timeout_ms = accept_timeout_ms;
    r->sessions = g_array_new(FALSE, TRUE, sizeof(RouterSession));
    g_queue_init(&r->pending);
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
    if (!r->main(r->opaque, s, NULL)) {
        refuse(s, "a migration is in progress already");
    }
    return r;
}

void mig_router_set_accept_timeout(MigRouter *r, unsigned ms)
{
    r->accept_timeout_ms = ms;
}

const SocketAddress *mig_router_listen_address(MigRouter *r)
{
    return r->listener ? qio_net_listener_get_address(r->listener) : NULL;
}

bool mig_router_listens(MigRouter *r)
{
    return r->listener != NULL;
}

unsigned mig_router_n_pending(MigRouter *r)
{
    return r->pending.length;
}

void mig_router_close(MigRouter *r)
{
    assert_main_thread();
    if (r->listener) {
        qio_net_listener_close(r->listener);
    }
    while (r->pending.length) {
        MigStream *s = pending_take(g_queue_peek_head(&r->pending));

        mig_stream_close(s, NULL);
        mig_stream_free(s);
    }
}

void mig_router_free(MigRouter *r)
{
    if (!r) {
        return;
    }
    mig_router_close(r);
    g_array_unref(r->sessions);
    if (r->listener) {
        qio_net_listener_free(r->listener);
    }
    g_free(r);
}

void mig_router_add_session(MigRouter *r, const uint8_t *session_id,
                            MigRouterBindFunc *bind, void *opaque)
{
    RouterSession rs = { .bind = bind, .opaque = opaque };

    assert_main_thread();
    memcpy(rs.id, session_id, WIRE_SESSION_ID_LEN);
    g_assert(!find_session(r, session_id));
    g_array_append_val(r->sessions, rs);
}

void mig_router_remove_session(MigRouter *r, const uint8_t *session_id)
{
    assert_main_thread();
    for (guint i = 0; i < r->sessions->len; i++) {
        RouterSession *rs = &g_array_index(r->sessions, RouterSession, i);

        if (!memcmp(rs->id, session_id, WIRE_SESSION_ID_LEN)) {
            g_array_remove_index_fast(r->sessions, i);
            break;
        }
    }
}
