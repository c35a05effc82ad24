/*
 * A seccomp filter that refuses userfaultfd, for the tests of what
 * happens where the kernel does.  See refuse-uffd.h.
 */
#include "refuse-uffd.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

bool refuse_userfaultfd(bool device_too)
{
    /* ioctl's request is a 32-bit value; this is its word of args[1]. */
    const unsigned req = offsetof(struct seccomp_data, args[1]) +
                         (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? 4 : 0);
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_userfaultfd, 4, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, 2),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, req),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, device_too ? 0xAA00 : ~0u, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    };
    struct sock_fprog prog = { G_N_ELEMENTS(filter), filter };

    /* The request number the filter matches (_IO(0xAA, 0x00)). */
    G_STATIC_ASSERT(_IO(0xAA, 0x00) == 0xAA00);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
        printf("# SKIP no seccomp filter: %s\n", g_strerror(errno));
        return false;
    }
    ck_assert_int_eq(syscall(SYS_userfaultfd, O_CLOEXEC), -1);
    ck_assert_int_eq(errno, EPERM);
    return true;
}
