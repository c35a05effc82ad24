"""Functional tests of the TLS objects (secret, authz-simple, authz-list,
tls-creds-x509/psk/anon) through QMP object-add/object-del and -object:
QEMU's property names work, bad objects are refused naming the file or
property, and the vmig that refused them keeps running; the objects a
migration uses cannot be deleted until it ends.

The handshakes themselves are tested in tests/unit/test-tls-creds.c,
and migrations over TLS in the migration tests."""

import os
import shutil
import sys
import tempfile
import unittest

import vmig_harness
from migration_helpers import (FINAL, MigrationTestCase, dst_vm, listen_uri,
                               src_vm, wait_status, warm_up)
from vmig_harness import QMPError, Vmig, run_vmig, wait_for

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'tls'))
import tlscerts  # noqa: E402


IN_USE = "object '%s' is in use and cannot be deleted: a migration uses it"


class CertsMixin:
    """A fresh set of certificates per test class."""

    @classmethod
    def setUpClass(cls):
        if not tlscerts.have_certtool():
            raise unittest.SkipTest('certtool (gnutls-bin) is not installed')
        cls.tmp = tempfile.mkdtemp(prefix='vmig-test-tls-')
        cls.certs = tlscerts.make(os.path.join(cls.tmp, 'certs'))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)


class TlsObjectTest(CertsMixin, unittest.TestCase):

    def refused(self, vm, args, message):
        with self.assertRaises(QMPError) as cm:
            vm.cmd('object-add', **args)
        self.assertIn(message, cm.exception.desc)

    def test_qmp_add_del(self):
        c = self.certs
        with Vmig() as vm:
            # libvirt's way, for both ends.
            vm.cmd('object-add', qom_type='tls-creds-x509',
                   id='objlibvirt_migrate_tls0', dir=c.server,
                   endpoint='server', verify_peer=True)
            vm.cmd('object-add', qom_type='tls-creds-x509', id='client0',
                   dir=c.client, endpoint='client', verify_peer=True)
            vm.cmd('object-add', qom_type='secret', id='pw',
                   data=tlscerts.KEY_PASSWORD)
            vm.cmd('object-add', qom_type='tls-creds-x509', id='enc',
                   dir=c.client_encrypted, passwordid='pw')
            vm.cmd('object-add', qom_type='tls-creds-psk', id='psk0',
                   dir=c.psk_server, endpoint='server')
            vm.cmd('object-add', qom_type='tls-creds-psk', id='psk1',
                   dir=c.psk_client, username=tlscerts.PSK_USERNAME)
            vm.cmd('object-add', qom_type='tls-creds-anon', id='anon0',
                   endpoint='server')
            vm.cmd('object-add', qom_type='authz-simple', id='auth0',
                   identity=tlscerts.CLIENT_DN)
            vm.cmd('object-add', qom_type='authz-list', id='auth1',
                   policy='deny',
                   rules=[{'match': tlscerts.CLIENT_DN, 'policy': 'allow'},
                          {'match': 'CN=*', 'policy': 'deny',
                           'format': 'glob'}])
            for obj in ('objlibvirt_migrate_tls0', 'client0', 'enc', 'pw',
                        'psk0', 'psk1', 'anon0', 'auth0', 'auth1'):
                vm.cmd('object-del', id=obj)
            with self.assertRaises(QMPError) as cm:
                vm.cmd('object-del', id='client0')
            self.assertIn("object 'client0' not found", cm.exception.desc)
            # The id is free again.
            vm.cmd('object-add', qom_type='tls-creds-anon', id='anon0')
            vm.shutdown()

    def test_qmp_errors(self):
        c = self.certs
        empty = os.path.join(self.tmp, 'empty')
        os.makedirs(empty, exist_ok=True)
        with Vmig() as vm:
            cases = [
                ({'qom-type': 'tls-creds-x509', 'id': 'x', 'dir': empty,
                  'endpoint': 'server'},
                 "tls-creds-x509 'x': cannot read %s/ca-cert.pem: No such "
                 "file or directory" % empty),
                # A client's folder for a server.
                ({'qom-type': 'tls-creds-x509', 'id': 'x', 'dir': c.client,
                  'endpoint': 'server'},
                 "tls-creds-x509 'x': cannot read %s/server-cert.pem"
                 % c.client),
                ({'qom-type': 'tls-creds-x509', 'id': 'x',
                  'dir': c.server_expired, 'endpoint': 'server'},
                 "%s/server-cert.pem has expired (notAfter "
                 % c.server_expired),
                ({'qom-type': 'tls-creds-x509', 'id': 'x',
                  'dir': c.client_encrypted},
                 "client-key.pem is encrypted: give its password with "
                 "'passwordid'"),
                ({'qom-type': 'tls-creds-x509', 'id': 'x', 'dir': c.server,
                  'endpoint': 'server', 'bogus': 1}, "bogus"),
                ({'qom-type': 'tls-creds-x509', 'id': 'x', 'dir': c.server,
                  'endpoint': 'sideways'}, "sideways"),
                ({'qom-type': 'tls-creds-psk', 'id': 'x',
                  'dir': c.psk_server, 'endpoint': 'server',
                  'username': 'qemu'}, "'username' is for clients"),
                ({'qom-type': 'tls-creds-psk', 'id': 'x', 'dir': empty},
                 "cannot read %s/keys.psk" % empty),
                ({'qom-type': 'tls-creds-anon', 'id': 'x',
                  'verify-peer': True}, "'verify-peer' must be off"),
                ({'qom-type': 'secret', 'id': 'x', 'data': '!!!!',
                  'format': 'base64'},
                 "secret 'x': 'data': invalid base64"),
                ({'qom-type': 'secret', 'id': 'x'},
                 "exactly one of 'data' and 'file'"),
                ({'qom-type': 'authz-list', 'id': 'x',
                  'rules': [{'match': 'a', 'policy': 'maybe'}]}, "maybe"),
                ({'qom-type': 'authz-simple', 'id': 'x'}, "identity"),
            ]
            for args, message in cases:
                with self.subTest(args=args):
                    resp = vm.qmp.execute('object-add', args)
                    self.assertIn('error', resp)
                    self.assertIn(message, resp['error']['desc'])
            vm.cmd('object-add', qom_type='secret', id='bad', data='nope')
            self.refused(vm, {'qom_type': 'tls-creds-x509', 'id': 'x',
                              'dir': c.client_encrypted,
                              'passwordid': 'bad'},
                         "wrong password for %s/client-key.pem"
                         % c.client_encrypted)
            self.refused(vm, {'qom_type': 'tls-creds-x509', 'id': 'x',
                              'dir': c.client_encrypted,
                              'passwordid': 'nope'},
                         "'passwordid': secret 'nope' does not exist")
            # Nothing half-made stays behind.
            vm.cmd('object-del', id='bad')
            with self.assertRaises(QMPError):
                vm.cmd('object-del', id='x')
            self.assertEqual(vm.cmd('query-status')['status'], 'running')
            vm.shutdown()

    def test_command_line(self):
        c = self.certs
        pw = os.path.join(self.tmp, 'pw')
        with open(pw, 'w') as f:
            f.write(tlscerts.KEY_PASSWORD)
        args = [
            '-object', 'secret,id=pw,file=%s' % pw,
            '-object', 'tls-creds-x509,id=tls0,endpoint=client,dir=%s,'
                       'passwordid=pw' % c.client_encrypted,
            '-object', 'tls-creds-x509,id=tls1,endpoint=server,dir=%s,'
                       'verify-peer=on,sanity-check=on' % c.server,
            '-object', 'authz-list,id=a,policy=deny,rules.0.match=CN=*,'
                       'rules.0.policy=allow,rules.0.format=glob',
            '-object', 'authz-simple,id=b,identity=%s'
                       % tlscerts.CLIENT_DN.replace(',', ',,'),
            '-object', 'tls-creds-psk,id=psk,dir=%s' % c.psk_client,
            '-object', 'tls-creds-anon,id=anon',
        ]
        with Vmig(args=args) as vm:
            for obj in ('tls0', 'tls1', 'a', 'b', 'psk', 'anon', 'pw'):
                vm.cmd('object-del', id=obj)
            vm.shutdown()

    def test_command_line_errors(self):
        c = self.certs
        cases = [
            (['-object', 'tls-creds-x509,id=t,dir=/nonexistent'],
             "vmig: -object tls-creds-x509,id=t,dir=/nonexistent: "
             "tls-creds-x509 't': cannot read /nonexistent/ca-cert.pem: No "
             "such file or directory"),
            (['-object', 'tls-creds-x509,id=t,dir=%s,bogus=1' % c.client],
             "bogus"),
            (['-object', 'authz-list,id=a,rules.1.match=x,'
                         'rules.1.policy=allow'], "rules"),
            # passwordid names an object made before, not after.
            (['-object', 'tls-creds-x509,id=t,dir=%s,passwordid=pw'
                         % c.client_encrypted,
              '-object', 'secret,id=pw,data=%s' % tlscerts.KEY_PASSWORD],
             "'passwordid': secret 'pw' does not exist"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                status, out = run_vmig(args)
                self.assertNotEqual(status, 0)
                self.assertIn(message, out)


class TlsInUseTest(CertsMixin, MigrationTestCase):

    def refused_del(self, vm, obj):
        with self.assertRaises(QMPError) as cm:
            vm.cmd('object-del', id=obj)
        self.assertIn(IN_USE % obj, cm.exception.desc)

    def test_in_use_until_the_end(self):
        c = self.certs
        dst_args = ['-object', 'tls-creds-x509,id=tls0,endpoint=server,'
                               'dir=%s' % c.server,
                    '-object', 'authz-simple,id=auth0,identity=%s'
                               % tlscerts.CLIENT_DN.replace(',', ',,')]
        src_args = ['-object', 'tls-creds-x509,id=tls0,endpoint=client,'
                               'dir=%s' % c.client]
        with dst_vm(*dst_args, incoming='tcp:127.0.0.1:0,tls-creds=tls0,'
                                        'tls-authz=auth0') as dst, \
                src_vm(*src_args) as src:
            # A listening destination uses both already.
            self.refused_del(dst, 'tls0')
            self.refused_del(dst, 'auth0')
            warm_up(src)
            src.cmd('migrate', uri=listen_uri(dst),
                    config={'tls-creds': 'tls0',
                            'pause-before-switchover': True})
            wait_status(src, 'pre-switchover')
            self.refused_del(src, 'tls0')
            self.refused_del(dst, 'tls0')
            src.cmd('migrate-continue', state='pre-switchover')
            result = wait_status(src, FINAL)
            self.assert_completed(src, dst, result)
            self.assertEqual(result['tls']['kind'], 'x509')
            # Over: libvirt's clean-up works on both ends.
            src.cmd('migrate-set-parameters', tls_creds='')
            src.cmd('object-del', id='tls0')
            wait_for(lambda: dst.qmp.execute('object-del', {'id': 'tls0'})
                     .get('return') == {}, what='tls0 deleted on the '
                     'destination')
            dst.cmd('object-del', id='auth0')
            self.assert_no_crash(src, dst)


if __name__ == '__main__':
    vmig_harness.main()
