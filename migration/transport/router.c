/*
 * The destination's channels: see router.h.
 */
#include "migration/transport/router.h"

#include <string.h>

#include "io/channel-tls.h"
#include "io/net-listener.h"
#include "migration/transport/channel-open.h"
#include "migration/transport/tls.h"
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
    GSource *readable;          /* watching for watch_cond */
    GIOCondition watch_cond;
    GSource *expiry;
    unsigned timeout_ms;        /* for the expiry's warning */
    bool tls_done;              /* handshake complete (TLS only) */
    char *refusal;              /* why TLS refuses the source, or NULL */
    bool header_read;
} Pending;

struct MigRouter {
    MigRouterMainFunc *main;
    void *opaque;
    QIONetListener *listener;   /* tcp:, unix:; NULL for the others */
    MigTls *tls;                /* NULL: plaintext */
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

/*
 * Answers a peer that does not speak this end's protocol (TLS or
 * plaintext) in the plaintext one, without waiting: a stream header and
 * a REJECT saying @why.  A plaintext source reports the REJECT; a TLS
 * source sees the stream header where TLS should be, and says so.
 */
static void reject_plainly(QIOChannel *ioc, const char *why)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autoptr(WireReject) rej = wire_reject_new(WIRE_ERR_GENERIC, "tls-creds",
                                                "%s", why);
    char sink[4096];

    wire_stream_header_encode(b);
    if (!wire_reject_encode(rej, WIRE_REC_REJECT, b, NULL)) {
        return;
    }
    /* Closing with unread bytes resets the connection, which could
     * destroy the REJECT before the peer reads it: read what has come
     * (a HELLO is far smaller than this bound). */
    for (int i = 0; i < 16; i++) {
        if (qio_channel_read(ioc, sink, sizeof(sink), NULL) <= 0) {
            break;
        }
    }
    qio_channel_write(ioc, b->data, b->len, NULL);
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

/* The source's certificate or identity is refused: a HELLO is answered
 * with a REJECT, inside TLS, so the source can tell its user why. */
static void route_refused(MigStream *s, const WireRecord *first,
                          const char *why)
{
    if (first->type == WIRE_REC_HELLO) {
        g_autoptr(GByteArray) b = g_byte_array_new();
        g_autoptr(WireReject) rej = wire_reject_new(WIRE_ERR_GENERIC, NULL,
                                                    "%s", why);

        wire_stream_header_encode(b);
        if (wire_reject_encode(rej, WIRE_REC_REJECT, b, NULL)) {
            mig_stream_write(s, b->data, b->len, MIG_DEADLINE_NOW, NULL);
        }
    }
    refuse(s, why);
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
    g_free(p->refusal);
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

/*
 * @msg without the connection's name, which the warning gives already:
 * "'NAME': why" is "why"; the TLS channel's "TLS handshake on 'NAME'
 * failed: why" is "TLS handshake failed: why", and "TLS read from 'NAME'
 * failed: why" is "TLS: why".
 */
static char *without_name(MigStream *s, const char *msg)
{
    static const char *const tls[][2] = {
        { "TLS handshake on", "TLS handshake failed: " },
        { "TLS read from", "TLS: " },
    };
    const char *name = mig_stream_name(s);
    size_t n = strlen(name);

    if (msg[0] == '\'' && !strncmp(msg + 1, name, n) &&
        g_str_has_prefix(msg + 1 + n, "': ")) {
        return g_strdup(msg + n + 4);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(tls); i++) {
        g_autofree char *head = g_strdup_printf("%s '%s' failed: ",
                                                tls[i][0], name);

        if (g_str_has_prefix(msg, head)) {
            return g_strconcat(tls[i][1], msg + strlen(head), NULL);
        }
    }
    return g_strdup(msg);
}

static gboolean pending_ready(QIOChannel *ioc, GIOCondition cond,
                              gpointer opaque);

/* Watches @p's channel for @cond from now on. */
static void pending_watch(Pending *p, GIOCondition cond)
{
    if (p->readable && p->watch_cond == cond) {
        return;
    }
    if (p->readable) {
        g_source_destroy(p->readable);
        g_source_unref(p->readable);
    }
    p->watch_cond = cond;
    p->readable = qio_channel_create_watch(mig_stream_channel(p->stream),
                                           cond);
    g_source_set_callback(p->readable, G_SOURCE_FUNC(pending_ready), p,
                          NULL);
    g_source_attach(p->readable, g_main_context_get_thread_default());
}

/*
 * One step of @p's TLS handshake, then the source's checks.  false
 * when @p is not ready for its first record yet (waiting, or dropped:
 * *@dropped).
 */
static bool pending_tls(Pending *p, bool *dropped)
{
    QIOChannel *ioc = mig_stream_channel(p->stream);
    Error *err = NULL;

    *dropped = false;
    switch (qio_channel_tls_handshake_step(ioc, &err)) {
    case QIO_CHANNEL_TLS_WANT_READ:
        pending_watch(p, G_IO_IN);
        return false;
    case QIO_CHANNEL_TLS_WANT_WRITE:
        pending_watch(p, G_IO_OUT);
        return false;
    case QIO_CHANNEL_TLS_FAILED:
        if (qio_channel_tls_peer_is_plaintext(ioc)) {
            reject_plainly(qio_channel_tls_get_inner(ioc), "this "
                           "destination requires TLS (tls-creds), but the "
                           "source did not start TLS");
        }
        {
            g_autofree char *why = without_name(p->stream,
                                                error_get_pretty(err));

            pending_drop(p, why);
        }
        error_free(err);
        *dropped = true;
        return false;
    case QIO_CHANNEL_TLS_DONE:
        break;
    }
    p->tls_done = true;
    pending_watch(p, G_IO_IN);
    /* Refused or not, the first record is read: a HELLO gets the
     * reason as a REJECT. */
    if (!mig_tls_check_client(p->r->tls, ioc, &err)) {
        p->refusal = g_strdup(error_get_pretty(err));
        error_free(err);
    }
    return true;
}

/* Whether @p is done with: routed, or dropped with a warning. */
static bool pending_try(Pending *p)
{
    MigRouter *r = p->r;
    Error *err = NULL;
    WireRecord rec;
    bool dropped;

    if (r->tls && !p->tls_done && !pending_tls(p, &dropped)) {
        return dropped;
    }
    switch (read_first_now(p, &rec, &err)) {
    case MIG_STREAM_OK:
        if (p->refusal) {
            g_autofree char *why = g_steal_pointer(&p->refusal);

            route_refused(pending_take(p), &rec, why);
        } else {
            route(r, pending_take(p), &rec);
        }
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
        /* A TLS source meeting a plaintext destination: tell it. */
        if (!r->tls && !p->header_read &&
            mig_stream_peer_started_tls(p->stream)) {
            reject_plainly(mig_stream_channel(p->stream),
                           error_get_pretty(err));
        }
        {
            g_autofree char *why = without_name(p->stream,
                                                error_get_pretty(err));

            pending_drop(p, why);
        }
        error_free(err);
        return true;
    }
}

static gboolean pending_ready(QIOChannel *ioc, GIOCondition cond,
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

    if (p->r->tls && !p->tls_done) {
        g_free(why);
        why = g_strdup_printf("no TLS handshake within %u ms", p->timeout_ms);
    }

    pending_drop(p, why);
    return G_SOURCE_REMOVE;
}

/*
 * The oldest connection that has sent nothing yet, else the oldest.  A
 * real source speaks at once but may be slow to (a loaded machine):
 * silence goes first, so a flood of silent strangers never pushes out
 * a source whose first bytes have arrived.
 */
static bool pending_spoke(Pending *p)
{
    QIOChannel *ioc = mig_stream_channel(p->stream);

    /* With TLS a source speaks its handshake before any record. */
    return mig_stream_bytes_read(p->stream) > 0 ||
           (p->r->tls && qio_channel_tls_peer_spoke(ioc));
}

static Pending *pending_to_evict(MigRouter *r)
{
    for (GList *l = r->pending.head; l; l = l->next) {
        Pending *p = l->data;

        if (!pending_spoke(p)) {
            return p;
        }
    }
    return g_queue_peek_head(&r->pending);
}

/* Takes @s, which has a descriptor to watch. */
static void pending_add(MigRouter *r, MigStream *s, unsigned timeout_ms)
{
    GMainContext *ctx = g_main_context_get_thread_default();
    Pending *p = g_new0(Pending, 1);

    p->r = r;
    p->stream = s;
    p->timeout_ms = timeout_ms;
    pending_watch(p, G_IO_IN);
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

/* @ioc (taken) as a stream: TLS wrapped around it first, if any. */
static MigStream *incoming_stream(MigRouter *r, QIOChannel *ioc,
                                  Error **errp)
{
    MigStream *s;

    if (r->tls) {
        ioc = mig_tls_server(r->tls, ioc, errp);
        if (!ioc) {
            return NULL;
        }
    }
    s = mig_stream_new(ioc, errp);
    qio_channel_unref(ioc);
    return s;
}

static void accepted(QIONetListener *l, QIOChannel *ioc, gpointer opaque)
{
    MigRouter *r = opaque;
    Error *err = NULL;
    MigStream *s = incoming_stream(r, ioc, &err);

    if (!s) {
        warn_report("incoming migration: %s", error_get_pretty(err));
        error_free(err);
        return;
    }
    pending_add(r, s, r->accept_timeout_ms);
}

MigRouter *mig_router_new(const MigrationAddress *addr,
                          unsigned accept_timeout_ms, MigTls *tls,
                          MigRouterMainFunc *main, void *opaque,
                          Error **errp)
{
    MigRouter *r = g_new0(MigRouter, 1);
    QIOChannel *ioc;
    MigStream *s;

    assert_main_thread();
    r->tls = tls;
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
    s = ioc ? incoming_stream(r, ioc, errp) : NULL;
    if (!s) {
        mig_router_free(r);
        return NULL;
    }
    if (r->tls) {
        /* The handshake and the source's checks need the main loop.
         * This channel is the source itself, no stranger: it gets the
         * handshake's bound, as its HELLO would without TLS. */
        pending_add(r, s, mig_handshake_timeout_ms());
        return r;
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
    mig_tls_free(r->tls);
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
