#!/usr/bin/env python3
"""Live migration end to end over every transport: tcp (IPv4 and IPv6),
unix, fd: (a socket pair passed to both ends with getfd), exec: (on both
ends, and a destination reading a file through a command), the
structured channels form, and a migrated VM migrating on.  The source
guest writes memory throughout; each test proves with x-query-vm-digest
that the destination holds exactly the source's state."""

import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from migration_helpers import (BUSY, RELAY, MigrationTestCase,  # noqa: E402
                               digest, dst_vm, have_ipv6, info,
                               listen_uri, src_vm, wait_status)


class SocketTransportTest(MigrationTestCase):

    def run_over(self, incoming):
        with dst_vm(incoming=incoming) as dst, src_vm(*BUSY) as src:
            uri = listen_uri(dst)
            result = self.migrate(src, uri)
            self.assert_completed(src, dst, result)
            # The figures of a migration that moved the whole guest.
            ram = result['ram']
            self.assertEqual(ram['total'], 32 << 20)
            self.assertEqual(ram['remaining'], 0)
            self.assertEqual(ram['page-size'], 4096)
            self.assertGreaterEqual(ram['normal'] + ram['duplicate'],
                                    (32 << 20) // 4096)
            self.assertGreater(ram['transferred'], ram['normal-bytes'])
            for key in ('total-time', 'setup-time', 'downtime'):
                self.assertGreaterEqual(result[key], 0, key)
            self.assertNotIn('error-desc', result)
            # Completed, the destination listens no more.
            self.assertNotIn('socket-address', info(dst))
            src.shutdown()
            dst.shutdown()
            self.assert_no_crash(src, dst)

    def test_tcp_port_0(self):
        self.run_over('tcp:127.0.0.1:0')

    @unittest.skipUnless(have_ipv6(), 'no IPv6 on this host')
    def test_tcp_ipv6(self):
        self.run_over('tcp:[::1]:0')

    def test_unix(self):
        with dst_vm(incoming='defer') as dst:
            path = os.path.join(dst.tmpdir, 'mig.sock')
            self.assertEqual(dst.cmd('migrate-incoming', uri='unix:' + path),
                             {})
            self.assertEqual(info(dst)['socket-address'],
                             [{'type': 'unix', 'path': path}])
            with src_vm(*BUSY) as src:
                result = self.migrate(src, 'unix:' + path)
                self.assert_completed(src, dst, result)

    def test_channels_form(self):
        with dst_vm(incoming='defer') as dst, src_vm(*BUSY) as src:
            path = os.path.join(dst.tmpdir, 'chan.sock')
            addr = {'transport': 'socket', 'type': 'unix', 'path': path}
            dst.cmd('migrate-incoming',
                    channels=[{'channel-type': 'main', 'addr': addr}])
            result = self.migrate(src, channels=[{'channel-type': 'main',
                                                  'addr': addr}])
            self.assert_completed(src, dst, result)

    def test_destination_paused_with_S(self):
        with dst_vm('-S', incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            result = self.migrate(src, listen_uri(dst))
            self.assert_completed(src, dst, result, dst_state='paused')
            dst.cmd('cont')
            self.assertEqual(dst.cmd('query-status')['status'], 'running')

    def test_migrated_vm_migrates_on(self):
        # A destination owns the VM afterwards, so it can be a source.
        with dst_vm(incoming='tcp:127.0.0.1:0', name='b') as b, \
                src_vm(*BUSY, name='a') as a:
            self.assert_completed(a, b, self.migrate(a, listen_uri(b)))
            b.cmd('x-workload-set', rate=32 << 20, pattern='random')
            with dst_vm(incoming='tcp:127.0.0.1:0', name='c') as c:
                self.assert_completed(b, c, self.migrate(b, listen_uri(c)))
                self.assertEqual(c.cmd('x-query-log'), b.cmd('x-query-log'))


class FdTransportTest(MigrationTestCase):

    def test_fd_socketpair(self):
        left, right = socket.socketpair()
        with dst_vm(incoming='defer') as dst, src_vm(*BUSY) as src:
            src.qmp.cmd('getfd', fds=[left.fileno()], fdname='mig')
            dst.qmp.cmd('getfd', fds=[right.fileno()], fdname='mig')
            left.close()
            right.close()
            dst.cmd('migrate-incoming', uri='fd:mig')
            result = self.migrate(src, 'fd:mig')
            self.assert_completed(src, dst, result)

    def test_fd_unknown_name(self):
        with src_vm(*BUSY) as src:
            src.cmd('migrate', uri='fd:nosuch')
            result = wait_status(src, 'failed')
            self.assertIn("'nosuch'", result['error-desc'])
            self.assert_source_runs(src)


class ExecTransportTest(MigrationTestCase):

    def test_exec_both_ends(self):
        with dst_vm(incoming='defer') as dst, src_vm(*BUSY) as src:
            path = os.path.join(dst.tmpdir, 'relay.sock')
            cmd = '%s %s %%s %s' % (sys.executable, RELAY, path)
            dst.cmd('migrate-incoming', uri='exec:' + cmd % 'listen')
            result = self.migrate(src, 'exec:' + cmd % 'connect')
            self.assert_completed(src, dst, result)
            src.shutdown()
            dst.shutdown()

    def test_exec_incoming_reads_a_file(self):
        with src_vm(*BUSY) as src:
            path = os.path.join(src.tmpdir, 'state')
            self.assertEqual(self.migrate(src, 'file:' + path)['status'],
                             'completed')
            with dst_vm(incoming='exec:cat ' + path) as dst:
                dinfo = wait_status(dst, ('completed', 'failed'))
                self.assertEqual(dinfo['status'], 'completed', dinfo)
                self.assertEqual(dst.cmd('query-status')['status'],
                                 'running')
                self.assertEqual(digest(src), digest(dst))

    def test_exec_command_fails(self):
        with src_vm(*BUSY) as src:
            src.cmd('migrate', uri='exec:exit 3')
            result = wait_status(src, 'failed')
            self.assertIn('exec:exit 3', result['error-desc'])
            self.assert_source_runs(src)


if __name__ == '__main__':
    vmig_harness.main()
