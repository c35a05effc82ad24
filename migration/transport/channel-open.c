/*
 * Opening the channel of a MigrationAddress: see io/channel-address.h.
 */
#include "migration/transport/channel-open.h"

#include <gio/gio.h>

#include "io/channel-command.h"
#include "io/channel-file.h"
#include "io/channel-socket.h"
#include "migration/transport/address.h"
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
} OpenJob;

static void open_job_free(OpenJob *job)
{
    qapi_free_MigrationAddress(job->addr);
    qio_channel_unref(job->ioc);
    error_free(job->err);
    g_free(job);
}

static void open_in_thread(GTask *task, gpointer source, gpointer data,
                           GCancellable *cancellable)
{
    OpenJob *job = data;

    job->ioc = qio_channel_open_outgoing(job->addr, &job->err);
    g_task_return_boolean(task, TRUE);
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

static void open_thread_done(GObject *source, GAsyncResult *res,
                             gpointer data)
{
    open_deliver(data);
}

static gboolean open_idle_done(gpointer data)
{
    open_deliver(data);
    return G_SOURCE_REMOVE;
}

void qio_channel_open_outgoing_async(const MigrationAddress *addr,
                                     QIOChannelOpenFunc *func,
                                     gpointer opaque,
                                     GDestroyNotify notify)
{
    OpenJob *job = g_new0(OpenJob, 1);
    GSource *idle;
    GTask *task;

    job->addr = QAPI_CLONE(MigrationAddress, addr);
    job->func = func;
    job->opaque = opaque;
    job->notify = notify;

    /*
     * Only connecting can take long.  fd: must even be resolved here:
     * the monitor looks names up in the store of the monitor whose
     * command runs in this thread.  The callback still comes later, as
     * promised, from an idle source.
     */
    if (!qio_channel_address_listens(job->addr)) {
        job->ioc = qio_channel_open_outgoing(job->addr, &job->err);
        idle = g_idle_source_new();
        g_source_set_callback(idle, open_idle_done, job, NULL);
        g_source_attach(idle, g_main_context_get_thread_default());
        g_source_unref(idle);
        return;
    }
    /* The job outlives the task's data: open_deliver() frees it. */
    task = g_task_new(NULL, NULL, open_thread_done, job);
    g_task_set_task_data(task, job, NULL);
    g_task_run_in_thread(task, open_in_thread);
    g_object_unref(task);
}
