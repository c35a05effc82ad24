#!/usr/bin/env python3
"""The TLS matrix of #13, end to end: what is refused, each case over
precopy and over multifd with 4 channels and zstd.  Certificates
expired, not yet valid, from another CA (on either end) and revoked;
TLS on one end only, in both directions; plaintext impostors at a TLS
destination; unix: and fd:, which need tls-hostname; the validator's
refusals naming the options.  Every refusal is reported on both ends
and leaves the source guest running; every migration that completes
ends with equal RAM and device digests.  The core cases
test_migration_tls.py runs over precopy run here over multifd only
(BEYOND_CORE); who may connect is test_tls_matrix.py and
test_tls_clients.py."""

import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from migration_helpers import (FINAL, RECORD_HEADER,  # noqa: E402
                               REC_HELLO, REC_REJECT, STREAM_HEADER,
                               dst_vm, hello_body, info, listen_uri,
                               parse_reject, record, src_vm, wait_status)
from tls_case import (ALERT_DST, BEYOND_CORE, CLIENT_DN,  # noqa: E402
                      MODES, SERVER_DN, TLS, WORKLOAD, TlsTestCase,
                      add_objects, obj, refusal_text, tearDownModule, x509)
from vmig_harness import TIMEOUT, wait_for  # noqa: E402

assert tearDownModule   # unittest runs it from this module

NO_TLS_HERE = 'the peer started TLS but this end has no TLS configured'
NO_TLS_THERE = 'the peer did not start TLS'


class X509ValidityTest(TlsTestCase):
    """Certificates out of their dates, from another CA, revoked: each
    refused by the end that checks it, whichever end holds it."""

    def server_refused(self, folder, words):
        """The destination presents the certificate of @folder; the
        source refuses it."""
        self.refused_over(MODES,
                          [self.x509_server(folder, sanity_check=False)],
                          [self.x509_client()],
                          ["server's certificate"] + words, ALERT_DST)

    def client_refused(self, folder, words, server=None):
        """The source presents the certificate of @folder; the
        destination refuses it and tells the source why."""
        words = ["client's certificate"] + words
        self.refused_over(MODES, [self.x509_server(server)],
                          [self.x509_client(folder, sanity_check=False)],
                          ['The destination refused'] + words, words)

    def test_server_expired(self):
        self.server_refused(self.certs.server_expired, ['expired'])

    def test_server_not_yet_valid(self):
        self.server_refused(self.certs.server_notyet, ['not valid yet'])

    def test_server_from_another_ca(self):
        self.server_refused(self.certs.server_otherca,
                            ['not signed by a CA'])

    def test_client_expired(self):
        self.client_refused(self.certs.client_expired, ['expired'])

    def test_client_not_yet_valid(self):
        self.client_refused(self.certs.client_notyet, ['not valid yet'])

    def test_client_from_another_ca(self):
        self.client_refused(self.certs.client_otherca,
                            ['not signed by a CA'])

    def test_client_revoked(self):
        self.client_refused(self.certs.client_revoked, ['revoked'],
                            server=self.certs.server_crl)

    def test_sanity_check_at_creation(self):
        # Without sanity-check=off the same objects are refused when
        # they are made, naming the file: the cases above really meet
        # the certificate at the handshake, not before.
        with src_vm() as vm:
            for folder, endpoint, words in [
                    (self.certs.server_expired, 'server', ['expired']),
                    (self.certs.client_notyet, 'client', ['not valid yet'])]:
                with self.subTest(folder=os.path.basename(folder)):
                    text = refusal_text(vm, 'object-add',
                                        **x509(folder, endpoint))
                    self.assertIn(os.path.join(folder, endpoint +
                                               '-cert.pem'), text)
                    for word in words:
                        self.assertIn(word, text)


class OneSidedTest(TlsTestCase):
    """No negotiated upgrade: TLS on one end only fails on both, with
    the issue's words."""

    def test_source_tls_destination_plain(self):
        self.refused_over(BEYOND_CORE, [], [self.x509_client()],
                          [NO_TLS_THERE], [NO_TLS_HERE], dst_config=None)

    def test_source_plain_destination_tls(self):
        # The destination tells the plaintext source why, in plaintext.
        self.refused_over(BEYOND_CORE, [self.x509_server()], [],
                          ['The destination refused', 'tls-creds',
                           'did not start TLS'], [NO_TLS_THERE],
                          src_config=None)

    def test_plaintext_impostors(self):
        # Garbage, then a well-formed plaintext HELLO, at a TLS
        # destination's port: each is closed, told at most that TLS is
        # required, and a real source then migrates.
        hello = STREAM_HEADER + record(REC_HELLO, hello_body(
            blocks=[('pc.ram', 32 << 20, 4096)]))
        for name, mode in BEYOND_CORE:
            with self.subTest(mode=name), self.pair(
                    [self.x509_server()], [self.x509_client()],
                    TLS) as (src, dst):
                host, port = listen_uri(dst)[len('tcp:'):].rsplit(':', 1)
                for junk in (b'GET / HTTP/1.0\r\n\r\n', hello):
                    self.assert_refused_impostor(
                        self.impostor(host, int(port), junk))
                wait_for(lambda: dst.stderr_text().count(NO_TLS_THERE) >= 2,
                         what='a warning for each impostor')
                self.assertIsNone(dst.proc.poll())
                self.assertNotEqual(info(dst).get('status'), 'failed')
                _, dtls = self.completes(src, dst, mode, TLS)
                self.assert_tls(dtls, 'x509', CLIENT_DN)

    def assert_refused_impostor(self, answer):
        """@answer, all a plaintext impostor got before the close, is
        nothing or a plaintext REJECT saying that TLS is required: never
        an ACCEPT, nor anything else."""
        if not answer:
            return
        self.assertEqual(answer[:len(STREAM_HEADER)], STREAM_HEADER)
        rtype, length = RECORD_HEADER.unpack_from(answer, len(STREAM_HEADER))
        self.assertEqual(rtype, REC_REJECT, answer)
        body = answer[len(STREAM_HEADER) + RECORD_HEADER.size:][:length]
        _, option, message = parse_reject(body)
        self.assertEqual(option, 'tls-creds')
        self.assertIn(NO_TLS_THERE.replace('the peer', 'the source'),
                      message)

    def impostor(self, host, port, data):
        """Sends @data and reads until the destination closes; returns
        what it sent back."""
        with socket.create_connection((host, port), timeout=TIMEOUT) as s:
            s.sendall(data)
            answer = b''
            while True:
                try:
                    chunk = s.recv(4096)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                answer += chunk
            return answer


class TransportTest(TlsTestCase):
    """unix: and fd: have no host name to check the destination's
    certificate against: tls-hostname is needed."""

    def test_unix_needs_tls_hostname(self):
        for name, mode in MODES:
            with self.subTest(mode=name):
                self.unix_case(mode)

    def unix_case(self, mode):
        with dst_vm(incoming='defer') as dst, src_vm(*WORKLOAD) as src:
            add_objects(dst, [self.x509_server()])
            add_objects(src, [self.x509_client()])
            uri = 'unix:' + os.path.join(dst.tmpdir, 'mig.sock')
            dst.cmd('migrate-incoming', uri=uri, exit_on_error=False,
                    config=TLS)
            config = dict(mode, **TLS)
            text = refusal_text(src, 'migrate', uri=uri, config=config)
            self.assertIn('tls-hostname', text)
            self.assert_source_runs(src)
            stls, _ = self.completes(src, dst, mode, dict(
                TLS, **{'tls-hostname': 'localhost'}), uri=uri)
            self.assert_tls(stls, 'x509', SERVER_DN)

    def test_fd_needs_tls_hostname(self):
        left, right = socket.socketpair()
        with dst_vm(incoming='defer') as dst, src_vm(*WORKLOAD) as src:
            add_objects(dst, [self.x509_server()])
            add_objects(src, [self.x509_client()])
            src.qmp.cmd('getfd', fds=[left.fileno()], fdname='mig')
            dst.qmp.cmd('getfd', fds=[right.fileno()], fdname='mig')
            left.close()
            right.close()
            text = refusal_text(src, 'migrate', uri='fd:mig', config=TLS)
            self.assertIn('tls-hostname', text)
            self.assert_source_runs(src)
            dst.cmd('migrate-incoming', uri='fd:mig', config=TLS)
            stls, dtls = self.completes(src, dst, {}, dict(
                TLS, **{'tls-hostname': 'dst.example.org'}), uri='fd:mig')
            self.assert_tls(stls, 'x509', SERVER_DN)
            self.assert_tls(dtls, 'x509', CLIENT_DN)


class ValidatorTest(TlsTestCase):
    """Refused before anything connects, naming the options."""

    def test_source_refusals(self):
        with src_vm(*WORKLOAD) as src, \
                dst_vm(incoming='tcp:127.0.0.1:0') as dst:
            add_objects(src, [self.x509_client(),
                              x509(self.certs.server, 'server', 'srv0'),
                              obj('secret', 'sec0', data='x')])
            uri = listen_uri(dst)
            path = os.path.join(src.tmpdir, 'state')
            cases = [
                ('missing object', uri, {'tls-creds': 'nope'},
                 ['tls-creds', "'nope'", 'exist']),
                ('not credentials', uri, {'tls-creds': 'sec0'},
                 ['tls-creds', "'sec0'", 'secret']),
                ('server endpoint', uri, {'tls-creds': 'srv0'},
                 ['tls-creds', "'srv0'", 'server']),
                ('zero-copy-send', uri,
                 {'tls-creds': 'tls0', 'multifd': True,
                  'zero-copy-send': True, 'checksum': 'none'},
                 ['zero-copy-send', 'tls-creds', 'together']),
                ('mapped-ram', 'file:' + path,
                 {'tls-creds': 'tls0', 'mapped-ram': True},
                 ['mapped-ram', 'tls-creds', 'together']),
                ('mapped-ram over tcp', uri,
                 {'tls-creds': 'tls0', 'mapped-ram': True},
                 ['mapped-ram', 'tls-creds', 'together']),
                ('file', 'file:' + path, TLS,
                 ['tls-creds', "URI 'file:"]),
                ('tls-authz', uri, {'tls-creds': 'tls0', 'tls-authz': 'a'},
                 ['tls-authz', 'source']),
            ]
            for what, target, config, words in cases:
                with self.subTest(what):
                    text = refusal_text(src, 'migrate', uri=target,
                                        config=config)
                    for word in words:
                        self.assertIn(word, text)
                    self.assertEqual(src.cmd('query-status')['status'],
                                     'running')
            self.assertFalse(os.path.exists(path))
            self.assert_source_runs(src)
            # The destination is untouched by all this and still serves.
            self.assertEqual(src.cmd('migrate', uri=uri), {})
            self.assert_completed(src, dst, wait_status(src, FINAL))

    def test_destination_refusals(self):
        with dst_vm(incoming='defer') as dst:
            add_objects(dst, [self.x509_client(),
                              x509(self.certs.server, 'server', 'srv0')])
            for what, config, words in [
                    ('missing object', {'tls-creds': 'nope'},
                     ['tls-creds', "'nope'", 'exist']),
                    ('client endpoint', TLS,
                     ['tls-creds', "'tls0'", 'client']),
                    ('missing authz', {'tls-creds': 'srv0',
                                       'tls-authz': 'nope'},
                     ['tls-authz', "'nope'", 'exist']),
                    ('tls-hostname', {'tls-creds': 'srv0',
                                      'tls-hostname': 'dst.example.org'},
                     ['tls-hostname', 'destination'])]:
                with self.subTest(what):
                    text = refusal_text(dst, 'migrate-incoming',
                                        uri='tcp:127.0.0.1:0',
                                        config=config)
                    for word in words:
                        self.assertIn(word, text)
            text = refusal_text(dst, 'migrate-incoming',
                                uri='file:' + os.path.join(dst.tmpdir, 'f'),
                                config={'tls-creds': 'srv0'})
            self.assertIn('tls-creds', text)
            self.assertIn("URI 'file:", text)
            # After every refusal it can still listen with TLS.
            dst.cmd('migrate-incoming', uri='tcp:127.0.0.1:0',
                    config={'tls-creds': 'srv0'})
            self.assertTrue(listen_uri(dst).startswith('tcp:'))


if __name__ == '__main__':
    vmig_harness.main()
