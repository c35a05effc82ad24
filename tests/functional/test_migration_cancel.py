#!/usr/bin/env python3
"""Ending a migration early: migrate_cancel in every phase (while
connecting, during the handshake, active, pre-switchover, device), a
destination that dies or cannot be reached.  In each case the source ends
"cancelled" or "failed" with the reason, its guest runs (again) and
writes, and a destination left behind fails cleanly."""

import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from migration_helpers import (FINAL, MigrationTestCase, dst_vm,  # noqa: E402
                               free_tcp_port, info, listen_staying,
                               listen_uri, src_vm,
                               warm_up, wait_status)
from vmig_harness import QMPError, wait_for  # noqa: E402

MiB = 1 << 20
FAST = ['-workload', 'rate=32M,pattern=random,content=text,seed=9']
SLOW = {'max-bandwidth': 4 * MiB}


def events(vm):
    return [e['data']['status'] for e in vm.qmp.events
            if e['event'] == 'MIGRATION']


class HangingListener:
    """A TCP port whose accept queue is full: connecting to it hangs."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.bind(('127.0.0.1', 0))
        self.srv.listen(0)
        self.port = self.srv.getsockname()[1]
        self.fill = []
        for _ in range(4):
            c = socket.socket()
            c.setblocking(False)
            try:
                c.connect(('127.0.0.1', self.port))
            except BlockingIOError:
                pass
            self.fill.append(c)
        time.sleep(0.1)

    def close(self):
        for c in self.fill:
            c.close()
        self.srv.close()


class CancelTest(MigrationTestCase):

    def assert_cancelled(self, src):
        result = wait_status(src, FINAL)
        self.assertEqual(result['status'], 'cancelled', result)
        self.assertNotIn('error-desc', result)
        self.assert_source_runs(src)
        return result

    def test_cancel_while_connecting(self):
        hang = HangingListener()
        try:
            with src_vm(*FAST) as src:
                src.cmd('migrate-set-config', events=True)
                t0 = time.monotonic()
                src.cmd('migrate', uri='tcp:127.0.0.1:%d' % hang.port)
                # The monitor answers while the connection hangs.
                self.assertEqual(info(src)['status'], 'setup')
                self.assertLess(time.monotonic() - t0, 5)
                self.assertEqual(src.cmd('migrate_cancel'), {})
                self.assert_cancelled(src)
                self.assertEqual(events(src), ['setup', 'cancelling',
                                               'cancelled'])
                hang.close()
                hang = None
                # Nothing of it is left to disturb the next migration.
                with dst_vm(incoming='tcp:127.0.0.1:0') as dst:
                    self.assert_completed(src, dst,
                                          self.migrate(src, listen_uri(dst)))
        finally:
            if hang:
                hang.close()

    def test_cancel_in_handshake(self):
        # Accepts, then never answers the HELLO.
        with socket.socket() as srv, src_vm(*FAST) as src:
            srv.bind(('127.0.0.1', 0))
            srv.listen(1)
            src.cmd('migrate', uri='tcp:127.0.0.1:%d' % srv.getsockname()[1])
            conn, _ = srv.accept()
            conn.recv(16)
            self.assertEqual(info(src)['status'], 'setup')
            src.cmd('migrate_cancel')
            self.assert_cancelled(src)
            conn.close()

    def test_cancel_active(self):
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*FAST) as src:
            # Written RAM to send, or it is over before "active" is seen.
            warm_up(src)
            src.cmd('migrate', uri=listen_uri(dst), config=SLOW)
            wait_status(src, 'active')
            self.assertEqual(wait_status(dst, 'active')['status'], 'active')
            src.cmd('migrate_cancel')
            self.assert_cancelled(src)
            # The destination learns it and gives up (exit-on-error).
            self.assertEqual(dst.wait_exit(), 1)
            self.assertIn('the source cancelled the migration',
                          dst.stderr_text())
            self.assert_no_crash(src, dst)

    def test_retry_after_cancel(self):
        with dst_vm(incoming='defer') as dst, src_vm(*FAST) as src:
            uri = listen_staying(dst)
            warm_up(src)
            src.cmd('migrate', uri=uri, config=SLOW)
            wait_status(dst, 'active')
            src.cmd('migrate_cancel')
            self.assert_cancelled(src)
            dinfo = wait_status(dst, 'failed')
            self.assertIn('cancelled', dinfo['error-desc'])
            self.assertEqual(dst.cmd('query-status')['status'], 'inmigrate')
            # Still listening: the next attempt goes through.
            self.assertEqual(listen_uri(dst), uri)
            result = self.migrate(src, uri, config={'max-bandwidth': 0})
            self.assert_completed(src, dst, result)

    def test_cancel_blocked_write(self):
        # A destination that stopped reading holds a write part-way
        # through a record; it reads again just after the cancel.  The
        # source finishes the record, then says why: the destination is
        # told "cancelled", not handed a record cut in half.
        with dst_vm(mem='512M', incoming='defer') as dst, \
                src_vm(*FAST, mem='512M') as src:
            uri = listen_staying(dst)
            warm_up(src, writes=16384)
            src.cmd('migrate', uri=uri, config={'max-bandwidth': 0})
            wait_status(src, 'active')
            dst.proc.send_signal(signal.SIGSTOP)
            try:
                wait_for(lambda: self.send_stalled(src),
                         what='the source blocked on a full socket')
                src.cmd('migrate_cancel')
            finally:
                dst.proc.send_signal(signal.SIGCONT)
            self.assert_cancelled(src)
            dinfo = wait_status(dst, 'failed')
            self.assertIn('the source cancelled the migration',
                          dinfo['error-desc'])
            self.assert_no_crash(src, dst)

    def send_stalled(self, src):
        """Whether the source's count of bytes sent stood still over two
        samples 0.3 s apart (at loopback speed its socket fills within
        milliseconds of the destination stopping; the count is published
        after each slice of sending, so may stay 0 while blocked)."""
        sent = info(src).get('ram', {}).get('transferred', 0)
        time.sleep(0.3)
        return info(src).get('ram', {}).get('transferred', 0) == sent

    def test_cancel_pre_switchover(self):
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*FAST) as src:
            warm_up(src)
            src.cmd('migrate', uri=listen_uri(dst),
                    config={'pause-before-switchover': True})
            wait_status(src, 'pre-switchover')
            self.assertEqual(src.cmd('query-status')['status'],
                             'finish-migrate')
            src.cmd('migrate_cancel')
            self.assert_cancelled(src)
            self.assertEqual(dst.wait_exit(), 1)

    def test_cancel_device(self):
        # A destination that stops reading holds the source in "device":
        # the last pages are more than the socket's buffer.
        cfg = {'pause-before-switchover': True, 'downtime-limit': 2000000,
               'max-bandwidth': 16 * MiB}
        with dst_vm(mem='64M', incoming='defer') as dst, \
                src_vm(*FAST, mem='64M') as src:
            path = os.path.join(dst.tmpdir, 'mig.sock')
            dst.cmd('migrate-incoming', uri='unix:' + path)
            warm_up(src, writes=8192)
            src.cmd('migrate', uri='unix:' + path, config=cfg)
            wait_status(src, 'pre-switchover')
            dst.proc.send_signal(signal.SIGSTOP)
            try:
                src.cmd('migrate-continue', state='pre-switchover')
                wait_status(src, 'device')
                time.sleep(0.3)
                self.assertEqual(info(src)['status'], 'device')
                src.cmd('migrate_cancel')
                self.assert_cancelled(src)
            finally:
                dst.proc.send_signal(signal.SIGCONT)
            self.assertEqual(dst.wait_exit(), 1)
            self.assertIn('incoming migration failed', dst.stderr_text())
            self.assert_no_crash(src, dst)

    def test_destination_dies(self):
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*FAST) as src:
            warm_up(src)
            src.cmd('migrate', uri=listen_uri(dst), config=SLOW)
            wait_status(src, 'active')
            dst.kill()
            result = wait_status(src, FINAL)
            self.assertEqual(result['status'], 'failed', result)
            # A reset or an end of stream, depending on what was unread.
            self.assertRegex(result['error-desc'],
                             'The destination closed the connection|'
                             'The connection to the destination failed: '
                             '.*Connection reset by peer')
            self.assert_source_runs(src)
            # The guest's state is all there: it migrates elsewhere.
            with dst_vm(incoming='tcp:127.0.0.1:0', name='dst2') as dst2:
                result = self.migrate(src, listen_uri(dst2),
                                      config={'max-bandwidth': 0})
                self.assert_completed(src, dst2, result)

    def test_unreachable_destination(self):
        with src_vm(*FAST) as src:
            src.cmd('migrate', uri='tcp:127.0.0.1:%d' % free_tcp_port())
            result = wait_status(src, FINAL)
            self.assertEqual(result['status'], 'failed')
            self.assertIn('Connection refused', result['error-desc'])
            self.assert_source_runs(src)

    def test_commands_outside_a_migration(self):
        with src_vm(*FAST) as src:
            self.assertEqual(info(src), {})
            self.assertEqual(src.cmd('migrate_cancel'), {})
            self.assertEqual(info(src), {})
            with dst_vm(incoming='tcp:127.0.0.1:0') as dst:
                warm_up(src)
                src.cmd('migrate', uri=listen_uri(dst), config=SLOW)
                with self.assertRaises(QMPError) as ctx:
                    src.cmd('migrate', uri=listen_uri(dst))
                self.assertIn('in progress', ctx.exception.desc)
                src.cmd('migrate_cancel')
                self.assert_cancelled(src)
                # Cancelled after its HELLO, the migration fails on the
                # destination, which exits (exit-on-error); before, the
                # connection was a stranger (it sent the stream header
                # only), dropped, and it waits on.
                wait_for(lambda: dst.proc.poll() is not None or
                         'it closed after the stream header' in
                         dst.stderr_text(), what='the destination done '
                         'with the connection')


if __name__ == '__main__':
    vmig_harness.main()
