#!/usr/bin/env python3
"""xbzrle: pages re-sent after the first pass travel as XBZRLE deltas
(RAM_XBZRLE records) against the source's cache of what the destination
has.  A guest that rewrites a few bytes of a small hot set migrates with
deltas and query-migrate's xbzrle-cache counting them; the cache resized
while migrating starts empty (cache misses); a file keeps its deltas; a
destination whose ACCEPT does not list "xbzrle" (an older vmig) gets
whole pages.  Every migration ends with equal digests.  A source played
by hand sends RAM_XBZRLE records a destination must refuse.

Why the deltas are certain, without timing: at max-bandwidth 128 KiB/s
the first pass (32 hot pages and the zero markers of the rest of 32 MiB)
takes more than a second, while the guest rewrites each hot page many
times; so the second pass re-sends hot pages the cache holds."""

import os
import socket
import struct
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from migration_helpers import (FINAL, REC_ERROR,  # noqa: E402
                               REC_HELLO, STREAM_HEADER, MigrationTestCase,
                               StreamReader, dst_vm, hello_body, info,
                               listen_uri, parse_reject, record, src_vm,
                               wait_status, warm_up)
from vmig_harness import stretched, wait_for  # noqa: E402

KiB, MiB = 1 << 10, 1 << 20
PAGE = 4096
# A few bytes of 32 pages rewritten 2048 times a second.
SPARSE = ['-workload',
          'rate=8M,pattern=hotset,hotset=128K,content=sparse,seed=11']
SLOW = {'max-bandwidth': 128 * KiB}
XBZRLE = dict(SLOW, xbzrle=True)
REC_ACCEPT, REC_RAM_PAGES, REC_RAM_XBZRLE = 2, 0x10, 0x18
LAYOUT = {'blocks': [('pc.ram', 32 * MiB, PAGE)],
          'devices': [('counter', 1, 1), ('log', 2, 1)]}


def accept_features(body):
    """(where the feature count is, the features, where they end) in an
    ACCEPT body."""
    pos = 8 + 16                                    # version, flags,
    (n,) = struct.unpack_from('>H', body, pos)      # session id
    pos += 2 + n                                    # implementation
    (n,) = struct.unpack_from('>I', body, pos)
    pos += 4 + n                                    # config
    (count,) = struct.unpack_from('>I', body, pos)
    feats, end = [], pos + 4
    for _ in range(count):
        (n,) = struct.unpack_from('>H', body, end)
        feats.append(body[end + 2:end + 2 + n])
        end += 2 + n
    return pos, feats, end


def ram_xbzrle(offset, delta, packet=0, block=0):
    """A RAM_XBZRLE record of one page."""
    return record(REC_RAM_XBZRLE,
                  struct.pack('>IIIIQQI', block, 1, PAGE, 0, packet, offset,
                              len(delta)) + delta)


def xbzrle_stats(vm):
    return info(vm).get('xbzrle-cache', {})


def note(text):
    """A TAP comment: shown in the test log, asserts nothing."""
    print('# ' + text, flush=True)


class XbzrleTest(MigrationTestCase):

    def start(self, src, uri, config):
        warm_up(src, writes=512)
        self.assertEqual(src.cmd('migrate', uri=uri, config=config), {})

    def finish(self, src, until):
        """Waits until @until(query-migrate) or the end, then lets the
        migration switch over whatever is left, and waits for the end:
        whether precopy converges by itself is not what is tested."""
        wait_for(lambda: until(info(src)) or info(src)['status'] in FINAL,
                 timeout=stretched(60), what='the migration to get far enough')
        if info(src)['status'] not in FINAL:
            src.cmd('migrate-set-config', downtime_limit=60000)
        return wait_status(src, FINAL, timeout=stretched(60))

    def finish_after_deltas(self, src):
        return self.finish(src, lambda i: i.get('xbzrle-cache',
                                                {}).get('pages'))

    def finish_after_passes(self, src, n):
        return self.finish(src, lambda i: i.get('ram', {}).get('iteration',
                                                               0) >= n)

    def assert_deltas(self, result):
        xc = result['xbzrle-cache']
        self.assertGreater(xc['pages'], 0, xc)
        self.assertGreater(xc['bytes'], 0, xc)
        # Each delta is smaller than its page.
        self.assertLess(xc['bytes'], xc['pages'] * PAGE, xc)
        return xc

    def test_deltas(self):
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*SPARSE, hmp=True) as src:
            self.start(src, listen_uri(dst), XBZRLE)
            result = self.finish_after_deltas(src)
            self.assert_completed(src, dst, result)
            self.assert_no_crash(src, dst)
            xc = self.assert_deltas(result)
            self.assertEqual(xc['cache-size'], 64 * MiB)
            self.assertGreaterEqual(xc['cache-miss'], 0)
            self.assertGreaterEqual(xc['overflow'], 0)
            self.assertGreaterEqual(xc['encoding-rate'], 0)
            self.assertTrue(0 <= xc['cache-miss-rate'] <= 1, xc)
            self.assertGreater(result['ram']['iteration'], 1)
            # Only the source has a cache; the destination took the
            # option from HELLO.
            self.assertNotIn('xbzrle-cache', info(dst))
            self.assertIs(dst.cmd('query-migrate-config')['xbzrle'], True)
            # HMP's info migrate, in QEMU's words.
            shown = dict(line.split(': ', 1) for line in
                         src.hmp('info migrate').splitlines() if ': ' in line)
            self.assertEqual(shown['cache size'], '%d bytes' % (64 * MiB))
            self.assertEqual(shown['xbzrle pages'], '%d pages' % xc['pages'])
            self.assertEqual(shown['xbzrle overflow'], str(xc['overflow']))
            with_xbzrle = result

        # The same guest without xbzrle, for comparison only: the whole
        # hot set every pass, which 128 KiB/s cannot make converge.
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*SPARSE) as src:
            self.start(src, listen_uri(dst), SLOW)
            without = self.finish_after_passes(src, 3)
            self.assert_completed(src, dst, without)
            self.assert_no_crash(src, dst)
            self.assertNotIn('xbzrle-cache', without)
        note('with xbzrle: %d bytes in %d passes (%d pages as %d bytes of '
             'deltas); without: %d bytes in %d passes' %
             (with_xbzrle['ram']['transferred'],
              with_xbzrle['ram']['iteration'],
              with_xbzrle['xbzrle-cache']['pages'],
              with_xbzrle['xbzrle-cache']['bytes'],
              without['ram']['transferred'], without['ram']['iteration']))

    def test_resize_while_migrating(self):
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*SPARSE) as src:
            self.start(src, listen_uri(dst), dict(XBZRLE, **{
                'downtime-limit': 1}))
            wait_status(src, 'active')
            # 16 pages for a hot set of 32: a new, empty cache, and the
            # pages sharing its slots evict each other from then on.
            src.cmd('migrate-set-config', xbzrle_cache_size=64 * KiB)
            wait_for(lambda: xbzrle_stats(src).get('cache-size') == 64 * KiB,
                     timeout=stretched(30), what='the new cache')
            result = self.finish(src, lambda i: i.get(
                'xbzrle-cache', {}).get('cache-miss', 0) > 0)
            self.assert_completed(src, dst, result)
            self.assert_no_crash(src, dst)
            xc = result['xbzrle-cache']
            self.assertEqual(xc['cache-size'], 64 * KiB)
            self.assertGreater(xc['cache-miss'], 0)
            self.assertEqual(src.cmd('query-migrate-config')
                             ['xbzrle-cache-size'], 64 * KiB)

    def test_file(self):
        # No answer to go by: the deltas go into the file, whose loader
        # applies them.
        with src_vm(*SPARSE) as src:
            path = os.path.join(src.tmpdir, 'state')
            self.start(src, 'file:' + path, XBZRLE)
            result = self.finish_after_deltas(src)
            self.assertEqual(result['status'], 'completed', result)
            self.assert_deltas(result)
            with dst_vm(incoming='file:' + path) as dst:
                self.assert_completed(src, dst, result)
                self.assert_no_crash(src, dst)

    def relayed(self, strip):
        """A migration of three passes or more through a FeatureRelay;
        returns the relay and the source's last query-migrate."""
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*SPARSE) as src:
            host, port = listen_uri(dst)[len('tcp:'):].rsplit(':', 1)
            relay = FeatureRelay((host, int(port)), strip)
            try:
                self.start(src, 'tcp:127.0.0.1:%d' % relay.port, XBZRLE)
                result = self.finish_after_passes(src, 3)
                self.assert_completed(src, dst, result)
                self.assert_no_crash(src, dst)
            finally:
                relay.close()
            self.assertIsNone(relay.error)
            return relay, result

    def test_destination_without_xbzrle(self):
        # An older destination accepts xbzrle=on but lists no "xbzrle" in
        # ACCEPT: it gets whole pages, in as many passes as it takes.
        relay, result = self.relayed(strip=True)
        self.assertTrue(relay.stripped)
        self.assertEqual(relay.types.get(REC_RAM_XBZRLE, 0), 0)
        self.assertGreater(relay.types[REC_RAM_PAGES], 0)
        self.assertEqual(result['xbzrle-cache']['pages'], 0)
        # The same through the same relay, the feature left in: deltas.
        relay, result = self.relayed(strip=False)
        self.assertFalse(relay.stripped)
        self.assertGreater(relay.types.get(REC_RAM_XBZRLE, 0), 0)
        self.assert_deltas(result)


class WireInputTest(MigrationTestCase):
    """A source played by hand: what a destination makes of RAM_XBZRLE
    records it must refuse.  Each refusal is precise, fails the
    migration with ERROR, and changes nothing else."""

    def source_sends(self, dst, config, data):
        """HELLO with @config, then, after ACCEPT, @data: returns the
        ACCEPT's features and the (class, option, message) of the
        destination's ERROR."""
        host, port = listen_uri(dst)[len('tcp:'):].rsplit(':', 1)
        with socket.create_connection((host, int(port))) as conn:
            conn.sendall(STREAM_HEADER + record(
                REC_HELLO, hello_body(config=config, **LAYOUT)))
            reader = StreamReader(conn)
            reader.header()
            rtype, body = reader.record()
            self.assertEqual(rtype, REC_ACCEPT)
            feats = accept_features(body)[1]
            conn.sendall(data)
            rtype, body = reader.record()
            self.assertEqual(rtype, REC_ERROR)
            error = parse_reject(body)
        wait_status(dst, 'failed')
        return feats, error

    def test_refusals(self):
        with dst_vm(incoming='defer') as dst:
            dst.cmd('migrate-incoming', uri='tcp:127.0.0.1:0',
                    exit_on_error=False)
            good = ram_xbzrle(0, b'\x00\x01x')
            cases = [
                # xbzrle off: the record has no business here.
                ({}, good, 'RAM_XBZRLE, but xbzrle is off'),
                ({'xbzrle': True},
                 ram_xbzrle(0, b'\xfa\x1f\x0ax'),
                 "RAM_XBZRLE: page 0 (offset 0x0 of 'pc.ram'): non-zero "
                 "run of 10 bytes at byte 2 runs past the end of the page "
                 "(6 bytes left)"),
                ({'xbzrle': True}, ram_xbzrle(0, b'\x05'),
                 'zero run at byte 0 is not followed by a non-zero run: '
                 'the delta is truncated'),
                ({'xbzrle': True}, ram_xbzrle(32 * MiB, b'\x00\x01x'),
                 "RAM_XBZRLE: page 0: 4096 bytes at offset 0x2000000 are "
                 "beyond the end of RAM block 'pc.ram'"),
                ({'xbzrle': True}, ram_xbzrle(0, b'\x00\x01x', packet=3),
                 'RAM_XBZRLE: packet 3 where packet 0 was due'),
                # A length that lies about the bytes that follow.
                ({'xbzrle': True},
                 record(REC_RAM_XBZRLE, struct.pack(
                     '>IIIIQQI', 0, 1, PAGE, 0, 0, 0, 200) + b'\x00\x01x'),
                 'RAM_XBZRLE: the delta lengths add up to 200 bytes, but 3 '
                 'bytes of deltas follow'),
            ]
            for config, data, want in cases:
                feats, (cls, _, message) = self.source_sends(dst, config,
                                                             data)
                self.assertIn(b'xbzrle', feats)
                self.assertEqual(cls, 'ProtocolError')
                self.assertIn(want, message)
                self.assertIn(want, info(dst)['error-desc'])
            self.assert_no_crash(dst)


class FeatureRelay:
    """Forwards one migration connection to @target.  With @strip, the
    ACCEPT coming back loses the feature "xbzrle", as from a vmig that
    does not know RAM_XBZRLE.  Counts the types of the records the
    source sends (types)."""

    def __init__(self, target, strip):
        self.target = target
        self.strip = strip
        self.stripped = False
        self.types = {}
        self.error = None
        self.socks = []
        self.srv = socket.socket()
        self.srv.bind(('127.0.0.1', 0))
        self.srv.listen(1)
        self.port = self.srv.getsockname()[1]
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        try:
            client, _ = self.srv.accept()
        except OSError:
            return
        up = socket.create_connection(self.target)
        self.socks += [client, up]
        threading.Thread(target=self._pipe, args=(client, up, self._scan),
                         daemon=True).start()
        threading.Thread(target=self._pipe, args=(up, client, self._answer),
                         daemon=True).start()

    def _pipe(self, a, b, watch):
        gen = watch()
        next(gen)
        try:
            while True:
                data = a.recv(1 << 20)
                if not data:
                    break
                b.sendall(gen.send(data))
        except OSError:
            pass
        except Exception as e:      # a relay bug: the test reports it
            self.error = e
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _scan(self):
        """Source -> destination, passed on as it is: the record types,
        read from the record headers (stream header first)."""
        out = b''
        skip = len(STREAM_HEADER)
        head = b''
        while True:
            data = yield out
            out = data
            while data:
                if skip:
                    n = min(skip, len(data))
                    skip -= n
                    data = data[n:]
                    continue
                need = 8 - len(head)
                head += data[:need]
                data = data[need:]
                if len(head) == 8:
                    rtype, length = struct.unpack('>II', head)
                    self.types[rtype] = self.types.get(rtype, 0) + 1
                    skip = length + (-length % 8)
                    head = b''

    def _answer(self):
        """Destination -> source: the stream header and ACCEPT held back
        until whole, rewritten, then everything else as it comes."""
        buf = yield b''
        while True:
            if len(buf) >= 24:
                rtype, length = struct.unpack_from('>II', buf, 16)
                size = 24 + length + (-length % 8)
                if len(buf) >= size:
                    break
            buf += yield b''
        out = buf[:16]
        body = buf[24:24 + length]
        if rtype == REC_ACCEPT and self.strip:
            body = self._strip(body)
        out += record(rtype, body) + buf[size:]
        while True:
            out = yield out

    def _strip(self, body):
        pos, feats, p = accept_features(body)
        kept = [f for f in feats if f != b'xbzrle']
        self.stripped = len(kept) < len(feats)
        return (body[:pos] + struct.pack('>I', len(kept)) +
                b''.join(struct.pack('>H', len(f)) + f for f in kept) +
                body[p:])

    def close(self):
        self.srv.close()
        for s in self.socks:
            s.close()


if __name__ == '__main__':
    vmig_harness.main()
