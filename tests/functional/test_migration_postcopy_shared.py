#!/usr/bin/env python3
"""Postcopy (#14) on shared memory and on huge pages.

The destination drops the pages still dirty at the switch so that they
are missing for userfaultfd: shared memory (memfd, a file on tmpfs,
share=on) by punching a hole in its file, hugetlbfs memory the same, a
whole huge page at a time; a huge page is requested whole, gathered
from its 4 KiB pieces and placed at once.  A shared file on a disk
filesystem cannot be caught missing and is refused in the handshake.

Every success ends with equal RAM and device digests: the destination is
paused with -S, and its digest taken during postcopy requests every page
it still lacks.  The huge-page tests need 2 MiB huge pages: as root they
reserve some and mount a hugetlbfs of their own (both undone after),
else they use a mounted hugetlbfs with room, else they are skipped."""

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
from test_migration_postcopy_recover import (  # noqa: E402
    POSTCOPY as RECOVERABLE, RecoverCase)
from test_migration_shape import (OWN_HUGETLBFS, backend,  # noqa: E402
                                  hugetlbfs)
from vmig_harness import wait_for  # noqa: E402

MiB = 1 << 20
HUGE_PAGE = 2 * MiB
# Two guests of 32 MiB and some slack.
HUGE_PAGES_NEEDED = 2 * 32 * MiB // HUGE_PAGE + 4
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

    def test_shared_anonymous(self):
        """memory-backend-ram with share=on: no file, MADV_REMOVE."""
        self.through_postcopy(backend('memory-backend-ram', ',share=on'),
                              FAULTING)

    def test_tmpfs_file_preempt(self):
        """A file on tmpfs, share=on, with the preempt channel."""
        self.through_postcopy(
            file_backend(self.dir),
            dict(FAULTING, **{'postcopy-preempt': True}), preempt=True)

    def test_release_ram(self):
        """release-ram punches holes in the source's shared file: its
        memory goes back to the host, not just out of the mapping.  The
        source guest writes nothing once warm, so its RAM digest before
        the migration is the one the destination must end with."""
        path = os.path.join(self.dir, 'src-ram')
        cfg = dict(POSTCOPY, **{'release-ram': True,
                                'max-bandwidth': 4 * MiB})
        with dst_vm('-S', *file_backend(self.dir),
                    incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*file_backend(path), *BUSY) as src:
            warm_up(src)
            src.cmd('x-workload-set', rate=0)
            want = digest(src)['ram']
            before = os.stat(path).st_blocks * 512
            src.cmd('migrate', uri=listen_uri(dst), config=cfg)
            wait_for(lambda: info(src).get('ram', {}).get('normal', 0) > 0,
                     what='the first pages sent')
            self.assertEqual(src.cmd('migrate-start-postcopy'), {})
            self.finished(src, dst)
            # The pages postcopy sent (most of the guest at 4 MiB/s)
            # are holes now (measured first: reading a hole of shared
            # memory fills it).
            self.assertLess(os.stat(path).st_blocks * 512,
                            before - 4 * MiB)
            # The devices as the switch saved them; RAM as before.
            self.assertEqual(digest(dst), dict(digest(src), ram=want))

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


class HugePages:
    """A hugetlbfs with room for two guests: one mounted already, or
    (root) one of our own, with the huge pages reserved for it."""

    def __init__(self):
        self.path = self.mounted = None
        self.added = 0
        self.skip = None

    def get(self):
        found = hugetlbfs()
        if found and found[1] == HUGE_PAGE and \
                os.statvfs(found[0]).f_bavail >= HUGE_PAGES_NEEDED:
            self.path = found[0]
            return
        if os.geteuid() != 0:
            self.skip = 'no hugetlbfs with room, and not root to make one'
            return
        try:
            self.reserve(HUGE_PAGES_NEEDED)
            self.mounted = tempfile.mkdtemp(prefix=OWN_HUGETLBFS)
            subprocess.run(['mount', '-t', 'hugetlbfs', '-o',
                            'pagesize=2M', 'none', self.mounted],
                           check=True, capture_output=True)
            self.path = self.mounted
        except (OSError, subprocess.CalledProcessError) as e:
            self.put()
            self.skip = 'cannot make a hugetlbfs: %s' % e

    def reserve(self, n):
        knob = '/proc/sys/vm/nr_hugepages'
        with open(knob) as f:
            have = int(f.read())
        with open(knob, 'w') as f:
            f.write(str(have + n))
        self.added += n
        with open('/sys/kernel/mm/hugepages/hugepages-2048kB/'
                  'free_hugepages') as f:
            if int(f.read()) < HUGE_PAGES_NEEDED:
                raise OSError('the kernel reserved too few huge pages')

    def put(self):
        if self.mounted:
            # Best effort: a mount left busy stays (and its directory).
            if subprocess.run(['umount', self.mounted],
                              capture_output=True).returncode == 0:
                os.rmdir(self.mounted)
            self.mounted = None
        if self.added:
            # Relative: another test run may have reserved some too.
            with open('/proc/sys/vm/nr_hugepages') as f:
                have = int(f.read())
            with open('/proc/sys/vm/nr_hugepages', 'w') as f:
                f.write(str(max(0, have - self.added)))
            self.added = 0


class OnHugePages:
    """Mixed into a test case: self.ram is guest RAM on huge pages, the
    hugetlbfs made for the class."""

    @classmethod
    def setUpClass(cls):
        cls.huge = HugePages()
        cls.huge.get()

    @classmethod
    def tearDownClass(cls):
        cls.huge.put()

    def setUp(self):
        if self.huge.skip:
            self.skipTest(self.huge.skip)
        self.ram = file_backend(self.huge.path)

    def assert_huge(self, *vms):
        for vm in vms:
            mem = {m['id']: m for m in vm.cmd('query-memdev')}['mem0']
            self.assertEqual(mem['page-size'], HUGE_PAGE)


class HugePageTest(OnHugePages, PostcopyCase):

    def huge_postcopy(self, cfg, preempt=False):
        with dst_vm('-S', *self.ram, incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*self.ram, *BUSY) as src:
            self.assert_huge(src, dst)
            self.start(src, dst, cfg)
            self.assertEqual(digest(dst), digest(src))
            sinfo, dinfo = self.finished(src, dst)
            requests = dinfo['ram']['postcopy-requests']
            self.assertGreater(requests, 0)
            # Whole huge pages asked for: never more requests than
            # huge pages.
            self.assertLessEqual(requests, 32 * MiB // HUGE_PAGE)
            if preempt:
                self.assertGreater(dinfo['ram']['postcopy-preempt-pages'], 0)
            self.assertEqual(digest(dst), digest(src))
            self.assert_no_crash(src, dst)

    def test_huge_pages(self):
        """Faults ask for whole huge pages, placed once gathered."""
        self.huge_postcopy(FAULTING)

    def test_huge_pages_preempt(self):
        """With the preempt channel a huge page may come partly on main
        (the background) and partly on the preempt channel."""
        self.huge_postcopy(dict(FAULTING, **{'postcopy-preempt': True}),
                           preempt=True)

    def test_huge_pages_background_only(self):
        """No fault: the background stream's pieces make whole pages."""
        with dst_vm('-S', *self.ram, incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*self.ram, *BUSY) as src:
            self.start(src, dst, POSTCOPY)
            self.finished(src, dst)
            self.assertEqual(info(dst)['ram']['postcopy-requests'], 0)
            self.assertEqual(digest(dst), digest(src))


class HugePageRecoverTest(OnHugePages, RecoverCase):

    def test_recovered(self):
        """A link broken while huge pages are half gathered: the
        destination reports them not received (a huge page is received
        only once placed), the source sends them whole again, and the
        pieces that came twice count once."""
        with dst_vm('-S', *self.ram, incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*self.ram, *BUSY) as src:
            self.assert_huge(src, dst)
            with self.relayed(src, dst, RECOVERABLE) as relay:
                # At 128 KiB/s a huge page takes 16 s: this one is in
                # pieces on the destination.
                until = info(src)['ram']['transferred'] + 256 * 1024
                wait_for(lambda: info(src)['ram']['transferred'] > until,
                         what='part of a huge page')
                relay.close()
                self.both_paused(src, dst)
            self.recover(src, dst)
            self.finished(src, dst)


if __name__ == '__main__':
    vmig_harness.main()
