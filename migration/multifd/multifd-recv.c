/*
 * Multifd, the destination's side: one receiver thread per channel, and
 * the SYNC barrier.  See migration/multifd/multifd.h.
 *
 * The channels arrive bound: the router (migration/transport/router.c)
 * read each connection's CHANNEL_HEADER and the session
 * (migration/engine/session.c) checked its role and index.
 *
 * The barrier: a receiver that reads SYNC n waits until every channel
 * has read SYNC n.  A page re-sent in pass n+1 on another channel is
 * therefore never written before its pass-n copy.
 */
#include <string.h>

#include "migration/multifd/multifd.h"
#include "migration/multifd/compress.h"
#include "migration/transport/channel-wait.h"
#include "util/atomic.h"
#include "util/thread-name.h"

typedef struct RecvConn {
    struct MultifdRecv *m;
    MigStream *stream;
    GThread *thread;
    bool bound;
    uint32_t index;
    RamLoader loader;
    MultifdDecompressor *decompressor;
    uint64_t last_sync;
} RecvConn;

struct MultifdRecv {
    MigStream *main;
    GPtrArray *blocks;
    MultiFDCompression method;
    bool checksum;              /* records carry CRC32Cs */

    GMutex lock;
    GCond cond;
    unsigned n;                 /* channels expected */
    unsigned liveness_s;        /* liveness-timeout */
    unsigned n_bound;
    GPtrArray *conns;           /* RecvConn *, every channel added */
    RecvConn **by_index;
    unsigned n_ended;
    Error *error;
    bool woken;
    /* The barrier. */
    unsigned sync_arrived;
    uint64_t sync_iteration;
    uint64_t sync_generation;
};

/*
 * The session fails with @err.  With @wake_main the incoming thread is
 * stopped too; without, it learns of it from the main channel, which
 * then carries the reason (a source that gives up sends ERROR on main
 * and closes its channels: which arrives first here is chance).
 */
static void fail_session(MultifdRecv *m, Error *err, bool wake_main)
{
    bool first;

    g_mutex_lock(&m->lock);
    first = !m->error;
    if (first) {
        m->error = err;
    } else {
        error_free(err);
    }
    g_cond_broadcast(&m->cond);
    g_mutex_unlock(&m->lock);
    /* The other channels stop too. */
    if (first) {
        if (wake_main) {
            mig_stream_wake(m->main);
        }
        multifd_recv_wake(m);
    }
}

static void fail(MultifdRecv *m, Error *err)
{
    fail_session(m, err, true);
}

static bool stopped_locked(MultifdRecv *m)
{
    return m->error || m->woken;
}

static bool decompress(void *opaque, const void *data, size_t len,
                       const struct iovec *pages, size_t n, Error **errp)
{
    return multifd_decompress(opaque, data, len, pages, n, errp);
}

/* ---- Receiving ---- */

static bool wait_barrier(RecvConn *c, uint64_t iteration, Error **errp)
{
    MultifdRecv *m = c->m;
    uint64_t generation;
    bool ok = true;

    if (iteration <= c->last_sync) {
        error_setg(errp, "SYNC: iteration %" G_GUINT64_FORMAT " after "
                   "iteration %" G_GUINT64_FORMAT, iteration, c->last_sync);
        return false;
    }
    c->last_sync = iteration;
    g_mutex_lock(&m->lock);
    if (m->sync_arrived && iteration != m->sync_iteration) {
        error_setg(errp, "SYNC: iteration %" G_GUINT64_FORMAT " while the "
                   "other channels are at iteration %" G_GUINT64_FORMAT,
                   iteration, m->sync_iteration);
        g_mutex_unlock(&m->lock);
        return false;
    }
    m->sync_iteration = iteration;
    generation = m->sync_generation;
    if (++m->sync_arrived == m->n) {
        m->sync_arrived = 0;
        m->sync_generation++;
        g_cond_broadcast(&m->cond);
    }
    while (m->sync_generation == generation && !stopped_locked(m)) {
        g_cond_wait(&m->cond, &m->lock);
    }
    if (m->sync_generation == generation) {
        ok = false;
        error_setg(errp, "stopped at the SYNC of iteration %"
                   G_GUINT64_FORMAT, iteration);
    }
    g_mutex_unlock(&m->lock);
    return ok;
}

/* Reads the channel's records until END; false with @errp set, and
 * *@eof when the source closed the channel between records. */
/*
 * A channel may be idle as long as it likes (the main channel carries
 * the heartbeat), but a record that started must be whole within
 * liveness-timeout: a source that stalls mid-record is dead or hostile.
 */
static void check_record_time(RecvConn *c, gint64 deadline, Error **errp)
{
    if (g_get_monotonic_time() >= deadline) {
        error_free(*errp);
        *errp = NULL;
        error_setg(errp, "a record did not arrive whole within "
                   "liveness-timeout (%u s)", c->m->liveness_s);
    }
}

static bool receive(RecvConn *c, bool *eof, Error **errp)
{
    for (;;) {
        WireRecord rec;
        MigStreamResult r;
        uint64_t iteration;
        gint64 deadline;

        r = mig_stream_read_record_header(c->stream, &rec, 0, errp);
        deadline = mig_deadline_after_ms(c->m->liveness_s * 1000ull);
        if (r == MIG_STREAM_OK && rec.type == WIRE_REC_RAM_PAGES) {
            if (ram_loader_load_from(&c->loader, c->stream, &rec, deadline,
                                     errp) != RAM_LOAD_OK) {
                check_record_time(c, deadline, errp);
                return false;
            }
            continue;
        }
        if (r == MIG_STREAM_OK) {
            r = mig_stream_read_record(c->stream, &rec, deadline, errp);
            if (r == MIG_STREAM_TIMEOUT) {
                check_record_time(c, deadline, errp);
            }
        }
        if (r == MIG_STREAM_EOF) {
            error_setg(errp, "the stream ended before END");
            *eof = true;
            return false;
        }
        if (r != MIG_STREAM_OK) {
            return false;
        }
        switch (rec.type) {
        case WIRE_REC_SYNC:
            if (!wire_sync_decode(rec.body, rec.len, &iteration, errp) ||
                !wait_barrier(c, iteration, errp)) {
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
                    error_setg(errp, "record type 0x%08x is not allowed "
                               "on a multifd channel", rec.type);
                }
                return false;
            }
        }
    }
}

static gpointer conn_thread_fn(gpointer opaque)
{
    RecvConn *c = opaque;
    MultifdRecv *m = c->m;
    Error *err = NULL;
    bool eof = false;

    if (!receive(c, &eof, &err)) {
        error_prepend(&err, "multifd channel %u: ", c->index);
        fail_session(m, err, !eof);
        return NULL;
    }
    g_mutex_lock(&m->lock);
    m->n_ended++;
    g_cond_broadcast(&m->cond);
    g_mutex_unlock(&m->lock);
    return NULL;
}

/* ---- The session ---- */

MultifdRecv *multifd_recv_new(const MigrationConfig *effective,
                              GPtrArray *blocks, MigStream *main)
{
    MultifdRecv *m = g_new0(MultifdRecv, 1);

    g_mutex_init(&m->lock);
    g_cond_init(&m->cond);
    m->main = main;
    m->blocks = g_ptr_array_ref(blocks);
    m->method = effective->multifd_compression;
    m->n = effective->multifd_channels;
    m->liveness_s = effective->liveness_timeout;
    m->checksum = wire_checksum_on(effective);
    m->conns = g_ptr_array_new();
    m->by_index = g_new0(RecvConn *, m->n);
    return m;
}

void multifd_recv_add_channel(MultifdRecv *m, uint32_t index,
                              MigStream *stream)
{
    RecvConn *c = g_new0(RecvConn, 1);
    g_autofree char *name = vmig_thread_name_indexed(
        "mig/mfdrecv/", index, MIGRATION_MULTIFD_CHANNELS_MAX - 1);
    GError *gerr = NULL;
    Error *err = NULL;

    g_assert(index < m->n);
    c->m = m;
    c->stream = stream;
    c->index = index;
    /* Checked by the channel's own thread as it reads. */
    if (m->checksum) {
        mig_stream_checksum_reads(stream);
    }
    c->bound = true;
    /* Ready before it is published: multifd_recv_stats() reads the
     * loader and decompressor of every bound channel. */
    ram_loader_init(&c->loader, m->blocks);
    if (!mig_stream_set_liveness(stream, m->liveness_s, &err) ||
        m->method != MULTIFD_COMPRESSION_NONE) {
        c->decompressor = err ? NULL :
                          multifd_decompressor_new(m->method, &err);
        if (!c->decompressor) {
            ram_loader_destroy(&c->loader);
            mig_stream_free(c->stream);
            g_free(c);
            fail(m, err);
            return;
        }
        c->loader.decompress = decompress;
        c->loader.decompress_opaque = c->decompressor;
    }
    g_mutex_lock(&m->lock);
    g_assert(!m->by_index[index]);
    g_ptr_array_add(m->conns, c);
    m->by_index[index] = c;
    m->n_bound++;
    if (m->woken) {
        mig_stream_wake(c->stream);
    }
    c->thread = g_thread_try_new(name, conn_thread_fn, c, &gerr);
    g_cond_broadcast(&m->cond);
    g_mutex_unlock(&m->lock);
    if (!c->thread) {
        /* The session fails instead of vmig aborting; the channel stays
         * listed, to be freed with the others. */
        error_setg(&err, "Cannot start the receiver of multifd channel %u: "
                   "%s", index, gerr->message);
        g_error_free(gerr);
        fail(m, err);
    }
}

void multifd_recv_fail(MultifdRecv *m, Error *err)
{
    fail(m, err);
}

static const Error *failure(void *opaque)
{
    MultifdRecv *m = opaque;

    return m->error;
}

static const char *woken(void *opaque)
{
    MultifdRecv *m = opaque;

    return m->woken ? "The multifd channels were stopped" : NULL;
}

static bool wait_for(MultifdRecv *m, bool (*done)(void *opaque),
                     gint64 deadline, const char *what, Error **errp)
{
    MigChannelWait w = {
        .lock = &m->lock,
        .cond = &m->cond,
        .done = done,
        .failure = failure,
        .stopped = woken,
        .opaque = m,
    };

    return mig_channel_wait(&w, deadline, what, errp);
}

static bool all_bound(void *opaque)
{
    MultifdRecv *m = opaque;

    return m->n_bound == m->n;
}

static bool all_ended(void *opaque)
{
    MultifdRecv *m = opaque;

    return m->n_ended == m->n;
}

bool multifd_recv_wait_bound(MultifdRecv *m, gint64 deadline, Error **errp)
{
    g_autofree char *what = g_strdup_printf(
        "Not all %u multifd channels connected within %u ms", m->n,
        mig_handshake_timeout_ms());

    return wait_for(m, all_bound, deadline, what, errp);
}

bool multifd_recv_wait_end(MultifdRecv *m, Error **errp)
{
    g_autofree char *what = g_strdup_printf(
        "Not all %u multifd channels ended within liveness-timeout (%u s) "
        "of END on the main channel", m->n, m->liveness_s);

    /* The source ends them before main: their ENDs are on the way. */
    return wait_for(m, all_ended,
                    mig_deadline_after_ms(m->liveness_s * 1000ull), what,
                    errp);
}

Error *multifd_recv_error(MultifdRecv *m)
{
    Error *err;

    g_mutex_lock(&m->lock);
    err = m->error ? error_copy(m->error) : NULL;
    g_mutex_unlock(&m->lock);
    return err;
}

void multifd_recv_wake(MultifdRecv *m)
{
    g_mutex_lock(&m->lock);
    m->woken = true;
    for (guint i = 0; i < m->conns->len; i++) {
        RecvConn *c = g_ptr_array_index(m->conns, i);

        mig_stream_wake(c->stream);
    }
    g_cond_broadcast(&m->cond);
    g_mutex_unlock(&m->lock);
}

uint64_t multifd_recv_bytes(MultifdRecv *m)
{
    uint64_t sum = 0;

    g_mutex_lock(&m->lock);
    for (unsigned i = 0; i < m->n; i++) {
        if (m->by_index[i]) {
            sum += mig_stream_bytes_read(m->by_index[i]->stream);
        }
    }
    g_mutex_unlock(&m->lock);
    return sum;
}

void multifd_recv_pages(MultifdRecv *m, uint64_t *zero, uint64_t *normal)
{
    g_mutex_lock(&m->lock);
    for (unsigned i = 0; i < m->n; i++) {
        RecvConn *c = m->by_index[i];

        /* The channel's thread counts on: only m->lock is ours. */
        if (c) {
            *zero += qatomic_read(&c->loader.zero_pages);
            *normal += qatomic_read(&c->loader.normal_pages);
        }
    }
    g_mutex_unlock(&m->lock);
}

void multifd_recv_stats(MultifdRecv *m, MigMultifdStats *st)
{
    memset(st, 0, sizeof(*st));
    g_mutex_lock(&m->lock);
    st->channels = m->n;
    st->compression = m->method != MULTIFD_COMPRESSION_NONE;
    for (unsigned i = 0; i < m->n && i < G_N_ELEMENTS(st->bytes); i++) {
        RecvConn *c = m->by_index[i];

        if (!c) {
            continue;
        }
        st->bytes[i] = mig_stream_bytes_read(c->stream);
        /* The channel's thread counts on: only m->lock is ours. */
        st->packets += qatomic_read(&c->loader.next_packet);
        if (c->decompressor) {
            st->compressed_bytes +=
                multifd_decompressor_bytes_in(c->decompressor);
            st->uncompressed_bytes +=
                multifd_decompressor_bytes_out(c->decompressor);
        }
    }
    g_mutex_unlock(&m->lock);
}

void multifd_recv_free(MultifdRecv *m)
{
    if (!m) {
        return;
    }
    multifd_recv_wake(m);
    /* No new channel comes: the session left the router first. */
    /* Every thread first: one that is failing still walks the others'
     * connections to wake them. */
    for (guint i = 0; i < m->conns->len; i++) {
        RecvConn *c = g_ptr_array_index(m->conns, i);

        if (c->thread) {
            g_thread_join(c->thread);
        }
    }
    for (guint i = 0; i < m->conns->len; i++) {
        RecvConn *c = g_ptr_array_index(m->conns, i);

        if (c->bound) {
            ram_loader_destroy(&c->loader);
        }
        multifd_decompressor_free(c->decompressor);
        mig_stream_free(c->stream);
        g_free(c);
    }
    g_ptr_array_unref(m->conns);
    g_ptr_array_unref(m->blocks);
    g_free(m->by_index);
    error_free(m->error);
    g_mutex_clear(&m->lock);
    g_cond_clear(&m->cond);
    g_free(m);
}
