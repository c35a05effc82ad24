#!/usr/bin/env python3
"""Postcopy (#14): migrate-start-postcopy switches a migration with
postcopy-ram; the destination runs the guest and fetches the pages it
lacks on demand (PAGE_REQUEST) while the rest follows in the background.

The proof of a postcopy: a destination paused with -S whose digest is
taken during postcopy (x-query-vm-digest reads every page, so each
missing one is requested and placed while the digest waits) equals the
source's, stopped since the switch.  A running destination shows its
vCPUs' faults as postcopy-requests and blocktime instead (its guest
moves on, so its digest is its own)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from tls_case import (TlsTestCase, cmdline_object,  # noqa: E402,F401
                      tearDownModule)
from migration_helpers import (FINAL, RECORD_HEADER,  # noqa: E402
                               REC_POSTCOPY_RUN, MigrationTestCase,
                               digest, dst_vm, environment, info,
                               listen_uri, padded_body, port_of,
                               rss_anon_kib, src_vm, wait_status, warm_up)
from mig_relay import RecordFollower, TcpRelay  # noqa: E402
from vmig_harness import QMPError, stretched, wait_for  # noqa: E402

MiB = 1 << 20
# Dirties 32 MiB/s at random over 32 MiB of RAM: twice what the link
# below carries, so precopy alone never converges.
BUSY = ['-workload', 'rate=32M,pattern=random,content=text,seed=7']
SLOW_LINK = {'max-bandwidth': 16 * MiB, 'downtime-limit': 1}
POSTCOPY = dict(SLOW_LINK, **{'postcopy-ram': True})


def passes(vm):
    return info(vm).get('ram', {}).get('iteration', 0)


class PostcopyCase(MigrationTestCase):
    """A postcopy started and seen through."""

    def start(self, src, dst, cfg, after_passes=2):
        """Migrates @src to @dst with @cfg until pass @after_passes, then
        switches to postcopy; returns once the destination listens."""
        self.precopy_until(src, listen_uri(dst), cfg, after_passes)
        self.assertEqual(src.cmd('migrate-start-postcopy'), {})
        wait_status(dst, ('postcopy-active',) + FINAL)

    def precopy_until(self, src, uri, cfg, after_passes):
        """Migrates @src to @uri with @cfg until pass @after_passes."""
        warm_up(src)
        src.cmd('migrate', uri=uri, config=cfg)
        wait_for(lambda: passes(src) >= after_passes,
                 what='pass %d' % after_passes)
        self.assertEqual(info(src)['status'], 'active')

    def destination_killed(self, cfg):
        """Kills the destination during a postcopy with @cfg: the source
        pauses, saying the guest cannot continue unless the destination
        comes back, and stays stopped with its pages."""
        with dst_vm('-S', incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            self.start(src, dst, cfg)
            before = digest(src)
            dst.kill()
            result = wait_status(src, ('postcopy-paused',) + FINAL)
            self.assertEqual(result['status'], 'postcopy-paused')
            self.assertIn('cannot continue until the destination comes '
                          'back', result['error-desc'])
            self.assertEqual(src.cmd('query-status')['status'],
                             'finish-migrate')
            with self.assertRaises(QMPError):
                src.cmd('cont')
            self.assertEqual(digest(src), before)
            self.assert_no_crash(src)

    def source_killed(self, cfg):
        """Kills the source during a postcopy with @cfg: the destination
        pauses, saying the guest cannot continue unless the source comes
        back; its guest is not stopped for good."""
        with dst_vm(*BUSY, incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            self.start(src, dst, cfg)
            src.kill()
            result = wait_status(dst, ('postcopy-paused',) + FINAL)
            self.assertEqual(result['status'], 'postcopy-paused')
            self.assertIn('cannot continue until the source comes back',
                          result['error-desc'])
            self.assertNotEqual(dst.cmd('query-status')['status'],
                                'internal-error')
            self.assert_no_crash(dst)

    def finished(self, src, dst):
        sinfo = wait_status(src, FINAL, timeout=60)
        self.assertEqual(sinfo['status'], 'completed', sinfo)
        dinfo = wait_status(dst, FINAL)
        self.assertEqual(dinfo['status'], 'completed', dinfo)
        self.assertEqual(src.cmd('query-status')['status'], 'postmigrate')
        return sinfo, dinfo


class PostcopyTest(PostcopyCase):

    def test_plain(self):
        """Every page the destination lacked comes on request, RAM and
        devices equal to the source's; states and events as QEMU's."""
        cfg = dict(POSTCOPY, **{'max-postcopy-bandwidth': MiB,
                                'events': True})
        with dst_vm('-S', incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            self.start(src, dst, cfg)
            self.assertEqual(info(src)['status'], 'postcopy-active')
            self.assertEqual(dst.cmd('query-status')['status'], 'paused')
            # The source is stopped since the switch: its digest holds.
            self.assertEqual(digest(dst), digest(src))
            sinfo, dinfo = self.finished(src, dst)
            self.assertGreater(dinfo['ram']['postcopy-requests'], 0)
            self.assertEqual(sinfo['ram']['postcopy-requests'],
                             dinfo['ram']['postcopy-requests'])
            self.assertEqual(digest(dst), digest(src))
            self.assertEqual(dst.cmd('query-status')['status'], 'paused')
            seen = [e['data']['status'] for e in src.qmp.events
                    if e['event'] == 'MIGRATION']
            self.assertEqual(seen[-2:], ['postcopy-active', 'completed'])
            self.assert_no_crash(src, dst)

    def test_background_only(self):
        """Without a single fault the background stream sends it all."""
        with dst_vm('-S', incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            self.start(src, dst, POSTCOPY)
            self.finished(src, dst)
            self.assertEqual(info(dst)['ram']['postcopy-requests'], 0)
            self.assertEqual(digest(dst), digest(src))

    def test_flow_control(self):
        """After the switch the source keeps at most a window (512 KiB)
        of pages the destination has not confirmed placing: with the
        destination's answers held back in a relay that passes the
        source's data on, it stops sending about there, where without
        flow control the whole rest of the guest would go."""
        follower = RecordFollower()
        run_end = []

        def tap(data):
            for off, rtype, length in follower.feed(data):
                if rtype == REC_POSTCOPY_RUN and not run_end:
                    run_end.append(off + RECORD_HEADER.size +
                                   padded_body(length))
            return data

        def after_run():
            return follower.done - run_end[0] if run_end else None

        cfg = dict(POSTCOPY, **{'max-postcopy-bandwidth': 0})
        with dst_vm('-S', incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            relay = TcpRelay(port_of(listen_uri(dst)),
                             tap_for=lambda n: tap if n == 0 else None)
            try:
                self.precopy_until(src, 'tcp:127.0.0.1:%d' % relay.port,
                                   cfg, 2)
                relay.hold_replies()
                self.assertEqual(src.cmd('migrate-start-postcopy'), {})
                seen = []

                def settled():
                    # Unchanged over half a second: the source waits.
                    seen.append(after_run())
                    return (len(seen) > 5 and seen[-1] is not None and
                            seen[-1] == seen[-6])
                wait_for(settled, timeout=stretched(30), interval=0.1,
                         what='the source to stop sending')
                held = after_run()
                self.assertLessEqual(held, 1024 * 1024)
                relay.release_replies()
                self.finished(src, dst)
                # Far more went in all: the window, not the guest's end,
                # stopped the source.
                self.assertGreater(after_run(), 8 * held)
                self.assertEqual(digest(dst), digest(src))
            finally:
                relay.close()

    def test_busy_guest_finishes_in_postcopy(self):
        """A guest dirtying faster than the link: precopy goes on pass
        after pass; postcopy ends it, the destination's vCPUs faulting on
        the pages they touch first, with blocktime measured."""
        cfg = dict(POSTCOPY, **{'postcopy-blocktime': True,
                                'max-postcopy-bandwidth': 4 * MiB})
        with dst_vm(*BUSY, '-smp', '2', incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY, '-smp', '2') as src:
            self.start(src, dst, cfg, after_passes=4)
            self.finished(src, dst)
            dinfo = info(dst)
            self.assertGreater(dinfo['ram']['postcopy-requests'], 0)
            self.assertEqual(dst.cmd('query-status')['status'], 'running')
            self.assertEqual(len(dinfo['postcopy-vcpu-blocktime']), 2)
            self.assertGreater(sum(dinfo['postcopy-vcpu-blocktime']), 0)
            self.assertIn('postcopy-blocktime', dinfo)
            lat = dinfo['postcopy-latency']
            self.assertGreater(lat['count'], 0)
            self.assertLessEqual(lat['p50'], lat['p99'])
            self.assertLessEqual(lat['p99'], lat['max'])
            # The guest goes on here: its writes go on counting.
            before = dst.cmd('x-query-workload')['writes']
            wait_for(lambda: dst.cmd('x-query-workload')['writes'] > before,
                     what='the destination guest writing')

    def test_no_blocktime_without_option(self):
        with dst_vm(*BUSY, incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            self.start(src, dst, POSTCOPY)
            self.finished(src, dst)
            self.assertNotIn('postcopy-blocktime', info(dst))
            self.assertNotIn('postcopy-latency', info(dst))

    def test_release_ram(self):
        """release-ram: the source gives back each page once sent."""
        cfg = dict(POSTCOPY, **{'release-ram': True})
        with dst_vm('-S', incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            warm_up(src)
            src.cmd('migrate', uri=listen_uri(dst), config=cfg)
            wait_for(lambda: passes(src) >= 2, what='pass 2')
            before = rss_anon_kib(src)
            src.cmd('migrate-start-postcopy')
            self.finished(src, dst)
            # Every page dirty at the switch was released after sending:
            # several MiB with this guest.
            self.assertLess(rss_anon_kib(src), before - 1024)

    def test_cancel_refused_after_switch(self):
        cfg = dict(POSTCOPY, **{'max-postcopy-bandwidth': 256 * 1024})
        with dst_vm('-S', incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY, hmp=True) as src:
            self.start(src, dst, cfg)
            with self.assertRaises(QMPError) as cm:
                src.cmd('migrate_cancel')
            self.assertIn('postcopy and cannot be cancelled',
                          cm.exception.desc)
            self.assertIn('postcopy', src.hmp('migrate_cancel'))
            self.assertEqual(info(src)['status'], 'postcopy-active')
            src.cmd('migrate-set-config', **{'max-postcopy-bandwidth': 0})
            self.finished(src, dst)
            self.assertEqual(digest(dst), digest(src))

    def test_start_postcopy_refused(self):
        with src_vm(*BUSY, hmp=True) as src:
            with self.assertRaises(QMPError) as cm:
                src.cmd('migrate-start-postcopy')
            self.assertIn('No outgoing migration', cm.exception.desc)
            self.assertIn('No outgoing migration',
                          src.hmp('migrate_start_postcopy'))
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*BUSY) as src:
            warm_up(src)
            src.cmd('migrate', uri=listen_uri(dst), config=SLOW_LINK)
            wait_status(src, 'active')
            with self.assertRaises(QMPError) as cm:
                src.cmd('migrate-start-postcopy')
            self.assertIn('without postcopy-ram', cm.exception.desc)
            src.cmd('migrate_cancel')
            self.assertEqual(wait_status(src, FINAL)['status'], 'cancelled')

    def test_destination_without_userfaultfd(self):
        """Refused in the handshake, before any page moves."""
        with environment(VMIG_TEST_HOST_LACKS='userfaultfd'):
            dst = dst_vm(incoming='tcp:127.0.0.1:0').launch()
        with dst, src_vm(*BUSY) as src:
            result = self.migrate(src, listen_uri(dst), config=POSTCOPY)
            self.assertEqual(result['status'], 'failed')
            self.assertIn("option 'postcopy-ram'", result['error-desc'])
            self.assertIn('userfaultfd', result['error-desc'])
            # Before any page moved.
            self.assertEqual(result.get('ram', {}).get('normal', 0), 0)
            self.assert_source_runs(src)

    def test_destination_killed(self):
        """A destination gone during postcopy: the source pauses (as
        QEMU's), saying the guest cannot continue unless the destination
        comes back, and stays stopped with its pages."""
        self.destination_killed(dict(POSTCOPY, **{
            'max-postcopy-bandwidth': 256 * 1024}))

    def test_source_killed(self):
        """A source gone during postcopy: the destination pauses, saying
        the guest cannot continue unless the source comes back; its
        vCPUs wait for their pages rather than run on zeroes.  Quitting
        it ends cleanly."""
        self.source_killed(dict(POSTCOPY, **{
            'max-postcopy-bandwidth': 256 * 1024}))


class PostcopyTlsTest(TlsTestCase, PostcopyCase):
    """Postcopy inside x509 TLS: the page requests and the pages travel
    in the main channel's TLS session like everything else."""

    def test_x509(self):
        cfg = dict(POSTCOPY, **{'tls-creds': 'tls0',
                                'max-postcopy-bandwidth': MiB})
        with dst_vm('-S', *cmdline_object(self.x509_server()),
                    incoming='tcp:127.0.0.1:0,tls-creds=tls0') as dst, \
                src_vm(*BUSY, *cmdline_object(self.x509_client())) as src:
            self.start(src, dst, cfg)
            self.assertEqual(digest(dst), digest(src))
            sinfo, dinfo = self.finished(src, dst)
            self.assertGreater(dinfo['ram']['postcopy-requests'], 0)
            self.assertEqual(dinfo['tls']['kind'], 'x509')
            self.assertEqual(digest(dst), digest(src))
            self.assert_no_crash(src, dst)


if __name__ == '__main__':
    vmig_harness.main()
