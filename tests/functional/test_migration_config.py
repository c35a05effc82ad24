"""Functional tests of the migration configuration over QMP: the new
commands (query-migrate-config, migrate-set-config) and QEMU's legacy
ones, which must map onto the same configuration and validator."""

import unittest

import vmig_harness
from vmig_harness import QMPError, Vmig

MiB = 1024 * 1024


def schema_members(vm, type_name):
    """{member name: [features]} of a struct, from query-qmp-schema, so
    the tests learn the options from vmig rather than repeating them."""
    schema = vm.cmd('query-qmp-schema')
    by_name = {e['name']: e for e in schema}
    cmd = by_name['query-migrate-config']
    struct = by_name[cmd['ret-type']]
    assert type_name == 'MigrationConfig'
    return {m['name']: m.get('features', []) for m in struct['members']}


class ConfigTestCase(unittest.TestCase):
    """One vmig per test: every test starts from the defaults."""

    def setUp(self):
        self.vm = Vmig(args=['-m', '32M'])
        self.vm.launch()

    def tearDown(self):
        self.vm.kill()

    def config(self):
        return self.vm.cmd('query-migrate-config')

    def refused(self, command, **args):
        """Runs a command that must fail; returns its error message."""
        with self.assertRaises(QMPError) as ctx:
            self.vm.qmp.cmd(command, **args)
        self.assertEqual(ctx.exception.cls, 'GenericError')
        return ctx.exception.desc

    def set_config(self, **args):
        return self.vm.qmp.execute('migrate-set-config', args)


class QueryTest(ConfigTestCase):

    def test_every_option_present_with_qemu_defaults(self):
        cfg = self.config()
        members = schema_members(self.vm, 'MigrationConfig')
        absent_by_default = {'block-bitmap-mapping', 'cpr-exec-command'}
        self.assertEqual(set(cfg), set(members) - absent_by_default)
        # A sample of QEMU's defaults.
        self.assertEqual(cfg['max-bandwidth'], 128 * MiB)
        self.assertEqual(cfg['downtime-limit'], 300)
        self.assertEqual(cfg['multifd-channels'], 2)
        self.assertEqual(cfg['multifd-compression'], 'none')
        self.assertEqual(cfg['zero-page-detection'], 'multifd')
        self.assertEqual(cfg['cpu-throttle-initial'], 20)
        self.assertEqual(cfg['xbzrle-cache-size'], 64 * MiB)
        self.assertEqual(cfg['tls-creds'], '')
        for name, features in members.items():
            if 'capability' in features:
                self.assertIs(cfg[name], False, name)

    def test_features_in_schema(self):
        members = schema_members(self.vm, 'MigrationConfig')
        self.assertIn('runtime', members['max-bandwidth'])
        self.assertIn('runtime', members['downtime-limit'])
        self.assertNotIn('runtime', members['multifd-channels'])
        self.assertIn('capability', members['multifd'])
        self.assertIn('deprecated', members['compress'])
        self.assertIn('unimplemented', members['rdma-pin-all'])
        self.assertIn('not-yet', members['direct-io'])
        self.assertNotIn('not-yet', members['postcopy-preempt'])
        self.assertNotIn('not-yet', members['postcopy-ram'])
        self.assertNotIn('not-yet', members['tls-creds'])
        self.assertIn('no-effect', members['announce-rounds'])


class SetConfigTest(ConfigTestCase):

    def test_change_is_partial(self):
        before = self.config()
        self.assertEqual(self.set_config(**{'multifd': True,
                                            'multifd-channels': 8}),
                         {'return': {}})
        after = self.config()
        self.assertEqual(after['multifd'], True)
        self.assertEqual(after['multifd-channels'], 8)
        before.update({'multifd': True, 'multifd-channels': 8})
        self.assertEqual(after, before)

    def test_range_refused_with_option_value_and_reason(self):
        desc = self.refused('migrate-set-config', multifd_channels=0)
        self.assertIn("'multifd-channels'", desc)
        self.assertIn('0', desc)
        self.assertIn('1', desc)
        desc = self.refused('migrate-set-config', multifd_zstd_level=21)
        self.assertIn("'multifd-zstd-level'", desc)
        self.assertIn('21', desc)
        desc = self.refused('migrate-set-config', downtime_limit=2000001)
        self.assertIn("'downtime-limit'", desc)

    def test_rule_refused_naming_both_options(self):
        desc = self.refused('migrate-set-config', switchover_ack=True)
        self.assertIn("'switchover-ack'", desc)
        self.assertIn("'return-path'", desc)
        desc = self.refused('migrate-set-config', zero_copy_send=True,
                            multifd=True, multifd_compression='zstd')
        self.assertIn("'zero-copy-send'", desc)
        self.assertIn("'multifd-compression'", desc)

    def test_unknown_and_mistyped(self):
        resp = self.set_config(**{'no-such-option': 1})
        self.assertIn('no-such-option', resp['error']['desc'])
        resp = self.set_config(**{'multifd': 'yes'})
        self.assertIn('multifd', resp['error']['desc'])
        resp = self.set_config(**{'multifd-compression': 'lz4'})
        self.assertIn('lz4', resp['error']['desc'])

    def test_unimplemented_refused_when_on_accepted_when_off(self):
        desc = self.refused('migrate-set-config', rdma_pin_all=True)
        self.assertIn("'rdma-pin-all'", desc)
        self.assertIn('not implemented', desc)
        self.assertEqual(self.set_config(**{'rdma-pin-all': False}),
                         {'return': {}})
        desc = self.refused('migrate-set-config', multifd=True,
                            multifd_compression='qpl')
        self.assertIn('qpl', desc)

    def test_not_yet_refused_unless_default(self):
        for args in [{'direct-io': True},
                     {'background-snapshot': True}]:
            with self.subTest(args=args):
                (name, value), = args.items()
                desc = self.refused('migrate-set-config', **args)
                self.assertIn("Option '%s' is not supported by this vmig "
                              "yet" % name, desc)
                # The default is accepted, and reported as it is.
                default = self.config()[name]
                self.assertEqual(self.set_config(**{name: default}),
                                 {'return': {}})
        params = self.vm.cmd('query-migrate-parameters')
        self.assertEqual(params['max-postcopy-bandwidth'], 0)
        self.assertEqual(self.config()['postcopy-ram'], False)

    def test_no_effect_accepted(self):
        self.assertEqual(self.set_config(**{'late-block-activate': True,
                                            'announce-rounds': 9}),
                         {'return': {}})
        cfg = self.config()
        self.assertIs(cfg['late-block-activate'], True)
        self.assertEqual(cfg['announce-rounds'], 9)

    def test_deprecated_accepted_at_default(self):
        # QEMU removed compress and its parameters: their defaults still
        # pass, so old clients that echo them keep working.
        self.assertEqual(self.set_config(**{'compress-level': 1}),
                         {'return': {}})
        desc = self.refused('migrate-set-config', compress_level=5)
        self.assertIn("'compress-level'", desc)
        self.assertIn('not implemented', desc)

    def test_atomic(self):
        before = self.config()
        # Valid first member, invalid last one: nothing may change.
        self.refused('migrate-set-config', multifd=True, max_bandwidth=MiB,
                     multifd_channels=0)
        self.assertEqual(self.config(), before)
        self.refused('migrate-set-config', xbzrle=True,
                     multifd=True)
        self.assertEqual(self.config(), before)

    def test_toggling_order_cannot_reach_invalid_state(self):
        ok = self.set_config
        self.assertEqual(ok(**{'return-path': True}), {'return': {}})
        self.assertEqual(ok(**{'switchover-ack': True}), {'return': {}})
        # Turning the needed option off alone would leave an invalid state.
        desc = self.refused('migrate-set-config', return_path=False)
        self.assertIn("'switchover-ack'", desc)
        cfg = self.config()
        self.assertTrue(cfg['return-path'] and cfg['switchover-ack'])
        # Both at once is fine.
        self.assertEqual(ok(**{'return-path': False,
                               'switchover-ack': False}), {'return': {}})
        # Excluding options: whichever comes first blocks the other.
        self.assertEqual(ok(**{'multifd': True, 'checksum': 'none',
                               'zero-copy-send': True}),
                         {'return': {}})
        self.refused('migrate-set-config', multifd_compression='zlib')
        self.assertEqual(ok(**{'zero-copy-send': False,
                               'multifd-compression': 'zlib'}),
                         {'return': {}})
        self.refused('migrate-set-config', zero_copy_send=True)
        # Numeric relation: the initial throttle may not exceed the cap.
        self.assertEqual(ok(**{'max-cpu-throttle': 50}), {'return': {}})
        self.refused('migrate-set-config', cpu_throttle_initial=60)
        self.assertEqual(ok(**{'cpu-throttle-initial': 40}), {'return': {}})
        self.refused('migrate-set-config', max_cpu_throttle=30)


class LegacyCapabilitiesTest(ConfigTestCase):

    def test_query_lists_every_capability_in_schema_order(self):
        members = schema_members(self.vm, 'MigrationConfig')
        caps = self.vm.cmd('query-migrate-capabilities')
        self.assertEqual([c['capability'] for c in caps],
                         [n for n, f in members.items()
                          if 'capability' in f])
        self.assertTrue(all(c['state'] is False for c in caps))

    def test_libvirt_full_list_with_explicit_false(self):
        caps = self.vm.cmd('query-migrate-capabilities')
        wanted = {'multifd', 'auto-converge', 'events'}
        full = [{'capability': c['capability'],
                 'state': c['capability'] in wanted} for c in caps]
        self.assertEqual(self.vm.cmd('migrate-set-capabilities',
                                     capabilities=full), {})
        cfg = self.config()
        for c in caps:
            self.assertEqual(cfg[c['capability']],
                             c['capability'] in wanted, c['capability'])
        # Sending the same list again changes nothing and is accepted.
        self.assertEqual(self.vm.cmd('migrate-set-capabilities',
                                     capabilities=full), {})

    def test_refusals(self):
        desc = self.refused('migrate-set-capabilities', capabilities=[
            {'capability': 'no-such-cap', 'state': True}])
        self.assertIn("'no-such-cap'", desc)
        self.assertIn("'xbzrle'", desc)     # lists the valid ones
        desc = self.refused('migrate-set-capabilities', capabilities=[
            {'capability': 'max-bandwidth', 'state': True}])
        self.assertIn("'max-bandwidth'", desc)
        # The same rule, the same words as migrate-set-config.
        legacy = self.refused('migrate-set-capabilities', capabilities=[
            {'capability': 'switchover-ack', 'state': True}])
        new = self.refused('migrate-set-config', switchover_ack=True)
        self.assertEqual(legacy, new)
        # And the same refusal of what is not built yet.
        legacy = self.refused('migrate-set-capabilities', capabilities=[
            {'capability': 'background-snapshot', 'state': True}])
        new = self.refused('migrate-set-config', background_snapshot=True)
        self.assertEqual(legacy, new)
        self.assertIn('not supported by this vmig yet', new)

    def test_atomic(self):
        before = self.config()
        self.refused('migrate-set-capabilities', capabilities=[
            {'capability': 'multifd', 'state': True},
            {'capability': 'xbzrle', 'state': True}])
        self.assertEqual(self.config(), before)


class LegacyParametersTest(ConfigTestCase):

    def test_query_has_no_capabilities(self):
        members = schema_members(self.vm, 'MigrationConfig')
        params = self.vm.cmd('query-migrate-parameters')
        cfg = self.config()
        for name, features in members.items():
            if 'capability' in features:
                self.assertNotIn(name, params)
            elif name in cfg:
                self.assertEqual(params[name], cfg[name], name)

    def test_round_trip_unchanged(self):
        self.assertEqual(self.set_config(**{'max-bandwidth': 10 * MiB,
                                            'multifd-channels': 7}),
                         {'return': {}})
        before = self.config()
        params = self.vm.cmd('query-migrate-parameters')
        self.assertEqual(self.vm.cmd('migrate-set-parameters', **{
            k.replace('-', '_'): v for k, v in params.items()}), {})
        self.assertEqual(self.config(), before)

    def test_tls_null_and_empty(self):
        # Set one at a time, as libvirt does; null clears, as "" does.
        self.assertEqual(self.vm.cmd('migrate-set-parameters',
                                     tls_hostname='h'), {})
        self.assertEqual(self.config()['tls-hostname'], 'h')
        resp = self.vm.qmp.execute('migrate-set-parameters',
                                   {'tls-hostname': None, 'tls-creds': None,
                                    'tls-authz': ''})
        self.assertEqual(resp, {'return': {}})
        cfg = self.config()
        self.assertEqual((cfg['tls-creds'], cfg['tls-hostname'],
                          cfg['tls-authz']), ('', '', ''))

    def test_capability_refused(self):
        desc = self.refused('migrate-set-parameters', multifd=True)
        self.assertIn("'multifd'", desc)
        self.assertIn('capabilit', desc)
        self.assertFalse(self.config()['multifd'])

    def test_same_error_as_set_config(self):
        legacy = self.refused('migrate-set-parameters', multifd_channels=0)
        new = self.refused('migrate-set-config', multifd_channels=0)
        self.assertEqual(legacy, new)

    def test_legacy_changes_visible_in_new_and_back(self):
        self.assertEqual(self.vm.cmd('migrate-set-parameters',
                                     downtime_limit=1234), {})
        self.assertEqual(self.config()['downtime-limit'], 1234)
        self.assertEqual(self.set_config(**{'downtime-limit': 99}),
                         {'return': {}})
        self.assertEqual(
            self.vm.cmd('query-migrate-parameters')['downtime-limit'], 99)


class MigrateConfigPrecedenceTest(unittest.TestCase):
    """`config` of migrate / migrate-incoming is the whole configuration of
    that migration: omitted options take their start-up values (defaults,
    then -global), never values left by earlier commands."""

    def wait_failed(self, vm):
        return vmig_harness.wait_for(
            lambda: vm.cmd('query-migrate').get('status') == 'failed',
            what='migration to fail')

    def test_migrate_config_replaces_stale_settings(self):
        with Vmig(args=['-m', '32M',
                        '-global', 'migration.downtime-limit=700']) as vm:
            vm.cmd('migrate-set-config', max_bandwidth=MiB, xbzrle=True)
            # Nothing listens on port 1: the migration starts, then fails.
            vm.cmd('migrate', uri='tcp:127.0.0.1:1',
                   config={'auto-converge': True})
            self.wait_failed(vm)
            cfg = vm.cmd('query-migrate-config')
            self.assertEqual(cfg['downtime-limit'], 700)     # -global
            self.assertEqual(cfg['max-bandwidth'], 128 * MiB)  # default
            self.assertIs(cfg['xbzrle'], False)              # not leaked
            self.assertIs(cfg['auto-converge'], True)        # given
            self.assertEqual(vm.cmd('query-status')['status'], 'running')

    def test_migrate_without_config_uses_current(self):
        with Vmig(args=['-m', '32M']) as vm:
            vm.cmd('migrate-set-config', max_bandwidth=MiB, xbzrle=True)
            before = vm.cmd('query-migrate-config')
            vm.cmd('migrate', uri='tcp:127.0.0.1:1')
            self.wait_failed(vm)
            self.assertEqual(vm.cmd('query-migrate-config'), before)

    def test_migrate_refusals_change_nothing(self):
        with Vmig(args=['-m', '32M']) as vm:
            before = vm.cmd('query-migrate-config')
            cases = [
                ({'uri': 'tcp:127.0.0.1:1',
                  'config': {'mapped-ram': True}}, "'mapped-ram'"),
                ({'uri': 'file:/tmp/x', 'config': {'postcopy-ram': True}},
                 "'postcopy-ram'"),
                ({'uri': 'tcp:127.0.0.1:1',
                  'config': {'multifd-channels': 0}}, "'multifd-channels'"),
                ({}, "'uri'"),
                ({'uri': 'tcp:127.0.0.1:1',
                  'channels': [{'channel-type': 'main', 'addr': {
                      'transport': 'socket', 'type': 'inet',
                      'host': '127.0.0.1', 'port': '1'}}]}, "'channels'"),
            ]
            for args, needle in cases:
                with self.subTest(args=args):
                    resp = vm.qmp.execute('migrate', args)
                    self.assertIn('error', resp)
                    self.assertIn(needle, resp['error']['desc'])
            self.assertEqual(vm.cmd('query-migrate-config'), before)
            # A refused migrate starts nothing.
            self.assertNotIn('status', vm.cmd('query-migrate'))

    def test_migrate_incoming_config(self):
        with Vmig(args=['-m', '32M', '-incoming', 'defer']) as vm:
            vm.cmd('migrate-set-config', max_bandwidth=MiB)
            sock = vm.tmpdir + '/in.sock'
            vm.cmd('migrate-incoming', uri='unix:' + sock,
                   config={'multifd-channels': 4})
            cfg = vm.cmd('query-migrate-config')
            self.assertEqual(cfg['multifd-channels'], 4)
            self.assertEqual(cfg['max-bandwidth'], 128 * MiB)
            self.assertEqual(vm.cmd('query-status')['status'], 'inmigrate')
            # Only once.
            resp = vm.qmp.execute('migrate-incoming',
                                  {'uri': 'unix:' + sock + '2'})
            self.assertIn('already', resp['error']['desc'])

    def test_migrate_incoming_needs_incoming(self):
        with Vmig(args=['-m', '32M']) as vm:
            resp = vm.qmp.execute('migrate-incoming',
                                  {'uri': 'tcp:127.0.0.1:0'})
            self.assertIn("'-incoming'", resp['error']['desc'])


if __name__ == '__main__':
    vmig_harness.main()
