#!/usr/bin/env python3
"""Postcopy recovery (#14 item 6, protocol section 6.12): a postcopy
whose connection breaks (a link closed or frozen, migrate-pause on
either end) pauses on both ends without losing the guest, and
migrate-recover on the destination with migrate resume on the source
reconnect it: the destination reports the pages it holds
(RECEIVED_BITMAP, RESUME_REQUEST), the source sends the others.

Every case ends with the migration completed and the destination's RAM
and devices equal to the source's (the destination is paused with -S,
the source stopped since the switch).  No digest is taken while paused:
it would wait for pages that cannot come."""

import contextlib
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from mig_relay import TcpRelay  # noqa: E402
from migration_helpers import (FINAL, LIVENESS, REC_ACCEPT,  # noqa: E402
                               REC_HELLO, REC_REJECT, STREAM_HEADER,
                               MigrationTestCase,
                               StreamReader, digest, dst_vm, info,
                               listen_uri, parse_reject, port_of, record,
                               rss_anon_kib, src_vm, wait_status, warm_up)
from vmig_harness import QMPError, wait_for  # noqa: E402

MiB = 1 << 20
BOUND = 4 * LIVENESS + 2
BUSY = ['-workload', 'rate=32M,pattern=random,content=text,seed=5']
# Slow enough that the postcopy is still sending when the link breaks;
# set to 0 once recovered, so the case ends soon.
POSTCOPY = {'max-bandwidth': 16 * MiB, 'downtime-limit': 1,
            'postcopy-ram': True, 'max-postcopy-bandwidth': 128 * 1024,
            'events': True}
REC_RECEIVED_BITMAP, REC_RESUME_REQUEST = 0x22, 0x23
HELLO_RESUME = 1 << 2
PAUSED = 'postcopy-paused'


def passes(vm):
    return info(vm).get('ram', {}).get('iteration', 0)


def statuses(vm):
    return [e['data']['status'] for e in vm.qmp.events
            if e['event'] == 'MIGRATION']


class FakePeer:
    """A listener that takes one connection and reads its stream header
    and first record, then (close()) drops it: a destination that goes
    away in the recovery's handshake."""

    def __init__(self):
        self.srv = socket.create_server(('127.0.0.1', 0))
        self.uri = 'tcp:127.0.0.1:%d' % self.srv.getsockname()[1]

    def take_hello(self):
        self.srv.settimeout(vmig_harness.TIMEOUT)
        self.conn, _ = self.srv.accept()
        reader = StreamReader(self.conn)
        header = reader.header()
        rtype, body = reader.record()
        return header, rtype, body

    def close(self):
        self.conn.close()
        self.srv.close()


class RecoverCase(MigrationTestCase):

    def start(self, src, dst_uri, cfg=POSTCOPY):
        """Migrates @src to @dst_uri, then switches to postcopy."""
        warm_up(src)
        src.cmd('migrate', uri=dst_uri, config=cfg)
        wait_for(lambda: passes(src) >= 2, what='pass 2')
        self.assertEqual(src.cmd('migrate-start-postcopy'), {})
        wait_status(src, 'postcopy-active')

    @contextlib.contextmanager
    def relayed(self, src, dst, cfg):
        """A postcopy from @src to @dst with @cfg through a TcpRelay (the
        context's value), running on the destination; the relay is
        closed on leaving."""
        relay = TcpRelay(port_of(listen_uri(dst)))
        try:
            self.start(src, 'tcp:127.0.0.1:%d' % relay.port, cfg)
            wait_status(dst, 'postcopy-active')
            yield relay
        finally:
            relay.close()

    def both_paused(self, src, dst):
        sinfo = wait_status(src, (PAUSED,) + FINAL)
        dinfo = wait_status(dst, (PAUSED,) + FINAL)
        self.assertEqual(sinfo['status'], PAUSED, sinfo)
        self.assertEqual(dinfo['status'], PAUSED, dinfo)
        self.assertIn('Postcopy paused', sinfo['error-desc'])
        self.assertIn('cannot continue until the destination comes back',
                      sinfo['error-desc'])
        self.assertIn('cannot continue until the source comes back',
                      dinfo['error-desc'])
        # Neither guest can run on its own meanwhile.
        self.assertEqual(src.cmd('query-status')['status'],
                         'finish-migrate')
        with self.assertRaises(QMPError):
            src.cmd('cont')
        return sinfo, dinfo

    def frozen_pauses(self, src, dst, relay):
        """Freezes @relay: both ends pause within the liveness bound
        (LIVENESS in the configuration), each saying its peer went
        silent."""
        relay.freeze()
        frozen = time.monotonic()
        sinfo, dinfo = self.both_paused(src, dst)
        # Loosely: a loaded machine must not fail it, a missing liveness
        # rule must.
        self.assertLess(time.monotonic() - frozen, BOUND)
        self.assertIn('no reply from the destination for %d s' % LIVENESS,
                      sinfo['error-desc'])
        self.assertIn('no data from the source for %d s' % LIVENESS,
                      dinfo['error-desc'])

    def recover(self, src, dst):
        """migrate-recover on @dst, migrate resume on @src; returns the
        new URI."""
        self.assertEqual(dst.cmd('migrate-recover',
                                 uri='tcp:127.0.0.1:0'), {})
        uri = listen_uri(dst)
        self.assertEqual(src.cmd('migrate', uri=uri, resume=True), {})
        return uri

    def finished(self, src, dst, src_digest=None):
        """Completes the recovered postcopy; the destination must hold
        the source's state (@src_digest: as it was, if the source gave
        pages back since)."""
        wait_status(src, ('postcopy-active',) + FINAL)
        wait_status(dst, ('postcopy-active',) + FINAL)
        src.cmd('migrate-set-config', **{'max-postcopy-bandwidth': 0})
        sinfo = wait_status(src, FINAL, timeout=120)
        self.assertEqual(sinfo['status'], 'completed', sinfo)
        dinfo = wait_status(dst, FINAL)
        self.assertEqual(dinfo['status'], 'completed', dinfo)
        self.assertNotIn('error-desc', sinfo)
        self.assertEqual(src.cmd('query-status')['status'], 'postmigrate')
        self.assertEqual(dst.cmd('query-status')['status'], 'paused')
        self.assertEqual(digest(dst), src_digest or digest(src))
        self.assert_no_crash(src, dst)
        return sinfo, dinfo


class RecoverTest(RecoverCase):

    def test_link_closed(self):
        """A link that breaks (both ends see the connection end) pauses
        both; a new connection carries the rest; states and events as
        QEMU's."""
        with dst_vm('-S', incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            dst.cmd('migrate-set-config', events=True)
            with self.relayed(src, dst, POSTCOPY) as relay:
                relay.close()
                self.both_paused(src, dst)
            self.recover(src, dst)
            self.finished(src, dst)
            self.assertEqual(statuses(src)[-6:], [
                'postcopy-active', PAUSED, 'postcopy-recover-setup',
                'postcopy-recover', 'postcopy-active', 'completed'])
            self.assertEqual(statuses(dst)[-5:], [
                'postcopy-active', PAUSED, 'postcopy-recover',
                'postcopy-active', 'completed'])

    def test_link_frozen(self):
        """A link gone silent without a reset pauses both ends within
        the liveness bound, rather than failing them."""
        cfg = dict(POSTCOPY, **{'liveness-timeout': LIVENESS})
        with dst_vm('-S', incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            with self.relayed(src, dst, cfg) as relay:
                self.frozen_pauses(src, dst, relay)
            self.recover(src, dst)
            self.finished(src, dst)

    def test_release_ram_keeps_lost_pages(self):
        """release-ram: pages written to a link that then broke never
        arrived; the source gave none of them back (no PONG confirmed
        them), so the recovery sends them whole, and gives everything
        back once completed."""
        # No PING for the test's length: only the end confirms pages.
        cfg = dict(POSTCOPY, **{'release-ram': True,
                                'liveness-timeout': 300})
        with dst_vm('-S', incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            with self.relayed(src, dst, cfg) as relay:
                # Stopped since the switch, nothing given back yet.
                before = digest(src)
                rss = rss_anon_kib(src)
                relay.freeze()
                sent = info(src)['ram']['transferred']
                # Into the socket buffers, never to arrive.
                wait_for(lambda: info(src)['ram']['transferred'] >
                         sent + 64 * 1024, what='pages sent into the void')
                relay.close()
                self.both_paused(src, dst)
            self.recover(src, dst)
            self.finished(src, dst, src_digest=before)
            self.assertLess(rss_anon_kib(src), rss - 1024)

    def test_pause(self):
        """migrate-pause on either end pauses both, saying so; paused
        already, a second one is refused."""
        for end in ('source', 'destination'):
            with self.subTest(end=end), \
                    dst_vm('-S', incoming='tcp:127.0.0.1:0') as dst, \
                    src_vm(*BUSY) as src:
                vm = src if end == 'source' else dst
                self.start(src, listen_uri(dst))
                wait_status(dst, 'postcopy-active')
                self.assertEqual(vm.cmd('migrate-pause'), {})
                infos = self.both_paused(src, dst)
                self.assertIn('migrate-pause',
                              infos[vm is dst]['error-desc'])
                with self.assertRaises(QMPError) as cm:
                    vm.cmd('migrate-pause')
                self.assertIn("'postcopy-paused'", cm.exception.desc)
                self.recover(src, dst)
                self.finished(src, dst)

    def test_refusals(self):
        """The commands say why they cannot act."""
        with dst_vm('-S', incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            with self.assertRaises(QMPError) as cm:
                src.cmd('migrate-pause')
            self.assertIn('No postcopy migration', cm.exception.desc)
            with self.assertRaises(QMPError) as cm:
                src.cmd('migrate', uri=listen_uri(dst), resume=True)
            self.assertIn('no paused postcopy', cm.exception.desc)
            with self.assertRaises(QMPError) as cm:
                dst.cmd('migrate-recover', uri='tcp:127.0.0.1:0')
            self.assertIn('no paused postcopy', cm.exception.desc)
            self.start(src, listen_uri(dst))
            wait_status(dst, 'postcopy-active')
            with self.assertRaises(QMPError) as cm:
                src.cmd('migrate', uri=listen_uri(dst), resume=True)
            self.assertIn("'postcopy-active'", cm.exception.desc)
            # Cancel stays refused after the switch.
            with self.assertRaises(QMPError) as cm:
                src.cmd('migrate_cancel')
            self.assertIn('cannot be cancelled', cm.exception.desc)
            src.cmd('migrate-pause')
            self.both_paused(src, dst)
            with self.assertRaises(QMPError) as cm:
                src.cmd('migrate_cancel')
            self.assertIn('cannot be cancelled', cm.exception.desc)
            with self.assertRaises(QMPError) as cm:
                src.cmd('migrate', uri=listen_uri(dst), resume=True,
                        config={'multifd': True})
            self.assertIn("'config' cannot be given", cm.exception.desc)
            self.recover(src, dst)
            self.finished(src, dst)


class RecoverFailureTest(RecoverCase):

    def capture_resume_hello(self, src):
        """Resumes @src towards a peer that takes its HELLO and drops the
        connection: the source pauses again.  Returns the HELLO."""
        fake = FakePeer()
        self.assertEqual(src.cmd('migrate', uri=fake.uri, resume=True), {})
        header, rtype, body = fake.take_hello()
        fake.close()
        self.assertEqual(header, STREAM_HEADER)
        self.assertEqual(rtype, REC_HELLO)
        (flags,) = struct.unpack_from('>I', body, 8)
        self.assertTrue(flags & HELLO_RESUME)
        sinfo = wait_status(src, (PAUSED,) + FINAL)
        self.assertEqual(sinfo['status'], PAUSED, sinfo)
        self.assertIn('Resuming the postcopy', sinfo['error-desc'])
        return header, body

    def play_resume(self, dst, header, hello):
        """migrate-recover on @dst, then the test's own connection sends
        it @header and @hello; returns the URI, the socket and a reader
        past the destination's stream header."""
        dst.cmd('migrate-recover', uri='tcp:127.0.0.1:0')
        uri = listen_uri(dst)
        sock = socket.create_connection(('127.0.0.1', port_of(uri)))
        sock.sendall(header + record(REC_HELLO, hello))
        reader = StreamReader(sock)
        self.assertEqual(reader.header(), STREAM_HEADER)
        return uri, sock, reader

    def test_double_failure(self):
        """The recovery's connection drops on both ends in turn (the
        source's after its HELLO, the destination's after it answered
        with its bitmaps); each end pauses again, and a second recovery
        succeeds."""
        with dst_vm('-S', incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            self.start(src, listen_uri(dst))
            wait_status(dst, 'postcopy-active')
            src.cmd('migrate-pause')
            self.both_paused(src, dst)
            header, hello = self.capture_resume_hello(src)
            # The destination gets that HELLO, answers, then loses it.
            uri, sock, reader = self.play_resume(dst, header, hello)
            self.assertEqual(reader.record()[0], REC_ACCEPT)
            bitmaps = 0
            while True:
                rtype, body = reader.record()
                if rtype != REC_RECEIVED_BITMAP:
                    break
                bitmaps += 1
            self.assertEqual(rtype, REC_RESUME_REQUEST)
            self.assertEqual(struct.unpack('>I', body)[0], bitmaps)
            self.assertGreater(bitmaps, 0)
            sock.close()
            dinfo = wait_status(dst, (PAUSED,) + FINAL)
            self.assertEqual(dinfo['status'], PAUSED, dinfo)
            # The listener of migrate-recover still waits.
            self.assertEqual(src.cmd('migrate', uri=uri, resume=True), {})
            self.finished(src, dst)

    def test_wrong_session_refused(self):
        """A HELLO resuming another session is refused (SessionMismatch)
        and changes nothing; the real source then recovers."""
        cfg = dict(POSTCOPY, checksum='none')
        with dst_vm('-S', incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            self.start(src, listen_uri(dst), cfg)
            wait_status(dst, 'postcopy-active')
            dst.cmd('migrate-pause')
            self.both_paused(src, dst)
            header, hello = self.capture_resume_hello(src)
            stranger = hello[:12] + bytes(b ^ 0xff for b in hello[12:28]) + \
                hello[28:]
            uri, sock, reader = self.play_resume(dst, header, stranger)
            rtype, body = reader.record()
            sock.close()
            self.assertEqual(rtype, REC_REJECT)
            cls, _, msg = parse_reject(body)
            self.assertEqual(cls, 'SessionMismatch')
            self.assertIn('not the paused postcopy session', msg)
            dinfo = wait_status(dst, (PAUSED,) + FINAL)
            self.assertEqual(dinfo['status'], PAUSED, dinfo)
            self.assertIn('SessionMismatch', dinfo['error-desc'])
            self.assertEqual(src.cmd('migrate', uri=uri, resume=True), {})
            self.finished(src, dst)

    def test_hmp(self):
        """migrate_pause, migrate_recover and migrate -r over HMP."""
        with dst_vm('-S', incoming='tcp:127.0.0.1:0', hmp=True) as dst, \
                src_vm(*BUSY, hmp=True) as src:
            self.start(src, listen_uri(dst))
            wait_status(dst, 'postcopy-active')
            self.assertEqual(src.hmp('migrate_pause').strip(), '')
            self.both_paused(src, dst)
            self.assertIn('no paused postcopy',
                          src.hmp('migrate_recover tcp:127.0.0.1:0'))
            self.assertEqual(dst.hmp('migrate_recover tcp:127.0.0.1:0')
                             .strip(), '')
            uri = listen_uri(dst)
            self.assertEqual(src.hmp('migrate -r %s' % uri).strip(), '')
            self.finished(src, dst)


if __name__ == '__main__':
    vmig_harness.main()
