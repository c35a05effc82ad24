#!/usr/bin/env python3
"""Handshake completeness: HELLO describes every property of the machine
that its device state depends on (vCPU count, RAM blocks and their page
sizes, device versions and shapes, the UUID under validate-uuid), so a
destination that differs in any of them refuses in the handshake, before
any state moves, with a message naming the property and both values. The
dry run gets the same answer, so a dry run that succeeds leaves only
runtime failures (link, resources) to the migration."""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from migration_helpers import (BUSY, MigrationTestCase, dst_vm,  # noqa: E402
                               launched, listen_uri, src_vm, wait_status)

UUID_A = '6f1c3a1e-8d0b-4d59-9a4e-2f8a7c1d0b01'
UUID_B = '6f1c3a1e-8d0b-4d59-9a4e-2f8a7c1d0b02'


def backend(kind, extra=''):
    """Guest RAM from a memory backend 'mem0' of the harness's 32 MiB."""
    return ['-object', '%s,id=mem0,size=32M%s' % (kind, extra),
            '-machine', 'memory-backend=mem0']


# The prefix of the hugetlbfs a test mounts for itself: its huge pages
# are counted for its own guests, so hugetlbfs() leaves it to that test.
OWN_HUGETLBFS = 'vmig-huge-'


def hugetlbfs():
    """(A writable hugetlbfs mount with room for 32 MiB, its page size),
    or None."""
    try:
        with open('/proc/mounts') as f:
            mounts = [line.split()[1:3] for line in f]
    except OSError:
        return None
    for path, fstype in mounts:
        if fstype != 'hugetlbfs' or not os.access(path, os.W_OK) or \
                os.path.basename(path).startswith(OWN_HUGETLBFS):
            continue
        st = os.statvfs(path)
        if st.f_bavail * st.f_bsize >= 32 << 20:
            return path, st.f_bsize
    return None


HUGE = hugetlbfs()

# (property, source args, destination args, destination environment,
#  configuration, the refusal's class and option, what it says).
CASES = [
    ('vcpus', ['-smp', '2'], ['-smp', '1'], {}, None, 'LayoutMismatch',
     "vCPU count: source has 2, this machine has 1"),
    ('ram size', [], ['-m', '64M'], {}, None, 'LayoutMismatch',
     "RAM block 'pc.ram' is 64 MiB here but 32 MiB on the source"),
    ('ram block', backend('memory-backend-ram'), [], {}, None,
     'LayoutMismatch', "RAM block 'mem0' of the source does not exist here"),
    ('device version', [], [], {'VMIG_TEST_LOG_DEVICE_VERSION': '1'}, None,
     'LayoutMismatch', "device 'log': the source saves state version 2, "
     "this vmig loads versions 1 to 1"),
    ('uuid', ['-uuid', UUID_A], ['-uuid', UUID_B], {},
     {'validate-uuid': True}, "UuidMismatch, option 'validate-uuid'",
     "the source VM's UUID is %s, this VM's is %s" % (UUID_A, UUID_B)),
]


class ShapeTest(MigrationTestCase):

    def refused(self, src_args, dst_args, env, config, cls, message):
        """The dry run and then the migration are refused in the
        handshake with @message; the source guest runs on."""
        args = {'config': config} if config else {}
        dst = launched(dst_vm(*dst_args, incoming='tcp:127.0.0.1:0'), **env)
        with dst, src_vm(*(src_args + BUSY)) as src:
            uri = listen_uri(dst)
            result = self.migrate(src, uri, dry_run=True, **args)
            self.assertEqual(result['status'], 'failed', result)
            self.assertIs(result['dry-run'], True)
            self.assertIn('The destination refused the migration (%s): %s'
                          % (cls, message), result['error-desc'])
            self.assert_source_runs(src)
            # A refused dry run is an answer: the destination waits on.
            self.assertIs(wait_status(dst, 'failed')['dry-run'], True)
            self.assertIsNone(dst.proc.poll())

            result = self.migrate(src, uri, **args)
            self.assertEqual(result['status'], 'failed', result)
            self.assertNotIn('dry-run', result)
            self.assertIn('The destination refused the migration (%s): %s'
                          % (cls, message), result['error-desc'])
            # Refused before any page moved.
            self.assertEqual(result.get('ram', {}).get('transferred', 0), 0,
                             result)
            self.assert_source_runs(src)
            self.assertEqual(dst.wait_exit(), 1)
            self.assertIn(message, dst.stderr_text())
            self.assert_no_crash(src, dst)

    def test_each_property(self):
        for prop, src_args, dst_args, env, config, cls, message in CASES:
            with self.subTest(property=prop):
                self.refused(src_args, dst_args, env, config, cls, message)

    @unittest.skipUnless(HUGE, 'no hugetlbfs mount with 32 MiB free')
    def test_page_size(self):
        path, size = HUGE
        self.refused(backend('memory-backend-file', ',mem-path=' + path),
                     backend('memory-backend-ram'), {}, None,
                     'LayoutMismatch', "RAM block 'mem0' has pages of 4 KiB "
                     "here but of %d MiB on the source" % (size >> 20))

    def test_vmig_ctl_dry_run(self):
        # What a person sees: the reason, on the dry run's last line.
        with dst_vm('-smp', '1', incoming='tcp:127.0.0.1:0') as dst, \
                src_vm('-smp', '2') as src:
            proc = subprocess.run(
                [vmig_harness.VMIG_CTL, src.qmp_path, 'migrate',
                 listen_uri(dst), '--dry-run', '--interval=0.05'],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, timeout=vmig_harness.TIMEOUT)
            out = proc.stdout.decode()
            self.assertEqual(proc.returncode, 1, out)
            self.assertIn('Dry run failed: The destination refused the '
                          'migration (LayoutMismatch): vCPU count: source '
                          'has 2, this machine has 1\n', out)

    def test_file_of_another_shape(self):
        # A file's HELLO carries the shapes too: refused before its RAM.
        with src_vm('-smp', '2', *BUSY) as src:
            path = os.path.join(src.tmpdir, 'state')
            result = self.migrate(src, 'file:' + path)
            self.assertEqual(result['status'], 'completed', result)
            with dst_vm('-smp', '1', incoming='defer') as dst:
                dst.cmd('migrate-incoming', uri='file:' + path,
                        exit_on_error=False)
                dinfo = wait_status(dst, 'failed')
                self.assertIn('vCPU count: source has 2, this machine has '
                              '1', dinfo['error-desc'])
                self.assertEqual(dst.cmd('query-status')['status'],
                                 'inmigrate')
                self.assert_no_crash(src, dst)

    def test_same_shape_migrates(self):
        # Two vCPUs on both ends: the dry run and the migration succeed.
        with dst_vm('-smp', '2', incoming='tcp:127.0.0.1:0') as dst, \
                src_vm('-smp', '2', *BUSY) as src:
            uri = listen_uri(dst)
            result = self.migrate(src, uri, dry_run=True)
            self.assertEqual(result['status'], 'completed', result)
            self.assert_completed(src, dst, self.migrate(src, uri))


if __name__ == '__main__':
    vmig_harness.main()
