#!/usr/bin/env python3
"""Multifd: 1, 2, 4 and 8 channels, every compression method and
zero-page detection mode, with a guest that keeps dirtying memory;
channels that connect in any order; a stranger connecting with a wrong
session id while a migration runs; a destination that dies in the
middle.  Every successful case ends with equal digests."""

import os
import socket
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from migration_helpers import (FINAL, STREAM_HEADER, Trace,  # noqa: E402
                               MigrationTestCase, dst_vm, have_zero_copy,
                               info, listen_staying, listen_uri, record,
                               src_vm, wait_status, warm_up)
from vmig_harness import wait_for  # noqa: E402

MiB = 1 << 20
REC_CHANNEL_HEADER = 4
ROLE_MULTIFD = 1
# Text-like content, so compression has something to do, and zero pages
# left untouched, so zero-page detection does too.
DIRTY = ['-workload', 'rate=8M,pattern=random,content=text,seed=11']


def multifd(channels, **extra):
    cfg = {'multifd': True, 'multifd-channels': channels}
    cfg.update(extra)
    return cfg


class MultifdTest(MigrationTestCase):

    def run_multifd(self, cfg, mem='64M', src_args=(), dst_args=()):
        with dst_vm(*dst_args, mem=mem, incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*(DIRTY + list(src_args)), mem=mem) as src:
            result = self.migrate(src, listen_uri(dst), config=cfg)
            self.assert_completed(src, dst, result)
            self.assert_no_crash(src, dst)
            return result, info(dst), dst.cmd('query-migrate-config')

    def test_channel_counts(self):
        for n in (1, 2, 4, 8):
            with self.subTest(channels=n):
                result, dinfo, dcfg = self.run_multifd(multifd(n))
                # The destination was told nothing but its URI.
                self.assertTrue(dcfg['multifd'])
                self.assertEqual(dcfg['multifd-channels'], n)
                self.assertGreater(result['ram']['normal'], 0)
                # Every channel carried pages, on both ends alike.
                for side in (result, dinfo):
                    m = side['multifd']
                    self.assertEqual(m['channels'], n)
                    self.assertEqual(len(m['channel-bytes']), n)
                    self.assertTrue(all(b > 0 for b in m['channel-bytes']),
                                    m)
                self.assertEqual(result['multifd']['channel-bytes'],
                                 dinfo['multifd']['channel-bytes'])
                self.assertEqual(result['multifd']['packets'],
                                 dinfo['multifd']['packets'])
                self.assertNotIn('compression-ratio', result['multifd'])

    def test_compression(self):
        for method, level in (('none', None), ('zlib', 'multifd-zlib-level'),
                              ('zstd', 'multifd-zstd-level')):
            with self.subTest(method=method):
                cfg = multifd(4, **{'multifd-compression': method})
                if level:
                    cfg[level] = 3
                result, _, dcfg = self.run_multifd(cfg)
                self.assertEqual(dcfg['multifd-compression'], method)
                if method != 'none':
                    # Text compresses: fewer bytes than the pages moved.
                    self.assertLess(result['ram']['transferred'],
                                    result['ram']['normal-bytes'])
                    m = result['multifd']
                    self.assertGreater(m['compression-ratio'], 1.5, m)
                    self.assertAlmostEqual(
                        m['compression-ratio'],
                        m['uncompressed-bytes'] / m['compressed-bytes'])

    def test_zlib_level_reaches_the_channels(self):
        # Level 0 only stores: no batch shrinks, so each goes as it is
        # (test_compression's level 3 compresses text well).
        result, _, dcfg = self.run_multifd(multifd(
            2, **{'multifd-compression': 'zlib', 'multifd-zlib-level': 0}))
        self.assertEqual(dcfg['multifd-zlib-level'], 0)
        m = result['multifd']
        self.assertGreater(m['uncompressed-bytes'], 0, m)
        self.assertEqual(m['compressed-bytes'], m['uncompressed-bytes'], m)

    def test_zero_page_detection(self):
        for mode in ('none', 'legacy', 'multifd'):
            with self.subTest(mode=mode):
                result, _, _ = self.run_multifd(
                    multifd(2, **{'zero-page-detection': mode}))
                if mode == 'none':
                    self.assertEqual(result['ram']['duplicate'], 0)
                else:
                    self.assertGreater(result['ram']['duplicate'], 0)

    @unittest.skipUnless(have_zero_copy(), 'no SO_ZEROCOPY on this host')
    def test_zero_copy_send(self):
        result, _, dcfg = self.run_multifd(
            multifd(2, **{'zero-copy-send': True, 'checksum': 'none'}))
        # Only the source sends: the option stays on its side's meaning.
        self.assertTrue(dcfg['zero-copy-send'])
        self.assertGreater(result['ram']['normal'], 0)

    def test_zero_copy_send_needs_tcp(self):
        with dst_vm(mem='32M', incoming='defer') as dst, \
                src_vm(*DIRTY, mem='32M') as src:
            path = os.path.join(dst.tmpdir, 'zc.sock')
            dst.cmd('migrate-incoming', uri='unix:' + path)
            result = self.migrate(src, 'unix:' + path, config=multifd(
                2, **{'zero-copy-send': True, 'checksum': 'none'}))
            self.assertEqual(result['status'], 'failed', result)
            self.assertIn('does not support zero-copy send',
                          result['error-desc'])
            self.assert_source_runs(src)
            self.assert_no_crash(src, dst)

    def test_cancel_then_retry(self):
        # Cancelled while the channels send; the destination, told not
        # to exit, takes the next attempt, with fresh channels.
        with dst_vm(mem='64M', incoming='defer') as dst, \
                src_vm(*DIRTY, mem='64M') as src:
            uri = listen_staying(dst)
            warm_up(src)    # else over before it is seen active
            src.cmd('migrate', uri=uri, config=multifd(
                4, **{'max-bandwidth': 4 * MiB}))
            wait_status(dst, 'active')
            wait_for(lambda: info(src).get('multifd', {}).get('packets', 0)
                     > 0, what='multifd packets')
            src.cmd('migrate_cancel')
            result = wait_status(src, FINAL)
            self.assertEqual(result['status'], 'cancelled', result)
            self.assert_source_runs(src)
            self.assertIn('cancelled', wait_status(dst, 'failed')
                          ['error-desc'])
            result = self.migrate(src, uri, config=multifd(2))
            self.assert_completed(src, dst, result)
            self.assertEqual(info(dst)['multifd']['channels'], 2)
            self.assert_no_crash(src, dst)

    def test_bandwidth_limited_many_passes(self):
        # A slow link: several passes, each ending with a SYNC barrier
        # on every channel while the guest rewrites pages sent before.
        cfg = multifd(4, **{'max-bandwidth': 16 * MiB,
                            'downtime-limit': 300})
        result, dinfo, _ = self.run_multifd(cfg, mem='32M')
        self.assertGreater(result['ram']['iteration'], 1)

    def test_stranger_with_wrong_session_is_refused(self):
        with dst_vm(mem='128M', incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*DIRTY, mem='128M') as src:
            uri = listen_uri(dst)
            host, port = uri[len('tcp:'):].rsplit(':', 1)
            cfg = multifd(2, **{'max-bandwidth': 32 * MiB})
            warm_up(src)
            src.cmd('migrate', uri=uri, config=cfg)
            wait_status(src, 'active')
            # A channel header for a session that does not exist.
            body = (b'\x42' * 16 + ROLE_MULTIFD.to_bytes(4, 'big') +
                    (0).to_bytes(4, 'big'))
            with socket.create_connection((host, int(port))) as s:
                s.sendall(STREAM_HEADER + record(REC_CHANNEL_HEADER, body))
                s.settimeout(30)
                # The destination closes it without a word.
                self.assertEqual(s.recv(100), b'')
            # And one that sends garbage.
            with socket.create_connection((host, int(port))) as s:
                s.sendall(b'GET / HTTP/1.0\r\n\r\n')
                s.settimeout(30)
                self.assertEqual(s.recv(100), b'')
            src.cmd('migrate-set-config', max_bandwidth=0)
            result = wait_status(src, FINAL)
            self.assert_completed(src, dst, result)
            log = dst.stderr_text()
            self.assertIn('extra channel of an unknown session', log)
            self.assertEqual(log.count('closing connection'), 2, log)
            self.assert_no_crash(src, dst)

    def test_destination_killed_mid_transfer(self):
        with dst_vm(mem='128M', incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*DIRTY, mem='128M') as src:
            before = src.cmd('x-query-workload')['writes']
            cfg = multifd(4, **{'max-bandwidth': 16 * MiB})
            src.cmd('migrate', uri=listen_uri(dst), config=cfg)
            wait_for(lambda: info(src).get('ram', {}).get('transferred', 0)
                     > 4 * MiB, what='some pages sent')
            dst.kill()
            result = wait_status(src, FINAL)
            self.assertEqual(result['status'], 'failed', result)
            self.assertIn('error-desc', result)
            self.assert_source_runs(src)
            self.assertGreater(src.cmd('x-query-workload')['writes'],
                               before)
            self.assert_no_crash(src)


class MappedRamTest(MigrationTestCase):
    """mapped-ram: every page at its own place in the file, written in
    place pass after pass (by several threads with multifd) and read
    back in parallel."""

    def save_restore(self, cfg, offset=0, passes=1):
        with src_vm(*DIRTY, mem='64M') as src:
            path = os.path.join(src.tmpdir, 'state')
            uri = 'file:%s%s' % (path, ',offset=%d' % offset if offset
                                 else '')
            if offset:
                with open(path, 'wb') as f:
                    f.write(b'\x5a' * offset)
            cfg = dict(cfg, **{'mapped-ram': True,
                               'max-bandwidth': 64 * MiB,
                               'downtime-limit': 1})
            self.assertEqual(src.cmd('migrate', uri=uri, config=cfg), {})
            wait_for(lambda: info(src).get('ram', {}).get('iteration', 0)
                     > passes, what='%d passes' % passes)
            src.cmd('migrate-set-config', downtime_limit=60000,
                    max_bandwidth=0)
            result = wait_status(src, FINAL)
            self.assertEqual(result['status'], 'completed', result)
            # Pages have fixed places: the file is at least guest-sized
            # however many passes rewrote them.
            self.assertGreaterEqual(os.path.getsize(path), 64 * MiB)
            if offset:
                with open(path, 'rb') as f:
                    self.assertEqual(f.read(offset), b'\x5a' * offset)
            with dst_vm(mem='64M', incoming=uri) as dst:
                self.assert_completed(src, dst, result)
                dinfo = info(dst)
                self.assertEqual(dinfo['ram']['normal'] +
                                 dinfo['ram']['duplicate'], 16384)
            self.assert_no_crash(src)
            return path, result

    def test_single_thread(self):
        self.save_restore({}, passes=2)

    def test_multifd_threads(self):
        for n in (2, 4):
            with self.subTest(channels=n):
                self.save_restore(multifd(n), passes=2)

    def test_offset(self):
        self.save_restore(multifd(2), offset=12345)

    def test_truncated(self):
        with src_vm(*DIRTY, mem='32M') as src:
            path = os.path.join(src.tmpdir, 'state')
            result = self.migrate(src, 'file:' + path,
                                  config={'mapped-ram': True})
            self.assertEqual(result['status'], 'completed', result)
            size = os.path.getsize(path)
            for keep in (size - 100, 2 * MiB, 200):
                with self.subTest(keep=keep):
                    with open(path, 'r+b') as f:
                        f.truncate(keep)
                    status, out = vmig_harness.run_vmig(
                        ['-m', '32M', '-incoming', 'file:' + path])
                    self.assertEqual(status, 1, out)
                    self.assertIn('incoming migration failed', out)
                    self.assertNotIn('Sanitizer', out)

    def test_compression_refused(self):
        with src_vm(mem='32M') as src:
            with self.assertRaises(vmig_harness.QMPError) as ctx:
                src.cmd('migrate', uri='file:' + os.path.join(src.tmpdir,
                                                              'x'),
                        config=multifd(2, **{'mapped-ram': True,
                                             'multifd-compression':
                                             'zstd'}))
            self.assertIn('mapped-ram', ctx.exception.desc)
            self.assertIn('multifd-compression', ctx.exception.desc)


class OutOfOrderTest(MigrationTestCase):
    """The channels connect through a relay that holds each new
    connection back and lets them through in reverse order, the main
    channel first (it must be: the others open after ACCEPT)."""

    def test_reverse_order(self):
        trace = Trace()
        with trace.launched(dst_vm(mem='64M',
                                   incoming='tcp:127.0.0.1:0')) as dst, \
                src_vm(*DIRTY, mem='64M') as src:
            target = listen_uri(dst)[len('tcp:'):].rsplit(':', 1)
            relay = ReorderingRelay((target[0], int(target[1])), 4, trace)
            try:
                result = self.migrate(src, 'tcp:127.0.0.1:%d' % relay.port,
                                      config=multifd(4))
                self.assert_completed(src, dst, result)
            finally:
                relay.close()
            # The source opens its channels 0 to 3 in turn: the
            # destination bound them last to first.
            self.assertEqual(trace.bound(), [3, 2, 1, 0])
            self.assert_no_crash(src, dst)


class ImpostorTest(MigrationTestCase):
    """A relay that reads the session id from the source's HELLO and
    connects a channel of its own before the real ones: the session id
    is right, so this is the source's session gone wrong, and the
    migration fails with the reason; the source guest keeps running."""

    def run_impostor(self, index):
        trace = Trace()
        with trace.launched(dst_vm(mem='64M',
                                   incoming='tcp:127.0.0.1:0')) as dst, \
                src_vm(*DIRTY, mem='64M') as src:
            target = listen_uri(dst)[len('tcp:'):].rsplit(':', 1)
            relay = InjectingRelay((target[0], int(target[1])), index, trace)
            try:
                result = self.migrate(src, 'tcp:127.0.0.1:%d' % relay.port,
                                      config=multifd(2))
            finally:
                relay.close()
            self.assertEqual(result['status'], 'failed', result)
            self.assert_source_runs(src)
            dst.wait_exit()
            self.assert_no_crash(src, dst)
            return result['error-desc'], dst.stderr_text()

    def test_duplicate_index(self):
        desc, log = self.run_impostor(0)
        self.assertIn('multifd channel 0 connected twice', log)
        self.assertIn('multifd channel 0 connected twice', desc)

    def test_index_out_of_range(self):
        desc, log = self.run_impostor(7)
        self.assertIn('multifd channel index 7 out of range (2 expected)',
                      log)


class Relay:
    """Forwards TCP connections to @target, each in two piping threads;
    subclasses decide when (run()) and may watch the bytes (seen())."""

    def __init__(self, target):
        self.target = target
        self.socks = []
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(('127.0.0.1', 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        try:
            self.run()
        except OSError:
            pass

    def seen(self, conn, towards_target, data):
        pass

    def _pipe(self, conn, a, b, towards_target):
        try:
            while True:
                data = a.recv(1 << 20)
                if not data:
                    break
                self.seen(conn, towards_target, data)
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def forward(self, conn, client):
        up = socket.create_connection(self.target)
        self.socks += [client, up]
        for a, b, towards in ((client, up, True), (up, client, False)):
            threading.Thread(target=self._pipe, args=(conn, a, b, towards),
                             daemon=True).start()

    def close(self):
        self.srv.close()
        for s in self.socks:
            s.close()


class InjectingRelay(Relay):
    """Once the destination has answered the first connection's HELLO,
    connects a CHANNEL_HEADER of its own for that session with @index,
    and lets the source's channels through once the destination has
    bound or refused it (@trace)."""

    def __init__(self, target, index, trace):
        self.index = index
        self.trace = trace
        self.hello = b''
        self.injected = threading.Event()
        super().__init__(target)

    def seen(self, conn, towards_target, data):
        if conn != 0:
            return
        if towards_target and len(self.hello) < 52:
            # Stream header (16), record header (8), versions and flags
            # (12), then the session id.
            self.hello += data
        elif not towards_target and not self.injected.is_set():
            body = (self.hello[36:52] + ROLE_MULTIFD.to_bytes(4, 'big') +
                    self.index.to_bytes(4, 'big'))
            imp = socket.create_connection(self.target)
            imp.sendall(STREAM_HEADER + record(REC_CHANNEL_HEADER, body))
            self.socks.append(imp)
            self.injected.set()

    def run(self):
        conn = 0
        while True:
            client, _ = self.srv.accept()
            if conn == 1:
                # The impostor is dealt with before any real channel.
                prefix = 'multifd channel %d ' % self.index
                self.trace.wait(lambda lines: any(
                    line.startswith(prefix) for line in lines),
                    'the impostor channel %d' % self.index)
            self.forward(conn, client)
            conn += 1


class ReorderingRelay(Relay):
    """The first connection passes at once; the next @hold are accepted
    and held until all have arrived, then connected to the target in
    reverse order of arrival, each once the destination has bound the one
    before (@trace)."""

    def __init__(self, target, hold, trace):
        self.hold = hold
        self.trace = trace
        super().__init__(target)

    def run(self):
        client, _ = self.srv.accept()
        self.forward(0, client)
        held = [self.srv.accept()[0] for _ in range(self.hold)]
        for n, client in enumerate(reversed(held)):
            self.forward(self.hold - n, client)
            self.trace.wait(lambda lines, n=n: sum(
                line.endswith(' bound') for line in lines) > n,
                '%d multifd channels bound' % (n + 1))


if __name__ == '__main__':
    vmig_harness.main()
