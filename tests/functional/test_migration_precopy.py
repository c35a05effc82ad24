#!/usr/bin/env python3
"""Precopy's control loop with a guest that dirties memory faster than
the migration may send it: auto-converge throttling the vCPUs until the
migration converges, and at once, as far as the figures ask, after a
first pass that ends as dirty as it began; a migration that keeps iterating until its
downtime-limit is raised at runtime, or avail-switchover-bandwidth
vouches for a faster switchover, max-bandwidth changed at runtime,
pause-before-switchover with migrate-continue, switchover-ack, the
MIGRATION and MIGRATION_PASS events and query-migrate's figures; a busy guest tracked
by the software dirty log."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from migration_helpers import (BUSY, FINAL,  # noqa: E402
                               MigrationTestCase, dst_vm, info, launched,
                               listen_uri, src_vm, warm_up, wait_status)
from vmig_harness import QMPError, wait_for  # noqa: E402

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
            result = wait_for(throttled_and_done, timeout=60,
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
            i = wait_for(throttled, timeout=30, what='a throttle')
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
                     >= 4, timeout=30, what='four passes')
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
            result = wait_status(src, FINAL, timeout=30)
            self.assert_completed(src, dst, result)
            # The prediction switchover went by stays, beside the
            # measured downtime.
            self.assertLessEqual(result['expected-downtime'], 60000)
            self.assertIn('downtime', result)
            self.assertEqual(src.cmd('query-migrate-config')
                             ['downtime-limit'], 60000)

    def test_avail_switchover_bandwidth(self):
        # Measured, the slow link never fits the dirty memory in 50 ms; at
        # the switchover bandwidth the operator vouches for, it does.
        cfg = dict(SLOW_LINK, **{'downtime-limit': 50})
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                src_vm(*FAST) as src:
            warm_up(src)
            src.cmd('migrate', uri=listen_uri(dst), config=cfg)
            wait_for(lambda: info(src).get('ram', {}).get('iteration', 0)
                     >= 3, timeout=30, what='three passes')
            self.assertEqual(info(src)['status'], 'active')
            src.cmd('migrate-set-config',
                    avail_switchover_bandwidth=100 * 1024 * MiB)
            result = wait_status(src, FINAL, timeout=30)
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
            result = wait_status(src, FINAL, timeout=30)
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


class SoftDirtyLogTest(MigrationTestCase):
    """The software dirty log (VMIG_DIRTY_LOG=soft) catches every
    write of a busy guest: the other tests use the kernel's where it
    works.  Under ThreadSanitizer it checks the log's hand-over to the
    vCPU threads."""

    def test_busy_guest(self):
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                launched(src_vm(*BUSY), VMIG_DIRTY_LOG='soft') as src:
            result = self.migrate(src, listen_uri(dst))
            self.assert_completed(src, dst, result)
            self.assertGreater(result['ram']['dirty-sync-count'], 1)
            self.assert_no_crash(src, dst)

    def test_variable_is_read(self):
        # The test above is only worth something if vmig reads the
        # variable it sets: a value it refuses says it does.
        with dst_vm(incoming='tcp:127.0.0.1:0') as dst, \
                launched(src_vm(*BUSY), VMIG_DIRTY_LOG='bogus') as src:
            result = self.migrate(src, listen_uri(dst))
            self.assertEqual(result['status'], 'failed', result)
            self.assertIn("VMIG_DIRTY_LOG: invalid value 'bogus'",
                          result['error-desc'])
            self.assert_source_runs(src)


if __name__ == '__main__':
    vmig_harness.main()
