#!/usr/bin/env python3
"""Precopy's control loop with a guest that dirties memory faster than
the migration may send it: auto-converge throttling the vCPUs until the
migration converges, and at once, as far as the figures ask, after a
first pass that ends as dirty as it began; a migration that keeps
iterating until its downtime-limit is raised at runtime, or
avail-switchover-bandwidth vouches for a faster switchover,
max-bandwidth changed at runtime, pause-before-switchover with
migrate-continue, switchover-ack, the MIGRATION and MIGRATION_PASS
events and query-migrate's figures; a busy guest tracked by each dirty
tracker."""

import ctypes
import os
import platform
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from migration_helpers import (BUSY, FINAL,  # noqa: E402
                               MigrationTestCase, dst_vm, info,
                               listen_uri, src_vm, warm_up, wait_status)
from vmig_harness import VMIG, QMPError, stretched, wait_for  # noqa: E402

MiB = 1 << 20
# Dirties 32 MiB/s at random over 32 MiB of RAM: twice what may be sent.
FAST = ['-workload', 'rate=32M,pattern=random,content=text,seed=5']
SLOW_LINK = {'max-bandwidth': 16 * MiB}


def statuses(vm, event='MIGRATION'):
    return [e['data']['status'] for e in vm.qmp.events
            if e['event'] == event]


class ConvergenceTest(MigrationTestCase):

    def test_auto_converge(self):
        cfg = dict(SLOW_LINK, **{'auto-converge': True,
                                 'downtime-limit': 50,
                                 'cpu-throttle-initial': 50,
                                 'cpu-throttle-increment': 25})
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*FAST) as src:
            warm_up(src)
            src.cmd('migrate', uri=listen_uri(dst), config=cfg)
            seen = []

            def throttled_and_done():
                i = info(src)
                if i['status'] not in FINAL:
                    seen.append(i.get('cpu-throttle-percentage', 0))
                return i if i['status'] in FINAL else None
            result = wait_for(throttled_and_done, timeout=stretched(60),
                              what='auto-converge to finish')
            self.assert_completed(src, dst, result)
            # It throttled, cpu-throttle-initial at least (a pass that
            # cannot converge may ask for more), never less as it went,
            # up to max-cpu-throttle, and stopped throttling at the end.
            throttled = [p for p in seen if p]
            self.assertTrue(throttled, seen)
            self.assertGreaterEqual(throttled[0], 50)
            self.assertEqual(throttled, sorted(throttled))
            self.assertLessEqual(throttled[-1], 99)
            self.assertEqual(result['cpu-throttle-percentage'], 0)
            self.assertEqual(src.cmd('x-query-workload')
                             ['throttle-percentage'], 0)
            self.assertGreater(result['ram']['iteration'], 2)

    def test_auto_converge_throttles_a_stalled_pass_at_once(self):
        # Sweeping all of RAM at four times the link's speed: the first
        # pass ends with as much dirty as it sent.  QEMU's rule would
        # wait two periods and throttle cpu-throttle-initial (5); the
        # pass's figures ask for half the running time at once.
        cfg = dict(SLOW_LINK, **{'auto-converge': True,
                                 'cpu-throttle-initial': 5,
                                 'cpu-throttle-increment': 5})
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                src_vm('-workload', 'rate=64M,pattern=sweep,content=text,'
                       'seed=5') as src:
            warm_up(src)
            src.cmd('migrate', uri=listen_uri(dst), config=cfg)

            def throttled():
                i = info(src)
                return i if i.get('cpu-throttle-percentage') else None
            i = wait_for(throttled, timeout=stretched(30), what='a throttle')
            self.assertGreaterEqual(i['cpu-throttle-percentage'], 45)
            self.assertLessEqual(i['ram']['dirty-sync-count'], 2)
            # The vCPU has it (or, a pass later, more).
            self.assertGreaterEqual(src.cmd('x-query-workload')
                                    ['throttle-percentage'],
                                    i['cpu-throttle-percentage'])
            # Cancelled, the guest runs at full speed again.
            src.cmd('migrate_cancel')
            wait_status(src, 'cancelled')
            self.assertEqual(src.cmd('x-query-workload')
                             ['throttle-percentage'], 0)

    def test_iterates_until_downtime_limit_is_raised(self):
        cfg = dict(SLOW_LINK, **{'downtime-limit': 1})
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*FAST) as src:
            warm_up(src)
            src.cmd('migrate', uri=listen_uri(dst), config=cfg)
            # Well past the first passes, it is still at it.
            wait_for(lambda: info(src).get('ram', {}).get('iteration', 0)
                     >= 4, timeout=stretched(30), what='four passes')
            i = info(src)
            self.assertEqual(i['status'], 'active')
            self.assertGreater(i['expected-downtime'], 1)
            self.assertNotIn('downtime', i)
            self.assertGreater(i['ram']['dirty-sync-count'], 2)
            self.assertEqual(src.cmd('query-status')['status'], 'running')
            # Only runtime options may change now.
            with self.assertRaises(QMPError) as ctx:
                src.cmd('migrate-set-config', multifd_channels=4)
            self.assertIn('multifd-channels', ctx.exception.desc)
            src.cmd('migrate-set-config', downtime_limit=60000)
            result = wait_status(src, FINAL, timeout=stretched(30))
            self.assert_completed(src, dst, result)
            # The prediction switchover went by stays, beside the
            # measured downtime.
            self.assertLessEqual(result['expected-downtime'], 60000)
            self.assertIn('downtime', result)
            self.assertEqual(src.cmd('query-migrate-config')
                             ['downtime-limit'], 60000)

    def test_avail_switchover_bandwidth(self):
        # Measured, the slow link never fits the dirty memory (most of
        # the 32 MiB guest, at 16 MiB/s) in 500 ms; at the switchover
        # bandwidth the operator vouches for, it does.  The limit leaves
        # room for the dirty sync and the round trip, which the
        # prediction counts too and which a sanitizer build slows down.
        cfg = dict(SLOW_LINK, **{'downtime-limit': 500})
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*FAST) as src:
            warm_up(src)
            src.cmd('migrate', uri=listen_uri(dst), config=cfg)
            wait_for(lambda: info(src).get('ram', {}).get('iteration', 0)
                     >= 3, timeout=stretched(30), what='three passes')
            i = info(src)
            self.assertEqual(i['status'], 'active')
            self.assertGreater(i['expected-downtime'], 500)
            src.cmd('migrate-set-config',
                    avail_switchover_bandwidth=100 * 1024 * MiB)
            result = wait_status(src, FINAL, timeout=stretched(30))
            self.assert_completed(src, dst, result)

    def test_max_bandwidth_at_runtime(self):
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*FAST) as src:
            warm_up(src)
            src.cmd('migrate', uri=listen_uri(dst),
                    config={'max-bandwidth': 2 * MiB})
            wait_status(src, 'active')
            time.sleep(1)
            # 2 MiB/s: a few MiB at most so far, nowhere near the guest.
            sent = info(src)['ram']['transferred']
            self.assertLess(sent, 8 * MiB)
            self.assertEqual(info(src)['status'], 'active')
            src.cmd('migrate-set-config', max_bandwidth=0)
            result = wait_status(src, FINAL, timeout=stretched(30))
            self.assert_completed(src, dst, result)
            self.assertGreater(result['ram']['transferred'], sent)


class SwitchoverTest(MigrationTestCase):

    def test_pause_before_switchover(self):
        cfg = {'pause-before-switchover': True, 'events': True}
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*FAST) as src:
            uri = listen_uri(dst)
            with self.assertRaises(QMPError) as ctx:
                src.cmd('migrate-continue', state='pre-switchover')
            self.assertIn("not paused in state 'pre-switchover'",
                          ctx.exception.desc)
            warm_up(src)
            src.cmd('migrate', uri=uri, config=cfg)
            wait_status(src, 'pre-switchover')
            # Paused before the switch: the VM is stopped already.
            self.assertEqual(src.cmd('query-status')['status'],
                             'finish-migrate')
            with self.assertRaises(QMPError):
                src.cmd('migrate-continue', state='active')
            src.cmd('migrate-continue', state='pre-switchover')
            result = wait_status(src, FINAL)
            self.assert_completed(src, dst, result)
            self.assertEqual(statuses(src), ['setup', 'active',
                                             'pre-switchover', 'device',
                                             'completed'])
            passes = [e['data']['pass'] for e in src.qmp.events
                      if e['event'] == 'MIGRATION_PASS']
            self.assertEqual(passes, list(range(1, len(passes) + 1)))
            self.assertTrue(passes)

    def test_switchover_ack(self):
        cfg = {'return-path': True, 'switchover-ack': True}
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*FAST) as src:
            result = self.migrate(src, listen_uri(dst), config=cfg)
            self.assert_completed(src, dst, result)
            self.assertIs(dst.cmd('query-migrate-config')['switchover-ack'],
                          True)

    def test_events_follow_the_option(self):
        with dst_vm('-global', 'migration.events=on',
                    incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*FAST) as src:
            result = self.migrate(src, listen_uri(dst))
            self.assert_completed(src, dst, result)
            # events is off on the source, on at the destination.
            self.assertEqual(statuses(src), [])
            self.assertEqual(statuses(src, 'MIGRATION_PASS'), [])
            self.assertEqual(statuses(dst), ['setup', 'active',
                                             'completed'])
            # The source's options are now the destination's, but for
            # the ones it did not send... events it did send.
            self.assertIs(dst.cmd('query-migrate-config')['events'], False)


def refuse_userfaultfd():
    """For preexec_fn: a seccomp filter under which userfaultfd(2) and
    /dev/userfaultfd's USERFAULTFD_IOC_NEW fail with EPERM, as where the
    kernel refuses them (tests/unit/refuse-uffd.c, in C)."""
    ld_abs, jeq, ret = 0x20, 0x15, 0x06     # BPF_LD|W|ABS, JMP|JEQ|K, RET|K
    userfaultfd, ioctl, ioc_new = 323, 16, 0xAA00
    allow, eperm = 0x7fff0000, 0x00050000 | 1
    prog = [(ld_abs, 0, 0, 0),              # seccomp_data.nr
            (jeq, 4, 0, userfaultfd),
            (jeq, 0, 2, ioctl),
            (ld_abs, 0, 0, 24),             # low word of args[1]
            (jeq, 1, 0, ioc_new),
            (ret, 0, 0, allow),
            (ret, 0, 0, eperm)]
    code = b''.join(struct.pack('=HBBI', *i) for i in prog)
    buf = ctypes.create_string_buffer(code, len(code))

    class SockFprog(ctypes.Structure):
        _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_void_p)]
    fprog = SockFprog(len(prog), ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    # PR_SET_NO_NEW_PRIVS, then PR_SET_SECCOMP with SECCOMP_MODE_FILTER.
    if (libc.prctl(38, 1, 0, 0, 0) != 0 or
            libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0):
        raise OSError(ctypes.get_errno(), 'cannot install a seccomp filter')


class DirtyLogTest(MigrationTestCase):
    """A busy guest migrated with each dirty tracker (-machine
    dirty-log): the destination ends equal to the source, so the tracker
    caught every write.  The software log is the default; "uffd-wp" is
    skipped where the kernel refuses it (vmig then refuses to start).
    Under ThreadSanitizer the software log's hand-over to the vCPU
    threads is checked."""

    def migrate_busy(self, tracker):
        args = list(BUSY)
        if tracker:
            args += ['-machine', 'dirty-log=' + tracker]
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst:
            src = src_vm(*args)
            try:
                src.launch()
            except RuntimeError as e:
                if tracker == 'uffd-wp' and 'cannot log dirty pages' in str(e):
                    self.skipTest(str(e))
                raise
            with src:
                # The migration's log starts as x-dirty-log-start's does
                # (the machine's choice): this one says which it is.
                src.cmd('x-dirty-log-start')
                backend = src.cmd('x-dirty-log-sync')['backend']
                src.cmd('x-dirty-log-stop')
                result = self.migrate(src, listen_uri(dst))
                self.assert_completed(src, dst, result)
                self.assertGreater(result['ram']['dirty-sync-count'], 1)
                self.assert_no_crash(src, dst)
                return backend

    @unittest.skipUnless(platform.machine() == 'x86_64',
                         'the filter names x86_64 system calls')
    def test_uffd_wp_refused_by_kernel(self):
        # Where the kernel refuses userfaultfd, dirty-log=uffd-wp is
        # refused when the machine starts, saying why (the unit tests
        # check that the default then still logs).
        proc = subprocess.run([VMIG, '-m', '16M', '-machine',
                               'dirty-log=uffd-wp'],
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=30,
                              preexec_fn=refuse_userfaultfd)
        out = proc.stdout.decode(errors='replace')
        self.assertEqual(proc.returncode, 1, out)
        self.assertIn('vmig: -machine dirty-log=uffd-wp: the kernel cannot '
                      'log dirty pages with userfaultfd: userfaultfd() '
                      'failed: Operation not permitted', out)

    def test_default_is_software(self):
        self.assertEqual(self.migrate_busy(None), 'software')

    def test_auto_is_software(self):
        self.assertEqual(self.migrate_busy('auto'), 'software')

    def test_software(self):
        self.assertEqual(self.migrate_busy('software'), 'software')

    def test_uffd_wp(self):
        self.assertEqual(self.migrate_busy('uffd-wp'), 'uffd-wp')


if __name__ == '__main__':
    vmig_harness.main()
