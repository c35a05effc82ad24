/*
 * Opening a userfaultfd.  See include/util/userfaultfd.h.
 */
#include "util/userfaultfd.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <glib.h>

#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif

#define FEATURE(name) { UFFD_FEATURE_##name, "UFFD_FEATURE_" #name }

static const struct {
    uint64_t bit;
    const char *name;
} feature_names[] = {
    FEATURE(PAGEFAULT_FLAG_WP), FEATURE(EVENT_FORK), FEATURE(EVENT_REMAP),
    FEATURE(EVENT_REMOVE), FEATURE(MISSING_HUGETLBFS),
    FEATURE(MISSING_SHMEM), FEATURE(EVENT_UNMAP), FEATURE(SIGBUS),
    FEATURE(THREAD_ID), FEATURE(MINOR_HUGETLBFS), FEATURE(MINOR_SHMEM),
    FEATURE(EXACT_ADDRESS), FEATURE(WP_HUGETLBFS_SHMEM),
    FEATURE(WP_UNPOPULATED), FEATURE(POISON), FEATURE(WP_ASYNC),
    FEATURE(MOVE),
};

/* "UFFD_FEATURE_A, UFFD_FEATURE_B", "bit N" for a bit not named here. */
static char *features_str(uint64_t features)
{
    GString *s = g_string_new(NULL);

    for (unsigned bit = 0; bit < 64; bit++) {
        const char *name = NULL;

        if (!(features & (1ull << bit))) {
            continue;
        }
        for (size_t i = 0; i < G_N_ELEMENTS(feature_names); i++) {
            if (feature_names[i].bit == 1ull << bit) {
                name = feature_names[i].name;
            }
        }
        if (s->len) {
            g_string_append(s, ", ");
        }
        if (name) {
            g_string_append(s, name);
        } else {
            g_string_append_printf(s, "bit %u", bit);
        }
    }
    return g_string_free(s, FALSE);
}

/* A userfaultfd before its handshake, by the system call or the
 * device. */
static int new_fd(int flags, Error **errp)
{
    int fd = syscall(SYS_userfaultfd, flags);
    int sys_errno, dev_errno, dev;

    if (fd >= 0) {
        return fd;
    }
    sys_errno = errno;
    dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
    if (dev < 0) {
        error_setg(errp, "userfaultfd() failed: %s; /dev/userfaultfd: %s",
                   g_strerror(sys_errno), g_strerror(errno));
        return -1;
    }
    fd = ioctl(dev, USERFAULTFD_IOC_NEW, flags);
    dev_errno = errno;
    close(dev);
    if (fd < 0) {
        error_setg(errp, "userfaultfd() failed: %s; /dev/userfaultfd "
                   "refused a new userfaultfd: %s", g_strerror(sys_errno),
                   g_strerror(dev_errno));
    }
    return fd;
}

/* UFFDIO_API asking for @features; *@offered (if not NULL) gets every
 * feature the kernel offers.  Closes @fd on failure. */
static bool handshake(int fd, uint64_t features, uint64_t *offered,
                      Error **errp)
{
    struct uffdio_api api = { .api = UFFD_API, .features = features };

    if (ioctl(fd, UFFDIO_API, &api) < 0) {
        g_autofree char *names = features_str(features);

        error_setg_errno(errp, errno, "userfaultfd: UFFDIO_API%s%s failed",
                         features ? " with " : "", names);
        close(fd);
        return false;
    }
    if (offered) {
        *offered = api.features;
    }
    return true;
}

int userfaultfd_open(int flags, uint64_t required, uint64_t optional,
                     uint64_t *enabled, Error **errp)
{
    uint64_t offered, want;
    int fd;

    flags |= O_CLOEXEC;
    fd = new_fd(flags, errp);
    if (fd < 0 || !handshake(fd, 0, &offered, errp)) {
        return -1;
    }
    if (required & ~offered) {
        g_autofree char *names = features_str(required & ~offered);

        error_setg(errp, "the kernel's userfaultfd lacks %s", names);
        close(fd);
        return -1;
    }
    want = required | (optional & offered);
    if (want) {
        /* The handshake is done on this fd: enable on a new one. */
        close(fd);
        fd = new_fd(flags, errp);
        if (fd < 0 || !handshake(fd, want, NULL, errp)) {
            return -1;
        }
    }
    if (enabled) {
        *enabled = want;
    }
    return fd;
}

bool userfaultfd_features(uint64_t *offered, Error **errp)
{
    int fd = new_fd(O_CLOEXEC | O_NONBLOCK, errp);

    if (fd < 0 || !handshake(fd, 0, offered, errp)) {
        return false;
    }
    close(fd);
    return true;
}
