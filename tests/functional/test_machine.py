"""Functional tests of the vmig machine: run state, workload, devices,
objects and the command line."""

import os
import shutil
import signal
import tempfile
import time
import unittest

import vmig_harness
from vmig_harness import QMPError, Vmig, run_vmig, wait_for

MiB = 1024 * 1024


def writes(vm):
    """Per-vCPU write counts, from x-query-workload."""
    return [v['writes'] for v in vm.cmd('x-query-workload')['vcpus']]


def memdevs(vm):
    return {m['id']: m for m in vm.cmd('query-memdev')}


class RunStateTest(unittest.TestCase):

    def test_prelaunch_then_cont(self):
        with Vmig(args=['-S', '-workload', 'rate=16M']) as vm:
            self.assertEqual(vm.cmd('query-status'),
                             {'running': False, 'status': 'prelaunch'})
            # Parked vCPUs write nothing, whatever the rate.
            time.sleep(0.1)
            self.assertEqual(writes(vm), [0])
            self.assertEqual(vm.cmd('cont'), {})
            vm.qmp.wait_event('RESUME')
            self.assertEqual(vm.cmd('query-status'),
                             {'running': True, 'status': 'running'})
            wait_for(lambda: writes(vm)[0] > 0, what='writes after cont')
            vm.shutdown()

    def test_stop_cont(self):
        with Vmig() as vm:
            self.assertEqual(vm.cmd('query-status')['status'], 'running')
            vm.cmd('stop')
            vm.qmp.wait_event('STOP')
            self.assertEqual(vm.cmd('query-status'),
                             {'running': False, 'status': 'paused'})
            # Stopping a stopped machine changes nothing.
            vm.cmd('stop')
            self.assertEqual(vm.cmd('query-status')['status'], 'paused')
            vm.cmd('cont')
            vm.qmp.wait_event('RESUME')
            self.assertEqual(vm.cmd('query-status')['status'], 'running')
            self.assertEqual([e['event'] for e in vm.qmp.events], [])
            vm.shutdown()

    def test_quit(self):
        with Vmig() as vm:
            self.assertEqual(vm.cmd('quit'), {})
            ev = vm.qmp.wait_event('SHUTDOWN')
            self.assertEqual(ev['data'],
                             {'guest': False, 'reason': 'host-qmp-quit'})
            self.assertEqual(vm.wait_exit(), 0)

    def _signal(self, signum):
        with Vmig(args=['-smp', '2', '-workload', 'rate=64M']) as vm:
            vm.proc.send_signal(signum)
            ev = vm.qmp.wait_event('SHUTDOWN')
            self.assertEqual(ev['data'],
                             {'guest': False, 'reason': 'host-signal'})
            self.assertEqual(vm.wait_exit(), 0)

    def test_sigterm(self):
        self._signal(signal.SIGTERM)

    def test_sigint(self):
        self._signal(signal.SIGINT)


class WorkloadTest(unittest.TestCase):

    def test_writes_stop_with_vm(self):
        with Vmig(args=['-smp', '2', '-workload',
                        'rate=8M,pattern=random,content=random']) as vm:
            wait_for(lambda: all(w > 0 for w in writes(vm)),
                     what='every vCPU writing')
            vm.cmd('stop')
            frozen = vm.cmd('x-query-workload')
            self.assertEqual(frozen['writes'], sum(writes(vm)))
            time.sleep(0.1)
            self.assertEqual(vm.cmd('x-query-workload'), frozen)
            vm.cmd('cont')
            wait_for(lambda: sum(writes(vm)) > frozen['writes'],
                     what='writes after cont')
            vm.shutdown()

    def test_set_and_query(self):
        with Vmig(args=['-m', '64M']) as vm:
            info = vm.cmd('x-query-workload')
            self.assertEqual(info['rate'], 0)           # idle by default
            self.assertEqual(info['pattern'], 'sequential')
            self.assertEqual(info['content'], 'text')
            self.assertEqual(info['hotset'], 16 * MiB)
            self.assertEqual(info['throttle-percentage'], 0)
            self.assertEqual(writes(vm), [0])

            vm.cmd('x-workload-set', rate=4 * MiB, pattern='hotset',
                   hotset=1 * MiB, seed=5)
            info = vm.cmd('x-query-workload')
            self.assertEqual((info['rate'], info['pattern'], info['hotset'],
                              info['seed'], info['content']),
                             (4 * MiB, 'hotset', 1 * MiB, 5, 'text'))
            wait_for(lambda: writes(vm)[0] > 0, what='writes after set')

            with self.assertRaises(QMPError) as cm:
                vm.cmd('x-workload-set', hotset=1000)
            self.assertIn('hotset 1000 is not a nonzero multiple of 4096',
                          cm.exception.desc)
            with self.assertRaises(QMPError) as cm:
                vm.cmd('x-workload-set', hotset=128 * MiB)
            self.assertIn('larger than guest RAM (64 MiB)',
                          cm.exception.desc)
            with self.assertRaises(QMPError) as cm:
                vm.cmd('x-workload-set', pattern='zigzag')
            self.assertIn('zigzag', cm.exception.desc)
            # Failed changes changed nothing.
            self.assertEqual(vm.cmd('x-query-workload')['hotset'], 1 * MiB)
            vm.shutdown()

    def test_sweep_dirty_log(self):
        # 'sweep' from the command line dirties exactly its hot set, as the
        # dirty log of x-dirty-log-start sees it (the default backend).
        with Vmig(args=['-S', '-m', '64M', '-workload',
                        'rate=64M,pattern=sweep,hotset=1M']) as vm:
            vm.cmd('x-dirty-log-start')
            with self.assertRaises(QMPError) as cm:
                vm.cmd('x-dirty-log-start')
            self.assertIn('already active', cm.exception.desc)
            first = vm.cmd('x-dirty-log-sync')
            self.assertEqual(first['backend'], 'software')
            self.assertEqual(first['pages'], 0)     # parked: no writes
            vm.cmd('cont')
            wait_for(lambda: writes(vm)[0] >= 300, what='a whole sweep')
            vm.cmd('stop')
            self.assertEqual(vm.cmd('x-dirty-log-sync')['pages'], 256)
            self.assertEqual(vm.cmd('x-dirty-log-sync')['pages'], 0)
            vm.cmd('x-dirty-log-stop')
            vm.cmd('x-dirty-log-stop')              # none: no error
            with self.assertRaises(QMPError) as cm:
                vm.cmd('x-dirty-log-sync')
            self.assertIn('x-dirty-log-start starts one', cm.exception.desc)
            vm.shutdown()

    def test_log_device(self):
        with Vmig(args=['-workload', 'rate=64M']) as vm:
            # The workload logs every 1024th write of a vCPU.
            wait_for(lambda: any(r['text'] == 'vcpu 0: 1024 writes'
                                 for r in vm.cmd('x-query-log')),
                     what='workload log record')
            vm.cmd('stop')
            vm.cmd('x-log-append', text='hello, world')
            log = vm.cmd('x-query-log')
            self.assertEqual(log[-1]['text'], 'hello, world')
            seqs = [r['seq'] for r in log]
            self.assertEqual(seqs, sorted(seqs))
            self.assertLessEqual(len(log), 64)
            with self.assertRaises(QMPError) as cm:
                vm.cmd('x-log-append', text='')
            self.assertIn('must be 1 to 256 bytes long', cm.exception.desc)
            with self.assertRaises(QMPError):
                vm.cmd('x-log-append', text='x' * 257)
            vm.shutdown()


class ObjectTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='vmig-test-mem-')

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_add_del_each_type(self):
        path = os.path.join(self.dir, 'file0')
        with Vmig() as vm:
            vm.cmd('object-add', qom_type='memory-backend-ram', id='r0',
                   size=2 * MiB)
            vm.cmd('object-add', qom_type='memory-backend-memfd', id='m0',
                   size=4 * MiB)
            vm.cmd('object-add', qom_type='memory-backend-file', id='f0',
                   size=1 * MiB, mem_path=path, share=True)
            devs = memdevs(vm)
            self.assertEqual(list(devs), ['r0', 'm0', 'f0'])
            self.assertEqual((devs['r0']['size'], devs['r0']['share']),
                             (2 * MiB, False))
            self.assertEqual((devs['m0']['qom-type'], devs['m0']['share']),
                             ('memory-backend-memfd', True))
            self.assertEqual(devs['f0']['mem-path'], path)
            self.assertEqual(os.path.getsize(path), 1 * MiB)
            # Hot-added backends are not guest RAM (no memory hotplug).
            self.assertFalse(any(d['guest-ram'] for d in devs.values()))

            for obj in ('r0', 'm0', 'f0'):
                vm.cmd('object-del', id=obj)
            self.assertEqual(vm.cmd('query-memdev'), [])
            vm.shutdown()

    def test_prealloc(self):
        """-mem-prealloc and prealloc=true back every page up front: the
        process's resident memory covers guest RAM before any write."""
        def rss(vm):
            with open('/proc/%d/status' % vm.proc.pid) as f:
                for line in f:
                    if line.startswith('VmRSS:'):
                        return int(line.split()[1]) * 1024
        with Vmig(args=['-m', '64M', '-S']) as lazy:
            self.assertLess(rss(lazy), 64 * MiB)
            lazy.cmd('object-add', qom_type='memory-backend-ram', id='p0',
                     size=32 * MiB, prealloc=True)
            self.assertGreater(rss(lazy), 32 * MiB)
            lazy.shutdown()
        with Vmig(args=['-m', '64M', '-S', '-mem-prealloc']) as eager:
            self.assertGreater(rss(eager), 64 * MiB)
            eager.shutdown()

    def test_errors(self):
        with Vmig(args=['-object', 'memory-backend-ram,id=mem0,size=64M',
                        '-machine', 'memory-backend=mem0']) as vm:
            cases = [
                ({'qom-type': 'memory-backend-ram', 'id': 'mem0',
                  'size': MiB}, "an object with id 'mem0' already exists"),
                ({'qom-type': 'memory-backend-ram', 'id': '1x',
                  'size': MiB}, "invalid object id '1x'"),
                ({'qom-type': 'memory-backend-ram', 'id': 'z', 'size': 0},
                 "memory-backend-ram 'z': size must not be zero"),
                ({'qom-type': 'memory-backend-memfd', 'id': 'z',
                  'size': 5000},
                 "memory-backend-memfd 'z': size 5000 is not a multiple "
                 "of the page size"),
                ({'qom-type': 'memory-backend-file', 'id': 'z', 'size': MiB,
                  'mem-path': '/nonexistent/dir/x'},
                 "memory-backend-file 'z': cannot open mem-path "
                 "'/nonexistent/dir/x'"),
                ({'qom-type': 'no-such-type', 'id': 'z'}, 'no-such-type'),
            ]
            for args, message in cases:
                resp = vm.qmp.execute('object-add', args)
                self.assertIn('error', resp, args)
                self.assertIn(message, resp['error']['desc'])

            with self.assertRaises(QMPError) as cm:
                vm.cmd('object-del', id='mem0')
            self.assertIn("object 'mem0' is in use", cm.exception.desc)
            with self.assertRaises(QMPError) as cm:
                vm.cmd('object-del', id='nope')
            self.assertIn("object 'nope' not found", cm.exception.desc)
            self.assertEqual(list(memdevs(vm)), ['mem0'])
            vm.shutdown()

    def test_numa_nodes(self):
        path = os.path.join(self.dir, 'node1')
        with Vmig(args=[
                '-m', '48M',
                '-object', 'memory-backend-memfd,id=m0,size=32M',
                '-object', 'memory-backend-file,id=m1,size=16M,share=on,'
                           'mem-path=' + path,
                '-object', 'memory-backend-ram,id=spare,size=16M',
                '-numa', 'node,memdev=m0',
                '-numa', 'node,nodeid=1,memdev=m1',
                '-workload', 'rate=64M,pattern=sequential']) as vm:
            devs = memdevs(vm)
            self.assertTrue(devs['m0']['guest-ram'])
            self.assertTrue(devs['m1']['guest-ram'])
            self.assertFalse(devs['spare']['guest-ram'])
            # The default hot set fits the 48M of the two nodes.
            self.assertEqual(vm.cmd('x-query-workload')['hotset'], 16 * MiB)
            # The sequential workload reaches the file-backed node (the
            # second 32M..48M of guest RAM) through the shared mapping.
            wait_for(lambda: writes(vm)[0] > 8192 + 64,
                     what='writes reaching the second node')
            with open(path, 'rb') as f:
                self.assertTrue(f.read(4096).startswith(b'vcpu 0 write '))
            vm.cmd('object-del', id='spare')
            vm.shutdown()


class CommandLineTest(unittest.TestCase):

    def assert_fails(self, args, message):
        status, out = run_vmig(args)
        self.assertEqual(status, 1, out)
        self.assertIn(message, out)
        self.assertTrue(out.startswith('vmig: '), out)

    def test_errors(self):
        mem = ['-object', 'memory-backend-ram,id=m0,size=32M']
        cases = [
            (['-foo'], 'vmig: -foo: invalid option'),
            (['--bar'], 'vmig: --bar: invalid option'),
            (['stray'], "vmig: 'stray': unexpected argument"),
            (['-m'], 'vmig: -m: requires an argument'),
            (['-m', '12X'], "vmig: -m 12X: Invalid size '12X'"),
            (['-m', '0'], 'vmig: -m 0: RAM size must be a nonzero multiple'),
            (['-m', '1000B'], 'vmig: -m 1000B: RAM size must be a nonzero '
                              'multiple of the page size'),
            (['-smp', '0'], 'vmig: -smp 0: cpus must be 1 to 256, not 0'),
            (['-smp', '257'], 'vmig: -smp 257: cpus must be 1 to 256'),
            (['-smp', 'two'], 'vmig: -smp two: '),
            (['-smp', 'cpus=2,sockets=2'], 'sockets'),
            (['-object', 'bogus,id=x'], 'vmig: -object bogus,id=x: '),
            (['-object', 'memory-backend-ram,id=m0'],
             "vmig: -object memory-backend-ram,id=m0: "),
            (mem + mem, "vmig: -object memory-backend-ram,id=m0,size=32M: "
                        "an object with id 'm0' already exists"),
            (['-object', 'memory-backend-file,id=f,size=1M,'
                         'mem-path=/nonexistent/x'],
             "memory-backend-file 'f': cannot open mem-path "
             "'/nonexistent/x'"),
            (['-numa', 'node,memdev=nope'],
             "vmig: -numa node,memdev=nope: memory backend 'nope' not "
             "found"),
            (['-numa', 'node'], 'vmig: -numa node: '),
            (['-machine', 'dirty-log=soft'],
             "vmig: -machine dirty-log=soft: Invalid value 'soft' for "
             "'dirty-log', valid values: 'auto', 'software', 'uffd-wp'"),
            (['-numa', 'cpu,memdev=m0'], 'vmig: -numa cpu,memdev=m0: '),
            (mem + ['-numa', 'node,memdev=m0', '-numa', 'node,memdev=m0'],
             "memory backend 'm0' is already used as guest RAM"),
            (mem + ['-numa', 'node,nodeid=200,memdev=m0'],
             'nodeid 200 is out of range (0 to 127)'),
            (mem + ['-m', '64M', '-numa', 'node,memdev=m0'],
             'vmig: -m 64M: the NUMA nodes have 32 MiB of memory, which '
             'differs from -m'),
            (mem + ['-m', '64M', '-machine', 'memory-backend=m0'],
             'vmig: -m 64M: the memory backend has 32 MiB of memory'),
            (mem + ['-numa', 'node,memdev=m0', '-machine',
                    'memory-backend=m0'],
             'vmig: -machine memory-backend=m0: memory-backend cannot be '
             'combined with -numa'),
            (['-machine', 'memory-backend=m9'],
             "vmig: -machine memory-backend=m9: memory backend 'm9' not "
             "found"),
            (['-machine', 'pc'], 'vmig: -machine pc: '),
            (['-workload', 'pattern=zigzag'],
             "vmig: -workload pattern=zigzag: Invalid value 'zigzag'"),
            (['-workload', 'rate=fast'], 'vmig: -workload rate=fast: '),
            (['-workload', 'hotset=1G'],
             'vmig: -workload hotset=1G: hotset 1 GiB is larger than guest '
             'RAM (128 MiB)'),
            (['-workload', 'speed=1'], 'speed'),
            (['-incoming', 'tcp:0:4444,bogus=1'],
             "vmig: -incoming tcp:0:4444,bogus=1: invalid option 'bogus'"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                self.assert_fails(args, message)

    def test_help_and_version(self):
        status, out = run_vmig(['-version'])
        self.assertEqual((status, out.strip()), (0, 'vmig version 0.1.0'))
        for opt in ('-h', '-help', '--help'):
            status, out = run_vmig([opt])
            self.assertEqual(status, 0)
            for name in ('-name', '-m', '-smp', '-S', '-qmp', '-monitor',
                         '-object', '-numa', '-machine', '-workload',
                         '-incoming', '-global', '-version'):
                self.assertIn('\n  ' + name + ' ', out.replace(',', ' '))
        status, out = run_vmig(['-object', 'help'])
        self.assertEqual(status, 0)
        self.assertEqual(out.split()[2:], [
            'authz-list', 'authz-simple', 'memory-backend-file',
            'memory-backend-memfd', 'memory-backend-ram', 'secret',
            'tls-creds-anon', 'tls-creds-psk', 'tls-creds-x509'])

    def test_accepted_options(self):
        # -global of a driver vmig does not have is accepted and ignored,
        # as QEMU scripts pass some; -name, -m in MiB and --long spellings
        # work.
        with Vmig(args=['-global', 'virtio.x=1', '--m', '64',
                        '-smp', 'cpus=3', '-workload', 'seed=7']) as vm:
            info = vm.cmd('x-query-workload')
            self.assertEqual(len(info['vcpus']), 3)
            self.assertEqual(info['seed'], 7)
            self.assertEqual(info['hotset'], 16 * MiB)
            vm.cmd('x-workload-set', hotset=64 * MiB)     # all of the 64M
            with self.assertRaises(QMPError):
                vm.cmd('x-workload-set', hotset=64 * MiB + 4096)
            vm.shutdown()


if __name__ == '__main__':
    vmig_harness.main()
