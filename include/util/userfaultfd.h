/*
 * Opening a userfaultfd: the one place that knows the two ways in and
 * the feature handshake (the dirty log, what the host supports, and
 * later postcopy all come through here).
 *
 * The way in: the userfaultfd(2) system call, or, where it is refused
 * (vm.unprivileged_userfaultfd=0 for an unprivileged process, seccomp,
 * a kernel without the call compiled in), /dev/userfaultfd and its
 * USERFAULTFD_IOC_NEW ioctl (Linux 6.1), which the device's file
 * permissions govern instead.  Either gives the same kind of fd.
 *
 * The handshake (UFFDIO_API, man UFFDIO_API(2const)): asking for no
 * feature returns every feature the kernel offers; asking for a feature
 * it does not offer fails; and it works only once per fd.  So a caller
 * who wants features needs a throwaway fd to learn what is offered
 * first: userfaultfd_open() does both steps.
 */
#ifndef VMIG_UTIL_USERFAULTFD_H
#define VMIG_UTIL_USERFAULTFD_H

#include <linux/userfaultfd.h>
#include <stdbool.h>
#include <stdint.h>

#include "qapi/error.h"

/* Installed headers may predate these (fixed ABI, Linux 6.1 to 6.8). */
#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1 << 12)
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON (1 << 14)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE (1 << 16)
#endif

/*
 * A new userfaultfd, close-on-exec, with @flags added (O_NONBLOCK,
 * UFFD_USER_MODE_ONLY), whose handshake enabled every feature of
 * @required and those of @optional the kernel offers; *@enabled (if not
 * NULL) gets the features enabled.  The caller owns the fd.
 *
 * Returns -1 with @errp set when neither way in works (the message
 * names both failures), when a @required feature is not offered (named
 * as UFFD_FEATURE_...), or when the handshake fails.
 */
int userfaultfd_open(int flags, uint64_t required, uint64_t optional,
                     uint64_t *enabled, Error **errp);

/* Every feature this host's userfaultfd offers, in *@offered; false
 * with @errp set, as userfaultfd_open(), when there is no userfaultfd. */
bool userfaultfd_features(uint64_t *offered, Error **errp);

#endif
