/*
 * QIOChannel to a command over a socket pair: see io/channel-command.h.
 */
#include "io/channel-command.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-io.h"
#include "io/channel-impl.h"

extern char **environ;

/* After SIGTERM, how long the command gets before SIGKILL. */
#define TERM_GRACE_MS 1000

typedef struct QIOChannelCommand {
    QIOChannel parent;
    int fd;
    pid_t pid;
    char *display;          /* the command as people wrote it */
    unsigned exit_timeout_ms;
} QIOChannelCommand;

static QIOChannelCommand *to_command(QIOChannel *ioc)
{
    return (QIOChannelCommand *)ioc;
}

static ssize_t command_readv(QIOChannel *ioc, const struct iovec *iov,
                             size_t niov, Error **errp)
{
    return qio_fd_readv(to_command(ioc)->fd, iov, niov, ioc->name, errp);
}

static ssize_t command_writev(QIOChannel *ioc, const struct iovec *iov,
                              size_t niov, Error **errp)
{
    return qio_fd_writev(to_command(ioc)->fd, true, iov, niov, ioc->name,
                         errp);
}

static bool command_set_blocking(QIOChannel *ioc, bool blocking,
                                 Error **errp)
{
    return qio_fd_set_blocking(to_command(ioc)->fd, blocking, ioc->name,
                               errp);
}

static bool command_shutdown(QIOChannel *ioc, QIOChannelShutdown how,
                             Error **errp)
{
    int sh = how == QIO_CHANNEL_SHUTDOWN_BOTH ? SHUT_RDWR
             : how == QIO_CHANNEL_SHUTDOWN_READ ? SHUT_RD : SHUT_WR;

    if (shutdown(to_command(ioc)->fd, sh) < 0 && errno != ENOTCONN) {
        error_setg_errno(errp, errno, "Failed to shut down '%s'",
                         ioc->name);
        return false;
    }
    return true;
}

/*
 * Waits up to @timeout_ms for @pid to exit.  Returns 1 with *@status
 * set when it did, 0 on timeout, -1 with errno set on failure.  Polls:
 * a blocking waitpid() cannot time out, and commands usually exit
 * within milliseconds of their input ending.
 */
static int wait_exit(pid_t pid, int *status, unsigned timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    gulong delay_us = 500;

    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);

        if (r == pid) {
            return 1;
        }
        if (r < 0 && errno != EINTR) {
            return -1;
        }
        if (g_get_monotonic_time() >= deadline) {
            return 0;
        }
        g_usleep(delay_us);
        delay_us = MIN(delay_us * 2, 50000);
    }
}

/* Reaps the command, killing it if it outstays its timeout. */
static bool reap(QIOChannelCommand *c, Error **errp)
{
    bool killed = false;
    int status = 0;
    int r = wait_exit(c->pid, &status, c->exit_timeout_ms);

    if (r == 0) {
        killed = true;
        kill(c->pid, SIGTERM);
        r = wait_exit(c->pid, &status, TERM_GRACE_MS);
    }
    if (r == 0) {
        kill(c->pid, SIGKILL);
        r = wait_exit(c->pid, &status, G_MAXUINT);
    }
    c->pid = -1;
    if (r < 0) {
        error_setg_errno(errp, errno, "Failed to wait for command '%s'",
                         c->display);
        return false;
    }
    if (killed) {
        error_setg(errp, "Command '%s' did not exit within %u ms after the "
                   "end of its input, and was killed", c->display,
                   c->exit_timeout_ms);
        return false;
    }
    if (WIFSIGNALED(status)) {
        error_setg(errp, "Command '%s' was killed by signal %d (%s)",
                   c->display, WTERMSIG(status), strsignal(WTERMSIG(status)));
        return false;
    }
    if (WEXITSTATUS(status)) {
        error_setg(errp, "Command '%s' exited with status %d", c->display,
                   WEXITSTATUS(status));
        return false;
    }
    return true;
}

static bool command_close(QIOChannel *ioc, Error **errp)
{
    QIOChannelCommand *c = to_command(ioc);
    Error *err = NULL;

    /* Closing our end first is what tells the command its input ended;
     * only then can it be expected to exit. */
    qio_fd_close(&c->fd, ioc->name, &err);
    if (c->pid > 0 && !reap(c, errp)) {
        /* The exit status says more than a close error would. */
        error_free(err);
        return false;
    }
    if (err) {
        error_propagate(errp, err);
        return false;
    }
    return true;
}

static int command_get_fd(QIOChannel *ioc)
{
    return to_command(ioc)->fd;
}

static void command_finalize(QIOChannel *ioc)
{
    g_free(to_command(ioc)->display);
}

static const QIOChannelClass command_class = {
    .kind = "command",
    .readv = command_readv,
    .writev = command_writev,
    .set_blocking = command_set_blocking,
    .shutdown = command_shutdown,
    .close = command_close,
    .get_fd = command_get_fd,
    .finalize = command_finalize,
};

/* Starts @argv on @child_fd as stdin and stdout; 0 or an errno. */
static int spawn(const char *const *argv, int child_fd, pid_t *pid)
{
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    sigset_t all, none;
    int rc;

    /* vmig ignores SIGPIPE and threads block signals; both would be
     * inherited, and a shell pipeline expects neither. */
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF |
                                    POSIX_SPAWN_SETSIGMASK);
    /* dup2() clears close-on-exec on the copies only. */
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, child_fd, STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, child_fd, STDOUT_FILENO);

    rc = posix_spawnp(pid, argv[0], &actions, &attr, (char *const *)argv,
                      environ);

    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    return rc;
}

static QIOChannel *command_start(const char *const *argv, const char *name,
                                 const char *display, Error **errp)
{
    QIOChannelCommand *c;
    int sv[2];
    pid_t pid;
    int rc;

    if (!argv || !argv[0] || !argv[0][0]) {
        error_setg(errp, "Empty command for '%s'", name);
        return NULL;
    }
    /* Close-on-exec, so that commands started at the same time do not
     * inherit each other's ends and keep them from seeing EOF. */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        error_setg_errno(errp, errno, "Failed to create a socket pair for "
                         "'%s'", name);
        return NULL;
    }
    rc = spawn(argv, sv[1], &pid);
    close(sv[1]);
    if (rc) {
        error_setg_errno(errp, rc, "Failed to run command '%s'", display);
        close(sv[0]);
        return NULL;
    }

    c = g_new0(QIOChannelCommand, 1);
    qio_channel_init(&c->parent, &command_class, name);
    c->fd = sv[0];
    c->pid = pid;
    c->display = g_strdup(display);
    c->exit_timeout_ms = QIO_CHANNEL_COMMAND_EXIT_TIMEOUT_MS;
    return &c->parent;
}

/* The command as messages show it: a shell command line as written. */
static char *command_display(const char *const *argv)
{
    if (!argv) {
        return g_strdup("");
    }
    if (g_strv_length((char **)argv) == 3 && !strcmp(argv[0], "/bin/sh") &&
        !strcmp(argv[1], "-c")) {
        return g_strdup(argv[2]);
    }
    return g_strjoinv(" ", (char **)argv);
}

QIOChannel *qio_channel_command_new(const char *const *argv,
                                    const char *name, Error **errp)
{
    g_autofree char *display = command_display(argv);
    g_autofree char *default_name = g_strdup_printf("exec:%s", display);

    return command_start(argv, name ? name : default_name, display, errp);
}

QIOChannel *qio_channel_command_new_shell(const char *cmdline,
                                          Error **errp)
{
    const char *argv[] = { "/bin/sh", "-c", cmdline, NULL };

    if (!*cmdline) {
        error_setg(errp, "Empty command for 'exec:'");
        return NULL;
    }
    return qio_channel_command_new(argv, NULL, errp);
}

bool qio_channel_is_command(const QIOChannel *ioc)
{
    return ioc->klass == &command_class;
}

pid_t qio_channel_command_get_pid(QIOChannel *ioc)
{
    g_assert(qio_channel_is_command(ioc));
    return to_command(ioc)->pid;
}

void qio_channel_command_set_exit_timeout(QIOChannel *ioc,
                                          unsigned timeout_ms)
{
    g_assert(qio_channel_is_command(ioc));
    to_command(ioc)->exit_timeout_ms = timeout_ms;
}
