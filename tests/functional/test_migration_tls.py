#!/usr/bin/env python3
"""Migrations over TLS, end to end: PSK with the right and a wrong key,
x509 with query-migrate's TLS facts on both ends, multifd with 4
channels and zstd over TLS, a source tls-authz refuses (told inside
TLS), TLS on one side only in both directions, and plaintext impostors
on a TLS destination's port.  Every successful case ends with equal
digests; every refused one leaves the source guest running.

Certificates are made at run time by tests/tls/tlscerts.py (certtool).
The full matrix (hostnames, dates, CAs, CRLs, anon) is elsewhere."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'tls'))
import tlscerts  # noqa: E402
import vmig_harness  # noqa: E402
from migration_helpers import (STREAM_HEADER,  # noqa: E402
                               MigrationTestCase, dst_vm, hello_body, info,
                               listen_uri, record, src_vm, warm_up)
from mig_relay import Rendezvous  # noqa: E402
from vmig_harness import wait_for  # noqa: E402

RELAY = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                     'mig_relay.py')

TLS = {'tls-creds': 'tls0'}
# Fast enough that warm_up()'s 4096 writes take a tenth of a second.
DIRTY = ['-workload', 'rate=64M,pattern=random,seed=5']


def keyval(s):
    """@s as one keyval value (commas doubled)."""
    return s.replace(',', ',,')


class TlsMigrationTest(MigrationTestCase):

    @classmethod
    def setUpClass(cls):
        # Without certtool each test skips (setUp), so that the plan's
        # count of tests stays right.
        cls.tmp = tempfile.mkdtemp(prefix='vmig-test-mig-tls-')
        cls.certs = (tlscerts.make(os.path.join(cls.tmp, 'certs'))
                     if tlscerts.have_certtool() else None)

    def setUp(self):
        super().setUp()
        if self.certs is None:
            raise unittest.SkipTest('certtool (gnutls-bin) is not installed')

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def migrate(self, src, uri=None, **args):
        """MigrationTestCase.migrate(), once the fast workload has filled
        some memory and slowed down: a sanitizer build's migration must
        still converge (under TSan 64 MiB/s of random writes outrun the
        sends)."""
        warm_up(src)
        src.cmd('x-workload-set', rate=4 << 20)
        return super().migrate(src, uri, **args)

    # ---- The two ends ----

    def x509(self, folder, endpoint):
        return ['-object', 'tls-creds-x509,id=tls0,dir=%s,endpoint=%s'
                % (folder, endpoint)]

    def psk(self, folder, endpoint):
        # A server accepts every username of its keys.psk.
        user = (',username=' + tlscerts.PSK_USERNAME
                if endpoint == 'client' else '')
        return ['-object', 'tls-creds-psk,id=tls0,dir=%s,endpoint=%s%s'
                % (folder, endpoint, user)]

    def run_ok(self, dst_objects, src_objects, config=TLS, dst_extra='',
               mem='32M'):
        """Returns both ends' final query-migrate and vmig-ctl's summary
        of the destination's migration."""
        with dst_vm(*dst_objects, mem=mem,
                    incoming='tcp:127.0.0.1:0,tls-creds=tls0' + dst_extra) \
                as dst, src_vm(*(src_objects + DIRTY), mem=mem) as src:
            result = self.migrate(src, listen_uri(dst), config=config)
            self.assert_completed(src, dst, result)
            self.assert_no_crash(src, dst)
            ctl = subprocess.run([vmig_harness.VMIG_CTL, dst.qmp_path,
                                  'watch-migration'],
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE,
                                 timeout=vmig_harness.TIMEOUT)
            self.assertEqual(ctl.returncode, 0, ctl.stderr)
            self.summary = ctl.stdout.decode()
            return result, info(dst)

    def run_refused(self, dst_objects, src_objects, config=TLS,
                    dst_incoming='tcp:127.0.0.1:0,tls-creds=tls0'):
        """The migration fails; returns the source's error and the
        destination's stderr, after checking the source guest runs and
        the destination still waits for a source."""
        with dst_vm(*dst_objects, incoming=dst_incoming) as dst, \
                src_vm(*(src_objects + DIRTY)) as src:
            result = self.migrate(src, listen_uri(dst), config=config)
            self.assertEqual(result['status'], 'failed', result)
            self.assert_source_runs(src)
            # Nothing reached the destination's migration: it waits on.
            self.assertNotIn('status', info(dst))
            self.assertEqual(dst.cmd('query-status')['status'], 'inmigrate')
            self.assert_no_crash(src, dst)
            return result['error-desc'], dst.stderr_text()

    # ---- PSK ----

    def test_psk_match(self):
        c = self.certs
        result, dinfo = self.run_ok(self.psk(c.psk_server, 'server'),
                                    self.psk(c.psk_client, 'client'))
        for side in (result, dinfo):
            self.assertEqual(side['tls']['kind'], 'psk')
            self.assertTrue(side['tls']['protocol'].startswith('TLS'))
            self.assertTrue(side['tls']['cipher'])
        # The destination knows who came; a PSK server proves nothing.
        self.assertEqual(dinfo['tls']['peer-identity'],
                         tlscerts.PSK_USERNAME)
        self.assertNotIn('peer-identity', result['tls'])

    def test_psk_mismatch(self):
        c = self.certs
        err, dst_log = self.run_refused(self.psk(c.psk_server, 'server'),
                                        self.psk(c.psk_wrong, 'client'))
        self.assertIn('TLS handshake on ', err)
        self.assertIn('the peer sent the TLS alert', err)
        self.assertIn('with PSK credentials: the destination has another '
                      'key for this username', err)
        self.assertIn('incoming migration: closing connection', dst_log)
        self.assertIn('TLS handshake failed', dst_log)

    # ---- x509 ----

    def test_x509(self):
        c = self.certs
        result, dinfo = self.run_ok(self.x509(c.server, 'server'),
                                    self.x509(c.client, 'client'))
        self.assertEqual(result['tls']['kind'], 'x509')
        self.assertEqual(dinfo['tls']['kind'], 'x509')
        self.assertEqual(dinfo['tls']['peer-identity'], tlscerts.CLIENT_DN)
        self.assertIn('CN=localhost', result['tls']['peer-identity'])
        self.assertEqual(result['tls']['cipher'], dinfo['tls']['cipher'])
        self.assertEqual(result['tls']['protocol'], dinfo['tls']['protocol'])
        # vmig-ctl's summary says how.
        self.assertIn('  encrypted    %s, %s (x509), peer %s\n'
                      % (dinfo['tls']['protocol'], dinfo['tls']['cipher'],
                         tlscerts.CLIENT_DN), self.summary)

    def test_x509_multifd_zstd(self):
        c = self.certs
        cfg = dict(TLS, **{'multifd': True, 'multifd-channels': 4,
                           'multifd-compression': 'zstd'})
        result, dinfo = self.run_ok(self.x509(c.server, 'server'),
                                    self.x509(c.client, 'client'),
                                    config=cfg, mem='64M')
        for side in (result, dinfo):
            self.assertEqual(side['multifd']['channels'], 4)
            self.assertTrue(all(b > 0 for b in
                                side['multifd']['channel-bytes']), side)
            self.assertEqual(side['tls']['kind'], 'x509')

    def test_wrong_destination_name(self):
        """The source refuses a destination whose certificate is for
        other names, says so, and tells the destination with an alert."""
        c = self.certs
        err, dst_log = self.run_refused(
            self.x509(c.server, 'server'), self.x509(c.client, 'client'),
            config=dict(TLS, **{'tls-hostname': 'other.example.org'}))
        self.assertIn("TLS with the destination 'tcp:127.0.0.1:", err)
        self.assertIn("not 'other.example.org'", err)
        self.assertIn("TLS: the peer sent the TLS alert 'Certificate is "
                      "bad'", dst_log)

    def test_authz_refuses_source(self):
        c = self.certs
        authz = ['-object', 'authz-simple,id=auth0,identity=' +
                 keyval(tlscerts.CLIENT_DN)]
        # The friendly client migrates...
        self.run_ok(self.x509(c.server, 'server') + authz,
                    self.x509(c.client, 'client'),
                    dst_extra=',tls-authz=auth0')
        # ...the hostile one hears why it may not, as text.
        err, dst_log = self.run_refused(
            self.x509(c.server, 'server') + authz,
            self.x509(c.client_hostile, 'client'),
            dst_incoming='tcp:127.0.0.1:0,tls-creds=tls0,tls-authz=auth0')
        self.assertIn('The destination refused the migration', err)
        self.assertIn(tlscerts.HOSTILE_DN, err)
        self.assertNotIn('reset', err)
        self.assertIn(tlscerts.HOSTILE_DN, dst_log)

    def test_x509_unix_and_exec(self):
        """URIs without a host name: the source names the destination's
        certificate with tls-hostname; exec: on both ends puts TLS on the
        one channel there is (the destination's router drives its
        handshake like a listener's)."""
        c = self.certs
        cfg = dict(TLS, **{'tls-hostname': 'localhost'})
        with dst_vm(*self.x509(c.server, 'server'),
                    incoming='defer') as dst, \
                src_vm(*(self.x509(c.client, 'client') + DIRTY)) as src:
            path = os.path.join(dst.tmpdir, 'mig.sock')
            dst.cmd('migrate-incoming', uri='unix:' + path, config=TLS)
            result = self.migrate(src, 'unix:' + path, config=cfg)
            self.assert_completed(src, dst, result)
            self.assertEqual(info(dst)['tls']['peer-identity'],
                             tlscerts.CLIENT_DN)
        with dst_vm(*self.x509(c.server, 'server'),
                    incoming='defer') as dst, \
                src_vm(*(self.x509(c.client, 'client') + DIRTY)) as src:
            path = os.path.join(dst.tmpdir, 'relay.sock')
            rendezvous = Rendezvous(path)
            cmd = 'exec:%s %s %s' % (sys.executable, RELAY, path)
            try:
                # exec:'s one channel is no stranger: it waits for its
                # source past accept-timeout, as without TLS.
                dst.cmd('migrate-incoming', uri=cmd,
                        config=dict(TLS, **{'accept-timeout': 100}))
                time.sleep(0.5)
                result = self.migrate(src, cmd, config=cfg)
                self.assert_completed(src, dst, result)
                self.assertEqual(result['tls']['kind'], 'x509')
                self.assertEqual(info(dst)['tls']['peer-identity'],
                                 tlscerts.CLIENT_DN)
                self.assert_no_crash(src, dst)
            finally:
                rendezvous.close()

    def test_tls_options_fixed_while_waiting(self):
        """libvirt's order: the TLS options before migrate-incoming, and
        cleared after the migration; a change while the destination
        waits would not reach its listener, so it is refused."""
        c = self.certs
        with dst_vm(*self.x509(c.server, 'server'), incoming='defer') \
                as dst, src_vm(*(self.x509(c.client, 'client') + DIRTY)) \
                as src:
            dst.cmd('migrate-set-parameters', tls_creds='tls0')
            dst.cmd('migrate-incoming', uri='tcp:127.0.0.1:0')
            for change in ({'tls-creds': ''}, {'tls-authz': 'a'},
                           {'tls-hostname': 'h'}):
                with self.subTest(change=change):
                    resp = dst.qmp.execute('migrate-set-parameters', change)
                    self.assertIn('error', resp)
                    (name, _), = change.items()
                    self.assertIn("Option '%s' cannot change while this "
                                  "destination waits for its source" % name,
                                  resp['error']['desc'])
            # Unchanged values and other options still go.
            self.assertEqual(dst.cmd('migrate-set-parameters',
                                     tls_creds='tls0', downtime_limit=400),
                             {})
            result = self.migrate(src, listen_uri(dst), config=TLS)
            self.assert_completed(src, dst, result)
            # Done: cleared, and the object can go, as libvirt does.
            self.assertEqual(dst.cmd('migrate-set-parameters', tls_creds=''),
                             {})
            self.assertEqual(dst.cmd('object-del', id='tls0'), {})

    # ---- TLS on one side only ----

    def test_plaintext_source_tls_destination(self):
        c = self.certs
        err, dst_log = self.run_refused(self.x509(c.server, 'server'), [],
                                        config={})
        self.assertIn('requires TLS (tls-creds), but the source did not '
                      'start TLS', err)
        self.assertIn('the peer did not start TLS (it sent a plaintext '
                      'stream)', dst_log)

    def test_tls_source_plaintext_destination(self):
        c = self.certs
        err, dst_log = self.run_refused([], self.x509(c.client, 'client'),
                                        dst_incoming='tcp:127.0.0.1:0')
        self.assertIn('the peer did not start TLS (it sent a plaintext '
                      'stream)', err)
        self.assertIn('the peer started TLS but this end has no TLS '
                      'configured', dst_log)

    # ---- Impostors ----

    def test_plaintext_impostors(self):
        """Strangers speaking plaintext to a TLS destination, a HELLO
        and garbage, are warned about and closed, and the real source
        migrates after them."""
        c = self.certs
        with dst_vm(*self.x509(c.server, 'server'),
                    incoming='tcp:127.0.0.1:0,tls-creds=tls0') as dst, \
                src_vm(*(self.x509(c.client, 'client') + DIRTY)) as src:
            uri = listen_uri(dst)
            host, port = uri[len('tcp:'):].rsplit(':', 1)
            for junk in (STREAM_HEADER + record(1, hello_body()),
                         b'GET / HTTP/1.0\r\n\r\n'):
                s = socket.create_connection((host, int(port)))
                s.sendall(junk)
                # Closed, after a plaintext REJECT saying why.
                s.settimeout(vmig_harness.TIMEOUT)
                got = b''
                while True:
                    b = s.recv(4096)
                    if not b:
                        break
                    got += b
                s.close()
                self.assertTrue(got.startswith(STREAM_HEADER), got)
                self.assertIn(b'requires TLS', got)
            wait_for(lambda: dst.stderr_text().count(
                'the peer did not start TLS') >= 2, what='two warnings')
            result = self.migrate(src, uri, config=TLS)
            self.assert_completed(src, dst, result)
            self.assert_no_crash(src, dst)


if __name__ == '__main__':
    vmig_harness.main()
