#!/usr/bin/env python3
"""libvirt's TLS migration, unchanged, on both ends (#13 item 3):
object-add of tls-creds-x509 objlibvirt_migrate_tls0, capabilities
and parameters set with migrate-set-capabilities and
migrate-set-parameters (tls-creds, tls-hostname), migrate-incoming and
migrate with a URI only; while the migration runs neither end may
delete the object or drop tls-creds; afterwards both set tls-creds to
"" and delete the object.  Over precopy and multifd with 4 channels and
zstd, ending with equal RAM and device digests."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from migration_helpers import (FINAL, dst_vm, info, listen_uri,  # noqa: E402
                               src_vm, wait_status, warm_up)
from tls_case import (CLIENT_DN, MODES, SERVER_DN,  # noqa: E402
                      WARM_WRITES, WORKLOAD, TlsTestCase, refusal_text,
                      tearDownModule)

assert tearDownModule   # unittest runs it from this module

OBJ = 'objlibvirt_migrate_tls0'


def set_capabilities(vm, **caps):
    vm.cmd('migrate-set-capabilities', capabilities=[
        {'capability': k.replace('_', '-'), 'state': v}
        for k, v in caps.items()])


class LibvirtFlowTest(TlsTestCase):

    def prepare(self, vm, creds, mode, caps, **params):
        """What libvirt does on each end before migrating."""
        creds = dict(creds, id=OBJ)
        vm.cmd('object-add', **creds)
        caps = dict(caps)
        if mode.get('multifd'):
            caps['multifd'] = True
            params['multifd-channels'] = mode['multifd-channels']
            params['multifd-compression'] = mode['multifd-compression']
        set_capabilities(vm, **caps)
        vm.cmd('migrate-set-parameters', tls_creds=OBJ,
               **{k.replace('-', '_'): v for k, v in params.items()})

    def test_flow(self):
        for name, mode in MODES:
            with self.subTest(mode=name), dst_vm(incoming='defer') as dst, \
                    src_vm(*WORKLOAD) as src:
                # libvirt sets tls-hostname on both ends, "" on the
                # destination.
                self.prepare(dst, self.x509_server(), mode, {},
                             tls_hostname='')
                # Paused before the switchover, so that the checks below
                # meet a migration that still runs.
                self.prepare(src, self.x509_client(), mode,
                             {'pause-before-switchover': True},
                             tls_hostname='dst.example.org')
                dst.cmd('migrate-incoming', uri='tcp:127.0.0.1:0')
                warm_up(src, WARM_WRITES)
                src.cmd('migrate', uri=listen_uri(dst))
                wait_status(src, 'pre-switchover')
                self.assertEqual(info(src)['tls']['peer-identity'],
                                 SERVER_DN)
                # In use on both ends while the migration runs.
                for vm in (src, dst):
                    text = refusal_text(vm, 'object-del', id=OBJ)
                    self.assertIn(OBJ, text)
                    self.assertIn('in use', text)
                    text = refusal_text(vm, 'migrate-set-parameters',
                                        tls_creds='')
                    self.assertIn('tls-creds', text)
                src.cmd('migrate-continue', state='pre-switchover')
                result = wait_status(src, FINAL)
                self.assert_completed(src, dst, result)
                self.assert_tls(result['tls'], 'x509', SERVER_DN)
                self.assert_tls(info(dst)['tls'], 'x509', CLIENT_DN)
                if mode.get('multifd'):
                    self.assertEqual(info(dst)['multifd']['channels'],
                                     mode['multifd-channels'])
                # libvirt's clean-up: both succeed on both ends.
                for vm in (src, dst):
                    self.assertEqual(vm.cmd('migrate-set-parameters',
                                            tls_creds='', tls_hostname=''),
                                     {})
                    params = vm.cmd('query-migrate-parameters')
                    self.assertEqual((params['tls-creds'],
                                      params['tls-hostname']), ('', ''))
                    self.assertEqual(vm.cmd('object-del', id=OBJ), {})
                    text = refusal_text(vm, 'object-del', id=OBJ)
                    self.assertIn(OBJ, text)
                self.assert_no_crash(src, dst)


if __name__ == '__main__':
    vmig_harness.main()
