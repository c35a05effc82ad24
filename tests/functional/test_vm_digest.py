"""Functional tests of x-query-vm-digest: digests of guest RAM and device
state, the yardstick for comparing two machines after a migration."""

import re
import time
import unittest

import vmig_harness
from vmig_harness import Vmig, wait_for

HEX64 = re.compile(r'^[0-9a-f]{64}$')


def digest(vm):
    d = vm.cmd('x-query-vm-digest')
    assert set(d) == {'ram', 'devices'}, d
    assert HEX64.match(d['ram']) and HEX64.match(d['devices']), d
    return d


def writes(vm):
    return vm.cmd('x-query-workload')['writes']


class VmDigestTest(unittest.TestCase):

    ARGS = ['-S', '-m', '32M', '-smp', '2',
            '-workload', 'rate=16M,pattern=random,content=text,seed=7']

    def test_same_config_same_digest(self):
        # Never run (-S): nothing has written RAM or touched a device, so
        # two machines built alike agree, whatever their -name.
        with Vmig(args=self.ARGS, name='a') as a, \
                Vmig(args=self.ARGS, name='b') as b:
            self.assertEqual(digest(a), digest(b))
            a.shutdown()
            b.shutdown()

    def test_layout_is_hashed(self):
        # Same (all-zero) contents and total size, but different block
        # ids, or the same bytes split into blocks differently: the RAM
        # digests must differ.
        one = ['-S', '-m', '32M',
               '-object', 'memory-backend-ram,id=m0,size=32M',
               '-machine', 'memory-backend=m0']
        renamed = ['-S', '-m', '32M',
                   '-object', 'memory-backend-ram,id=m1,size=32M',
                   '-machine', 'memory-backend=m1']
        split = ['-S', '-m', '32M',
                 '-object', 'memory-backend-ram,id=m0,size=16M',
                 '-object', 'memory-backend-ram,id=m1,size=16M',
                 '-numa', 'node,memdev=m0', '-numa', 'node,memdev=m1']
        with Vmig(args=one, name='one') as a, \
                Vmig(args=renamed, name='renamed') as b, \
                Vmig(args=split, name='split') as c:
            da, db, dc = digest(a), digest(b), digest(c)
            self.assertEqual(len({da['ram'], db['ram'], dc['ram']}), 3)
            # The devices do not depend on the RAM layout.
            self.assertEqual(da['devices'], db['devices'])
            self.assertEqual(da['devices'], dc['devices'])
            for vm in (a, b, c):
                vm.shutdown()

    def test_run_changes_ram(self):
        with Vmig(args=self.ARGS) as vm:
            initial = digest(vm)
            vm.cmd('cont')
            wait_for(lambda: writes(vm) >= 64, what='workload writes')
            vm.cmd('stop')
            after = digest(vm)
            self.assertNotEqual(after['ram'], initial['ram'])
            # The counter device counts the writes.
            self.assertNotEqual(after['devices'], initial['devices'])
            vm.shutdown()

    def test_stopped_is_stable(self):
        with Vmig(args=self.ARGS) as vm:
            vm.cmd('cont')
            wait_for(lambda: writes(vm) >= 64, what='workload writes')
            vm.cmd('stop')
            first = digest(vm)
            time.sleep(0.1)
            self.assertEqual(digest(vm), first)
            self.assertEqual(digest(vm), first)
            vm.shutdown()

    def test_log_append_changes_devices_only(self):
        with Vmig(args=self.ARGS) as vm:
            before = digest(vm)
            vm.cmd('x-log-append', text='checkpoint')
            after = digest(vm)
            self.assertEqual(after['ram'], before['ram'])
            self.assertNotEqual(after['devices'], before['devices'])
            # Same as another machine given the same record.
            with Vmig(args=self.ARGS, name='twin') as twin:
                twin.cmd('x-log-append', text='checkpoint')
                self.assertEqual(digest(twin), after)
                twin.cmd('x-log-append', text='more')
                self.assertNotEqual(digest(twin)['devices'],
                                    after['devices'])
                twin.shutdown()
            vm.shutdown()

    def test_introspection(self):
        with Vmig(args=['-S']) as vm:
            schema = vm.cmd('query-qmp-schema')
            cmd = [e for e in schema if e.get('meta-type') == 'command'
                   and e['name'] == 'x-query-vm-digest']
            self.assertEqual(len(cmd), 1)
            self.assertIn('unstable', cmd[0].get('features', []))
            vm.shutdown()


if __name__ == '__main__':
    vmig_harness.main()
