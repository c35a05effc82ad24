/*
 * Fuzz target: a QMP monitor, fed bytes as a client sends them.  Each
 * input is one client connection (a socketpair) to the real monitor
 * (monitor/qmp.c, monitor.c) with the real command table, on a small
 * machine: greeting, negotiation, the JSON streamer, qmp_dispatch() and
 * the generated marshallers.  The input is written, then the client
 * half-closes and reads everything until the monitor closes its end.
 *
 * Only commands without effects outside this process run: queries
 * ("query-*", "x-query-*"), negotiation, the per-client fd store, and
 * the configuration setters (their validator is the point), whose
 * changes are undone after each input so every input starts alike.
 * Every other command is disabled, so the fuzzer reaches its "command
 * disabled" answer, never its handler: "migrate" with an exec: URI runs
 * a shell command; "quit", "cont" and "object-add" change the machine.
 */
#include <errno.h>
#include <glib-unix.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "migration/migration.h"
#include "monitor/monitor-internal.h"
#include "qapi/qmp-registry.h"
#include "tests/fuzz/fuzz-machine.h"
#include "tests/fuzz/fuzz.h"

static const char *const allowed_prefixes[] = { "query-", "x-query-" };
static const char *const allowed[] = {
    "qmp_capabilities", "getfd", "closefd",
    "migrate-set-config", "migrate-set-parameters",
    "migrate-set-capabilities", NULL,
};

static bool is_allowed(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(allowed_prefixes); i++) {
        if (g_str_has_prefix(name, allowed_prefixes[i])) {
            return true;
        }
    }
    return g_strv_contains((const char *const *)allowed, name);
}

static void collect_disallowed(const QmpCommand *cmd, void *opaque)
{
    if (!is_allowed(cmd->name)) {
        g_ptr_array_add(opaque, (gpointer)cmd->name);
    }
}

typedef struct Client {
    int fd;
    const uint8_t *data;
    size_t len, pos;
    bool closed;        /* the monitor closed its end */
} Client;

static gboolean client_can_write(gint fd, GIOCondition cond, gpointer opaque)
{
    Client *c = opaque;
    ssize_t n = c->pos < c->len
                ? send(fd, c->data + c->pos, c->len - c->pos,
                       MSG_DONTWAIT | MSG_NOSIGNAL)
                : 0;

    if (n < 0 && errno == EAGAIN) {
        return G_SOURCE_CONTINUE;
    }
    c->pos = n < 0 ? c->len : c->pos + n;
    if (c->pos < c->len) {
        return G_SOURCE_CONTINUE;
    }
    shutdown(fd, SHUT_WR);
    return G_SOURCE_REMOVE;
}

static gboolean client_can_read(gint fd, GIOCondition cond, gpointer opaque)
{
    Client *c = opaque;
    char buf[65536];
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

    if (n < 0 && errno == EAGAIN) {
        return G_SOURCE_CONTINUE;
    }
    if (n <= 0) {
        c->closed = true;
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static bool client_done(void *opaque)
{
    Client *c = opaque;

    return c->closed;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    g_autoptr(GPtrArray) off = g_ptr_array_new();

    /* First, as in vmig's main(). */
    monitor_init_globals();
    fuzz_machine_init();
    qmp_for_each_command(qmp_commands, collect_disallowed, off);
    for (guint i = 0; i < off->len; i++) {
        qmp_command_set_enabled(qmp_commands, g_ptr_array_index(off, i),
                                false);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Client c = { .data = data, .len = size };
    guint out_watch;
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        g_error("socketpair: %s", g_strerror(errno));
    }
    c.fd = sv[1];
    monitor_qmp_new(sv[0], sv[0], true, "fuzz");
    out_watch = g_unix_fd_add(sv[1], G_IO_OUT, client_can_write, &c);
    g_unix_fd_add(sv[1], G_IO_IN | G_IO_HUP | G_IO_ERR, client_can_read, &c);
    fuzz_machine_run_until(client_done, &c);
    if (c.pos < c.len) {
        g_source_remove(out_watch);
    }
    close(sv[1]);
    migration_config_replace(migration_config_startup());
    return 0;
}
