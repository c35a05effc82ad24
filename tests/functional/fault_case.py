"""What every case of the fault suite (test_fault_*.py) does: a source
vmig in one network namespace, destinations in the other, a fault, and
the checks that follow it (docs/devel/testing.md, "The fault suite").

After a fault, the source's migration ends "failed" with its reason
within BOUND seconds, its guest runs with the RAM it had when the fault
came (the workload is paused for the comparison) and writes again, and
a retry to a fresh destination completes with equal digests.
"""

import select
import shutil
import subprocess
import sys
import tempfile
import time

from fault_net import NetPair, NsVmig, skip_reason
from migration_helpers import (FINAL, LIVENESS, RELAY, MigrationTestCase,
                               digest, info, listen_uri, wait_status)

# How long a fault may take to be reported: a generous multiple of the
# liveness period the cases set where vmig has the option (LIVENESS),
# for a loaded machine.
BOUND = 5 * LIVENESS + 10
MEM = '32M'
WORKLOAD = ['-workload', 'rate=32M,pattern=random,content=text,seed=5']
MiB = 1 << 20
# What an end says when its peer's process is gone (its kernel closed
# the connection): between records, or inside one that the killed peer
# had only begun to write ("truncated: EOF after N of M bytes").
GONE = ('closed the connection', 'reset by peer', 'broken pipe',
        'ended before end', 'is truncated: eof after')
# What an end may say when its peer went silent (the liveness rule).
# What each end says when its peer goes silent (liveness-timeout): the
# heartbeat's words, or the kernel's TCP_USER_TIMEOUT, whichever fires
# first on a link with data in flight.
SILENT_DESTINATION = ('no reply from the destination', 'connection timed out')
SILENT_SOURCE = ('no data from the source', 'connection timed out')


def ram(vm):
    """query-migrate's memory figures (empty before there are any)."""
    return info(vm).get('ram', {})


class FaultTestCase(MigrationTestCase):

    def setUp(self):
        reason = skip_reason()
        if reason:
            self.skipTest(reason)
        self.net = NetPair().__enter__()
        self.addCleanup(self.net.close)

    def _started(self, vm):
        # Cleanups run last in, first out: each vmig is gone before its
        # namespace.
        self.addCleanup(vm.__exit__, None, None, None)
        return vm.launch()

    def source(self, name='src', prefix=None):
        """A source with a guest writing memory, in the source namespace
        (or started by @prefix)."""
        if prefix is None:
            prefix = self.net.src.prefix()
        return self._started(NsVmig(prefix, name=name,
                                    args=['-m', MEM] + WORKLOAD))

    def destination(self, name='dst'):
        """A destination listening on its namespace's address; it stays
        up when its migration fails, to be asked why."""
        dst = self._started(NsVmig(self.net.dst.prefix(), name=name,
                                   args=['-m', MEM, '-incoming', 'defer']))
        dst.cmd('migrate-incoming', uri='tcp:%s:0' % self.net.DST_ADDR,
                exit_on_error=False)
        return dst

    def require_liveness(self, src):
        """For cases that only a liveness timeout can end: sets it to
        LIVENESS on @src (the HELLO gives it to the destination), or
        skips.  The other cases keep the default, which a loaded machine
        cannot trip by accident."""
        if 'liveness-timeout' not in src.cmd('query-migrate-config'):
            self.skipTest('liveness-timeout not supported')
        src.cmd('migrate-set-config', liveness_timeout=LIVENESS)

    def relay(self, to, *opts):
        """A mig_relay.py in the destination's namespace relaying to the
        address @to (tcp:HOST:PORT); returns (process, its URI)."""
        host, port = to.split(':')[1:]
        proc = subprocess.Popen(
            self.net.dst.prefix() +
            [sys.executable, RELAY, '--listen', '%s:0' % self.net.DST_ADDR,
             '--to', '%s:%s' % (host, port)] + list(opts),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        self.addCleanup(self._stop, proc)
        line = self.relay_line(proc)
        self.assertTrue(line.startswith('listening '), line)
        return proc, 'tcp:%s:%s' % (self.net.DST_ADDR, line.split()[1])

    @staticmethod
    def relay_line(proc, timeout=BOUND):
        """The relay's next line on stdout (bounded wait)."""
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError('the relay said nothing within %ss' % timeout)
        return proc.stdout.readline().decode().strip()

    @staticmethod
    def _stop(proc):
        proc.kill()
        proc.wait()
        proc.stdout.close()

    # ---- The checks after a fault ----

    def freeze_guest(self, src):
        """Pauses the source's workload (the guest still runs) and
        returns its digest, to compare after the fault.  A vCPU may
        finish a batch after the rate changed; "stop" returns once every
        vCPU is parked, so after it nothing writes."""
        src.cmd('x-workload-set', rate=0)
        src.cmd('stop')
        src.cmd('cont')
        return digest(src)

    def assert_failed(self, vm, since, *words):
        """@vm's migration fails within BOUND seconds of @since, with an
        error-desc that contains one of @words (lower case)."""
        result = wait_status(vm, FINAL, timeout=BOUND)
        elapsed = time.monotonic() - since
        self.assertEqual(result['status'], 'failed', result)
        desc = result.get('error-desc', '')
        self.assertTrue(any(w in desc.lower() for w in words),
                        'error-desc %r names none of %s' % (desc, words))
        self.assertLess(elapsed, BOUND)
        return result

    def assert_intact(self, src, before):
        """The source guest runs with the RAM it had, and writes again."""
        self.assertEqual(src.cmd('query-status')['status'], 'running')
        self.assertEqual(digest(src), before)
        src.cmd('x-workload-set', rate=32 * MiB)
        self.assert_source_runs(src)

    def assert_retry_completes(self, src):
        dst = self.destination(name='dst2')
        self.assert_completed(src, dst, self.migrate(src, listen_uri(dst)))
        self.assert_no_crash(src, dst)


def scratch_dir(test):
    """A directory removed when @test ends."""
    path = tempfile.mkdtemp(prefix='vmig-fault-')
    test.addCleanup(shutil.rmtree, path, True)
    return path

