#!/usr/bin/env python3
"""Postcopy (#14) on shared memory.

The destination drops the pages still dirty at the switch so that they
are missing for userfaultfd: shared memory (memfd, a file on tmpfs,
share=on) by punching a hole in its file.  A shared file on a disk
filesystem cannot be caught missing and is refused in the handshake.

Every success ends with equal RAM and device digests: the destination is
paused with -S, and its digest taken during postcopy requests every page
it still lacks."""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from migration_helpers import (digest, dst_vm, info,  # noqa: E402
                               listen_uri, src_vm, warm_up)
from test_migration_postcopy import (BUSY, POSTCOPY,  # noqa: E402
                                     PostcopyCase)
from test_migration_shape import backend  # noqa: E402
from vmig_harness import wait_for  # noqa: E402

MiB = 1 << 20
FAULTING = dict(POSTCOPY, **{'max-postcopy-bandwidth': MiB})


def fs_type(path):
    return subprocess.run(['stat', '-f', '-c', '%T', path], check=True,
                          capture_output=True, text=True).stdout.strip()


def file_backend(path):
    return backend('memory-backend-file', ',mem-path=%s,share=on' % path)


class SharedMemoryTest(PostcopyCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='vmig-pc-', dir='/dev/shm')
        self.addCleanup(shutil.rmtree, self.dir)

    def through_postcopy(self, ram_args, cfg, preempt=False):
        """Migrates a busy guest on @ram_args to a -S destination with
        @cfg, switching to postcopy; its digest during postcopy and at
        the end equal the source's."""
        with dst_vm('-S', *ram_args, incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*ram_args, *BUSY) as src:
            self.start(src, dst, cfg)
            self.assertEqual(digest(dst), digest(src))
            sinfo, dinfo = self.finished(src, dst)
            self.assertGreater(dinfo['ram']['postcopy-requests'], 0)
            if preempt:
                self.assertGreater(dinfo['ram']['postcopy-preempt-pages'], 0)
            self.assertEqual(digest(dst), digest(src))
            self.assert_no_crash(src, dst)

    def test_memfd(self):
        """memory-backend-memfd (shared): faults and background."""
        self.through_postcopy(backend('memory-backend-memfd'), FAULTING)

    def test_tmpfs_file_preempt(self):
        """A file on tmpfs, share=on, with the preempt channel."""
        self.through_postcopy(
            file_backend(self.dir),
            dict(FAULTING, **{'postcopy-preempt': True}), preempt=True)

    def test_release_ram(self):
        """release-ram punches holes in the source's shared file: its
        memory goes back to the host, not just out of the mapping.  The
        source guest writes nothing once warm, so its digest before the
        migration is the one the destination must end with."""
        path = os.path.join(self.dir, 'src-ram')
        cfg = dict(POSTCOPY, **{'release-ram': True,
                                'max-bandwidth': 4 * MiB})
        with dst_vm('-S', *file_backend(self.dir),
                    incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*file_backend(path), *BUSY) as src:
            warm_up(src)
            src.cmd('x-workload-set', rate=0)
            want = digest(src)
            before = os.stat(path).st_blocks * 512
            src.cmd('migrate', uri=listen_uri(dst), config=cfg)
            wait_for(lambda: info(src).get('ram', {}).get('normal', 0) > 0,
                     what='the first pages sent')
            self.assertEqual(src.cmd('migrate-start-postcopy'), {})
            self.finished(src, dst)
            self.assertEqual(digest(dst), want)
            # The pages postcopy sent (most of the guest at 4 MiB/s)
            # are holes now.
            self.assertLess(os.stat(path).st_blocks * 512,
                            before - 4 * MiB)

    def test_disk_file_refused(self):
        """A shared file on a disk filesystem: userfaultfd cannot catch
        its pages missing, refused before any page moves."""
        where = os.path.dirname(os.path.abspath(vmig_harness.VMIG))
        if fs_type(where) in ('tmpfs', 'hugetlbfs'):
            self.skipTest('the build directory is not on a disk')
        disk = tempfile.mkdtemp(prefix='vmig-pc-', dir=where)
        self.addCleanup(shutil.rmtree, disk)
        ram = file_backend(disk)
        with dst_vm(*ram, incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*ram, *BUSY) as src:
            result = self.migrate(src, listen_uri(dst), config=POSTCOPY)
            self.assertEqual(result['status'], 'failed')
            self.assertIn("option 'postcopy-ram'", result['error-desc'])
            self.assertIn("RAM block 'mem0' is a shared mapping of a file "
                          "on a disk filesystem, whose dropped pages come "
                          "back from the disk", result['error-desc'])
            self.assertEqual(result.get('ram', {}).get('normal', 0), 0)
            self.assert_source_runs(src)


if __name__ == '__main__':
    vmig_harness.main()
