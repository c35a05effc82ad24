/*
 * The postcopy preempt channel: see postcopy-preempt.h.
 */
#include "migration/engine/postcopy-preempt.h"

#include <string.h>

#include "migration/engine/engine.h"
#include "migration/transport/channel-open.h"
#include "migration/transport/channel-wait.h"
#include "util/atomic.h"
#include "util/thread-name.h"

/*
 * How long the source's preempt thread waits for a request before it
 * looks whether it should stop: a bound on the wait, not a poll (a
 * request or the stop wakes it at once).
 */
#define PREEMPT_IDLE_US (G_USEC_PER_SEC / 10)

/* ---- Source ---- */

struct PreemptSend {
    MigStream *stream;
    /* Set by preempt_send_start(), read-only after. */
    PostcopyRequests *q;
    RamSaver *rs;
    GMutex *pages_lock;
    PreemptSentFunc *sent;
    void *sent_opaque;
    MigStream *main;
    GThread *thread;

    gint stop;                  /* atomic */
    uint64_t next_packet;       /* the thread's */
    uint64_t pages;             /* atomic */
    GMutex lock;
    Error *error;               /* under lock: the thread's failure */
};

PreemptSend *preempt_send_open(const MigrationAddress *addr,
                               const MigrationConfig *cfg, MigTls *tls,
                               const uint8_t *session_id, Error **errp)
{
    MigChannelSpec spec = {
        .role = WIRE_CHANNEL_POSTCOPY_PREEMPT,
        .index = 0,
        .tls = tls,
    };
    PreemptSend *p;
    MigStream *s;

    memcpy(spec.session_id, session_id, WIRE_SESSION_ID_LEN);
    s = mig_channel_open(addr, &spec, errp);
    if (!s) {
        error_prepend(errp, "Opening the postcopy-preempt channel failed: ");
        return NULL;
    }
    if (!mig_stream_set_liveness(s, cfg->liveness_timeout, errp)) {
        mig_stream_free(s);
        return NULL;
    }
    /* After CHANNEL_HEADER, as on every channel. */
    if (wire_checksum_on(cfg)) {
        mig_stream_checksum_writes(s);
    }
    p = g_new0(PreemptSend, 1);
    p->stream = s;
    g_mutex_init(&p->lock);
    return p;
}

static void send_failed(PreemptSend *p, Error *err)
{
    g_mutex_lock(&p->lock);
    if (p->error) {
        error_free(err);
    } else {
        p->error = err;
    }
    g_mutex_unlock(&p->lock);
    /* The migration thread may wait for requests or write main. */
    postcopy_requests_kick(p->q);
    mig_stream_wake(p->main);
}

/* One request's pages still to go, as one RAM_PAGES record. */
static bool send_request(PreemptSend *p, const WirePageRequest *req,
                         GByteArray *b, Error **errp)
{
    struct iovec iov[WIRE_RAM_PAGES_MAX + 2];
    RamPageBatch batch;
    size_t niov;
    unsigned n;

    g_mutex_lock(p->pages_lock);
    n = ram_saver_range_batch(p->rs, req->block, req->offset, req->length,
                              &batch);
    g_mutex_unlock(p->pages_lock);
    /* Sent already, or on its way on main: it arrives without us. */
    if (!n) {
        return true;
    }
    ram_saver_count_batch(p->rs, &batch);
    g_byte_array_set_size(b, 0);
    niov = ram_batch_record_iov(&batch, p->next_packet++, b, iov);
    if (mig_stream_writev(p->stream, iov, niov, 0, errp) != MIG_STREAM_OK) {
        return false;
    }
    qatomic_add(&p->pages, n);
    mig_test_trace("postcopy-preempt sent %u pages", n);
    p->sent(p->sent_opaque, &batch);
    return true;
}

static gpointer send_thread_fn(gpointer opaque)
{
    PreemptSend *p = opaque;
    g_autoptr(GByteArray) b = g_byte_array_new();

    while (!qatomic_mb_read(&p->stop)) {
        WirePageRequest req;
        Error *err = NULL;

        if (!postcopy_requests_pop(p->q, &req)) {
            postcopy_requests_wait(p->q,
                                   g_get_monotonic_time() + PREEMPT_IDLE_US);
            continue;
        }
        if (!send_request(p, &req, b, &err)) {
            error_prepend(&err, "Postcopy-preempt channel '%s': ",
                          mig_stream_name(p->stream));
            send_failed(p, err);
            break;
        }
    }
    return NULL;
}

bool preempt_send_start(PreemptSend *p, PostcopyRequests *q, RamSaver *rs,
                        GMutex *pages_lock, PreemptSentFunc *sent,
                        void *opaque, MigStream *main, Error **errp)
{
    g_autoptr(GError) gerr = NULL;

    p->q = q;
    p->rs = rs;
    p->pages_lock = pages_lock;
    p->sent = sent;
    p->sent_opaque = opaque;
    p->main = main;
    p->thread = g_thread_try_new(VMIG_THREAD_NAME("mig/pc-preempt"),
                                 send_thread_fn, p, &gerr);
    if (!p->thread) {
        error_setg(errp, "Cannot start the postcopy-preempt thread: %s",
                   gerr->message);
        return false;
    }
    return true;
}

static void stop_thread(PreemptSend *p)
{
    if (p->thread) {
        qatomic_mb_set(&p->stop, 1);
        postcopy_requests_kick(p->q);
        g_thread_join(g_steal_pointer(&p->thread));
    }
}

bool preempt_send_finish(PreemptSend *p, Error **errp)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    Error *err;

    stop_thread(p);
    err = preempt_send_error(p);
    if (err) {
        error_propagate(errp, err);
        return false;
    }
    wire_empty_encode(b, WIRE_REC_END, &error_abort);
    if (mig_stream_write(p->stream, b->data, b->len, 0, errp) !=
        MIG_STREAM_OK) {
        error_prepend(errp, "Postcopy-preempt channel '%s': ",
                      mig_stream_name(p->stream));
        return false;
    }
    return true;
}

void preempt_send_wake(PreemptSend *p)
{
    mig_stream_wake(p->stream);
}

Error *preempt_send_error(PreemptSend *p)
{
    Error *err;

    g_mutex_lock(&p->lock);
    err = p->error ? error_copy(p->error) : NULL;
    g_mutex_unlock(&p->lock);
    return err;
}

uint64_t preempt_send_pages(PreemptSend *p)
{
    return qatomic_read(&p->pages);
}

uint64_t preempt_send_bytes(PreemptSend *p)
{
    return mig_stream_bytes_written(p->stream);
}

void preempt_send_free(PreemptSend *p)
{
    if (!p) {
        return;
    }
    mig_stream_wake(p->stream);
    stop_thread(p);
    mig_stream_free(p->stream);
    error_free(p->error);
    g_mutex_clear(&p->lock);
    g_free(p);
}

/* ---- Destination ---- */

struct PreemptRecv {
    GPtrArray *blocks;
    bool checksum;
    unsigned liveness_s;
    RamLoader loader;           /* the channel's packets and counts */

    GMutex lock;                /* the fields below; cond on changes */
    GCond cond;
    /* The connection's main channel; NULL while a postcopy is paused. */
    MigStream *main;
    MigStream *stream;
    uint64_t old_bytes;         /* read on the channels a pause closed */
    bool bound;                 /* stream set, its thread started */
    GThread *thread;
    bool listening;             /* POSTCOPY_LISTEN read */
    PostcopyDest *pd;           /* from LISTEN done to the stop */
    bool ended;                 /* END read */
    bool stopped;
    Error *error;
};

PreemptRecv *preempt_recv_new(const MigrationConfig *effective,
                              GPtrArray *blocks, MigStream *main)
{
    PreemptRecv *r = g_new0(PreemptRecv, 1);

    r->main = main;
    r->blocks = g_ptr_array_ref(blocks);
    r->checksum = wire_checksum_on(effective);
    r->liveness_s = effective->liveness_timeout;
    ram_loader_init(&r->loader, r->blocks);
    g_mutex_init(&r->lock);
    g_cond_init(&r->cond);
    return r;
}

/*
 * The session fails with @err.  With @wake_main the incoming thread
 * stops too; without, it learns of it from the main channel, which then
 * carries the reason (a source that gives up sends ERROR on main and
 * closes its channels: which arrives first here is chance).
 */
static void recv_failed(PreemptRecv *r, Error *err, bool wake_main)
{
    g_mutex_lock(&r->lock);
    if (r->error) {
        error_free(err);
    } else {
        r->error = err;
    }
    /* Under the lock: whoever sees the error sees main woken. */
    if (wake_main && r->main) {
        mig_stream_wake(r->main);
    }
    g_cond_broadcast(&r->cond);
    g_mutex_unlock(&r->lock);
}

void preempt_recv_fail(PreemptRecv *r, Error *err)
{
    recv_failed(r, err, true);
}

/* A RAM_PAGES record: only once the destination listens (the source
 * sends none before a PAGE_REQUEST, which comes after LISTEN). */
static bool place_pages(PreemptRecv *r, const WireRecord *rec, Error **errp)
{
    gint64 deadline = mig_deadline_after_ms(r->liveness_s * 1000ull);
    PostcopyDest *pd;
    bool listening;

    g_mutex_lock(&r->lock);
    listening = r->listening;
    /* Asked for as LISTEN was being set up: wait for the end of it. */
    while (listening && !r->pd && !r->stopped &&
           g_cond_wait_until(&r->cond, &r->lock, deadline)) {
    }
    pd = r->pd;
    g_mutex_unlock(&r->lock);
    if (!listening) {
        error_setg(errp, "RAM_PAGES before POSTCOPY_LISTEN");
        return false;
    }
    if (!pd) {
        error_setg(errp, "RAM_PAGES, but POSTCOPY_LISTEN did not complete");
        return false;
    }
    return postcopy_dest_load_channel(pd, &r->loader, rec->body, rec->len,
                                      errp);
}

/*
 * The channel's records until END.  It may be idle as long as it likes
 * (the main channel carries the heartbeat), but a record that started
 * must be whole within liveness-timeout.
 */
static bool receive(PreemptRecv *r, bool *eof, Error **errp)
{
    for (;;) {
        WireRecord rec;
        MigStreamResult res;
        gint64 deadline;

        res = mig_stream_read_record_header(r->stream, &rec, 0, errp);
        deadline = mig_deadline_after_ms(r->liveness_s * 1000ull);
        if (res == MIG_STREAM_OK) {
            res = mig_stream_read_record(r->stream, &rec, deadline, errp);
        }
        switch (res) {
        case MIG_STREAM_OK:
            break;
        case MIG_STREAM_EOF:
            error_setg(errp, "the stream ended before END");
            *eof = true;
            return false;
        case MIG_STREAM_TIMEOUT:
            error_free(*errp);
            *errp = NULL;
            error_setg(errp, "a record did not arrive whole within "
                       "liveness-timeout (%u s)", r->liveness_s);
            return false;
        default:
            return false;
        }
        switch (rec.type) {
        case WIRE_REC_RAM_PAGES:
            if (!place_pages(r, &rec, errp)) {
                return false;
            }
            break;
        case WIRE_REC_END:
            return wire_empty_decode(rec.type, rec.body, rec.len, errp);
        default:
            if (!wire_record_skip_unknown(rec.type, errp)) {
                if (wire_record_type_known(rec.type)) {
                    error_free(*errp);
                    *errp = NULL;
                    error_setg(errp, "%s is not allowed on the "
                               "postcopy-preempt channel",
                               wire_record_type_name(rec.type));
                }
                return false;
            }
        }
    }
}

static gpointer recv_thread_fn(gpointer opaque)
{
    PreemptRecv *r = opaque;
    Error *err = NULL;
    bool eof = false;

    if (!receive(r, &eof, &err)) {
        bool placing;

        error_prepend(&err, "postcopy-preempt channel: ");
        g_mutex_lock(&r->lock);
        placing = r->pd != NULL;
        g_mutex_unlock(&r->lock);
        /* Once it places pages a vCPU may wait for, an end is a broken
         * link (the postcopy pauses), not a source's way of failing. */
        recv_failed(r, err, !eof || placing);
        return NULL;
    }
    g_mutex_lock(&r->lock);
    r->ended = true;
    g_cond_broadcast(&r->cond);
    g_mutex_unlock(&r->lock);
    return NULL;
}

void preempt_recv_add_channel(PreemptRecv *r, MigStream *stream)
{
    g_autoptr(GError) gerr = NULL;
    Error *err = NULL;

    if (r->checksum) {
        mig_stream_checksum_reads(stream);
    }
    if (!mig_stream_set_liveness(stream, r->liveness_s, &err)) {
        mig_stream_free(stream);
        preempt_recv_fail(r, err);
        return;
    }
    g_mutex_lock(&r->lock);
    if (r->stopped) {
        g_mutex_unlock(&r->lock);
        mig_stream_free(stream);
        return;
    }
    r->stream = stream;
    r->thread = g_thread_try_new(VMIG_THREAD_NAME("mig/pc-preempt"),
                                 recv_thread_fn, r, &gerr);
    r->bound = r->thread != NULL;
    g_cond_broadcast(&r->cond);
    g_mutex_unlock(&r->lock);
    if (!r->thread) {
        error_setg(&err, "Cannot start the postcopy-preempt thread: %s",
                   gerr->message);
        preempt_recv_fail(r, err);
    }
}

static const Error *recv_failure(void *opaque)
{
    PreemptRecv *r = opaque;

    return r->error;
}

static bool bound(void *opaque)
{
    PreemptRecv *r = opaque;

    return r->bound;
}

static bool ended(void *opaque)
{
    PreemptRecv *r = opaque;

    return r->ended;
}

/* Until @done or a failure, by @deadline. */
static bool wait_for(PreemptRecv *r, bool (*done)(void *opaque),
                     gint64 deadline, const char *what, Error **errp)
{
    MigChannelWait w = {
        .lock = &r->lock,
        .cond = &r->cond,
        .done = done,
        .failure = recv_failure,
        .opaque = r,
    };

    return mig_channel_wait(&w, deadline, what, errp);
}

bool preempt_recv_wait_bound(PreemptRecv *r, gint64 deadline, Error **errp)
{
    g_autofree char *what = g_strdup_printf(
        "The postcopy-preempt channel did not connect within %u ms",
        mig_handshake_timeout_ms());

    return wait_for(r, bound, deadline, what, errp);
}

void preempt_recv_listen_begin(PreemptRecv *r)
{
    g_mutex_lock(&r->lock);
    r->listening = true;
    g_mutex_unlock(&r->lock);
}

void preempt_recv_listen(PreemptRecv *r, PostcopyDest *pd)
{
    g_mutex_lock(&r->lock);
    r->pd = pd;
    g_cond_broadcast(&r->cond);
    g_mutex_unlock(&r->lock);
}

bool preempt_recv_wait_end(PreemptRecv *r, Error **errp)
{
    g_autofree char *what = g_strdup_printf(
        "The postcopy-preempt channel did not end within liveness-timeout "
        "(%u s) of END on the main channel", r->liveness_s);

    /* The source ends it before main: its END is on the way. */
    return wait_for(r, ended,
                    mig_deadline_after_ms(r->liveness_s * 1000ull), what,
                    errp);
}

Error *preempt_recv_error(PreemptRecv *r)
{
    Error *err;

    g_mutex_lock(&r->lock);
    err = r->error ? error_copy(r->error) : NULL;
    g_mutex_unlock(&r->lock);
    return err;
}

void preempt_recv_stop(PreemptRecv *r)
{
    GThread *t;

    g_mutex_lock(&r->lock);
    r->stopped = true;
    r->pd = NULL;
    g_cond_broadcast(&r->cond);
    if (r->stream) {
        mig_stream_wake(r->stream);
    }
    t = g_steal_pointer(&r->thread);
    g_mutex_unlock(&r->lock);
    if (t) {
        g_thread_join(t);
    }
}

void preempt_recv_detach(PreemptRecv *r)
{
    MigStream *s;

    preempt_recv_stop(r);
    g_mutex_lock(&r->lock);
    s = g_steal_pointer(&r->stream);
    if (s) {
        r->old_bytes += mig_stream_bytes_read(s);
    }
    r->main = NULL;
    g_mutex_unlock(&r->lock);
    /* The source's end of it fails at once, not at its next write. */
    if (s) {
        mig_stream_close(s, NULL);
        mig_stream_free(s);
    }
}

void preempt_recv_resume(PreemptRecv *r, MigStream *main, PostcopyDest *pd)
{
    g_mutex_lock(&r->lock);
    g_assert(!r->thread && !r->stream);
    r->main = main;
    r->bound = r->ended = r->stopped = false;
    g_clear_pointer(&r->error, error_free);
    /* Pages go on being placed as after LISTEN. */
    r->listening = true;
    r->pd = pd;
    /* A new channel numbers its RAM_PAGES from 0 (6.5). */
    r->loader.next_packet = 0;
    g_cond_broadcast(&r->cond);
    g_mutex_unlock(&r->lock);
}

void preempt_recv_pages(PreemptRecv *r, uint64_t *zero, uint64_t *normal)
{
    *zero += qatomic_read(&r->loader.zero_pages);
    *normal += qatomic_read(&r->loader.normal_pages);
}

uint64_t preempt_recv_bytes(PreemptRecv *r)
{
    uint64_t n;

    g_mutex_lock(&r->lock);
    n = r->old_bytes + (r->stream ? mig_stream_bytes_read(r->stream) : 0);
    g_mutex_unlock(&r->lock);
    return n;
}

void preempt_recv_free(PreemptRecv *r)
{
    if (!r) {
        return;
    }
    preempt_recv_stop(r);
    mig_stream_free(r->stream);
    ram_loader_destroy(&r->loader);
    g_ptr_array_unref(r->blocks);
    error_free(r->error);
    g_mutex_clear(&r->lock);
    g_cond_clear(&r->cond);
    g_free(r);
}
