#!/usr/bin/env python3
"""Certificates and keys for TLS tests and benchmarks, made at run time
with certtool (gnutls-bin) in a folder of the caller's choosing.

Each credentials folder has the layout tls-creds-x509 and
tls-creds-psk read (qapi/crypto.json) and QEMU reads too:

  ca-cert.pem [ca-crl.pem] server-cert.pem server-key.pem   (servers)
  ca-cert.pem client-cert.pem client-key.pem                (clients)
  keys.psk                                                  (PSK)

make(out) writes every folder below under @out and returns a Certs
whose attributes are their paths.  As a command:
  python3 tests/tls/tlscerts.py OUT      prints the folders made

Keys are ECDSA P-256: certtool makes them in milliseconds, so a test
can afford a fresh set.  Nothing here is secret outside a test.
"""

import os
import shutil
import subprocess
import sys
import tempfile

# The names the certificates carry: tests check them in messages and
# authz rules.
SERVER_NAMES = ('localhost', 'dst.example.org')
SERVER_IPS = ('127.0.0.1', '::1')
# As GnuTLS writes them (RFC 4514: the last RDN first), which is what
# tls-authz compares.
CLIENT_DN = 'CN=src.example.org,O=vmig-test'
HOSTILE_DN = 'CN=eve.example.org,O=elsewhere'
KEY_PASSWORD = 'vmig-key-password'
PSK_USERNAME = 'qemu'

# Folder name -> what it holds (the Certs attribute is the name with
# '-' as '_').
FOLDERS = {
    'server': 'server certificate for localhost, dst.example.org and '
              '127.0.0.1, from the CA',
    'server-crl': 'server, with the CA\'s CRL revoking client-revoked',
    'server-expired': 'server certificate that expired',
    'server-notyet': 'server certificate not valid yet',
    'server-otherca': 'server certificate from another CA (trusting the '
                      'first CA for clients)',
    'server-noname': 'server certificate for other.example.org only',
    'client': 'client certificate ' + CLIENT_DN,
    'client-hostile': 'client certificate ' + HOSTILE_DN,
    'client-nocert': 'the CA only: a client without a certificate',
    'client-expired': 'client certificate that expired',
    'client-notyet': 'client certificate not valid yet',
    'client-otherca': 'client certificate from another CA',
    'client-revoked': 'client certificate the CRL revokes',
    'client-encrypted': 'client whose key is PKCS#8 encrypted with '
                        'KEY_PASSWORD',
    'psk-server': 'keys.psk with the key of ' + PSK_USERNAME,
    'psk-client': 'keys.psk with the same key',
    'psk-wrong': 'keys.psk with another key for ' + PSK_USERNAME,
}


class Certs:
    """The folders make() wrote; attributes as in FOLDERS."""

    def __init__(self, root):
        self.root = root
        for name in FOLDERS:
            setattr(self, name.replace('-', '_'), os.path.join(root, name))


def have_certtool():
    return shutil.which('certtool') is not None


def _certtool(args, template=None):
    if template is not None:
        fd, path = tempfile.mkstemp(suffix='.tmpl')
        with os.fdopen(fd, 'w') as f:
            f.write(template)
        args = args + ['--template', path]
    try:
        subprocess.run(['certtool'] + args, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except subprocess.CalledProcessError as e:
        raise RuntimeError('certtool %s failed: %s'
                           % (' '.join(args), e.stderr.decode(errors='replace')))
    finally:
        if template is not None:
            os.unlink(path)


def _key(path, password=None):
    args = ['--generate-privkey', '--key-type=ecdsa', '--curve=secp256r1',
            '--outfile', path]
    if password is not None:
        args += ['--pkcs8', '--password', password]
    _certtool(args)


def _dn_fields(dn):
    """'O=x,CN=y' -> certtool template lines."""
    names = {'CN': 'cn', 'O': 'organization'}
    lines = []
    for part in dn.split(','):
        k, v = part.split('=', 1)
        lines.append('%s = "%s"' % (names[k], v))
    return '\n'.join(lines) + '\n'


def _dates(valid):
    """Template lines for a certificate that is 'now' valid, 'expired'
    or 'notyet' valid."""
    if valid == 'expired':
        return ('activation_date = "2001-01-01 00:00:00"\n'
                'expiration_date = "2002-01-01 00:00:00"\n')
    if valid == 'notyet':
        return ('activation_date = "2090-01-01 00:00:00"\n'
                'expiration_date = "2091-01-01 00:00:00"\n')
    return 'expiration_days = 3650\n'


def _ca(d, name):
    key = os.path.join(d, name + '-key.pem')
    cert = os.path.join(d, name + '-cert.pem')
    _key(key)
    _certtool(['--generate-self-signed', '--load-privkey', key,
               '--outfile', cert],
              'cn = "vmig test %s"\nca\ncert_signing_key\ncrl_signing_key\n'
              'serial = 1\n%s' % (name, _dates('now')))
    return key, cert


def _cert(ca, key, out, template, valid='now', serial=2, password=None):
    ca_key, ca_cert = ca
    args = ['--password', password] if password else []
    _certtool(args + ['--generate-certificate', '--load-privkey', key,
                      '--load-ca-privkey', ca_key,
                      '--load-ca-certificate', ca_cert, '--outfile', out],
              template + 'serial = %d\n' % serial + _dates(valid))


def _server_template(names=SERVER_NAMES, ips=SERVER_IPS):
    t = 'cn = "%s"\norganization = "vmig-test"\n' % names[0]
    t += ''.join('dns_name = "%s"\n' % n for n in names)
    t += ''.join('ip_address = "%s"\n' % ip for ip in ips)
    return t + 'tls_www_server\nencryption_key\nsigning_key\n'


def _client_template(dn):
    return _dn_fields(dn) + 'tls_www_client\nencryption_key\nsigning_key\n'


def _folder(root, name, files):
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    for dest, src in files.items():
        shutil.copyfile(src, os.path.join(d, dest))
    return d


def make(out):
    """Writes every folder of FOLDERS under @out (created if needed)."""
    os.makedirs(out, exist_ok=True)
    work = os.path.join(out, '.work')
    os.makedirs(work, exist_ok=True)
    w = lambda name: os.path.join(work, name)

    ca = _ca(work, 'ca')
    ca2 = _ca(work, 'ca2')
    server_key, client_key = w('server-key.pem'), w('client-key.pem')
    _key(server_key)
    _key(client_key)
    _key(w('client-encrypted-key.pem'), password=KEY_PASSWORD)

    serial = iter(range(2, 100))
    certs = {
        'server': (ca, server_key, _server_template(), 'now'),
        'server-expired': (ca, server_key, _server_template(), 'expired'),
        'server-notyet': (ca, server_key, _server_template(), 'notyet'),
        'server-otherca': (ca2, server_key, _server_template(), 'now'),
        'server-noname': (ca, server_key,
                          _server_template(('other.example.org',), ()),
                          'now'),
        'client': (ca, client_key, _client_template(CLIENT_DN), 'now'),
        'client-hostile': (ca, client_key, _client_template(HOSTILE_DN),
                           'now'),
        'client-expired': (ca, client_key, _client_template(CLIENT_DN),
                           'expired'),
        'client-notyet': (ca, client_key, _client_template(CLIENT_DN),
                          'notyet'),
        'client-otherca': (ca2, client_key, _client_template(CLIENT_DN),
                           'now'),
        'client-revoked': (ca, client_key, _client_template(CLIENT_DN),
                           'now'),
        'client-encrypted': (ca, w('client-encrypted-key.pem'),
                             _client_template(CLIENT_DN), 'now'),
    }
    for name, (signer, key, template, valid) in certs.items():
        _cert(signer, key, w(name + '-cert.pem'), template, valid,
              next(serial), KEY_PASSWORD if 'encrypted' in name else None)

    _certtool(['--generate-crl', '--load-ca-privkey', ca[0],
               '--load-ca-certificate', ca[1],
               '--load-certificate', w('client-revoked-cert.pem'),
               '--outfile', w('ca-crl.pem')],
              'crl_next_update = 3650\ncrl_number = 1\n')

    def server(name, cert, ca_cert=ca[1], crl=False):
        files = {'ca-cert.pem': ca_cert,
                 'server-cert.pem': w(cert + '-cert.pem'),
                 'server-key.pem': server_key}
        if crl:
            files['ca-crl.pem'] = w('ca-crl.pem')
        _folder(out, name, files)

    def client(name, cert, key=client_key, ca_cert=ca[1]):
        _folder(out, name, {'ca-cert.pem': ca_cert,
                            'client-cert.pem': w(cert + '-cert.pem'),
                            'client-key.pem': key})

    server('server', 'server')
    server('server-crl', 'server', crl=True)
    server('server-expired', 'server-expired')
    server('server-notyet', 'server-notyet')
    # Trusts the first CA (clients' certificates) but is signed by the
    # second: the client refuses it.
    server('server-otherca', 'server-otherca')
    server('server-noname', 'server-noname')
    client('client', 'client')
    client('client-hostile', 'client-hostile')
    _folder(out, 'client-nocert', {'ca-cert.pem': ca[1]})
    client('client-expired', 'client-expired')
    client('client-notyet', 'client-notyet')
    client('client-otherca', 'client-otherca')
    client('client-revoked', 'client-revoked')
    client('client-encrypted', 'client-encrypted',
           key=w('client-encrypted-key.pem'))

    key = os.urandom(32).hex()
    for name, k in (('psk-server', key), ('psk-client', key),
                    ('psk-wrong', os.urandom(32).hex())):
        d = _folder(out, name, {})
        with open(os.path.join(d, 'keys.psk'), 'w') as f:
            f.write('%s:%s\n' % (PSK_USERNAME, k))
    shutil.rmtree(work)
    return Certs(out)


def main(argv):
    if len(argv) != 2 or argv[1].startswith('-'):
        sys.stderr.write('usage: %s OUTDIR\n' % argv[0])
        return 2
    if not have_certtool():
        sys.stderr.write('certtool not found: install gnutls-bin\n')
        return 1
    make(argv[1])
    for name, what in FOLDERS.items():
        print('%-18s %s' % (name, what))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
