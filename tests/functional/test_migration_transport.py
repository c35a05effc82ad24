#!/usr/bin/env python3
"""Live migration end to end over every transport: tcp (IPv4 and IPv6),
unix, fd: (a socket pair passed to both ends with getfd), exec: (on both
ends, a destination reading a file through a command, and a source whose
command only consumes the stream: cat or gzip into a file, protocol
section 7), the structured channels form, and a migrated VM migrating
on.  The source
guest writes memory throughout; each test proves with x-query-vm-digest
that the destination holds exactly the source's state."""

import os
import socket
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from migration_helpers import (BUSY, FINAL, HELLO_REPLY_OPTIONAL,  # noqa
                               REC_END, REC_HELLO, REC_ONE_WAY, RELAY,
                               STREAM_HEADER, MigrationTestCase, digest,
                               dst_vm, have_ipv6, info, launched,
                               listen_uri, src_vm, wait_status)
from mig_relay import Rendezvous  # noqa: E402


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

    def test_fd_number_of_vmigs_own_socket_refused(self):
        # Every socket an idle vmig has open is its own (QMP listener and
        # connection): "fd:N" must never hand one of them to a migration.
        with src_vm(*BUSY) as src:
            pid = src.proc.pid
            own = []
            for name in os.listdir('/proc/%d/fd' % pid):
                try:
                    target = os.readlink('/proc/%d/fd/%s' % (pid, name))
                except OSError:
                    continue
                if target.startswith('socket:'):
                    own.append(int(name))
            self.assertGreaterEqual(len(own), 2, own)
            for fd in own:
                with self.subTest(fd=fd):
                    src.cmd('migrate', uri='fd:%d' % fd)
                    result = wait_status(src, 'failed')
                    self.assertIn("Descriptor %d is one of vmig's own "
                                  "sockets" % fd, result['error-desc'])
            self.assertEqual(src.cmd('query-status')['status'], 'running')
            self.assert_source_runs(src)

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
            rendezvous = Rendezvous(path)
            cmd = 'exec:%s %s %s' % (sys.executable, RELAY, path)
            try:
                dst.cmd('migrate-incoming', uri=cmd)
                result = self.migrate(src, cmd)
                self.assert_completed(src, dst, result)
                src.shutdown()
                dst.shutdown()
            finally:
                rendezvous.close()

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


def records(data):
    """The (type, body) records of a whole v2 stream after its header."""
    pos, out = 16, []
    while pos < len(data):
        rtype, length = struct.unpack_from('>II', data, pos)
        out.append((rtype, data[pos + 8:pos + 8 + length]))
        pos += 8 + length + (-length % 8)
    return out


class ExecOneWayTest(MigrationTestCase):
    """exec: of a command that never answers: the source does not wait
    for the handshake's answer (REPLY_OPTIONAL), says ONE_WAY before END,
    and completes when the command exits 0, as file: does when closing
    succeeds."""

    def source(self, workload=BUSY):
        # An answer that never comes could only end with this timeout,
        # far beyond the harness's waits: completing at all proves that
        # the source did not wait for it.
        return launched(src_vm(*workload),
                        VMIG_TEST_HANDSHAKE_TIMEOUT_MS='600000')

    def save(self, src, cmd):
        """Migrates the running, writing guest @src to exec:@cmd."""
        result = self.migrate(src, 'exec:' + cmd)
        self.assertEqual(result['status'], 'completed', result)
        self.assertNotIn('error-desc', result)
        self.assertEqual(src.cmd('query-status')['status'], 'postmigrate')
        self.assertGreater(result['ram']['normal'], 0)

    def load(self, src, incoming):
        with dst_vm(incoming=incoming) as dst:
            dinfo = wait_status(dst, FINAL)
            self.assertEqual(dinfo['status'], 'completed', dinfo)
            self.assertEqual(dst.cmd('query-status')['status'], 'running')
            self.assertEqual(digest(src), digest(dst))
            dst.shutdown()
            self.assert_no_crash(dst)

    def test_cat_into_a_file(self):
        with self.source() as src:
            path = os.path.join(src.tmpdir, 'state')
            self.save(src, 'cat > ' + path)
            with open(path, 'rb') as f:
                data = f.read()
            # Self-describing: the HELLO says an answer was optional, the
            # stream that none came.
            self.assertEqual(data[:16], STREAM_HEADER)
            recs = records(data)
            self.assertEqual(recs[0][0], REC_HELLO)
            min_v, max_v, flags = struct.unpack_from('>III', recs[0][1])
            self.assertEqual(min_v, max_v)
            self.assertEqual(flags, HELLO_REPLY_OPTIONAL)
            self.assertEqual([r[0] for r in recs[-2:]],
                             [REC_ONE_WAY, REC_END])
            self.load(src, 'file:' + path)
            self.load(src, 'exec:cat ' + path)
            self.assert_no_crash(src)

    def test_gzip(self):
        # Still writing, but slower than the fastest gzip compresses.
        slower = ['-workload', 'rate=8M,pattern=random,content=text,seed=5']
        with self.source(slower) as src:
            path = os.path.join(src.tmpdir, 'state.gz')
            self.save(src, 'gzip -1 -c > ' + path)
            with open(path, 'rb') as f:
                self.assertEqual(f.read(2), b'\x1f\x8b')
            self.load(src, 'exec:gzip -dc ' + path)

    def test_command_fails(self):
        cmd = 'cat > /nonexistent/dir/state'
        with self.source() as src:
            result = self.migrate(src, 'exec:' + cmd)
            self.assertEqual(result['status'], 'failed', result)
            self.assertIn("Command '%s' exited with status" % cmd,
                          result['error-desc'])
            self.assert_source_runs(src)
            self.assert_no_crash(src)

if __name__ == '__main__':
    vmig_harness.main()
