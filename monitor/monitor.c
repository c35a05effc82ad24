/*
 * The byte-stream side of a monitor connection, shared by QMP and HMP:
 * non-blocking input that also collects SCM_RIGHTS descriptors, bounded
 * non-blocking output, the per-connection named descriptor store and the
 * "current monitor" of a command.
 */
#include "monitor-internal.h"

#include <errno.h>
#include <glib-unix.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qapi/error.h"
#include "util/cutils.h"
#include "util/main-thread.h"
#include "util/memory-release.h"
#include "util/sockets.h"

/* Every live monitor, in creation order. Main thread only. */
static GList *monitors;

/* The monitor whose command runs in this thread (see monitor_cur()). */
static __thread Monitor *cur_mon;

Monitor *monitor_cur(void)
{
    return cur_mon;
}

Monitor *monitor_set_cur(Monitor *mon)
{
    Monitor *old = cur_mon;
    cur_mon = mon;
    return old;
}

bool monitor_is_qmp(const Monitor *mon)
{
    return mon->is_qmp;
}

/* "fd:NAME" addresses (e.g. migration URIs) resolve NAME here. */
static int monitor_fd_resolver(const char *name, Error **errp)
{
    return monitor_get_fd(monitor_cur(), name, errp);
}

void monitor_init_globals(void)
{
    monitor_events_init();
    monitor_qmp_init_commands();
    socket_set_fd_resolver(monitor_fd_resolver);
}

void monitor_for_each(void (*fn)(Monitor *mon, void *opaque), void *opaque)
{
    assert_main_thread();
    /* Fetch the next element first: @fn may close (free) the monitor. */
    for (GList *l = monitors, *next; l; l = next) {
        next = l->next;
        Monitor *mon = l->data;
        if (!mon->dead) {
            fn(mon, opaque);
        }
    }
}

/* ---- descriptors received with SCM_RIGHTS, and the named store ---- */

static void close_fd_value(gpointer value)
{
    close(GPOINTER_TO_INT(value));
}

void monitor_close_pending_fds(Monitor *mon)
{
    for (guint i = 0; i < mon->pending_fds->len; i++) {
        close(g_array_index(mon->pending_fds, int, i));
    }
    g_array_set_size(mon->pending_fds, 0);
}

int monitor_take_pending_fd(Monitor *mon)
{
    if (mon->pending_fds->len == 0) {
        return -1;
    }
    int fd = g_array_index(mon->pending_fds, int, 0);
    g_array_remove_index(mon->pending_fds, 0);
    return fd;
}

void monitor_store_fd(Monitor *mon, const char *name, int fd)
{
    /* g_hash_table_insert() destroys (closes) a value it replaces. */
    g_hash_table_insert(mon->fds, g_strdup(name), GINT_TO_POINTER(fd));
}

bool monitor_close_fd(Monitor *mon, const char *name)
{
    return g_hash_table_remove(mon->fds, name);
}

int monitor_get_fd(Monitor *mon, const char *fdname, Error **errp)
{
    /* "fd:42" names descriptor 42 itself, as in QEMU; getfd refuses names
     * starting with a digit so the two spellings cannot clash. */
    if (g_ascii_isdigit(fdname[0])) {
        int64_t num;
        if (!parse_int64(fdname, &num, errp)) {
            return -1;
        }
        if (num < 0 || num > INT_MAX) {
            error_setg(errp, "File descriptor number '%s' is out of range",
                       fdname);
            return -1;
        }
        return (int)num;
    }
    if (!mon) {
        error_setg(errp, "File descriptor named '%s' not found: no monitor "
                   "to look it up in", fdname);
        return -1;
    }
    gpointer key, value;
    if (!g_hash_table_lookup_extended(mon->fds, fdname, &key, &value)) {
        error_setg(errp, "File descriptor named '%s' not found", fdname);
        return -1;
    }
    /* Steal, not remove: the caller now owns the descriptor. */
    g_hash_table_steal(mon->fds, fdname);
    g_free(key);
    return GPOINTER_TO_INT(value);
}

/* ---- output ---- */

static gboolean monitor_can_write(gint fd, GIOCondition cond, gpointer opaque);

/* Frees @mon's empty output buffer if it grew large (@renew: a new one
 * replaces it), or frees it anyway (the monitor goes away): a client
 * that once let megabytes pile up must not keep them while connected,
 * nor after. */
static void outbuf_free_large(Monitor *mon, bool renew)
{
    size_t high = mon->outbuf_high;

    if (high <= MONITOR_OUTPUT_KEEP && renew) {
        return;
    }
    g_byte_array_free(mon->outbuf, true);
    mon->outbuf = renew ? g_byte_array_new() : NULL;
    mon->outbuf_high = 0;
    if (high >= MEMORY_RELEASE_MIN) {
        memory_release();
    }
}

/*
 * Sends as much queued output as the peer takes without blocking.
 * Returns false if the connection failed (it is then being closed).
 */
static bool monitor_flush(Monitor *mon)
{
    while (mon->outbuf->len > 0) {
        ssize_t n;
        if (mon->is_socket) {
            /* MSG_NOSIGNAL: a vanished client must not SIGPIPE us. */
            n = send(mon->out_fd, mon->outbuf->data, mon->outbuf->len,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
        } else {
            n = write(mon->out_fd, mon->outbuf->data, mon->outbuf->len);
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            /* The client went away; nothing to report, just let go. */
            g_byte_array_set_size(mon->outbuf, 0);
            monitor_close(mon);
            return false;
        }
        g_byte_array_remove_range(mon->outbuf, 0, n);
    }
    if (mon->outbuf->len == 0) {
        outbuf_free_large(mon, true);
    }
    if (mon->outbuf->len > 0 && !mon->out_watch) {
        mon->out_watch = g_unix_fd_add(mon->out_fd, G_IO_OUT,
                                       monitor_can_write, mon);
    } else if (mon->outbuf->len == 0 && mon->out_watch) {
        g_source_remove(mon->out_watch);
        mon->out_watch = 0;
    }
    return true;
}

static gboolean monitor_can_write(gint fd, GIOCondition cond, gpointer opaque)
{
    Monitor *mon = opaque;

    /* This source is done either way; monitor_flush() adds a new one if
     * output remains. */
    mon->out_watch = 0;
    monitor_flush(mon);
    return G_SOURCE_REMOVE;
}

void monitor_write(Monitor *mon, const char *buf, size_t len)
{
    if (mon->dead || len == 0) {
        return;
    }
    if (mon->outbuf->len + len > MONITOR_OUTPUT_MAX) {
        warn_report("%s monitor client %s is not reading its output "
                    "(more than %u MiB queued); disconnecting it",
                    mon->is_qmp ? "QMP" : "HMP", mon->name,
                    MONITOR_OUTPUT_MAX / (1024 * 1024));
        g_byte_array_set_size(mon->outbuf, 0);
        monitor_close(mon);
        return;
    }
    g_byte_array_append(mon->outbuf, (const guint8 *)buf, len);
    mon->outbuf_high = MAX(mon->outbuf_high, mon->outbuf->len);
    monitor_flush(mon);
}

int monitor_vprintf(Monitor *mon, const char *fmt, va_list ap)
{
    if (!mon || mon->is_qmp || mon->dead) {
        return -1;
    }
    g_autofree char *text = g_strdup_vprintf(fmt, ap);
    if (!mon->is_socket) {
        monitor_write(mon, text, strlen(text));
        return strlen(text);
    }
    /* Sockets are usually a raw terminal (socat, telnet): end lines with
     * CR LF so the cursor returns to the left margin. */
    g_autoptr(GString) out = g_string_sized_new(strlen(text) + 16);
    for (const char *p = text; *p; p++) {
        if (*p == '\n') {
            g_string_append_c(out, '\r');
        }
        g_string_append_c(out, *p);
    }
    monitor_write(mon, out->str, out->len);
    return out->len;
}

int monitor_printf(Monitor *mon, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int ret = monitor_vprintf(mon, fmt, ap);
    va_end(ap);
    return ret;
}

/* ---- input ---- */

/*
 * One read from the client.  On sockets every read is a recvmsg() so that
 * descriptors sent along with a command are never lost, whichever read
 * they happen to arrive with.
 */
static ssize_t monitor_recv(Monitor *mon, char *buf, size_t size)
{
    if (!mon->is_socket) {
        return read(mon->in_fd, buf, size);
    }

    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * MONITOR_MAX_FDS_PER_MSG)];
    } control;
    struct iovec iov = { .iov_base = buf, .iov_len = size };
    struct msghdr msg = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.buf,
        .msg_controllen = sizeof(control.buf),
    };
    ssize_t n = recvmsg(mon->in_fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0) {
        return n;
    }
    for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg); cmsg;
         cmsg = CMSG_NXTHDR(&msg, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET ||
            cmsg->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        size_t nfds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int fds[MONITOR_MAX_FDS_PER_MSG];
        memcpy(fds, CMSG_DATA(cmsg), nfds * sizeof(int));
        g_array_append_vals(mon->pending_fds, fds, nfds);
    }
    if (msg.msg_flags & MSG_CTRUNC) {
        /* The kernel drops what did not fit; the client should know. */
        warn_report("%s monitor client %s sent more than %d file "
                    "descriptors at once; the excess was discarded",
                    mon->is_qmp ? "QMP" : "HMP", mon->name,
                    MONITOR_MAX_FDS_PER_MSG);
    }
    return n;
}

static void monitor_destroy(Monitor *mon);

static gboolean monitor_can_read(gint fd, GIOCondition cond, gpointer opaque)
{
    Monitor *mon = opaque;
    char buf[MONITOR_READ_CHUNK];

    ssize_t n = monitor_recv(mon, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
        return G_SOURCE_CONTINUE;
    }
    if (n <= 0) {
        /* End of input (or a reset connection).  This source goes away
         * with our return value, not with g_source_remove(). */
        mon->in_watch = 0;
        if (mon->owns_fds && monitor_flush(mon)) {
            monitor_close(mon);
        }
        /* stdio: stop reading but keep the monitor, so that closing stdin
         * (e.g. "vmig ... </dev/null") does not end the machine or lose
         * output. */
        return G_SOURCE_REMOVE;
    }

    mon->busy = true;
    if (mon->is_qmp) {
        monitor_qmp_receive(mon, buf, n);
    } else {
        monitor_hmp_receive(mon, buf, n);
    }
    mon->busy = false;

    if (mon->dead) {
        mon->in_watch = 0;
        monitor_destroy(mon);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

/* ---- life cycle ---- */

void monitor_common_init(Monitor *mon, bool is_qmp, int in_fd, int out_fd,
                         bool owns_fds, const char *name)
{
    struct stat st;

    assert_main_thread();
    mon->is_qmp = is_qmp;
    mon->name = g_strdup(name);
    mon->in_fd = in_fd;
    mon->out_fd = out_fd;
    mon->owns_fds = owns_fds;
    mon->is_socket = fstat(in_fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
                     in_fd == out_fd;
    socket_fd_set_private(in_fd, true);
    socket_fd_set_private(out_fd, true);
    mon->outbuf = g_byte_array_new();
    mon->pending_fds = g_array_new(false, false, sizeof(int));
    mon->fds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                     close_fd_value);
    if (mon->is_socket) {
        g_unix_set_fd_nonblocking(in_fd, true, NULL);
    }
    mon->in_watch = g_unix_fd_add(in_fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                  monitor_can_read, mon);
    monitors = g_list_append(monitors, mon);
}

static void monitor_destroy(Monitor *mon)
{
    monitors = g_list_remove(monitors, mon);
    if (cur_mon == mon) {
        cur_mon = NULL;
    }
    if (mon->in_watch) {
        g_source_remove(mon->in_watch);
    }
    if (mon->out_watch) {
        g_source_remove(mon->out_watch);
    }
    socket_fd_set_private(mon->in_fd, false);
    socket_fd_set_private(mon->out_fd, false);
    if (mon->owns_fds) {
        close(mon->in_fd);
        if (mon->out_fd != mon->in_fd) {
            close(mon->out_fd);
        }
    }
    monitor_close_pending_fds(mon);
    g_array_free(mon->pending_fds, true);
    g_hash_table_destroy(mon->fds);
    outbuf_free_large(mon, false);
    g_free(mon->name);

    if (mon->is_qmp) {
        monitor_qmp_free(mon);
    } else {
        monitor_hmp_free(mon);
    }
}

void monitor_close(Monitor *mon)
{
    assert_main_thread();
    if (mon->busy) {
        /* Called from inside our own input handler (e.g. a write failed
         * while answering); monitor_can_read() finishes the job. */
        mon->dead = true;
        return;
    }
    monitor_destroy(mon);
}

void monitor_close_all(void)
{
    assert_main_thread();
    while (monitors) {
        Monitor *mon = monitors->data;
        /* Last chance for queued replies, e.g. the one to "quit".  A failed
         * flush has destroyed the monitor already. */
        if (mon->dead || monitor_flush(mon)) {
            monitor_destroy(mon);
        }
    }
}

void monitor_cleanup(void)
{
    monitor_events_cleanup();
    monitor_listeners_cleanup();
    monitor_close_all();
}
