#!/usr/bin/env python3
"""The migration HMP commands, over a real HMP socket: each one must act
on the configuration QMP sees, and refuse what QMP refuses with the same
message, since both call the same QMP C function and validator."""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from vmig_harness import Vmig, wait_for  # noqa: E402
import migration_helpers as mh  # noqa: E402

GiB = 1024 * 1024 * 1024
MiB = 1024 * 1024

COMMANDS = ('migrate', 'migrate_incoming', 'migrate_cancel',
            'migrate_continue', 'migrate_set_config',
            'migrate_set_capability', 'migrate_set_parameter')
INFO_SUBCOMMANDS = ('migrate', 'migrate_config', 'migrate_capabilities',
                    'migrate_parameters')


def parse_info(text):
    """"name: value" lines as an ordered list of (name, value)."""
    pairs = []
    for line in text.splitlines():
        name, sep, value = line.partition(': ')
        assert sep, 'not a "name: value" line: %r' % line
        pairs.append((name, value))
    return pairs


def shown_value(text, value):
    """Whether HMP's @text shows the QMP value @value: bools as on/off,
    numbers followed by their unit if any, strings quoted, enums bare."""
    if isinstance(value, bool):
        return text == ('on' if value else 'off')
    if isinstance(value, int):
        return re.fullmatch(r'%d( \S+|%%)?' % value, text) is not None
    return text in (value, "'%s'" % value)


class MigrationHMPTestCase(unittest.TestCase):
    """A fresh vmig per test, so each starts from the defaults."""

    def setUp(self):
        self.vm = Vmig(name='mighmp', hmp=True, args=['-m', '32M'])
        self.vm.launch()

    def tearDown(self):
        try:
            self.assertIsNone(self.vm.proc.poll(), self.vm.stderr_text())
            self.vm.shutdown()
            log = self.vm.stderr_text()
            self.assertNotIn('Sanitizer', log)
            self.assertNotIn('runtime error', log)
        finally:
            self.vm.__exit__(None, None, None)

    def config(self):
        return self.vm.cmd('query-migrate-config')

    def qmp_error(self, command, args):
        resp = self.vm.qmp.execute(command, args)
        self.assertIn('error', resp, '%s %r succeeded' % (command, args))
        return resp['error']['desc']

    def hmp_error(self, line):
        out = self.vm.hmp(line)
        self.assertTrue(out.startswith('Error: ') and out.endswith('\n'),
                        '%r printed %r' % (line, out))
        self.assertEqual(out.count('\n'), 1, out)
        return out[len('Error: '):-1]

    def schema_options(self):
        """{MigrationConfig member: features}, learnt from vmig."""
        schema = {e['name']: e for e in self.vm.cmd('query-qmp-schema')}
        ret = schema[schema['query-migrate-config']['ret-type']]
        return {m['name']: m.get('features', []) for m in ret['members']}


class HelpTest(MigrationHMPTestCase):

    def test_help_lists_the_commands(self):
        out = self.vm.hmp('help')
        names = [re.split(r'[| ]', line)[0] for line in out.splitlines()]
        for name in COMMANDS:
            self.assertIn(name, names)
            one = self.vm.hmp('help ' + name)
            self.assertEqual(len(one.splitlines()), 1, one)
            self.assertRegex(one, r'^%s( .*)? -- \S' % name)
        info = [line.split()[1] for line in self.vm.hmp('info').splitlines()]
        for name in INFO_SUBCOMMANDS:
            self.assertIn(name, info)
        self.assertIn('[-d]', self.vm.hmp('help migrate'))


class InfoTest(MigrationHMPTestCase):

    def test_info_migrate_config_shows_every_option(self):
        options = self.schema_options()
        shown = parse_info(self.vm.hmp('info migrate_config'))
        # Every option once, in schema order.
        self.assertEqual([name for name, _ in shown], list(options))
        cfg = self.config()
        for name, text in shown:
            with self.subTest(option=name):
                if name not in cfg:     # absent by default
                    self.assertEqual(text, '(not set)')
                else:
                    self.assertTrue(shown_value(text, cfg[name]),
                                    '%s: %r for %r' % (name, text,
                                                       cfg[name]))

    def test_units_and_formats(self):
        shown = dict(parse_info(self.vm.hmp('info migrate_config')))
        self.assertEqual(shown['max-bandwidth'], '134217728 bytes/s')
        self.assertEqual(shown['downtime-limit'], '300 ms')
        self.assertEqual(shown['cpu-throttle-initial'], '20%')
        self.assertEqual(shown['multifd-channels'], '2')
        self.assertEqual(shown['multifd-compression'], 'none')
        self.assertEqual(shown['xbzrle'], 'off')
        self.assertEqual(shown['tls-creds'], "''")

    def test_info_migrate_capabilities(self):
        caps = self.vm.cmd('query-migrate-capabilities')
        shown = parse_info(self.vm.hmp('info migrate_capabilities'))
        self.assertEqual(shown, [(c['capability'], 'on' if c['state']
                                  else 'off') for c in caps])
        self.assertIn(('xbzrle', 'off'), shown)

    def test_info_migrate_parameters(self):
        options = self.schema_options()
        shown = parse_info(self.vm.hmp('info migrate_parameters'))
        self.assertEqual([name for name, _ in shown],
                         [n for n, f in options.items()
                          if 'capability' not in f])
        params = self.vm.cmd('query-migrate-parameters')
        shown = dict(shown)
        for name, value in params.items():
            with self.subTest(parameter=name):
                self.assertTrue(shown_value(shown[name], value),
                                '%s: %r for %r' % (name, shown[name], value))

    def test_qmp_changes_show_in_info(self):
        self.vm.cmd('migrate-set-config', **{
            'multifd': True, 'multifd-channels': 5, 'max-bandwidth': MiB,
            'multifd-compression': 'zlib'})
        shown = dict(parse_info(self.vm.hmp('info migrate_config')))
        self.assertEqual(shown['multifd'], 'on')
        self.assertEqual(shown['multifd-channels'], '5')
        self.assertEqual(shown['max-bandwidth'], '1048576 bytes/s')
        self.assertEqual(shown['multifd-compression'], 'zlib')
        caps = dict(parse_info(self.vm.hmp('info migrate_capabilities')))
        self.assertEqual(caps['multifd'], 'on')
        params = dict(parse_info(self.vm.hmp('info migrate_parameters')))
        self.assertEqual(params['multifd-channels'], '5')


class SetConfigTest(MigrationHMPTestCase):

    def test_set_config_visible_over_qmp(self):
        out = self.vm.hmp('migrate_set_config multifd=on,multifd-channels=8,'
                          'max-bandwidth=1G,multifd-compression=zlib,'
                          'downtime-limit=500')
        self.assertEqual(out, '')
        cfg = self.config()
        self.assertIs(cfg['multifd'], True)
        self.assertEqual(cfg['multifd-channels'], 8)
        self.assertEqual(cfg['max-bandwidth'], GiB)
        self.assertEqual(cfg['multifd-compression'], 'zlib')
        self.assertEqual(cfg['downtime-limit'], 500)
        # A literal comma is doubled, as everywhere in keyval.
        self.assertEqual(self.vm.hmp('migrate_set_config tls-hostname=a,,b'),
                         '')
        self.assertEqual(self.config()['tls-hostname'], 'a,b')

    def test_refusals_equal_qmp(self):
        cases = [
            # range (the validator)
            ('multifd-channels=0', {'multifd-channels': 0}),
            ('downtime-limit=3000000', {'downtime-limit': 3000000}),
            # a rule between options
            ('switchover-ack=on', {'switchover-ack': True}),
            # not built yet
            ('background-snapshot=on', {'background-snapshot': True}),
            ('xbzrle=on,multifd=on', {'xbzrle': True, 'multifd': True}),
            # unknown option
            ('bogus=1', {'bogus': 1}),
            # the C type's range (the visitor)
            ('multifd-channels=300', {'multifd-channels': 300}),
            # enum value
            ('multifd-compression=lz4', {'multifd-compression': 'lz4'}),
            # unimplemented
            ('rdma-pin-all=on', {'rdma-pin-all': True}),
        ]
        before = self.config()
        for line, args in cases:
            with self.subTest(line=line):
                hmp = self.hmp_error('migrate_set_config ' + line)
                self.assertEqual(hmp, self.qmp_error('migrate-set-config',
                                                     args))
                self.assertEqual(self.config(), before)

    def test_wrong_type(self):
        # keyval values are strings, so a wrong type is a string that does
        # not parse: the visitor words it differently from a JSON value of
        # the wrong kind, but both name the option and nothing changes.
        before = self.config()
        for line, args in [('multifd=maybe', {'multifd': 'maybe'}),
                           ('max-bandwidth=fast', {'max-bandwidth': 'fast'}),
                           ('multifd-channels=-1', {'multifd-channels': -1})]:
            with self.subTest(line=line):
                name = line.split('=')[0]
                hmp = self.hmp_error('migrate_set_config ' + line)
                qmp = self.qmp_error('migrate-set-config', args)
                self.assertIn("'%s'" % name, hmp)
                self.assertIn("'%s'" % name, qmp)
                self.assertEqual(self.config(), before)
        self.assertEqual(self.hmp_error('migrate_set_config multifd=maybe'),
                         "Parameter 'multifd': Invalid boolean 'maybe': "
                         "expected on/off, yes/no or true/false")
        self.assertEqual(self.qmp_error('migrate-set-config',
                                        {'multifd': 'maybe'}),
                         "Invalid parameter type for 'multifd', expected: "
                         "boolean")

    def test_atomic(self):
        before = self.config()
        for line in ['multifd=on,max-bandwidth=1G,multifd-channels=0',
                     'multifd=on,max-bandwidth=1G,bogus=1',
                     'multifd=on,max-bandwidth=1G,multifd-channels=x',
                     'postcopy-ram=on,max-bandwidth=1G,xbzrle=on,'
                     'postcopy-preempt=on,release-ram=on,x-colo=on']:
            with self.subTest(line=line):
                self.hmp_error('migrate_set_config ' + line)
                self.assertEqual(self.config(), before)

    def test_syntax_errors(self):
        for line in ['migrate_set_config', 'migrate_set_config a=1,a=2',
                     'migrate_set_config multifd', 'migrate_set_config =1',
                     'migrate_set_config a=1 b=2']:
            with self.subTest(line=line):
                self.hmp_error(line)
        self.assertIn("missing argument",
                      self.hmp_error('migrate_set_config'))


class LegacyTest(MigrationHMPTestCase):

    def test_set_capability(self):
        self.assertEqual(self.vm.hmp('migrate_set_capability xbzrle on'), '')
        self.assertIs(self.config()['xbzrle'], True)
        caps = {c['capability']: c['state']
                for c in self.vm.cmd('query-migrate-capabilities')}
        self.assertIs(caps['xbzrle'], True)
        shown = dict(parse_info(self.vm.hmp('info migrate_capabilities')))
        self.assertEqual(shown['xbzrle'], 'on')
        self.assertEqual(self.vm.hmp('migrate_set_capability xbzrle off'),
                         '')
        self.assertIs(self.config()['xbzrle'], False)
        # QMP's change seen by HMP.
        self.vm.cmd('migrate-set-capabilities', capabilities=[
            {'capability': 'events', 'state': True}])
        shown = dict(parse_info(self.vm.hmp('info migrate_capabilities')))
        self.assertEqual(shown['events'], 'on')

    def test_set_capability_refusals_equal_qmp(self):
        before = self.config()
        for name, state in [('max-bandwidth', True), ('bogus', True),
                            ('postcopy-preempt', True), ('x-colo', True)]:
            with self.subTest(capability=name):
                hmp = self.hmp_error('migrate_set_capability %s %s'
                                     % (name, 'on' if state else 'off'))
                qmp = self.qmp_error('migrate-set-capabilities', {
                    'capabilities': [{'capability': name, 'state': state}]})
                self.assertEqual(hmp, qmp)
                self.assertEqual(self.config(), before)
        self.hmp_error('migrate_set_capability xbzrle maybe')
        self.hmp_error('migrate_set_capability xbzrle')

    def test_set_parameter(self):
        self.assertEqual(self.vm.hmp('migrate_set_parameter max-bandwidth '
                                     '1G'), '')
        self.assertEqual(self.config()['max-bandwidth'], GiB)
        self.assertEqual(self.vm.cmd('query-migrate-parameters')
                         ['max-bandwidth'], GiB)
        self.assertEqual(self.vm.hmp('migrate_set_parameter '
                                     'multifd-compression zlib'), '')
        self.assertEqual(self.config()['multifd-compression'], 'zlib')
        # A string is read whole; "" is the empty string.
        self.assertEqual(self.vm.hmp('migrate_set_parameter tls-creds tls0'),
                         '')
        self.assertEqual(self.config()['tls-creds'], 'tls0')
        self.assertEqual(self.vm.hmp('migrate_set_parameter tls-creds ""'),
                         '')
        self.assertEqual(self.config()['tls-creds'], '')
        # Commas need no escaping here.
        self.assertEqual(self.vm.hmp('migrate_set_parameter tls-hostname '
                                     'a,b'), '')
        self.assertEqual(self.config()['tls-hostname'], 'a,b')
        # And QMP's change seen by HMP.
        self.vm.cmd('migrate-set-parameters', **{'downtime-limit': 700,
                                                 'tls-hostname': ''})
        shown = dict(parse_info(self.vm.hmp('info migrate_parameters')))
        self.assertEqual(shown['downtime-limit'], '700 ms')
        self.assertEqual(shown['tls-hostname'], "''")

    def test_set_parameter_refusals_equal_qmp(self):
        before = self.config()
        cases = [
            ('xbzrle', 'on', {'xbzrle': True}),       # a capability
            ('multifd-channels', '0', {'multifd-channels': 0}),
            ('bogus', '1', {'bogus': 1}),
            ('multifd-channels', '300', {'multifd-channels': 300}),
            ('multifd-compression', 'lz4', {'multifd-compression': 'lz4'}),
            ('a=b', '1', {'a=b': 1}),
        ]
        for name, value, args in cases:
            with self.subTest(parameter=name, value=value):
                hmp = self.hmp_error('migrate_set_parameter %s %s'
                                     % (name, value))
                qmp = self.qmp_error('migrate-set-parameters', args)
                self.assertEqual(hmp, qmp)
                self.assertEqual(self.config(), before)
        self.assertIn('capability', self.hmp_error(
            'migrate_set_parameter xbzrle on'))

    def test_set_parameter_agrees_with_set_config(self):
        # Both HMP paths type values with the keyval visitor.
        for name, value in [('max-bandwidth', 'fast'),
                            ('multifd-channels', '0'),
                            ('downtime-limit', '-3')]:
            with self.subTest(parameter=name):
                self.assertEqual(
                    self.hmp_error('migrate_set_parameter %s %s'
                                   % (name, value)),
                    self.hmp_error('migrate_set_config %s=%s'
                                   % (name, value)))


class MigrateTest(MigrationHMPTestCase):

    def test_migrate_errors_equal_qmp(self):
        # A URI no transport takes fails in the command itself, whether or
        # not the transport is wired.
        qmp = self.qmp_error('migrate', {'uri': 'bogus:xyz'})
        self.assertEqual(self.hmp_error('migrate bogus:xyz'), qmp)
        self.assertEqual(self.hmp_error('migrate -d bogus:xyz'), qmp)
        self.assertEqual(self.vm.cmd('query-status')['status'], 'running')

    def test_migrate_arguments(self):
        self.assertIn("missing argument 'uri'", self.hmp_error('migrate'))
        self.assertIn("missing argument 'uri'", self.hmp_error('migrate -d'))
        self.assertIn("-x", self.hmp_error('migrate -x bogus:xyz'))
        self.assertIn('too many arguments',
                      self.hmp_error('migrate bogus:a bogus:b'))

    def test_migrate_incoming_without_incoming(self):
        qmp = self.qmp_error('migrate-incoming', {'uri': 'tcp:127.0.0.1:0'})
        self.assertEqual(self.hmp_error('migrate_incoming tcp:127.0.0.1:0'),
                         qmp)
        self.assertIn("missing argument 'uri'",
                      self.hmp_error('migrate_incoming'))


class MigrateIncomingDeferTest(unittest.TestCase):

    def test_migrate_incoming_errors_equal_qmp(self):
        with Vmig(name='mighmpin', hmp=True,
                  args=['-m', '32M', '-incoming', 'defer']) as vm:
            self.assertEqual(vm.hmp('info status'),
                             'VM status: paused (inmigrate)\n')
            resp = vm.qmp.execute('migrate-incoming', {'uri': 'bogus:xyz'})
            self.assertIn('error', resp)
            self.assertEqual(vm.hmp('migrate_incoming bogus:xyz'),
                             'Error: %s\n' % resp['error']['desc'])
            self.assertEqual(vm.cmd('query-status')['status'], 'inmigrate')
            vm.shutdown()


class MigrateByHMPTest(unittest.TestCase):
    """A whole migration driven from HMP, as a person would."""

    def test_migrate_info_and_continue(self):
        with mh.src_vm(*mh.BUSY, hmp=True) as src, \
                mh.dst_vm('-S', incoming='unix:' + os.path.join(
                    src.tmpdir, 'mig.sock'), tmpdir=src.tmpdir) as dst:
            self.assertEqual(src.hmp('info migrate'),
                             'No migration has run\n')
            self.assertEqual(src.hmp('migrate_set_config '
                                     'pause-before-switchover=on'), '')
            mh.warm_up(src)
            self.assertEqual(src.hmp('migrate ' + mh.listen_uri(dst)), '')
            mh.wait_status(src, 'pre-switchover')
            self.assertIn('Migration status: pre-switchover',
                          src.hmp('info migrate'))
            # The wrong state is refused with the state it is in.
            self.assertIn('Error', src.hmp('migrate_continue active'))
            self.assertEqual(src.hmp('migrate_continue pre-switchover'), '')
            mh.wait_status(src, mh.FINAL)
            out = src.hmp('info migrate')
            self.assertIn('Migration status: completed', out)
            self.assertRegex(out, r'transferred ram: [1-9]\d* kbytes')
            mh.wait_status(dst, 'completed')
            self.assertEqual(mh.digest(src), mh.digest(dst))

    def test_migrate_cancel(self):
        with mh.src_vm(*mh.BUSY, hmp=True) as src, \
                mh.dst_vm(incoming='unix:' + os.path.join(
                    src.tmpdir, 'mig.sock'), tmpdir=src.tmpdir) as dst:
            # A tiny bandwidth keeps the migration active long enough.
            src.hmp('migrate_set_config max-bandwidth=1M')
            mh.warm_up(src)
            self.assertEqual(src.hmp('migrate ' + mh.listen_uri(dst)), '')
            mh.wait_status(src, 'active')
            self.assertEqual(src.hmp('migrate_cancel'), '')
            mh.wait_status(src, 'cancelled')
            self.assertIn('Migration status: cancelled',
                          src.hmp('info migrate'))
            wait_for(lambda: src.cmd('query-status')['status'] == 'running',
                     what='source running again')


if __name__ == '__main__':
    vmig_harness.main()
