/*
 * The source side of a migration: precopy over one main channel
 * (docs/devel/migration-protocol.md, section 6.12).
 *
 * Threads:
 *   - main thread: migrate (migration_outgoing_start()), the callback
 *     that gets the opened channel, migrate_cancel, migrate-continue, and
 *     everything the migration thread asks of it through
 *     mig_call_in_main(): stopping the VM, saving the devices, the final
 *     run-state change and status.  It also joins the threads (reap()).
 *   - the migration thread: handshake, precopy passes, switchover,
 *     completion.
 *   - the return-path thread, on bidirectional transports once ACCEPT has
 *     arrived: reads SHUTDOWN, SWITCHOVER_ACK and ERROR from the
 *     destination while the migration thread sends.  On exec: it also
 *     reads the answer to HELLO, which the migration thread does not
 *     wait for (REPLY_OPTIONAL, protocol section 7).
 *
 * Cancel and failure: migrate_cancel sets the status to "cancelling",
 * flags the migration and wakes the stream (include/migration/stream.h),
 * which makes every wait of both threads return at once.  While the
 * channel is still being opened there is no thread yet: the migration is
 * "cancelled" at once and the channel, when it comes, is closed unused.
 * A failure seen by the return-path thread (the destination's ERROR, its
 * end of stream) wakes the stream the same way.  However the migration
 * ends, the migration thread stops dirty tracking and throttling, tells
 * the destination with ERROR when it can, closes the channel and then,
 * in the main thread, puts the VM back in the run state it had if the
 * migration stopped it, before the final status is set: a client that
 * sees "failed" or "cancelled" finds the guest running again.  Only
 * "completed" comes before that cleanup (nothing to give back then);
 * a new migration waits for it.
 */
#include <string.h>

#include "migration/transport/channel-open.h"
#include "io/channel-command.h"
#include "migration/config.h"
#include "migration/devices/devices.h"
#include "migration/ram/dirty-bitmap.h"
#include "migration/engine/engine.h"
#include "migration/engine/handshake.h"
#include "migration/engine/postcopy.h"
#include "migration/engine/postcopy-preempt.h"
#include "migration/engine/postcopy-recover.h"
#include "migration/engine/session.h"
#include "migration/ram/mapped-ram.h"
#include "migration/multifd/multifd.h"
#include "migration/ram/postcopy-flow.h"
#include "migration/ram/precopy-policy.h"
#include "migration/ram/ram.h"
#include "migration/ram/ram-xbzrle.h"
#include "migration/transport/stream.h"
#include "migration/transport/tls.h"
#include "qapi/clone.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-events.h"
#include "qapi/qapi-visit.h"
#include "system/cpus.h"
#include "system/machine.h"
#include "system/runstate.h"
#include "util/atomic.h"
#include "util/cutils.h"
#include "util/main-thread.h"
#include "util/thread-name.h"

/* Longest slice of sending between two looks at the options and the
 * switchover test (QEMU iterates at the same pace). */
#define SEND_SLICE_US (50 * 1000)
/* How long the final ERROR to the destination may take. */
#define LAST_WORD_MS 1000
/* How long a new migration waits for the last one's cleanup (joins of
 * woken threads, closes: normally well under a second). */
#define CLEANUP_WAIT_MS 5000
/* How long a failing migration waits for the return path's reason. */
#define RP_REASON_WAIT_US (1000 * 1000)

typedef enum OutResult {
    OUT_COMPLETED,
    OUT_FAILED,
    OUT_CANCELLED,
} OutResult;

/*
 * How far the source has come.  Set by the main thread until the
 * migration thread starts, then by the migration thread (and read by
 * its calls into the main thread, which it waits for).
 *
 *   CONNECTING --channel open--> HANDSHAKE --well-formed ACCEPT-->
 *       |                            |  (or REPLY_OPTIONAL / file:
 *       | migrate_cancel             |   no answer awaited)
 *       v                            v
 *   ABANDONED                    ACCEPTED --channels, active-->
 *   (the channel is          PRECOPY --converged: VM stopped-->
 *    closed when it comes)   SWITCHOVER --END sent--> CONFIRMING
 *                                --SHUTDOWN 0 / file closed--> DONE
 *
 *   with postcopy-ram, after migrate-start-postcopy:
 *                            PRECOPY --VM stopped--> SWITCHOVER
 *       --discards, device state, POSTCOPY_RUN--> POSTCOPY
 *       --every page sent, END--> CONFIRMING --SHUTDOWN 0--> DONE
 *
 *   a broken connection (or migrate-pause) from POSTCOPY on pauses the
 *   migration thread with its connection closed and every page not
 *   confirmed kept (status postcopy-paused); migrate with resume opens
 *   a new one (postcopy-recover-setup), a HELLO with RESUME and the
 *   destination's RECEIVED_BITMAPs (postcopy-recover) make the pages it
 *   lacks dirty again, and POSTCOPY goes on (postcopy-active).  A
 *   failure of the recovery pauses again.
 *
 * A failure or cancel can end any phase from HANDSHAKE on; the phase
 * then says what must be undone: from ACCEPTED the destination waits
 * for data and is told why none comes (ERROR), from SWITCHOVER the VM
 * was stopped by us and is resumed, but not from POSTCOPY on: the
 * destination may run the guest with pages only we have, so ours stays
 * stopped (migrate_cancel is refused then).  A dry run ends after the
 * handshake.
 */
typedef enum OutPhase {
    OUT_CONNECTING,
    OUT_ABANDONED,
    OUT_HANDSHAKE,
    OUT_ACCEPTED,
    OUT_PRECOPY,
    OUT_SWITCHOVER,
    OUT_POSTCOPY,
    OUT_CONFIRMING,
    OUT_DONE,
} OutPhase;

/*
 * What the return path has learnt (under lock).  It starts AWAITING
 * an answer only with REPLY_OPTIONAL (exec:, protocol section 7.1).
 *
 *   AWAITING_ANSWER --ACCEPT--> OPEN --SHUTDOWN--> CONFIRMED
 *         |
 *         +--(no answer before END: the source sends ONE_WAY)--> ONE_WAY
 */
typedef enum RpState {
    RP_AWAITING_ANSWER,
    RP_OPEN,
    RP_ONE_WAY,         /* the destination owes us nothing more */
    RP_CONFIRMED,       /* SHUTDOWN arrived (rp_status) */
} RpState;

typedef struct MigOutgoing {
    /* Set before the migration thread starts, read-only after. */
    MigrationAddress *addr;
    MigTls *tls;                /* NULL: plaintext */
    bool dry_run;
    bool unidirectional;        /* file: nothing comes back */
    bool reply_optional;        /* exec: an answer may or may not come */
    WireHello *hello;
    /* The session: its id, configuration (full; its fixed options hold
     * throughout), RAM saver and multifd channels. */
    MigSession *session;

    OutPhase phase;             /* atomic: phase(), set_phase() */
    GThread *thread;            /* main thread only */

    MigStream *stream;
    gint cancel;                /* migrate_cancel, atomic */
    /* ACCEPT listed "xbzrle": the destination reads RAM_XBZRLE. */
    bool peer_xbzrle;
    /* migrate-start-postcopy (atomic): switch at the next look. */
    gint postcopy_asked;
    /* Postcopy's page requests: set (under lock) by the migration
     * thread at the switch, before the destination may send any. */
    PostcopyRequests *requests;
    bool postcopy;              /* precopy ended for postcopy */
    /* With postcopy-preempt: its channel, opened after ACCEPT (set and
     * cleared under lock, for wake_streams()). */
    PreemptSend *preempt;
    /* Postcopy: the dirty bitmap, the RAM saver's position and
     * release-ram's pages, which the preempt channel's thread takes
     * pages from and adds to too. */
    GMutex pages_lock;
    /* POSTCOPY_RUN is being sent, or was: the destination may run the
     * guest, ours must never run again (through CONFIRMING and DONE,
     * which precopy passes too). */
    bool postcopy_run;
    /* migrate-pause (atomic): drop the connection and pause. */
    gint pause_asked;
    /* release-ram: pages sent, given back once confirmed. */
    PostcopyRelease *release;
    /* Paused postcopy: a resume's connection (under lock): being opened
     * by the main thread, or opened and not taken yet. */
    bool resume_connecting;
    MigStream *resume_stream;
    MigrationAddress *resume_addr;  /* where it connects */
    bool stream_closed;         /* o->stream is a paused one's, closed */
    uint64_t old_bytes;         /* written on the connections before */
    uint64_t old_preempt_pages; /* sent on the preempt channels before */

    /* Under lock; cond is broadcast on every change. */
    GMutex lock;
    GCond cond;
    bool continue_requested;    /* migrate-continue */
    GThread *rp_thread;
    RpState rp_state;
    bool rp_done;               /* the return-path thread has ended */
    uint32_t rp_status;
    bool rp_switchover_ack;
    /* The heartbeat's and postcopy flow control's: the last PING sent
     * (under ping_lock, which keeps PINGs in the order of their numbers)
     * and PONG received (return-path thread). */
    GMutex ping_lock;
    uint64_t ping_seq, pong_seq;
    char *rp_error;             /* the return path's reason to fail */

    /* The VM, as the migration found and left it (migration thread and
     * its calls into the main thread, one at a time). */
    RunState vm_old_state;
    gint64 stop_time;
    OutResult result;
    Error *error;
    const char *error_class;    /* for the ERROR record: WIRE_ERR_* */
    GByteArray *devices;        /* saved state, as DEVICE_STATE records */
    Error *devices_err;
    uint64_t devices_max;       /* the most bytes the devices can save */

    /* Precopy (migration thread). */
    DirtyBitmap *bitmap;
    XbzrleSaver *xbzrle;        /* xbzrle on and usable */
    RamPageBatch *batch;        /* multifd, mapped-ram: being filled */
    MappedRamWriter *mapped;    /* mapped-ram: the file's pages */
    uint64_t iteration;
    bool throttled;
    gint64 sync_us;             /* what the last dirty sync took */
    gint64 round_trip_us;       /* HELLO to ACCEPT; 0: no answer awaited */
} MigOutgoing;

/* The migration in progress, or the last one until it is reaped. */
static MigOutgoing *cur;
/* Migration threads not reaped yet (main thread). */
static unsigned threads_alive;
/*
 * Migration threads still cleaning up (any thread, under cleanup_lock):
 * "completed" is reported before the cleanup, so the next migration
 * waits for it here rather than for the status.
 */
static unsigned cleaning;
static GMutex cleanup_lock;
static GCond cleanup_cond;
static bool shutting_down;

static void outgoing_free(MigOutgoing *o)
{
    postcopy_requests_free(o->requests);
    postcopy_release_free(o->release);
    qapi_free_MigrationAddress(o->addr);
    qapi_free_MigrationAddress(o->resume_addr);
    mig_tls_free(o->tls);
    mig_session_free(o->session);
    wire_hello_free(o->hello);
    mig_stream_free(o->stream);
    g_free(o->rp_error);
    error_free(o->error);
    if (o->devices) {
        g_byte_array_unref(o->devices);
    }
    error_free(o->devices_err);
    g_mutex_clear(&o->lock);
    g_mutex_clear(&o->pages_lock);
    g_mutex_clear(&o->ping_lock);
    g_cond_clear(&o->cond);
    if (cur == o) {
        cur = NULL;
    }
    g_free(o);
}

/* The main thread reads the phase (cancel) while the migration thread
 * moves it on. */
static OutPhase phase(MigOutgoing *o)
{
    return qatomic_read(&o->phase);
}

static void set_phase(MigOutgoing *o, OutPhase p)
{
    qatomic_set(&o->phase, p);
}

static bool cancelled(MigOutgoing *o)
{
    return qatomic_mb_read(&o->cancel);
}

static void record_error(MigOutgoing *o, Error *err)
{
    if (o->error) {
        error_free(err);
    } else {
        o->error = err;
    }
}

/* Any thread: every wait of the migration (its channels too) ends. */
static void wake_streams(MigOutgoing *o)
{
    g_mutex_lock(&o->lock);
    if (o->session->multifd_send) {
        multifd_send_wake(o->session->multifd_send);
    }
    if (o->preempt) {
        preempt_send_wake(o->preempt);
    }
    /* Under the lock: a resume replaces the stream, the switch sets
     * the requests. */
    mig_stream_wake(o->stream);
    if (o->requests) {
        postcopy_requests_kick(o->requests);
    }
    g_mutex_unlock(&o->lock);
}

/* What the source has written on all its channels. */
static uint64_t bytes_sent(MigOutgoing *o)
{
    return o->old_bytes + mig_stream_bytes_written(o->stream) +
           (o->session->multifd_send ?
            multifd_send_bytes(o->session->multifd_send) : 0) +
           (o->preempt ? preempt_send_bytes(o->preempt) : 0) +
           (o->mapped ? mapped_ram_bytes_written(o->mapped) : 0);
}

/* The guest memory the pages sent so far stand for (query-migrate's
 * ram.page-bytes): a zero page or an xbzrle delta counts whole. */
static uint64_t page_bytes_sent(MigOutgoing *o)
{
    /* Counted by the multifd channel threads too. */
    return (qatomic_read(&o->session->ram_saver.zero_pages) +
            qatomic_read(&o->session->ram_saver.normal_pages) +
            (o->xbzrle ? o->xbzrle->pages : 0)) * GUEST_PAGE_SIZE;
}

/*
 * Guest bytes of the pages sent with their data (whole, compressed or
 * as XBZRLE deltas), zero pages left out: dirty RAM counts whole
 * pages, and with compression the wire's bytes are far fewer.
 */
static uint64_t data_page_bytes_sent(MigOutgoing *o)
{
    return (qatomic_read(&o->session->ram_saver.normal_pages) +
            (o->xbzrle ? o->xbzrle->pages : 0)) * GUEST_PAGE_SIZE;
}

/* The pass rates start a new pass now (the first with @first). */
static void pass_rates_next(MigOutgoing *o, MigPassRate *wire,
                            MigPassRate *pages, bool first)
{
    gint64 now = g_get_monotonic_time();

    if (first) {
        mig_pass_rate_init(wire, now, bytes_sent(o));
        mig_pass_rate_init(pages, now, data_page_bytes_sent(o));
    } else {
        mig_pass_rate_next_pass(wire, now, bytes_sent(o));
        mig_pass_rate_next_pass(pages, now, data_page_bytes_sent(o));
    }
}

/* ---- The return path ---- */

static void rp_fail(MigOutgoing *o, char *reason)
{
    g_mutex_lock(&o->lock);
    if (!o->rp_error) {
        o->rp_error = reason;
    } else {
        g_free(reason);
    }
    g_cond_broadcast(&o->cond);
    g_mutex_unlock(&o->lock);
    /* The migration thread may be blocked sending: stop it. */
    wake_streams(o);
}

/* A PONG arrived: wake postcopy's sender if it waits for one (without
 * preempt it waits on the request queue, which it serves meanwhile). */
static void pong_wake(MigOutgoing *o)
{
    g_mutex_lock(&o->lock);
    if (o->requests && !o->preempt) {
        postcopy_requests_kick(o->requests);
    }
    g_cond_broadcast(&o->cond);
    g_mutex_unlock(&o->lock);
}

/* Handles one record; false once the return path is done. */
static bool rp_handle(MigOutgoing *o, const WireRecord *rec)
{
    Error *err = NULL;

    switch (rec->type) {
    case WIRE_REC_SHUTDOWN: {
        uint32_t status;

        if (!wire_shutdown_decode(rec->body, rec->len, &status, &err)) {
            break;
        }
        mig_trace_stop_phase("confirmation-read");
        g_mutex_lock(&o->lock);
        o->rp_state = RP_CONFIRMED;
        o->rp_status = status;
        g_cond_broadcast(&o->cond);
        g_mutex_unlock(&o->lock);
        return true;
    }
    case WIRE_REC_SWITCHOVER_ACK:
        if (!o->session->cfg->switchover_ack) {
            error_setg(&err, "SWITCHOVER_ACK, but switchover-ack is off");
            break;
        }
        if (!wire_empty_decode(rec->type, rec->body, rec->len, &err)) {
            break;
        }
        g_mutex_lock(&o->lock);
        o->rp_switchover_ack = true;
        g_cond_broadcast(&o->cond);
        g_mutex_unlock(&o->lock);
        return true;
    case WIRE_REC_PAGE_REQUEST: {
        WirePageRequest req;
        PostcopyRequests *q;

        if (!o->session->cfg->postcopy_ram) {
            error_setg(&err, "PAGE_REQUEST, but postcopy-ram is off");
            break;
        }
        if (!wire_page_request_decode(rec->body, rec->len, &req, &err)) {
            break;
        }
        g_mutex_lock(&o->lock);
        q = o->requests;
        g_mutex_unlock(&o->lock);
        if (!q) {
            error_setg(&err, "PAGE_REQUEST before postcopy started");
            break;
        }
        if (!postcopy_requests_push(q, &req, &err)) {
            break;
        }
        return true;
    }
    case WIRE_REC_PONG: {
        uint64_t seq, sent;

        if (!wire_heartbeat_decode(rec->type, rec->body, rec->len, &seq,
                                   &err)) {
            break;
        }
        /* In order, and only for a PING sent (the migration thread
         * sends some too: an atomic read). */
        sent = qatomic_read(&o->ping_seq);
        if (seq <= o->pong_seq || seq > sent) {
            error_setg(&err, "PONG %" G_GUINT64_FORMAT " after PONG %"
                       G_GUINT64_FORMAT ", the last PING being %"
                       G_GUINT64_FORMAT, seq, o->pong_seq, sent);
            break;
        }
        /* Atomic: release-ram's confirmations and postcopy flow
         * control read it. */
        qatomic_set(&o->pong_seq, seq);
        pong_wake(o);
        return true;
    }
    case WIRE_REC_ERROR: {
        g_autoptr(WireReject) e = NULL;

        if (!wire_reject_decode(rec->type, rec->body, rec->len, &e, &err)) {
            break;
        }
        rp_fail(o, g_strdup_printf("The destination failed (%s): %s",
                                   e->error_class, e->message));
        return false;
    }
    default:
        if (wire_record_skip_unknown(rec->type, &err)) {
            return true;
        }
        break;
    }
    /* Misplaced or malformed: the destination's bug (section 9). */
    g_mutex_lock(&o->lock);
    if (!o->rp_error) {
        o->error_class = WIRE_ERR_PROTOCOL;
    }
    g_mutex_unlock(&o->lock);
    rp_fail(o, g_strdup_printf("Return path from '%s': %s",
                               mig_stream_name(o->stream),
                               error_get_pretty(err)));
    error_free(err);
    return false;
}

static bool rp_answer(MigOutgoing *o);

/* Whether the destination owes us answers: after ACCEPT, before
 * SHUTDOWN (or ONE_WAY). */
static bool rp_expects_replies(MigOutgoing *o)
{
    bool open;

    g_mutex_lock(&o->lock);
    open = o->rp_state == RP_OPEN;
    g_mutex_unlock(&o->lock);
    return open;
}

/*
 * The next PING, between the migration thread's records; its number.
 * The return-path thread sends them as heartbeat, the migration thread
 * as postcopy flow control's marks.
 */
static uint64_t send_ping(MigOutgoing *o, gint64 deadline)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    uint64_t seq;

    g_mutex_lock(&o->ping_lock);
    /* Counted before it is written (release-ram reads it). */
    seq = o->ping_seq + 1;
    qatomic_set(&o->ping_seq, seq);
    wire_heartbeat_encode(b, WIRE_REC_PING, seq, &error_abort);
    /* A failed write fails the migration thread's next write too; the
     * missing PONG ends the migration anyway. */
    mig_stream_write_between(o->stream, b->data, b->len, deadline, NULL);
    g_mutex_unlock(&o->ping_lock);
    return seq;
}

/*
 * Reads the return path.  While the destination owes answers, a PING
 * goes out every third of liveness-timeout, and a destination silent
 * for all of it (no PONG, nor anything else) is taken for dead: the
 * wait for it is what bounds every other wait of the migration, which
 * rp_fail() wakes.
 */
static gpointer rp_thread_fn(gpointer opaque)
{
    MigOutgoing *o = opaque;
    /* exec: first the answer that handshake() did not wait for. */
    bool answered = !o->reply_optional || rp_answer(o);
    unsigned live_s = o->session->cfg->liveness_timeout;
    gint64 live_us = live_s * G_USEC_PER_SEC;
    gint64 heard = g_get_monotonic_time();
    gint64 next_ping = heard + live_us / 3;

    while (answered) {
        Error *err = NULL;
        WireRecord rec;
        bool live = rp_expects_replies(o);
        MigStreamResult r = mig_stream_read_record(
            o->stream, &rec, live ? MIN(next_ping, heard + live_us) : 0,
            &err);
        gint64 now = g_get_monotonic_time();

        if (r == MIG_STREAM_OK) {
            heard = now;
            if (rp_handle(o, &rec)) {
                continue;
            }
            break;
        }
        if (r == MIG_STREAM_TIMEOUT && now < heard + live_us) {
            error_free(err);
            send_ping(o, heard + live_us);
            next_ping = now + live_us / 3;
            continue;
        }
        if (r == MIG_STREAM_TIMEOUT) {
            error_free(err);
            rp_fail(o, g_strdup_printf("Migration to '%s' failed: no reply "
                                       "from the destination for %u s",
                                       mig_stream_name(o->stream), live_s));
            break;
        }
        if (r == MIG_STREAM_EOF) {
            bool done;

            g_mutex_lock(&o->lock);
            /* After ONE_WAY the destination owes us nothing. */
            done = o->rp_state == RP_CONFIRMED || o->rp_state == RP_ONE_WAY;
            g_mutex_unlock(&o->lock);
            if (!done) {
                rp_fail(o, g_strdup_printf("The destination closed the "
                                           "connection '%s'",
                                           mig_stream_name(o->stream)));
            }
        } else if (r != MIG_STREAM_WOKEN) {
            rp_fail(o, g_strdup_printf("The connection to the destination "
                                       "failed: %s", error_get_pretty(err)));
        }
        error_free(err);
        break;
    }
    g_mutex_lock(&o->lock);
    o->rp_done = true;
    g_cond_broadcast(&o->cond);
    g_mutex_unlock(&o->lock);
    return NULL;
}

/* ---- Failure paths ---- */

/*
 * What a failed step means: cancelled if migrate_cancel asked for it;
 * else failed, preferably for the destination's reason, which the return
 * path may be about to read (its ERROR often arrives just as our write
 * fails).
 */
static OutResult step_failed(MigOutgoing *o, Error *err)
{
    gint64 until = g_get_monotonic_time() + RP_REASON_WAIT_US;
    Error *preempt_err;

    if (cancelled(o)) {
        error_free(err);
        return OUT_CANCELLED;
    }
    g_mutex_lock(&o->lock);
    while (o->rp_thread && !o->rp_done && !o->rp_error &&
           g_cond_wait_until(&o->cond, &o->lock, until)) {
    }
    if (o->rp_error) {
        error_free(err);
        err = NULL;
        error_setg(&err, "%s", o->rp_error);
    }
    /* Its failure woke the other streams: it is the reason. */
    preempt_err = o->preempt ? preempt_send_error(o->preempt) : NULL;
    g_mutex_unlock(&o->lock);
    if (preempt_err) {
        error_free(err);
        err = preempt_err;
    }
    record_error(o, err);
    return cancelled(o) ? OUT_CANCELLED : OUT_FAILED;
}

static bool write_or_fail(MigOutgoing *o, const GByteArray *b,
                          gint64 deadline, OutResult *res)
{
    Error *err = NULL;

    if (mig_stream_write(o->stream, b->data, b->len, deadline, &err) ==
        MIG_STREAM_OK) {
        return true;
    }
    error_prepend(&err, "Migration to '%s' failed: ",
                  mig_stream_name(o->stream));
    *res = step_failed(o, err);
    return false;
}

/* ---- Handshake ---- */

typedef enum Answer {
    ANSWER_ACCEPTED,
    ANSWER_NONE,            /* the stream ended before its first byte */
    ANSWER_FAILED,          /* errp set */
} Answer;

/*
 * Reads and judges the answer to HELLO, waiting until @deadline (0: no
 * limit; @timeout_ms is for the message).  *@decoded is set once a
 * well-formed ACCEPT is in: the destination then waits for data and is
 * told with ERROR why none comes, of class *@cls.
 */
static Answer read_answer(MigOutgoing *o, gint64 deadline,
                          unsigned timeout_ms, bool *decoded,
                          const char **cls, Error **errp)
{
    g_autoptr(WireAccept) acc = NULL;
    const char *name = mig_stream_name(o->stream);
    Error *err = NULL;
    MigStreamResult r;
    WireRecord rec;

    r = mig_stream_read_header(o->stream, deadline, &err);
    if (r == MIG_STREAM_EOF) {
        return ANSWER_NONE;
    }
    if (r == MIG_STREAM_OK) {
        /* Only the answer may come now, not even a NOP before it. */
        r = mig_stream_read_record(o->stream, &rec, deadline, &err);
    }
    switch (r) {
    case MIG_STREAM_OK:
        break;
    case MIG_STREAM_EOF:
        error_setg(errp, "The destination '%s' closed the connection "
                   "without answering the handshake", name);
        return ANSWER_FAILED;
    case MIG_STREAM_TIMEOUT:
        error_free(err);
        error_setg(errp, "The destination '%s' did not answer the "
                   "handshake within %u ms", name, timeout_ms);
        return ANSWER_FAILED;
    default:
        goto fail;
    }

    if (rec.type == WIRE_REC_REJECT) {
        g_autoptr(WireReject) rej = NULL;
        g_autofree char *desc = NULL;

        if (!wire_reject_decode(rec.type, rec.body, rec.len, &rej, &err)) {
            goto fail;
        }
        desc = handshake_reject_describe(rej);
        error_setg(errp, "%s", desc);
        return ANSWER_FAILED;
    }
    if (!wire_record_expect(&rec, WIRE_REC_ACCEPT, &err) ||
        !wire_accept_decode(rec.body, rec.len, &acc, &err)) {
        goto fail;
    }
    *decoded = true;
    if (!handshake_check_accept(o->hello, acc, cls, &err)) {
        goto fail;
    }
    /* With REPLY_OPTIONAL the return path reads this while pages flow
     * already: start_xbzrle() goes by the configuration then. */
    if (!o->reply_optional) {
        o->peer_xbzrle = wire_accept_has_feature(acc, "xbzrle");
    }
    return ANSWER_ACCEPTED;

fail:
    error_prepend(&err, "Handshake with '%s' failed: ", name);
    error_propagate(errp, err);
    return ANSWER_FAILED;
}

static bool handshake(MigOutgoing *o, OutResult *res)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    unsigned timeout = mig_handshake_timeout_ms();
    gint64 deadline = o->unidirectional ? 0 : mig_deadline_after_ms(timeout);
    bool accept_decoded = false;
    Error *err = NULL;
    Answer answer;
    gint64 sent;

    set_phase(o, OUT_HANDSHAKE);
    /* After the stream header, which mig_channel_open() sent. */
    if (!wire_hello_encode(o->hello, b, &err)) {
        *res = step_failed(o, err);
        return false;
    }
    sent = g_get_monotonic_time();
    if (!write_or_fail(o, b, deadline, res)) {
        return false;
    }
    /* Every record after HELLO, whatever the answer brings. */
    if (wire_checksum_on(o->hello->config)) {
        mig_stream_checksum_writes(o->stream);
    }
    if (o->unidirectional || o->reply_optional) {
        /* exec: the return path takes the answer if one comes. */
        return true;
    }
    /* After a well-formed ACCEPT the destination waits for data. */
    answer = read_answer(o, deadline, timeout, &accept_decoded,
                         &o->error_class, &err);
    if (accept_decoded) {
        set_phase(o, OUT_ACCEPTED);
    }
    switch (answer) {
    case ANSWER_ACCEPTED:
        /* The confirmation that ends the downtime makes the same trip,
         * through the destination's main thread too. */
        o->round_trip_us = g_get_monotonic_time() - sent;
        return true;
    case ANSWER_NONE:
        error_setg(&err, "The destination '%s' closed the connection "
                   "without answering the handshake",
                   mig_stream_name(o->stream));
        break;
    case ANSWER_FAILED:
        break;
    }
    *res = step_failed(o, err);
    return false;
}

/*
 * REPLY_OPTIONAL, in the return-path thread: the answer handshake() did
 * not wait for.  False when the return path is over: the answer failed
 * (rp_fail()), or none came because the command only consumes the
 * stream, which is not a failure (complete() then sends ONE_WAY).
 */
static bool rp_answer(MigOutgoing *o)
{
    const char *cls = NULL;
    bool decoded = false, ignore;
    Error *err = NULL;

    switch (read_answer(o, 0, 0, &decoded, &cls, &err)) {
    case ANSWER_ACCEPTED:
        g_mutex_lock(&o->lock);
        if (o->rp_state == RP_AWAITING_ANSWER) {
            o->rp_state = RP_OPEN;
        }
        g_cond_broadcast(&o->cond);
        g_mutex_unlock(&o->lock);
        return true;
    case ANSWER_NONE:
        return false;
    case ANSWER_FAILED:
        break;
    }
    g_mutex_lock(&o->lock);
    /* An ACCEPT after ONE_WAY is ignored: that destination may have
     * loaded the VM already (protocol section 7.1). */
    ignore = decoded && o->rp_state == RP_ONE_WAY;
    if (decoded && !ignore && !o->rp_error) {
        o->error_class = cls;
    }
    g_mutex_unlock(&o->lock);
    /* Woken: the migration thread is ending it, not the destination. */
    if (!ignore && !mig_stream_is_woken(o->stream)) {
        rp_fail(o, g_strdup(error_get_pretty(err)));
    }
    error_free(err);
    return false;
}

/* ---- Statistics ---- */

typedef struct Progress {
    MigBandwidth bw;            /* for query-migrate */
    /* For the switchover decision: bytes on the wire, and guest bytes
     * of the pages sent with their data (data_page_bytes_sent()). */
    MigPassRate pass;
    MigPassRate page_pass;
    uint64_t period_pages;      /* pages sent at the bandwidth period start */
    uint64_t pages_per_second;
    uint64_t dirty_pages_rate;
} Progress;

static void publish_stats(MigOutgoing *o, const Progress *pg)
{
    MigRamStats st = {
        .transferred = bytes_sent(o),
        .total = ram_guest_size(),
        /* Counted by the multifd channel threads too. */
        .duplicate = qatomic_read(&o->session->ram_saver.zero_pages),
        .normal = qatomic_read(&o->session->ram_saver.normal_pages),
        .normal_bytes = qatomic_read(&o->session->ram_saver.normal_pages) *
                        GUEST_PAGE_SIZE,
        .dirty_pages_rate = pg->dirty_pages_rate,
        .mbps = pg->bw.bytes_per_sec * 8 / 1e6,
        .page_size = GUEST_PAGE_SIZE,
        .pages_per_second = pg->pages_per_second,
        .iteration = o->iteration,
        .postcopy_requests = o->requests ?
                             postcopy_requests_total(o->requests) : 0,
        .postcopy_preempt_pages = o->old_preempt_pages +
                                  (o->preempt ?
                                   preempt_send_pages(o->preempt) : 0),
    };

    /* The preempt channel's thread may be taking pages. */
    g_mutex_lock(&o->pages_lock);
    if (o->bitmap) {
        st.remaining = dirty_bitmap_dirty_pages(o->bitmap) * GUEST_PAGE_SIZE;
        st.dirty_sync_count = dirty_bitmap_sync_count(o->bitmap);
    }
    g_mutex_unlock(&o->pages_lock);

    st.page_bytes = page_bytes_sent(o);
    mig_info_set_ram(&st);
    if (o->session->multifd_send) {
        MigMultifdStats ms;

        multifd_send_stats(o->session->multifd_send, &ms);
        mig_info_set_multifd(&ms);
    }
    if (o->session->cfg->xbzrle) {
        MigXbzrleStats xs = {
            .cache_size = o->session->cfg->xbzrle_cache_size,
        };

        if (o->xbzrle) {
            xs = (MigXbzrleStats) {
                .cache_size = o->xbzrle->cache_size,
                .bytes = o->xbzrle->bytes,
                .pages = o->xbzrle->pages,
                .cache_miss = o->xbzrle->cache_miss,
                .cache_miss_rate = o->xbzrle->cache_miss_rate,
                .encoding_rate = o->xbzrle->encoding_rate,
                .overflow = o->xbzrle->overflow,
            };
        }
        mig_info_set_xbzrle(&xs);
    }
}

static void measure(MigOutgoing *o, Progress *pg, gint64 now)
{
    int64_t start = pg->bw.period_start;

    if (mig_bandwidth_update(&pg->bw, now,
                             bytes_sent(o))) {
        uint64_t pages;

        /* The preempt channel's thread counts its pages there too. */
        g_mutex_lock(&o->pages_lock);
        pages = o->session->ram_saver.pages;
        g_mutex_unlock(&o->pages_lock);
        pg->pages_per_second = (pages - pg->period_pages) *
                               G_USEC_PER_SEC / MAX(now - start, 1);
        pg->period_pages = pages;
        if (o->xbzrle) {
            xbzrle_saver_period(o->xbzrle);
        }
    }
}

/* ---- Precopy ---- */

static void pass_event(MigOutgoing *o)
{
    if (o->session->cfg->events) {
        qapi_event_send_migration_pass(o->iteration);
    }
}

/* SYNC for the pass that just ended. */
static bool send_sync(MigOutgoing *o, OutResult *res)
{
    g_autoptr(GByteArray) b = g_byte_array_new();

    if (o->session->multifd_send) {
        Error *err = NULL;

        if (!multifd_send_sync(o->session->multifd_send, o->iteration, &err)) {
            *res = step_failed(o, err);
            return false;
        }
    }
    if (o->mapped) {
        return true;    /* the file's record stream has no SYNC */
    }
    wire_sync_encode(b, o->iteration, &error_abort);
    return write_or_fail(o, b, 0, res);
}

static bool sync_dirty(MigOutgoing *o, OutResult *res)
{
    gint64 start = g_get_monotonic_time();
    Error *err = NULL;
    bool ok = dirty_bitmap_sync(o->bitmap, &err);

    /* The final sync runs with the VM stopped: it costs about this. */
    o->sync_us = g_get_monotonic_time() - start;
    if (!ok) {
        error_prepend(&err, "Dirty page tracking failed: ");
        *res = step_failed(o, err);
        return false;
    }
    return true;
}

/*
 * Hands the next batch of dirty pages to a multifd channel; *@len is
 * its page bytes, 0 at the end of the pass.
 */
static bool send_batch_multifd(MigOutgoing *o, size_t *len, OutResult *res)
{
    /* Without channels this thread looks for zero pages itself. */
    bool here_zero = o->session->multifd_send ?
        o->session->cfg->zero_page_detection == ZERO_PAGE_DETECTION_LEGACY :
        o->session->cfg->zero_page_detection != ZERO_PAGE_DETECTION_NONE;
    Error *err = NULL;
    unsigned n = ram_saver_next_batch(&o->session->ram_saver, o->batch,
                                      MULTIFD_BATCH_PAGES, here_zero);
    bool ok = true;

    *len = n * (size_t)GUEST_PAGE_SIZE;
    if (n && o->session->multifd_send) {
        ok = multifd_send_batch(o->session->multifd_send, &o->batch, &err);
    } else if (n) {
        ram_saver_count_batch(&o->session->ram_saver, o->batch);
        ok = mapped_ram_write_batch(o->mapped, o->batch, &err);
    }
    if (!ok) {
        error_prepend(&err, "Migration to '%s' failed: ",
                      mig_stream_name(o->stream));
        *res = step_failed(o, err);
        return false;
    }
    return true;
}

/*
 * Sends dirty pages until the pass ends or @until (0: no limit), at
 * @rate bytes/s (0: unlimited).  *@pass_done tells which.
 */
static bool send_pages(MigOutgoing *o, MigRateLimit *rl, Progress *pg,
                       gint64 until, uint64_t rate, bool *pass_done,
                       OutResult *res)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    struct iovec iov[RAM_SAVE_BATCH_MAX_PAGES + 2];

    *pass_done = false;
    for (;;) {
        gint64 now = g_get_monotonic_time();
        gint64 wait;
        size_t niov, len = 0;
        Error *err = NULL;

        if (until && now >= until) {
            return true;
        }
        wait = rl ? mig_rate_limit_wait_until(rl, now, rate) : 0;
        if (wait) {
            if (!mig_stream_sleep_until(o->stream, wait)) {
                error_setg(&err, "Migration to '%s' was interrupted",
                           mig_stream_name(o->stream));
                *res = step_failed(o, err);
                return false;
            }
            continue;
        }
        if (o->session->multifd_send || o->mapped) {
            if (!send_batch_multifd(o, &len, res)) {
                return false;
            }
            if (!len) {
                *pass_done = true;
                return true;
            }
        } else {
            RamSaver *rs = &o->session->ram_saver;
            unsigned n;

            g_byte_array_set_size(b, 0);
            /* The pages go from guest memory to the socket: no copy
             * (with xbzrle, from the snapshots it compared). */
            n = o->xbzrle ?
                xbzrle_saver_next_record_iov(o->xbzrle, rs,
                                             o->iteration == 1, b, iov,
                                             &niov,
                                             ram_save_batch_pages(rate)) :
                ram_saver_next_record_iov(rs, b, iov, &niov,
                                          ram_save_batch_pages(rate));
            if (!n) {
                *pass_done = true;
                return true;
            }
            for (size_t i = 0; i < niov; i++) {
                len += iov[i].iov_len;
            }
            /* No records: xbzrle found every page unchanged. */
            if (niov && mig_stream_writev(o->stream, iov, niov, 0, &err) !=
                MIG_STREAM_OK) {
                error_prepend(&err, "Migration to '%s' failed: ",
                              mig_stream_name(o->stream));
                *res = step_failed(o, err);
                return false;
            }
        }
        if (rl) {
            mig_rate_limit_account(rl, len);
        }
        measure(o, pg, g_get_monotonic_time());
    }
}

static bool switchover_acked(MigOutgoing *o)
{
    bool acked;

    if (!o->session->cfg->switchover_ack) {
        return true;
    }
    g_mutex_lock(&o->lock);
    acked = o->rp_switchover_ack;
    g_mutex_unlock(&o->lock);
    return acked;
}

/* What the switchover decision goes by, now. */
static MigSwitchoverFigures switchover_figures(MigOutgoing *o,
                                               const Progress *pg,
                                               const MigParams *p,
                                               gint64 now)
{
    return (MigSwitchoverFigures) {
        .pending = dirty_bitmap_dirty_pages(o->bitmap) * GUEST_PAGE_SIZE,
        .device_bytes = o->devices_max,
        .sync_us = o->sync_us,
        .round_trip_us = o->round_trip_us,
        .passes = o->iteration,
        .content_priced = o->xbzrle ||
                          (o->session->cfg->multifd &&
                           o->session->cfg->multifd_compression !=
                           MULTIFD_COMPRESSION_NONE),
        /* Whichever says more of the pages left: with compression the
         * page rate, with zero pages (cheap, unlike the dirty ones) or
         * a pass of nothing but zero pages the wire's. */
        .bandwidth = MAX(mig_pass_rate_get(&pg->pass, now, bytes_sent(o)),
                         mig_pass_rate_get(&pg->page_pass, now,
                                           data_page_bytes_sent(o))),
        .declared_bandwidth = p->avail_switchover_bandwidth,
    };
}

/* For query-migrate: -1 (not reported) while the bandwidth is unknown. */
static int64_t expected_downtime(const MigSwitchoverFigures *f)
{
    int64_t ms = mig_predicted_downtime_ms(f);

    return ms == INT64_MAX ? -1 : ms;
}

static void wait_switchover_ack(MigOutgoing *o, gint64 until)
{
    g_mutex_lock(&o->lock);
    while (!o->rp_switchover_ack && !o->rp_error && !cancelled(o) &&
           g_cond_wait_until(&o->cond, &o->lock, until)) {
    }
    g_mutex_unlock(&o->lock);
}

/* Dirty tracking with every page dirty, and the RAM saver over it. */
static bool start_tracking(MigOutgoing *o, OutResult *res)
{
    g_autoptr(GPtrArray) all = ram_guest_blocks();
    g_autoptr(GPtrArray) shared = g_ptr_array_new();
    Error *err = NULL;

    /* x-ignore-shared: the destination maps these blocks itself. */
    for (guint i = 0; i < o->hello->shared_blocks->len; i++) {
        const WireSharedBlock *s = g_ptr_array_index(o->hello->shared_blocks,
                                                     i);

        g_ptr_array_add(shared, g_ptr_array_index(all, s->block));
    }
    /* The destination has nothing yet: the first pass sends it all. */
    o->bitmap = dirty_bitmap_start_all_dirty(DIRTY_LOG_BACKEND_AUTO, shared,
                                             &err);
    if (!o->bitmap) {
        error_prepend(&err, "Cannot track dirty pages: ");
        *res = step_failed(o, err);
        return false;
    }
    ram_saver_init(&o->session->ram_saver, o->bitmap,
                   o->session->cfg->zero_page_detection !=
                   ZERO_PAGE_DETECTION_NONE);
    o->session->ram_saver_ready = true;
    return true;
}

/* A throttling period: how much was sent and dirtied since it began. */
typedef struct ThrottlePeriod {
    MigThrottle throttle;
    gint64 start;
    uint64_t bytes;             /* bytes_sent() at its start */
    uint64_t dirtied;           /* bytes the syncs found written */
    uint64_t pass_pages;        /* page_bytes_sent() when the pass began */
} ThrottlePeriod;

/* Sets the vCPU throttle to @pct if that changes it. */
static void set_throttle(MigOutgoing *o, int pct)
{
    if (pct && pct != cpu_throttle_get_percentage()) {
        cpu_throttle_set(pct);
        o->throttled = true;
    }
}

/*
 * After the sync that ended a pass, having found @dirtied bytes
 * written: with auto-converge, a pass that could not converge throttles
 * the vCPUs at once (mig_throttle_pass()).  Before end_throttle_period(),
 * which must not step again for the same figures.
 */
static void end_throttle_pass(MigOutgoing *o, ThrottlePeriod *tp,
                              const MigParams *p, uint64_t dirtied)
{
    uint64_t sent = page_bytes_sent(o) - tp->pass_pages;

    if (o->session->cfg->auto_converge) {
        set_throttle(o, mig_throttle_pass(&tp->throttle, &p->throttle,
                                          dirtied, sent));
    }
}

/*
 * After a sync at @now: once a period is over, the dirty rate for
 * query-migrate and, with auto-converge, the vCPU throttle (QEMU's
 * rule), and a new period.
 */
static void end_throttle_period(MigOutgoing *o, ThrottlePeriod *tp,
                                Progress *pg, const MigParams *p,
                                gint64 now)
{
    uint64_t sent;

    if (now - tp->start < MIG_THROTTLE_PERIOD_US) {
        return;
    }
    sent = bytes_sent(o) - tp->bytes;
    pg->dirty_pages_rate = tp->dirtied / GUEST_PAGE_SIZE *
                           G_USEC_PER_SEC / (now - tp->start);
    if (o->session->cfg->auto_converge) {
        set_throttle(o, mig_throttle_period(&tp->throttle, &p->throttle,
                                            tp->dirtied, sent));
    }
    tp->start = now;
    tp->bytes = bytes_sent(o);
    tp->dirtied = 0;
}

/*
 * xbzrle's cache, on the main channel only (the validator keeps xbzrle
 * away from multifd and mapped-ram), and only for a destination that
 * said it reads RAM_XBZRLE.  An older one accepts xbzrle without
 * knowing the record: it gets whole pages.  Without an answer to go by
 * (file:, exec:) the configuration decides, and a reader too old for
 * the record refuses it as an unknown mandatory record.
 */
static bool start_xbzrle(MigOutgoing *o, OutResult *res)
{
    Error *err = NULL;

    if (!o->session->cfg->xbzrle || o->session->multifd_send || o->mapped ||
        !(o->peer_xbzrle || o->unidirectional || o->reply_optional)) {
        return true;
    }
    o->xbzrle = xbzrle_saver_new(o->session->cfg->xbzrle_cache_size, &err);
    if (!o->xbzrle) {
        error_prepend(&err, "Cannot set up xbzrle: ");
        *res = step_failed(o, err);
        return false;
    }
    return true;
}

/* xbzrle-cache-size changed while migrating: a new, empty cache. */
static void resize_xbzrle(MigOutgoing *o, uint64_t size)
{
    Error *err = NULL;

    if (o->xbzrle && !xbzrle_saver_resize(o->xbzrle, size, &err)) {
        g_autofree char *kept = size_to_str(o->xbzrle->cache_size);

        warn_report("migration: xbzrle keeps its cache of %s: %s", kept,
                    error_get_pretty(err));
        error_free(err);
    }
}

/*
 * Passes over guest memory until what is left fits in downtime-limit.
 * Returns true when it is time to switch over.
 */
static bool precopy(MigOutgoing *o, Progress *pg, OutResult *res)
{
    ThrottlePeriod tp = {
        .start = g_get_monotonic_time(),
        .bytes = bytes_sent(o),
        .pass_pages = page_bytes_sent(o),
    };
    MigRateLimit rl;

    if (!start_tracking(o, res) || !start_xbzrle(o, res)) {
        return false;
    }
    mig_throttle_init(&tp.throttle);
    mig_rate_limit_init(&rl, tp.start);
    /* The first pass starts now: set-up is not the link's speed. */
    pass_rates_next(o, &pg->pass, &pg->page_pass, true);
    o->iteration = 1;
    pass_event(o);

    for (;;) {
        MigParams p;
        MigSwitchoverFigures f;
        uint64_t dirtied;
        bool pass_done;
        gint64 now;

        mig_params_get(&p);
        resize_xbzrle(o, p.xbzrle_cache_size);
        if (!send_pages(o, &rl, pg, g_get_monotonic_time() + SEND_SLICE_US,
                        p.max_bandwidth, &pass_done, res)) {
            return false;
        }
        now = g_get_monotonic_time();
        measure(o, pg, now);
        f = switchover_figures(o, pg, &p, now);
        mig_info_set_expected_downtime(expected_downtime(&f));
        publish_stats(o, pg);
        /* migrate-start-postcopy: at once, mid-pass or not (QEMU). */
        if (qatomic_mb_read(&o->postcopy_asked)) {
            o->postcopy = true;
            return true;
        }
        /*
         * Switchover is decided at the end of a pass only (QEMU also
         * tries in the middle of one): what is left of a pass goes
         * while the VM runs instead of in the downtime, and a guest
         * dirtying slower than the link leaves less at the pass end
         * than at any point in it (docs/devel/migration-engine.md, "The
         * switchover decision").
         */
        if (!pass_done) {
            continue;
        }

        if (!sync_dirty(o, res) || !send_sync(o, res)) {
            return false;
        }
        dirtied = dirty_bitmap_last_sync_pages(o->bitmap) * GUEST_PAGE_SIZE;
        tp.dirtied += dirtied;
        /* The pass's bandwidth, measured up to its end (before this
         * sync, whose cost is counted on its own). */
        f = switchover_figures(o, pg, &p, now);
        mig_test_trace("pass %" G_GUINT64_FORMAT " ended: sent %"
                       G_GUINT64_FORMAT ", pages %" G_GUINT64_FORMAT
                       ", dirty %" G_GUINT64_FORMAT ", bandwidth %.0f",
                       o->iteration, bytes_sent(o),
                       o->session->ram_saver.pages, f.pending,
                       f.bandwidth);
        mig_info_set_expected_downtime(expected_downtime(&f));
        /* A pass about to be the last need not slow the guest. */
        if (!mig_should_switchover(&f, p.downtime_limit)) {
            end_throttle_pass(o, &tp, &p, dirtied);
        }
        tp.pass_pages = page_bytes_sent(o);
        end_throttle_period(o, &tp, pg, &p, now);
        publish_stats(o, pg);

        if (mig_should_switchover(&f, p.downtime_limit)) {
            if (switchover_acked(o)) {
                mig_info_switchover_decided(expected_downtime(&f));
                mig_test_trace("switchover expected %" G_GINT64_FORMAT
                               " ms, pending %" G_GUINT64_FORMAT
                               ", bandwidth %.0f, sync %" G_GINT64_FORMAT
                               " us, round trip %" G_GINT64_FORMAT " us",
                               expected_downtime(&f), f.pending,
                               f.bandwidth, f.sync_us, f.round_trip_us);
                mig_trace_stop_phase("decided");
                return true;
            }
            /* Ready but for the destination: wait for its ack a while
             * rather than spin through empty passes. */
            wait_switchover_ack(o, now + SEND_SLICE_US);
        }
        o->iteration++;
        ram_saver_rewind(&o->session->ram_saver);
        pass_rates_next(o, &pg->pass, &pg->page_pass, false);
        pass_event(o);
    }
}

/* ---- Switchover ---- */

static void stop_vm_main(void *opaque)
{
    MigOutgoing *o = opaque;

    o->vm_old_state = runstate_get();
    o->stop_time = g_get_monotonic_time();
    mig_trace_stop_phase("stop");
    /* From paused too: finish-migrate says the state is on its way. */
    vm_stop_force_state(RUN_STATE_FINISH_MIGRATE);
    mig_trace_stop_phase("stopped");
    set_phase(o, OUT_SWITCHOVER);
}

static void save_devices_main(void *opaque)
{
    MigOutgoing *o = opaque;

    o->devices = g_byte_array_new();
    if (!device_save_all(o->devices, &o->devices_err)) {
        error_prepend(&o->devices_err, "Saving the device state failed: ");
    }
}

/* pause-before-switchover: waits in pre-switchover for migrate-continue. */
static bool pause_before_switchover(MigOutgoing *o, OutResult *res)
{
    bool failed;

    if (!mig_status_change(MIGRATION_STATUS_ACTIVE,
                           MIGRATION_STATUS_PRE_SWITCHOVER)) {
        *res = step_failed(o, NULL);
        return false;
    }
    g_mutex_lock(&o->lock);
    while (!o->continue_requested && !cancelled(o) && !o->rp_error) {
        g_cond_wait(&o->cond, &o->lock);
    }
    failed = o->rp_error;
    g_mutex_unlock(&o->lock);
    if (failed || cancelled(o) ||
        !mig_status_change(MIGRATION_STATUS_PRE_SWITCHOVER,
                           MIGRATION_STATUS_DEVICE)) {
        *res = step_failed(o, NULL);
        return false;
    }
    return true;
}

/* Waits for the destination's SHUTDOWN. */
static bool wait_confirmation(MigOutgoing *o, OutResult *res)
{
    Error *err = NULL;
    bool shut;
    uint32_t status;

    g_mutex_lock(&o->lock);
    while (o->rp_state != RP_CONFIRMED && !o->rp_error && !o->rp_done &&
           !cancelled(o)) {
        g_cond_wait(&o->cond, &o->lock);
    }
    shut = o->rp_state == RP_CONFIRMED;
    status = o->rp_status;
    g_mutex_unlock(&o->lock);
    if (!shut) {
        error_setg(&err, "The destination did not confirm the migration");
        *res = step_failed(o, err);
        return false;
    }
    if (status != 0) {
        error_setg(&err, "The destination failed to take over the VM "
                   "(SHUTDOWN status %u)", status);
        *res = step_failed(o, err);
        return false;
    }
    return true;
}

/*
 * REPLY_OPTIONAL, before END: without an answer so far the source waits
 * for none, and says so with ONE_WAY.  True then.
 */
static bool commit_one_way(MigOutgoing *o)
{
    bool one_way;

    if (!o->reply_optional) {
        return false;
    }
    g_mutex_lock(&o->lock);
    one_way = o->rp_state == RP_AWAITING_ANSWER;
    if (one_way) {
        o->rp_state = RP_ONE_WAY;
    }
    g_mutex_unlock(&o->lock);
    return one_way;
}

/*
 * After ONE_WAY and END: ends the command's input, waits for the return
 * path to see its output end (an answer may still be on its way, and
 * the stream must not be closed under that thread), then closes.  As
 * for a file, what closing says is the verdict: the command's exit
 * status.
 */
static bool finish_one_way(MigOutgoing *o, OutResult *res)
{
    gint64 until = mig_deadline_after_ms(QIO_CHANNEL_COMMAND_EXIT_TIMEOUT_MS);
    Error *err = NULL;
    bool failed;

    if (!qio_channel_shutdown(mig_stream_channel(o->stream),
                              QIO_CHANNEL_SHUTDOWN_WRITE, &err)) {
        *res = step_failed(o, err);
        return false;
    }
    g_mutex_lock(&o->lock);
    while (!o->rp_done && !o->rp_error && !cancelled(o) &&
           g_cond_wait_until(&o->cond, &o->lock, until)) {
    }
    if (!o->rp_done) {
        /* Output still open: close() reaps, or kills, the command. */
        mig_stream_wake(o->stream);
        while (!o->rp_done) {
            g_cond_wait(&o->cond, &o->lock);
        }
    }
    failed = o->rp_error;
    g_mutex_unlock(&o->lock);
    if (failed || cancelled(o)) {
        *res = step_failed(o, NULL);
        return false;
    }
    if (!mig_stream_close(o->stream, &err)) {
        *res = step_failed(o, err);
        return false;
    }
    return true;
}

static bool complete(MigOutgoing *o, Progress *pg, OutResult *res)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    bool one_way;
    bool pass_done;
    Error *err = NULL;

    mig_call_in_main(stop_vm_main, o);
    if (o->session->cfg->pause_before_switchover) {
        if (!pause_before_switchover(o, res)) {
            return false;
        }
    } else if (!mig_status_change(MIGRATION_STATUS_ACTIVE,
                                  MIGRATION_STATUS_DEVICE)) {
        *res = step_failed(o, NULL);
        return false;
    }

    /* The vCPUs are parked: this sync finds the last writes. */
    if (!sync_dirty(o, res)) {
        return false;
    }
    mig_test_trace("final sync: %" G_GUINT64_FORMAT " dirty pages",
                   dirty_bitmap_dirty_pages(o->bitmap));
    mig_trace_stop_phase("synced");
    ram_saver_rewind(&o->session->ram_saver);
    o->iteration++;
    /* Unlimited: the VM is stopped, every millisecond counts. */
    if (!send_pages(o, NULL, pg, 0, 0, &pass_done, res)) {
        return false;
    }
    mig_trace_stop_phase("pages-queued");
    if (!send_sync(o, res)) {
        return false;
    }
    mig_trace_stop_phase("pages-sent");
    g_assert(pass_done && dirty_bitmap_dirty_pages(o->bitmap) == 0);
    if ((o->session->multifd_send &&
         !multifd_send_end(o->session->multifd_send, &err)) ||
        (o->preempt && !preempt_send_finish(o->preempt, &err))) {
        *res = step_failed(o, err);
        return false;
    }
    /* The bitmaps, then the records go on after the pages. */
    if (o->mapped && !mapped_ram_writer_finish(o->mapped, b, &err)) {
        error_prepend(&err, "Migration to '%s' failed: ",
                      mig_stream_name(o->stream));
        *res = step_failed(o, err);
        return false;
    }

    mig_call_in_main(save_devices_main, o);
    mig_trace_stop_phase("devices-saved");
    if (o->devices_err) {
        *res = step_failed(o, g_steal_pointer(&o->devices_err));
        return false;
    }
    g_byte_array_append(b, o->devices->data, o->devices->len);
    one_way = commit_one_way(o);
    if (one_way) {
        wire_empty_encode(b, WIRE_REC_ONE_WAY, &error_abort);
    }
    wire_empty_encode(b, WIRE_REC_END, &error_abort);
    if (!write_or_fail(o, b, 0, res)) {
        return false;
    }
    mig_trace_stop_phase("end-sent");
    publish_stats(o, pg);

    set_phase(o, OUT_CONFIRMING);
    if (o->unidirectional) {
        /* A file's last write errors surface at close. */
        if (!mig_stream_close(o->stream, &err)) {
            *res = step_failed(o, err);
            return false;
        }
    } else if (one_way) {
        if (!finish_one_way(o, res)) {
            return false;
        }
    } else if (!wait_confirmation(o, res)) {
        return false;
    }
    mig_trace_stop_phase("confirmed");
    mig_info_set_downtime((g_get_monotonic_time() - o->stop_time) / 1000);
    set_phase(o, OUT_DONE);
    /* Done: what follows (tracking stopped, channels closed) is cleanup. */
    mig_info_end();
    return true;
}

/* ---- Postcopy ---- */

/*
 * release-ram: the pages of @batch have gone, and are given back once
 * a PONG confirms them (postcopy-recover.h: a broken link may have lost
 * them, and a recovery must still have them to send).
 */
static void release_batch(MigOutgoing *o, const RamPageBatch *batch)
{
    if (!o->release) {
        return;
    }
    /* The preempt channel's thread releases what it sent too. */
    g_mutex_lock(&o->pages_lock);
    /* PING number ping_seq may have gone before the batch; the next
     * one goes after it. */
    postcopy_release_sent(o->release, batch,
                          qatomic_read(&o->ping_seq) + 1);
    postcopy_release_confirmed(o->release, qatomic_read(&o->pong_seq));
    g_mutex_unlock(&o->pages_lock);
}

/* The preempt channel's thread sent @batch (PreemptSentFunc). */
static void preempt_sent(void *opaque, const RamPageBatch *batch)
{
    release_batch(opaque, batch);
}

/* Sends @batch (taken from the dirty bitmap) as one RAM_PAGES record;
 * *@len gets its bytes. */
static bool send_batch(MigOutgoing *o, const RamPageBatch *batch,
                       size_t *len, OutResult *res)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    struct iovec iov[RAM_SAVE_BATCH_MAX_PAGES + 2];
    RamSaver *rs = &o->session->ram_saver;
    Error *err = NULL;
    size_t niov;

    ram_saver_count_batch(rs, batch);
    niov = ram_batch_record_iov(batch, rs->next_packet++, b, iov);
    *len = 0;
    for (size_t i = 0; i < niov; i++) {
        *len += iov[i].iov_len;
    }
    if (mig_stream_writev(o->stream, iov, niov, 0, &err) != MIG_STREAM_OK) {
        error_prepend(&err, "Migration to '%s' failed: ",
                      mig_stream_name(o->stream));
        *res = step_failed(o, err);
        return false;
    }
    release_batch(o, batch);
    return true;
}

/*
 * Multifd carries precopy only: its last pages, a SYNC and END on every
 * channel before the first postcopy record, which the destination reads
 * only once every channel has ended (protocol section 6.9).
 */
static bool end_multifd(MigOutgoing *o, OutResult *res)
{
    Error *err = NULL;

    if (!o->session->multifd_send) {
        return true;
    }
    if (!send_sync(o, res)) {
        return false;
    }
    if (!multifd_send_end(o->session->multifd_send, &err)) {
        *res = step_failed(o, err);
        return false;
    }
    return true;
}

/*
 * The switch: the VM stopped, multifd ended, the pages still dirty
 * listed for the destination to drop, LISTEN, the device state and RUN,
 * after which the destination runs the guest.
 */
static bool postcopy_switch(MigOutgoing *o, OutResult *res)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autoptr(GPtrArray) blocks = ram_guest_blocks();
    uint64_t discarded;

    /* Before the VM stops: migrate_cancel is refused from here on, or
     * has won and this fails. */
    if (!mig_status_change(MIGRATION_STATUS_ACTIVE,
                           MIGRATION_STATUS_POSTCOPY_ACTIVE)) {
        *res = step_failed(o, NULL);
        return false;
    }
    mig_call_in_main(stop_vm_main, o);
    /* The vCPUs are parked: this sync finds the last writes. */
    if (!sync_dirty(o, res)) {
        return false;
    }
    if (!end_multifd(o, res)) {
        return false;
    }
    g_mutex_lock(&o->lock);
    o->requests = postcopy_requests_new(blocks);
    g_mutex_unlock(&o->lock);
    if (o->session->cfg->release_ram) {
        o->release = postcopy_release_new();
    }
    if (o->preempt) {
        Error *err = NULL;

        /* Before LISTEN: no request can come sooner. */
        if (!preempt_send_start(o->preempt, o->requests,
                                &o->session->ram_saver, &o->pages_lock,
                                preempt_sent, o, o->stream, &err)) {
            *res = step_failed(o, err);
            return false;
        }
    }
    discarded = postcopy_discard_records(o->bitmap, blocks, b);
    wire_empty_encode(b, WIRE_REC_POSTCOPY_LISTEN, &error_abort);
    mig_call_in_main(save_devices_main, o);
    if (o->devices_err) {
        *res = step_failed(o, g_steal_pointer(&o->devices_err));
        return false;
    }
    g_byte_array_append(b, o->devices->data, o->devices->len);
    wire_empty_encode(b, WIRE_REC_POSTCOPY_RUN, &error_abort);
    /* From the first byte of RUN on the destination may run the guest:
     * if this write fails, ours must not run too. */
    set_phase(o, OUT_POSTCOPY);
    o->postcopy_run = true;
    if (!write_or_fail(o, b, 0, res)) {
        return false;
    }
    mig_info_set_downtime((g_get_monotonic_time() - o->stop_time) / 1000);
    mig_test_trace("postcopy started: %" G_GUINT64_FORMAT " pages to send",
                   discarded);
    return true;
}

/* The pages of one request that have not gone yet, ahead of the rest;
 * *@len gets the bytes sent. */
static bool send_requested(MigOutgoing *o, const WirePageRequest *req,
                           size_t *len, OutResult *res)
{
    RamPageBatch batch;
    unsigned n;

    g_mutex_lock(&o->pages_lock);
    n = ram_saver_range_batch(&o->session->ram_saver, req->block,
                              req->offset, req->length, &batch);
    g_mutex_unlock(&o->pages_lock);
    *len = 0;
    return !n || send_batch(o, &batch, len, res);
}

/*
 * Until @until at most, for a PONG that may open the window (or, without
 * preempt, a request to serve meanwhile).  A failure wakes it too
 * (wake_streams()).
 */
static void wait_window(MigOutgoing *o, uint64_t pong_seen, gint64 until)
{
    if (!o->preempt) {
        postcopy_requests_wait(o->requests, until);
        return;
    }
    g_mutex_lock(&o->lock);
    while (qatomic_read(&o->pong_seq) == pong_seen && !o->rp_error &&
           !cancelled(o) && !qatomic_mb_read(&o->pause_asked) &&
           g_cond_wait_until(&o->cond, &o->lock, until)) {
    }
    g_mutex_unlock(&o->lock);
}

/* Whether postcopy must stop: the return path or the preempt channel
 * failed (which says why), a cancel (vmig quitting) or migrate-pause. */
static bool postcopy_broken(MigOutgoing *o, OutResult *res)
{
    Error *err = o->preempt ? preempt_send_error(o->preempt) : NULL;
    bool failed;

    g_mutex_lock(&o->lock);
    failed = o->rp_error != NULL;
    g_mutex_unlock(&o->lock);
    if (err || failed || cancelled(o) || qatomic_mb_read(&o->pause_asked)) {
        *res = step_failed(o, err);
        return true;
    }
    return false;
}

/* The dirty pages left (the preempt thread takes some too). */
static uint64_t postcopy_left(MigOutgoing *o)
{
    uint64_t n;

    g_mutex_lock(&o->pages_lock);
    n = dirty_bitmap_dirty_pages(o->bitmap);
    g_mutex_unlock(&o->pages_lock);
    return n;
}

/*
 * After the switch: requested pages first, the rest in the background at
 * max-postcopy-bandwidth, then END and the destination's SHUTDOWN.  The
 * VM is stopped, so no page becomes dirty again: each goes once.  With
 * postcopy-preempt the requested pages are the preempt channel's
 * thread's, and main carries only the background.
 */
static bool postcopy_send(MigOutgoing *o, Progress *pg, OutResult *res)
{
    RamSaver *rs = &o->session->ram_saver;
    g_autoptr(GByteArray) b = g_byte_array_new();
    gint64 live_us = o->session->cfg->liveness_timeout * G_USEC_PER_SEC;
    gint64 published = 0;
    PostcopyFlow flow;
    MigRateLimit rl;
    Error *err = NULL;

    mig_rate_limit_init(&rl, g_get_monotonic_time());
    postcopy_flow_init(&flow, POSTCOPY_FLOW_WINDOW);
    ram_saver_rewind(rs);
    o->iteration++;
    while (postcopy_left(o)) {
        WirePageRequest req;
        RamPageBatch batch;
        MigParams p;
        uint64_t pong_seen;
        gint64 now, wait;
        size_t len;
        unsigned n;

        if (postcopy_broken(o, res)) {
            return false;
        }
        if (!o->preempt && postcopy_requests_pop(o->requests, &req)) {
            if (!send_requested(o, &req, &len, res)) {
                return false;
            }
            postcopy_flow_sent(&flow, len);
            continue;
        }
        pong_seen = qatomic_read(&o->pong_seq);
        postcopy_flow_confirmed(&flow, pong_seen);
        if (postcopy_flow_mark_due(&flow)) {
            postcopy_flow_marked(&flow, send_ping(o, g_get_monotonic_time() +
                                                     live_us));
            continue;
        }
        now = g_get_monotonic_time();
        if (!postcopy_flow_may_send(&flow)) {
            /* A window unplaced: more would only queue before the
             * next fault's page.  A PONG since pong_seen ends the wait
             * at once; a missing one fails the return path within
             * liveness-timeout, which wakes it too. */
            wait_window(o, pong_seen, now + SEND_SLICE_US);
            continue;
        }
        mig_params_get(&p);
        wait = mig_rate_limit_wait_until(&rl, now, p.max_postcopy_bandwidth);
        if (wait) {
            /* A request ends the wait: it is never limited. */
            if (o->preempt) {
                postcopy_requests_sleep(o->requests, wait);
            } else {
                postcopy_requests_wait(o->requests, wait);
            }
            continue;
        }
        /* Small records: a request waits behind at most one (and
         * what the socket holds), not behind 4 MiB. */
        g_mutex_lock(&o->pages_lock);
        n = ram_saver_next_batch(rs, &batch, RAM_SAVE_BATCH_PAGES,
                                 rs->detect_zero);
        if (!n) {
            /* Requests took pages behind us: go round again. */
            ram_saver_rewind(rs);
        }
        g_mutex_unlock(&o->pages_lock);
        if (!n) {
            continue;
        }
        if (!send_batch(o, &batch, &len, res)) {
            return false;
        }
        postcopy_flow_sent(&flow, len);
        mig_rate_limit_account(&rl, len);
        measure(o, pg, now);
        if (now - published >= SEND_SLICE_US) {
            publish_stats(o, pg);
            published = now;
        }
    }
    /* Its last pages before main's END, which the destination reads
     * as "nothing is missing". */
    if (o->preempt && !preempt_send_finish(o->preempt, &err)) {
        *res = step_failed(o, err);
        return false;
    }
    wire_empty_encode(b, WIRE_REC_END, &error_abort);
    if (!write_or_fail(o, b, 0, res)) {
        return false;
    }
    publish_stats(o, pg);
    set_phase(o, OUT_CONFIRMING);
    if (!wait_confirmation(o, res)) {
        return false;
    }
    /* The destination has every page: nothing here is needed again. */
    if (o->release) {
        postcopy_release_confirmed(o->release, UINT64_MAX);
    }
    /* Requests read before SHUTDOWN (the return path reads in order)
     * count too: the figure ends equal to the destination's. */
    publish_stats(o, pg);
    set_phase(o, OUT_DONE);
    mig_info_end();
    return true;
}

/* ---- Postcopy recovery ---- */

static bool start_return_path(MigOutgoing *o, OutResult *res);

/* Whether a failure leaves a postcopy to pause: the destination may run
 * the guest, and vmig is not quitting (the only cancel after RUN). */
static bool postcopy_pausable(MigOutgoing *o)
{
    return o->postcopy_run && !cancelled(o);
}

static void close_preempt(MigOutgoing *o);

/* The broken connection closed, its return path ended and its preempt
 * channel (if any) closed, a resume opens another; the stream stays
 * until a resume replaces it (a cancel may wake it meanwhile). */
static void drop_connection(MigOutgoing *o)
{
    GThread *rp;

    mig_stream_wake(o->stream);
    if (o->preempt) {
        o->old_bytes += preempt_send_bytes(o->preempt);
        o->old_preempt_pages += preempt_send_pages(o->preempt);
        close_preempt(o);
    }
    g_mutex_lock(&o->lock);
    rp = g_steal_pointer(&o->rp_thread);
    g_mutex_unlock(&o->lock);
    if (rp) {
        g_thread_join(rp);
    }
    mig_stream_close(o->stream, NULL);
    o->stream_closed = true;
    g_mutex_lock(&o->lock);
    g_clear_pointer(&o->rp_error, g_free);
    o->rp_done = false;
    o->rp_state = RP_OPEN;
    g_mutex_unlock(&o->lock);
    qatomic_set(&o->ping_seq, 0);
    qatomic_set(&o->pong_seq, 0);
    qatomic_mb_set(&o->pause_asked, 0);
}

/* Waits, paused, for a resume's connection; false if vmig quits. */
static bool wait_resume(MigOutgoing *o)
{
    MigStream *old = NULL;

    g_mutex_lock(&o->lock);
    /* Even quitting: a connection being opened still calls back. */
    while (o->resume_connecting || (!o->resume_stream && !cancelled(o))) {
        g_cond_wait(&o->cond, &o->lock);
    }
    if (o->resume_stream && !cancelled(o)) {
        old = o->stream;
        o->old_bytes += mig_stream_bytes_written(old);
        o->stream = g_steal_pointer(&o->resume_stream);
        o->stream_closed = false;
        /* The preempt channel connects where main did. */
        qapi_free_MigrationAddress(o->addr);
        o->addr = g_steal_pointer(&o->resume_addr);
    }
    g_clear_pointer(&o->resume_stream, mig_stream_free);
    g_mutex_unlock(&o->lock);
    mig_stream_free(old);
    return old != NULL;
}

static bool open_preempt(MigOutgoing *o, OutResult *res);

/* The recovery's preempt channel (protocol section 6.12, step 3), its
 * thread serving requests from now on. */
static bool resume_preempt(MigOutgoing *o, OutResult *res)
{
    Error *err = NULL;

    if (!open_preempt(o, res)) {
        return false;
    }
    if (!preempt_send_start(o->preempt, o->requests, &o->session->ram_saver,
                            &o->pages_lock, preempt_sent, o, o->stream,
                            &err)) {
        *res = step_failed(o, err);
        return false;
    }
    mig_test_trace("postcopy-preempt channel reopened");
    return true;
}

/*
 * On the resume's connection: HELLO with RESUME (the session's id and
 * configuration), ACCEPT, then the destination's RECEIVED_BITMAPs and
 * RESUME_REQUEST, within the handshake timeout.  The pages it lacks
 * become dirty again; the return path starts anew.
 */
static bool resume_handshake(MigOutgoing *o, OutResult *res)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autoptr(GPtrArray) blocks = ram_guest_blocks();
    unsigned timeout = mig_handshake_timeout_ms();
    gint64 deadline = mig_deadline_after_ms(timeout);
    bool decoded = false;
    uint32_t bitmaps = 0, counted;
    uint64_t marked = 0;
    Error *err = NULL;

    mig_status_change(MIGRATION_STATUS_POSTCOPY_RECOVER_SETUP,
                      MIGRATION_STATUS_POSTCOPY_RECOVER);
    if (!mig_stream_set_liveness(o->stream, o->session->cfg->liveness_timeout,
                                 &err)) {
        *res = step_failed(o, err);
        return false;
    }
    o->hello->flags |= WIRE_HELLO_RESUME;
    wire_hello_encode(o->hello, b, &error_abort);
    if (!write_or_fail(o, b, deadline, res)) {
        return false;
    }
    if (wire_checksum_on(o->hello->config)) {
        mig_stream_checksum_writes(o->stream);
    }
    if (read_answer(o, deadline, timeout, &decoded, &o->error_class,
                    &err) != ANSWER_ACCEPTED) {
        if (!err) {
            error_setg(&err, "the destination closed the connection "
                       "without answering the handshake");
        }
    }
    while (!err) {
        WireReceivedBitmap rb;
        WireRecord rec;
        int64_t n;
        MigStreamResult r = mig_stream_read_record(o->stream, &rec, deadline,
                                                   &err);

        if (r != MIG_STREAM_OK) {
            if (r == MIG_STREAM_EOF || r == MIG_STREAM_TIMEOUT) {
                error_free(err);
                err = NULL;
                error_setg(&err, "the destination %s",
                           r == MIG_STREAM_EOF
                           ? "closed the connection before RESUME_REQUEST"
                           : "sent no RESUME_REQUEST within the handshake "
                             "timeout");
            }
            if (!err) {
                error_setg(&err, "interrupted");
            }
            break;
        }
        if (rec.type == WIRE_REC_RECEIVED_BITMAP) {
            n = wire_received_bitmap_decode(rec.body, rec.len, &rb, &err)
                ? postcopy_apply_received(o->bitmap, blocks, &rb, &err) : -1;
            if (n < 0) {
                o->error_class = WIRE_ERR_PROTOCOL;
                break;
            }
            marked += n;
            bitmaps++;
            continue;
        }
        if (!wire_record_expect(&rec, WIRE_REC_RESUME_REQUEST, &err) ||
            !wire_resume_request_decode(rec.body, rec.len, &counted, &err)) {
            o->error_class = WIRE_ERR_PROTOCOL;
            break;
        }
        if (counted != bitmaps) {
            error_setg(&err, "RESUME_REQUEST counts %u RECEIVED_BITMAPs, "
                       "%u came", counted, bitmaps);
            o->error_class = WIRE_ERR_PROTOCOL;
            break;
        }
        if (o->release) {
            postcopy_release_resumed(o->release, o->bitmap);
        }
        /* A new channel numbers its RAM_PAGES from 0 (6.5). */
        o->session->ram_saver.next_packet = 0;
        mig_test_trace("postcopy resumed: %" G_GUINT64_FORMAT " pages to "
                       "send again", marked);
        /* Before the return path reads the requests it serves. */
        if (o->session->cfg->postcopy_preempt && !resume_preempt(o, res)) {
            return false;
        }
        if (!start_return_path(o, res)) {
            return false;
        }
        set_phase(o, OUT_POSTCOPY);
        mig_info_set_error(NULL);
        mig_status_change(MIGRATION_STATUS_POSTCOPY_RECOVER,
                          MIGRATION_STATUS_POSTCOPY_ACTIVE);
        return true;
    }
    error_prepend(&err, "Resuming the postcopy with '%s' failed: ",
                  mig_stream_name(o->stream));
    *res = step_failed(o, err);
    return false;
}

/*
 * A postcopy that lost its connection: paused (its reason in
 * error-desc), it waits for migrate with resume and recovers; true once
 * it sends again, false if vmig quits.
 */
static bool postcopy_pause(MigOutgoing *o, OutResult *res)
{
    while (postcopy_pausable(o)) {
        /* Asked for: whatever the woken stream made fail is no reason. */
        bool asked = qatomic_mb_read(&o->pause_asked);
        g_autofree char *why = g_strdup_printf(
            "Postcopy paused: %s.  The guest cannot continue until the "
            "destination comes back: it runs there with pages only this "
            "source has, and this source (stopped) keeps every page the "
            "destination has not confirmed; recover with migrate-recover "
            "on the destination, then migrate with resume here",
            asked ? "migrate-pause on the source"
                  : o->error ? error_get_pretty(o->error) : "?");

        drop_connection(o);
        error_report("%s", why);
        mig_info_set_error(NULL);
        mig_info_set_error(why);
        g_clear_pointer(&o->error, error_free);
        o->error_class = NULL;
        mig_status_postcopy_paused();
        mig_test_trace("postcopy paused");
        if (!wait_resume(o)) {
            break;
        }
        if (resume_handshake(o, res)) {
            return true;
        }
    }
    if (!o->error) {
        error_setg(&o->error, "vmig is quitting");
    }
    *res = OUT_CANCELLED;
    return false;
}

/* ---- The migration thread ---- */

/* Makes the channel threads @m (NULL: they failed to start, @err says
 * why) the ones cancel and the return path wake. */
static bool publish_multifd(MigOutgoing *o, MultifdSend *m, Error *err,
                            OutResult *res)
{
    if (!m) {
        *res = step_failed(o, err);
        return false;
    }
    g_mutex_lock(&o->lock);
    o->session->multifd_send = m;
    g_mutex_unlock(&o->lock);
    /* A cancel that came while they started missed them. */
    if (cancelled(o)) {
        multifd_send_wake(m);
    }
    return true;
}

/* The multifd channels, after ACCEPT (protocol section 5.2). */
static bool open_multifd(MigOutgoing *o, OutResult *res)
{
    Error *err = NULL;
    MultifdSend *m = multifd_send_new(o->addr, o->session->cfg, o->tls,
                                      o->session->id,
                                      &o->session->ram_saver, &err);

    o->batch = g_new(RamPageBatch, 1);
    return publish_multifd(o, m, err, res);
}

/* mapped-ram: the block records now, the pages in place later. */
static bool open_mapped_ram(MigOutgoing *o, OutResult *res)
{
    g_autoptr(GPtrArray) blocks = ram_guest_blocks();
    int fd = qio_channel_get_fd(mig_stream_channel(o->stream));
    Error *err = NULL;

    o->mapped = mapped_ram_writer_new(fd, o->addr->u.file.offset,
                                      mig_stream_bytes_written(o->stream),
                                      blocks,
                                      wire_checksum_on(o->hello->config),
                                      &err);
    if (!o->mapped) {
        error_prepend(&err, "Migration to '%s' failed: ",
                      mig_stream_name(o->stream));
        *res = step_failed(o, err);
        return false;
    }
    o->batch = g_new(RamPageBatch, 1);
    if (o->session->cfg->multifd) {
        MultifdSend *m = multifd_send_new_mapped(o->session->cfg,
                                                 &o->session->ram_saver,
                                                 o->mapped, &err);

        return publish_multifd(o, m, err, res);
    }
    return true;
}

/* The preempt channel, after ACCEPT and the multifd channels
 * (protocol section 5.2). */
static bool open_preempt(MigOutgoing *o, OutResult *res)
{
    Error *err = NULL;
    PreemptSend *p = preempt_send_open(o->addr, o->session->cfg, o->tls,
                                       o->session->id, &err);

    if (!p) {
        *res = step_failed(o, err);
        return false;
    }
    g_mutex_lock(&o->lock);
    o->preempt = p;
    g_mutex_unlock(&o->lock);
    /* A cancel that came while it opened missed it. */
    if (cancelled(o)) {
        preempt_send_wake(p);
    }
    return true;
}

/* Before the RAM saver goes: the preempt thread takes pages from it. */
static void close_preempt(MigOutgoing *o)
{
    PreemptSend *p;

    g_mutex_lock(&o->lock);
    p = g_steal_pointer(&o->preempt);
    g_mutex_unlock(&o->lock);
    preempt_send_free(p);
}

static void close_multifd(MigOutgoing *o)
{
    MultifdSend *m;

    g_mutex_lock(&o->lock);
    m = g_steal_pointer(&o->session->multifd_send);
    g_mutex_unlock(&o->lock);
    multifd_send_free(m);
    g_clear_pointer(&o->batch, g_free);
    g_clear_pointer(&o->mapped, mapped_ram_writer_free);
}

/* The return path's thread; a failure to start it fails the migration
 * like any other step (a process out of threads must not abort). */
static bool start_return_path(MigOutgoing *o, OutResult *res)
{
    g_autoptr(GError) gerr = NULL;
    Error *err = NULL;
    bool started;

    /* Under the lock, as its thread finds it set. */
    g_mutex_lock(&o->lock);
    o->rp_thread = g_thread_try_new(VMIG_THREAD_NAME("mig/return-path"),
                                    rp_thread_fn, o, &gerr);
    started = o->rp_thread != NULL;
    g_mutex_unlock(&o->lock);
    if (!started) {
        error_setg(&err, "Cannot start the return path's thread: %s",
                   gerr->message);
        *res = step_failed(o, err);
    }
    return started;
}

static OutResult run(MigOutgoing *o)
{
    OutResult res = OUT_FAILED;
    Progress pg = { 0 };
    Error *err = NULL;

    if (!mig_stream_set_liveness(o->stream,
                                 o->session->cfg->liveness_timeout, &err)) {
        return step_failed(o, err);
    }
    if (!handshake(o, &res)) {
        return res;
    }
    if (o->dry_run) {
        return OUT_COMPLETED;
    }
    if (o->unidirectional || o->reply_optional) {
        /* Nothing to wait for, or nothing we wait for: the destination
         * (if any) takes data from now on. */
        set_phase(o, OUT_ACCEPTED);
    }
    if (!o->unidirectional && !start_return_path(o, &res)) {
        return res;
    }
    if (o->session->cfg->mapped_ram ? !open_mapped_ram(o, &res) :
        o->session->cfg->multifd && !open_multifd(o, &res)) {
        return res;
    }
    if (o->session->cfg->postcopy_preempt && !open_preempt(o, &res)) {
        return res;
    }
    if (!mig_status_change(MIGRATION_STATUS_SETUP, MIGRATION_STATUS_ACTIVE)) {
        return step_failed(o, NULL);
    }
    set_phase(o, OUT_PRECOPY);
    mig_bandwidth_init(&pg.bw, g_get_monotonic_time(),
                       bytes_sent(o));
    if (!precopy(o, &pg, &res)) {
        return res;
    }
    if (!o->postcopy) {
        return complete(o, &pg, &res) ? OUT_COMPLETED : res;
    }
    if (postcopy_switch(o, &res) && postcopy_send(o, &pg, &res)) {
        return OUT_COMPLETED;
    }
    /* From RUN on a broken link pauses, until a resume or vmig quits. */
    while (postcopy_pausable(o)) {
        if (!postcopy_pause(o, &res)) {
            return res;
        }
        if (postcopy_send(o, &pg, &res)) {
            return OUT_COMPLETED;
        }
    }
    return res;
}

/* Why a postcopy failed, and what that leaves on both ends. */
static char *postcopy_failure(MigOutgoing *o)
{
    return g_strdup_printf(
        "Postcopy failed: %s.  The guest cannot continue on either end: "
        "the destination ran it with pages only this source has, and "
        "this source, which stopped it when postcopy began, stays "
        "stopped with %s", o->error ? error_get_pretty(o->error)
                                    : "the migration was stopped",
        o->session->cfg->release_ram
        ? "every page it had not sent yet (release-ram freed the others)"
        : "all its pages");
}

static void finish_main(void *opaque)
{
    MigOutgoing *o = opaque;

    if (phase(o) >= OUT_SWITCHOVER) {
        if (o->result == OUT_COMPLETED) {
            runstate_set(RUN_STATE_POSTMIGRATE);
        } else if (o->postcopy_run) {
            /* Stays in finish-migrate, which `cont` refuses: the
             * destination may have run the guest past our copy. */
        } else if (o->vm_old_state == RUN_STATE_RUNNING) {
            vm_start();
        } else if (runstate_is_legal(RUN_STATE_FINISH_MIGRATE,
                                     o->vm_old_state)) {
            runstate_set(o->vm_old_state);
        } else {
            runstate_set(RUN_STATE_PAUSED);
        }
    }
    mig_info_end();
    switch (o->result) {
    case OUT_COMPLETED:
        mig_status_finish(MIGRATION_STATUS_COMPLETED);
        break;
    case OUT_CANCELLED:
        if (o->postcopy_run) {
            /* Only vmig quitting stops a postcopy: no guest is left. */
            g_autofree char *why = postcopy_failure(o);

            mig_info_set_error(why);
            mig_status_finish(MIGRATION_STATUS_FAILED);
            break;
        }
        mig_status_finish(MIGRATION_STATUS_CANCELLED);
        break;
    case OUT_FAILED:
        if (o->postcopy_run) {
            g_autofree char *why = postcopy_failure(o);

            error_report("%s", why);
            mig_info_set_error(why);
        } else {
            mig_info_set_error(o->error ? error_get_pretty(o->error)
                                        : "The migration failed");
        }
        mig_status_finish(MIGRATION_STATUS_FAILED);
        break;
    }
}

static gboolean reap(gpointer opaque)
{
    MigOutgoing *o = opaque;

    g_thread_join(o->thread);
    threads_alive--;
    outgoing_free(o);
    return G_SOURCE_REMOVE;
}

/* Tells the destination why, if the stream can still carry a record. */
static void send_error(MigOutgoing *o)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autoptr(WireReject) e = NULL;

    /* REPLY_OPTIONAL: the destination, if any, may be waiting. */
    if (phase(o) < OUT_ACCEPTED || o->unidirectional || o->stream_closed) {
        return;
    }
    if (o->result == OUT_CANCELLED) {
        e = wire_reject_new(WIRE_ERR_GENERIC, NULL, "the source cancelled "
                            "the migration");
    } else {
        e = wire_reject_new(o->error_class ? o->error_class
                                           : WIRE_ERR_GENERIC, NULL,
                            "the source failed: %s",
                            o->error ? error_get_pretty(o->error) : "?");
    }
    if (wire_reject_encode(e, WIRE_REC_ERROR, b, NULL)) {
        mig_stream_write_last(o->stream, b->data, b->len,
                              mig_deadline_after_ms(LAST_WORD_MS), NULL);
    }
}

/* Closes the channel, explaining a failure with what closing says. */
static void close_stream(MigOutgoing *o)
{
    if (o->stream_closed) {
        /* A paused postcopy's: closed already. */
    } else if (o->result == OUT_FAILED) {
        mig_stream_close_after_failure(o->stream, &o->error);
    } else {
        mig_stream_close(o->stream, NULL);
    }
}

static gpointer migration_thread_fn(gpointer opaque)
{
    MigOutgoing *o = opaque;
    GThread *rp;

    o->result = run(o);
    /* Before anything it uses goes: the migration stops on failure. */
    close_preempt(o);
    /* Before "completed" is heard: query-migrate then shows the throttle
     * over, and it costs nothing to lift. */
    if (o->throttled) {
        cpu_throttle_stop();
    }
    /* The destination has confirmed: management hears it now, not after
     * the cleanup below (threads joined, channels closed), which only
     * the next migration waits for (wait_cleanup()).  Anything else
     * needs the cleanup first: a guest to resume, a channel to close. */
    if (o->result == OUT_COMPLETED) {
        mig_call_in_main(finish_main, o);
    }

    if (o->session->ram_saver_ready) {
        ram_saver_destroy(&o->session->ram_saver);
        o->session->ram_saver_ready = false;
    }
    g_clear_pointer(&o->xbzrle, xbzrle_saver_free);
    if (o->bitmap) {
        dirty_bitmap_stop(g_steal_pointer(&o->bitmap));
    }
    if (o->result != OUT_COMPLETED) {
        send_error(o);
    }
    close_multifd(o);
    /* Ends the return path's read; then nobody else uses the stream. */
    mig_stream_wake(o->stream);
    g_mutex_lock(&o->lock);
    rp = o->rp_thread;
    g_mutex_unlock(&o->lock);
    if (rp) {
        g_thread_join(rp);
    }
    close_stream(o);
    mig_test_trace("outgoing cleanup done");

    if (o->result != OUT_COMPLETED) {
        mig_call_in_main(finish_main, o);
    }
    g_mutex_lock(&cleanup_lock);
    cleaning--;
    g_cond_broadcast(&cleanup_cond);
    g_mutex_unlock(&cleanup_lock);
    g_idle_add(reap, o);
    return NULL;
}

/* Waits for the last migration's cleanup (main thread; it never needs
 * the main thread), bounded in case it hangs. */
static bool wait_cleanup(Error **errp)
{
    gint64 deadline = g_get_monotonic_time() +
                      CLEANUP_WAIT_MS * G_TIME_SPAN_MILLISECOND;
    bool done = true;

    g_mutex_lock(&cleanup_lock);
    while (cleaning && done) {
        done = g_cond_wait_until(&cleanup_cond, &cleanup_lock, deadline);
    }
    done = !cleaning;
    g_mutex_unlock(&cleanup_lock);
    if (!done) {
        error_setg(errp, "The last migration is still cleaning up after "
                   "%d ms; try again", CLEANUP_WAIT_MS);
    }
    return done;
}

/* ---- Starting ---- */

/* A migration that ends before its thread starts (main thread). */
static void fail_early(MigOutgoing *o, Error *err)
{
    assert_main_thread();
    mig_info_end();
    mig_info_set_error(error_get_pretty(err));
    mig_status_finish(MIGRATION_STATUS_FAILED);
    error_free(err);
    outgoing_free(o);
}

static void connected(MigStream *s, Error *err, gpointer opaque)
{
    MigOutgoing *o = opaque;
    g_autoptr(GError) gerr = NULL;

    if (phase(o) == OUT_ABANDONED) {
        /* Cancelled (and reported) while connecting. */
        mig_stream_free(s);
        error_free(err);
        outgoing_free(o);
        return;
    }
    if (!s) {
        fail_early(o, err);
        return;
    }
    o->stream = s;
    mig_info_set_tls(mig_tls_channel_info(mig_stream_channel(s)));
    threads_alive++;
    g_mutex_lock(&cleanup_lock);
    cleaning++;
    g_mutex_unlock(&cleanup_lock);
    o->thread = g_thread_try_new(VMIG_THREAD_NAME("migration"),
                                 migration_thread_fn, o, &gerr);
    if (!o->thread) {
        /* Out of threads (a process limit): nothing sent, guest intact. */
        threads_alive--;
        g_mutex_lock(&cleanup_lock);
        cleaning--;
        g_mutex_unlock(&cleanup_lock);
        error_setg(&err, "Cannot start the migration thread: %s",
                   gerr->message);
        fail_early(o, err);
    }
}

bool migration_outgoing_start(const MigrationAddress *addr, bool dry_run,
                              const MigrationConfig *cfg, Error **errp)
{
    MachineState *ms = current_machine;
    bool unidirectional = addr->transport == MIGRATION_ADDRESS_TYPE_FILE;
    /* An exec: command may only consume the stream ("cat > FILE"), so
     * the answer is not waited for, unless it is needed. */
    bool reply_optional = addr->transport == MIGRATION_ADDRESS_TYPE_EXEC &&
                          !dry_run && !cfg->switchover_ack &&
                          !cfg->postcopy_ram;
    uint32_t flags = (unidirectional ? WIRE_HELLO_UNIDIRECTIONAL : 0) |
                     (reply_optional ? WIRE_HELLO_REPLY_OPTIONAL : 0) |
                     (dry_run ? WIRE_HELLO_DRY_RUN : 0);
    MigChannelSpec spec = { .role = MIG_CHANNEL_MAIN };
    WireHello *hello;
    MigTls *tls;
    MigOutgoing *o;

    assert_main_thread();
    if (shutting_down) {
        error_setg(errp, "vmig is shutting down");
        return false;
    }
    if (dry_run && unidirectional) {
        error_setg(errp, "A dry run needs a destination that answers, "
                   "which a file: migration does not have");
        return false;
    }
    if (!wait_cleanup(errp)) {
        return false;
    }
    /* Held until the migration is freed. */
    if (!mig_tls_new(cfg, addr, true, &tls, errp)) {
        return false;
    }
    hello = handshake_hello_new(cfg, flags,
                                ms && ms->has_uuid ? ms->uuid : NULL, errp);
    if (!hello) {
        mig_tls_free(tls);
        return false;
    }

    o = g_new0(MigOutgoing, 1);
    g_mutex_init(&o->lock);
    g_mutex_init(&o->pages_lock);
    g_mutex_init(&o->ping_lock);
    g_cond_init(&o->cond);
    o->addr = QAPI_CLONE(MigrationAddress, addr);
    o->tls = tls;
    o->dry_run = dry_run;
    o->unidirectional = unidirectional;
    o->reply_optional = reply_optional;
    o->rp_state = reply_optional ? RP_AWAITING_ANSWER : RP_OPEN;
    o->session = mig_session_new(hello->session_id, cfg);
    o->hello = hello;
    o->devices_max = device_save_max_bytes();
    cur = o;

    mig_params_update(cfg);
    mig_info_start(MIG_DIR_OUTGOING, cfg->events, dry_run);
    mig_info_report_throttle(cfg->auto_converge);
    /* Connecting can take long (an unreachable host): not here. */
    set_phase(o, OUT_CONNECTING);
    spec.tls = o->tls;
    mig_channel_open_async(addr, &spec, connected, o);
    return true;
}

/* ---- Resuming a paused postcopy ---- */

/* A resume's connection (or why there is none), for the paused thread. */
static void resume_connected(MigStream *s, Error *err, gpointer opaque)
{
    MigOutgoing *o = opaque;

    g_mutex_lock(&o->lock);
    o->resume_connecting = false;
    if (s && cancelled(o)) {
        mig_stream_free(s);
    } else if (s) {
        o->resume_stream = s;
    }
    g_cond_broadcast(&o->cond);
    g_mutex_unlock(&o->lock);
    if (!s) {
        g_autofree char *why = g_strdup_printf(
            "Resuming the postcopy failed: %s; it is still paused",
            error_get_pretty(err));

        error_report("%s", why);
        mig_info_set_error(NULL);
        mig_info_set_error(why);
        mig_status_change(MIGRATION_STATUS_POSTCOPY_RECOVER_SETUP,
                          MIGRATION_STATUS_POSTCOPY_PAUSED);
        error_free(err);
    }
}

bool migration_outgoing_resume(const MigrationAddress *addr, Error **errp)
{
    MigChannelSpec spec = { .role = MIG_CHANNEL_MAIN };
    MigrationStatus st = mig_status();

    assert_main_thread();
    if (!cur || phase(cur) == OUT_ABANDONED ||
        st != MIGRATION_STATUS_POSTCOPY_PAUSED) {
        error_setg(errp, "There is no paused postcopy migration to resume "
                   "(the migration's status is '%s')",
                   MigrationStatus_str(st));
        return false;
    }
    if (addr->transport == MIGRATION_ADDRESS_TYPE_FILE) {
        error_setg(errp, "A postcopy resumes over a connection that "
                   "answers, which a file: migration is not");
        return false;
    }
    if (!mig_status_change(MIGRATION_STATUS_POSTCOPY_PAUSED,
                           MIGRATION_STATUS_POSTCOPY_RECOVER_SETUP)) {
        error_setg(errp, "The paused postcopy changed state meanwhile");
        return false;
    }
    g_mutex_lock(&cur->lock);
    cur->resume_connecting = true;
    qapi_free_MigrationAddress(cur->resume_addr);
    cur->resume_addr = QAPI_CLONE(MigrationAddress, addr);
    g_mutex_unlock(&cur->lock);
    spec.tls = cur->tls;
    mig_channel_open_async(addr, &spec, resume_connected, cur);
    return true;
}

bool mig_outgoing_pause(Error **errp)
{
    MigrationStatus st = mig_status();

    if (!cur || phase(cur) == OUT_ABANDONED) {
        return false;
    }
    if (st != MIGRATION_STATUS_POSTCOPY_ACTIVE &&
        st != MIGRATION_STATUS_POSTCOPY_RECOVER) {
        error_setg(errp, "Only a postcopy can be paused (postcopy-active "
                   "or postcopy-recover); the migration's status is '%s'",
                   MigrationStatus_str(st));
        return true;
    }
    qatomic_mb_set(&cur->pause_asked, 1);
    wake_streams(cur);
    return true;
}

/* ---- Commands ---- */

/* @errp NULL: vmig quits, and stops even a postcopy. */
static void cancel(MigOutgoing *o, Error **errp)
{
    assert_main_thread();
    for (;;) {
        MigrationStatus st = mig_status();

        if (!mig_status_is_running(st) || st == MIGRATION_STATUS_CANCELLING) {
            return;
        }
        if ((st == MIGRATION_STATUS_POSTCOPY_ACTIVE ||
             st == MIGRATION_STATUS_POSTCOPY_PAUSED ||
             st == MIGRATION_STATUS_POSTCOPY_RECOVER_SETUP ||
             st == MIGRATION_STATUS_POSTCOPY_RECOVER) && errp) {
            error_setg(errp, "The migration is in postcopy and cannot be "
                       "cancelled: the destination runs the guest with "
                       "pages only the source has, so neither end has "
                       "the whole guest until every page has been sent");
            return;
        }
        if (mig_status_change(st, MIGRATION_STATUS_CANCELLING)) {
            break;
        }
    }
    qatomic_mb_set(&o->cancel, 1);
    if (phase(o) == OUT_CONNECTING) {
        /* No thread yet: done now; connected() drops the channel. */
        set_phase(o, OUT_ABANDONED);
        cur = NULL;
        mig_info_end();
        mig_status_change(MIGRATION_STATUS_CANCELLING,
                          MIGRATION_STATUS_CANCELLED);
        return;
    }
    wake_streams(o);
    g_mutex_lock(&o->lock);
    g_cond_broadcast(&o->cond);
    g_mutex_unlock(&o->lock);
}

void qmp_migrate_cancel(Error **errp)
{
    /* Only the source's migration: cur is NULL on a destination. */
    if (cur && phase(cur) != OUT_ABANDONED) {
        cancel(cur, errp);
    }
}

void qmp_migrate_start_postcopy(Error **errp)
{
    MigrationStatus st = mig_status();

    if (!cur || phase(cur) == OUT_ABANDONED || !mig_status_is_running(st)) {
        error_setg(errp, "No outgoing migration is in progress: start one "
                   "with postcopy-ram on first");
        return;
    }
    if (!cur->session->cfg->postcopy_ram) {
        error_setg(errp, "The migration in progress runs without "
                   "postcopy-ram, so it cannot switch to postcopy");
        return;
    }
    if (st != MIGRATION_STATUS_SETUP && st != MIGRATION_STATUS_ACTIVE) {
        error_setg(errp, "Postcopy can start only while the migration is "
                   "active; its status is '%s'", MigrationStatus_str(st));
        return;
    }
    qatomic_mb_set(&cur->postcopy_asked, 1);
}

void qmp_migrate_continue(MigrationStatus state, Error **errp)
{
    MigrationStatus st = mig_status();

    if (state != MIGRATION_STATUS_PRE_SWITCHOVER || !cur || st != state) {
        error_setg(errp, "The migration is not paused in state '%s': its "
                   "status is '%s'", MigrationStatus_str(state),
                   MigrationStatus_str(st));
        return;
    }
    g_mutex_lock(&cur->lock);
    cur->continue_requested = true;
    g_cond_broadcast(&cur->cond);
    g_mutex_unlock(&cur->lock);
}

void mig_outgoing_shutdown_begin(void)
{
    shutting_down = true;
    if (cur && phase(cur) != OUT_ABANDONED) {
        cancel(cur, NULL);
    }
}

bool mig_outgoing_idle(void)
{
    return threads_alive == 0;
}
