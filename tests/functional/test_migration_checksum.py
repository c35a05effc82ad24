#!/usr/bin/env python3
"""Record checksums (protocol section "Checksums"): one flipped bit in
a save file (plain or mapped-ram: HELLO, RAM data, device state, block
records, bitmaps) or on the link is refused with "checksum mismatch",
the record and its offset; a source whose stream was corrupted keeps
its guest running.  checksum "none" works on a socket and is refused
for a file."""

import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from migration_helpers import (BUSY, RELAY, STREAM_HEADER,  # noqa
                               MigrationTestCase, digest, dst_vm,
                               hello_body, listen_uri, record, src_vm)
from mig_relay import Framing, Rendezvous, TcpRelay  # noqa: E402
from vmig_harness import run_vmig  # noqa: E402

REC_HELLO = 0x01
REC_RAM_PAGES = 0x10
REC_DEVICE_STATE = 0x11
REC_MAPPED_RAM_BLOCK = 0x16


def records(data, pos=16):
    """(offset, type, body length) of the records from @pos on, until a
    mapped-ram region (whose MAPPED_RAM_BLOCK says where records go on)
    or END."""
    while pos + 8 <= len(data):
        rtype, length = struct.unpack_from('>II', data, pos)
        yield pos, rtype, length
        if rtype == REC_MAPPED_RAM_BLOCK:
            pos = struct.unpack_from('>Q', data, pos + 8 + 40)[0]
            continue
        pos += 8 + length + (-length % 8)


def first(data, rtype):
    return next((off, length) for off, t, length in records(data)
                if t == rtype)


class ChecksumFileTest(MigrationTestCase):

    def save(self, src, config=None):
        """Saves @src into a file: its name and contents."""
        path = os.path.join(src.tmpdir, 'state')
        result = self.migrate(src, 'file:' + path, config=config or {})
        self.assertEqual(result['status'], 'completed', result)
        with open(path, 'rb') as f:
            return path, f.read()

    def assert_flips_refused(self, path, data, offsets):
        """A copy of @data with one bit flipped at each (offset, what)
        is refused, naming "checksum mismatch"."""
        bad = path + '-bad'
        for off, what in offsets:
            flipped = bytearray(data)
            flipped[off] ^= 0x10
            with open(bad, 'wb') as f:
                f.write(flipped)
            status, out = run_vmig(['-m', '32M', '-incoming', 'file:' + bad])
            self.assertEqual(status, 1, '%s (offset %d): %s' % (what, off,
                                                                out))
            self.assertIn('checksum mismatch', out, what)
            self.assertNotIn('Sanitizer', out)
        os.unlink(bad)

    def test_plain_file(self):
        with src_vm(*BUSY) as src:
            path, data = self.save(src)
            self.check_plain_file(path, data)

    def check_plain_file(self, path, data):
        hello, hlen = first(data, REC_HELLO)
        pages, plen = first(data, REC_RAM_PAGES)
        dev, dlen = first(data, REC_DEVICE_STATE)
        self.assert_flips_refused(path, data, [
            (hello + 8 + 40, 'HELLO'),
            (hello + 8 + hlen // 2, 'HELLO config'),
            (pages + 8 + 4, 'RAM_PAGES count'),
            (pages + 8 + plen - 100, 'RAM_PAGES data'),
            (dev + 8 + dlen - 6, 'DEVICE_STATE data'),
            (dev + 8 + dlen - 2, 'DEVICE_STATE checksum'),
        ])
        with open(path + '-bad', 'wb') as f:
            flipped = bytearray(data)
            flipped[pages + 8 + plen - 100] ^= 1
            f.write(flipped)
        out = run_vmig(['-m', '32M', '-incoming',
                        'file:' + path + '-bad'])[1]
        self.assertIn('RAM_PAGES at offset %d: checksum mismatch' % pages,
                      out)
        os.unlink(path + '-bad')

    def test_record_header_flips(self):
        """A flipped bit in a record's header (type or length) is refused
        naming the record's offset: a checksum mismatch wherever the
        checksum can still be found, else the length's limit or the end
        of the file, which a corrupted length reaches too."""
        with src_vm(*BUSY) as src:
            data = self.save(src)[1]
        pages = [off for off, t, _ in records(data) if t == REC_RAM_PAGES]
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        bad = os.path.join(tmp.name, 'bad')
        for off in (pages[len(pages) // 2], pages[-1]):
            for bit in range(0, 64, 3):
                flipped = bytearray(data)
                flipped[off + bit // 8] ^= 1 << (bit % 8)
                with open(bad, 'wb') as f:
                    f.write(flipped)
                status, out = run_vmig(['-m', '32M', '-incoming',
                                        'file:' + bad])
                what = 'header bit %d of the record at %d: %s' % (bit, off,
                                                                  out)
                self.assertEqual(status, 1, what)
                self.assertRegex(out, r'at offset %d\b' % off, what)
                self.assertRegex(out, 'checksum mismatch|exceeds|corrupted '
                                 'length', what)

    def test_mapped_ram_file(self):
        with src_vm(*BUSY) as src:
            path, data = self.save(src, {'mapped-ram': True})
            self.check_mapped_ram_file(path, data)

    def check_mapped_ram_file(self, path, data):
        hello, hlen = first(data, REC_HELLO)
        block, _ = first(data, REC_MAPPED_RAM_BLOCK)
        (bitmap_off, bitmap_len, pages_off, _, _) = struct.unpack_from(
            '>QQQQQ', data, block + 16)
        bitmap = data[bitmap_off:bitmap_off + bitmap_len]
        written = next(i for i in range(len(bitmap) * 8)
                       if bitmap[i // 8] & (1 << (i % 8)))
        dev, dlen = first(data, REC_DEVICE_STATE)
        self.assert_flips_refused(path, data, [
            (hello + 8 + hlen // 2, 'HELLO config'),
            (block + 8 + 20, 'MAPPED_RAM_BLOCK'),
            (bitmap_off + written // 8, 'bitmap'),
            (pages_off + written * 4096 + 1234, 'a written page'),
            (dev + 8 + dlen - 6, 'DEVICE_STATE data'),
        ])

    def test_none_refused_for_files(self):
        with src_vm(mem='32M') as src:
            for cfg in ({'checksum': 'none'},
                        {'checksum': 'none', 'mapped-ram': True}):
                with self.assertRaises(vmig_harness.QMPError) as ctx:
                    src.cmd('migrate', uri='file:' + os.path.join(
                        src.tmpdir, 'x'), config=cfg)
                self.assertIn("'checksum'", ctx.exception.desc)
                self.assertIn('a file always carries checksums',
                              ctx.exception.desc)
        # A file saying "none" is refused by its loader too.
        with dst_vm(incoming='defer') as probe:
            path = os.path.join(probe.tmpdir, 'crafted')
            with open(path, 'wb') as f:
                f.write(STREAM_HEADER + record(REC_HELLO, hello_body(
                    flags=1, config={'checksum': 'none'},
                    blocks=[('pc.ram', 32 << 20, 4096)],
                    devices=[('counter', 1, 1), ('log', 2, 1)])))
            status, out = run_vmig(['-m', '32M', '-incoming', 'file:' + path])
            self.assertEqual(status, 1, out)
            self.assertIn("Option 'checksum' (value 'none') cannot be used "
                          "with URI 'file:%s'" % path, out)


class ChecksumStreamTest(MigrationTestCase):

    def test_flipped_bit_on_the_link(self):
        # exec: on both ends through a relay that corrupts one byte of
        # RAM data on its way to the destination.
        with dst_vm(incoming='defer') as dst, src_vm(*BUSY) as src:
            path = os.path.join(dst.tmpdir, 'relay.sock')
            rendezvous = Rendezvous(path, flip=300000)
            cmd = 'exec:%s %s %s' % (sys.executable, RELAY, path)
            try:
                dst.cmd('migrate-incoming', uri=cmd)
                result = self.migrate(src, cmd)
            finally:
                rendezvous.close()
            self.assertIsNotNone(rendezvous.flipped_at)
            self.assertEqual(result['status'], 'failed', result)
            # The destination's ERROR may be lost with its relay: what
            # it saw is in its log.
            dst.wait_exit()
            self.assertRegex(dst.stderr_text(), r'RAM_PAGES at offset \d+: '
                             r'checksum mismatch \(expected 0x')
            self.assert_source_runs(src)
            self.assert_no_crash(src, dst)
            # Intact: a fresh destination gets the source's very RAM.
            with dst_vm(incoming='tcp:127.0.0.1:0') as again:
                result = self.migrate(src, listen_uri(again))
                self.assert_completed(src, again, result)

    def test_flipped_bit_on_a_multifd_channel(self):
        # Checked by the channel's receiving thread; the failure reaches
        # the source through the main channel.
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            port = int(listen_uri(dst).rsplit(':', 1)[1])
            relay = FlippingRelay(port, 1, 200000)
            try:
                result = self.migrate(src, 'tcp:127.0.0.1:%d' % relay.port,
                                      config={'multifd': True,
                                              'multifd-channels': 2})
            finally:
                relay.close()
            self.assertIsNotNone(relay.flipped_at)
            self.assertEqual(result['status'], 'failed', result)
            self.assertRegex(result['error-desc'],
                             r'multifd channel \d: RAM_PAGES at offset \d+: '
                             r'checksum mismatch')
            self.assert_source_runs(src)
            self.assert_no_crash(src, dst)

    def test_none_on_a_socket(self):
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            result = self.migrate(src, listen_uri(dst),
                                  config={'checksum': 'none'})
            self.assert_completed(src, dst, result)
            self.assertEqual(dst.cmd('query-migrate-config')['checksum'],
                             'none')
            self.assertEqual(digest(src), digest(dst))


class FlippingRelay(TcpRelay):
    """Forwards TCP connections to @port; in connection @conn's source
    direction, flips a bit of the first RAM_PAGES body past offset
    @after (mig_relay.Framing)."""

    def __init__(self, port, conn, after):
        self.conn, self.after = conn, after
        self.flipped_at = None
        super().__init__(port, tap_for=self._tap_for)

    def _tap_for(self, n):
        if n != self.conn:
            return None
        framing = Framing()

        def flip(data):
            target = framing.feed(data, self.after)
            if target is not None and self.flipped_at is None:
                data = bytearray(data)
                data[target - (framing.done - len(data))] ^= 1
                self.flipped_at = target
            return bytes(data)
        return flip


if __name__ == '__main__':
    vmig_harness.main()
