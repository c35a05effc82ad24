#!/usr/bin/env python3
"""The TLS matrix of #13, end to end: the source's certificate as the
destination checks it, each case over precopy and over multifd with 4
channels and zstd.  A client DN authorized by authz-simple or by
authz-list's glob rules, a hostile DN refused with the destination's
reason told to the source, a client without a certificate refused by a
server that verifies peers and accepted by one that does not, an
encrypted key with its password in a secret.  Every migration that
completes ends with equal RAM and device digests; every refusal is
reported on both ends and leaves the source guest running.
(authz-simple over precopy is test_migration_tls.py's.)"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from tls_case import (BEYOND_CORE, CLIENT_DN, HOSTILE_DN,  # noqa: E402
                      MODES, TLS, TlsTestCase, obj, tearDownModule,
                      tlscerts)

assert tearDownModule   # unittest runs it from this module


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
        # A client without a certificate of its own, which still checks
        # the server's (as QEMU allows).
        return self.x509_client(self.certs.client_nocert)

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


if __name__ == '__main__':
    vmig_harness.main()
