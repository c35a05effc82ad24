#!/usr/bin/env python3
"""x-ignore-shared: a RAM block that source and destination both map
shared from one file (memory-backend-file, share=on, in /dev/shm) is not
migrated, and a private block next to it is.  The shared block is filled
with non-zero bytes first, so sending it would cost its whole size: the
bytes transferred prove it stayed home.  A destination that does not map
the very same file shared is refused, naming the block; without shared
blocks the option changes nothing."""

import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from migration_helpers import (BUSY, MigrationTestCase,  # noqa: E402
                               digest, dst_vm, info, listen_uri, src_vm,
                               wait_status)

MiB = 1024 * 1024
SHARED = 128 * MiB
PRIVATE = 16 * MiB
IGNORE = {'x-ignore-shared': True}


def shm_file(fill=b'\x5a'):
    """A new file in /dev/shm (tmpfs) of SHARED bytes of @fill."""
    path = '/dev/shm/vmig-test-%s' % uuid.uuid4().hex
    chunk = fill * MiB
    with open(path, 'wb') as f:
        for _ in range(SHARED // MiB):
            f.write(chunk)
    return path


def machine(path, share='on'):
    """Guest RAM: the file-backed block 'shm', then a private 'priv'."""
    return ['-object', 'memory-backend-file,id=shm,size=%d,mem-path=%s,'
                       'share=%s' % (SHARED, path, share),
            '-object', 'memory-backend-ram,id=priv,size=%d' % PRIVATE,
            '-numa', 'node,memdev=shm',
            '-numa', 'node,nodeid=1,memdev=priv']


MEM = '%dM' % ((SHARED + PRIVATE) // MiB)


class IgnoreSharedTest(MigrationTestCase):

    def setUp(self):
        self.path = shm_file()
        self.addCleanup(os.unlink, self.path)

    def test_shared_block_not_sent(self):
        with src_vm(*(machine(self.path) + BUSY), mem=MEM) as src, \
                dst_vm(*machine(self.path), mem=MEM,
                       incoming='tcp:127.0.0.1:0') as dst:
            result = self.migrate(src, listen_uri(dst), config=IGNORE)
            self.assert_completed(src, dst, result)
            # The private block, rewritten pages and the device state: far
            # less than the shared block, which alone would be 128 MiB.
            self.assertLess(result['ram']['transferred'], SHARED // 4,
                            result['ram'])
            self.assertLess(info(dst)['ram']['transferred'], SHARED // 4)
            # The guest wrote both blocks; the shared one reached the
            # destination through the file.
            with open(self.path, 'rb') as f:
                self.assertIn(b'vcpu 0 write ', f.read(SHARED))
            self.assert_no_crash(src, dst)

    def test_multifd(self):
        with src_vm(*(machine(self.path) + BUSY), mem=MEM) as src, \
                dst_vm(*machine(self.path), mem=MEM,
                       incoming='tcp:127.0.0.1:0') as dst:
            result = self.migrate(src, listen_uri(dst), config=dict(
                IGNORE, **{'multifd': True, 'multifd-channels': 2}))
            self.assert_completed(src, dst, result)
            self.assertLess(result['ram']['transferred'], SHARED // 4,
                            result['ram'])
            self.assert_no_crash(src, dst)

    def test_mapped_ram_file(self):
        # A stopped guest: its digest before the save must come back.  The
        # loader, which zeroes the pages a file leaves out, must not touch
        # the shared block, the source's memory too.
        with src_vm(*(machine(self.path) + BUSY), mem=MEM) as src:
            vmig_harness.wait_for(
                lambda: src.cmd('x-query-workload')['writes'] > 4096,
                what='guest writes')
            src.cmd('stop')
            before = digest(src)
            state = os.path.join(src.tmpdir, 'state')
            result = self.migrate(src, 'file:' + state, config=dict(
                IGNORE, **{'mapped-ram': True}))
            self.assertEqual(result['status'], 'completed', result)
            self.assertLess(result['ram']['transferred'], SHARED // 4)
            with dst_vm(*machine(self.path), mem=MEM,
                        incoming='file:' + state) as dst:
                wait_status(dst, 'completed')
                self.assertEqual(digest(dst), before)
            self.assert_no_crash(src)

    def refused(self, dst_args, needle):
        with src_vm(*(machine(self.path) + BUSY), mem=MEM) as src, \
                dst_vm(*dst_args, mem=MEM,
                       incoming='tcp:127.0.0.1:0') as dst:
            result = self.migrate(src, listen_uri(dst), config=IGNORE)
            self.assertEqual(result['status'], 'failed', result)
            reason = ("RAM block 'shm' is not sent (x-ignore-shared): the "
                      "source maps it shared from '%s', but here %s"
                      % (self.path, needle))
            self.assertIn("(LayoutMismatch, option 'x-ignore-shared'): " +
                          reason, result['error-desc'])
            self.assert_source_runs(src)
            # exit-on-error: the destination says why, and exits 1.
            self.assertEqual(dst.wait_exit(), 1)
            self.assertIn(reason, dst.stderr_text())
            self.assert_no_crash(src, dst)

    def test_destination_maps_another_file(self):
        other = shm_file()
        self.addCleanup(os.unlink, other)
        self.refused(machine(other), "it maps '%s', which is another file"
                     % other)

    def test_destination_maps_it_private(self):
        self.refused(machine(self.path, share='off'),
                     'it is not mapped shared from a file')

    def test_destination_has_anonymous_memory(self):
        self.refused(['-object', 'memory-backend-ram,id=shm,size=%d' % SHARED,
                      '-object', 'memory-backend-ram,id=priv,size=%d'
                      % PRIVATE,
                      '-numa', 'node,memdev=shm',
                      '-numa', 'node,nodeid=1,memdev=priv'],
                     'it is not mapped shared from a file')

    def test_without_the_option_everything_is_sent(self):
        with src_vm(*(machine(self.path) + BUSY), mem=MEM) as src, \
                dst_vm(*machine(self.path), mem=MEM,
                       incoming='tcp:127.0.0.1:0') as dst:
            result = self.migrate(src, listen_uri(dst),
                                  config={'max-bandwidth': 0})
            self.assert_completed(src, dst, result)
            self.assertGreater(result['ram']['transferred'], SHARED)


class NoSharedBlockTest(MigrationTestCase):

    def test_option_on_without_shared_blocks(self):
        # Private memory only (a memfd, shared but nameless, included):
        # x-ignore-shared leaves nothing out.
        args = ['-object', 'memory-backend-memfd,id=m0,size=32M',
                '-machine', 'memory-backend=m0']
        with src_vm(*(args + BUSY)) as src, \
                dst_vm(*args, incoming='tcp:127.0.0.1:0') as dst:
            result = self.migrate(src, listen_uri(dst), config=IGNORE)
            self.assert_completed(src, dst, result)
            # Every page arrived (some more than once).
            dinfo = info(dst)['ram']
            self.assertGreaterEqual(dinfo['normal'] + dinfo['duplicate'],
                                    32 * MiB // 4096)


if __name__ == '__main__':
    vmig_harness.main()
