/*
 * Refusing userfaultfd in a test's own process (check runs every test
 * in a fork, so the filter dies with it): test-userfaultfd.c tests the
 * opener's fallbacks with it, test-dirty-log.c the refusal of the
 * kernel dirty log.
 */
#ifndef VMIG_TESTS_UNIT_REFUSE_UFFD_H
#define VMIG_TESTS_UNIT_REFUSE_UFFD_H

#include <stdbool.h>

/*
 * Makes this process's userfaultfd(2) fail with EPERM, as
 * vm.unprivileged_userfaultfd=0 does for an unprivileged process, and
 * with @device_too also /dev/userfaultfd's USERFAULTFD_IOC_NEW.  The
 * filter only ever turns calls into errors, so it needs no architecture
 * check.  False if the kernel has no seccomp filters.
 */
bool refuse_userfaultfd(bool device_too);

#endif
