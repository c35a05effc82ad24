/*
 * Multifd, the source's side: the channel threads and the hand-over of
 * page batches from the migration thread.  See migration/multifd.h.
 *
 * One lock guards the hand-over.  A channel is idle when it has no
 * order; the migration thread gives an order (a batch, a SYNC or END)
 * only to an idle channel and waits on the one condition variable for
 * a channel to become idle; channel threads wait on it for orders.  A
 * channel clears its order only when the order's bytes are written, so
 * "every channel idle" after the SYNC orders means every page handed
 * over before them is on the wire ahead of its channel's SYNC.
 */
#include <string.h>

#include "migration/transport/channel-open.h"
#include "migration/multifd/multifd.h"
#include "migration/ram/mapped-ram.h"
#include "migration/multifd/compress.h"
#include "util/atomic.h"
#include "util/thread-name.h"

typedef enum SendOrder {
    ORDER_NONE,
    ORDER_BATCH,
    ORDER_SYNC,
    ORDER_END,
} SendOrder;

typedef struct SendChannel {
    struct MultifdSend *m;
    unsigned index;
    MigStream *stream;
    GThread *thread;

    /* Under m->lock. */
    SendOrder order;
    RamPageBatch *batch;        /* owned by the channel while it works */
    uint64_t sync_iteration;

    /* The channel thread's. */
    uint64_t next_packet;
    MultifdCompressor *compressor;
    GByteArray *buf;
} SendChannel;

struct MultifdSend {
    GMutex lock;
    GCond cond;
    unsigned n;
    SendChannel *ch;
    unsigned next;              /* where the search for an idle one starts */
    bool detect_zero;           /* zero-page-detection "multifd" */
    bool compression;
    bool zero_copy;             /* zero-copy-send: pages by MSG_ZEROCOPY */
    RamSaver *rs;
    MappedRamWriter *file;      /* mapped-ram: pages go there, no sockets */
    Error *error;               /* the first failure */
    bool woken;
    uint64_t packets;           /* atomic */
    uint64_t uncompressed;      /* atomic */
    uint64_t compressed;        /* atomic */
};

static void fail_locked(MultifdSend *m, Error *err)
{
    if (m->error) {
        error_free(err);
    } else {
        m->error = err;
    }
    g_cond_broadcast(&m->cond);
}

/* Why waits end early: the failure, else the wake-up. */
static bool stopped_locked(MultifdSend *m, Error **errp)
{
    if (m->error) {
        error_propagate(errp, error_copy(m->error));
        return true;
    }
    if (m->woken) {
        error_setg(errp, "The multifd channels were stopped");
        return true;
    }
    return false;
}

/* ---- Channel threads ---- */

static bool write_record(SendChannel *c, const GByteArray *b, Error **errp)
{
    return mig_stream_write(c->stream, b->data, b->len, 0, errp) ==
           MIG_STREAM_OK;
}

/* Pages of a batch compressed first to see whether the rest is worth
 * compressing: less than 1/16 saved on them sends the batch raw. */
#define SAMPLE_PAGES 4

/* RAM_PAGES with the normal pages compressed; *@sent false when they
 * did not shrink (the caller sends them as they are). */
static bool send_compressed(SendChannel *c, RamPageBatch *batch,
                            uint64_t packet, bool *sent, Error **errp)
{
    MultifdSend *m = c->m;
    struct iovec pages[WIRE_RAM_PAGES_MAX];
    g_autoptr(GByteArray) data = g_byte_array_new();
    WireRamPagesHeader h = {
        .block = batch->block_index,
        .count = batch->count,
        .page_size = GUEST_PAGE_SIZE,
        .flags = WIRE_RAM_PAGES_COMPRESSED,
        .packet = packet,
    };
    size_t n = 0;
    bool compressed;

    *sent = false;
    for (unsigned i = 0; i < batch->count; i++) {
        if (batch->kinds[i] == WIRE_PAGE_NORMAL) {
            pages[n].iov_base = batch->block->host + batch->offsets[i];
            pages[n].iov_len = GUEST_PAGE_SIZE;
            n++;
        }
    }
    if (!n) {
        return true;
    }
    /* A sample first: compressing a whole batch of random bytes only
     * to send it raw costs zlib ten times the time the sending takes. */
    if (n > SAMPLE_PAGES) {
        if (!multifd_compress(c->compressor, pages, SAMPLE_PAGES, data,
                              &compressed, errp)) {
            return false;
        }
        if (!compressed || data->len > SAMPLE_PAGES * GUEST_PAGE_SIZE /
                                       16 * 15) {
            compressed = false;
            goto raw;
        }
    }
    if (!multifd_compress(c->compressor, pages, n, data, &compressed,
                          errp)) {
        return false;
    }
raw:
    qatomic_add(&m->uncompressed, n * (uint64_t)GUEST_PAGE_SIZE);
    if (!compressed) {
        qatomic_add(&m->compressed, n * (uint64_t)GUEST_PAGE_SIZE);
        return true;
    }
    qatomic_add(&m->compressed, data->len);
    g_byte_array_set_size(c->buf, 0);
    if (!wire_ram_pages_encode(c->buf, &h, batch->offsets, batch->kinds,
                               data->data, data->len, errp) ||
        !write_record(c, c->buf, errp)) {
        return false;
    }
    *sent = true;
    return true;
}

static bool send_batch(SendChannel *c, RamPageBatch *batch, Error **errp)
{
    struct iovec iov[WIRE_RAM_PAGES_MAX + 2];
    uint64_t packet = c->next_packet++;
    size_t niov;
    bool sent = false;

    if (c->m->detect_zero) {
        for (unsigned i = 0; i < batch->count; i++) {
            if (ram_page_is_zero(batch->block->host + batch->offsets[i])) {
                batch->kinds[i] = WIRE_PAGE_ZERO;
            }
        }
    }
    ram_saver_count_batch(c->m->rs, batch);
    qatomic_inc(&c->m->packets);
    if (c->m->file) {
        return mapped_ram_write_batch(c->m->file, batch, errp);
    }
    if (c->compressor && !send_compressed(c, batch, packet, &sent, errp)) {
        return false;
    }
    if (sent) {
        return true;
    }
    /* Straight from guest memory to the socket. */
    g_byte_array_set_size(c->buf, 0);
    niov = ram_batch_record_iov(batch, packet, c->buf, iov);
    if (c->m->zero_copy) {
        /* The record's start is this channel's buffer, which the next
         * batch rewrites: copied.  The pages are guest memory, there
         * for the whole migration: the kernel reads them in place (a
         * page the guest writes meanwhile is dirty again and goes in
         * the next pass). */
        return mig_stream_write(c->stream, iov[0].iov_base, iov[0].iov_len,
                                0, errp) == MIG_STREAM_OK &&
               mig_stream_writev_zerocopy(c->stream, iov + 1, niov - 1, 0,
                                          errp) == MIG_STREAM_OK;
    }
    return mig_stream_writev(c->stream, iov, niov, 0, errp) ==
           MIG_STREAM_OK;
}

static bool carry_out(SendChannel *c, SendOrder order, uint64_t iteration,
                      Error **errp)
{
    /* In a file the pages' places order them: no SYNC, no END. */
    if (c->m->file && order != ORDER_BATCH) {
        return true;
    }
    /* Every zero-copy send of the pass done before its SYNC (and all of
     * them before END): the outstanding sends stay bounded and none is
     * left when the channel closes. */
    if (c->m->zero_copy && order != ORDER_BATCH &&
        mig_stream_flush_zerocopy(c->stream, 0, errp) != MIG_STREAM_OK) {
        return false;
    }
    switch (order) {
    case ORDER_BATCH:
        return send_batch(c, c->batch, errp);
    case ORDER_SYNC:
        g_byte_array_set_size(c->buf, 0);
        wire_sync_encode(c->buf, iteration, &error_abort);
        return write_record(c, c->buf, errp);
    case ORDER_END:
        g_byte_array_set_size(c->buf, 0);
        wire_empty_encode(c->buf, WIRE_REC_END, &error_abort);
        return write_record(c, c->buf, errp);
    default:
        g_assert_not_reached();
    }
}

static gpointer channel_thread_fn(gpointer opaque)
{
    SendChannel *c = opaque;
    MultifdSend *m = c->m;

    g_mutex_lock(&m->lock);
    for (;;) {
        SendOrder order;
        uint64_t iteration;
        Error *err = NULL;
        bool ok;

        while (c->order == ORDER_NONE && !m->error && !m->woken) {
            g_cond_wait(&m->cond, &m->lock);
        }
        if (m->error || m->woken) {
            break;
        }
        order = c->order;
        iteration = c->sync_iteration;
        g_mutex_unlock(&m->lock);

        ok = carry_out(c, order, iteration, &err);

        g_mutex_lock(&m->lock);
        if (!ok) {
            error_prepend(&err, "multifd channel %u: ", c->index);
            fail_locked(m, err);
            break;
        }
        c->order = ORDER_NONE;
        g_cond_broadcast(&m->cond);
        if (order == ORDER_END) {
            break;
        }
    }
    g_mutex_unlock(&m->lock);
    return NULL;
}

/* ---- Opening ---- */

static int compression_level(const MigrationConfig *cfg)
{
    switch (cfg->multifd_compression) {
    case MULTIFD_COMPRESSION_ZLIB:
        return cfg->multifd_zlib_level;
    case MULTIFD_COMPRESSION_ZSTD:
        return cfg->multifd_zstd_level;
    default:
        return 0;
    }
}

static MultifdSend *pool_new(const MigrationConfig *cfg, RamSaver *rs,
                             Error **errp)
{
    MultifdSend *m = g_new0(MultifdSend, 1);
    unsigned n = cfg->multifd_channels;

    g_mutex_init(&m->lock);
    g_cond_init(&m->cond);
    m->rs = rs;
    m->detect_zero =
        cfg->zero_page_detection == ZERO_PAGE_DETECTION_MULTIFD;
    m->compression = cfg->multifd_compression != MULTIFD_COMPRESSION_NONE;
    m->zero_copy = cfg->zero_copy_send;
    m->n = n;
    m->ch = g_new0(SendChannel, n);
    for (unsigned i = 0; i < n; i++) {
        SendChannel *c = &m->ch[i];

        c->m = m;
        c->index = i;
        c->batch = g_new(RamPageBatch, 1);
        c->buf = g_byte_array_new();
        if (m->compression) {
            c->compressor = multifd_compressor_new(
                cfg->multifd_compression, compression_level(cfg), errp);
            if (!c->compressor) {
                multifd_send_free(m);
                return NULL;
            }
        }
    }
    return m;
}

/* False when a thread cannot be had (a process limit): the caller's
 * multifd_send_free() stops the ones started. */
static bool start_threads(MultifdSend *m, Error **errp)
{
    for (unsigned i = 0; i < m->n; i++) {
        g_autoptr(GError) gerr = NULL;
        g_autofree char *name = vmig_thread_name_indexed(
            "mig/mfdsend/", i, MIGRATION_MULTIFD_CHANNELS_MAX - 1);

        m->ch[i].thread = g_thread_try_new(name, channel_thread_fn,
                                           &m->ch[i], &gerr);
        if (!m->ch[i].thread) {
            error_setg(errp, "Cannot start the thread of multifd channel "
                       "%u: %s", i, gerr->message);
            return false;
        }
    }
    return true;
}

/* One channel's set-up, in a thread of its own. */
typedef struct ChannelOpen {
    QIOChannel *ioc;            /* connected, taken by the set-up */
    MigChannelSpec spec;
    unsigned liveness;
    MigStream *stream;
    Error *err;
} ChannelOpen;

static gpointer channel_open_fn(gpointer data)
{
    ChannelOpen *job = data;

    job->stream = mig_channel_setup(g_steal_pointer(&job->ioc), &job->spec,
                                    &job->err);
    if (job->stream &&
        !mig_stream_set_liveness(job->stream, job->liveness, &job->err)) {
        mig_stream_free(g_steal_pointer(&job->stream));
    }
    return NULL;
}

/*
 * Channels set up at once: with TLS each makes its session and
 * handshake in a thread of its own, so a wave takes one handshake's
 * time.  Well below MIG_ROUTER_MAX_PENDING, so the destination keeps
 * every one of them pending.
 */
#define MULTIFD_OPEN_AT_ONCE 4

/*
 * Connects the channels in turn, here, and sets each up (TLS, stream
 * and channel headers) in a thread of its own (where a thread cannot
 * be had, here), MULTIFD_OPEN_AT_ONCE at a time.  On failure the first
 * failed channel's error.
 */
static bool open_channels(MultifdSend *m, const MigrationAddress *addr,
                          const MigrationConfig *cfg, MigTls *tls,
                          const uint8_t *session_id, Error **errp)
{
    g_autofree ChannelOpen *jobs = g_new0(ChannelOpen, m->n);
    g_autofree GThread **threads = g_new0(GThread *, m->n);
    bool connecting = true, ok = true;

    for (unsigned i = 0; i < m->n; i++) {
        jobs[i].liveness = cfg->liveness_timeout;
        jobs[i].spec = (MigChannelSpec) {
            .role = WIRE_CHANNEL_MULTIFD,
            .index = i,
            .zero_copy = m->zero_copy,
            .tls = tls,
        };
        memcpy(jobs[i].spec.session_id, session_id, WIRE_SESSION_ID_LEN);
        /* After a failure, only the wave's threads are waited for. */
        jobs[i].ioc = connecting ? mig_channel_connect(addr, &jobs[i].err)
                                 : NULL;
        if (!jobs[i].ioc) {
            connecting = false;
        } else {
            threads[i] = g_thread_try_new(VMIG_THREAD_NAME("multifd/open"),
                                          channel_open_fn, &jobs[i], NULL);
            if (!threads[i]) {
                channel_open_fn(&jobs[i]);
            }
        }
        /* A wave is full, or this was the last: wait for it. */
        if ((i + 1) % MULTIFD_OPEN_AT_ONCE && i + 1 < m->n) {
            continue;
        }
        for (unsigned k = i - i % MULTIFD_OPEN_AT_ONCE; k <= i; k++) {
            if (threads[k]) {
                g_thread_join(threads[k]);
            }
        }
    }
    for (unsigned i = 0; i < m->n; i++) {
        m->ch[i].stream = jobs[i].stream;
        if (!jobs[i].stream && ok) {
            error_prepend(&jobs[i].err, "Opening multifd channel %u "
                          "failed: ", i);
            error_propagate(errp, g_steal_pointer(&jobs[i].err));
            ok = false;
        }
        error_free(jobs[i].err);
    }
    return ok;
}

MultifdSend *multifd_send_new(const MigrationAddress *addr,
                              const MigrationConfig *cfg, MigTls *tls,
                              const uint8_t *session_id, RamSaver *rs,
                              Error **errp)
{
    MultifdSend *m = pool_new(cfg, rs, errp);

    if (!m) {
        return NULL;
    }
    /*
     * Threads first: a thread that cannot be had fails the migration
     * for that reason before the destination sees a channel close.  They
     * wait for orders, and the first comes once every channel is there
     * (m->lock orders the streams set here before their use).
     */
    if (!start_threads(m, errp)) {
        multifd_send_free(m);
        return NULL;
    }
    if (!open_channels(m, addr, cfg, tls, session_id, errp)) {
        multifd_send_free(m);
        return NULL;
    }
    for (unsigned i = 0; i < m->n; i++) {
        /* After CHANNEL_HEADER; each channel's thread computes its own
         * records' CRCs. */
        if (wire_checksum_on(cfg)) {
            mig_stream_checksum_writes(m->ch[i].stream);
        }
    }
    return m;
}

MultifdSend *multifd_send_new_mapped(const MigrationConfig *cfg,
                                     RamSaver *rs, MappedRamWriter *file,
                                     Error **errp)
{
    MultifdSend *m = pool_new(cfg, rs, errp);

    if (!m) {
        return NULL;
    }
    m->file = file;
    if (!start_threads(m, errp)) {
        multifd_send_free(m);
        return NULL;
    }
    return m;
}

/* ---- The migration thread's side ---- */

static bool all_idle_locked(MultifdSend *m)
{
    for (unsigned i = 0; i < m->n; i++) {
        if (m->ch[i].order != ORDER_NONE) {
            return false;
        }
    }
    return true;
}

bool multifd_send_batch(MultifdSend *m, RamPageBatch **batch, Error **errp)
{
    g_mutex_lock(&m->lock);
    for (;;) {
        if (stopped_locked(m, errp)) {
            g_mutex_unlock(&m->lock);
            return false;
        }
        for (unsigned k = 0; k < m->n; k++) {
            SendChannel *c = &m->ch[(m->next + k) % m->n];
            RamPageBatch *spare;

            if (c->order != ORDER_NONE) {
                continue;
            }
            spare = c->batch;
            c->batch = *batch;
            *batch = spare;
            c->order = ORDER_BATCH;
            m->next = (c->index + 1) % m->n;
            g_cond_broadcast(&m->cond);
            g_mutex_unlock(&m->lock);
            return true;
        }
        g_cond_wait(&m->cond, &m->lock);
    }
}

/* Gives every channel @order once all are idle, then waits until every
 * one has carried it out. */
static bool order_all(MultifdSend *m, SendOrder order, uint64_t iteration,
                      Error **errp)
{
    bool ok = false;

    g_mutex_lock(&m->lock);
    while (!all_idle_locked(m) && !stopped_locked(m, NULL)) {
        g_cond_wait(&m->cond, &m->lock);
    }
    if (stopped_locked(m, errp)) {
        goto out;
    }
    for (unsigned i = 0; i < m->n; i++) {
        m->ch[i].order = order;
        m->ch[i].sync_iteration = iteration;
    }
    g_cond_broadcast(&m->cond);
    while (!all_idle_locked(m) && !stopped_locked(m, NULL)) {
        g_cond_wait(&m->cond, &m->lock);
    }
    ok = !stopped_locked(m, errp);
out:
    g_mutex_unlock(&m->lock);
    return ok;
}

bool multifd_send_sync(MultifdSend *m, uint64_t iteration, Error **errp)
{
    return order_all(m, ORDER_SYNC, iteration, errp);
}

bool multifd_send_end(MultifdSend *m, Error **errp)
{
    return order_all(m, ORDER_END, 0, errp);
}

void multifd_send_wake(MultifdSend *m)
{
    g_mutex_lock(&m->lock);
    m->woken = true;
    g_cond_broadcast(&m->cond);
    g_mutex_unlock(&m->lock);
    for (unsigned i = 0; i < m->n; i++) {
        if (m->ch[i].stream) {
            mig_stream_wake(m->ch[i].stream);
        }
    }
}

uint64_t multifd_send_bytes(MultifdSend *m)
{
    uint64_t sum = 0;

    if (m->file) {
        return 0;           /* counted by the mapped-ram writer */
    }
    for (unsigned i = 0; i < m->n; i++) {
        if (m->ch[i].stream) {
            sum += mig_stream_bytes_written(m->ch[i].stream);
        }
    }
    return sum;
}

void multifd_send_stats(MultifdSend *m, MigMultifdStats *st)
{
    memset(st, 0, sizeof(*st));
    st->channels = m->n;
    for (unsigned i = 0; i < m->n && i < G_N_ELEMENTS(st->bytes); i++) {
        st->bytes[i] = m->ch[i].stream ?
                       mig_stream_bytes_written(m->ch[i].stream) : 0;
    }
    st->packets = qatomic_read(&m->packets);
    st->compression = m->compression;
    st->uncompressed_bytes = qatomic_read(&m->uncompressed);
    st->compressed_bytes = qatomic_read(&m->compressed);
}

void multifd_send_free(MultifdSend *m)
{
    if (!m) {
        return;
    }
    multifd_send_wake(m);
    for (unsigned i = 0; i < m->n; i++) {
        SendChannel *c = &m->ch[i];

        if (c->thread) {
            g_thread_join(c->thread);
        }
        if (c->stream) {
            mig_stream_close(c->stream, NULL);
            mig_stream_free(c->stream);
        }
        multifd_compressor_free(c->compressor);
        g_free(c->batch);
        if (c->buf) {
            g_byte_array_unref(c->buf);
        }
    }
    g_free(m->ch);
    error_free(m->error);
    g_mutex_clear(&m->lock);
    g_cond_clear(&m->cond);
    g_free(m);
}
