/*
 * Unit tests for opening a userfaultfd (util/userfaultfd.c).
 *
 * The whole binary is skipped (TAP "1..0 # SKIP") on a host where no
 * userfaultfd can be opened at all.  The fallback to /dev/userfaultfd is
 * tested by refusing the system call with a seccomp filter, in the
 * test's own process (every test runs in a fork).
 */
#include <check.h>
#include "tests/check-run.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "refuse-uffd.h"
#include "util/userfaultfd.h"

#define PAGE 4096
/* A feature no kernel offers yet. */
#define FEATURE_NOBODY (1ull << 62)

/* What the host offers, learnt by main() before any test. */
static uint64_t host_features;

/* The features the kernel says @fd has enabled (its fdinfo "API:" line:
 * api:features:ioctls, in hex). */
static uint64_t fd_enabled_features(int fd)
{
    g_autofree char *path = g_strdup_printf("/proc/self/fdinfo/%d", fd);
    g_autofree char *text = NULL;
    const char *api;
    unsigned long long features;

    ck_assert(g_file_get_contents(path, &text, NULL, NULL));
    api = strstr(text, "\nAPI:\t");
    ck_assert_msg(api, "no API line in %s", path);
    ck_assert_int_eq(sscanf(api, "\nAPI:\t%*x:%llx:", &features), 1);
    return features;
}

/* @fd works: an anonymous mapping registers for missing faults, a page
 * is placed with UFFDIO_COPY and read back, and with O_NONBLOCK a read
 * of no event does not wait. */
static void assert_usable(int fd)
{
    struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
    struct uffdio_copy copy = { .len = PAGE };
    uint8_t src[PAGE], msg[sizeof(struct uffd_msg)];
    uint8_t *mem = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    ck_assert(mem != MAP_FAILED);
    ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    reg.range.start = (uintptr_t)mem;
    reg.range.len = 4 * PAGE;
    ck_assert_msg(ioctl(fd, UFFDIO_REGISTER, &reg) == 0,
                  "UFFDIO_REGISTER: %s", g_strerror(errno));
    ck_assert(reg.ioctls & (1ull << _UFFDIO_COPY));

    /* Page 2 gets its contents from us, not from a fault. */
    memset(src, 0xc3, sizeof(src));
    copy.dst = (uintptr_t)mem + 2 * PAGE;
    copy.src = (uintptr_t)src;
    ck_assert_msg(ioctl(fd, UFFDIO_COPY, &copy) == 0, "UFFDIO_COPY: %s",
                  g_strerror(errno));
    ck_assert_int_eq(copy.copy, PAGE);
    ck_assert_int_eq(mem[2 * PAGE], 0xc3);
    ck_assert_int_eq(mem[3 * PAGE - 1], 0xc3);

    ck_assert_int_eq(read(fd, msg, sizeof(msg)), -1);
    ck_assert_int_eq(errno, EAGAIN);

    ck_assert_int_eq(ioctl(fd, UFFDIO_UNREGISTER, &reg.range), 0);
    munmap(mem, 4 * PAGE);
}

START_TEST(test_features_reported)
{
    uint64_t offered = 0;

    ck_assert(userfaultfd_features(&offered, &error_abort));
    ck_assert_uint_eq(offered, host_features);
    /* Every kernel with the handshake (4.11) has this one. */
    ck_assert(offered & UFFD_FEATURE_EVENT_FORK);
    ck_assert(!(offered & FEATURE_NOBODY));
}
END_TEST

START_TEST(test_open_no_features)
{
    uint64_t enabled = 1;
    int fd = userfaultfd_open(O_NONBLOCK, 0, 0, &enabled, &error_abort);

    ck_assert_int_ge(fd, 0);
    ck_assert_uint_eq(enabled, 0);
    ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
    assert_usable(fd);
    close(fd);
}
END_TEST

/* A required feature is enabled on the fd returned; an optional one
 * the kernel lacks is left out without failing. */
START_TEST(test_open_features)
{
    uint64_t enabled = 0;
    int fd;

    if (!(host_features & UFFD_FEATURE_THREAD_ID)) {
        printf("# SKIP no UFFD_FEATURE_THREAD_ID\n");
        return;
    }
    fd = userfaultfd_open(O_NONBLOCK, UFFD_FEATURE_THREAD_ID,
                          FEATURE_NOBODY, &enabled, &error_abort);
    ck_assert_int_ge(fd, 0);
    ck_assert_uint_eq(enabled, UFFD_FEATURE_THREAD_ID);
    ck_assert(fd_enabled_features(fd) & UFFD_FEATURE_THREAD_ID);
    assert_usable(fd);
    close(fd);

    /* Optional and offered: enabled too. */
    fd = userfaultfd_open(0, 0, UFFD_FEATURE_THREAD_ID | FEATURE_NOBODY,
                          &enabled, &error_abort);
    ck_assert_int_ge(fd, 0);
    ck_assert_uint_eq(enabled, UFFD_FEATURE_THREAD_ID);
    ck_assert(fd_enabled_features(fd) & UFFD_FEATURE_THREAD_ID);
    ck_assert(!(fcntl(fd, F_GETFL) & O_NONBLOCK));
    close(fd);
}
END_TEST

/* Fds open in this process, to see that failures leak none. */
static unsigned open_fds(void)
{
    g_autoptr(GDir) d = g_dir_open("/proc/self/fd", 0, NULL);
    unsigned n = 0;

    ck_assert_ptr_nonnull(d);
    while (g_dir_read_name(d)) {
        n++;
    }
    return n;
}

START_TEST(test_required_missing)
{
    Error *err = NULL;
    unsigned fds = open_fds();

    ck_assert_int_eq(userfaultfd_open(0, FEATURE_NOBODY |
                                      UFFD_FEATURE_THREAD_ID, 0, NULL, &err),
                     -1);
    ck_assert_str_eq(error_get_pretty(err),
                     "the kernel's userfaultfd lacks bit 62");
    error_free(err);
    ck_assert_uint_eq(open_fds(), fds);
}
END_TEST

/* Where the system call is refused, the device serves if it can be
 * opened; if not, the error names both failures. */
START_TEST(test_device_fallback)
{
    int fd = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
    bool device = fd >= 0;
    uint64_t offered = 0;
    Error *err = NULL;

    if (device) {
        close(fd);
    }
    if (!refuse_userfaultfd(false)) {
        return;
    }
    if (!device) {
        ck_assert(!userfaultfd_features(&offered, &err));
        ck_assert_msg(g_str_has_prefix(error_get_pretty(err),
                                       "userfaultfd() failed: Operation not "
                                       "permitted; /dev/userfaultfd: "),
                      "unexpected error: %s", error_get_pretty(err));
        error_free(err);
        printf("# SKIP /dev/userfaultfd is not usable here\n");
        return;
    }
    ck_assert(userfaultfd_features(&offered, &error_abort));
    ck_assert_uint_eq(offered, host_features);
    fd = userfaultfd_open(O_NONBLOCK, 0, 0, NULL, &error_abort);
    ck_assert_int_ge(fd, 0);
    assert_usable(fd);
    close(fd);
}
END_TEST

START_TEST(test_both_refused)
{
    int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
    bool device_opens = dev >= 0;
    Error *err = NULL;
    unsigned fds;

    if (device_opens) {
        close(dev);
    }
    if (!refuse_userfaultfd(true)) {
        return;
    }
    fds = open_fds();
    ck_assert_int_eq(userfaultfd_open(0, 0, 0, NULL, &err), -1);
    /* The device's own failure depends on its permissions here. */
    ck_assert_msg(g_str_has_prefix(error_get_pretty(err),
                                   "userfaultfd() failed: Operation not "
                                   "permitted; /dev/userfaultfd"),
                  "unexpected error: %s", error_get_pretty(err));
    if (device_opens) {
        ck_assert_str_eq(error_get_pretty(err),
                         "userfaultfd() failed: Operation not permitted; "
                         "/dev/userfaultfd refused a new userfaultfd: "
                         "Operation not permitted");
    }
    error_free(err);
    ck_assert_uint_eq(open_fds(), fds);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("userfaultfd");
    TCase *tc = tcase_create("open");
    SRunner *sr;
    Error *err = NULL;

    if (!userfaultfd_features(&host_features, &err)) {
        printf("1..0 # SKIP no userfaultfd on this host: %s\n",
               error_get_pretty(err));
        error_free(err);
        return 0;
    }
    tcase_add_test(tc, test_features_reported);
    tcase_add_test(tc, test_open_no_features);
    tcase_add_test(tc, test_open_features);
    tcase_add_test(tc, test_required_missing);
    tcase_add_test(tc, test_device_fallback);
    tcase_add_test(tc, test_both_refused);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    /* The seccomp filters must not outlive their test. */
    srunner_set_fork_status(sr, CK_FORK);
    return vmig_check_run(sr);
}
