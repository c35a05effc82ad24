/*
 * Opening the channel of a MigrationAddress: see io/channel-address.h.
 */
#include "io/channel-address.h"

#include "io/channel-command.h"
#include "io/channel-file.h"
#include "io/channel-socket.h"
#include "migration/address.h"
#include "qapi/clone.h"
#include "qapi/qapi-visit.h"

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

QIOChannel *qio_channel_open_outgoing(const MigrationAddress *addr,
                                      Error **errp)
{
    if (!migration_address_check(addr, errp)) {
        return NULL;
    }
    switch (addr->transport) {
    case MIGRATION_ADDRESS_TYPE_SOCKET:
        return qio_channel_socket_connect(&addr->u.socket, errp);
    case MIGRATION_ADDRESS_TYPE_EXEC:
        return open_exec(addr, errp);
    case MIGRATION_ADDRESS_TYPE_FILE:
        return qio_channel_file_open_write(addr->u.file.filename,
                                           addr->u.file.offset, errp);
    default:
        /* rdma: migration_address_check() refused it. */
        g_assert_not_reached();
    }
}

bool qio_channel_address_listens(const MigrationAddress *addr)
{
    return addr->transport == MIGRATION_ADDRESS_TYPE_SOCKET &&
           addr->u.socket.type != SOCKET_ADDRESS_TYPE_FD;
}

QIOChannel *qio_channel_open_incoming(const MigrationAddress *addr,
                                      Error **errp)
{
    if (!migration_address_check(addr, errp)) {
        return NULL;
    }
    if (qio_channel_address_listens(addr)) {
        g_autofree char *uri = migration_address_to_string(addr);

        error_setg(errp, "'%s' is listened on, not opened", uri);
        return NULL;
    }
    switch (addr->transport) {
    case MIGRATION_ADDRESS_TYPE_SOCKET:
        /* fd: connected already, so connecting just takes it. */
        return qio_channel_socket_connect(&addr->u.socket, errp);
    case MIGRATION_ADDRESS_TYPE_EXEC:
        return open_exec(addr, errp);
    case MIGRATION_ADDRESS_TYPE_FILE:
        return qio_channel_file_open_read(addr->u.file.filename,
                                          addr->u.file.offset, errp);
    default:
        g_assert_not_reached();
    }
}

typedef struct OpenJob {
    MigrationAddress *addr;
    QIOChannel *ioc;
    Error *err;
    QIOChannelOpenFunc *func;
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

    job->ioc = qio_channel_open_outgoing(job->addr, &job->err);
    open_deliver_later(job);
    return NULL;
}

void qio_channel_open_outgoing_async(const MigrationAddress *addr,
                                     QIOChannelOpenFunc *func,
                                     gpointer opaque,
                                     GDestroyNotify notify)
{
    OpenJob *job = g_new0(OpenJob, 1);

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
    if (!qio_channel_address_listens(job->addr)) {
        job->ioc = qio_channel_open_outgoing(job->addr, &job->err);
        open_deliver_later(job);
        return;
    }
    /* Not joined: it ends by handing the job over. */
    g_thread_unref(g_thread_new("io/connect", open_in_thread, job));
}
