/*
 * Stream sockets from SocketAddress: see include/util/sockets.h.
 */
#include "util/sockets.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>

#include "qapi/struct-info.h"
#include "util/cutils.h"

static SocketFdResolver *fd_resolver;

/* vmig's own descriptors (socket_fd_set_private()), under the lock. */
static GMutex private_lock;
static GHashTable *private_fds;

void socket_fd_set_private(int fd, bool private_fd)
{
    g_mutex_lock(&private_lock);
    if (!private_fds) {
        private_fds = g_hash_table_new(g_direct_hash, g_direct_equal);
    }
    if (private_fd) {
        g_hash_table_add(private_fds, GINT_TO_POINTER(fd));
    } else {
        g_hash_table_remove(private_fds, GINT_TO_POINTER(fd));
    }
    g_mutex_unlock(&private_lock);
}

static bool fd_is_private(int fd)
{
    bool found;

    g_mutex_lock(&private_lock);
    found = private_fds &&
            g_hash_table_contains(private_fds, GINT_TO_POINTER(fd));
    g_mutex_unlock(&private_lock);
    return found;
}

void socket_set_fd_resolver(SocketFdResolver *resolver)
{
    fd_resolver = resolver;
}

/* ------------------------------------------------------------------ */
/* String form */

/* Port as a number, or -1 if @port is not a decimal number from 0 to
 * 65535 (a service name, resolved later, or garbage). */
static int port_number(const char *port)
{
    uint64_t val;

    if (strspn(port, "0123456789") != strlen(port) ||
        !parse_uint64(port, &val, NULL) || val > 65535) {
        return -1;
    }
    return val;
}

/*
 * The options of the inet string form are the optional members of
 * InetSocketAddress, found through its generated struct info: a member
 * added to the schema is an option at once, under the same name.  Values
 * are parsed as keyval values are (on/off/yes/no/true/false, numbers); a
 * boolean option alone means on.
 */
static bool inet_parse_option(InetSocketAddress *inet, const char *opt,
                              const char *str, Error **errp)
{
    const char *eq = strchr(opt, '=');
    g_autofree char *name = g_strndup(opt, eq ? (size_t)(eq - opt)
                                              : strlen(opt));
    const QAPIMemberInfo *m =
        qapi_struct_find_member(&InetSocketAddress_info, name);
    json_t *value;
    bool ok;

    if (!*name) {
        error_setg(errp, "Empty option in socket address '%s'", str);
        return false;
    }
    /* host and port are not options: they come before them. */
    if (!m || !m->optional) {
        error_setg(errp, "Unknown option '%s' in socket address '%s'", name,
                   str);
        return false;
    }
    if (qapi_member_is_present(m, inet)) {
        error_setg(errp, "Option '%s' given twice in '%s'", name, str);
        return false;
    }
    if (!eq && m->kind != QAPI_MEMBER_KIND_BOOL) {
        error_setg(errp, "Option '%s' of '%s' needs a value", name, str);
        return false;
    }
    value = json_string(eq ? eq + 1 : "on");
    ok = qapi_member_from_json(m, inet, value, true, errp);
    json_decref(value);
    if (!ok) {
        error_prepend(errp, "Invalid socket address '%s': ", str);
    }
    return ok;
}

/* Checks what the schema cannot express about a parsed address. */
static bool inet_check(const InetSocketAddress *inet, const char *str,
                       Error **errp)
{
    int port = port_number(inet->port);

    if (inet->has_to && port < 0) {
        error_setg(errp, "Option 'to' of '%s' needs a numeric port", str);
        return false;
    }
    if (inet->has_to && inet->to < port) {
        error_setg(errp, "Option 'to' of '%s' is below the port", str);
        return false;
    }
    return true;
}

/* @spec is HOST:PORT[,OPTION...]; @str the whole address, for errors. */
static bool inet_parse(InetSocketAddress *inet, const char *spec,
                       const char *str, Error **errp)
{
    const char *port, *end;
    g_auto(GStrv) opts = NULL;

    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');

        if (!close || close[1] != ':') {
            error_setg(errp, "Expected '[IPV6-ADDRESS]:PORT' in '%s'", str);
            return false;
        }
        if (close == spec + 1) {
            error_setg(errp, "Empty IPv6 address in '%s'", str);
            return false;
        }
        inet->host = g_strndup(spec + 1, close - spec - 1);
        port = close + 2;
    } else {
        const char *colon = strchr(spec, ':');

        if (!colon || memchr(spec, ',', colon - spec)) {
            error_setg(errp, "Expected 'HOST:PORT' in '%s'", str);
            return false;
        }
        inet->host = g_strndup(spec, colon - spec);
        port = colon + 1;
    }

    end = strchrnul(port, ',');
    inet->port = g_strndup(port, end - port);
    if (!*inet->port) {
        error_setg(errp, "Missing port in '%s'", str);
        return false;
    }
    if (strchr(inet->port, ':') || strchr(inet->port, ']')) {
        error_setg(errp, "Invalid port '%s' in '%s' (an IPv6 address needs "
                   "brackets: '[ADDRESS]:PORT')", inet->port, str);
        return false;
    }
    /* A service name starts with a letter. */
    if (!g_ascii_isalpha(inet->port[0]) && port_number(inet->port) < 0) {
        error_setg(errp, "Invalid port '%s' in '%s'", inet->port, str);
        return false;
    }

    if (*end) {
        /* g_strsplit("") gives no strings at all, not one empty one. */
        if (!end[1]) {
            error_setg(errp, "Empty option in socket address '%s'", str);
            return false;
        }
        opts = g_strsplit(end + 1, ",", -1);
        for (char **opt = opts; *opt; opt++) {
            if (!inet_parse_option(inet, *opt, str, errp)) {
                return false;
            }
        }
    }
    return inet_check(inet, str, errp);
}

/* What follows @prefix in @str, or NULL if @str does not start so. */
static const char *skip_prefix(const char *str, const char *prefix)
{
    size_t len = strlen(prefix);

    return strncmp(str, prefix, len) ? NULL : str + len;
}

SocketAddress *socket_parse(const char *str, Error **errp)
{
    g_autoptr(SocketAddress) addr = g_new0(SocketAddress, 1);
    const char *rest;

    if ((rest = skip_prefix(str, "unix:"))) {
        if (!*rest) {
            error_setg(errp, "Missing path in socket address '%s'", str);
            return NULL;
        }
        addr->type = SOCKET_ADDRESS_TYPE_UNIX;
        addr->u.q_unix.path = g_strdup(rest);
    } else if ((rest = skip_prefix(str, "fd:"))) {
        if (!*rest) {
            error_setg(errp, "Missing descriptor name in socket address "
                       "'%s'", str);
            return NULL;
        }
        addr->type = SOCKET_ADDRESS_TYPE_FD;
        addr->u.fd.str = g_strdup(rest);
    } else if (skip_prefix(str, "vsock:")) {
        error_setg(errp, "vsock addresses are not supported: '%s'", str);
        return NULL;
    } else {
        /* "tcp:" is optional, as in QEMU. */
        rest = skip_prefix(str, "tcp:");
        if (!rest) {
            rest = str;
        }
        addr->type = SOCKET_ADDRESS_TYPE_INET;
        if (!inet_parse(&addr->u.inet, rest, str, errp)) {
            return NULL;
        }
    }
    return g_steal_pointer(&addr);
}

/* "HOST:PORT", with brackets around an IPv6 address; for messages. */
static char *inet_to_string(const InetSocketAddress *inet)
{
    if (strchr(inet->host, ':')) {
        return g_strdup_printf("[%s]:%s", inet->host, inet->port);
    }
    return g_strdup_printf("%s:%s", inet->host, inet->port);
}

static char *unix_to_string(const UnixSocketAddress *un)
{
    return g_strdup_printf("%s%s", un->has_abstract && un->abstract ? "@"
                                                                    : "",
                           un->path);
}

/* Appends ",NAME=VALUE" for each option set in @inet (see
 * inet_parse_option()), in schema order. */
static void inet_options_to_string(const InetSocketAddress *inet,
                                   GString *str)
{
    for (size_t i = 0; i < InetSocketAddress_info.n_members; i++) {
        const QAPIMemberInfo *m = &InetSocketAddress_info.members[i];

        if (!m->optional || !qapi_member_is_present(m, inet)) {
            continue;
        }
        switch (m->kind) {
        case QAPI_MEMBER_KIND_BOOL:
            g_string_append_printf(str, ",%s=%s", m->name,
                                   qapi_member_get_bool(m, inet) ? "on"
                                                                 : "off");
            break;
        case QAPI_MEMBER_KIND_UINT:
            g_string_append_printf(str, ",%s=%" PRIu64, m->name,
                                   qapi_member_get_uint(m, inet));
            break;
        default:
            /* Only booleans and port numbers so far. */
            g_assert_not_reached();
        }
    }
}

char *socket_address_to_string(const SocketAddress *addr)
{
    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET: {
        const InetSocketAddress *inet = &addr->u.inet;
        g_autofree char *hostport = inet_to_string(inet);
        GString *str = g_string_new("tcp:");

        g_string_append(str, hostport);
        inet_options_to_string(inet, str);
        return g_string_free(str, FALSE);
    }
    case SOCKET_ADDRESS_TYPE_UNIX: {
        g_autofree char *path = unix_to_string(&addr->u.q_unix);
        return g_strdup_printf("unix:%s", path);
    }
    case SOCKET_ADDRESS_TYPE_FD:
        return g_strdup_printf("fd:%s", addr->u.fd.str);
    default:
        g_assert_not_reached();
    }
}

/* ------------------------------------------------------------------ */
/* Descriptors */

bool socket_set_nonblock(int fd, bool on)
{
    int flags = fcntl(fd, F_GETFL);

    if (flags < 0) {
        return false;
    }
    flags = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
    return fcntl(fd, F_SETFL, flags) == 0;
}

bool socket_set_zero_copy(int fd)
{
    int one = 1;

    return setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) == 0;
}

/* Closes @fd keeping errno, for error paths that report it. */
static void close_keep_errno(int fd)
{
    int saved = errno;
    close(fd);
    errno = saved;
}

static bool fd_is_socket(int fd)
{
    struct stat st;

    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

int socket_get_fd(const char *name, Error **errp)
{
    uint64_t num;
    int fd;

    if (g_ascii_isdigit(name[0])) {
        if (!parse_uint64(name, &num, NULL) || num > INT_MAX) {
            error_setg(errp, "Invalid descriptor number '%s'", name);
            return -1;
        }
        fd = num;
        if (fcntl(fd, F_GETFD) < 0) {
            error_setg_errno(errp, errno, "Descriptor %d is not open", fd);
            return -1;
        }
        if (!fd_is_socket(fd)) {
            error_setg(errp, "Descriptor %d is not a socket", fd);
            return -1;
        }
        if (fd_is_private(fd)) {
            error_setg(errp, "Descriptor %d is one of vmig's own sockets "
                       "(a monitor connection or a listening socket)", fd);
            return -1;
        }
    } else {
        if (!fd_resolver) {
            error_setg(errp, "No descriptor named '%s'", name);
            return -1;
        }
        fd = fd_resolver(name, errp);
        if (fd < 0) {
            return -1;
        }
        /* The descriptor is ours now: close it on failure. */
        if (!fd_is_socket(fd)) {
            error_setg(errp, "Descriptor '%s' is not a socket", name);
            close(fd);
            return -1;
        }
    }
    /* Cannot fail on a valid descriptor, which @fd is. */
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

int socket_accept(int listen_fd, Error **errp)
{
    int fd;

    do {
        fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        int saved = errno;
        error_setg_errno(errp, saved, "Failed to accept a connection on "
                         "socket %d", listen_fd);
        errno = saved;
    }
    return fd;
}

/*
 * connect(), completed also when a signal interrupts it (the connection
 * then goes on in the background), and given up with ETIMEDOUT at
 * @deadline (0: never).  With a deadline the socket connects
 * non-blocking; it is blocking again on return.
 */
static int connect_retry(int fd, const struct sockaddr *sa, socklen_t len,
                         gint64 deadline)
{
    struct pollfd pfd = { .fd = fd, .events = POLLOUT };
    socklen_t errlen = sizeof(int);
    int flags = fcntl(fd, F_GETFL);
    int err = 0, ret;

    if (flags < 0) {
        return -1;
    }
    if (deadline && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        return -1;
    }
    ret = connect(fd, sa, len);
    if (ret < 0 && (errno == EINTR || errno == EINPROGRESS)) {
        do {
            ret = poll(&pfd, 1, poll_ms_until(deadline));
        } while (ret < 0 && errno == EINTR);
        if (ret == 0) {
            err = ETIMEDOUT;
        } else if (ret < 0) {
            err = errno;
        } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0) {
            err = errno;
        }
    } else if (ret < 0) {
        err = errno;
    }
    if (deadline && fcntl(fd, F_SETFL, flags) < 0 && !err) {
        err = errno;
    }
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Unix domain */

/* Fills @sun from @un; returns the address length, or 0 with errp set. */
static socklen_t unix_sockaddr(const UnixSocketAddress *un,
                               struct sockaddr_un *sun, Error **errp)
{
    bool abstract = un->has_abstract && un->abstract;
    size_t len = strlen(un->path);
    /* A file name needs its terminating NUL; an abstract name starts
     * with a NUL instead. */
    size_t max = sizeof(sun->sun_path) - 1;

    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    if (!len) {
        error_setg(errp, "Empty Unix socket path");
        return 0;
    }
    if (len > max) {
        error_setg(errp, "Unix socket path '%s' is too long (%zu bytes, at "
                   "most %zu)", un->path, len, max);
        return 0;
    }
    memcpy(sun->sun_path + abstract, un->path, len);
    /* Abstract addresses are "tight": exactly the name, no padding. */
    return offsetof(struct sockaddr_un, sun_path) + abstract + len +
           !abstract;
}

/*
 * Is there a socket file at @sun that nobody listens on any more?  Then
 * it is left over from a dead process and can be replaced.  A live one
 * must not be: its server would silently stop getting connections.
 */
static bool unix_socket_is_stale(const struct sockaddr_un *sun,
                                 socklen_t len)
{
    struct stat st;
    int fd;
    bool stale;

    if (lstat(sun->sun_path, &st) < 0 || !S_ISSOCK(st.st_mode)) {
        return false;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return false;
    }
    stale = connect(fd, (const struct sockaddr *)sun, len) < 0 &&
            errno == ECONNREFUSED;
    close(fd);
    return stale;
}

static int unix_listen(const UnixSocketAddress *un, int backlog,
                       Error **errp)
{
    g_autofree char *name = unix_to_string(un);
    struct sockaddr_un sun;
    socklen_t len = unix_sockaddr(un, &sun, errp);
    bool abstract = un->has_abstract && un->abstract;
    int fd;

    if (!len) {
        return -1;
    }
    if (!abstract && unix_socket_is_stale(&sun, len) &&
        unlink(un->path) < 0 && errno != ENOENT) {
        error_setg_errno(errp, errno, "Failed to remove stale socket '%s'",
                         name);
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create socket for '%s'",
                         name);
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&sun, len) < 0) {
        error_setg_errno(errp, errno, "Failed to bind socket to '%s'", name);
        close(fd);
        return -1;
    }
    if (listen(fd, backlog) < 0) {
        error_setg_errno(errp, errno, "Failed to listen on '%s'", name);
        close(fd);
        return -1;
    }
    return fd;
}

static int unix_connect(const UnixSocketAddress *un, Error **errp)
{
    g_autofree char *name = unix_to_string(un);
    struct sockaddr_un sun;
    socklen_t len = unix_sockaddr(un, &sun, errp);
    int fd;

    if (!len) {
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create socket for '%s'",
                         name);
        return -1;
    }
    if (connect_retry(fd, (struct sockaddr *)&sun, len, 0) < 0) {
        error_setg_errno(errp, errno, "Failed to connect to '%s'", name);
        close(fd);
        return -1;
    }
    return fd;
}

/* ------------------------------------------------------------------ */
/* TCP */

/*
 * Which address families @inet allows.  No ipv4/ipv6 flag: both.  A flag
 * set to on alone: only that family.  A flag set to off: the other one.
 * IPv6 sockets are dual-stack (accept IPv4 too) only when both are
 * allowed.
 */
static bool inet_family(const InetSocketAddress *inet, int *family,
                        bool *v6only, const char *name, Error **errp)
{
    bool want4 = inet->has_ipv4 ? inet->ipv4 : !(inet->has_ipv6 &&
                                                 inet->ipv6);
    bool want6 = inet->has_ipv6 ? inet->ipv6 : !(inet->has_ipv4 &&
                                                 inet->ipv4);

    if (!want4 && !want6) {
        error_setg(errp, "Both IPv4 and IPv6 are disabled for '%s'", name);
        return false;
    }
    *family = want4 && want6 ? AF_UNSPEC : want4 ? AF_INET : AF_INET6;
    *v6only = !(want4 && want6);
    return true;
}

static struct addrinfo *inet_resolve(const InetSocketAddress *inet,
                                     bool passive, const char *name,
                                     bool *v6only, Error **errp)
{
    struct addrinfo hints = {
        .ai_socktype = SOCK_STREAM,
        .ai_flags = passive ? AI_PASSIVE : 0,
    };
    struct addrinfo *res = NULL;
    int rc;

    if (!inet_family(inet, &hints.ai_family, v6only, name, errp)) {
        return NULL;
    }
    if (inet->has_numeric && inet->numeric) {
        hints.ai_flags |= AI_NUMERICHOST | AI_NUMERICSERV;
    }
    rc = getaddrinfo(inet->host[0] ? inet->host : NULL, inet->port, &hints,
                     &res);
    if (rc) {
        error_setg(errp, "Address resolution failed for '%s': %s", name,
                   rc == EAI_SYSTEM ? g_strerror(errno) : gai_strerror(rc));
        return NULL;
    }
    return res;
}

/* A TCP socket for @ai with the options of @inet; -1 with errno set. */
static int inet_socket(const struct addrinfo *ai,
                       const InetSocketAddress *inet, bool v6only)
{
    int protocol = inet->has_mptcp && inet->mptcp ? IPPROTO_MPTCP
                                                  : ai->ai_protocol;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, protocol);
    int on = 1, v6 = v6only;

    if (fd < 0) {
        return -1;
    }
    /* On Linux, accepted sockets inherit SO_KEEPALIVE and TCP_NODELAY
     * from the listening one, so setting them here covers both
     * directions.  Without TCP_NODELAY a small record after another one
     * (END after the device state, SHUTDOWN) waits for the peer's
     * delayed ACK, 40 ms of downtime. */
    if ((inet->has_keep_alive && inet->keep_alive &&
         setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) < 0) ||
        (ai->ai_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6, sizeof(v6)) < 0)) {
        close_keep_errno(fd);
        return -1;
    }
    /* Only latency depends on it (an MPTCP socket of an older kernel
     * may refuse it): never fatal. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    return fd;
}

/* Keepalive probes before the peer is declared dead. */
#define LIVENESS_KEEPCNT 3

bool socket_set_liveness(int fd, unsigned seconds)
{
    int domain = 0, type = 0, on = 1;
    socklen_t len = sizeof(domain);
    /* Idle a third, then KEEPCNT probes over the next third: a dead
     * peer is found before the user timeout, which covers sends. */
    int idle = MAX(1, seconds / 3);
    int intvl = MAX(1, seconds / (3 * LIVENESS_KEEPCNT));
    int cnt = LIVENESS_KEEPCNT;
    unsigned user_ms = MIN(seconds, UINT_MAX / 1000) * 1000;

    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
        (len = sizeof(type),
         getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)) {
        return errno == ENOTSOCK;
    }
    if ((domain != AF_INET && domain != AF_INET6) || type != SOCK_STREAM) {
        return true;
    }
    return setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) == 0 &&
           setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle,
                      sizeof(idle)) == 0 &&
           setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
                      sizeof(intvl)) == 0 &&
           setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) == 0 &&
           setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_ms,
                      sizeof(user_ms)) == 0;
}

static uint16_t sockaddr_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET6) {
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    }
    return ntohs(((const struct sockaddr_in *)sa)->sin_port);
}

static void sockaddr_set_port(struct sockaddr *sa, uint16_t port)
{
    if (sa->sa_family == AF_INET6) {
        ((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
    } else {
        ((struct sockaddr_in *)sa)->sin_port = htons(port);
    }
}

/* Binds and listens on @ai, trying ports up to @last while they are in
 * use.  Returns the socket, or -1 with errno set. */
static int inet_listen_ai(const struct addrinfo *ai,
                          const InetSocketAddress *inet, bool v6only,
                          uint16_t last, int backlog)
{
    struct sockaddr_storage ss;
    struct sockaddr *sa = (struct sockaddr *)&ss;
    uint16_t port = sockaddr_port(ai->ai_addr);
    int on = 1;

    memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
    for (;;) {
        int fd = inet_socket(ai, inet, v6only);

        if (fd < 0) {
            return -1;
        }
        /* Restarting on the same port must not wait for old connections
         * in TIME_WAIT to expire. */
        sockaddr_set_port(sa, port);
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == 0 &&
            bind(fd, sa, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0) {
            return fd;
        }
        close_keep_errno(fd);
        if (errno != EADDRINUSE || port >= last) {
            return -1;
        }
        port++;
    }
}

static int inet_listen(const InetSocketAddress *inet, int backlog,
                       Error **errp)
{
    g_autofree char *name = inet_to_string(inet);
    bool wildcard = !inet->host[0];
    struct addrinfo *res;
    bool v6only;
    int err = 0;

    res = inet_resolve(inet, true, name, &v6only, errp);
    if (!res) {
        return -1;
    }
    /*
     * Only one socket is opened, on the first address that works.  The
     * wildcard host resolves to both "::" and "0.0.0.0": try "::" first
     * (in a pass of its own), because when dual-stack it serves IPv4 too.
     */
    for (int pass = wildcard ? 0 : 1; pass < 2; pass++) {
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
            uint16_t port = sockaddr_port(ai->ai_addr);
            uint16_t last = inet->has_to && port ? MAX(inet->to, port)
                                                 : port;
            int fd;

            if (wildcard && (ai->ai_family == AF_INET6) != (pass == 0)) {
                continue;
            }
            fd = inet_listen_ai(ai, inet, v6only, last, backlog);
            if (fd >= 0) {
                freeaddrinfo(res);
                return fd;
            }
            err = errno;
        }
    }
    freeaddrinfo(res);
    if (inet->has_to) {
        error_setg_errno(errp, err, "Failed to listen on '%s' or any port "
                         "up to %u", name, inet->to);
    } else {
        error_setg_errno(errp, err, "Failed to listen on '%s'", name);
    }
    return -1;
}

static int inet_connect(const InetSocketAddress *inet, gint64 deadline,
                        Error **errp)
{
    g_autofree char *name = inet_to_string(inet);
    struct addrinfo *res;
    bool v6only;
    int err = 0;

    res = inet_resolve(inet, false, name, &v6only, errp);
    if (!res) {
        return -1;
    }
    /* Every address of the host, in the order the resolver prefers. */
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = inet_socket(ai, inet, v6only);

        if (fd >= 0 &&
            connect_retry(fd, ai->ai_addr, ai->ai_addrlen, deadline) == 0) {
            freeaddrinfo(res);
            return fd;
        }
        err = errno;
        if (fd >= 0) {
            close(fd);
        }
    }
    freeaddrinfo(res);
    error_setg_errno(errp, err, "Failed to connect to '%s'", name);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Entry points */

int socket_listen(const SocketAddress *addr, int backlog, Error **errp)
{
    int fd;

    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        return inet_listen(&addr->u.inet, backlog, errp);
    case SOCKET_ADDRESS_TYPE_UNIX:
        return unix_listen(&addr->u.q_unix, backlog, errp);
    case SOCKET_ADDRESS_TYPE_FD:
        fd = socket_get_fd(addr->u.fd.str, errp);
        if (fd < 0) {
            return -1;
        }
        /* Harmless if the descriptor listens already. */
        if (listen(fd, backlog) < 0) {
            error_setg_errno(errp, errno, "Failed to listen on descriptor "
                             "'%s'", addr->u.fd.str);
            close(fd);
            return -1;
        }
        return fd;
    default:
        g_assert_not_reached();
    }
}

int socket_connect(const SocketAddress *addr, Error **errp)
{
    return socket_connect_within(addr, -1, errp);
}

int socket_connect_within(const SocketAddress *addr, int timeout_ms,
                          Error **errp)
{
    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        return inet_connect(&addr->u.inet,
                            timeout_ms < 0 ? 0 : g_get_monotonic_time() +
                            (gint64)timeout_ms * 1000, errp);
    case SOCKET_ADDRESS_TYPE_UNIX:
        return unix_connect(&addr->u.q_unix, errp);
    case SOCKET_ADDRESS_TYPE_FD:
        /* Connected already by whoever passed it. */
        return socket_get_fd(addr->u.fd.str, errp);
    default:
        g_assert_not_reached();
    }
}

SocketAddress *socket_local_address(int fd, Error **errp)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    g_autoptr(SocketAddress) addr = g_new0(SocketAddress, 1);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        error_setg_errno(errp, errno, "Failed to get the address of socket "
                         "%d", fd);
        return NULL;
    }

    switch (ss.ss_family) {
    case AF_INET:
    case AF_INET6: {
        char host[NI_MAXHOST], port[NI_MAXSERV];
        int rc = getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host),
                             port, sizeof(port),
                             NI_NUMERICHOST | NI_NUMERICSERV);

        if (rc) {
            error_setg(errp, "Failed to format the address of socket %d: %s",
                       fd, gai_strerror(rc));
            return NULL;
        }
        addr->type = SOCKET_ADDRESS_TYPE_INET;
        addr->u.inet.host = g_strdup(host);
        addr->u.inet.port = g_strdup(port);
        break;
    }
    case AF_UNIX: {
        const struct sockaddr_un *sun = (const struct sockaddr_un *)&ss;
        size_t path_len = len - offsetof(struct sockaddr_un, sun_path);

        addr->type = SOCKET_ADDRESS_TYPE_UNIX;
        if (path_len && sun->sun_path[0] == '\0') {
            addr->u.q_unix.has_abstract = true;
            addr->u.q_unix.abstract = true;
            addr->u.q_unix.path = g_strndup(sun->sun_path + 1, path_len - 1);
        } else {
            /* Unnamed sockets (socketpair) have an empty path. */
            addr->u.q_unix.path = g_strndup(sun->sun_path, path_len);
        }
        break;
    }
    default:
        error_setg(errp, "Socket %d has an address of unsupported family %d",
                   fd, ss.ss_family);
        return NULL;
    }
    return g_steal_pointer(&addr);
}
