#!/usr/bin/env python3
"""The TLS matrix of #13, end to end, each case over precopy and over
multifd with 4 channels and zstd (the basic x509 case also with 1
channel): PSK; x509 with the host from the URI or tls-hostname,
authorization of the client's DN, missing, expired, not yet valid,
foreign-CA and revoked certificates on either end, an encrypted key;
anonymous TLS; TLS on one end only; plaintext impostors at a TLS
destination; unix: and fd:, which need tls-hostname; the validator's
refusals.  Every migration that completes ends with equal RAM and
device digests and the tls facts of query-migrate on both ends; every
refusal is reported on both ends and leaves the source guest running.
The core cases test_migration_tls.py runs over precopy run here over
multifd only (BEYOND_CORE); the libvirt flow is test_tls_libvirt.py."""

import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from migration_helpers import (FINAL, RECORD_HEADER,  # noqa: E402
                               REC_HELLO, REC_REJECT, STREAM_HEADER,
                               dst_vm, free_tcp_port, hello_body, info,
                               listen_uri, parse_reject, record, src_vm,
                               wait_status)
from tls_case import (CLIENT_DN, HOSTILE_DN, MODES,  # noqa: E402
                      MULTIFD1, SERVER_DN, TLS, WORKLOAD, TlsTestCase,
                      add_objects, anon, cmdline_object, obj,
                      refusal_text, tearDownModule, tlscerts, x509)
from vmig_harness import TIMEOUT, wait_for  # noqa: E402

assert tearDownModule   # unittest runs it from this module

# test_migration_tls.py runs the core cases over precopy (PSK, x509 with
# the host from the URI, authz-simple, TLS on one side, impostors) and
# x509 over multifd 4+zstd: here they run over what it does not.
BEYOND_CORE = tuple(m for m in MODES if m[1].get('multifd'))

NO_TLS_HERE = 'the peer started TLS but this end has no TLS configured'
NO_TLS_THERE = 'the peer did not start TLS'
# A handshake that fails: the source hears the destination's alert.
HANDSHAKE_SRC = ['TLS handshake', 'failed', 'TLS alert']
HANDSHAKE_DST = ['TLS handshake', 'failed']
# The source refused the destination's certificate, with an alert.
ALERT_DST = ['TLS alert']


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
        port = free_tcp_port()
        self.completes_over(MODES, [self.x509_server()], [self.x509_client()],
                            self.source_saw_server,
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


class X509ClientTest(TlsTestCase):
    """The source's certificate as the destination checks it: authz,
    none, verify-peer=off, an encrypted key."""

    def authz_simple(self):
        return obj('authz-simple', 'auth0', identity=CLIENT_DN)

    def authz_glob(self):
        # The first rule keeps the hostile DN out even though the second
        # would let it in: the order of the rules counts.
        return obj('authz-list', 'auth0', policy='deny', rules=[
            {'match': 'CN=eve.*', 'policy': 'deny', 'format': 'glob'},
            {'match': 'CN=*.example.org,O=*', 'policy': 'allow',
             'format': 'glob'},
        ])

    def authz_cases(self):
        """(authz object, modes): authz-simple's precopy case is
        test_migration_tls.py's."""
        return ((self.authz_simple(), BEYOND_CORE), (self.authz_glob(), MODES))

    def test_friendly_client_allowed(self):
        for authz, modes in self.authz_cases():
            with self.subTest(authz=authz['qom-type']):
                self.completes_over(
                    modes, [self.x509_server(), authz], [self.x509_client()],
                    lambda _, dtls: self.assert_tls(dtls, 'x509', CLIENT_DN),
                    dst_config=dict(TLS, **{'tls-authz': 'auth0'}))

    def test_hostile_client_refused(self):
        for authz, modes in self.authz_cases():
            with self.subTest(authz=authz['qom-type']):
                # The destination's reason reaches the source as text
                # inside TLS, not as a reset connection.
                words = ["'auth0'", 'denies', HOSTILE_DN]
                for desc in self.refused_over(
                        modes, [self.x509_server(), authz],
                        [self.x509_client(self.certs.client_hostile)],
                        ['The destination refused'] + words, words,
                        dst_config=dict(TLS, **{'tls-authz': 'auth0'})):
                    self.assertNotIn('reset', desc)

    def nocert_client(self):
        # A client without a certificate of its own must not verify the
        # server either (qapi/crypto.json's rule; QEMU allows it).
        return self.x509_client(self.certs.client_nocert, verify_peer=False)

    def test_client_without_certificate_refused(self):
        self.refused_over(MODES, [self.x509_server()], [self.nocert_client()],
                          ['The destination refused', 'no certificate'],
                          ['no certificate'])

    def test_verify_peer_off(self):
        def check(stls, dtls):
            self.assert_tls(dtls, 'x509', None)
            self.assertEqual(stls['kind'], 'x509')
        self.completes_over(MODES, [self.x509_server(verify_peer=False)],
                            [self.nocert_client()], check)

    def test_encrypted_key(self):
        # The password as data in precopy, read from a file with multifd.
        path = os.path.join(self.certs.root, 'key-password')
        with open(path, 'w') as f:
            f.write(tlscerts.KEY_PASSWORD)
        client = self.x509_client(self.certs.client_encrypted,
                                  passwordid='sec0')
        secrets = (obj('secret', 'sec0', data=tlscerts.KEY_PASSWORD),
                   obj('secret', 'sec0', file=path))
        for mode, secret in zip(MODES, secrets):
            self.completes_over(
                [mode], [self.x509_server()], [secret, client],
                lambda _, dtls: self.assert_tls(dtls, 'x509', CLIENT_DN))


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


class AnonTest(TlsTestCase):

    def test_both_anonymous(self):
        def check(stls, dtls):
            self.assert_tls(stls, 'anon', None)
            self.assert_tls(dtls, 'anon', None)
        self.completes_over(MODES, [anon('server')], [anon('client')], check)

    def test_anonymous_client_against_x509_server(self):
        self.refused_over(MODES, [self.x509_server()], [anon('client')],
                          HANDSHAKE_SRC, HANDSHAKE_DST)


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
