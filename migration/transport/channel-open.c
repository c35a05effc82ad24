/*
 * Opening the channels of a migration: see channel-open.h.
 */
#include "migration/transport/channel-open.h"

#include <string.h>

#include "io/channel-command.h"
#include "io/channel-file.h"
#include "io/channel-socket.h"
#include "migration/transport/address.h"
#include "migration/transport/stream.h"
#include "qapi/clone.h"
#include "qapi/qapi-visit.h"
#include "util/thread-name.h"

/* The argument list as argv (the strings are borrowed from @args). */
static const char **exec_argv(const strList *args)
{
    GPtrArray *argv = g_ptr_array_new();

    for (; args; args = args->next) {
        g_ptr_array_add(argv, args->value);
    }
    g_ptr_array_add(argv, NULL);
    return (const char **)g_ptr_array_free(argv, FALSE);
}

static QIOChannel *open_exec(const MigrationAddress *addr, Error **errp)
{
    g_autofree const char **argv = exec_argv(addr->u.exec.args);
    g_autofree char *name = migration_address_to_string(addr);

    return qio_channel_command_new(argv, name, errp);
}

/*
 * The channel of @addr on either end: sockets connect (fd: is connected
 * already, so connecting just takes it), exec: runs its command, and a
 * file is written by the source and read by the destination.
 */
static QIOChannel *open_address(const MigrationAddress *addr, bool source,
                                Error **errp)
{
    if (!migration_address_check(addr, errp)) {
        return NULL;
    }
    switch (addr->transport) {
    case MIGRATION_ADDRESS_TYPE_SOCKET:
        /* Bounded like the rest of the handshake; the multifd channels
         * connect after ACCEPT through here too. */
        return qio_channel_socket_connect_within(&addr->u.socket,
                                                 mig_handshake_timeout_ms(),
                                                 errp);
    case MIGRATION_ADDRESS_TYPE_EXEC:
        return open_exec(addr, errp);
    case MIGRATION_ADDRESS_TYPE_FILE:
        return source ? qio_channel_file_open_write(addr->u.file.filename,
                                                    addr->u.file.offset,
                                                    errp)
                      : qio_channel_file_open_read(addr->u.file.filename,
                                                   addr->u.file.offset,
                                                   errp);
    default:
        /* rdma: migration_address_check() refused it. */
        g_assert_not_reached();
    }
}

QIOChannel *mig_channel_connect(const MigrationAddress *addr,
                                Error **errp)
{
    return open_address(addr, true, errp);
}

bool mig_channel_listens(const MigrationAddress *addr)
{
    return addr->transport == MIGRATION_ADDRESS_TYPE_SOCKET &&
           addr->u.socket.type != SOCKET_ADDRESS_TYPE_FD;
}

QIOChannel *mig_channel_open_incoming(const MigrationAddress *addr,
                                      Error **errp)
{
    if (mig_channel_listens(addr)) {
        g_autofree char *uri = migration_address_to_string(addr);

        error_setg(errp, "'%s' is listened on, not opened", uri);
        return NULL;
    }
    return open_address(addr, false, errp);
}

typedef struct OpenJob {
    MigrationAddress *addr;
    QIOChannel *ioc;
    Error *err;
    MigChannelConnectFunc *func;
    gpointer opaque;
    GDestroyNotify notify;
    GMainContext *ctx;          /* where the result is delivered */
} OpenJob;

static void open_job_free(OpenJob *job)
{
    qapi_free_MigrationAddress(job->addr);
    qio_channel_unref(job->ioc);
    error_free(job->err);
    g_main_context_unref(job->ctx);
    g_free(job);
}

/* Hands the result over, back in the caller's main context. */
static void open_deliver(OpenJob *job)
{
    job->func(g_steal_pointer(&job->ioc), g_steal_pointer(&job->err),
              job->opaque);
    if (job->notify) {
        job->notify(job->opaque);
    }
    open_job_free(job);
}

static gboolean open_idle_done(gpointer data)
{
    open_deliver(data);
    return G_SOURCE_REMOVE;
}

static void open_deliver_later(OpenJob *job)
{
    GSource *idle = g_idle_source_new();

    g_source_set_callback(idle, open_idle_done, job, NULL);
    g_source_attach(idle, job->ctx);
    g_source_unref(idle);
}

/*
 * A thread of our own rather than a GTask: GLib's pool hands work over
 * under locks ThreadSanitizer cannot see, an idle source it can (see
 * util/tsan-glib.c).
 */
static gpointer open_in_thread(gpointer data)
{
    OpenJob *job = data;

    job->ioc = mig_channel_connect(job->addr, &job->err);
    open_deliver_later(job);
    return NULL;
}

void mig_channel_connect_async(const MigrationAddress *addr,
                               MigChannelConnectFunc *func, gpointer opaque,
                               GDestroyNotify notify)
{
    OpenJob *job = g_new0(OpenJob, 1);
    g_autoptr(GError) gerr = NULL;
    GThread *thread;

    job->addr = QAPI_CLONE(MigrationAddress, addr);
    job->func = func;
    job->opaque = opaque;
    job->notify = notify;
    job->ctx = g_main_context_ref_thread_default();

    /*
     * Only connecting can take long.  fd: must even be resolved here:
     * the monitor looks names up in the store of the monitor whose
     * command runs in this thread.  The callback still comes later, as
     * promised, from an idle source.
     */
    if (!mig_channel_listens(job->addr)) {
        job->ioc = mig_channel_connect(job->addr, &job->err);
        open_deliver_later(job);
        return;
    }
    /* Not joined: it ends by handing the job over. */
    thread = g_thread_try_new(VMIG_THREAD_NAME("mig/connect"),
                              open_in_thread, job, &gerr);
    if (!thread) {
        /* Out of threads (a process limit): an error like any other. */
        error_setg(&job->err, "Cannot start a thread to connect: %s",
                   gerr->message);
        open_deliver_later(job);
        return;
    }
    g_thread_unref(thread);
}

/* ---- The source's channels ---- */

/*
 * Makes @ioc (taken) the channel @spec describes: named after its role,
 * TLS wrapped around it before its first byte, a stream that has sent
 * the stream header, and for an extra channel introduced to the
 * destination.
 */
MigStream *mig_channel_setup(QIOChannel *ioc, const MigChannelSpec *spec,
                             Error **errp)
{
    g_autoptr(GByteArray) b = NULL;
    WireChannelHeader ch = {
        .role = spec->role,
        .index = spec->index,
    };
    MigStream *s;
    Error *err = NULL;

    if (spec->role != MIG_CHANNEL_MAIN) {
        g_autofree char *name = g_strdup_printf(
            "%s (%s %u)", qio_channel_get_name(ioc),
            wire_channel_role_name(spec->role), spec->index);

        qio_channel_set_name(ioc, name);
    }
    if (spec->tls) {
        ioc = mig_tls_client(spec->tls, ioc, mig_deadline_after_ms(
                                 mig_handshake_timeout_ms()), errp);
        if (!ioc) {
            return NULL;
        }
    }
    s = mig_stream_new(ioc, errp);
    qio_channel_unref(ioc);
    if (!s) {
        return NULL;
    }
    if (spec->zero_copy && !mig_stream_enable_zerocopy(s, errp)) {
        mig_stream_free(s);
        return NULL;
    }
    /*
     * The stream header at once, even on the main channel whose HELLO
     * the engine sends later: a destination flooded by strangers keeps
     * the connections that have spoken (router.c).
     */
    b = g_byte_array_new();
    wire_stream_header_encode(b);
    if (spec->role != MIG_CHANNEL_MAIN) {
        memcpy(ch.session_id, spec->session_id, WIRE_SESSION_ID_LEN);
        wire_channel_header_encode(&ch, b, &error_abort);
    }
    if (mig_stream_write(s, b->data, b->len,
                         mig_deadline_after_ms(mig_handshake_timeout_ms()),
                         &err) != MIG_STREAM_OK) {
        /* An exec: command that failed at once: its exit status. */
        mig_stream_close_after_failure(s, &err);
        mig_stream_free(s);
        error_propagate(errp, err);
        return NULL;
    }
    return s;
}

MigStream *mig_channel_open(const MigrationAddress *addr,
                            const MigChannelSpec *spec, Error **errp)
{
    QIOChannel *ioc = mig_channel_connect(addr, errp);

    return ioc ? mig_channel_setup(ioc, spec, errp) : NULL;
}

typedef struct OpenAsync {
    MigChannelSpec spec;
    MigChannelOpenFunc *func;
    gpointer opaque;
    /* With TLS: the handshake's thread and its result. */
    QIOChannel *ioc;
    MigStream *s;
    Error *err;
    GMainContext *ctx;
} OpenAsync;

static gboolean open_async_deliver(gpointer data)
{
    OpenAsync *job = data;

    job->func(job->s, job->err, job->opaque);
    if (job->ctx) {
        g_main_context_unref(job->ctx);
    }
    g_free(job);
    return G_SOURCE_REMOVE;
}

/* A handshake waits for the peer: never on the caller's main loop. */
static gpointer open_async_setup(gpointer data)
{
    OpenAsync *job = data;
    GSource *idle = g_idle_source_new();

    job->s = mig_channel_setup(g_steal_pointer(&job->ioc), &job->spec,
                               &job->err);
    g_source_set_callback(idle, open_async_deliver, job, NULL);
    g_source_attach(idle, job->ctx);
    g_source_unref(idle);
    return NULL;
}

static void open_async_connected(QIOChannel *ioc, Error *err,
                                 gpointer opaque)
{
    OpenAsync *job = opaque;
    g_autoptr(GError) gerr = NULL;
    GThread *thread;

    if (!ioc || !job->spec.tls) {
        job->s = ioc ? mig_channel_setup(ioc, &job->spec, &err) : NULL;
        job->err = err;
        open_async_deliver(job);
        return;
    }
    job->ioc = ioc;
    job->ctx = g_main_context_ref_thread_default();
    /* Not joined: it ends by handing the job over. */
    thread = g_thread_try_new(VMIG_THREAD_NAME("mig/tls"), open_async_setup,
                              job, &gerr);
    if (!thread) {
        error_setg(&job->err, "Cannot start a thread for the TLS "
                   "handshake: %s", gerr->message);
        qio_channel_unref(g_steal_pointer(&job->ioc));
        open_async_deliver(job);
        return;
    }
    g_thread_unref(thread);
}

void mig_channel_open_async(const MigrationAddress *addr,
                            const MigChannelSpec *spec,
                            MigChannelOpenFunc *func, gpointer opaque)
{
    OpenAsync *job = g_new0(OpenAsync, 1);

    job->spec = *spec;
    job->func = func;
    job->opaque = opaque;
    mig_channel_connect_async(addr, open_async_connected, job, NULL);
}
