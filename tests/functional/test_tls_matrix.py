#!/usr/bin/env python3
"""The TLS matrix of #13, end to end: who may connect, each case over
precopy and over multifd with 4 channels and zstd (the basic x509 case
also with 1 channel).  PSK; x509 with the host from the URI or
tls-hostname; anonymous TLS.  Every migration that completes ends with
equal RAM and device digests and the tls facts of query-migrate on both
ends; every refusal is reported on both ends and leaves the source guest
running.  The core cases test_migration_tls.py runs over precopy run
here over multifd only (BEYOND_CORE).  The source's certificate and its
authorization are test_tls_clients.py; certificates out of their dates,
from another CA or revoked, TLS on one end only, impostors, unix:/fd:
and the validator are test_tls_refusals.py; the libvirt flow is
test_tls_libvirt.py."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from migration_helpers import (dst_vm, free_tcp_port,  # noqa: E402
                               listen_uri, src_vm)
from tls_case import (ALERT_DST, BEYOND_CORE, CLIENT_DN,  # noqa: E402
                      MODES, MULTIFD1, SERVER_DN, TLS, WORKLOAD,
                      TlsTestCase, add_objects, anon, cmdline_object,
                      tearDownModule, tlscerts)

assert tearDownModule   # unittest runs it from this module

# A handshake that fails: the source hears the destination's alert.
HANDSHAKE_SRC = ['TLS handshake', 'failed', 'TLS alert']
HANDSHAKE_DST = ['TLS handshake', 'failed']


class PskTest(TlsTestCase):

    def test_match(self):
        def check(stls, dtls):
            self.assert_tls(dtls, 'psk', tlscerts.PSK_USERNAME)
            self.assertEqual(stls['kind'], 'psk')
            self.assertEqual(stls['cipher'], dtls['cipher'])
        self.completes_over(BEYOND_CORE, [self.psk_server()],
                            [self.psk_client()], check)

    def test_wrong_key_refused(self):
        self.refused_over(BEYOND_CORE, [self.psk_server()],
                          [self.psk_client(self.certs.psk_wrong)],
                          HANDSHAKE_SRC, HANDSHAKE_DST)


class X509HostTest(TlsTestCase):
    """The destination's certificate checked against the URI's host or
    tls-hostname."""

    def test_default_host(self):
        # The keyval -incoming with -object: all a destination needs.
        # (Precopy and multifd 4+zstd: test_migration_tls.py.)
        for name, mode in (('multifd1', MULTIFD1),):
            with self.subTest(mode=name), dst_vm(
                    *cmdline_object(self.x509_server()),
                    incoming='tcp:127.0.0.1:0,tls-creds=tls0') as dst, \
                    src_vm(*WORKLOAD) as src:
                add_objects(src, [self.x509_client()])
                uri = listen_uri(dst)
                self.assertTrue(uri.startswith('tcp:127.0.0.1:'), uri)
                self.source_saw_server(*self.completes(src, dst, mode, TLS,
                                                       uri=uri))

    def source_saw_server(self, stls, dtls):
        self.assert_tls(stls, 'x509', SERVER_DN)
        self.assert_tls(dtls, 'x509', CLIENT_DN)

    def test_default_host_localhost(self):
        for mode in MODES:
            port = free_tcp_port()
            self.completes_over([mode], [self.x509_server()],
                                [self.x509_client()], self.source_saw_server,
                                listen='tcp:127.0.0.1:%d' % port,
                                uri='tcp:localhost:%d' % port)

    def test_override_host(self):
        self.completes_over(MODES, [self.x509_server()], [self.x509_client()],
                            self.source_saw_server, src_config=dict(TLS, **{
                                'tls-hostname': 'dst.example.org'}))

    def test_wrong_host_refused(self):
        self.refused_over(MODES, [self.x509_server()], [self.x509_client()],
                          ['wrong.example.org'], ALERT_DST,
                          src_config=dict(TLS, **{
                              'tls-hostname': 'wrong.example.org'}))

    def test_certificate_without_the_name_refused(self):
        self.refused_over(MODES, [self.x509_server(self.certs.server_noname)],
                          [self.x509_client()],
                          ['other.example.org', '127.0.0.1'], ALERT_DST)


class AnonTest(TlsTestCase):

    def test_both_anonymous(self):
        def check(stls, dtls):
            self.assert_tls(stls, 'anon', None)
            self.assert_tls(dtls, 'anon', None)
        self.completes_over(MODES, [anon('server')], [anon('client')], check)

    def test_anonymous_client_against_x509_server(self):
        self.refused_over(MODES, [self.x509_server()], [anon('client')],
                          HANDSHAKE_SRC, HANDSHAKE_DST)


if __name__ == '__main__':
    vmig_harness.main()
