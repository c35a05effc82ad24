#!/usr/bin/env python3
"""The migration options of the command line: -global migration.KEY=VALUE
and -incoming in its three forms (defer, URI with options, QEMU's channel
keyval form).  Values are refused with the messages QMP gives, since all
go through the same visitor and validator."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from vmig_harness import Vmig, run_vmig  # noqa: E402

GiB = 1024 * 1024 * 1024

TCP_OPTIONS = ('numeric', 'to', 'ipv4', 'ipv6', 'keep-alive', 'mptcp')
CHANNEL = ('main,addr.transport=socket,addr.type=inet,addr.host=127.0.0.1,'
           'addr.port=0')


def qmp_message(command, args):
    """The error a running vmig gives for a QMP command."""
    with Vmig(name='ref', args=['-m', '32M']) as vm:
        resp = vm.qmp.execute(command, args)
        vm.shutdown()
    assert 'error' in resp, resp
    return resp['error']['desc']


def hmp_message(line):
    """The error a running vmig prints for an HMP command line."""
    with Vmig(name='refhmp', hmp=True, args=['-m', '32M']) as vm:
        out = vm.hmp(line)
        vm.shutdown()
    assert out.startswith('Error: '), out
    return out[len('Error: '):].rstrip('\n')


class CmdlineTestCase(unittest.TestCase):

    def assert_fails(self, args, message):
        """vmig exits non-zero with exactly the one line @message."""
        status, out = run_vmig(['-m', '32M'] + args)
        self.assertNotEqual(status, 0, out)
        self.assertEqual(out.strip(), message)

    def assert_clean_exit(self, vm):
        vm.shutdown()
        log = vm.stderr_text()
        self.assertNotIn('Sanitizer', log)
        self.assertNotIn('runtime error', log)


class GlobalTest(CmdlineTestCase):

    def test_global_visible_in_query(self):
        with Vmig(args=['-m', '32M',
                        '-global', 'migration.multifd-channels=8',
                        '-global', 'migration.multifd=on',
                        '-global', 'migration.max-bandwidth=1G',
                        '-global', 'migration.multifd-compression=zlib']) \
                as vm:
            cfg = vm.cmd('query-migrate-config')
            self.assertEqual(cfg['multifd-channels'], 8)
            self.assertIs(cfg['multifd'], True)
            self.assertEqual(cfg['max-bandwidth'], GiB)
            self.assertEqual(cfg['multifd-compression'], 'zlib')
            # Not -incoming: the machine runs as usual.
            self.assertEqual(vm.cmd('query-status')['status'], 'running')
            self.assert_clean_exit(vm)

    def test_later_global_wins(self):
        with Vmig(args=['-m', '32M',
                        '-global', 'migration.multifd-channels=8',
                        '-global', 'migration.multifd-channels=3']) as vm:
            self.assertEqual(vm.cmd('query-migrate-config')
                             ['multifd-channels'], 3)
            self.assert_clean_exit(vm)

    def test_order_does_not_matter(self):
        # switchover-ack needs return-path, given after it.
        with Vmig(args=['-m', '32M',
                        '-global', 'migration.switchover-ack=on',
                        '-global', 'migration.return-path=on']) as vm:
            cfg = vm.cmd('query-migrate-config')
            self.assertIs(cfg['switchover-ack'], True)
            self.assertIs(cfg['return-path'], True)
            self.assert_clean_exit(vm)

    def test_bad_value_gives_the_validators_message(self):
        cases = [
            ('multifd-channels', '0', {'multifd-channels': 0}),
            ('postcopy-preempt', 'on', {'postcopy-preempt': True}),
            ('multifd-channels', '300', {'multifd-channels': 300}),
            ('multifd-compression', 'lz4', {'multifd-compression': 'lz4'}),
        ]
        for key, value, args in cases:
            with self.subTest(key=key, value=value):
                arg = 'migration.%s=%s' % (key, value)
                self.assert_fails(['-global', arg], 'vmig: -global %s: %s'
                                  % (arg, qmp_message('migrate-set-config',
                                                      args)))

    def test_rule_violated_by_the_set(self):
        self.assert_fails(['-global', 'migration.multifd=on',
                           '-global', 'migration.xbzrle=on'],
                          'vmig: -global migration.xbzrle=on: %s'
                          % qmp_message('migrate-set-config',
                                        {'multifd': True, 'xbzrle': True}))

    def test_type_error_like_hmp(self):
        # Both are keyval strings typed by the same visitor.
        self.assert_fails(['-global', 'migration.multifd=maybe'],
                          'vmig: -global migration.multifd=maybe: %s'
                          % hmp_message('migrate_set_config multifd=maybe'))

    def test_unknown_key(self):
        self.assert_fails(['-global', 'migration.bogus=1'],
                          "vmig: -global migration.bogus=1: Migration has no "
                          "option 'bogus'")
        self.assert_fails(['-global', 'migration.multifd'],
                          'vmig: -global migration.multifd: expected '
                          'migration.KEY=VALUE')

    def test_malformed_refused(self):
        # Well-formed globals of other drivers are ignored; these are
        # not globals at all, and must not vanish silently.
        for arg in ('', '=x', 'nodot=1', '.x=1', 'x=y.z', 'virtio.x'):
            with self.subTest(arg=arg):
                self.assert_fails(['-global', arg],
                                  'vmig: -global %s: expected '
                                  'DRIVER.PROPERTY=VALUE' % arg)

    def test_huge_value_not_echoed_whole(self):
        # The refusal quotes the option and its value, shortened: a
        # 100 KB value must not come back (twice) in the message.
        value = 'A' * (100 * 1024)
        status, out = run_vmig(['-m', '32M', '-incoming',
                                'tcp:127.0.0.1:0,tls-creds=' + value])
        self.assertNotEqual(status, 0, out[:200])
        self.assertLess(len(out), 1000, out[:1000])
        self.assertIn("Option 'tls-creds' (value 'AAAA", out)
        self.assertIn("do not exist", out)
        self.assertIn('... (102400 bytes)', out)

    def test_other_drivers_ignored(self):
        with Vmig(args=['-m', '32M', '-global', 'virtio-net-pci.x=1',
                        '-global', 'migrationx.y=2']) as vm:
            self.assertEqual(vm.cmd('query-status')['status'], 'running')
            self.assert_clean_exit(vm)

    def test_help(self):
        status, out = run_vmig(['-help'])
        self.assertEqual(status, 0)
        self.assertIn('-global migration.KEY=VALUE', out)
        self.assertIn('-incoming defer|URI', out)


class IncomingDeferTest(CmdlineTestCase):

    def test_defer_waits_in_inmigrate(self):
        with Vmig(hmp=True, args=['-m', '32M', '-incoming', 'defer']) as vm:
            self.assertEqual(vm.cmd('query-status'),
                             {'running': False, 'status': 'inmigrate'})
            self.assertEqual(vm.hmp('info status'),
                             'VM status: paused (inmigrate)\n')
            # cont only asks for a start once the migration is in.
            vm.cmd('cont')
            self.assertEqual(vm.cmd('query-status')['status'], 'inmigrate')
            # The command is accepted: an error, if any, is the handler's,
            # not one about the arguments.
            resp = vm.qmp.execute('migrate-incoming',
                                  {'uri': 'tcp:127.0.0.1:0'})
            if 'error' in resp:
                self.assertNotIn('Parameter', resp['error']['desc'])
                self.assertNotIn("'-incoming' was not specified",
                                 resp['error']['desc'])
            resp = vm.qmp.execute('migrate-incoming',
                                  {'uri': 'tcp:127.0.0.1:0', 'bogus': 1})
            self.assertEqual(resp['error']['desc'],
                             "Parameter 'bogus' is unexpected")
            self.assert_clean_exit(vm)

    def test_defer_with_globals(self):
        with Vmig(args=['-m', '32M', '-incoming', 'defer',
                        '-global', 'migration.multifd-channels=8']) as vm:
            self.assertEqual(vm.cmd('query-migrate-config')
                             ['multifd-channels'], 8)
            self.assertEqual(vm.cmd('query-status')['status'], 'inmigrate')
            self.assert_clean_exit(vm)

    def test_defer_with_S(self):
        with Vmig(args=['-m', '32M', '-S', '-incoming', 'defer']) as vm:
            self.assertEqual(vm.cmd('query-status')['status'], 'inmigrate')
            self.assert_clean_exit(vm)

    def test_defer_then_migrate_incoming_listens(self):
        with Vmig(args=['-m', '32M', '-incoming', 'defer']) as vm:
            self.assertEqual(vm.cmd('migrate-incoming',
                                    uri='tcp:127.0.0.1:0'), {})
            self.assertEqual(vm.cmd('query-status')['status'], 'inmigrate')
            self.assert_clean_exit(vm)


class IncomingUriTest(CmdlineTestCase):

    def test_uri_with_options_listens(self):
        with Vmig(args=['-m', '32M',
                        '-global', 'migration.max-bandwidth=1G',
                        '-incoming',
                        'tcp:127.0.0.1:0,multifd-channels=4,ipv4=on']) as vm:
            self.assertEqual(vm.cmd('query-status'),
                             {'running': False, 'status': 'inmigrate'})
            cfg = vm.cmd('query-migrate-config')
            self.assertEqual(cfg['multifd-channels'], 4)
            # Omitted options take their start-up values (-global).
            self.assertEqual(cfg['max-bandwidth'], GiB)
            self.assert_clean_exit(vm)

    def test_invalid_option_lists_the_valid_ones(self):
        arg = 'tcp:127.0.0.1:0,multifd-channels=4,bogus=1'
        self.assert_fails(['-incoming', arg],
                          "vmig: -incoming %s: invalid option 'bogus': valid "
                          "options are the address options %s (for tcp: "
                          "URIs) and the migration options (see "
                          "query-migrate-config)"
                          % (arg, ', '.join(TCP_OPTIONS)))
        arg = 'file:/nonexistent/x,ipv4=on'
        self.assert_fails(['-incoming', arg],
                          "vmig: -incoming %s: invalid option 'ipv4': valid "
                          "options are the address option offset (for file: "
                          "URIs) and the migration options (see "
                          "query-migrate-config)" % arg)
        arg = 'unix:/nonexistent/sock,to=5'
        self.assert_fails(['-incoming', arg],
                          "vmig: -incoming %s: invalid option 'to': valid "
                          "options are the migration options (see "
                          "query-migrate-config)" % arg)

    def test_address_options_need_a_value(self):
        arg = 'tcp:127.0.0.1:0,ipv4.x=on'
        self.assert_fails(['-incoming', arg],
                          "vmig: -incoming %s: address option 'ipv4' takes "
                          "a value, not 'ipv4.*' keys" % arg)

    def test_uri_required(self):
        status, out = run_vmig(['-incoming', 'multifd-channels=4'])
        self.assertNotEqual(status, 0)
        self.assertIn('a URI is needed', out)

    def test_keyval_syntax_error(self):
        status, out = run_vmig(['-incoming', 'tcp:127.0.0.1:0,=1'])
        self.assertNotEqual(status, 0)
        self.assertIn('vmig: -incoming tcp:127.0.0.1:0,=1: Missing '
                      'parameter name', out)

    def test_config_type_errors_like_qmp_and_hmp(self):
        # The C type's range is the visitor's, the same for JSON and keyval.
        arg = 'tcp:127.0.0.1:0,multifd-channels=300'
        self.assert_fails(['-incoming', arg], 'vmig: -incoming %s: %s'
                          % (arg, qmp_message('migrate-set-config',
                                              {'multifd-channels': 300})))
        # A string that does not parse: worded as HMP words it.
        arg = 'tcp:127.0.0.1:0,multifd=maybe'
        self.assert_fails(['-incoming', arg], 'vmig: -incoming %s: %s'
                          % (arg, hmp_message('migrate_set_config '
                                              'multifd=maybe')))

    def test_config_bad_value_like_qmp(self):
        for extra, args in [('multifd-channels=0', {'multifd-channels': 0}),
                            ('postcopy-preempt=on',
                             {'postcopy-preempt': True})]:
            arg = 'tcp:127.0.0.1:0,' + extra
            self.assert_fails(['-incoming', arg], 'vmig: -incoming %s: %s'
                              % (arg, qmp_message('migrate-set-config',
                                                  args)))

    def test_incoming_failure_exits(self):
        # Whatever the transport says, a failed -incoming is fatal and
        # names the option.
        status, out = run_vmig(['-m', '32M', '-incoming', 'bogus:xyz'])
        self.assertNotEqual(status, 0)
        self.assertTrue(out.startswith('vmig: -incoming bogus:xyz: '), out)


class IncomingChannelTest(CmdlineTestCase):

    def test_channel_form_is_parsed(self):
        # The address is visited as a MigrationChannel: its errors are the
        # visitor's, with the full key.
        arg = CHANNEL.replace(',addr.port=0', '')
        self.assert_fails(['-incoming', arg], "vmig: -incoming %s: "
                          "Parameter 'addr.port' is missing" % arg)
        arg = CHANNEL.replace('addr.type=inet', 'addr.type=carrier-pigeon')
        status, out = run_vmig(['-m', '32M', '-incoming', arg])
        self.assertNotEqual(status, 0)
        self.assertIn("'carrier-pigeon'", out)
        arg = CHANNEL + ',bogus=1'
        self.assert_fails(['-incoming', arg],
                          "vmig: -incoming %s: invalid option 'bogus': valid "
                          "options are addr.* (the channel's address) and "
                          "the migration options (see query-migrate-config)"
                          % arg)
        arg = CHANNEL + ',multifd-channels=300'
        self.assert_fails(['-incoming', arg], 'vmig: -incoming %s: %s'
                          % (arg, qmp_message('migrate-set-config',
                                              {'multifd-channels': 300})))

    def test_channel_form_listens(self):
        with Vmig(args=['-m', '32M', '-incoming',
                        CHANNEL + ',multifd-channels=4']) as vm:
            self.assertEqual(vm.cmd('query-status')['status'], 'inmigrate')
            self.assertEqual(vm.cmd('query-migrate-config')
                             ['multifd-channels'], 4)
            self.assert_clean_exit(vm)


if __name__ == '__main__':
    vmig_harness.main()
