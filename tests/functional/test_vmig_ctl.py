#!/usr/bin/env python3
"""vmig-ctl tests: one-shot commands, typed key=value arguments, errors
and exit codes, the event stream and the interactive shell; migrate and
watch-migration, against a scripted monitor (every progress state, on
demand) and between two real vmig processes."""

import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from vmig_harness import Vmig, stretched, wait_for  # noqa: E402


def ctl(*args, stdin=None, timeout=vmig_harness.TIMEOUT):
    proc = subprocess.run([vmig_harness.VMIG_CTL] + list(args),
                          input=stdin.encode() if stdin else None,
                          stdin=None if stdin else subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


class VmigCtlTest(unittest.TestCase):

    vm = None

    @classmethod
    def setUpClass(cls):
        cls.vm = Vmig(name='ctl')
        cls.vm.launch()

    @classmethod
    def tearDownClass(cls):
        if cls.vm:
            try:
                cls.vm.shutdown()
                # Sanitizer builds report leaks and UB on stderr at exit.
                log = cls.vm.stderr_text()
                assert 'Sanitizer' not in log, log
                assert 'runtime error' not in log, log
            finally:
                cls.vm.__exit__(None, None, None)

    def tearDown(self):
        self.assertIsNone(self.vm.proc.poll(), self.vm.stderr_text())
        if self.vm.cmd('query-status')['status'] != 'running':
            self.vm.cmd('cont')

    def test_query_status(self):
        self.assertEqual(ctl(self.vm.qmp_path, 'query-status'),
                         (0, 'VM status: running\n', ''))
        self.vm.cmd('stop')
        self.assertEqual(ctl(self.vm.qmp_path, 'query-status'),
                         (0, 'VM status: paused\n', ''))

    def test_unix_prefix(self):
        status, out, _ = ctl('unix:' + self.vm.qmp_path, 'query-status')
        self.assertEqual((status, out), (0, 'VM status: running\n'))

    def test_json_output(self):
        status, out, err = ctl('--json', self.vm.qmp_path, 'query-status')
        self.assertEqual(status, 0, err)
        self.assertEqual(json.loads(out),
                         {'running': True, 'status': 'running'})
        status, out, err = ctl('-j', self.vm.qmp_path, 'query-version')
        self.assertEqual(json.loads(out), self.vm.cmd('query-version'))

    def test_unknown_shape_prints_json(self):
        status, out, err = ctl(self.vm.qmp_path, 'query-qmp-schema')
        self.assertEqual(status, 0, err)
        self.assertEqual(json.loads(out), self.vm.cmd('query-qmp-schema'))

    def test_action_prints_nothing(self):
        self.assertEqual(ctl(self.vm.qmp_path, 'stop'), (0, '', ''))
        self.assertEqual(self.vm.cmd('query-status')['status'], 'paused')

    def test_error_exit_status(self):
        status, out, err = ctl(self.vm.qmp_path, 'no-such-command')
        self.assertEqual(status, 1)
        self.assertEqual(out, '')
        self.assertIn('CommandNotFound', err)
        self.assertIn('no-such-command', err)
        status, out, err = ctl(self.vm.qmp_path, 'closefd', 'fdname=nope')
        self.assertEqual(status, 1)
        self.assertIn("GenericError: File descriptor named 'nope' not found",
                      err)

    def test_typed_arguments(self):
        # size and bool members are sent as JSON numbers / booleans: the
        # schema says so.  object-del proves the object exists.
        status, out, err = ctl(self.vm.qmp_path, 'object-add',
                               'qom-type=memory-backend-ram', 'id=ctl0',
                               'size=1M', 'share=off')
        self.assertEqual((status, err), (0, ''))
        self.assertEqual(self.vm.cmd('object-del', id='ctl0'), {})
        status, out, err = ctl(self.vm.qmp_path, 'object-add',
                               'qom-type=memory-backend-ram,id=ctl1',
                               'size=lots')
        self.assertEqual(status, 1)
        self.assertIn('size', err)

    def test_json_arguments(self):
        status, out, err = ctl(self.vm.qmp_path, 'closefd',
                               '{"fdname": "zz"}')
        self.assertEqual(status, 1)
        self.assertIn("'zz'", err)
        status, out, err = ctl(self.vm.qmp_path, 'closefd', '{"fdname":')
        self.assertEqual(status, 1)
        self.assertIn('JSON', err)

    def test_bad_socket(self):
        status, out, err = ctl('/nonexistent/vmig.sock', 'query-status')
        self.assertEqual(status, 1)
        self.assertIn('/nonexistent/vmig.sock', err)

    def test_usage(self):
        status, out, err = ctl()
        self.assertEqual(status, 2)
        self.assertIn('usage', err)
        status, out, err = ctl('--help')
        self.assertEqual(status, 0)
        self.assertIn('usage', out)
        self.assertEqual(ctl('--frob', 'x')[0], 2)

    def test_events(self):
        proc = subprocess.Popen([vmig_harness.VMIG_CTL, self.vm.qmp_path,
                                 'events'], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            # The stream is up once vmig-ctl has negotiated; poll with
            # stop/cont until its first line appears.
            deadline = time.monotonic() + vmig_harness.TIMEOUT
            line = b''
            while not line:
                self.assertLess(time.monotonic(), deadline)
                self.vm.cmd('stop')
                self.vm.cmd('cont')
                if select.select([proc.stdout], [], [], 0.2)[0]:
                    line = proc.stdout.readline()
            fields = line.decode().split()
            self.assertRegex(fields[0], r'^\d+\.\d{6}$')
            self.assertIn(fields[1], ('STOP', 'RESUME'))
        finally:
            proc.kill()
            proc.wait()

    def test_shell(self):
        status, out, err = ctl(self.vm.qmp_path,
                               stdin='query-status\n'
                                     '\n'
                                     'stop\n'
                                     'query-status\n'
                                     'closefd {"fdname": "a b"}\n'
                                     'cont\n')
        self.assertEqual(status, 1)     # closefd failed
        self.assertIn("'a b' not found", err)
        lines = [x for x in out.splitlines() if x.startswith('VM status')]
        self.assertEqual(lines, ['VM status: running', 'VM status: paused'])
        self.assertEqual(self.vm.cmd('query-status')['status'], 'running')


class VmigCtlQuitTest(unittest.TestCase):

    def test_events_end_when_vmig_quits(self):
        with Vmig(name='ctlquit') as vm:
            proc = subprocess.Popen([vmig_harness.VMIG_CTL, '--json',
                                     vm.qmp_path, 'events'],
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
            # Wait until it is connected: it then shows up as a client
            # receiving our stop/cont events.
            deadline = time.monotonic() + vmig_harness.TIMEOUT
            while not select.select([proc.stdout], [], [], 0.2)[0]:
                self.assertLess(time.monotonic(), deadline)
                vm.cmd('stop')
                vm.cmd('cont')
            self.assertEqual(ctl(vm.qmp_path, 'quit')[0], 0)
            out, err = proc.communicate(timeout=vmig_harness.TIMEOUT)
            self.assertEqual(proc.returncode, 0, err)
            events = [json.loads(x)['event'] for x in out.splitlines()]
            self.assertIn('SHUTDOWN', events)
            vm.wait_exit()


# --- migrate / watch-migration against a scripted monitor -------------

MiB = 1 << 20


def mig_info(status, sent=None, left=None, total=64 * MiB, it=1, **extra):
    """A query-migrate answer; with @sent, ram figures too."""
    info = {'status': status}
    if sent is not None:
        info['ram'] = {'transferred': sent, 'remaining': left,
                       'total': total, 'duplicate': 0, 'normal': 0,
                       'normal-bytes': sent, 'dirty-pages-rate': 0,
                       'mbps': 0, 'dirty-sync-count': it,
                       'page-size': 4096, 'pages-per-second': 0,
                       'iteration': it}
    info.update({k.replace('_', '-'): v for k, v in extra.items()})
    return info


class FakeMonitor:
    """A QMP server that answers query-migrate from a script: each poll
    gets the next answer, the last one repeats.  Lets the progress
    display be tested in every state, without timing luck."""

    def __init__(self, infos, schema=None, migrate_error=None,
                 on_cancel=None, config=None):
        self.tmpdir = tempfile.mkdtemp(prefix='vmig-fake-')
        self.path = os.path.join(self.tmpdir, 'qmp.sock')
        self.infos = list(infos)
        self.schema = schema or []
        self.migrate_error = migrate_error
        self.on_cancel = on_cancel      # the answers after migrate_cancel
        self.config = config or {}      # query-migrate-config's answer
        self.requests = []
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(1)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _answer(self, name, req):
        if name == 'query-migrate':
            return {'return': self.infos.pop(0) if len(self.infos) > 1
                    else self.infos[0]}
        if name == 'query-qmp-schema':
            return {'return': self.schema}
        if name == 'query-migrate-config':
            return {'return': self.config}
        if name == 'migrate_cancel' and self.on_cancel:
            self.infos = list(self.on_cancel)
        if name == 'migrate' and self.migrate_error:
            return {'error': {'class': 'GenericError',
                              'desc': self.migrate_error}}
        return {'return': {}}

    def _serve(self):
        conn, _ = self.listener.accept()
        with conn, conn.makefile('rwb') as f:
            f.write(b'{"QMP": {"version": {}, "capabilities": []}}\r\n')
            f.flush()
            for line in f:
                req = json.loads(line)
                self.requests.append(req)
                rsp = self._answer(req['execute'], req)
                rsp['id'] = req.get('id')
                f.write(json.dumps(rsp).encode() + b'\r\n')
                f.flush()

    def sent(self, name):
        return [r.get('arguments') for r in self.requests
                if r['execute'] == name]

    def close(self):
        self.listener.close()
        self.thread.join(vmig_harness.TIMEOUT)
        shutil.rmtree(self.tmpdir, ignore_errors=True)


COMPLETED = mig_info('completed', 96 * MiB, 0, it=3, total_time=2000,
                     setup_time=4, downtime=37)


class VmigCtlMigrateFakeTest(unittest.TestCase):

    schema = None

    @classmethod
    def setUpClass(cls):
        # The real schema, so key=value options get their real types.
        with Vmig(name='schema', args=['-S', '-m', '32M']) as vm:
            cls.schema = vm.cmd('query-qmp-schema')
            vm.shutdown()

    def run_ctl(self, infos, *args, migrate_error=None, opts=(),
                config=None):
        fake = FakeMonitor(infos, self.schema, migrate_error, config=config)
        try:
            result = ctl(*opts, fake.path, *args)
        finally:
            fake.close()
        return result + (fake,)

    def test_progress_and_summary(self):
        status, out, err, fake = self.run_ctl(
            [mig_info('setup', total_time=1),
             mig_info('active', 16 * MiB, 48 * MiB, total_time=500,
                      expected_downtime=300, cpu_throttle_percentage=0),
             mig_info('active', 64 * MiB, 16 * MiB, it=2, total_time=1000,
                      expected_downtime=120, cpu_throttle_percentage=20),
             mig_info('device', 90 * MiB, 1 * MiB, it=3, total_time=1900),
             COMPLETED],
            'migrate', 'tcp:127.0.0.1:4444', 'multifd=on',
            'max-bandwidth=1G', 'downtime-limit=300', '--interval=0.01')
        self.assertEqual((status, err), (0, ''))
        # Typed from the schema, under "config".
        self.assertEqual(fake.sent('migrate'),
                         [{'uri': 'tcp:127.0.0.1:4444',
                           'config': {'multifd': True,
                                      'max-bandwidth': 1 << 30,
                                      'downtime-limit': 300}}])
        lines = out.splitlines()
        # Not a terminal: one line per poll, no carriage returns.
        self.assertNotIn('\r', out)
        self.assertEqual(lines[0], '00:00 setup')
        self.assertEqual(
            lines[1], '00:00 active [#####---------------]  25% | '
            '16.0 MiB sent, 48.0 MiB left | iter 1 | '
            'exp. downtime 300 ms | throttle 0%')
        # The rate comes from the bytes sent between two polls.
        self.assertRegex(
            lines[2], r'^00:01 active \[###############-----\]  75% \| '
            r'64\.0 MiB sent, 16\.0 MiB left \| [0-9.]+ [MG]iB/s \| '
            r'iter 2 \| exp\. downtime 120 ms \| throttle 20%$')
        self.assertTrue(lines[3].startswith('00:01 device [###'), lines[3])
        self.assertTrue(lines[4].startswith(
            '00:02 completed [####################] 100% | 96.0 MiB sent, '
            '0 B left'), lines[4])
        self.assertEqual(lines[5:], [
            'Migration completed',
            '  total time   2.00 s (setup 4 ms)',
            '  downtime     37 ms',
            '  transferred  96.0 MiB (guest RAM 64.0 MiB)',
            '  iterations   3 (dirty syncs 3)',
            '  throughput   48.0 MiB/s average'])
        # No multifd figures: nothing about them, not even asked.
        self.assertNotIn(' ch', out)
        self.assertEqual(fake.sent('query-migrate-config'), [])

    def test_multifd_progress_and_summary(self):
        def mfd(sent, packets, before, after):
            figures = {'channels': 3, 'packets': packets,
                       'channel-bytes': [sent // 2, sent // 4, sent // 4],
                       'uncompressed-bytes': before,
                       'compressed-bytes': after}
            if after:
                figures['compression-ratio'] = before / after
            return figures
        status, out, err, fake = self.run_ctl(
            [mig_info('setup', total_time=1),
             mig_info('active', 0, 64 * MiB, total_time=10,
                      multifd=mfd(0, 0, 0, 0)),
             mig_info('active', 16 * MiB, 48 * MiB, total_time=500,
                      multifd=mfd(16 * MiB, 40, 40 * MiB, 16 * MiB)),
             mig_info('completed', 32 * MiB, 0, total_time=1000,
                      multifd=mfd(32 * MiB, 80, 96 * MiB, 32 * MiB))],
            'migrate', 'tcp:127.0.0.1:4444', 'multifd=on',
            'multifd-channels=3', 'multifd-compression=zlib',
            '--interval=0.01',
            config={'multifd': True, 'multifd-compression': 'zlib'})
        self.assertEqual((status, err), (0, ''))
        lines = out.splitlines()
        self.assertEqual(lines[0], '00:00 setup')
        # Nothing compressed yet: the method, no ratio.
        self.assertTrue(lines[1].endswith(' | iter 1 | 3 ch, zlib'),
                        lines[1])
        self.assertTrue(lines[2].endswith(' | iter 1 | 3 ch, zlib 2.5x'),
                        lines[2])
        self.assertTrue(lines[3].startswith('00:01 completed ['), lines[3])
        self.assertEqual(lines[4:], [
            'Migration completed',
            '  total time   1.00 s',
            '  transferred  32.0 MiB (guest RAM 64.0 MiB)',
            '  iterations   1 (dirty syncs 1)',
            '  throughput   32.0 MiB/s average',
            '  multifd      3 channels, 80 packets',
            '  channel 0    16.0 MiB (50.0%)',
            '  channel 1    8.0 MiB (25.0%)',
            '  channel 2    8.0 MiB (25.0%)',
            '  compression  zlib 3.0x: 96.0 MiB -> 32.0 MiB'])
        # The method is asked once, when multifd first shows up.
        self.assertEqual(fake.sent('query-migrate-config'), [None])

    def test_failed(self):
        status, out, err, _ = self.run_ctl(
            [mig_info('setup'),
             mig_info('failed', total_time=12,
                      error_desc='Connection refused')],
            'migrate', 'tcp:127.0.0.1:1', '--interval=0.01')
        self.assertEqual(status, 1)
        self.assertEqual(err, 'vmig-ctl: migration failed: '
                              'Connection refused\n')
        self.assertEqual(out.splitlines()[-2:],
                         ['Migration failed: Connection refused',
                          '  total time   0.01 s'])

    def test_cancelled(self):
        status, out, err, _ = self.run_ctl(
            [mig_info('active', 1 * MiB, 63 * MiB),
             mig_info('cancelling', 2 * MiB, 62 * MiB),
             mig_info('cancelled', 2 * MiB, 62 * MiB, total_time=40)],
            'migrate', 'unix:/x', '--interval=0.01')
        self.assertEqual(status, 1)
        self.assertEqual(err, 'vmig-ctl: migration cancelled\n')
        self.assertIn('Migration cancelled\n', out)

    def test_migrate_refused(self):
        # vmig's answer to migrate: no polling at all.
        status, out, err, fake = self.run_ctl(
            [COMPLETED], 'migrate', 'tcp:127.0.0.1:1',
            migrate_error='A migration is in progress already')
        self.assertEqual((status, out), (1, ''))
        self.assertEqual(err, 'vmig-ctl: GenericError: A migration is in '
                              'progress already\n')
        self.assertEqual(fake.sent('query-migrate'), [])

    def test_no_config_and_json_form(self):
        # No key=value: no "config", so the configuration in effect is
        # used; --dry-run adds dry-run.
        status, out, err, fake = self.run_ctl(
            [mig_info('completed', dry_run=True)], 'migrate', 'unix:/m',
            '--dry-run')
        self.assertEqual((status, err), (0, ''))
        self.assertEqual(fake.sent('migrate'),
                         [{'uri': 'unix:/m', 'dry-run': True}])
        self.assertIn('Dry run completed: the destination accepts this '
                      'migration\n', out)
        # A JSON object is QMP migrate's arguments, sent as they are.
        args = {'channels': [{'channel-type': 'main',
                              'addr': {'transport': 'socket',
                                       'type': 'inet', 'host': '::1',
                                       'port': '1'}}]}
        status, out, err, fake = self.run_ctl(
            [COMPLETED], 'migrate', json.dumps(args))
        self.assertEqual((status, err), (0, ''))
        self.assertEqual(fake.sent('migrate'), [args])

    def test_no_watch(self):
        status, out, err, fake = self.run_ctl(
            [COMPLETED], 'migrate', 'unix:/m', '--no-watch')
        self.assertEqual((status, out, err), (0, '', ''))
        self.assertEqual(fake.sent('query-migrate'), [])

    def test_json_output(self):
        infos = [mig_info('active', 1 * MiB, 63 * MiB), COMPLETED]
        status, out, err, _ = self.run_ctl(
            infos, 'migrate', 'unix:/m', '--interval=0.01', opts=['--json'])
        self.assertEqual((status, err), (0, ''))
        self.assertEqual([json.loads(x) for x in out.splitlines()], infos)

    def test_usage_errors(self):
        for args, msg in [(['migrate'], 'needs a destination URI'),
                          (['migrate', 'unix:/m', '--frob'],
                           "unknown flag '--frob'"),
                          (['migrate', 'unix:/m', '--interval=0'],
                           '--interval'),
                          (['watch-migration', 'x'],
                           "unknown argument 'x'")]:
            with self.subTest(args=args):
                status, out, err, _ = self.run_ctl([COMPLETED], *args)
                self.assertEqual(status, 2)
                self.assertIn(msg, err)
        status, out, err, _ = self.run_ctl(
            [COMPLETED], 'migrate', 'unix:/m', 'max-bandwidth=lots')
        self.assertEqual(status, 1)
        self.assertIn("'config.max-bandwidth'", err)

    def test_watch(self):
        # Nothing ever migrated: said so, exit 1, unless --wait.
        status, out, err, _ = self.run_ctl([{}], 'watch-migration')
        self.assertEqual((status, out), (1, 'No migration has run\n'))
        status, out, err, fake = self.run_ctl(
            [{}, {'status': 'none'}, mig_info('active', 0, 64 * MiB),
             COMPLETED], 'watch-migration', '--wait', '--interval=0.01')
        self.assertEqual((status, err), (0, ''))
        self.assertEqual(len(fake.sent('query-migrate')), 4)
        self.assertIn('Migration completed\n', out)
        self.assertEqual(fake.sent('migrate'), [])
        # A migration that is over: its summary at once.
        status, out, err, fake = self.run_ctl([COMPLETED],
                                              'watch-migration')
        self.assertEqual(status, 0)
        self.assertEqual(out.splitlines()[1], 'Migration completed')

    def interrupt(self, fake, times):
        """Runs migrate until it polls, then sends it @times SIGINTs."""
        proc = subprocess.Popen([vmig_harness.VMIG_CTL, fake.path,
                                 'migrate', 'unix:/m', '--interval=0.01'],
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            wait_for(lambda: fake.sent('query-migrate'), what='a poll')
            for _ in range(times):
                polls = len(fake.sent('query-migrate'))
                proc.send_signal(signal.SIGINT)
                # Wait until it has seen it and polled again.
                wait_for(lambda: proc.poll() is not None or
                         len(fake.sent('query-migrate')) > polls + 1,
                         what='vmig-ctl to go on')
            out, err = proc.communicate(timeout=vmig_harness.TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
            fake.close()
        return proc.returncode, out.decode(), err.decode()

    def test_ctrl_c_cancels(self):
        fake = FakeMonitor([mig_info('active', 1 * MiB, 63 * MiB)],
                           self.schema,
                           on_cancel=[mig_info('cancelling', 1, 1),
                                      mig_info('cancelled', 1, 1)])
        status, out, err = self.interrupt(fake, 1)
        self.assertEqual(status, 1)
        self.assertEqual(fake.sent('migrate_cancel'), [None])
        self.assertIn('cancelling the migration', err)
        self.assertIn('vmig-ctl: migration cancelled\n', err)
        self.assertIn('\nMigration cancelled\n', out)

    def test_ctrl_c_twice_stops_watching(self):
        # A cancel that does not take: the second Ctrl-C gives up.
        fake = FakeMonitor([mig_info('active', 1 * MiB, 63 * MiB)],
                           self.schema)
        status, out, err = self.interrupt(fake, 2)
        self.assertEqual(status, 1)
        self.assertEqual(fake.sent('migrate_cancel'), [None])
        self.assertIn('stopped watching; the migration goes on', err)

    def test_terminal_redraws_in_place(self):
        fake = FakeMonitor([mig_info('active', 16 * MiB, 48 * MiB),
                            mig_info('active', 32 * MiB, 32 * MiB),
                            COMPLETED], self.schema)
        master, slave = pty.openpty()
        # 100 columns: lines must fit in 99 (the last one may wrap).
        fcntl.ioctl(slave, termios.TIOCSWINSZ,
                    struct.pack('HHHH', 24, 100, 0, 0))
        try:
            proc = subprocess.Popen([vmig_harness.VMIG_CTL, fake.path,
                                     'migrate', 'unix:/m',
                                     '--interval=0.01'],
                                    stdin=subprocess.DEVNULL, stdout=slave,
                                    stderr=subprocess.PIPE)
            os.close(slave)
            slave = None
            out = b''
            while True:
                ready, _, _ = select.select([master], [], [],
                                            vmig_harness.TIMEOUT)
                self.assertTrue(ready, out)
                try:
                    chunk = os.read(master, 65536)
                except OSError:     # EIO: the last writer has gone
                    break
                if not chunk:
                    break
                out += chunk
            self.assertEqual(proc.wait(vmig_harness.TIMEOUT), 0)
            proc.stderr.close()
        finally:
            os.close(master)
            if slave is not None:
                os.close(slave)
            fake.close()
        text = out.decode().replace('\r\n', '\n')
        # Three redraws of one line, then a newline and the summary.
        self.assertEqual(text.count('\r'), 3, text)
        progress, _, summary = text.partition('\n')
        self.assertTrue(progress.startswith('\r00:00 active ['), progress)
        self.assertIn('\r00:02 completed [', progress)
        for line in progress.split('\r')[1:]:
            self.assertLessEqual(len(line), 99, line)
        self.assertTrue(summary.startswith('Migration completed\n'),
                        summary)


# --- migrate between two real vmig processes --------------------------

def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def start_destination(args, name='dst'):
    """A vmig waiting on -incoming; returns it and the port it listens
    on.  Port 0 lets the kernel pick a free one, so nothing can take it
    first; query-migrate tells which it is."""
    vm = Vmig(name=name, args=args + ['-incoming', 'tcp:127.0.0.1:0'])
    vm.launch()
    addr = vm.cmd('query-migrate')['socket-address'][0]
    return vm, int(addr['port'])


class VmigCtlMigrationTest(unittest.TestCase):

    MACHINE = ['-m', '32M', '-smp', '2']

    def test_migrate_completes(self):
        with Vmig(name='src', args=self.MACHINE + [
                '-workload', 'rate=8M,pattern=random,content=text,seed=3'
        ]) as src:
            dst, port = start_destination(self.MACHINE + ['-S'])
            with dst:
                # The destination's side, followed from before it starts.
                watcher = subprocess.Popen(
                    [vmig_harness.VMIG_CTL, dst.qmp_path, 'watch-migration',
                     '--wait', '--interval=0.05'],
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE)
                status, out, err = ctl(src.qmp_path, 'migrate',
                                       'tcp:127.0.0.1:%d' % port,
                                       'max-bandwidth=0',
                                       '--interval=0.05',
                                       timeout=stretched(60))
                self.assertEqual((status, err), (0, ''), out)
                lines = out.splitlines()
                # The last poll's line, then the summary.
                self.assertRegex(lines[-7], r'^\d\d:\d\d completed ')
                self.assertEqual(lines[-6], 'Migration completed')
                for line, label in zip(lines[-5:],
                                       ('total time', 'downtime',
                                        'transferred', 'iterations',
                                        'throughput')):
                    self.assertTrue(line.startswith('  ' + label), line)
                self.assertIn('(guest RAM 32.0 MiB)', lines[-3])
                self.assertRegex(lines[-2], r'^  iterations   [1-9]')
                # Without multifd, no multifd figures anywhere.
                self.assertNotIn(' ch', out)
                self.assertNotIn('multifd', out)
                self.assertNotIn('compression', out)
                # What arrived is what left (both are paused now).
                self.assertEqual(src.cmd('query-status')['status'],
                                 'postmigrate')
                self.assertEqual(src.cmd('x-query-vm-digest'),
                                 dst.cmd('x-query-vm-digest'))
                w_out, w_err = watcher.communicate(
                    timeout=vmig_harness.TIMEOUT)
                self.assertEqual((watcher.returncode, w_err), (0, b''))
                self.assertIn(b'\nMigration completed\n', w_out)
                # Watching either end afterwards reports the result.
                for vm in (src, dst):
                    status, out, err = ctl(vm.qmp_path, 'watch-migration')
                    self.assertEqual((status, err), (0, ''))
                    self.assertIn('Migration completed\n', out)
                dst.shutdown()
            src.shutdown()

    def test_migrate_multifd(self):
        with Vmig(name='src', args=self.MACHINE + [
                '-workload', 'rate=8M,pattern=random,content=text,seed=5'
        ]) as src:
            dst, port = start_destination(self.MACHINE + ['-S'])
            with dst:
                status, out, err = ctl(src.qmp_path, 'migrate',
                                       'tcp:127.0.0.1:%d' % port,
                                       'multifd=on', 'multifd-channels=3',
                                       'multifd-compression=zlib',
                                       'max-bandwidth=0', '--interval=0.05',
                                       timeout=stretched(60))
                self.assertEqual((status, err), (0, ''), out)
                lines = out.splitlines()
                # The last poll's line, the summary, its multifd part.
                self.assertRegex(lines[-12], r'^\d\d:\d\d completed .* \| '
                                 r'3 ch, zlib [0-9.]+x$')
                self.assertEqual(lines[-11], 'Migration completed')
                self.assertTrue(lines[-6].startswith('  throughput'))
                summary = lines[-5:-1]
                self.assertRegex(summary[0], r'^  multifd      3 channels, '
                                 r'[1-9][0-9]* packets$')
                # Every channel carried something, and the shares add up.
                shares = 0
                for i, line in enumerate(summary[1:]):
                    m = re.match(r'^  channel %d    ([0-9.]+) (B|KiB|MiB) '
                                 r'\(([0-9.]+)%%\)$' % i, line)
                    self.assertTrue(m, line)
                    self.assertGreater(float(m.group(1)), 0, line)
                    shares += float(m.group(3))
                self.assertAlmostEqual(shares, 100, delta=0.2)
                m = re.match(r'^  compression  zlib ([0-9.]+)x: '
                             r'[0-9.]+ (B|KiB|MiB) -> [0-9.]+ (B|KiB|MiB)$',
                             lines[-1])
                self.assertTrue(m, lines[-1])
                # Text pages: zlib shrinks them.
                self.assertGreater(float(m.group(1)), 1)
                self.assertEqual(src.cmd('query-status')['status'],
                                 'postmigrate')
                self.assertEqual(src.cmd('x-query-vm-digest'),
                                 dst.cmd('x-query-vm-digest'))
                # The destination's side: the same channels and packets.
                status, out, err = ctl(dst.qmp_path, 'watch-migration')
                self.assertEqual((status, err), (0, ''))
                dst_lines = out.splitlines()
                self.assertEqual(dst_lines[-5:-1], summary)
                self.assertRegex(dst_lines[-1], r'^  compression  zlib ')
                dst.shutdown()
            src.shutdown()

    def test_dry_run(self):
        with Vmig(name='src', args=self.MACHINE) as src:
            dst, port = start_destination(self.MACHINE)
            with dst:
                status, out, err = ctl(src.qmp_path, 'migrate',
                                       'tcp:127.0.0.1:%d' % port,
                                       '--dry-run', '--interval=0.05')
                self.assertEqual((status, err), (0, ''), out)
                self.assertIn('\nDry run completed: the destination '
                              'accepts this migration\n', out)
                # Nothing moved: the source runs on.
                self.assertEqual(src.cmd('query-status')['status'],
                                 'running')
            src.shutdown()

    def test_unreachable_destination(self):
        # A port nothing listens on: refused at once.
        with Vmig(name='lonely', args=self.MACHINE) as src:
            status, out, err = ctl(src.qmp_path, 'migrate',
                                   'tcp:127.0.0.1:%d' % free_port(),
                                   '--interval=0.05')
            self.assertEqual(status, 1, out)
            self.assertRegex(err, r'^vmig-ctl: migration failed: .*'
                                  r'Connection refused\n$')
            self.assertRegex(out, r'\nMigration failed: .*Connection '
                                  r'refused\n')
            # The source carries on.
            self.assertEqual(src.cmd('query-status')['status'], 'running')
            src.shutdown()


if __name__ == '__main__':
    vmig_harness.main()
