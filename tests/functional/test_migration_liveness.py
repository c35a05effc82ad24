#!/usr/bin/env python3
"""liveness-timeout: both ends of a migration find a dead or hostile
peer within the bound (docs/devel/migration-protocol.md section 6.14),
and only then.  A link frozen without a reset (mig_relay.TcpRelay), a
destination stopped with SIGSTOP, a source paused before switchover
that sends nothing but its heartbeat, and a peer that dribbles a byte
at a time after its HELLO was accepted.

Bounds are asserted loosely (four times the timeout) so that a loaded
machine does not fail them; without the heartbeat and the rule every
one of these migrations would hang until the test's own timeout."""

import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from mig_relay import TcpRelay  # noqa: E402
from migration_helpers import (FINAL, LIVENESS, REC_ACCEPT,  # noqa: E402
                               REC_HELLO, STREAM_HEADER, MigrationTestCase,
                               StreamReader, digest, dst_vm, info,
                               listen_uri, port_of, record, src_vm,
                               wait_status, warm_up)
from vmig_harness import wait_for  # noqa: E402

MiB = 1 << 20
# Generous: a loaded machine must not fail the test, a hang must.
BOUND = 4 * LIVENESS + 2
BUSY = ['-workload', 'rate=32M,pattern=random,content=text,seed=11']
# Slow enough to still be migrating when the link is frozen.
SLOW = {'liveness-timeout': LIVENESS, 'max-bandwidth': 4 * MiB}


def sent(vm):
    i = info(vm)
    assert i['status'] == 'active', i
    return i.get('ram', {}).get('transferred', 0)


class LivenessTest(MigrationTestCase):

    def deferred_dst(self):
        """A destination on tcp that survives a failed migration."""
        dst = dst_vm(incoming='defer').launch()
        dst.cmd('migrate-incoming', uri='tcp:127.0.0.1:0',
                exit_on_error=False)
        return dst

    def assert_failed_within(self, vm, since, message):
        result = wait_status(vm, 'failed', timeout=BOUND + 30)
        self.assertLess(time.monotonic() - since, BOUND, result)
        self.assertIn(message, result['error-desc'])
        return result

    def retry_completes(self, src):
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst:
            result = self.migrate(src, listen_uri(dst),
                                  config={'liveness-timeout': LIVENESS})
            self.assert_completed(src, dst, result)

    def test_frozen_link(self):
        """Nothing passes, nothing is closed: both ends give up."""
        for multifd in (False, True):
            cfg = dict(SLOW, multifd=multifd)
            with self.subTest(multifd=multifd), self.deferred_dst() as dst, \
                    src_vm(*BUSY) as src:
                relay = TcpRelay(port_of(listen_uri(dst)))
                try:
                    warm_up(src)
                    src.cmd('migrate', uri='tcp:127.0.0.1:%d' % relay.port,
                            config=cfg)
                    wait_status(src, 'active')
                    wait_for(lambda: sent(src) > 2 * MiB,
                             what='some pages sent')
                    relay.freeze()
                    frozen = time.monotonic()
                    self.assert_failed_within(
                        src, frozen, 'no reply from the destination for '
                        '%d s' % LIVENESS)
                    self.assert_failed_within(
                        dst, frozen, 'no data from the source for '
                        '%d s' % LIVENESS)
                    self.assert_source_runs(src)
                    self.retry_completes(src)
                    self.assert_no_crash(src, dst)
                finally:
                    relay.close()

    def test_destination_stopped(self):
        """A destination that stops reading (SIGSTOP) fails the source,
        which keeps its guest running with the same memory."""
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            warm_up(src)
            src.cmd('migrate', uri=listen_uri(dst), config=SLOW)
            wait_status(src, 'active')
            dst.proc.send_signal(signal.SIGSTOP)
            try:
                stopped = time.monotonic()
                self.assert_failed_within(
                    src, stopped, 'no reply from the destination for '
                    '%d s' % LIVENESS)
            finally:
                dst.proc.send_signal(signal.SIGCONT)
            self.assert_source_runs(src)
            # The guest's memory is its own again: a digest is stable
            # once it is stopped.
            src.cmd('stop')
            self.assertEqual(digest(src), digest(src))
            src.cmd('cont')
            self.retry_completes(src)
            self.assert_no_crash(src)

    def test_paused_source_stays_alive(self):
        """Paused before switchover, the source sends no data for many
        liveness periods: the heartbeat keeps both ends going."""
        cfg = {'liveness-timeout': 1, 'pause-before-switchover': True}
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            warm_up(src)
            src.cmd('migrate', uri=listen_uri(dst), config=cfg)
            wait_status(src, 'pre-switchover')
            time.sleep(4)
            self.assertEqual(info(src)['status'], 'pre-switchover')
            self.assertEqual(info(dst)['status'], 'active')
            src.cmd('migrate-continue', state='pre-switchover')
            self.assert_completed(src, dst, wait_status(src, FINAL))

    def test_dribbling_source(self):
        """A peer whose HELLO was accepted, then sends a byte a second,
        is failed within the bound and the destination takes the next
        source."""
        with socket.socket() as lsn, self.deferred_dst() as dst, \
                src_vm(*BUSY) as src:
            # A real source's HELLO, which this destination accepts.
            lsn.bind(('127.0.0.1', 0))
            lsn.listen(1)
            src.cmd('migrate', uri='tcp:127.0.0.1:%d' % lsn.getsockname()[1],
                    config={'liveness-timeout': LIVENESS})
            conn, _ = lsn.accept()
            with conn:
                reader = StreamReader(conn)
                reader.header()
                rtype, hello = reader.record()
                self.assertEqual(rtype, REC_HELLO)
            src.cmd('migrate_cancel')
            wait_status(src, FINAL)
            with socket.create_connection(
                    ('127.0.0.1', port_of(listen_uri(dst)))) as peer:
                peer.sendall(STREAM_HEADER + record(REC_HELLO, hello))
                reader = StreamReader(peer)
                reader.header()
                self.assertEqual(reader.record()[0], REC_ACCEPT)
                start = time.monotonic()
                # The start of a SYNC record, a byte a second.
                sent = 0
                while info(dst)['status'] != 'failed' and \
                        time.monotonic() - start < BOUND + 30:
                    try:
                        peer.sendall(b'\0\0\0\x12\0\0\0\x08'[sent % 8:
                                                             sent % 8 + 1])
                    except OSError:
                        break
                    sent += 1
                    time.sleep(1)
                self.assert_failed_within(dst, start,
                                          'no data from the source for '
                                          '%d s' % LIVENESS)
            # The destination waits for the next source.
            wait_for(lambda: listen_uri(dst))
            with src_vm(*BUSY, name='src2') as src2:
                result = self.migrate(src2, listen_uri(dst))
                self.assert_completed(src2, dst, result)
            self.assert_no_crash(dst)


if __name__ == '__main__':
    vmig_harness.main()
