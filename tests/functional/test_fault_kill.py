#!/usr/bin/env python3
"""The fault suite, one end gone: the destination killed (SIGKILL) in
each phase of a migration (handshake, first pass, a later pass, device
state) or stopped (SIGSTOP) past the liveness period, and the source
killed mid-stream.  Source and destination run in network namespaces
of their own (fault_net.py); the checks are fault_case.py's."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from fault_case import (GONE, SILENT_DESTINATION, FaultTestCase, MiB,  # noqa: E402
                        ram)
from migration_helpers import (REC_DEVICE_STATE, info,  # noqa: E402
                               listen_uri, wait_status, warm_up)
from vmig_harness import wait_for  # noqa: E402


class DestinationKilledTest(FaultTestCase):

    def kill_dst_when(self, src, dst, ready, what):
        """Waits for ready() (with the source's migration still on),
        freezes the guest, kills the destination; checks the aftermath."""
        wait_for(ready, what=what)
        before = self.freeze_guest(src)
        self.assertIn(info(src)['status'], ('setup', 'active'))
        since = time.monotonic()
        dst.kill()
        self.assert_failed(src, since, *GONE)
        self.assert_intact(src, before)
        src.cmd('migrate-set-config', max_bandwidth=0)
        self.assert_retry_completes(src)

    def test_in_handshake(self):
        src, dst = self.source(), self.destination()
        uri = listen_uri(dst)
        port = uri.rsplit(':', 1)[1]
        warm_up(src)
        # The kernel accepts the connection of a stopped destination:
        # the source sends its HELLO and waits for the answer.
        os.kill(dst.proc.pid, signal.SIGSTOP)
        src.cmd('migrate', uri=uri)

        def connected():
            out = self.net.src.run('ss', '-Htn', 'state', 'established',
                                   'dport', '=', ':' + port)
            return out.strip() and info(src)['status'] == 'setup'
        self.kill_dst_when(src, dst, connected, 'the source in handshake')

    def test_in_first_pass(self):
        src, dst = self.source(), self.destination()
        warm_up(src)
        src.cmd('x-workload-set', rate=0)
        src.cmd('migrate-set-config', max_bandwidth=8 * MiB)
        src.cmd('migrate', uri=listen_uri(dst))
        self.kill_dst_when(
            src, dst,
            lambda: (ram(src).get('iteration') == 1 and
                     ram(src).get('transferred', 0) > MiB),
            'the first pass under way')

    def test_in_later_pass(self):
        src, dst = self.source(), self.destination()
        warm_up(src)
        # The workload dirties pages faster than 16 MiB/s carries them:
        # no switchover before the test kills.
        src.cmd('migrate-set-config', max_bandwidth=16 * MiB,
                downtime_limit=1)
        src.cmd('migrate', uri=listen_uri(dst))

        def later_pass():
            if ram(src).get('iteration', 0) < 2:
                return False
            # Slow enough that the pass cannot end while the guest is
            # frozen for its digest.
            src.cmd('migrate-set-config', max_bandwidth=MiB)
            return True
        self.kill_dst_when(src, dst, later_pass, 'a second pass')

    def test_in_device_state(self):
        src, dst = self.source(), self.destination()
        relay, uri = self.relay(listen_uri(dst),
                                '--freeze-at', str(REC_DEVICE_STATE))
        warm_up(src)
        before = self.freeze_guest(src)
        src.cmd('migrate', uri=uri)
        # The relay holds the device state back: the source waits with
        # its guest stopped.
        self.assertEqual(self.relay_line(relay), 'frozen')
        self.assertEqual(wait_status(src, 'device')['status'], 'device')
        since = time.monotonic()
        dst.kill()
        self.assert_failed(src, since, *GONE)
        self.assert_intact(src, before)
        self.assert_retry_completes(src)

    def test_stopped_past_liveness(self):
        src, dst = self.source(), self.destination()
        self.require_liveness(src)
        warm_up(src)
        before = self.freeze_guest(src)
        src.cmd('migrate-set-config', max_bandwidth=8 * MiB)
        src.cmd('migrate', uri=listen_uri(dst))
        wait_for(lambda: ram(src).get('transferred', 0) > MiB,
                 what='the first pass under way')
        os.kill(dst.proc.pid, signal.SIGSTOP)
        since = time.monotonic()
        self.assert_failed(src, since, *SILENT_DESTINATION)
        dst.kill()
        self.assert_intact(src, before)
        src.cmd('migrate-set-config', max_bandwidth=0)
        self.assert_retry_completes(src)


class SourceKilledTest(FaultTestCase):

    def test_mid_stream(self):
        src, dst = self.source(), self.destination()
        warm_up(src)
        src.cmd('migrate-set-config', max_bandwidth=8 * MiB)
        src.cmd('migrate', uri=listen_uri(dst))
        wait_for(lambda: info(dst).get('status') == 'active' and
                 ram(src).get('transferred', 0) > MiB,
                 what='the first pass under way')
        since = time.monotonic()
        src.kill()
        self.assert_failed(dst, since, *GONE)
        # The half-loaded guest does not run.
        self.assertEqual(dst.cmd('query-status')['status'], 'inmigrate')
        self.assert_no_crash(dst)
        # A new source migrates to a fresh destination.
        self.assert_retry_completes(self.source(name='src2'))


if __name__ == '__main__':
    vmig_harness.main()
