#!/usr/bin/env python3
"""The fault suite, a bad link or a full disk: the link between the
source's and the destination's network namespaces cut without an RST
(iptables DROP both ways), with or without the source then vanishing;
a slow link (10 MB/s) and a long one (200 ms added each way) through
mig_relay.py, on which migrations complete; a "file:" save onto a full
file system.  The checks are fault_case.py's."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from fault_case import (SILENT_DESTINATION, SILENT_SOURCE,  # noqa: E402
                        FaultTestCase, MiB, ram, scratch_dir)
from migration_helpers import (FINAL, info, listen_uri,  # noqa: E402
                               wait_status, warm_up)
from vmig_harness import Vmig, stretched, wait_for  # noqa: E402

SLOW_RATE = 10 * 1000 * 1000            # bytes per second
DELAY_MS = 200


class LinkCutTest(FaultTestCase):

    def start_migration(self, src, dst):
        src.cmd('migrate-set-config', max_bandwidth=8 * MiB)
        src.cmd('migrate', uri=listen_uri(dst))
        wait_for(lambda: info(dst).get('status') == 'active' and
                 ram(src).get('transferred', 0) > MiB,
                 what='the first pass under way')

    def test_cut_without_rst(self):
        src, dst = self.source(), self.destination()
        self.require_liveness(src)
        warm_up(src)
        before = self.freeze_guest(src)
        self.start_migration(src, dst)
        self.net.cut()
        since = time.monotonic()
        # Both ends notice the silence on their own.
        self.assert_failed(src, since, *SILENT_DESTINATION)
        self.assert_failed(dst, since, *SILENT_SOURCE)
        self.net.mend()
        self.assert_intact(src, before)
        src.cmd('migrate-set-config', max_bandwidth=0)
        self.assert_retry_completes(src)

    def test_connect_into_a_cut_link(self):
        """A destination whose SYNs are dropped: the connect is bounded
        by the handshake timeout (2 s here; multifd channels connect
        through the same call)."""
        src = self.source(prefix=self.net.src.prefix() + [
            'env', 'VMIG_TEST_HANDSHAKE_TIMEOUT_MS=2000'])
        dst = self.destination()
        before = self.freeze_guest(src)
        self.net.cut()
        since = time.monotonic()
        src.cmd('migrate', uri=listen_uri(dst))
        self.assert_failed(src, since, 'timed out')
        self.net.mend()
        self.assert_intact(src, before)

    def test_source_vanishes_silently(self):
        src, dst = self.source(), self.destination()
        self.require_liveness(src)
        warm_up(src)
        self.start_migration(src, dst)
        # The kernel's FIN for the killed source never arrives.
        self.net.cut()
        src.kill()
        since = time.monotonic()
        self.assert_failed(dst, since, *SILENT_SOURCE)
        self.assertEqual(dst.cmd('query-status')['status'], 'inmigrate')
        self.net.mend()
        self.assert_retry_completes(self.source(name='src2'))


class SlowLinkTest(FaultTestCase):

    def migrate_through_relay(self, *relay_opts):
        src, dst = self.source(), self.destination()
        _, uri = self.relay(listen_uri(dst), *relay_opts)
        warm_up(src)
        self.freeze_guest(src)      # so that a slow link converges
        result = self.migrate(src, uri, timeout=stretched(60))
        self.assert_completed(src, dst, result)
        self.assert_no_crash(src, dst)
        return result

    def test_slow_link(self):
        result = self.migrate_through_relay('--rate', str(SLOW_RATE))
        # The link was as slow as it should be (the test tested
        # something): the source completes only once the destination
        # has had all of the stream, which the relay passes on no
        # faster than SLOW_RATE (give or take a piece).
        sent = result['ram']['transferred'] - 64 * 1024
        self.assertGreaterEqual(result['total-time'],
                                1000 * sent / SLOW_RATE)

    def test_added_latency(self):
        result = self.migrate_through_relay('--delay-ms', str(DELAY_MS))
        # The handshake alone is a round trip.
        self.assertGreaterEqual(result['setup-time'], 2 * DELAY_MS)


class FullDiskTest(FaultTestCase):

    def test_file_on_full_disk(self):
        # A file system smaller than the save, visible to this source
        # only: a tmpfs in a mount namespace of its own.
        small = scratch_dir(self)
        mount = ('mount -t tmpfs -o size=4m vmig-fault "$0" && exec "$@"')
        src = self.source(prefix=['unshare', '-m', '--propagation',
                                  'private', 'sh', '-c', mount, small])
        warm_up(src)
        before = self.freeze_guest(src)
        since = time.monotonic()
        src.cmd('migrate', uri='file:' + os.path.join(small, 'state'))
        self.assert_failed(src, since, 'no space')
        self.assert_intact(src, before)
        # The same save where there is room, loaded by a fresh vmig.
        path = os.path.join(scratch_dir(self), 'state')
        result = self.migrate(src, 'file:' + path)
        self.assertEqual(result['status'], 'completed', result)
        dst = self._started(Vmig(name='dst', args=['-m', src.args[1],
                                                   '-incoming',
                                                   'file:' + path]))
        self.assertEqual(wait_status(dst, FINAL)['status'], 'completed')
        self.assert_completed(src, dst, result)


if __name__ == '__main__':
    vmig_harness.main()
