#!/usr/bin/env python3
"""Postcopy's preempt channel and multifd with postcopy (#14).

With postcopy-preempt the pages a destination asks for travel on an
extra connection of their own; query-migrate's postcopy-preempt-pages
counts them on both ends, so a preempt migration whose requested pages
went on main instead fails here.  Multifd carries precopy and is ended
at the switch, before the destination drops a page or registers
userfaultfd; postcopy's pages then go on main (and preempt).

Every success ends with equal RAM and device digests: the destination
is paused with -S, and its digest taken during postcopy requests every
page it still lacks."""

import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from tls_case import (TlsTestCase, cmdline_object,  # noqa: E402,F401
                      tearDownModule)
from migration_helpers import (FINAL, REC_ACCEPT, REC_ERROR,  # noqa: E402
                               STREAM_HEADER, StreamReader, Trace,
                               accept_body, digest, dst_vm, environment,
                               info, listen_uri, parse_hello, parse_reject,
                               record, src_vm, wait_status, warm_up)
from test_migration_postcopy import (BUSY, POSTCOPY,  # noqa: E402
                                     PostcopyCase)

MiB = 1 << 20
PREEMPT = dict(POSTCOPY, **{'postcopy-preempt': True,
                            'max-postcopy-bandwidth': MiB})
MULTIFD = {'multifd': True, 'multifd-channels': 2}


class PreemptCase(PostcopyCase):

    def postcopy(self, cfg, dst_args=(), src_args=(), dst_incoming=None):
        """A postcopy with @cfg to a destination paused with -S, its
        digest taken during postcopy; returns both ends' last
        query-migrate."""
        incoming = dst_incoming or 'tcp:127.0.0.1:0'
        with dst_vm('-S', *dst_args, incoming=incoming) as dst, \
                src_vm(*BUSY, *src_args) as src:
            self.start(src, dst, cfg)
            self.assertEqual(info(src)['status'], 'postcopy-active')
            self.assertEqual(digest(dst), digest(src))
            sinfo, dinfo = self.finished(src, dst)
            self.assertEqual(digest(dst), digest(src))
            self.assert_no_crash(src, dst)
            return sinfo, dinfo

    def assert_preempted(self, sinfo, dinfo):
        """The requested pages went on the preempt channel, every one the
        source sent there placed by the destination."""
        self.assertGreater(dinfo['ram']['postcopy-requests'], 0)
        self.assertGreater(sinfo['ram']['postcopy-preempt-pages'], 0)
        self.assertEqual(sinfo['ram']['postcopy-preempt-pages'],
                         dinfo['ram']['postcopy-preempt-pages'])


class PreemptTest(PreemptCase):

    def test_preempt(self):
        """The channel binds, requested pages come on it, the trace says
        so, and query-migrate counts them on both ends."""
        trace = Trace()
        with trace.launched(dst_vm('-S', incoming='tcp:127.0.0.1:0')) \
                as dst, src_vm(*BUSY) as src:
            self.start(src, dst, PREEMPT)
            self.assertEqual(digest(dst), digest(src))
            sinfo, dinfo = self.finished(src, dst)
            self.assertEqual(digest(dst), digest(src))
            self.assert_preempted(sinfo, dinfo)
            # Served on the source; a request the fault thread had
            # decided on just as the last page landed may cross SHUTDOWN.
            self.assertGreater(sinfo['ram']['postcopy-requests'], 0)
            self.assertLessEqual(sinfo['ram']['postcopy-requests'],
                                 dinfo['ram']['postcopy-requests'])
            self.assertIn('postcopy-preempt channel 0 bound', trace.lines)
            self.assert_no_crash(src, dst)

    def test_no_preempt_pages_without_option(self):
        """Without the option nothing counts as preempted: the counter
        tells the two paths apart."""
        cfg = dict(POSTCOPY, **{'max-postcopy-bandwidth': MiB})
        sinfo, dinfo = self.postcopy(cfg)
        self.assertGreater(dinfo['ram']['postcopy-requests'], 0)
        self.assertEqual(sinfo['ram']['postcopy-preempt-pages'], 0)
        self.assertEqual(dinfo['ram']['postcopy-preempt-pages'], 0)

    def test_preempt_precopy_completes(self):
        """With the option on and no switch, the channel opens, stays
        empty and ends with the precopy."""
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, src_vm() as src:
            cfg = {'postcopy-ram': True, 'postcopy-preempt': True}
            result = self.migrate(src, listen_uri(dst), config=cfg)
            self.assert_completed(src, dst, result)
            self.assertEqual(result['ram']['postcopy-preempt-pages'], 0)

    def test_preempt_multifd(self):
        cfg = dict(PREEMPT, **MULTIFD)
        sinfo, dinfo = self.postcopy(cfg)
        self.assert_preempted(sinfo, dinfo)
        self.assertEqual(sinfo['multifd']['channels'], 2)
        # Precopy went over multifd.
        self.assertGreater(min(sinfo['multifd']['channel-bytes']), 0)

    def test_multifd_zstd_postcopy(self):
        """Multifd (zstd) then postcopy on main, without preempt."""
        cfg = dict(POSTCOPY, **MULTIFD, **{'multifd-compression': 'zstd',
                                           'max-postcopy-bandwidth': MiB})
        sinfo, dinfo = self.postcopy(cfg)
        self.assertGreater(dinfo['ram']['postcopy-requests'], 0)
        self.assertEqual(dinfo['ram']['postcopy-preempt-pages'], 0)
        self.assertGreater(min(sinfo['multifd']['channel-bytes']), 0)

    def test_source_killed(self):
        """A source gone during a preempt postcopy: the destination's
        preempt reader ends with the main channel and the destination
        pauses, as without preempt, saying the guest cannot continue
        unless the source comes back; its guest is not stopped for
        good."""
        self.source_killed(dict(PREEMPT, **{
            'max-postcopy-bandwidth': 256 * 1024}))

    def test_destination_killed(self):
        """A destination gone during a preempt postcopy: the source's
        preempt thread stops, its channel closed, and the source pauses
        as without preempt, stopped with its pages."""
        self.destination_killed(dict(PREEMPT, **{
            'max-postcopy-bandwidth': 256 * 1024}))

    def test_destination_without_preempt(self):
        """A destination whose ACCEPT does not list postcopy-preempt
        (played by hand: the effective configuration echoed, no
        features) is refused by the source, which says why and runs on."""
        srv = socket.socket()
        srv.bind(('127.0.0.1', 0))
        srv.listen(1)
        uri = 'tcp:127.0.0.1:%d' % srv.getsockname()[1]
        with src_vm(*BUSY) as src:
            warm_up(src)
            src.cmd('migrate', uri=uri, config=PREEMPT)
            conn, _ = srv.accept()
            reader = StreamReader(conn)
            reader.header()
            session, config = parse_hello(reader.record()[1])
            self.assertTrue(json.loads(config)['postcopy-preempt'])
            conn.sendall(STREAM_HEADER + record(REC_ACCEPT,
                                                accept_body(session, config)))
            result = wait_status(src, FINAL)
            self.assertEqual(result['status'], 'failed')
            self.assertIn("does not list the feature 'postcopy-preempt'",
                          result['error-desc'])
            rtype, body = reader.record()
            self.assertEqual((rtype, parse_reject(body)[0]),
                             (REC_ERROR, 'IncompatibleConfig'))
            self.assert_source_runs(src)
            conn.close()
        srv.close()

    def test_destination_without_userfaultfd(self):
        """A destination that cannot do postcopy cannot do preempt: it
        refuses in the handshake, before any page or channel moves."""
        trace = Trace()
        with environment(VMIG_TEST_HOST_LACKS='userfaultfd'):
            dst = trace.launched(dst_vm(incoming='tcp:127.0.0.1:0'))
        with dst, src_vm(*BUSY) as src:
            result = self.migrate(src, listen_uri(dst), config=PREEMPT)
            self.assertEqual(result['status'], 'failed')
            self.assertIn("option 'postcopy-ram'", result['error-desc'])
            self.assertEqual(result.get('ram', {}).get('normal', 0), 0)
            self.assertNotIn('postcopy-preempt channel 0 bound',
                             trace.lines)
            self.assert_source_runs(src)


class PreemptTlsTest(TlsTestCase, PreemptCase):
    """The preempt channel runs TLS from its first byte, a session of its
    own; postcopy over PSK."""

    def test_preempt_x509(self):
        cfg = dict(PREEMPT, **{'tls-creds': 'tls0'})
        sinfo, dinfo = self.postcopy(
            cfg, dst_args=cmdline_object(self.x509_server()),
            src_args=cmdline_object(self.x509_client()),
            dst_incoming='tcp:127.0.0.1:0,tls-creds=tls0')
        self.assert_preempted(sinfo, dinfo)
        self.assertEqual(dinfo['tls']['kind'], 'x509')

    def test_postcopy_psk(self):
        cfg = dict(POSTCOPY, **{'tls-creds': 'tls0',
                                'max-postcopy-bandwidth': MiB})
        sinfo, dinfo = self.postcopy(
            cfg, dst_args=cmdline_object(self.psk_server()),
            src_args=cmdline_object(self.psk_client()),
            dst_incoming='tcp:127.0.0.1:0,tls-creds=tls0')
        self.assertGreater(dinfo['ram']['postcopy-requests'], 0)
        self.assertEqual(dinfo['tls']['kind'], 'psk')

    def test_preempt_psk(self):
        cfg = dict(PREEMPT, **{'tls-creds': 'tls0'})
        sinfo, dinfo = self.postcopy(
            cfg, dst_args=cmdline_object(self.psk_server()),
            src_args=cmdline_object(self.psk_client()),
            dst_incoming='tcp:127.0.0.1:0,tls-creds=tls0')
        self.assert_preempted(sinfo, dinfo)
        self.assertEqual(dinfo['tls']['kind'], 'psk')


if __name__ == '__main__':
    vmig_harness.main()
