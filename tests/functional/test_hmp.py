#!/usr/bin/env python3
"""HMP tests: the command table, help generated from it, info
subcommands, and that HMP and QMP act on the same machine state."""

import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from vmig_harness import HMPClient, Vmig  # noqa: E402

COMMANDS = ('help', 'info', 'stop', 'cont', 'quit', 'migrate',
            'migrate_incoming', 'migrate_cancel', 'migrate_continue',
            'migrate_set_config', 'migrate_set_capability',
            'migrate_set_parameter', 'migrate_start_postcopy',
            'migrate_pause', 'migrate_recover')
INFO_SUBCOMMANDS = ('status', 'version', 'migrate', 'migrate_config',
                    'migrate_capabilities', 'migrate_parameters')


class HMPTest(unittest.TestCase):

    vm = None

    @classmethod
    def setUpClass(cls):
        cls.vm = Vmig(name='hmp', hmp=True)
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

    def test_banner(self):
        c = HMPClient(self.vm.hmp_path)
        try:
            self.assertIn('monitor', c.banner)
            self.assertIn("type 'help'", c.banner)
            self.assertTrue(c.banner.endswith('(vmig) '))
        finally:
            c.close()

    def test_help_lists_every_command(self):
        out = self.vm.hmp('help')
        names = [re.split(r'[| ]', line)[0] for line in out.splitlines()]
        self.assertEqual(sorted(names), sorted(COMMANDS))
        for line in out.splitlines():
            self.assertRegex(line, r'^\S+( .*)? -- \S')
        self.assertEqual(self.vm.hmp('?'), out)

    def test_help_for_one_command(self):
        out = self.vm.hmp('help stop')
        self.assertEqual(len(out.splitlines()), 1)
        self.assertTrue(out.startswith('stop'), out)
        self.assertEqual(self.vm.hmp('help s'), out)    # alias
        self.assertEqual(self.vm.hmp('help info status').strip(),
                         self.vm.hmp('info').splitlines()[0].strip())

    def test_help_info_and_info_alone(self):
        for out in (self.vm.hmp('help info'), self.vm.hmp('info')):
            lines = out.splitlines()
            self.assertEqual([line.split()[1] for line in lines],
                             list(INFO_SUBCOMMANDS))
            for line in lines:
                self.assertTrue(line.startswith('info '), line)

    def test_unknown_command(self):
        self.assertEqual(self.vm.hmp('frobnicate'),
                         "unknown command: 'frobnicate'\n")
        self.assertEqual(self.vm.hmp('info frob'),
                         "unknown command: 'info frob'\n")
        self.assertEqual(self.vm.hmp('help frob'),
                         "unknown command: 'frob'\n")

    def test_empty_line(self):
        self.assertEqual(self.vm.hmp(''), '')
        self.assertEqual(self.vm.hmp('   '), '')

    def test_too_many_arguments(self):
        out = self.vm.hmp('stop now please')
        self.assertTrue(out.startswith('Error: '), out)
        self.assertIn('too many arguments', out)
        self.assertEqual(self.vm.cmd('query-status')['status'], 'running')

    def test_bad_quoting(self):
        out = self.vm.hmp('help "stop')
        self.assertTrue(out.startswith('Error: '), out)
        self.assertIn('"', out)
        self.assertEqual(self.vm.hmp('help "stop"'),
                         self.vm.hmp('help stop'))

    def test_info_version(self):
        v = self.vm.cmd('query-version')
        q = v['qemu']
        self.assertEqual(self.vm.hmp('info version'),
                         '%d.%d.%d (%s)\n' % (q['major'], q['minor'],
                                              q['micro'], v['package']))

    def test_stop_cont_agree_with_qmp(self):
        self.assertEqual(self.vm.hmp('info status'), 'VM status: running\n')
        self.assertEqual(self.vm.hmp('stop'), '')
        self.assertEqual(self.vm.cmd('query-status'),
                         {'running': False, 'status': 'paused'})
        self.assertEqual(self.vm.qmp.wait_event('STOP')['event'], 'STOP')
        self.assertEqual(self.vm.hmp('info status'), 'VM status: paused\n')
        self.assertEqual(self.vm.hmp('c'), '')          # alias of cont
        self.assertEqual(self.vm.cmd('query-status'),
                         {'running': True, 'status': 'running'})
        self.assertEqual(self.vm.hmp('info status'), 'VM status: running\n')
        # And the other way round.
        self.vm.cmd('stop')
        self.assertEqual(self.vm.hmp('info status'), 'VM status: paused\n')
        self.vm.cmd('cont')

    def test_two_hmp_clients(self):
        other = HMPClient(self.vm.hmp_path)
        try:
            self.assertEqual(other.run('info status'),
                             self.vm.hmp('info status'))
        finally:
            other.close()

    def test_crlf_on_socket(self):
        # A raw terminal needs CR LF; the harness hides it, so look at the
        # bytes.
        c = HMPClient(self.vm.hmp_path)
        try:
            c.conn.sock.sendall(b'info status\r\n')
            raw = c.conn.read_until(HMPClient.PROMPT)
            self.assertEqual(raw, b'VM status: running\r\n(vmig) ')
        finally:
            c.close()


class HMPQuitTest(unittest.TestCase):

    def test_quit(self):
        with Vmig(name='hmpquit', hmp=True) as vm:
            vm.hmp('help')
            vm.hmp_client.conn.sock.sendall(b'quit\n')
            self.assertEqual(vm.wait_exit(), 0)

    def test_stdio(self):
        proc = subprocess.run([vmig_harness.VMIG, '-monitor', 'stdio'],
                              input=b'info status\nstop\ninfo status\n'
                                    b'quit\n',
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=vmig_harness.TIMEOUT)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = proc.stdout.decode()
        self.assertIn("type 'help'", out)
        self.assertIn('(vmig) VM status: running\n', out)
        self.assertIn('(vmig) VM status: paused\n', out)


if __name__ == '__main__':
    vmig_harness.main()
