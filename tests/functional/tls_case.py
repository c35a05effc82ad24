"""Shared pieces of the TLS functional tests (test_tls_matrix.py,
test_tls_clients.py, test_tls_refusals.py, test_tls_libvirt.py): the
certificate folders of tests/tls/tlscerts.py, made once per test
module, the credentials objects as QMP object-add arguments or -object
strings, and a source/destination pair whose
migration either completes (equal digests, the tls facts of
query-migrate on both ends) or is refused on both ends.

Refusals are read where each end reports them: the source's
query-migrate error-desc, and the destination's error-desc when its
incoming migration failed or its stderr when it dropped the connection
as a stranger (docs/devel/migration-protocol.md section 10).
"""

import contextlib
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tls'))
import tlscerts  # noqa: E402
from migration_helpers import (FINAL, MigrationTestCase,  # noqa: E402
                               dst_vm, info, listen_uri, src_vm,
                               wait_status, warm_up)
from vmig_harness import QMPError, wait_for  # noqa: E402

PRECOPY = {}
MULTIFD4 = {'multifd': True, 'multifd-channels': 4,
            'multifd-compression': 'zstd'}
MULTIFD1 = {'multifd': True, 'multifd-channels': 1}
# Every case runs over both; the basic x509 case also over MULTIFD1.
MODES = (('precopy', PRECOPY), ('multifd4-zstd', MULTIFD4))
# test_migration_tls.py runs the core cases over precopy (PSK, x509 with
# the host from the URI, authz-simple, TLS on one side, impostors) and
# x509 over multifd 4+zstd: the matrix runs them over what it does not.
BEYOND_CORE = tuple(m for m in MODES if m[1].get('multifd'))
# The source refused the destination's certificate, with an alert.
ALERT_DST = ['TLS alert']
# A small guest that keeps writing text-like pages (zstd has something
# to do), slow enough to converge at once under the sanitizers; a
# migration starts after WARM_WRITES of them (a quarter of a second).
# The credentials object every end names 'tls0'.
TLS = {'tls-creds': 'tls0'}
WORKLOAD = ['-workload', 'rate=16M,pattern=random,content=text,seed=13']
WARM_WRITES = 1024

SERVER_DN = 'CN=localhost,O=vmig-test'
CLIENT_DN = tlscerts.CLIENT_DN
HOSTILE_DN = tlscerts.HOSTILE_DN


def obj(qom_type, oid, **props):
    """object-add arguments; Python names use '_' for QMP's '-'."""
    args = {'qom-type': qom_type, 'id': oid}
    args.update({k.replace('_', '-'): v for k, v in props.items()})
    return args


def x509(folder, endpoint, oid='tls0', **props):
    return obj('tls-creds-x509', oid, dir=folder, endpoint=endpoint,
               **props)


def psk(folder, endpoint, oid='tls0', **props):
    return obj('tls-creds-psk', oid, dir=folder, endpoint=endpoint, **props)


def anon(endpoint, oid='tls0'):
    return obj('tls-creds-anon', oid, endpoint=endpoint)


def cmdline_object(args):
    """The -object form of object-add @args (scalars only; ',' doubled
    as keyval wants)."""
    parts = [args['qom-type']]
    for k, v in args.items():
        if k == 'qom-type':
            continue
        if isinstance(v, bool):
            v = 'on' if v else 'off'
        parts.append('%s=%s' % (k, str(v).replace(',', ',,')))
    return ['-object', ','.join(parts)]


def add_objects(vm, objects):
    for o in objects:
        vm.cmd('object-add', **o)


def refusal_text(vm, command, **args):
    """The error of @command on @vm: its QMP error, or (a command that
    started a migration) the error-desc of its failed migration."""
    try:
        vm.cmd(command, **args)
    except QMPError as e:
        return e.desc
    if command != 'migrate':
        raise AssertionError('%s was not refused' % command)
    result = wait_status(vm, FINAL)
    if result['status'] != 'failed':
        raise AssertionError('%s was not refused: %r' % (command, result))
    return result['error-desc']


class TlsTestCase(MigrationTestCase):
    """Certificates in cls.certs (tlscerts.Certs), made once for the
    module; every test is skipped without certtool."""

    _certs = None
    _root = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if TlsTestCase._certs is None and tlscerts.have_certtool():
            TlsTestCase._root = tempfile.mkdtemp(prefix='vmig-tls-certs-')
            TlsTestCase._certs = tlscerts.make(TlsTestCase._root)
        cls.certs = TlsTestCase._certs

    def setUp(self):
        # Skipped here rather than in setUpClass so that TAP counts
        # each test as one skip.
        if self.certs is None:
            self.skipTest('certtool not found: install gnutls-bin')

    # ---- The usual objects ----

    def x509_server(self, folder=None, **props):
        return x509(folder or self.certs.server, 'server', **props)

    def x509_client(self, folder=None, **props):
        return x509(folder or self.certs.client, 'client', **props)

    def psk_server(self):
        return psk(self.certs.psk_server, 'server')

    def psk_client(self, folder=None):
        return psk(folder or self.certs.psk_client, 'client',
                   username=tlscerts.PSK_USERNAME)

    # ---- Two ends ----

    @contextlib.contextmanager
    def pair(self, dst_objects=(), src_objects=(), dst_config=None,
             listen='tcp:127.0.0.1:0'):
        """A destination listening on @listen with @dst_config (its
        failures do not make it exit, so that it can be asked why) and
        a source with a running guest, each with its objects added."""
        with dst_vm(incoming='defer') as dst, src_vm(*WORKLOAD) as src:
            add_objects(dst, dst_objects)
            add_objects(src, src_objects)
            args = {'uri': listen, 'exit-on-error': False}
            if dst_config:
                args['config'] = dst_config
            dst.cmd('migrate-incoming', **args)
            yield src, dst

    def completes(self, src, dst, mode, src_config=None, uri=None):
        """Migrates with @mode plus @src_config; checks the end (equal
        RAM and device digests) and the multifd channels; returns the
        source's and the destination's tls facts."""
        config = dict(mode)
        config.update(src_config or {})
        warm_up(src, WARM_WRITES)
        self.assertEqual(src.cmd('migrate', uri=uri or listen_uri(dst),
                                 config=config), {})
        result = wait_status(src, FINAL)
        self.assert_completed(src, dst, result)
        dinfo = info(dst)
        if mode.get('multifd'):
            # The destination was told nothing but its URI and
            # credentials: every channel came, each with its own TLS.
            self.assertEqual(dinfo['multifd']['channels'],
                             mode['multifd-channels'], dinfo)
            self.assertTrue(all(b > 0 for b in
                                dinfo['multifd']['channel-bytes']), dinfo)
        self.assert_no_crash(src, dst)
        self.assertIn('tls', result, 'the source reports no TLS')
        self.assertIn('tls', dinfo, 'the destination reports no TLS')
        return result['tls'], dinfo['tls']

    def completes_over(self, modes, dst_objects, src_objects, check,
                       dst_config=TLS, src_config=TLS, listen=None,
                       uri=None):
        """For each of @modes, a pair() whose migration completes
        (completes()); check(source's tls, destination's tls) then."""
        for name, mode in modes:
            with self.subTest(mode=name), self.pair(
                    dst_objects, src_objects, dst_config,
                    **({'listen': listen} if listen else {})) as (src, dst):
                check(*self.completes(src, dst, mode, src_config, uri))

    def assert_tls(self, tls, kind, peer=None):
        """query-migrate's tls member: @kind, a TLS protocol, a cipher,
        and @peer as the peer's identity (None: it proved none)."""
        self.assertEqual(tls['kind'], kind, tls)
        self.assertTrue(tls['protocol'].startswith('TLS1.'), tls)
        self.assertTrue(tls['cipher'], tls)
        self.assertEqual(tls.get('peer-identity'), peer, tls)

    def refused_over(self, modes, dst_objects, src_objects, src_words,
                     dst_words, dst_config=TLS, src_config=TLS):
        """For each of @modes, a migration that fails with @src_words
        on the source and @dst_words on the destination (refused());
        returns the source's error-descs.  One pair() serves every mode,
        as a refused source may try again and the destination, which
        only warned, still listens (a new pair if its migration failed).
        """
        descs = []
        with contextlib.ExitStack() as stack:
            ends = None
            for name, mode in modes:
                with self.subTest(mode=name):
                    if ends is None or info(ends[1]).get('status') == 'failed':
                        ends = stack.enter_context(self.pair(
                            dst_objects, src_objects, dst_config))
                    descs.append(self.refused(*ends, mode, src_words,
                                              dst_words, src_config))
        return descs

    def refused(self, src, dst, mode, src_words, dst_words, src_config=None,
                uri=None):
        """Migrates with @mode plus @src_config, expecting a failure
        whose message on the source holds every one of @src_words, and
        on the destination @dst_words; the source guest runs on.
        Returns the source's error-desc."""
        config = dict(mode)
        config.update(src_config or {})
        told_before = len(dst.stderr_text())
        src.cmd('migrate', uri=uri or listen_uri(dst), config=config)
        result = wait_status(src, FINAL)
        self.assertEqual(result['status'], 'failed', result)
        desc = result['error-desc']
        for word in src_words:
            self.assertIn(word, desc)
        self.assert_source_runs(src)
        self.dst_says(dst, dst_words, told_before)
        self.assertNotEqual(info(dst).get('status'), 'completed')
        self.assert_no_crash(src, dst)
        return desc

    def dst_says(self, dst, words, since=0):
        """Waits until what the destination reported (error-desc of a
        failed incoming migration, or its stderr after the first @since
        characters) holds every word."""
        def said():
            text = dst.stderr_text()[since:]
            dinfo = info(dst)
            if dinfo.get('status') == 'failed':
                text += '\n' + dinfo.get('error-desc', '')
            return all(w in text for w in words) and text
        try:
            wait_for(said, what='the destination to report %r' % (words,))
        except TimeoutError:
            raise AssertionError('the destination never reported %r; '
                                 'stderr:\n%s\nquery-migrate: %r'
                                 % (words, dst.stderr_text(), info(dst)))


def tearDownModule():
    if TlsTestCase._root:
        shutil.rmtree(TlsTestCase._root, ignore_errors=True)
        TlsTestCase._root = TlsTestCase._certs = None
