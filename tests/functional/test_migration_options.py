#!/usr/bin/env python3
"""No migration option is accepted and then ignored.

Every member of MigrationConfig, as vmig's own query-qmp-schema lists it,
must be exactly one of:

  (a) exercised by behavioural tests, named in COVERAGE below (each named
      test must exist and be registered with meson);
  (b) refused by the validator: schema feature 'not-yet' ("not supported
      by this vmig yet") or 'unimplemented' ("not implemented by vmig"),
      which this test checks by setting the option to a value other than
      its default;
  (c) marked 'no-effect' in the schema, which this test checks is
      accepted.

A new member without any of these, a COVERAGE entry for an option that
is refused or no longer exists, or a named test that is gone, fails.
KNOWN_GAPS is the short list of options accepted although not yet
honoured, each with its reason; a gap that is closed (the option gets a
test, or is refused) fails until it is removed from the list.
"""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmig_harness  # noqa: E402
from vmig_harness import QMPError, Vmig  # noqa: E402

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PRECOPY = 'functional/test_migration_precopy.py::'
MULTIFD = 'functional/test_migration_multifd.py::'
SHARED = 'functional/test_migration_ignore_shared.py::'
XBZRLE = 'functional/test_migration_xbzrle.py::'
CHECKSUM = 'functional/test_migration_checksum.py::'
POLICY = 'unit/test-migration-policy.c::'
STATE = 'unit/test-migration-state.c::'
LIVENESS = 'functional/test_migration_liveness.py::'
TLS = 'functional/test_migration_tls.py::'
POSTCOPY = 'functional/test_migration_postcopy.py::'
PREEMPT = 'functional/test_migration_postcopy_preempt.py::'

# Option -> the tests that show it does what it says: a functional test
# ("functional/FILE.py::test_method") or a unit test of the engine code
# that honours it ("unit/FILE.c::test_name"), where the runtime options
# reach that code (test-migration-state's test_params).
COVERAGE = {
    'postcopy-ram': [POSTCOPY + 'test_plain',
                     POSTCOPY + 'test_busy_guest_finishes_in_postcopy'],
    'release-ram': [POSTCOPY + 'test_release_ram'],
    'postcopy-blocktime': [POSTCOPY + 'test_busy_guest_finishes_in_postcopy',
                           POSTCOPY + 'test_no_blocktime_without_option'],
    # A slow background stream keeps postcopy going; raised at runtime.
    'max-postcopy-bandwidth': [POSTCOPY +
                               'test_cancel_refused_after_switch'],
    # Requested pages counted on the preempt channel, on both ends.
    'postcopy-preempt': [PREEMPT + 'test_preempt',
                         PREEMPT + 'test_preempt_multifd',
                         PREEMPT + 'test_no_preempt_pages_without_option',
                         PREEMPT + 'test_destination_without_preempt'],
    'auto-converge': [PRECOPY + 'test_auto_converge',
                      POLICY + 'test_throttle_rule'],
    'events': [PRECOPY + 'test_events_follow_the_option',
               PRECOPY + 'test_pause_before_switchover'],
    # The v2 protocol always has a return path on two-way transports; the
    # option is what switchover-ack requires, and a file refuses.
    'return-path': [PRECOPY + 'test_switchover_ack'],
    'pause-before-switchover': [
        PRECOPY + 'test_pause_before_switchover',
        'functional/test_migration_cancel.py::test_cancel_pre_switchover'],
    'multifd': [MULTIFD + 'test_channel_counts'],
    'x-ignore-shared': [SHARED + 'test_shared_block_not_sent',
                        SHARED + 'test_destination_maps_another_file',
                        SHARED + 'test_option_on_without_shared_blocks'],
    'validate-uuid': [
        'functional/test_migration_handshake.py::test_validate_uuid'],
    'zero-copy-send': [MULTIFD + 'test_zero_copy_send',
                       MULTIFD + 'test_zero_copy_send_needs_tcp'],
    'switchover-ack': [PRECOPY + 'test_switchover_ack'],
    'mapped-ram': [MULTIFD + 'test_single_thread',
                   MULTIFD + 'test_multifd_threads'],
    'throttle-trigger-threshold': [POLICY + 'test_throttle_limits',
                                   STATE + 'test_params'],
    'cpu-throttle-initial': [PRECOPY + 'test_auto_converge',
                             POLICY + 'test_throttle_rule'],
    'cpu-throttle-increment': [PRECOPY + 'test_auto_converge',
                               POLICY + 'test_throttle_rule'],
    'cpu-throttle-tailslow': [POLICY + 'test_throttle_tailslow',
                              STATE + 'test_params'],
    'max-bandwidth': [PRECOPY + 'test_max_bandwidth_at_runtime',
                      POLICY + 'test_rate_limit_average'],
    'avail-switchover-bandwidth': [PRECOPY +
                                   'test_avail_switchover_bandwidth',
                                   POLICY + 'test_predicted_downtime',
                                   STATE + 'test_params'],
    'downtime-limit': [PRECOPY + 'test_iterates_until_downtime_limit_is_'
                                 'raised',
                       POLICY + 'test_switchover',
                       POLICY + 'test_switchover_overshoots'],
    'multifd-channels': [MULTIFD + 'test_channel_counts'],
    'multifd-compression': [MULTIFD + 'test_compression'],
    'multifd-zlib-level': [MULTIFD + 'test_zlib_level_reaches_the_channels',
                           'unit/test-multifd-compress.c::'
                           'test_zlib_level0_is_raw'],
    'multifd-zstd-level': [MULTIFD + 'test_compression',
                           'unit/test-multifd-compress.c::test_round_trip'],
    'max-cpu-throttle': [POLICY + 'test_throttle_limits',
                         STATE + 'test_params'],
    # Every migration runs in mode "normal", the one value vmig
    # implements; the others are refused (enum feature 'unimplemented').
    'mode': [PRECOPY + 'test_auto_converge',
             'unit/test-migration-config.c::test_refused'],
    'zero-page-detection': [MULTIFD + 'test_zero_page_detection'],
    'checksum': [CHECKSUM + 'test_plain_file',
                 CHECKSUM + 'test_mapped_ram_file',
                 CHECKSUM + 'test_flipped_bit_on_the_link',
                 CHECKSUM + 'test_flipped_bit_on_a_multifd_channel',
                 CHECKSUM + 'test_none_on_a_socket',
                 CHECKSUM + 'test_none_refused_for_files'],
    'tls-creds': [TLS + 'test_psk_match', TLS + 'test_x509',
                  TLS + 'test_x509_multifd_zstd',
                  TLS + 'test_tls_source_plaintext_destination'],
    'tls-hostname': [TLS + 'test_x509_unix_and_exec',
                     'unit/test-migration-config.c::test_local_objects'],
    'tls-authz': [TLS + 'test_authz_refuses_source'],
    'xbzrle': [XBZRLE + 'test_deltas', XBZRLE + 'test_file',
               'unit/test-migration-xbzrle.c::test_ram_passes'],
    'xbzrle-cache-size': [XBZRLE + 'test_resize_while_migrating',
                          'unit/test-migration-xbzrle.c::test_cache_sizes',
                          'unit/test-migration-xbzrle.c::test_ram_resize'],
    'liveness-timeout': [LIVENESS + 'test_frozen_link',
                         LIVENESS + 'test_destination_stopped',
                         LIVENESS + 'test_paused_source_stays_alive',
                         LIVENESS + 'test_dribbling_source',
                         'unit/test-sockets.c::test_liveness'],
    'accept-timeout': [
        'functional/test_migration_handshake.py::'
        'test_silent_source_times_out',
        'functional/test_migration_router.py::'
        'test_strangers_do_not_fail_exit_on_error',
        'unit/test-migration-router.c::test_deadline_drops_silent'],
}

# Accepted but not honoured yet: option -> why, and until when.
KNOWN_GAPS = {
}

REFUSAL = {
    'not-yet': "Option '%s' is not supported by this vmig yet",
    'unimplemented': "Option '%s' is not implemented by vmig",
}
STATUS_FEATURES = set(REFUSAL) | {'no-effect'}


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


class Schema:
    """MigrationConfig as vmig's query-qmp-schema describes it."""

    def __init__(self, vm):
        self.types = {e['name']: e for e in vm.cmd('query-qmp-schema')}
        ret = self.types[self.types['query-migrate-config']['ret-type']]
        self.members = {m['name']: m for m in ret['members']}

    def features(self, name):
        return set(self.members[name].get('features', []))

    def sample(self, type_name):
        """A valid-looking value of a type, for lists and objects."""
        t = self.types[type_name]
        meta = t['meta-type']
        if meta == 'array':
            return [self.sample(t['element-type'])]
        if meta == 'object':
            # Optional members too: introspection does not mark them.
            return {m['name']: self.sample(m['type']) for m in t['members']}
        if meta == 'enum':
            return t['values'][0]
        return {'boolean': True, 'int': 1, 'number': 1.0,
                'string': 'x'}[t['json-type']]

    def other_values(self, name, default):
        """Values of option @name other than @default (None: absent),
        most likely valid first."""
        m = self.members[name]
        t = self.types[m['type']]
        meta = t['meta-type']
        if meta == 'enum':
            return [v['name'] for v in t['members']
                    if v['name'] != default and
                    'unimplemented' not in v.get('features', [])]
        if meta == 'array':
            return [self.sample(m['type'])]
        json_type = t['json-type']
        if json_type == 'boolean':
            return [not default]
        if json_type == 'string':
            return [default + 'x']
        if json_type == 'int':
            return [v for v in (default + 1, default - 1, default * 2)
                    if v >= 0 and v != default]
        raise AssertionError('no other value for %s of type %s'
                             % (name, m['type']))


class OptionStatusTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.vm = Vmig(args=['-m', '32M'])
        cls.vm.launch()
        cls.schema = Schema(cls.vm)

    @classmethod
    def tearDownClass(cls):
        cls.vm.kill()

    def config(self):
        return self.vm.cmd('query-migrate-config')

    def set_config(self, name, value):
        """None if migrate-set-config accepted @name = @value, else the
        error's text."""
        try:
            self.vm.cmd('migrate-set-config', **{name: value})
            return None
        except QMPError as e:
            return e.desc

    def test_every_option_is_accounted_for(self):
        self.assertTrue(self.schema.members)
        for name in self.schema.members:
            with self.subTest(option=name):
                status = self.schema.features(name) & STATUS_FEATURES
                reasons = (['tests: %s' % COVERAGE[name]]
                           if name in COVERAGE else []) + \
                    ['feature %s' % f for f in sorted(status)] + \
                    (['known gap'] if name in KNOWN_GAPS else [])
                self.assertTrue(reasons, "option '%s' has no behavioural "
                                "test in COVERAGE, is not refused "
                                "(feature not-yet or unimplemented) and "
                                "is not marked no-effect" % name)
                self.assertEqual(len(reasons), 1, "option '%s' is "
                                 "accounted for more than once: %s"
                                 % (name, reasons))
        for name in list(COVERAGE) + list(KNOWN_GAPS):
            with self.subTest(entry=name):
                self.assertIn(name, self.schema.members,
                              "'%s' is not a MigrationConfig member" % name)

    def test_named_tests_exist(self):
        functional = read(os.path.join(TESTS, 'functional', 'meson.build'))
        unit = read(os.path.join(TESTS, 'unit', 'meson.build'))
        for name, tests in COVERAGE.items():
            self.assertTrue(tests, name)
            for ref in tests:
                with self.subTest(option=name, test=ref):
                    path, func = ref.split('::')
                    src = read(os.path.join(TESTS, path))
                    base = os.path.basename(path)
                    f = re.escape(func)
                    if path.endswith('.py'):
                        found = re.search(r'\n    def %s\(self' % f, src)
                        registered = "'%s'" % base in functional
                    else:
                        found = (re.search(r'\nSTART_TEST\(%s\)' % f, src)
                                 and re.search(r'tcase_add_(loop_)?test\('
                                               r'\w+, %s\b' % f, src))
                        registered = "files('%s')" % base in unit
                    self.assertTrue(found, 'no test %s in %s' % (func, path))
                    self.assertTrue(registered, '%s is not a meson test'
                                    % path)

    def test_refused_options_are_refused(self):
        n = 0
        for name in self.schema.members:
            refused = self.schema.features(name) & set(REFUSAL)
            if not refused:
                continue
            n += 1
            (feature,) = refused
            with self.subTest(option=name):
                before = self.config()
                default = before.get(name)
                for value in self.schema.other_values(name, default):
                    desc = self.set_config(name, value)
                    self.assertIsNotNone(desc, "option '%s' = %r was "
                                         "accepted" % (name, value))
                    if 'out of range' in desc or 'is invalid' in desc:
                        continue    # not a value to judge it by
                    self.assertIn(REFUSAL[feature] % name, desc)
                    break
                else:
                    self.fail("no value of '%s' reached the refusal" % name)
                self.assertEqual(self.config(), before)
                # Its default is accepted (an old client echoing it).
                if default is not None:
                    self.assertIsNone(self.set_config(name, default))
        self.assertGreater(n, 0)

    def test_no_effect_options_are_accepted(self):
        n = 0
        for name in self.schema.members:
            if 'no-effect' not in self.schema.features(name):
                continue
            n += 1
            with self.subTest(option=name):
                default = self.config()[name]
                value = self.schema.other_values(name, default)[0]
                self.assertIsNone(self.set_config(name, value))
                self.assertEqual(self.config()[name], value)
                self.assertIsNone(self.set_config(name, default))
        self.assertGreater(n, 0)

    def test_known_gaps_are_still_gaps(self):
        for name, why in KNOWN_GAPS.items():
            with self.subTest(option=name):
                self.assertTrue(why)
                self.assertFalse(self.schema.features(name) &
                                 STATUS_FEATURES)
                default = self.config()[name]
                value = self.schema.other_values(name, default)[0]
                # xbzrle-cache-size must be a power of two.
                if isinstance(value, int) and not isinstance(value, bool):
                    value = default * 2
                self.assertIsNone(self.set_config(name, value),
                                  "'%s' is refused now: drop it from "
                                  "KNOWN_GAPS" % name)
                self.assertIsNone(self.set_config(name, default))


if __name__ == '__main__':
    vmig_harness.main()
