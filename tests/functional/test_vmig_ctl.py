#!/usr/bin/env python3
"""vmig-ctl tests: one-shot commands, typed key=value arguments, errors
and exit codes, the event stream and the interactive shell."""

import json
import os
import select
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from vmig_harness import Vmig  # noqa: E402


def ctl(*args, stdin=None):
    proc = subprocess.run([vmig_harness.VMIG_CTL] + list(args),
                          input=stdin.encode() if stdin else None,
                          stdin=None if stdin else subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=vmig_harness.TIMEOUT)
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


if __name__ == '__main__':
    vmig_harness.main()
