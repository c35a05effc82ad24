/*
 * The destination side of a migration: listening (or opening the one
 * channel of fd:, exec: and file:), the handshake's checks, and loading
 * the stream into guest RAM and devices.
 *
 * Threads:
 *   - main thread: migrate-incoming / -incoming
 *     (migration_incoming_start()), the listener's accept callback, and
 *     what the incoming thread asks of it through mig_call_in_main():
 *     judging the HELLO (configuration, device registry), making the
 *     received configuration the one in effect, loading the devices,
 *     starting the VM, and what follows a failure (exit, or wait for the
 *     next source).
 *   - one incoming thread per connection: reads and checks every record,
 *     writes the answer and the return-path records, and puts pages
 *     straight into guest RAM (the vCPUs are parked in "inmigrate").
 *
 * One connection is served at a time; another HELLO arriving meanwhile
 * is refused by the router.  Only a connection that sent a HELLO gets
 * here: strangers on a listener never fail a migration (router.h).
 * With exit-on-error (the default) a failure ends vmig
 * with exit status 1 after printing the reason; without, a listening
 * destination takes the next connection and the others can be started
 * again with migrate-incoming.  A dry run changes nothing here: after
 * its answer the destination waits for the real migration.
 */
#include <string.h>
#include <sys/stat.h>

#include "migration/transport/address.h"
#include "migration/config.h"
#include "migration/devices/devices.h"
#include "migration/engine/engine.h"
#include "migration/engine/handshake.h"
#include "migration/engine/session.h"
#include "migration/ram/mapped-ram.h"
#include "migration/multifd/multifd.h"
#include "migration/ram/postcopy-ram.h"
#include "migration/ram/ram.h"
#include "migration/ram/ram-xbzrle.h"
#include "migration/transport/router.h"
#include "migration/transport/stream.h"
#include "migration/transport/tls.h"
#include "qapi/clone.h"
#include "qapi/qapi-visit.h"
#include "system/cpus.h"
#include "system/machine.h"
#include "system/runstate.h"
#include "util/atomic.h"
#include "util/main-thread.h"
#include "util/thread-name.h"

/*
 * A paused postcopy (main thread): the connection broke after
 * POSTCOPY_RUN, the guest runs on with the pages it has and its vCPUs
 * wait for the others; a source resuming this session takes it over.
 */
typedef struct InPaused {
    MigSession *session;
    PostcopyDest *postcopy;     /* its fault thread runs on, asking nobody */
    WireHello *hello;           /* the session's, for the resume's checks */
} InPaused;

typedef struct MigIncoming {
    MigrationAddress *addr;
    char *uri;
    bool exit_on_error;
    MigrationConfig *local_cfg; /* this end's options (main thread) */
    const MigIncomingHooks *hooks;
    MigRouter *router;          /* its connections */
    bool busy;                  /* a connection is being served */
    /* The session of the connection being served: a connection refers
     * to it, and it may outlive one (postcopy recovery). */
    MigSession *session;
    InPaused *paused;           /* NULL: no postcopy paused */
    bool recovering;            /* migrate-recover: a resume is served */
} MigIncoming;

/*
 * How far a connection has come (its incoming thread; the main thread
 * reads it only in calls that thread waits for).
 *
 *   HELLO --judged, answered--> ACCEPTED --extra channels bound-->
 *     |   (REJECT, or a dry run: ends)       CHANNELS
 *     |                                        |
 *     +-- failure: the source gets no ERROR    v
 *                             LOADING --END--> DEVICES --SHUTDOWN sent--> DONE
 *
 * With postcopy, LOADING goes on after the switch: POSTCOPY_DISCARD
 * drops pages, POSTCOPY_LISTEN arms the fault thread, DEVICE_STATE,
 * then POSTCOPY_RUN loads the devices and starts the guest (status
 * postcopy-active); pages keep coming until END, after which no
 * page is missing and SHUTDOWN goes out.  A failure after RUN leaves a
 * guest with pages only the source had: the connection is dropped and
 * the postcopy pauses (status postcopy-paused), keeping the session and
 * the guest's RAM; the vCPUs wait for their pages.
 *
 * A resuming source (migrate-recover here, HELLO with RESUME): its
 * connection takes the paused session over at the handshake and, after
 * ACCEPT, sends RECEIVED_BITMAPs and RESUME_REQUEST, asks again for the
 * pages the vCPUs wait for, and goes on LOADING (postcopy-recover, then
 * postcopy-active).  A failure before the handshake took it leaves the
 * postcopy paused; after, it pauses again.
 *
 * From ACCEPTED on the source sends data, so a failure is answered with
 * ERROR (unless the source failed first).
 */
typedef enum InPhase {
    IN_HELLO,
    IN_ACCEPTED,
    IN_CHANNELS,
    IN_LOADING,
    IN_DEVICES,
    IN_DONE,
} InPhase;

typedef enum InResult {
    IN_COMPLETED,
    IN_DRY_RUN,
    IN_FAILED,
    IN_PAUSED,                  /* a postcopy lost its connection */
} InResult;

typedef struct IncomingConn {
    MigIncoming *inc;
    MigStream *stream;
    bool file;                  /* nothing can be sent back */
    /* The HELLO the router read (a listener's connection), or NULL: the
     * incoming thread reads the first record itself. */
    const WireRecord *first;
    WireRecord first_rec;
    GThread *thread;

    WireHello *hello;
    bool answer;                /* HELLO wants ACCEPT/REJECT */
    InPhase phase;
    bool peer_failed;           /* the source sent ERROR: no reply */
    uint32_t version;
    MigrationConfig *effective; /* the handshake's result */
    WireReject *reject;
    DeviceLoadSet *devices;
    /* Set once accepted (main thread), ended by session_end_main(). */
    MigSession *session;
    MultifdRecv *multifd;       /* session->multifd_recv, or NULL */
    PreemptRecv *preempt;       /* session->preempt_recv, or NULL */
    uint64_t last_sync;
    gint64 load_start;          /* monotonic, for mbps */
    bool loaded;                /* END read: the source's passes are over */
    /* Postcopy (incoming thread): from the first POSTCOPY_DISCARD or
     * POSTCOPY_LISTEN on; listening from LISTEN, running from RUN. */
    PostcopyDest *postcopy;
    bool postcopy_listening;
    bool postcopy_running;
    bool resumed;               /* took a paused postcopy over */
    gint pause_asked;           /* migrate-pause (atomic) */

    InResult result;
    Error *error;
    const char *error_class;    /* for ERROR after the handshake */
} IncomingConn;

static MigIncoming *inc;
static IncomingConn *serving;       /* main thread */
static unsigned threads_alive;      /* not reaped yet (main thread) */
/* Main thread writes, the incoming thread reads: atomic. */
static gint shutting_down;

static void incoming_free(MigIncoming *i)
{
    if (!i) {
        return;
    }
    if (i->router && mig_router_listens(i->router)) {
        mig_info_set_listen_address(NULL);
    }
    mig_router_free(i->router);
    g_assert(!i->session);
    qapi_free_MigrationAddress(i->addr);
    qapi_free_MigrationConfig(i->local_cfg);
    g_free(i->uri);
    g_free(i);
}

static void conn_free(IncomingConn *c)
{
    mig_stream_free(c->stream);
    wire_hello_free(c->hello);
    qapi_free_MigrationConfig(c->effective);
    wire_reject_free(c->reject);
    device_load_set_free(c->devices);
    error_free(c->error);
    g_free(c);
}

static bool conn_fail(IncomingConn *c, const char *cls, Error *err)
{
    /* Woken because vmig quits: say so, not "interrupted". */
    if (qatomic_mb_read(&shutting_down) && mig_stream_is_woken(c->stream)) {
        error_free(err);
        err = NULL;
        error_setg(&err, "The destination vmig is quitting");
    } else if (qatomic_mb_read(&c->pause_asked) &&
               mig_stream_is_woken(c->stream)) {
        error_free(err);
        err = NULL;
        error_setg(&err, "migrate-pause on the destination");
    }
    if (c->multifd && !c->peer_failed) {
        /* A failed channel woke the main stream: its reason is the one
         * (unless the source said why itself). */
        Error *channel_err = multifd_recv_error(c->multifd);

        if (channel_err) {
            error_free(err);
            err = channel_err;
        }
    }
    if (c->preempt && !c->peer_failed) {
        Error *channel_err = preempt_recv_error(c->preempt);

        if (channel_err) {
            error_free(err);
            err = channel_err;
        }
    }
    if (c->error) {
        error_free(err);
    } else {
        c->error = err;
        c->error_class = cls;
    }
    c->result = IN_FAILED;
    return false;
}

/* ---- Writing ---- */

static bool send_bytes(IncomingConn *c, GByteArray *b, gint64 deadline)
{
    Error *err = NULL;

    if (mig_stream_write(c->stream, b->data, b->len, deadline, &err) !=
        MIG_STREAM_OK) {
        error_prepend(&err, "Answering the source failed: ");
        return conn_fail(c, WIRE_ERR_GENERIC, err);
    }
    return true;
}

/* Tells a source that is waiting for data why none will come. */
static void send_error(IncomingConn *c)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autoptr(WireReject) e = NULL;

    if (c->phase < IN_ACCEPTED || !c->answer || c->peer_failed ||
        !c->error) {
        return;
    }
    e = wire_reject_new(c->error_class ? c->error_class : WIRE_ERR_GENERIC,
                        NULL, "%s", error_get_pretty(c->error));
    if (wire_reject_encode(e, WIRE_REC_ERROR, b, NULL)) {
        mig_stream_write_last(c->stream, b->data, b->len,
                              mig_deadline_after_ms(1000), NULL);
    }
}

/* ---- The handshake ---- */

static void check_hello_main(void *opaque)
{
    IncomingConn *c = opaque;
    MachineState *ms = current_machine;

    c->reject = handshake_check_hello(c->hello, c->inc->local_cfg,
                                      c->inc->uri,
                                      ms && ms->has_uuid ? ms->uuid : NULL,
                                      c->inc->paused ? c->inc->paused->hello
                                                     : NULL,
                                      &c->version, &c->effective);
    if (!c->reject) {
        g_autoptr(MigrationConfigOverrideList) over = handshake_overrides(
            c->inc->local_cfg, c->effective);

        /* What was asked for here and is not what happens: say so. */
        for (MigrationConfigOverrideList *l = over; l; l = l->next) {
            warn_report("incoming migration: option '%s' is %s as the "
                        "source's configuration says, not %s as set here",
                        l->value->option, l->value->source, l->value->local);
        }
        mig_info_set_overrides(over);
    }
    if (!c->reject && c->effective->postcopy_ram) {
        g_autoptr(GPtrArray) blocks = handshake_blocks_sent(c->hello);
        Error *err = NULL;

        /* Before any page moves, as every other incompatibility. */
        if (!postcopy_dest_check_blocks(blocks, &err)) {
            c->reject = wire_reject_new(WIRE_ERR_INCOMPATIBLE_CONFIG,
                                        "postcopy-ram", "%s",
                                        error_get_pretty(err));
            error_free(err);
        }
    }
    if (c->reject || (c->hello->flags & WIRE_HELLO_DRY_RUN)) {
        return;
    }
    if (c->hello->flags & WIRE_HELLO_RESUME) {
        InPaused *p = g_steal_pointer(&c->inc->paused);

        /* The paused session is this connection's from now on. */
        c->session = p->session;
        c->inc->session = p->session;
        c->postcopy = p->postcopy;
        c->postcopy_listening = c->postcopy_running = true;
        c->resumed = true;
        wire_hello_free(p->hello);
        g_free(p);
        /* Its new preempt channel may connect right after ACCEPT. */
        c->preempt = c->session->preempt_recv;
        if (c->preempt) {
            mig_session_resume_channels(c->session, c->stream, c->postcopy);
            mig_router_add_session(c->inc->router, c->session->id,
                                   mig_session_bind_channel, c->session);
        }
        return;
    }
    c->session = mig_session_new(c->hello->session_id, c->effective);
    c->inc->session = c->session;
    /* Before ACCEPT goes out: the channels may connect right after. */
    if (c->effective->multifd && !c->effective->mapped_ram) {
        g_autoptr(GPtrArray) blocks = handshake_blocks_sent(c->hello);

        c->multifd = multifd_recv_new(c->effective, blocks, c->stream);
    }
    if (c->effective->postcopy_preempt) {
        g_autoptr(GPtrArray) blocks = handshake_blocks_sent(c->hello);

        c->preempt = preempt_recv_new(c->effective, blocks, c->stream);
    }
    if (c->multifd || c->preempt) {
        mig_session_expect_channels(c->session,
                                    c->multifd ?
                                    c->effective->multifd_channels : 0,
                                    c->multifd, c->preempt);
        mig_router_add_session(c->inc->router, c->session->id,
                               mig_session_bind_channel, c->session);
    }
}

/* Reads the stream header and the first record, which must be HELLO. */
static bool read_hello(IncomingConn *c, gint64 deadline, unsigned timeout)
{
    const char *name = mig_stream_name(c->stream);
    Error *err = NULL;
    MigStreamResult r;
    WireRecord rec;

    /* The stream header, then HELLO: not even a NOP first (section 3). */
    if (c->first) {
        rec = *c->first;
        r = MIG_STREAM_OK;
    } else {
        r = mig_router_read_first(c->stream, &rec, deadline, &err);
    }
    switch (r) {
    case MIG_STREAM_OK:
        break;
    case MIG_STREAM_EOF:
        error_setg(&err, "'%s' ended before a HELLO arrived", name);
        return conn_fail(c, WIRE_ERR_PROTOCOL, err);
    case MIG_STREAM_TIMEOUT:
        error_free(err);
        err = NULL;
        error_setg(&err, "No HELLO from '%s' within %u ms", name, timeout);
        return conn_fail(c, WIRE_ERR_PROTOCOL, err);
    default:
        /* Not the protocol (bad magic...): no answer (section 9). */
        return conn_fail(c, WIRE_ERR_PROTOCOL, err);
    }

    if (rec.type == WIRE_REC_CHANNEL_HEADER) {
        error_setg(&err, "'%s' opened a secondary channel, but no "
                   "migration session is waiting for one", name);
        return conn_fail(c, WIRE_ERR_PROTOCOL, err);
    }
    /* Whoever wrote a valid stream header gets a REJECT for the rest. */
    c->answer = !c->file;
    if (rec.type != WIRE_REC_HELLO) {
        wire_record_expect(&rec, WIRE_REC_HELLO, &err);
        c->reject = wire_reject_new(WIRE_ERR_PROTOCOL, NULL, "%s",
                                    error_get_pretty(err));
        error_free(err);
        return true;
    }
    if (!wire_hello_decode(rec.body, rec.len, &c->hello, &c->reject,
                           &err)) {
        error_free(err);
        return true;
    }
    if (c->hello->flags & WIRE_HELLO_UNIDIRECTIONAL) {
        c->answer = false;
    } else if (c->file && (c->hello->flags & WIRE_HELLO_REPLY_OPTIONAL)) {
        /* Saved by a one-way exec: its source waited for no answer. */
        c->answer = false;
    } else if (c->file) {
        error_setg(&err, "HELLO: the stream in '%s' is not marked "
                   "UNIDIRECTIONAL, but a file cannot carry the answer it "
                   "waits for", name);
        return conn_fail(c, WIRE_ERR_PROTOCOL, err);
    }
    mig_call_in_main(check_hello_main, c);
    return true;
}

/* Writes ACCEPT or REJECT (when the source waits for one). */
static bool answer_hello(IncomingConn *c, gint64 deadline)
{
    g_autoptr(GByteArray) b = g_byte_array_new();

    if (!c->answer) {
        return true;
    }
    wire_stream_header_encode(b);
    if (c->reject) {
        if (!wire_reject_encode(c->reject, WIRE_REC_REJECT, b, NULL)) {
            return true;    /* cannot happen: the fields were checked */
        }
    } else {
        g_autoptr(WireAccept) a = handshake_accept_new(c->hello, c->version,
                                                       c->effective);
        Error *err = NULL;

        if (!wire_accept_encode(a, b, &err)) {
            return conn_fail(c, WIRE_ERR_GENERIC, err);
        }
    }
    if (c->hello && (c->hello->flags & WIRE_HELLO_REPLY_OPTIONAL)) {
        /* Best effort: the command may not read it ("-incoming exec:cat
         * FILE" of a one-way stream), and the source does not wait. */
        if (mig_stream_write(c->stream, b->data, b->len, deadline, NULL) !=
            MIG_STREAM_OK) {
            c->answer = false;
        }
        return true;
    }
    return send_bytes(c, b, deadline);
}

static bool handshake(IncomingConn *c)
{
    unsigned timeout = mig_handshake_timeout_ms();
    gint64 deadline = mig_deadline_after_ms(timeout);
    Error *err = NULL;

    if (!read_hello(c, deadline, timeout) || !answer_hello(c, deadline)) {
        return false;
    }
    if (c->reject) {
        error_setg(&err, "Refused the incoming migration (%s%s%s%s): %s",
                   c->reject->error_class,
                   c->reject->option[0] ? ", option '" : "",
                   c->reject->option, c->reject->option[0] ? "'" : "",
                   c->reject->message);
        return conn_fail(c, c->reject->error_class, err);
    }
    if (wire_checksum_on(c->hello->config)) {
        mig_stream_checksum_reads(c->stream);
    }
    return true;
}

/* ---- Loading ---- */

static void accept_main(void *opaque)
{
    IncomingConn *c = opaque;

    /* The source's options (and this end's local ones) now rule. */
    c->inc->hooks->config_adopted(c->effective);
    c->devices = device_load_set_new(c->hello);
}

static bool protocol_error(IncomingConn *c, Error *err)
{
    return conn_fail(c, WIRE_ERR_PROTOCOL, err);
}

static void publish_stats(IncomingConn *c)
{
    uint64_t zero = qatomic_read(&c->session->ram_loader.zero_pages);
    uint64_t normal = qatomic_read(&c->session->ram_loader.normal_pages);
    uint64_t bytes = mig_stream_bytes_read(c->stream) +
                     (c->multifd ? multifd_recv_bytes(c->multifd) : 0) +
                     (c->preempt ? preempt_recv_bytes(c->preempt) : 0);
    gint64 elapsed = g_get_monotonic_time() - c->load_start;
    MigRamStats st = {
        .transferred = bytes,
        .total = ram_guest_size(),
        .page_size = GUEST_PAGE_SIZE,
        /* The source's figures: a SYNC ends its pass and its dirty
         * sync; after the last one (END) no pass follows. */
        .dirty_sync_count = c->last_sync,
        .iteration = c->last_sync + !(c->loaded && c->last_sync),
        /* The average since loading began (the source's is the current
         * bandwidth: the destination has no passes to measure by). */
        .mbps = elapsed > 0 ? bytes * 8.0 / elapsed : 0,
    };

    if (c->multifd) {
        multifd_recv_pages(c->multifd, &zero, &normal);
    }
    if (c->preempt) {
        uint64_t pz = 0, pn = 0;

        preempt_recv_pages(c->preempt, &pz, &pn);
        st.postcopy_preempt_pages = pz + pn;
        zero += pz;
        normal += pn;
    }
    st.duplicate = zero;
    st.normal = normal;
    st.normal_bytes = normal * GUEST_PAGE_SIZE;
    st.page_bytes = (zero + normal +
                     c->session->ram_loader.xbzrle_pages) * GUEST_PAGE_SIZE;
    if (c->postcopy) {
        uint64List *per_vcpu;
        PostcopyFaultLatency *latency;
        uint64_t total;

        st.postcopy_requests = postcopy_dest_requests(c->postcopy);
        if (postcopy_dest_blocktime(c->postcopy, &total, &per_vcpu,
                                    &latency)) {
            mig_info_set_blocktime(total, per_vcpu, latency);
        }
    }
    mig_info_set_ram(&st);
    if (c->multifd) {
        MigMultifdStats ms;

        multifd_recv_stats(c->multifd, &ms);
        mig_info_set_multifd(&ms);
    }
}

static bool handle_sync(IncomingConn *c, const WireRecord *rec)
{
    Error *err = NULL;
    uint64_t n;

    if (!wire_sync_decode(rec->body, rec->len, &n, &err)) {
        return protocol_error(c, err);
    }
    if (n <= c->last_sync) {
        error_setg(&err, "SYNC: iteration %" G_GUINT64_FORMAT " after "
                   "iteration %" G_GUINT64_FORMAT, n, c->last_sync);
        return protocol_error(c, err);
    }
    /* Nothing here needs time to get ready: ack after the first pass. */
    if (c->last_sync == 0 && c->effective->switchover_ack && c->answer) {
        g_autoptr(GByteArray) b = g_byte_array_new();

        wire_empty_encode(b, WIRE_REC_SWITCHOVER_ACK, &error_abort);
        if (!send_bytes(c, b, 0)) {
            return false;
        }
    }
    c->last_sync = n;
    publish_stats(c);
    return true;
}

/* ---- The records of the load, and where each is legal ---- */

/* Where the main channel's load is: its records are legal in some. */
typedef enum LoadStage {
    LOAD_RAM = 1 << 0,          /* pages and passes */
    LOAD_DEVICES = 1 << 1,      /* from the first DEVICE_STATE on */
    LOAD_POSTCOPY = 1 << 2,     /* from POSTCOPY_RUN on */
} LoadStage;

/* Handles one record; *@end set at END. */
typedef bool RecordHandler(IncomingConn *c, const WireRecord *rec,
                           bool *end);

static bool handle_ram_pages(IncomingConn *c, const WireRecord *rec,
                             bool *end)
{
    Error *err = NULL;

    if (c->effective->mapped_ram) {
        error_setg(&err, "RAM_PAGES in a mapped-ram stream");
        return protocol_error(c, err);
    }
    /* Multifd carries precopy's pages; postcopy's come on main. */
    if (c->multifd && !c->postcopy_listening) {
        error_setg(&err, "RAM_PAGES on the main channel of a multifd "
                   "migration before POSTCOPY_LISTEN");
        return protocol_error(c, err);
    }
    if (c->postcopy_listening) {
        /* Atomically: a vCPU may be waiting for any of them. */
        if (!postcopy_dest_load(c->postcopy, rec->body, rec->len, &err)) {
            return protocol_error(c, err);
        }
        return true;
    }
    if (!ram_loader_load(&c->session->ram_loader, rec->body, rec->len,
                         &err)) {
        return protocol_error(c, err);
    }
    return true;
}

static bool handle_ram_xbzrle(IncomingConn *c, const WireRecord *rec,
                              bool *end)
{
    Error *err = NULL;

    /* Only a source that read "xbzrle" in our ACCEPT sends it, and only
     * with xbzrle on, which keeps it to the main channel. */
    if (!c->effective->xbzrle) {
        error_setg(&err, "RAM_XBZRLE, but xbzrle is off");
        return protocol_error(c, err);
    }
    if (!ram_loader_load_xbzrle(&c->session->ram_loader, rec->body,
                                rec->len, &err)) {
        return protocol_error(c, err);
    }
    return true;
}

static bool handle_sync_record(IncomingConn *c, const WireRecord *rec,
                               bool *end)
{
    return handle_sync(c, rec);
}

static bool handle_device_state(IncomingConn *c, const WireRecord *rec,
                                bool *end)
{
    Error *err = NULL;

    if (!device_load_set_add(c->devices, rec->body, rec->len, &err)) {
        return protocol_error(c, err);
    }
    return true;
}

/* ---- Postcopy ---- */

/* The fault thread's way to the source (PAGE_REQUEST on the return
 * path; a write holds the stream's lock, so it never splits a PONG). */
static bool request_page(void *opaque, uint32_t block, uint64_t offset,
                         uint64_t length)
{
    IncomingConn *c = opaque;
    g_autoptr(GByteArray) b = g_byte_array_new();
    WirePageRequest req = {
        .block = block, .offset = offset, .length = length,
    };

    wire_page_request_encode(&req, b, &error_abort);
    /* A failed write fails the incoming thread's next read or write. */
    return mig_stream_write(c->stream, b->data, b->len,
                            mig_deadline_after_ms(
                                c->effective->liveness_timeout * 1000ull),
                            NULL) == MIG_STREAM_OK;
}

/* The postcopy records need postcopy-ram and a source that answers. */
static bool postcopy_allowed(IncomingConn *c, const WireRecord *rec)
{
    Error *err = NULL;

    if (!c->effective->postcopy_ram || !c->answer) {
        error_setg(&err, "%s, but %s", wire_record_type_name(rec->type),
                   c->effective->postcopy_ram ? "the source takes no answer"
                                              : "postcopy-ram is off");
        return protocol_error(c, err);
    }
    if (!c->postcopy) {
        /*
         * The source ended its multifd channels before its first
         * postcopy record: every page they carry must land before
         * any is dropped or userfaultfd watches guest RAM, as a page
         * written after would overwrite a newer copy or not be seen.
         */
        if (c->multifd && !multifd_recv_wait_end(c->multifd, &err)) {
            return conn_fail(c, WIRE_ERR_GENERIC, err);
        }
        c->postcopy = postcopy_dest_new(&c->session->ram_loader,
                                        c->effective->postcopy_blocktime);
    }
    return true;
}

/* POSTCOPY_LISTEN, POSTCOPY_RUN: allowed here, and empty. */
static bool postcopy_marker(IncomingConn *c, const WireRecord *rec)
{
    Error *err = NULL;

    if (!postcopy_allowed(c, rec)) {
        return false;
    }
    if (!wire_empty_decode(rec->type, rec->body, rec->len, &err)) {
        return protocol_error(c, err);
    }
    return true;
}

static bool handle_postcopy_discard(IncomingConn *c, const WireRecord *rec,
                                    bool *end)
{
    Error *err = NULL;

    if (!postcopy_allowed(c, rec)) {
        return false;
    }
    if (c->postcopy_listening) {
        error_setg(&err, "POSTCOPY_DISCARD after POSTCOPY_LISTEN");
        return protocol_error(c, err);
    }
    if (!postcopy_dest_discard(c->postcopy, rec->body, rec->len, &err)) {
        return protocol_error(c, err);
    }
    return true;
}

static bool handle_postcopy_listen(IncomingConn *c, const WireRecord *rec,
                                   bool *end)
{
    Error *err = NULL;

    if (!postcopy_marker(c, rec)) {
        return false;
    }
    if (c->postcopy_listening) {
        error_setg(&err, "a second POSTCOPY_LISTEN");
        return protocol_error(c, err);
    }
    /* Before the fault thread can ask for a page it would carry. */
    if (c->preempt) {
        preempt_recv_listen_begin(c->preempt);
    }
    if (!postcopy_dest_listen(c->postcopy, request_page, c, &err)) {
        return conn_fail(c, WIRE_ERR_GENERIC, err);
    }
    if (c->preempt) {
        preempt_recv_listen(c->preempt, c->postcopy);
    }
    c->postcopy_listening = true;
    return true;
}

static void load_devices_main(void *opaque);

/* Main thread: the devices loaded, the guest started (unless -S). */
static void postcopy_run_main(void *opaque)
{
    IncomingConn *c = opaque;

    load_devices_main(c);
    if (c->error) {
        return;
    }
    c->postcopy_running = true;
    if (runstate_get_autostart()) {
        vm_start();
    } else {
        runstate_set(RUN_STATE_PAUSED);
    }
}

static bool handle_postcopy_run(IncomingConn *c, const WireRecord *rec,
                                bool *end)
{
    Error *err = NULL;

    if (!postcopy_marker(c, rec)) {
        return false;
    }
    if (!c->postcopy_listening || c->postcopy_running) {
        error_setg(&err, "POSTCOPY_RUN %s", c->postcopy_running
                   ? "twice" : "before POSTCOPY_LISTEN");
        return protocol_error(c, err);
    }
    if (!device_load_set_complete(c->devices, &err)) {
        return protocol_error(c, err);
    }
    mig_call_in_main(postcopy_run_main, c);
    if (c->error) {
        return false;
    }
    /*
     * Only now, not at LISTEN: this thread no longer needs the main
     * thread until END, so a client reading guest memory from it (a
     * digest) once it sees postcopy-active waits for pages this thread
     * places, rather than each waiting for the other.
     */
    if (!mig_status_change(MIGRATION_STATUS_ACTIVE,
                           MIGRATION_STATUS_POSTCOPY_ACTIVE)) {
        error_setg(&err, "The incoming migration was stopped");
        return conn_fail(c, WIRE_ERR_GENERIC, err);
    }
    mig_test_trace("postcopy running: %" G_GUINT64_FORMAT " pages missing",
                   postcopy_dest_pending(c->postcopy));
    return true;
}

static bool handle_end(IncomingConn *c, const WireRecord *rec, bool *end)
{
    Error *err = NULL;

    if (c->postcopy_listening) {
        uint64_t missing;

        if (!wire_empty_decode(rec->type, rec->body, rec->len, &err)) {
            return protocol_error(c, err);
        }
        if (!c->postcopy_running) {
            error_setg(&err, "END after POSTCOPY_LISTEN without "
                       "POSTCOPY_RUN");
            return protocol_error(c, err);
        }
        /* The source ends it first: its last pages are in by its END. */
        if (c->preempt && !preempt_recv_wait_end(c->preempt, &err)) {
            return conn_fail(c, WIRE_ERR_GENERIC, err);
        }
        missing = postcopy_dest_pending(c->postcopy);
        if (missing) {
            error_setg(&err, "END with %" G_GUINT64_FORMAT " pages still "
                       "missing", missing);
            return protocol_error(c, err);
        }
        *end = true;
        return true;
    }
    mig_trace_stop_phase("end-read");
    if (!wire_empty_decode(rec->type, rec->body, rec->len, &err) ||
        !device_load_set_complete(c->devices, &err)) {
        return protocol_error(c, err);
    }
    /* The stream is complete once every channel is. */
    if ((c->multifd && !multifd_recv_wait_end(c->multifd, &err)) ||
        (c->preempt && !preempt_recv_wait_end(c->preempt, &err))) {
        return conn_fail(c, WIRE_ERR_GENERIC, err);
    }
    mig_trace_stop_phase("channels-ended");
    *end = true;
    return true;
}

static bool handle_one_way(IncomingConn *c, const WireRecord *rec,
                           bool *end)
{
    Error *err = NULL;

    if (!(c->hello->flags & WIRE_HELLO_REPLY_OPTIONAL)) {
        error_setg(&err, "ONE_WAY after a HELLO without REPLY_OPTIONAL");
        return protocol_error(c, err);
    }
    if (!wire_empty_decode(rec->type, rec->body, rec->len, &err)) {
        return protocol_error(c, err);
    }
    /* The source waits for nothing more: SHUTDOWN included. */
    c->answer = false;
    return true;
}

/* The source's heartbeat: answered at once, unless it wants nothing. */
static bool handle_ping(IncomingConn *c, const WireRecord *rec, bool *end)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    Error *err = NULL;
    uint64_t seq;

    if (!wire_heartbeat_decode(rec->type, rec->body, rec->len, &seq, &err)) {
        return protocol_error(c, err);
    }
    if (!c->answer) {
        return true;
    }
    wire_heartbeat_encode(b, WIRE_REC_PONG, seq, &error_abort);
    return send_bytes(c, b, mig_deadline_after_ms(
                                c->effective->liveness_timeout * 1000ull));
}

static bool handle_error(IncomingConn *c, const WireRecord *rec, bool *end)
{
    g_autoptr(WireReject) e = NULL;
    Error *err = NULL;

    if (!wire_reject_decode(rec->type, rec->body, rec->len, &e, &err)) {
        return protocol_error(c, err);
    }
    c->peer_failed = true;
    error_setg(&err, "The source aborted the migration (%s): %s",
               e->error_class, e->message);
    return conn_fail(c, WIRE_ERR_GENERIC, err);
}

/* The records the main channel may carry after the handshake. */
static const struct {
    uint32_t type;
    RecordHandler *handle;
    unsigned legal;             /* LoadStage bits */
} main_records[] = {
    { WIRE_REC_RAM_PAGES, handle_ram_pages, LOAD_RAM | LOAD_POSTCOPY },
    { WIRE_REC_RAM_XBZRLE, handle_ram_xbzrle, LOAD_RAM },
    { WIRE_REC_SYNC, handle_sync_record, LOAD_RAM },
    { WIRE_REC_POSTCOPY_DISCARD, handle_postcopy_discard, LOAD_RAM },
    { WIRE_REC_POSTCOPY_LISTEN, handle_postcopy_listen, LOAD_RAM },
    { WIRE_REC_DEVICE_STATE, handle_device_state, LOAD_RAM | LOAD_DEVICES },
    { WIRE_REC_POSTCOPY_RUN, handle_postcopy_run, LOAD_DEVICES },
    { WIRE_REC_END, handle_end, LOAD_RAM | LOAD_DEVICES | LOAD_POSTCOPY },
    { WIRE_REC_ONE_WAY, handle_one_way, LOAD_RAM | LOAD_DEVICES },
    { WIRE_REC_ERROR, handle_error,
      LOAD_RAM | LOAD_DEVICES | LOAD_POSTCOPY },
    { WIRE_REC_PING, handle_ping, LOAD_RAM | LOAD_DEVICES | LOAD_POSTCOPY },
};

static LoadStage load_stage(IncomingConn *c)
{
    if (c->postcopy_running) {
        return LOAD_POSTCOPY;
    }
    return device_load_set_started(c->devices) ? LOAD_DEVICES : LOAD_RAM;
}

/* One record; *@end set at END. */
static bool handle_record(IncomingConn *c, const WireRecord *rec, bool *end)
{
    Error *err = NULL;

    for (size_t i = 0; i < G_N_ELEMENTS(main_records); i++) {
        if (main_records[i].type != rec->type) {
            continue;
        }
        if (!(main_records[i].legal & load_stage(c))) {
            error_setg(&err, "%s %s", wire_record_type_name(rec->type),
                       c->postcopy_running ? "after POSTCOPY_RUN"
                       : load_stage(c) == LOAD_DEVICES ? "after DEVICE_STATE"
                                                       : "before "
                                                         "DEVICE_STATE");
            return protocol_error(c, err);
        }
        return main_records[i].handle(c, rec, end);
    }
    if (wire_record_skip_unknown(rec->type, &err)) {
        return true;
    }
    return conn_fail(c, wire_record_type_known(rec->type)
                        ? WIRE_ERR_PROTOCOL
                        : WIRE_ERR_UNSUPPORTED_FEATURE, err);
}

/*
 * mapped-ram with checksums: MAPPED_RAM_CHECKSUMS after the regions
 * against @crcs, what was loaded into the blocks sent.
 */
static bool check_mapped_ram(IncomingConn *c, GPtrArray *blocks,
                             const uint32_t *crcs)
{
    uint64_t at = mig_stream_read_offset(c->stream);
    g_autofree uint32_t *want = g_new0(uint32_t, blocks->len);
    Error *err = NULL;
    WireRecord rec;
    MigStreamResult r = mig_stream_read_record(c->stream, &rec, 0, &err);

    if (r == MIG_STREAM_EOF) {
        error_setg(&err, "Migration stream '%s' ended before "
                   "MAPPED_RAM_CHECKSUMS", mig_stream_name(c->stream));
    }
    if (r != MIG_STREAM_OK) {
        return conn_fail(c, WIRE_ERR_PROTOCOL, err);
    }
    if (!wire_record_expect(&rec, WIRE_REC_MAPPED_RAM_CHECKSUMS, &err) ||
        !wire_mapped_ram_checksums_decode(rec.body, rec.len, blocks->len,
                                          want, &err)) {
        return protocol_error(c, err);
    }
    for (guint i = 0; i < blocks->len; i++) {
        RAMBlock *b = g_ptr_array_index(blocks, i);

        if (b && want[i] != crcs[i]) {
            error_setg(&err, "MAPPED_RAM_CHECKSUMS at offset %"
                       G_GUINT64_FORMAT ": RAM block '%s' (its bitmap and "
                       "pages): checksum mismatch (expected 0x%08x, got "
                       "0x%08x)", at, b->idstr, want[i], crcs[i]);
            return protocol_error(c, err);
        }
    }
    return true;
}

/* mapped-ram: one MAPPED_RAM_BLOCK and its regions per block, first. */
static bool load_mapped_ram(IncomingConn *c)
{
    g_autoptr(GPtrArray) blocks = handshake_blocks_sent(c->hello);
    int fd = qio_channel_get_fd(mig_stream_channel(c->stream));
    uint64_t base = c->inc->addr->u.file.offset;
    unsigned threads = c->effective->multifd ?
                       c->effective->multifd_channels : 1;
    bool checksum = wire_checksum_on(c->hello->config);
    g_autofree uint32_t *crcs = g_new0(uint32_t, blocks->len);
    struct stat st;
    Error *err = NULL;

    if (fstat(fd, &st) < 0) {
        error_setg_errno(&err, errno, "Cannot stat '%s'",
                         mig_stream_name(c->stream));
        return conn_fail(c, WIRE_ERR_GENERIC, err);
    }
    for (guint i = 0; i < blocks->len; i++) {
        uint64_t at = mig_stream_read_offset(c->stream);
        WireMappedRamBlock mb;
        WireRecord rec;
        MigStreamResult r = mig_stream_read_record(c->stream, &rec, 0, &err);

        if (r == MIG_STREAM_EOF) {
            error_setg(&err, "Migration stream '%s' ended before the "
                       "mapped-ram regions of RAM block %u",
                       mig_stream_name(c->stream), i);
        }
        if (r != MIG_STREAM_OK) {
            return conn_fail(c, WIRE_ERR_PROTOCOL, err);
        }
        if (!wire_record_expect(&rec, WIRE_REC_MAPPED_RAM_BLOCK, &err) ||
            !wire_mapped_ram_block_decode(rec.body, rec.len, &mb, &err)) {
            return protocol_error(c, err);
        }
        if (mb.block != i || mb.bitmap_offset < at + rec.size ||
            base + mb.next_offset > (uint64_t)st.st_size) {
            error_setg(&err, "MAPPED_RAM_BLOCK at offset %" G_GUINT64_FORMAT
                       ": block %u where block %u was due, or regions "
                       "outside the file (%" G_GUINT64_FORMAT " bytes): %s",
                       at, mb.block, i, (uint64_t)st.st_size,
                       base + mb.next_offset > (uint64_t)st.st_size
                       ? "the file is truncated" : "misplaced");
            return protocol_error(c, err);
        }
        /* A block not sent is left alone: loading would zero it. */
        if ((g_ptr_array_index(blocks, i) &&
             !mapped_ram_load_block(fd, base, st.st_size, &mb,
                                    g_ptr_array_index(blocks, i), threads,
                                    &c->session->ram_loader.normal_pages,
                                    &c->session->ram_loader.zero_pages,
                                    checksum ? &crcs[i] : NULL, &err)) ||
            !mig_stream_seek_read(c->stream, mb.next_offset, base, &err)) {
            return protocol_error(c, err);
        }
        publish_stats(c);
    }
    return !checksum || check_mapped_ram(c, blocks, crcs);
}

/* A read that failed at its liveness @deadline: the source's fault. */
static Error *silent_source(IncomingConn *c, gint64 deadline, Error *err)
{
    if (!deadline || g_get_monotonic_time() < deadline) {
        return err;
    }
    error_free(err);
    err = NULL;
    error_setg(&err, "Migration from '%s' failed: no data from the source "
               "for %u s", mig_stream_name(c->stream),
               c->effective->liveness_timeout);
    return err;
}

static bool load(IncomingConn *c)
{
    g_autoptr(GPtrArray) blocks = handshake_blocks_sent(c->hello);
    bool end = false;
    guint n = 0;

    /* A resumed postcopy loads into the paused session's loader. */
    if (!c->session->ram_loader_ready) {
        ram_loader_init(&c->session->ram_loader, blocks);
        c->session->ram_loader_ready = true;
    }
    if (c->effective->mapped_ram && !load_mapped_ram(c)) {
        return false;
    }
    while (!end) {
        Error *err = NULL;
        WireRecord rec;
        MigStreamResult r;
        /* Every record whole within liveness-timeout of the last one:
         * the source's heartbeat keeps an idle stream within it, and a
         * source sending a byte at a time does not. */
        gint64 deadline = c->file ? 0 : mig_deadline_after_ms(
            c->effective->liveness_timeout * 1000ull);

        r = mig_stream_read_record_header(c->stream, &rec, deadline, &err);
        if (r == MIG_STREAM_OK && rec.type == WIRE_REC_RAM_PAGES &&
            !device_load_set_started(c->devices) && !c->multifd &&
            !c->postcopy_listening) {
            /* The pages straight into guest RAM. */
            switch (ram_loader_load_from(&c->session->ram_loader, c->stream,
                                         &rec, deadline, &err)) {
            case RAM_LOAD_OK:
                break;
            case RAM_LOAD_INVALID:
                return protocol_error(c, err);
            case RAM_LOAD_IO_ERROR:
                return conn_fail(c, WIRE_ERR_GENERIC,
                                 silent_source(c, deadline, err));
            }
            if (++n % 64 == 0) {
                publish_stats(c);
            }
            continue;
        }
        if (r == MIG_STREAM_OK) {
            r = mig_stream_read_record(c->stream, &rec, deadline, &err);
        }
        switch (r) {
        case MIG_STREAM_OK:
            break;
        case MIG_STREAM_EOF:
            error_setg(&err, "Migration stream '%s' ended before END",
                       mig_stream_name(c->stream));
            return conn_fail(c, WIRE_ERR_PROTOCOL, err);
        default:
            return conn_fail(c, WIRE_ERR_GENERIC,
                             silent_source(c, deadline, err));
        }
        if (!handle_record(c, &rec, &end)) {
            return false;
        }
        /* Often enough for query-migrate, rarely enough to be free. */
        if (++n % 64 == 0) {
            publish_stats(c);
        }
    }
    c->loaded = true;
    publish_stats(c);
    return true;
}

/*
 * A resumed postcopy, after ACCEPT: which pages are here
 * (RECEIVED_BITMAP for every block) and RESUME_REQUEST; then the page
 * requests go to this connection, those of the vCPUs waiting first.
 */
static bool resume_answer(IncomingConn *c)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    uint32_t n = postcopy_dest_received_bitmaps(c->postcopy, b);

    wire_resume_request_encode(b, n, &error_abort);
    if (!send_bytes(c, b, mig_deadline_after_ms(
                        c->effective->liveness_timeout * 1000ull))) {
        return false;
    }
    /* A new channel numbers its RAM_PAGES from 0 (6.5). */
    c->session->ram_loader.next_packet = 0;
    postcopy_dest_resume(c->postcopy, request_page, c);
    mig_test_trace("postcopy resumed: %u bitmaps, %" G_GUINT64_FORMAT
                   " pages missing", n, postcopy_dest_pending(c->postcopy));
    /* The source opens it after RESUME_REQUEST: without it the
     * recovery fails (and pauses again). */
    if (c->preempt) {
        Error *err = NULL;

        if (!preempt_recv_wait_bound(c->preempt, mig_deadline_after_ms(
                                         mig_handshake_timeout_ms()),
                                     &err)) {
            return conn_fail(c, WIRE_ERR_GENERIC, err);
        }
    }
    if (!mig_status_change(MIGRATION_STATUS_POSTCOPY_RECOVER,
                           MIGRATION_STATUS_POSTCOPY_ACTIVE)) {
        Error *err = NULL;

        error_setg(&err, "The recovery was stopped");
        return conn_fail(c, WIRE_ERR_GENERIC, err);
    }
    return true;
}

static void load_devices_main(void *opaque)
{
    IncomingConn *c = opaque;
    Error *err = NULL;

    if (!device_load_set_apply(c->devices, &err)) {
        error_prepend(&err, "Loading the device state failed: ");
        conn_fail(c, WIRE_ERR_GENERIC, err);
    }
}

static InResult run(IncomingConn *c)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    Error *err = NULL;
    bool dry_run;

    if (!handshake(c)) {
        /* A refused dry run got the answer it asked for. */
        dry_run = c->reject && c->hello &&
                  (c->hello->flags & WIRE_HELLO_DRY_RUN);
        return dry_run ? IN_DRY_RUN : IN_FAILED;
    }
    if (c->hello->flags & WIRE_HELLO_DRY_RUN) {
        return IN_DRY_RUN;
    }
    c->phase = IN_ACCEPTED;
    if (!mig_stream_set_liveness(c->stream, c->effective->liveness_timeout,
                                 &err)) {
        conn_fail(c, WIRE_ERR_GENERIC, err);
        return IN_FAILED;
    }
    mig_call_in_main(accept_main, c);
    if (c->resumed) {
        if (!resume_answer(c)) {
            return IN_FAILED;
        }
        goto loading;
    }
    c->phase = IN_CHANNELS;
    if (c->multifd) {
        Error *err = NULL;

        if (!multifd_recv_wait_bound(c->multifd, mig_deadline_after_ms(
                                         mig_handshake_timeout_ms()),
                                     &err)) {
            conn_fail(c, WIRE_ERR_GENERIC, err);
            return IN_FAILED;
        }
    }
    if (c->preempt &&
        !preempt_recv_wait_bound(c->preempt, mig_deadline_after_ms(
                                     mig_handshake_timeout_ms()), &err)) {
        conn_fail(c, WIRE_ERR_GENERIC, err);
        return IN_FAILED;
    }
    if (!mig_status_change(MIGRATION_STATUS_SETUP, MIGRATION_STATUS_ACTIVE)) {
        Error *err = NULL;

        error_setg(&err, "The incoming migration was stopped");
        conn_fail(c, WIRE_ERR_GENERIC, err);
        return IN_FAILED;
    }
loading:
    c->phase = IN_LOADING;
    c->load_start = g_get_monotonic_time();
    if (!load(c)) {
        return IN_FAILED;
    }
    c->phase = IN_DEVICES;
    /* Postcopy loaded them at POSTCOPY_RUN. */
    if (!c->postcopy_running) {
        mig_call_in_main(load_devices_main, c);
    }
    mig_trace_stop_phase("devices-loaded");
    if (c->error) {
        return IN_FAILED;
    }
    if (c->answer) {
        wire_shutdown_encode(b, 0, &error_abort);
        /* Without it the source resumes the VM: then so must not we. */
        if (!send_bytes(c, b, 0)) {
            return IN_FAILED;
        }
        mig_trace_stop_phase("confirmation-sent");
    }
    c->phase = IN_DONE;
    return IN_COMPLETED;
}

/* ---- After a connection ---- */

/* A postcopy paused (@c's connection lost), or a recovery refused or
 * broken before it took the paused session (@c->result IN_FAILED). */
static void pause_main(IncomingConn *c)
{
    MigIncoming *i = c->inc;
    g_autofree char *why = NULL;

    if (c->result == IN_PAUSED) {
        InPaused *p = g_new0(InPaused, 1);

        /* No channel binds to it until a resume's ACCEPT. */
        if (c->preempt) {
            mig_router_remove_session(i->router, c->session->id);
        }
        p->session = g_steal_pointer(&c->session);
        p->postcopy = g_steal_pointer(&c->postcopy);
        p->hello = g_steal_pointer(&c->hello);
        i->paused = p;
        why = g_strdup_printf(
            "Postcopy paused: %s.  The guest cannot continue until the "
            "source comes back: it runs here with pages only the source "
            "has, and its vCPUs wait for them; recover with "
            "migrate-recover here, then migrate with resume on the source",
            c->error ? error_get_pretty(c->error) : "?");
    } else {
        why = g_strdup_printf("Recovering the postcopy failed: %s; it is "
                              "still paused",
                              c->error ? error_get_pretty(c->error) : "?");
    }
    error_report("%s", why);
    mig_info_set_error(NULL);
    mig_info_set_error(why);
    mig_status_postcopy_paused();
    mig_test_trace("postcopy paused");
}

static void finish_main(void *opaque)
{
    IncomingConn *c = opaque;
    MigIncoming *i = c->inc;

    serving = NULL;
    i->busy = false;
    if (c->result == IN_PAUSED ||
        (c->result == IN_FAILED && i->paused &&
         !qatomic_mb_read(&shutting_down))) {
        pause_main(c);
        return;
    }
    mig_info_end();
    switch (c->result) {
    case IN_COMPLETED:
        /* The VM is this host's now: start it unless -S or stop (after
         * postcopy it runs already, or was told not to). */
        if (c->postcopy_running) {
            /* Nothing: RUN did what -S allowed. */
        } else if (runstate_get_autostart()) {
            vm_start();
        } else {
            runstate_set(RUN_STATE_PAUSED);
        }
        i->hooks->completed();
        mig_status_finish(MIGRATION_STATUS_COMPLETED);
        incoming_free(i);
        inc = NULL;
        return;
    case IN_DRY_RUN:
        mig_info_set_dry_run(true);
        if (c->reject) {
            mig_info_set_error(error_get_pretty(c->error));
            mig_status_finish(MIGRATION_STATUS_FAILED);
        } else {
            mig_status_finish(MIGRATION_STATUS_COMPLETED);
        }
        break;
    case IN_PAUSED:
        g_assert_not_reached();
    case IN_FAILED:
        if (c->postcopy_running) {
            g_autofree char *why = g_strdup_printf(
                "Postcopy failed: %s.  The guest cannot continue on either "
                "end: it ran here with pages only the source has (which "
                "stays stopped); this machine is stopped in internal-error",
                c->error ? error_get_pretty(c->error) : "?");

            /* Its missing pages read as zeroes since the fault thread
             * ended: it must never run again. */
            vm_stop_force_state(RUN_STATE_INTERNAL_ERROR);
            error_free(c->error);
            c->error = NULL;
            error_setg(&c->error, "%s", why);
        }
        mig_info_set_error(c->error ? error_get_pretty(c->error)
                                    : "The incoming migration failed");
        mig_status_finish(MIGRATION_STATUS_FAILED);
        if (qatomic_mb_read(&shutting_down)) {
            break;
        }
        if (i->exit_on_error) {
            error_report("incoming migration failed: %s",
                         c->error ? error_get_pretty(c->error) : "?");
            shutdown_request(SHUTDOWN_CAUSE_HOST_ERROR);
            return;
        }
        break;
    }
    /* Wait for the next source: a listener goes on listening; the
     * others can be started again with migrate-incoming. */
    if (!mig_router_listens(i->router)) {
        incoming_free(i);
        inc = NULL;
    }
}

static gboolean reap(gpointer opaque)
{
    IncomingConn *c = opaque;

    g_thread_join(c->thread);
    threads_alive--;
    conn_free(c);
    return G_SOURCE_REMOVE;
}

/* The session ends with its connection (no recovery in precopy): no
 * more channels are bound to it, and its channels end (main thread). */
static void session_end_main(void *opaque)
{
    IncomingConn *c = opaque;

    assert_main_thread();
    if (c->multifd || c->preempt) {
        mig_router_remove_session(c->inc->router, c->session->id);
    }
    c->multifd = NULL;
    c->preempt = NULL;
    c->inc->session = NULL;
    mig_session_free(g_steal_pointer(&c->session));
}

static gpointer incoming_thread_fn(gpointer opaque)
{
    IncomingConn *c = opaque;

    c->result = run(c);
    /* After RUN only the source has the pages the guest lacks: wait for
     * it to come back rather than fail (unless vmig quits). */
    if (c->result == IN_FAILED && c->postcopy_running &&
        !qatomic_mb_read(&shutting_down)) {
        c->result = IN_PAUSED;
        /* A request being written ends; then none is sent. */
        mig_stream_wake(c->stream);
        postcopy_dest_pause(c->postcopy);
        publish_stats(c);
    }
    if (c->result == IN_FAILED) {
        send_error(c);
    }
    if (c->preempt && c->result == IN_PAUSED) {
        /* Its channel goes with the connection; a resume binds one
         * anew. */
        preempt_recv_detach(c->preempt);
    } else if (c->preempt) {
        /* It places pages through c->postcopy: done before that goes. */
        preempt_recv_stop(c->preempt);
    }
    if (c->postcopy && c->result != IN_PAUSED) {
        /* Publish the last figures, then let waiting vCPUs go: after a
         * failure they run on zeroes until finish_main() stops them. */
        publish_stats(c);
        g_clear_pointer(&c->postcopy, postcopy_dest_free);
    }
    if (c->session && c->result != IN_PAUSED) {
        mig_call_in_main(session_end_main, c);
    }
    mig_stream_close(c->stream, NULL);
    mig_call_in_main(finish_main, c);
    g_idle_add(reap, c);
    return NULL;
}

/* finish_main() and reap() of a connection that got no thread. */
static gboolean unserved(gpointer opaque)
{
    IncomingConn *c = opaque;

    finish_main(c);
    threads_alive--;
    conn_free(c);
    return G_SOURCE_REMOVE;
}

/* The router's main handler: starts serving @s (main thread; takes
 * it), unless a connection is being served already. */
static bool serve(void *opaque, MigStream *s, const WireRecord *first)
{
    MigIncoming *i = opaque;
    const MigrationConfig *cfg = i->local_cfg;
    GError *gerr = NULL;
    IncomingConn *c;

    assert_main_thread();
    if (i->busy || qatomic_mb_read(&shutting_down)) {
        return false;
    }
    /* Paused: only a resume, after migrate-recover. */
    if (i->paused && (!i->recovering ||
                      !mig_status_change(MIGRATION_STATUS_POSTCOPY_PAUSED,
                                         MIGRATION_STATUS_POSTCOPY_RECOVER))) {
        return false;
    }
    c = g_new0(IncomingConn, 1);
    c->inc = i;
    c->file = i->addr->transport == MIGRATION_ADDRESS_TYPE_FILE;
    c->stream = s;
    if (first) {
        /* Its body stays in the stream's buffer until the next read. */
        c->first_rec = *first;
        c->first = &c->first_rec;
    }
    i->busy = true;
    serving = c;
    if (!i->paused) {
        mig_params_update(cfg);
        mig_info_start(MIG_DIR_INCOMING, cfg->events, false);
    }
    mig_info_set_tls(mig_tls_channel_info(mig_stream_channel(s)));
    c->thread = g_thread_try_new(VMIG_THREAD_NAME("mig/incoming"),
                                 incoming_thread_fn, c, &gerr);
    threads_alive++;
    if (!c->thread) {
        /* No thread, no abort: this migration fails, saying why, once
         * mig_router_new() (which may be calling) has returned. */
        error_setg(&c->error, "Cannot serve the incoming migration: %s",
                   gerr->message);
        g_error_free(gerr);
        c->result = IN_FAILED;
        mig_stream_close(c->stream, NULL);
        g_idle_add(unserved, c);
    }
    return true;
}

bool migration_incoming_start(const MigrationAddress *addr,
                              bool exit_on_error, const MigrationConfig *cfg,
                              const MigIncomingHooks *hooks, Error **errp)
{
    MigIncoming *i;
    MigTls *tls;

    assert_main_thread();
    if (inc) {
        error_setg(errp, "The incoming migration has already been started");
        return false;
    }
    if (qatomic_mb_read(&shutting_down)) {
        error_setg(errp, "vmig is shutting down");
        return false;
    }
    /* Held from now until the router is freed. */
    if (!mig_tls_new(cfg, addr, false, &tls, errp)) {
        return false;
    }
    i = g_new0(MigIncoming, 1);
    i->addr = QAPI_CLONE(MigrationAddress, addr);
    i->uri = migration_address_to_string(addr);
    i->exit_on_error = exit_on_error;
    i->local_cfg = migration_config_clone(cfg);
    i->hooks = hooks;
    /* Set first: without a listener the one channel is served (and
     * query-migrate shows it) before mig_router_new() returns. */
    inc = i;
    i->router = mig_router_new(addr, cfg->accept_timeout, tls, serve, i,
                               errp);
    if (!i->router) {
        inc = NULL;
        incoming_free(i);
        return false;
    }
    if (mig_router_listens(i->router)) {
        mig_info_set_listen_address(mig_router_listen_address(i->router));
    }
    return true;
}

void mig_incoming_config_changed(const MigrationConfig *cfg)
{
    /* Only a destination still waiting for its source uses it. */
    if (inc) {
        qapi_free_MigrationConfig(inc->local_cfg);
        inc->local_cfg = migration_config_clone(cfg);
        if (inc->router) {
            mig_router_set_accept_timeout(inc->router, cfg->accept_timeout);
        }
    }
}

bool migration_incoming_started(void)
{
    return inc != NULL;
}

bool migration_incoming_recover(const MigrationAddress *addr, Error **errp)
{
    MigRouter *router, *old;
    MigTls *tls;
    bool was;

    assert_main_thread();
    if (!inc || !inc->paused) {
        error_setg(errp, "There is no paused postcopy to recover here (the "
                   "migration's status is '%s')",
                   MigrationStatus_str(mig_status()));
        return false;
    }
    if (inc->busy) {
        error_setg(errp, "A recovery is being served already");
        return false;
    }
    if (addr->transport == MIGRATION_ADDRESS_TYPE_FILE) {
        error_setg(errp, "A postcopy recovers over a connection that "
                   "answers, which a file: is not");
        return false;
    }
    /* Held from now until the router is freed. */
    if (!mig_tls_new(inc->local_cfg, addr, false, &tls, errp)) {
        return false;
    }
    /* Before the router: without a listener it serves at once. */
    was = inc->recovering;
    inc->recovering = true;
    router = mig_router_new(addr, inc->local_cfg->accept_timeout, tls, serve,
                            inc, errp);
    if (!router) {
        inc->recovering = was;
        return false;
    }
    old = inc->router;
    inc->router = router;
    qapi_free_MigrationAddress(inc->addr);
    inc->addr = QAPI_CLONE(MigrationAddress, addr);
    g_free(inc->uri);
    inc->uri = migration_address_to_string(addr);
    mig_router_free(old);
    mig_info_set_listen_address(mig_router_listens(router)
                                ? mig_router_listen_address(router) : NULL);
    return true;
}

bool mig_incoming_pause(Error **errp)
{
    MigrationStatus st = mig_status();

    assert_main_thread();
    if (!inc) {
        return false;
    }
    /* A connection running the postcopy, or a recovery's. */
    if (!serving || !(serving->postcopy_running || inc->paused) ||
        (st != MIGRATION_STATUS_POSTCOPY_ACTIVE &&
         st != MIGRATION_STATUS_POSTCOPY_RECOVER)) {
        error_setg(errp, "Only a postcopy can be paused (postcopy-active "
                   "or postcopy-recover); the migration's status is '%s'",
                   MigrationStatus_str(st));
        return true;
    }
    qatomic_mb_set(&serving->pause_asked, 1);
    mig_stream_wake(serving->stream);
    /* A recovery waiting for its preempt channel waits on that. */
    if (serving->preempt) {
        Error *err = NULL;

        error_setg(&err, "migrate-pause on the destination");
        preempt_recv_fail(serving->preempt, err);
    }
    return true;
}

void mig_incoming_shutdown_begin(void)
{
    qatomic_mb_set(&shutting_down, 1);
    if (serving) {
        mig_stream_wake(serving->stream);
    }
    if (inc && inc->router) {
        mig_router_close(inc->router);
    }
    if (inc && inc->paused) {
        InPaused *p = g_steal_pointer(&inc->paused);

        /* The vCPUs waiting for pages must stop for vmig to end: they
         * read zeroes once the userfaultfd is closed, and the guest is
         * stopped for good. */
        postcopy_dest_free(p->postcopy);
        vm_stop_force_state(RUN_STATE_INTERNAL_ERROR);
        inc->session = NULL;
        mig_session_free(p->session);
        wire_hello_free(p->hello);
        g_free(p);
    }
}

bool mig_incoming_idle(void)
{
    return threads_alive == 0;
}
