#!/usr/bin/env python3
"""Postcopy recovery with the preempt channel (#14, protocol section
6.12 step 3): a preempt postcopy whose main or preempt connection
breaks, or that migrate-pause stops on either end, pauses on both ends
like a plain one; on resume the source opens a new preempt channel,
which the destination binds to the resumed session, and the pages the
destination asks for after the resume travel on it.

Each case takes a digest of the destination after the resume, while
postcopy runs: the destination (paused with -S) asks for every page it
lacks, so postcopy-preempt-pages must grow on the new channel.  Every
case ends with the migration completed and equal RAM and device
digests."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from mig_relay import TcpRelay  # noqa: E402
from migration_helpers import (FINAL, LIVENESS, Trace,  # noqa: E402
                               digest, dst_vm, info, launched,
                               listen_uri, src_vm, wait_status)
from tls_case import (TlsTestCase, cmdline_object,  # noqa: E402,F401
                      tearDownModule)
from test_migration_postcopy_recover import (BUSY, POSTCOPY,  # noqa: E402
                                             RecoverCase, port_of)
from vmig_harness import QMPError  # noqa: E402

PREEMPT = dict(POSTCOPY, **{'postcopy-preempt': True})
# Relayed connections in the order the source opens them: main first,
# then (after ACCEPT) the preempt channel.
MAIN, PREEMPT_LINK = 0, 1
# The destination's handshake timeout in the case whose preempt channel
# never comes: short, so the case is, yet long enough for the second
# recovery's channel on a loaded sanitizer run.
NEVER_MS = round(vmig_harness.stretched(3) * 1000)


def preempt_pages(vm):
    return info(vm).get('ram', {}).get('postcopy-preempt-pages', 0)


class PreemptRecoverCase(RecoverCase):

    def resumed(self, src, dst, before, src_digest=None):
        """After a recovery: a digest of @dst during postcopy asks for
        its missing pages, which come on the new preempt channel (more
        than @before, the destination's count at the pause); then the
        postcopy completes with equal states."""
        wait_status(src, ('postcopy-active',) + FINAL)
        wait_status(dst, ('postcopy-active',) + FINAL)
        during = digest(dst)
        sinfo, dinfo = self.finished(src, dst, src_digest)
        self.assertEqual(during, digest(dst))
        self.assertGreater(dinfo['ram']['postcopy-preempt-pages'], before)
        self.assertEqual(sinfo['ram']['postcopy-preempt-pages'],
                         dinfo['ram']['postcopy-preempt-pages'])
        return sinfo, dinfo


class PreemptRecoverTest(PreemptRecoverCase):

    def test_main_link_closed(self):
        """The main connection breaks: both ends pause, the old preempt
        channel closed; the resume opens a new one, bound by the
        destination ("bound" twice in its trace)."""
        trace = Trace()
        with trace.launched(dst_vm('-S', incoming='tcp:127.0.0.1:0')) \
                as dst, src_vm(*BUSY) as src:
            with self.relayed(src, dst, PREEMPT) as relay:
                relay.links[MAIN].close()
                self.both_paused(src, dst)
            before = preempt_pages(dst)
            self.recover(src, dst)
            self.resumed(src, dst, before)
            self.assertEqual(trace.lines.count(
                'postcopy-preempt channel 0 bound'), 2)

    def test_link_frozen(self):
        """Both links gone silent without a reset: the liveness bound
        pauses both ends, the preempt reader and thread stopped though
        their socket never ends."""
        cfg = dict(PREEMPT, **{'liveness-timeout': LIVENESS})
        with dst_vm('-S', incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            with self.relayed(src, dst, cfg) as relay:
                self.frozen_pauses(src, dst, relay)
            before = preempt_pages(dst)
            self.recover(src, dst)
            self.resumed(src, dst, before)

    def test_preempt_link_closed(self):
        """Only the preempt connection breaks: that is a broken postcopy
        too, and both ends pause."""
        with dst_vm('-S', incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            with self.relayed(src, dst, PREEMPT) as relay:
                self.assertEqual(len(relay.links), 2)
                relay.links[PREEMPT_LINK].close()
                _, dinfo = self.both_paused(src, dst)
                self.assertIn('postcopy-preempt channel',
                              dinfo['error-desc'])
            before = preempt_pages(dst)
            self.recover(src, dst)
            self.resumed(src, dst, before)

    def test_pause(self):
        """migrate-pause on either end pauses both, saying so."""
        for end in ('source', 'destination'):
            with self.subTest(end=end), \
                    dst_vm('-S', incoming='tcp:127.0.0.1:0') as dst, \
                    src_vm(*BUSY) as src:
                vm = src if end == 'source' else dst
                self.start(src, listen_uri(dst), PREEMPT)
                wait_status(dst, 'postcopy-active')
                self.assertEqual(vm.cmd('migrate-pause'), {})
                infos = self.both_paused(src, dst)
                self.assertIn('migrate-pause',
                              infos[vm is dst]['error-desc'])
                with self.assertRaises(QMPError):
                    vm.cmd('migrate-pause')
                before = preempt_pages(dst)
                self.recover(src, dst)
                self.resumed(src, dst, before)

    def test_preempt_channel_never_arrives(self):
        """A recovery whose preempt channel never reaches the destination
        (the relay ends it before its first byte): the destination gives
        up within its handshake timeout, both ends pause again, and a
        second recovery succeeds."""
        def lose_preempt(n):
            return (lambda data: b'') if n == PREEMPT_LINK else None

        dst = launched(dst_vm('-S', incoming='tcp:127.0.0.1:0'),
                       VMIG_TEST_HANDSHAKE_TIMEOUT_MS=str(NEVER_MS))
        with dst, src_vm(*BUSY) as src:
            self.start(src, listen_uri(dst), PREEMPT)
            wait_status(dst, 'postcopy-active')
            src.cmd('migrate-pause')
            self.both_paused(src, dst)
            dst.cmd('migrate-recover', uri='tcp:127.0.0.1:0')
            uri = listen_uri(dst)
            relay = TcpRelay(port_of(uri), tap_for=lose_preempt)
            try:
                src.cmd('migrate', uri='tcp:127.0.0.1:%d' % relay.port,
                        resume=True)
                sinfo, dinfo = self.both_paused(src, dst)
                self.assertIn('did not connect within %d ms' % NEVER_MS,
                              dinfo['error-desc'])
            finally:
                relay.close()
            before = preempt_pages(dst)
            # The listener of migrate-recover still waits.
            self.assertEqual(src.cmd('migrate', uri=uri, resume=True), {})
            self.resumed(src, dst, before)


class PreemptRecoverTlsTest(TlsTestCase, PreemptRecoverCase):
    """The new preempt channel runs TLS from its first byte too."""

    def test_main_link_closed_psk(self):
        cfg = dict(PREEMPT, **{'tls-creds': 'tls0'})
        with dst_vm('-S', *cmdline_object(self.psk_server()),
                    incoming='tcp:127.0.0.1:0,tls-creds=tls0') as dst, \
                src_vm(*BUSY, *cmdline_object(self.psk_client())) as src:
            with self.relayed(src, dst, cfg) as relay:
                relay.links[MAIN].close()
                self.both_paused(src, dst)
            before = preempt_pages(dst)
            self.recover(src, dst)
            _, dinfo = self.resumed(src, dst, before)
            self.assertEqual(dinfo['tls']['kind'], 'psk')


if __name__ == '__main__':
    vmig_harness.main()
