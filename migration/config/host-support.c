/*
 * What this host provides that some migration options need, probed once
 * at first use.  The validator gets the answer in its outgoing, incoming
 * and snapshot contexts, so an option the host cannot serve is refused
 * before a migration starts (or, on a destination, in the handshake).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "migration/config-validate.h"
#include "util/sockets.h"
#include "util/userfaultfd.h"

/* A TCP socket, as zero-copy-send sends over TCP. */
static bool probe_zero_copy(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok;

    if (fd < 0) {
        return false;
    }
    ok = socket_set_zero_copy(fd);
    close(fd);
    return ok;
}

static bool probe_direct_io(void)
{
    g_autofree char *dir = g_strdup(g_get_tmp_dir());
    g_autofree char *path = g_build_filename(dir, "vmig-odirect-XXXXXX",
                                             NULL);
    int fd = g_mkstemp(path);
    int dfd;

    if (fd < 0) {
        return false;
    }
    close(fd);
    /* tmpfs refuses O_DIRECT: that is the answer we want to know. */
    dfd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
    unlink(path);
    if (dfd < 0) {
        return false;
    }
    close(dfd);
    return true;
}

static void hide_lacking(MigrationHostSupport *s, const char *lacks)
{
    g_auto(GStrv) names = g_strsplit(lacks, ",", -1);

    for (char **n = names; *n; n++) {
        for (int f = 0; f < MIGRATION_HOST__MAX; f++) {
            if (!strcmp(*n, migration_host_feature_names[f])) {
                s->has[f] = false;
            }
        }
    }
}

const MigrationHostSupport *migration_host_support(void)
{
    static gsize once;
    static MigrationHostSupport support;

    if (g_once_init_enter(&once)) {
        uint64_t uffd_features = 0;
        /* The way the dirty log and postcopy open it, so the validator
         * never says "no userfaultfd" while they can use one. */
        bool uffd = userfaultfd_features(&uffd_features, NULL);
        const char *lacks = getenv("VMIG_TEST_HOST_LACKS");

        support.has[MIGRATION_HOST_USERFAULTFD] = uffd;
        support.has[MIGRATION_HOST_USERFAULTFD_WP] =
            uffd && (uffd_features & UFFD_FEATURE_PAGEFAULT_FLAG_WP);
        support.has[MIGRATION_HOST_ZERO_COPY] = probe_zero_copy();
        support.has[MIGRATION_HOST_DIRECT_IO] = probe_direct_io();
        /* Linked in (meson.build requires both libraries). */
        support.has[MIGRATION_HOST_ZLIB] = true;
        support.has[MIGRATION_HOST_ZSTD] = true;
        if (lacks) {
            hide_lacking(&support, lacks);
        }
        g_once_init_leave(&once, 1);
    }
    return &support;
}
